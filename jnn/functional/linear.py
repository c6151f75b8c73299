"""Linear kernels: ``linear``, ``bilinear`` (and ``identity``-free helpers)."""
from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
from jax.custom_derivatives import SymbolicZero

from ..amp.autocast_mode import autocast_op
from ..types import ArrayLike
from ._eager import eager_jit
from ._utils import check_operands

__all__ = ["linear", "bilinear"]


@autocast_op("linear")
@eager_jit
def linear(input: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None) -> jax.Array:
    """``y = x W^T + b`` over the last dimension.

    Args:
        input: ``(*, in_features)``.
        weight: ``(out_features, in_features)`` (torch's layout), or ``(in_features,)``.
        bias: ``(out_features,)`` or ``None``.

    Shape:
        ``(*, in_features) -> (*, out_features)``.

    Returns:
        The affine map of ``input``, in its dtype.

    Raises:
        TypeError: ``input``, ``weight`` and ``bias`` have different dtypes (as torch, there is
            no promotion: cast the input, or the layer with ``.to(dtype)``).

    Example:
        >>> F.linear(jnp.ones((2, 3)), jnp.ones((4, 3))).shape
        (2, 4)
    """
    x, w, b = check_operands("linear", input=input, weight=weight, bias=bias)
    if w.ndim not in (1, 2):
        raise ValueError(f"linear: expected weight with 1 or 2 dimensions (out_features, "
                         f"in_features), got shape {w.shape}")
    in_features = w.shape[-1]
    if x.ndim == 0 or x.shape[-1] != in_features:
        raise ValueError(f"linear: expected input with last dimension {in_features} "
                         f"(in_features), got shape {tuple(x.shape)}")
    out = x @ w if w.ndim == 1 else affine(x, w)
    if b is not None:
        if b.shape != out.shape[-1:] and b.ndim != 0:
            raise ValueError(f"linear: expected bias of shape ({out.shape[-1]},), got shape "
                             f"{tuple(b.shape)}")
        out = out + jnp.broadcast_to(b, out.shape)
    return out


def affine(x: jax.Array, w: jax.Array, b: jax.Array | None = None) -> jax.Array:
    """``x @ w.T + b`` over the last dimension, without checks: :func:`linear`'s arithmetic.

    Shared with the kernels that project inside their own validated code (recurrent cells,
    attention). The leading dimensions are flattened into one 2-D dot, whose weight gradient
    XLA:CPU computes much faster than a batched dot's. ``b`` is ``(out_features,)``, a scalar or
    ``None``; it is broadcast explicitly, so the kernels run under
    ``jax_numpy_rank_promotion="raise"`` too.

    Example:
        >>> from jnn.functional.linear import affine
        >>> affine(jnp.ones((2, 5, 3)), jnp.ones((4, 3)), jnp.zeros(4)).shape
        (2, 5, 4)
    """
    lead = x.shape[:-1]
    rows = math.prod(lead)  # not -1: a reshape cannot infer it when in_features is 0
    x2 = x.reshape(rows, x.shape[-1])
    out = _matmul_wide(x2, w) if _use_wide_weight_gradient(x2, w) else _matmul_wt(x2, w)
    out = out.reshape(*lead, w.shape[0])
    return out if b is None else out + jnp.broadcast_to(b, out.shape)


def _matmul_wt(x, w):
    """``x @ w.T`` for ``x (rows, in)``, ``w (out, in)``."""
    return jax.lax.dot_general(x, w, (((1,), (1,)), ((), ())))


# The weight gradient of ``x @ w.T`` is ``dy.T @ x``, a dot that contracts the leading (row)
# dimension of both operands. XLA:CPU hands YNNPACK only dots whose left operand contracts its
# last dimension, and runs this one with its Eigen fallback, which for widening layers (out >= 2
# in: MLP and Transformer feed-forward expansions, the 4 * hidden gates of an LSTM) takes 1.3-1.4x
# YNNPACK's time: (2048, 256) -> 1024 features, 16.1 ms against 11.8 for the same product as
# ``transpose(dy) @ x``. The explicit transpose costs a copy of dy, which is what makes it a loss
# for narrowing layers (out < in: 1.01-1.05x slower), so only widening float32 layers on CPU take
# it (benchmarks/linear_kernels.py). An optimisation barrier keeps XLA from folding the
# transpose back into the dot. As in conv.py, the rule is a custom JVP, not a VJP, so that
# forward mode keeps working: the weight tangent is written so that its transpose, which reverse
# mode computes, is the fast form (weight_tangent).
_WIDE_MIN_RATIO = 2  # private switch, read at trace time; 0 turns the rule off (tests)


def _use_wide_weight_gradient(x, w) -> bool:
    return (bool(_WIDE_MIN_RATIO) and w.shape[0] >= _WIDE_MIN_RATIO * w.shape[1]
            and x.dtype == w.dtype == jnp.float32 and jax.default_backend() == "cpu")


@jax.custom_jvp
def _matmul_wide(x, w):
    return _matmul_wt(x, w)


@functools.partial(_matmul_wide.defjvp, symbolic_zeros=True)
def _matmul_wide_jvp(primals, tangents):
    x, w = primals
    dx, dw = tangents
    out = _matmul_wt(x, w)
    terms = []
    if not isinstance(dx, SymbolicZero):
        terms.append(_matmul_wt(dx, w))
    if not isinstance(dw, SymbolicZero):
        terms.append(weight_tangent(x, dw))
    return out, functools.reduce(jnp.add, terms) if terms else jnp.zeros_like(out)


def weight_tangent(x: jax.Array, dw: jax.Array) -> jax.Array:
    """``x @ dw.T`` for a weight tangent ``dw (out, in)`` and ``x (rows, in)``, written so that
    reverse mode, which transposes it, computes the weight gradient in its fast form on CPU.

    On CPU, for widening float32 layers, the tangent is ``transpose(barrier(dw @ x.T))``: JAX
    transposes that into ``barrier(transpose(g)) @ x``, the form XLA:CPU runs on YNNPACK.
    (Written with primitives JAX transposes itself, rather than ``jax.linear_transpose`` of the
    weight gradient, so that inside ``shard_map`` the cotangent's device-variance type is JAX's
    to get right.) Shared with kernels whose custom JVP rules build weight tangents themselves
    (the recurrent scans' ``h_prev @ dw_hh.T`` over all steps).

    Example:
        >>> from jnn.functional.linear import weight_tangent
        >>> weight_tangent(jnp.ones((6, 3)), jnp.ones((8, 3))).shape
        (6, 8)
    """
    if not _use_wide_weight_gradient(x, dw):
        return _matmul_wt(x, dw)
    transposed = jax.lax.dot_general(dw, x, (((1,), (1,)), ((), ())))  # (out, rows)
    return jax.lax.optimization_barrier(transposed).T


@autocast_op("bilinear")
def bilinear(input1: ArrayLike, input2: ArrayLike, weight: ArrayLike,
             bias: ArrayLike | None = None) -> jax.Array:
    """``y = x1^T A x2 + b`` for every output feature.

    Args:
        input1: ``(*, in1_features)``.
        input2: ``(*, in2_features)`` with the same leading dimensions.
        weight: ``(out_features, in1_features, in2_features)``.
        bias: ``(out_features,)`` or ``None``.

    Shape:
        ``(*, in1), (*, in2) -> (*, out)``.

    Returns:
        The bilinear form of the two inputs.

    Raises:
        TypeError: the inputs, ``weight`` and ``bias`` have different dtypes (as torch).

    Example:
        >>> F.bilinear(jnp.ones((5, 2)), jnp.ones((5, 3)), jnp.ones((4, 2, 3))).shape
        (5, 4)
    """
    x1, x2, w, b = check_operands("bilinear", input1=input1, input2=input2, weight=weight,
                                  bias=bias)
    if w.ndim != 3:
        raise ValueError(f"bilinear: expected weight with 3 dimensions (out, in1, in2), got "
                         f"shape {w.shape}")
    if x1.shape[-1:] != w.shape[1:2]:
        raise ValueError(f"bilinear: expected input1 with last dimension {w.shape[1]} "
                         f"(in1_features), got shape {tuple(x1.shape)}")
    if x2.shape[-1:] != w.shape[2:3]:
        raise ValueError(f"bilinear: expected input2 with last dimension {w.shape[2]} "
                         f"(in2_features), got shape {tuple(x2.shape)}")
    if x1.shape[:-1] != x2.shape[:-1]:
        raise ValueError(f"bilinear: input1 and input2 must have the same leading dimensions, "
                         f"got shapes {tuple(x1.shape)} and {tuple(x2.shape)}")
    out = jnp.einsum("...i,oij,...j->...o", x1, w, x2)
    if b is not None:
        out = out + jnp.broadcast_to(b, out.shape)
    return out
