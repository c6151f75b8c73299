"""nn.pmap across 2 processes x 4 CPU devices (JAX's multi-process runtime on localhost)
gives the same parameters as one process training on the whole batch."""
import os
import socket
import subprocess
import sys

import numpy as np

import jnn as nn
from jnn import optim

STEPS = 3


def make_model():
    nn.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 2))
    return model, optim.SGD(model.parameters(), lr=0.1, momentum=0.9)


def make_data():
    rng = np.random.default_rng(0)
    return (rng.standard_normal((32, 4)).astype(np.float32),
            rng.standard_normal((32, 2)).astype(np.float32))


def train_step(model, opt, x, y):
    loss, grads = nn.value_and_grad(lambda m: ((m(x) - y) ** 2).mean())(model)
    opt.step(grads)
    return loss


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def test_two_processes_match_one(tmp_path):
    worker = os.path.join(os.path.dirname(__file__), "helpers", "multiprocess_worker.py")
    port = str(_free_port())
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS",)}
    procs = [subprocess.Popen([sys.executable, worker, str(i), port, str(tmp_path / f"{i}.npz")],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
             for i in range(2)]
    outputs = []
    try:
        for p in procs:
            out, _ = p.communicate(timeout=240)
            outputs.append(out.decode(errors="replace"))
    finally:
        for p in procs:
            p.kill()
    for p, out in zip(procs, outputs):
        assert p.returncode == 0, out[-3000:]

    model, opt = make_model()
    x, y = make_data()
    step = nn.jit(train_step)
    for _ in range(STEPS):
        loss = step(model, opt, x, y)
    for i in range(2):
        result = np.load(tmp_path / f"{i}.npz")
        np.testing.assert_allclose(result["loss"], loss, rtol=1e-5)
        for k, v in model.state_dict().items():
            np.testing.assert_allclose(result[k], v, rtol=1e-5, atol=1e-6, err_msg=k)
