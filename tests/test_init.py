"""jnn.init against torch.nn.init, and every layer's reset_parameters() against torch's default
initialisation: same distribution (the numbers differ: different generators)."""
import math

import jax.numpy as jnp
import numpy as np
import pytest
import torch

import jnn as nn
from jnn import init


def _stats(a):
    a = np.asarray(a, np.float64).ravel()
    return a.mean(), a.std(), np.abs(a).max()


@pytest.mark.parametrize("name, args", [
    ("uniform_", (-0.5, 0.25)), ("normal_", (0.3, 2.0)), ("xavier_uniform_", (1.5,)),
    ("xavier_normal_", ()), ("kaiming_uniform_", (math.sqrt(5),)),
    ("kaiming_normal_", (0, "fan_out", "relu")), ("trunc_normal_", (0.0, 1.0, -1.0, 1.5)),
])
def test_random_initialisers_match_torch_distribution(name, args):
    shape = (256, 128, 3)
    t = torch.empty(shape)
    getattr(torch.nn.init, name)(t, *args)
    p = nn.Parameter(jnp.zeros(shape))
    assert getattr(init, name)(p, *args) is p
    jm, js, jmax = _stats(p.data)
    tm, ts, tmax = _stats(t.numpy())
    assert abs(jm - tm) < 0.02 * max(ts, 1e-3) + 0.01 * ts
    assert js == pytest.approx(ts, rel=0.02)
    assert jmax <= tmax * 1.05 + 1e-6 if name.endswith("uniform_") else True


def test_deterministic_initialisers_equal_torch():
    for name, shape, args in [("constant_", (3, 4), (0.7,)), ("ones_", (2, 3), ()),
                              ("zeros_", (2, 3), ()), ("eye_", (3, 5), ()),
                              ("dirac_", (4, 2, 3, 3), ()), ("dirac_", (6, 2, 3), (2,))]:
        t = torch.empty(shape)
        getattr(torch.nn.init, name)(t, *args)
        p = nn.Parameter(jnp.zeros(shape))
        getattr(init, name)(p, *args)
        np.testing.assert_array_equal(np.asarray(p.data), t.numpy(), err_msg=name)
    for nl, param in [("linear", None), ("tanh", None), ("relu", None), ("leaky_relu", 0.2),
                      ("selu", None), ("conv2d", None), ("sigmoid", None)]:
        assert init.calculate_gain(nl, param) == pytest.approx(
            torch.nn.init.calculate_gain(nl, param))


def test_orthogonal_and_sparse():
    p = nn.Parameter(jnp.zeros((6, 10)))
    init.orthogonal_(p, gain=2.0)
    np.testing.assert_allclose(np.asarray(p.data @ p.data.T), 4 * np.eye(6), atol=1e-4)
    s = nn.Parameter(jnp.zeros((10, 7)))
    init.sparse_(s, 0.3)
    assert (np.asarray(s.data) == 0).sum(0).tolist() == [3] * 7


def test_seed_xavier_example_scale():
    # seed 000 section 4.4: xavier_normal_ on Linear(3, 4) has std sqrt(2 / 7)
    linear = nn.Linear(3, 4)
    nn.manual_seed(2021)
    out = init.xavier_normal_(linear.weight)
    assert out is linear.weight and out.shape == (4, 3)


LAYERS = [
    ("Linear", (300, 200)), ("Bilinear", (60, 50, 40)), ("Conv2d", (32, 64, 3)),
    ("Conv1d", (16, 32, 5)), ("ConvTranspose2d", (32, 48, 3)), ("Embedding", (500, 64)),
    ("LSTM", (64, 96)), ("GRU", (32, 64)), ("RNNCell", (50, 80)),
    ("MultiheadAttention", (64, 4)), ("PReLU", (8,)), ("BatchNorm1d", (10,)),
    ("LayerNorm", (12,)), ("GroupNorm", (2, 8)),
]


@pytest.mark.parametrize("name, args", LAYERS, ids=[n for n, _ in LAYERS])
def test_default_initialisation_matches_torch_distribution(name, args):
    torch.manual_seed(0)
    tmod = getattr(torch.nn, name)(*args)
    jmod = getattr(nn, name)(*args)
    t_params = dict(tmod.named_parameters())
    for pname, p in jmod.named_parameters():
        jm, js, jmax = _stats(p.data)
        tm, ts, tmax = _stats(t_params[pname].detach().numpy())
        n = p.numel()
        tol = 4 / math.sqrt(n) if n > 1 else 1.0
        if ts == 0:
            np.testing.assert_allclose(np.asarray(p.data), t_params[pname].detach().numpy(),
                                       err_msg=f"{name}.{pname}")
            continue
        assert abs(js - ts) <= ts * (tol + 0.02), f"{name}.{pname}: std {js} vs torch {ts}"
        assert abs(jm - tm) <= ts * tol, f"{name}.{pname}: mean {jm} vs torch {tm}"
