"""``nn.jit``, ``nn.value_and_grad``, ``nn.grad`` and ``nn.functional_call`` semantics."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

import jnn as nn
from jnn import optim


class Counter(nn.Module):
    """A buffer-updating layer with a random draw: the state nn.jit must thread through."""

    def __init__(self, features):
        super().__init__()
        self.fc = nn.Linear(features, features)
        self.register_buffer("calls", jnp.zeros((), jnp.int32))
        self.register_buffer("running", jnp.zeros(features))

    def forward(self, x):
        out = self.fc(x)
        if self.training:
            self.calls = self.calls + 1
            self.running = 0.9 * self.running + 0.1 * out.mean(0)
            out = out + 0.01 * nn.randn(*out.shape)
        return out


def _mlp():
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))


def _train_step(model, opt, x, y):
    def loss_fn(m):
        return ((m(x) - y) ** 2).mean()
    loss, grads = nn.value_and_grad(loss_fn)(model)
    opt.step(grads)
    return loss


def test_buffers_written_back_randomness_fresh_and_one_trace():
    nn.manual_seed(0)
    model = Counter(3)
    step = nn.jit(lambda m, x: m(x))
    x = jnp.ones((2, 3))
    outs = [np.asarray(step(model, x)) for _ in range(3)]
    assert int(model.calls) == 3
    assert step.trace_count == 1
    assert not np.allclose(outs[0], outs[1]) and not np.allclose(outs[1], outs[2])
    assert float(jnp.abs(model.running).sum()) > 0


def test_jit_equals_eager_including_random_stream():
    def run(compiled):
        nn.manual_seed(1)
        model = Counter(3)
        fn = nn.jit(lambda m, x: m(x)) if compiled else (lambda m, x: m(x))
        outs = [fn(model, jnp.full((2, 3), float(i))) for i in range(3)]
        return outs, model.state_dict(), nn.get_rng_state()
    eager_outs, eager_sd, eager_key = run(False)
    jit_outs, jit_sd, jit_key = run(True)
    for a, b in zip(eager_outs, jit_outs):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    for k in eager_sd:
        np.testing.assert_allclose(eager_sd[k], jit_sd[k], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(eager_key, jit_key)


def test_training_step_matches_eager_and_compiles_once():
    rng = np.random.default_rng(0)
    x, y = jnp.asarray(rng.standard_normal((16, 4)), jnp.float32), \
        jnp.asarray(rng.standard_normal((16, 2)), jnp.float32)
    nn.manual_seed(0)
    m_eager, m_jit = _mlp(), _mlp()
    m_jit.load_state_dict(m_eager.state_dict())
    o_eager = optim.SGD(m_eager.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
    o_jit = optim.SGD(m_jit.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
    step = nn.jit(_train_step)
    for _ in range(5):
        le = _train_step(m_eager, o_eager, x, y)
        lj = step(m_jit, o_jit, x, y)
        np.testing.assert_allclose(le, lj, rtol=1e-5)
    for k, v in m_eager.state_dict().items():
        np.testing.assert_allclose(m_jit.state_dict()[k], v, rtol=1e-5, atol=1e-6)
    assert step.trace_count == 1


def test_training_matches_torch():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((16, 4)).astype(np.float32), \
        rng.standard_normal((16, 2)).astype(np.float32)
    tm = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    jm = _mlp()
    jm.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
    topt = torch.optim.SGD(tm.parameters(), lr=0.05, momentum=0.9, nesterov=True)
    jopt = optim.SGD(jm.parameters(), lr=0.05, momentum=0.9, nesterov=True)
    step = nn.jit(_train_step)
    for _ in range(4):
        topt.zero_grad()
        tl = ((tm(torch.from_numpy(x)) - torch.from_numpy(y)) ** 2).mean()
        tl.backward()
        topt.step()
        jl = step(jm, jopt, jnp.asarray(x), jnp.asarray(y))
        np.testing.assert_allclose(jl, tl.item(), rtol=1e-5)
    for k, v in tm.state_dict().items():
        np.testing.assert_allclose(jm.state_dict()[k], v.numpy(), rtol=1e-5, atol=1e-6)


def test_lr_edit_takes_effect_without_retracing():
    model = _mlp()
    opt = optim.SGD(model.parameters(), lr=0.1)
    step = nn.jit(_train_step)
    x, y = jnp.ones((4, 4)), jnp.zeros((4, 2))
    step(model, opt, x, y)
    before = model[0].weight.data
    for g in opt.param_groups:
        g["lr"] = 0.0
    step(model, opt, x, y)
    np.testing.assert_array_equal(model[0].weight.data, before)
    assert step.trace_count == 1


def test_mode_switch_retraces_once_per_mode():
    model = Counter(2)
    fn = nn.jit(lambda m, x: m(x))
    x = jnp.ones((1, 2))
    fn(model, x)
    model.eval()
    fn(model, x)
    model.train()
    fn(model, x)
    model.eval()
    fn(model, x)
    assert fn.trace_count == 2
    assert int(model.calls) == 2


def test_structure_change_is_seen():
    model = nn.Sequential(nn.Linear(2, 2))
    fn = nn.jit(lambda m, x: m(x))
    fn(model, jnp.ones((1, 2)))
    model.append(nn.Linear(2, 3))
    assert fn(model, jnp.ones((1, 2))).shape == (1, 3)


def test_hooks_run_under_jit_and_removal_retraces():
    model = nn.Linear(2, 2)
    fn = nn.jit(lambda m, x: m(x))
    x = jnp.ones((1, 2))
    plain = fn(model, x)
    handle = model.register_forward_hook(lambda m, a, out: out * 0)
    np.testing.assert_array_equal(fn(model, x), jnp.zeros((1, 2)))
    handle.remove()
    np.testing.assert_allclose(fn(model, x), plain, rtol=1e-6)


def test_static_and_keyword_arguments():
    model = nn.Linear(2, 2)

    def f(m, x, *, scale, double=False):
        out = m(x) * scale
        return out * 2 if double else out
    fn = nn.jit(f)
    x = jnp.ones((1, 2))
    a = fn(model, x, scale=2.0)
    b = fn(model, x, scale=2.0, double=True)
    np.testing.assert_allclose(b, a * 2, rtol=1e-6)
    fn(model, x, scale=3.0)
    assert fn.trace_count == 2  # the bool is static, the float is traced


def test_parameter_outputs_and_direct_parameter_args():
    p = nn.Parameter(jnp.ones(3))

    def bump(p):
        p.data = p.data + 1
        return p
    fn = nn.jit(bump)
    out = fn(p)
    assert isinstance(out, jax.Array)
    np.testing.assert_array_equal(p.data, jnp.full(3, 2.0))


@pytest.mark.implicit_broadcasting  # user code / reference: x @ W + b
def test_value_and_grad_skips_frozen_and_matches_jax():
    model = _mlp()
    model[0].requires_grad_(False)
    x = jnp.ones((3, 4))
    loss, grads = nn.value_and_grad(lambda m: m(x).sum())(model)
    assert list(grads) == ["2.weight", "2.bias"]
    ref = jax.grad(lambda w: (jnp.tanh(model[0](x)) @ w.T + model[2].bias.data).sum())(
        model[2].weight.data)
    np.testing.assert_allclose(grads["2.weight"], ref, rtol=1e-5)
    np.testing.assert_allclose(grads[model[2].weight], ref, rtol=1e-5)
    doubled = jax.tree.map(lambda g: 2 * g, grads)
    np.testing.assert_allclose(doubled["2.bias"], 2 * grads["2.bias"])


def test_grad_with_array_argnums_and_aux():
    model = nn.Linear(2, 1)
    x = jnp.ones((4, 2))

    def f(m, x):
        out = m(x).sum()
        return out, out * 2
    (g_model, g_x), aux = nn.grad(f, argnums=(0, 1), has_aux=True)(model, x)
    assert isinstance(g_model, nn.Grads) and g_x.shape == (4, 2)
    np.testing.assert_allclose(g_x, jnp.broadcast_to(model.weight.data, (4, 2)), rtol=1e-6)
    with pytest.raises(TypeError, match="scalar"):
        nn.grad(lambda m: m(x))(model)


def test_state_mutated_under_grad_is_written_back():
    model = Counter(2)
    loss, grads = nn.value_and_grad(lambda m: m(jnp.ones((2, 2))).sum())(model)
    assert int(model.calls) == 1
    assert isinstance(model.running, jax.Array) and not isinstance(model.running, jax.core.Tracer)


def test_torch_style_grad_accumulation_and_step():
    model = nn.Linear(2, 1)
    opt = optim.SGD(model.parameters(), lr=1.0)
    x = jnp.ones((1, 2))
    opt.zero_grad()
    _, grads = nn.value_and_grad(lambda m: m(x).sum())(model)
    grads.accumulate()
    grads.accumulate()
    np.testing.assert_allclose(model.bias.grad, jnp.full((1,), 2.0))
    before = model.bias.data
    opt.step()
    np.testing.assert_allclose(model.bias.data, before - 2.0, rtol=1e-6)


def test_functional_call():
    model = nn.Linear(2, 2)
    x = jnp.ones((1, 2))
    zeros = {k: jnp.zeros_like(v) for k, v in model.state_dict().items()}
    np.testing.assert_array_equal(nn.functional_call(model, zeros, (x,)), jnp.zeros((1, 2)))
    np.testing.assert_allclose(nn.functional_call(model, {}, x), model(x))
    g = jax.grad(lambda p: nn.functional_call(model, p, (x,)).sum())(
        dict(model.state_dict()))
    np.testing.assert_allclose(g["bias"], jnp.ones(2))
    with pytest.raises(ValueError, match="unexpected key"):
        nn.functional_call(model, {"nope": jnp.ones(1)}, (x,))
    # the module is unchanged afterwards
    assert not isinstance(model.weight.data, jax.core.Tracer)


def test_random_stream_api():
    nn.manual_seed(3)
    a = nn.randn(4)
    nn.manual_seed(3)
    b = nn.randn(4)
    np.testing.assert_array_equal(a, b)
    with nn.fork_rng(7):
        c = nn.rand(2, 2)
    d = nn.randn(4)
    nn.manual_seed(3)
    nn.randn(4)
    np.testing.assert_array_equal(nn.randn(4), d)  # fork_rng left the stream alone
    assert c.shape == (2, 2) and c.dtype == jnp.float32
    assert nn.randint(0, 10, (5,)).shape == (5,)
    assert sorted(np.asarray(nn.randperm(6)).tolist()) == list(range(6))
    key = jax.random.PRNGKey(0)
    np.testing.assert_array_equal(nn.randn(3, key=key), nn.randn(3, key=key))
    nn.manual_seed(5)
    m1 = nn.Linear(3, 3)
    nn.manual_seed(5)
    m2 = nn.Linear(3, 3)
    np.testing.assert_array_equal(m1.weight.data, m2.weight.data)


def test_zero_to_nonzero_hyperparameter_recompiles_and_takes_effect():
    x, y = jnp.ones((4, 4)), jnp.zeros((4, 2))
    nn.manual_seed(0)
    a, b = _mlp(), _mlp()
    b.load_state_dict(a.state_dict())
    oa, ob = optim.SGD(a.parameters(), lr=0.1), optim.SGD(b.parameters(), lr=0.1)
    step = nn.jit(_train_step)
    step(a, oa, x, y)
    _train_step(b, ob, x, y)
    for o in (oa, ob):
        o.param_groups[0]["weight_decay"] = 0.5
    step(a, oa, x, y)
    _train_step(b, ob, x, y)
    for k, v in b.state_dict().items():
        np.testing.assert_allclose(a.state_dict()[k], v, rtol=1e-5, atol=1e-6)
    assert step.trace_count == 2


def test_positional_static_argument_change_retraces():
    fn = nn.jit(lambda m, x, flip: -m(x) if flip else m(x))
    model, x = nn.Linear(2, 2), jnp.ones((1, 2))
    np.testing.assert_allclose(fn(model, x, True), -fn(model, x, False), rtol=1e-6)
    assert fn.trace_count == 2


def test_a_module_captured_by_closure_is_an_error_not_a_frozen_constant():
    model = nn.Linear(2, 2)
    fn = nn.jit(lambda x: model(x))
    with pytest.raises(RuntimeError, match="not reachable from its arguments"):
        fn(jnp.ones((1, 2)))
    ok = nn.jit(lambda m, x: m(x))
    np.testing.assert_allclose(ok(model, jnp.ones((1, 2))), model(jnp.ones((1, 2))), rtol=1e-6)

    def make_and_use(x):
        p = nn.Parameter(jnp.ones(2))  # created inside the trace: fine
        return x * p
    np.testing.assert_array_equal(nn.jit(make_and_use)(jnp.ones(2)), jnp.ones(2))


def test_step_refuses_gradients_it_cannot_match():
    model = nn.Linear(2, 1)
    opt = optim.SGD(model.parameters(), lr=0.1)
    _, grads = nn.value_and_grad(lambda m: m(jnp.ones((1, 2))).sum())(model)
    with pytest.raises(TypeError, match="keyed by name"):
        opt.step(dict(grads))
    _, other = nn.value_and_grad(lambda m: m(jnp.ones((1, 2))).sum())(nn.Linear(2, 1))
    with pytest.raises(ValueError, match="none of the optimizer's parameters"):
        opt.step(other)
    scaled = jax.tree.map(lambda g: 0.5 * g, grads)  # still a Grads
    opt.step(scaled)
