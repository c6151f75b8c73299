"""jnn.optim against torch.optim: same numbers step by step, eagerly and under nn.jit, and
state_dicts that load both ways."""
from __future__ import annotations

import copy
import pickle

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

import jnn as nn
from jnn import optim

N_STEPS = 5
RTOL, ATOL = 1e-5, 1e-6


# -- the model, in both libraries -------------------------------------------------------------

class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.fc2 = nn.Linear(8, 3)

    def forward(self, x):
        return self.fc2(jnp.tanh(self.fc1(x)))


class TorchMLP(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(4, 8)
        self.fc2 = torch.nn.Linear(8, 3)

    def forward(self, x):
        return self.fc2(torch.tanh(self.fc1(x)))


_rng = np.random.default_rng(0)
X = _rng.standard_normal((16, 4)).astype(np.float32)
Y = _rng.standard_normal((16, 3)).astype(np.float32)


def make_pair(seed=0):
    torch.manual_seed(seed)
    tm = TorchMLP()
    jm = MLP()
    # .copy(): jnp.asarray may alias a numpy buffer on CPU, and torch updates in place.
    jm.load_state_dict({k: v.detach().numpy().copy() for k, v in tm.state_dict().items()})
    return tm, jm


def torch_loss(tm):
    return ((tm(torch.from_numpy(X)) - torch.from_numpy(Y)) ** 2).mean()


def jnn_loss(jm):
    return jnp.mean((jm(jnp.asarray(X)) - jnp.asarray(Y)) ** 2)


def torch_params(tm):
    return {k: v.detach().numpy().copy() for k, v in tm.named_parameters()}


def jnn_params(jm):
    return {k: np.asarray(v) for k, v in jm.named_parameters()}


def assert_params_close(a, b, rtol=RTOL, atol=ATOL, msg=""):
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=rtol, atol=atol, err_msg=f"{msg} {k}")


def torch_step(tm, topt):
    topt.zero_grad()
    loss = torch_loss(tm)
    loss.backward()
    topt.step()
    return float(loss.detach())


def jnn_step(jm, jopt):
    loss, grads = nn.value_and_grad(jnn_loss)(jm)
    jopt.step(grads)
    return loss


@nn.jit
def jit_step(jm, jopt):
    loss, grads = nn.value_and_grad(jnn_loss)(jm)
    jopt.step(grads)
    return loss


def make_jit_step():
    @nn.jit
    def step(jm, jopt):
        loss, grads = nn.value_and_grad(jnn_loss)(jm)
        jopt.step(grads)
        return loss
    return step


def to_torch_state_dict(sd):
    """jnn optimizer state_dict -> the tensors torch.optim's load_state_dict expects."""
    def conv(v):
        if isinstance(v, (jax.Array, np.ndarray)):
            return torch.from_numpy(np.array(v))
        if isinstance(v, list):
            return [conv(x) for x in v]
        return v
    return {"state": {i: {k: conv(v) for k, v in s.items()} for i, s in sd["state"].items()},
            "param_groups": copy.deepcopy(sd["param_groups"])}


# -- configurations ---------------------------------------------------------------------------

CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.5, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1, amsgrad=True)),
    ("Adam", dict(lr=0.02, maximize=True, eps=1e-6)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.2, amsgrad=True, betas=(0.0, 0.9))),
    ("Adamax", dict(lr=0.01)),
    ("Adamax", dict(lr=0.02, weight_decay=0.1, maximize=True)),
    ("NAdam", dict(lr=0.01)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, momentum_decay=0.01)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("RAdam", dict(lr=0.01)),
    ("RAdam", dict(lr=0.01, betas=(0.9, 0.9), weight_decay=0.1)),
    ("RAdam", dict(lr=0.01, betas=(0.9, 0.5), weight_decay=0.1, decoupled_weight_decay=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.1, weight_decay=0.1, initial_accumulator_value=0.5)),
    ("Adagrad", dict(lr=0.1, eps=1e-3, maximize=True)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-4, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, centered=True, maximize=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.5)),
    ("Rprop", dict(lr=0.01)),
    ("Rprop", dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-3, 0.06), maximize=True)),
    ("ASGD", dict(lr=0.05)),
    ("ASGD", dict(lr=0.05, lambd=0.01, alpha=0.5, t0=2, weight_decay=0.1)),
]


def config_id(cfg):
    name, kw = cfg
    return name + "-" + "-".join(f"{k}={v}" for k, v in kw.items())


@pytest.mark.parametrize("cfg", CONFIGS, ids=[config_id(c) for c in CONFIGS])
def test_parity_eager_and_jit(cfg):
    name, kw = cfg
    tm, jm = make_pair()
    _, jm_jit = make_pair()
    topt = getattr(torch.optim, name)(tm.parameters(), **kw)
    jopt = getattr(optim, name)(jm.parameters(), **kw)
    jopt_jit = getattr(optim, name)(jm_jit.parameters(), **kw)
    step = make_jit_step()
    for i in range(N_STEPS):
        torch_step(tm, topt)
        jnn_step(jm, jopt)
        step(jm_jit, jopt_jit)
        assert_params_close(jnn_params(jm), torch_params(tm), msg=f"{name} eager step {i}")
        assert_params_close(jnn_params(jm_jit), jnn_params(jm), msg=f"{name} jit step {i}")
    assert step.trace_count == 1
    # The state has torch's keys and numbers.
    tsd, jsd = topt.state_dict(), jopt.state_dict()
    assert tsd["state"].keys() == jsd["state"].keys()
    for i in tsd["state"]:
        assert set(tsd["state"][i]) == set(jsd["state"][i]), name
        for k, tv in tsd["state"][i].items():
            tv = tv.numpy()
            np.testing.assert_allclose(np.asarray(jsd["state"][i][k]), tv, rtol=1e-4,
                                       atol=1e-5 * max(1.0, float(np.max(np.abs(tv)))),
                                       err_msg=f"{name} state {k}")
    assert [sorted(g) for g in tsd["param_groups"]] == [sorted(g) for g in jsd["param_groups"]]
    for tg, jg in zip(tsd["param_groups"], jsd["param_groups"]):
        assert tg == jg
    # The compiled optimizer's state equals the eager one's.
    for (pj, sj), (pe, se) in zip(jopt_jit.state_dict()["state"].items(),
                                  jsd["state"].items()):
        for k in se:
            ref = np.asarray(se[k])
            np.testing.assert_allclose(np.asarray(sj[k]), ref, rtol=1e-5,
                                       atol=1e-5 * max(1.0, float(np.max(np.abs(ref)))))


# torch computes its step-dependent scalars (bias corrections, NAdam's mu, RAdam's rho_t) in
# double precision although ``state['step']`` is a float32 tensor: float64 parameters must follow
# it to float64 precision, not float32's (~1e-6 relative drift after 10-20 steps).
FLOAT64_CONFIGS = [("NAdam", dict(lr=0.01, momentum_decay=0.01, weight_decay=0.1)),
                   ("RAdam", dict(lr=0.01)), ("Adam", dict(lr=0.01, amsgrad=True)),
                   ("AdamW", dict(lr=0.01)), ("Adamax", dict(lr=0.01)),
                   ("Adagrad", dict(lr=0.1, lr_decay=0.01))]


@pytest.mark.parametrize("cfg", FLOAT64_CONFIGS, ids=[config_id(c) for c in FLOAT64_CONFIGS])
def test_float64_parity(cfg):
    name, kw = cfg
    rng = np.random.default_rng(1)
    w0, x, y = (rng.standard_normal(s) for s in ((5, 4), (8, 4), (8, 5)))
    tw = torch.tensor(w0, requires_grad=True)
    topt = getattr(torch.optim, name)([tw], **kw)
    with jax.enable_x64(True):
        models = [nn.Linear(4, 5, bias=False).double() for _ in range(2)]
        for m in models:
            m.load_state_dict({"weight": w0})
        opts = [getattr(optim, name)(m.parameters(), **kw) for m in models]

        def loss(m):
            return jnp.sum((m(jnp.asarray(x)) - jnp.asarray(y)) ** 2)

        @nn.jit
        def step(m, opt):
            opt.step(nn.grad(loss)(m))

        for i in range(20):
            before = tw.detach().numpy().copy()
            topt.zero_grad()
            ((torch.from_numpy(x) @ tw.T - torch.from_numpy(y)) ** 2).sum().backward()
            topt.step()
            opts[0].step(nn.grad(loss)(models[0]))
            step(models[1], opts[1])
            want = tw.detach().numpy()
            # The error is measured against the size of the update, which is what drifts.
            scale = np.max(np.abs(want - before))
            for m, how in zip(models, ("eager", "jit")):
                err = np.max(np.abs(np.asarray(m.weight) - want)) / scale
                assert err < 1e-9, f"{name} {how} step {i}: error {err:.2e} of the update"


@pytest.mark.parametrize("cfg", CONFIGS[1:], ids=[config_id(c) for c in CONFIGS[1:]])
def test_state_dict_both_directions(cfg):
    name, kw = cfg
    # torch -> jnn: train torch 3 steps, load its params and optimizer state into jnn.
    tm, jm = make_pair(1)
    topt = getattr(torch.optim, name)(tm.parameters(), **kw)
    for _ in range(3):
        torch_step(tm, topt)
    jm.load_state_dict({k: v.detach().numpy().copy() for k, v in tm.state_dict().items()})
    jopt = getattr(optim, name)(jm.parameters(), **kw)
    jopt.load_state_dict(topt.state_dict())
    for i in range(3):
        torch_step(tm, topt)
        jnn_step(jm, jopt)
        assert_params_close(jnn_params(jm), torch_params(tm), msg=f"torch->jnn {name} {i}")
    # jnn -> torch (and continue both, the jnn side compiled).
    tm2, jm2 = make_pair(2)
    jopt2 = getattr(optim, name)(jm2.parameters(), **kw)
    for _ in range(3):
        jnn_step(jm2, jopt2)
    tm2.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in jm2.state_dict().items()})
    topt2 = getattr(torch.optim, name)(tm2.parameters(), **kw)
    topt2.load_state_dict(to_torch_state_dict(jopt2.state_dict()))
    step = make_jit_step()
    for i in range(3):
        torch_step(tm2, topt2)
        step(jm2, jopt2)
        assert_params_close(jnn_params(jm2), torch_params(tm2), msg=f"jnn->torch {name} {i}")
    assert step.trace_count == 1


def test_adagrad_state_exists_before_step():
    tm, jm = make_pair()
    tsd = torch.optim.Adagrad(tm.parameters(), initial_accumulator_value=0.3).state_dict()
    jsd = optim.Adagrad(jm.parameters(), initial_accumulator_value=0.3).state_dict()
    assert tsd["state"].keys() == jsd["state"].keys()
    np.testing.assert_allclose(np.asarray(jsd["state"][0]["sum"]), tsd["state"][0]["sum"].numpy())


# -- param groups and learning-rate edits -----------------------------------------------------

def _groups(model, lib):
    weights = [p for n, p in model.named_parameters() if n.endswith("weight")]
    biases = [p for n, p in model.named_parameters() if n.endswith("bias")]
    return [{"params": biases}, {"params": weights, "lr": 1e-2}]


@pytest.mark.parametrize("name,kw", [("SGD", dict(momentum=0.9)), ("Adam", dict()),
                                     ("RMSprop", dict(momentum=0.5))])
def test_param_groups_different_lr(name, kw):
    tm, jm = make_pair()
    _, jm_jit = make_pair()
    topt = getattr(torch.optim, name)(_groups(tm, torch), lr=1e-1, **kw)
    jopt = getattr(optim, name)(_groups(jm, nn), lr=1e-1, **kw)
    jopt_jit = getattr(optim, name)(_groups(jm_jit, nn), lr=1e-1, **kw)
    assert [g["lr"] for g in jopt.param_groups] == [0.1, 0.01]
    step = make_jit_step()
    for i in range(N_STEPS):
        torch_step(tm, topt)
        jnn_step(jm, jopt)
        step(jm_jit, jopt_jit)
        assert_params_close(jnn_params(jm), torch_params(tm))
        assert_params_close(jnn_params(jm_jit), torch_params(tm))
    assert step.trace_count == 1


@pytest.mark.implicit_broadcasting  # user code / reference: x @ W + b
def test_seed_section_4_5_param_groups_and_manual_decay():
    # The perceptron of the seed: parameters named .W and .b, two groups, then a manual decay.
    class Linear(nn.Module):
        def __init__(self, i, o):
            super().__init__()
            self.W = nn.Parameter(nn.randn(i, o))
            self.b = nn.Parameter(nn.randn(o))

        def forward(self, x):
            return x @ self.W + self.b

    class Perceptron(nn.Module):
        def __init__(self, i, h, o):
            super().__init__()
            self.layer1 = Linear(i, h)
            self.layer2 = Linear(h, o)

        def forward(self, x):
            return self.layer2(jax.nn.sigmoid(self.layer1(x)))

    nn.manual_seed(0)
    net = Perceptron(3, 4, 1)
    # First use: one learning rate, torch-style .grad + step().
    optimizer = optim.SGD(params=net.parameters(), lr=1)
    optimizer.zero_grad()
    x = nn.randn(32, 3)
    before = {n: np.asarray(p) for n, p in net.named_parameters()}
    _, grads = nn.value_and_grad(lambda m: (m(x) * jax.lax.stop_gradient(m(x))).sum())(net)
    grads.accumulate()
    optimizer.step()
    for n, p in net.named_parameters():
        np.testing.assert_allclose(np.asarray(p), before[n] - np.asarray(grads[n]), rtol=1e-6)
    # Second use: different learning rates per group.
    weight_params = [p for n, p in net.named_parameters() if n.endswith(".W")]
    bias_params = [p for n, p in net.named_parameters() if n.endswith(".b")]
    optimizer = optim.SGD([{"params": bias_params}, {"params": weight_params, "lr": 1e-2}],
                          lr=1e-5)
    assert [g["lr"] for g in optimizer.param_groups] == [1e-5, 1e-2]
    assert len(optimizer.param_groups[0]["params"]) == 2
    # Manual decay, also between compiled steps.
    step = nn.jit(lambda model, opt, x: _sum_step(model, opt, x))
    step(net, optimizer, x)
    for param_group in optimizer.param_groups:
        param_group["lr"] *= 0.1
    assert optimizer.param_groups[1]["lr"] == pytest.approx(1e-3)
    w_before = np.asarray(net.layer1.W)
    g = nn.grad(lambda m: m(x).sum())(net)["layer1.W"]
    step(net, optimizer, x)
    np.testing.assert_allclose(np.asarray(net.layer1.W), w_before - 1e-3 * np.asarray(g),
                               rtol=1e-5, atol=1e-7)
    assert step.trace_count == 1


def _sum_step(model, opt, x):
    loss, grads = nn.value_and_grad(lambda m: m(x).sum())(model)
    opt.step(grads)
    return loss


@pytest.mark.parametrize("name,kw", [("SGD", dict(lr=0.1, momentum=0.9)),
                                     ("Adam", dict(lr=0.01)), ("NAdam", dict(lr=0.01)),
                                     ("ASGD", dict(lr=0.05, t0=1))])
def test_lr_edit_between_jit_steps_no_retrace(name, kw):
    tm, jm = make_pair()
    topt = getattr(torch.optim, name)(tm.parameters(), **kw)
    jopt = getattr(optim, name)(jm.parameters(), **kw)
    step = make_jit_step()
    for i in range(N_STEPS):
        torch_step(tm, topt)
        step(jm, jopt)
        assert_params_close(jnn_params(jm), torch_params(tm))
        for tg, jg in zip(topt.param_groups, jopt.param_groups):
            tg["lr"] *= 0.5
            jg["lr"] *= 0.5
    assert step.trace_count == 1


def test_static_option_edit_between_jit_steps_takes_effect():
    # weight_decay going from 0 to non-zero and nesterov flipping are compile-time facts:
    # the next compiled call notices and recompiles instead of using stale options.
    tm, jm = make_pair()
    topt = torch.optim.SGD(tm.parameters(), lr=0.1, momentum=0.9)
    jopt = optim.SGD(jm.parameters(), lr=0.1, momentum=0.9)
    step = make_jit_step()
    for i in range(4):
        if i == 2:
            for g in (*topt.param_groups, *jopt.param_groups):
                g["weight_decay"] = 0.1
                g["nesterov"] = True
        torch_step(tm, topt)
        step(jm, jopt)
        assert_params_close(jnn_params(jm), torch_params(tm), msg=f"step {i}")
    assert step.trace_count == 2


@pytest.mark.parametrize("compiled", [False, True])
def test_momentum_from_zero_creates_buffer_later(compiled):
    # torch creates SGD's momentum buffer at the first step with momentum != 0.
    tm, jm = make_pair()
    topt = torch.optim.SGD(tm.parameters(), lr=0.1, dampening=0.2)
    jopt = optim.SGD(jm.parameters(), lr=0.1, dampening=0.2)
    step = make_jit_step() if compiled else jnn_step
    for i in range(4):
        if i == 2:
            for g in (*topt.param_groups, *jopt.param_groups):
                g["momentum"] = 0.9
        torch_step(tm, topt)
        step(jm, jopt)
        assert_params_close(jnn_params(jm), torch_params(tm), msg=f"step {i}")
    assert set(jopt.state_dict()["state"][0]) == {"momentum_buffer"}


def test_torch_style_grad_path_and_zero_grad():
    tm, jm = make_pair()
    topt = torch.optim.Adam(tm.parameters(), lr=0.01)
    jopt = optim.Adam(jm.parameters(), lr=0.01)
    for _ in range(3):
        torch_step(tm, topt)
        jopt.zero_grad()
        _, grads = nn.value_and_grad(jnn_loss)(jm)
        grads.accumulate()
        jopt.step()
        assert_params_close(jnn_params(jm), torch_params(tm))
    jopt.zero_grad()
    assert all(p.grad is None for p in jm.parameters())


def test_closure_step_returns_loss():
    tm, jm = make_pair()
    topt = torch.optim.SGD(tm.parameters(), lr=0.1)
    jopt = optim.SGD(jm.parameters(), lr=0.1)

    def tclosure():
        topt.zero_grad()
        loss = torch_loss(tm)
        loss.backward()
        return loss

    def jclosure():
        jopt.zero_grad()
        loss, grads = nn.value_and_grad(jnn_loss)(jm)
        grads.accumulate()
        return loss

    for _ in range(3):
        tl = topt.step(tclosure)
        jl = jopt.step(jclosure)
        np.testing.assert_allclose(float(jl), float(tl.detach()), rtol=1e-5)
        assert_params_close(jnn_params(jm), torch_params(tm))


def test_params_without_grad_are_skipped():
    tm, jm = make_pair()
    jm.fc1.weight.requires_grad_(False)
    tm.fc1.weight.requires_grad_(False)
    topt = torch.optim.Adam(tm.parameters(), lr=0.01)
    jopt = optim.Adam(jm.parameters(), lr=0.01)
    step = make_jit_step()
    for _ in range(3):
        torch_step(tm, topt)
        step(jm, jopt)
    assert_params_close(jnn_params(jm), torch_params(tm))
    # torch creates no state for a parameter that never had a gradient; jnn (which creates
    # state eagerly for a compiled step) keeps it at step 0.
    assert float(jopt.state[jm.fc1.weight]["step"]) == 0.0


def test_add_param_group_and_repr():
    _, jm = make_pair()
    tm, _ = make_pair()
    jopt = optim.SGD(jm.fc1.parameters(), lr=0.1, momentum=0.9)
    jopt.add_param_group({"params": jm.fc2.parameters(), "lr": 0.01})
    topt = torch.optim.SGD(tm.fc1.parameters(), lr=0.1, momentum=0.9)
    topt.add_param_group({"params": tm.fc2.parameters(), "lr": 0.01})
    assert repr(jopt) == repr(topt)
    assert repr(optim.Adam(jm.parameters())) == repr(torch.optim.Adam(tm.parameters()))
    with pytest.raises(ValueError, match="more than one parameter group"):
        jopt.add_param_group({"params": [jm.fc1.weight]})


def test_pickle_and_deepcopy_roundtrip():
    _, jm = make_pair()
    jopt = optim.Adam(jm.parameters(), lr=0.01)
    jnn_step(jm, jopt)
    clone = copy.deepcopy(jopt)
    assert type(clone.param_groups[0]).__name__ == "_ParamGroup"
    clone.param_groups[0]["lr"] = 0.5  # a numeric edit; no error
    assert jopt.param_groups[0]["lr"] == 0.01
    blob = pickle.dumps(jopt.state_dict())
    assert pickle.loads(blob)["param_groups"][0]["lr"] == 0.01


# -- validation -------------------------------------------------------------------------------

@pytest.mark.parametrize("name,kw,msg", [
    ("SGD", dict(lr=-1), "Invalid learning rate: -1"),
    ("SGD", dict(momentum=-0.5), "Invalid momentum value: -0.5"),
    ("SGD", dict(nesterov=True), "Nesterov momentum requires a momentum and zero dampening"),
    ("Adam", dict(lr=-1), "Invalid learning rate: -1"),
    ("Adam", dict(betas=(1.0, 0.9)), "Invalid beta parameter at index 0: 1.0"),
    ("Adam", dict(betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1"),
    ("Adam", dict(eps=-1e-8), "Invalid epsilon value: -1e-08"),
    ("AdamW", dict(weight_decay=-1), "Invalid weight_decay value: -1"),
    ("Adamax", dict(lr=-0.1), "Invalid learning rate: -0.1"),
    ("NAdam", dict(momentum_decay=-1), "Invalid momentum_decay value: -1"),
    ("RAdam", dict(weight_decay=-0.1), "Invalid weight_decay value: -0.1"),
    ("Adagrad", dict(lr_decay=-1), "Invalid lr_decay value: -1"),
    ("Adagrad", dict(initial_accumulator_value=-1),
     "Invalid initial_accumulator_value value: -1"),
    ("Adadelta", dict(rho=1.5), "Invalid rho value: 1.5"),
    ("RMSprop", dict(alpha=-1), "Invalid alpha value: -1"),
    ("Rprop", dict(etas=(1.5, 1.2)), "Invalid eta values: 1.5, 1.2"),
    ("ASGD", dict(lr=-1), "Invalid learning rate: -1"),
    ("LBFGS", dict(lr=-1), "Invalid learning rate: -1"),
])
def test_validation_messages_match_torch(name, kw, msg):
    tm, jm = make_pair()
    with pytest.raises(ValueError) as terr:
        getattr(torch.optim, name)(tm.parameters(), **kw)
    with pytest.raises(ValueError) as jerr:
        getattr(optim, name)(jm.parameters(), **kw)
    assert str(terr.value) == msg
    assert str(jerr.value) == msg


def test_bad_params_argument():
    _, jm = make_pair()
    with pytest.raises(TypeError):
        optim.SGD(jm.fc1.weight, lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam([], lr=0.1)
    with pytest.raises(ValueError, match="gradient of shape"):
        optim.SGD(jm.parameters(), lr=0.1).step([jnp.zeros((1,))] * 4)


# -- LBFGS ------------------------------------------------------------------------------------

# L-BFGS amplifies float32 rounding differences (1e-7 in the first loss) by ~10x every few
# iterations, so the runs compared step by step are short (15 iterations in all).
@pytest.mark.parametrize("kw", [dict(max_iter=5), dict(line_search_fn="strong_wolfe", max_iter=5),
                                dict(lr=0.5, history_size=3, max_iter=5),
                                dict(line_search_fn="strong_wolfe", history_size=2, max_iter=4)])
def test_lbfgs_parity(kw):
    tm, jm = make_pair()
    topt = torch.optim.LBFGS(tm.parameters(), **kw)
    jopt = optim.LBFGS(jm.parameters(), **kw)
    loss_jit = nn.jit(lambda m: nn.value_and_grad(jnn_loss)(m))

    def tclosure():
        topt.zero_grad()
        loss = torch_loss(tm)
        loss.backward()
        return loss

    def jclosure():
        jopt.zero_grad()
        loss, grads = loss_jit(jm)
        grads.accumulate()
        return loss

    for i in range(3):
        tl = topt.step(tclosure)
        jl = jopt.step(jclosure)
        np.testing.assert_allclose(float(jl), float(tl.detach()), rtol=1e-4, err_msg=f"step {i}")
        assert_params_close(jnn_params(jm), torch_params(tm), rtol=1e-3, atol=1e-4,
                            msg=f"lbfgs step {i}")
    tstate = topt.state_dict()["state"][0]
    jstate = jopt.state_dict()["state"][0]
    assert set(jstate) == set(tstate)
    assert jstate["func_evals"] == tstate["func_evals"]
    assert jstate["n_iter"] == tstate["n_iter"]


def test_lbfgs_state_dict_roundtrip_to_torch():
    tm, jm = make_pair()
    jopt = optim.LBFGS(jm.parameters(), history_size=4, max_iter=4)

    def jclosure():
        jopt.zero_grad()
        loss, grads = nn.value_and_grad(jnn_loss)(jm)
        grads.accumulate()
        return loss

    def tclosure():
        topt.zero_grad()
        loss = torch_loss(tm)
        loss.backward()
        return loss

    jopt.step(jclosure)
    tm.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in jm.state_dict().items()})
    topt = torch.optim.LBFGS(tm.parameters(), history_size=4, max_iter=4)
    topt.load_state_dict(to_torch_state_dict(jopt.state_dict()))
    jopt.step(jclosure)
    topt.step(tclosure)
    assert_params_close(jnn_params(jm), torch_params(tm), rtol=1e-4, atol=1e-5)


def test_lbfgs_rejects_jit():
    _, jm = make_pair()
    jopt = optim.LBFGS(jm.parameters())

    @nn.jit
    def bad(m, opt):
        return opt.step(lambda: jnn_loss(m))

    with pytest.raises(RuntimeError, match="LBFGS"):
        bad(jm, jopt)
    with pytest.raises(ValueError, match="per-parameter options"):
        optim.LBFGS([{"params": [jm.fc1.weight]}, {"params": [jm.fc2.weight]}])


# -- schedulers driving a compiled step -------------------------------------------------------

@pytest.mark.parametrize("name,sched,kw", [
    ("Adam", "OneCycleLR", dict(max_lr=0.05, total_steps=8)),
    ("SGD", "OneCycleLR", dict(max_lr=0.05, total_steps=8, three_phase=True)),
    ("AdamW", "CyclicLR", dict(base_lr=0.001, max_lr=0.05, step_size_up=3)),
    ("SGD", "CosineAnnealingLR", dict(T_max=3)),
])
def test_scheduler_with_jit_step_no_retrace(name, sched, kw):
    tm, jm = make_pair()
    okw = dict(lr=0.01, momentum=0.9) if name == "SGD" else dict(lr=0.01)
    topt = getattr(torch.optim, name)(tm.parameters(), **okw)
    jopt = getattr(optim, name)(jm.parameters(), **okw)
    tsched = getattr(torch.optim.lr_scheduler, sched)(topt, **kw)
    jsched = getattr(optim.lr_scheduler, sched)(jopt, **kw)
    step = make_jit_step()
    for i in range(7):
        torch_step(tm, topt)
        step(jm, jopt)
        tsched.step()
        jsched.step()
        assert_params_close(jnn_params(jm), torch_params(tm), msg=f"step {i}")
        assert jsched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12)
    assert step.trace_count == 1


def test_update_must_be_a_staticmethod():
    # Eager steps compile one program per optimizer class and static view (optimizer.py).
    with pytest.raises(TypeError, match="must be a @staticmethod"):
        class Bad(optim.Optimizer):
            def _update(self, p, g, state, hyper, static):
                return p, state
