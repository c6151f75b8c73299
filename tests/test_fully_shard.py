"""``nn.fully_shard`` on 8 simulated CPU devices (see conftest.py): a sharded run trains exactly
as one device does, holds 1/8 of the state per device, and checkpoints as full arrays."""

import jax
import numpy as np
import pytest
import torch
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from helpers.processes import run_workers

import jnn as nn
from jnn import optim
from jnn.distributed import full_array, placements, shard_batch

pytestmark = pytest.mark.skipif(len(jax.devices()) < 8, reason="needs 8 (simulated) devices: "
                                "XLA_FLAGS=--xla_force_host_platform_device_count=8")

STEPS = 20
OPTIMIZERS = {
    "sgd": lambda params: optim.SGD(params, lr=0.05, momentum=0.9, weight_decay=1e-4),
    "adam": lambda params: optim.Adam(params, lr=1e-2),
}


def make_model():
    nn.manual_seed(0)
    # (BatchNorm after the ReLU: right after a Linear it would cancel the bias's gradient,
    # and Adam would amplify round-off in that near-zero gradient.)
    return nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.BatchNorm1d(32), nn.Dropout(0.25),
                         nn.Linear(32, 8))


def make_data(n=16):
    rng = np.random.default_rng(0)
    return (rng.standard_normal((n, 8)).astype(np.float32),
            rng.standard_normal((n, 8)).astype(np.float32))


def train_step(model, opt, x, y):
    loss, grads = nn.value_and_grad(lambda m: ((m(x) - y) ** 2).mean())(model)
    opt.step(grads)
    return loss


def _mesh(shape=(8,), names=("fsdp",)):
    return Mesh(np.array(jax.devices()).reshape(shape), names)


def _train(model, opt, x, y, steps, step=None):
    # make_model seeded the stream and then drew the initial weights; both runs go on from
    # there, so they draw the same dropout masks (threefry is partitionable: a mask's bits do
    # not depend on how the batch is sharded).
    step = step or nn.jit(train_step)
    return [float(step(model, opt, x, y)) for _ in range(steps)], step


@pytest.fixture(scope="module", params=sorted(OPTIMIZERS))
def runs(request):
    make_opt = OPTIMIZERS[request.param]
    x, y = make_data()
    single = make_model()
    single_opt = make_opt(single.parameters())
    single_losses, _ = _train(single, single_opt, x, y, STEPS)

    mesh = _mesh()
    sharded = nn.fully_shard(make_model(), mesh=mesh)
    sharded_opt = make_opt(sharded.parameters())
    xs, ys = shard_batch((x, y), mesh)
    sharded_losses, step = _train(sharded, sharded_opt, xs, ys, STEPS)
    return dict(name=request.param, make_opt=make_opt, single=(single, single_opt),
                sharded=(sharded, sharded_opt), losses=(single_losses, sharded_losses),
                step=step, mesh=mesh, batch=(xs, ys))


def _arrays(model, opt):
    arrays = [p._data for p in model.parameters()]
    for state in opt.state.values():
        arrays += [v for v in state.values() if isinstance(v, jax.Array)]
    return arrays


def _bytes_on(device, arrays):
    return sum(s.data.nbytes for a in arrays for s in a.addressable_shards if s.device == device)


def test_sharded_losses_equal_single_device(runs):
    single_losses, sharded_losses = runs["losses"]
    np.testing.assert_allclose(sharded_losses, single_losses, rtol=1e-5, atol=1e-6)
    single, _ = runs["single"]
    sharded, _ = runs["sharded"]
    for k, v in single.state_dict().items():
        np.testing.assert_allclose(sharded.state_dict()[k], v, rtol=1e-4, atol=1e-5, err_msg=k)
    assert runs["step"].trace_count == 1  # every call after the first ran the same program


def test_state_keeps_its_shardings(runs):
    sharded, opt = runs["sharded"]
    expected = {"0.weight": P("fsdp"), "0.bias": P("fsdp"), "2.weight": P("fsdp"),
                "2.bias": P("fsdp"), "2.running_mean": P("fsdp"), "2.running_var": P("fsdp"),
                "2.num_batches_tracked": P(), "4.weight": P("fsdp"), "4.bias": P("fsdp")}
    assert placements(sharded) == expected  # after 20 written-back steps
    for p in sharded.parameters():
        for k, v in opt.state[p].items():
            assert v.sharding.spec == (P("fsdp") if v.shape == p.shape else P()), k


def test_per_device_bytes_are_an_eighth(runs):
    single, single_opt = runs["single"]
    sharded, opt = runs["sharded"]
    # The replicated layout (nn.pmap's): every device holds every array whole.
    replicated = [jax.device_put(a, NamedSharding(runs["mesh"], P()))
                  for a in _arrays(single, single_opt)]
    device = jax.devices()[3]
    ratio = _bytes_on(device, _arrays(sharded, opt)) / _bytes_on(device, replicated)
    assert abs(ratio - 1 / 8) < 0.01, ratio  # (scalar step counts stay replicated)


def test_state_dict_round_trip(runs):
    sharded, opt = runs["sharded"]
    state = sharded.state_dict()
    arrays = {**dict(sharded.named_parameters()), **dict(sharded.named_buffers())}
    for k, v in state.items():  # full arrays on one device: a torch-compatible checkpoint
        assert len(v.sharding.device_set) == 1 and v.shape == arrays[k].shape, k
    reference = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.ReLU(),
                                    torch.nn.BatchNorm1d(32), torch.nn.Dropout(0.25),
                                    torch.nn.Linear(32, 8))
    reference.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in state.items()})

    mesh = runs["mesh"]
    restored = nn.fully_shard(make_model(), mesh=mesh)
    restored.load_state_dict(state)
    assert placements(restored) == placements(sharded)
    restored_opt = runs["make_opt"](restored.parameters())
    restored_opt.load_state_dict(opt.state_dict())
    for p, q in zip(sharded.parameters(), restored.parameters()):
        for k, v in opt.state[p].items():
            assert restored_opt.state[q][k].sharding == v.sharding, k
            np.testing.assert_array_equal(restored_opt.state[q][k], v)
    # One more step of both from the same state (same program: no new trace) agrees.
    nn.manual_seed(1)
    a = float(runs["step"](sharded, opt, *runs["batch"]))
    nn.manual_seed(1)
    b = float(runs["step"](restored, restored_opt, *runs["batch"]))
    assert a == b


def test_tensor_parallel_rules_on_a_2d_mesh():
    """A dict of PartitionSpecs splits the Linear weights over a second ("tp") axis; the
    default rule shards the rest over "fsdp" (4 devices)."""
    x, y = make_data()
    single = make_model()
    single_opt = OPTIMIZERS["sgd"](single.parameters())
    expected, _ = _train(single, single_opt, x, y, 3)

    mesh = _mesh((4, 2), ("fsdp", "tp"))
    rules = {"0.weight": P("tp", "fsdp"), "4.weight": P("fsdp", "tp"), "*.bias": P()}
    model = nn.fully_shard(make_model(), mesh=mesh, axis_name="fsdp", shard_placement_fn=rules)
    got = placements(model)
    assert got["0.weight"] == P("tp", "fsdp") and got["4.weight"] == P("fsdp", "tp")
    assert got["0.bias"] == P() and got["2.weight"] == P("fsdp")
    opt = OPTIMIZERS["sgd"](model.parameters())
    losses, _ = _train(model, opt, *shard_batch((x, y), mesh, "fsdp"), 3)
    np.testing.assert_allclose(losses, expected, rtol=1e-5, atol=1e-6)
    assert placements(model) == got

    # A callable rule sees every name and may defer to the default rule with None.
    seen = []
    nn.fully_shard(nn.Linear(8, 16), mesh=mesh, axis_name="tp",
                   shard_placement_fn=lambda name, a: seen.append(name))
    assert seen == ["weight", "bias"]


def test_full_array_and_ignored_params():
    mesh = _mesh()
    model = nn.Linear(8, 16)
    nn.fully_shard(model, mesh=mesh, ignored_params={model.bias})
    assert placements(model)["weight"] == P("fsdp")
    assert len(model.bias._data.sharding.device_set) == 1
    whole = full_array(model.weight._data)
    assert len(whole.sharding.device_set) == 1
    np.testing.assert_array_equal(whole, model.weight._data)
    # A first dimension the axis does not divide is replicated.
    odd = nn.fully_shard(nn.Linear(8, 3), mesh=mesh)
    assert placements(odd) == {"weight": P(), "bias": P()}


def test_explicit_mesh_axes_are_used_as_auto():
    """jax.make_mesh makes Explicit axes; the step is written for one device, so fully_shard
    and shard_batch place on the same mesh with Auto axes (XLA chooses inside the step)."""
    mesh = jax.make_mesh((8,), ("fsdp",))
    model = nn.fully_shard(nn.Embedding(16, 4), mesh=mesh)
    x = shard_batch(np.zeros((8, 3), np.int32), mesh)
    for a in (model.weight._data, x):
        assert a.sharding.spec == P("fsdp")
        assert a.sharding.mesh.axis_types == (jax.sharding.AxisType.Auto,)
    assert model(x).shape == (8, 3, 4)  # an embedding gather of a sharded table


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(axis_name="dp"), ValueError, r"axis_name 'dp' is not an axis of the mesh.*'fsdp'"),
    (dict(mesh="fsdp"), TypeError, "mesh must be a jax.sharding.Mesh, got str"),
    (dict(shard_placement_fn={"weight": P("tp")}), ValueError, "names mesh axis 'tp'"),
    (dict(shard_placement_fn={"weight": P(None, "fsdp")}), ValueError,
     r"splits dim 1 \(size 12\) into 8 parts"),
    (dict(shard_placement_fn={"bias": P("fsdp", None)}), ValueError,
     "has 2 entries, but the array has only 1 dimension"),
    (dict(shard_placement_fn={"weight": P("fsdp", "fsdp")}), ValueError,
     "uses mesh axis 'fsdp' twice"),
    (dict(shard_placement_fn={"weight": "fsdp"}), TypeError,
     "expected a jax.sharding.PartitionSpec"),
    (dict(shard_placement_fn=3), TypeError, "shard_placement_fn must be a callable"),
    (dict(mp_policy=object()), NotImplementedError, "nn.autocast"),
])
def test_bad_arguments_raise(kwargs, error, match):
    kwargs.setdefault("mesh", _mesh())
    with pytest.raises(error, match=match):
        nn.fully_shard(nn.Linear(12, 16), **kwargs)


def test_bad_mesh_and_batch_raise():
    with pytest.raises(ValueError, match=r"several axes \('fsdp', 'tp'\); say which"):
        nn.fully_shard(nn.Linear(4, 8), mesh=_mesh((4, 2), ("fsdp", "tp")))
    with pytest.raises(TypeError, match="expected a jnn Module"):
        nn.fully_shard(torch.nn.Linear(4, 8), mesh=_mesh())
    with pytest.raises(ValueError, match="leading dimension 12 does not split evenly over the 8"):
        shard_batch(np.zeros((12, 3)), _mesh())



def test_two_processes_match_one(tmp_path):
    """2 processes x 4 CPU devices (gloo collectives), each passing its half of the batch,
    train as one process on the whole batch; state_dict gathers across processes."""
    run_workers("fsdp_worker.py", tmp_path)

    x, y = make_data()
    model = make_model()
    opt = OPTIMIZERS["adam"](model.parameters())
    losses, _ = _train(model, opt, x, y, 3)
    for i in range(2):
        result = np.load(tmp_path / f"{i}.npz")
        np.testing.assert_allclose(result["losses"], losses, rtol=1e-5)
        for k, v in model.state_dict().items():
            np.testing.assert_allclose(result[k], v, rtol=1e-4, atol=1e-5, err_msg=k)
