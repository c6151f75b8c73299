"""Distance kernels: ``pairwise_distance``, ``cosine_similarity``, ``pdist``."""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from ..amp.autocast_mode import autocast_op
from ..types import Array, ArrayLike
from ._utils import as_array, float_input

__all__ = ["pairwise_distance", "cosine_similarity", "pdist"]


def _safe_root(s, root):
    """``s ** (1/root)`` for ``s >= 0``, with a zero gradient at ``s == 0`` (as torch's norm)."""
    pos = s > 0
    safe = jnp.where(pos, s, jnp.ones_like(s))
    r = jnp.sqrt(safe) if root == 2 else safe ** (1.0 / root)
    return jnp.where(pos, r, jnp.zeros_like(r))


def vector_norm(x: jax.Array, p: float, axis: int, keepdim: bool = False) -> jax.Array:
    """The ``p``-norm over ``axis``, torch's conventions (p = 0, +-inf; zero gradient at 0).

    The one vector norm of the kernels (distances, ``normalize``, ``embedding``'s
    ``max_norm``); package-internal, not exported (torch has no ``F.vector_norm``).
    """
    ax = jnp.abs(x)
    if p == math.inf:
        return jnp.max(ax, axis=axis, keepdims=keepdim)
    if p == -math.inf:
        return jnp.min(ax, axis=axis, keepdims=keepdim)
    if p == 0:
        return jnp.sum(x != 0, axis=axis, keepdims=keepdim).astype(x.dtype)
    if p == 1:
        return jnp.sum(ax, axis=axis, keepdims=keepdim)
    if p == 2:
        return _safe_root(jnp.sum(x * x, axis=axis, keepdims=keepdim), 2)
    if p < 0:  # a zero entry makes the sum inf and the norm 0, as in torch
        return jnp.sum(ax ** p, axis=axis, keepdims=keepdim) ** (1.0 / p)
    pos = ax > 0
    powed = jnp.where(pos, jnp.where(pos, ax, 1) ** p, 0)
    return _safe_root(jnp.sum(powed, axis=axis, keepdims=keepdim), p)


def _check_p(fn, p, negative_ok=False):
    if not isinstance(p, (int, float)) or isinstance(p, bool):
        raise TypeError(f"{fn}: expected p to be a number, got {type(p).__name__}")
    if p < 0 and p != -math.inf and not negative_ok:
        raise ValueError(f"{fn}: expected p to be a non-negative number (or inf), got {p!r}")


def pairwise_distance(x1: ArrayLike, x2: ArrayLike, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Array:
    """The ``p``-norm of ``x1 - x2 + eps`` over the last dimension (``torch.nn.functional``).

    Args:
        x1, x2: ``(N, D)`` or ``(D,)`` (broadcastable to a common shape).
        p: the norm degree (``inf`` and ``0`` allowed). Default 2.
        eps: added to the difference to avoid a zero norm. Default 1e-6.
        keepdim: keep the reduced last dimension.

    Shape:
        ``(N, D), (N, D) -> (N,)`` (``(N, 1)`` with ``keepdim``); ``(D,), (D,) -> ()``.

    Returns:
        The distances.

    Example:
        >>> F.pairwise_distance(jnp.zeros((2, 3)), jnp.ones((2, 3))).shape
        (2,)
    """
    a, b = as_array(x1), as_array(x2)
    _check_p("pairwise_distance", p, negative_ok=True)  # torch takes any p here
    try:
        shape = jnp.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"pairwise_distance: x1 shape {tuple(a.shape)} and x2 shape "
                         f"{tuple(b.shape)} cannot be broadcast together") from None
    # torch broadcasts x1 and x2 (a (D,) row against an (N, D) batch): explicitly, here.
    diff = jnp.broadcast_to(a, shape) - jnp.broadcast_to(b, shape) + eps
    if len(shape) == 0:
        return jnp.abs(diff) if p != 0 else (diff != 0).astype(diff.dtype)
    return vector_norm(diff, p, axis=len(shape) - 1, keepdim=keepdim)


@autocast_op("cosine_similarity")
def cosine_similarity(x1: ArrayLike, x2: ArrayLike, dim: int = 1, eps: float = 1e-8) -> Array:
    """Cosine similarity along ``dim``: ``sum(x1/|x1| * x2/|x2|)`` with norms clamped to ``eps``.

    As in torch, each vector is divided by its (clamped) norm before the product; the clamp
    does not stop the gradient.

    Args:
        x1, x2: arrays broadcastable to a common shape.
        dim: the dimension holding the vectors. Default 1.
        eps: lower bound of each norm. Default 1e-8.

    Shape:
        ``(*1, D, *2) -> (*1, *2)``.

    Returns:
        The similarities, in ``[-1, 1]``.

    Example:
        >>> F.cosine_similarity(jnp.ones((4, 3)), jnp.ones((4, 3))).shape
        (4,)
    """
    a, b = as_array(x1), as_array(x2)
    try:
        shape = jnp.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"cosine_similarity: x1 shape {tuple(a.shape)} and x2 shape "
                         f"{tuple(b.shape)} cannot be broadcast together") from None
    nd = max(len(shape), 1)
    if not -nd <= dim < nd:
        raise ValueError(f"cosine_similarity: dim {dim} is out of range for inputs with "
                         f"{len(shape)} dimensions (expected in [{-nd}, {nd - 1}])")
    a, b = jnp.broadcast_to(a, shape), jnp.broadcast_to(b, shape)
    if len(shape) == 0:
        a, b = a[None], b[None]
    dim = dim % nd

    def unit(x):
        n = vector_norm(x, 2, axis=dim, keepdim=True)
        n = n + jax.lax.stop_gradient(jnp.maximum(n, eps) - n)  # no-grad clamp, as torch
        return x / n

    return jnp.sum(unit(a) * unit(b), axis=dim)


@autocast_op("pdist")
def pdist(input: ArrayLike, p: float = 2) -> Array:
    """``p``-norm distances between every pair of rows (the upper triangle, row-major).

    Args:
        input: ``(N, M)``.
        p: the norm degree (``>= 0``; ``inf`` allowed). Default 2.

    Shape:
        ``(N, M) -> (N * (N - 1) / 2,)``.

    Returns:
        ``[d(0, 1), d(0, 2), ..., d(N-2, N-1)]``.

    Example:
        >>> F.pdist(jnp.ones((4, 3))).shape
        (6,)
    """
    x = float_input("pdist", input)  # torch: "pdist only supports floating-point dtypes"
    if x.ndim != 2:
        raise ValueError(f"pdist: expected input with 2 dimensions (N, M), got shape "
                         f"{tuple(x.shape)}")
    _check_p("pdist", p)
    if p < 0:
        raise ValueError(f"pdist: only supports non-negative p values, got {p}")
    i, j = np.triu_indices(x.shape[0], k=1)
    return vector_norm(x[i] - x[j], p, axis=-1)
