"""Parity cases for activations (layers in jnn/modules/activation.py, kernels in
jnn/functional/activation.py).

Integer-valued inputs put many elements exactly on the kinks (0, +-1, +-3, 6, thresholds), so
the gradient conventions there are compared with torch's, not just the smooth parts.
"""
import jax.numpy as jnp
import numpy as np
import torch

import jnn as nn
import jnn.functional as F
from harness import ErrorCase, FunctionCase, ModuleCase


def ints(*shape, lo=-4, hi=7, dtype=np.float32):
    """Integer-valued float inputs in ``[lo, hi]``: many values sit exactly on kinks."""
    def make(rng):
        return tuple(rng.integers(lo, hi + 1, s).astype(dtype) for s in shape)
    return make


def halves(*shape, lo=-8, hi=8, dtype=np.float32):
    """Multiples of 0.5: hits the +-0.5 kinks of the shrink functions."""
    def make(rng):
        return tuple((rng.integers(lo, hi + 1, s) / 2).astype(dtype) for s in shape)
    return make


def f_ints(*shape, lo=-4, hi=7, dtype=np.float32, **kwargs):
    """FunctionCase inputs: one integer-valued array plus keyword arguments."""
    def make(rng):
        return (ints(*shape, lo=lo, hi=hi, dtype=dtype)(rng)[0],), dict(kwargs)
    return make


def f_randn(shape, dtype=np.float32, scale=3.0, **kwargs):
    def make(rng):
        return ((rng.standard_normal(shape) * scale).astype(dtype),), dict(kwargs)
    return make


def f_halves(shape, **kwargs):
    def make(rng):
        return (halves(shape)(rng)[0],), dict(kwargs)
    return make


# -- layers ------------------------------------------------------------------------------------

_SIMPLE = ["ReLU", "ReLU6", "SELU", "SiLU", "Mish", "Sigmoid", "LogSigmoid", "Hardsigmoid",
           "Tanh", "Tanhshrink", "Softsign", "Hardswish", "ELU", "CELU", "GELU", "LeakyReLU",
           "Hardtanh", "Softplus", "Softshrink", "Hardshrink"]

MODULE_CASES = []
for _name in _SIMPLE:
    MODULE_CASES += [
        ModuleCase(_name, input_shapes=[(3, 4, 5)], desc="randn"),
        ModuleCase(_name, inputs=ints((4, 6)), desc="kinks"),
    ]

MODULE_CASES += [
    # inplace flags (no-ops, but shown in the repr)
    ModuleCase("ReLU", (), dict(inplace=True), input_shapes=[(2, 3)], desc="inplace"),
    ModuleCase("ReLU6", (), dict(inplace=True), inputs=ints((3, 5)), desc="inplace"),
    ModuleCase("SELU", (), dict(inplace=True), input_shapes=[(2, 3)], desc="inplace"),
    ModuleCase("SiLU", (), dict(inplace=True), input_shapes=[(2, 3)], desc="inplace"),
    ModuleCase("Mish", (), dict(inplace=True), input_shapes=[(2, 3)], desc="inplace"),
    ModuleCase("Hardsigmoid", (), dict(inplace=True), input_shapes=[(2, 3)], desc="inplace"),
    ModuleCase("Hardswish", (), dict(inplace=True), input_shapes=[(2, 3)], desc="inplace"),
    ModuleCase("Hardtanh", (), dict(inplace=True), input_shapes=[(2, 3)], desc="inplace"),
    # non-default arguments
    ModuleCase("ELU", (0.5, True), inputs=ints((3, 5)), desc="alpha-inplace"),
    ModuleCase("CELU", (2.0,), inputs=ints((3, 5)), desc="alpha2"),
    ModuleCase("CELU", (), dict(alpha=0.5, inplace=True), input_shapes=[(3, 5)], desc="alpha05"),
    ModuleCase("GELU", (), dict(approximate="tanh"), input_shapes=[(3, 5)], desc="tanh"),
    ModuleCase("GELU", (), dict(approximate="tanh"), inputs=ints((3, 5)), desc="tanh-kinks"),
    ModuleCase("LeakyReLU", (0.2,), inputs=ints((3, 5)), desc="slope"),
    ModuleCase("LeakyReLU", (), dict(negative_slope=-0.5), input_shapes=[(4,)],
               desc="negative-slope"),
    ModuleCase("Hardtanh", (-2, 2), inputs=ints((4, 5)), desc="int-bounds"),
    ModuleCase("Hardtanh", (-0.5, 3.0), inputs=halves((4, 5)), desc="float-bounds"),
    ModuleCase("Softplus", (2.0, 4.0), inputs=ints((4, 6)), desc="beta-threshold-kink"),
    ModuleCase("Softplus", (), dict(beta=0.5, threshold=1.0), input_shapes=[(3, 4)],
               desc="beta05"),
    ModuleCase("Softplus", (), input_shapes=[(3, 4)], inputs=lambda rng: (
        np.array([-100.0, -30.0, 19.0, 20.0, 21.0, 100.0], np.float32),), desc="extremes"),
    ModuleCase("Softshrink", (1.0,), inputs=halves((4, 6)), desc="lambd1"),
    ModuleCase("Softshrink", (0.0,), inputs=ints((4, 6)), desc="lambd0"),
    ModuleCase("Softshrink", (), inputs=halves((4, 6)), desc="halves"),
    ModuleCase("Hardshrink", (1.0,), inputs=halves((4, 6)), desc="lambd1"),
    ModuleCase("Hardshrink", (), inputs=halves((4, 6)), desc="halves"),
    ModuleCase("Threshold", (0.1, 20.0), input_shapes=[(3, 4)]),
    ModuleCase("Threshold", (1.0, -2.0, True), inputs=ints((4, 6)), desc="kinks-inplace"),
    ModuleCase("Threshold", (0, 5), inputs=ints((4, 6)), desc="int-args"),
    ModuleCase("GLU", (), input_shapes=[(3, 8)]),
    ModuleCase("GLU", (1,), input_shapes=[(2, 6, 5)], desc="dim1"),
    ModuleCase("GLU", (0,), input_shapes=[(4,)], desc="1d"),
    ModuleCase("PReLU", (), input_shapes=[(3, 4, 5)], desc="shared"),
    ModuleCase("PReLU", (4,), input_shapes=[(3, 4, 5)], desc="channels"),
    ModuleCase("PReLU", (3, 0.1), inputs=ints((2, 3, 4, 4)), desc="kinks-init"),
    ModuleCase("PReLU", (), inputs=ints((5,)), desc="1d"),
    ModuleCase("PReLU", (2,), input_shapes=[(3, 2)], desc="2d"),
    ModuleCase("RReLU", (), input_shapes=[(3, 4)], training=False, desc="eval"),
    ModuleCase("RReLU", (0.1, 0.3), inputs=ints((4, 6)), training=False, desc="eval-kinks"),
    ModuleCase("RReLU", (0.1, 0.3, True), input_shapes=[(4, 6)], random=True, desc="train"),
    ModuleCase("Softmax", (1,), input_shapes=[(3, 5)]),
    ModuleCase("Softmax", (-1,), input_shapes=[(2, 3, 4)], desc="dim-1"),
    ModuleCase("Softmax", (0,), inputs=lambda rng: (
        np.array([1000.0, 0.0, -1000.0], np.float32),), desc="extremes"),
    ModuleCase("Softmax", (), input_shapes=[(3, 5)], desc="implicit-2d"),
    ModuleCase("Softmax", (), input_shapes=[(2, 3, 4)], desc="implicit-3d"),
    ModuleCase("Softmax", (), input_shapes=[(5,)], desc="implicit-1d"),
    ModuleCase("Softmax", (), input_shapes=[(2, 3, 4, 2)], desc="implicit-4d"),
    ModuleCase("Softmin", (1,), input_shapes=[(3, 5)]),
    ModuleCase("Softmin", (), input_shapes=[(2, 3, 4)], desc="implicit-3d"),
    ModuleCase("LogSoftmax", (1,), input_shapes=[(3, 5)]),
    ModuleCase("LogSoftmax", (2,), input_shapes=[(2, 3, 4)], desc="dim2"),
    ModuleCase("LogSoftmax", (), input_shapes=[(3, 5)], desc="implicit"),
    ModuleCase("Softmax2d", (), input_shapes=[(2, 3, 4, 5)]),
    ModuleCase("Softmax2d", (), input_shapes=[(3, 4, 5)], desc="unbatched"),
    # float64
    ModuleCase("GELU", (), input_shapes=[(3, 5)], dtype="float64", desc="f64"),
    ModuleCase("GELU", (), dict(approximate="tanh"), input_shapes=[(3, 5)], dtype="float64",
               desc="tanh-f64"),
    ModuleCase("ELU", (), inputs=ints((3, 5)), dtype="float64", desc="f64"),
    ModuleCase("SELU", (), input_shapes=[(3, 5)], dtype="float64", desc="f64"),
    ModuleCase("Mish", (), input_shapes=[(3, 5)], dtype="float64", desc="f64"),
    ModuleCase("Softplus", (), input_shapes=[(3, 5)], dtype="float64", desc="f64"),
    ModuleCase("PReLU", (3,), input_shapes=[(2, 3, 4)], dtype="float64", desc="f64"),
    ModuleCase("LogSoftmax", (1,), input_shapes=[(3, 5)], dtype="float64", desc="f64"),
    ModuleCase("Hardswish", (), inputs=ints((3, 5)), dtype="float64", desc="f64"),
]

# -- kernels -----------------------------------------------------------------------------------

_F_SIMPLE = ["relu", "relu6", "selu", "silu", "mish", "sigmoid", "logsigmoid", "hardsigmoid",
             "tanh", "tanhshrink", "softsign", "hardswish", "elu", "celu", "gelu", "leaky_relu",
             "hardtanh", "softplus", "softshrink", "hardshrink", "rrelu"]

FUNCTION_CASES = []
for _name in _F_SIMPLE:
    FUNCTION_CASES += [
        FunctionCase(_name, f_randn((3, 4, 5)), desc="randn"),
        FunctionCase(_name, f_ints((4, 6)), desc="kinks"),
    ]


def _prelu_inputs(shape, n, ints_=False, dtype=np.float32):
    def make(rng):
        x = rng.integers(-3, 4, shape) if ints_ else rng.standard_normal(shape)
        return (x.astype(dtype), (rng.random(n) - 0.3).astype(dtype)), {}
    return make


def _glu_inputs(shape, dim):
    def make(rng):
        return (rng.standard_normal(shape).astype(np.float32),), dict(dim=dim)
    return make


FUNCTION_CASES += [
    FunctionCase("relu", f_ints((3,), inplace=True), desc="inplace"),
    FunctionCase("relu", lambda rng: ((rng.integers(-3, 4, (3, 4)).astype(np.int32),), {}),
                 desc="int-input"),
    FunctionCase("relu6", f_ints((4, 5), hi=8, inplace=True), desc="inplace-kinks"),
    FunctionCase("leaky_relu", f_ints((4, 5), negative_slope=0.3), desc="slope"),
    FunctionCase("leaky_relu", f_randn((4, 5), dtype=np.float64), desc="f64"),
    FunctionCase("elu", f_ints((4, 5), alpha=0.3), desc="alpha"),
    FunctionCase("elu", f_randn((4, 5), dtype=np.float64, alpha=2.0), desc="f64"),
    FunctionCase("celu", f_ints((4, 5), alpha=3.0), desc="alpha"),
    FunctionCase("celu", f_randn((4, 5), alpha=-1.5), desc="neg-alpha"),
    FunctionCase("gelu", f_randn((4, 5), approximate="tanh"), desc="tanh"),
    FunctionCase("gelu", f_randn((4, 5), dtype=np.float64, approximate="none"), desc="f64"),
    FunctionCase("gelu", f_randn((4, 5), dtype=np.float64, approximate="tanh"), desc="tanh-f64"),
    FunctionCase("hardtanh", f_ints((4, 5), min_val=-2.0, max_val=3.0), desc="bounds"),
    FunctionCase("hardtanh", f_halves((4, 5), min_val=-0.5, max_val=0.5), desc="half-bounds"),
    FunctionCase("softplus", f_ints((4, 6), beta=2.0, threshold=4.0), desc="threshold-kink"),
    FunctionCase("softplus", f_randn((4, 6), beta=-1.0), desc="neg-beta"),
    FunctionCase("softplus", f_randn((4, 6), dtype=np.float64, beta=0.7), desc="f64"),
    FunctionCase("softshrink", f_halves((4, 6), lambd=1.5), desc="lambd"),
    FunctionCase("softshrink", f_halves((4, 6)), desc="halves"),
    FunctionCase("hardshrink", f_halves((4, 6), lambd=1.5), desc="lambd"),
    FunctionCase("hardshrink", f_halves((4, 6)), desc="halves"),
    FunctionCase("threshold", f_ints((4, 6), threshold=1.0, value=-3.0), desc="kinks"),
    FunctionCase("threshold", f_randn((4, 6), threshold=0.1, value=20.0, inplace=True),
                 desc="randn"),
    FunctionCase("hardsigmoid", f_ints((4, 6), inplace=True), desc="inplace"),
    FunctionCase("hardswish", f_randn((4, 6), dtype=np.float64), desc="f64"),
    FunctionCase("silu", f_randn((4, 6), dtype=np.float64), desc="f64"),
    FunctionCase("mish", f_randn((4, 6), scale=30.0), desc="large"),
    FunctionCase("logsigmoid", f_randn((4, 6), scale=50.0), desc="large"),
    FunctionCase("sigmoid", f_randn((4, 6), dtype=np.float64), desc="f64"),
    FunctionCase("tanh", f_randn((4, 6), dtype=np.float64), desc="f64"),
    FunctionCase("rrelu", f_ints((4, 6), lower=0.2, upper=0.4), desc="eval-bounds"),
    FunctionCase("rrelu", f_ints((4, 6), lower=0.2, upper=0.4, training=False), desc="eval"),
    FunctionCase("rrelu", f_randn((4, 6), training=True), random=True, desc="train"),
    FunctionCase("rrelu", lambda rng: ((rng.standard_normal((2, 3)).astype(np.float32),),
                                       dict(training=True)),
                 jnn_fn=lambda x, training: F.rrelu(x, training=training, key=nn.random.next_key()),
                 random=True, desc="train-key"),
    FunctionCase("prelu", _prelu_inputs((2, 3, 4), 3), desc="channels"),
    FunctionCase("prelu", _prelu_inputs((2, 3, 4, 4), 1, ints_=True), desc="shared-kinks"),
    FunctionCase("prelu", _prelu_inputs((2, 3, 4, 4), 3, ints_=True), desc="channels-kinks"),
    FunctionCase("prelu", _prelu_inputs((5,), 1), desc="1d"),
    FunctionCase("prelu", _prelu_inputs((4, 3), 3, dtype=np.float64), desc="f64"),
    FunctionCase("glu", _glu_inputs((3, 8), -1)),
    FunctionCase("glu", _glu_inputs((2, 4, 3), 1), desc="dim1"),
    FunctionCase("glu", _glu_inputs((6,), 0), desc="1d"),
    FunctionCase("softmax", f_randn((3, 5), dim=1)),
    FunctionCase("softmax", f_randn((3, 5), dim=0), desc="dim0"),
    FunctionCase("softmax", f_randn((2, 3, 4), dim=-1), desc="3d"),
    FunctionCase("softmax", f_randn((2, 3, 4)), desc="implicit-3d"),
    FunctionCase("softmax", f_randn((2, 3, 4, 5)), desc="implicit-4d"),
    FunctionCase("softmax", f_randn((3, 5), dim=1, dtype=np.float64), desc="f64"),
    FunctionCase("softmax", f_randn((3, 5), dim=1), x64=True, desc="dtype-f64",
                 jnn_fn=lambda x, dim: F.softmax(x, dim, dtype=jnp.float64),
                 torch_fn=lambda x, dim: torch.nn.functional.softmax(x, dim, dtype=torch.float64)),
    FunctionCase("log_softmax", f_randn((3, 5), dim=0), x64=True, desc="dtype-f64",
                 jnn_fn=lambda x, dim: F.log_softmax(x, dim, dtype=jnp.float64),
                 torch_fn=lambda x, dim: torch.nn.functional.log_softmax(x, dim,
                                                                         dtype=torch.float64)),
    FunctionCase("softmax", lambda rng: ((np.asarray(rng.standard_normal(), np.float32),),
                                         dict(dim=0)), desc="0d"),
    FunctionCase("softmin", f_randn((3, 5), dim=1)),
    FunctionCase("softmin", f_randn((3,)), desc="implicit-1d"),
    FunctionCase("softmin", f_randn((3, 5), dim=0, dtype=np.float64), desc="f64"),
    FunctionCase("log_softmax", f_randn((3, 5), dim=1)),
    FunctionCase("log_softmax", f_randn((3, 5), scale=100.0, dim=-1), desc="large"),
    FunctionCase("log_softmax", f_randn((2, 3, 4, 5)), desc="implicit-4d"),
    FunctionCase("log_softmax", f_randn((3, 5), dim=1, dtype=np.float64), desc="f64"),
    FunctionCase("gumbel_softmax", f_randn((3, 5)), random=True),
    FunctionCase("gumbel_softmax", f_randn((3, 5), tau=0.5, hard=True, dim=0), random=True,
                 desc="hard"),
]


# -- bad input ---------------------------------------------------------------------------------

def _gumbel_checks():
    x = jnp.asarray(np.random.default_rng(0).standard_normal((4, 5)), jnp.float32)
    key = nn.random.next_key()
    hard = F.gumbel_softmax(x, hard=True, key=key)
    soft = F.gumbel_softmax(x, hard=False, key=key)
    assert np.allclose(np.asarray(hard).sum(-1), 1.0)
    assert set(np.unique(np.asarray(hard))) <= {0.0, 1.0}
    assert np.allclose(np.asarray(soft).sum(-1), 1.0, atol=1e-6)
    # the hard sample is the argmax of the soft one drawn with the same key
    assert (np.asarray(hard).argmax(-1) == np.asarray(soft).argmax(-1)).all()
    raise ValueError("gumbel checks passed")


def _rrelu_checks():
    x = -jnp.ones((1000,))
    y = np.asarray(F.rrelu(x, 0.1, 0.3, training=True))
    assert (-y >= 0.1 - 1e-6).all() and (-y <= 0.3 + 1e-6).all() and y.std() > 0.03
    m = nn.RReLU(0.1, 0.3)
    step = nn.jit(lambda m, x: m(x))
    a, b = np.asarray(step(m, x)), np.asarray(step(m, x))
    assert not np.allclose(a, b), "RReLU under nn.jit repeated its random slopes"
    pos = jnp.arange(1.0, 5.0)
    assert np.allclose(np.asarray(F.rrelu(pos, training=True)), np.asarray(pos))
    raise ValueError("rrelu checks passed")


ERROR_CASES = [
    ErrorCase("Hardtanh", lambda: nn.Hardtanh(1.0, -1.0), ValueError,
              r"max_val \(-1.0\) must be greater than min_val \(1.0\)"),
    ErrorCase("glu", lambda: F.glu(jnp.ones((3, 5))), ValueError,
              r"Halving dimension must be even, but dimension 1 is size 5"),
    ErrorCase("glu", lambda: F.glu(jnp.ones(())), ValueError, r"does not support scalars",
              desc="scalar"),
    ErrorCase("glu", lambda: F.glu(jnp.ones((2, 4)), dim=2), ValueError,
              r"Dimension out of range", desc="dim"),
    ErrorCase("celu", lambda: F.celu(jnp.ones(3), alpha=0.0), ValueError, r"alpha cannot be 0"),
    ErrorCase("softshrink", lambda: F.softshrink(jnp.ones(3), -1.0), ValueError,
              r"lambda must be greater or equal to 0, but found to be -1.0"),
    ErrorCase("GELU", lambda: nn.GELU("foo"), ValueError, r"'none' or 'tanh'.*'foo'"),
    ErrorCase("gelu", lambda: F.gelu(jnp.ones(3), approximate="exact"), ValueError,
              r"'none' or 'tanh'"),
    ErrorCase("prelu", lambda: F.prelu(jnp.ones((2, 3)), jnp.ones(4)), ValueError,
              r"parameter numbers = 4 and channel size = 3"),
    ErrorCase("PReLU", lambda: nn.PReLU(3)(jnp.ones(3)), ValueError,
              r"parameter numbers = 3 and channel size = 1", desc="1d-input"),
    ErrorCase("PReLU", lambda: nn.PReLU(0), ValueError, r"num_parameters.*got 0", desc="zero"),
    ErrorCase("Softmax2d", lambda: nn.Softmax2d()(jnp.ones((2, 3))), ValueError,
              r"expected input to be 3D or 4D, got 2D instead"),
    ErrorCase("softmax", lambda: F.softmax(jnp.ones((2, 3)), dim=2), ValueError,
              r"softmax: Dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)"),
    ErrorCase("log_softmax", lambda: F.log_softmax(jnp.ones((2, 3), jnp.int32), dim=1), TypeError,
              r"expected a floating input"),
    ErrorCase("gumbel_softmax", _gumbel_checks, ValueError, "gumbel checks passed",
              desc="one-hot-and-straight-through"),
    ErrorCase("RReLU", _rrelu_checks, ValueError, "rrelu checks passed",
              desc="slopes-in-range-and-fresh-under-jit"),
]
