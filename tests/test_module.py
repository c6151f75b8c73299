"""The ``Module`` API, checked against torch.nn.Module on the same structures."""
import copy
import pickle

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

import jnn as nn
from jnn.modules.module import StateDictError


def _pair():
    """The same small model in both libraries, with torch's weights loaded into jnn."""
    class JNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.param1 = nn.Parameter(jnp.ones((3, 3)))
            self.sub = nn.Linear(3, 4)
            self.seq = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
            self.register_buffer("step", jnp.zeros(()))
            self.register_buffer("scratch", jnp.zeros(2), persistent=False)

        def forward(self, x):
            return self.seq(self.sub(x @ self.param1))

    class TNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.param1 = torch.nn.Parameter(torch.ones(3, 3))
            self.sub = torch.nn.Linear(3, 4)
            self.seq = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.ReLU(),
                                           torch.nn.Linear(4, 2))
            self.register_buffer("step", torch.zeros(()))
            self.register_buffer("scratch", torch.zeros(2), persistent=False)

        def forward(self, x):
            return self.seq(self.sub(x @ self.param1))

    t, j = TNet(), JNet()
    j.load_state_dict({k: v.numpy() for k, v in t.state_dict().items()})
    return t, j


def test_names_and_shapes_match_torch():
    t, j = _pair()
    assert [(n, p.shape) for n, p in j.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in t.named_parameters()]
    assert [n for n, _ in j.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert list(j.state_dict()) == list(t.state_dict())  # non-persistent buffer excluded
    assert [n for n, _ in j.named_modules()] == [n for n, _ in t.named_modules()]
    assert [n for n, _ in j.named_children()] == [n for n, _ in t.named_children()]
    assert [n for n, _ in j.named_parameters(prefix="model", recurse=False)] == \
        [n for n, _ in t.named_parameters(prefix="model", recurse=False)]
    assert repr(j) == repr(t).replace("TNet", "JNet")


def test_forward_matches_torch_after_loading_state_dict():
    t, j = _pair()
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(j(jnp.asarray(x))), t(torch.from_numpy(x)).detach(),
                               rtol=1e-5, atol=1e-6)


def test_duplicate_modules_and_parameters_are_listed_once():
    # seed 001: Sequential(l, l).modules() lists l once
    lin = nn.Linear(2, 2)
    net = nn.Sequential(lin, lin)
    assert len(list(net.modules())) == 2
    assert [n for n, _ in net.named_modules()] == ["", "0"]
    assert [n for n, _ in net.named_parameters()] == ["0.weight", "0.bias"]
    assert len(list(net.named_parameters(remove_duplicate=False))) == 4
    assert list(net.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]
    tlin = torch.nn.Linear(2, 2)
    tnet = torch.nn.Sequential(tlin, tlin)
    assert [n for n, _ in net.named_modules(remove_duplicate=False)] == \
        [n for n, _ in tnet.named_modules(remove_duplicate=False)]


def test_setattr_registration_rules():
    m = nn.Module()
    m.param = nn.Parameter(jnp.ones((2, 2)))
    assert list(m._parameters) == ["param"]
    m.submodules = [nn.Linear(2, 2), nn.Linear(2, 2)]  # a list is a plain attribute
    assert "submodules" not in m._modules and isinstance(m.__dict__["submodules"], list)
    m.submodules = nn.ModuleList(m.submodules)
    assert "submodules" in m._modules and m.__dict__.get("submodules") is None
    with pytest.raises(TypeError, match=r"cannot assign 'ArrayImpl' as parameter 'param'"):
        m.param = jnp.zeros((2, 2))
    with pytest.raises(TypeError, match=r"cannot assign 'int' as child module 'submodules'"):
        m.submodules = 3
    m.param = None  # allowed, as in torch
    assert m._parameters["param"] is None
    m.attr1 = 2
    assert getattr(m, "attr1") == 2 and getattr(m, "training") is True
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        m.nothing


def test_registration_errors_name_the_problem():
    m = nn.Module()
    with pytest.raises(KeyError, match=r"can't contain \"\.\""):
        m.register_parameter("a.b", nn.Parameter(jnp.ones(1)))
    with pytest.raises(KeyError, match=r"can't contain \"\.\""):
        m.register_buffer("a.b", jnp.ones(1))
    with pytest.raises(KeyError, match=r"can't contain \"\.\""):
        m.add_module("a.b", nn.Linear(1, 1))
    with pytest.raises(KeyError, match="empty string"):
        m.register_parameter("", nn.Parameter(jnp.ones(1)))
    with pytest.raises(TypeError, match=r"cannot assign 'ArrayImpl' object to parameter 'w'"):
        m.register_parameter("w", jnp.ones(1))
    with pytest.raises(TypeError, match=r"cannot assign 'str' object to buffer 'b'"):
        m.register_buffer("b", "hello")
    with pytest.raises(TypeError, match="str is not a Module subclass"):
        m.add_module("x", "not a module")
    m.training_note = 1
    with pytest.raises(KeyError, match="attribute 'training_note' already exists"):
        m.register_buffer("training_note", jnp.ones(1))

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(jnp.ones(1))
    with pytest.raises(AttributeError, match=r"before Module.__init__\(\) call"):
        Early()


def test_buffers_persistent_and_assignment():
    m = nn.Module()
    m.register_buffer("running", jnp.zeros(3))
    m.register_buffer("tmp", jnp.ones(2), persistent=False)
    m.register_buffer("empty", None)
    assert list(m.state_dict()) == ["running"]
    assert [n for n, _ in m.named_buffers()] == ["running", "tmp"]
    m.running = jnp.ones(3)  # rebinding a buffer keeps it a buffer
    assert "running" in m._buffers and float(m._buffers["running"].sum()) == 3.0
    with pytest.raises(TypeError, match=r"cannot assign 'str' as buffer 'running'"):
        m.running = "x"
    m.stats = nn.Buffer(jnp.zeros(4))
    assert "stats" in m._buffers


def test_delattr_removes_from_registries():
    m = nn.Linear(2, 3)
    del m.bias
    assert "bias" not in m._parameters
    assert list(m.state_dict()) == ["weight"]


def test_state_dict_round_trip_and_keep_vars():
    _, j = _pair()
    sd = j.state_dict()
    assert all(isinstance(v, jax.Array) for v in sd.values())
    assert isinstance(j.state_dict(keep_vars=True)["param1"], nn.Parameter)
    assert list(j.state_dict(prefix="net.")) == ["net." + k for k in sd]
    _, j2 = _pair()
    result = j2.load_state_dict(sd)
    assert repr(result) == "<All keys matched successfully>"
    assert result.missing_keys == [] and result.unexpected_keys == []
    for k in sd:
        np.testing.assert_array_equal(j2.state_dict()[k], sd[k])


def test_strict_load_names_every_problem():
    _, j = _pair()
    sd = dict(j.state_dict())
    sd.pop("sub.bias")
    sd["sub.extra"] = jnp.zeros(1)
    sd["seq.0.weight"] = jnp.zeros((5, 5))
    with pytest.raises(StateDictError) as info:
        j.load_state_dict(sd)
    text = str(info.value)
    assert 'Missing key(s) in state_dict: "sub.bias"' in text
    assert 'Unexpected key(s) in state_dict: "sub.extra"' in text
    assert "size mismatch for seq.0.weight: copying a param with shape (5, 5) from checkpoint, " \
        "the shape in current model is (4, 4)" in text
    assert isinstance(info.value, RuntimeError) and isinstance(info.value, KeyError)
    # torch's own message for the same mismatch names the same keys
    t, _ = _pair()
    with pytest.raises(RuntimeError) as tinfo:
        t.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in sd.items()})
    for key in ("sub.bias", "sub.extra", "seq.0.weight"):
        assert key in str(tinfo.value)


def test_non_strict_load_returns_keys_and_loads_the_rest():
    _, j = _pair()
    sd = dict(j.state_dict())
    sd.pop("sub.bias")
    sd["bogus"] = jnp.zeros(1)
    sd["param1"] = jnp.full((3, 3), 7.0)
    result = j.load_state_dict(sd, strict=False)
    assert result.missing_keys == ["sub.bias"] and result.unexpected_keys == ["bogus"]
    assert float(j.param1.data[0, 0]) == 7.0


def test_load_accepts_torch_tensors_and_keeps_dtype():
    t = torch.nn.Linear(3, 2).double()
    j = nn.Linear(3, 2)
    j.load_state_dict(t.state_dict())  # torch tensors directly
    assert j.weight.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(j.weight.data), t.weight.detach().numpy(), rtol=1e-6)
    with pytest.raises(TypeError, match="dict-like"):
        j.load_state_dict([1, 2])


def test_train_eval_propagate():
    _, j = _pair()
    assert j.training and j.sub.training
    j.eval()
    assert not j.training and not j.sub.training and not j.seq[1].training
    j.train()
    assert all(m.training for m in j.modules())
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        j.train("yes")


def test_apply_order_matches_torch():
    seen_j, seen_t = [], []
    nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2)).apply(lambda m: seen_j.append(type(m).__name__))
    torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)).apply(
        lambda m: seen_t.append(type(m).__name__))
    assert seen_j == seen_t


def test_requires_grad_and_zero_grad():
    _, j = _pair()
    j.sub.requires_grad_(False)
    assert [n for n, p in j.named_parameters() if p.requires_grad] == \
        ["param1", "seq.0.weight", "seq.0.bias", "seq.2.weight", "seq.2.bias"]
    for p in j.parameters():
        p.grad = jnp.ones(p.shape)
    j.zero_grad(set_to_none=False)
    assert all(float(jnp.abs(p.grad).sum()) == 0 for p in j.parameters())
    j.zero_grad()
    assert all(p.grad is None for p in j.parameters())


def test_dtype_conversions():
    _, j = _pair()
    if jax.config.jax_enable_x64:
        j.double()
        assert all(p.dtype == jnp.float64 for p in j.parameters())
    else:  # without x64 JAX truncates float64 to float32, and says so
        with pytest.warns(UserWarning, match="float64 .* not available"):
            j.double()
    with jax.enable_x64(True):
        m = nn.Linear(2, 2)
        m.register_buffer("count", jnp.zeros((), jnp.int32))
        m.to(jnp.float64)
        assert m.weight.dtype == jnp.float64 and m.count.dtype == jnp.int32
        m.half()
        assert m.weight.dtype == jnp.float16
        m.to(torch.float32)
        assert m.weight.dtype == jnp.float32
        m.bfloat16()
        assert m.bias.dtype == jnp.bfloat16
        m.float()
        assert m.bias.dtype == jnp.float32
    with pytest.raises(TypeError, match="only accepts floating point"):
        nn.Linear(2, 2).to(jnp.int32)


def test_devices():
    m = nn.Linear(2, 2).cpu()
    assert m.weight.device.platform == "cpu"
    m.to("cpu")
    if not any(d.platform == "gpu" for d in jax.devices()):
        with pytest.raises(RuntimeError, match="no GPU backend"):
            m.cuda()


def test_get_submodule_parameter_buffer():
    _, j = _pair()
    assert j.get_submodule("seq.0") is j.seq[0]
    assert j.get_parameter("seq.2.bias") is j.seq[2].bias
    assert j.get_buffer("step") is j.step
    with pytest.raises(AttributeError, match="has no attribute `nope`"):
        j.get_submodule("seq.nope")
    with pytest.raises(AttributeError, match="is not an nn.Parameter"):
        j.get_parameter("step")


def test_forward_hooks_match_torch_semantics():
    calls = []
    lin = nn.Linear(3, 3)
    h1 = lin.register_forward_pre_hook(lambda m, args: calls.append("pre"))
    h2 = lin.register_forward_hook(lambda m, args, out: out * 2)
    h3 = lin.register_forward_hook(lambda m, args, out: calls.append("first"), prepend=True)
    x = jnp.ones((1, 3))
    plain = lin.forward(x)
    out = lin(x)
    np.testing.assert_allclose(out, plain * 2, rtol=1e-6)
    assert calls == ["pre", "first"]
    for h in (h1, h2, h3):
        h.remove()
    np.testing.assert_allclose(lin(x), plain, rtol=1e-6)

    def pre_kwargs(m, args, kwargs):
        return (args[0] * 0,), kwargs
    with lin.register_forward_pre_hook(pre_kwargs, with_kwargs=True):
        np.testing.assert_allclose(lin(x), lin.bias.data[None], rtol=1e-6)
    got = {}
    lin.register_forward_hook(lambda m, a, k, o: got.update(k), with_kwargs=True)
    lin(x)
    assert got == {}


def test_forward_hook_always_call_runs_on_error():
    class Boom(nn.Module):
        def forward(self, x):
            raise ValueError("boom")
    seen = []
    m = Boom()
    m.register_forward_hook(lambda mod, args, out: seen.append(out), always_call=True)
    with pytest.raises(ValueError, match="boom"):
        m(1)
    assert seen == [None]


def test_hook_captures_middle_layer_like_the_seed():
    # seed 000 section 4.6: a forward hook keeps a middle layer's output
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    features = {}

    def hook(module, input, output):
        features["relu"] = output
    handle = model[1].register_forward_hook(hook)
    x = nn.randn(2, 3)
    model(x)
    handle.remove()
    np.testing.assert_allclose(features["relu"], jax.nn.relu(model[0](x)), rtol=1e-6)
    model(x * 2)
    np.testing.assert_allclose(features["relu"], jax.nn.relu(model[0](x)), rtol=1e-6)


def test_global_forward_hooks():
    seen = []
    handle = nn.register_module_forward_hook(lambda m, a, o: seen.append(type(m).__name__))
    try:
        nn.Sequential(nn.Linear(2, 2), nn.ReLU())(jnp.ones((1, 2)))
    finally:
        handle.remove()
    assert seen == ["Linear", "ReLU", "Sequential"]
    nn.Linear(2, 2)(jnp.ones((1, 2)))
    assert len(seen) == 3


def test_full_backward_hooks_match_torch():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3)).astype(np.float32)
    t = torch.nn.Linear(3, 4)
    j = nn.Linear(3, 4)
    j.load_state_dict({k: v.numpy() for k, v in t.state_dict().items()})
    t_seen, j_seen = {}, {}

    def t_pre(m, go):
        t_seen["pre"] = go[0].numpy().copy()

    def j_pre(m, go):
        j_seen["pre"] = np.asarray(go[0])
    t.register_full_backward_pre_hook(t_pre)
    t.register_full_backward_hook(
        lambda m, gi, go: (t_seen.update(gi=gi[0].numpy().copy(), go=go[0].numpy().copy()),
                           (gi[0] * 3,))[1])
    j.register_full_backward_pre_hook(j_pre)
    j.register_full_backward_hook(
        lambda m, gi, go: (j_seen.update(gi=np.asarray(gi[0]), go=np.asarray(go[0])),
                           (gi[0] * 3,))[1])

    tx = torch.from_numpy(x).requires_grad_(True)
    (t(tx) ** 2).sum().backward()
    gx = jax.grad(lambda x: (j(x) ** 2).sum())(jnp.asarray(x))
    for k in ("pre", "gi", "go"):
        np.testing.assert_allclose(j_seen[k], t_seen[k], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gx, tx.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_deepcopy_and_pickle():
    _, j = _pair()
    j2 = copy.deepcopy(j)
    assert j2.sub.weight is not j.sub.weight
    np.testing.assert_array_equal(j2.sub.weight.data, j.sub.weight.data)
    j2.sub.weight.data = jnp.zeros((4, 3))
    assert float(jnp.abs(j.sub.weight.data).sum()) > 0
    lin = nn.Linear(3, 2)
    restored = pickle.loads(pickle.dumps(lin))
    assert repr(restored) == repr(lin)
    np.testing.assert_array_equal(restored.weight.data, lin.weight.data)
    # weight tying survives deepcopy
    shared = nn.Linear(2, 2)
    tied = nn.Sequential(shared, shared)
    tied2 = copy.deepcopy(tied)
    assert tied2[0] is tied2[1]


def test_dir_lists_registered_members():
    _, j = _pair()
    d = dir(j)
    for name in ("param1", "sub", "seq", "step", "forward", "state_dict"):
        assert name in d


def test_forward_missing_raises_like_torch():
    with pytest.raises(NotImplementedError, match=r'Module \[Module\] is missing the required '
                                                  r'"forward" function'):
        nn.Module()(1)


def test_extra_state_round_trip():
    class WithExtra(nn.Module):
        def __init__(self):
            super().__init__()
            self.value = 3

        def get_extra_state(self):
            return {"value": self.value}

        def set_extra_state(self, state):
            self.value = state["value"]
    m = WithExtra()
    sd = m.state_dict()
    assert sd["_extra_state"] == {"value": 3}
    m2 = WithExtra()
    m2.value = 0
    m2.load_state_dict(sd)
    assert m2.value == 3


def test_module_is_a_pytree():
    lin = nn.Linear(3, 2)
    leaves, treedef = jax.tree_util.tree_flatten(lin)
    assert [l.shape for l in leaves] == [(2, 3), (2,)]
    doubled = jax.tree.map(lambda a: a * 2, lin)
    assert isinstance(doubled, nn.Linear) and doubled is not lin
    np.testing.assert_allclose(doubled.weight.data, lin.weight.data * 2)
    grads = jax.grad(lambda m, x: m(x).sum())(lin, jnp.ones((4, 3)))
    np.testing.assert_allclose(grads.weight.data, jnp.full((2, 3), 4.0))
    out = jax.jit(lambda m, x: m(x))(lin, jnp.ones((1, 3)))
    np.testing.assert_allclose(out, lin(jnp.ones((1, 3))), rtol=1e-6)
    batched = jax.vmap(lambda x: lin(x))(jnp.ones((5, 3)))
    assert batched.shape == (5, 2)
    # two structurally equal modules share a treedef (jax.jit does not retrace)
    assert jax.tree_util.tree_structure(nn.Linear(3, 2)) == treedef
