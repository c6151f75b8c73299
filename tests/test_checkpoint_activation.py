"""Activation checkpointing: checkpointed and plain runs give the same gradients, buffers and
random stream, eagerly and under nn.jit; parity with torch.utils.checkpoint (no dropout)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from torch.utils import checkpoint as tcp

import jnn as nn
import jnn.functional as F
from jnn import optim
from jnn.utils.checkpoint import checkpoint, checkpoint_sequential


class Net(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        self.block = nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(p))
        self.head = nn.Linear(8, 3)

    def forward(self, x, ckpt=False):
        h = checkpoint(self.block, x, use_reentrant=False) if ckpt else self.block(x)
        return self.head(h)


X = jnp.asarray(np.random.default_rng(0).standard_normal((5, 6)), jnp.float32)
Y = jnp.asarray(np.random.default_rng(1).standard_normal((5, 3)), jnp.float32)


def _pair():
    nn.manual_seed(0)
    a = Net()
    b = Net()
    b.load_state_dict(a.state_dict())
    return a, b


def _loss(m, ckpt):
    return F.mse_loss(m(X, ckpt), Y)


def _assert_same(a, b, ga=None, gb=None):
    for (k, v), (_, w) in zip(a.state_dict().items(), b.state_dict().items()):
        np.testing.assert_allclose(np.asarray(v), np.asarray(w), rtol=1e-6, atol=1e-7, err_msg=k)
    if ga is not None:
        for k in ga:
            np.testing.assert_allclose(np.asarray(ga[k]), np.asarray(gb[k]), rtol=1e-6,
                                       atol=1e-7, err_msg=k)


def test_checkpoint_eager_same_gradients_buffers_and_dropout_mask():
    a, b = _pair()
    nn.manual_seed(7)
    la, ga = nn.value_and_grad(lambda m: _loss(m, False))(a)
    key_a = nn.get_rng_state()
    nn.manual_seed(7)
    lb, gb = nn.value_and_grad(lambda m: _loss(m, True))(b)
    assert float(la) == pytest.approx(float(lb), rel=1e-6)
    _assert_same(a, b, ga, gb)
    # the stream advanced exactly as the plain run; the running stats were updated once
    np.testing.assert_array_equal(np.asarray(key_a), np.asarray(nn.get_rng_state()))
    assert int(b.block[1].num_batches_tracked) == 1
    # the dropout mask matters (another seed gives other gradients), so equal gradients mean
    # the recomputation in the backward pass drew the same mask as the forward
    nn.manual_seed(8)
    _, gc = nn.value_and_grad(lambda m: _loss(m, True))(b)
    assert not np.allclose(np.asarray(gc["block.0.weight"]), np.asarray(gb["block.0.weight"]))


def test_checkpoint_under_jit_equals_plain_and_remats():
    a, b = _pair()

    def step(m, opt, ckpt):
        loss, grads = nn.value_and_grad(lambda mm: _loss(mm, ckpt))(m)
        opt.step(grads)
        return loss

    sa = nn.jit(step, static_argnums=2)
    sb = nn.jit(step, static_argnums=2)
    oa, ob = optim.SGD(a.parameters(), lr=0.1), optim.SGD(b.parameters(), lr=0.1)
    for i in range(3):
        nn.manual_seed(i)
        la = sa(a, oa, False)
        nn.manual_seed(i)
        lb = sb(b, ob, True)
        assert float(la) == pytest.approx(float(lb), rel=1e-6)
    _assert_same(a, b)
    assert int(b.block[1].num_batches_tracked) == 3
    assert sb.trace_count == 1
    # the compiled program really recomputes: jax.checkpoint's rematerialisation is in it
    assert "prevent_cse=True" in str(jax.make_jaxpr(
        lambda x: jax.grad(lambda z: checkpoint(jnp.sin, z).sum())(x))(X))


def test_checkpoint_sequential_and_torch_parity():
    torch.manual_seed(0)
    tm = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.BatchNorm1d(8), torch.nn.Tanh(),
                             torch.nn.Linear(8, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    jm = nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(),
                       nn.Linear(8, 3))
    jm.load_state_dict({k: jnp.asarray(v.numpy()) for k, v in tm.state_dict().items()})
    x = np.random.default_rng(2).standard_normal((5, 6)).astype(np.float32)
    out = tcp.checkpoint_sequential(tm, 3, torch.tensor(x).requires_grad_(), use_reentrant=False)
    out.square().sum().backward()
    loss, grads = nn.value_and_grad(
        lambda m: checkpoint_sequential(m, 3, jnp.asarray(x), use_reentrant=False).__pow__(2).sum())(jm)
    np.testing.assert_allclose(float(loss), float(out.square().sum().detach()), rtol=1e-5)
    for k, p in tm.named_parameters():
        np.testing.assert_allclose(np.asarray(grads[k]), p.grad.numpy(), rtol=1e-4, atol=1e-5,
                                   err_msg=k)
    # torch's recomputation updates the running statistics a second time; jnn's does not
    assert int(tm[1].num_batches_tracked) == 2 and int(jm[1].num_batches_tracked) == 1
    with pytest.raises(ValueError, match="segments"):
        checkpoint_sequential(jm, 0, jnp.asarray(x))
    with pytest.raises(ValueError, match="context_fn"):
        checkpoint(jm, jnp.asarray(x), context_fn=lambda: None)
