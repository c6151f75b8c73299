"""Spatial-transformer kernels: ``grid_sample`` and ``affine_grid``.

``grid_sample`` gathers every tap of every output point with *one* gather (all corners or
cubic taps concatenated), so its gradient with respect to the input is a single scatter-add of
pre-weighted cotangents (design.md section 6: separate per-corner scatters are what makes a
naive gather implementation's backward slow on CPU). Gradients with respect to the grid follow
torch's rules: zero where a coordinate is clipped at a border (the border itself counts as
clipped), sign-flipped on reflected segments, zero for ``mode='nearest'``.
"""
from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ..amp.autocast_mode import autocast_op
from ..types import Array, ArrayLike
from ._utils import as_array, float_input

__all__ = ["grid_sample", "affine_grid"]

_AC_WARNING = ("Default grid_sample and affine_grid behavior has changed to align_corners=False "
               "since 1.3.0. Please specify align_corners=True if the old behavior is desired. "
               "See the documentation of grid_sample for details.")


# -- coordinate helpers (torch's GridSampler.h) ------------------------------------------------

def _unnormalize(coord, size, align_corners):
    if align_corners:
        return ((coord + 1) / 2) * (size - 1)
    return ((coord + 1) * size - 1) / 2


def _clip(x, size):
    # Gradient 0 on and beyond the borders, 1 strictly inside (torch's clip_coordinates_set_grad).
    hi = size - 1
    return jnp.where(x <= 0, jnp.zeros_like(x), jnp.where(x >= hi, jnp.full_like(x, hi), x))


def _reflect(x, twice_low, twice_high):
    if twice_low == twice_high:
        return jnp.zeros_like(x)
    lo = twice_low / 2
    span = (twice_high - twice_low) / 2
    x = x - lo
    x = jnp.where(x < 0, -x, x)
    extra = jnp.fmod(x, span)
    flips = lax.stop_gradient(jnp.floor(x / span))
    even = jnp.fmod(flips, 2) == 0
    return jnp.where(even, extra + lo, span - extra + lo)


def _compute_coordinates(x, size, padding_mode, align_corners):
    if padding_mode == "border":
        return _clip(x, size)
    if padding_mode == "reflection":
        if align_corners:
            x = _reflect(x, 0, 2 * (size - 1))
        else:
            x = _reflect(x, -1, 2 * size - 1)
        return _clip(x, size)
    return x


def _cubic_coeffs(t):
    A = -0.75

    def conv1(x):
        return ((A + 2) * x - (A + 3)) * x * x + 1

    def conv2(x):
        return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A

    return [conv2(t + 1), conv1(t), conv1(1 - t), conv2(2 - t)]


# -- sampling ---------------------------------------------------------------------------------

def _taps_1d(coord, size, mode, padding_mode, align_corners):
    """Per spatial dimension: a list of (integer index, weight or None) taps."""
    if mode == "bicubic":
        x = _unnormalize(coord, size, align_corners)
        x0 = lax.stop_gradient(jnp.floor(x))
        t = x - x0
        taps = []
        for k, w in enumerate(_cubic_coeffs(t)):
            pos = _compute_coordinates(x0 - 1 + k, size, padding_mode, align_corners)
            taps.append((lax.stop_gradient(pos).astype(jnp.int32), w))
        return taps
    x = _compute_coordinates(_unnormalize(coord, size, align_corners), size, padding_mode,
                             align_corners)
    if mode == "nearest":
        return [(lax.stop_gradient(jnp.round(x)).astype(jnp.int32), None)]
    x0 = lax.stop_gradient(jnp.floor(x))
    i0 = x0.astype(jnp.int32)
    return [(i0, (x0 + 1) - x), (i0 + 1, x - x0)]


def _sample(x, coords, mode, padding_mode, align_corners):
    """``x``: (N, C, *S_in); ``coords``: per spatial dim, (N, *S_out) normalized coordinates."""
    N, C = x.shape[:2]
    spatial = x.shape[2:]
    out_shape = coords[0].shape[1:]
    P = int(np.prod(out_shape, dtype=np.int64))
    per_dim = [_taps_1d(c.reshape(N, P), L, mode, padding_mode, align_corners)
               for c, L in zip(coords, spatial)]
    # Every combination of per-dimension taps: flat index, validity, weight.
    combos: list[Any] = [([], [], None)]
    for d, taps in enumerate(per_dim):
        new: list[Any] = []
        for idxs, masks, w in combos:
            for i, wd in taps:
                nw = wd if w is None else (wd if wd is None else w * wd)
                new.append((idxs + [i], masks + [(i >= 0) & (i < spatial[d])], nw))
        combos = new
    flat: list[Any] = []
    valid: list[Any] = []
    weights: list[Any] = []
    for idxs, masks, w in combos:
        f: Any = None
        for d, i in enumerate(idxs):
            stride = int(np.prod(spatial[d + 1:], dtype=np.int64))
            term = i * stride
            f = term if f is None else f + term
        m = masks[0]
        for mm in masks[1:]:
            m = m & mm
        flat.append(jnp.where(m, f, 0))
        valid.append(m)
        weights.append(w)
    T = len(combos)
    idx = jnp.concatenate(flat, axis=1)                       # (N, T*P)
    mask = jnp.concatenate(valid, axis=1)                     # (N, T*P)
    M = int(np.prod(spatial, dtype=np.int64))
    g = _gather(x.reshape(N, C, M), idx, M)                   # (N, C, T*P): one gather
    g = jnp.where(mask[:, None, :], g, jnp.zeros((), x.dtype))
    if weights[0] is not None:
        w = jnp.concatenate(weights, axis=1).astype(x.dtype)
        g = g * w[:, None, :]
    out = g.reshape(N, C, T, P).sum(axis=2) if T > 1 else g
    return out.reshape((N, C) + tuple(out_shape))


@functools.partial(jax.custom_jvp, nondiff_argnums=(2,))
def _gather(xf, idx, size):
    """``out[n, c, q] = xf[n, c, idx[n, q]]``."""
    return jax.vmap(lambda a, i: jnp.take(a, i, axis=1))(xf, idx)


@_gather.defjvp
def _gather_jvp(size, primals, tangents):
    # The tangent gathers whole channel rows in the (N, M, C) layout: JAX transposes that into
    # one scatter-add of rows, (N, T*P, C) into (N, M, C), which on CPU is much faster than
    # the transpose of the (N, C, M)-layout gather of the forward pass. Forward mode works.
    (xf, idx), (txf, _) = primals, tangents
    rows = jax.vmap(lambda a, i: jnp.take(a, i, axis=0))(jnp.moveaxis(txf, 1, 2), idx)
    return _gather(xf, idx, size), jnp.moveaxis(rows, 2, 1)


@autocast_op("grid_sample")
def grid_sample(input: ArrayLike, grid: ArrayLike, mode: str = "bilinear",
                padding_mode: str = "zeros", align_corners: bool | None = None) -> Array:
    """Sample ``input`` at the normalized positions in ``grid``
    (``torch.nn.functional.grid_sample``).

    ``grid[..., 0]`` is x (width), ``grid[..., 1]`` is y (height) and, for 5-D input,
    ``grid[..., 2]`` is z (depth), each in ``[-1, 1]`` across the input.

    Args:
        input: ``(N, C, H_in, W_in)`` or ``(N, C, D_in, H_in, W_in)``.
        grid: ``(N, H_out, W_out, 2)`` or ``(N, D_out, H_out, W_out, 3)``, same dtype.
        mode: ``'bilinear'`` (trilinear for 5-D), ``'nearest'`` (ties to even) or
            ``'bicubic'`` (4-D only, ``A = -0.75``).
        padding_mode: ``'zeros'``, ``'border'`` or ``'reflection'`` for positions outside.
        align_corners: ``-1``/``1`` are the centres (True) or the outer edges (False, default)
            of the corner pixels.

    Shape:
        ``(N, C, *S_in), (N, *S_out, n) -> (N, C, *S_out)``.

    Returns:
        The sampled values; differentiable with respect to ``input`` and ``grid``.

    Example:
        >>> F.grid_sample(jnp.ones((1, 3, 4, 4)), jnp.zeros((1, 5, 6, 2)),
        ...               align_corners=False).shape
        (1, 3, 5, 6)
    """
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(f"nn.functional.grid_sample(): expected mode to be 'bilinear', "
                         f"'nearest' or 'bicubic', but got: '{mode}'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(f"nn.functional.grid_sample(): expected padding_mode to be 'zeros', "
                         f"'border', or 'reflection', but got: '{padding_mode}'")
    if align_corners is None:
        warnings.warn(_AC_WARNING, stacklevel=2)
        align_corners = False
    x, g = as_array(input), as_array(grid)
    if x.ndim not in (4, 5) or g.ndim != x.ndim:
        raise ValueError(f"grid_sample: expected 4-D or 5-D input and grid with the same number "
                         f"of dimensions, got input of shape {tuple(x.shape)} and grid of shape "
                         f"{tuple(g.shape)}")
    n = x.ndim - 2
    if g.shape[0] != x.shape[0]:
        raise ValueError(f"grid_sample: expected grid and input to have the same batch size, "
                         f"got input of shape {tuple(x.shape)} and grid of shape "
                         f"{tuple(g.shape)}")
    if g.shape[-1] != n:
        raise ValueError(f"grid_sample: expected grid to have size {n} in the last dimension "
                         f"for {x.ndim}-D input, got grid of shape {tuple(g.shape)}")
    if any(s == 0 for s in x.shape[2:]):
        raise ValueError(f"grid_sample: expected input to have non-empty spatial dimensions, "
                         f"got shape {tuple(x.shape)}")
    if mode == "bicubic" and x.ndim != 4:
        raise ValueError("grid_sample: bicubic interpolation only supports 4D input, got "
                         f"input of shape {tuple(x.shape)}")
    if x.dtype != g.dtype:
        raise TypeError(f"grid_sample: expected input and grid to have the same dtype, got "
                        f"{x.dtype} and {g.dtype}")
    float_input("grid_sample", x)
    # Spatial dims (D, H, W) read grid components (z, y, x).
    coords = [g[..., n - 1 - d] for d in range(n)]
    return _sample(x, coords, mode, padding_mode, align_corners)


def _linspace_from_neg_one(steps, align_corners, dt):
    """torch's ``linspace(-1, 1, steps)`` bit for bit (its CPU kernel fuses multiply-add: one
    rounding, emulated here in higher precision), scaled by ``(steps - 1) / steps`` unless
    ``align_corners``."""
    if steps <= 1:
        return np.zeros((steps,), dt)
    wide = np.float64 if dt == np.float32 else np.longdouble
    step = wide(dt(dt(2) / dt(steps - 1))) if dt == np.float32 else wide(2.0 / (steps - 1))
    i = np.arange(steps).astype(wide)
    r = np.where(i < steps // 2, -1 + step * i, 1 - step * (steps - i - 1)).astype(dt)
    if not align_corners:
        r = ((r * dt(steps - 1)).astype(dt) / dt(steps)).astype(dt)
    return r


def affine_grid(theta: ArrayLike, size: Sequence[int], align_corners: bool | None = None) -> Array:
    """Sampling grid of the affine maps ``theta`` (``torch.nn.functional.affine_grid``).

    Args:
        theta: ``(N, 2, 3)`` for 2-D or ``(N, 3, 4)`` for 3-D affine matrices (floating).
        size: the output size ``(N, C, H, W)`` or ``(N, C, D, H, W)``.
        align_corners: as in ``grid_sample`` (default ``False``); use the same value there.

    Shape:
        ``(N, 2, 3) -> (N, H, W, 2)``; ``(N, 3, 4) -> (N, D, H, W, 3)``.

    Returns:
        ``grid[n, ..., :] = theta[n] @ (x, y[, z], 1)`` over the normalized output positions.

    Example:
        >>> theta = jnp.array([[[1.0, 0, 0], [0, 1, 0]]])
        >>> F.affine_grid(theta, (1, 3, 4, 5), align_corners=False).shape
        (1, 4, 5, 2)
    """
    if align_corners is None:
        warnings.warn(_AC_WARNING, stacklevel=2)
        align_corners = False
    t = as_array(theta)
    if not jnp.issubdtype(t.dtype, jnp.floating):
        raise ValueError(f"affine_grid: Expected theta to have floating point type, but got "
                         f"{t.dtype}")
    size = tuple(int(s) for s in size)
    if len(size) == 4:
        if t.ndim != 3 or t.shape[-2:] != (2, 3):
            raise ValueError(f"affine_grid: Expected a batch of 2D affine matrices of shape "
                             f"Nx2x3 for size {size}. Got {tuple(t.shape)}.")
        spatial: tuple[int, ...] = size[-2:]
    elif len(size) == 5:
        if t.ndim != 3 or t.shape[-2:] != (3, 4):
            raise ValueError(f"affine_grid: Expected a batch of 3D affine matrices of shape "
                             f"Nx3x4 for size {size}. Got {tuple(t.shape)}.")
        spatial = size[-3:]
    else:
        raise NotImplementedError(f"affine_grid only supports 4D and 5D sizes, for 2D and 3D "
                                  f"affine transforms, respectively. Got size {size}.")
    if min(spatial) <= 0:
        raise ValueError(f"affine_grid: Expected non-zero, positive output size. Got {size}")
    if t.shape[0] != size[0]:
        raise ValueError(f"affine_grid: Expected theta with batch size {size[0]} (size[0]), got "
                         f"shape {tuple(t.shape)}")
    dt = np.float64 if t.dtype == jnp.float64 else np.float32
    n = len(spatial)
    # Base grid (*spatial, n + 1) with components (x, y[, z], 1): x runs along the last dim.
    axes = [_linspace_from_neg_one(L, align_corners, dt) for L in spatial]
    mesh = np.meshgrid(*axes, indexing="ij")
    comps = [mesh[n - 1 - k] for k in range(n)] + [np.ones(spatial, dt)]
    # Accumulate ``sum_k base_k * theta[:, j, k]`` in order, as torch's small bmm does (an
    # einsum may reassociate and round differently); eagerly this is bit-identical to torch,
    # under jit XLA may fuse multiply-adds (differences of one ulp).
    grid: Any = None
    for k in range(n + 1):
        b = jnp.asarray(comps[k].reshape(1, -1, 1), t.dtype)
        term = b * t[:, None, :, k] if k < n else jnp.broadcast_to(t[:, None, :, k],
                                                                   (size[0], b.shape[1], n))
        grid = term if grid is None else grid + term
    return grid.reshape((size[0],) + tuple(spatial) + (n,))
