"""Parity cases for the dropout family (layers in jnn/modules/dropout.py, kernels in
jnn/functional/dropout.py).

In training the masks are random (jnn's stream differs from torch's generator), so training
cases compare shapes only (``random=True``); eval / ``p=0`` / ``training=False`` cases are exact
(the identity), and ``p=1`` is exact too (all zeros). The statistics of the masks (fraction
dropped, mean preservation, whole channels, fresh masks under ``nn.jit``) are checked in
tests/test_dropout_stats.py.
"""
import warnings

import jax
import jax.numpy as jnp
import numpy as np

import jnn as nn
import jnn.functional as F
from harness import ErrorCase, FunctionCase, ModuleCase

_LAYERS = {"Dropout": (3, 4), "Dropout1d": (2, 3, 5), "Dropout2d": (2, 3, 4, 4),
           "Dropout3d": (2, 3, 2, 2, 2), "AlphaDropout": (3, 4),
           "FeatureAlphaDropout": (2, 3, 4, 4)}

MODULE_CASES = []
for _name, _shape in _LAYERS.items():
    MODULE_CASES += [
        ModuleCase(_name, (), input_shapes=[_shape], random=True, desc="train"),
        ModuleCase(_name, (0.2, True), input_shapes=[_shape], random=True, desc="train-inplace"),
        ModuleCase(_name, (), input_shapes=[_shape], training=False, desc="eval"),
        ModuleCase(_name, (0.0,), input_shapes=[_shape], desc="p0"),
        ModuleCase(_name, (1.0,), input_shapes=[_shape], desc="p1"),
        ModuleCase(_name, (0.3,), input_shapes=[_shape], training=False, dtype="float64",
                   desc="eval-f64"),
    ]
MODULE_CASES += [
    ModuleCase("Dropout1d", (), input_shapes=[(3, 5)], random=True, desc="unbatched"),
    ModuleCase("Dropout1d", (), input_shapes=[(3, 5)], training=False, desc="unbatched-eval"),
    ModuleCase("Dropout3d", (), input_shapes=[(3, 2, 2, 2)], random=True, desc="unbatched"),
    ModuleCase("Dropout", (0.5,), input_shapes=[(4, 6)], random=True, dtype="float64",
               desc="train-f64"),
]


def _x(shape, dtype=np.float32, **kwargs):
    def make(rng):
        return (rng.standard_normal(shape).astype(dtype),), dict(kwargs)
    return make


_FUNCS = {"dropout": (3, 4), "dropout1d": (2, 3, 5), "dropout2d": (2, 3, 4, 4),
          "dropout3d": (2, 3, 2, 2, 2), "alpha_dropout": (3, 4),
          "feature_alpha_dropout": (2, 3, 4, 4)}
# torch's defaults: training=True for dropout/dropout{1,2,3}d, False for the alpha variants.

FUNCTION_CASES = []
for _name, _shape in _FUNCS.items():
    FUNCTION_CASES += [
        FunctionCase(_name, _x(_shape, p=0.3, training=True), random=True, desc="train"),
        FunctionCase(_name, _x(_shape, p=0.3, training=False), desc="eval"),
        FunctionCase(_name, _x(_shape), random=_name in ("dropout", "dropout1d", "dropout2d",
                                                         "dropout3d"), desc="defaults"),
        FunctionCase(_name, _x(_shape, p=0.0, training=True), desc="p0"),
        FunctionCase(_name, _x(_shape, p=1.0, training=True, inplace=True), desc="p1"),
        FunctionCase(_name, _x(_shape, dtype=np.float64, p=0.4, training=False), desc="f64"),
    ]
FUNCTION_CASES += [
    FunctionCase("dropout1d", _x((3, 5), p=0.5, training=True), random=True, desc="unbatched"),
    FunctionCase("dropout3d", _x((3, 2, 2, 2), p=0.5, training=True), random=True,
                 desc="unbatched"),
    FunctionCase("dropout", _x((3, 4), p=0.5, training=True), random=True,
                 jnn_fn=lambda x, **kw: F.dropout(x, key=jax.random.PRNGKey(0), **kw),
                 desc="explicit-key"),
]


def _dropout2d_warnings():
    x = jnp.ones((2, 3, 4))
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        F.dropout2d(x, 0.5, training=True, key=jax.random.PRNGKey(0))
    assert any("assuming that channel-wise 1D dropout" in str(m.message) for m in w)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        F.dropout3d(jnp.ones((2, 3)), 0.5, training=False)
    assert any("Received a 2-D input to dropout3d" in str(m.message) for m in w)
    raise ValueError("dropout warning checks passed")


def _explicit_key_is_pure():
    x = jnp.ones((64,))
    k = jax.random.PRNGKey(3)
    before = nn.get_rng_state()
    a = F.dropout(x, 0.5, key=k)
    b = F.dropout(x, 0.5, key=k)
    assert (np.asarray(a) == np.asarray(b)).all()
    assert (np.asarray(nn.get_rng_state()) == np.asarray(before)).all(), \
        "an explicit key must not advance the global stream"
    raise ValueError("explicit key checks passed")


ERROR_CASES = [
    ErrorCase("Dropout", lambda: nn.Dropout(1.5), ValueError,
              r"dropout probability has to be between 0 and 1, but got 1.5"),
    ErrorCase("Dropout2d", lambda: nn.Dropout2d(-0.1), ValueError,
              r"dropout probability has to be between 0 and 1, but got -0.1"),
    ErrorCase("AlphaDropout", lambda: nn.AlphaDropout(2), ValueError,
              r"between 0 and 1, but got 2"),
    ErrorCase("dropout", lambda: F.dropout(jnp.ones(3), 1.5), ValueError,
              r"dropout probability has to be between 0 and 1, but got 1.5"),
    ErrorCase("alpha_dropout", lambda: F.alpha_dropout(jnp.ones(3), -1.0), ValueError,
              r"between 0 and 1, but got -1.0"),
    ErrorCase("feature_alpha_dropout",
              lambda: F.feature_alpha_dropout(jnp.ones(3), 0.5, training=True), ValueError,
              r"Feature dropout requires at least 2 dimensions in the input"),
    ErrorCase("dropout1d", lambda: F.dropout1d(jnp.ones((2, 3, 4, 5))), ValueError,
              r"dropout1d: Expected 2D or 3D input, but received a 4D input"),
    ErrorCase("Dropout1d", lambda: nn.Dropout1d()(jnp.ones(4)), ValueError,
              r"Expected 2D or 3D input, but received a 1D input"),
    ErrorCase("dropout2d", lambda: F.dropout2d(jnp.ones(3), 0.5), ValueError,
              r"Feature dropout requires at least 2 dimensions"),
    ErrorCase("dropout", lambda: F.dropout(jnp.ones(3, jnp.int32), 0.5), TypeError,
              r"expected a floating input, got dtype int32"),
    ErrorCase("dropout2d", _dropout2d_warnings, ValueError, "dropout warning checks passed",
              desc="warnings"),
    ErrorCase("dropout", _explicit_key_is_pure, ValueError, "explicit key checks passed",
              desc="explicit-key"),
]
