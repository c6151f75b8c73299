"""Containers against torch: Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict."""
from collections import OrderedDict

import jax.numpy as jnp
import numpy as np
import pytest
import torch

import jnn as nn


def _lin(lib, *a):
    return lib.Linear(*a)


def _seq(lib):
    return lib.Sequential(lib.Linear(3, 4), lib.ReLU(), lib.Linear(4, 2))


def test_sequential_three_ways_reprs_match_torch():
    for lib in (nn, torch.nn):
        pass
    j1, t1 = nn.Sequential(), torch.nn.Sequential()
    for lib, s in ((nn, j1), (torch.nn, t1)):
        s.add_module("fc", lib.Linear(3, 3))
        s.add_module("activation_layer", lib.ReLU())
    assert repr(j1) == repr(t1)
    j2, t2 = _seq(nn), _seq(torch.nn)
    assert repr(j2) == repr(t2)
    j3 = nn.Sequential(OrderedDict([("fc1", nn.Linear(3, 3)), ("relu1", nn.ReLU())]))
    t3 = torch.nn.Sequential(OrderedDict([("fc1", torch.nn.Linear(3, 3)),
                                          ("relu1", torch.nn.ReLU())]))
    assert repr(j3) == repr(t3)
    assert isinstance(j1.fc, nn.Linear) and isinstance(j3.fc1, nn.Linear)


def test_sequential_indexing_slicing_and_editing():
    j, t = _seq(nn), _seq(torch.nn)
    assert repr(j[-1]) == repr(t[-1]) and repr(j[0]) == repr(t[0])
    assert repr(j[1:]) == repr(t[1:]) and isinstance(j[1:], nn.Sequential)
    assert len(j) == len(t) == 3
    with pytest.raises(IndexError):
        j[3]
    for s, lib in ((j, nn), (t, torch.nn)):
        s.append(lib.Tanh())
        s.insert(1, lib.Sigmoid())
        s.extend([lib.ReLU()])
        del s[0]
        s.pop(-1)
        s[0] = lib.Identity()
    assert repr(j) == repr(t)
    assert [n for n, _ in j.named_children()] == [n for n, _ in t.named_children()]
    both_j, both_t = _seq(nn) + _seq(nn), _seq(torch.nn) + _seq(torch.nn)
    assert repr(both_j) == repr(both_t)
    with pytest.raises(ValueError, match="only objects of Sequential"):
        _seq(nn) + nn.ModuleList()
    assert [type(m).__name__ for m in j] == [type(m).__name__ for m in t]


def test_sequential_forward_chains_modules():
    t = _seq(torch.nn)
    j = _seq(nn)
    j.load_state_dict({k: v.numpy() for k, v in t.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(j(jnp.asarray(x))), t(torch.from_numpy(x)).detach(),
                               rtol=1e-5, atol=1e-6)


def test_modulelist_list_api_and_repr():
    jl = nn.ModuleList([nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)])
    tl = torch.nn.ModuleList([torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2)])
    assert repr(jl) == repr(tl)
    for l, lib in ((jl, nn), (tl, torch.nn)):
        l.append(lib.Linear(2, 2))
        l.extend([lib.Linear(2, 2), lib.Linear(2, 2)])
        l.insert(0, lib.Tanh())
        l.pop(1)
        del l[0]
        l += [lib.Sigmoid()]
    assert repr(jl) == repr(tl)  # torch compresses the run of identical Linear(2, 2)
    assert repr(jl[1:3]) == repr(tl[1:3])
    assert repr(nn.ModuleList()) == repr(torch.nn.ModuleList())
    with pytest.raises(NotImplementedError, match="missing the required \"forward\""):
        jl(jnp.ones(3))
    with pytest.raises(TypeError, match="extend should be called with an iterable"):
        jl.extend(nn.Linear(1, 1).weight if False else 3)


def test_modulelist_children_are_registered_like_the_seed():
    # seed 000 section 4.2.3: a plain list hides modules, ModuleList registers them
    class MyModule(nn.Module):
        def __init__(self):
            super().__init__()
            self.list = [nn.Linear(3, 4), nn.ReLU()]
            self.module_list = nn.ModuleList([nn.Linear(3, 3), nn.ReLU()])

        def forward(self):
            pass
    model = MyModule()
    assert repr(model) == ("MyModule(\n  (module_list): ModuleList(\n"
                           "    (0): Linear(in_features=3, out_features=3, bias=True)\n"
                           "    (1): ReLU()\n  )\n)")
    assert [(n, p.shape) for n, p in model.named_parameters()] == [
        ("module_list.0.weight", (3, 3)), ("module_list.0.bias", (3,))]


def test_moduledict_api():
    jd = nn.ModuleDict({"b": nn.Linear(2, 2), "a": nn.ReLU()})
    td = torch.nn.ModuleDict({"b": torch.nn.Linear(2, 2), "a": torch.nn.ReLU()})
    assert repr(jd) == repr(td)
    assert list(jd.keys()) == list(td.keys())
    jd["c"] = nn.Tanh()
    assert "c" in jd and len(jd) == 3
    assert isinstance(jd.pop("c"), nn.Tanh) and "c" not in jd
    jd.update([("d", nn.Sigmoid())])
    assert list(jd) == ["b", "a", "d"]
    assert [type(v).__name__ for v in jd.values()] == ["Linear", "ReLU", "Sigmoid"]
    jd.clear()
    assert len(jd) == 0
    with pytest.raises(ValueError, match="element #0 should be an iterable of length 2"):
        jd.update([("x", nn.ReLU(), 3)])


def test_parameterlist_and_dict_match_torch():
    jl = nn.ParameterList([nn.Parameter(jnp.ones((2, 3))), jnp.zeros(4)])
    tl = torch.nn.ParameterList([torch.nn.Parameter(torch.ones(2, 3)), torch.zeros(4)])
    assert repr(jl) == repr(tl)
    assert isinstance(jl[1], nn.Parameter)  # plain arrays are wrapped like torch
    assert [n for n, _ in jl.named_parameters()] == [n for n, _ in tl.named_parameters()]
    jl.append(jnp.ones(1))
    assert len(jl) == 3 and jl[-1].shape == (1,)
    jd = nn.ParameterDict({"w": nn.Parameter(jnp.ones(2)), "b": jnp.zeros(3)})
    td = torch.nn.ParameterDict({"w": torch.nn.Parameter(torch.ones(2)), "b": torch.zeros(3)})
    assert repr(jd) == repr(td)
    assert list(jd.keys()) == list(td.keys())
    assert [n for n, _ in jd.named_parameters()] == [n for n, _ in td.named_parameters()]
    assert list(jd.state_dict()) == list(td.state_dict())
    assert isinstance(jd.pop("w"), nn.Parameter) and "w" not in jd

    class Holder(nn.Module):
        def __init__(self):
            super().__init__()
            self.params = nn.ParameterList([nn.Parameter(jnp.ones(2)) for _ in range(2)])
    assert [n for n, _ in Holder().named_parameters()] == ["params.0", "params.1"]
