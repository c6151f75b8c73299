"""Padding kernel: ``pad`` (constant / reflect / replicate / circular), torch's ``F.pad``."""
from __future__ import annotations

import collections.abc
import operator
from collections.abc import Sequence

import jax
import jax.numpy as jnp

from ..types import ArrayLike
from ._utils import as_array

__all__ = ["pad"]

_MODES = ("constant", "reflect", "replicate", "circular")

_NON_CONSTANT_HELP = (
    "Supported combinations for non-constant padding:\n"
    "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
    "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
    "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")


def _pad_tuple(pad) -> tuple:
    if not isinstance(pad, collections.abc.Sequence) or isinstance(pad, str):
        raise TypeError(f"pad: expected pad to be a tuple of ints, got {type(pad).__name__}")
    out = []
    for i, p in enumerate(pad):
        if isinstance(p, bool):
            raise TypeError(f"pad: expected pad to be a tuple of ints, but found element of "
                            f"type bool at pos {i}")
        try:
            out.append(operator.index(p))
        except TypeError:
            raise TypeError(f"pad: expected pad to be a tuple of ints, but found element of type "
                            f"{type(p).__name__} at pos {i}") from None
    return tuple(out)


def _crop(x: jax.Array, axis: int, lo: int, hi: int) -> jax.Array:
    """Remove ``lo`` elements at the start and ``hi`` at the end of ``axis`` (both >= 0)."""
    if lo == 0 and hi == 0:
        return x
    return jax.lax.slice_in_dim(x, lo, x.shape[axis] - hi, axis=axis)


def _reflect(x: jax.Array, axis: int, lo: int, hi: int) -> jax.Array:
    """Reflect-pad (edge not repeated) with ``lo``, ``hi`` >= 0 and < size."""
    parts = []
    if lo:
        parts.append(jnp.flip(jax.lax.slice_in_dim(x, 1, lo + 1, axis=axis), axis))
    parts.append(x)
    if hi:
        n = x.shape[axis]
        parts.append(jnp.flip(jax.lax.slice_in_dim(x, n - 1 - hi, n - 1, axis=axis), axis))
    return jnp.concatenate(parts, axis=axis) if len(parts) > 1 else x


def _replicate(x: jax.Array, axis: int, lo: int, hi: int) -> jax.Array:
    parts = []
    n = x.shape[axis]
    if lo:
        edge = jax.lax.slice_in_dim(x, 0, 1, axis=axis)
        parts.append(jnp.repeat(edge, lo, axis=axis))
    parts.append(x)
    if hi:
        edge = jax.lax.slice_in_dim(x, n - 1, n, axis=axis)
        parts.append(jnp.repeat(edge, hi, axis=axis))
    return jnp.concatenate(parts, axis=axis) if len(parts) > 1 else x


def _circular(x: jax.Array, axis: int, lo: int, hi: int) -> jax.Array:
    """Wrap-pad with ``lo``, ``hi`` >= 0 and <= size."""
    n = x.shape[axis]
    parts = []
    if lo:
        parts.append(jax.lax.slice_in_dim(x, n - lo, n, axis=axis))
    parts.append(x)
    if hi:
        parts.append(jax.lax.slice_in_dim(x, 0, hi, axis=axis))
    return jnp.concatenate(parts, axis=axis) if len(parts) > 1 else x


def pad(input: ArrayLike, pad: Sequence[int], mode: str = "constant",
        value: float | None = None) -> jax.Array:
    """Pad the trailing dimensions of ``input`` (``torch.nn.functional.pad``).

    Args:
        input: an array of any rank.
        pad: ``(left_last, right_last, left_second_last, right_second_last, ...)``: pairs of
            sizes starting from the last dimension (torch's order). Negative sizes crop.
        mode: ``'constant'`` (fill with ``value``), ``'reflect'`` (mirror without repeating the
            edge), ``'replicate'`` (repeat the edge) or ``'circular'`` (wrap around).
        value: fill value for ``'constant'`` (default 0); other modes reject it.

    Shape:
        ``(*, D_k, ..., D_1) -> (*, D_k + pad_l + pad_r, ..., D_1 + pad_l + pad_r)``. Constant
        padding may pad any number of trailing dimensions (up to all of them); the other modes
        pad the last 1, 2 or 3 dimensions of a ``(C, ...)`` or ``(N, C, ...)`` input, as torch.

    Returns:
        The padded array (same dtype as ``input``).

    Example:
        >>> F.pad(jnp.ones((1, 2, 3)), (1, 2), mode="reflect").shape
        (1, 2, 6)
    """
    x = as_array(input)
    p = _pad_tuple(pad)
    if mode not in _MODES:
        raise NotImplementedError(f"pad: unrecognised padding mode {mode!r}, expected one of "
                                  f"{_MODES}")
    if len(p) % 2:
        raise ValueError(f"pad: padding length must be divisible by 2, got pad={p} of length "
                         f"{len(p)}")
    n = len(p) // 2
    if n > x.ndim:
        raise ValueError(f"pad: padding length should be less than or equal to two times the "
                         f"input dimension but got padding length {len(p)} and input of "
                         f"dimension {x.ndim}")
    if mode != "constant":
        if value is not None and value != 0:
            raise ValueError(f"pad: padding mode {mode!r} doesn't take in value argument, got "
                             f"value={value}")
        if n not in (1, 2, 3) or x.ndim not in (n + 1, n + 2):
            raise NotImplementedError(f"pad: padding size {len(p)} is not supported for "
                                      f"{x.ndim}D input with mode {mode!r}.\n"
                                      f"{_NON_CONSTANT_HELP}")
    # (axis, lo, hi) from the first padded axis to the last.
    pairs = [(x.ndim - 1 - i, p[2 * i], p[2 * i + 1]) for i in range(n)][::-1]
    for axis, lo, hi in pairs:
        size = x.shape[axis]
        if size + lo + hi < 0:
            raise ValueError(f"pad: padding ({lo}, {hi}) at dimension {axis} of input "
                             f"{tuple(x.shape)} gives a negative output size {size + lo + hi}")
        if mode == "reflect" and (lo >= size or hi >= size):
            raise ValueError(f"pad: padding size should be less than the corresponding input "
                             f"dimension, but got: padding ({lo}, {hi}) at dimension {axis} of "
                             f"input {tuple(x.shape)}")
        if mode in ("reflect", "replicate") and any(d == 0 for d in x.shape[-n - 1:]):
            raise ValueError(f"pad: mode {mode!r} expects non-empty dimensions besides the batch "
                             f"dimension, got input of shape {tuple(x.shape)}")
        kept = size - max(-lo, 0) - max(-hi, 0)
        if mode == "circular" and (lo > kept or hi > kept):
            raise ValueError(f"pad: padding value causes wrapping around more than once: padding "
                             f"({lo}, {hi}) at dimension {axis} of input {tuple(x.shape)}")

    if mode == "constant":
        fill = jnp.asarray(0 if value is None else value, x.dtype)
        config = [(0, 0, 0)] * x.ndim
        for axis, lo, hi in pairs:
            config[axis] = (lo, hi, 0)
        return jax.lax.pad(x, fill, config)

    for axis, lo, hi in pairs:
        if mode == "circular":
            # Crop first, then wrap what is left (torch's order).
            x = _crop(x, axis, max(-lo, 0), max(-hi, 0))
            x = _circular(x, axis, max(lo, 0), max(hi, 0))
        else:
            # Pad relative to the original edges, then crop.
            fn = _reflect if mode == "reflect" else _replicate
            x = fn(x, axis, max(lo, 0), max(hi, 0))
            x = _crop(x, axis, max(-lo, 0), max(-hi, 0))
    return x
