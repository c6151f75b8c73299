"""``nn.summary``: a torchinfo-style table of a model's layers, output shapes and parameters.

The forward pass runs under :func:`jax.eval_shape`, so nothing is computed: parameters, buffers
and the random stream are swapped for abstract values, forward-pre/forward hooks record the call
tree and every layer's output shape while the model is traced, and everything (hooks, state,
training flags) is restored afterwards. A ResNet-34 on a ``(1, 3, 224, 224)`` input takes about a
second on a CPU.

``module_html(module)`` renders a collapsible HTML tree (class names, ``extra_repr``, parameter
shapes and counts) for Jupyter.

Example::

    >>> import jnn as nn
    >>> from jnn.summary import summary
    >>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    >>> stats = summary(model, input_size=(16, 4), verbose=0)
    >>> stats.total_params
    58
    >>> print(stats)  # doctest: +SKIP
    ==============================================================================
    Layer (type (var_name):depth-idx)        Output Shape              Param #
    ==============================================================================
    Sequential (Sequential)                  [16, 2]                   --
    ├─Linear (0): 1-1                        [16, 8]                   40
    ├─ReLU (1): 1-2                          [16, 8]                   --
    ├─Linear (2): 1-3                        [16, 2]                   18
    ...
"""
from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ._state import collect
from .modules.module import Module
from .parameter import Parameter, UninitializedParameter
from .random import default_generator

__all__ = ["summary", "ModelStatistics", "LayerInfo", "module_html"]

_COLUMNS = {
    "input_size": "Input Shape",
    "output_size": "Output Shape",
    "num_params": "Param #",
    "params_percent": "Param %",
    "kernel_size": "Kernel Shape",
    "mult_adds": "Mult-Adds",
    "trainable": "Trainable",
}
_ROW_SETTINGS = ("depth", "var_names", "ascii_only")


# -- helpers ----------------------------------------------------------------------------------
def _arrays(tree) -> list:
    return [leaf for leaf in jax.tree_util.tree_leaves(tree)
            if hasattr(leaf, "shape") and hasattr(leaf, "dtype")]


def _shape_text(tree) -> str:
    arrays = _arrays(tree)
    if not arrays:
        return "--"
    shapes = [list(a.shape) for a in arrays]
    if len(shapes) == 1:
        return str(shapes[0])
    return "[" + ", ".join(str(s) for s in shapes) + "]"


def _nbytes(tree) -> int:
    return sum(int(np.prod(a.shape, dtype=np.int64)) * np.dtype(a.dtype).itemsize
               for a in _arrays(tree))


def _numel(p) -> int:
    return int(np.prod(p.shape, dtype=np.int64))


class LayerInfo:
    """One row of the table: one call of one module during the forward pass.

    Attributes:
        module: the module called. class_name: its class name. var_name: its attribute name in
        its parent (``"0"``, ``"conv1"``); full_name: the dotted path from the root
        (``"layer1.0.left.0"``, ``""`` for the root). depth: call depth (the root is 0).
        depth_index: 1-based position among its parent's calls. input_size / output_size: shapes
        (list, or list of lists for several arrays). num_params / trainable_params: parameters
        owned by the module itself (not its children). total_params: with its descendants.
        is_recursive: the module was already called earlier (shared / reused module).
    """

    def __init__(self, module: Module, full_name: str, depth: int, parent: LayerInfo | None):
        self.module = module
        self.class_name = type(module).__name__
        self.full_name = full_name
        self.var_name = full_name.rsplit(".", 1)[-1] if full_name else type(module).__name__
        self.depth = depth
        self.parent = parent
        self.children: list = []
        self.depth_index = 0
        self.input_size: Any = None
        self.output_size: Any = None
        self.input_text = "--"
        self.output_text = "--"
        self.output_bytes = 0
        self.is_recursive = False
        own = [p for p in module.parameters(recurse=False)]
        self.num_params = sum(_numel(p) for p in own)
        self.trainable_params = sum(_numel(p) for p in own if p.requires_grad)
        every = list(module.parameters())
        self.total_params = sum(_numel(p) for p in every)
        self.total_trainable = sum(_numel(p) for p in every if p.requires_grad)
        self.kernel_size = getattr(module, "kernel_size", None)
        self.mult_adds = 0

    @property
    def is_leaf(self) -> bool:
        return not self.children

    def __repr__(self) -> str:
        return (f"LayerInfo({self.class_name}, name={self.full_name!r}, depth={self.depth}, "
                f"output_size={self.output_size}, num_params={self.num_params})")


def _sizes(tree):
    arrays = _arrays(tree)
    if not arrays:
        return None
    if len(arrays) == 1:
        return list(arrays[0].shape)
    return [list(a.shape) for a in arrays]


def _mult_adds(info: LayerInfo) -> int:
    """Multiply-adds of weight products, torchinfo's rule: convolutions count each weight once
    per output position, other weights once per leading output element."""
    out = _arrays(info.output_size_tree) if hasattr(info, "output_size_tree") else []
    if not out:
        return 0
    shape = out[0].shape
    total = 0
    for name, p in info.module.named_parameters(recurse=False):
        n = _numel(p)
        if "weight" not in name or len(p.shape) < 2:  # matrices and kernels only
            continue
        if info.kernel_size is not None and len(shape) >= 2:
            total += n * int(np.prod((shape[0],) + tuple(shape[2:]), dtype=np.int64))
        elif len(shape) >= 1:
            total += n * int(np.prod(shape[:-1], dtype=np.int64))
        else:
            total += n
    return total


class ModelStatistics:
    """What :func:`summary` returns; ``str()`` is the table.

    Attributes:
        summary_list: the rows (:class:`LayerInfo`), in call order.
        total_params / trainable_params / non_trainable_params: unique parameter element counts.
        total_mult_adds: weight multiply-adds of convolutions and linear-like layers.
        total_input / total_output_bytes / total_param_bytes: bytes of the inputs, of the leaf
        layers' outputs (forward + backward, i.e. twice) and of the parameters.
    """

    def __init__(self, model: Module, summary_list: list, inputs, col_names: Sequence[str],
                 col_width: int, depth: int, row_settings: Sequence[str]):
        self.model = model
        self.summary_list = summary_list
        self.col_names = tuple(col_names)
        self.col_width = col_width
        self.max_depth = depth
        self.row_settings = tuple(row_settings)
        params = list(model.parameters())
        self.total_params = sum(_numel(p) for p in params)
        self.trainable_params = sum(_numel(p) for p in params if p.requires_grad)
        self.non_trainable_params = self.total_params - self.trainable_params
        self.total_param_bytes = sum(_numel(p) * np.dtype(p.dtype).itemsize for p in params)
        self.total_input = _nbytes(inputs)
        self.total_output_bytes = 2 * sum(r.output_bytes for r in summary_list
                                          if r.is_leaf and not r.is_recursive)
        self.total_mult_adds = sum(r.mult_adds for r in summary_list)

    # -- formatting ---------------------------------------------------------------------------
    def _layer_text(self, row: LayerInfo) -> str:
        ascii_only = "ascii_only" in self.row_settings
        name = row.class_name
        if "var_names" in self.row_settings:
            name += f" ({row.var_name})"
        if row.depth == 0:
            return name
        if "depth" in self.row_settings:
            name += f": {row.depth}-{row.depth_index}"
        branch = ("+-" if ascii_only else "├─") if row.depth == 1 else \
            ("`-" if ascii_only else "└─")
        bar = "|    " if ascii_only else "│    "
        return bar * (row.depth - 1) + branch + name

    def _cell(self, row: LayerInfo, col: str) -> str:
        shows_children = any(c.depth <= self.max_depth for c in row.children)
        if col == "output_size":
            return row.output_text
        if col == "input_size":
            return row.input_text
        if col == "kernel_size":
            return str(list(row.kernel_size)) if isinstance(row.kernel_size, (tuple, list)) \
                else ("--" if row.kernel_size is None else str(row.kernel_size))
        if col == "mult_adds":
            n = row.mult_adds if shows_children else sum(
                r.mult_adds for r in self._subtree(row))
            return f"{n:,}" if n else "--"
        if col == "trainable":
            total = row.num_params if shows_children else row.total_params
            train = row.trainable_params if shows_children else row.total_trainable
            if total == 0:
                return "--"
            return "True" if train == total else ("False" if train == 0 else "Partial")
        n = row.num_params if shows_children else row.total_params
        if col == "num_params":
            if row.is_recursive and n:
                return "(recursive)"
            return f"{n:,}" if n else "--"
        if col == "params_percent":
            if not n or not self.total_params or row.is_recursive:
                return "--"
            return f"{100 * n / self.total_params:.2f}%"
        raise AssertionError(col)

    @staticmethod
    def _subtree(row: LayerInfo):
        yield row
        for child in row.children:
            yield from ModelStatistics._subtree(child)

    def __str__(self) -> str:
        rows = [r for r in self.summary_list if r.depth <= self.max_depth]
        header = "Layer (type (var_name):depth-idx)" if "var_names" in self.row_settings \
            else "Layer (type:depth-idx)"
        if "depth" not in self.row_settings:
            header = header.replace(":depth-idx", "")
        table = [[self._layer_text(r)] + [self._cell(r, c) for c in self.col_names] for r in rows]
        heads = [header] + [_COLUMNS[c] for c in self.col_names]
        widths = [max([len(heads[0]) + 1, self.col_width + 15]
                      + [len(t[0]) + 1 for t in table])]
        for j in range(1, len(heads)):
            widths.append(max([self.col_width, len(heads[j]) + 1] + [len(t[j]) + 1 for t in table]))
        line = "=" * sum(widths)

        def fmt(cells):
            return "".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()

        out = [line, fmt(heads), line]
        out += [fmt(t) for t in table]
        mb = 1e6
        out += [line,
                f"Total params: {self.total_params:,}",
                f"Trainable params: {self.trainable_params:,}",
                f"Non-trainable params: {self.non_trainable_params:,}"]
        if self.total_mult_adds:
            unit, scale = ("G", 1e9) if self.total_mult_adds >= 1e9 else ("M", 1e6)
            out.append(f"Total mult-adds ({unit}): {self.total_mult_adds / scale:.2f}")
        total = self.total_input + self.total_output_bytes + self.total_param_bytes
        out += [line,
                f"Input size (MB): {self.total_input / mb:.2f}",
                f"Forward/backward pass size (MB): {self.total_output_bytes / mb:.2f}",
                f"Params size (MB): {self.total_param_bytes / mb:.2f}",
                f"Estimated Total Size (MB): {total / mb:.2f}",
                line]
        return "\n".join(out)

    __repr__ = __str__


# -- the abstract forward pass ------------------------------------------------------------------
def _abstract(x):
    """An array-like as a ``jax.ShapeDtypeStruct``; anything else unchanged."""
    if isinstance(x, Parameter):
        x = x._data
    if isinstance(x, jax.ShapeDtypeStruct):
        return x
    if type(x).__module__.startswith("torch") and hasattr(x, "shape"):
        return jax.ShapeDtypeStruct(tuple(x.shape), np.dtype(str(x.dtype).replace("torch.", "")))
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return jax.ShapeDtypeStruct(tuple(x.shape), x.dtype)
    return x


def _inputs_from_sizes(input_size, dtypes, batch_dim):
    if input_size is None:
        return None
    sizes = input_size
    single = isinstance(sizes, (tuple, list)) and all(isinstance(s, int) for s in sizes)
    if single:
        sizes = [sizes]
    if not all(isinstance(s, (tuple, list)) and all(isinstance(d, int) and d >= 0 for d in s)
               for s in sizes):
        raise ValueError("summary: expected input_size to be a sequence of non-negative ints, or "
                         f"a list of such sequences (one per input), got {input_size!r}")
    if dtypes is None:
        dtypes = [jnp.float32] * len(sizes)
    elif not isinstance(dtypes, (tuple, list)):
        dtypes = [dtypes] * len(sizes)
    if len(dtypes) != len(sizes):
        raise ValueError(f"summary: got {len(sizes)} input sizes but {len(dtypes)} dtypes")
    out = []
    for s, dt in zip(sizes, dtypes):
        s = tuple(s)
        if batch_dim is not None:
            s = s[:batch_dim] + (1,) + s[batch_dim:]
        out.append(jax.ShapeDtypeStruct(s, jnp.dtype(dt)))
    return tuple(out)


def _set_modes(model: Module, mode: str):
    flags = [(m, m.training) for m in model.modules()]
    if mode == "train":
        model.train()
    elif mode == "eval":
        model.eval()
    elif mode != "same":
        raise ValueError(f"summary: mode must be 'train', 'eval' or 'same', got {mode!r}")
    return flags


def summary(model: Module, input_size=None, input_data=None, dtypes=None, depth: int = 3,
            col_names: Sequence[str] = ("output_size", "num_params"),
            batch_dim: int | None = None,
            verbose: int | None = None, col_width: int = 25, mode: str = "eval",
            row_settings: Sequence[str] = ("depth", "var_names"), **kwargs) -> ModelStatistics:
    """Summarize ``model`` in a table of its layers, in call order (torchinfo's ``summary``).

    The forward pass is abstract (:func:`jax.eval_shape`): no arithmetic runs and no memory is
    allocated for activations; the model's parameters, buffers, training flags, hooks and the
    global random stream are exactly as before afterwards.

    Args:
        model: the module to summarize.
        input_size: the shape of the (single) input, e.g. ``(1, 3, 224, 224)``, or a list of
            shapes, one per positional input. Includes the batch dimension unless ``batch_dim``
            is given.
        input_data: example input(s) instead of ``input_size``: an array, a list/tuple of
            positional inputs, or a dict of keyword inputs. Arrays (jax, numpy, torch) or
            ``jax.ShapeDtypeStruct``; only their shapes and dtypes are used.
        dtypes: dtype(s) of the inputs built from ``input_size`` (default float32).
        depth: deepest call level shown (the model itself is level 0); deeper layers are folded
            into their displayed ancestor's parameter count.
        col_names: columns, any of ``"input_size"``, ``"output_size"``, ``"num_params"``,
            ``"params_percent"``, ``"kernel_size"``, ``"mult_adds"``, ``"trainable"``.
        batch_dim: if given, a batch dimension of size 1 is inserted at this index of every
            ``input_size``.
        verbose: 0 returns the statistics silently; 1 also prints the table. The default
            (None), as in torchinfo: 1 in scripts, 0 in Jupyter, IPython and at the ``python``
            prompt, where the returned object displays itself. So ``summary(...)`` shows the
            table once everywhere, and so does ``print(summary(...))`` in a notebook; in a
            script, ``print(summary(...))`` prints it twice (torchinfo too): write
            ``summary(...)`` or ``print(summary(..., verbose=0))``.
        col_width: minimum width of the data columns (wider content widens a column).
        mode: ``"eval"`` (default), ``"train"`` or ``"same"``: the training mode used for the
            pass (restored afterwards).
        row_settings: any of ``"depth"`` (show ``depth-idx``), ``"var_names"`` (show attribute
            names), ``"ascii_only"``.
        **kwargs: extra keyword arguments for ``model.forward``.

    Returns:
        ModelStatistics: ``str()`` is the table; ``total_params``, ``trainable_params``,
        ``non_trainable_params``, ``summary_list`` (rows with ``output_size`` etc.).

    Example:
        >>> import jnn as nn
        >>> from jnn.summary import summary
        >>> stats = summary(nn.Conv2d(3, 8, 3), input_size=(1, 3, 32, 32), verbose=0)
        >>> stats.summary_list[0].output_size, stats.total_params
        ([1, 8, 30, 30], 224)

    Differences from torchinfo:
        The default ``row_settings`` also shows attribute names; ``mult_adds`` counts weight
        products only (no bias, no functional ops); lazy modules must be materialized first.
    """
    if not isinstance(model, Module):
        raise TypeError(f"summary: expected model to be a jnn Module, got {type(model).__name__}")
    for c in col_names:
        if c not in _COLUMNS:
            raise ValueError(f"summary: unknown column {c!r}; expected any of {tuple(_COLUMNS)}")
    for s in row_settings:
        if s not in _ROW_SETTINGS:
            raise ValueError(f"summary: unknown row setting {s!r}; expected any of {_ROW_SETTINGS}")
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
        raise ValueError(f"summary: depth must be a non-negative int, got {depth!r}")
    if input_size is not None and input_data is not None:
        raise ValueError("summary: give input_size or input_data, not both")
    for name, p in model.named_parameters():
        if isinstance(p, UninitializedParameter):
            raise ValueError(f"summary: parameter {name!r} is uninitialized (lazy module); run "
                             "the model once on real data first")

    args: tuple = ()
    fwd_kwargs = dict(kwargs)
    if input_data is not None:
        if isinstance(input_data, dict):
            fwd_kwargs.update({k: jax.tree_util.tree_map(_abstract, v)
                               for k, v in input_data.items()})
        elif isinstance(input_data, (list, tuple)):
            args = tuple(jax.tree_util.tree_map(_abstract, a) for a in input_data)
        else:
            args = (_abstract(input_data),)
    elif input_size is not None:
        args = _inputs_from_sizes(input_size, dtypes, batch_dim)
    fwd_kwargs = {k: jax.tree_util.tree_map(_abstract, v) for k, v in fwd_kwargs.items()}
    inputs = (args, fwd_kwargs)

    names: dict = {}
    for name, m in model.named_modules(remove_duplicate=False):
        names.setdefault(id(m), name)

    rows: list = []
    stack: list = []
    seen: set = set()
    top_children: list = []

    def pre_hook(module, hook_args):
        parent = stack[-1] if stack else None
        info = LayerInfo(module, names.get(id(module), type(module).__name__), len(stack), parent)
        siblings = parent.children if parent is not None else top_children
        siblings.append(info)
        info.depth_index = len(siblings)
        info.is_recursive = id(module) in seen
        seen.add(id(module))
        info.input_size = _sizes(hook_args)
        info.input_text = _shape_text(hook_args)
        rows.append(info)
        stack.append(info)

    def post_hook(module, hook_args, output):
        # pop up to this module's row (a forward that raised may have left rows behind)
        while stack:
            info = stack.pop()
            if info.module is module:
                break
        info.output_size = _sizes(output)
        info.output_text = _shape_text(output)
        info.output_bytes = _nbytes(output)
        info.output_size_tree = jax.tree_util.tree_map(
            lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype), _arrays(output))
        info.mult_adds = _mult_adds(info)

    handles = []
    flags = _set_modes(model, mode)
    collector = collect([model], extra=(default_generator,))
    slots = collector.slots()
    originals = [c[k] for c, k in slots]
    try:
        for m in model.modules():
            handles.append(m.register_forward_pre_hook(pre_hook))
            handles.append(m.register_forward_hook(post_hook))

        def pure(values, args, kw):
            try:
                for (c, k), v in zip(slots, values):
                    c[k] = v
                out = model(*args, **kw)
                return jax.tree_util.tree_map(
                    lambda x: x._data if isinstance(x, Parameter) else x, out,
                    is_leaf=lambda x: isinstance(x, Parameter))
            finally:
                for (c, k), v in zip(slots, originals):
                    c[k] = v

        abstract_values = [jax.tree_util.tree_map(_abstract, v) for v in originals]
        jax.eval_shape(pure, abstract_values, args, fwd_kwargs)
    finally:
        for (c, k), v in zip(slots, originals):
            c[k] = v
        for h in handles:
            h.remove()
        _restore_flags(flags)

    for r in rows:
        r.__dict__.pop("output_size_tree", None)
    stats = ModelStatistics(model, rows, inputs, col_names, col_width, depth, row_settings)
    if verbose is None:
        verbose = 0 if _interactive() else 1
    if verbose:
        print(stats)
    return stats


def _interactive() -> bool:
    """Whether the session is interactive (Jupyter, IPython, the ``python`` prompt), where the
    returned statistics display themselves as a cell's or a prompt's value (torchinfo's rule:
    ``verbose`` defaults to 0 when ``sys.ps1`` is set)."""
    import sys
    if getattr(sys, "ps1", None):
        return True
    shell = sys.modules.get("IPython")
    try:
        return shell is not None and shell.get_ipython() is not None
    except Exception:  # pragma: no cover - exotic IPython states
        return False


def _restore_flags(flags) -> None:
    for m, training in flags:
        if m.training != training:
            m.training = training  # Module.__setattr__ bumps the structure version


# -- HTML ---------------------------------------------------------------------------------------
def _count(params) -> int:
    return sum(_numel(p) for p in params)


def module_html(module: Module) -> str:
    """A collapsible HTML tree of ``module`` for Jupyter: one ``<details>`` per submodule with
    its class, ``extra_repr``, parameter count (its subtree's), and its own parameters' and
    buffers' shapes and dtypes; the top level is open, the rest collapsed.

    Example:
        >>> import jnn as nn
        >>> from jnn.summary import module_html
        >>> "Linear" in module_html(nn.Sequential(nn.Linear(2, 3)))
        True
    """
    def node(m: Module, name: str | None, open_: bool) -> str:
        total = _count(m.parameters())
        trainable = _count(p for p in m.parameters() if p.requires_grad)
        extra = m.extra_repr()
        title = (f"<b>{html.escape(name)}</b>: " if name else "") + \
            f"<code>{html.escape(m._get_name())}</code>"
        if extra and "\n" not in extra:
            title += f"<code>({html.escape(extra)})</code>"
        count = f"{total:,} params" if total == trainable else \
            f"{total:,} params ({trainable:,} trainable)"
        title += f' <span style="color:#888">&middot; {count}</span>' if total else ""
        items = []
        for pname, p in m.named_parameters(recurse=False):
            flag = "" if p.requires_grad else ", requires_grad=False"
            items.append(f"<li>parameter <code>{html.escape(pname)}</code>: "
                         f"{tuple(p.shape)} {np.dtype(p.dtype).name}{flag}</li>")
        for bname, b in m.named_buffers(recurse=False):
            if b is None:
                continue
            items.append(f"<li>buffer <code>{html.escape(bname)}</code>: "
                         f"{tuple(b.shape)} {np.dtype(b.dtype).name}</li>")
        children = [node(c, cname, False) for cname, c in m.named_children()]
        if not items and not children:
            return f'<div style="margin-left:1.2em">{title}</div>'
        body = (f'<ul style="margin:0 0 0 1.2em;padding:0">{"".join(items)}</ul>' if items else "")
        body += "".join(f'<div style="margin-left:1.2em">{c}</div>' for c in children)
        return f"<details{' open' if open_ else ''}><summary>{title}</summary>{body}</details>"

    return f'<div class="jnn-module" style="font-family:monospace">{node(module, None, True)}</div>'
