"""A training run resumed from an nn.save checkpoint (model + optimizer + scheduler + random
stream + step) gives exactly the losses of the uninterrupted run, dropout and BatchNorm
included."""
import jax.numpy as jnp
import numpy as np

import jnn as nn
from jnn import optim


def _setup():
    nn.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.3),
                          nn.Linear(16, 3))
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    return model, opt, sched


@nn.jit
def _step(model, opt, x, y):
    loss, grads = nn.value_and_grad(lambda m: nn.functional.cross_entropy(m(x), y))(model)
    opt.step(grads)
    return loss


def _data(i):
    rng = np.random.default_rng(i)
    return (jnp.asarray(rng.standard_normal((8, 6)), jnp.float32),
            jnp.asarray(rng.integers(0, 3, 8), jnp.int32))


def _train(model, opt, sched, steps):
    losses = []
    for i in steps:
        losses.append(float(_step(model, opt, *_data(i))))
        sched.step()
    return losses


def test_resume_gives_identical_losses(tmp_path):
    model, opt, sched = _setup()
    uninterrupted = _train(model, opt, sched, range(6))

    model, opt, sched = _setup()
    first = _train(model, opt, sched, range(3))
    path = tmp_path / "ckpt.pt"
    nn.save({"model": model.state_dict(), "optim": opt.state_dict(),
             "sched": sched.state_dict(), "rng": nn.get_rng_state(), "step": 3}, path)

    model, opt, sched = _setup()
    nn.manual_seed(123)  # the restored stream must override whatever the new process has
    ckpt = nn.load(path)
    model.load_state_dict(ckpt["model"])
    opt.load_state_dict(ckpt["optim"])
    sched.load_state_dict(ckpt["sched"])
    nn.set_rng_state(ckpt["rng"])
    assert ckpt["step"] == 3
    second = _train(model, opt, sched, range(3, 6))
    assert first + second == uninterrupted
