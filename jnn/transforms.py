"""Transforms connecting jnn's stateful objects to JAX's pure world.

* ``jit(fn)``: compile ``fn`` into one XLA program; every mutation of state reachable from the
  arguments (parameters, buffers, optimizer state, ``.grad``, the random stream) is written
  back after the call, exactly as if ``fn`` had run eagerly.
* ``grad`` / ``value_and_grad``: differentiate with respect to the trainable parameters of the
  modules passed at ``argnums`` (``requires_grad=False`` ones are constants); state the function
  mutates (BatchNorm statistics, the random stream) is written back with primal values.
* ``functional_call``: run a module with substituted parameters/buffers
  (``torch.func.functional_call``).

How ``jit`` works (design.md section 3): the first call gathers the reachable state into a
flat list of slots (``jnn._state``) and caches it, keyed by the identities of the stateful
arguments and the global structure version. Each call reads the slot values, calls one
``jax.jit``-compiled pure function and writes back the values the trace changed. Inside the
trace, tracers are swapped into the slots, ``fn`` runs, the new values are read and the
originals restored in ``finally``. Static facts (training flags, configuration, hooks) form a
signature; a new signature retraces, an identical one reuses the compiled program.
"""
from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, Callable, Optional, Sequence, Union

import jax
import jax.numpy as jnp
import numpy as np

from ._axis import current_axis_name, varies_over
from ._state import StateCollector, collect, is_stateful
from .modules.module import Module, structure_version
from .parameter import Parameter, _JitGuard

__all__ = ["jit", "grad", "value_and_grad", "functional_call", "Grads"]

_DYNAMIC_TYPES = (jax.Array, np.ndarray, np.generic, int, float, complex)


def _classify(value: Any) -> str:
    """'state' objects go through slots, 'dyn' values are traced, 'static' ones are baked in."""
    if is_stateful(value):
        return "state"
    if isinstance(value, bool) or value is None or isinstance(value, str) or callable(value):
        return "static"
    if isinstance(value, _DYNAMIC_TYPES):
        return "dyn"
    if isinstance(value, (tuple, list, dict)):
        leaves = jax.tree_util.tree_leaves(value, is_leaf=is_stateful)
        if any(is_stateful(leaf) for leaf in leaves):
            return "state"
        if all(isinstance(leaf, _DYNAMIC_TYPES) and not isinstance(leaf, bool) for leaf in leaves):
            return "dyn"
    return "static"


def _unbox(tree):
    """Parameters in an output become their arrays (a jitted function returns arrays)."""
    return jax.tree_util.tree_map(lambda x: x._data if isinstance(x, Parameter) else x, tree,
                                  is_leaf=lambda x: isinstance(x, Parameter))


class _Jit:
    """The callable returned by :func:`jit`."""

    def __init__(self, fn: Callable, static_argnums: Sequence[int] = (),
                 static_argnames: Sequence[str] = (), donate_state: bool = False):
        functools.update_wrapper(self, fn)
        self._fn = fn
        self._static_argnums = frozenset(static_argnums)
        self._static_argnames = frozenset(static_argnames)
        self._cache_version = -1
        self._cache_ids: tuple = ()
        self._collector: Optional[StateCollector] = None
        self._slots: list = []
        self._writable: list = []
        self._signature_ids: dict = {}
        self._signature_id = 0
        self._state_objects: tuple = ()
        self._trace_count = 0
        self._plan = None
        self._layouts: list = []
        self._layout_ids: dict = {}
        self._hyper: list = []
        self._scalar_cache: dict = {}
        self._jitted = jax.jit(self._pure, static_argnums=(0, 1),
                               donate_argnums=(2,) if donate_state else ())

    # -- per call ----------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        plan = self._plan
        if (plan is not None and not kwargs and tuple(map(type, args)) == plan[0]
                and all(args[i] == v for i, v in plan[3])):
            # Fast path: same argument types (and static values) as last time.
            state_objects = [args[i] for i in plan[1]]
            dyn = [args[i] for i in plan[2]]
            layout_id = plan[4]
        else:
            state_objects, dyn, layout_id = self._classify_call(args, kwargs)
        ids = tuple(map(id, state_objects))
        if ids != self._cache_ids or structure_version() != self._cache_version:
            self._gather(state_objects, ids)
        self._state_objects = state_objects
        slots = self._slots
        values = [c[k] for c, k in slots]
        if self._hyper and not self._hyper_values_ok(values):
            self._gather(state_objects, ids)
            slots = self._slots
            values = [c[k] for c, k in slots]
            self._hyper_values_ok(values)
        out, new_values = self._jitted(self._signature_id, layout_id, values, dyn)
        for i, v in new_values.items():
            c, k = slots[i]
            c[k] = v
        return out

    def _hyper_values_ok(self, values) -> bool:
        """Convert hyper-parameters to cached device scalars (no host-to-device copy per call)
        and check that none changed between zero and non-zero (that is static: retrace)."""
        cache = self._scalar_cache
        for i, was_zero in self._hyper:
            v = values[i]
            if type(v) in (int, float):
                if (v == 0) != was_zero:
                    return False
                key = (type(v), v)
                arr = cache.get(key)
                if arr is None:
                    if len(cache) > 4096:
                        cache.clear()
                    arr = cache[key] = jnp.asarray(v)
                values[i] = arr
        return True

    def _classify_call(self, args, kwargs):
        layout, state_objects, dyn = [], [], []
        cacheable = not kwargs
        for i, a in enumerate(args):
            kind = "static" if i in self._static_argnums else _classify(a)
            cacheable = cacheable and not isinstance(a, (tuple, list, dict))
            self._place(kind, a, layout, state_objects, dyn, i)
        for name in sorted(kwargs):
            a = kwargs[name]
            kind = "static" if name in self._static_argnames else _classify(a)
            self._place(kind, a, layout, state_objects, dyn, name)
        layout = tuple(layout)
        layout_id = self._layout_ids.get(layout)
        if layout_id is None:
            layout_id = self._layout_ids[layout] = len(self._layouts)
            self._layouts.append(layout)
        if cacheable:
            self._plan = (tuple(map(type, args)),
                          tuple(p for p, kind, _ in layout if kind == "state"),
                          tuple(p for p, kind, _ in layout if kind == "dyn"),
                          tuple((p, ref) for p, kind, ref in layout if kind == "static"),
                          layout_id)
        return state_objects, dyn, layout_id

    @staticmethod
    def _place(kind, value, layout, state_objects, dyn, position):
        if kind == "state":
            layout.append((position, "state", len(state_objects)))
            state_objects.append(value)
        elif kind == "dyn":
            layout.append((position, "dyn", len(dyn)))
            dyn.append(value)
        else:
            try:
                hash(value)
            except TypeError:
                raise TypeError(f"nn.jit: argument {position!r} of type {type(value).__name__} is "
                                "neither an array, a jnn module/optimizer nor hashable; pass "
                                "arrays or mark it static with static_argnums") from None
            layout.append((position, "static", value))

    def _gather(self, state_objects, ids) -> None:
        collector = collect(state_objects)
        signature = (tuple(collector.signature), tuple(collector.kinds))
        if signature not in self._signature_ids:
            self._signature_ids[signature] = len(self._signature_ids)
        self._signature_id = self._signature_ids[signature]
        self._collector = collector
        self._slots = collector.slots()
        self._writable = collector.writable
        self._hyper = [(i, c[k] == 0) for i, ((c, k), kind) in
                       enumerate(zip(self._slots, collector.kinds))
                       if kind == "hyper" and type(c[k]) in (int, float)]
        self._cache_ids = ids
        self._cache_version = structure_version()

    # -- inside the trace --------------------------------------------------------------------
    def _pure(self, signature_id, layout_id, values, dyn):
        self._trace_count += 1
        args, kwargs = self._rebuild(self._layouts[layout_id], dyn)
        return self._run_with_state(values, args, kwargs)

    def _rebuild(self, layout, dyn):
        args, kwargs = [], {}
        for position, kind, ref in layout:
            value = (self._state_objects[ref] if kind == "state" else
                     dyn[ref] if kind == "dyn" else ref)
            if isinstance(position, int):
                args.append(value)
            else:
                kwargs[position] = value
        return args, kwargs

    def _run_with_state(self, values, args, kwargs):
        """Swap ``values`` into the slots, run ``fn``, and return its output and the slot
        values it changed (by index); the slots' original contents are restored."""
        slots, writable = self._slots, self._writable
        originals = [c[k] for c, k in slots]
        _JitGuard.depth += 1
        try:
            for (c, k), v in zip(slots, values):
                c[k] = v
            out = self._fn(*args, **kwargs)
            new_values = {}
            for i, ((c, k), v) in enumerate(zip(slots, values)):
                current = c[k]
                if current is not v and writable[i]:
                    new_values[i] = current
            return _unbox(out), new_values
        finally:
            _JitGuard.depth -= 1
            for (c, k), v in zip(slots, originals):
                c[k] = v

    # -- introspection -----------------------------------------------------------------------
    @property
    def trace_count(self) -> int:
        """How many times ``fn`` has been traced (compiled); a test hook for retracing."""
        return self._trace_count

    def lower(self, *args, **kwargs):
        """Lower for the given arguments (``jax.jit(...).lower``), e.g. to inspect the HLO."""
        state_objects, dyn, layout_id = self._classify_call(args, kwargs)
        self._gather(state_objects, tuple(map(id, state_objects)))
        self._state_objects = state_objects
        values = [c[k] for c, k in self._slots]
        self._hyper_values_ok(values)
        return self._jitted.lower(self._signature_id, layout_id, values, dyn)


def jit(fn: Optional[Callable] = None, *, static_argnums: Union[int, Sequence[int]] = (),
        static_argnames: Union[str, Sequence[str]] = (), donate_state: bool = False):
    """Compile ``fn`` into one XLA program, with torch's in-place state semantics.

    Args:
        fn: a function whose arguments may include modules, optimizers, parameters and
            generators (directly, or in a top-level list/tuple/dict), arrays and static values.
        static_argnums, static_argnames: arguments to treat as compile-time constants (bools,
            strings, ``None`` and callables always are).
        donate_state: let XLA reuse the state buffers for the new state (saves memory; arrays
            previously read from ``.data`` become invalid).

    Returns:
        A callable with ``fn``'s signature. After each call, every parameter, buffer, optimizer
        state, ``.grad`` and random-stream key that ``fn`` changed holds its new value.

    Example:
        >>> @nn.jit
        ... def train_step(model, opt, x, y):
        ...     loss, grads = nn.value_and_grad(lambda m: criterion(m(x), y))(model)
        ...     opt.step(grads)
        ...     return loss

    Differences from ``jax.jit``: modules are not flattened per call; their state is found once
    and cached. Arrays nested deeper than one container level inside a stateful argument are
    not tracked.
    """
    if isinstance(static_argnums, int):
        static_argnums = (static_argnums,)
    if isinstance(static_argnames, str):
        static_argnames = (static_argnames,)
    if fn is None:
        return functools.partial(jit, static_argnums=static_argnums,
                                 static_argnames=static_argnames, donate_state=donate_state)
    return _Jit(fn, static_argnums, static_argnames, donate_state)


# -- gradients --------------------------------------------------------------------------------

class _GradsStructure:
    __slots__ = ("names", "params")

    def __init__(self, names, params):
        self.names = names
        self.params = params

    def _key(self):
        return self.names, tuple(map(id, self.params))

    def __eq__(self, other):
        return isinstance(other, _GradsStructure) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())


class Grads(Mapping):
    """Gradients for a module's trainable parameters: ``name -> array``, also indexable by the
    ``Parameter`` itself. A pytree (leaves: the gradient arrays), so ``jax.tree.map`` and optax
    work on it; ``optimizer.step(grads)`` matches gradients to parameters by identity.

    Example:
        >>> loss, grads = nn.value_and_grad(loss_fn)(model)
        >>> grads["fc.weight"].shape, grads[model.fc.weight].shape
    """

    def __init__(self, names: Sequence[str], params: Sequence[Parameter], values: Sequence[Any]):
        self._names = tuple(names)
        self._params = tuple(params)
        self._values = tuple(values)
        self._index = None

    def _lookup(self) -> dict:
        if self._index is None:
            index = {}
            for i, (n, p) in enumerate(zip(self._names, self._params)):
                index[n] = i
                index[id(p)] = i
            self._index = index
        return self._index

    def __getitem__(self, key):
        i = self._lookup().get(id(key) if isinstance(key, Parameter) else key)
        if i is None:
            raise KeyError(key)
        return self._values[i]

    def get(self, key, default=None):
        i = self._lookup().get(id(key) if isinstance(key, Parameter) else key)
        return default if i is None else self._values[i]

    def __iter__(self):
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, key) -> bool:
        return (id(key) if isinstance(key, Parameter) else key) in self._lookup()

    def parameters(self):
        return iter(self._params)

    def accumulate(self) -> None:
        """Add each gradient into its parameter's ``.grad`` (what torch's ``backward()`` does)."""
        for p, g in zip(self._params, self._values):
            p.grad = g if p.grad is None else p.grad + g

    def __repr__(self) -> str:
        shapes = ", ".join(f"{n!r}: {tuple(jnp.shape(v))}" for n, v in zip(self._names,
                                                                         self._values))
        return f"Grads({{{shapes}}})"


jax.tree_util.register_pytree_node(
    Grads,
    lambda g: (g._values, _GradsStructure(g._names, g._params)),
    lambda s, values: Grads(s.names, s.params, values),
)


def _trainable(obj) -> tuple[list, list]:
    """Names and Parameters to differentiate for a module / parameter / list of them."""
    if isinstance(obj, Module):
        pairs = [(n, p) for n, p in obj.named_parameters() if p.requires_grad]
    elif isinstance(obj, Parameter):
        pairs = [("", obj)] if obj.requires_grad else []
    elif getattr(type(obj), "_jnn_stateful", False):
        raise TypeError(f"nn.grad: cannot differentiate with respect to a "
                        f"{type(obj).__name__}; pass a module or an array at argnums")
    else:
        return None, None
    return [n for n, _ in pairs], [p for _, p in pairs]


def value_and_grad(fn: Callable, argnums: Union[int, Sequence[int]] = 0,
                   has_aux: bool = False) -> Callable:
    """Like ``jax.value_and_grad``, with modules at ``argnums`` differentiated through their
    trainable parameters.

    Args:
        fn: returns a scalar loss (or ``(loss, aux)`` with ``has_aux=True``).
        argnums: which positional arguments to differentiate: modules (gradient: a
            :class:`Grads`), parameters or arrays (gradient: an array of the same shape).
        has_aux: ``fn`` returns ``(loss, aux)``.

    Returns:
        ``(value, grads)`` (``((value, aux), grads)`` with ``has_aux``), where ``grads`` is one
        gradient or a tuple of them when ``argnums`` is a tuple.

    Example:
        >>> loss, grads = nn.value_and_grad(lambda m: F.mse_loss(m(x), y))(model)
        >>> opt.step(grads)
    """
    single = isinstance(argnums, int)
    argnums_t = (argnums,) if single else tuple(argnums)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        for i in argnums_t:
            if i >= len(args):
                raise ValueError(f"value_and_grad: argnums={argnums} but only {len(args)} "
                                 "positional arguments were given")
        specs = [_trainable(args[i]) for i in argnums_t]
        primals = []
        for i, (names, params) in zip(argnums_t, specs):
            primals.append([p._data for p in params] if params is not None else args[i])
        state = collect([*args, *kwargs.values()])
        slots = state.slots()
        boxed = [p for _, params in specs if params for p in params]

        def inner(diff_values):
            originals = [c[k] for c, k in slots]
            saved_params = [p._data for p in boxed]
            call_args = list(args)
            swapped = {}
            try:
                for i, (_, params), v in zip(argnums_t, specs, diff_values):
                    if params is None:
                        call_args[i] = v
                        continue
                    for p, pv in zip(params, v):
                        p._data = pv
                        swapped[id(p.__dict__)] = pv
                out = fn(*call_args, **kwargs)
                loss, aux = out if has_aux else (out, None)
                loss = jnp.asarray(loss._data if isinstance(loss, Parameter) else loss)
                if loss.shape != ():
                    raise TypeError(f"value_and_grad: fn must return a scalar loss, got shape "
                                    f"{loss.shape}")
                # State the function mutated (BatchNorm statistics, the random stream ...)
                # leaves the differentiation as primal values and is written back below.
                changed = {}
                for idx, ((c, k), orig) in enumerate(zip(slots, originals)):
                    current = c[k]
                    if current is orig or (k == "_data" and swapped.get(id(c)) is current):
                        continue
                    changed[idx] = current
                return loss, (aux, jax.lax.stop_gradient(changed))
            finally:
                for (c, k), v in zip(slots, originals):
                    c[k] = v
                for p, v in zip(boxed, saved_params):
                    p._data = v

        (value, (aux, changed)), raw = jax.value_and_grad(inner, has_aux=True)(primals)
        axis = current_axis_name()
        if axis is not None:  # inside nn.pmap: average gradients across devices
            raw = jax.tree.map(functools.partial(_average_over_devices, axis=axis), raw)
        for idx, v in changed.items():
            c, k = slots[idx]
            c[k] = v
        grads = []
        for (names, params), g in zip(specs, raw):
            grads.append(g if params is None else Grads(names, params, g))
        grads = grads[0] if single else tuple(grads)
        return ((value, aux) if has_aux else value), grads

    return wrapper


def _average_over_devices(g, axis):
    """The mean over devices of per-device gradients.

    Under ``shard_map`` a gradient with respect to a replicated value already arrives summed
    over devices (the transpose of the implicit broadcast to per-device values is a ``psum``),
    so it only needs dividing; a per-device (varying) gradient needs a ``pmean``.
    """
    if varies_over(g, axis):
        return jax.lax.pmean(g, axis)
    return g / jax.lax.psum(1, axis)


def grad(fn: Callable, argnums: Union[int, Sequence[int]] = 0, has_aux: bool = False) -> Callable:
    """The gradient part of :func:`value_and_grad` (``(grads, aux)`` with ``has_aux``).

    Example:
        >>> grads = nn.grad(lambda m: m(x).sum())(model)
    """
    vg = value_and_grad(fn, argnums, has_aux)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        value, grads = vg(*args, **kwargs)
        return (grads, value[1]) if has_aux else grads

    return wrapper


# -- functional_call --------------------------------------------------------------------------

def functional_call(module: Module, parameters_and_buffers: Union[Mapping, Sequence[Mapping]],
                    args: Any = (), kwargs: Optional[dict] = None, *, tie_weights: bool = True,
                    strict: bool = False):
    """Call ``module`` with some parameters/buffers replaced (``torch.func.functional_call``).

    Args:
        module: the module to call.
        parameters_and_buffers: ``name -> array`` (or a sequence of such dicts); names as in
            ``state_dict``. Arrays may be tracers, so this composes with ``jax.grad``/``vmap``.
        args: positional arguments (a single non-tuple value is one argument).
        kwargs: keyword arguments.
        tie_weights: a parameter registered under two names is replaced everywhere (jnn swaps
            the shared box, so this always holds).
        strict: every parameter and buffer must be given.

    Returns:
        The module's output. The module itself is left unchanged: values are swapped in for the
        call and restored afterwards (buffer updates made during the call are discarded).

    Example:
        >>> params = {k: v * 2 for k, v in model.state_dict().items()}
        >>> out = nn.functional_call(model, params, (x,))
    """
    if isinstance(parameters_and_buffers, Mapping):
        values = dict(parameters_and_buffers)
    else:
        values = {}
        for d in parameters_and_buffers:
            overlap = set(values) & set(d)
            if overlap:
                raise ValueError(f"functional_call: {sorted(overlap)} appeared in multiple "
                                 "dictionaries")
            values.update(d)
    if not isinstance(args, tuple):
        args = (args,)
    kwargs = kwargs or {}

    params = dict(module.named_parameters(remove_duplicate=False))
    buffers = dict(module.named_buffers(remove_duplicate=False))
    unexpected = [k for k in values if k not in params and k not in buffers]
    if unexpected:
        raise ValueError(f"functional_call: unexpected key(s): {unexpected}; expected names "
                         "from the module's state_dict")
    if strict:
        missing = [k for k in (*params, *buffers) if k not in values]
        if missing:
            raise ValueError(f"functional_call: missing key(s) with strict=True: {missing}")

    saved = []
    try:
        for name, value in values.items():
            value = value._data if isinstance(value, Parameter) else value
            if name in params:
                p = params[name]
                saved.append((p.__dict__, "_data", p._data))
                p._data = value
            else:
                owner_path, _, leaf = name.rpartition(".")
                owner = module.get_submodule(owner_path)
                saved.append((owner._buffers, leaf, owner._buffers[leaf]))
                owner._buffers[leaf] = value
        return module(*args, **kwargs)
    finally:
        for container, key, value in reversed(saved):
            container[key] = value
