"""Statistical behaviour of the random layers (the parity suite can only compare their shapes):
fraction dropped, mean preservation, whole-channel masks, alpha-dropout moments, eval identity,
and fresh masks on every call -- eagerly and under ``nn.jit``."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jnn as nn
import jnn.functional as F


@pytest.fixture(autouse=True)
def _seed():
    nn.manual_seed(1234)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_fraction_and_scale(p):
    x = jnp.ones((200, 500))
    y = np.asarray(nn.Dropout(p)(x))
    dropped = (y == 0).mean()
    assert abs(dropped - p) < 0.01
    kept = y[y != 0]
    np.testing.assert_allclose(kept, 1.0 / (1.0 - p), rtol=1e-6)
    assert abs(y.mean() - 1.0) < 0.03  # expectation preserved


@pytest.mark.parametrize("name,shape", [("Dropout1d", (40, 50, 7)), ("Dropout2d", (40, 50, 3, 3)),
                                        ("Dropout3d", (40, 50, 2, 2, 2))])
def test_channel_dropout_zeroes_whole_channels(name, shape):
    y = np.asarray(getattr(nn, name)(0.4)(jnp.ones(shape)))
    per_channel = y.reshape(shape[0], shape[1], -1)
    # each channel is either all zero or all 1/(1-p)
    assert ((per_channel == 0).all(-1) | (per_channel == per_channel[..., :1]).all(-1)).all()
    assert np.allclose(per_channel[per_channel != 0], 1 / 0.6)
    assert abs((per_channel[..., 0] == 0).mean() - 0.4) < 0.03


def test_dropout1d_unbatched_channels():
    y = np.asarray(nn.Dropout1d(0.5)(jnp.ones((300, 6))))
    assert ((y == 0).all(-1) | (y != 0).all(-1)).all()


def test_feature_alpha_dropout_whole_channels():
    y = np.asarray(nn.FeatureAlphaDropout(0.3)(jnp.zeros((30, 40, 3, 3))))
    per_channel = y.reshape(30, 40, -1)
    assert (per_channel == per_channel[..., :1]).all()
    assert len(np.unique(per_channel)) == 2


def test_alpha_dropout_preserves_moments():
    x = nn.randn(400, 500)
    y = np.asarray(nn.AlphaDropout(0.2)(x))
    assert abs(y.mean()) < 0.02
    assert abs(y.std() - 1.0) < 0.02
    # dropped elements all take one value (SELU's saturation, affinely transformed)
    alpha, p = 1.7580993408473766, 0.2
    a = 1.0 / np.sqrt((alpha ** 2 * p + 1) * (1 - p))
    dropped_value = a * alpha * (p - 1)
    assert abs(np.isclose(y, dropped_value, atol=1e-6).mean() - p) < 0.01


@pytest.mark.parametrize("name", ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d",
                                  "AlphaDropout", "FeatureAlphaDropout"])
def test_eval_is_identity(name):
    m = getattr(nn, name)(0.7).eval()
    shapes = {"Dropout1d": (2, 3, 4), "Dropout3d": (2, 3, 4, 4, 2)}
    x = nn.randn(*shapes.get(name, (2, 3, 4, 4)))
    assert (np.asarray(m(x)) == np.asarray(x)).all()


def test_fresh_mask_every_call_eager():
    m = nn.Dropout(0.5)
    x = jnp.ones((1000,))
    a, b = np.asarray(m(x)), np.asarray(m(x))
    assert not (a == b).all()


def test_fresh_mask_every_call_under_jit():
    m = nn.Dropout(0.5)
    step = nn.jit(lambda m, x: m(x))
    x = jnp.ones((1000,))
    a, b, c = (np.asarray(step(m, x)) for _ in range(3))
    assert not (a == b).all() and not (b == c).all()


def test_jit_functional_dropout_draws_from_stream():
    @nn.jit
    def f(x):
        return F.dropout(x, 0.5)
    x = jnp.ones((1000,))
    assert not (np.asarray(f(x)) == np.asarray(f(x))).all()


def test_manual_seed_reproduces_masks():
    x = jnp.ones((100,))
    nn.manual_seed(7)
    a = np.asarray(nn.Dropout()(x))
    nn.manual_seed(7)
    b = np.asarray(nn.Dropout()(x))
    assert (a == b).all()


def test_gradient_is_the_mask():
    key = jax.random.PRNGKey(0)
    x = jnp.arange(1.0, 11.0)
    g = jax.grad(lambda x: F.dropout(x, 0.5, key=key).sum())(x)
    y = F.dropout(x, 0.5, key=key)
    np.testing.assert_allclose(np.asarray(g), np.where(np.asarray(y) != 0, 2.0, 0.0))


def test_seed_000_dropout_example():
    # seed 000, section 4.6: about half the values zeroed in training, identity in eval
    x = jnp.arange(0, 12).reshape(3, 4).astype(jnp.float32)
    model = nn.Dropout()
    y = np.asarray(model(x))
    assert set(np.unique(y / 2)) <= set(np.arange(12.0))
    model.training = False
    assert (np.asarray(model(x)) == np.asarray(x)).all()
