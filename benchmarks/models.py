"""Training-step speed of six models: jnn against PyTorch eager and a hand-written JAX floor.

Each model is written once, against a module namespace ``nn`` (``torch.nn`` or ``jnn``) and its
``F`` (``torch.nn.functional`` or ``jnn.functional``), so torch and jnn run the same layers with
the same initial weights (jnn loads torch's ``state_dict``). One training step is forward,
cross-entropy, backward and SGD with momentum (lr 0.01, momentum 0.9), float32:

* ``resnet18``     CIFAR ResNet-18 (3x3 stem, no max pool), batch 32, 3x32x32, 10 classes
* ``lstm``         2-layer LSTM, input 256, hidden 256, T 64, batch 32, linear head on the last step
* ``lenet``        LeNet-5, batch 32, 1x32x32
* ``mnist``        the network of PyTorch's MNIST example (two 3x3 convolutions, 1 -> 32 -> 64,
                   max pool, 9216 -> 128 -> 10; its dropouts left out), batch 64, 1x28x28
* ``transformer``  ``nn.TransformerEncoder``, d_model 256, 4 heads, ff 1024, 2 layers, T 128,
                   batch 16, mean-pooled linear head (dropout 0, so the steps are deterministic)
* ``gpt``          GPT-mini: d 256, 4 heads, 4 pre-norm causal blocks, T 128, batch 16, vocab 512

Candidates: ``torch`` (eager), ``jnn`` (``nn.jit`` over the model and ``optim.SGD``) and, for
``resnet18``, ``lenet`` and ``lstm``, ``pure JAX``: the same maths written by hand with
``jax.lax``/``jax.numpy`` in torch's layouts (NCHW/OIHW), differentiated by JAX, ``jax.jit``.
Before timing, the first-step losses of all candidates must agree (1e-4 relative).

Reported per model: first-call seconds (jnn/pure JAX: trace + compile + one step; torch: the
first step), the median step time over interleaved rounds and the median of the per-round
ratios (to torch, and jnn to the pure-JAX floor), and the steady-state eager forward (the model
called outside any ``jit``, as in a notebook; torch under ``no_grad``). The machine this was
written on is shared and noisy: compare ratios from one run, not absolute times.

    python benchmarks/models.py [--threads 1] [--rounds 5] [--models resnet18,lstm,...] [--quick]
        [--compiler-options xla_cpu_use_fusion_emitters=false,...]  # for jnn and pure JAX
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time


def _threads_from_argv() -> int:
    for i, arg in enumerate(sys.argv):
        if arg == "--threads":
            return int(sys.argv[i + 1])
        if arg.startswith("--threads="):
            return int(arg.split("=", 1)[1])
    return 1


if __name__ == "__main__":
    # XLA reads its flags once, when the CPU backend starts: set them before jax is imported.
    from cpu_threads import limit_threads

    limit_threads(_threads_from_argv())

import numpy as np

# Import jnn from this checkout (benchmarks/..), not from wherever it is installed.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

LR, MOMENTUM = 0.01, 0.9


# -- models, written once against a namespace ----------------------------------------------------

def resnet18_cifar(nn, F, num_classes=10):
    class BasicBlock(nn.Module):
        def __init__(self, inplanes, planes, stride=1):
            super().__init__()
            self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.shortcut = nn.Sequential()
            if stride != 1 or inplanes != planes:
                self.shortcut = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False),
                                              nn.BatchNorm2d(planes))

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return F.relu(out + self.shortcut(x))

    class ResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            layers, inplanes = [], 64
            for planes, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
                layers.append(nn.Sequential(BasicBlock(inplanes, planes, stride),
                                            BasicBlock(planes, planes)))
                inplanes = planes
            self.layer1, self.layer2, self.layer3, self.layer4 = layers
            self.fc = nn.Linear(512, num_classes)

        def forward(self, x):
            x = F.relu(self.bn1(self.conv1(x)))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            x = F.adaptive_avg_pool2d(x, 1)
            return self.fc(x.reshape(x.shape[0], -1))

    return ResNet()


def lstm2(nn, F, inp=256, hidden=256, layers=2, classes=10):
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(inp, hidden, layers)
            self.head = nn.Linear(hidden, classes)

        def forward(self, x):
            out, _ = self.lstm(x)
            return self.head(out[-1])

    return Model()


def lenet(nn, F, classes=10):
    class LeNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 6, 5)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.fc1 = nn.Linear(16 * 5 * 5, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, classes)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), 2)
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            x = x.reshape(x.shape[0], -1)
            return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))

    return LeNet()


def mnist_example(nn, F, classes=10):
    """The network of PyTorch's MNIST example (examples/mnist), without its two dropouts."""
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 32, 3, 1)
            self.conv2 = nn.Conv2d(32, 64, 3, 1)
            self.fc1 = nn.Linear(9216, 128)
            self.fc2 = nn.Linear(128, classes)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv2(F.relu(self.conv1(x)))), 2)
            return self.fc2(F.relu(self.fc1(x.reshape(x.shape[0], -1))))

    return Net()


def transformer_encoder(nn, F, d=256, heads=4, ff=1024, layers=2, classes=10):
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            layer = nn.TransformerEncoderLayer(d, heads, ff, dropout=0.0, batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
            self.head = nn.Linear(d, classes)

        def forward(self, x):
            return self.head(self.encoder(x).mean(1))

    return Model()


def gpt_mini(nn, F, d=256, heads=4, layers=4, vocab=512, block=128):
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1 = nn.LayerNorm(d)
            self.qkv = nn.Linear(d, 3 * d)
            self.proj = nn.Linear(d, d)
            self.ln2 = nn.LayerNorm(d)
            self.fc = nn.Linear(d, 4 * d)
            self.out = nn.Linear(4 * d, d)

        def forward(self, x):
            b, t, _ = x.shape
            # (B, T, 3, H, Dh) -> three (B, H, T, Dh); methods both array types share
            qkv = self.qkv(self.ln1(x)).reshape(b, t, 3, heads, d // heads)
            q, k, v = (qkv[:, :, i].swapaxes(1, 2) for i in range(3))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.proj(y.swapaxes(1, 2).reshape(b, t, d))
            return x + self.out(F.gelu(self.fc(self.ln2(x))))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok = nn.Embedding(vocab, d)
            self.pos = nn.Embedding(block, d)
            self.blocks = nn.Sequential(*[Block() for _ in range(layers)])
            self.ln = nn.LayerNorm(d)
            self.head = nn.Linear(d, vocab, bias=False)

        def forward(self, idx):
            t = idx.shape[1]
            pos = self.pos.weight[:t]
            return self.head(self.ln(self.blocks(self.tok(idx) + pos))).reshape(-1, vocab)

    return GPT()


def _data(name, rng):
    """(input, integer targets) as numpy arrays."""
    if name == "resnet18":
        return (rng.standard_normal((32, 3, 32, 32)).astype(np.float32),
                rng.integers(0, 10, 32))
    if name == "lstm":
        return rng.standard_normal((64, 32, 256)).astype(np.float32), rng.integers(0, 10, 32)
    if name == "lenet":
        return rng.standard_normal((32, 1, 32, 32)).astype(np.float32), rng.integers(0, 10, 32)
    if name == "mnist":
        return rng.standard_normal((64, 1, 28, 28)).astype(np.float32), rng.integers(0, 10, 64)
    if name == "transformer":
        return rng.standard_normal((16, 128, 256)).astype(np.float32), rng.integers(0, 10, 16)
    if name == "gpt":
        idx = rng.integers(0, 512, (16, 129))
        return idx[:, :-1], idx[:, 1:].reshape(-1)
    raise ValueError(name)


MODELS = {"resnet18": resnet18_cifar, "lstm": lstm2, "lenet": lenet, "mnist": mnist_example,
          "transformer": transformer_encoder, "gpt": gpt_mini}
TITLES = {"resnet18": "ResNet-18 CIFAR, batch 32", "lstm": "2-layer LSTM h256 T64 batch 32",
          "lenet": "LeNet-5, batch 32", "mnist": "PyTorch MNIST example, batch 64",
          "transformer": "TransformerEncoder d256 2L T128 b16",
          "gpt": "GPT-mini d256 4L T128 b16"}


# -- hand-written pure-JAX floors (torch layouts, torch's maths) ---------------------------------

def _pure_floor(name, channels_last=False):
    """``loss(params, buffers, x, y) -> (loss, new_buffers)`` written in plain JAX, or None.

    ``channels_last`` (ResNet-18 only): the same maths with activations in NHWC inside the
    step (the input is transposed once at the start; weights stay OIHW, parameters and buffers
    keep torch's layout): what carrying channels-last through the network could gain at most.
    """
    import jax
    import jax.numpy as jnp

    def ce(logits, y):
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], 1))

    data = "NHWC" if channels_last else "NCHW"
    caxis = 3 if channels_last else 1
    spatial = (1, 2) if channels_last else (2, 3)

    def conv(x, w, stride=1, pad=0):
        return jax.lax.conv_general_dilated(x, w, (stride, stride), [(pad, pad)] * 2,
                                            dimension_numbers=(data, "OIHW", data))

    def per_channel(v):
        return v.reshape((1, 1, 1, -1) if channels_last else (1, -1, 1, 1))

    def linear(p, prefix, x):
        return x @ p[prefix + ".weight"].T + p[prefix + ".bias"]

    if name == "resnet18":
        def bn(p, b, prefix, x, new):
            axes = (0,) + spatial
            mean = x.mean(axes)
            var = x.var(axes)
            n = x.size // x.shape[caxis]
            new[prefix + ".running_mean"] = 0.9 * b[prefix + ".running_mean"] + 0.1 * mean
            new[prefix + ".running_var"] = (0.9 * b[prefix + ".running_var"]
                                            + 0.1 * var * n / (n - 1))
            inv = jax.lax.rsqrt(var + 1e-5) * p[prefix + ".weight"]
            return (x - per_channel(mean)) * per_channel(inv) + per_channel(p[prefix + ".bias"])

        def loss(p, b, x, y):
            new = {}
            if channels_last:
                x = x.transpose(0, 2, 3, 1)
            x = jax.nn.relu(bn(p, b, "bn1", conv(x, p["conv1.weight"], 1, 1), new))
            for li, (planes, stride) in enumerate(((64, 1), (128, 2), (256, 2), (512, 2))):
                for bi in range(2):
                    pre = f"layer{li + 1}.{bi}."
                    s = stride if bi == 0 else 1
                    out = jax.nn.relu(bn(p, b, pre + "bn1",
                                         conv(x, p[pre + "conv1.weight"], s, 1), new))
                    out = bn(p, b, pre + "bn2", conv(out, p[pre + "conv2.weight"], 1, 1), new)
                    if pre + "shortcut.0.weight" in p:
                        x = bn(p, b, pre + "shortcut.1",
                               conv(x, p[pre + "shortcut.0.weight"], s, 0), new)
                    x = jax.nn.relu(out + x)
            x = x.mean(spatial)
            return ce(linear(p, "fc", x), y), new
        return loss

    if channels_last:
        return None
    if name == "lenet":
        def pool(x):
            return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 1, 2, 2), (1, 1, 2, 2),
                                         "VALID")

        def loss(p, b, x, y):
            x = pool(jax.nn.relu(conv(x, p["conv1.weight"])
                                 + p["conv1.bias"][None, :, None, None]))
            x = pool(jax.nn.relu(conv(x, p["conv2.weight"])
                                 + p["conv2.bias"][None, :, None, None]))
            x = x.reshape(x.shape[0], -1)
            x = jax.nn.relu(linear(p, "fc2", jax.nn.relu(linear(p, "fc1", x))))
            return ce(linear(p, "fc3", x), y), {}
        return loss

    if name == "lstm":
        def layer(p, k, xs):
            w_ih, w_hh = p[f"lstm.weight_ih_l{k}"], p[f"lstm.weight_hh_l{k}"]
            bias = p[f"lstm.bias_ih_l{k}"] + p[f"lstm.bias_hh_l{k}"]
            t, batch, _ = xs.shape
            gx = (xs.reshape(t * batch, -1) @ w_ih.T + bias).reshape(t, batch, -1)

            def step(carry, g):
                h, c = carry
                i, f, gg, o = jnp.split(g + h @ w_hh.T, 4, axis=-1)
                c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(gg)
                h = jax.nn.sigmoid(o) * jnp.tanh(c)
                return (h, c), h

            zeros = jnp.zeros((batch, w_hh.shape[1]), xs.dtype)
            return jax.lax.scan(step, (zeros, zeros), gx)[1]

        def loss(p, b, x, y):
            h = layer(p, 1, layer(p, 0, x))
            return ce(linear(p, "head", h[-1]), y), {}
        return loss
    return None


# -- timing --------------------------------------------------------------------------------------

_COMPILES = [0]  # XLA compilations so far, counted by the listener main() registers


def _count_compiles(event, duration, **kwargs):
    if event == "/jax/core/compile/backend_compile_duration":
        _COMPILES[0] += 1


def _block(value):
    import jax
    jax.block_until_ready(value)
    return value


def _interleaved(candidates: dict, rounds: int, reps: int) -> dict:
    """``{name: [seconds per call, one per round]}``; every round runs each candidate once."""
    times = {name: [] for name in candidates}
    for _ in range(rounds):
        for name, fn in candidates.items():
            start = time.perf_counter()
            for _ in range(reps):
                fn()
            times[name].append((time.perf_counter() - start) / reps)
    return times


def _ratios(times, a, b):
    return [x / y for x, y in zip(times[a], times[b])]


def _fmt(rs):
    return f"{statistics.median(rs):.2f} ({', '.join(f'{r:.2f}' for r in rs)})"


def bench(name, rounds, reps, compiler_options, eager):
    import jax.numpy as jnp
    import torch

    import jnn
    from jnn import optim

    rng = np.random.default_rng(0)
    x, y = _data(name, rng)
    torch.manual_seed(0)
    tmod = MODELS[name](torch.nn, torch.nn.functional).train()
    topt = torch.optim.SGD(tmod.parameters(), lr=LR, momentum=MOMENTUM)
    tx = torch.from_numpy(x)
    ty = torch.from_numpy(np.asarray(y, np.int64))
    state = {k: v.detach().numpy().copy() for k, v in tmod.state_dict().items()}

    def t_step():
        topt.zero_grad()
        loss = torch.nn.functional.cross_entropy(tmod(tx), ty)
        loss.backward()
        topt.step()
        return loss

    jmod = MODELS[name](jnn, jnn.functional).train()
    jmod.load_state_dict(state)
    jopt = optim.SGD(jmod.parameters(), lr=LR, momentum=MOMENTUM)
    jx, jy = jnp.asarray(x), jnp.asarray(np.asarray(y, np.int32))

    @jnn.jit(compiler_options=compiler_options)
    def j_train(model, opt, x, y):
        loss, grads = jnn.value_and_grad(
            lambda m: jnn.functional.cross_entropy(m(x), y))(model)
        opt.step(grads)
        return loss

    def j_step():
        return _block(j_train(jmod, jopt, jx, jy))

    candidates = {"torch": t_step, "jnn": j_step}
    first = {}
    for label, channels_last in (("pure JAX", False), ("pure JAX NHWC", True)):
        loss_fn = _pure_floor(name, channels_last)
        if loss_fn is not None:
            candidates[label] = _pure_step(loss_fn, tmod, state, jx, jy, compiler_options)

    losses = {}
    for cname, fn in candidates.items():
        start = time.perf_counter()
        out = fn()
        losses[cname] = float(out.detach() if hasattr(out, "detach") else out)
        first[cname] = time.perf_counter() - start
    spread = max(losses.values()) - min(losses.values())
    print(f"\n{TITLES[name]}: first-step losses " +
          "  ".join(f"{k} {v:.6f}" for k, v in losses.items()))
    if spread > 1e-4 * max(1.0, abs(losses["torch"])):
        raise SystemExit(f"{name}: first-step losses disagree: the implementations differ")
    before = _COMPILES[0]
    for fn in candidates.values():  # a second call: must not compile again
        fn()
    print(f"  XLA compilations on the second call (all candidates): {_COMPILES[0] - before}")
    times = _interleaved(candidates, rounds, reps)
    row = {"first": first, "times": {k: statistics.median(v) for k, v in times.items()},
           "jnn/torch": _ratios(times, "jnn", "torch")}
    print("  first call (s):  " + "  ".join(f"{k} {v:.2f}" for k, v in first.items()))
    print("  step (ms, median): " +
          "  ".join(f"{k} {v * 1e3:.1f}" for k, v in row["times"].items()))
    print(f"  jnn / torch:         {_fmt(row['jnn/torch'])}")
    if "pure JAX" in candidates:
        row["jnn/pure"] = _ratios(times, "jnn", "pure JAX")
        row["pure/torch"] = _ratios(times, "pure JAX", "torch")
        print(f"  jnn / pure JAX:      {_fmt(row['jnn/pure'])}")
        print(f"  pure JAX / torch:    {_fmt(row['pure/torch'])}")
    if "pure JAX NHWC" in candidates:
        row["nhwc/pure"] = _ratios(times, "pure JAX NHWC", "pure JAX")
        print(f"  pure JAX NHWC / pure JAX (NCHW): {_fmt(row['nhwc/pure'])}")

    if eager:
        tmod.eval()
        jmod.eval()

        def t_fwd():
            with torch.no_grad():
                return tmod(tx)

        def j_fwd():
            return _block(jmod(jx))

        start = time.perf_counter()
        j_fwd()
        row["eager first"] = time.perf_counter() - start
        t_fwd()
        et = _interleaved({"torch": t_fwd, "jnn": j_fwd}, rounds, reps)
        row["eager"] = _ratios(et, "jnn", "torch")
        print(f"  eager forward (eval): first jnn call {row['eager first']:.2f} s; ms torch "
              f"{statistics.median(et['torch']) * 1e3:.1f} "
              f"jnn {statistics.median(et['jnn']) * 1e3:.1f};"
              f" jnn / torch {_fmt(row['eager'])}")
    return row


def _pure_step(loss_fn, tmod, state, jx, jy, compiler_options):
    """A jitted SGD-with-momentum step of a pure-JAX floor, starting from torch's weights."""
    import jax
    import jax.numpy as jnp

    pnames = [k for k, _ in tmod.named_parameters()]
    params = {k: jnp.asarray(state[k]) for k in pnames}
    buffers = {k: jnp.asarray(v) for k, v in state.items()
               if k not in params and "num_batches" not in k}
    pure = {"p": params, "m": jax.tree.map(jnp.zeros_like, params), "b": buffers}

    @jax.jit
    def pure_step(p, m, b, x, y):
        (loss, new_b), g = jax.value_and_grad(loss_fn, has_aux=True)(p, b, x, y)
        m = jax.tree.map(lambda m_, g_: MOMENTUM * m_ + g_, m, g)
        p = jax.tree.map(lambda p_, m_: p_ - LR * m_, p, m)
        return p, m, {**b, **new_b}, loss

    if compiler_options:
        compiled = pure_step.lower(pure["p"], pure["m"], pure["b"], jx, jy).compile(
            compiler_options)
    else:
        compiled = pure_step

    def p_step():
        pure["p"], pure["m"], pure["b"], loss = compiled(pure["p"], pure["m"], pure["b"],
                                                         jx, jy)
        return _block(loss)

    return p_step


REPS = {"resnet18": 1, "lstm": 2, "lenet": 20, "mnist": 2, "transformer": 3, "gpt": 3}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="threads for torch and XLA")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--quick", action="store_true", help="3 rounds, fewer repetitions")
    parser.add_argument("--no-eager", action="store_true", help="skip the eager forward")
    parser.add_argument("--compiler-options", default="",
                        help="XLA options for the jnn and pure-JAX programs: k=v,k=v")
    args = parser.parse_args()
    import jax
    import jax.monitoring
    import torch
    torch.set_num_threads(args.threads)
    jax.monitoring.register_event_duration_secs_listener(_count_compiles)
    options = {}
    for item in filter(None, args.compiler_options.split(",")):
        key, value = item.split("=", 1)
        options[key] = {"true": True, "false": False}.get(value.lower(), value)
    rounds = 3 if args.quick else args.rounds
    print(f"jax {jax.__version__}, torch {torch.__version__}, {args.threads} thread(s), "
          f"{rounds} interleaved rounds, compiler options {options or 'default'}")
    rows = {}
    for name in args.models.split(","):
        reps = max(1, REPS[name] // 2) if args.quick else REPS[name]
        rows[name] = bench(name, rounds, reps, options or None, not args.no_eager)
    print("\n| model | jnn / torch | jnn / pure JAX | first call jnn / pure JAX / torch (s) |"
          + (" eager fwd jnn / torch |" if not args.no_eager else ""))
    print("| --- | ---: | ---: | ---: |" + (" ---: |" if not args.no_eager else ""))
    for name, row in rows.items():
        pure = f"{statistics.median(row['jnn/pure']):.2f}" if "jnn/pure" in row else "-"
        f = row["first"]
        firsts = " / ".join(f"{f[k]:.1f}" if k in f else "-" for k in ("jnn", "pure JAX", "torch"))
        ratio = statistics.median(row["jnn/torch"])
        cells = f"| {TITLES[name]} | {ratio:.2f} | {pure} | {firsts} |"
        if "eager" in row:
            cells += f" {statistics.median(row['eager']):.2f} |"
        print(cells)


if __name__ == "__main__":
    main()
