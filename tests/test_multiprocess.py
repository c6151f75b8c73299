"""nn.pmap across 2 processes x 4 CPU devices (JAX's multi-process runtime on localhost)
gives the same parameters as one process training on the whole batch."""

import numpy as np

from helpers.processes import run_workers

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



def test_two_processes_match_one(tmp_path):
    run_workers("multiprocess_worker.py", tmp_path)

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
