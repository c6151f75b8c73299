"""``Optimizer``: torch's optimizer API (param groups, state, state_dict) over Parameter boxes.

An optimizer updates its parameters in place: ``step()`` rebinds each ``Parameter``'s array.
Gradients come either from ``step(grads)`` (a :class:`jnn.Grads` from ``nn.value_and_grad``,
matched to parameters by identity) or torch-style from each parameter's ``.grad``.

Under ``nn.jit`` an optimizer is state like a module: its per-parameter state arrays are
in/out slots, and the numeric hyper-parameters of every param group (``lr``, ``momentum`` ...)
are *inputs* of the compiled program, so editing ``param_groups[i]['lr']`` (or a scheduler
doing it) between steps takes effect without recompiling. Which of them are zero, and every
non-numeric option (``nesterov``, ``maximize`` ...), is static: changing those recompiles once.

Subclasses define ``_init_state(p, group)`` (the state torch creates on the first step, made
eagerly so a compiled step sees a fixed structure) and a staticmethod
``_update(p, g, state, hyper, static)``
returning the new parameter value and state.

Class attributes a subclass may set:

* ``_static_keys``: numeric options that are compile-time constants anyway.
* ``_zero_keys``: the numeric options whose zero-ness the update branches on with
  ``static.is_zero`` (``None``: all of them). Keeping ``lr`` out of it means a schedule that
  reaches ``lr == 0`` does not recompile.
* ``_dynamic_items``: ``{key: indices}`` for tuple options of which only some entries are
  program inputs, e.g. ``{"betas": (0,)}``: ``betas[0]`` (which ``CyclicLR``/``OneCycleLR``
  cycle every step) is an input, ``betas[1]`` stays a Python float so that quantities like
  ``1 - 0.999`` are computed in double precision, as torch does. The update reads the live
  tuple from ``hyper[key]``.

The containers an optimizer owns track their own changes (``jnn._state.tracking``, contract in
``docs/design.md``): ``param_groups`` and every group's ``params`` list, each group (a dict
that notices every edit of a static fact: a non-numeric option, the zero-ness of a
``_zero_keys`` entry, a static tuple entry, through ``group[k] = v``, ``update``, ``pop``,
``del`` ...), ``state`` and its per-parameter dicts. So the next ``nn.jit`` call sees a changed
option, a removed parameter or a cleared state, and re-collects (and, if needed, recompiles)
instead of silently running the old program.
"""
from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast

import jax
import jax.numpy as jnp
import numpy as np

from .._placement import fits_one_program, put_global
from .._state import HookDict, RemovableHandle, TrackedList, ValueDict, add_hook, context
from .._state.static import freeze
from .._state.tracking import PendingDict, note_change
from ..parameter import Parameter, _to_array

__all__ = ["Optimizer", "required"]


class _RequiredParameter:
    """Singleton marking a hyper-parameter without a default (torch's
    ``optim.optimizer.required``)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


def _is_dynamic(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)) or \
        isinstance(value, (jax.Array, np.ndarray))


class _StaticKey:
    """A static view as a cache key (hashed and compared by its hashable form)."""

    def __init__(self, view: StaticView):
        self.view, self.key = view, _hashable(view)

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _StaticKey) and other.key == self.key


def _group_updates(cls: type[Optimizer], static: StaticView, params, grads, states,
                   dynamic) -> list:
    """``cls._update`` per parameter, the static entries of ``_dynamic_items`` tuples put back
    (they stay Python numbers: ``1 - betas[1]`` in double precision, as torch)."""
    hyper = dict(dynamic)
    for k, indices in cls._dynamic_items.items():
        if k in hyper:
            live = dict(zip(indices, hyper[k]))
            hyper[k] = tuple(live.get(i, v) for i, v in enumerate(static[k]))
    return [cls._update(p, g, s, hyper, static) for p, g, s in zip(params, grads, states)]


@functools.lru_cache(maxsize=256)
def _group_update_program(cls: type[Optimizer], static: _StaticKey) -> Callable:
    return jax.jit(functools.partial(_group_updates, cls, static.view))


def _is_tracer(value: Any) -> bool:
    if isinstance(value, jax.core.Tracer):
        return True
    if isinstance(value, (tuple, list)):
        return any(isinstance(v, jax.core.Tracer) for v in value)
    return False


class StaticView(dict):
    """The static part of a param group: non-numeric options and which numbers are zero."""

    def is_zero(self, key: str) -> bool:
        return key in self["_zero"]


def _mask_items(value: Any, indices: tuple) -> Any:
    if isinstance(value, (tuple, list)):
        return tuple(None if i in indices else v for i, v in enumerate(value))
    return value


def _classify(key: str, value: Any, static_keys: frozenset, zero_keys: frozenset | None,
              dynamic_items: dict) -> tuple:
    """What of ``group[key] = value`` is static: the compile-time facts it contributes."""
    if key in dynamic_items:
        return ("items", _hashable(_mask_items(value, dynamic_items[key])))
    if _is_dynamic(value) and key not in static_keys:
        zero = isinstance(value, (int, float)) and value == 0 and \
            (zero_keys is None or key in zero_keys)
        return ("dyn", zero)
    return ("static", _hashable(value))


def _static_view(group: dict, static_keys: frozenset, zero_keys: frozenset | None = None,
                 dynamic_items: dict | None = None) -> StaticView:
    dynamic_items = dynamic_items or {}
    view = StaticView()
    zero = []
    for k, v in group.items():
        if k == "params":
            continue
        if k in dynamic_items:
            view[k] = _mask_items(v, dynamic_items[k])
        elif _is_dynamic(v) and k not in static_keys:
            if isinstance(v, (int, float)) and v == 0 and (zero_keys is None or k in zero_keys):
                zero.append(k)
        else:
            view[k] = v
    view["_zero"] = frozenset(zero)
    return view


class _ParamGroup(dict):
    """A param group: a dict that reports every change of a static fact.

    ``_owner`` is the optimizer class, whose ``_static_keys`` / ``_zero_keys`` /
    ``_dynamic_items`` say what of a value is static. Replacing a numeric hyper-parameter by
    another number of the same zero-ness is not structural (it is a program input).
    """

    _owner: Any = None

    def __setitem__(self, key, value):
        owner = self._owner
        if key == "params" and not isinstance(value, TrackedList):
            value = TrackedList(value) if isinstance(value, (list, tuple)) else value
        old = self.get(key, _MISSING)
        rec = context.recorder()
        if rec is not None:
            rec.note_write(self, key, old)
        dict.__setitem__(self, key, value)
        if owner is None or _is_tracer(value) or _is_tracer(old):
            return  # being built, or nn.jit swapping program inputs in and out
        if key == "params" or old is _MISSING:
            note_change()
            return
        args = (owner._static_keys, owner._zero_keys, owner._dynamic_items)
        if _classify(key, old, *args) != _classify(key, value, *args):
            note_change()

    def __delitem__(self, key):
        rec = context.recorder()
        if rec is not None:
            rec.note_write(self, key, self.get(key, _MISSING))
        dict.__delitem__(self, key)
        note_change()

    def pop(self, key, *default):
        if key in self:
            value = self[key]
            del self[key]
            return value
        if default:
            return default[0]
        raise KeyError(key)

    def popitem(self):
        if not self:
            raise KeyError("popitem(): dictionary is empty")
        key = next(reversed(self))
        return key, self.pop(key)

    def clear(self):
        for key in list(self):
            del self[key]

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = default
        return self[key]

    def update(self, *args, **kwargs):
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def __ior__(self, other):  # type: ignore[misc]  # (dict's |= returns Self too)
        self.update(other)
        return self

    def __reduce__(self):
        return (_rebuild_group, (self._owner, dict(self)))


_MISSING = object()


def _rebuild_group(owner_cls, items):
    group = _ParamGroup()
    for k, v in items.items():
        group[k] = v
    group._owner = owner_cls
    return group


class _OptimizerState(defaultdict):
    """``Optimizer.state``: ``Parameter -> dict``, reporting entries added, replaced or removed
    (each entry is a :class:`~jnn._state.tracking.ValueDict`: new values for its keys are
    values, new keys are structure)."""

    def __init__(self, items=()):
        super().__init__(ValueDict)
        for k, v in dict(items).items():
            self[k] = v

    def __missing__(self, key):
        value = self[key] = ValueDict()
        return value

    def __setitem__(self, key, value):
        if not isinstance(value, ValueDict):
            value = ValueDict(value)
        super().__setitem__(key, value)
        note_change()

    def __delitem__(self, key):
        super().__delitem__(key)
        note_change()

    def pop(self, *args):
        value = super().pop(*args)
        note_change()
        return value

    def popitem(self):
        item = super().popitem()
        note_change()
        return item

    def clear(self):
        super().clear()
        note_change()

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = {} if default is None else default
        return self[key]

    def update(self, *args, **kwargs):
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def __reduce__(self):
        return (_OptimizerState, (dict(self),))

    def __copy__(self):
        return _OptimizerState(self)

    def __deepcopy__(self, memo):
        import copy
        new = _OptimizerState()
        memo[id(self)] = new
        for k, v in self.items():
            new[copy.deepcopy(k, memo)] = copy.deepcopy(dict(v), memo)
        return new


def _pending(state) -> bool:
    """Whether a state entry was made for nn.jit and no step has updated its parameter yet."""
    return type(state) is PendingDict


def _has_state(state) -> bool:
    """Whether an entry holds optimizer state (keys other than jnn's private bookkeeping)."""
    return bool(state) and any(not k.startswith("_") for k in state)


def _started(state) -> bool:
    """An entry with real state that a step (eager or compiled) has used."""
    return _has_state(state) and not _pending(state)


def _group_snapshot(group: dict):
    return (tuple(map(id, group.get("params", ()))),
            freeze({k: v for k, v in group.items() if k != "params"})[0])


def _hashable(value: Any):
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, frozenset):
        return tuple(sorted(value))
    try:
        hash(value)
        return value
    except TypeError:
        return id(value)


class Optimizer:
    """Base class of all optimizers (``torch.optim.Optimizer``).

    Args:
        params: an iterable of Parameters, or of dicts defining param groups (each with a
            ``'params'`` entry and per-group hyper-parameters).
        defaults: default hyper-parameter values for groups that do not set them.
    """

    _jnn_stateful = True
    _static_keys: frozenset = frozenset()
    _zero_keys: frozenset | None = None
    _dynamic_items: dict = {}
    # Set in __init__ through __dict__ (before __setattr__'s tracking is wanted).
    defaults: dict
    state: dict  # an _OptimizerState: __setattr__ converts what is assigned
    param_groups: list
    _optimizer_step_pre_hooks: HookDict
    _optimizer_step_post_hooks: HookDict
    _jnn_static_views: list

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        update = cls.__dict__.get("_update")
        if update is not None and not isinstance(update, staticmethod):
            raise TypeError(f"{cls.__name__}._update must be a @staticmethod (a pure function "
                            "of p, g, state, hyper, static, compiled once per class)")

    def __init__(self, params: Iterable, defaults: dict) -> None:
        d = self.__dict__
        d["defaults"] = defaults
        d["state"] = _OptimizerState()
        d["param_groups"] = TrackedList()
        d["_optimizer_step_pre_hooks"] = HookDict()
        d["_optimizer_step_post_hooks"] = HookDict()
        d["_jnn_static_views"] = []
        if isinstance(params, Parameter) or isinstance(params, jax.Array):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            f"Parameters or dicts, but got {type(params).__name__}")
        if isinstance(params, (set, frozenset)):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        param_groups = list(params)
        if not param_groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    # -- param groups -------------------------------------------------------------------------
    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own hyper-parameters (fine-tuning, per-layer lr)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Parameter):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        else:
            params = list(params)
        for p in params:
            if not isinstance(p, Parameter):
                raise TypeError("optimizer can only optimize Parameters, but one of the params is "
                                + type(p).__name__)
        group = _ParamGroup()
        for k, v in param_group.items():
            group[k] = v
        param_group = group
        param_group["params"] = params
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(f"parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            param_group.setdefault(name, default)
        existing = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in params}) != len(params):
            raise ValueError("optimizer contains a parameter group with duplicate parameters")
        if existing & {id(p) for p in params}:
            raise ValueError("some parameters appear in more than one parameter group")
        param_group._owner = type(self)
        self.param_groups.append(param_group)

    # -- gradients ----------------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None  # set without reading: see Module.zero_grad
                elif p.grad is not None:
                    p.grad = jnp.zeros_like(p.grad)

    def _grad_lookup(self, grads) -> Callable[[Parameter], Any]:
        if grads is None:
            return lambda p: p.grad
        if isinstance(grads, tuple) and grads and all(isinstance(g, Mapping) for g in grads):
            def lookup(p, _grads=grads):
                for g in _grads:
                    value = g.get(p)
                    if value is not None:
                        return value
                return None
            return lookup
        if isinstance(grads, Mapping):
            if not hasattr(grads, "parameters") and any(isinstance(k, str) for k in grads):
                # A plain {name: grad} dict cannot be matched to parameters (the optimizer
                # holds Parameters, not names); silently skipping them would train nothing.
                raise TypeError("step: got gradients keyed by name; pass the jnn.Grads returned "
                                "by nn.value_and_grad (it maps parameters by identity), e.g. "
                                "jax.tree.map(f, grads) keeps it a Grads")
            return lambda p: grads.get(p)
        if isinstance(grads, (list, tuple)):
            flat = [p for g in self.param_groups for p in g["params"]]
            if len(grads) != len(flat):
                raise ValueError(f"step: got {len(grads)} gradients for {len(flat)} parameters")
            table = {id(p): g for p, g in zip(flat, grads)}
            return lambda p: table.get(id(p))
        raise TypeError("step: grads must be a jnn.Grads (from nn.value_and_grad), a mapping "
                        f"from Parameter to array, or a list aligned with the parameters; got "
                        f"{type(grads).__name__}")

    # -- stepping -----------------------------------------------------------------------------
    def _init_state(self, p: Parameter, group: dict) -> dict:
        """The per-parameter state torch creates on the first step (override)."""
        return {}

    def _ensure_state(self, pending: bool = False) -> None:
        """Create the state of every parameter that has none yet.

        With ``pending=True`` (``nn.jit`` collecting: a compiled step needs a fixed state
        structure before the first update) the new entries are marked not yet started, and
        ``state_dict`` leaves them out until a step has updated their parameter, as torch's
        lazily created state would be. An empty or not-yet-started entry is re-made when the
        options changed what state they create (SGD's momentum going from 0 to non-zero).
        """
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state.get(p)
                if _started(state):
                    continue
                fresh = self._init_state(p, group)
                if state is None or set(state) != set(fresh):
                    self.state[p] = PendingDict(fresh) if pending else fresh

    @staticmethod
    def _update(p, g, state: dict, hyper: dict, static: StaticView):
        """Return ``(new_p, new_state)`` for one parameter (override with a staticmethod: a pure
        function of its arguments, compiled once per class and static view)."""
        raise NotImplementedError

    def _make_static_view(self, group: dict) -> StaticView:
        return _static_view(group, self._static_keys, self._zero_keys, self._dynamic_items)

    def _hyper(self, group: dict, static: StaticView) -> dict:
        hyper = {k: v for k, v in group.items()
                 if k != "params" and k not in static and k != "_zero"}
        for k in self._dynamic_items:
            if k in group:
                hyper[k] = group[k]
        return hyper

    def _run_updates(self, params: list, grads: list, states: list, hyper: dict,
                     static: StaticView) -> list:
        """``_update`` over one group's parameters: ``[(new_p, new_state), ...]``.

        Called eagerly (concrete arrays, not inside ``nn.jit`` or another trace), the group's
        updates run as one compiled program, shared by every optimizer of this class with the
        same static view (and cached by ``jax.jit`` per shapes and dtypes). Op by op, each
        primitive of the update would compile for every new parameter shape on the first step
        (a small Transformer's first eager AdamW step: 83 programs) and every step would
        dispatch a dozen operations per parameter. The numeric hyper-parameters are program
        inputs, as under ``nn.jit``: a scheduler changing ``lr`` compiles nothing.
        """
        cls = type(self)
        dynamic = {k: tuple(v[i] for i in cls._dynamic_items[k]) if k in cls._dynamic_items
                   else v for k, v in hyper.items()}
        if not params or not fits_one_program((params, grads, states, dynamic), tracers_ok=False):
            return _group_updates(cls, static, params, grads, states, dynamic)
        program = _group_update_program(cast(Any, cls), _StaticKey(static))  # (a class is hashable)
        return program(params, grads, states, dynamic)

    def step(self, grads: Any = None, closure: Callable | None = None) -> Any:
        """Update every parameter that has a gradient.

        Args:
            grads: gradients from ``nn.value_and_grad`` (a ``Grads``, or a tuple of them);
                ``None`` uses each parameter's ``.grad`` (torch style).
            closure: re-evaluates the model and returns the loss (torch's ``step(closure)``).
                A callable passed as ``grads`` is taken as the closure.

        Returns:
            The closure's loss, or ``None``.
        """
        if callable(grads) and not isinstance(grads, Mapping) and closure is None:
            grads, closure = None, grads
        for hook in list(self._optimizer_step_pre_hooks.values()):
            result = hook(self, (), {})
            if result is not None:
                raise RuntimeError("optimizer step pre-hooks that change arguments are not "
                                   "supported by jnn")
        loss = closure() if closure is not None else None
        lookup = self._grad_lookup(grads)
        updated = 0
        for index, group in enumerate(self.param_groups):
            # Inside an nn.jit trace the numeric hyper-parameters are tracers; their static view
            # was taken when the state was gathered.
            tracing = any(_is_tracer(v) for v in group.values())
            static = self._jnn_static_views[index] if tracing else self._make_static_view(group)
            hyper = self._hyper(group, static)
            todo = []
            for p in group["params"]:
                g = lookup(p)
                if g is None:
                    continue
                updated += 1
                g = _to_array(g, "gradient")
                if g.shape != p.shape:
                    raise ValueError(f"step: gradient of shape {tuple(g.shape)} for a parameter "
                                     f"of shape {p.shape}")
                state = self.state.get(p)
                if not _has_state(state) and not tracing:
                    # (Under nn.jit the state was made when it was gathered; the options are
                    # tracers now.)
                    state = self.state[p] = self._init_state(p, group)
                todo.append((p, g, dict(state or {})))
            results = self._run_updates([p._data for p, _, _ in todo], [g for _, g, _ in todo],
                                        [s for _, _, s in todo], hyper, static)
            for (p, _, _), (new_p, new_state) in zip(todo, results):
                p._data = jnp.asarray(new_p).astype(p._data.dtype)
                if new_state:
                    # Keep each state array's dtype: a compiled step must return what it got.
                    target = self.state[p]
                    if type(target) is PendingDict:  # its first update: now real state
                        target.__class__ = ValueDict  # type: ignore[assignment]
                    for k, v in new_state.items():
                        old = target.get(k)
                        if hasattr(old, "dtype") and hasattr(v, "dtype") and v.dtype != old.dtype:
                            v = v.astype(old.dtype)
                        target[k] = v
        if grads is not None and not updated and len(grads):
            raise ValueError("step: none of the optimizer's parameters has a gradient in grads; "
                             "were they computed for another model's parameters?")
        for hook in list(self._optimizer_step_post_hooks.values()):
            hook(self, (), {})
        return loss

    def register_step_pre_hook(self, hook: Callable) -> RemovableHandle:
        return add_hook(self._optimizer_step_pre_hooks, hook)

    def register_step_post_hook(self, hook: Callable) -> RemovableHandle:
        return add_hook(self._optimizer_step_post_hooks, hook)

    # -- the state protocol (jnn._state; contract in docs/design.md) --------------------------
    def _jnn_collect_state(self, collector) -> None:
        """Slots: the parameters (through their own protocol), the per-parameter state and
        the numeric hyper-parameters (program inputs). Signature: the
        optimizer class, each group's static view, which parameters each group holds, the
        state keys and the step hooks."""
        self._ensure_state(pending=True)
        views = [self._make_static_view(g) for g in self.param_groups]
        self.__dict__["_jnn_static_views"] = views  # (not an attribute change)
        collector.watched.append(self)
        membership = []
        for group in self.param_groups:
            collector.watched.append(group)
            if isinstance(group, _ParamGroup):
                collector.watched.append(group["params"])
            else:  # a plain dict appended to param_groups by hand: re-checked every call
                collector.volatile.append((functools.partial(_group_snapshot, group),
                                           _group_snapshot(group)))
            membership.append(tuple(collector.visit_child(p) for p in group["params"]))
            for k, v in group.items():
                if k in self._dynamic_items:
                    item = _TupleItems(group, k)
                    for i in self._dynamic_items[k]:
                        collector.add(item, i, "hyper")
                elif k != "params" and _is_dynamic(v) and k not in self._static_keys:
                    collector.add(group, k, "hyper")
        state_keys = []
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state.get(p)
                if state:
                    state_keys.append((collector.position(p), tuple(state)))
                    for k in state:
                        collector.add(state, k, "optim")
        collector.signature.append((
            "opt", type(self), tuple(_hashable(v) for v in views), tuple(membership),
            tuple(state_keys), tuple(self._optimizer_step_pre_hooks.items()),
            tuple(self._optimizer_step_post_hooks.items())))

    # -- state_dict ---------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """torch's structure:
        ``{'state': {index: {...}}, 'param_groups': [{..., 'params': [...]}]}``."""
        index_of: dict[int, int] = {}
        start, groups = 0, []
        for group in self.param_groups:
            indices = list(range(start, start + len(group["params"])))
            for p, i in zip(group["params"], indices):
                index_of.setdefault(id(p), i)
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = indices
            groups.append(packed)
            start += len(indices)
        state = {}
        for p, s in self.state.items():
            if id(p) in index_of and _started(s):
                # Keys starting with "_" are jnn-internal bookkeeping, not torch state.
                state[index_of[id(p)]] = {k: v for k, v in s.items() if not k.startswith("_")}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Load a state_dict from ``state_dict()`` (jnn's or torch's, arrays or tensors)."""
        if not isinstance(state_dict, Mapping) or "param_groups" not in state_dict:
            raise TypeError("load_state_dict: expected a dict with 'state' and 'param_groups'")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has a different number of parameter groups: "
                             f"{len(saved_groups)} saved, {len(self.param_groups)} in optimizer")
        for saved, group in zip(saved_groups, self.param_groups):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError("loaded state dict contains a parameter group that doesn't match "
                                 f"the size of optimizer's group ({len(saved['params'])} vs "
                                 f"{len(group['params'])})")
        id_map = {old: p for saved, group in zip(saved_groups, self.param_groups)
                  for old, p in zip(saved["params"], group["params"])}
        new_state: defaultdict = defaultdict(dict)
        for key, value in state_dict.get("state", {}).items():
            if key not in id_map:
                continue
            p = id_map[key]
            entry = {}
            for k, v in value.items():
                if v is None:
                    continue
                entry[k] = self._load_state_value(p, k, v, f"state[{key}][{k!r}]")
            new_state[p] = entry
        self.state = new_state
        for saved, group in zip(saved_groups, self.param_groups):
            for k, v in saved.items():
                if k != "params":
                    group[k] = v

    def _load_state_value(self, p: Parameter, key: str, value: Any, what: str):
        """Convert one loaded state value (torch tensor, numpy/jax array, number, list)."""
        if isinstance(value, (list, tuple)):
            return type(value)(v if v is None or isinstance(v, (int, float, bool)) else
                               _copy_array(v, what) for v in value)
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)):
            # torch's scalar state ('step', 'eta', 'mu', 'mu_product') is a float32 tensor.
            return jnp.asarray(value, jnp.float32) if key in ("step", "eta", "mu", "mu_product") \
                else value
        arr = _copy_array(value, what)
        if jnp.issubdtype(arr.dtype, jnp.floating) and arr.shape == tuple(p.shape) and \
                key != "step" and arr.ndim > 0:
            arr = arr.astype(p.dtype)
            # A sharded parameter's moments take its sharding (nn.fully_shard), as the
            # moments _init_state makes with zeros_like do.
            sharding = getattr(p._data, "sharding", None)
            if sharding is not None and len(sharding.device_set) > 1:
                arr = put_global(arr, sharding)
        return arr

    # -- text ---------------------------------------------------------------------------------
    def __repr__(self) -> str:
        text = type(self).__name__ + " ("
        for i, group in enumerate(self.param_groups):
            text += f"\nParameter Group {i}\n"
            for key in sorted(group):
                if key != "params":
                    text += f"    {key}: {group[key]}\n"
        return text + ")"

    def __getstate__(self):
        return self.__dict__.copy()

    def __setstate__(self, state):
        self.__dict__.update(state)
        for name in ("state", "param_groups", "_optimizer_step_pre_hooks",
                     "_optimizer_step_post_hooks"):
            if name in state:
                setattr(self, name, state[name])

    def __setattr__(self, name: str, value: Any) -> None:
        # The containers jnn's state protocol relies on stay self-tracking when replaced
        # wholesale (``opt.state = defaultdict(dict)`` resets the state, as in torch).
        if name == "state" and not isinstance(value, _OptimizerState):
            value = _OptimizerState(value)
        elif name == "param_groups":
            groups = TrackedList()
            for group in value:
                if isinstance(group, dict) and not isinstance(group, _ParamGroup):
                    group = _rebuild_group(type(self), group)
                groups.append(group)
            value = groups
        elif name in ("_optimizer_step_pre_hooks", "_optimizer_step_post_hooks") and \
                not isinstance(value, HookDict):
            value = HookDict(value)
        rec = context.recorder()
        if rec is not None:
            rec.note_write(self, name, self.__dict__.get(name, _MISSING))
        object.__setattr__(self, name, value)
        note_change()


def _copy_array(value: Any, what: str) -> jax.Array:
    """A jax array that owns its memory: ``jnp.asarray`` of a numpy array (or of a torch
    tensor's ``.numpy()`` view) may alias the buffer on CPU, and torch keeps mutating its
    optimizer state in place."""
    if isinstance(value, np.ndarray):
        return jnp.array(value, copy=True)
    if type(value).__module__.startswith("torch"):
        return jnp.array(np.array(value.detach().cpu().numpy(), copy=True))
    return _to_array(value, what)


class _TupleItems:
    """A slot container for some entries of a tuple option (``group['betas'][0]``)."""

    def __init__(self, group: dict, key: str):
        self.group = group
        self.key = key

    def __getitem__(self, index: int):
        return self.group[self.key][index]

    def __setitem__(self, index: int, value) -> None:
        items = list(self.group[self.key])
        items[index] = value
        self.group[self.key] = tuple(items)


