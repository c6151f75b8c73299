"""jnn.load against hostile and broken files: nothing runs, memory stays bounded by the file,
and every failure is a CheckpointError / UnsafeCheckpointError naming the file."""
import io
import os
import pickle
import struct
import sys
import tracemalloc
import zipfile
from collections import Counter, OrderedDict

import jax
import numpy as np
import pytest
import torch

import jnn as nn
from jnn.serialization import CheckpointError, UnsafeCheckpointError, load, save
from helpers.checkpoints import (dict_of, legacy_with_pickle, op_global, op_int, op_str,
                                 op_tensor, pickle_of, zip_bytes, zip_with_pickle)


def named_buffer(data: bytes, name: str) -> io.BytesIO:
    buf = io.BytesIO(data)
    buf.name = name  # what load's messages call the file
    return buf


def peak_bytes(fn, *args, **kwargs):
    """(fn's result or exception, the peak bytes Python and numpy allocated during it)."""
    tracemalloc.start()
    try:
        try:
            out = fn(*args, **kwargs)
        except Exception as e:  # noqa: BLE001 - returned for the caller to check
            out = e
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# -- safety -----------------------------------------------------------------------------------
class _Evil:
    def __init__(self, func, arg):
        self.func, self.arg = func, arg

    def __reduce__(self):
        return (self.func, (self.arg,))


def _payloads(marker):
    import builtins
    import subprocess

    cmd = f"touch {marker}"
    return {
        "os.system": _Evil(os.system, cmd),
        "builtins.exec": _Evil(builtins.exec, f"open({str(marker)!r}, 'w').close()"),
        "builtins.eval": _Evil(builtins.eval, f"open({str(marker)!r}, 'w').close()"),
        "subprocess.call": _Evil(subprocess.call, ["touch", str(marker)]),
    }


@pytest.mark.parametrize("container", ["zip", "legacy"])
@pytest.mark.parametrize("payload", ["os.system", "builtins.exec", "builtins.eval",
                                     "subprocess.call"])
def test_malicious_pickle_is_refused(tmp_path, payload, container):
    if payload in ("os.system", "subprocess.call") and sys.platform == "win32":
        pytest.skip("uses touch")
    marker = tmp_path / "pwned"
    evil = _payloads(marker)[payload]
    data = pickle.dumps({"weight": evil}, protocol=2)
    # the payload is live: unpickling it normally does create the marker
    proof = tmp_path / "proof"
    pickle.loads(pickle.dumps({"w": _payloads(proof)[payload]}, protocol=2))
    assert proof.exists()

    path = tmp_path / "evil.pt"
    (zip_with_pickle if container == "zip" else legacy_with_pickle)(path, data)
    with pytest.raises(pickle.UnpicklingError) as info:
        load(path)
    msg = str(info.value)
    assert isinstance(info.value, UnsafeCheckpointError)
    module, name = payload.split(".")
    assert name in msg and str(path) in msg
    assert not marker.exists()


def test_malicious_protocol_variants_are_refused(tmp_path):
    marker = tmp_path / "pwned"
    evil = {"w": _Evil(os.system, f"touch {marker}")}
    for proto in range(0, pickle.HIGHEST_PROTOCOL + 1):  # GLOBAL, STACK_GLOBAL, INST/OBJ...
        path = tmp_path / f"p{proto}.pt"
        zip_with_pickle(path, pickle.dumps(evil, protocol=proto))
        with pytest.raises(UnsafeCheckpointError, match="system"):
            load(path)
    # hand-written INST opcode (protocol 0) naming posix.system
    inst = b"(S'touch " + str(marker).encode() + b"'\niposix\nsystem\n."
    zip_with_pickle(tmp_path / "inst.pt", inst)
    with pytest.raises(UnsafeCheckpointError, match="posix.system"):
        load(tmp_path / "inst.pt")
    assert not marker.exists()


def test_loader_objects_cannot_be_abused(tmp_path):
    def rejected(data, exc=(pickle.UnpicklingError, CheckpointError)):
        path = tmp_path / "x.pt"
        zip_with_pickle(path, data)
        with pytest.raises(exc):
            load(path)

    # BUILD on an allowlisted global (would rewrite loader state)
    rejected(b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n}X\x01\x00\x00\x00a\x88sb.")
    rejected(b"\x80\x02ccollections\nOrderedDict\n}X\x08\x00\x00\x00__repr__K\x01sb.")
    # persistent ids other than storages
    rejected(b"\x80\x02X\x04\x00\x00\x00evilQ.")
    # _codecs.encode is only for str -> bytes
    rejected(b"\x80\x02c_codecs\nencode\nK\x01X\x05\x00\x00\x00rot13\x86R.")
    # a classic: builtins.getattr to reach os
    rejected(b"\x80\x02c__builtin__\ngetattr\n.", UnsafeCheckpointError)


def test_out_of_bounds_tensor_geometry_is_refused(tmp_path):
    buf = io.BytesIO()
    save({"x": np.arange(4, dtype=np.float32)}, buf)
    buf.seek(0)
    src = zipfile.ZipFile(buf)
    pkl = src.read("archive/data.pkl")
    # size (4,) stride (1,) -> size (4,) stride (1000,): would read far past the 16-byte storage
    bad = pkl.replace(b"K\x04\x85", b"K\x04\x85", 1).replace(b"K\x01\x85", b"M\xe8\x03\x85", 1)
    assert bad != pkl
    out = tmp_path / "oob.pt"
    with zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            dst.writestr(name, bad if name.endswith("data.pkl") else src.read(name))
    with pytest.raises(CheckpointError, match="past the end"):
        load(out)


# -- errors -----------------------------------------------------------------------------------
def test_missing_corrupt_and_truncated_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        load(tmp_path / "nope.pt")
    torch.save({"w": torch.randn(64, 64)}, tmp_path / "good.pt")
    raw = (tmp_path / "good.pt").read_bytes()
    cases = {
        "trunc.pt": raw[: len(raw) // 2],
        "trunc_end.pt": raw[:-30],
        "garbage.pt": os.urandom(300),
        "empty.pt": b"",
        "text.pt": b"hello, world\n" * 10,
        "zip_no_pkl.pt": None,
    }
    for name, data in cases.items():
        path = tmp_path / name
        if data is None:
            with zipfile.ZipFile(path, "w") as zf:
                zf.writestr("archive/other", b"x")
        else:
            path.write_bytes(data)
        with pytest.raises(CheckpointError) as info:
            load(path)
        assert isinstance(info.value, RuntimeError)
        assert name in str(info.value), name

    torch.save({"w": torch.randn(64, 64)}, tmp_path / "leg.pt",
               _use_new_zipfile_serialization=False)
    legacy = (tmp_path / "leg.pt").read_bytes()
    for cut in (10, len(legacy) // 2, len(legacy) - 5):
        (tmp_path / "legcut.pt").write_bytes(legacy[:cut])
        with pytest.raises(CheckpointError, match="legcut.pt"):
            load(tmp_path / "legcut.pt")

    # a storage record whose bytes were corrupted (size mismatch)
    with zipfile.ZipFile(tmp_path / "good.pt") as src, \
            zipfile.ZipFile(tmp_path / "short.pt", "w") as dst:
        for n in src.namelist():
            dst.writestr(n, src.read(n)[:10] if "/data/" in n else src.read(n))
    with pytest.raises(CheckpointError, match="short.pt"):
        load(tmp_path / "short.pt")


def test_weights_only_false_is_rejected(tmp_path):
    torch.save({"x": torch.ones(1)}, tmp_path / "a.pt")
    with pytest.raises(ValueError, match="weights_only=False is not supported"):
        load(tmp_path / "a.pt", weights_only=False)
    assert np.array_equal(load(tmp_path / "a.pt", weights_only=None, as_numpy=True)["x"],
                          np.ones(1, np.float32))


def test_whole_pickled_module_is_refused(tmp_path):
    torch.save(torch.nn.Linear(2, 2), tmp_path / "model.pt")
    with pytest.raises(UnsafeCheckpointError, match="torch.nn.modules.linear.Linear"):
        load(tmp_path / "model.pt")




def test_unsafe_errors_always_name_the_file(tmp_path):
    calls = {
        "build": b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n}X\x01\x00\x00\x00a\x88sb.",
        "codecs": b"\x80\x02c_codecs\nencode\nK\x01X\x05\x00\x00\x00rot13\x86R.",
        "tensor": b"\x80\x02ctorch\nTensor\n)R.",
        "bytearray": pickle_of(op_global("__builtin__", "bytearray") + op_int(2 ** 30)
                               + b"\x85R"),  # bytearray(n) would allocate n bytes
    }
    for name, data in calls.items():
        path = zip_with_pickle(tmp_path / f"{name}.pt", data)
        with pytest.raises(UnsafeCheckpointError) as info:
            load(path)
        assert str(path) in str(info.value), name


# -- memory: bounded by the file ------------------------------------------------------------
def test_broadcast_tensor_past_the_bound_is_refused_before_allocating(tmp_path):
    path = tmp_path / "expand.pt"
    torch.save({"x": torch.zeros(1).expand(2 ** 27)}, path)  # a 1.4 KB file, a 512 MB tensor
    out, peak = peak_bytes(load, path, as_numpy=True)
    assert isinstance(out, CheckpointError), out
    assert "expand.pt" in str(out) and "past its limit" in str(out)
    assert peak < 4 << 20
    # broadcasts within the bound load, materialised
    torch.save({"x": torch.arange(3.0).expand(4, 3)}, path)
    np.testing.assert_array_equal(load(path, as_numpy=True)["x"],
                                  np.tile(np.arange(3.0, dtype=np.float32), (4, 1)))
    # max_bytes counts the storage read (12 bytes) and the array built (48 bytes)
    with pytest.raises(CheckpointError, match="max_bytes"):
        load(path, max_bytes=59)
    assert load(path, max_bytes=60)["x"].shape == (4, 3)
    with pytest.raises(ValueError, match="max_bytes"):
        load(path, max_bytes=-1)


def test_many_views_of_one_storage_are_counted(tmp_path):
    numel = 16384  # 100 distinct views of one 64 KiB storage: 6.5 MB from a 20 KB file
    views = b"(" + op_tensor((numel,), (1,), numel=numel) * 100 + b"l"
    path = zip_with_pickle(tmp_path / "views.pt", pickle_of(views),
                           [("data/0", bytes(4 * numel))])
    out, peak = peak_bytes(load, path, as_numpy=True, max_bytes=4 << 20)
    assert isinstance(out, CheckpointError) and "views.pt" in str(out), out
    assert peak < 6 << 20
    assert len(load(path, as_numpy=True)) == 100  # within the default bound


def test_compressed_records_are_charged_before_they_are_read(tmp_path):
    numel = 1 << 20  # 4 MiB of zeros deflate to 4 KB
    pkl = pickle_of(dict_of(x=op_tensor((numel,), (1,), numel=numel)))
    path = tmp_path / "deflated.pt"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("archive/data.pkl", pkl)
        zf.writestr("archive/data/0", bytes(4 * numel))
    out, peak = peak_bytes(load, path, as_numpy=True, max_bytes=1 << 20)
    assert isinstance(out, CheckpointError) and "storage record" in str(out), out
    assert peak < 1 << 20
    assert load(path, as_numpy=True)["x"].shape == (numel,)  # torch reads deflated records too
    # a deflated data.pkl may not expand past the file's size + 1 MiB
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("archive/data.pkl", pickle_of(op_str("\0" * (2 << 20))))
    with pytest.raises(CheckpointError, match="data.pkl expands to"):
        load(path)


def test_pickle_opcodes_cannot_allocate_past_the_file():
    loads = {  # (these are loadable pickles; the point is what they cost)
        "memo.pt": (pickle_of(b"]r\x00\x00\x00\x04"), []),  # LONG_BINPUT 2**26: 1.2 GB before
        "frame.pt": (b"\x80\x04\x95" + struct.pack("<Q", 2 ** 40) + b"N.", None),
    }
    refused = {
        "bytearray8.pt": b"\x80\x05\x96" + struct.pack("<Q", 2 ** 34) + b".",
        "binbytes8.pt": b"\x80\x04\x8e" + struct.pack("<Q", 2 ** 34) + b".",
        "memo_get.pt": pickle_of(b"j\x00\x00\x00\x04"),  # LONG_BINGET of a missing index
    }
    for name, (data, expected) in loads.items():
        out, peak = peak_bytes(load, named_buffer(zip_bytes(data), name))
        assert out == expected and peak < 1 << 20, (name, out, peak)
    for name, data in refused.items():
        out, peak = peak_bytes(load, named_buffer(zip_bytes(data), name))
        assert isinstance(out, CheckpointError) and name in str(out), (name, out)
        assert peak < 1 << 20, (name, peak)


# -- depth ----------------------------------------------------------------------------------
def _depth(obj) -> int:
    depth = 0
    while isinstance(obj, (list, tuple, dict)) and obj:
        obj = next(iter(obj.values())) if isinstance(obj, dict) else obj[0]
        depth += 1
    return depth


def test_deep_nesting_loads_without_recursion(tmp_path):
    n = 200_000  # what torch.load(weights_only=True) loads too
    lists = pickle_of(b"]" * n + b"a" * (n - 1))
    assert _depth(load(named_buffer(zip_bytes(lists), "lists.pt"))) == n - 1
    m = 20_000  # tuples and dicts, a tensor at the bottom
    tensor = op_tensor((2,), (1,), numel=2)
    storage = [("data/0", np.array([1.5, 2.5], np.float32).tobytes())]
    tuples = load(named_buffer(zip_bytes(pickle_of(tensor + b"\x85" * m), storage), "t.pt"))
    dicts = load(named_buffer(zip_bytes(pickle_of((b"}" + op_str("k")) * m + tensor + b"s" * m),
                                        storage), "d.pt"), as_numpy=True)
    for out in (tuples, dicts):
        assert _depth(out) == m
        for _ in range(m):
            out = next(iter(out.values())) if isinstance(out, dict) else out[0]
        np.testing.assert_array_equal(np.asarray(out), [1.5, 2.5])
    path = legacy_with_pickle(tmp_path / "legacy.pt", pickle_of(b"]" * m + b"a" * (m - 1)))
    assert _depth(load(path)) == m - 1


def test_costly_dict_keys_are_refused():
    one = b"K\x01"
    cases = {
        # a key nested 10^5 deep: hashing it recursively would crash Python
        "deep.pt": b"})" + b"\x85" * 100_000 + one + b"s",
        # t = (t, t) forty times: 2**40 steps per hash
        "dag.pt": b"})" + b"2\x86" * 40 + one + b"s",
        "bigint.pt": b"}" + op_int(1 << 200_000) + one + b"s",
        "set.pt": b"\x8f()" + b"\x85" * 100_000 + b"\x90",
        "frozenset.pt": b"()" + b"\x85" * 100_000 + b"\x91",
        "set_call.pt": op_global("__builtin__", "set") + b"])" + b"\x85" * 100_000 + b"a\x85R",
        "dict_op.pt": b"()" + b"\x85" * 100_000 + one + b"d",
    }
    for name, body in cases.items():
        with pytest.raises(CheckpointError, match=f"{name}.*costly to hash"):
            load(named_buffer(zip_bytes(pickle_of(body)), name))
    # ordinary tuple and frozenset keys load
    obj = {(1, "a"): 2, frozenset({1, 2}): 3, ("x", (1, 2)): {4}}
    buf = io.BytesIO()
    torch.save(obj, buf)
    buf.seek(0)
    assert load(buf) == obj


# -- every failure is a CheckpointError naming the file ---------------------------------------
def _patched_headers(raw: bytes, *, flags: int = 0, method: int | None = None) -> bytes:
    """Set flag bits / the compression method in every local and central zip header."""
    out = bytearray(raw)
    for sig, flag_at, method_at in ((b"PK\x03\x04", 6, 8), (b"PK\x01\x02", 8, 10)):
        i = out.find(sig)
        while i >= 0:
            out[i + flag_at] |= flags
            if method is not None:
                out[i + method_at:i + method_at + 2] = struct.pack("<H", method)
            i = out.find(sig, i + 4)
    return bytes(out)


def test_zip_and_io_failures_are_checkpoint_errors(tmp_path):
    good = tmp_path / "good.pt"
    torch.save({"w": torch.arange(64.0)}, good)
    raw = good.read_bytes()
    with zipfile.ZipFile(good) as zf:
        info = zf.getinfo("good/data/0")
    data_at = raw.index(np.arange(64.0, dtype=np.float32).tobytes(), info.header_offset)
    bad_crc = bytearray(raw)
    bad_crc[data_at + 5] ^= 0xFF
    cases = {
        "encrypted.pt": (_patched_headers(raw, flags=1), "encrypted"),
        "method99.pt": (_patched_headers(raw, method=99), "compression method"),
        "bad_crc.pt": (bytes(bad_crc), "CRC"),
        "truncated.pt": (raw[:len(raw) // 3], "corrupt or truncated"),
        "no_central_dir.pt": (raw[:-22], "corrupt or truncated"),
    }
    for name, (data, why) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(CheckpointError, match=f"{name}.*{why}"):
            load(tmp_path / name)
    with open(good) as text:  # text mode
        with pytest.raises(CheckpointError, match="good.pt.*text mode"):
            load(text)

    class Failing(io.RawIOBase):  # an I/O error while reading
        name = "failing.pt"

        def readable(self):
            return True

        def readinto(self, b):
            raise OSError(5, "Input/output error")

    with pytest.raises(CheckpointError, match="failing.pt.*Input/output error"):
        load(Failing())


# -- values: never silently changed ---------------------------------------------------------
def test_64_bit_values_32_bits_cannot_hold_raise(tmp_path):
    path = tmp_path / "wide.pt"
    values = [2 ** 40 + 7, 3_000_000_000]
    torch.save({"x": torch.tensor(values), "small": torch.tensor([1, -2])}, path)
    with pytest.raises(CheckpointError, match=r"wide.pt.*obj\['x'\].*outside int32's range"):
        load(path)  # jax would load [7, -1294967296]
    assert load(path, as_numpy=True)["x"].tolist() == values
    with jax.enable_x64(True):
        assert np.asarray(load(path)["x"]).tolist() == values
    torch.save({"small": torch.tensor([1, -2]), "f": torch.tensor([0.1], dtype=torch.float64)},
               path)
    out = load(path)
    assert out["small"].dtype == np.int32 and out["small"].tolist() == [1, -2]
    assert out["f"].dtype == np.float32 and out["f"][0] == np.float32(0.1)
    for name, t in {"u64": torch.tensor([2 ** 40], dtype=torch.uint64),
                    "f64": torch.tensor([1e300], dtype=torch.float64),
                    "c128": torch.tensor([1e300j], dtype=torch.complex128)}.items():
        torch.save({name: t}, path)
        with pytest.raises(CheckpointError, match=f"{name}.*range"):
            load(path)


def _walk(obj):
    stack = [obj]
    while stack:
        obj = stack.pop()
        yield obj
        if isinstance(obj, dict):
            stack.extend(obj.keys())
            stack.extend(obj.values())
            stack.extend(getattr(obj, "__dict__", {}).values())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            stack.extend(obj)


def test_no_loader_object_reaches_the_user(tmp_path):
    t = torch.arange(3.0)
    path = tmp_path / "held.pt"
    for case in ({"s": {t}}, {"f": frozenset([(1, t)])}, {t: 1}, {(1, t): 2}, Counter({t: 1}),
                 [OrderedDict([((t,), 1)])]):
        torch.save(case, path)
        with pytest.raises(CheckpointError, match="held.pt.*tensor is used as a dict key or set"):
            load(path)
    param = torch.nn.Parameter(t)
    obj = {"dtypes": {torch.float32, torch.int64}, "by_dtype": {torch.float16: 1},
           "size": torch.Size([2, 3]), "device": torch.device("cpu"),
           "shared": [param, param, t, t], "nested": ({"t": t},)}
    torch.save(obj, path)
    for as_numpy in (False, True):
        out = load(path, as_numpy=as_numpy)
        assert out["dtypes"] == {np.dtype(np.float32), np.dtype(np.int64)}
        assert out["by_dtype"] == {np.dtype(np.float16): 1}
        assert out["size"] == (2, 3) and out["device"] == "cpu"
        assert out["shared"][0] is out["shared"][1] and out["shared"][2] is out["shared"][3]
        assert isinstance(out["shared"][0], np.ndarray if as_numpy else nn.Parameter)
        for value in _walk(out):
            assert not type(value).__module__.startswith("jnn.serialization"), value
    # bare loader objects: a storage, a rebuild function, a storage class, an allowlisted class
    storage = (b"(" + op_str("storage") + op_global("torch", "FloatStorage") + op_str("0")
               + op_str("cpu") + op_int(1) + b"tQ")
    for name, body in {"storage": storage, "fn": op_global("torch._utils", "_rebuild_tensor_v2"),
                       "type": op_global("torch", "FloatStorage"),
                       "cls": op_global("__builtin__", "set")}.items():
        data = zip_bytes(pickle_of(b"]" + body + b"a"), [("data/0", bytes(4))])
        with pytest.raises(CheckpointError, match=rf"{name}.pt': obj\[0\] is a bare"):
            load(named_buffer(data, f"{name}.pt"))
