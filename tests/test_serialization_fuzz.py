"""Mutation fuzzing of jnn.load: valid checkpoints (torch's zip and legacy formats, jnn's) with
bytes flipped, records truncated, integers (geometry, sizes, keys) edited and opcodes
injected. Every result must be a loaded value holding only plain values and arrays, or a
CheckpointError / UnsafeCheckpointError naming the file, and no case may allocate more than
the file can justify (peak measured with tracemalloc, which sees Python's and numpy's
allocations). Fixed seed, a few hundred cases, a few seconds."""
import io
import random
import struct
import tracemalloc
import zipfile
from collections import Counter, OrderedDict

import jax
import numpy as np
import torch

import jnn as nn
from jnn.serialization import CheckpointError, UnsafeCheckpointError, load, save
from helpers.checkpoints import INT_OPS, op_int, pickle_ops, split_legacy

CASES_PER_SEED = 100
# What a load may allocate: the loader's own bound (8 x the file + 64 MiB) plus room for the
# Python objects of the pickle and numpy's temporaries.
SLACK = 32 << 20

INTERESTING = [0, 1, -1, 2, 3, 7, 255, 256, 65535, 2 ** 16, 2 ** 24, 2 ** 27, 2 ** 31 - 1,
               2 ** 31, 2 ** 32, 2 ** 40 + 7, 2 ** 62, 2 ** 63 - 1, -2 ** 63, 2 ** 64]
INJECTED = [
    b"r\x00\x00\x00\x04", b"j\x00\x00\x00\x04", b"h\xff", b"q\x07",  # memo put/get
    b"cos\nsystem\n", b"c__builtin__\neval\n", b"ctorch._utils\n_rebuild_tensor_v2\n",
    b"c__builtin__\nbytearray\n", b"ccollections\nOrderedDict\n", b"ctorch\nFloatStorage\n",
    b"(", b"t", b")", b"]", b"}", b"\x8f", b"0", b"2", b"1", b"s", b"u", b"a", b"e", b"b",
    b"R", b"Q", b".", b"N", b"\x88", b"\x85", b"\x86", b"\x87", b"\x90", b"\x91", b"d", b"l",
    b"\x96" + struct.pack("<Q", 2 ** 34), b"\x95" + struct.pack("<Q", 2 ** 40),
    b"\x8e" + struct.pack("<Q", 2 ** 34), b"J\x00\x00\x00\x40",
    b"\x8a\x08" + struct.pack("<q", 2 ** 62), b"X\xff\xff\xff\x7f",
    b"]" * 3000 + b"a" * 2999, b")" + b"\x85" * 3000,
]


def _seeds(tmp_path) -> dict:
    base = torch.arange(24, dtype=torch.float32).reshape(2, 3, 4)
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    obj = {
        "model": model.state_dict(),
        "views": [base, base.transpose(0, 2), base[1, 1:, ::2], base[0, 0, 0]],
        "expanded": torch.arange(2.0).reshape(2, 1).expand(2, 8),
        "ints": torch.tensor([1, -2, 3], dtype=torch.int64),
        "half": torch.ones(3, dtype=torch.bfloat16),
        "param": torch.nn.Parameter(torch.ones(2)),
        "meta": {"epoch": 3, "name": "run", "tags": {"a", "b"}, "pair": (1, 2.5),
                 "dtype": torch.float16, "size": torch.Size([1, 2])},
    }
    seeds = {}
    for legacy in (False, True):
        buf = io.BytesIO()
        torch.save(obj, buf, _use_new_zipfile_serialization=not legacy)
        seeds["torch_legacy" if legacy else "torch_zip"] = buf.getvalue()
    buf = io.BytesIO()
    save({"w": nn.Parameter(np.ones((2, 3), np.float32)), "b": np.arange(4), "opt":
          OrderedDict(step=2, lr=0.1), "c": Counter("aab")}, buf)
    seeds["jnn_zip"] = buf.getvalue()
    return seeds


def _edit_pickle(pkl: bytes, rng: random.Random) -> bytes:
    """One opcode-level mutation of a pickle."""
    ops = pickle_ops(pkl)
    kind = rng.choice(["int", "int_all", "inject", "flip", "cut", "drop"])
    if kind in ("int", "int_all"):
        ints = [op for op in ops if op[0] in INT_OPS]
        if ints:
            if kind == "int":
                targets = [rng.choice(ints)]
            else:  # every occurrence of one value: e.g. a size and the numel it matches
                value = rng.choice(ints)[1]
                targets = [op for op in ints if op[1] == value]
            new = rng.choice(INTERESTING) if rng.random() < 0.8 else rng.randrange(-9, 4096)
            out, at = [], 0
            for _, _, start, end in targets:
                out += [pkl[at:start], op_int(new)]
                at = end
            return b"".join(out) + pkl[at:]
    if kind == "inject":
        at = rng.choice(ops)[2]
        return pkl[:at] + rng.choice(INJECTED) + pkl[at:]
    if kind == "drop":
        _, _, start, end = rng.choice(ops)
        return pkl[:start] + pkl[end:]
    if kind == "cut":
        return pkl[:rng.randrange(len(pkl))]
    data = bytearray(pkl)
    for _ in range(rng.randint(1, 4)):
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    return bytes(data)


def _rezip(raw: bytes, edit_record) -> bytes:
    """The zip ``raw`` rewritten (valid CRCs) with ``edit_record(name, data) -> data``."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, edit_record(info.filename, src.read(info)))
    return out.getvalue()


def _mutate(raw: bytes, rng: random.Random) -> tuple[str, bytes]:
    is_zip = raw[:2] == b"PK"
    kind = rng.choice(["bytes", "truncate", "pickle", "pickle", "pickle", "record"])
    if kind == "bytes":  # through every layer: zip headers, CRCs, pickle, raw data
        data = bytearray(raw)
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        return kind, bytes(data)
    if kind == "truncate":
        return kind, raw[:rng.randrange(len(raw))]
    if not is_zip:  # legacy: the object pickle sits between the headers and the storages
        head, obj, tail = split_legacy(raw)
        if kind == "pickle":
            return kind, head + _edit_pickle(obj, rng) + tail
        return kind, head + obj + tail[:rng.randrange(len(tail))]

    def edit(name, data):
        if kind == "pickle" and name.endswith("/data.pkl"):
            return _edit_pickle(data, rng)
        if kind == "record" and "/data/" in name and rng.random() < 0.5:
            return data[:rng.randrange(len(data) + 1)] if rng.random() < 0.7 else data * 2
        return data

    return kind, _rezip(raw, edit)


_PLAIN = (dict, OrderedDict, Counter, list, tuple, set, frozenset, str, bytes, bytearray, int,
          float, complex, bool, type(None), np.ndarray, np.dtype, jax.Array, nn.Parameter)


def _check_value(obj) -> int:
    """Total bytes of the arrays in ``obj``; fails on anything but plain values and arrays."""
    total, stack, seen = 0, [obj], set()
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        assert isinstance(obj, _PLAIN), f"{type(obj)} reached the user"
        if isinstance(obj, (np.ndarray, jax.Array)):
            total += obj.nbytes
        elif isinstance(obj, nn.Parameter):
            total += obj.data.nbytes
        elif isinstance(obj, dict):
            stack += list(obj.keys()) + list(obj.values())
            stack += list(getattr(obj, "__dict__", {}).values())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            stack += list(obj)
    return total


def test_mutated_checkpoints_load_or_raise_checkpoint_errors(tmp_path):
    rng = random.Random(20240614)
    seeds = _seeds(tmp_path)
    for raw in seeds.values():  # the seeds themselves load
        _check_value(load(io.BytesIO(raw)))
    outcomes, failures = Counter(), []
    tracemalloc.start()
    try:
        for seed_name, raw in seeds.items():
            for i in range(CASES_PER_SEED):
                kind, data = _mutate(raw, rng)
                name = f"{seed_name}-{i}-{kind}.pt"
                buf = io.BytesIO(data)
                buf.name = name
                tracemalloc.reset_peak()
                before = tracemalloc.get_traced_memory()[0]
                try:
                    out = load(buf, as_numpy=i % 4 != 0)
                    arrays = _check_value(out)
                    assert arrays <= 8 * len(data) + (64 << 20), f"{arrays} bytes of arrays"
                    outcomes["loaded"] += 1
                except (CheckpointError, UnsafeCheckpointError) as e:
                    assert name in str(e), f"message does not name the file: {e}"
                    outcomes[type(e).__name__] += 1
                except Exception as e:  # noqa: BLE001 - any other outcome is the failure
                    failures.append(f"{name}: {type(e).__name__}: {str(e)[:200]}")
                    continue
                finally:
                    out = None
                peak = tracemalloc.get_traced_memory()[1] - before
                if peak > 8 * len(data) + (64 << 20) + SLACK:
                    failures.append(f"{name}: allocated {peak >> 20} MiB from {len(data)} bytes")
    finally:
        tracemalloc.stop()
    assert not failures, "\n".join(failures)
    # the mutations reach every outcome (a fuzzer that only ever hits one is not testing)
    assert outcomes["loaded"] > 10 and outcomes["CheckpointError"] > 50, outcomes
