"""Eager (op-by-op) and compiled speed of jnn's recurrent layers, and the eager first call of a
ResNet-18, side by side with PyTorch.

Three parts (``--parts eager,compiled,resnet``):

* ``eager``     ``nn.LSTM``/``nn.GRU`` called eagerly, as in a notebook: steady-state forward
                and forward+backward (``nn.value_and_grad`` vs ``loss.backward()``) against
                torch (default grad mode, and forward under ``torch.no_grad()``).
* ``compiled``  one training step (forward, cross-entropy on the last step through a linear
                head, backward, SGD with momentum) of a 2-layer LSTM (hidden 256, T 64,
                batch 32, input 256): ``nn.jit`` against torch eager and against a
                hand-written pure-JAX floor (``lax.scan`` with the input projection hoisted,
                differentiated by JAX). The first-step losses are checked to agree.
* ``resnet``    the first eager forward of a torchvision-style ResNet-18 (trace + compile in
                jnn, warm-up in torch), each in a fresh process, and the steady-state eager
                forward, interleaved in one process.

Every timed part runs both libraries in interleaved rounds and reports the median over rounds
of each time and of the per-round ratio. This machine is noisy: compare ratios from one run.

    python benchmarks/rnn_eager.py [--rounds 7] [--threads 1] [--parts eager,compiled,resnet]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time


def _thread_env(threads: int) -> dict:
    # The parent has limited its CPUs (cpu_threads.limit_threads); children inherit that.
    return dict(os.environ, BENCH_THREADS=str(threads))


if __name__ == "__main__" and "--child" not in sys.argv:
    # XLA sizes its thread pool once, at backend start: limit the CPUs before jax is imported.
    from cpu_threads import limit_threads

    limit_threads(int(sys.argv[sys.argv.index("--threads") + 1]) if "--threads" in sys.argv
                  else 1)

import numpy as np  # noqa: E402


# -- shared ------------------------------------------------------------------------------------

def block(value):
    import jax
    jax.block_until_ready(value)
    return value


def interleaved(candidates: dict, rounds: int, reps: int) -> dict:
    """``{name: [seconds per call, one per round]}``, all candidates interleaved per round."""
    for fn in candidates.values():  # warm-up (compilation)
        fn()
        fn()
    times = {name: [] for name in candidates}
    for _ in range(rounds):
        for name, fn in candidates.items():
            start = time.perf_counter()
            for _ in range(reps):
                fn()
            times[name].append((time.perf_counter() - start) / reps)
    return times


def report(title: str, times: dict, baseline: str, unit: float = 1e3, unit_name: str = "ms"):
    print(f"\n{title}")
    print(f"  {'':34s} {unit_name + ' (median)':>14s} {'ratio to ' + baseline:>22s}")
    base = times[baseline]
    for name, ts in times.items():
        ratios = [t / b for t, b in zip(ts, base)]
        print(f"  {name:34s} {statistics.median(ts) * unit:14.3f} {statistics.median(ratios):22.2f}"
              f"   (per round: {', '.join(f'{r:.2f}' for r in ratios)})")


# -- eager recurrent layers ---------------------------------------------------------------------

EAGER_CONFIGS = [
    # (class, input_size, hidden, kwargs, T, B)
    ("LSTM", 8, 16, dict(num_layers=2), 10, 4),            # issue 18's example
    ("LSTM", 32, 64, dict(bidirectional=True), 20, 8),
    ("LSTM", 64, 128, dict(num_layers=2, batch_first=True), 32, 16),
    ("GRU", 8, 16, dict(num_layers=2), 10, 4),
    ("GRU", 32, 64, dict(bidirectional=True), 20, 8),
]


def part_eager(rounds: int):
    import jax
    import jax.numpy as jnp
    import torch
    import jnn

    for cls, inp, hidden, kwargs, t_len, batch in EAGER_CONFIGS:
        torch.manual_seed(0)
        tmod = getattr(torch.nn, cls)(inp, hidden, **kwargs)
        jmod = getattr(jnn, cls)(inp, hidden, **kwargs)
        jmod.load_state_dict({k: v.detach().numpy() for k, v in tmod.state_dict().items()})
        shape = (batch, t_len, inp) if kwargs.get("batch_first") else (t_len, batch, inp)
        x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
        tx, jx = torch.from_numpy(x), jnp.asarray(x)
        np.testing.assert_allclose(np.asarray(jmod(jx)[0]), tmod(tx)[0].detach().numpy(),
                                   rtol=1e-4, atol=1e-5)

        def j_fwd():
            return block(jmod(jx))

        def t_fwd():
            return tmod(tx)

        def t_fwd_nograd():
            with torch.no_grad():
                return tmod(tx)

        j_vg = jnn.value_and_grad(lambda m: jnp.sum(m(jx)[0] ** 2))

        def j_fwd_bwd():
            return block(j_vg(jmod))

        def t_fwd_bwd():
            tmod.zero_grad()
            loss = (tmod(tx)[0] ** 2).sum()
            loss.backward()
            return loss

        name = f"{cls}({inp}, {hidden}, {kwargs}) T={t_len} B={batch}"
        times = interleaved({"torch forward": t_fwd, "torch forward (no_grad)": t_fwd_nograd,
                             "jnn forward": j_fwd}, rounds, reps=50)
        report(f"eager forward, {name}", times, "torch forward")
        times = interleaved({"torch forward+backward": t_fwd_bwd,
                             "jnn forward+backward": j_fwd_bwd}, rounds, reps=20)
        report(f"eager forward+backward, {name}", times, "torch forward+backward")


# -- compiled LSTM training step ----------------------------------------------------------------

T_LEN, BATCH, INPUT, HIDDEN, LAYERS, CLASSES, LR, MOMENTUM = 64, 32, 256, 256, 2, 10, 0.01, 0.9


def _step_data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((T_LEN, BATCH, INPUT)).astype(np.float32)
    y = rng.integers(0, CLASSES, BATCH).astype(np.int32)
    return x, y


def part_compiled(rounds: int):
    import jax
    import jax.numpy as jnp
    import torch
    import jnn
    from jnn import optim

    x, y = _step_data()
    torch.manual_seed(0)
    t_lstm, t_head = torch.nn.LSTM(INPUT, HIDDEN, LAYERS), torch.nn.Linear(HIDDEN, CLASSES)
    t_params = list(t_lstm.parameters()) + list(t_head.parameters())
    t_opt = torch.optim.SGD(t_params, lr=LR, momentum=MOMENTUM)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))

    def t_step():
        t_opt.zero_grad()
        out, _ = t_lstm(tx)
        loss = torch.nn.functional.cross_entropy(t_head(out[-1]), ty)
        loss.backward()
        t_opt.step()
        return loss

    state = {k: v.detach().numpy().copy() for k, v in t_lstm.state_dict().items()}
    head = {k: v.detach().numpy().copy() for k, v in t_head.state_dict().items()}

    # jnn: the torch-style model and optimizer under nn.jit
    class Model(jnn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = jnn.LSTM(INPUT, HIDDEN, LAYERS)
            self.head = jnn.Linear(HIDDEN, CLASSES)

        def forward(self, x):
            out, _ = self.lstm(x)
            return self.head(out[-1])

    model = Model()
    model.lstm.load_state_dict(state)
    model.head.load_state_dict(head)
    opt = optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    jx, jy = jnp.asarray(x), jnp.asarray(y)

    @jnn.jit
    def j_train(model, opt, x, y):
        loss, grads = jnn.value_and_grad(lambda m: jnn.functional.cross_entropy(m(x), y))(model)
        opt.step(grads)
        return loss

    # pure JAX floor: the same maths written by hand, differentiated by JAX
    def lstm_layer(p, xs):
        w_ih, w_hh, b = p
        gx = (xs.reshape(-1, xs.shape[-1]) @ w_ih.T + b).reshape(T_LEN, BATCH, -1)

        def step(carry, g):
            h, c = carry
            i, f, gg, o = jnp.split(g + h @ w_hh.T, 4, axis=-1)
            c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(gg)
            h = jax.nn.sigmoid(o) * jnp.tanh(c)
            return (h, c), h

        zeros = jnp.zeros((BATCH, HIDDEN), xs.dtype)
        return jax.lax.scan(step, (zeros, zeros), gx)[1]

    def pure_loss(p, x, y):
        h = x
        for layer in p["lstm"]:
            h = lstm_layer(layer, h)
        logits = h[-1] @ p["head"][0].T + p["head"][1]
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], 1))

    params = {"lstm": [(jnp.asarray(state[f"weight_ih_l{k}"]), jnp.asarray(state[f"weight_hh_l{k}"]),
                        jnp.asarray(state[f"bias_ih_l{k}"] + state[f"bias_hh_l{k}"]))
                       for k in range(LAYERS)],
              "head": (jnp.asarray(head["weight"]), jnp.asarray(head["bias"]))}
    pure = {"p": params, "m": jax.tree.map(jnp.zeros_like, params)}

    @jax.jit
    def pure_step(p, m, x, y):
        loss, g = jax.value_and_grad(pure_loss)(p, x, y)
        m = jax.tree.map(lambda m_, g_: MOMENTUM * m_ + g_, m, g)
        p = jax.tree.map(lambda p_, m_: p_ - LR * m_, p, m)
        return p, m, loss

    def p_step():
        pure["p"], pure["m"], loss = pure_step(pure["p"], pure["m"], jx, jy)
        return block(loss)

    losses = [float(t_step()), float(j_train(model, opt, jx, jy)), float(p_step())]
    print(f"\nfirst-step losses: torch {losses[0]:.6f}  jnn {losses[1]:.6f}  "
          f"pure JAX {losses[2]:.6f}")
    if max(losses) - min(losses) > 1e-4:
        raise SystemExit("first-step losses disagree: the implementations differ")
    times = interleaved({"torch eager": t_step,
                         "jnn (nn.jit)": lambda: block(j_train(model, opt, jx, jy)),
                         "pure JAX floor (jax.jit)": p_step}, rounds, reps=3)
    report(f"compiled training step, {LAYERS}-layer LSTM hidden {HIDDEN}, T {T_LEN}, "
           f"batch {BATCH}, input {INPUT}", times, "torch eager")
    floor = times["pure JAX floor (jax.jit)"]
    ratios = [a / b for a, b in zip(times["jnn (nn.jit)"], floor)]
    print(f"  jnn / pure JAX floor: {statistics.median(ratios):.2f}")


# -- ResNet-18 eager first call -----------------------------------------------------------------

def resnet18(nn, num_classes=1000):
    """torchvision's ResNet-18 against any ``nn`` namespace (torch.nn or jnn)."""
    class BasicBlock(nn.Module):
        def __init__(self, inplanes, planes, stride=1, downsample=None):
            super().__init__()
            self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.downsample = downsample

        def forward(self, x):
            identity = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return self.relu(out + identity)

    class ResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(3, 2, 1)
            layers, inplanes = [], 64
            for planes, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
                down = None
                if stride != 1 or inplanes != planes:
                    down = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False),
                                         nn.BatchNorm2d(planes))
                layers.append(nn.Sequential(BasicBlock(inplanes, planes, stride, down),
                                            BasicBlock(planes, planes)))
                inplanes = planes
            self.layer1, self.layer2, self.layer3, self.layer4 = layers
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(512, num_classes)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(self.avgpool(x).reshape(x.shape[0], -1))

    return ResNet()


RESNET_CONFIGS = [(1, 32), (8, 32), (1, 224), (8, 224)]
FIRST_CALL_VARIANTS = {
    "torch": "torch",
    "jnn": "jnn",
    "jnn, XLA's default fusion emitters": "jnn-default-emitters",
    "jnn op by op (eager_jit off: before)": "jnn-op-by-op",
}


def _first_call_child(variant: str, batch: int, size: int, train: bool) -> str:
    """In a fresh process: seconds for the first forward (jnn: trace + compile + run) and the
    number of XLA compilations it triggered."""
    x = np.random.default_rng(0).standard_normal((batch, 3, size, size)).astype(np.float32)
    if variant == "torch":
        import torch
        model = resnet18(torch.nn).train(train)
        xt = torch.from_numpy(x)
        start = time.perf_counter()
        model(xt)
        return f"{time.perf_counter() - start} 0"
    import jax.monitoring
    import jax.numpy as jnp
    import jnn
    from jnn.functional import _eager
    if variant == "jnn-default-emitters":
        _eager._CPU_COMPILER_OPTIONS = {}
    if variant == "jnn-op-by-op":
        # No eager trace kind: every eager_jit kernel runs its plain code, op by op.
        _eager._eager_kind = lambda: None
    compiles = []
    jax.monitoring.register_event_duration_secs_listener(
        lambda event, duration, **kw: compiles.append(duration)
        if event == "/jax/core/compile/backend_compile_duration" else None)
    model = resnet18(jnn).train(train)
    xj = jnp.asarray(x)
    compiles.clear()
    start = time.perf_counter()
    model(xj).block_until_ready()
    return f"{time.perf_counter() - start} {len(compiles)}"


def part_resnet(rounds: int, threads: int):
    import jax.numpy as jnp
    import torch
    import jnn

    print("\nResNet-18 eager forward, first call in a fresh process: seconds (median of 3 "
          "processes) / XLA compilations; jnn: trace + compile + run")
    print("  " + " " * 26 + "".join(f"{name:>40s}" for name in FIRST_CALL_VARIANTS))
    for train in (False, True):
        for batch, size in RESNET_CONFIGS:
            if train and batch == 1:
                continue  # batch norm needs more than one value per channel to train
            cells = []
            for variant in FIRST_CALL_VARIANTS.values():
                runs = []
                for _ in range(3):
                    cmd = [sys.executable, __file__, "--child", variant, str(batch), str(size),
                           str(int(train))]
                    out = subprocess.run(cmd, capture_output=True, text=True,
                                         env=_thread_env(threads))
                    if out.returncode:
                        raise SystemExit(f"{' '.join(cmd)} failed:\n{out.stderr[-2000:]}")
                    seconds, compiles = out.stdout.strip().split("\n")[-1].split()
                    runs.append((float(seconds), int(compiles)))
                secs = statistics.median(r[0] for r in runs)
                cells.append(f"{secs:.2f} s / {runs[0][1]}")
            mode = "train" if train else "eval"
            print(f"  {mode:5s} batch {batch} {size:3d}x{size:<3d}     " +
                  "".join(f"{c:>40s}" for c in cells))

    torch.manual_seed(0)
    tmod = resnet18(torch.nn).eval()
    jmod = resnet18(jnn).eval()
    jmod.load_state_dict({k: v.detach().numpy() for k, v in tmod.state_dict().items()})
    for batch, size in RESNET_CONFIGS:
        x = np.random.default_rng(0).standard_normal((batch, 3, size, size)).astype(np.float32)
        tx, jx = torch.from_numpy(x), jnp.asarray(x)
        with torch.no_grad():
            want = tmod(tx).numpy()
        np.testing.assert_allclose(np.asarray(jmod(jx)), want, rtol=1e-3, atol=1e-3)

        def t_fwd():
            with torch.no_grad():
                return tmod(tx)

        times = interleaved({"torch forward (no_grad)": t_fwd,
                             "jnn forward": lambda: block(jmod(jx))}, rounds,
                            reps=10 if size == 32 else 1)
        report(f"ResNet-18 eager forward, steady state, eval, batch {batch} {size}x{size}",
               times, "torch forward (no_grad)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1, help="threads for torch and XLA")
    parser.add_argument("--parts", default="eager,compiled,resnet")
    args = parser.parse_args()
    import jax
    import torch
    torch.set_num_threads(args.threads)
    print(f"jax {jax.__version__}, torch {torch.__version__}, {args.threads} thread(s), "
          f"{args.rounds} interleaved rounds")
    parts = args.parts.split(",")
    if "eager" in parts:
        part_eager(args.rounds)
    if "compiled" in parts:
        part_compiled(args.rounds)
    if "resnet" in parts:
        part_resnet(args.rounds, args.threads)


if __name__ == "__main__":
    if "--child" in sys.argv:
        i = sys.argv.index("--child")
        variant, batch, size, train = sys.argv[i + 1:i + 5]
        if variant == "torch":
            import torch
            torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "1")))
        print(_first_call_child(variant, int(batch), int(size), bool(int(train))))
    else:
        main()
