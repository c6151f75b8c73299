"""Pooling kernels: max / average / power-average / adaptive / fractional pooling and unpooling.

All kernels take torch layouts (``(N, C, *spatial)`` or unbatched ``(C, *spatial)``) and pool
over the trailing 1, 2 or 3 dimensions.

Implementation notes (see design.md section 6):
    * Windows are reduced one spatial dimension at a time (a max or a sum over a rectangle is
      separable), innermost dimension first, with strided slices instead of
      ``lax.reduce_window``: XLA:CPU's ``select_and_scatter`` backward of ``reduce_window`` is
      about 30x slower than its forward.
    * Max pooling walks the window offsets in order and keeps the first maximum (a NaN always
      wins, the last NaN seen is kept), exactly torch's CPU rule; the same rule decides which
      input element receives the gradient. A ``jax.custom_jvp`` keeps only the winning offset;
      its tangent picks the input tangent there with strided slices, whose transpose (the
      backward pass) is dense interior-padded ``lax.pad`` operations, not a scatter.
"""
from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any, cast

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ..amp.autocast_mode import autocast_op
from ..random import next_key
from ..types import (
    Array,
    ArrayLike,
    ratio_2_t,
    ratio_3_t,
    size_1_opt_t,
    size_1_t,
    size_2_opt_t,
    size_2_t,
    size_3_opt_t,
    size_3_t,
    size_any_t,
)
from ._eager import eager_jit
from ._utils import as_array, check_operands, float_tuple, int_tuple, promote_rank

__all__ = [
    "max_pool1d", "max_pool2d", "max_pool3d",
    "max_pool1d_with_indices", "max_pool2d_with_indices", "max_pool3d_with_indices",
    "avg_pool1d", "avg_pool2d", "avg_pool3d",
    "lp_pool1d", "lp_pool2d", "lp_pool3d",
    "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d",
    "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices",
    "adaptive_max_pool3d_with_indices",
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
    "fractional_max_pool2d", "fractional_max_pool3d",
    "fractional_max_pool2d_with_indices", "fractional_max_pool3d_with_indices",
    "max_unpool1d", "max_unpool2d", "max_unpool3d",
]

_LAYOUT = {1: "(C, L) or (N, C, L)", 2: "(C, H, W) or (N, C, H, W)",
           3: "(C, D, H, W) or (N, C, D, H, W)"}


# -- argument handling ------------------------------------------------------------------------

def _input(fn: str, input, n: int) -> jax.Array:
    x = as_array(input)
    if x.ndim not in (n + 1, n + 2):
        raise ValueError(f"{fn}: expected input with {n + 1} or {n + 2} dimensions "
                         f"{_LAYOUT[n]}, got shape {tuple(x.shape)}")
    if any(s == 0 for s in x.shape[-n - 1:]):
        raise ValueError(f"{fn}: expected input with non-zero channel and spatial sizes, got "
                         f"shape {tuple(x.shape)}")
    return x


def _window_args(fn, n, kernel_size, stride, padding, dilation=1):
    k = int_tuple(kernel_size, n, fn, "kernel_size", 1)
    if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0):
        s = k
    else:
        s = int_tuple(stride, n, fn, "stride", 1)
    p = int_tuple(padding, n, fn, "padding", 0)
    d = int_tuple(dilation, n, fn, "dilation", 1)
    return k, s, p, d


def _out_size(L: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """torch's ``pooling_output_shape``: the last window must start inside input or left pad."""
    num = L + 2 * p - d * (k - 1) - 1 + ((s - 1) if ceil_mode else 0)
    out = num // s + 1
    if ceil_mode and (out - 1) * s >= L + p:
        out -= 1
    return out


def _out_sizes(fn, spatial, k, s, p, d, ceil_mode) -> tuple:
    out = tuple(_out_size(L, kk, ss, pp, dd, ceil_mode)
                for L, kk, ss, pp, dd in zip(spatial, k, s, p, d))
    if any(o < 1 for o in out):
        raise ValueError(f"{fn}: given input spatial size {tuple(spatial)}, the calculated output "
                         f"size {out} is too small (kernel_size={k}, stride={s}, padding={p}, "
                         f"dilation={d})")
    return out


def _fill_value(dtype):
    if jnp.issubdtype(dtype, jnp.floating):
        return -jnp.inf
    if dtype == jnp.bool_:
        return False
    return jnp.iinfo(dtype).min


def _int_dtype():
    return jax.dtypes.canonicalize_dtype(jnp.int64)


# -- max over strided windows along one axis (custom VJP) -------------------------------------

def _strided_geometry(L, k, s, p, d, out):
    """Padding and static masks for the windows along one axis."""
    need = (k - 1) * d + (out - 1) * s + 1
    right = max(0, need - L - p)
    pos = np.arange(out)[None, :] * s - p + np.arange(k)[:, None] * d    # (k, out)
    valid = (pos >= 0) & (pos < L)
    first = np.zeros(out, np.int64)
    for o in range(out):
        v = np.nonzero(valid[:, o])[0]
        if len(v):
            first[o] = v[0]
        else:  # no element of the window is inside the input (torch: first offset >= 0)
            nonneg = np.nonzero(pos[:, o] >= 0)[0]
            first[o] = nonneg[0] if len(nonneg) else 0
    return right, valid, first


def _axis_shape(ndim, axis, n):
    shape = [1] * ndim
    shape[axis] = n
    return shape


def _strided_slice(xp, axis, j, k, s, d, out):
    start = j * d
    return lax.slice_in_dim(xp, start, start + (out - 1) * s + 1, s, axis)


def _max_axis_impl(x, cfg):
    axis, k, s, p, d, out = cfg[:6]
    L = x.shape[axis]
    right, valid, first = _strided_geometry(L, k, s, p, d, out)
    config = [(0, 0, 0)] * x.ndim
    config[axis] = (p, right, 0)
    xp = lax.pad(x, jnp.asarray(_fill_value(x.dtype), x.dtype), config)
    is_float = jnp.issubdtype(x.dtype, jnp.floating)
    shape = _axis_shape(x.ndim, axis, out)
    m: Any = None
    arg: Any = None
    for j in range(k):
        v = _strided_slice(xp, axis, j, k, s, d, out)
        force = first == j
        if j == 0:
            # Offset 0 starts every window that has no earlier valid element.
            m = v
            arg = jnp.zeros(v.shape, jnp.int32)
            continue
        better = v > m
        if is_float:
            better = better | jnp.isnan(v)
        if not valid[j].all():
            better = better & jnp.asarray(valid[j].reshape(shape))
        if force.any():
            better = better | jnp.asarray(force.reshape(shape))
        m = jnp.where(better, v, m)
        arg = jnp.where(better, jnp.int32(j), arg)
    return m, arg


@functools.partial(jax.custom_jvp, nondiff_argnums=(1,))
def _max_axis(x, cfg):
    return _max_axis_impl(x, cfg)


@_max_axis.defjvp
def _max_axis_jvp(cfg, primals, tangents):
    # The tangent is the input tangent at each window's winning offset: linear in the tangent
    # and built from strided slices, so JAX's transpose of it (the backward pass) is dense
    # interior-padded ``lax.pad``s, and forward mode (jvp, jacfwd, hessian) works as well.
    (x,), (tx,) = primals, tangents
    m, arg = _max_axis_impl(x, cfg)
    no_tangent = np.zeros(arg.shape, jax.dtypes.float0)
    if tx.dtype == jax.dtypes.float0:  # integer input: nothing to differentiate
        return (m, arg), (np.zeros(m.shape, jax.dtypes.float0), no_tangent)
    return (m, arg), (_select_strided(tx, arg, cfg), no_tangent)


def _select_strided(a, arg, cfg):
    """Pick, for every window, the element of ``a`` at the winning offset ``arg``."""
    axis, k, s, p, d, out = cfg[:6]
    L = a.shape[axis]
    right, _, _ = _strided_geometry(L, k, s, p, d, out)
    config = [(0, 0, 0)] * a.ndim
    config[axis] = (p, right, 0)
    ap = lax.pad(a, jnp.zeros((), a.dtype), config)
    res = jnp.zeros(arg.shape, a.dtype)
    for j in range(k):
        res = jnp.where(arg == j, _strided_slice(ap, axis, j, k, s, d, out), res)
    return res


def _max_pool_nd(x, n, k, s, p, d, out, return_indices, spatial):
    """Separable max pooling over the trailing ``n`` axes; optionally flat indices."""
    positions: list[Any] = []  # (axis, position array) of already-reduced axes
    for i in reversed(range(n)):
        axis = x.ndim - n + i
        cfg = (axis, k[i], s[i], p[i], d[i], out[i])
        x, arg = _max_axis(x, cfg)
        if return_indices:
            arg = lax.stop_gradient(arg)
            positions = [(ax, _select_strided(pos, arg, cfg)) for ax, pos in positions]
            o = lax.broadcasted_iota(jnp.int32, arg.shape, axis)
            positions.append((axis, o * s[i] - p[i] + arg * d[i]))
    if not return_indices:
        return x
    return x, _flat_index(positions, x.ndim, n, spatial)


def _flat_index(positions, ndim, n, spatial):
    idx = None
    dt = _int_dtype()
    for axis, pos in positions:
        i = axis - (ndim - n)
        stride = int(np.prod(spatial[i + 1:], dtype=np.int64))
        term = pos.astype(dt) * stride
        idx = term if idx is None else idx + term
    return idx


@functools.partial(eager_jit, static_argnames=("fn", "n", "kernel_size", "stride", "padding",
                                               "dilation", "ceil_mode", "return_indices"))
def _max_pool(fn, n, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    x = _input(fn, input, n)
    k, s, p, d = _window_args(fn, n, kernel_size, stride, padding, dilation)
    for i in range(n):
        if p[i] * 2 > (k[i] - 1) * d[i] + 1:
            raise ValueError(f"{fn}: pad should be at most half of effective kernel size, but "
                             f"got pad={p[i]}, kernel_size={k[i]} and dilation={d[i]}")
    spatial = x.shape[-n:]
    out = _out_sizes(fn, spatial, k, s, p, d, ceil_mode)
    return _max_pool_nd(x, n, k, s, p, d, out, return_indices, tuple(spatial))


def _max_pool_doc(n):
    dims = {1: "L", 2: "H, W", 3: "D, H, W"}[n]
    out_dims = dims.replace('D', 'D_out').replace('H', 'H_out').replace('W', 'W_out')
    out_dims = out_dims.replace('L', 'L_out')
    return f"""{n}-D max pooling over the trailing dimensions
    (``torch.nn.functional.max_pool{n}d``).

    Args:
        input: ``{_LAYOUT[n]}``.
        kernel_size: window size, an int or a tuple of {n}.
        stride: window step (default ``kernel_size``).
        padding: implicit ``-inf`` padding on both sides; at most half the effective kernel.
        dilation: spacing between window elements.
        ceil_mode: use ceil instead of floor for the output size (the last window must start
            inside the input or the left padding).
        return_indices: also return the flat index (into each un-padded ``{dims}`` plane) of
            every maximum, as ``max_unpool{n}d`` expects.

    Shape:
        ``(*, {dims}) -> (*, {out_dims})``
        with ``out = floor((in + 2 * padding - dilation * (kernel_size - 1) - 1) / stride + 1)``.

    Returns:
        The pooled array, or ``(pooled, indices)`` when ``return_indices``.

    Ties: the first maximum in window order gets the value's index and the gradient (torch's
    CPU rule; a NaN always wins).

    Example:
        >>> F.max_pool{n}d(jnp.ones((1, 2{', 8' * n})), 2).shape
        (1, 2{', 4' * n})
    """


def max_pool1d(input: ArrayLike, kernel_size: size_1_t, stride: size_1_t | None = None,
               padding: size_1_t = 0, dilation: size_1_t = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Array | tuple[Array, Array]:
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def max_pool2d(input: ArrayLike, kernel_size: size_2_t, stride: size_2_t | None = None,
               padding: size_2_t = 0, dilation: size_2_t = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Array | tuple[Array, Array]:
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


@autocast_op("max_pool3d")
def max_pool3d(input: ArrayLike, kernel_size: size_3_t, stride: size_3_t | None = None,
               padding: size_3_t = 0, dilation: size_3_t = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Array | tuple[Array, Array]:
    return _max_pool("max_pool3d", 3, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


max_pool1d.__doc__ = _max_pool_doc(1)
max_pool2d.__doc__ = _max_pool_doc(2)
max_pool3d.__doc__ = _max_pool_doc(3)


def _with_indices(fn):
    def wrapper(input: ArrayLike, kernel_size: size_any_t, stride: size_any_t | None = None,
                padding: size_any_t = 0, dilation: size_any_t = 1, ceil_mode: bool = False,
                return_indices: bool = True) -> tuple[Array, Array]:
        return fn(input, kernel_size, stride, padding, dilation, ceil_mode, True)
    wrapper.__name__ = fn.__name__ + "_with_indices"
    wrapper.__doc__ = _WITH_INDICES_DOC.format(name=fn.__name__,
                                               ones=", 4" * int(fn.__name__[-2]))
    return wrapper


_WITH_INDICES_DOC = """``{name}`` that always returns ``(output, indices)``
(torch's ``{name}_with_indices``).

    Args:
        input, kernel_size, stride, padding, dilation, ceil_mode: as in ``{name}``.
        return_indices: ignored (always ``True``), as in torch.

    Shape:
        As in ``{name}``; ``indices`` has the output's shape.

    Returns:
        ``(output, indices)``: the maxima and their flat indices into each input plane.

    Example:
        >>> y, i = F.{name}_with_indices(jnp.ones((1, 1{ones})), 2)
        >>> y.shape == i.shape
        True
    """


max_pool1d_with_indices = _with_indices(max_pool1d)
max_pool2d_with_indices = _with_indices(max_pool2d)
max_pool3d_with_indices = _with_indices(max_pool3d)


# -- average pooling --------------------------------------------------------------------------

def _sum_axis(x, axis, k, s, p, out):
    L = x.shape[axis]
    need = (k - 1) + (out - 1) * s + 1
    right = max(0, need - L - p)
    config = [(0, 0, 0)] * x.ndim
    config[axis] = (p, right, 0)
    xp = lax.pad(x, jnp.zeros((), x.dtype), config)
    acc = None
    for j in range(k):
        v = _strided_slice(xp, axis, j, k, s, 1, out)
        acc = v if acc is None else acc + v
    return acc


def _avg_counts(L, k, s, p, out, count_include_pad):
    start = np.arange(out) * s - p
    end = np.minimum(start + k, L + p)
    size = end - start
    cstart, cend = np.maximum(start, 0), np.minimum(end, L)
    return size if count_include_pad else (cend - cstart)


@functools.partial(eager_jit, static_argnames=("fn", "n", "kernel_size", "stride", "padding",
                                               "ceil_mode", "count_include_pad",
                                               "divisor_override"))
def _avg_pool(fn, n, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override):
    x = _input(fn, input, n)
    k, s, p, _ = _window_args(fn, n, kernel_size, stride, padding)
    for i in range(n):
        if p[i] * 2 > k[i]:
            raise ValueError(f"{fn}: pad should be at most half of kernel size, but got "
                             f"pad={p[i]} and kernel_size={k[i]}")
    if divisor_override is not None:
        if isinstance(divisor_override, bool) or not isinstance(divisor_override, int) \
                or divisor_override == 0:
            raise ValueError(f"{fn}: divisor_override must be a non-zero int, got "
                             f"{divisor_override!r}")
    if not jnp.issubdtype(x.dtype, jnp.inexact):
        raise TypeError(f"{fn}: expected a floating point input, got dtype {x.dtype}")
    spatial = x.shape[-n:]
    out = _out_sizes(fn, spatial, k, s, p, (1,) * n, ceil_mode)
    for i in reversed(range(n)):
        x = _sum_axis(x, x.ndim - n + i, k[i], s[i], p[i], out[i])
    if divisor_override is not None:
        return x / jnp.asarray(divisor_override, x.dtype)
    div = np.ones((), np.float64)
    for i in range(n):
        c = _avg_counts(spatial[i], k[i], s[i], p[i], out[i], count_include_pad)
        div = np.multiply.outer(div, c)
    return x / promote_rank(jnp.asarray(div, x.dtype), x.ndim)


_AVG_DOC = """{n}-D average pooling (``torch.nn.functional.avg_pool{n}d``).

    Args:
        input: ``{layout}``.
        kernel_size: window size, an int or a tuple of {n}.
        stride: window step (default ``kernel_size``).
        padding: implicit zero padding on both sides; at most half the kernel.
        ceil_mode: ceil instead of floor for the output size.
        count_include_pad: count the zero padding in the divisor.{extra}

    Shape:
        ``(*, spatial) -> (*, spatial_out)`` with
        ``out = floor((in + 2 * padding - kernel_size) / stride + 1)``.

    Returns:
        The window means. Windows that run past the padded edge under ``ceil_mode`` are
        divided by their clipped size, as torch does.

    Example:
        >>> F.avg_pool{n}d(jnp.ones((1, 2{ones})), 2).shape
        (1, 2{halves})
    """


def avg_pool1d(input: ArrayLike, kernel_size: size_1_t, stride: size_1_t | None = None,
               padding: size_1_t = 0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Array:
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, None)


def avg_pool2d(input: ArrayLike, kernel_size: size_2_t, stride: size_2_t | None = None,
               padding: size_2_t = 0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Array:
    return _avg_pool("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override)


@autocast_op("avg_pool3d")
def avg_pool3d(input: ArrayLike, kernel_size: size_3_t, stride: size_3_t | None = None,
               padding: size_3_t = 0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Array:
    return _avg_pool("avg_pool3d", 3, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override)


_f: Any  # (the loops below set each function's docstring)
for _n, _f in ((1, avg_pool1d), (2, avg_pool2d), (3, avg_pool3d)):
    _f.__doc__ = _AVG_DOC.format(
        n=_n, layout=_LAYOUT[_n], ones=", 8" * _n, halves=", 4" * _n,
        extra="" if _n == 1 else "\n        divisor_override: if given, the divisor of every "
                                 "window.")


# -- power-average pooling --------------------------------------------------------------------

def _lp_pool(fn, n, input, norm_type, kernel_size, stride, ceil_mode):
    x = as_array(input)
    if norm_type == float("inf"):
        return _max_pool(fn, n, jnp.abs(x), kernel_size, stride, 0, 1, ceil_mode, False)
    if norm_type == -float("inf"):
        return -_max_pool(fn, n, -jnp.abs(x), kernel_size, stride, 0, 1, ceil_mode, False)
    k = int_tuple(kernel_size, n, fn, "kernel_size", 1)
    out = _avg_pool(fn, n, jnp.power(x, norm_type), kernel_size, stride, 0, ceil_mode, True,
                    None)
    mag = jnp.abs(out)
    # torch's relu(abs(out)): its backward passes the gradient where the value is not <= 0,
    # NaN windows included (so a NaN there reaches the inputs, as in torch).
    return jnp.power(jnp.sign(out) * jnp.where(mag <= 0, 0, mag) * math.prod(k),
                     1.0 / norm_type)


_LP_DOC = """{n}-D power-average pooling ``(sum x^p)^(1/p)`` (``torch.nn.functional.lp_pool{n}d``).

    Args:
        input: ``{layout}``.
        norm_type: the power ``p``; ``inf`` gives max pooling of ``|x|``.
        kernel_size: window size, an int or a tuple of {n}.
        stride: window step (default ``kernel_size``).
        ceil_mode: ceil instead of floor for the output size.

    Shape:
        ``(*, spatial) -> (*, spatial_out)`` as in ``avg_pool{n}d`` without padding.

    Returns:
        ``(sum over the window of x^p)^(1/p)``.

    Example:
        >>> F.lp_pool{n}d(jnp.ones((1, 2{ones})), 2, 2).shape
        (1, 2{halves})
    """


def lp_pool1d(input: ArrayLike, norm_type: float, kernel_size: size_1_t,
              stride: size_1_t | None = None, ceil_mode: bool = False) -> Array:
    return _lp_pool("lp_pool1d", 1, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(input: ArrayLike, norm_type: float, kernel_size: size_2_t,
              stride: size_2_t | None = None, ceil_mode: bool = False) -> Array:
    return _lp_pool("lp_pool2d", 2, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool3d(input: ArrayLike, norm_type: float, kernel_size: size_3_t,
              stride: size_3_t | None = None, ceil_mode: bool = False) -> Array:
    return _lp_pool("lp_pool3d", 3, input, norm_type, kernel_size, stride, ceil_mode)


for _n, _f in ((1, lp_pool1d), (2, lp_pool2d), (3, lp_pool3d)):
    _f.__doc__ = _LP_DOC.format(n=_n, layout=_LAYOUT[_n], ones=", 8" * _n, halves=", 4" * _n)


# -- adaptive pooling -------------------------------------------------------------------------

def _adaptive_output(fn, n, x, output_size) -> tuple:
    sizes = int_tuple(output_size, n, fn, "output_size", 0, none_ok=True)
    return tuple(L if o is None else o for o, L in zip(sizes, x.shape[-n:]))


def _adaptive_windows(L, out):
    i = np.arange(out)
    start = (i * L) // out
    end = -((-(i + 1) * L) // out)
    return start, end


def _adaptive_taps(L, out):
    """Static gather indices ``(K, out)`` (clamped to the window's last element) and mask."""
    start, end = _adaptive_windows(L, out)
    K = int((end - start).max()) if out else 1
    j = np.arange(K)[:, None]
    idx = np.minimum(start[None, :] + j, end[None, :] - 1)
    valid = (start[None, :] + j) < end[None, :]
    return idx, valid, end - start


@functools.partial(eager_jit, static_argnames=("fn", "n", "output_size"))
def _adaptive_avg(fn, n, input, output_size):
    x = _input(fn, input, n)
    out = _adaptive_output(fn, n, x, output_size)
    if not jnp.issubdtype(x.dtype, jnp.inexact):
        raise TypeError(f"{fn}: expected a floating point input, got dtype {x.dtype}")
    spatial = x.shape[-n:]
    div = np.ones((), np.float64)
    for i in reversed(range(n)):
        axis = x.ndim - n + i
        L, o = spatial[i], out[i]
        if o == 0:
            shape: Any = list(x.shape)
            shape[axis] = 0
            x = jnp.zeros(shape, x.dtype)
            continue
        if L % o == 0:
            shape = x.shape[:axis] + (o, L // o) + x.shape[axis + 1:]
            x = jnp.sum(x.reshape(shape), axis=axis + 1)
            continue
        idx, valid, _ = _adaptive_taps(L, o)
        acc: Any = None
        for j in range(idx.shape[0]):
            v = jnp.take(x, jnp.asarray(idx[j]), axis=axis)
            if not valid[j].all():
                v = jnp.where(jnp.asarray(valid[j].reshape(_axis_shape(x.ndim, axis, o))), v, 0)
            acc = v if acc is None else acc + v
        x = acc
    for i in range(n):
        start, end = _adaptive_windows(spatial[i], out[i])
        div = np.multiply.outer(div, end - start)
    return x / promote_rank(jnp.asarray(div, x.dtype), x.ndim)


def _adaptive_max_axis(x, axis, L, o):
    """Max over adaptive windows along one axis: values and input positions."""
    if o > 0 and L % o == 0:
        k = L // o
        cfg = (axis, k, k, 0, 1, o)
        m, arg = _max_axis(x, cfg)
        pos_fn: Any = lambda a: _select_strided(a, lax.stop_gradient(arg), cfg)  # noqa: E731
        pos = lax.broadcasted_iota(jnp.int32, m.shape, axis) * k + lax.stop_gradient(arg)
        return m, pos, pos_fn
    idx, _, _ = _adaptive_taps(L, o)
    is_float = jnp.issubdtype(x.dtype, jnp.floating)
    m = jnp.take(x, jnp.asarray(idx[0]), axis=axis)
    arg = jnp.zeros(m.shape, jnp.int32)
    for j in range(1, idx.shape[0]):
        v = jnp.take(x, jnp.asarray(idx[j]), axis=axis)
        better = v > m
        if is_float:
            better = better | jnp.isnan(v)
        m = jnp.where(better, v, m)
        arg = jnp.where(better, jnp.int32(j), arg)
    arg = lax.stop_gradient(arg)
    shape = _axis_shape(m.ndim, axis, o)
    table = jnp.asarray(idx.astype(np.int32))  # (K, o)
    pos = jnp.zeros(m.shape, jnp.int32)
    for j in range(idx.shape[0]):
        pos = jnp.where(arg == j, table[j].reshape(shape), pos)

    def pos_fn(a):  # type: ignore[no-redef]  # (the general case of the one above)
        res = jnp.zeros(arg.shape, a.dtype)
        for j in range(idx.shape[0]):
            res = jnp.where(arg == j, jnp.take(a, jnp.asarray(idx[j]), axis=axis), res)
        return res
    return m, pos, pos_fn


@functools.partial(eager_jit, static_argnames=("fn", "n", "output_size", "return_indices"))
def _adaptive_max(fn, n, input, output_size, return_indices):
    x = _input(fn, input, n)
    out = _adaptive_output(fn, n, x, output_size)
    if any(o == 0 for o in out):
        raise ValueError(f"{fn}: expected output_size entries to be positive, got {out}")
    spatial = x.shape[-n:]
    positions: list[Any] = []
    for i in reversed(range(n)):
        axis = x.ndim - n + i
        x, pos, pos_fn = _adaptive_max_axis(x, axis, spatial[i], out[i])
        if return_indices:
            positions = [(ax, pos_fn(p)) for ax, p in positions]
            positions.append((axis, pos))
    if not return_indices:
        return x
    return x, _flat_index(positions, x.ndim, n, spatial)


_ADAPTIVE_DOC = """{n}-D adaptive {kind} pooling (``torch.nn.functional.adaptive_{kind}_pool{n}d``).

    Output element ``i`` pools the window ``[floor(i * L / out), ceil((i + 1) * L / out))``
    along every dimension.

    Args:
        input: ``{layout}``.
        output_size: the target size, an int or a tuple of {n}; ``None`` entries keep the
            input's size.{extra}

    Shape:
        ``(*, spatial) -> (*, output_size)``.

    Returns:
        The pooled array{ret}.

    Example:
        >>> F.adaptive_{kind}_pool{n}d(jnp.ones((1, 2{ones})), 3).shape
        (1, 2{threes})
    """


def adaptive_avg_pool1d(input: ArrayLike, output_size: size_1_opt_t) -> Array:
    return _adaptive_avg("adaptive_avg_pool1d", 1, input, output_size)


def adaptive_avg_pool2d(input: ArrayLike, output_size: size_2_opt_t) -> Array:
    return _adaptive_avg("adaptive_avg_pool2d", 2, input, output_size)


@autocast_op("adaptive_avg_pool3d")
def adaptive_avg_pool3d(input: ArrayLike, output_size: size_3_opt_t) -> Array:
    return _adaptive_avg("adaptive_avg_pool3d", 3, input, output_size)


def adaptive_max_pool1d(input: ArrayLike, output_size: size_1_opt_t,
                        return_indices: bool = False) -> Array | tuple[Array, Array]:
    return _adaptive_max("adaptive_max_pool1d", 1, input, output_size, return_indices)


def adaptive_max_pool2d(input: ArrayLike, output_size: size_2_opt_t,
                        return_indices: bool = False) -> Array | tuple[Array, Array]:
    return _adaptive_max("adaptive_max_pool2d", 2, input, output_size, return_indices)


def adaptive_max_pool3d(input: ArrayLike, output_size: size_3_opt_t,
                        return_indices: bool = False) -> Array | tuple[Array, Array]:
    return _adaptive_max("adaptive_max_pool3d", 3, input, output_size, return_indices)


def adaptive_max_pool1d_with_indices(input: ArrayLike, output_size: size_1_opt_t,
                                     return_indices: bool = True) -> tuple[Array, Array]:
    """``adaptive_max_pool1d`` that always returns ``(output, indices)``.

    Args:
        input, output_size: as in ``adaptive_max_pool1d``.
        return_indices: ignored (always ``True``), as in torch.

    Shape:
        As in ``adaptive_max_pool1d``; ``indices`` has the output's shape.

    Returns:
        ``(output, indices)``: the maxima and their flat indices into each input plane.

    Example:
        >>> y, i = F.adaptive_max_pool1d_with_indices(jnp.ones((1, 1, 5)), 2)
        >>> y.shape == i.shape
        True
    """
    return cast("tuple[Array, Array]", adaptive_max_pool1d(input, output_size, True))


def adaptive_max_pool2d_with_indices(input: ArrayLike, output_size: size_2_opt_t,
                                     return_indices: bool = True) -> tuple[Array, Array]:
    """``adaptive_max_pool2d`` that always returns ``(output, indices)``.

    Args:
        input, output_size: as in ``adaptive_max_pool2d``.
        return_indices: ignored (always ``True``), as in torch.

    Shape:
        As in ``adaptive_max_pool2d``; ``indices`` has the output's shape.

    Returns:
        ``(output, indices)``: the maxima and their flat indices into each input plane.

    Example:
        >>> y, i = F.adaptive_max_pool2d_with_indices(jnp.ones((1, 1, 5, 5)), 2)
        >>> y.shape == i.shape
        True
    """
    return cast("tuple[Array, Array]", adaptive_max_pool2d(input, output_size, True))


def adaptive_max_pool3d_with_indices(input: ArrayLike, output_size: size_3_opt_t,
                                     return_indices: bool = True) -> tuple[Array, Array]:
    """``adaptive_max_pool3d`` that always returns ``(output, indices)``.

    Args:
        input, output_size: as in ``adaptive_max_pool3d``.
        return_indices: ignored (always ``True``), as in torch.

    Shape:
        As in ``adaptive_max_pool3d``; ``indices`` has the output's shape.

    Returns:
        ``(output, indices)``: the maxima and their flat indices into each input plane.

    Example:
        >>> y, i = F.adaptive_max_pool3d_with_indices(jnp.ones((1, 1, 5, 5, 5)), 2)
        >>> y.shape == i.shape
        True
    """
    return cast("tuple[Array, Array]", adaptive_max_pool3d(input, output_size, True))


for _n, _f in ((1, adaptive_avg_pool1d), (2, adaptive_avg_pool2d), (3, adaptive_avg_pool3d)):
    _f.__doc__ = _ADAPTIVE_DOC.format(n=_n, kind="avg", layout=_LAYOUT[_n], extra="", ret="",
                                      ones=", 8" * _n, threes=", 3" * _n)
for _n, _f in ((1, adaptive_max_pool1d), (2, adaptive_max_pool2d), (3, adaptive_max_pool3d)):
    _f.__doc__ = _ADAPTIVE_DOC.format(
        n=_n, kind="max", layout=_LAYOUT[_n], ones=", 8" * _n, threes=", 3" * _n,
        extra="\n        return_indices: also return the flat index of every maximum (first "
              "maximum wins ties).", ret=", or ``(pooled, indices)``")


# -- fractional max pooling -------------------------------------------------------------------

def _fractional_starts(sample, L, out, k):
    """torch's ``generate_intervals`` in the input's precision: ``sample`` is ``(..., )``."""
    dt = sample.dtype
    if out > 1:
        alpha = (jnp.asarray(L - k, dt) / jnp.asarray(out - 1, dt))
        i = jnp.arange(out - 1, dtype=dt)
        seq = (((promote_rank(i, sample.ndim + 1) + sample[..., None]) * alpha).astype(jnp.int32)
               - (sample[..., None] * alpha).astype(jnp.int32))
        last = jnp.full(seq.shape[:-1] + (1,), L - k, jnp.int32)
        return jnp.concatenate([seq, last], axis=-1)
    return jnp.full(sample.shape + (out,), L - k, jnp.int32)


def _fractional(fn, n, input, kernel_size, output_size, output_ratio, return_indices,
                _random_samples, key):
    x = _input(fn, input, n)
    k = int_tuple(kernel_size, n, fn, "kernel_size", 1)
    spatial = x.shape[-n:]
    if output_size is None and output_ratio is None:
        raise ValueError(f"{fn} requires specifying either an output_size or an output_ratio")
    if output_size is None:
        ratio = float_tuple(output_ratio, n, fn, "output_ratio")
        if not all(0 < r < 1 for r in ratio):
            raise ValueError(f"{fn}: output_ratio must be between 0 and 1 (got {output_ratio})")
        out = tuple(int(L * r) for L, r in zip(spatial, ratio))
    else:
        out = int_tuple(output_size, n, fn, "output_size", 1)
    for i in range(n):
        if out[i] + k[i] - 1 > spatial[i]:
            raise ValueError(f"{fn}: output_size[{i}] + kernel_size[{i}] - 1 must be at most "
                             f"the input size {spatial[i]}, got output_size={out}, "
                             f"kernel_size={k}")
    batch = 1 if x.ndim == n + 1 else x.shape[0]
    C = x.shape[-n - 1]
    fdt = x.dtype if jnp.issubdtype(x.dtype, jnp.floating) else jnp.float32
    if _random_samples is None:
        key = next_key(key)
        samples = jax.random.uniform(key, (batch, C, n), fdt)
    else:
        _, samples = check_operands(fn, input=x, _random_samples=_random_samples)
        # torch takes the first ``batch`` rows of a larger sample array.
        if samples.ndim != 3 or samples.shape[0] < batch or samples.shape[1:] != (C, n):
            raise ValueError(f"{fn}: expected _random_samples of shape (N, {C}, {n}) with "
                             f"N >= {batch} (the batch size), got {tuple(samples.shape)}")
        samples = samples[:batch]
    unbatched = x.ndim == n + 1
    if unbatched:
        x = x[None]
    samples = lax.stop_gradient(samples)
    # torch: 2-D samples are (w, h); 3-D samples are (t, h, w).
    order = (1, 0) if n == 2 else (0, 1, 2)
    starts = [_fractional_starts(samples[..., order[i]], spatial[i], out[i], k[i])
              for i in range(n)]
    is_float = jnp.issubdtype(x.dtype, jnp.floating)
    positions: list[Any] = []
    for i in reversed(range(n)):
        axis = 2 + i
        st = starts[i]  # (N, C, out)
        bshape = [st.shape[0], st.shape[1]] + [1] * n
        bshape[axis] = out[i]
        st = st.reshape(bshape)
        m: Any = None
        arg: Any = None
        for j in range(k[i]):
            v = jnp.take_along_axis(x, st + j, axis=axis)
            if j == 0:
                m, arg = v, jnp.zeros(v.shape, jnp.int32)
                continue
            better = v > m
            if is_float:
                better = better | jnp.isnan(v)
            m = jnp.where(better, v, m)
            arg = jnp.where(better, jnp.int32(j), arg)
        if return_indices:
            sel = st + arg
            positions = [(ax, jnp.take_along_axis(p, sel, axis=axis)) for ax, p in positions]
            positions.append((axis, sel))
        x = m
    if return_indices:
        idx = _flat_index(positions, x.ndim, n, spatial)
        return (x[0], idx[0]) if unbatched else (x, idx)
    return x[0] if unbatched else x


_FRACTIONAL_DOC = """{n}-D fractional max pooling (``torch.nn.functional.fractional_max_pool{n}d``).

    Windows of ``kernel_size`` start at pseudo-random, increasing positions (Graham, 2015)
    chosen so that the output has ``output_size``.

    Args:
        input: ``{layout}``.
        kernel_size: window size, an int or a tuple of {n}.
        output_size: the target size; or
        output_ratio: the target size as a fraction of the input size (in ``(0, 1)``).
        return_indices: also return the flat index of every maximum.
        _random_samples: ``(N, C, {n})`` numbers in ``[0, 1)`` (input dtype; extra rows beyond
            the batch are ignored, as in torch) fixing the window positions
            (the same numbers give the same result as torch).
        key: JAX key used when ``_random_samples`` is not given (default: the global stream).

    Shape:
        ``(*, spatial) -> (*, output_size)``.

    Returns:
        The pooled array, or ``(pooled, indices)``.

    Differences from PyTorch:
        Without ``_random_samples`` the samples come from jnn's random stream (``key``), so
        the window positions differ from torch's for the same seed.

    Example:
        >>> F.fractional_max_pool{n}d(jnp.ones((1, 2{ones})), 2, output_size=5).shape
        (1, 2{fives})
    """


def fractional_max_pool2d(input: ArrayLike, kernel_size: size_2_t,
                          output_size: size_2_t | None = None,
                          output_ratio: ratio_2_t | None = None, return_indices: bool = False,
                          _random_samples: ArrayLike | None = None,
                          key: Array | None = None) -> Array | tuple[Array, Array]:
    return _fractional("fractional_max_pool2d", 2, input, kernel_size, output_size,
                       output_ratio, return_indices, _random_samples, key)


def fractional_max_pool3d(input: ArrayLike, kernel_size: size_3_t,
                          output_size: size_3_t | None = None,
                          output_ratio: ratio_3_t | None = None, return_indices: bool = False,
                          _random_samples: ArrayLike | None = None,
                          key: Array | None = None) -> Array | tuple[Array, Array]:
    return _fractional("fractional_max_pool3d", 3, input, kernel_size, output_size,
                       output_ratio, return_indices, _random_samples, key)


def fractional_max_pool2d_with_indices(input: ArrayLike, kernel_size: size_2_t,
                                       output_size: size_2_t | None = None,
                                       output_ratio: ratio_2_t | None = None,
                                       return_indices: bool = True,
                                       _random_samples: ArrayLike | None = None,
                                       key: Array | None = None) -> tuple[Array, Array]:
    """``fractional_max_pool2d`` that always returns ``(output, indices)``.

    Args:
        input, kernel_size, output_size, output_ratio, _random_samples, key: as in
            ``fractional_max_pool2d``.
        return_indices: ignored (always ``True``), as in torch.

    Shape:
        As in ``fractional_max_pool2d``; ``indices`` has the output's shape.

    Returns:
        ``(output, indices)``.

    Example:
        >>> y, i = F.fractional_max_pool2d_with_indices(jnp.ones((1, 1, 8, 8)), 2,
        ...                                               output_size=4)
        >>> y.shape == i.shape
        True
    """
    out = fractional_max_pool2d(input, kernel_size, output_size, output_ratio, True,
                                 _random_samples, key)
    return cast("tuple[Array, Array]", out)


def fractional_max_pool3d_with_indices(input: ArrayLike, kernel_size: size_3_t,
                                       output_size: size_3_t | None = None,
                                       output_ratio: ratio_3_t | None = None,
                                       return_indices: bool = True,
                                       _random_samples: ArrayLike | None = None,
                                       key: Array | None = None) -> tuple[Array, Array]:
    """``fractional_max_pool3d`` that always returns ``(output, indices)``.

    Args:
        input, kernel_size, output_size, output_ratio, _random_samples, key: as in
            ``fractional_max_pool3d``.
        return_indices: ignored (always ``True``), as in torch.

    Shape:
        As in ``fractional_max_pool3d``; ``indices`` has the output's shape.

    Returns:
        ``(output, indices)``.

    Example:
        >>> y, i = F.fractional_max_pool3d_with_indices(jnp.ones((1, 1, 8, 8, 8)), 2,
        ...                                               output_size=4)
        >>> y.shape == i.shape
        True
    """
    out = fractional_max_pool3d(input, kernel_size, output_size, output_ratio, True,
                                 _random_samples, key)
    return cast("tuple[Array, Array]", out)


for _n, _f in ((2, fractional_max_pool2d), (3, fractional_max_pool3d)):
    _f.__doc__ = _FRACTIONAL_DOC.format(n=_n, layout=_LAYOUT[_n], ones=", 8" * _n,
                                        fives=", 5" * _n)


# -- unpooling --------------------------------------------------------------------------------

def _max_unpool(fn, n, input, indices, kernel_size, stride, padding, output_size):
    x = _input(fn, input, n)
    idx = as_array(indices)
    if idx.shape != x.shape:
        raise ValueError(f"{fn}: expected indices of the same shape as input {tuple(x.shape)}, "
                         f"got {tuple(idx.shape)}")
    if not jnp.issubdtype(idx.dtype, jnp.integer):
        raise TypeError(f"{fn}: expected integer indices, got dtype {idx.dtype}")
    k, s, p, _ = _window_args(fn, n, kernel_size, stride, padding)
    spatial = x.shape[-n:]
    default = [(spatial[i] - 1) * s[i] + k[i] - 2 * p[i] for i in range(n)]
    if output_size is None:
        out = default
    else:
        out = list(output_size)
        if len(out) == n + 2:
            out = out[2:]
        elif len(out) == n + 1 and x.ndim == n + 1:
            out = out[1:]
        if len(out) != n:
            raise ValueError(f"{fn}: output_size should be a sequence containing {n} or {n + 2} "
                             f"elements, but it has a length of '{len(out)}'")
        for i in range(n):
            lo, hi = default[i] - s[i], default[i] + s[i]
            if not lo < out[i] < hi:
                raise ValueError(f'{fn}: invalid output_size "{list(output_size)}" (dim {i} '
                                 f"must be between {lo} and {hi})")
    out = [int(o) for o in out]
    if any(o <= 0 for o in out):
        raise ValueError(f"{fn}: expected a positive output size, got {out}")
    size = math.prod(out)
    if not isinstance(idx, jax.core.Tracer):  # eager: torch's check (a traced one cannot raise)
        bad = np.asarray(idx)
        bad = bad[(bad < 0) | (bad >= size)]
        if bad.size:
            raise ValueError(f"{fn}: Found an invalid max index: {bad.flat[0]} (output volumes "
                             f"are of size {'x'.join(map(str, out))})")
    lead = x.shape[:-n]
    flat_x = x.reshape((-1, math.prod(spatial)))
    flat_i = idx.reshape((-1, math.prod(spatial)))
    # Out of range (negative too: JAX would wrap those) -> one past the end, which the
    # scatter drops; the backward gives them zero gradient.
    flat_i = jnp.where(flat_i < 0, size, flat_i)
    res = _unpool_scatter(flat_x, flat_i, size)
    return res.reshape(lead + tuple(out))


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _unpool_scatter(x, idx, size):
    rows = jnp.arange(x.shape[0])[:, None]
    return jnp.zeros((x.shape[0], size), x.dtype).at[rows, idx].set(x, mode="drop")


def _unpool_scatter_fwd(x, idx, size):
    return _unpool_scatter(x, idx, size), idx


def _unpool_scatter_bwd(size, idx, g):
    # torch's backward gathers: every input element (duplicates too) reads its position.
    gx = jnp.take_along_axis(g, jnp.clip(idx, 0, size - 1), axis=1)
    gx = jnp.where((idx >= 0) & (idx < size), gx, 0)
    return gx, np.zeros(idx.shape, jax.dtypes.float0)


_unpool_scatter.defvjp(_unpool_scatter_fwd, _unpool_scatter_bwd)


_UNPOOL_DOC = """Partial inverse of ``max_pool{n}d`` (``torch.nn.functional.max_unpool{n}d``).

    Every input value is written at its flat ``indices`` position in a zero output plane.

    Args:
        input: ``{layout}``, the pooled values.
        indices: the indices ``max_pool{n}d(..., return_indices=True)`` returned.
        kernel_size, stride, padding: the pooling's arguments (stride defaults to kernel_size).
        output_size: the exact output size (spatial or full shape) when the default
            ``(in - 1) * stride - 2 * padding + kernel_size`` is ambiguous.

    Shape:
        ``(*, spatial) -> (*, output_size)``.

    Returns:
        The unpooled array.

    Raises:
        ValueError: an index is outside the output plane ("Found an invalid max index", as
            torch), when ``indices`` is concrete (an eager call).

    Differences from PyTorch:
        Under ``jax.jit``/``nn.jit`` (or any trace) the indices have no values yet, so nothing
        can raise: an out-of-range index (negative or ``>=`` the plane size) is dropped --
        its value is not written anywhere and it gets zero gradient -- instead of raising.

    Example:
        >>> x = jnp.arange(16.0).reshape(1, 1{shape})
        >>> y, i = F.max_pool{n}d(x, 2, return_indices=True)
        >>> F.max_unpool{n}d(y, i, 2).shape
        (1, 1{shape_t})
    """


def max_unpool1d(input: ArrayLike, indices: ArrayLike, kernel_size: size_1_t,
                 stride: size_1_t | None = None, padding: size_1_t = 0,
                 output_size: Sequence[int] | None = None) -> Array:
    return _max_unpool("max_unpool1d", 1, input, indices, kernel_size, stride, padding,
                       output_size)


@autocast_op("max_unpool2d")
def max_unpool2d(input: ArrayLike, indices: ArrayLike, kernel_size: size_2_t,
                 stride: size_2_t | None = None, padding: size_2_t = 0,
                 output_size: Sequence[int] | None = None) -> Array:
    return _max_unpool("max_unpool2d", 2, input, indices, kernel_size, stride, padding,
                       output_size)


@autocast_op("max_unpool3d")
def max_unpool3d(input: ArrayLike, indices: ArrayLike, kernel_size: size_3_t,
                 stride: size_3_t | None = None, padding: size_3_t = 0,
                 output_size: Sequence[int] | None = None) -> Array:
    return _max_unpool("max_unpool3d", 3, input, indices, kernel_size, stride, padding,
                       output_size)


for _n, _f, _sh in ((1, max_unpool1d, ", 16"), (2, max_unpool2d, ", 4, 4"),
                    (3, max_unpool3d, ", 2, 2, 4")):
    _f.__doc__ = _UNPOOL_DOC.format(n=_n, layout=_LAYOUT[_n], shape=_sh, shape_t=_sh)
