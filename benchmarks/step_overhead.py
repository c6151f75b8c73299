"""Per-step cost of one compiled SGD training step: jnn vs hand-written JAX and other libraries.

The same small MLP (32-64-64-10, ReLU, batch 32, cross-entropy, SGD lr=0.01) is trained by

* jnn          ``nn.jit`` over a torch-style ``nn.Sequential`` + ``optim.SGD``
* pure JAX     a ``jax.jit`` step over a dict of arrays (the floor)
* Flax NNX     ``nnx.jit`` + ``nnx.Optimizer`` (skipped if flax is missing)
* Equinox      ``eqx.filter_jit`` + optax (skipped if equinox is missing)
* PyTorch      eager, one thread per process as configured (skipped if torch is missing)

Each round runs every implementation for ``--steps`` steps, in interleaved order, and the
report is the median over ``--rounds`` rounds of microseconds per step, with each one's
ratio to pure JAX. This machine is noisy: compare ratios from one run, not absolute times.

    python benchmarks/step_overhead.py [--rounds 7] [--steps 300]
"""
from __future__ import annotations

import argparse
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

SIZES = (32, 64, 64, 10)
BATCH = 32
LR = 0.01


def data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, SIZES[0])).astype(np.float32)
    y = rng.integers(0, SIZES[-1], BATCH).astype(np.int32)
    return x, y


def xent(logits, y):
    return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], axis=1))


def make_jnn():
    import jnn as nn
    from jnn import optim
    model = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                          nn.Linear(64, 10))
    opt = optim.SGD(model.parameters(), lr=LR)

    @nn.jit
    def step(model, opt, x, y):
        loss, grads = nn.value_and_grad(lambda m: xent(m(x), y))(model)
        opt.step(grads)
        return loss

    x, y = map(jnp.asarray, data())
    return lambda: step(model, opt, x, y)


def make_pure_jax():
    keys = jax.random.split(jax.random.PRNGKey(0), 3)
    params = {}
    for i, (k, (din, dout)) in enumerate(zip(keys, zip(SIZES[:-1], SIZES[1:]))):
        bound = 1 / np.sqrt(din)
        params[f"w{i}"] = jax.random.uniform(k, (dout, din), minval=-bound, maxval=bound)
        params[f"b{i}"] = jnp.zeros(dout)

    def forward(p, x):
        for i in range(3):
            x = x @ p[f"w{i}"].T + p[f"b{i}"]
            if i < 2:
                x = jax.nn.relu(x)
        return x

    @jax.jit
    def step(p, x, y):
        loss, g = jax.value_and_grad(lambda p: xent(forward(p, x), y))(p)
        return jax.tree.map(lambda a, b: a - LR * b, p, g), loss

    x, y = map(jnp.asarray, data())
    state = {"p": params}

    def run():
        state["p"], loss = step(state["p"], x, y)
        return loss
    return run


def make_nnx():
    from flax import nnx

    class MLP(nnx.Module):
        def __init__(self, rngs):
            self.l1 = nnx.Linear(32, 64, rngs=rngs)
            self.l2 = nnx.Linear(64, 64, rngs=rngs)
            self.l3 = nnx.Linear(64, 10, rngs=rngs)

        def __call__(self, x):
            return self.l3(jax.nn.relu(self.l2(jax.nn.relu(self.l1(x)))))

    model = MLP(nnx.Rngs(0))
    opt = nnx.Optimizer(model, optax.sgd(LR), wrt=nnx.Param)

    @nnx.jit
    def step(model, opt, x, y):
        loss, grads = nnx.value_and_grad(lambda m: xent(m(x), y))(model)
        opt.update(model, grads)
        return loss

    x, y = map(jnp.asarray, data())
    return lambda: step(model, opt, x, y)


def make_equinox():
    import equinox as eqx
    model = eqx.nn.MLP(32, 10, 64, 2, activation=jax.nn.relu, key=jax.random.PRNGKey(0))
    tx = optax.sgd(LR)
    state = {"m": model, "o": tx.init(eqx.filter(model, eqx.is_array))}

    @eqx.filter_jit
    def step(model, opt_state, x, y):
        loss, grads = eqx.filter_value_and_grad(lambda m: xent(jax.vmap(m)(x), y))(model)
        updates, opt_state = tx.update(grads, opt_state)
        return eqx.apply_updates(model, updates), opt_state, loss

    x, y = map(jnp.asarray, data())

    def run():
        state["m"], state["o"], loss = step(state["m"], state["o"], x, y)
        return loss
    return run


def make_torch():
    import torch
    model = torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64),
                                torch.nn.ReLU(), torch.nn.Linear(64, 10))
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    crit = torch.nn.CrossEntropyLoss()
    x, y = data()
    x, y = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))

    def run():
        opt.zero_grad()
        loss = crit(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return run


def block(value):
    if hasattr(value, "block_until_ready"):
        value.block_until_ready()
    elif hasattr(value, "item"):
        value.item()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args()

    candidates = {"pure JAX": make_pure_jax, "jnn (nn.jit)": make_jnn, "Flax NNX": make_nnx,
                  "Equinox": make_equinox, "PyTorch eager": make_torch}
    runs = {}
    for name, make in candidates.items():
        try:
            runs[name] = make()
        except ImportError as err:
            print(f"skipping {name}: {err}")
    for run in runs.values():  # compile and warm up
        for _ in range(20):
            out = run()
        block(out)

    times = {name: [] for name in runs}
    for _ in range(args.rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            for _ in range(args.steps):
                out = run()
            block(out)
            times[name].append((time.perf_counter() - start) / args.steps * 1e6)

    floor = statistics.median(times["pure JAX"])
    print(f"MLP {'-'.join(map(str, SIZES))}, batch {BATCH}, SGD step; median of {args.rounds} "
          f"rounds x {args.steps} steps; jax {jax.__version__}, {jax.devices()[0].platform}")
    print(f"{'implementation':<16}{'us/step':>10}{'vs pure JAX':>14}")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:<16}{med:>10.1f}{med / floor:>13.2f}x")


if __name__ == "__main__":
    main()
