"""Gradients with respect to modules: ``nn.value_and_grad``, ``nn.grad`` and ``Grads``.

``value_and_grad(fn)`` is ``jax.value_and_grad`` with modules at ``argnums`` differentiated
through their trainable parameters (``requires_grad=False`` ones are constants). State the
function mutates (BatchNorm statistics, the random stream) leaves the differentiation as
primal values and is written back, as the eager step would have left it.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp

from .._axis import current_axis_name, varies_over
from .._state import collect, context, is_stateful
from ..modules.module import Module
from ..parameter import Parameter
from ..random import default_generator

__all__ = ["Grads", "value_and_grad", "grad"]


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
        >>> from collections import OrderedDict
        >>> model = nn.Sequential(OrderedDict(fc=nn.Linear(3, 2)))
        >>> loss, grads = nn.value_and_grad(lambda m: m(jnp.ones((4, 3))).sum())(model)
        >>> list(grads)
        ['fc.weight', 'fc.bias']
        >>> grads["fc.weight"].shape, grads[model.fc.weight].shape
        ((2, 3), (2, 3))
    """

    def __init__(self, names: Sequence[str], params: Sequence[Parameter],
                 values: Sequence[Any]) -> None:
        self._names = tuple(names)
        self._params = tuple(params)
        self._values = tuple(values)
        self._index: dict[Any, int] | None = None

    def _lookup(self) -> dict:
        if self._index is None:
            index: dict[Any, int] = {}
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

    def get(self, key: Any, default: Any = None) -> Any:
        i = self._lookup().get(id(key) if isinstance(key, Parameter) else key)
        return default if i is None else self._values[i]

    def __iter__(self):
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, key) -> bool:
        return (id(key) if isinstance(key, Parameter) else key) in self._lookup()

    def parameters(self) -> Iterator[Parameter]:
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


def _trainable(obj) -> tuple[list, list] | tuple[None, None]:
    """Names and Parameters to differentiate for a module / parameter / list of them."""
    if isinstance(obj, Module):
        pairs = [(n, p) for n, p in obj.named_parameters() if p.requires_grad]
    elif isinstance(obj, Parameter):
        pairs = [("", obj)] if obj.requires_grad else []
    elif is_stateful(obj):
        raise TypeError(f"nn.grad: cannot differentiate with respect to a "
                        f"{type(obj).__name__}; pass a module or an array at argnums")
    else:
        return None, None
    return [n for n, _ in pairs], [p for _, p in pairs]


def value_and_grad(fn: Callable, argnums: int | Sequence[int] = 0,
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
        >>> model, x, y = nn.Linear(3, 1), jnp.ones((4, 3)), jnp.zeros((4, 1))
        >>> opt = optim.SGD(model.parameters(), lr=0.1)
        >>> loss, grads = nn.value_and_grad(lambda m: F.mse_loss(m(x), y))(model)
        >>> opt.step(grads)
        >>> bool(F.mse_loss(model(x), y) < loss)
        True
    """
    argnums_t: tuple[int, ...] = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    single = isinstance(argnums, int)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        for i in argnums_t:
            if i >= len(args):
                raise ValueError(f"value_and_grad: argnums={argnums} but only {len(args)} "
                                 "positional arguments were given")
        specs = [_trainable(args[i]) for i in argnums_t]
        primals = []
        for i, (_names, params) in zip(argnums_t, specs):
            primals.append([p._data for p in params] if params is not None else args[i])
        state = collect([*args, *kwargs.values()], extra=(default_generator,))
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
                if isinstance(loss, Parameter):
                    loss = loss._data
                if not isinstance(loss, jax.Array):  # (jnp.asarray costs ~0.7 ms under AD)
                    loss = jnp.asarray(loss)
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

        with context.swapped_state():
            (value, (aux, changed)), raw = jax.value_and_grad(inner, has_aux=True)(primals)
        axis = current_axis_name()
        if axis is not None:  # inside nn.pmap: average gradients across devices
            raw = jax.tree.map(functools.partial(_average_over_devices, axis=axis), raw)
        for idx, v in changed.items():
            c, k = slots[idx]
            c[k] = v
        grad_list = []
        for (names, params), g in zip(specs, raw):
            grad_list.append(g if params is None or names is None else Grads(names, params, g))
        grads = grad_list[0] if single else tuple(grad_list)
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


def grad(fn: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Callable:
    """The gradient part of :func:`value_and_grad` (``(grads, aux)`` with ``has_aux``).

    Example:
        >>> model, x = nn.Linear(3, 2), jnp.ones((4, 3))
        >>> grads = nn.grad(lambda m: m(x).sum())(model)
        >>> grads["bias"]                        # d(sum)/d(bias): one per row of x
        Array([4., 4.], dtype=float32)
    """
    vg = value_and_grad(fn, argnums, has_aux)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        value, grads = vg(*args, **kwargs)
        return (grads, value[1]) if has_aux else grads

    return wrapper
