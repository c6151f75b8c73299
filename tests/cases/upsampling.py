"""Parity cases for resampling (jnn/functional/upsampling.py, jnn/modules/upsampling.py).

Every ``interpolate`` mode with ``size`` and ``scale_factor`` (non-integer factors, with and
without ``recompute_scale_factor``: torch maps coordinates with ``1/scale_factor`` unless the
scale is recomputed), ``align_corners`` True/False, antialiased down- and upsampling, float64,
gradients, the deprecated ``upsample*`` aliases and the layers' reprs.
"""
import warnings

import jax.numpy as jnp
import numpy as np
import torch

import jnn as nn
import jnn.functional as F
from harness import ErrorCase, FunctionCase, ModuleCase


def _interp(shape, desc, dtype=np.float32, name="interpolate", **kwargs):
    def inputs(rng):
        return (rng.standard_normal(shape).astype(dtype),), dict(kwargs)
    return FunctionCase(name, inputs, desc=desc)


def _quiet(fn):
    def call(*args, **kwargs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(*args, **kwargs)
    return call


FUNCTION_CASES = []
for _mode, _shape in (("nearest", (2, 3, 5, 6)), ("nearest-exact", (2, 3, 5, 6)),
                      ("area", (2, 3, 7, 6))):
    FUNCTION_CASES += [
        _interp(_shape, f"{_mode}_size", mode=_mode, size=(9, 4)),
        _interp(_shape, f"{_mode}_scale2", mode=_mode, scale_factor=2),
        _interp(_shape, f"{_mode}_scale1.7_0.6", mode=_mode, scale_factor=(1.7, 0.6)),
        _interp(_shape, f"{_mode}_scale1.7_recompute", mode=_mode, scale_factor=1.7,
                recompute_scale_factor=True),
    ]
FUNCTION_CASES += [
    _interp((2, 3, 7), "nearest_1d", mode="nearest", size=11),
    _interp((1, 2, 3, 4, 5), "nearest_3d_scale", mode="nearest", scale_factor=(2, 1.5, 0.5)),
    _interp((2, 3, 7), "nearest_exact_1d_float64", mode="nearest-exact", size=4,
            dtype=np.float64),
    _interp((1, 2, 4, 5, 3), "area_3d", mode="area", size=(2, 3, 5)),
    _interp((2, 3, 9), "area_1d_float64", mode="area", size=4, dtype=np.float64),
]
for _ac in (False, True):
    FUNCTION_CASES += [
        _interp((2, 3, 7), f"linear_size_ac{_ac}", mode="linear", size=12, align_corners=_ac),
        _interp((2, 3, 7), f"linear_scale0.6_ac{_ac}", mode="linear", scale_factor=0.6,
                align_corners=_ac),
        _interp((2, 3, 5, 6), f"bilinear_size_ac{_ac}", mode="bilinear", size=(9, 4),
                align_corners=_ac),
        _interp((2, 3, 5, 6), f"bilinear_scale1.7_ac{_ac}", mode="bilinear",
                scale_factor=1.7, align_corners=_ac),
        _interp((2, 3, 5, 6), f"bilinear_scale1.7_recompute_ac{_ac}", mode="bilinear",
                scale_factor=1.7, align_corners=_ac, recompute_scale_factor=True),
        _interp((2, 3, 5, 6), f"bilinear_size1_ac{_ac}", mode="bilinear", size=(1, 3),
                align_corners=_ac),
        _interp((2, 3, 5, 6), f"bicubic_size_ac{_ac}", mode="bicubic", size=(11, 4),
                align_corners=_ac),
        _interp((2, 3, 5, 6), f"bicubic_scale2.5_ac{_ac}", mode="bicubic",
                scale_factor=(2.5, 0.7), align_corners=_ac),
        _interp((1, 2, 3, 4, 5), f"trilinear_size_ac{_ac}", mode="trilinear", size=(5, 3, 8),
                align_corners=_ac),
        _interp((1, 2, 3, 4, 5), f"trilinear_scale_ac{_ac}", mode="trilinear",
                scale_factor=1.5, align_corners=_ac),
        _interp((2, 3, 11, 12), f"bilinear_aa_down_ac{_ac}", mode="bilinear", size=(4, 5),
                align_corners=_ac, antialias=True),
        _interp((2, 3, 11, 12), f"bicubic_aa_down_ac{_ac}", mode="bicubic",
                scale_factor=0.4, align_corners=_ac, antialias=True),
        _interp((2, 3, 5, 6), f"bicubic_aa_up_ac{_ac}", mode="bicubic", size=(9, 10),
                align_corners=_ac, antialias=True),
        _interp((2, 3, 6, 5), f"bilinear_float64_ac{_ac}", mode="bilinear", size=(9, 3),
                align_corners=_ac, dtype=np.float64),
        _interp((2, 2, 6, 5), f"bicubic_float64_ac{_ac}", mode="bicubic", scale_factor=1.5,
                align_corners=_ac, dtype=np.float64),
    ]
FUNCTION_CASES += [
    _interp((2, 3, 11, 12), "bilinear_aa_float64", mode="bilinear", size=(5, 3),
            antialias=True, dtype=np.float64),
    FunctionCase("upsample", lambda rng: ((rng.standard_normal((2, 3, 4, 5)).astype(np.float32),),
                                          dict(scale_factor=2, mode="bilinear")),
                 desc="bilinear", torch_fn=_quiet(torch.nn.functional.upsample),
                 jnn_fn=_quiet(F.upsample)),
    FunctionCase("upsample_nearest",
                 lambda rng: ((rng.standard_normal((2, 3, 4, 5)).astype(np.float32),),
                              dict(size=(7, 9))),
                 desc="size", torch_fn=_quiet(torch.nn.functional.upsample_nearest),
                 jnn_fn=_quiet(F.upsample_nearest)),
    FunctionCase("upsample_bilinear",
                 lambda rng: ((rng.standard_normal((2, 3, 4, 5)).astype(np.float32),),
                              dict(scale_factor=1.5)),
                 desc="align_corners_true", torch_fn=_quiet(torch.nn.functional.upsample_bilinear),
                 jnn_fn=_quiet(F.upsample_bilinear)),
]

MODULE_CASES = [
    ModuleCase("Upsample", (), dict(scale_factor=2), input_shapes=[(2, 3, 4, 5)],
               desc="nearest_scale"),
    ModuleCase("Upsample", ((7, 9),), dict(mode="bilinear"), input_shapes=[(2, 3, 4, 5)],
               desc="bilinear_size"),
    ModuleCase("Upsample", (), dict(scale_factor=(2, 1.5), mode="bicubic", align_corners=True),
               input_shapes=[(2, 3, 4, 5)], desc="bicubic_tuple_scale_ac"),
    ModuleCase("Upsample", (), dict(scale_factor=1.5, mode="trilinear",
                                    recompute_scale_factor=True),
               input_shapes=[(1, 2, 3, 4, 5)], desc="trilinear_recompute"),
    ModuleCase("Upsample", (5,), dict(mode="linear"), input_shapes=[(2, 3, 7)],
               desc="linear_float64", dtype="float64"),
    ModuleCase("Upsample", (), dict(scale_factor=0.5, mode="area"), input_shapes=[(2, 3, 8, 7)],
               desc="area"),
    ModuleCase("UpsamplingNearest2d", (), dict(scale_factor=2), input_shapes=[(2, 3, 4, 5)],
               desc="scale"),
    ModuleCase("UpsamplingNearest2d", ((5, 7),), input_shapes=[(2, 3, 4, 5)], desc="size"),
    ModuleCase("UpsamplingBilinear2d", (), dict(scale_factor=2), input_shapes=[(2, 3, 4, 5)],
               desc="scale"),
    ModuleCase("UpsamplingBilinear2d", ((3, 8),), input_shapes=[(2, 3, 4, 5)],
               desc="size_float64", dtype="float64"),
]


def _x(*shape):
    return jnp.ones(shape)


ERROR_CASES = [
    ErrorCase("interpolate", lambda: F.interpolate(_x(1, 1, 4, 4), size=2, scale_factor=2),
              ValueError, r"only one of size or scale_factor should be defined", desc="both"),
    ErrorCase("interpolate", lambda: F.interpolate(_x(1, 1, 4, 4)), ValueError,
              r"either size or scale_factor should be defined", desc="neither"),
    ErrorCase("interpolate", lambda: F.interpolate(_x(1, 1, 4, 4), 8, align_corners=True),
              ValueError, r"align_corners option can only be set with the interpolating modes",
              desc="align_corners_nearest"),
    ErrorCase("interpolate", lambda: F.interpolate(_x(1, 1, 4, 4), 8, mode="cubic"),
              NotImplementedError, r"unknown mode 'cubic'", desc="unknown_mode"),
    ErrorCase("interpolate", lambda: F.interpolate(_x(1, 1, 4), 8, mode="bilinear"),
              NotImplementedError, r"Got 3D input, but bilinear mode needs 4D input",
              desc="mode_rank"),
    ErrorCase("interpolate", lambda: F.interpolate(_x(1, 4), 8), NotImplementedError,
              r"Only 3D, 4D and 5D input Tensors supported \(got 2D\)", desc="rank"),
    ErrorCase("interpolate", lambda: F.interpolate(_x(1, 1, 4, 4), size=(2, 3, 4)), ValueError,
              r"same number of spatial dimensions.*\[4, 4\].*\(2, 3, 4\)", desc="size_len"),
    ErrorCase("interpolate", lambda: F.interpolate(_x(1, 1, 4, 4), size=4, mode="bilinear",
                                                   recompute_scale_factor=True),
              ValueError, r"recompute_scale_factor is not meaningful", desc="recompute_size"),
    ErrorCase("interpolate", lambda: F.interpolate(_x(1, 1, 4, 4, 4), 2, mode="trilinear",
                                                   antialias=True),
              ValueError, r"Anti-alias option is restricted", desc="antialias_mode"),
    ErrorCase("Upsample", lambda: nn.Upsample(scale_factor=2, mode="linear")(_x(1, 1, 4, 4)),
              NotImplementedError, r"Got 4D input, but linear mode needs 3D input",
              desc="mode_rank"),
]

EXEMPT: dict = {}
