"""One process of the 2-process nn.pmap test (launched by tests/test_multiprocess.py).

Usage: python multiprocess_worker.py PROCESS_ID PORT OUT_FILE
Each process owns 4 simulated CPU devices; the mesh spans all 8. Each process passes its half
of the global batch and trains 3 steps; the final state_dict is written to OUT_FILE.
"""
import os
import sys

from processes import join  # tests/helpers, beside this script

process_id, out_file = join()

import jax  # noqa: E402

import numpy as np  # noqa: E402

import jnn as nn  # noqa: E402
from jnn import optim  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from test_multiprocess import STEPS, make_data, make_model, train_step  # noqa: E402

assert jax.process_count() == 2 and len(jax.devices()) == 8
model, opt = make_model()
x, y = make_data()
half = slice(process_id * len(x) // 2, (process_id + 1) * len(x) // 2)
step = nn.pmap(train_step)
for _ in range(STEPS):
    loss = step(model, opt, x[half], y[half])
np.savez(out_file, loss=np.asarray(loss),
         **{k: np.asarray(v) for k, v in model.state_dict().items()})
jax.distributed.shutdown()
