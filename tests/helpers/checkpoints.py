"""Hand-made checkpoint files for the serialization tests: zip/legacy containers around a given
pickle, pickles written opcode by opcode, and opcode-level editing of an existing pickle."""
import io
import pickle
import pickletools
import struct
import zipfile

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C  # torch/serialization.py (legacy header)
LEGACY_PROTOCOL_VERSION = 1001


def zip_bytes(data_pkl: bytes, records=(), prefix="archive") -> bytes:
    """A zip checkpoint holding ``data_pkl`` and ``records`` ((name, bytes) under prefix/)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(f"{prefix}/data.pkl", data_pkl)
        zf.writestr(f"{prefix}/byteorder", "little")
        for name, data in records:
            zf.writestr(f"{prefix}/{name}", data)
        zf.writestr(f"{prefix}/version", "3\n")
    return buf.getvalue()


def zip_with_pickle(path, data_pkl: bytes, records=()):
    path.write_bytes(zip_bytes(data_pkl, records))
    return path


def legacy_with_pickle(path, data_pkl: bytes):
    with open(path, "wb") as fh:
        pickle.dump(MAGIC_NUMBER, fh, protocol=2)
        pickle.dump(LEGACY_PROTOCOL_VERSION, fh, protocol=2)
        pickle.dump({"protocol_version": 1001, "little_endian": True}, fh, protocol=2)
        fh.write(data_pkl)
        pickle.dump([], fh, protocol=2)
    return path


# -- pickles written by opcode ------------------------------------------------------------------
def op_int(v: int) -> bytes:
    if 0 <= v < 256:
        return b"K" + bytes([v])
    if -2 ** 31 <= v < 2 ** 31:
        return b"J" + struct.pack("<i", v)
    n = (v.bit_length() + 8) // 8
    data = v.to_bytes(n, "little", signed=True)
    return (b"\x8a" + bytes([n]) if n < 256 else b"\x8b" + struct.pack("<i", n)) + data


def op_str(s: str) -> bytes:
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def op_tuple(items) -> bytes:
    return b"(" + b"".join(items) + b"t"


def op_global(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def op_tensor(size, stride, offset=0, numel=1, key="0", storage="FloatStorage") -> bytes:
    """``torch._utils._rebuild_tensor_v2`` of storage ``key`` with the given geometry."""
    pid = op_tuple([op_str("storage"), op_global("torch", storage), op_str(key), op_str("cpu"),
                    op_int(numel)]) + b"Q"
    args = op_tuple([pid, op_int(offset), op_tuple(map(op_int, size)),
                     op_tuple(map(op_int, stride)), b"\x89",
                     op_global("collections", "OrderedDict") + b")R"])
    return op_global("torch._utils", "_rebuild_tensor_v2") + args + b"R"


def pickle_of(body: bytes) -> bytes:
    """A protocol-2 pickle whose object is what ``body`` pushes."""
    return b"\x80\x02" + body + b"."


def dict_of(**items: bytes) -> bytes:
    return b"}" + b"".join(op_str(k) + v + b"s" for k, v in items.items())


# -- editing an existing pickle -----------------------------------------------------------------
INT_OPS = {"BININT", "BININT1", "BININT2", "LONG1", "INT", "LONG", "LONG4"}


def pickle_ops(data: bytes) -> list:
    """[(opcode name, arg, start, end)] of the one pickle at the start of ``data``."""
    ops = list(pickletools.genops(io.BytesIO(data)))
    out = []
    for i, (op, arg, pos) in enumerate(ops):
        end = ops[i + 1][2] if i + 1 < len(ops) else pos + 1
        out.append((op.name, arg, pos, end))
    return out


def split_legacy(data: bytes) -> tuple:
    """(the three header pickles, the object pickle, the rest) of a legacy checkpoint."""
    stream = io.BytesIO(data)
    for _ in range(3):
        list(pickletools.genops(stream))
    head_end = stream.tell()
    list(pickletools.genops(stream))
    obj_end = stream.tell()
    return data[:head_end], data[head_end:obj_end], data[obj_end:]
