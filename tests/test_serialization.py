"""jnn.save / jnn.load: PyTorch checkpoint interop (both formats) and safetensors. Hostile files:
test_serialization_hostile.py and _fuzz.py; saving to paths: test_serialization_save.py."""
import io
import os
import struct
import sys
import zipfile
from collections import OrderedDict

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest
import torch

import jnn as nn
from jnn.serialization import CheckpointError, load, load_safetensors, save, save_safetensors

# (torch dtype, numpy dtype, torch dtype of the same width to view through for .numpy())
DTYPES = [
    (torch.float16, np.dtype(np.float16), None),
    (torch.bfloat16, np.dtype(ml_dtypes.bfloat16), torch.int16),
    (torch.float32, np.dtype(np.float32), None),
    (torch.float64, np.dtype(np.float64), None),
    (torch.int8, np.dtype(np.int8), None),
    (torch.int16, np.dtype(np.int16), None),
    (torch.int32, np.dtype(np.int32), None),
    (torch.int64, np.dtype(np.int64), None),
    (torch.uint8, np.dtype(np.uint8), None),
    (torch.bool, np.dtype(np.bool_), None),
    (torch.complex64, np.dtype(np.complex64), None),
    (torch.complex128, np.dtype(np.complex128), None),
    (torch.uint16, np.dtype(np.uint16), torch.int16),
    (torch.uint32, np.dtype(np.uint32), torch.int32),
    (torch.uint64, np.dtype(np.uint64), torch.int64),
    (torch.float8_e4m3fn, np.dtype(ml_dtypes.float8_e4m3fn), torch.uint8),
    (torch.float8_e5m2, np.dtype(ml_dtypes.float8_e5m2), torch.uint8),
]
DTYPE_IDS = [str(t).replace("torch.", "") for t, _, _ in DTYPES]
BIG = {torch.float64, torch.int64, torch.uint64, torch.complex128, torch.uint32}


def t2np(t: torch.Tensor) -> np.ndarray:
    """A torch tensor as numpy, exactly (bit patterns kept for dtypes numpy lacks)."""
    t = t.detach().contiguous()
    for tdt, ndt, via in DTYPES:
        if t.dtype == tdt:
            return t.view(via).numpy().view(ndt) if via is not None else t.numpy()
    raise AssertionError(t.dtype)


def np2t(a: np.ndarray) -> torch.Tensor:
    a = np.array(a, order="C")  # (np.ascontiguousarray would make 0-d arrays 1-d)
    for tdt, ndt, via in DTYPES:
        if a.dtype == ndt:
            if via is None:
                return torch.from_numpy(a.copy())
            ints = {1: np.uint8, 2: np.int16, 4: np.int32, 8: np.int64}[ndt.itemsize]
            return torch.from_numpy(a.view(ints).copy()).view(via).view(tdt)
    raise AssertionError(a.dtype)


def sample(ndt: np.dtype, shape=(3, 4), seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if ndt == np.bool_:
        return rng.random(shape) > 0.5
    if ndt.kind in "iu":
        info = np.iinfo(ndt)
        return rng.integers(info.min, info.max, size=shape, dtype=ndt, endpoint=True)
    if ndt.kind == "c":
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(ndt)
    return (rng.standard_normal(shape) * 3).astype(ndt)


def same(a, b) -> bool:
    """Exact equality of dtype, shape and bits."""
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    return np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes()


def torch_save(obj, path, legacy=False):
    torch.save(obj, path, _use_new_zipfile_serialization=not legacy)


# -- jnn -> torch ---------------------------------------------------------------------------
@pytest.mark.parametrize("tdt,ndt,via", DTYPES, ids=DTYPE_IDS)
def test_save_every_dtype_loads_in_torch(tmp_path, tdt, ndt, via):
    arrays = {"mat": sample(ndt), "scalar": sample(ndt, ()), "empty": sample(ndt, (0, 3)),
              "vec": sample(ndt, (5,), seed=1)}
    path = tmp_path / "a.pt"
    save({"nested": [arrays, (arrays["vec"],)]}, path)
    out = torch.load(path, weights_only=True)
    got = out["nested"][0]
    for k, v in arrays.items():
        assert got[k].dtype == tdt and tuple(got[k].shape) == v.shape, k
        assert same(t2np(got[k]), v), k
    assert same(t2np(out["nested"][1][0]), arrays["vec"])
    # and back through jnn
    back = load(path, as_numpy=True)
    for k, v in arrays.items():
        assert same(back["nested"][0][k], v), k


def test_save_jax_arrays_and_parameters(tmp_path):
    w = nn.Parameter(jnp.arange(6.0).reshape(2, 3))
    frozen = nn.Parameter(jnp.ones(2, jnp.bfloat16), requires_grad=False)
    obj = {"w": w, "frozen": frozen, "x": jnp.arange(4, dtype=jnp.int32),
           "h": jnp.array([1.5, -2.0], jnp.float16), "flag": jnp.array(True)}
    path = tmp_path / "p.pt"
    save(obj, path)
    t = torch.load(path, weights_only=True)
    assert isinstance(t["w"], torch.nn.Parameter) and t["w"].requires_grad
    assert isinstance(t["frozen"], torch.nn.Parameter) and not t["frozen"].requires_grad
    assert torch.equal(t["w"].detach(), torch.arange(6.0).reshape(2, 3))
    assert t["frozen"].dtype == torch.bfloat16
    assert t["x"].dtype == torch.int32 and t["h"].dtype == torch.float16
    assert t["flag"].dtype == torch.bool and t["flag"].shape == ()
    back = load(path)
    assert isinstance(back["w"], nn.Parameter) and back["w"].requires_grad
    assert isinstance(back["frozen"], nn.Parameter) and not back["frozen"].requires_grad
    assert same(back["w"].data, w.data) and same(back["frozen"].data, frozen.data)
    assert isinstance(back["x"], jax.Array) and same(back["x"], obj["x"])


def test_save_python_values_and_containers(tmp_path):
    obj = OrderedDict(epoch=7, lr=0.1, name="run-1", none=None, yes=True, no=False,
                      big=2 ** 70, neg=-5, c=1 + 2j, raw=b"\x00\xffabc", no_bytes=b"", tags={"a", "b"},
                      nested={"list": [1, [2, (3, "x")]], "tuple": (), "one": (1,)},
                      unicode="ñ✓")
    path = tmp_path / "v.pt"
    save(obj, path)
    t = torch.load(path, weights_only=True)
    assert t == obj and type(t) is OrderedDict and list(t) == list(obj)
    j = load(path)
    assert j == obj and type(j) is OrderedDict and list(j) == list(obj)


def test_tied_arrays_share_one_storage(tmp_path):
    w = jnp.arange(4.0)
    path = tmp_path / "t.pt"
    save({"a": w, "b": w, "c": jnp.arange(4.0)}, path)
    with zipfile.ZipFile(path) as zf:
        assert sum(n.startswith("t/data/") for n in zf.namelist()) == 2
    t = torch.load(path, weights_only=True)
    assert t["a"].untyped_storage().data_ptr() == t["b"].untyped_storage().data_ptr()
    assert t["a"].untyped_storage().data_ptr() != t["c"].untyped_storage().data_ptr()


def test_zip_layout_matches_torch(tmp_path):
    path = tmp_path / "model.pth"
    save({"w": np.ones((3, 5), np.float32), "b": np.zeros(7, np.int64)}, path)
    raw = path.read_bytes()
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        assert names[0] == "model/data.pkl"
        assert {"model/byteorder", "model/version", "model/data/0", "model/data/1",
                "model/.data/serialization_id"} <= set(names)
        assert zf.read("model/byteorder") == b"little"
        assert zf.read("model/version").strip() == b"3"
        for info in zf.infolist():
            assert info.compress_type == zipfile.ZIP_STORED
            name_len, extra_len = struct.unpack("<HH", raw[info.header_offset + 26:
                                                           info.header_offset + 30])
            assert (info.header_offset + 30 + name_len + extra_len) % 64 == 0, info.filename
        assert zf.testzip() is None  # CRCs are right
    # the pickle uses only what torch's weights-only unpickler allows
    with zipfile.ZipFile(path) as zf:
        assert zf.read("model/data.pkl")[:2] == b"\x80\x02"
    # records aligned -> torch can mmap it
    t = torch.load(path, weights_only=True, mmap=True)
    assert torch.equal(t["w"], torch.ones(3, 5)) and t["b"].dtype == torch.int64


def test_big_array_roundtrip(tmp_path):
    a = np.random.default_rng(0).standard_normal((1024, 1024 + 3)).astype(np.float32)
    path = tmp_path / "big.pt"
    save({"a": a, "b": a[:3].astype(ml_dtypes.bfloat16)}, path)
    t = torch.load(path, weights_only=True, mmap=True)
    assert same(t["a"].numpy(), a)
    assert same(load(path, as_numpy=True)["a"], a)
    torch.save({"a": torch.from_numpy(a).t()}, tmp_path / "big_t.pt")
    assert same(load(tmp_path / "big_t.pt", as_numpy=True)["a"], a.T)


def test_save_to_file_object_and_archive_name(tmp_path):
    buf = io.BytesIO()
    save({"x": np.arange(3)}, buf)
    buf.seek(0)
    with zipfile.ZipFile(buf) as zf:
        assert zf.namelist()[0] == "archive/data.pkl"
    buf.seek(0)
    assert torch.equal(torch.load(buf, weights_only=True)["x"], torch.arange(3))
    buf.seek(0)
    assert same(load(buf, as_numpy=True)["x"], np.arange(3))
    with open(tmp_path / "f.pt", "wb") as fh:
        save([np.ones(2, np.float32)], fh)
    assert torch.equal(torch.load(tmp_path / "f.pt", weights_only=True)[0], torch.ones(2))


def test_save_to_unseekable_stream(tmp_path):
    class Pipe(io.RawIOBase):  # write-only, no seek/tell
        def __init__(self):
            self.chunks = []

        def writable(self):
            return True

        def write(self, b):
            self.chunks.append(bytes(b))
            return len(b)

    pipe = Pipe()
    save({"x": np.arange(5, dtype=np.int16)}, pipe)
    data = b"".join(pipe.chunks)
    assert torch.equal(torch.load(io.BytesIO(data), weights_only=True)["x"],
                       torch.arange(5, dtype=torch.int16))


def test_save_rejects_unsupported_objects(tmp_path):
    path = tmp_path / "bad.pt"
    with pytest.raises(TypeError, match=r"function at obj\['model'\]\['fn'\]"):
        save({"model": {"fn": lambda x: x}}, path)
    with pytest.raises(TypeError, match="Linear.*state_dict"):
        save({"m": nn.Linear(2, 2)}, path)
    with pytest.raises(TypeError, match="int4"):
        save({"q": np.zeros(2, ml_dtypes.int4)}, path)
    with pytest.raises(TypeError, match="traced"):
        jax.jit(lambda x: save({"x": x}, tmp_path / "traced.pt") or x)(jnp.ones(2))
    with pytest.raises(ValueError, match="pickle_protocol"):
        save({}, path, pickle_protocol=1)
    assert not path.exists() and os.listdir(tmp_path) == []


def test_jnn_module_state_dict_loads_into_torch(tmp_path):
    layer = nn.Linear(4, 3)
    path = tmp_path / "lin.pt"
    save(layer.state_dict(), path)
    ref = torch.nn.Linear(4, 3)
    ref.load_state_dict(torch.load(path, weights_only=True))
    assert same(ref.weight.detach().numpy(), np.asarray(layer.weight.data))
    assert same(ref.bias.detach().numpy(), np.asarray(layer.bias.data))
    # and back: torch's state_dict loads into the jnn layer
    torch.save(ref.state_dict(), tmp_path / "ref.pt")
    layer2 = nn.Linear(4, 3)
    layer2.load_state_dict(load(tmp_path / "ref.pt"))
    assert same(np.asarray(layer2.weight.data), ref.weight.detach().numpy())


# -- torch -> jnn ---------------------------------------------------------------------------
@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
@pytest.mark.parametrize("tdt,ndt,via", DTYPES, ids=DTYPE_IDS)
def test_torch_save_every_dtype_loads_in_jnn(tmp_path, tdt, ndt, via, legacy):
    vals = {"mat": sample(ndt), "scalar": sample(ndt, ()), "empty": sample(ndt, (2, 0)),
            "vec": sample(ndt, (6,), seed=2)}
    obj = {"t": {k: np2t(v) for k, v in vals.items()},
           "view": np2t(vals["mat"]).t(), "slice": np2t(vals["vec"])[1:5:2]}
    path = tmp_path / "t.pt"
    torch_save(obj, path, legacy)
    out = load(path, as_numpy=True)
    for k, v in vals.items():
        assert same(out["t"][k], v), k
    assert same(out["view"], vals["mat"].T)
    assert same(out["slice"], vals["vec"][1:5:2])
    with jax.enable_x64(tdt in BIG):
        jout = load(path)
        for k, v in vals.items():
            assert isinstance(jout["t"][k], jax.Array)
            assert same(np.asarray(jout["t"][k]), v), k


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_torch_views_and_shared_storage(tmp_path, legacy):
    base = torch.arange(60, dtype=torch.float32).reshape(3, 4, 5)
    obj = {
        "base": base,
        "transposed": base.transpose(0, 2),
        "permuted": base.permute(2, 0, 1),
        "offset_view": base[1, 1:3, 2:],
        "strided": base[:, ::2, ::3],
        "expanded": torch.arange(3.0).reshape(3, 1).expand(3, 4),  # stride 0
        "channels_last": torch.arange(24.0).reshape(1, 2, 3, 4).contiguous(
            memory_format=torch.channels_last),
        "diag": base[0].diagonal(),
        "scalar_view": base[2, 3, 4],
        "empty_view": base[:, 2:2],
    }
    path = tmp_path / "views.pt"
    torch_save(obj, path, legacy)
    out = load(path, as_numpy=True)
    for k, v in obj.items():
        assert same(out[k], v.contiguous().numpy()), k
    jout = load(path)
    for k, v in obj.items():
        assert same(np.asarray(jout[k]), v.contiguous().numpy()), k
    if not legacy:  # one storage record for all the views of `base` (+ expanded, channels_last)
        with zipfile.ZipFile(path) as zf:
            assert sum("/data/" in n for n in zf.namelist()) == 3


def test_torch_parameters_and_metadata(tmp_path):
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    sd = model.state_dict()
    path = tmp_path / "sd.pt"
    torch.save(sd, path)
    out = load(path)
    assert type(out) is OrderedDict and list(out) == list(sd)
    assert out._metadata == sd._metadata  # torch's per-module version info survives
    assert out["1.num_batches_tracked"].shape == ()
    # jnn -> torch keeps _metadata too
    save(out, tmp_path / "back.pt")
    back = torch.load(tmp_path / "back.pt", weights_only=True)
    assert back._metadata == sd._metadata
    # Parameters (not state_dict tensors) load as jnn.Parameter
    torch.save({"params": list(model.parameters()),
                "frozen": torch.nn.Parameter(torch.ones(2), requires_grad=False)},
               tmp_path / "params.pt")
    params = load(tmp_path / "params.pt")
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in params["params"])
    assert isinstance(params["frozen"], nn.Parameter) and not params["frozen"].requires_grad
    assert same(params["params"][0].data, model[0].weight.detach().numpy())
    assert isinstance(load(tmp_path / "params.pt", as_numpy=True)["frozen"], np.ndarray)


def test_torch_tensor_with_python_attributes(tmp_path):
    t = torch.arange(3.0)
    t.note = "hello"  # pickled through torch._tensor._rebuild_from_type_v2
    torch.save({"t": t, "size": torch.Size([2, 3]), "dtype": torch.float16}, tmp_path / "a.pt")
    out = load(tmp_path / "a.pt", as_numpy=True)
    assert same(out["t"], np.arange(3.0, dtype=np.float32))
    assert out["size"] == (2, 3) and out["dtype"] == np.float16


def test_torch_optimizer_checkpoint(tmp_path):
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(torch.ones(4, 3)).sum().backward()
    opt.step()
    ckpt = {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}
    for legacy in (False, True):
        torch_save(ckpt, tmp_path / "ck.pt", legacy)
        out = load(tmp_path / "ck.pt", as_numpy=True)
        assert out["epoch"] == 3
        st = out["optimizer"]["state"][0]
        assert same(st["exp_avg"], opt.state_dict()["state"][0]["exp_avg"].numpy())
        assert out["optimizer"]["param_groups"][0]["lr"] == 1e-3
        # and back into torch: the optimizer resumes from our file
        save(out, tmp_path / "ck2.pt")
        opt2 = torch.optim.Adam(model.parameters(), lr=1.0)
        opt2.load_state_dict(torch.load(tmp_path / "ck2.pt", weights_only=True)["optimizer"])
        assert opt2.param_groups[0]["lr"] == 1e-3


def test_load_from_file_objects(tmp_path):
    buf = io.BytesIO()
    torch.save({"x": torch.arange(4)}, buf)
    buf.seek(0)
    assert same(load(buf, as_numpy=True)["x"], np.arange(4))

    class Stream(io.RawIOBase):  # readable, not seekable
        def __init__(self, data):
            self.data = io.BytesIO(data)

        def readable(self):
            return True

        def readinto(self, b):
            return self.data.readinto(b)

    assert same(load(Stream(buf.getvalue()), as_numpy=True)["x"], np.arange(4))
    leg = io.BytesIO()
    torch.save({"x": torch.arange(4)}, leg, _use_new_zipfile_serialization=False)
    assert same(load(Stream(leg.getvalue()), as_numpy=True)["x"], np.arange(4))


def test_other_pickle_protocols_and_byte_orders(tmp_path):
    torch.save({"a": torch.arange(3.0)}, tmp_path / "p4.pt", pickle_protocol=4)
    assert same(load(tmp_path / "p4.pt", as_numpy=True)["a"], np.arange(3.0, dtype=np.float32))
    save({"a": np.arange(3.0, dtype=np.float32)}, tmp_path / "j4.pt", pickle_protocol=4)
    assert same(load(tmp_path / "j4.pt", as_numpy=True)["a"], np.arange(3.0, dtype=np.float32))
    # big-endian numpy input is written little-endian, as torch expects
    save({"a": np.arange(3, dtype=">u2"), "b": np.arange(2, dtype=">f4")}, tmp_path / "be.pt")
    t = torch.load(tmp_path / "be.pt", weights_only=True)
    assert t["a"].dtype == torch.uint16 and t["a"].tolist() == [0, 1, 2]
    assert torch.equal(t["b"], torch.arange(2.0))
    assert load(tmp_path / "be.pt", as_numpy=True, mmap=True)["a"].dtype == np.dtype("<u2")


def test_map_location(tmp_path):
    torch.save({"x": torch.ones(2)}, tmp_path / "m.pt")
    cpu = jax.devices("cpu")[0]
    for loc in ("cpu", cpu, {"cpu": "cpu"}):
        x = load(tmp_path / "m.pt", map_location=loc)["x"]
        assert x.devices() == {cpu}
    with pytest.raises(ValueError, match="map_location"):
        load(tmp_path / "m.pt", map_location="npu")


def test_big_endian_checkpoint(tmp_path):
    vals = {k: sample(np.dtype(k), (3,)) for k in ("float32", "int16", "complex64", "float64")}
    vals["bf16"] = sample(np.dtype(ml_dtypes.bfloat16), (3,))
    buf = io.BytesIO()
    save(vals, buf)
    buf.seek(0)
    src = zipfile.ZipFile(buf)
    keyed = {}  # storage key -> dtype, in save order
    for i, (k, v) in enumerate(vals.items()):
        keyed[f"archive/data/{i}"] = v.dtype
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            if name == "archive/byteorder":
                data = b"big"
            elif name in keyed:
                dt = keyed[name]
                size = dt.itemsize // 2 if dt.kind == "c" else dt.itemsize
                data = np.frombuffer(data, np.uint8).reshape(-1, size)[:, ::-1].tobytes()
            dst.writestr(name, data)
    out.seek(0)
    got = load(out, as_numpy=True)
    for k, v in vals.items():
        assert same(got[k], v), k


# -- interop: a small torch model -------------------------------------------------------------
class _Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(4)
        self.fc = torch.nn.Linear(4 * 5 * 5, 3)

    def forward(self, x):
        return self.fc(torch.relu(self.bn(self.conv(x))).flatten(1))


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_torch_model_roundtrip(tmp_path, legacy):
    torch.manual_seed(0)
    net = _Net()
    net.train()
    net(torch.randn(8, 3, 5, 5))  # move the BatchNorm running stats
    net.eval()
    sd = net.state_dict()
    torch_save(sd, tmp_path / "net.pt", legacy)

    as_np = load(tmp_path / "net.pt", as_numpy=True)
    as_jax = load(tmp_path / "net.pt")
    assert list(as_np) == list(sd) == list(as_jax)
    for k, v in sd.items():
        assert same(as_np[k], v.numpy()), k
        assert isinstance(as_jax[k], jax.Array)
        if v.dtype != torch.int64:
            assert same(np.asarray(as_jax[k]), v.numpy()), k
    assert as_np["bn.num_batches_tracked"].dtype == np.int64

    # back to torch through jnn.save: the same numbers, the same outputs
    save(as_np, tmp_path / "net_jnn.pt")
    back = torch.load(tmp_path / "net_jnn.pt", weights_only=True)
    net2 = _Net().eval()
    net2.load_state_dict(back)
    for k, v in sd.items():
        assert back[k].dtype == v.dtype and torch.equal(back[k], v), k
    x = torch.randn(2, 3, 5, 5)
    assert torch.equal(net(x), net2(x))


# -- safetensors --------------------------------------------------------------------------------
def test_safetensors_roundtrip(tmp_path):
    import safetensors  # noqa: F401  (the `test` extra installs it)
    from safetensors.torch import load_file as st_load_torch
    from safetensors.torch import save_file as st_save_torch

    tensors = {
        "f32": sample(np.dtype(np.float32)), "bf16": sample(np.dtype(ml_dtypes.bfloat16)),
        "f16": sample(np.dtype(np.float16)), "i64": sample(np.dtype(np.int64), (5,)),
        "u8": sample(np.dtype(np.uint8), (2, 2)), "b": sample(np.dtype(np.bool_), (4,)),
        "scalar": sample(np.dtype(np.float32), ()), "empty": np.zeros((0, 2), np.float32),
    }
    path = tmp_path / "m.safetensors"
    save_safetensors({**tensors, "param": nn.Parameter(jnp.ones(2))}, path,
                     metadata={"format": "pt"})
    got = load_safetensors(path, as_numpy=True)
    for k, v in tensors.items():
        assert same(got[k], v), k
    with jax.enable_x64(True):
        jgot = load_safetensors(path)
    assert same(np.asarray(jgot["i64"]), tensors["i64"])
    with pytest.raises(CheckpointError, match="'i64' holds int64 values.*outside int32's range"):
        load_safetensors(path)  # x64 off: jax would wrap them
    assert isinstance(jgot["f32"], jax.Array) and same(np.asarray(jgot["bf16"]), tensors["bf16"])
    # interop with safetensors' torch backend, both ways
    t = st_load_torch(str(path))
    for k, v in tensors.items():
        assert same(t2np(t[k]), v), k
    st_save_torch({k: np2t(v) for k, v in tensors.items()}, str(tmp_path / "t.safetensors"))
    back = load_safetensors(tmp_path / "t.safetensors", as_numpy=True)
    for k, v in tensors.items():
        assert same(back[k], v), k
    with pytest.raises(FileNotFoundError):
        load_safetensors(tmp_path / "missing.safetensors")
    (tmp_path / "bad.safetensors").write_bytes(b"\x05\x00\x00\x00\x00\x00\x00\x00{bad}")
    with pytest.raises(CheckpointError, match="bad.safetensors"):
        load_safetensors(tmp_path / "bad.safetensors")


def test_safetensors_missing_package_message(monkeypatch):
    monkeypatch.setitem(sys.modules, "safetensors", None)
    with pytest.raises(ImportError, match=r"pip install jnn\[safetensors\]"):
        load_safetensors("x.safetensors")
    with pytest.raises(ImportError, match=r"pip install jnn\[safetensors\]"):
        save_safetensors({}, "x.safetensors")


def test_public_names_reachable_from_package():
    import pickle

    assert nn.serialization.save is save and nn.serialization.load is load
    assert nn.save is save and nn.load is load
    assert set(nn.serialization.__all__) == {"save", "load", "save_safetensors",
                                             "load_safetensors", "CheckpointError",
                                             "UnsafeCheckpointError"}
    for name in nn.serialization.__all__:
        assert getattr(nn.serialization, name).__module__.startswith("jnn.serialization")
    err = pickle.loads(pickle.dumps(CheckpointError("x")))  # e.g. across multiprocessing
    assert type(err) is CheckpointError and issubclass(CheckpointError, RuntimeError)
    assert issubclass(nn.serialization.UnsafeCheckpointError, pickle.UnpicklingError)
