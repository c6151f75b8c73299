import os
import sys

# Eight simulated CPU devices for the multi-device tests; must be set before jax is imported.
os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=8")
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
