import os
import sys

# Eight simulated CPU devices for the multi-device tests; must be set before jax is imported.
# The collective timeout is raised from XLA:CPU's 40 s: on a loaded 2-core machine one of the
# eight device threads can arrive later than that, which XLA treats as a hang and aborts.
# Notebook kernels started by tests/test_notebooks.py inherit these flags.
os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=8 "
                                   "--xla_cpu_collective_call_terminate_timeout_seconds=600")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
sys.path.insert(0, os.path.dirname(__file__))

import jax  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

# Strict JAX: an implicit broadcast between arrays of different ranks (``(3,) + (2, 3)``) is an
# error inside every test, so every kernel also runs for users who set
# ``jax_numpy_rank_promotion="raise"`` (code that passes under "raise" computes the same under
# JAX's default "allow"); kernels align ranks explicitly (``functional._utils.promote_rank``).
# Tests whose own code is a user program written as torch users write it (``x @ W + b``) are
# marked ``implicit_broadcasting`` and keep JAX's default. Dtype promotion stays "standard":
# jnn follows torch's promotion (int + float -> float), which "strict" forbids outright.
@pytest.fixture(autouse=True)
def _strict_rank_promotion(request):
    if request.node.get_closest_marker("implicit_broadcasting"):
        yield
        return
    with jax.numpy_rank_promotion("raise"):
        yield


torch.set_num_threads(1)  # the suite runs under xdist: one thread per worker keeps it fair
