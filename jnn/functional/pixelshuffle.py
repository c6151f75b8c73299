"""Channel/space rearrangements: ``pixel_shuffle``, ``pixel_unshuffle``, ``channel_shuffle``."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from ..types import ArrayLike
from ._utils import as_array

__all__ = ["pixel_shuffle", "pixel_unshuffle", "channel_shuffle"]


def _positive_int(fn: str, name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{fn}: expected a positive int {name}, got {value!r}")
    return value


def pixel_shuffle(input: ArrayLike, upscale_factor: int) -> jax.Array:
    """Move channel blocks into space (``torch.nn.functional.pixel_shuffle``).

    Args:
        input: ``(*, C * r^2, H, W)`` with any number of leading dimensions.
        upscale_factor: ``r``.

    Shape:
        ``(*, C * r^2, H, W) -> (*, C, H * r, W * r)``.

    Returns:
        The rearranged array.

    Example:
        >>> F.pixel_shuffle(jnp.ones((1, 9, 4, 4)), 3).shape
        (1, 1, 12, 12)
    """
    x = as_array(input)
    r = _positive_int("pixel_shuffle", "upscale_factor", upscale_factor)
    if x.ndim < 3:
        raise ValueError(f"pixel_shuffle: expected input with at least 3 dimensions "
                         f"(*, C * r^2, H, W), got shape {tuple(x.shape)}")
    *lead, c, h, w = x.shape
    if c % (r * r):
        raise ValueError(f"pixel_shuffle: expected the channel dimension of the input to be "
                         f"divisible by upscale_factor^2 = {r * r}, got input of shape "
                         f"{tuple(x.shape)}")
    nl = len(lead)
    x = x.reshape(*lead, c // (r * r), r, r, h, w)
    perm = tuple(range(nl + 1)) + (nl + 3, nl + 1, nl + 4, nl + 2)
    return jnp.transpose(x, perm).reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: ArrayLike, downscale_factor: int) -> jax.Array:
    """Move spatial blocks into channels (``torch.nn.functional.pixel_unshuffle``).

    The inverse of :func:`pixel_shuffle`.

    Args:
        input: ``(*, C, H * r, W * r)`` with any number of leading dimensions.
        downscale_factor: ``r``.

    Shape:
        ``(*, C, H * r, W * r) -> (*, C * r^2, H, W)``.

    Returns:
        The rearranged array.

    Example:
        >>> F.pixel_unshuffle(jnp.ones((1, 1, 12, 12)), 3).shape
        (1, 9, 4, 4)
    """
    x = as_array(input)
    r = _positive_int("pixel_unshuffle", "downscale_factor", downscale_factor)
    if x.ndim < 3:
        raise ValueError(f"pixel_unshuffle: expected input with at least 3 dimensions "
                         f"(*, C, H * r, W * r), got shape {tuple(x.shape)}")
    *lead, c, h, w = x.shape
    if h % r:
        raise ValueError(f"pixel_unshuffle: expected height to be divisible by "
                         f"downscale_factor={r}, but input.size(-2)={h} (shape "
                         f"{tuple(x.shape)})")
    if w % r:
        raise ValueError(f"pixel_unshuffle: expected width to be divisible by "
                         f"downscale_factor={r}, but input.size(-1)={w} (shape "
                         f"{tuple(x.shape)})")
    nl = len(lead)
    x = x.reshape(*lead, c, h // r, r, w // r, r)
    perm = tuple(range(nl + 1)) + (nl + 2, nl + 4, nl + 1, nl + 3)
    return jnp.transpose(x, perm).reshape(*lead, c * r * r, h // r, w // r)


def channel_shuffle(input: ArrayLike, groups: int) -> jax.Array:
    """Interleave channel groups (``torch.nn.functional.channel_shuffle``, ShuffleNet).

    Args:
        input: ``(N, C, *)`` with at least 3 dimensions.
        groups: number of groups ``g`` dividing ``C``.

    Shape:
        ``(N, C, *) -> (N, C, *)``: channel ``i * (C / g) + j`` moves to ``j * g + i``.

    Returns:
        The shuffled array.

    Example:
        >>> F.channel_shuffle(jnp.arange(4.0).reshape(1, 4, 1), 2).ravel()
        Array([0., 2., 1., 3.], dtype=float32)
    """
    x = as_array(input)
    g = _positive_int("channel_shuffle", "groups", groups)
    if x.ndim <= 2:
        raise ValueError(f"channel_shuffle: expected input with more than 2 dimensions "
                         f"(N, C, *), got shape {tuple(x.shape)}")
    n, c, *rest = x.shape
    if c % g:
        raise ValueError(f"channel_shuffle: number of channels must be divisible by groups, "
                         f"got {c} channels and groups={g}")
    x = x.reshape(n, g, c // g, *rest)
    return jnp.swapaxes(x, 1, 2).reshape(n, c, *rest)
