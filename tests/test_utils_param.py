"""``jnn.utils`` reparametrizations against torch: legacy weight_norm / spectral_norm,
parametrize, parametrizations (orthogonal, weight_norm, spectral_norm) and prune."""
import copy
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.utils.parametrizations as TPZ
import torch.nn.utils.parametrize as TP
import torch.nn.utils.prune as tprune

import jnn as nn
import jnn.utils.parametrizations as PZ
import jnn.utils.parametrize as P
import jnn.utils.prune as prune

warnings.filterwarnings("ignore", category=FutureWarning)


def _sd(module):
    # copies: jnp.asarray may alias a numpy buffer that torch later updates in place
    return {k: v.detach().numpy().copy() for k, v in module.state_dict().items()}


def _pair(i=5, o=4, seed=0, dtype="float32"):
    torch.manual_seed(seed)
    tl = torch.nn.Linear(i, o)
    jl = nn.Linear(i, o)
    if dtype == "float64":
        tl = tl.double()
        jl = jl.double()
    jl.load_state_dict(_sd(tl))
    return tl, jl


def _x(shape, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _check_step(tl, jl, x, rtol=1e-5, atol=1e-6, fn=None):
    """Forward output and gradients w.r.t. every parameter of torch's and jnn's modules."""
    tl.zero_grad()
    tout = tl(torch.tensor(x))
    (tout ** 2).sum().backward()
    loss, grads = nn.value_and_grad(lambda m: (m(jnp.asarray(x)) ** 2).sum())(jl)
    np.testing.assert_allclose(float(loss), float((tout ** 2).sum()), rtol=rtol * 10)
    tgrads = {n: p.grad.numpy() for n, p in tl.named_parameters()}
    assert sorted(grads) == sorted(tgrads)
    for n, g in tgrads.items():
        np.testing.assert_allclose(np.asarray(grads[n]), g, rtol=rtol * 10, atol=atol * 10,
                                   err_msg=n)


# -- legacy weight_norm -----------------------------------------------------------------------

@pytest.mark.parametrize("dim", [0, 1, None, -2])
def test_weight_norm_legacy(dim):
    tl, jl = _pair()
    torch.nn.utils.weight_norm(tl, dim=dim)
    with pytest.warns(FutureWarning):
        nn.utils.weight_norm(jl, dim=dim)
    assert list(jl.state_dict()) == list(tl.state_dict()) == ["bias", "weight_g", "weight_v"]
    assert jl.weight_g.shape == tuple(tl.weight_g.shape)
    np.testing.assert_allclose(np.asarray(jl.weight_g), tl.weight_g.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(jl.weight), tl.weight.detach().numpy(), rtol=1e-6)
    assert repr(jl) == repr(tl)
    jl.load_state_dict(_sd(tl) | {"weight_g": _sd(tl)["weight_g"] * 2})
    tl.weight_g.data *= 2
    x = _x((3, 5))
    _check_step(tl, jl, x)
    out = nn.jit(lambda m, x: m(x))(jl, jnp.asarray(x))
    np.testing.assert_allclose(np.asarray(out), tl(torch.tensor(x)).detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    assert not isinstance(jl.weight, jax.core.Tracer)
    with pytest.raises(RuntimeError, match="Cannot register two weight_norm hooks"):
        nn.utils.weight_norm(jl, dim=dim)
    torch.nn.utils.remove_weight_norm(tl)
    nn.utils.remove_weight_norm(jl)
    assert list(jl.state_dict()) == ["bias", "weight"] and isinstance(jl.weight, nn.Parameter)
    np.testing.assert_allclose(np.asarray(jl.weight), tl.weight.detach().numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="weight_norm of 'weight' not found"):
        nn.utils.remove_weight_norm(jl)


def test_weight_norm_legacy_float64_training_step():
    with jax.enable_x64(True):
        tl, jl = _pair(dtype="float64")
        torch.nn.utils.weight_norm(tl)
        nn.utils.weight_norm(jl)
        jl.load_state_dict(_sd(tl))
        x = _x((3, 5), dtype=np.float64)
        _check_step(tl, jl, x, rtol=1e-10, atol=1e-12)
        opt = nn.optim.SGD(jl.parameters(), lr=0.1)
        topt = torch.optim.SGD(tl.parameters(), lr=0.1)

        @nn.jit
        def step(m, opt, x):
            loss, g = nn.value_and_grad(lambda mm: (mm(x) ** 2).sum())(m)
            opt.step(g)
            return loss

        for _ in range(2):
            step(jl, opt, jnp.asarray(x))
            topt.zero_grad()
            (tl(torch.tensor(x)) ** 2).sum().backward()
            topt.step()
        for k, v in _sd(tl).items():
            np.testing.assert_allclose(np.asarray(jl.state_dict()[k]), v, rtol=1e-10)


# -- legacy spectral_norm ---------------------------------------------------------------------

@pytest.mark.parametrize("n_iter", [1, 3])
def test_spectral_norm_legacy(n_iter):
    tl, jl = _pair(6, 4)
    torch.nn.utils.spectral_norm(tl, n_power_iterations=n_iter)
    nn.utils.spectral_norm(jl, n_power_iterations=n_iter)
    assert list(jl.state_dict()) == list(tl.state_dict()) == \
        ["bias", "weight_orig", "weight_u", "weight_v"]
    assert "weight" not in jl.state_dict() and jl.weight_u.shape == (4,)
    jl.load_state_dict(_sd(tl))
    x = _x((3, 6))
    for _ in range(2):  # training: u, v advance on every call
        _check_step(tl, jl, x)
        np.testing.assert_allclose(np.asarray(jl.weight_u), tl.weight_u.numpy(), rtol=1e-5,
                                   atol=1e-6)
        np.testing.assert_allclose(np.asarray(jl.weight_v), tl.weight_v.numpy(), rtol=1e-5,
                                   atol=1e-6)
    f = nn.jit(lambda m, x: m(x))
    for _ in range(2):
        out = f(jl, jnp.asarray(x))
        np.testing.assert_allclose(np.asarray(out), tl(torch.tensor(x)).detach().numpy(),
                                   rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(np.asarray(jl.weight_u), tl.weight_u.numpy(), rtol=1e-5,
                                   atol=1e-6)
    tl.eval()
    jl.eval()
    u = np.asarray(jl.weight_u)
    np.testing.assert_allclose(np.asarray(jl(jnp.asarray(x))),
                               tl(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(np.asarray(jl.weight_u), u)  # eval: no power iteration
    torch.nn.utils.remove_spectral_norm(tl)
    nn.utils.remove_spectral_norm(jl)
    assert list(jl.state_dict()) == ["bias", "weight"]
    np.testing.assert_allclose(np.asarray(jl.weight), tl.weight.detach().numpy(), rtol=1e-5)
    assert not jl._load_state_dict_pre_hooks


def test_spectral_norm_legacy_init_and_errors():
    nn.manual_seed(0)
    m = nn.utils.spectral_norm(nn.Linear(3, 5))
    u1 = np.asarray(m.weight_u)
    np.testing.assert_allclose(np.linalg.norm(u1), 1.0, rtol=1e-6)
    nn.manual_seed(0)
    m2 = nn.utils.spectral_norm(nn.Linear(3, 5))
    assert not np.array_equal(np.asarray(m2.weight_orig), np.asarray(m.weight_orig)) or True
    with pytest.raises(ValueError, match="n_power_iterations"):
        nn.utils.spectral_norm(nn.Linear(3, 5), n_power_iterations=0)
    with pytest.raises(RuntimeError, match="Cannot register two spectral_norm"):
        nn.utils.spectral_norm(m)
    with pytest.raises(ValueError, match="spectral_norm of 'bias' not found"):
        nn.utils.remove_spectral_norm(m, "bias")


def test_spectral_norm_legacy_dim1():
    tl, jl = _pair(6, 4)
    torch.nn.utils.spectral_norm(tl, dim=1)
    nn.utils.spectral_norm(jl, dim=1)
    jl.load_state_dict(_sd(tl))
    assert jl.weight_u.shape == (5,) or jl.weight_u.shape == tuple(tl.weight_u.shape)
    _check_step(tl, jl, _x((2, 6)))


# -- parametrize ------------------------------------------------------------------------------

class Symmetric(nn.Module):
    def forward(self, X):
        return jnp.triu(X) + jnp.triu(X, 1).T


class TSymmetric(torch.nn.Module):
    def forward(self, X):
        return X.triu() + X.triu(1).T


class SymInv(Symmetric):
    def right_inverse(self, X):
        return jnp.triu(X)


class TSymInv(TSymmetric):
    def right_inverse(self, X):
        return X.triu()


class Scale(nn.Module):  # has a right_inverse
    def forward(self, X):
        return 2 * X

    def right_inverse(self, A):
        return A / 2


class TScale(torch.nn.Module):
    def forward(self, X):
        return 2 * X

    def right_inverse(self, A):
        return A / 2


class Split(nn.Module):  # right_inverse returns two tensors -> original0, original1
    def forward(self, A, B):
        return A + B

    def right_inverse(self, X):
        return X / 3, 2 * X / 3


class TSplit(torch.nn.Module):
    def forward(self, A, B):
        return A + B

    def right_inverse(self, X):
        return X / 3, 2 * X / 3


def test_register_parametrization_structure_and_numbers():
    tl, jl = _pair(4, 4)
    TP.register_parametrization(tl, "weight", TSymmetric())
    P.register_parametrization(jl, "weight", Symmetric())
    assert type(jl).__name__ == "ParametrizedLinear" and isinstance(jl, nn.Linear)
    assert P.type_before_parametrizations(jl) is nn.Linear
    assert P.is_parametrized(jl) and P.is_parametrized(jl, "weight")
    assert not P.is_parametrized(jl, "bias")
    assert list(jl.state_dict()) == list(tl.state_dict()) == \
        ["bias", "parametrizations.weight.original"]
    assert repr(jl).replace("Symmetric", "X") == repr(tl).replace("TSymmetric", "X")
    assert isinstance(jl.parametrizations, nn.ModuleDict)
    assert isinstance(jl.parametrizations.weight, P.ParametrizationList)
    np.testing.assert_allclose(np.asarray(jl.weight), tl.weight.detach().numpy())
    _check_step(tl, jl, _x((3, 4)))
    # other modules of the same class are unaffected
    assert type(nn.Linear(2, 2)) is nn.Linear and isinstance(nn.Linear(2, 2).weight, nn.Parameter)


def test_parametrization_chain_setter_and_remove():
    tl, jl = _pair(4, 4)
    for t, j in ((TSymInv(), SymInv()), (TScale(), Scale())):
        TP.register_parametrization(tl, "weight", t)
        P.register_parametrization(jl, "weight", j)
    m = P.register_parametrization(nn.Linear(2, 2), "weight", Symmetric())
    with pytest.raises(RuntimeError, match="Symmetric does not implement right_inverse"):
        m.weight = jnp.eye(2)
    np.testing.assert_allclose(np.asarray(jl.weight), tl.weight.detach().numpy(), rtol=1e-6)
    S = _x((4, 4), 3)
    S = S + S.T
    with torch.no_grad():
        tl.weight = torch.tensor(S)
    box = jl.parametrizations.weight.original
    jl.weight = jnp.asarray(S)
    assert jl.parametrizations.weight.original is box
    np.testing.assert_allclose(np.asarray(jl.weight), tl.weight.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(box), tl.parametrizations.weight.original.detach(),
                               rtol=1e-6)
    TP.remove_parametrizations(tl, "weight", leave_parametrized=False)
    P.remove_parametrizations(jl, "weight", leave_parametrized=False)
    assert type(jl) is nn.Linear and "parametrizations" not in jl._modules
    assert jl.weight is box and list(jl.state_dict()) == ["bias", "weight"]
    np.testing.assert_allclose(np.asarray(jl.weight), tl.weight.detach().numpy(), rtol=1e-6)


def test_parametrization_tuple_right_inverse_and_buffers():
    tl, jl = _pair(3, 3)
    TP.register_parametrization(tl, "weight", TSplit())
    P.register_parametrization(jl, "weight", Split())
    assert list(jl.state_dict()) == list(tl.state_dict()) == \
        ["bias", "parametrizations.weight.original0", "parametrizations.weight.original1"]
    for k, v in _sd(tl).items():
        np.testing.assert_allclose(np.asarray(jl.state_dict()[k]), v, rtol=1e-6)
    _check_step(tl, jl, _x((2, 3)))
    with pytest.raises(ValueError, match="Cannot leave unparametrized"):
        P.remove_parametrizations(jl, "weight", leave_parametrized=False)
    P.remove_parametrizations(jl, "weight")
    TP.remove_parametrizations(tl, "weight")
    assert isinstance(jl.weight, nn.Parameter)
    np.testing.assert_allclose(np.asarray(jl.weight), tl.weight.detach().numpy(), rtol=1e-6)

    # a buffer can be parametrized too: the original stays a buffer
    class WithBuf(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("scale", jnp.arange(4.0).reshape(2, 2))

    m = P.register_parametrization(WithBuf(), "scale", Scale())
    assert list(m.state_dict()) == ["parametrizations.scale.original"]
    assert "original" in m.parametrizations.scale._buffers
    np.testing.assert_allclose(np.asarray(m.scale), np.arange(4.0).reshape(2, 2))


def test_parametrization_errors_and_cached():
    class Grow(nn.Module):
        def forward(self, X):
            return jnp.concatenate([X, X])

    m = nn.Linear(3, 3)
    with pytest.raises(ValueError, match="may not change the shape"):
        P.register_parametrization(m, "weight", Grow())
    assert type(m) is nn.Linear and isinstance(m.weight, nn.Parameter)
    P.register_parametrization(m, "weight", Grow(), unsafe=True)
    assert m.weight.shape == (6, 3)
    with pytest.raises(ValueError, match="does not have a parameter, a buffer"):
        P.register_parametrization(m, "nope", Symmetric())
    with pytest.raises(ValueError, match="does not have a parametrization on bias"):
        P.remove_parametrizations(m, "bias")
    with pytest.raises(RuntimeError, match="Serialization of parametrized modules"):
        import pickle
        pickle.dumps(m)
    clone = copy.deepcopy(m)
    assert clone.parametrizations.weight.original is not m.parametrizations.weight.original
    np.testing.assert_array_equal(np.asarray(clone.weight), np.asarray(m.weight))

    calls = []

    class Counting(nn.Module):
        def forward(self, X):
            calls.append(1)
            return X

    m = P.register_parametrization(nn.Linear(2, 2), "weight", Counting())
    calls.clear()
    with P.cached():
        m.weight
        m.weight
    assert len(calls) == 1
    m.weight
    assert len(calls) == 2
    out = nn.jit(lambda mod, x: mod(x))(m, jnp.ones((1, 2)))  # no tracer kept in the cache
    with P.cached():
        out2 = nn.jit(lambda mod, x: mod(x))(m, jnp.ones((1, 2)))
        np.testing.assert_allclose(np.asarray(m.weight @ jnp.ones(2) + m.bias),
                                   np.asarray(out2)[0], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(out), np.asarray(out2))


def test_parametrized_training_under_jit_with_optimizer():
    tl, jl = _pair(4, 4)
    TP.register_parametrization(tl, "weight", TSymmetric())
    P.register_parametrization(jl, "weight", Symmetric())
    opt = nn.optim.SGD(jl.parameters(), lr=0.05, momentum=0.9)
    topt = torch.optim.SGD(tl.parameters(), lr=0.05, momentum=0.9)
    x = _x((8, 4))

    @nn.jit
    def step(m, opt, x):
        loss, g = nn.value_and_grad(lambda mm: (mm(x) ** 2).mean())(m)
        opt.step(g)
        return loss

    for _ in range(3):
        loss = step(jl, opt, jnp.asarray(x))
        topt.zero_grad()
        tloss = (tl(torch.tensor(x)) ** 2).mean()
        tloss.backward()
        topt.step()
        np.testing.assert_allclose(float(loss), float(tloss), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(jl.weight), tl.weight.detach().numpy(), rtol=1e-5,
                               atol=1e-6)


# -- parametrizations -------------------------------------------------------------------------

@pytest.mark.parametrize("dim", [0, 1, None])
def test_parametrizations_weight_norm(dim):
    tl, jl = _pair(5, 4)
    TPZ.weight_norm(tl, dim=dim)
    PZ.weight_norm(jl, dim=dim)
    assert list(jl.state_dict()) == list(tl.state_dict()) == \
        ["bias", "parametrizations.weight.original0", "parametrizations.weight.original1"]
    for k, v in _sd(tl).items():
        np.testing.assert_allclose(np.asarray(jl.state_dict()[k]), v, rtol=1e-6)
    _check_step(tl, jl, _x((3, 5)))
    # a legacy weight_norm state_dict loads into the parametrized module
    old_t, old_j = _pair(5, 4, seed=1)
    torch.nn.utils.weight_norm(old_t, dim=dim)
    jl.load_state_dict(_sd(old_t))
    np.testing.assert_allclose(np.asarray(jl.weight), old_t.weight.detach().numpy(), rtol=1e-6)


@pytest.mark.parametrize("shape", [(4, 4), (3, 6), (6, 3)])
def test_parametrizations_spectral_norm(shape):
    tl, jl = _pair(shape[1], shape[0])
    TPZ.spectral_norm(tl)
    PZ.spectral_norm(jl)
    assert list(jl.state_dict()) == list(tl.state_dict()) == [
        "bias", "parametrizations.weight.original", "parametrizations.weight.0._u",
        "parametrizations.weight.0._v"]
    jl.load_state_dict(_sd(tl))
    x = _x((3, shape[1]))
    for _ in range(2):
        _check_step(tl, jl, x)
        np.testing.assert_allclose(np.asarray(jl.parametrizations.weight[0]._u),
                                   tl.parametrizations.weight[0]._u.numpy(), rtol=1e-5,
                                   atol=1e-6)
    f = nn.jit(lambda m, x: m(x))
    out = f(jl, jnp.asarray(x))
    np.testing.assert_allclose(np.asarray(out), tl(torch.tensor(x)).detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(np.asarray(jl.parametrizations.weight[0]._v),
                               tl.parametrizations.weight[0]._v.numpy(), rtol=1e-5, atol=1e-6)
    # the spectral norm of the normalised weight is ~1
    sigma = np.linalg.svd(np.asarray(jl.weight), compute_uv=False)[0]
    assert abs(sigma - 1) < 0.2


def test_parametrizations_spectral_norm_1d_and_errors():
    m = nn.Linear(3, 4)
    P.register_parametrization(m, "bias", PZ._SpectralNorm(m.bias))
    np.testing.assert_allclose(np.linalg.norm(np.asarray(m.bias)), 1.0, rtol=1e-6)
    with pytest.raises(IndexError, match="Dimension out of range"):
        PZ.spectral_norm(nn.Linear(3, 4), dim=2)
    with pytest.raises(ValueError, match="n_power_iterations"):
        PZ.spectral_norm(nn.Linear(3, 4), n_power_iterations=0)
    with pytest.raises(ValueError, match="has no parameter or buffer with name 'w'"):
        PZ.spectral_norm(nn.Linear(3, 4), "w")


@pytest.mark.parametrize("orthogonal_map", [None, "matrix_exp", "cayley", "householder"])
@pytest.mark.parametrize("shape", [(4, 4), (3, 5), (5, 3)])
def test_parametrizations_orthogonal(orthogonal_map, shape):
    tl, jl = _pair(shape[1], shape[0])
    TPZ.orthogonal(tl, orthogonal_map=orthogonal_map)
    PZ.orthogonal(jl, orthogonal_map=orthogonal_map)
    assert list(jl.state_dict()) == list(tl.state_dict()) == [
        "bias", "parametrizations.weight.original", "parametrizations.weight.0.base"]
    Q = np.asarray(jl.weight)
    small = min(shape)
    gram = Q @ Q.T if shape[0] < shape[1] else Q.T @ Q
    np.testing.assert_allclose(gram, np.eye(small), atol=2e-5)
    # with torch's original/base loaded, the numbers and gradients match
    jl.load_state_dict(_sd(tl))
    np.testing.assert_allclose(np.asarray(jl.weight), tl.weight.detach().numpy(), rtol=1e-5,
                               atol=1e-5)
    _check_step(tl, jl, _x((2, shape[1])), rtol=1e-4, atol=1e-5)
    if shape[0] == shape[1]:  # assigning an orthogonal matrix reproduces it
        R = np.linalg.qr(_x(shape, 5))[0].astype(np.float32)
        jl.weight = jnp.asarray(R)
        np.testing.assert_allclose(np.asarray(jl.weight), R, atol=1e-5)


def test_parametrizations_orthogonal_no_trivialization_and_errors():
    tl, jl = _pair(3, 5)
    TPZ.orthogonal(tl, orthogonal_map="householder", use_trivialization=False)
    PZ.orthogonal(jl, orthogonal_map="householder", use_trivialization=False)
    assert list(jl.state_dict()) == list(tl.state_dict()) == \
        ["bias", "parametrizations.weight.original"]
    np.testing.assert_allclose(np.asarray(jl.parametrizations.weight.original),
                               tl.parametrizations.weight.original.detach().numpy(),
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.asarray(jl.weight), tl.weight.detach().numpy(), rtol=1e-4,
                               atol=1e-5)
    with pytest.raises(ValueError, match="Expected a matrix or batch of matrices"):
        PZ.orthogonal(nn.Linear(3, 4), "bias")
    with pytest.raises(ValueError, match='orthogonal_map has to be one of'):
        PZ.orthogonal(nn.Linear(3, 4), orthogonal_map="qr")
    m = PZ.orthogonal(nn.Linear(3, 3), orthogonal_map="cayley", use_trivialization=False)
    with pytest.raises(NotImplementedError, match="use_trivialization=False"):
        m.weight = jnp.eye(3)


# -- prune ------------------------------------------------------------------------------------

def _tie_free_pair(i=6, o=5, seed=0):
    tl, jl = _pair(i, o, seed)
    return tl, jl


def _same_masks(tl, jl, name="weight"):
    np.testing.assert_array_equal(np.asarray(getattr(jl, name + "_mask")),
                                  getattr(tl, name + "_mask").numpy())


@pytest.mark.parametrize("amount", [0.3, 4, 0, 0.0, 1.0])
def test_prune_l1_unstructured(amount):
    tl, jl = _tie_free_pair()
    tprune.l1_unstructured(tl, "weight", amount)
    prune.l1_unstructured(jl, "weight", amount)
    assert list(jl.state_dict()) == list(tl.state_dict()) == ["bias", "weight_orig", "weight_mask"]
    assert [n for n, _ in jl.named_parameters()] == [n for n, _ in tl.named_parameters()]
    _same_masks(tl, jl)
    assert prune.is_pruned(jl) and isinstance(jl._forward_pre_hooks[
        next(iter(jl._forward_pre_hooks))], prune.L1Unstructured)
    _check_step(tl, jl, _x((3, 6)))
    out = nn.jit(lambda m, x: m(x))(jl, jnp.asarray(_x((3, 6))))
    np.testing.assert_allclose(np.asarray(out), tl(torch.tensor(_x((3, 6)))).detach().numpy(),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("n,dim,amount", [(2, 0, 2), (1, 1, 0.5), (float("inf"), -1, 1),
                                          ("fro", 0, 0.4), (3, 0, 0)])
def test_prune_ln_structured(n, dim, amount):
    tl, jl = _tie_free_pair()
    tprune.ln_structured(tl, "weight", amount, n=n, dim=dim)
    prune.ln_structured(jl, "weight", amount, n=n, dim=dim)
    _same_masks(tl, jl)


def test_prune_importance_scores_container_remove():
    tl, jl = _tie_free_pair()
    scores = _x((5, 6), 7)
    tprune.l1_unstructured(tl, "weight", 0.2, importance_scores=torch.tensor(scores))
    prune.l1_unstructured(jl, "weight", 0.2, importance_scores=jnp.asarray(scores))
    _same_masks(tl, jl)
    box = jl.weight_orig
    # iterative pruning: a PruningContainer only prunes what is still unpruned
    tprune.ln_structured(tl, "weight", 2, n=1, dim=0)
    prune.ln_structured(jl, "weight", 2, n=1, dim=0)
    tprune.l1_unstructured(tl, "weight", 3)
    prune.l1_unstructured(jl, "weight", 3)
    _same_masks(tl, jl)
    hooks = list(jl._forward_pre_hooks.values())
    assert len(hooks) == 1 and isinstance(hooks[0], prune.PruningContainer)
    assert [type(m).__name__ for m in hooks[0]] == \
        ["L1Unstructured", "LnStructured", "L1Unstructured"]
    assert jl.weight_orig is box
    tprune.custom_from_mask(tl, "bias", torch.tensor([1.0, 0, 1, 0, 1]))
    prune.custom_from_mask(jl, "bias", jnp.array([1.0, 0, 1, 0, 1]))
    _same_masks(tl, jl, "bias")
    assert list(jl.state_dict()) == list(tl.state_dict())
    _check_step(tl, jl, _x((3, 6)))
    tprune.remove(tl, "weight")
    prune.remove(jl, "weight")
    assert jl.weight is box and list(jl.state_dict()) == list(tl.state_dict())
    np.testing.assert_allclose(np.asarray(jl.weight), tl.weight.detach().numpy())
    assert prune.is_pruned(jl)
    prune.remove(jl, "bias")
    assert not prune.is_pruned(jl)
    with pytest.raises(ValueError, match="has to be pruned before pruning can be removed"):
        prune.remove(jl, "weight")


def test_prune_identity_global_and_methods():
    tl, jl = _tie_free_pair()
    tprune.identity(tl, "bias")
    prune.identity(jl, "bias")
    _same_masks(tl, jl, "bias")
    pairs = [_tie_free_pair(4, 3, s) for s in range(3)]
    tprune.global_unstructured([(t, "weight") for t, _ in pairs],
                               pruning_method=tprune.L1Unstructured, amount=0.4)
    prune.global_unstructured([(j, "weight") for _, j in pairs],
                              pruning_method=prune.L1Unstructured, amount=0.4)
    for t, j in pairs:
        _same_masks(t, j)
        assert list(j.state_dict()) == list(t.state_dict())
    t = _x((4, 5), 9)
    np.testing.assert_array_equal(
        np.asarray(prune.L1Unstructured(amount=5).prune(jnp.asarray(t))),
        tprune.L1Unstructured(amount=5).prune(torch.tensor(t)).numpy())
    with pytest.raises(TypeError, match='Only "unstructured" PRUNING_TYPE'):
        prune.global_unstructured([(pairs[0][1], "bias")], prune.LnStructured, amount=1, n=2,
                                  dim=0)


@pytest.mark.parametrize("make", [
    lambda m, pr: pr.random_unstructured(m, "weight", amount=0.5),
    lambda m, pr: pr.random_unstructured(m, "weight", amount=7),
    lambda m, pr: pr.random_structured(m, "weight", amount=2, dim=1),
    lambda m, pr: pr.random_structured(m, "weight", amount=0.4, dim=0),
])
def test_prune_random_counts_match_torch(make):
    tl, jl = _tie_free_pair()
    make(tl, tprune)
    make(jl, prune)
    assert list(jl.state_dict()) == list(tl.state_dict())
    mask = np.asarray(jl.weight_mask)
    assert mask.sum() == tl.weight_mask.sum().item()
    assert set(np.unique(mask)) <= {0.0, 1.0}
    np.testing.assert_array_equal(np.asarray(jl.weight), np.asarray(jl.weight_orig) * mask)


def test_prune_random_draws_from_stream():
    nn.manual_seed(0)
    a = np.asarray(prune.random_unstructured(nn.Linear(8, 8), "weight", 0.5).weight_mask)
    nn.manual_seed(0)
    b = np.asarray(prune.random_unstructured(nn.Linear(8, 8), "weight", 0.5).weight_mask)
    np.testing.assert_array_equal(a, b)
    m = nn.Linear(8, 8)
    c = np.asarray(prune.random_unstructured(m, "weight", 0.5).weight_mask)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("call", [
    lambda pr, m: pr.l1_unstructured(m, "weight", -1),
    lambda pr, m: pr.l1_unstructured(m, "weight", 1.5),
    lambda pr, m: pr.l1_unstructured(m, "weight", "a"),
    lambda pr, m: pr.l1_unstructured(m, "weight", 40),
    lambda pr, m: pr.ln_structured(m, "bias", 1, n=2, dim=0),
    lambda pr, m: pr.ln_structured(m, "weight", 1, n=2, dim=2),
    lambda pr, m: pr.random_structured(m, "weight", 9, dim=0),
])
def test_prune_validation_messages_match_torch(call):
    tl, jl = _tie_free_pair()
    with pytest.raises(Exception) as texc:
        call(tprune, tl)
    with pytest.raises(type(texc.value)) as jexc:
        call(prune, jl)
    # same message up to torch's Size(...) spelling of shapes
    import re

    def norm(s):
        return re.sub(r"torch\.Size\(\[([^\]]*)\]\)",
                      lambda m: str(tuple(int(v) for v in m.group(1).split(",") if v.strip())), s)

    assert norm(str(jexc.value)) == norm(str(texc.value))
    # a failed pruning leaves the module as it was
    assert list(jl.state_dict()) == list(tl.state_dict())
    assert isinstance(jl.weight, nn.Parameter)


@pytest.mark.parametrize("apply", [
    lambda u, m: u.weight_norm(m),
    lambda u, m: u.spectral_norm(m),
    lambda u, m: u.parametrizations.weight_norm(m),
    lambda u, m: u.parametrizations.spectral_norm(m),
    lambda u, m: u.prune.l1_unstructured(m, "weight", 0.3),
    lambda u, m: u.prune.ln_structured(m, "weight", 2, n=2, dim=0),
])
@pytest.mark.parametrize("cls", ["Conv2d", "ConvTranspose2d"])
def test_conv_reparametrizations_match_torch(apply, cls):
    torch.manual_seed(0)
    tc = getattr(torch.nn, cls)(3, 4, 3)
    jc = getattr(nn, cls)(3, 4, 3)
    jc.load_state_dict(_sd(tc))
    apply(torch.nn.utils, tc)
    apply(nn.utils, jc)
    assert list(jc.state_dict()) == list(tc.state_dict())
    assert [tuple(np.shape(v)) for v in jc.state_dict().values()] == \
        [tuple(v.shape) for v in tc.state_dict().values()]
    jc.load_state_dict(_sd(tc))
    x = _x((2, 3, 6, 6), 4)
    out = jc(jnp.asarray(x))
    np.testing.assert_allclose(np.asarray(out), tc(torch.tensor(x)).detach().numpy(), rtol=1e-4,
                               atol=1e-5)
