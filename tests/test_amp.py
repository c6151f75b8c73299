"""Mixed precision: nn.autocast against torch.autocast (CPU op lists), nn.GradScaler against
torch.amp.GradScaler step by step, both eagerly and under nn.jit / nn.pmap."""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import jnn as nn
import jnn.functional as F
from jnn import optim

_TORCH_DT = {jnp.dtype(jnp.bfloat16): torch.bfloat16, jnp.dtype(jnp.float16): torch.float16,
             jnp.dtype(jnp.float32): torch.float32}


def _t(a):
    a = np.asarray(jnp.asarray(a, jnp.float32))
    return torch.tensor(a)


rng = np.random.default_rng(0)
X = rng.standard_normal((4, 8)).astype(np.float32)
W = rng.standard_normal((6, 8)).astype(np.float32)
B = rng.standard_normal(6).astype(np.float32)
IMG = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
K = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
TGT = np.array([0, 1, 2, 3])
PROB = rng.uniform(0.1, 0.9, (4, 8)).astype(np.float32)

# (name, input dtype, jnn call, torch call) over numpy inputs: torch's CPU autocast decides
# the expected dtype; the input dtype is what the op is fed (bfloat16 inputs show an op that
# casts up to float32, float32 inputs an op that casts down).
OPS = [
    ("linear", "float32", lambda a: F.linear(a(X), a(W), a(B)),
     lambda a: TF.linear(a(X), a(W), a(B))),
    ("matmul", "float32", lambda a: nn.matmul(a(X), a(W).T), lambda a: a(X) @ a(W).T),
    ("bmm", "float32", lambda a: nn.bmm(a(X)[None], a(W).T[None]),
     lambda a: torch.bmm(a(X)[None], a(W).T[None])),
    ("conv2d", "float32", lambda a: F.conv2d(a(IMG), a(K), padding=1),
     lambda a: TF.conv2d(a(IMG), a(K), padding=1)),
    ("conv_transpose2d", "float32", lambda a: F.conv_transpose2d(a(IMG), a(K).transpose(1, 0, 2, 3)),
     lambda a: TF.conv_transpose2d(a(IMG), a(K).transpose(0, 1))),
    ("sdpa", "float32", lambda a: F.scaled_dot_product_attention(a(X)[None], a(X)[None], a(X)[None]),
     lambda a: TF.scaled_dot_product_attention(a(X)[None], a(X)[None], a(X)[None])),
    ("prelu", "float32", lambda a: F.prelu(a(X), a(np.ones(1, np.float32) * .25)),
     lambda a: TF.prelu(a(X), a(np.ones(1, np.float32) * .25))),
    ("mse_loss", "bfloat16", lambda a: F.mse_loss(a(X), a(PROB)), lambda a: TF.mse_loss(a(X), a(PROB))),
    ("l1_loss", "bfloat16", lambda a: F.l1_loss(a(X), a(PROB)), lambda a: TF.l1_loss(a(X), a(PROB))),
    ("smooth_l1_loss", "bfloat16", lambda a: F.smooth_l1_loss(a(X), a(PROB)),
     lambda a: TF.smooth_l1_loss(a(X), a(PROB))),
    ("cross_entropy", "bfloat16", lambda a: F.cross_entropy(a(X), jnp.asarray(TGT)),
     lambda a: TF.cross_entropy(a(X), torch.tensor(TGT))),
    ("nll_loss", "bfloat16", lambda a: F.nll_loss(a(X), jnp.asarray(TGT)),
     lambda a: TF.nll_loss(a(X), torch.tensor(TGT))),
    ("bce", "bfloat16", lambda a: F.binary_cross_entropy(a(PROB), a(PROB)),
     lambda a: TF.binary_cross_entropy(a(PROB), a(PROB))),
    ("bce_logits", "bfloat16", lambda a: F.binary_cross_entropy_with_logits(a(X), a(PROB)),
     lambda a: TF.binary_cross_entropy_with_logits(a(X), a(PROB))),
    ("kl_div", "bfloat16", lambda a: F.kl_div(a(X), a(PROB), reduction="batchmean"),
     lambda a: TF.kl_div(a(X), a(PROB), reduction="batchmean")),
    # not listed on CPU: they keep the input's dtype (on CUDA softmax/layer_norm are float32)
    ("softmax", "bfloat16", lambda a: F.softmax(a(X), -1), lambda a: TF.softmax(a(X), -1)),
    ("layer_norm", "bfloat16", lambda a: F.layer_norm(a(X), (8,)), lambda a: TF.layer_norm(a(X), (8,))),
    ("gelu", "float32", lambda a: F.gelu(a(X)), lambda a: TF.gelu(a(X))),
    ("cat", "float32", lambda a: nn.cat([a(X), a(X).astype(jnp.bfloat16)]),
     lambda a: torch.cat([a(X), a(X).bfloat16()])),
]


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16], ids=["bf16", "fp16"])
def test_autocast_op_dtypes_and_values_match_torch(dtype):
    for name, in_dtype, jfn, tfn in OPS:
        jin = lambda v, d=in_dtype: jnp.asarray(v, d)
        tin = lambda v, d=in_dtype: torch.tensor(v).to(getattr(torch, d))
        with nn.autocast("cpu", dtype=dtype):
            got = jfn(jin)
        with torch.autocast("cpu", dtype=_TORCH_DT[jnp.dtype(dtype)]):
            want = tfn(tin)
        assert _TORCH_DT[jnp.dtype(got.dtype)] == want.dtype, (name, got.dtype, want.dtype)
        tol = 2e-2 * max(1.0, float(want.float().abs().max()))
        np.testing.assert_allclose(np.asarray(got.astype(jnp.float32)), want.float().numpy(),
                                   atol=tol, rtol=2e-2, err_msg=name)
    # outside autocast every op keeps float32
    assert F.linear(jnp.asarray(X), jnp.asarray(W)).dtype == jnp.float32


def test_autocast_layers_gradients_and_nesting():
    nn.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(64, 5), nn.LayerNorm(5))
    x = jnp.asarray(IMG)
    with nn.autocast("cpu"):
        assert nn.amp.autocast_state() == ("cpu", jnp.dtype(jnp.bfloat16))
        assert nn.amp.is_autocast_enabled("cpu") and not nn.amp.is_autocast_enabled("cuda")
        y = model(x)
        assert y.dtype == jnp.bfloat16  # conv/linear bf16; layer_norm keeps bf16 on CPU
        with nn.autocast("cpu", enabled=False):
            assert model(x).dtype == jnp.float32 and nn.amp.autocast_state() is None
        loss_fn = lambda m: F.cross_entropy(m(x), jnp.asarray([1, 2]))
        loss, grads = nn.value_and_grad(loss_fn)(model)
    assert loss.dtype == jnp.float32 and nn.amp.autocast_state() is None
    # gradients of float32 parameters stay float32 (the casts are differentiable), as torch
    assert all(g.dtype == jnp.float32 for g in grads.values())

    @nn.autocast("cpu", dtype=jnp.float16)
    def f(a):
        return F.linear(a, jnp.asarray(W))
    assert f(jnp.asarray(X)).dtype == jnp.float16
    # float64 is never cast (torch's eligibility rule)
    with nn.autocast("cpu"):
        assert F.linear(jnp.ones((2, 3), jnp.float32), jnp.ones((4, 3))).dtype == jnp.bfloat16


def test_autocast_bad_arguments():
    with pytest.raises(ValueError, match="device_type"):
        nn.autocast("tpu")
    with pytest.raises(ValueError, match="float32"):
        nn.autocast("cpu", dtype=jnp.float32)
    with pytest.warns(UserWarning, match="CUDA is not available"):
        ctx = nn.autocast("cuda")
    with ctx:  # disabled, as torch on a machine without CUDA
        assert F.linear(jnp.asarray(X), jnp.asarray(W)).dtype == jnp.float32


def test_autocast_under_jit_retraces_only_on_change():
    nn.manual_seed(0)
    model = nn.Linear(8, 6)

    @nn.jit
    def fwd(m, x):
        return m(x)

    x = jnp.asarray(X)
    assert fwd(model, x).dtype == jnp.float32
    with nn.autocast("cpu"):
        assert fwd(model, x).dtype == jnp.bfloat16
        assert fwd(model, x).dtype == jnp.bfloat16
    assert fwd(model, x).dtype == jnp.float32
    assert fwd.trace_count == 2

    @nn.jit
    def inside(m, x):  # autocast opened inside the step: part of its one trace
        with nn.autocast("cpu"):
            return m(x)
    for _ in range(3):
        assert inside(model, x).dtype == jnp.bfloat16
    assert inside.trace_count == 1


# -- GradScaler ----------------------------------------------------------------------------------

INF_STEPS = (2, 5)


def _torch_run(opt_name, steps, amp_dtype):
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3)
    w0 = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    opt = (torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9) if opt_name == "sgd"
           else torch.optim.Adam(model.parameters(), lr=0.01))
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 10, growth_interval=2)
    xs, ys = _data(steps)
    scales, params = [], []
    for i in range(steps):
        x = torch.tensor(xs[i])
        with torch.autocast("cpu", dtype=amp_dtype, enabled=amp_dtype is not None):
            loss = TF.mse_loss(model(x), torch.tensor(ys[i]))
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        opt.zero_grad()
        scales.append(scaler.get_scale())
        params.append(model.weight.detach().numpy().copy())
    return w0, scales, params, scaler.state_dict()


def _data(steps):
    r = np.random.default_rng(1)
    xs = r.standard_normal((steps, 5, 4)).astype(np.float32)
    for i in INF_STEPS:
        xs[i, 0, 0] = np.inf
    return xs, r.standard_normal((steps, 5, 3)).astype(np.float32)


def _jnn_setup(opt_name, w0):
    model = nn.Linear(4, 3)
    model.load_state_dict({k: jnp.asarray(v) for k, v in w0.items()})
    opt = (optim.SGD(model.parameters(), lr=0.1, momentum=0.9) if opt_name == "sgd"
           else optim.Adam(model.parameters(), lr=0.01))
    return model, opt, nn.GradScaler("cpu", init_scale=2.0 ** 10, growth_interval=2)


def _jnn_step(model, opt, scaler, x, y, amp_dtype, torch_style):
    def loss_fn(m):
        with nn.autocast("cpu", dtype=amp_dtype or jnp.bfloat16, enabled=amp_dtype is not None):
            return scaler.scale(F.mse_loss(m(x), y))
    _, grads = nn.value_and_grad(loss_fn)(model)
    if torch_style:
        grads.accumulate()
        scaler.step(opt)
        opt.zero_grad()
    else:
        scaler.step(opt, grads)
    scaler.update()


@pytest.mark.parametrize("opt_name,amp,torch_style", [("sgd", None, True), ("adam", "fp16", False)])
def test_grad_scaler_matches_torch_eager_and_jit(opt_name, amp, torch_style):
    steps = 8
    amp_j = {None: None, "fp16": jnp.float16}[amp]
    amp_t = {None: None, "fp16": torch.float16}[amp]
    w0, t_scales, t_params, t_state = _torch_run(opt_name, steps, amp_t)
    # inf steps back off, two clean steps in a row grow
    assert t_scales[INF_STEPS[0]] < t_scales[INF_STEPS[0] - 1]
    xs, ys = _data(steps)
    tol = 1e-6 if amp is None else 2e-3
    for compiled in (False, True):
        model, opt, scaler = _jnn_setup(opt_name, w0)
        step = nn.jit(_jnn_step, static_argnums=(5, 6)) if compiled else _jnn_step
        for i in range(steps):
            step(model, opt, scaler, jnp.asarray(xs[i]), jnp.asarray(ys[i]), amp_j, torch_style)
            assert scaler.get_scale() == t_scales[i], (compiled, i)
            np.testing.assert_allclose(np.asarray(model.weight), t_params[i], rtol=tol, atol=tol,
                                       err_msg=f"compiled={compiled} step {i}")
        assert scaler.state_dict() == t_state
        if compiled:
            assert step.trace_count == 1  # skipped steps and scale changes: one program


def test_grad_scaler_state_dict_unscale_and_errors():
    model = nn.Linear(2, 1)
    opt = optim.SGD(model.parameters(), lr=0.1)
    scaler = nn.GradScaler(init_scale=8.0)
    ts = torch.amp.GradScaler("cpu", init_scale=8.0)
    assert scaler.state_dict() == ts.state_dict()
    scaler.load_state_dict({**ts.state_dict(), "scale": 4.0, "_growth_tracker": 3})
    assert scaler.get_scale() == 4.0 and scaler.state_dict()["_growth_tracker"] == 3
    x = jnp.ones((3, 2))
    _, grads = nn.value_and_grad(lambda m: scaler.scale(m(x).sum()))(model)
    unscaled = scaler.unscale_(opt, grads)
    np.testing.assert_allclose(np.asarray(unscaled["weight"]), np.asarray(grads["weight"]) / 4.0)
    with pytest.raises(RuntimeError, match="already been called"):
        scaler.unscale_(opt, grads)
    scaler.step(opt, unscaled)
    with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
        scaler.step(opt, unscaled)
    scaler.update()
    with pytest.raises(RuntimeError, match="No inf checks"):
        scaler.update()
    with pytest.raises(RuntimeError, match="Closure"):
        scaler.step(opt, lambda: 0.0)
    with pytest.raises(ValueError, match="growth_factor"):
        nn.GradScaler(growth_factor=0.5)
    off = nn.GradScaler(enabled=False)
    assert off.scale(jnp.float32(2.0)) == 2.0 and off.get_scale() == 1.0 and off.state_dict() == {}

    captured = nn.GradScaler()

    @nn.jit
    def bad(m):
        return captured.scale(m(x).sum())
    with pytest.raises(RuntimeError, match="pass the scaler"):
        bad(model)


def test_grad_scaler_under_pmap():
    n = jax.device_count()
    nn.manual_seed(0)
    model = nn.Linear(4, 3)
    opt = optim.SGD(model.parameters(), lr=0.1)
    scaler = nn.GradScaler(init_scale=2.0 ** 10, growth_interval=2)
    ref = nn.Linear(4, 3)
    ref.load_state_dict(model.state_dict())
    ref_opt = optim.SGD(ref.parameters(), lr=0.1)
    ref_scaler = nn.GradScaler(init_scale=2.0 ** 10, growth_interval=2)

    def step(m, o, s, x, y):
        _, grads = nn.value_and_grad(lambda mm: s.scale(F.mse_loss(mm(x), y)))(m)
        s.step(o, grads)
        s.update()

    pstep = nn.pmap(step)
    r = np.random.default_rng(2)
    for i in range(4):
        x = r.standard_normal((2 * n, 4)).astype(np.float32)
        if i == 1:
            x[3, 0] = np.inf  # one device overflows: every device skips
        y = r.standard_normal((2 * n, 3)).astype(np.float32)
        pstep(model, opt, scaler, jnp.asarray(x), jnp.asarray(y))
        step(ref, ref_opt, ref_scaler, jnp.asarray(x), jnp.asarray(y))
        assert scaler.get_scale() == ref_scaler.get_scale()
        np.testing.assert_allclose(np.asarray(model.weight), np.asarray(ref.weight), rtol=1e-5,
                                   atol=1e-6)
    assert pstep.trace_count == 1
    assert math.isclose(scaler.get_scale(), 2.0 ** 10 * 0.5 * 2)
