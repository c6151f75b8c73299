"""Dropout kernels (``torch.nn.functional`` dropout family).

Every kernel is the identity when ``training=False`` (or ``p == 0``). In training it draws its
mask with ``key = next_key(key)``: pass an explicit ``key=`` for a pure function, or let it draw
from jnn's global random stream, which ``nn.jit`` treats as state, so each call of a compiled
step gets a fresh mask.

Differences from PyTorch:
    The extra ``key=`` argument; the masks differ from torch's for the same seed (different
    generators). ``inplace=`` is accepted and has no effect (JAX arrays are immutable).
    Where torch raises ``RuntimeError`` for a bad input rank, jnn raises ``ValueError`` with
    torch's message.
"""
from __future__ import annotations

import functools
import math
import warnings

import jax
import jax.numpy as jnp

from ..random import next_key
from ..types import Array, ArrayLike
from ._eager import eager_jit
from ._utils import as_array

__all__ = ["dropout", "alpha_dropout", "dropout1d", "dropout2d", "dropout3d",
           "feature_alpha_dropout"]

# SELU's negative saturation value, -scale * alpha.
_ALPHA = 1.7580993408473766


def _check_p(p) -> None:
    if not isinstance(p, (int, float)) or isinstance(p, bool) or p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _float(x):
    x = as_array(x)
    if not jnp.issubdtype(x.dtype, jnp.inexact):
        raise TypeError(f"dropout: expected a floating input, got dtype {x.dtype}")
    return x


def _dropout_impl(x, p: float, training: bool, feature: bool, alpha: bool, key, fn: str):
    """torch's ``_dropout_impl``: the shared body of all six kernels."""
    if p == 0 or not training or x.size == 0:
        return x
    if feature and x.ndim < 2:
        raise ValueError(f"{fn}: Feature dropout requires at least 2 dimensions in the input, "
                         f"got shape {tuple(x.shape)}")
    if p == 1:  # torch multiplies by zero (no alpha shift either); inf/nan stay nan
        return x * jnp.zeros((), x.dtype)
    return _masked(x, next_key(key), p=p, feature=feature, alpha=alpha)


# One program per configuration when called eagerly (the mask, its scaling and the alpha shift
# would otherwise compile op by op on first use); the key is drawn before the call.
@functools.partial(eager_jit, static_argnames=("p", "feature", "alpha"), key_argnames=("key",))
def _masked(x, key, *, p: float, feature: bool, alpha: bool):
    shape = x.shape[:2] + (1,) * (x.ndim - 2) if feature else x.shape
    keep = jax.random.bernoulli(key, 1.0 - p, shape).astype(x.dtype)
    if not alpha:
        return x * (keep * jnp.asarray(1.0 / (1.0 - p), x.dtype))
    a = 1.0 / math.sqrt((_ALPHA * _ALPHA * p + 1) * (1 - p))
    b = (keep - 1) * jnp.asarray(_ALPHA * a, x.dtype) + jnp.asarray(_ALPHA * a * p, x.dtype)
    return x * (keep * jnp.asarray(a, x.dtype)) + b


def dropout(input: ArrayLike, p: float = 0.5, training: bool = True, inplace: bool = False,
            key: Array | None = None) -> jax.Array:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``.

    Args:
        input: any shape.
        p: probability of an element to be zeroed (default ``0.5``).
        training: apply dropout (default ``True``); otherwise the identity.
        inplace: accepted for torch compatibility; no effect.
        key: a JAX PRNG key; ``None`` draws one from jnn's global stream.

    Shape:
        ``(*) -> (*)``.

    Returns:
        The masked, rescaled input (the input itself when not training).

    Example:
        >>> y = F.dropout(jnp.ones((2, 4)), 0.5, key=jax.random.PRNGKey(0))
        >>> sorted(set(y.ravel().tolist())) in ([0.0, 2.0], [2.0], [0.0])
        True
    """
    _check_p(p)
    return _dropout_impl(_float(input), p, training, False, False, key, "dropout")


def alpha_dropout(input: ArrayLike, p: float = 0.5, training: bool = False, inplace: bool = False,
                  key: Array | None = None) -> jax.Array:
    """Alpha dropout: keeps zero mean and unit variance of SELU activations.

    Dropped elements are set to SELU's negative saturation, then an affine map restores the
    mean and variance.

    Args:
        input: any shape.
        p: drop probability (default ``0.5``).
        training: apply dropout (default ``False``, like torch's functional form).
        inplace: accepted for torch compatibility; no effect.
        key: a JAX PRNG key; ``None`` draws one from jnn's global stream.

    Shape:
        ``(*) -> (*)``.

    Returns:
        The transformed input (the input itself when not training).

    Example:
        >>> F.alpha_dropout(jnp.ones(3), 0.2).tolist()
        [1.0, 1.0, 1.0]
    """
    _check_p(p)
    return _dropout_impl(_float(input), p, training, False, True, key, "alpha_dropout")


def feature_alpha_dropout(input: ArrayLike, p: float = 0.5, training: bool = False,
                          inplace: bool = False, key: Array | None = None) -> jax.Array:
    """Alpha dropout of whole channels (dim 1) of ``(N, C, *)`` input.

    Args:
        input: ``(N, C, *)`` (at least 2 dimensions when training).
        p: drop probability of a channel (default ``0.5``).
        training: apply dropout (default ``False``, like torch's functional form).
        inplace: accepted for torch compatibility; no effect.
        key: a JAX PRNG key; ``None`` draws one from jnn's global stream.

    Shape:
        ``(N, C, *) -> (N, C, *)``.

    Returns:
        The transformed input (the input itself when not training).

    Example:
        >>> F.feature_alpha_dropout(jnp.ones((2, 3, 4)), 0.2).shape
        (2, 3, 4)
    """
    _check_p(p)
    return _dropout_impl(_float(input), p, training, True, True, key, "feature_alpha_dropout")


def dropout1d(input: ArrayLike, p: float = 0.5, training: bool = True, inplace: bool = False,
              key: Array | None = None) -> jax.Array:
    """Zero whole channels of ``(N, C, L)`` or ``(C, L)`` input with probability ``p``.

    Args:
        input: ``(N, C, L)`` or unbatched ``(C, L)``.
        p: probability of a channel to be zeroed (default ``0.5``).
        training: apply dropout (default ``True``).
        inplace: accepted for torch compatibility; no effect.
        key: a JAX PRNG key; ``None`` draws one from jnn's global stream.

    Shape:
        ``(N, C, L) -> (N, C, L)``, ``(C, L) -> (C, L)``.

    Returns:
        The input with whole channels zeroed and the rest scaled by ``1 / (1 - p)``.

    Example:
        >>> F.dropout1d(jnp.ones((2, 3, 4)), key=jax.random.PRNGKey(0)).shape
        (2, 3, 4)
    """
    _check_p(p)
    x = _float(input)
    if x.ndim not in (2, 3):
        raise ValueError(
            f"dropout1d: Expected 2D or 3D input, but received a {x.ndim}D input. Note that "
            "dropout1d exists to provide channel-wise dropout on inputs with 1 spatial "
            "dimension, a channel dimension, and an optional batch dimension (i.e. 2D or 3D "
            "inputs).")
    if x.ndim == 2:
        return _dropout_impl(x[None], p, training, True, False, key, "dropout1d")[0]
    return _dropout_impl(x, p, training, True, False, key, "dropout1d")


def dropout2d(input: ArrayLike, p: float = 0.5, training: bool = True, inplace: bool = False,
              key: Array | None = None) -> jax.Array:
    """Zero whole channels of ``(N, C, H, W)`` input with probability ``p``.

    Like torch, 3-D input is treated as ``(N, C, L)`` (channel-wise 1-D dropout) with a
    warning, and other ranks warn that they are deprecated.

    Args:
        input: ``(N, C, H, W)`` (or ``(N, C, L)``, see above).
        p: probability of a channel to be zeroed (default ``0.5``).
        training: apply dropout (default ``True``).
        inplace: accepted for torch compatibility; no effect.
        key: a JAX PRNG key; ``None`` draws one from jnn's global stream.

    Shape:
        ``(N, C, H, W) -> (N, C, H, W)``.

    Returns:
        The input with whole channels zeroed and the rest scaled by ``1 / (1 - p)``.

    Example:
        >>> F.dropout2d(jnp.ones((2, 3, 4, 4)), key=jax.random.PRNGKey(0)).shape
        (2, 3, 4, 4)
    """
    _check_p(p)
    x = _float(input)
    if x.ndim not in (3, 4):
        warnings.warn(
            f"dropout2d: Received a {x.ndim}-D input to dropout2d, which is deprecated and "
            "will result in an error in a future release. To retain the behavior and silence "
            "this warning, please use dropout instead. Note that dropout2d exists to provide "
            "channel-wise dropout on inputs with 2 spatial dimensions, a channel dimension, "
            "and an optional batch dimension (i.e. 3D or 4D inputs).", stacklevel=2)
    if x.ndim == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D "
            "dropout behavior is desired - input is interpreted as shape (N, C, L), where C is "
            "the channel dim. This behavior will change in a future release to interpret the "
            "input as one without a batch dimension, i.e. shape (C, H, W). To maintain the 1D "
            "channel-wise dropout behavior, please switch to using dropout1d instead.",
            stacklevel=2)
    return _dropout_impl(x, p, training, True, False, key, "dropout2d")


def dropout3d(input: ArrayLike, p: float = 0.5, training: bool = True, inplace: bool = False,
              key: Array | None = None) -> jax.Array:
    """Zero whole channels of ``(N, C, D, H, W)`` or ``(C, D, H, W)`` input.

    Args:
        input: ``(N, C, D, H, W)`` or unbatched ``(C, D, H, W)`` (other ranks warn, as in
            torch, and are treated as unbatched).
        p: probability of a channel to be zeroed (default ``0.5``).
        training: apply dropout (default ``True``).
        inplace: accepted for torch compatibility; no effect.
        key: a JAX PRNG key; ``None`` draws one from jnn's global stream.

    Shape:
        ``(N, C, D, H, W) -> (N, C, D, H, W)``, ``(C, D, H, W) -> (C, D, H, W)``.

    Returns:
        The input with whole channels zeroed and the rest scaled by ``1 / (1 - p)``.

    Example:
        >>> F.dropout3d(jnp.ones((2, 3, 2, 2, 2)), key=jax.random.PRNGKey(0)).shape
        (2, 3, 2, 2, 2)
    """
    _check_p(p)
    x = _float(input)
    if x.ndim not in (4, 5):
        warnings.warn(
            f"dropout3d: Received a {x.ndim}-D input to dropout3d, which is deprecated and "
            "will result in an error in a future release. To retain the behavior and silence "
            "this warning, please use dropout instead. Note that dropout3d exists to provide "
            "channel-wise dropout on inputs with 3 spatial dimensions, a channel dimension, "
            "and an optional batch dimension (i.e. 4D or 5D inputs).", stacklevel=2)
    if x.ndim != 5:
        return _dropout_impl(x[None], p, training, True, False, key, "dropout3d")[0]
    return _dropout_impl(x, p, training, True, False, key, "dropout3d")
