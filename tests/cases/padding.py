"""Parity cases for padding (jnn/functional/padding.py, jnn/modules/padding.py).

Every mode in 1/2/3 dimensions, batched and unbatched, asymmetric and negative (cropping)
pads, constant padding over more trailing dimensions than 3, integer inputs, float64, and
torch's validation errors.
"""
import jax.numpy as jnp
import numpy as np

import jnn as nn
import jnn.functional as F
from harness import ErrorCase, FunctionCase, ModuleCase


def _mc(name, args, shape, desc, **extra):
    return ModuleCase(name, args, input_shapes=[shape], desc=desc, **extra)


MODULE_CASES = [
    _mc("ReflectionPad1d", (2,), (2, 3, 5), "int"),
    _mc("ReflectionPad1d", ((3, 1),), (3, 5), "unbatched_asym"),
    _mc("ReflectionPad1d", ((-1, 2),), (2, 3, 5), "negative"),
    _mc("ReflectionPad2d", ((1, 1, 2, 0),), (2, 3, 4, 5), "asym"),
    _mc("ReflectionPad2d", (2,), (3, 4, 5), "unbatched_float64", dtype="float64"),
    _mc("ReflectionPad3d", (1,), (1, 2, 3, 4, 5), "int"),
    _mc("ReflectionPad3d", ((1, 0, 2, 1, 0, 2),), (2, 3, 4, 5), "unbatched_asym"),
    _mc("ReplicationPad1d", ((3, 1),), (2, 3, 4), "asym"),
    _mc("ReplicationPad1d", (4,), (3, 2), "unbatched_beyond_size"),
    _mc("ReplicationPad2d", ((-1, 2, 0, 3),), (2, 3, 4, 5), "negative"),
    _mc("ReplicationPad2d", (3,), (2, 2, 3), "unbatched_float64", dtype="float64"),
    _mc("ReplicationPad3d", ((1, 2, 0, 1, 2, 0),), (1, 2, 3, 4, 5), "asym"),
    _mc("ReplicationPad3d", (1,), (2, 2, 3, 2), "unbatched"),
    _mc("ZeroPad1d", ((2, 1),), (2, 3, 4), "asym"),
    _mc("ZeroPad1d", (2,), (3, 4), "unbatched"),
    _mc("ZeroPad2d", ((1, 2, -1, 3),), (2, 3, 4, 5), "negative"),
    _mc("ZeroPad2d", (2,), (3, 4, 5), "unbatched_float64", dtype="float64"),
    _mc("ZeroPad3d", ((1, 0, 2, 1, 0, 2),), (1, 2, 3, 4, 5), "asym"),
    _mc("ConstantPad1d", ((2, 1), 3.5), (2, 3, 4), "asym"),
    _mc("ConstantPad1d", (2, -1), (4,), "only_1d_input"),
    _mc("ConstantPad2d", (1, 3), (2, 3, 4, 5), "int_value"),
    _mc("ConstantPad2d", ((1, 0, -2, 1), 0.5), (3, 4, 5), "negative_float64", dtype="float64"),
    _mc("ConstantPad3d", ((1, 2, 0, 1, 2, 0), -1.0), (1, 2, 3, 4, 5), "asym"),
    _mc("ConstantPad3d", (1, 2.0), (3, 4, 5), "no_channel_dim"),
    _mc("CircularPad1d", ((2, 1),), (2, 3, 4), "asym"),
    _mc("CircularPad1d", (3,), (3, 3), "unbatched_full_wrap"),
    _mc("CircularPad2d", ((1, 2, -1, 3),), (2, 3, 4, 5), "negative"),
    _mc("CircularPad2d", (2,), (3, 4, 5), "unbatched_float64", dtype="float64"),
    _mc("CircularPad3d", ((1, 0, 2, 1, 0, 2),), (1, 2, 3, 4, 5), "asym"),
    _mc("CircularPad3d", (1,), (2, 3, 4, 5), "unbatched"),
]


def _pad(shape, pad, dtype=np.float32, **kwargs):
    def make(rng):
        if np.dtype(dtype).kind == "i":
            x = rng.integers(-5, 6, shape).astype(dtype)
        else:
            x = rng.standard_normal(shape).astype(dtype)
        return (x, pad), dict(kwargs)
    return make


FUNCTION_CASES = [
    FunctionCase("pad", _pad((2, 3, 4, 5), (1, 2)), desc="constant_default"),
    FunctionCase("pad", _pad((2, 3, 4, 5), (1, 2, -1, 3, 0, 1, 2, 0), value=2.5),
                 desc="constant_4dims_negative"),
    FunctionCase("pad", _pad((2, 3), (1, 2, 3, 4), mode="constant", value=-1),
                 desc="constant_all_dims"),
    FunctionCase("pad", _pad((2, 3, 4), (1, 2), np.int32, value=7), desc="constant_int"),
    FunctionCase("pad", _pad((2, 3, 4), ()), desc="empty_pad"),
    FunctionCase("pad", _pad((2, 3, 4, 5), (1, 2, -1, 3), mode="reflect"), desc="reflect_2d"),
    FunctionCase("pad", _pad((3, 5), (4, 0), mode="reflect"), desc="reflect_1d_unbatched"),
    FunctionCase("pad", _pad((3, 4, 5, 6), (-1, 4, 2, 3, 1, 2), mode="reflect", dtype=np.float64),
                 desc="reflect_3d_unbatched_float64"),
    FunctionCase("pad", _pad((2, 3, 4, 5), (-1, 4, 2, 3), mode="replicate"),
                 desc="replicate_2d"),
    FunctionCase("pad", _pad((1, 2, 3, 2, 2), (2, 1, 0, 3, 1, 1), mode="replicate"),
                 desc="replicate_3d"),
    FunctionCase("pad", _pad((2, 3, 4), (3, 5), mode="replicate", dtype=np.float64),
                 desc="replicate_1d_float64"),
    FunctionCase("pad", _pad((2, 3, 4, 5), (-1, 4, 2, 3), mode="circular"),
                 desc="circular_2d"),
    FunctionCase("pad", _pad((2, 3, 4, 5, 6), (-1, 4, 2, 3, 1, 2), mode="circular"),
                 desc="circular_3d"),
    FunctionCase("pad", _pad((2, 5), (3, -2), mode="circular"), desc="circular_crop_then_wrap"),
    FunctionCase("pad", _pad((2, 3, 4), (4, 4), mode="circular"), desc="circular_full_wrap"),
]


def _x(*shape):
    return jnp.ones(shape, jnp.float32)


ERROR_CASES = [
    ErrorCase("pad", lambda: F.pad(_x(1, 2, 3), (3, 3), mode="reflect"), ValueError,
              r"padding size should be less than the corresponding input dimension.*"
              r"\(3, 3\) at dimension 2 of input \(1, 2, 3\)", desc="reflect_too_big"),
    ErrorCase("pad", lambda: F.pad(_x(1, 2, 3), (4, 0), mode="circular"), ValueError,
              r"wrapping around more than once", desc="circular_too_big"),
    ErrorCase("pad", lambda: F.pad(_x(1, 5), (4, -2), mode="circular"), ValueError,
              r"wrapping around more than once", desc="circular_after_crop"),
    ErrorCase("pad", lambda: F.pad(_x(1, 2, 3), (1, 1), mode="mirror"), NotImplementedError,
              r"unrecognised padding mode 'mirror'", desc="mode"),
    ErrorCase("pad", lambda: F.pad(_x(1, 2, 3), (1, 1, 1)), ValueError,
              r"padding length must be divisible by 2", desc="odd"),
    ErrorCase("pad", lambda: F.pad(_x(1, 2, 3), (1,) * 8), ValueError,
              r"padding length 8 and input of dimension 3", desc="too_long"),
    ErrorCase("pad", lambda: F.pad(_x(1, 2, 3), (1, 1), mode="reflect", value=2.0), ValueError,
              r"padding mode 'reflect' doesn't take in value argument", desc="value"),
    ErrorCase("pad", lambda: F.pad(_x(2, 2, 2, 2), (1, 1), mode="replicate"),
              NotImplementedError, r"padding size 2 is not supported for 4D input",
              desc="nonconstant_rank"),
    ErrorCase("pad", lambda: F.pad(_x(1, 2, 3), (1.5, 1)), TypeError,
              r"element of type float at pos 0", desc="float_pad"),
    ErrorCase("pad", lambda: F.pad(_x(1, 2, 3), (-2, -2)), ValueError,
              r"negative output size -1", desc="negative_size"),
    ErrorCase("pad", lambda: F.pad(_x(2, 0, 3), (1, 1), mode="replicate"), ValueError,
              r"expects non-empty dimensions", desc="empty_dim"),
    ErrorCase("ReflectionPad2d", lambda: nn.ReflectionPad2d(4)(_x(1, 2, 3, 3)), ValueError,
              r"padding size should be less than the corresponding input dimension",
              desc="too_big"),
    ErrorCase("CircularPad2d", lambda: nn.CircularPad2d(1)(_x(3, 3)), ValueError,
              r"CircularPad2d: expected 3D or 4D input \(got 2D input", desc="rank"),
    ErrorCase("ReplicationPad3d", lambda: nn.ReplicationPad3d(1)(_x(3, 3, 3)),
              NotImplementedError, r"padding size 6 is not supported for 3D input",
              desc="rank"),
]
