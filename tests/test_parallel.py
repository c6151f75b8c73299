"""``nn.pmap`` and the DataParallel helpers on 8 simulated CPU devices (see conftest.py)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

import jnn as nn
from jnn import optim

pytestmark = pytest.mark.skipif(len(jax.devices()) < 8, reason="needs 8 (simulated) devices: "
                                "XLA_FLAGS=--xla_force_host_platform_device_count=8")


def _mlp():
    return nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 2))


def _step(model, opt, x, y):
    loss, grads = nn.value_and_grad(lambda m: ((m(x) - y) ** 2).mean())(model)
    opt.step(grads)
    return loss


def _data(n=32):
    rng = np.random.default_rng(0)
    return (jnp.asarray(rng.standard_normal((n, 4)), jnp.float32),
            jnp.asarray(rng.standard_normal((n, 2)), jnp.float32))


def test_pmap_training_equals_jit_on_the_whole_batch():
    nn.manual_seed(0)
    m_jit, m_pmap = _mlp(), _mlp()
    m_pmap.load_state_dict(m_jit.state_dict())
    o_jit = optim.SGD(m_jit.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    o_pmap = optim.SGD(m_pmap.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    step_jit, step_pmap = nn.jit(_step), nn.pmap(_step)
    x, y = _data()
    for _ in range(5):
        lj = step_jit(m_jit, o_jit, x, y)
        lp = step_pmap(m_pmap, o_pmap, x, y)
        np.testing.assert_allclose(lp, lj, rtol=1e-5)  # scalar loss: averaged over devices
    for k, v in m_jit.state_dict().items():
        np.testing.assert_allclose(m_pmap.state_dict()[k], v, rtol=1e-5, atol=1e-6)
    assert step_pmap.trace_count == 1
    # state is replicated, not stacked
    assert m_pmap[0].weight.shape == (16, 4)


class _ConvLSTM(nn.Module):
    """Kernels whose custom JVP rules build their own tangents: a strided transposed
    convolution, max pooling, an LSTM and a widening linear layer."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 4, 3, stride=2, padding=1)
        self.up = nn.ConvTranspose2d(4, 2, 2, stride=2)
        self.lstm = nn.LSTM(6, 5, batch_first=True)
        self.head = nn.Linear(5, 12)

    def forward(self, x):
        h = self.up(nn.functional.max_pool2d(nn.functional.relu(self.conv(x)), 1))
        out, _ = self.lstm(h.mean(1))
        return self.head(out[:, -1])


def test_pmap_through_custom_derivative_rules_equals_jit():
    """Their tangents must carry the device-variance types of shard_map (a weight tangent
    typed as replicated once raised inside nn.pmap)."""
    nn.manual_seed(0)
    m_jit, m_pmap = _ConvLSTM(), _ConvLSTM()
    m_pmap.load_state_dict(m_jit.state_dict())
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.standard_normal((16, 2, 6, 6)), jnp.float32)
    y = jnp.asarray(rng.standard_normal((16, 12)), jnp.float32)
    _train_jit_and_pmap(m_jit, m_pmap, x, y, steps=2, rtol=1e-4)


def _train_jit_and_pmap(m_jit, m_pmap, x, y, steps, rtol=1e-5):
    """SGD steps of one model under nn.jit and of its copy under nn.pmap: same losses and
    state."""
    o_jit = optim.SGD(m_jit.parameters(), lr=0.1)
    o_pmap = optim.SGD(m_pmap.parameters(), lr=0.1)
    step_jit, step_pmap = nn.jit(_step), nn.pmap(_step)
    for _ in range(steps):
        np.testing.assert_allclose(step_pmap(m_pmap, o_pmap, x, y), step_jit(m_jit, o_jit, x, y),
                                   rtol=1e-5)
    for k, v in m_jit.state_dict().items():
        np.testing.assert_allclose(m_pmap.state_dict()[k], v, rtol=rtol, atol=1e-6, err_msg=k)


class Noisy(nn.Module):
    def forward(self, x):
        return x * nn.rand(*x.shape)


def test_random_draws_differ_across_devices_and_steps():
    fwd = nn.pmap(lambda m, x: m(x))
    x = jnp.ones((8, 3))
    a = np.asarray(fwd(Noisy(), x))
    b = np.asarray(fwd(Noisy(), x))
    assert a.shape == (8, 3)
    assert len({tuple(row) for row in a}) == 8  # every device drew its own numbers
    assert not np.allclose(a, b)


def test_outputs_concatenate_and_scalars_reduce():
    def f(x):
        return x * 2, x.sum(), jnp.sum(x > 0)
    out, total, count = nn.pmap(f)(jnp.arange(16.0))
    np.testing.assert_array_equal(out, jnp.arange(16.0) * 2)
    # a float scalar comes back averaged over devices, an integer one summed
    np.testing.assert_allclose(total, jnp.arange(16.0).reshape(8, 2).sum(1).mean())
    assert int(count) == 15


def test_batch_must_divide_device_count():
    with pytest.raises(ValueError, match=r"leading \(batch\) dimension 10.*8 devices"):
        nn.pmap(lambda m, x: m(x))(nn.Linear(4, 2), jnp.ones((10, 4)))


def test_pmap_on_a_subset_of_devices():
    step = nn.pmap(_step, devices=jax.devices()[:2])
    model = _mlp()
    opt = optim.SGD(model.parameters(), lr=0.1)
    x, y = _data(6)
    assert np.isfinite(float(step(model, opt, x, y)))


def test_data_parallel_forward_equals_module():
    nn.manual_seed(0)
    model = _mlp()
    x, _ = _data(16)
    dp = nn.DataParallel(model)
    np.testing.assert_allclose(dp(x), model(x), rtol=1e-5, atol=1e-6)
    # the wrapped module is left where it was (single device), as in torch
    assert all(len(p.data.devices()) == 1 for p in model.parameters())
    assert jnp.allclose(dp(x), model(x), atol=1e-6)
    bn = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    nn.DataParallel(bn)(x)
    assert len(bn[1].running_mean.devices()) == 1 and int(bn[1].num_batches_tracked) == 1
    np.testing.assert_allclose(nn.parallel.data_parallel(model, x, device_ids=[0, 1]), model(x),
                               rtol=1e-5, atol=1e-6)
    torch_dp = torch.nn.DataParallel(torch.nn.Linear(4, 2))
    assert repr(nn.DataParallel(nn.Linear(4, 2))) == repr(torch_dp)
    assert list(nn.DataParallel(nn.Linear(4, 2)).state_dict()) == list(torch_dp.state_dict())
    # uneven batches still work (on one device)
    np.testing.assert_allclose(dp(x[:5]), model(x[:5]), rtol=1e-5, atol=1e-6)
    # dim=1 splits the second dimension
    xt = jnp.swapaxes(jnp.ones((16, 3, 4)), 0, 1)
    out = nn.DataParallel(nn.Identity(), dim=1)(xt)
    assert out.shape == xt.shape


def test_scatter_gather_replicate_parallel_apply():
    from jnn.parallel import gather, parallel_apply, replicate, scatter
    devices = jax.devices()[:4]
    x = jnp.arange(10.0).reshape(10, 1)
    parts = scatter(x, devices)
    assert [p.shape[0] for p in parts] == [3, 3, 3, 1]  # torch.chunk sizes
    assert list(parts[1].devices())[0] == devices[1]
    np.testing.assert_array_equal(gather(parts, devices[0]), x)
    model = nn.Linear(1, 2)
    replicas = replicate(model, devices)
    assert len(replicas) == 4 and list(replicas[2].weight.data.devices())[0] == devices[2]
    outs = parallel_apply(replicas, parts)
    np.testing.assert_allclose(gather(outs, devices[0]), model(x), rtol=1e-6)


def _bn_net(norm):
    return nn.Sequential(nn.Linear(4, 6), norm(6), nn.ReLU(), nn.Linear(6, 2))


def test_sync_batchnorm_under_pmap_equals_batchnorm_on_the_whole_batch():
    nn.manual_seed(0)
    ref = _bn_net(nn.BatchNorm1d)
    sync = nn.SyncBatchNorm.convert_sync_batchnorm(_bn_net(nn.BatchNorm1d))
    assert isinstance(sync[1], nn.SyncBatchNorm)
    sync.load_state_dict(ref.state_dict())
    x, y = _data(32)
    _train_jit_and_pmap(ref, sync, x, y, steps=3)
    assert int(sync[1].num_batches_tracked) == 3
    # outputs too, in training mode (global batch statistics)
    fwd = nn.pmap(lambda m, x: m(x))
    np.testing.assert_allclose(fwd(sync, x), nn.jit(lambda m, x: m(x))(ref, x), rtol=1e-5,
                               atol=1e-6)


@pytest.mark.implicit_broadcasting  # user code / reference: x @ W + b
def test_plain_batchnorm_under_pmap_averages_running_stats():
    nn.manual_seed(0)
    model = _bn_net(nn.BatchNorm1d)
    x, _ = _data(32)
    nn.pmap(lambda m, x: m(x))(model, x)
    # per-device statistics, averaged before write-back: mean of the 8 local means
    h = np.asarray(jnp.asarray(x) @ model[0].weight.data.T + model[0].bias.data)
    local_means = h.reshape(8, 4, 6).mean(1)
    np.testing.assert_allclose(model[1].running_mean, 0.1 * local_means.mean(0), rtol=1e-5,
                               atol=1e-6)
