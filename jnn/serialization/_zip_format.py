"""torch's zip checkpoint format (``torch.save`` since PyTorch 1.6): writing and reading."""
from __future__ import annotations

import io
import os
import secrets
import struct
import zipfile
from typing import Any, BinaryIO

import numpy as np

from ._arrays import MemoryBudget
from ._errors import CheckpointError, short_repr
from ._pickler import StorageOut
from ._unpickler import StorageRef, storage_from_pid, unpickle

ALIGNMENT = 64  # torch aligns every record's data to 64 bytes in the zip file
# data.pkl may expand (when compressed) to at most the file's size plus this: unpickling costs
# memory in proportion to the pickle's length.
PICKLE_SLACK = 1 << 20


def archive_name(f: Any) -> str:
    """The folder name inside the archive: the file's stem, as torch names it."""
    if isinstance(f, (str, bytes, os.PathLike)):
        stem = os.path.splitext(os.path.basename(os.fsdecode(f)))[0]
        stem = "".join(c if (c.isascii() and (c.isalnum() or c in "_-.")) else "_"
                       for c in stem)
        if stem.strip("."):
            return stem
    return "archive"


def write_zip(fobj: BinaryIO, prefix: str, pickled: bytes, storages: list[StorageOut]) -> None:
    """Write a checkpoint archive: ``data.pkl``, one record per storage, torch's metadata."""
    # ZIP_STORED only; every record's data starts on a multiple of ALIGNMENT bytes, padded via
    # an extra field with torch's header id b"FB".
    with zipfile.ZipFile(fobj, mode="w", compression=zipfile.ZIP_STORED,
                         allowZip64=True) as zf:
        def record(name: str, data) -> None:
            data = memoryview(data).cast("B")
            info = zipfile.ZipInfo(f"{prefix}/{name}", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            info.create_system = 0
            info.external_attr = 0o600 << 16
            name_len = len(info.filename.encode("utf-8"))
            zip64 = len(data) * 1.05 > zipfile.ZIP64_LIMIT  # zipfile's own rule
            assert zf.fp is not None  # (a ZipFile open for writing has its file)
            start = zf.fp.tell() + 30 + name_len + (20 if zip64 else 0)
            pad = (-(start + 4)) % ALIGNMENT
            info.extra = b"FB" + struct.pack("<H", pad) + b"Z" * pad
            zf.writestr(info, data)

        record("data.pkl", pickled)
        record(".format_version", b"1")
        record(".storage_alignment", str(ALIGNMENT).encode())
        record("byteorder", b"little")
        for storage in storages:
            record(f"data/{storage.key}", storage.array.view(np.uint8) if storage.array.size
                   else b"")
        record("version", b"3\n")
        record(".data/serialization_id", str(secrets.randbits(128)).zfill(40).encode())


def _read_small(zf: zipfile.ZipFile, name: str, limit: int) -> bytes:
    info = zf.getinfo(name)
    if info.file_size > limit:
        raise CheckpointError(f"record {name!r} holds {info.file_size} bytes, expected at most "
                              f"{limit}")
    return zf.read(info)


def read_zip(zf: zipfile.ZipFile, file_size: int, budget: MemoryBudget) -> tuple[Any, bool]:
    """Unpickle a zip checkpoint's ``data.pkl``, reading each storage it references.

    Returns:
        (the unpickled object, with TensorRefs; whether the data is little-endian).
    """
    names = zf.namelist()
    pkl = [n for n in names if n == "data.pkl" or n.endswith("/data.pkl")]
    if not pkl:
        raise CheckpointError("zip archive has no data.pkl record; not a PyTorch checkpoint "
                              "(a TorchScript archive needs torch.jit.load)")
    pkl_name = min(pkl, key=len)
    prefix = pkl_name[:-len("data.pkl")]
    if prefix + "constants.pkl" in names:
        raise CheckpointError("this is a TorchScript archive (torch.jit.save); jnn.load reads "
                              "torch.save checkpoints")
    little_endian = True
    if prefix + "byteorder" in names:
        order = _read_small(zf, prefix + "byteorder", 16).decode("ascii", "replace").strip()
        if order not in ("little", "big"):
            raise CheckpointError(f"unknown byteorder record {short_repr(order)}")
        little_endian = order == "little"
    pkl_info = zf.getinfo(pkl_name)
    if pkl_info.file_size > file_size + PICKLE_SLACK:
        raise CheckpointError(f"data.pkl expands to {pkl_info.file_size} bytes, more than the "
                              f"file's {file_size} + {PICKLE_SLACK >> 20} MiB")
    storages: dict[str, StorageRef] = {}

    def persistent_load(pid):
        storage_type, key, location, numel = storage_from_pid(pid, 5)
        if key in storages:
            return storages[key]
        record = f"{prefix}data/{key}"
        try:
            info = zf.getinfo(record)
        except KeyError:
            raise CheckpointError(f"missing record {short_repr(record)}") from None
        storage = StorageRef(storage_type.dtype, numel, location)
        if info.file_size != storage.nbytes:
            raise CheckpointError(f"record {short_repr(record)} holds {info.file_size} bytes, "
                                  f"expected {storage.nbytes}")
        budget.charge(storage.nbytes, f"storage record {short_repr(record)}")
        storage.data = np.frombuffer(zf.read(info), dtype=np.uint8)
        storages[key] = storage
        return storage

    obj = unpickle(io.BytesIO(zf.read(pkl_info)), persistent_load)
    return obj, little_endian
