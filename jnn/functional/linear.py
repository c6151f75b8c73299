"""Linear kernels: ``linear``, ``bilinear`` (and ``identity``-free helpers)."""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp

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
    out = jax.lax.dot_general(x.reshape(rows, x.shape[-1]), w, (((1,), (1,)), ((), ())))
    out = out.reshape(*lead, w.shape[0])
    return out if b is None else out + jnp.broadcast_to(b, out.shape)


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
