"""Convolution kernels: ``conv1d/2d/3d`` and ``conv_transpose1d/2d/3d``.

One N-d implementation each, on ``jax.lax.conv_general_dilated`` with torch's layouts:
data ``(N, C, *spatial)`` (or unbatched ``(C, *spatial)``), weights ``(out, in/groups, *k)``
for convolutions and ``(in, out/groups, *k)`` for transposed convolutions.
"""
from __future__ import annotations

import functools
import itertools
import math

import jax
import jax.numpy as jnp
from jax.custom_derivatives import SymbolicZero

from ..amp.autocast_mode import autocast_op
from ..types import ArrayLike, size_1_t, size_2_t, size_3_t
from ._eager import eager_jit
from ._utils import as_array, check_operands, int_tuple

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d"]

_SPATIAL = {1: "H", 2: "HW", 3: "DHW"}
_LAYOUT = {1: "(C, L) or (N, C, L)", 2: "(C, H, W) or (N, C, H, W)",
           3: "(C, D, H, W) or (N, C, D, H, W)"}


def _dimension_numbers(n: int):
    sp = _SPATIAL[n]
    return ("NC" + sp, "OI" + sp, "NC" + sp)


def _check_groups(fn: str, groups) -> int:
    if isinstance(groups, bool) or not isinstance(groups, int) or groups <= 0:
        raise ValueError(f"{fn}: expected groups to be a positive int, got {groups!r}")
    return groups


def _prepare(fn: str, n: int, input, weight, bias=None):
    """Arrays, a batched view of the input, and whether a batch axis was added."""
    # torch's transposed convolutions accept a bias of another dtype (cast to the output's).
    x, w, _ = check_operands(fn, input=input, weight=weight, bias=bias)
    if w.ndim != n + 2:
        raise ValueError(f"{fn}: expected weight with {n + 2} dimensions, got shape "
                         f"{tuple(w.shape)}")
    if x.ndim not in (n + 1, n + 2):
        raise ValueError(f"{fn}: expected input with {n + 1} or {n + 2} dimensions "
                         f"{_LAYOUT[n]}, got shape {tuple(x.shape)}")
    unbatched = x.ndim == n + 1
    if unbatched:
        x = x[None]
    return x, w, unbatched


def _add_bias(fn: str, out: jax.Array, bias, n: int) -> jax.Array:
    if bias is None:
        return out
    b = as_array(bias)
    if b.shape != (out.shape[1],):
        raise ValueError(f"{fn}: expected bias of shape ({out.shape[1]},), got shape "
                         f"{tuple(b.shape)}")
    return out + b.astype(out.dtype).reshape((1, -1) + (1,) * n)


# -- CPU fast paths ------------------------------------------------------------------------------
# Some convolutions run far slower under XLA:CPU's convolution than as plain JAX, so on the CPU
# backend jnn lowers them itself (other backends keep lax.conv_general_dilated: cuDNN etc. are
# fine). The kernels are slices, products, sums and matmuls that JAX differentiates in both modes:
# reverse mode transposes the slices into pads, and forward mode (jax.jvp, jacfwd, hessian) works,
# which a custom VJP would block. Called eagerly, each runs as one compiled program per call
# signature (jnn/functional/_eager.py). Measured in benchmarks/conv_kernels.py; README "Convolution
# levers".
#
# * Depthwise (groups == in_channels, one input channel per group): 20-50x slower in XLA:CPU than
#   a sum of shifted slices, and its input gradient equally slow. The slice kernel's backward
#   measured on par with a hand-written one (0.75-1.5x on MobileNet-like shapes).
# * Small output maps (at most _PATCHES_MAX_OUTPUT positions per map: 2x2 and 1x1 maps, where a
#   3x3 kernel is larger than its input, as in the last stages of a ResNet at CIFAR resolution or
#   of batch-1 inference): XLA:CPU falls off its fast kernels there, and one matmul of the
#   gathered input patches (im2col) by the weights is 2-50x faster (3x3, 512 channels, 2x2 maps:
#   62 ms against 7.9 at batch 1, 656 against 15 at batch 16; 1x1 maps: 2.1-2.4x; forward and
#   backward together 5-50x). At 4x4 maps the gain held only at small batches (1.7x at batch 1,
#   0.7x at batch 32), and at larger maps the patch matrix, kernel-size times the input, costs
#   more than it saves.
# * Few patch rows per filter (one group, N * output positions at most
#   _PATCHES_MAX_ROWS_PER_FILTER * out_channels: batch-1 and small-batch inference on 7x7 maps
#   with 512 filters): XLA:CPU's convolution reads its weight as (*kernel, C, O), so every call
#   copies the whole (O, C, *kernel) weight into that layout, a transpose that moves the
#   output-channel axis innermost and costs more than the convolution at these sizes (512 ->
#   512, 3x3: 1.4 ms compiled, 4.6 ms in an eager program). The patch matmul contracts the
#   weight as it lies, and its patch matrix is then at most a quarter of the weight's size.
#   Compiled, forward / forward + gradients against lax: 3x3 512 -> 512 on 7x7 maps 0.59 / 0.64
#   at batch 1, 0.79 / 0.78 at batch 2 (0.95 / 0.98 at batch 4, past the threshold); 256 -> 512
#   stride 2 from 14x14, 0.58 / 0.67 at batch 1; at more rows per filter it loses (256 -> 256 on
#   14x14 at batch 1, 196 rows for 256 filters: 1.32 / 1.16). Also faster in float64 (0.23 /
#   0.38), for conv1d and conv3d (0.34-0.83), 1x1 shortcuts (0.55); not in bfloat16, whose
#   float32-accumulating patch matmul made training slower (0.65 / 1.35), so half precision
#   keeps lax's convolution here. Whole ResNet-18 (224x224) eval forward against torch, eager /
#   nn.jit: batch 1 1.45-1.50 / 1.61-1.63 before, 1.08-1.13 / 0.89-0.95 after.
# * Batches of more than _BATCH_CHUNK samples with at least _BATCH_CHUNK_MIN_CHANNELS input
#   channels (per group; every other convolution, not the transposed ones): XLA:CPU's
#   convolution costs up to 2-3x more per sample at batch sizes above 32 (3x3, 32 -> 64
#   channels, 26x26 maps, no padding: 0.34 ms a sample at batch 32, 0.67 at batch 64), while at
#   32 and below the cost per sample stays flat. Such convolutions run as one lax convolution
#   per chunk of at most _BATCH_CHUNK samples, concatenated: the samples are independent, so it
#   is the same computation, and each chunk's gradients are lax's (the weight gradient sums over
#   the chunks). 3x3 convolutions of 32-128 channels at batch 64-256, forward + gradients: up
#   to 2.7x faster (benchmarks/conv_kernels.py --part batch); whole training steps: PyTorch's
#   MNIST example at batch 64 34% faster, CIFAR ResNet-18 at batch 128 17%. Not chunked, as it
#   measured slower: convolutions of 1-8 input channels (a network's first layer: 3 -> 64 at
#   batch 64-128 took 1.4-2x longer, mostly in the weight gradient), transposed convolutions
#   (1.3x), and a loop over the chunks (lax.map) instead of one convolution each (6x).

_PATCHES_MAX_OUTPUT = 4
_PATCHES_MAX_ROWS_PER_FILTER = 0.25


def _taps(kernel):
    return list(itertools.product(*[range(k) for k in kernel]))


def _out_sizes(padded, kernel, stride, dilation) -> tuple[int, ...]:
    return tuple((p - d * (k - 1) - 1) // s + 1
                 for p, k, s, d in zip(padded, kernel, stride, dilation))


def _tap_slices(xp, kernel, stride, dilation, out_sizes, first: int):
    """Per kernel tap, the strided slice of ``xp`` it meets; spatial axes start at ``first``."""
    pieces = []
    for tap in _taps(kernel):
        start, limit, step = [0] * xp.ndim, list(xp.shape), [1] * xp.ndim
        for i, (t, s, d, o) in enumerate(zip(tap, stride, dilation, out_sizes)):
            start[first + i] = t * d
            limit[first + i] = t * d + s * (o - 1) + 1
            step[first + i] = s
        pieces.append((tap, jax.lax.slice(xp, start, limit, step)))
    return pieces


def _low_precision(dtype) -> bool:
    return jnp.issubdtype(dtype, jnp.floating) and jnp.finfo(dtype).bits < 32


@functools.partial(eager_jit, static_argnames=("stride", "dilation", "pads"))
def _depthwise(x, w, stride, dilation, pads):
    """sum over taps of the tap's slice of the padded input times w[:, 0, tap]."""
    n = len(stride)
    mult = w.shape[0] // x.shape[1]
    xr = jnp.repeat(x, mult, axis=1) if mult > 1 else x
    xp = jnp.pad(xr, ((0, 0), (0, 0)) + tuple(pads))
    out_sizes = _out_sizes(xp.shape[2:], w.shape[2:], stride, dilation)
    out = None
    for tap, piece in _tap_slices(xp, w.shape[2:], stride, dilation, out_sizes, first=2):
        term = piece * w[(slice(None), 0) + tap].reshape((1, -1) + (1,) * n)
        out = term if out is None else out + term
    return out


@functools.partial(eager_jit, static_argnames=("stride", "dilation", "pads", "groups"))
def _patches(x, w, stride, dilation, pads, groups):
    """The convolution as one matmul per group: (N * out, C/g * K) patches by (O/g, C/g * K)."""
    n = len(stride)
    # Channels last, so that a patch row is contiguous: (N, *spatial, C).
    xp = jnp.moveaxis(jnp.pad(x, ((0, 0), (0, 0)) + tuple(pads)), 1, -1)
    kernel = w.shape[2:]
    out_sizes = _out_sizes(xp.shape[1:-1], kernel, stride, dilation)
    pieces = [p for _, p in _tap_slices(xp, kernel, stride, dilation, out_sizes, first=1)]
    # (N, *out, C, K) matches the weight's (O, C/g, *k) order, which then needs no copy.
    cols = jnp.stack(pieces, axis=-1)
    per_group = w.shape[1] * math.prod(kernel)  # explicit sizes: N may be 0
    # half precision accumulates in float32
    accumulate = jnp.float32 if _low_precision(x.dtype) else None
    if groups == 1:
        # A 2-D matmul: XLA:CPU runs a dot with a (size-1) batch dimension 10x slower.
        rows = cols.reshape((-1, per_group))
        out = jax.lax.dot_general(rows, w.reshape(w.shape[0], per_group),
                                  (((1,), (1,)), ((), ())), preferred_element_type=accumulate)
        out = out.reshape(cols.shape[:n + 1] + (w.shape[0],))  # (N, *out, O)
    else:
        cols = cols.reshape(cols.shape[:n + 1] + (groups, per_group))  # (N, *out, g, C/g * K)
        wg = w.reshape(groups, w.shape[0] // groups, per_group)  # (g, O/g, C/g * K)
        out = jax.lax.dot_general(cols, wg, (((n + 2,), (2,)), ((n + 1,), (0,))),
                                  preferred_element_type=accumulate)  # (g, N, *out, O/g)
        out = jnp.moveaxis(out, 0, -2).reshape(out.shape[1:-1] + (w.shape[0],))
    out = out.astype(x.dtype)
    return jnp.moveaxis(out, -1, 1)


_BATCH_CHUNK = 32
_BATCH_CHUNK_MIN_CHANNELS = 16


def _lax_conv(x, w, **conv_args):
    """``lax.conv_general_dilated``, on CPU in chunks of at most ``_BATCH_CHUNK`` samples when
    the weight has at least ``_BATCH_CHUNK_MIN_CHANNELS`` input channels (per group)."""
    x, conv_args["padding"] = _untrap_input_gradient(x, w.shape[2:], **conv_args)
    batch = x.shape[0]
    if (not _BATCH_CHUNK or batch <= _BATCH_CHUNK or w.shape[1] < _BATCH_CHUNK_MIN_CHANNELS
            or jax.default_backend() != "cpu"):
        return jax.lax.conv_general_dilated(x, w, **conv_args)
    return jnp.concatenate([jax.lax.conv_general_dilated(x[i:i + _BATCH_CHUNK], w, **conv_args)
                            for i in range(0, batch, _BATCH_CHUNK)], axis=0)


# -- An XLA:CPU compiler abort, kept out of reach ------------------------------------------------
# XLA's algebraic simplifier swaps the operands of a convolution whose kernel is larger than its
# input. The swap takes a spatial dimension with a 2-tap window, input dilation 2, stride 1, no
# padding and no window dilation for a "group" dimension and keeps its window, which then no
# longer matches the new kernel unless that dimension's input also has size 2: the compiler's own
# shape check fails and aborts the process ("Window dimensions do not match RHS shape"; with size
# 2 the swap is exact). Three convolutions jnn runs or has JAX derive take that form for
# ordinary arguments:
# * the input gradient of a convolution of kernel 2, stride 2, padding 1 over an even-sized
#   dimension (JAX's transpose: the output gradient dilated by the stride, padded by
#   (kernel - 1 - padding, ...) = (0, 0));
# * a transposed convolution of kernel 2, stride 2, padding 1 and no output padding (the
#   stride-dilated input padded by (kernel - 1 - padding, ...) = (0, 0));
# * in forward mode, the weight tangent of a transposed convolution of stride 1, dilation 2 and
#   padding 1 over a 2-sized input dimension (_conv_transpose_jvp: the transpose of the adjoint
#   convolution's weight gradient, a convolution over the tangent dilated by the dilation).
# jnn moves the padding of such dimensions out of the convolution into a pad of its input (the
# derived convolution is then padded and the pad's own gradient is a slice), or, for the
# transposed convolution, pads by one more on each side and drops the two extra outputs. Each is
# the same sum; only the convolution XLA is given changes. tests/test_conv_paths.py compiles
# random small configurations, forward and in both AD modes, in a subprocess.


def _swap_trap(size: int, kernel: int, lhs_dilation: int, rhs_dilation: int, pads) -> bool:
    """Whether one spatial dimension of a stride-1 convolution has the form XLA:CPU's operand
    swap aborts on (above)."""
    return (kernel == 2 and rhs_dilation == 1 and lhs_dilation == 2 and tuple(pads) == (0, 0)
            and size != 2)


def _pad_explicitly(x, padding, dims: list[int]):
    """``x`` padded by ``padding`` in the spatial dimensions ``dims``, and the padding left to
    the convolution."""
    if not dims:
        return x, padding
    applied = tuple(tuple(pad) if i in dims else (0, 0) for i, pad in enumerate(padding))
    return (jnp.pad(x, ((0, 0), (0, 0)) + applied),
            [(0, 0) if i in dims else pad for i, pad in enumerate(padding)])


def _untrap_input_gradient(x, kernel, *, window_strides, padding, rhs_dilation, **unused):
    """``_pad_explicitly`` for the dimensions whose input gradient would take the aborting form
    (above)."""
    dims = []
    for i, (n, k, s, d, (lo, hi)) in enumerate(zip(x.shape[2:], kernel, window_strides,
                                                   rhs_dilation, padding)):
        out = (n + lo + hi - d * (k - 1) - 1) // s + 1
        gradient_pads = (d * (k - 1) - lo, n + lo - 1 - (out - 1) * s)  # as JAX derives them
        if _swap_trap(out, k, s, d, gradient_pads):
            dims.append(i)
    return _pad_explicitly(x, padding, dims)


# Private switches for the tests (tests/test_conv_paths.py), read at trace time (set them before
# the first call of a jitted function): _DEPTHWISE_SLICES = False, _PATCHES_MAX_OUTPUT =
# _PATCHES_MAX_ROWS_PER_FILTER = 0 and _BATCH_CHUNK = 0 send CPU convolutions through one
# lax.conv_general_dilated, the path every other backend runs, so CI checks it too; a large
# _PATCHES_MAX_OUTPUT sends them all through the patch matmul, and _BATCH_CHUNK =
# _BATCH_CHUNK_MIN_CHANNELS = 1 runs every sample as a convolution of its own.
_DEPTHWISE_SLICES = True


def _use_depthwise(x, w, groups) -> bool:
    return (_DEPTHWISE_SLICES and groups > 1 and x.shape[1] == groups and w.shape[1] == 1
            and jax.default_backend() == "cpu")


def _use_patches(x, w, out_sizes, groups: int) -> bool:
    if jax.default_backend() != "cpu":
        return False
    positions = math.prod(out_sizes)
    return (positions <= _PATCHES_MAX_OUTPUT or
            (groups == 1 and not _low_precision(x.dtype) and
             x.shape[0] * positions <= _PATCHES_MAX_ROWS_PER_FILTER * w.shape[0]))


def _conv_nd(fn: str, n: int, input, weight, bias, stride, padding, dilation, groups):
    x, w, unbatched = _prepare(fn, n, input, weight, bias)
    stride = int_tuple(stride, n, fn, "stride", 1)
    dilation = int_tuple(dilation, n, fn, "dilation", 1)
    groups = _check_groups(fn, groups)
    kernel = w.shape[2:]
    channels = x.shape[1]
    if channels != w.shape[1] * groups:
        raise ValueError(f"{fn}: expected input with {w.shape[1] * groups} channels "
                         f"(weight.shape[1] * groups = {w.shape[1]} * {groups}), got "
                         f"{channels} channels in input of shape {tuple(x.shape)}")
    if w.shape[0] % groups:
        raise ValueError(f"{fn}: expected weight.shape[0] (out_channels) to be divisible by "
                         f"groups={groups}, got weight of shape {tuple(w.shape)}")
    if isinstance(padding, str):
        if padding == "valid":
            pads = [(0, 0)] * n
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{fn}: padding='same' is not supported for strided "
                                 f"convolutions, got stride={stride}")
            pads = []
            for d, k in zip(dilation, kernel):
                total = d * (k - 1)
                pads.append((total // 2, total - total // 2))  # extra on the right, as torch
        else:
            raise ValueError(f"{fn}: invalid padding string {padding!r}, should be one of "
                             f"'valid', 'same'")
    else:
        pads = [(p, p) for p in int_tuple(padding, n, fn, "padding", 0)]
    for size, (lo, hi), d, k in zip(x.shape[2:], pads, dilation, kernel):
        if size + lo + hi < d * (k - 1) + 1:
            padded = tuple(s + a + b for s, (a, b) in zip(x.shape[2:], pads))
            eff = tuple(dd * (kk - 1) + 1 for dd, kk in zip(dilation, kernel))
            raise ValueError(f"{fn}: calculated padded input size per channel {padded} is "
                             f"smaller than the (dilated) kernel size {eff}; kernel size can't "
                             f"be greater than actual input size (input shape "
                             f"{tuple(x.shape)})")
    padded = tuple(size + lo + hi for size, (lo, hi) in zip(x.shape[2:], pads))
    if _use_depthwise(x, w, groups):
        out = _depthwise(x, w, stride, dilation, tuple(pads))
    elif _use_patches(x, w, _out_sizes(padded, kernel, stride, dilation), groups):
        out = _patches(x, w, stride, dilation, tuple(pads), groups)
    else:
        out = _lax_conv(x, w, window_strides=stride, padding=pads, rhs_dilation=dilation,
                        dimension_numbers=_dimension_numbers(n), feature_group_count=groups)
    out = _add_bias(fn, out, bias, n)
    return out[0] if unbatched else out


def _conv_transpose_lax(x, w, stride, padding, output_padding, dilation, groups):
    """The transposed convolution as one lax convolution over the stride-dilated input."""
    n = len(stride)
    kernel = w.shape[2:]
    in_channels, cout_g = w.shape[0], w.shape[1]
    # (in, out/g, *k) -> (out, in/g, *k), spatially flipped: the transposed convolution is a
    # stride-1 convolution over the stride-dilated input.
    wt = w.reshape((groups, in_channels // groups, cout_g) + kernel)
    wt = jnp.swapaxes(wt, 1, 2).reshape((groups * cout_g, in_channels // groups) + kernel)
    wt = jnp.flip(wt, axis=tuple(range(2, n + 2)))
    pads = [(d * (k - 1) - p, d * (k - 1) - p + op)
            for d, k, p, op in zip(dilation, kernel, padding, output_padding)]
    # Dimensions of the form XLA:CPU aborts on (above) get one more padding on each side, and
    # the two extra outputs are dropped.
    trapped = [_swap_trap(size, k, s, d, pad)
               for size, k, s, d, pad in zip(x.shape[2:], kernel, stride, dilation, pads)]
    pads = [(lo + 1, hi + 1) if t else (lo, hi) for t, (lo, hi) in zip(trapped, pads)]
    out = jax.lax.conv_general_dilated(
        x, wt, window_strides=(1,) * n, padding=pads, lhs_dilation=stride,
        rhs_dilation=dilation, dimension_numbers=_dimension_numbers(n),
        feature_group_count=groups)
    if any(trapped):
        out = out[(slice(None), slice(None)) + tuple(slice(1, -1) if t else slice(None)
                                                     for t in trapped)]
    return out


def _adjoint_conv(y, w, stride, padding, dilation, groups):
    """The convolution whose input gradient is the transposed convolution by ``w``: it maps the
    transposed convolution's output shape back to its input shape (``output_padding < stride``)."""
    pads = [(p, p) for p in padding]
    # The forward-mode weight tangent of the transposed convolution (above) is a convolution
    # over the tangent dilated by the dilation, with the transposed convolution's input as the
    # window and padded by (stride * (input size - 1) - padding, ...): the aborting form for
    # stride 1, dilation 2, padding 1 and input size 2 (unless the kernel also has size 2).
    # (Its high padding is not derived here: the check is for the low one only, and a pad too
    # many costs little.)
    dims = []
    for i, (n, k, s, d, p) in enumerate(zip(y.shape[2:], w.shape[2:], stride, dilation,
                                            padding)):
        input_size = (n + 2 * p - d * (k - 1) - 1) // s + 1  # the transposed convolution's
        # (that tangent convolution's dimension: the kernel tangent dilated by the dilation,
        # with the input as the window, dilated by the stride)
        if _swap_trap(size=k, kernel=input_size, lhs_dilation=d, rhs_dilation=s,
                      pads=(s * (input_size - 1) - p, 0)):
            dims.append(i)
    y, pads = _pad_explicitly(y, pads, dims)
    return jax.lax.conv_general_dilated(
        y, w, window_strides=stride, padding=pads, rhs_dilation=dilation,
        dimension_numbers=_dimension_numbers(len(stride)), feature_group_count=groups)


# The weight gradient of a strided transposed convolution, as JAX transposes the lowering above
# (a convolution over the stride-dilated input), is 20-50x slower on XLA:CPU than torch's
# (ConvTranspose2d 64 -> 32, 4x4, stride 2, 13x13 input, batch 64: 258 ms against 7.7). It is
# also the weight gradient of the adjoint convolution, dw = d<x, adjoint(g, w)>/dw, which lax
# computes as a strided convolution in 12 ms. A custom JVP (not a VJP: forward mode keeps
# working) writes the weight tangent as the transpose of that map, so that reverse mode, which
# transposes it back, runs the fast form; the input tangent stays the lowering above (its
# transpose, a strided convolution, is already fast).
@functools.partial(jax.custom_jvp, nondiff_argnums=(2, 3, 4, 5, 6))
def _conv_transpose(x, w, stride, padding, output_padding, dilation, groups):
    return _conv_transpose_lax(x, w, stride, padding, output_padding, dilation, groups)


def _conv_transpose_jvp(stride, padding, output_padding, dilation, groups, primals, tangents):
    x, w = primals
    dx, dw = tangents
    out = _conv_transpose_lax(x, w, stride, padding, output_padding, dilation, groups)
    terms = []
    if not isinstance(dx, SymbolicZero):
        terms.append(_conv_transpose_lax(dx, w, stride, padding, output_padding, dilation, groups))
    if not isinstance(dw, SymbolicZero):
        def weight_gradient(g):
            return jax.vjp(lambda v: _adjoint_conv(g, v, stride, padding, dilation, groups),
                           w)[1](x)[0]
        # (``out`` itself as the template, not a ShapeDtypeStruct: its type carries how it
        # varies over the devices of an enclosing shard_map, which the transpose must match)
        terms.append(jax.linear_transpose(weight_gradient, out)(dw)[0])
    return out, functools.reduce(jnp.add, terms) if terms else jnp.zeros_like(out)


_conv_transpose.defjvp(_conv_transpose_jvp, symbolic_zeros=True)


def _conv_transpose_nd(fn: str, n: int, input, weight, bias, stride, padding, output_padding,
                       groups, dilation):
    x, w, unbatched = _prepare(fn, n, input, weight)
    stride = int_tuple(stride, n, fn, "stride", 1)
    dilation = int_tuple(dilation, n, fn, "dilation", 1)
    if isinstance(padding, str):
        raise TypeError(f"{fn}: expected padding to be an int or a tuple of {n} ints, got "
                        f"{padding!r} (transposed convolutions take no padding strings)")
    padding = int_tuple(padding, n, fn, "padding", 0)
    output_padding = int_tuple(output_padding, n, fn, "output_padding", 0)
    groups = _check_groups(fn, groups)
    in_channels = w.shape[0]
    if x.shape[1] != in_channels:
        raise ValueError(f"{fn}: expected input with {in_channels} channels (weight.shape[0]), "
                         f"got {x.shape[1]} channels in input of shape {tuple(x.shape)}")
    if in_channels % groups:
        raise ValueError(f"{fn}: expected weight.shape[0] (in_channels) to be divisible by "
                         f"groups={groups}, got weight of shape {tuple(w.shape)}")
    for op, s, d in zip(output_padding, stride, dilation):
        if op >= s and op >= d:
            raise ValueError(f"{fn}: output padding must be smaller than either stride or "
                             f"dilation, got output_padding={output_padding}, stride={stride}, "
                             f"dilation={dilation}")
    kernel = w.shape[2:]
    out_sizes = [(l - 1) * s - 2 * p + d * (k - 1) + op + 1
                 for l, s, p, d, k, op in zip(x.shape[2:], stride, padding, dilation, kernel,
                                              output_padding)]
    if any(o <= 0 for o in out_sizes):
        raise ValueError(f"{fn}: calculated output size {tuple(out_sizes)} is too small "
                         f"(input shape {tuple(x.shape)}, kernel {tuple(kernel)}, stride "
                         f"{stride}, padding {padding}, dilation {dilation})")
    args = (stride, padding, output_padding, dilation, groups)
    if all(op < s for op, s in zip(output_padding, stride)):
        out = _conv_transpose(x, w, *args)
    else:  # (output_padding >= stride, allowed below the dilation: no adjoint of one conv)
        out = _conv_transpose_lax(x, w, *args)
    out = _add_bias(fn, out, bias, n)
    return out[0] if unbatched else out


_CONV_DOC = """Applies a {n}-D convolution (``torch.nn.functional.conv{n}d``).

    Args:
        input: ``{layout}``.
        weight: ``(out_channels, in_channels / groups, {kdims})``.
        bias: ``(out_channels,)`` or ``None``.
        stride: int or tuple of {n} ints (default 1).
        padding: int, tuple of {n} ints, ``'valid'`` (none) or ``'same'`` (output size equals
            input size; stride must be 1; for even kernels the extra element goes on the right,
            as torch).
        dilation: spacing between kernel elements (default 1).
        groups: split input and output channels into this many groups (default 1);
            ``groups == in_channels`` is a depthwise convolution.

    Shape:
        ``(N, C_in, {sdims}) -> (N, C_out, {odims})`` with
        ``out = floor((in + 2 * padding - dilation * (k - 1) - 1) / stride) + 1``; unbatched
        ``(C_in, {sdims})`` gives ``(C_out, {odims})``.

    Returns:
        The convolution of ``input`` with ``weight`` (plus ``bias``), same dtype as ``input``.

    Differences from PyTorch:
        On the CPU backend three kinds of convolution do not run as one
        ``lax.conv_general_dilated``, which is far slower on them: depthwise ones
        (``groups == in_channels``, weight ``(m * in_channels, 1, ...)``) run as a sum of
        shifted slices; those whose output maps have at most 4 positions as one matmul over the
        gathered input patches; and those of more than 32 samples with at least 16 input
        channels per group as one ``lax.conv_general_dilated`` per chunk of 32 samples (up to
        2-3x faster per sample than one larger batch). Results agree with torch to
        floating-point rounding, and both reverse- and forward-mode AD work through
        every path.

    Example:
        >>> F.conv{n}d(jnp.ones({ex_in}), jnp.ones({ex_w}), padding=1).shape
        {ex_out}
    """

_CONV_T_DOC = """Applies a {n}-D transposed convolution
    (``torch.nn.functional.conv_transpose{n}d``).

    The gradient of ``conv{n}d`` with respect to its input, sometimes called "deconvolution".

    Args:
        input: ``{layout}``.
        weight: ``(in_channels, out_channels / groups, {kdims})`` (torch's layout).
        bias: ``(out_channels,)`` or ``None``.
        stride: int or tuple of {n} ints (default 1).
        padding: ``dilation * (k - 1) - padding`` zeros are added to each side of the input
            (default 0).
        output_padding: extra size added to one side of each output dimension (default 0);
            must be smaller than stride or dilation.
        groups: number of blocked connections from input to output channels (default 1).
        dilation: spacing between kernel elements (default 1).

    Shape:
        ``(N, C_in, {sdims}) -> (N, C_out, {odims})`` with
        ``out = (in - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1``;
        unbatched input is accepted.

    Returns:
        The transposed convolution (plus ``bias``), same dtype as ``input``.

    Example:
        >>> F.conv_transpose{n}d(jnp.ones({ex_in}), jnp.ones({ex_wt}), stride=2).shape
        {ex_tout}
    """

_EXAMPLES = {
    1: dict(layout="(N, C_in, L) or (C_in, L)", kdims="kL", sdims="L", odims="L_out",
            ex_in="(2, 3, 8)", ex_w="(4, 3, 3)", ex_out="(2, 4, 8)", ex_wt="(3, 4, 3)",
            ex_tout="(2, 4, 17)"),
    2: dict(layout="(N, C_in, H, W) or (C_in, H, W)", kdims="kH, kW", sdims="H, W",
            odims="H_out, W_out", ex_in="(2, 3, 8, 8)", ex_w="(4, 3, 3, 3)",
            ex_out="(2, 4, 8, 8)", ex_wt="(3, 4, 3, 3)", ex_tout="(2, 4, 17, 17)"),
    3: dict(layout="(N, C_in, D, H, W) or (C_in, D, H, W)", kdims="kD, kH, kW",
            sdims="D, H, W", odims="D_out, H_out, W_out", ex_in="(2, 3, 4, 4, 4)",
            ex_w="(4, 3, 3, 3, 3)", ex_out="(2, 4, 4, 4, 4)", ex_wt="(3, 4, 3, 3, 3)",
            ex_tout="(2, 4, 9, 9, 9)"),
}


@autocast_op("conv1d")
def conv1d(input: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None, stride: size_1_t = 1,
           padding: str | size_1_t = 0, dilation: size_1_t = 1, groups: int = 1) -> jax.Array:
    return _conv_nd("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


@autocast_op("conv2d")
def conv2d(input: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None, stride: size_2_t = 1,
           padding: str | size_2_t = 0, dilation: size_2_t = 1, groups: int = 1) -> jax.Array:
    return _conv_nd("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


@autocast_op("conv3d")
def conv3d(input: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None, stride: size_3_t = 1,
           padding: str | size_3_t = 0, dilation: size_3_t = 1, groups: int = 1) -> jax.Array:
    return _conv_nd("conv3d", 3, input, weight, bias, stride, padding, dilation, groups)


@autocast_op("conv_transpose1d")
def conv_transpose1d(input: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None,
                     stride: size_1_t = 1, padding: str | size_1_t = 0,
                     output_padding: size_1_t = 0, groups: int = 1,
                     dilation: size_1_t = 1) -> jax.Array:
    return _conv_transpose_nd("conv_transpose1d", 1, input, weight, bias, stride, padding,
                              output_padding, groups, dilation)


@autocast_op("conv_transpose2d")
def conv_transpose2d(input: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None,
                     stride: size_2_t = 1, padding: str | size_2_t = 0,
                     output_padding: size_2_t = 0, groups: int = 1,
                     dilation: size_2_t = 1) -> jax.Array:
    return _conv_transpose_nd("conv_transpose2d", 2, input, weight, bias, stride, padding,
                              output_padding, groups, dilation)


@autocast_op("conv_transpose3d")
def conv_transpose3d(input: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None,
                     stride: size_3_t = 1, padding: str | size_3_t = 0,
                     output_padding: size_3_t = 0, groups: int = 1,
                     dilation: size_3_t = 1) -> jax.Array:
    return _conv_transpose_nd("conv_transpose3d", 3, input, weight, bias, stride, padding,
                              output_padding, groups, dilation)


for _n, _f in ((1, conv1d), (2, conv2d), (3, conv3d)):
    _f.__doc__ = _CONV_DOC.format(n=_n, **_EXAMPLES[_n])
for _n, _ft in ((1, conv_transpose1d), (2, conv_transpose2d), (3, conv_transpose3d)):
    _ft.__doc__ = _CONV_T_DOC.format(n=_n, **_EXAMPLES[_n])
del _n, _f
