"""torch's legacy checkpoint format (``_use_new_zipfile_serialization=False``): reading.

One stream of pickles: a magic number, the protocol version, a ``sys_info`` dict, the object
(storages as persistent ids ``('storage', type, key, location, numel, view)``), the sorted list
of storage keys, then for each key an int64 element count and the raw bytes.
"""
from __future__ import annotations

import io
import struct
from typing import Any

import numpy as np

from ._arrays import MemoryBudget
from ._errors import CheckpointError, short_repr
from ._unpickler import StorageRef, refuse_persistent_id, storage_from_pid, unpickle

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C  # torch/serialization.py: legacy format header
PROTOCOL_VERSION = 1001


def read_legacy(data: bytes, budget: MemoryBudget) -> tuple[Any, bool]:
    """Unpickle a legacy checkpoint held in memory; storages are views of ``data``.

    Returns:
        (the unpickled object, with TensorRefs; whether the data is little-endian).
    """
    stream = io.BytesIO(data)
    if unpickle(stream, refuse_persistent_id) != MAGIC_NUMBER:
        raise CheckpointError("invalid magic number; not a PyTorch checkpoint")
    protocol = unpickle(stream, refuse_persistent_id)
    if protocol != PROTOCOL_VERSION:
        raise CheckpointError(f"unsupported legacy protocol version {short_repr(protocol)}")
    sys_info = unpickle(stream, refuse_persistent_id)
    little_endian = (bool(sys_info.get("little_endian", True)) if isinstance(sys_info, dict)
                     else True)
    storages: dict[str, StorageRef] = {}
    views: dict[str, StorageRef] = {}

    def persistent_load(pid):
        storage_type, key, location, numel = storage_from_pid(pid, 6)
        root = storages.get(key)
        if root is None:
            root = storages[key] = StorageRef(storage_type.dtype, numel, location)
        view = pid[5]
        if view is None:
            return root
        if not (isinstance(view, tuple) and len(view) == 3 and isinstance(view[0], str)
                and type(view[1]) is int and type(view[2]) is int
                and view[1] >= 0 and view[2] >= 0):
            raise CheckpointError(f"bad storage view {short_repr(view)}")
        view_key, offset, view_size = view
        if view_key not in views:
            sub = StorageRef(storage_type.dtype, view_size, location)
            sub.base, sub.offset = root, offset * storage_type.dtype.itemsize
            views[view_key] = sub
        return views[view_key]

    obj = unpickle(stream, persistent_load)
    keys = unpickle(stream, refuse_persistent_id)
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise CheckpointError("bad storage key list")
    for key in keys:
        storage = storages.get(key)
        if storage is None:
            raise CheckpointError(f"storage key {short_repr(key)} was not referenced")
        header = stream.read(8)
        if len(header) != 8:
            raise CheckpointError(f"file is truncated (storage {short_repr(key)} missing)")
        numel = struct.unpack("<q" if little_endian else ">q", header)[0]
        if numel != storage.numel:
            raise CheckpointError(f"storage {short_repr(key)} has {numel} elements, expected "
                                  f"{storage.numel}")
        start = stream.tell()
        if storage.nbytes > len(data) - start:
            raise CheckpointError(f"file is truncated (storage {short_repr(key)} needs "
                                  f"{storage.nbytes} bytes, {len(data) - start} left)")
        storage.data = np.frombuffer(data, dtype=np.uint8, count=storage.nbytes, offset=start)
        stream.seek(start + storage.nbytes)
    for storage in list(storages.values()) + list(views.values()):
        base = storage.base
        if base is not None and storage.offset + storage.nbytes > base.nbytes:
            raise CheckpointError("a storage view reaches past its storage")
        if base is None and storage.data is None:
            raise CheckpointError("a storage's bytes are missing from the file")
    return obj, little_endian
