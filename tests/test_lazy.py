"""Lazy layers infer their input size on the first call (or from a loaded state_dict)."""
import jax.numpy as jnp
import numpy as np
import torch

import jnn as nn


def test_lazy_linear_infers_in_features_and_becomes_linear():
    m = nn.LazyLinear(3)
    assert repr(m) == repr(torch.nn.LazyLinear(3))
    out = m(jnp.ones((2, 5)))
    assert out.shape == (2, 3) and m.weight.shape == (3, 5) and type(m) is nn.Linear
    assert repr(m) == "Linear(in_features=5, out_features=3, bias=True)"
    np.testing.assert_allclose(m(jnp.ones((2, 5))), out, rtol=1e-6)


def test_lazy_linear_loads_a_state_dict():
    t = torch.nn.Linear(4, 2)
    m = nn.LazyLinear(2)
    m.load_state_dict({k: v.numpy() for k, v in t.state_dict().items()})
    x = np.ones((1, 4), np.float32)
    np.testing.assert_allclose(m(jnp.asarray(x)), t(torch.from_numpy(x)).detach(), rtol=1e-6)


def test_lazy_linear_matches_torch_default_init_bounds():
    m = nn.LazyLinear(200)
    m(jnp.ones((1, 50)))
    bound = 1 / np.sqrt(50)
    assert float(jnp.abs(m.weight.data).max()) <= bound
    assert float(jnp.abs(m.weight.data).max()) > 0.9 * bound
