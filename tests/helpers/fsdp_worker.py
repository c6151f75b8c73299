"""One process of the 2-process nn.fully_shard test (launched by tests/test_fully_shard.py).

Usage: python fsdp_worker.py PROCESS_ID PORT OUT_FILE
Each process owns 4 simulated CPU devices; the mesh spans all 8. Each process passes its half
of the global batch, trains 3 steps, and writes its losses and the (gathered) state_dict.
"""
import os
import sys

from processes import join  # tests/helpers, beside this script

process_id, out_file = join()

import jax  # noqa: E402

import numpy as np  # noqa: E402

# This checkout's jnn and tests (not whichever jnn is installed).
TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.dirname(TESTS), TESTS]

import jnn as nn  # noqa: E402
from test_fully_shard import OPTIMIZERS, make_data, make_model, train_step  # noqa: E402

assert jax.process_count() == 2 and len(jax.devices()) == 8
mesh = nn.distributed.default_mesh()
model = nn.fully_shard(make_model(), mesh=mesh)
assert not model[0].weight._data.is_fully_addressable  # each process holds its shards only
opt = OPTIMIZERS["adam"](model.parameters())
x, y = make_data()
half = slice(process_id * len(x) // 2, (process_id + 1) * len(x) // 2)
xs, ys = nn.distributed.shard_batch((x[half], y[half]), mesh)
step = nn.jit(train_step)
losses = [float(step(model, opt, xs, ys)) for _ in range(3)]
assert step.trace_count == 1
state = model.state_dict()  # a collective: every process gathers the full arrays
np.savez(out_file, losses=np.asarray(losses), **{k: np.asarray(v) for k, v in state.items()})
jax.distributed.shutdown()
