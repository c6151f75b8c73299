"""Parity cases for pooling (jnn/functional/pooling.py, jnn/modules/pooling.py).

Covers stride/padding/dilation/ceil_mode (windows running past the padded edge),
count_include_pad/divisor_override, return_indices (flat indices into the un-padded plane),
ties in max pooling (integer-valued inputs: the first maximum gets value index and gradient),
adaptive windows (non-divisible sizes, ``None`` entries), fractional pooling with torch's
``_random_samples``, unpooling (duplicate indices included), unbatched inputs, float64 and
gradients.
"""
import jax.numpy as jnp
import numpy as np
import torch

import jnn as nn
import jnn.functional as F
from harness import ErrorCase, FunctionCase, ModuleCase


def _ints(*shape, lo=-2, hi=3, dtype=np.float32):
    """Integer-valued float inputs: many ties inside every window."""
    def make(rng):
        return tuple(rng.integers(lo, hi, s).astype(dtype) for s in shape)
    return make


def _fc(name, shape, *args, desc="", ties=False, dtype=np.float32, **kwargs):
    def inputs(rng):
        x = (rng.integers(-2, 3, shape) if ties else rng.standard_normal(shape)).astype(dtype)
        return (x,) + args, dict(kwargs)
    return FunctionCase(name, inputs, desc=desc)


def _pos(name, shape, *args, desc="", dtype=np.float32, **kwargs):
    """Strictly positive inputs (power pooling with non-integer p)."""
    def inputs(rng):
        x = (np.abs(rng.standard_normal(shape)) + 0.1).astype(dtype)
        return (x,) + args, dict(kwargs)
    return FunctionCase(name, inputs, desc=desc)


def _pooled(n, shape, k, s=None, p=0, ties=False, dtype=np.float32):
    """``(pooled, indices)`` from torch's max pooling: input for the unpooling cases."""
    def make(rng):
        x = (rng.integers(-3, 4, shape) if ties else rng.standard_normal(shape)).astype(dtype)
        y, i = getattr(torch.nn.functional, f"max_pool{n}d")(torch.from_numpy(x), k, s, p,
                                                              return_indices=True)
        return y.numpy(), i.numpy()
    return make


def _unpool_fc(n, shape, k, s=None, p=0, desc="", output_size=None, ties=False,
               dtype=np.float32):
    make = _pooled(n, shape, k, s, p, ties, dtype)

    def inputs(rng):
        y, i = make(rng)
        kw = {} if output_size is None else dict(output_size=output_size)
        return (y, i, k, s, p), kw
    return FunctionCase(f"max_unpool{n}d", inputs, desc=desc)


def _samples(shape):
    return np.random.default_rng(7).random(shape).astype(np.float32)


def _frac_fc(n, shape, k, desc, output_size=None, output_ratio=None, return_indices=False,
             ties=False, dtype=np.float32, name=None):
    batch = shape[0] if len(shape) == n + 2 else 1

    def inputs(rng):
        x = (rng.integers(-2, 3, shape) if ties else rng.standard_normal(shape)).astype(dtype)
        smp = rng.random((batch, shape[-n - 1], n)).astype(dtype)
        return (x, k), dict(output_size=output_size, output_ratio=output_ratio,
                            return_indices=return_indices, _random_samples=smp)
    return FunctionCase(name or f"fractional_max_pool{n}d", inputs, desc=desc,
                        nondiff=("_random_samples",))


MODULE_CASES = [
    # MaxPool
    ModuleCase("MaxPool1d", (3,), dict(stride=2), input_shapes=[(2, 4, 11)], desc="k3s2"),
    ModuleCase("MaxPool1d", (4, 3, 2, 2, True, True), input_shapes=[(2, 3, 13)],
               desc="pad_dil_indices_ceil"),
    ModuleCase("MaxPool1d", (2,), input_shapes=[(3, 9)], desc="unbatched"),
    ModuleCase("MaxPool2d", (3, 2, 1), input_shapes=[(2, 3, 12, 12)], desc="resnet_stem"),
    ModuleCase("MaxPool2d", (2, 2), inputs=_ints((2, 3, 8, 8)), desc="ties"),
    ModuleCase("MaxPool2d", ((3, 2), (2, 1), (1, 0), (2, 1)), dict(ceil_mode=True),
               inputs=_ints((2, 2, 9, 8)), desc="asym_ties_ceil_dilation"),
    ModuleCase("MaxPool2d", (3, 2, 1), dict(return_indices=True), input_shapes=[(3, 7, 7)],
               desc="unbatched_indices"),
    ModuleCase("MaxPool2d", (3, 2), dict(ceil_mode=True), input_shapes=[(2, 3, 8, 8)],
               desc="float64_ceil", dtype="float64"),
    ModuleCase("MaxPool3d", (2,), input_shapes=[(2, 2, 6, 6, 6)], desc="k2"),
    ModuleCase("MaxPool3d", ((2, 3, 3), 2, 1), dict(return_indices=True, ceil_mode=True),
               inputs=_ints((1, 2, 7, 8, 7)), desc="ties_indices_ceil"),
    ModuleCase("MaxPool3d", (3, 1, 1), dict(dilation=(1, 2, 1)), input_shapes=[(2, 5, 6, 5)],
               desc="unbatched_dilated_float64", dtype="float64"),
    # AvgPool
    ModuleCase("AvgPool1d", (3,), dict(stride=2, padding=1), input_shapes=[(2, 3, 10)],
               desc="pad"),
    ModuleCase("AvgPool1d", (3, 2, 1, True, False), input_shapes=[(3, 10)],
               desc="unbatched_ceil_nocount"),
    ModuleCase("AvgPool2d", (2, 2), input_shapes=[(1, 1, 20, 20)], desc="seed_example"),
    ModuleCase("AvgPool2d", (3, 2, 1), dict(ceil_mode=True), input_shapes=[(2, 3, 8, 8)],
               desc="ceil_past_padded_edge"),
    ModuleCase("AvgPool2d", ((3, 2), (2, 1), (1, 0)),
               dict(count_include_pad=False, ceil_mode=True), input_shapes=[(2, 2, 9, 7)],
               desc="asym_nocount_ceil"),
    ModuleCase("AvgPool2d", (3, 2, 1), dict(divisor_override=5), input_shapes=[(3, 9, 9)],
               desc="divisor_override_unbatched"),
    ModuleCase("AvgPool2d", (2,), input_shapes=[(2, 3, 6, 6)], desc="float64",
               dtype="float64"),
    ModuleCase("AvgPool3d", (2,), input_shapes=[(2, 2, 4, 6, 6)], desc="k2"),
    ModuleCase("AvgPool3d", (3, 2, 1), dict(ceil_mode=True, count_include_pad=False,
                                            divisor_override=None),
               input_shapes=[(1, 2, 6, 7, 8)], desc="ceil_nocount"),
    ModuleCase("AvgPool3d", ((1, 2, 3), 1, (0, 1, 1)), dict(divisor_override=3),
               input_shapes=[(2, 4, 5, 6)], desc="unbatched_divisor_float64", dtype="float64"),
    # LPPool
    ModuleCase("LPPool1d", (2, 3), dict(stride=2), input_shapes=[(2, 3, 11)], desc="p2"),
    ModuleCase("LPPool1d", (1, 2), dict(ceil_mode=True), input_shapes=[(3, 9)],
               desc="p1_unbatched_ceil"),
    ModuleCase("LPPool2d", (2, 3), dict(stride=2), input_shapes=[(2, 3, 9, 9)], desc="p2"),
    ModuleCase("LPPool2d", (float("inf"), 2), input_shapes=[(2, 3, 6, 6)], desc="p_inf"),
    ModuleCase("LPPool2d", (3, (2, 3), (1, 2)), dict(ceil_mode=True),
               input_shapes=[(2, 2, 7, 8)], desc="p3_ceil_float64", dtype="float64"),
    ModuleCase("LPPool3d", (2, 2), input_shapes=[(2, 2, 4, 4, 4)], desc="p2"),
    # Adaptive
    ModuleCase("AdaptiveAvgPool1d", (4,), input_shapes=[(2, 3, 10)], desc="nondivisible"),
    ModuleCase("AdaptiveAvgPool1d", (1,), input_shapes=[(3, 7)], desc="global_unbatched"),
    ModuleCase("AdaptiveAvgPool2d", ((1, 1),), input_shapes=[(2, 8, 7, 7)], desc="global"),
    ModuleCase("AdaptiveAvgPool2d", ((3, None),), input_shapes=[(2, 3, 7, 5)],
               desc="none_entry"),
    ModuleCase("AdaptiveAvgPool2d", (5,), input_shapes=[(2, 3, 7, 9)], desc="upsampling_float64",
               dtype="float64"),
    ModuleCase("AdaptiveAvgPool3d", ((2, 3, None),), input_shapes=[(2, 2, 5, 7, 4)],
               desc="mixed"),
    ModuleCase("AdaptiveMaxPool1d", (4,), dict(return_indices=True), inputs=_ints((2, 3, 10)),
               desc="ties_indices"),
    ModuleCase("AdaptiveMaxPool2d", ((3, 2),), input_shapes=[(2, 3, 7, 6)],
               desc="nondivisible"),
    ModuleCase("AdaptiveMaxPool2d", ((None, 3), True), inputs=_ints((3, 5, 8)),
               desc="ties_unbatched_indices"),
    ModuleCase("AdaptiveMaxPool2d", (1,), input_shapes=[(2, 3, 5, 5)], desc="global_float64",
               dtype="float64"),
    ModuleCase("AdaptiveMaxPool3d", ((2, 3, 2), True), inputs=_ints((1, 2, 5, 7, 4)),
               desc="ties_indices"),
    # Fractional (torch's samples given to both sides: identical windows)
    ModuleCase("FractionalMaxPool2d", (3,), dict(output_size=(5, 4),
                                                 _random_samples=_samples((2, 3, 2))),
               torch_kwargs=dict(output_size=(5, 4),
                                 _random_samples=torch.from_numpy(_samples((2, 3, 2)))),
               input_shapes=[(2, 3, 11, 9)], desc="samples"),
    ModuleCase("FractionalMaxPool2d", (2,), dict(output_ratio=0.5, return_indices=True,
                                                 _random_samples=_samples((2, 3, 2))),
               torch_kwargs=dict(output_ratio=0.5, return_indices=True,
                                 _random_samples=torch.from_numpy(_samples((2, 3, 2)))),
               inputs=_ints((2, 3, 10, 8)), desc="ratio_ties_indices"),
    ModuleCase("FractionalMaxPool2d", (2,), dict(output_size=4), input_shapes=[(2, 3, 9, 9)],
               desc="random_stream", random=True),
    ModuleCase("FractionalMaxPool3d", (2,), dict(output_size=(3, 4, 3),
                                                 _random_samples=_samples((2, 2, 3))),
               torch_kwargs=dict(output_size=(3, 4, 3),
                                 _random_samples=torch.from_numpy(_samples((2, 2, 3)))),
               input_shapes=[(2, 2, 7, 8, 6)], desc="samples"),
    ModuleCase("FractionalMaxPool3d", (2,), dict(output_ratio=(0.5, 0.5, 0.5)),
               input_shapes=[(2, 6, 6, 6)], desc="random_stream_unbatched", random=True),
    # Unpool
    ModuleCase("MaxUnpool1d", (2,), inputs=_pooled(1, (2, 3, 8), 2), desc="k2"),
    ModuleCase("MaxUnpool1d", (3, 1), inputs=_pooled(1, (2, 3, 8), 3, 1, ties=True),
               desc="overlapping_duplicates"),
    ModuleCase("MaxUnpool2d", (2, 2), inputs=_pooled(2, (2, 3, 6, 6), 2, 2), desc="k2"),
    ModuleCase("MaxUnpool2d", (3, 2, 1), inputs=_pooled(2, (2, 3, 7, 7), 3, 2, 1),
               forward_kwargs=dict(output_size=(7, 7)), desc="output_size"),
    ModuleCase("MaxUnpool2d", (2,), inputs=_pooled(2, (3, 6, 6), 2), desc="unbatched_float64",
               dtype="float64"),
    ModuleCase("MaxUnpool3d", (2,), inputs=_pooled(3, (1, 2, 4, 4, 6), 2), desc="k2"),
    # torch takes the first N rows of a larger _random_samples (here 2 rows, unbatched input;
    # torch's module_db case, float64 like its samples).
    ModuleCase("FractionalMaxPool3d", (2,), dict(output_ratio=0.5,
                                                 _random_samples=_samples((2, 4, 3))),
               torch_kwargs=dict(output_ratio=0.5,
                                 _random_samples=torch.from_numpy(_samples((2, 4, 3)))),
               input_shapes=[(4, 5, 5, 5)], dtype="float64", rtol=1e-10, atol=1e-12,
               desc="extra_sample_rows_unbatched_float64"),
    ModuleCase("LPPool1d", (1.5, 2), inputs=lambda rng: (
        np.array([[[0, 0, 1, 0, -2, 0, 0.5]]] * 2, np.float32),), desc="norm_zeros_nan_pattern"),
]


FUNCTION_CASES = [
    _fc("max_pool1d", (2, 3, 10), 3, 2, 1, desc="pad"),
    _fc("max_pool1d", (2, 3, 11), 3, 2, 1, 2, True, True, desc="dil_ceil_indices_ties",
        ties=True),
    _fc("max_pool1d", (2, 3, 9), 2, 1, desc="overlap_ties", ties=True),
    _fc("max_pool1d", (3, 9), 2, 1, desc="float64_unbatched", dtype=np.float64),
    _fc("max_pool2d", (2, 3, 9, 9), 3, 2, 1, desc="k3s2p1"),
    _fc("max_pool2d", (2, 3, 8, 9), 3, 1, 1, desc="k3s1_ties_indices", ties=True,
        return_indices=True),
    _fc("max_pool2d", (1, 2, 9, 10), (2, 3), (2, 2), (1, 1), (2, 1), desc="ceil_dil_ties",
        ties=True, ceil_mode=True, return_indices=True),
    _fc("max_pool2d", (2, 3, 7, 7), 2, desc="float64", dtype=np.float64, return_indices=True),
    _fc("max_pool3d", (2, 2, 5, 6, 7), 2, 2, desc="k2"),
    _fc("max_pool3d", (1, 2, 6, 7, 6), 3, 2, 1, desc="ties_indices_ceil", ties=True,
        ceil_mode=True, return_indices=True),
    _fc("max_pool3d", (2, 5, 5, 5), (2, 1, 3), 1, (1, 0, 1), (1, 2, 1),
        desc="dilated_unbatched_float64", dtype=np.float64),
    _fc("max_pool1d_with_indices", (2, 3, 9), 3, 2, desc="k3s2", ties=True),
    _fc("max_pool2d_with_indices", (2, 3, 7, 7), 3, 2, 1, desc="k3s2p1", ties=True),
    _fc("max_pool3d_with_indices", (1, 2, 5, 5, 5), 2, 2, desc="k2", ties=True),
    _fc("avg_pool1d", (2, 3, 10), 3, 2, 1, desc="pad"),
    _fc("avg_pool1d", (2, 3, 10), 3, 2, 1, True, False, desc="ceil_nocount"),
    _fc("avg_pool1d", (3, 11), 4, 3, 2, True, True, desc="unbatched_ceil_past_edge_float64",
        dtype=np.float64),
    _fc("avg_pool2d", (2, 3, 8, 8), 2, desc="k2"),
    _fc("avg_pool2d", (2, 3, 8, 7), 3, 2, 1, True, True, desc="ceil_past_padded_edge"),
    _fc("avg_pool2d", (2, 3, 8, 7), 3, 2, 1, True, False, desc="ceil_nocount"),
    _fc("avg_pool2d", (2, 3, 7, 7), (3, 2), (2, 1), (1, 1), False, True, 4,
        desc="divisor_override"),
    _fc("avg_pool2d", (3, 7, 7), 3, 2, 1, desc="unbatched_float64", dtype=np.float64,
        count_include_pad=False),
    _fc("avg_pool3d", (2, 2, 5, 6, 7), 2, desc="k2"),
    _fc("avg_pool3d", (1, 2, 6, 7, 5), 3, 2, 1, True, False, desc="ceil_nocount"),
    _fc("avg_pool3d", (2, 5, 6, 7), (1, 2, 3), 1, (0, 1, 1), divisor_override=2,
        desc="divisor_unbatched_float64", dtype=np.float64),
    _fc("lp_pool1d", (2, 3, 9), 2.0, 3, 2, desc="p2"),
    _pos("lp_pool1d", (2, 3, 9), 1.5, 2, desc="p1.5"),
    _fc("lp_pool2d", (2, 3, 8, 8), 2, 2, desc="p2"),
    _pos("lp_pool2d", (2, 3, 8, 7), 2.5, (3, 2), (2, 1), True, desc="p2.5_ceil"),
    _fc("lp_pool2d", (2, 3, 6, 6), float("inf"), 2, desc="p_inf"),
    _fc("lp_pool2d", (3, 6, 6), 2, 3, 1, desc="unbatched_float64", dtype=np.float64),
    _fc("lp_pool3d", (2, 2, 4, 5, 4), 2, 2, desc="p2"),
    _pos("lp_pool3d", (1, 2, 5, 5, 5), 3.0, 3, 2, True, desc="p3_ceil"),
    _fc("adaptive_avg_pool1d", (2, 3, 10), 4, desc="nondivisible"),
    _fc("adaptive_avg_pool1d", (3, 10), 15, desc="upsample_unbatched"),
    _fc("adaptive_avg_pool2d", (2, 3, 7, 9), (3, 4), desc="nondivisible"),
    _fc("adaptive_avg_pool2d", (2, 3, 8, 6), (None, 1), desc="none_entry"),
    _fc("adaptive_avg_pool2d", (2, 3, 7, 7), 1, desc="global_float64", dtype=np.float64),
    _fc("adaptive_avg_pool3d", (2, 2, 5, 6, 7), (2, 3, 4), desc="nondivisible"),
    _fc("adaptive_avg_pool3d", (2, 5, 6, 7), (None, 2, 1), desc="unbatched_none"),
    _fc("adaptive_max_pool1d", (2, 3, 10), 4, desc="nondivisible_ties", ties=True,
        return_indices=True),
    _fc("adaptive_max_pool1d", (3, 10), 5, desc="divisible_unbatched"),
    _fc("adaptive_max_pool2d", (2, 3, 7, 9), (3, 4), desc="nondivisible_ties", ties=True,
        return_indices=True),
    _fc("adaptive_max_pool2d", (2, 3, 8, 6), (4, None), desc="divisible_none_indices",
        return_indices=True, ties=True),
    _fc("adaptive_max_pool2d", (2, 3, 5, 5), 7, desc="upsample_float64", dtype=np.float64,
        return_indices=True),
    _fc("adaptive_max_pool3d", (2, 2, 5, 6, 7), (2, 3, 4), desc="nondivisible_ties",
        ties=True, return_indices=True),
    _fc("adaptive_max_pool3d", (2, 4, 6, 4), (2, 3, 1), desc="unbatched"),
    _fc("adaptive_max_pool1d_with_indices", (2, 3, 10), 3, desc="ties", ties=True),
    _fc("adaptive_max_pool2d_with_indices", (2, 3, 7, 9), (3, 4), desc="ties", ties=True),
    _fc("adaptive_max_pool3d_with_indices", (1, 2, 5, 5, 5), 2, desc="ties", ties=True),
    _frac_fc(2, (2, 3, 11, 9), 3, "output_size", output_size=(5, 4)),
    _frac_fc(2, (2, 3, 10, 10), 2, "ratio_ties_indices", output_ratio=(0.5, 0.7),
             return_indices=True, ties=True),
    _frac_fc(2, (3, 9, 9), (2, 3), "unbatched_float64_indices", output_size=(4, 5),
             return_indices=True, dtype=np.float64),
    _frac_fc(2, (2, 2, 8, 8), 1, "k1_single_output", output_size=(1, 8)),
    _frac_fc(3, (2, 2, 7, 8, 6), 2, "output_size_indices", output_size=(3, 4, 3),
             return_indices=True),
    _frac_fc(3, (2, 6, 7, 8), (1, 2, 3), "unbatched_ratio_ties", output_ratio=(0.5, 0.5, 0.5),
             ties=True),
    _frac_fc(2, (2, 3, 9, 9), 2, "k2", output_size=4,
             name="fractional_max_pool2d_with_indices"),
    _frac_fc(3, (1, 2, 6, 6, 6), 2, "k2", output_size=3,
             name="fractional_max_pool3d_with_indices"),
    _unpool_fc(1, (2, 3, 8), 2, desc="k2"),
    _unpool_fc(1, (2, 3, 8), 3, 1, desc="duplicates", ties=True),
    _unpool_fc(2, (2, 3, 6, 6), 2, desc="k2"),
    _unpool_fc(2, (2, 3, 7, 7), 3, 2, 1, desc="output_size_full", output_size=(2, 3, 7, 7)),
    _unpool_fc(2, (3, 6, 6), 2, desc="unbatched_float64", dtype=np.float64),
    _unpool_fc(3, (1, 2, 4, 6, 4), 2, desc="k2"),
    _unpool_fc(3, (1, 2, 5, 5, 5), 2, 2, desc="output_size", output_size=(5, 5, 5)),
    # Zeros and negative windows with a non-integer p: NaN windows (a negative sum to the power
    # 1.5) send NaN to every input of the window, zeros included, as torch's relu/pow do.
    FunctionCase("lp_pool1d", lambda rng: ((np.array([[[0, 0, 1, 0, -2, 0, 0.5, 0, -1, -1]]],
                                                      np.float32), 1.5, 2), {}),
                 desc="p1.5_zeros_and_negatives"),
    FunctionCase("lp_pool2d", lambda rng: ((rng.integers(-1, 2, (1, 2, 4, 6)).astype(np.float64),
                                            2.5, 2), {}),
                 desc="p2.5_zeros_float64"),
]


def _x(*shape):
    return jnp.ones(shape)


ERROR_CASES = [
    ErrorCase("max_pool2d", lambda: F.max_pool2d(_x(4, 4), 2), ValueError,
              r"max_pool2d.*3 or 4 dimensions.*\(4, 4\)", desc="rank"),
    ErrorCase("max_pool2d", lambda: F.max_pool2d(_x(1, 1, 6, 6), 2, 1, 2), ValueError,
              r"pad should be at most half of effective kernel size.*pad=2, kernel_size=2",
              desc="pad_too_big"),
    ErrorCase("max_pool1d", lambda: F.max_pool1d(_x(1, 1, 2), 3), ValueError,
              r"max_pool1d.*output size.*too small", desc="output_too_small"),
    ErrorCase("max_pool2d", lambda: F.max_pool2d(_x(1, 1, 6, 6), 0), ValueError,
              r"kernel_size to be positive, got \(0, 0\)", desc="zero_kernel"),
    ErrorCase("max_pool3d", lambda: F.max_pool3d(_x(1, 1, 6, 6, 6), (2, 2)), ValueError,
              r"kernel_size.*tuple of 3 ints.*\(2, 2\)", desc="kernel_len"),
    ErrorCase("avg_pool2d", lambda: F.avg_pool2d(_x(1, 1, 6, 6), 2, 2, 2), ValueError,
              r"avg_pool2d: pad should be at most half of kernel size", desc="pad_too_big"),
    ErrorCase("avg_pool2d", lambda: F.avg_pool2d(_x(1, 1, 6, 6), 2, divisor_override=0),
              ValueError, r"divisor_override must be a non-zero int", desc="divisor_zero"),
    ErrorCase("avg_pool1d", lambda: F.avg_pool1d(_x(1, 1, 1, 6), 2), ValueError,
              r"avg_pool1d.*2 or 3 dimensions.*\(1, 1, 1, 6\)", desc="rank"),
    ErrorCase("adaptive_avg_pool2d", lambda: F.adaptive_avg_pool2d(_x(1, 1, 6, 6), (2, 2, 2)),
              ValueError, r"output_size.*tuple of 2", desc="output_size_len"),
    ErrorCase("adaptive_max_pool2d", lambda: F.adaptive_max_pool2d(_x(1, 1, 6, 6), (0, 2)),
              ValueError, r"adaptive_max_pool2d.*positive", desc="output_size_zero"),
    ErrorCase("fractional_max_pool2d", lambda: F.fractional_max_pool2d(_x(1, 1, 6, 6), 2),
              ValueError, r"either an output_size or an output_ratio", desc="no_size"),
    ErrorCase("fractional_max_pool2d",
              lambda: F.fractional_max_pool2d(_x(1, 1, 6, 6), 3, output_size=5), ValueError,
              r"kernel_size\[0\] - 1 must be at most", desc="too_large"),
    ErrorCase("fractional_max_pool2d",
              lambda: F.fractional_max_pool2d(_x(2, 1, 6, 6), 2, output_size=3,
                                              _random_samples=jnp.ones((1, 1, 2))),
              ValueError, r"_random_samples of shape \(N, 1, 2\) with N >= 2 \(the batch size\), "
              r"got \(1, 1, 2\)", desc="samples_shape"),
    ErrorCase("FractionalMaxPool2d", lambda: nn.FractionalMaxPool2d(2), ValueError,
              r"either an output size, or a pooling ratio", desc="no_size"),
    ErrorCase("FractionalMaxPool3d", lambda: nn.FractionalMaxPool3d(2, output_ratio=1.5),
              ValueError, r"output_ratio must be between 0 and 1", desc="ratio"),
    ErrorCase("max_unpool2d",
              lambda: F.max_unpool2d(_x(1, 1, 3, 3), jnp.zeros((1, 1, 3, 3), jnp.int32), 2,
                                     output_size=(9, 6)),
              ValueError, r'invalid output_size "\[9, 6\]" \(dim 0 must be between 4 and 8\)',
              desc="output_size"),
    ErrorCase("max_unpool2d",
              lambda: F.max_unpool2d(_x(1, 1, 3, 3), jnp.zeros((1, 1, 3, 2), jnp.int32), 2),
              ValueError, r"indices of the same shape", desc="indices_shape"),
    ErrorCase("MaxPool2d", lambda: nn.MaxPool2d(2)(_x(2, 2, 2, 2, 2)), ValueError,
              r"max_pool2d: expected input with 3 or 4 dimensions", desc="rank"),
    ErrorCase("AvgPool3d", lambda: nn.AvgPool3d(2)(_x(2, 2, 2)), ValueError,
              r"avg_pool3d: expected input with 4 or 5 dimensions", desc="rank"),
    # Indices outside the output plane: torch's eager check (an nn.jit/jax.jit call drops them).
    ErrorCase("max_unpool2d", lambda: F.max_unpool2d(jnp.ones((1, 1, 2, 2)),
                                                     jnp.array([[[[0, 99], [2, 3]]]]), 2),
              ValueError, r"Found an invalid max index: 99 \(output volumes are of size 4x4\)",
              desc="index_too_large",
              torch_fn=lambda: torch.nn.functional.max_unpool2d(
                  torch.ones(1, 1, 2, 2), torch.tensor([[[[0, 99], [2, 3]]]]), 2)),
    ErrorCase("MaxUnpool1d", lambda: nn.MaxUnpool1d(2)(jnp.ones((1, 1, 2)), jnp.array([[[0, -1]]])),
              ValueError, r"Found an invalid max index: -1", desc="negative_index",
              torch_fn=lambda: torch.nn.MaxUnpool1d(2)(torch.ones(1, 1, 2),
                                                       torch.tensor([[[0, -1]]]))),
    ErrorCase("max_unpool3d", lambda: F.max_unpool3d(jnp.ones((1, 1, 1, 1, 2)),
                                                     jnp.array([[[[[0, 16]]]]]), 2),
              ValueError, r"invalid max index: 16 \(output volumes are of size 2x2x4\)",
              desc="index_too_large",
              torch_fn=lambda: torch.nn.functional.max_unpool3d(
                  torch.ones(1, 1, 1, 1, 2), torch.tensor([[[[[0, 16]]]]]), 2)),
    ErrorCase("fractional_max_pool3d", lambda: F.fractional_max_pool3d(
        jnp.ones((2, 3, 5, 5, 5)), 2, output_size=3, _random_samples=jnp.full((1, 3, 3), 0.5)),
              ValueError, r"_random_samples of shape \(N, 3, 3\) with N >= 2", desc="too_few_samples",
              torch_fn=lambda: torch.nn.functional.fractional_max_pool3d(
                  torch.ones(2, 3, 5, 5, 5), 2, output_size=3,
                  _random_samples=torch.full((1, 3, 3), 0.5))),
]

EXEMPT: dict = {}
