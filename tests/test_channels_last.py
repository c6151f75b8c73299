"""The channels-last rewrite of ``nn.jit`` programs on CPU (``jnn/transforms/channels_last.py``).

Differential: random convolutional networks (strided, padded, dilated, grouped and depthwise
convolutions, transposed convolutions, batch norm, ReLU, max and average pooling, residual
adds, a linear head) train for two ``nn.jit`` steps with the rewrite and without it, from the
same weights, in float64; losses, parameters, buffers and optimizer state must agree to 1e-10.
Plus: the rewrite removes the transposes, leaves programs without 2-d convolutions alone, and
is not applied under an outer transformation, whose derivatives need the ``custom_jvp`` rules
the rewritten program no longer has.
"""
import importlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jnn as nn
import jnn.functional as F
from jnn import optim
from jnn.transforms.channels_last import run_channels_last

# (the module: jnn.transforms re-exports the function nn.jit under the same name)
jit_module = importlib.import_module("jnn.transforms.jit")

pytestmark = pytest.mark.skipif(jax.default_backend() != "cpu",
                                reason="nn.jit rewrites layouts on the CPU backend only")


class Block(nn.Module):
    """conv -> BN -> ReLU -> conv (-> BN) plus a shortcut, with random geometry."""

    def __init__(self, rng, channels):
        super().__init__()
        out = int(rng.choice([channels, 2 * channels]))
        stride = int(rng.integers(1, 3))
        groups = int(rng.choice([1, channels])) if out % channels == 0 else 1
        self.conv1 = nn.Conv2d(channels, out, int(rng.choice([1, 3])), stride=stride,
                               padding=int(rng.integers(0, 2)) if stride == 1 else 1,
                               groups=groups, bias=bool(rng.random() < 0.5))
        self.bn1 = nn.BatchNorm2d(out)
        self.conv2 = nn.Conv2d(out, out, 3, padding="same", dilation=int(rng.integers(1, 3)),
                               bias=False)
        self.bn2 = nn.BatchNorm2d(out) if rng.random() < 0.7 else nn.Identity()
        self.pool = rng.choice(["none", "max", "avg"])
        self.shortcut = nn.Conv2d(channels, out, 1, stride=stride, bias=False)
        self.out_channels = out

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        s = self.shortcut(x)
        h = F.relu(h[..., :s.shape[2], :s.shape[3]] + s[..., :h.shape[2], :h.shape[3]])
        if self.pool == "max" and min(h.shape[2:]) >= 2:
            h = F.max_pool2d(h, 2)
        elif self.pool == "avg" and min(h.shape[2:]) >= 2:
            h = F.avg_pool2d(h, 2)
        return h


class Net(nn.Module):
    def __init__(self, rng):
        super().__init__()
        channels = int(rng.choice([2, 3, 4]))
        self.stem = nn.Conv2d(1, channels, 3, padding=1)
        blocks = []
        for _ in range(int(rng.integers(1, 3))):
            blocks.append(Block(rng, channels))
            channels = blocks[-1].out_channels
        self.blocks = nn.Sequential(*blocks)
        self.up = (nn.ConvTranspose2d(channels, channels, 2, stride=2)
                   if rng.random() < 0.4 else nn.Identity())
        self.head = nn.Linear(channels, 3)

    def forward(self, x):
        h = self.up(self.blocks(F.relu(self.stem(x))))
        return self.head(F.adaptive_avg_pool2d(h, 1).reshape(h.shape[0], -1))


def _train(net, x, y, channels_last: bool, monkeypatch):
    monkeypatch.setattr(jit_module, "_CHANNELS_LAST", channels_last)
    opt = optim.SGD(net.parameters(), lr=0.1, momentum=0.9)

    @nn.jit
    def step(model, opt, x, y):
        loss, grads = nn.value_and_grad(lambda m: F.cross_entropy(m(x), y))(model)
        opt.step(grads)
        return loss

    losses = [step(net, opt, x, y) for _ in range(2)]
    state = {k: np.asarray(v) for k, v in net.state_dict().items()}
    momenta = [np.asarray(s["momentum_buffer"]) for s in opt.state.values()]
    return losses, state, momenta


@pytest.mark.parametrize("seed", range(6))
def test_rewrite_equals_plain_program(seed, monkeypatch):
    rng = np.random.default_rng(seed)
    with jax.enable_x64(True):
        nn.manual_seed(seed)
        net = Net(rng).double()
        initial = {k: np.asarray(v) for k, v in net.state_dict().items()}
        size = int(rng.integers(6, 11))
        x = jnp.asarray(rng.standard_normal((int(rng.integers(2, 5)), 1, size, size)))
        y = jnp.asarray(rng.integers(0, 3, x.shape[0]))
        results = []
        for channels_last in (True, False):
            net.load_state_dict(initial)
            results.append(_train(net, x, y, channels_last, monkeypatch))
    (losses, state, momenta), (want_losses, want_state, want_momenta) = results
    np.testing.assert_allclose(losses, want_losses, rtol=1e-10, atol=1e-10)
    for k in want_state:
        np.testing.assert_allclose(state[k], want_state[k], rtol=1e-10, atol=1e-10, err_msg=k)
    for got, want in zip(momenta, want_momenta):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


def _conv_bn_relu(x, w, scale):
    h = F.conv2d(x, w, padding=1)
    h = h * scale.reshape(1, -1, 1, 1) - h.mean((0, 2, 3), keepdims=True)
    h = F.max_pool2d(jax.nn.relu(h), 2, stride=1, padding=1)  # slices, pads (and backward)
    return F.conv2d(h, w, padding=1).sum((0, 2))


def _count(fn, *args, name="transpose") -> int:
    return sum(e.primitive.name == name for e in jax.make_jaxpr(fn)(*args).eqns)


@pytest.mark.parametrize("batch", [2, 33])  # 33 samples of 16 channels: two batch chunks
def test_rewrite_keeps_activations_channels_last(batch):
    x, w, scale = jnp.ones((batch, 16, 6, 6)), jnp.ones((16, 16, 3, 3)), jnp.arange(16.0)
    grad = jax.grad(lambda a, b, c: _conv_bn_relu(a, b, c).sum(), argnums=(0, 1))
    rewritten = jax.make_jaxpr(lambda *a: run_channels_last(grad, *a))(x, w, scale)
    convs = [e for e in rewritten.eqns if e.primitive.name == "conv_general_dilated"]
    assert len(convs) == (6 if batch <= 32 else 12)  # forward, input and weight gradients
    for e in convs:  # every output feature-minor (XLA:CPU's NHWC)
        assert e.params["dimension_numbers"].out_spec[1] == 3
    big = [e for e in rewritten.eqns if e.primitive.name == "transpose"
           and np.prod(e.invars[0].aval.shape) > 16]
    assert len(big) <= 2  # only where the program's own values enter or leave
    out = jax.jit(lambda *a: run_channels_last(grad, *a))(x, w, scale)
    for got, want in zip(out, grad(x, w, scale)):
        np.testing.assert_allclose(got, want, rtol=1e-5)


def test_programs_without_2d_convolutions_are_unchanged():
    def fn(x, w):
        return jnp.tanh(F.conv1d(x, w)).swapaxes(1, 2).sum(0)

    x, w = jnp.ones((2, 3, 8)), jnp.ones((4, 3, 3))
    plain = jax.make_jaxpr(fn)(x, w)
    rewritten = jax.make_jaxpr(lambda *a: run_channels_last(fn, *a))(x, w)
    assert [e.primitive for e in rewritten.eqns] == [e.primitive for e in plain.eqns]


def test_not_applied_under_an_outer_transformation():
    """``jax.nn.relu``'s custom JVP gives 0 at 0, where JAX's derivative of its primal,
    ``maximum(x, 0)``, gives 0.5: the program an outer ``jax.grad`` differentiates must keep
    the rule, so nn.jit does not rewrite a call made under a transformation."""
    net = nn.Conv2d(1, 1, 1)
    with nn.no_grad():
        net.weight.fill_(1.0)
        net.bias.zero_()
    forward = nn.jit(lambda m, x: jax.nn.relu(m(x)).sum())
    x = jnp.zeros((1, 1, 3, 3))  # every pre-activation exactly 0 (9 positions: a lax conv)
    assert float(forward(net, x)) == 0.0  # a top-level call: rewritten
    np.testing.assert_array_equal(jax.grad(lambda a: forward(net, a))(x), jnp.zeros_like(x))
    np.testing.assert_array_equal(jax.grad(lambda a: jax.nn.relu(net(a)).sum())(x),
                                  jnp.zeros_like(x))
