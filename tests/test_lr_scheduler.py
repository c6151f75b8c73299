"""jnn.optim.lr_scheduler against torch.optim.lr_scheduler: the same learning-rate (and
momentum) sequences, state_dicts and errors."""
from __future__ import annotations

import pickle
import warnings

import jax.numpy as jnp
import numpy as np
import pytest
import torch

import jnn as nn
from jnn import optim

N = 30


def _params(lib, n_groups):
    if lib == "torch":
        ps = [torch.nn.Parameter(torch.zeros(2)) for _ in range(n_groups)]
    else:
        ps = [nn.Parameter(jnp.zeros(2)) for _ in range(n_groups)]
    if n_groups == 1:
        return ps
    return [{"params": [p], "lr": 0.1 * (i + 1)} for i, p in enumerate(ps)]


def _make(lib, opt_name, opt_kw, n_groups):
    mod = torch.optim if lib == "torch" else optim
    return getattr(mod, opt_name)(_params(lib, n_groups), **opt_kw)


def _record(opt):
    out = []
    for g in opt.param_groups:
        row = [g["lr"]]
        if "momentum" in g:
            row.append(g["momentum"])
        if "betas" in g:
            row.extend(g["betas"])
        out.append(row)
    return out


def run_schedule(lib, opt_name, opt_kw, factory, n_groups=1, steps=N, metrics=None):
    sched_mod = torch.optim.lr_scheduler if lib == "torch" else optim.lr_scheduler
    opt = _make(lib, opt_name, opt_kw, n_groups)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sched = factory(sched_mod, opt)
        history = [(_record(opt), list(sched.get_last_lr()))]
        for i in range(steps):
            if metrics is not None:
                sched.step(metrics[i])
            else:
                sched.step()
            history.append((_record(opt), list(sched.get_last_lr())))
    return history, sched, opt


def assert_same_history(th, jh):
    assert len(th) == len(jh)
    for i, ((trec, tlast), (jrec, jlast)) in enumerate(zip(th, jh)):
        for trow, jrow in zip(trec, jrec):
            assert jrow == pytest.approx(trow, rel=1e-12, abs=1e-15), f"step {i}: {jrow} vs {trow}"
        assert jlast == pytest.approx(tlast, rel=1e-12, abs=1e-15), f"step {i} last_lr"


S = "SGD"
SM = ("SGD", dict(lr=0.1, momentum=0.9))
A = ("Adam", dict(lr=0.01))
CASES = [
    ("LambdaLR", lambda m, o: m.LambdaLR(o, lambda e: 0.95 ** e)),
    ("LambdaLR-list", lambda m, o: m.LambdaLR(o, [lambda e: 0.9 ** e, lambda e: 1 / (e + 1)]), 2),
    ("MultiplicativeLR", lambda m, o: m.MultiplicativeLR(o, lambda e: 0.9)),
    ("StepLR", lambda m, o: m.StepLR(o, step_size=7, gamma=0.5)),
    ("StepLR-groups", lambda m, o: m.StepLR(o, step_size=3), 3),
    ("MultiStepLR", lambda m, o: m.MultiStepLR(o, milestones=[3, 10, 10, 20], gamma=0.3)),
    ("ConstantLR", lambda m, o: m.ConstantLR(o)),
    ("ConstantLR-args", lambda m, o: m.ConstantLR(o, factor=0.5, total_iters=8)),
    ("LinearLR", lambda m, o: m.LinearLR(o)),
    ("LinearLR-args", lambda m, o: m.LinearLR(o, start_factor=0.1, end_factor=0.5,
                                              total_iters=12), 2),
    ("ExponentialLR", lambda m, o: m.ExponentialLR(o, gamma=0.9)),
    ("PolynomialLR", lambda m, o: m.PolynomialLR(o)),
    ("PolynomialLR-args", lambda m, o: m.PolynomialLR(o, total_iters=20, power=2.0)),
    ("CosineAnnealingLR", lambda m, o: m.CosineAnnealingLR(o, T_max=10)),
    ("CosineAnnealingLR-eta", lambda m, o: m.CosineAnnealingLR(o, T_max=7, eta_min=0.01), 2),
    ("CosineAnnealingWarmRestarts", lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=5)),
    ("CosineAnnealingWarmRestarts-mult",
     lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.001)),
    ("CyclicLR", lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4), 1, SM),
    ("CyclicLR-tri2", lambda m, o: m.CyclicLR(o, 0.01, 0.1, step_size_up=3, step_size_down=5,
                                              mode="triangular2"), 2, SM),
    ("CyclicLR-exp", lambda m, o: m.CyclicLR(o, [0.01, 0.02], 0.1, step_size_up=4,
                                             mode="exp_range", gamma=0.9), 2, SM),
    ("CyclicLR-adam", lambda m, o: m.CyclicLR(o, 0.001, 0.01, step_size_up=5), 1, A),
    ("CyclicLR-nomom", lambda m, o: m.CyclicLR(o, 0.001, 0.01, step_size_up=5,
                                               cycle_momentum=False), 1, ("SGD", dict(lr=0.1))),
    ("CyclicLR-scale_fn", lambda m, o: m.CyclicLR(o, 0.001, 0.01, step_size_up=2,
                                                  scale_fn=lambda x: 0.5 ** x,
                                                  scale_mode="iterations"), 1, SM),
    ("OneCycleLR", lambda m, o: m.OneCycleLR(o, max_lr=0.1, total_steps=N), 1, SM),
    ("OneCycleLR-adam-linear", lambda m, o: m.OneCycleLR(o, max_lr=[0.1, 0.05], epochs=3,
                                                         steps_per_epoch=10,
                                                         anneal_strategy="linear"), 2, A),
    ("OneCycleLR-three", lambda m, o: m.OneCycleLR(o, max_lr=0.1, total_steps=N,
                                                   three_phase=True, pct_start=0.25,
                                                   div_factor=10.0, final_div_factor=100.0),
     1, A),
    ("SequentialLR", lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.1, total_iters=5), m.ExponentialLR(o, gamma=0.9)],
        milestones=[5])),
    ("SequentialLR-3", lambda m, o: m.SequentialLR(
        o, [m.ConstantLR(o, factor=0.5, total_iters=3), m.StepLR(o, 4),
            m.CosineAnnealingLR(o, T_max=6)], milestones=[4, 15]), 2),
    ("ChainedScheduler", lambda m, o: m.ChainedScheduler(
        [m.ConstantLR(o, factor=0.1, total_iters=2), m.ExponentialLR(o, gamma=0.9)])),
    ("ChainedScheduler-cos", lambda m, o: m.ChainedScheduler(
        [m.LinearLR(o, start_factor=0.2, total_iters=4), m.CosineAnnealingLR(o, T_max=8)],
        optimizer=o), 2),
]


def _case(c):
    name, factory = c[0], c[1]
    n_groups = c[2] if len(c) > 2 else 1
    opt_name, opt_kw = c[3] if len(c) > 3 else ("SGD", dict(lr=0.1))
    return name, factory, n_groups, opt_name, opt_kw


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_schedule_matches_torch(case):
    name, factory, n_groups, opt_name, opt_kw = _case(case)
    th, tsched, topt = run_schedule("torch", opt_name, opt_kw, factory, n_groups)
    jh, jsched, jopt = run_schedule("jnn", opt_name, opt_kw, factory, n_groups)
    assert_same_history(th, jh)
    # The group keys schedulers add (initial_lr, max_lr, base_momentum ...) are torch's too.
    assert [sorted(g) for g in jopt.param_groups] == [sorted(g) for g in topt.param_groups]


@pytest.mark.parametrize("kw", [
    dict(), dict(mode="max", factor=0.5, patience=2),
    dict(threshold_mode="abs", threshold=0.05, cooldown=2, patience=1, min_lr=0.02),
    dict(mode="max", threshold_mode="abs", patience=0, min_lr=[0.01, 0.03]),
])
def test_reduce_lr_on_plateau(kw):
    rng = np.random.default_rng(0)
    metrics = list(np.concatenate([np.linspace(1, 0.5, 8), 0.5 + 0.01 * rng.random(22)]))
    n_groups = 2 if isinstance(kw.get("min_lr"), list) else 1
    factory = lambda m, o: m.ReduceLROnPlateau(o, **kw)  # noqa: E731
    th, tsched, _ = run_schedule("torch", "SGD", dict(lr=0.1), factory, n_groups,
                                 metrics=metrics)
    jh, jsched, _ = run_schedule("jnn", "SGD", dict(lr=0.1), factory, n_groups,
                                 metrics=metrics)
    assert_same_history(th, jh)
    assert jsched.num_bad_epochs == tsched.num_bad_epochs
    assert jsched.best == tsched.best
    # A 0-d array is a valid metric.
    jsched.step(jnp.asarray(0.1))


@pytest.mark.parametrize("case", [c for c in CASES if c[0] in (
    "StepLR", "MultiStepLR", "ConstantLR-args", "LinearLR-args", "ExponentialLR",
    "PolynomialLR-args", "CosineAnnealingLR-eta")], ids=lambda c: c[0])
def test_step_with_epoch_uses_closed_form(case):
    name, factory, n_groups, opt_name, opt_kw = _case(case)
    out = {}
    for lib in ("torch", "jnn"):
        opt = _make(lib, opt_name, opt_kw, n_groups)
        sched_mod = torch.optim.lr_scheduler if lib == "torch" else optim.lr_scheduler
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sched = factory(sched_mod, opt)
            seq = []
            for epoch in (3, 9, 4, 15, 0, 22):
                sched.step(epoch)
                seq.append(list(sched.get_last_lr()))
        out[lib] = seq
    for t, j in zip(out["torch"], out["jnn"]):
        assert j == pytest.approx(t, rel=1e-12, abs=1e-15)


def test_warm_restarts_fractional_epochs():
    out = {}
    for lib in ("torch", "jnn"):
        opt = _make(lib, "SGD", dict(lr=0.1), 1)
        mod = torch.optim.lr_scheduler if lib == "torch" else optim.lr_scheduler
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sched = mod.CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=2)
            seq = []
            for epoch in range(8):
                for i in range(4):
                    sched.step(epoch + i / 4)
                    seq.append(sched.get_last_lr()[0])
            sched.step(26)
            seq.append(sched.get_last_lr()[0])
            sched.step()
            seq.append(sched.get_last_lr()[0])
        out[lib] = seq
    assert out["jnn"] == pytest.approx(out["torch"], rel=1e-12)


@pytest.mark.parametrize("case", [c for c in CASES if c[0] in (
    "StepLR", "CosineAnnealingLR", "CyclicLR", "OneCycleLR", "SequentialLR",
    "ChainedScheduler", "LambdaLR")], ids=lambda c: c[0])
def test_state_dict_resume(case):
    # Run 10 steps, save, rebuild, load and continue: same sequence as an uninterrupted run;
    # the state_dict has torch's keys.
    name, factory, n_groups, opt_name, opt_kw = _case(case)
    full, _, _ = run_schedule("jnn", opt_name, opt_kw, factory, n_groups, steps=20)
    _, tsched, _ = run_schedule("torch", opt_name, opt_kw, factory, n_groups, steps=10)
    _, sched, opt = run_schedule("jnn", opt_name, opt_kw, factory, n_groups, steps=10)
    sd = sched.state_dict()
    tsd = tsched.state_dict()
    assert set(sd) == set(tsd)
    opt_sd = opt.state_dict()
    sd = pickle.loads(pickle.dumps(sd)) if name != "LambdaLR" else sd
    opt2 = _make("jnn", opt_name, opt_kw, n_groups)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sched2 = factory(optim.lr_scheduler, opt2)
        opt2.load_state_dict(opt_sd)
        sched2.load_state_dict(sd)
        rest = []
        for _ in range(10):
            sched2.step()
            rest.append((_record(opt2), list(sched2.get_last_lr())))
    assert_same_history(full[11:], rest)


def test_torch_state_dict_loads_into_jnn():
    topt = _make("torch", "SGD", dict(lr=0.1, momentum=0.9), 1)
    jopt = _make("jnn", "SGD", dict(lr=0.1, momentum=0.9), 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tsched = torch.optim.lr_scheduler.OneCycleLR(topt, max_lr=0.1, total_steps=N)
        jsched = optim.lr_scheduler.OneCycleLR(jopt, max_lr=0.1, total_steps=N)
        for _ in range(7):
            tsched.step()
        jsched.load_state_dict(tsched.state_dict())
        jopt.load_state_dict(topt.state_dict())
        for _ in range(10):
            tsched.step()
            jsched.step()
            assert jsched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12)
            assert jopt.param_groups[0]["momentum"] == pytest.approx(
                topt.param_groups[0]["momentum"], rel=1e-12)


def test_base_lrs_initial_lr_and_resume_errors():
    opt = _make("jnn", "SGD", dict(lr=0.1), 2)
    sched = optim.lr_scheduler.StepLR(opt, step_size=2)
    assert sched.base_lrs == [0.1, 0.2]
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.2]
    assert sched.last_epoch == 0 and sched._step_count == 1
    opt2 = _make("jnn", "SGD", dict(lr=0.1), 1)
    with pytest.raises(KeyError, match="initial_lr"):
        optim.lr_scheduler.StepLR(opt2, step_size=2, last_epoch=3)
    with pytest.warns(UserWarning, match="get_last_lr"):
        sched.get_lr()
    assert issubclass(optim.lr_scheduler.StepLR, optim.lr_scheduler.LRScheduler)


@pytest.mark.parametrize("make,exc,msg", [
    (lambda m, o: m.StepLR(object(), 3), TypeError, "object is not an Optimizer"),
    (lambda m, o: m.ConstantLR(o, factor=2.0), ValueError,
     "Constant multiplicative factor expected to be between 0 and 1."),
    (lambda m, o: m.LinearLR(o, start_factor=0), ValueError,
     "Starting multiplicative factor expected to be greater than 0 and less or equal to 1."),
    (lambda m, o: m.LambdaLR(o, [lambda e: 1.0] * 3), ValueError,
     "Expected 1 lr_lambdas, but got 3"),
    (lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=0), ValueError,
     "Expected positive integer T_0, but got 0"),
    (lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=0), ValueError,
     "Expected integer T_mult >= 1, but got 0"),
    (lambda m, o: m.OneCycleLR(o, max_lr=0.1), ValueError,
     r"You must define either total_steps OR \(epochs AND steps_per_epoch\)"),
    (lambda m, o: m.OneCycleLR(o, max_lr=0.1, total_steps=10, pct_start=2.0), ValueError,
     "Expected float between 0 and 1 pct_start, but got 2.0"),
    (lambda m, o: m.OneCycleLR(o, max_lr=0.1, total_steps=10, anneal_strategy="x"),
     ValueError, "anneal_strategy must be one of 'cos' or 'linear', instead got x"),
    (lambda m, o: m.CyclicLR(o, 0.1, 1.0, mode="bad"), ValueError,
     "mode is invalid and scale_fn is None"),
    (lambda m, o: m.ReduceLROnPlateau(o, factor=1.0), ValueError, r"Factor should be < 1.0."),
    (lambda m, o: m.ReduceLROnPlateau(o, mode="up"), ValueError, "mode up is unknown!"),
    (lambda m, o: m.SequentialLR(o, [m.StepLR(o, 2)], milestones=[3]), ValueError,
     "Sequential Schedulers expects number of schedulers provided to be one more"),
    (lambda m, o: m.ChainedScheduler([]), ValueError,
     "ChainedScheduler expects at least one scheduler to be chained, but got no scheduler."),
])
def test_errors_match_torch(make, exc, msg):
    for lib, mod in (("torch", torch.optim.lr_scheduler), ("jnn", optim.lr_scheduler)):
        opt = _make(lib, "SGD", dict(lr=0.1), 1)
        with pytest.raises(exc, match=msg):
            make(mod, opt)


def test_cyclic_momentum_requires_momentum_or_betas():
    opt = _make("jnn", "Adagrad", dict(lr=0.1), 1)
    with pytest.raises(ValueError, match="optimizer must support momentum or beta1"):
        optim.lr_scheduler.CyclicLR(opt, 0.01, 0.1)
    with pytest.raises(ValueError, match="optimizer must support momentum or beta1"):
        optim.lr_scheduler.OneCycleLR(opt, 0.1, total_steps=5)


def test_one_cycle_overstep_raises():
    opt = _make("jnn", "SGD", dict(lr=0.1, momentum=0.9), 1)
    sched = optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=3)
    for _ in range(3):
        sched.step()
    with pytest.raises(ValueError, match="Tried to step 4 times"):
        sched.step()


def test_submodule_access():
    from jnn.optim.lr_scheduler import StepLR
    assert optim.lr_scheduler.StepLR is StepLR
    assert set(torch.optim.lr_scheduler.__all__) <= set(optim.lr_scheduler.__all__)
