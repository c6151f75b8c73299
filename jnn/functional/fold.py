"""Sliding-block kernels: ``unfold`` (im2col) and ``fold`` (col2im), torch's 2-D versions.

Both are built from strided slices / interior padding (no convolution with an identity
kernel), so they are exact in every precision and their gradients are cheap: the gradient of
``unfold`` is a ``fold`` and vice versa.
"""
from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from ..types import ArrayLike, size_any_t
from ._utils import as_array, int_tuple

__all__ = ["unfold", "fold"]


def _params(fn, kernel_size, dilation, padding, stride):
    k = int_tuple(kernel_size, 2, fn, "kernel_size", 1)
    d = int_tuple(dilation, 2, fn, "dilation", 1)
    p = int_tuple(padding, 2, fn, "padding", 0)
    s = int_tuple(stride, 2, fn, "stride", 1)
    return k, d, p, s


def _blocks(size, k, d, p, s):
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def unfold(input: ArrayLike, kernel_size: size_any_t, dilation: size_any_t = 1,
           padding: size_any_t = 0, stride: size_any_t = 1) -> jax.Array:
    """Extract sliding local blocks from a batched image (``torch.nn.functional.unfold``).

    Args:
        input: ``(N, C, H, W)`` or unbatched ``(C, H, W)``.
        kernel_size: size of the blocks (int or pair).
        dilation: spacing between block elements (default 1).
        padding: implicit zero padding on both sides (default 0).
        stride: step between blocks (default 1).

    Shape:
        ``(N, C, H, W) -> (N, C * kH * kW, L)`` with ``L`` the number of blocks
        ``prod(floor((size + 2 * padding - dilation * (k - 1) - 1) / stride) + 1)``; channel
        varies slowest within the second dimension, as torch.

    Returns:
        The flattened blocks, same dtype as ``input``.

    Example:
        >>> F.unfold(jnp.ones((2, 3, 4, 5)), kernel_size=(2, 3)).shape
        (2, 18, 9)
    """
    x = as_array(input)
    if x.ndim not in (3, 4) or any(s == 0 for s in x.shape[-3:]):
        raise ValueError(f"unfold: expected input with 3 or 4 dimensions (C, H, W) or "
                         f"(N, C, H, W) and non-zero C, H, W, got shape {tuple(x.shape)}")
    k, d, p, s = _params("unfold", kernel_size, dilation, padding, stride)
    unbatched = x.ndim == 3
    if unbatched:
        x = x[None]
    n, c, h, w = x.shape
    oh, ow = _blocks(h, k[0], d[0], p[0], s[0]), _blocks(w, k[1], d[1], p[1], s[1])
    if oh < 1 or ow < 1:
        raise ValueError(f"unfold: given input with spatial size {(h, w)}, kernel_size={k}, "
                         f"dilation={d}, padding={p}, the calculated shape of the array of "
                         f"sliding blocks is {(oh, ow)}, but its components must be at least "
                         f"one")
    if p != (0, 0):
        x = jnp.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))
    cols = []
    for i in range(k[0]):
        for j in range(k[1]):
            start = (0, 0, i * d[0], j * d[1])
            limit = (n, c, i * d[0] + s[0] * (oh - 1) + 1, j * d[1] + s[1] * (ow - 1) + 1)
            cols.append(jax.lax.slice(x, start, limit, (1, 1, s[0], s[1])))
    out = jnp.stack(cols, axis=2).reshape(n, c * k[0] * k[1], oh * ow)
    return out[0] if unbatched else out


def fold(input: ArrayLike, output_size: size_any_t, kernel_size: size_any_t,
         dilation: size_any_t = 1, padding: size_any_t = 0, stride: size_any_t = 1) -> jax.Array:
    """Sum sliding local blocks into an image (``torch.nn.functional.fold``).

    The adjoint of :func:`unfold`: overlapping values are added.

    Args:
        input: ``(N, C * kH * kW, L)`` or unbatched ``(C * kH * kW, L)``.
        output_size: spatial size ``(H, W)`` of the output (int or pair).
        kernel_size, dilation, padding, stride: as in :func:`unfold`.

    Shape:
        ``(N, C * kH * kW, L) -> (N, C, H, W)``; ``L`` must equal the number of blocks that
        fit in ``output_size``.

    Returns:
        The combined image, same dtype as ``input``.

    Example:
        >>> F.fold(jnp.ones((1, 12, 9)), output_size=(4, 4), kernel_size=2).shape
        (1, 3, 4, 4)
    """
    x = as_array(input)
    if x.ndim not in (2, 3) or any(s == 0 for s in x.shape[-2:]):
        raise ValueError(f"fold: expected input with 2 or 3 dimensions (C * kH * kW, L) or "
                         f"(N, C * kH * kW, L) and non-zero sizes, got shape {tuple(x.shape)}")
    out_hw = int_tuple(output_size, 2, "fold", "output_size", 1)
    k, d, p, s = _params("fold", kernel_size, dilation, padding, stride)
    unbatched = x.ndim == 2
    if unbatched:
        x = x[None]
    n, ck, length = x.shape
    if ck % (k[0] * k[1]):
        raise ValueError(f"fold: expected size of input's dimension 1 to be divisible by the "
                         f"product of kernel_size, but got input.size(1)={ck} and "
                         f"kernel_size={k}")
    oh, ow = _blocks(out_hw[0], k[0], d[0], p[0], s[0]), _blocks(out_hw[1], k[1], d[1], p[1],
                                                                 s[1])
    if oh < 1 or ow < 1 or oh * ow != length:
        raise ValueError(f"fold: given output_size={out_hw}, kernel_size={k}, dilation={d}, "
                         f"padding={p}, stride={s}, expected size of input's dimension 2 to "
                         f"match the calculated number of sliding blocks {oh} * {ow} = "
                         f"{oh * ow}, but got input.size(2)={length}")
    c = ck // (k[0] * k[1])
    blocks = x.reshape(n, c, k[0], k[1], oh, ow)
    hp, wp = out_hw[0] + 2 * p[0], out_hw[1] + 2 * p[1]
    zero = jnp.zeros((), x.dtype)
    out: Any = None
    for i in range(k[0]):
        for j in range(k[1]):
            # Place block (i, j) at rows i*d, i*d + s, ... via interior padding.
            lo_h, lo_w = i * d[0], j * d[1]
            hi_h = hp - lo_h - (s[0] * (oh - 1) + 1)
            hi_w = wp - lo_w - (s[1] * (ow - 1) + 1)
            placed = jax.lax.pad(blocks[:, :, i, j], zero,
                                 [(0, 0, 0), (0, 0, 0), (lo_h, hi_h, s[0] - 1),
                                  (lo_w, hi_w, s[1] - 1)])
            out = placed if out is None else out + placed
    if p != (0, 0):
        out = out[:, :, p[0]:p[0] + out_hw[0], p[1]:p[1] + out_hw[1]]
    return out[0] if unbatched else out
