"""Differential test: ``nn.jit`` equals eager over random sequences of steps and changes.

Each seed draws a random program: a model with a convolution (so that on CPU the compiled
steps go through the channels-last rewrite, docs/design.md section 8), BatchNorm, Dropout, a
hook, an array attribute and Python configuration the forward reads; SGD (momentum) or Adam; a functional or
a torch-style step; and a sequence of steps interleaved with between-step changes of every
kind the ``nn.jit`` contract covers (docs/design.md). The program runs eagerly and under
``nn.jit`` from the same seed in float64; losses, parameters, buffers, optimizer state and
the random stream must agree to 1e-12 after every step.

The two compiled step functions are shared by all seeds, so structures already seen reuse
their programs and the test stays fast.
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jnn as nn
import jnn.functional as F
from jnn import optim

# The random programs' model is user code, written as torch users write it (``h * scale``).
pytestmark = pytest.mark.implicit_broadcasting

SEEDS = range(200)
STEPS = 4
TOL = dict(rtol=1e-12, atol=1e-12)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        # Bias-free layers before BatchNorm: their bias gradients would be rounding noise.
        self.conv = nn.Conv2d(1, 3, 3, bias=False)
        self.bn2d = nn.BatchNorm2d(3)
        self.fc1 = nn.Linear(3, 5, bias=False)
        self.bn = nn.BatchNorm1d(5)
        self.drop = nn.Dropout(0.25)
        self.fc2 = nn.Linear(5, 2)
        self.scale = jnp.ones(2)
        self.mults = [1.0]
        self.use_scale = True

    def forward(self, x):
        # Global pooling keeps fc1's input size whatever the convolution's padding. SiLU, not
        # ReLU: with ReLU a channel's pooled gradient is the fraction of positive positions,
        # which can be equal across the batch, and then BatchNorm1d makes that channel's bias
        # gradient rounding noise (that Adam divides by its eps).
        h = F.silu(self.bn2d(self.conv(x))).mean((2, 3))
        h = self.drop(F.relu(self.bn(self.fc1(h)))) * self.mults[0]
        out = self.fc2(h)
        return out * self.scale if self.use_scale else out


def functional_step(model, opt, x, y):
    loss, grads = nn.value_and_grad(lambda m: ((m(x) - y) ** 2).mean())(model)
    opt.step(grads)
    return loss


def torch_style_step(model, opt, x, y):
    opt.zero_grad()
    loss, grads = nn.value_and_grad(lambda m: ((m(x) - y) ** 2).mean())(model)
    grads.accumulate()
    opt.step()
    return loss


STEP_FNS = {"functional": functional_step, "torch": torch_style_step}
# The seeds visit a few hundred distinct structures; XLA's backend optimisations would double
# the compile time of programs whose run time is negligible here.
COMPILED = {name: nn.jit(fn, compiler_options={"xla_backend_optimization_level": 0})
            for name, fn in STEP_FNS.items()}


def _halve(mod, args, out):
    return out * 0.5


# Each mutation: name -> make(rng) returning op(model, opt, memory); the rng choices are made
# once per program, so the eager and the compiled run apply identical changes.
def _freeze(rng):
    i = int(rng.integers(5))
    return lambda m, o, mem: list(m.parameters())[i].requires_grad_(False)


def _remove_param(rng):
    def op(m, o, mem):
        params = o.param_groups[0]["params"]
        if len(params) > 1:
            mem.setdefault("removed", []).append(params.pop())
    return op


def _add_group(rng):
    def op(m, o, mem):
        removed = mem.pop("removed", [])
        if removed:
            o.add_param_group({"params": removed, "lr": 0.02})
    return op


def _save(rng):
    def op(m, o, mem):
        mem["saved"] = (m.state_dict(), o.state_dict())
    return op


def _load(rng):
    def op(m, o, mem):
        if "saved" in mem and len(o.state_dict()["param_groups"]) == \
                len(mem["saved"][1]["param_groups"]) and \
                [len(g["params"]) for g in o.param_groups] == \
                [len(g["params"]) for g in mem["saved"][1]["param_groups"]] and \
                set(m.state_dict()) == set(mem["saved"][0]):
            m.load_state_dict(mem["saved"][0])
            o.load_state_dict(mem["saved"][1])
    return op


def _replace_fc2(rng):
    w, b = rng.standard_normal((2, 5)), rng.standard_normal(2)

    def op(m, o, mem):
        new = nn.Linear(5, 2).double()
        new.weight.data, new.bias.data = jnp.asarray(w), jnp.asarray(b)
        m.fc2 = new
    return op


def _hook_add(rng):
    def op(m, o, mem):
        if "hook" not in mem:
            mem["hook"] = m.fc2.register_forward_hook(_halve)
    return op


def _hook_remove(rng):
    def op(m, o, mem):
        handle = mem.pop("hook", None)
        if handle is not None:
            handle.remove()
    return op


def _weight_norm(rng):
    def op(m, o, mem):
        if not nn.utils.parametrize.is_parametrized(m.fc1):
            nn.utils.parametrizations.weight_norm(m.fc1)
    return op


def _choice(values):
    return lambda rng: values[int(rng.integers(len(values)))]


MUTATIONS = {
    "freeze": _freeze,
    "unfreeze": lambda rng: lambda m, o, mem: m.requires_grad_(True),
    "eval": lambda rng: lambda m, o, mem: m.eval(),
    "train": lambda rng: lambda m, o, mem: m.train(),
    "conv_padding": lambda rng: (lambda v: lambda m, o, mem: setattr(m.conv, "padding", v))(
        _choice([(0, 0), (1, 1)])(rng)),
    "bn_momentum": lambda rng: (lambda v: lambda m, o, mem: setattr(m.bn, "momentum", v))(
        _choice([0.1, 0.5])(rng)),
    "dropout_p": lambda rng: (lambda v: lambda m, o, mem: setattr(m.drop, "p", v))(
        _choice([0.0, 0.25])(rng)),
    "scale": lambda rng: lambda m, o, mem: setattr(m, "scale", m.scale * 1.5),
    "mults": lambda rng: (lambda v: lambda m, o, mem: m.mults.__setitem__(0, v))(
        _choice([1.0, 0.5])(rng)),
    "flag": lambda rng: lambda m, o, mem: setattr(m, "use_scale", not m.use_scale),
    "hook_add": _hook_add,
    "hook_remove": _hook_remove,
    "lr": lambda rng: (lambda v: lambda m, o, mem: o.param_groups[0].__setitem__("lr", v))(
        _choice([0.01, 0.05])(rng)),
    "maximize": lambda rng: lambda m, o, mem: o.param_groups[0].update(
        maximize=not o.param_groups[0]["maximize"]),
    "remove_param": _remove_param,
    "add_group": _add_group,
    "state_clear": lambda rng: lambda m, o, mem: o.state.clear(),
    "zero_grad": lambda rng: lambda m, o, mem: m.zero_grad(),
    "save": _save,
    "load": _load,
    "replace_fc2": _replace_fc2,
    "weight_norm": _weight_norm,
}
NAMES = sorted(MUTATIONS)


def draw_program(seed):
    rng = np.random.default_rng(seed)
    opt_name = "sgd" if rng.random() < 0.5 else "adam"
    step_name = "functional" if rng.random() < 0.6 else "torch"
    ops = []
    for _ in range(STEPS):
        for _ in range(int(rng.integers(0, 3))):
            ops.append(MUTATIONS[NAMES[int(rng.integers(len(NAMES)))]](rng))
        ops.append("step")
    data = [(rng.standard_normal((6, 1, 5, 5)), rng.standard_normal((6, 2))) for _ in range(STEPS)]
    return opt_name, step_name, ops, data


def execute(seed, compiled):
    opt_name, step_name, ops, data = draw_program(seed)
    with jax.enable_x64(True):
        nn.manual_seed(seed)
        model = Net().double()
        opt = (optim.SGD(model.parameters(), lr=0.05, momentum=0.9) if opt_name == "sgd" else
               optim.Adam(model.parameters(), lr=0.01))
        fn = COMPILED[step_name] if compiled else STEP_FNS[step_name]
        memory, record = {}, []
        batches = iter(data)
        for op in ops:
            if op == "step":
                x, y = next(batches)
                loss = fn(model, opt, jnp.asarray(x), jnp.asarray(y))
                state = {f"model.{k}": np.asarray(v) for k, v in model.state_dict().items()}
                for i, s in opt.state_dict()["state"].items():
                    for k, v in s.items():
                        state[f"opt.{i}.{k}"] = np.asarray(v)
                state["rng"] = np.asarray(nn.get_rng_state())
                record.append((float(loss), state))
            else:
                op(model, opt, memory)
        return record


@pytest.mark.parametrize("block", range(4))
def test_jit_equals_eager_over_random_programs(block):
    seeds = [s for s in SEEDS if s % 4 == block]
    for seed in seeds:
        eager, compiled = execute(seed, False), execute(seed, True)
        for step, ((le, se), (lj, sj)) in enumerate(zip(eager, compiled)):
            where = f"seed {seed}, step {step}"
            np.testing.assert_allclose(lj, le, **TOL, err_msg=where)
            assert sj.keys() == se.keys(), where
            for k in se:
                np.testing.assert_allclose(sj[k], se[k], **TOL, err_msg=f"{where}: {k}")
