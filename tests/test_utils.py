"""``jnn.utils`` against ``torch.nn.utils``: clipping, vector conversion, fusion, skip_init,
stateless; the parametrize/prune/norm families are in test_utils_param.py."""

import jax.numpy as jnp
import numpy as np
import pytest
import torch

import jnn as nn


def _pair_linear(i=4, o=3, seed=0, bias=True):
    torch.manual_seed(seed)
    tl = torch.nn.Linear(i, o, bias=bias)
    jl = nn.Linear(i, o, bias=bias)
    jl.load_state_dict({k: v.numpy().copy() for k, v in tl.state_dict().items()})
    return tl, jl


def _with_grads(seed=0, scale=1.0):
    """A torch and a jnn list of parameters with identical values and gradients."""
    rng = np.random.default_rng(seed)
    shapes = [(3, 4), (4,), (2, 2, 2)]
    tps, jps = [], []
    for s in shapes:
        v = rng.standard_normal(s).astype(np.float32)
        g = (rng.standard_normal(s) * scale).astype(np.float32)
        tp = torch.nn.Parameter(torch.tensor(v))
        tp.grad = torch.tensor(g)
        jp = nn.Parameter(jnp.asarray(v))
        jp.grad = jnp.asarray(g)
        tps.append(tp)
        jps.append(jp)
    return tps, jps


# -- clip_grad --------------------------------------------------------------------------------

@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, 0.5, float("inf"), 0])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    tps, jps = _with_grads()
    tn = torch.nn.utils.clip_grad_norm_(tps, max_norm, norm_type)
    jn = nn.utils.clip_grad_norm_(jps, max_norm, norm_type)
    np.testing.assert_allclose(np.asarray(jn), tn.numpy(), rtol=1e-5)
    for tp, jp in zip(tps, jps):
        np.testing.assert_allclose(np.asarray(jp.grad), tp.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_clip_grad_norm_skips_missing_grads_and_single_parameter():
    tps, jps = _with_grads()
    tps[1].grad = None
    jps[1].grad = None
    tn = torch.nn.utils.clip_grad_norm_(tps, 0.1)
    jn = nn.utils.clip_grad_norm_(jps, 0.1)
    np.testing.assert_allclose(np.asarray(jn), tn.numpy(), rtol=1e-5)
    assert jps[1].grad is None
    tn = torch.nn.utils.clip_grad_norm_(tps[0], 0.05)
    jn = nn.utils.clip_grad_norm_(jps[0], 0.05)
    np.testing.assert_allclose(np.asarray(jn), tn.numpy(), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(jps[0].grad), tps[0].grad.numpy(), rtol=1e-5)


def test_clip_grad_norm_empty_and_nonfinite():
    with pytest.warns(UserWarning, match="empty generator"):
        out = nn.utils.clip_grad_norm_((p for p in []), 1.0)
    assert float(out) == 0.0
    _, jps = _with_grads()
    jps[0].grad = jps[0].grad.at[0, 0].set(jnp.inf)
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_(jps, 1.0, error_if_nonfinite=True)
    with pytest.warns(FutureWarning):
        nn.utils.clip_grad_norm(jps, 1.0)


def test_clip_grad_value_and_total_norm_helpers():
    tps, jps = _with_grads(scale=2.0)
    torch.nn.utils.clip_grad_value_(tps, 0.7)
    assert nn.utils.clip_grad_value_(jps, 0.7) is None
    for tp, jp in zip(tps, jps):
        np.testing.assert_array_equal(np.asarray(jp.grad), tp.grad.numpy())
    tps, jps = _with_grads(seed=1)
    for p in (2.0, float("inf")):
        tn = torch.nn.utils.get_total_norm([tp.grad for tp in tps], p)
        jn = nn.utils.get_total_norm([jp.grad for jp in jps], p)
        np.testing.assert_allclose(np.asarray(jn), tn.numpy(), rtol=1e-5)
    torch.nn.utils.clip_grads_with_norm_(tps, 0.3, tn)
    nn.utils.clip_grads_with_norm_(jps, 0.3, jn)
    for tp, jp in zip(tps, jps):
        np.testing.assert_allclose(np.asarray(jp.grad), tp.grad.numpy(), rtol=1e-5)
    assert float(nn.utils.get_total_norm([])) == 0.0
    np.testing.assert_allclose(float(nn.utils.get_total_norm(jnp.array([3.0, 4.0]))), 5.0)


def test_clip_grad_functional_grads_eager_and_jit():
    tl, jl = _pair_linear(5, 4)
    x = np.random.default_rng(0).standard_normal((8, 5)).astype(np.float32)
    (tl(torch.tensor(x)) ** 2).sum().backward()
    tnorm = torch.nn.utils.clip_grad_norm_(tl.parameters(), 0.5)

    def loss_fn(m):
        return (m(jnp.asarray(x)) ** 2).sum()

    _, grads = nn.value_and_grad(loss_fn)(jl)
    clipped, norm = nn.utils.clip_grad_norm_(grads, 0.5)
    assert isinstance(clipped, nn.Grads) and jl.weight.grad is None
    np.testing.assert_allclose(np.asarray(norm), tnorm.numpy(), rtol=1e-5)
    for name, tp in tl.named_parameters():
        np.testing.assert_allclose(np.asarray(clipped[name]), tp.grad.numpy(), rtol=1e-5,
                                   atol=1e-7)

    @nn.jit
    def step(m, x):
        _, g = nn.value_and_grad(lambda mm: (mm(x) ** 2).sum())(m)
        g, n = nn.utils.clip_grad_norm_(g, 0.5)
        g = nn.utils.clip_grad_value_(g, 0.01)
        return n, [g[k] for k in ("weight", "bias")]

    n, (gw, gb) = step(jl, jnp.asarray(x))
    np.testing.assert_allclose(np.asarray(n), tnorm.numpy(), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(gw), np.clip(tl.weight.grad.numpy(), -0.01, 0.01),
                               rtol=1e-5, atol=1e-7)
    # the torch-style in-place path under nn.jit: .grad slots are written back
    grads.accumulate()
    expected = {k: np.asarray(v) for k, v in nn.utils.clip_grad_norm_(grads, 0.5)[0].items()}
    norm = nn.jit(lambda m: nn.utils.clip_grad_norm_(m.parameters(), 0.5))(jl)
    np.testing.assert_allclose(np.asarray(norm), tnorm.numpy(), rtol=1e-5)
    for name, p in jl.named_parameters():
        np.testing.assert_allclose(np.asarray(p.grad), expected[name], rtol=1e-6)
    # dict of arrays is accepted too
    out, n2 = nn.utils.clip_grad_norm_({"a": jnp.ones(4)}, 1.0)
    np.testing.assert_allclose(np.asarray(out["a"]), np.full(4, 0.5 / (1 + 5e-7)), rtol=1e-5)


# -- convert_parameters -----------------------------------------------------------------------

def test_parameters_to_vector_roundtrip():
    tl, jl = _pair_linear(4, 3)
    tv = torch.nn.utils.parameters_to_vector(tl.parameters())
    jv = nn.utils.parameters_to_vector(jl.parameters())
    np.testing.assert_array_equal(np.asarray(jv), tv.detach().numpy())
    weight_box = jl.weight
    new = jnp.arange(jv.shape[0], dtype=jnp.float32)
    torch.nn.utils.vector_to_parameters(torch.tensor(np.asarray(new)), tl.parameters())
    assert nn.utils.vector_to_parameters(new, jl.parameters()) is None
    assert jl.weight is weight_box
    for (n, tp), (_, jp) in zip(tl.named_parameters(), jl.named_parameters()):
        np.testing.assert_array_equal(np.asarray(jp), tp.detach().numpy())
    with pytest.raises(TypeError, match="expected jax.Array, but got: builtins.list"):
        nn.utils.vector_to_parameters([1.0], jl.parameters())


# -- fusion -----------------------------------------------------------------------------------

def _bn_arrays(rng, c):
    return (rng.standard_normal(c).astype(np.float32), rng.uniform(0.5, 2, c).astype(np.float32),
            rng.standard_normal(c).astype(np.float32), rng.standard_normal(c).astype(np.float32))


@pytest.mark.parametrize("transpose", [False, True])
@pytest.mark.parametrize("with_bias", [False, True])
def test_fuse_conv_bn_weights(transpose, with_bias):
    rng = np.random.default_rng(1)
    w = rng.standard_normal((4, 6, 3, 3) if not transpose else (6, 4, 3, 3)).astype(np.float32)
    b = rng.standard_normal(4 if not transpose else 4).astype(np.float32) if with_bias else None
    rm, rv, g, beta = _bn_arrays(rng, 4)
    t = torch.nn.utils.fuse_conv_bn_weights(
        torch.tensor(w), None if b is None else torch.tensor(b), torch.tensor(rm),
        torch.tensor(rv), 1e-5, torch.tensor(g), torch.tensor(beta), transpose)
    j = nn.utils.fuse_conv_bn_weights(jnp.asarray(w), None if b is None else jnp.asarray(b),
                                      rm, rv, 1e-5, g, beta, transpose)
    for tt, jj in zip(t, j):
        assert isinstance(jj, nn.Parameter) and jj.requires_grad == tt.requires_grad
        np.testing.assert_allclose(np.asarray(jj), tt.detach().numpy(), rtol=1e-5, atol=1e-6)
    # missing affine parameters default to ones/zeros
    t = torch.nn.utils.fuse_conv_bn_weights(torch.tensor(w), None, torch.tensor(rm),
                                            torch.tensor(rv), 1e-3, None, None, transpose)
    j = nn.utils.fuse_conv_bn_weights(w, None, rm, rv, 1e-3, None, None, transpose)
    for tt, jj in zip(t, j):
        np.testing.assert_allclose(np.asarray(jj), tt.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_fuse_linear_bn_weights_and_eval():
    rng = np.random.default_rng(2)
    tl, jl = _pair_linear(5, 4)
    rm, rv, g, beta = _bn_arrays(rng, 4)
    t = torch.nn.utils.fuse_linear_bn_weights(tl.weight, tl.bias, torch.tensor(rm),
                                              torch.tensor(rv), 1e-5, torch.tensor(g),
                                              torch.tensor(beta))
    j = nn.utils.fuse_linear_bn_weights(jl.weight, jl.bias, rm, rv, 1e-5, g, beta)
    for tt, jj in zip(t, j):
        assert jj.requires_grad
        np.testing.assert_allclose(np.asarray(jj), tt.detach().numpy(), rtol=1e-5, atol=1e-6)

    bn = nn.BatchNorm1d(4)
    bn.load_state_dict({"weight": g, "bias": beta, "running_mean": rm, "running_var": rv,
                        "num_batches_tracked": np.array(0)})
    with pytest.raises(AssertionError, match="Fusion only for eval!"):
        nn.utils.fuse_linear_bn_eval(jl, bn)
    fused = nn.utils.fuse_linear_bn_eval(jl.eval(), bn.eval())
    assert fused is not jl and isinstance(fused, nn.Linear)
    x = rng.standard_normal((3, 5)).astype(np.float32)
    ref = (x @ tl.weight.detach().numpy().T + tl.bias.detach().numpy() - rm) / np.sqrt(rv + 1e-5)
    np.testing.assert_allclose(np.asarray(fused(jnp.asarray(x))), ref * g + beta, rtol=1e-4,
                               atol=1e-5)


def test_fuse_conv_bn_eval_matches_sequence():
    torch.manual_seed(0)
    tc, tb = torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4)
    tb.running_mean.normal_()
    tb.running_var.uniform_(0.5, 2)
    jc, jb = nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)
    jc.load_state_dict({k: v.numpy() for k, v in tc.state_dict().items()})
    jb.load_state_dict({k: v.numpy() for k, v in tb.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((2, 3, 7, 7)).astype(np.float32)
    ref = tb.eval()(tc.eval()(torch.tensor(x))).detach().numpy()
    fused = nn.utils.fuse_conv_bn_eval(jc.eval(), jb.eval())
    np.testing.assert_allclose(np.asarray(fused(jnp.asarray(x))), ref, rtol=1e-4, atol=1e-5)


# -- skip_init, stateless, namespace ----------------------------------------------------------

def test_skip_init():
    nn.manual_seed(3)
    before = np.asarray(nn.randn(2))
    nn.manual_seed(3)
    m = nn.utils.skip_init(nn.Linear, 5, 2, bias=True)
    assert isinstance(m, nn.Linear) and m.weight.shape == (2, 5) and m.bias.shape == (2,)
    np.testing.assert_array_equal(np.asarray(nn.randn(2)), before)  # the stream did not move
    with pytest.raises(RuntimeError, match="Expected a Module"):
        nn.utils.skip_init(int)

    class NoDevice(nn.Module):
        def __init__(self):
            super().__init__()

    with pytest.raises(RuntimeError, match="'device' arg"):
        nn.utils.skip_init(NoDevice)


def test_stateless_functional_call():
    _, jl = _pair_linear(3, 2)
    x = jnp.ones((1, 3))
    with pytest.warns(FutureWarning):
        out = nn.utils.stateless.functional_call(jl, {"weight": jnp.zeros((2, 3))}, x)
    np.testing.assert_allclose(np.asarray(out), np.asarray(jl.bias)[None])


def test_namespace_matches_torch():
    import torch.nn.utils as tu
    missing = [n for n in tu.__all__ if not hasattr(nn.utils, n)]
    assert missing == ["convert_conv2d_weight_memory_format",
                       "convert_conv3d_weight_memory_format"] or not missing
