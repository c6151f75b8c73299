"""Parity cases for the core layers: Identity, Linear, Bilinear, LazyLinear, Flatten, Unflatten,
ReLU, Sigmoid, Tanh, and their kernels."""
import jax.numpy as jnp
import numpy as np

import jnn as nn
import jnn.functional as F
from harness import ErrorCase, FunctionCase, ModuleCase


def _ints(rng, shape):
    # Integer-valued floats hit the kinks (relu at exactly 0) where gradient conventions matter.
    return rng.integers(-2, 3, size=shape).astype(np.float32)


MODULE_CASES = [
    ModuleCase("Identity", input_shapes=[(2, 3)]),
    ModuleCase("Identity", (54,), dict(unused_argument1=0.1), input_shapes=[(4,)], desc="args"),
    ModuleCase("Linear", (3, 4), input_shapes=[(2, 3)]),
    ModuleCase("Linear", (3, 4), dict(bias=False), input_shapes=[(5, 3)], desc="no_bias"),
    ModuleCase("Linear", (3, 4), input_shapes=[(2, 6, 5, 3)], desc="4d_input"),
    ModuleCase("Linear", (3, 4), input_shapes=[(3,)], desc="unbatched"),
    ModuleCase("Linear", (7, 5), input_shapes=[(4, 7)], dtype="float64", rtol=1e-10, atol=1e-12,
               desc="float64"),
    ModuleCase("Linear", (0, 3), input_shapes=[(2, 0)], desc="zero_in_features"),
    ModuleCase("Bilinear", (3, 4, 5), input_shapes=[(6, 3), (6, 4)]),
    ModuleCase("Bilinear", (2, 3, 4), dict(bias=False), input_shapes=[(2, 5, 2), (2, 5, 3)],
               desc="no_bias_3d"),
    ModuleCase("Bilinear", (2, 3, 4), input_shapes=[(5, 2), (5, 3)], dtype="float64",
               rtol=1e-10, atol=1e-12, desc="float64"),
    ModuleCase("Flatten", input_shapes=[(2, 3, 4, 5)]),
    ModuleCase("Flatten", (0, 2), input_shapes=[(2, 3, 4, 5)], desc="0_2"),
    ModuleCase("Flatten", (-3, -2), input_shapes=[(2, 3, 4, 5)], desc="negative"),
    ModuleCase("Unflatten", (1, (2, 5)), input_shapes=[(3, 10)]),
    ModuleCase("Unflatten", (-1, (2, -1)), input_shapes=[(3, 4, 6)], desc="inferred"),
    ModuleCase("ReLU", input_shapes=[(3, 4)]),
    ModuleCase("ReLU", (True,), inputs=lambda rng: (_ints(rng, (4, 5)),),
               desc="inplace_kinks"),
    ModuleCase("Sigmoid", input_shapes=[(3, 4)]),
    ModuleCase("Sigmoid", input_shapes=[(2, 3)], dtype="float64", rtol=1e-10, atol=1e-12,
               desc="float64"),
    ModuleCase("Tanh", input_shapes=[(3, 4)]),
    ModuleCase("Tanh", input_shapes=[()], desc="scalar"),
]

FUNCTION_CASES = [
    FunctionCase("linear", lambda rng: ((rng.standard_normal((2, 3)).astype(np.float32),
                                         rng.standard_normal((4, 3)).astype(np.float32),
                                         rng.standard_normal(4).astype(np.float32)), {})),
    FunctionCase("linear", lambda rng: ((rng.standard_normal((2, 5, 3)),
                                         rng.standard_normal((4, 3))), {}),
                 desc="3d_float64_no_bias", rtol=1e-10, atol=1e-12),
    FunctionCase("linear", lambda rng: ((rng.standard_normal((2, 3)).astype(np.float32),
                                         rng.standard_normal(3).astype(np.float32)), {}),
                 desc="vector_weight"),
    FunctionCase("bilinear", lambda rng: ((rng.standard_normal((4, 2)).astype(np.float32),
                                           rng.standard_normal((4, 3)).astype(np.float32),
                                           rng.standard_normal((5, 2, 3)).astype(np.float32),
                                           rng.standard_normal(5).astype(np.float32)), {})),
    FunctionCase("relu", lambda rng: ((_ints(rng, (3, 4)),), {})),
    FunctionCase("relu", lambda rng: ((rng.standard_normal((2, 3)),), {}), desc="float64",
                 rtol=1e-10, atol=1e-12),
    FunctionCase("sigmoid", lambda rng: ((rng.standard_normal((3, 4)).astype(np.float32),), {})),
    FunctionCase("tanh", lambda rng: ((rng.standard_normal((3, 4)).astype(np.float32),), {})),
]


ERROR_CASES = [
    ErrorCase("Linear", lambda: nn.Linear(3, 4)(jnp.ones((2, 5))), ValueError,
              r"last dimension 3 \(in_features\), got shape \(2, 5\)", desc="wrong_in_features"),
    ErrorCase("Linear", lambda: nn.Linear(-1, 4), ValueError, r"in_features.*non-negative.*-1",
              desc="negative_features"),
    ErrorCase("Linear", lambda: nn.Linear(3.5, 4), ValueError, r"in_features.*3.5",
              desc="float_features"),
    ErrorCase("linear", lambda: F.linear(jnp.ones((2, 3)), jnp.ones((4, 3, 1))), ValueError,
              r"weight with 1 or 2 dimensions.*\(4, 3, 1\)", desc="weight_rank"),
    ErrorCase("linear", lambda: F.linear(jnp.ones((2, 3)), jnp.ones((4, 3)), jnp.ones(5)),
              ValueError, r"bias of shape \(4,\), got shape \(5,\)", desc="bias_shape"),
    ErrorCase("Bilinear", lambda: nn.Bilinear(2, 3, 4)(jnp.ones((5, 2)), jnp.ones((5, 4))),
              ValueError, r"input2 with last dimension 3.*\(5, 4\)", desc="input2"),
    ErrorCase("bilinear", lambda: F.bilinear(jnp.ones((5, 2)), jnp.ones((4, 3)),
                                             jnp.ones((4, 2, 3))),
              ValueError, r"same leading dimensions", desc="batch_mismatch"),
    ErrorCase("Flatten", lambda: nn.Flatten(2, 1)(jnp.ones((2, 3, 4))), ValueError,
              r"start_dim \(2\) cannot come after end_dim \(1\)", desc="order"),
    ErrorCase("Unflatten", lambda: nn.Unflatten(1, (2, 4))(jnp.ones((2, 10))), ValueError,
              r"\(2, 4\) does not match size 10", desc="size"),
    ErrorCase("Unflatten", lambda: nn.Unflatten(1, [2.0, 5]), TypeError,
              r"unflattened_size must be a tuple of ints", desc="type"),
]

EXEMPT = {
    "Module": "the base class; its whole API is tested against torch in tests/test_module.py",
    "Sequential": "a container; tested against torch in tests/test_containers.py",
    "ModuleList": "a container; tested against torch in tests/test_containers.py",
    "ModuleDict": "a container; tested against torch in tests/test_containers.py",
    "ParameterList": "a container; tested against torch in tests/test_containers.py",
    "ParameterDict": "a container; tested against torch in tests/test_containers.py",
    "LazyLinear": "shape inference; tested against torch in tests/test_lazy.py",
}
