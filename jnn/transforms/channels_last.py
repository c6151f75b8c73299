"""Channels-last inside one compiled program: a rewrite of the traced step for XLA:CPU.

jnn keeps torch's public layouts (NCHW activations, OIHW weights), and XLA:CPU runs 2-d
convolutions as YNNPACK kernels that want channels last. XLA canonicalises every convolution
to NHWC with transposes around it, and its layout assignment does not carry NHWC through the
batch norm, ReLU and residual adds between two convolutions, so each activation is transposed
in and out of every convolution, forward and backward: in a CIFAR ResNet-18 training step 129
transposes fused with elementwise work took 190 ms of 1.5 s (README "Convolution levers").

:func:`run_channels_last` traces a function to a jaxpr and emits it again with each value held
as ``phys = transpose(value, perm)`` for a permutation chosen per value:

* a 4-d ``conv_general_dilated`` reads its operands in whatever layout they are held (its
  dimension numbers absorb the permutation) and writes its output batch, spatial, feature;
* elementwise primitives run in the layout of most of their operand elements (the identity
  on a tie), converting the others; a ``broadcast_in_dim`` is emitted where it is used, in the
  layout its consumer runs in (so a per-channel scale costs no transpose of the big operand);
* reductions reduce the permuted axes, ``slice``, ``pad``, ``concatenate`` and ``split`` act
  on the permuted axes (max pooling's windows, their transposes, batch chunks); a ``transpose``
  only changes the permutation;
* calls (``jit`` without shardings or options of its own, and ``custom_jvp_call``, of which
  only the primal is left in a program that will not be differentiated again) are inlined;
  every other primitive gets its operands in the identity layout, as do the program's
  outputs.

Every rewrite is the same arithmetic on the same elements; only the order in which reductions
add up, and XLA's choice of kernels, can change results, by floating-point rounding. Programs
without a 4-d convolution are emitted unchanged. ``nn.jit`` applies this on the CPU backend to
top-level calls only (a call under an outer ``jax.grad``/``vmap``/``jit`` keeps the plain
program, whose ``custom_jvp`` rules an outer transformation still needs); ``docs/design.md``
section 8.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import numpy as np
from jax import lax
from jax.extend import core as jcore

__all__ = ["run_channels_last"]

_ELEMENTWISE = frozenset({
    "abs", "add", "add_any", "and", "atan2", "ceil", "clamp", "convert_element_type", "copy",
    "copy_p", "cos", "div", "eq", "erf", "erf_inv", "exp", "exp2", "expm1", "floor", "ge", "gt",
    "integer_pow", "is_finite", "le", "log", "log1p", "logistic", "lt", "max", "min", "mul",
    "ne", "neg", "nextafter", "not", "or", "pow", "rem", "round", "rsqrt", "select_n", "sign",
    "sin", "sqrt", "square", "stop_gradient", "sub", "tanh", "xor",
})
_REDUCTIONS = frozenset({"reduce_sum", "reduce_max", "reduce_min", "reduce_prod"})
_STRUCTURAL = frozenset({"slice", "pad", "concatenate", "split"})
_CALLS = {"jit": "jaxpr", "pjit": "jaxpr", "custom_jvp_call": "call_jaxpr"}

Perm = tuple[int, ...]


def _inverse(perm: Sequence[int]) -> Perm:
    return tuple(int(i) for i in np.argsort(perm))


class _Held:
    """One value of the traced program, as emitted: ``phys = transpose(value, perm)``
    (``perm`` None: the identity), or a broadcast not yet emitted (``broadcast`` holds its
    operand, shape and dimensions)."""

    __slots__ = ("phys", "perm", "broadcast")

    def __init__(self, phys, perm: Perm | None = None, broadcast=None):
        self.phys, self.perm, self.broadcast = phys, perm, broadcast

    @property
    def ndim(self) -> int:
        if self.broadcast is not None:
            return len(self.broadcast[1])
        return np.ndim(self.phys)

    @property
    def size(self) -> int:
        return 0 if self.broadcast is not None else int(np.prod(np.shape(self.phys)))

    def get(self, perm: Perm | None = None):
        """The value as ``transpose(value, perm)``."""
        if perm is not None and perm == tuple(range(len(perm))):
            perm = None
        if self.broadcast is not None:
            operand, shape, dims = self.broadcast
            if perm is None:
                return lax.broadcast_in_dim(operand, shape, dims)
            inverse = _inverse(perm)
            positions = [inverse[d] for d in dims]
            order = sorted(range(len(dims)), key=positions.__getitem__)
            if order != list(range(len(dims))):
                operand = lax.transpose(operand, order)
            return lax.broadcast_in_dim(operand, tuple(shape[p] for p in perm),
                                        tuple(sorted(positions)))
        if perm == self.perm:
            return self.phys
        current = self.perm if self.perm is not None else tuple(range(self.ndim))
        wanted = perm if perm is not None else tuple(range(self.ndim))
        inverse = _inverse(current)
        return lax.transpose(self.phys, tuple(inverse[p] for p in wanted))


def _is_conv2d(eqn) -> bool:
    return (eqn.primitive.name == "conv_general_dilated"
            and len(eqn.params["dimension_numbers"].lhs_spec) == 4)


def _has_conv2d(jaxpr) -> bool:
    for eqn in jaxpr.eqns:
        name = eqn.primitive.name
        if _is_conv2d(eqn):
            return True
        if name in _CALLS and _inlinable(eqn) and _has_conv2d(eqn.params[_CALLS[name]].jaxpr):
            return True
    return False


def run_channels_last(fn: Callable, *args) -> Any:
    """Call ``fn(*args)`` inside a trace, with its 2-d convolutions' activations held
    channels-last between convolutions (see the module docstring).

    Args:
        fn: a function of arrays (pytrees); it is traced once.
        *args: its arguments.

    Returns:
        ``fn(*args)``, the same values to floating-point rounding.

    Example:
        >>> from jnn.transforms.channels_last import run_channels_last
        >>> f = lambda x, w: jax.nn.relu(F.conv2d(x, w, padding=1)).sum((2, 3))
        >>> x, w = jnp.ones((2, 3, 8, 8)), jnp.ones((4, 3, 3, 3))
        >>> bool(jnp.allclose(jax.jit(lambda a, b: run_channels_last(f, a, b))(x, w), f(x, w)))
        True
    """
    closed, out_shape = jax.make_jaxpr(fn, return_shape=True)(*args)
    leaves = jax.tree.leaves(args)
    if not _has_conv2d(closed.jaxpr):
        outs = jcore.jaxpr_as_fun(closed)(*leaves)
    else:
        held = _emit(closed.jaxpr, closed.consts, [_Held(a) for a in leaves])
        outs = [h.get() for h in held]
    return jax.tree.unflatten(jax.tree.structure(out_shape), outs)


def _emit(jaxpr, consts, args: list[_Held]) -> list[_Held]:
    env: dict = {}

    def read(v) -> _Held:
        return _Held(v.val) if isinstance(v, jcore.Literal) else env[v]

    env.update((v, _Held(c)) for v, c in zip(jaxpr.constvars, consts))
    env.update(zip(jaxpr.invars, args))
    for eqn in jaxpr.eqns:
        with eqn.ctx.manager:
            outs = _rule(eqn, [read(v) for v in eqn.invars])
        env.update(zip(eqn.outvars, outs))
    return [read(v) for v in jaxpr.outvars]


def _inlinable(eqn) -> bool:
    """A nested ``jit`` is inlined only when it asks for nothing inlining would drop: no
    shardings, layouts or compiler options of its own."""
    if eqn.primitive.name == "custom_jvp_call":
        return True
    params = eqn.params
    shardings = (*params.get("in_shardings", ()), *params.get("out_shardings", ()))
    # (by class name: JAX has no public test for "no sharding given")
    return (all(type(s).__name__ == "UnspecifiedValue" for s in shardings)
            and not any(params.get("in_layouts", ()) + params.get("out_layouts", ()))
            and not params.get("compiler_options_kvs"))


def _plain(eqn, ins: list[_Held]) -> list[_Held]:
    out = eqn.primitive.bind(*[h.get() for h in ins], **eqn.primitive.get_bind_params(eqn.params))
    return [_Held(o) for o in (out if eqn.primitive.multiple_results else [out])]


def _rule(eqn, ins: list[_Held]) -> list[_Held]:
    name = eqn.primitive.name
    params = eqn.params
    if name in _CALLS and _inlinable(eqn):
        inner = params[_CALLS[name]]
        return _emit(inner.jaxpr, inner.consts, ins)
    if _is_conv2d(eqn):
        return [_conv(eqn, ins)]
    if name == "broadcast_in_dim" and ins[0].broadcast is None and params.get("sharding") is None:
        return [_Held(None, None, (ins[0].get(), tuple(params["shape"]),
                                   tuple(params["broadcast_dimensions"])))]
    if name == "transpose" and ins[0].broadcast is None and ins[0].perm is not None:
        # value = transpose(x, P): phys = transpose(x, p) = transpose(value, P^-1 o p)
        inverse = _inverse(params["permutation"])
        perm = tuple(inverse[d] for d in ins[0].perm)
        return [_Held(ins[0].phys, None if perm == tuple(range(len(perm))) else perm)]
    if name in _ELEMENTWISE:
        return _elementwise(eqn, ins)
    if name in _STRUCTURAL:
        return _structural(eqn, ins)
    if name in _REDUCTIONS and ins[0].broadcast is None and ins[0].perm is not None:
        return [_reduce(eqn, ins[0])]
    return _plain(eqn, ins)


def _elementwise(eqn, ins: list[_Held]) -> list[_Held]:
    elements: dict = {}
    for h in ins:
        if h.ndim and h.broadcast is None:
            elements[h.perm] = elements.get(h.perm, 0) + h.size
    most = max(elements.values(), default=0)
    perm = (None if not elements or elements.get(None, -1) == most
            else max(elements, key=elements.__getitem__))
    if perm is None:
        return _plain(eqn, ins)
    out = eqn.primitive.bind(*[h.get(perm) if h.ndim else h.get() for h in ins], **eqn.params)
    return [_Held(out, perm)]


def _structural(eqn, ins: list[_Held]) -> list[_Held]:
    """``slice``, ``pad``, ``concatenate`` and ``split`` (pooling windows, batch chunks and
    their transposes) on the permuted array, their per-axis parameters permuted along."""
    x = ins[0]
    if x.broadcast is not None or x.perm is None:
        return _plain(eqn, ins)
    perm = x.perm
    params = dict(eqn.params)
    if eqn.primitive.name == "slice":
        for key in ("start_indices", "limit_indices", "strides"):
            if params.get(key) is not None:
                params[key] = tuple(params[key][d] for d in perm)
        operands = [x.phys]
    elif eqn.primitive.name == "pad":
        params["padding_config"] = tuple(params["padding_config"][d] for d in perm)
        operands = [x.phys, ins[1].get()]
    elif eqn.primitive.name == "split":
        params["axis"] = _inverse(perm)[params["axis"]]
        return [_Held(o, perm) for o in eqn.primitive.bind(x.phys, **params)]
    else:
        params["dimension"] = _inverse(perm)[params["dimension"]]
        operands = [h.get(perm) for h in ins]
    return [_Held(eqn.primitive.bind(*operands, **params), perm)]


def _reduce(eqn, x: _Held) -> _Held:
    perm = x.perm
    assert perm is not None
    axes = tuple(eqn.params["axes"])
    inverse = _inverse(perm)
    out = eqn.primitive.bind(x.phys, **dict(eqn.params, axes=tuple(sorted(inverse[a]
                                                                          for a in axes))))
    kept = [d for d in range(len(perm)) if d not in axes]  # the result's dims, in value order
    rank = {d: i for i, d in enumerate(kept)}
    out_perm = tuple(rank[d] for d in perm if d not in axes)
    return _Held(out, None if out_perm == tuple(range(len(out_perm))) else out_perm)


def _conv(eqn, ins: list[_Held]) -> _Held:
    lhs, rhs = ins
    dn = eqn.params["dimension_numbers"]
    specs = []
    operands = []
    for h, spec in ((lhs, dn.lhs_spec), (rhs, dn.rhs_spec)):
        perm = h.perm if h.broadcast is None and h.perm is not None else (0, 1, 2, 3)
        operands.append(h.get(perm))
        inverse = _inverse(perm)
        specs.append(tuple(inverse[d] for d in spec))
    out = dn.out_spec
    perm = (out[0], out[2], out[3], out[1])  # held as batch, spatial, spatial, feature
    inverse = _inverse(perm)
    numbers = lax.ConvDimensionNumbers(specs[0], specs[1], tuple(inverse[d] for d in out))
    phys = eqn.primitive.bind(*operands, **dict(eqn.params, dimension_numbers=numbers))
    return _Held(phys, None if perm == (0, 1, 2, 3) else perm)
