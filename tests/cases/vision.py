"""Parity cases for ``grid_sample`` / ``affine_grid`` (jnn/functional/vision.py).

Every mode x padding_mode x align_corners for 4-D input (bilinear, nearest, bicubic) and 5-D
input (trilinear, nearest), with grid points well outside [-1, 1] (exercising zeros/border/
reflection), gradients with respect to input and grid, float64, 2-D/3-D affine grids
(unit-size dimensions included) and the seed's rotation example (chapter 4.3.2).
"""
import itertools
import math
import warnings

import jax.numpy as jnp
import numpy as np
import torch

import jnn.functional as F
from harness import ErrorCase, FunctionCase


def _gs(in_shape, grid_shape, mode, padding_mode, align_corners, dtype=np.float32, span=1.6):
    def inputs(rng):
        x = rng.standard_normal(in_shape).astype(dtype)
        g = rng.uniform(-span, span, grid_shape).astype(dtype)
        return (x, g), dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    desc = f"{len(in_shape)}d_{mode}_{padding_mode}_ac{align_corners}"
    if dtype == np.float64:
        desc += "_float64"
    return FunctionCase("grid_sample", inputs, desc=desc, atol=1e-4, rtol=1e-4)


FUNCTION_CASES = []
for _mode, _pm, _ac in itertools.product(("bilinear", "nearest", "bicubic"),
                                         ("zeros", "border", "reflection"), (False, True)):
    FUNCTION_CASES.append(_gs((2, 3, 5, 6), (2, 4, 7, 2), _mode, _pm, _ac))
for _mode, _pm, _ac in itertools.product(("bilinear", "nearest"),
                                         ("zeros", "border", "reflection"), (False, True)):
    FUNCTION_CASES.append(_gs((2, 2, 3, 4, 5), (2, 2, 3, 4, 3), _mode, _pm, _ac))
FUNCTION_CASES += [
    _gs((2, 3, 5, 6), (2, 4, 7, 2), "bilinear", "reflection", False, dtype=np.float64,
        span=3.5),
    _gs((2, 3, 5, 6), (2, 4, 7, 2), "bicubic", "border", True, dtype=np.float64),
    _gs((1, 2, 3, 4, 5), (1, 2, 2, 3, 3), "bilinear", "zeros", True, dtype=np.float64),
    _gs((2, 1, 1, 6), (2, 3, 3, 2), "bilinear", "reflection", True),  # unit-size dimension
]


def _quiet(fn):
    def call(*args, **kwargs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(*args, **kwargs)
    return call


def _ag(size, align_corners, dtype=np.float32):
    nd = len(size) - 2

    def inputs(rng):
        return (rng.standard_normal((size[0], nd, nd + 1)).astype(dtype), size), \
            dict(align_corners=align_corners)
    desc = f"{nd}d_{'x'.join(map(str, size[2:]))}_ac{align_corners}"
    if dtype == np.float64:
        desc += "_float64"
    return FunctionCase("affine_grid", inputs, desc=desc,
                        torch_fn=_quiet(torch.nn.functional.affine_grid))


FUNCTION_CASES += [
    _ag((2, 3, 5, 7), False), _ag((2, 3, 5, 7), True), _ag((2, 1, 1, 4), False),
    _ag((2, 1, 1, 4), True), _ag((2, 3, 3, 4, 5), False), _ag((2, 3, 3, 4, 5), True),
    _ag((1, 1, 2, 1, 3), True), _ag((2, 3, 6, 5), False, np.float64),
    _ag((2, 3, 2, 3, 4), True, np.float64),
]


def _rotation_inputs(rng):
    angle = -90 * math.pi / 180
    theta = np.array([[math.cos(angle), math.sin(-angle), 0],
                      [math.sin(angle), math.cos(angle), 0]], np.float32)
    lena = rng.random((1, 1, 200, 200)).astype(np.float32)
    return (lena, theta), {}


def _rotate(F_):
    def rotate(lena, theta):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            grid = F_.affine_grid(theta[None], lena.shape)  # align_corners defaults to False
            return F_.grid_sample(lena, grid=grid, mode="bilinear")
    return rotate


FUNCTION_CASES += [
    # Seed 000, section 4.3.2: rotate a 1x1x200x200 image by -90 degrees. The forward is
    # bit-identical eagerly; under jit XLA may fuse the grid's multiply-adds (one-ulp grid
    # differences move samples by ~1e-5 pixel), hence atol 1e-4. The rotation lands every
    # sample exactly on a pixel centre, where bilinear sampling has a kink: the gradient with
    # respect to theta is ill-defined there, so only the image gradient is compared.
    FunctionCase("grid_sample", _rotation_inputs, desc="seed_rotation_minus_90",
                 torch_fn=_rotate(torch.nn.functional), jnn_fn=_rotate(F), atol=1e-4,
                 nondiff=(1,)),
]


def _x(*shape, dtype=jnp.float32):
    return jnp.zeros(shape, dtype)


ERROR_CASES = [
    ErrorCase("grid_sample", lambda: F.grid_sample(_x(1, 1, 4, 4), _x(1, 2, 2, 2), mode="area",
                                                   align_corners=False),
              ValueError, r"expected mode to be 'bilinear', 'nearest' or 'bicubic', but got: "
                          r"'area'", desc="mode"),
    ErrorCase("grid_sample", lambda: F.grid_sample(_x(1, 1, 4, 4), _x(1, 2, 2, 2),
                                                   padding_mode="wrap", align_corners=False),
              ValueError, r"expected padding_mode to be 'zeros', 'border', or 'reflection'",
              desc="padding_mode"),
    ErrorCase("grid_sample", lambda: F.grid_sample(_x(1, 1, 4, 4), _x(1, 2, 2, 3),
                                                   align_corners=False),
              ValueError, r"size 2 in the last dimension.*\(1, 2, 2, 3\)", desc="grid_last"),
    ErrorCase("grid_sample", lambda: F.grid_sample(_x(1, 1, 4, 4), _x(2, 2, 2, 2),
                                                   align_corners=False),
              ValueError, r"same batch size", desc="batch"),
    ErrorCase("grid_sample", lambda: F.grid_sample(_x(1, 4, 4), _x(1, 2, 2),
                                                   align_corners=False),
              ValueError, r"4-D or 5-D input and grid", desc="rank"),
    ErrorCase("grid_sample", lambda: F.grid_sample(_x(1, 1, 2, 4, 4), _x(1, 1, 2, 2, 3),
                                                   mode="bicubic", align_corners=False),
              ValueError, r"bicubic interpolation only supports 4D input", desc="bicubic_5d"),
    ErrorCase("affine_grid", lambda: F.affine_grid(_x(1, 3, 3), (1, 1, 4, 4),
                                                   align_corners=False),
              ValueError, r"Expected a batch of 2D affine matrices of shape Nx2x3 for size "
                          r"\(1, 1, 4, 4\). Got \(1, 3, 3\)", desc="theta_shape"),
    ErrorCase("affine_grid", lambda: F.affine_grid(_x(1, 2, 3), (1, 4, 4),
                                                   align_corners=False),
              NotImplementedError, r"only supports 4D and 5D sizes", desc="size_len"),
    ErrorCase("affine_grid", lambda: F.affine_grid(_x(1, 2, 3), (1, 1, 0, 4),
                                                   align_corners=False),
              ValueError, r"Expected non-zero, positive output size", desc="empty"),
    ErrorCase("affine_grid", lambda: F.affine_grid(_x(1, 2, 3, dtype=jnp.int32), (1, 1, 4, 4),
                                                   align_corners=False),
              ValueError, r"Expected theta to have floating point type", desc="int_theta"),
]

EXEMPT: dict = {}
