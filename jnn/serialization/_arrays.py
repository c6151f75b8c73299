"""From unpickled stand-ins to the user's values: tensors become arrays, within a memory budget.

``Finisher`` walks the unpickled object without recursion (a file may nest containers 10^6
deep), replaces every tensor reference with an array and refuses every other loader object, so
none of them reaches the user. ``MemoryBudget`` bounds the bytes a load allocates by the size of
the file. ``to_jax`` is the one place a loaded numpy array becomes a jax array.
"""
from __future__ import annotations

import math
from collections import Counter, OrderedDict
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ._errors import CheckpointError, short_repr
from ._unpickler import LOADER_OBJECTS, ParamRef, StorageRef, TensorRef, TorchDType

# The tensor data one load may allocate (storage bytes read and arrays built, together):
# MEMORY_FACTOR times the file's size plus MEMORY_FLOOR. A file of plain tensors needs about
# twice its size (its storages, then the arrays); views that overlap (a tensor and its
# transpose) or broadcasts (stride 0) need more, because jax arrays have no strides and every
# loaded tensor is materialised. load(..., max_bytes=) sets another limit.
MEMORY_FACTOR = 8
MEMORY_FLOOR = 64 << 20
_MAX_DIMS = 64  # numpy's limit


class MemoryBudget:
    """Counts the bytes of tensor data a load allocates and refuses to pass its limit."""

    def __init__(self, file_size: int, max_bytes: int | None = None):
        self.explicit = max_bytes is not None
        self.limit: int = (max_bytes if max_bytes is not None
                           else MEMORY_FACTOR * file_size + MEMORY_FLOOR)
        self.used = 0

    def charge(self, nbytes: int, what: str) -> None:
        self.used += nbytes
        if self.used > self.limit:
            rule = ("max_bytes" if self.explicit else
                    f"{MEMORY_FACTOR} x the file's size + {MEMORY_FLOOR >> 20} MiB")
            raise CheckpointError(
                f"{what} needs {nbytes} bytes, which takes this load past its limit of "
                f"{self.limit} bytes ({rule}). A small file can describe a large tensor (a "
                "broadcast with stride 0, many views of one storage, a compressed record); "
                "jax arrays have no strides, so jnn would have to materialise it. If you "
                "trust the file, pass a larger max_bytes=")


def _byteswap(raw: np.ndarray, dtype: np.dtype) -> np.ndarray:
    size = dtype.itemsize // 2 if dtype.kind == "c" else dtype.itemsize
    if size <= 1:
        return raw
    return np.ascontiguousarray(raw.reshape(-1, size)[:, ::-1]).reshape(-1)


def materialize(ref: TensorRef, little_endian: bool, budget: MemoryBudget,
                swapped: dict) -> np.ndarray:
    """The tensor's values as a C-contiguous numpy array (possibly a view of its storage).

    ``swapped`` caches byte-swapped storages of big-endian files, by storage and dtype.
    """
    dtype, size, stride, offset = ref.dtype, ref.size, ref.stride, ref.offset
    if (len(size) != len(stride) or len(size) > _MAX_DIMS or any(n < 0 for n in size)
            or any(s < 0 for s in stride)):
        raise CheckpointError(f"bad tensor geometry size={short_repr(size)} "
                              f"stride={short_repr(stride)}")
    nbytes = math.prod(size) * dtype.itemsize
    budget.charge(nbytes, f"a {dtype} tensor of size {short_repr(size)}")
    if nbytes == 0:
        try:
            return np.zeros(size, dtype)
        except (ValueError, OverflowError):
            raise CheckpointError(f"bad tensor size {short_repr(size)}") from None
    raw = ref.storage.raw()
    if not little_endian:
        key = (id(ref.storage), dtype)
        if key not in swapped:
            budget.charge(raw.size, "byte-swapping a storage")
            swapped[key] = (ref.storage, _byteswap(raw, dtype))
        raw = swapped[key][1]
    if raw.size % dtype.itemsize:
        raise CheckpointError(f"storage of {raw.size} bytes does not hold whole {dtype} "
                              "elements")
    numel = raw.size // dtype.itemsize
    last = offset + sum((n - 1) * s for n, s in zip(size, stride))
    if last >= numel:
        raise CheckpointError(f"tensor (offset {offset}, size {short_repr(size)}, stride "
                              f"{short_repr(stride)}) reaches past the end of its storage of "
                              f"{numel} elements")
    # numpy's as_strided cannot take ml_dtypes dtypes (bfloat16, float8): stride over unsigned
    # ints (or raw void items) of the same width, then reinterpret.
    item = dtype.itemsize
    carrier = np.dtype(f"u{item}") if item in (1, 2, 4, 8) else np.dtype((np.void, item))
    view = np.lib.stride_tricks.as_strided(
        raw[offset * item:].view(carrier), shape=size,
        strides=tuple(s * item for s in stride), writeable=False)
    # (reshape: np.ascontiguousarray turns 0-d arrays into 1-d ones)
    return np.ascontiguousarray(view).view(dtype).reshape(size)


def to_jax(arr: np.ndarray, device: Any, what: str) -> jax.Array:
    """``arr`` as a jax array on ``device``, refusing values jax's dtypes cannot hold.

    With ``jax_enable_x64`` off, jax stores 64-bit arrays in 32 bits and wraps integers that do
    not fit (``2**40 + 7`` becomes ``7``). Such values raise instead; floats are rounded, and
    finite floats that would become infinite raise.
    """
    target = jax.dtypes.canonicalize_dtype(arr.dtype)
    if target != arr.dtype:
        if arr.dtype.kind in "iu":
            info = np.iinfo(target)
            if arr.size and (arr.min() < info.min or arr.max() > info.max):
                raise CheckpointError(
                    f"{what} holds {arr.dtype} values in [{arr.min()}, {arr.max()}], outside "
                    f"{target}'s range, and jax_enable_x64 is off, so jax would wrap them. "
                    "Load with as_numpy=True, or enable 64-bit jax first "
                    "(jax.config.update('jax_enable_x64', True)).")
            arr = arr.astype(target)
        elif arr.dtype.kind in "fc":
            with np.errstate(over="ignore"):
                narrow = arr.astype(target)
            if np.any(np.isinf(narrow) & np.isfinite(arr)):
                raise CheckpointError(
                    f"{what} holds {arr.dtype} values beyond {target}'s range, and "
                    "jax_enable_x64 is off, so they would become inf. Load with "
                    "as_numpy=True, or enable 64-bit jax first "
                    "(jax.config.update('jax_enable_x64', True)).")
            arr = narrow
        else:
            arr = arr.astype(target)
    return jnp.asarray(arr) if device is None else jax.device_put(arr, device)


def resolve_device(map_location: Any):
    """The jax device a ``map_location`` value names (None: jax's default)."""
    if map_location is None:
        return None
    if isinstance(map_location, jax.Device):
        return map_location
    if isinstance(map_location, bytes):
        map_location = map_location.decode()
    if isinstance(map_location, str):
        kind, _, index = map_location.partition(":")
        platform = {"cuda": "gpu", "gpu": "gpu", "cpu": "cpu", "tpu": "tpu"}.get(kind)
        if platform is None:
            raise ValueError(f"load: unsupported map_location {map_location!r}; use 'cpu', "
                             "'cuda[:i]', a jax.Device or a dict")
        try:
            devices = jax.devices(platform)
        except RuntimeError as e:
            raise RuntimeError(f"load: map_location={map_location!r} but jax has no "
                               f"{platform} device") from e
        i = int(index) if index else 0
        if i >= len(devices):
            raise RuntimeError(f"load: map_location={map_location!r} but jax has only "
                               f"{len(devices)} {platform} device(s)")
        return devices[i]
    if type(map_location).__module__.startswith("torch"):  # a torch.device
        return resolve_device(str(map_location))
    raise TypeError(f"load: map_location must be None, a str, a jax.Device or a dict, got "
                    f"{type(map_location).__name__}")


# Work items of the walk. A path is a linked list (parent, kind, step) rendered only for errors.
_ENTER, _EXIT_LIST, _EXIT_DICT, _EXIT_SET, _EXIT_TUPLE, _EXIT_FROZENSET, _EXIT_PARAM = range(7)
_ATOMS = frozenset({str, bytes, bytearray, int, float, complex, bool, type(None)})
_MISSING = object()


def render_path(path) -> str:
    steps = []
    while path is not None:
        path, kind, step = path
        steps.append(f"[{short_repr(step)}]" if kind == "item" else
                     f"[{step}]" if kind == "index" else
                     " (a dict key)" if kind == "key" else
                     " element" if kind == "element" else ".__dict__")
    return "obj" + "".join(reversed(steps))


class Finisher:
    """Replaces tensor references in an unpickled object with arrays, keeping sharing.

    The walk keeps its own stack (no recursion): for each container it queues an exit item,
    then its children; when the exit item comes back the children's results are on ``values``
    and the container is rebuilt (tuples, frozensets) or updated in place (lists, dicts, sets,
    so that cycles and sharing survive). Atoms (numbers, strings) are never queued.

    Args:
        tensor: ``tensor(ref, path) -> array`` for one TensorRef.
        parameter: ``parameter(array, requires_grad) -> value`` for a ParamRef.
    """

    def __init__(self, tensor: Callable[[TensorRef, Any], Any],
                 parameter: Callable[[Any, bool], Any]):
        self.tensor, self.parameter = tensor, parameter
        # (id, hashed) -> result. Inside a dict key or set element ("hashed") a tensor is
        # refused (arrays are unhashable), so such objects are finished separately.
        self.memo: dict[tuple[int, bool], Any] = {}
        self.keep: list = []  # keeps the ids in memo alive

    def __call__(self, root: Any) -> Any:
        if type(root) in _ATOMS:
            return root
        values: list = []
        work: list = [(_ENTER, root, False, None)]
        while work:
            item = work.pop()
            if item[0] == _ENTER:
                self._enter(item, work, values)
            else:
                self._exit(item, values)
        return values[0]

    @staticmethod
    def _queue(work, exit_item: tuple, children, path, kind: str, hashed: bool) -> None:
        """Queue ``exit_item + (n,)``, then the n non-atom children, to finish in order."""
        kids = [(_ENTER, children[i], hashed, (path, kind, i))
                for i in range(len(children) - 1, -1, -1) if type(children[i]) not in _ATOMS]
        work.append(exit_item + (len(kids),))
        work.extend(kids)

    def _enter(self, item, work, values) -> None:
        _, obj, hashed, path = item
        t = type(obj)
        key = (id(obj), hashed)
        done = self.memo.get(key, _MISSING)
        if done is not _MISSING:
            values.append(done)
            return
        self.keep.append(obj)
        if t is TensorRef or t is ParamRef:
            if hashed:
                raise CheckpointError(
                    f"a tensor is used as a dict key or set element at {render_path(path)}: "
                    "jax and numpy arrays are unhashable, so jnn cannot load it")
            if t is ParamRef:
                work.append((_EXIT_PARAM, obj, key))
                work.append((_ENTER, obj.tensor, False, path))
                return
            out = self.tensor(obj, path)
        elif t is TorchDType:
            out = obj.dtype
        elif t is list:
            self.memo[key] = obj
            children = list(obj)
            self._queue(work, (_EXIT_LIST, obj, children, None), children, path, "index", False)
            return
        elif t is dict or t is OrderedDict or t is Counter:
            self.memo[key] = obj
            # keys (hashed) and values interleaved, then the instance __dict__ (where torch
            # keeps a state_dict's _metadata)
            flat = [x for pair in obj.items() for x in pair]
            attrs = obj.__dict__ if t is not dict and obj.__dict__ else None
            kids = [(_ENTER, flat[i], i % 2 == 0,
                     (path, "item", flat[i - 1]) if i % 2 else (path, "key", None))
                    for i in range(len(flat) - 1, -1, -1) if type(flat[i]) not in _ATOMS]
            work.append((_EXIT_DICT, obj, flat, attrs is not None, len(kids)))
            if attrs is not None:
                work.append((_ENTER, attrs, False, (path, "attrs", None)))
            work.extend(kids)
            return
        elif t is set or t is frozenset or t is tuple:
            if t is set:
                self.memo[key] = obj
            children = list(obj)
            kind = _EXIT_SET if t is set else _EXIT_TUPLE if t is tuple else _EXIT_FROZENSET
            self._queue(work, (kind, obj, children, key), children, path,
                        "index" if t is tuple else "element", hashed or t is not tuple)
            return
        elif isinstance(obj, LOADER_OBJECTS) or isinstance(obj, type):
            what = "storage" if t is StorageRef else f"loader object ({t.__name__})"
            raise CheckpointError(f"{render_path(path)} is a bare {what}, not a checkpoint "
                                  "value")
        else:
            raise CheckpointError(f"{render_path(path)}: unexpected {t.__name__} object")
        self.memo[key] = out
        values.append(out)

    @staticmethod
    def _merge(children, values, n) -> list:
        """The finished children: atoms as they were, the others from the value stack."""
        if not n:
            return list(children)
        done = iter(values[len(values) - n:])
        out = [c if type(c) in _ATOMS else next(done) for c in children]
        del values[len(values) - n:]
        return out

    def _exit(self, item, values) -> None:
        kind, obj = item[0], item[1]
        if kind == _EXIT_PARAM:
            value = self.parameter(values.pop(), obj.requires_grad)
            self.memo[item[2]] = value
            values.append(value)
            return
        if kind == _EXIT_DICT:
            if item[3]:
                values.pop()  # the instance __dict__, finished in place
            flat = self._merge(item[2], values, item[4])
            obj.clear()
            for i in range(0, len(flat), 2):
                obj[flat[i]] = flat[i + 1]
            if 2 * len(obj) != len(flat):
                raise CheckpointError("two keys of a dict load as the same value")
            values.append(obj)
            return
        finished = self._merge(item[2], values, item[4])
        if kind == _EXIT_LIST:
            obj[:] = finished
            values.append(obj)
        elif kind == _EXIT_SET:
            obj.clear()
            obj.update(finished)
            if len(obj) != len(finished):
                raise CheckpointError("two elements of a set load as the same value")
            values.append(obj)
        else:
            out = tuple(finished) if kind == _EXIT_TUPLE else frozenset(finished)
            if kind == _EXIT_FROZENSET and len(out) != len(finished):
                raise CheckpointError("two elements of a set load as the same value")
            self.memo[item[3]] = out
            values.append(out)
