"""Sharded training step on 8 simulated CPU devices: ``nn.fully_shard`` vs ``nn.pmap`` vs
hand-written ``jax.jit`` with shardings.

The same MLP (``--width`` wide, ``--layers`` hidden Linear+ReLU layers, batch ``--batch``, MSE,
Adam lr=1e-3) is trained by

* fully_shard  ``nn.fully_shard(model)`` + the plain ``nn.jit`` step (parameters and Adam
  moments split on dim 0 over the 8 devices; the batch split over the same axis);
* pmap         ``nn.pmap`` of the same step (every device holds every parameter and moment);
* jax.jit      a hand-written ``jax.jit`` step over a dict of arrays placed with the same
  ``NamedSharding``s (and ``out_shardings`` = the input shardings), Adam written out: the
  floor for what jnn adds around XLA's SPMD program.

Each round runs every implementation for ``--steps`` steps, in interleaved order; the report
is the median over ``--rounds`` rounds of milliseconds per step, and each one's ratio to the
hand-written step. The memory table is the bytes of parameters + optimizer state that one
device holds (``array.addressable_shards``). The 8 "devices" share this machine's cores, so
the times say what the facade and the collectives cost, not what 8 accelerators would gain.

    python benchmarks/sharded.py [--rounds 5] [--steps 20] [--width 512] [--layers 4]
"""
from __future__ import annotations

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=8")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax.sharding import NamedSharding, PartitionSpec as P  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import jnn as nn  # noqa: E402
from jnn import optim  # noqa: E402

LR, B1, B2, EPS = 1e-3, 0.9, 0.999, 1e-8


def make_model(width, layers):
    nn.manual_seed(0)
    mods = [nn.Linear(width, width)]
    for _ in range(layers - 1):
        mods += [nn.ReLU(), nn.Linear(width, width)]
    return nn.Sequential(*mods)


def data(width, batch):
    rng = np.random.default_rng(0)
    return (rng.standard_normal((batch, width)).astype(np.float32),
            rng.standard_normal((batch, width)).astype(np.float32))


def train_step(model, opt, x, y):
    loss, grads = nn.value_and_grad(lambda m: ((m(x) - y) ** 2).mean())(model)
    opt.step(grads)
    return loss


def state_arrays(model, opt):
    arrays = [p._data for p in model.parameters()]
    for s in opt.state.values():
        arrays += [v for v in s.values() if isinstance(v, jax.Array)]
    return arrays


def bytes_on(device, arrays):
    return sum(s.data.nbytes for a in arrays for s in a.addressable_shards if s.device == device)


def make_fully_shard(args, mesh):
    model = nn.fully_shard(make_model(args.width, args.layers), mesh=mesh)
    opt = optim.Adam(model.parameters(), lr=LR)
    x, y = nn.distributed.shard_batch(data(args.width, args.batch), mesh)
    step = nn.jit(train_step)
    return (lambda: step(model, opt, x, y)), (lambda: state_arrays(model, opt))


def make_pmap(args, mesh):
    model = make_model(args.width, args.layers)
    opt = optim.Adam(model.parameters(), lr=LR)
    x, y = map(jnp.asarray, data(args.width, args.batch))
    step = nn.pmap(train_step)
    return (lambda: step(model, opt, x, y)), (lambda: state_arrays(model, opt))


def make_jax(args, mesh):
    model = make_model(args.width, args.layers)  # the same initial weights
    shard, repl = NamedSharding(mesh, P("fsdp")), NamedSharding(mesh, P())
    params = {k: jax.device_put(v, shard) for k, v in model.state_dict().items()}
    zeros = {k: jnp.zeros_like(v) for k, v in params.items()}
    state = {"p": params, "m": zeros, "v": dict(zeros), "t": jax.device_put(jnp.zeros(()), repl)}
    names = sorted(k[:-len(".weight")] for k in params if k.endswith(".weight"))

    def forward(p, x):
        for i, name in enumerate(names):
            x = x @ p[name + ".weight"].T + p[name + ".bias"]
            if i < len(names) - 1:
                x = jax.nn.relu(x)
        return x

    def step(s, x, y):
        loss, g = jax.value_and_grad(lambda p: jnp.mean((forward(p, x) - y) ** 2))(s["p"])
        t = s["t"] + 1
        m = jax.tree.map(lambda m, g: B1 * m + (1 - B1) * g, s["m"], g)
        v = jax.tree.map(lambda v, g: B2 * v + (1 - B2) * g * g, s["v"], g)
        c1, c2 = 1 - B1 ** t, 1 - B2 ** t
        p = jax.tree.map(lambda p, m, v: p - LR * (m / c1) / (jnp.sqrt(v / c2) + EPS),
                         s["p"], m, v)
        return {"p": p, "m": m, "v": v, "t": t}, loss

    shardings = jax.tree.map(lambda a: a.sharding, state)
    compiled = jax.jit(step, out_shardings=(shardings, repl))
    x, y = (jax.device_put(a, shard) for a in data(args.width, args.batch))
    box = {"s": state}

    def run():
        box["s"], loss = compiled(box["s"], x, y)
        return loss
    return run, (lambda: jax.tree.leaves(box["s"]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--width", type=int, default=512)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()
    devices = jax.devices()
    if len(devices) < 8:
        raise SystemExit("needs 8 devices: XLA_FLAGS=--xla_force_host_platform_device_count=8")
    mesh = nn.distributed.default_mesh("fsdp")
    impls = {"jax.jit": make_jax(args, mesh), "fully_shard": make_fully_shard(args, mesh),
             "pmap": make_pmap(args, mesh)}
    losses = {}
    for name, (run, _) in impls.items():  # compile, and check they train alike
        losses[name] = [float(run()) for _ in range(3)]
    times = {name: [] for name in impls}
    for _ in range(args.rounds):
        for name, (run, _) in impls.items():
            run().block_until_ready()
            start = time.perf_counter()
            for _ in range(args.steps):
                out = run()
            out.block_until_ready()
            times[name].append((time.perf_counter() - start) / args.steps * 1e3)
    params = sum(p.size for p in make_model(args.width, args.layers).parameters())
    print(f"MLP {args.layers} x Linear({args.width}, {args.width}), {params / 1e6:.2f}M "
          f"parameters, Adam, batch {args.batch}, {len(devices)} simulated CPU devices, "
          f"jax {jax.__version__}; median of {args.rounds} rounds x {args.steps} steps")
    print("first 3 losses: " + "; ".join(f"{k} {', '.join(f'{v:.5f}' for v in l)}"
                                          for k, l in losses.items()))
    base = statistics.median(times["jax.jit"])
    device = devices[0]
    print("\n| step | ms/step | ratio to jax.jit | params + Adam state per device |")
    print("| --- | --- | --- | --- |")
    for name, (_, arrays) in impls.items():
        t = statistics.median(times[name])
        mib = bytes_on(device, arrays()) / 2**20
        print(f"| {name} | {t:.2f} | {t / base:.2f}x | {mib:.2f} MiB |")


if __name__ == "__main__":
    main()
