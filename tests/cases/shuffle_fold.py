"""Parity cases for fold/unfold (jnn/functional/fold.py, jnn/modules/fold.py) and the pixel /
channel shuffles (jnn/functional/pixelshuffle.py, jnn/modules/pixelshuffle.py,
jnn/modules/channelshuffle.py)."""
import jax.numpy as jnp
import numpy as np

import jnn as nn
import jnn.functional as F
from harness import ErrorCase, FunctionCase, ModuleCase

MODULE_CASES = [
    ModuleCase("Unfold", ((2, 3),), input_shapes=[(2, 5, 3, 4)], desc="doc_example"),
    ModuleCase("Unfold", (3,), dict(dilation=(2, 1), padding=(1, 2), stride=(2, 3)),
               input_shapes=[(2, 3, 7, 8)], desc="all_options"),
    ModuleCase("Unfold", (2,), dict(stride=2), input_shapes=[(3, 6, 5)], desc="unbatched"),
    ModuleCase("Unfold", ((2, 2),), dict(padding=1), input_shapes=[(2, 2, 4, 4)],
               dtype="float64", desc="float64"),
    ModuleCase("Fold", ((4, 5), (2, 2)), input_shapes=[(1, 12, 12)], desc="doc_example"),
    ModuleCase("Fold", ((7, 8), (2, 3)), dict(dilation=(2, 1), padding=(1, 2), stride=(2, 3)),
               input_shapes=[(2, 18, 16)], desc="all_options"),
    ModuleCase("Fold", (5, 2), dict(stride=2), input_shapes=[(12, 4)],
               desc="unbatched_uncovered_edge"),
    ModuleCase("Fold", (4, 3), dict(padding=1), input_shapes=[(2, 18, 16)], dtype="float64",
               desc="float64_overlap"),
    ModuleCase("PixelShuffle", (3,), input_shapes=[(2, 18, 4, 5)], desc="r3"),
    ModuleCase("PixelShuffle", (2,), input_shapes=[(8, 3, 4)], desc="unbatched"),
    ModuleCase("PixelShuffle", (2,), input_shapes=[(2, 3, 4, 2, 3)], dtype="float64",
               desc="extra_leading_float64"),
    ModuleCase("PixelUnshuffle", (2,), input_shapes=[(2, 3, 4, 6)], desc="r2"),
    ModuleCase("PixelUnshuffle", (3,), input_shapes=[(2, 6, 9)], desc="unbatched"),
    ModuleCase("PixelUnshuffle", (2,), input_shapes=[(2, 1, 3, 4, 2)], dtype="float64",
               desc="extra_leading_float64"),
    ModuleCase("ChannelShuffle", (2,), input_shapes=[(2, 4, 3, 3)], desc="g2"),
    ModuleCase("ChannelShuffle", (3,), input_shapes=[(2, 6, 5)], desc="1d"),
    ModuleCase("ChannelShuffle", (2,), input_shapes=[(1, 4, 2, 3, 2)], dtype="float64",
               desc="3d_float64"),
]


def _fn(shape, *args, dtype=np.float32, **kwargs):
    def make(rng):
        return (rng.standard_normal(shape).astype(dtype),) + args, dict(kwargs)
    return make


FUNCTION_CASES = [
    FunctionCase("unfold", _fn((2, 3, 7, 8), (2, 3), dilation=(2, 1), padding=(1, 2),
                               stride=(2, 3)), desc="all_options"),
    FunctionCase("unfold", _fn((3, 7, 8), 3), desc="unbatched"),
    FunctionCase("unfold", _fn((2, 2, 5, 5), 2, stride=2, dtype=np.float64),
                 desc="stride_float64"),
    FunctionCase("fold", _fn((2, 18, 16), (7, 8), (2, 3), dilation=(2, 1), padding=(1, 2),
                             stride=(2, 3)), desc="all_options"),
    FunctionCase("fold", _fn((12, 9), (4, 4), 2), desc="unbatched"),
    FunctionCase("fold", _fn((2, 12, 4), 5, 2, stride=2, dtype=np.float64),
                 desc="uncovered_edge_float64"),
    FunctionCase("pixel_shuffle", _fn((2, 3, 18, 4, 5), 3), desc="extra_leading"),
    FunctionCase("pixel_shuffle", _fn((8, 2, 3), 2, dtype=np.float64), desc="float64"),
    FunctionCase("pixel_unshuffle", _fn((2, 3, 2, 4, 6), 2), desc="extra_leading"),
    FunctionCase("pixel_unshuffle", _fn((1, 6, 9), 3, dtype=np.float64), desc="float64"),
    FunctionCase("channel_shuffle", _fn((2, 6, 4, 5), 3), desc="g3"),
    FunctionCase("channel_shuffle", _fn((2, 4, 5), 4, dtype=np.float64), desc="g_eq_c"),
]


def _x(*shape):
    return jnp.ones(shape, jnp.float32)


ERROR_CASES = [
    ErrorCase("unfold", lambda: F.unfold(_x(2, 3, 4, 4, 4), 2), ValueError,
              r"unfold: expected input with 3 or 4 dimensions", desc="rank"),
    ErrorCase("unfold", lambda: F.unfold(_x(1, 3, 4, 4), 5), ValueError,
              r"calculated shape of the array of sliding blocks is \(0, 0\)", desc="too_big"),
    ErrorCase("unfold", lambda: F.unfold(_x(1, 3, 4, 4), 2, stride=0), ValueError,
              r"unfold: expected stride to be positive", desc="stride0"),
    ErrorCase("unfold", lambda: F.unfold(_x(1, 3, 4, 4), (2, 2, 2)), ValueError,
              r"unfold: expected kernel_size to be an int or a tuple of 2 ints", desc="ksize"),
    ErrorCase("Unfold", lambda: nn.Unfold(2, padding=-1)(_x(1, 3, 4, 4)), ValueError,
              r"unfold: expected padding to be non-negative", desc="padding"),
    ErrorCase("fold", lambda: F.fold(_x(1, 10, 9), (4, 4), 2), ValueError,
              r"divisible by the product of kernel_size, but got input.size\(1\)=10",
              desc="divisible"),
    ErrorCase("fold", lambda: F.fold(_x(1, 12, 8), (4, 4), 2), ValueError,
              r"number of sliding blocks 3 \* 3 = 9, but got input.size\(2\)=8", desc="blocks"),
    ErrorCase("Fold", lambda: nn.Fold(4, 2)(_x(1, 1, 12, 8)), ValueError,
              r"fold: expected input with 2 or 3 dimensions", desc="rank"),
    ErrorCase("pixel_shuffle", lambda: F.pixel_shuffle(_x(1, 6, 3, 3), 2), ValueError,
              r"divisible by upscale_factor\^2 = 4", desc="channels"),
    ErrorCase("pixel_shuffle", lambda: F.pixel_shuffle(_x(8, 3), 2), ValueError,
              r"at least 3 dimensions", desc="rank"),
    ErrorCase("PixelShuffle", lambda: nn.PixelShuffle(0)(_x(1, 4, 3, 3)), ValueError,
              r"positive int upscale_factor, got 0", desc="factor"),
    ErrorCase("pixel_unshuffle", lambda: F.pixel_unshuffle(_x(4, 3, 4), 2), ValueError,
              r"height to be divisible by downscale_factor=2, but input.size\(-2\)=3",
              desc="height"),
    ErrorCase("PixelUnshuffle", lambda: nn.PixelUnshuffle(2)(_x(4, 4, 3)), ValueError,
              r"width to be divisible by downscale_factor=2, but input.size\(-1\)=3",
              desc="width"),
    ErrorCase("channel_shuffle", lambda: F.channel_shuffle(_x(4, 6), 2), ValueError,
              r"more than 2 dimensions", desc="rank"),
    ErrorCase("ChannelShuffle", lambda: nn.ChannelShuffle(4)(_x(4, 6, 3)), ValueError,
              r"got 6 channels and groups=4", desc="groups"),
    ErrorCase("channel_shuffle", lambda: F.channel_shuffle(_x(4, 6, 3), 0), ValueError,
              r"positive int groups, got 0", desc="groups0"),
]
