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
import torch  # noqa: E402

# Strict JAX, opt-in: JNN_STRICT_RANK=1 makes an implicit broadcast between arrays of
# different ranks (``(3,) + (2, 3)``) an error. Not yet the default: about 19 kernel sites still
# rely on rank promotion (bias adds, loss weights, attention masks; listed in CHANGELOG). Dtype
# promotion stays "standard": jnn follows torch's promotion (int + float -> float), which
# "strict" forbids outright.
if os.environ.get("JNN_STRICT_RANK") == "1":
    jax.config.update("jax_numpy_rank_promotion", "raise")

torch.set_num_threads(1)  # the suite runs under xdist: one thread per worker keeps it fair
