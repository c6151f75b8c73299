"""jnn.func (torch.func over modules) against torch.func's numbers, and gradient
accumulation over micro-batches inside one nn.jit step."""
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.func as tfunc
import torch.nn.functional as TF

import jnn as nn
import jnn.functional as F
from jnn import func, optim

R = np.random.default_rng(0)
X = R.standard_normal((6, 4)).astype(np.float32)
Y = np.array([0, 1, 2, 0, 1, 2])
TOL = dict(rtol=1e-4, atol=1e-5)


@pytest.fixture(scope="module")
def models():
    torch.manual_seed(0)
    tm = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.Tanh(), torch.nn.Linear(5, 3))
    jm = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 3))
    jm.load_state_dict({k: jnp.asarray(v.detach().numpy()) for k, v in tm.state_dict().items()})
    tp = {k: v.detach() for k, v in tm.named_parameters()}
    jp = {k: v.data for k, v in jm.named_parameters()}
    return tm, jm, tp, jp


def _close(a, b, what):
    np.testing.assert_allclose(np.asarray(a), b.detach().numpy(), err_msg=what, **TOL)


def test_per_sample_grads_match_torch_func(models):
    tm, jm, tp, jp = models

    def t_loss(p, x, y):
        return TF.cross_entropy(tfunc.functional_call(tm, p, (x[None],)), y[None])

    def j_loss(p, x, y):
        return F.cross_entropy(func.functional_call(jm, p, (x[None],)), y[None])

    want = tfunc.vmap(tfunc.grad(t_loss), in_dims=(None, 0, 0))(tp, torch.tensor(X),
                                                                 torch.tensor(Y))
    got = func.vmap(func.grad(j_loss), in_dims=(None, 0, 0))(jp, jnp.asarray(X), jnp.asarray(Y))
    for k in want:
        assert got[k].shape == (6, *jp[k].shape)
        _close(got[k], want[k], k)
    # grad_and_value's order and nn.vmap as the same transform
    g, v = func.grad_and_value(j_loss)(jp, jnp.asarray(X[0]), jnp.asarray(Y[0]))
    tg, tv = tfunc.grad_and_value(t_loss)(tp, torch.tensor(X[0]), torch.tensor(Y[0]))
    _close(v, tv, "value")
    _close(g["0.weight"], tg["0.weight"], "grad_and_value")
    assert nn.vmap is func.vmap


def test_jacobians_and_hessian_match_torch_func(models):
    tm, jm, tp, jp = models
    x = X[:2]
    t_out = lambda p: tfunc.functional_call(tm, p, (torch.tensor(x),))
    j_out = lambda p: func.functional_call(jm, p, (jnp.asarray(x),))
    for name, jf, tf in (("jacrev", func.jacrev, tfunc.jacrev), ("jacfwd", func.jacfwd, tfunc.jacfwd)):
        got, want = jf(j_out)(jp), tf(t_out)(tp)
        for k in want:
            assert got[k].shape == tuple(want[k].shape)
            _close(got[k], want[k], f"{name} {k}")
    # argnums over (params, input): Jacobian w.r.t. the input
    got = func.jacrev(lambda p, a: func.functional_call(jm, p, (a,)), argnums=1)(jp, jnp.asarray(x))
    want = tfunc.jacrev(lambda p, a: tfunc.functional_call(tm, p, (a,)), argnums=1)(tp, torch.tensor(x))
    _close(got, want, "jacrev argnums=1")

    def t_loss(p):
        return TF.cross_entropy(tfunc.functional_call(tm, p, (torch.tensor(x),)), torch.tensor(Y[:2]))

    def j_loss(p):
        return F.cross_entropy(func.functional_call(jm, p, (jnp.asarray(x),)), jnp.asarray(Y[:2]))
    got, want = func.hessian(j_loss)(jp), tfunc.hessian(t_loss)(tp)
    for a in want:
        for b in want[a]:
            _close(got[a][b], want[a][b], f"hessian {a} {b}")
    # jvp / vjp conventions
    t = {k: jnp.ones_like(v) for k, v in jp.items()}
    out, tangent = func.jvp(j_loss, (jp,), (t,))
    tout, ttangent = tfunc.jvp(t_loss, (tp,), ({k: torch.ones_like(v) for k, v in tp.items()},))
    _close(out, tout, "jvp out")
    _close(tangent, ttangent, "jvp tangent")
    out, vjp_fn = func.vjp(j_loss, jp)
    (cot,) = vjp_fn(jnp.ones(()))
    _close(cot["2.bias"], tfunc.grad(t_loss)(tp)["2.bias"], "vjp")


def test_stack_module_state_ensemble(models):
    jm = models[1]
    nn.manual_seed(1)
    ensemble = [nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 3)) for _ in range(3)]
    params, buffers = func.stack_module_state(ensemble)
    assert params["0.weight"].shape == (3, 5, 4) and buffers == {}
    out = func.vmap(lambda p, a: func.functional_call(jm, p, (a,)), in_dims=(0, None))(
        params, jnp.asarray(X))
    for i, m in enumerate(ensemble):
        np.testing.assert_allclose(np.asarray(out[i]), np.asarray(m(jnp.asarray(X))), **TOL)
    with pytest.raises(ValueError, match="at least one"):
        func.stack_module_state([])
    with pytest.raises(ValueError, match="same class"):
        func.stack_module_state([nn.Linear(2, 2), nn.Tanh()])
    with pytest.raises(NotImplementedError, match="randomness"):
        func.vmap(jnp.sin, randomness="different")
    with pytest.raises(TypeError, match="argnums"):
        func.grad(jnp.sum, argnums="0")


def test_gradient_accumulation_inside_one_jit_step_equals_full_batch():
    nn.manual_seed(0)
    a = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 3))
    b = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 3))
    b.load_state_dict(a.state_dict())
    oa, ob = optim.SGD(a.parameters(), lr=0.1), optim.SGD(b.parameters(), lr=0.1)
    x = jnp.asarray(R.standard_normal((8, 4)), jnp.float32)
    y = jnp.asarray(R.integers(0, 3, 8))

    @nn.jit
    def full(m, opt, x, y):
        loss, grads = nn.value_and_grad(lambda mm: F.cross_entropy(mm(x), y))(m)
        opt.step(grads)
        return loss

    @nn.jit
    def accumulated(m, opt, x, y, micro=4):
        opt.zero_grad()
        total = 0.0
        for xs, ys in zip(jnp.split(x, micro), jnp.split(y, micro)):
            # a mean loss per micro-batch: divide by their number, as in torch's recipe
            def micro_loss(mm, xs=xs, ys=ys):
                return F.cross_entropy(mm(xs), ys) / micro
            loss, grads = nn.value_and_grad(micro_loss)(m)
            grads.accumulate()  # .grad += grads
            total = total + loss
        opt.step()
        return total

    for _ in range(3):
        lf = full(a, oa, x, y)
        lacc = accumulated(b, ob, x, y)
        np.testing.assert_allclose(float(lf), float(lacc), rtol=1e-5)
    for (k, v), (_, w) in zip(a.state_dict().items(), b.state_dict().items()):
        np.testing.assert_allclose(np.asarray(v), np.asarray(w), rtol=1e-5, atol=1e-6, err_msg=k)
    assert accumulated.trace_count == 1
