"""Seed 000 (the torch.nn chapter), sections 4.1, 4.2.3, 4.5 and 4.6, reproduced in jnn.

The printed outputs of the chapter (parameter names, shapes, reprs, ``_buffers`` ...) are the
expected values; numbers drawn from torch's generator are replaced by checks that hold for
any draw (jnn's stream is JAX's, not torch's).
"""
from collections import OrderedDict

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jnn as nn
from jnn import optim

# The seed's programs, as torch users write them (``x @ W + b``).
pytestmark = pytest.mark.implicit_broadcasting


class Linear(nn.Module):
    def __init__(self, in_features, out_features):
        super().__init__()
        self.W = nn.Parameter(nn.randn(in_features, out_features))
        self.b = nn.Parameter(nn.randn(out_features))

    def forward(self, x):
        x = x @ self.W
        return x + self.b


class Perceptron(nn.Module):
    def __init__(self, in_features, hidden_features, out_features):
        super().__init__()
        self.layer1 = Linear(in_features, hidden_features)
        self.layer2 = Linear(hidden_features, out_features)

    def forward(self, x):
        x = self.layer1(x)
        x = jax.nn.sigmoid(x)
        return self.layer2(x)


def test_4_1_custom_linear():
    layer = Linear(4, 3)
    x = nn.randn(2, 4)
    out = layer(x)
    assert out.shape == (2, 3)
    np.testing.assert_allclose(out, x @ layer.W.data + layer.b.data, rtol=1e-6)
    names = [(name, p.shape) for name, p in layer.named_parameters()]
    assert names == [("W", (4, 3)), ("b", (3,))]
    text = repr(layer.W)
    assert text.startswith("Parameter containing:\ntensor([[") and text.endswith(
        "]], requires_grad=True)")
    assert repr(layer.b).count("\n") == 1


def test_4_1_perceptron_parameter_names():
    perceptron = Perceptron(3, 4, 1)
    lines = [f"{name} {tuple(param.size())}" for name, param in perceptron.named_parameters()]
    assert lines == ["layer1.W (3, 4)", "layer1.b (4,)", "layer2.W (4, 1)", "layer2.b (1,)"]


# torch >= 2.13 prints BatchNorm's `bias` flag, which the seed (printed with torch 1.8) lacks;
# jnn follows the pinned torch oracle, so the expected texts below include it.
BN3 = "BatchNorm2d(3, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)"


def test_4_2_3_sequential_three_ways():
    net1 = nn.Sequential()
    net1.add_module("conv", nn.Conv2d(3, 3, 3))
    net1.add_module("batchnorm", nn.BatchNorm2d(3))
    net1.add_module("activation_layer", nn.ReLU())
    net2 = nn.Sequential(nn.Conv2d(3, 3, 3), nn.BatchNorm2d(3), nn.ReLU())
    net3 = nn.Sequential(OrderedDict([("conv1", nn.Conv2d(3, 3, 3)),
                                      ("bn1", nn.BatchNorm2d(3)), ("relu1", nn.ReLU())]))
    assert repr(net1) == (
        "Sequential(\n"
        "  (conv): Conv2d(3, 3, kernel_size=(3, 3), stride=(1, 1))\n"
        f"  (batchnorm): {BN3}\n"
        "  (activation_layer): ReLU()\n)")
    assert repr(net2) == (
        "Sequential(\n"
        "  (0): Conv2d(3, 3, kernel_size=(3, 3), stride=(1, 1))\n"
        f"  (1): {BN3}\n"
        "  (2): ReLU()\n)")
    assert repr(net3) == (
        "Sequential(\n"
        "  (conv1): Conv2d(3, 3, kernel_size=(3, 3), stride=(1, 1))\n"
        f"  (bn1): {BN3}\n"
        "  (relu1): ReLU()\n)")
    assert (repr(net1.conv), repr(net2[0]), repr(net3.conv1)) == \
        ("Conv2d(3, 3, kernel_size=(3, 3), stride=(1, 1))",) * 3
    x = nn.rand(1, 3, 4, 4)
    for net in (net1, net2, net3):
        assert net(x).shape == (1, 3, 2, 2)
    out = net3.relu1(net1.batchnorm(net1.conv(x)))
    assert out.shape == (1, 3, 2, 2)


def test_4_2_3_modulelist_iteration():
    modellist = nn.ModuleList([nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)])
    x = nn.randn(1, 3)
    for model in modellist:
        x = model(x)
    assert x.shape == (1, 2)
    with pytest.raises(NotImplementedError):
        modellist(x)


def test_4_5_sgd_param_groups_and_lr_decay():
    net = Perceptron(3, 4, 1)
    optimizer = optim.SGD(params=net.parameters(), lr=1)
    optimizer.zero_grad()
    x = nn.randn(32, 3)
    _, grads = nn.value_and_grad(lambda m: m(x).sum())(net)
    before = {n: p.data for n, p in net.named_parameters()}
    optimizer.step(grads)
    for n, p in net.named_parameters():
        np.testing.assert_allclose(p.data, before[n] - grads[n], rtol=1e-5, atol=1e-6)

    weight_params = [param for name, param in net.named_parameters() if name.endswith(".W")]
    bias_params = [param for name, param in net.named_parameters() if name.endswith(".b")]
    optimizer = optim.SGD([{"params": bias_params}, {"params": weight_params, "lr": 1e-2}],
                          lr=1e-5)
    assert [g["lr"] for g in optimizer.param_groups] == [1e-5, 1e-2]
    for param_group in optimizer.param_groups:
        param_group["lr"] *= 0.1
    assert [g["lr"] for g in optimizer.param_groups] == pytest.approx([1e-6, 1e-3])
    before = {n: p.data for n, p in net.named_parameters()}
    _, grads = nn.value_and_grad(lambda m: m(x).sum())(net)
    optimizer.step(grads)
    np.testing.assert_allclose(net.layer1.W.data, before["layer1.W"] - 1e-3 * grads["layer1.W"],
                               rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(net.layer1.b.data, before["layer1.b"] - 1e-6 * grads["layer1.b"],
                               rtol=1e-5, atol=1e-7)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.param1 = nn.Parameter(nn.rand(3, 3))
        self.submodel1 = nn.Linear(3, 4)

    def forward(self, input):
        x = self.param1 @ input
        return self.submodel1(x)


def test_4_6_module_internals():
    net = Net()
    assert repr(net) == "Net(\n  (submodel1): Linear(in_features=3, out_features=4, bias=True)\n)"
    assert repr(net._modules) == ("OrderedDict([('submodel1', Linear(in_features=3, "
                                  "out_features=4, bias=True))])")
    assert list(net._parameters) == ["param1"] and net.param1 is net._parameters["param1"]
    assert [(n, p.shape) for n, p in net.named_parameters()] == [
        ("param1", (3, 3)), ("submodel1.weight", (4, 3)), ("submodel1.bias", (4,))]
    assert [(n, repr(m)) for n, m in net.named_modules()] == [
        ("", repr(net)), ("submodel1", "Linear(in_features=3, out_features=4, bias=True)")]
    assert (net.training, net.submodel1.training) == (True, True)
    net.eval()
    assert (net.training, net.submodel1.training) == (False, False)


def test_4_6_batchnorm_buffers_and_dropout_modes():
    bn = nn.BatchNorm1d(2)
    bn(nn.rand(3, 2))
    assert list(bn._buffers) == ["running_mean", "running_var", "num_batches_tracked"]
    assert int(bn._buffers["num_batches_tracked"]) == 1
    x = jnp.arange(0, 12).reshape(3, 4).astype(jnp.float32)
    model = nn.Dropout()
    out = model(x)
    kept = np.asarray(out) != 0
    np.testing.assert_allclose(np.asarray(out)[kept], np.asarray(x * 2)[kept])
    model.training = False
    np.testing.assert_array_equal(model(x), x)


def test_4_6_setattr_list_vs_modulelist_and_getattr():
    module = nn.Module()
    module.param = nn.Parameter(jnp.ones((2, 2)))
    assert repr(module._parameters) == (
        "OrderedDict([('param', Parameter containing:\ntensor([[1., 1.],\n        [1., 1.]], "
        "requires_grad=True))])")
    submodule1, submodule2 = nn.Linear(2, 2), nn.Linear(2, 2)
    module.submodules = [submodule1, submodule2]
    assert module._modules == OrderedDict() and len(module.__dict__["submodules"]) == 2
    module.submodules = nn.ModuleList([submodule1, submodule2])
    assert isinstance(module.submodules, nn.Module)
    assert "submodules" in module._modules and module.__dict__.get("submodules") is None
    assert getattr(module, "training") is True
    module.attr1 = 2
    assert getattr(module, "attr1") == 2
    assert getattr(module, "param") is module._parameters["param"]


def test_4_6_state_dict_save_and_load(tmp_path):
    net = Net()
    net2 = Net()
    result = net2.load_state_dict(net.state_dict())
    assert repr(result) == "<All keys matched successfully>"
    x = nn.randn(3, 3)
    np.testing.assert_allclose(net2(x), net(x), rtol=1e-6)
