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

A second table does the same for a model with about a hundred state arrays (six blocks of
Linear 64-64 + BatchNorm1d + ReLU + Dropout, Adam): jnn against a hand-written pure-JAX step
over the same flat arrays (parameters, BatchNorm statistics, Adam moments, the random key),
and breaks jnn's per-call cost down: the whole facade (everything but the compiled program's
own dispatch) and, within it, the guards (finding the cached state view and checking that
nothing it depends on changed; docs/design.md, "Guards").

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


# -- a ~100-array model: BatchNorm, Dropout, Adam --------------------------------------------

BLOCKS, WIDTH, P_DROP = 6, 64, 0.1
BETAS, EPS, ADAM_LR, BN_MOMENTUM, BN_EPS = (0.9, 0.999), 1e-8, 1e-3, 0.1, 1e-5


def large_data():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((BATCH, WIDTH)).astype(np.float32)
    y = rng.integers(0, 10, BATCH).astype(np.int32)
    return x, y


def make_jnn_large():
    import jnn as nn
    from jnn import optim
    layers = []
    for _ in range(BLOCKS):
        layers += [nn.Linear(WIDTH, WIDTH), nn.BatchNorm1d(WIDTH), nn.ReLU(), nn.Dropout(P_DROP)]
    model = nn.Sequential(*layers, nn.Linear(WIDTH, 10))
    opt = optim.Adam(model.parameters(), lr=ADAM_LR, betas=BETAS, eps=EPS)

    @nn.jit
    def step(model, opt, x, y):
        loss, grads = nn.value_and_grad(lambda m: xent(m(x), y))(model)
        opt.step(grads)
        return loss

    x, y = map(jnp.asarray, large_data())
    run = lambda: step(model, opt, x, y)  # noqa: E731
    return run, step, (model, opt, x, y)


def make_pure_jax_large():
    keys = jax.random.split(jax.random.PRNGKey(0), BLOCKS + 1)
    params, stats = [], []
    for i, k in enumerate(keys):
        dout = 10 if i == BLOCKS else WIDTH
        bound = 1 / np.sqrt(WIDTH)
        layer = {"w": jax.random.uniform(k, (dout, WIDTH), minval=-bound, maxval=bound),
                 "b": jnp.zeros(dout)}
        if i < BLOCKS:
            layer.update(gamma=jnp.ones(WIDTH), beta=jnp.zeros(WIDTH))
            stats.append({"mean": jnp.zeros(WIDTH), "var": jnp.ones(WIDTH),
                          "count": jnp.zeros((), jnp.int32)})
        params.append(layer)

    def forward(params, stats, x, key):
        new_stats = []
        for i, layer in enumerate(params):
            x = x @ layer["w"].T + layer["b"]
            if i == BLOCKS:
                break
            mean, var = x.mean(0), x.var(0)
            s = stats[i]
            n = x.shape[0]
            new_stats.append({"mean": (1 - BN_MOMENTUM) * s["mean"] + BN_MOMENTUM * mean,
                              "var": (1 - BN_MOMENTUM) * s["var"] + BN_MOMENTUM * var * n / (n - 1),
                              "count": s["count"] + 1})
            x = (x - mean) / jnp.sqrt(var + BN_EPS) * layer["gamma"] + layer["beta"]
            key, sub = jax.random.split(key)
            keep = jax.random.bernoulli(sub, 1 - P_DROP, x.shape)
            x = jnp.where(keep, jax.nn.relu(x) / (1 - P_DROP), 0)
        return x, new_stats

    @jax.jit
    def step(state, x, y):
        params, stats, m, v, t, key = state
        key, sub = jax.random.split(key)

        def loss_fn(p):
            logits, new_stats = forward(p, stats, x, sub)
            return xent(logits, y), new_stats
        (loss, new_stats), g = jax.value_and_grad(loss_fn, has_aux=True)(params)
        t = t + 1
        m = jax.tree.map(lambda m, g: BETAS[0] * m + (1 - BETAS[0]) * g, m, g)
        v = jax.tree.map(lambda v, g: BETAS[1] * v + (1 - BETAS[1]) * g * g, v, g)
        c1, c2 = 1 - BETAS[0] ** t, 1 - BETAS[1] ** t
        params = jax.tree.map(lambda p, m, v: p - ADAM_LR / c1 * m / (jnp.sqrt(v / c2) + EPS),
                              params, m, v)
        return (params, new_stats, m, v, t, key), loss

    zeros = jax.tree.map(jnp.zeros_like, params)
    x, y = map(jnp.asarray, large_data())
    state = {"s": (params, stats, zeros, zeros, jnp.zeros(()), jax.random.PRNGKey(1))}

    def run():
        state["s"], loss = step(state["s"], x, y)
        return loss
    return run


def large_breakdown(step, args, steps: int) -> tuple[int, float, float]:
    """(state arrays, facade us/call, guards us/call) of a jnn step, measured on its own."""
    from jnn._state import context, epoch
    model, opt, x, y = args
    entry = next(iter(step._entries.values()))
    values = step._read_values(entry)
    call = step._bind(args, {})
    block(step(*args))
    channels_last = step._channels_last()  # the static flag the call above compiled for

    def inner():
        step._local.active = (entry, call)
        return step._compiled(entry.variant.id, call.layout_id, channels_last, values,
                              call.dyn)[0]

    def guards():
        with context.STATE_LOCK:
            c = step._bind(args, {})
            e = step._entries.get(c.key)
            return e is None or e.epoch != epoch() or not e.volatile_ok()

    times = {"full": [], "inner": [], "guards": []}
    for _ in range(5):
        for name, fn in (("full", lambda: step(*args)), ("inner", inner), ("guards", guards)):
            start = time.perf_counter()
            for _ in range(steps):
                out = fn()
            block(out)
            times[name].append((time.perf_counter() - start) / steps * 1e6)
    med = {k: statistics.median(v) for k, v in times.items()}
    return len(entry.slots), med["full"] - med["inner"], med["guards"]


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

    jnn_run, jnn_step, jnn_args = make_jnn_large()
    large = {"pure JAX": make_pure_jax_large(), "jnn (nn.jit)": jnn_run}
    for run in large.values():
        for _ in range(20):
            out = run()
        block(out)
    times = {name: [] for name in large}
    for _ in range(args.rounds):
        for name, run in large.items():
            start = time.perf_counter()
            for _ in range(args.steps):
                out = run()
            block(out)
            times[name].append((time.perf_counter() - start) / args.steps * 1e6)
    arrays, facade, guards = large_breakdown(jnn_step, jnn_args, args.steps)
    floor = statistics.median(times["pure JAX"])
    print(f"\n{BLOCKS} x (Linear {WIDTH}-{WIDTH} + BatchNorm1d + ReLU + Dropout) + Linear, Adam, "
          f"batch {BATCH}: {arrays} state arrays")
    print(f"{'implementation':<16}{'us/step':>10}{'vs pure JAX':>14}")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:<16}{med:>10.1f}{med / floor:>13.2f}x")
    print(f"jnn per-call facade (all but the compiled program's dispatch): {facade:.1f} us; "
          f"of which guards: {guards:.1f} us")


if __name__ == "__main__":
    main()
