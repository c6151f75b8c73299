"""Resampling kernels: ``interpolate`` (nearest, nearest-exact, (bi/tri)linear, bicubic, area,
antialiased bilinear/bicubic) and the deprecated ``upsample*`` aliases.

Every mode is separable: along each spatial dimension, output element ``i`` is a weighted sum of
a few input elements whose indices and weights depend only on the static sizes. Those taps are
computed once in NumPy with torch's formulas *in torch's arithmetic precision* (float32 for
float32 input, as in ATen's CPU kernels), then applied with gathers.
"""
from __future__ import annotations

import math
import warnings
from typing import Any

import jax.numpy as jnp
import numpy as np

from ..types import Array, ArrayLike, ratio_any_t, size_any_t
from ._utils import as_array
from .pooling import adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d

__all__ = ["interpolate", "upsample", "upsample_nearest", "upsample_bilinear"]

_MODES = ("nearest", "linear", "bilinear", "bicubic", "trilinear", "area", "nearest-exact")
_LINEAR_MODES = {"linear": 3, "bilinear": 4, "trilinear": 5}


# -- index / weight computation (NumPy, torch's precision) ------------------------------------

def _compute_scale(L, out, align_corners, scale, dt):
    """ATen's ``area_pixel_compute_scale`` in precision ``dt``."""
    if align_corners:
        return dt(L - 1) / dt(out - 1) if out > 1 else dt(0)
    if scale is not None and scale > 0:
        return dt(1.0 / scale)
    return dt(L) / dt(out)


def _source_index(scale, i, align_corners, cubic, dt):
    """ATen's ``area_pixel_compute_source_index`` for the vector of output indices ``i``."""
    if align_corners:
        return (scale * i.astype(dt)).astype(dt)
    src = (scale * (i.astype(dt) + dt(0.5)) - dt(0.5)).astype(dt)
    if not cubic:
        src = np.where(src < 0, dt(0), src).astype(dt)
    return src


def _guard(real, L, dt):
    idx = np.minimum(np.floor(real).astype(np.int64), L - 1)
    lam = np.clip(real - idx.astype(dt), dt(0), dt(1)).astype(dt)
    return idx, lam


def _nearest_taps(L, out, scale, exact):
    i = np.arange(out)
    if not exact and out == L:
        return i[None, :], None
    if not exact and out == 2 * L:
        return (i >> 1)[None, :], None
    s = np.float32(1.0 / scale) if (scale is not None and scale > 0) \
        else np.float32(L) / np.float32(out)
    if exact:
        src = np.floor(((i + 0.5) * np.float64(s)).astype(np.float32))
    else:
        src = np.floor(i.astype(np.float32) * s)
    return np.minimum(src.astype(np.int64), L - 1)[None, :], None


def _linear_taps(L, out, align_corners, scale, dt):
    s = _compute_scale(L, out, align_corners, scale, dt)
    real = _source_index(s, np.arange(out), align_corners, False, dt)
    idx0, lam = _guard(real, L, dt)
    idx1 = idx0 + (idx0 < L - 1)
    return np.stack([idx0, idx1]), np.stack([(dt(1) - lam).astype(dt), lam])


def _cubic_coeffs(t, A, dt):
    A = dt(A)

    def conv1(x):
        return ((A + dt(2)) * x - (A + dt(3))) * x * x + dt(1)

    def conv2(x):
        return ((A * x - dt(5) * A) * x + dt(8) * A) * x - dt(4) * A

    x2 = (dt(1) - t).astype(dt)
    return np.stack([conv2(t + dt(1)), conv1(t), conv1(x2), conv2(x2 + dt(1))]).astype(dt)


def _cubic_taps(L, out, align_corners, scale, dt):
    s = _compute_scale(L, out, align_corners, scale, dt)
    real = _source_index(s, np.arange(out), align_corners, True, dt)
    idx, lam = _guard(real, L, dt)
    taps = np.stack([np.clip(idx - 1 + j, 0, L - 1) for j in range(4)])
    return taps, _cubic_coeffs(lam, -0.75, dt)


def _aa_filter(kind):
    if kind == "bilinear":
        return lambda x: np.maximum(0.0, 1.0 - np.abs(x))
    a = -0.5

    def cubic(x):
        x = np.abs(x)
        return np.where(x < 1.0, ((a + 2) * x - (a + 3)) * x * x + 1,
                        np.where(x < 2.0, ((a * x - 5 * a) * x + 8 * a) * x - 4 * a, 0.0))
    return cubic


def _aa_taps(L, out, align_corners, scale, kind, dt):
    interp = 2 if kind == "bilinear" else 4
    s = _compute_scale(L, out, align_corners, scale, dt)
    support = (interp * 0.5) * s if s >= 1.0 else interp * 0.5
    invscale = dt(1.0 / s) if s >= 1.0 else dt(1.0)
    filt = _aa_filter(kind)
    rows = []
    for i in range(out):
        center = s * dt(i + 0.5)
        xmin = max(int(center - support + 0.5), 0)
        xsize = min(int(center + support + 0.5), L) - xmin
        j = np.arange(max(xsize, 0))
        w = filt(((j + xmin - center + 0.5) * invscale).astype(dt)).astype(dt)
        total = w.sum(dtype=dt)
        if total != 0:
            w = (w / total).astype(dt)
        rows.append((xmin, w))
    K = max(1, max(len(w) for _, w in rows))
    idx = np.zeros((K, out), np.int64)
    wt = np.zeros((K, out), dt)
    for i, (xmin, w) in enumerate(rows):
        idx[:, i] = np.minimum(xmin + np.arange(K), L - 1)
        wt[:len(w), i] = w
    return idx, wt


# -- application ------------------------------------------------------------------------------

def _apply_taps(x, axis, idx, wt):
    """``out[..., i, ...] = sum_j wt[j, i] * x[..., idx[j, i], ...]`` along ``axis``."""
    if wt is None:
        return jnp.take(x, jnp.asarray(idx[0]), axis=axis)
    shape = [1] * x.ndim
    shape[axis] = idx.shape[1]
    acc = None
    for j in range(idx.shape[0]):
        if not wt[j].any():
            continue
        term = jnp.take(x, jnp.asarray(idx[j]), axis=axis) * \
            jnp.asarray(wt[j].reshape(shape), x.dtype)
        acc = term if acc is None else acc + term
    if acc is None:
        out_shape = list(x.shape)
        out_shape[axis] = idx.shape[1]
        acc = jnp.zeros(out_shape, x.dtype)
    return acc


def _opmath(dtype):
    return np.float64 if dtype == jnp.float64 else np.float32


def _output_size(fn, x, dim, size, scale_factor, recompute_scale_factor, mode):
    spatial = list(x.shape[2:])
    if size is not None and scale_factor is not None:
        raise ValueError(f"{fn}: only one of size or scale_factor should be defined")
    if size is not None:
        if isinstance(size, (list, tuple)):
            if len(size) != dim:
                raise ValueError(
                    f"{fn}: Input and output must have the same number of spatial dimensions, "
                    f"but got input with spatial dimensions of {spatial} and output size of "
                    f"{size}. Please provide input tensor in (N, C, d1, d2, ...,dK) format and "
                    f"output size in (o1, o2, ...,oK) format.")
            out = list(size)
        else:
            out = [size] * dim
        if not all(isinstance(o, (int, np.integer)) and not isinstance(o, bool) for o in out):
            raise TypeError(f"{fn}: expected size to be an int or a tuple of ints, got {size!r}")
        scales: list[Any] = [None] * dim
    elif scale_factor is not None:
        if isinstance(scale_factor, (list, tuple)):
            if len(scale_factor) != dim:
                raise ValueError(
                    f"{fn}: Input and scale_factor must have the same number of spatial "
                    f"dimensions, but got input with spatial dimensions of {spatial} and "
                    f"scale_factor of shape {scale_factor}. Please provide input tensor in "
                    f"(N, C, d1, d2, ...,dK) format and scale_factor in (s1, s2, ...,sK) "
                    f"format.")
            scales = [float(s) for s in scale_factor]
        else:
            scales = [float(scale_factor)] * dim
        if any(not s > 0 for s in scales):
            raise ValueError(f"{fn}: expected positive scale_factor, got {scale_factor!r}")
        out = [int(math.floor(float(L) * s)) for L, s in zip(spatial, scales)]
    else:
        raise ValueError(f"{fn}: either size or scale_factor should be defined")
    if recompute_scale_factor and size is not None:
        raise ValueError(f"{fn}: recompute_scale_factor is not meaningful with an explicit "
                         f"size.")
    if recompute_scale_factor or mode == "area":
        scales = [None] * dim
    out = [int(o) for o in out]
    if any(o <= 0 for o in out):
        raise ValueError(f"{fn}: expected a positive output size, got input spatial size "
                         f"{spatial} and output size {out}")
    return out, scales


def interpolate(input: ArrayLike, size: size_any_t | None = None,
                scale_factor: ratio_any_t | None = None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Array:
    """Resize ``input`` to ``size`` or by ``scale_factor`` (``torch.nn.functional.interpolate``).

    Args:
        input: ``(N, C, L)``, ``(N, C, H, W)`` or ``(N, C, D, H, W)``.
        size: the output spatial size (int or tuple).
        scale_factor: multiplier(s) for the spatial size (exactly one of size/scale_factor).
        mode: ``'nearest'``, ``'nearest-exact'``, ``'linear'`` (3-D), ``'bilinear'`` (4-D),
            ``'bicubic'`` (4-D, ``A = -0.75``, border-clamped taps), ``'trilinear'`` (5-D) or
            ``'area'`` (adaptive average pooling).
        align_corners: for the interpolating modes: map corner pixel centres onto each other
            (default ``False``); must be ``None`` for nearest/area.
        recompute_scale_factor: compute the output size from ``scale_factor`` and then map
            coordinates with ``in/out``; otherwise (default) coordinates use ``1/scale_factor``.
        antialias: low-pass filter when downsampling (bilinear/bicubic, 4-D input only).

    Shape:
        ``(N, C, *in) -> (N, C, *out)`` with ``out = floor(in * scale_factor)`` or ``size``.

    Returns:
        The resampled array (same dtype).

    Differences from PyTorch:
        With ``antialias=True`` and an output width of 1, torch 2.x's CPU kernel repeats the
        first output row in every row (a torch bug); jnn computes every row.

    Example:
        >>> F.interpolate(jnp.ones((1, 3, 4, 4)), scale_factor=2, mode="bilinear").shape
        (1, 3, 8, 8)
    """
    fn = "interpolate"
    x = as_array(input)
    if mode not in _MODES:
        raise NotImplementedError(
            f"{fn}: unknown mode {mode!r}; expected one of nearest | linear | bilinear | "
            f"bicubic | trilinear | area | nearest-exact")
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError(f"{fn}: align_corners option can only be set with the "
                             f"interpolating modes: linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    if x.ndim not in (3, 4, 5):
        raise NotImplementedError(
            f"{fn}: Input Error: Only 3D, 4D and 5D input Tensors supported (got {x.ndim}D) "
            f"for the modes: nearest | linear | bilinear | bicubic | trilinear | area | "
            f"nearest-exact (got {mode})")
    dim = x.ndim - 2
    out, scales = _output_size(fn, x, dim, size, scale_factor, recompute_scale_factor, mode)
    if antialias and not (mode in ("bilinear", "bicubic") and x.ndim == 4):
        raise ValueError(f"{fn}: Anti-alias option is restricted to bilinear and bicubic modes "
                         f"and requires a 4-D tensor as input")
    if mode in _LINEAR_MODES and x.ndim != _LINEAR_MODES[mode]:
        raise NotImplementedError(f"{fn}: Got {x.ndim}D input, but {mode} mode needs "
                                  f"{_LINEAR_MODES[mode]}D input")
    if mode == "bicubic" and x.ndim != 4:
        raise NotImplementedError(f"{fn}: Got {x.ndim}D input, but bicubic mode needs 4D input")
    if mode == "area":
        return (adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d)[dim - 1](x, out)
    if mode not in ("nearest", "nearest-exact") and not jnp.issubdtype(x.dtype, jnp.inexact):
        raise TypeError(f"{fn}: mode {mode!r} expects a floating point input, got dtype "
                        f"{x.dtype}")
    dt = _opmath(x.dtype)
    for i in reversed(range(dim)):
        L, o, s = x.shape[2 + i], out[i], scales[i]
        if mode in ("nearest", "nearest-exact"):
            idx, wt = _nearest_taps(L, o, s, mode == "nearest-exact")
        elif antialias:
            idx, wt = _aa_taps(L, o, align_corners, s, mode, dt)
        elif mode == "bicubic":
            idx, wt = _cubic_taps(L, o, align_corners, s, dt)
        else:
            idx, wt = _linear_taps(L, o, align_corners, s, dt)
        x = _apply_taps(x, 2 + i, idx, wt)
    return x


def upsample(input: ArrayLike, size: size_any_t | None = None,
             scale_factor: ratio_any_t | None = None, mode: str = "nearest",
             align_corners: bool | None = None) -> Array:
    """Deprecated alias of ``interpolate`` (``torch.nn.functional.upsample``).

    Args:
        input, size, scale_factor, mode, align_corners: as in ``interpolate``.

    Shape:
        As in ``interpolate``.

    Returns:
        ``interpolate(input, size, scale_factor, mode, align_corners)``.

    Example:
        >>> F.upsample(jnp.ones((1, 1, 2, 2)), scale_factor=2).shape
        (1, 1, 4, 4)
    """
    warnings.warn("`nn.functional.upsample` is deprecated. Use `nn.functional.interpolate` "
                  "instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: ArrayLike, size: size_any_t | None = None,
                     scale_factor: ratio_any_t | None = None) -> Array:
    """Deprecated nearest-neighbour upsampling (``torch.nn.functional.upsample_nearest``).

    Args:
        input: ``(N, C, *spatial)``.
        size, scale_factor: the output size or the multiplier (exactly one).

    Shape:
        As in ``interpolate``.

    Returns:
        ``interpolate(input, size, scale_factor, mode='nearest')``.

    Example:
        >>> F.upsample_nearest(jnp.ones((1, 1, 2, 2)), scale_factor=2).shape
        (1, 1, 4, 4)
    """
    warnings.warn("`nn.functional.upsample_nearest` is deprecated. Use "
                  "`nn.functional.interpolate` instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: ArrayLike, size: size_any_t | None = None,
                      scale_factor: ratio_any_t | None = None) -> Array:
    """Deprecated bilinear upsampling with ``align_corners=True``
    (``torch.nn.functional.upsample_bilinear``).

    Args:
        input: ``(N, C, H, W)``.
        size, scale_factor: the output size or the multiplier (exactly one).

    Shape:
        ``(N, C, H, W) -> (N, C, H_out, W_out)``.

    Returns:
        ``interpolate(input, size, scale_factor, mode='bilinear', align_corners=True)``.

    Example:
        >>> F.upsample_bilinear(jnp.ones((1, 1, 2, 2)), scale_factor=2).shape
        (1, 1, 4, 4)
    """
    warnings.warn("`nn.functional.upsample_bilinear` is deprecated. Use "
                  "`nn.functional.interpolate` instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)
