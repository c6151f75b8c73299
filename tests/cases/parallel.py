"""Parity cases for SyncBatchNorm on one device (cross-device behaviour: tests/test_parallel.py)."""
import jax.numpy as jnp

import jnn as nn
from harness import ErrorCase, ModuleCase

MODULE_CASES = [
    ModuleCase("SyncBatchNorm", (3,), input_shapes=[(4, 3, 5)]),
    ModuleCase("SyncBatchNorm", (3,), dict(momentum=None, affine=False), input_shapes=[(4, 3)],
               desc="cumulative_no_affine"),
    ModuleCase("SyncBatchNorm", (2,), input_shapes=[(3, 2, 4, 4)], training=False, desc="eval"),
    ModuleCase("SyncBatchNorm", (2,), input_shapes=[(3, 2, 2, 2, 2)], dtype="float64",
               rtol=1e-10, atol=1e-12, desc="float64_5d"),
]

ERROR_CASES = [
    ErrorCase("SyncBatchNorm", lambda: nn.SyncBatchNorm(3)(jnp.ones(3)), ValueError,
              r"expected at least 2D input \(got 1D input", desc="rank"),
]
