"""The restricted unpickler: torch's weights-only allowlist, each name mapped to a stand-in.

Nothing here imports torch or resolves a name through Python's import system. The unpickler
is Python's own (``pickle._Unpickler``), not the C one, because its memo is a dict (the C
unpickler's memo is an array sized by the largest index, so ``LONG_BINPUT 2**26`` in a 20-byte
pickle costs a gigabyte) and because its opcodes can be overridden one by one (``BYTEARRAY8``
allocates before it reads; the opcodes that hash a key run ``check_keys`` first). It builds
containers without recursion, so nesting depth is only bounded by the pickle's length.
torch's own weights-only unpickler is a Python unpickler too.
"""
from __future__ import annotations

import _compat_pickle
import io
import pickle
import struct
from collections import Counter, OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from ._dtypes import STORAGE_DTYPES, TORCH_DTYPES
from ._errors import CheckpointError, UnsafeCheckpointError, short_repr

# A dict key or set element may hold at most this many values (counting every element of
# nested tuples/frozensets, and 64-bit words of big ints). Python hashes a tuple recursively and
# without a depth check (a key nested 10^5 deep crashes the interpreter) and without caching
# (a key built as t = (t, t) thirty times costs 2^30 steps per hash).
MAX_KEY_VALUES = 256


class _NoState:
    """Refuses pickle's BUILD (``__setstate__``), which could otherwise rewrite loader objects."""

    def __setstate__(self, state):
        raise UnsafeCheckpointError(
            f"refusing to set the state of {type(self).__name__.lstrip('_')} (pickle BUILD)")


class StorageType(_NoState):
    """A torch storage class (``torch.FloatStorage``...): the element dtype of a storage."""

    def __init__(self, name: str, dtype: np.dtype):
        self.name, self.dtype = name, dtype

    def __repr__(self):
        return f"torch.{self.name}"


class TorchDType(_NoState):
    """A torch dtype (``torch.float32``...); it loads as the numpy dtype."""

    def __init__(self, name: str, dtype: np.dtype):
        self.name, self.dtype = name, dtype

    def __repr__(self):
        return f"torch.{self.name}"


class StorageRef(_NoState):
    """A storage named by a persistent id: ``numel`` elements of ``dtype``.

    The format reader sets ``data`` (flat uint8) once it has read the bytes; a legacy storage
    view has a ``base`` storage and a byte ``offset`` into it instead.
    """

    def __init__(self, dtype: np.dtype, numel: int, location: str):
        self.dtype, self.numel, self.location = dtype, numel, location
        self.data: np.ndarray | None = None
        self.base: StorageRef | None = None
        self.offset = 0

    def __repr__(self):
        return f"<storage of {self.numel} {self.dtype}>"

    @property
    def nbytes(self) -> int:
        return self.numel * self.dtype.itemsize

    def raw(self) -> np.ndarray:
        if self.base is not None:
            return self.base.raw()[self.offset:self.offset + self.nbytes]
        if self.data is None:
            raise CheckpointError("the bytes of a storage are missing from the file")
        return self.data


class TensorRef(_NoState):
    """A tensor: a view (offset, size, stride; all in elements) of a storage."""

    def __init__(self, storage: StorageRef, offset: int, size: tuple, stride: tuple,
                 dtype: np.dtype | None = None):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride
        self.dtype = storage.dtype if dtype is None else dtype

    def __repr__(self):
        return f"<tensor of size {self.size}>"


class ParamRef(_NoState):
    """A ``torch.nn.Parameter`` around a tensor."""

    def __init__(self, tensor: TensorRef, requires_grad: bool):
        self.tensor, self.requires_grad = tensor, requires_grad

    def __repr__(self):
        return f"<parameter of size {self.tensor.size}>"


def _as_int_tuple(value: Any, what: str) -> tuple:
    if not isinstance(value, (tuple, list)) or not all(
            type(v) is int for v in value):
        raise CheckpointError(f"{what} must be a tuple of ints, got {short_repr(value)}")
    return tuple(value)


def _rebuild_tensor(storage, storage_offset, size, stride, *rest):
    if not isinstance(storage, StorageRef):
        raise CheckpointError(f"a tensor's storage is {type(storage).__name__}, not a storage")
    if type(storage_offset) is not int or storage_offset < 0:
        raise CheckpointError(f"bad tensor storage offset {short_repr(storage_offset)}")
    return TensorRef(storage, storage_offset, _as_int_tuple(size, "a tensor's size"),
                     _as_int_tuple(stride, "a tensor's stride"))


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    return _rebuild_tensor(storage, storage_offset, size, stride)


def _rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, backward_hooks,
                       dtype, metadata=None):
    ref = _rebuild_tensor(storage, storage_offset, size, stride)
    if not isinstance(dtype, TorchDType):
        raise CheckpointError(f"_rebuild_tensor_v3: expected a torch dtype, got "
                              f"{short_repr(dtype)}")
    ref.dtype = dtype.dtype
    return ref


def _rebuild_parameter(data, requires_grad, backward_hooks, state=None):
    if not isinstance(data, TensorRef):
        raise CheckpointError(f"_rebuild_parameter: expected a tensor, got "
                              f"{type(data).__name__}")
    return ParamRef(data, bool(requires_grad))


def check_keys(keys) -> None:
    """Refuse dict keys / set elements that are costly (or fatal) for Python to hash."""
    costs: dict[int, tuple[Any, int]] = {}  # id -> (object, cost), for shared sub-tuples
    for key in keys:
        t = type(key)
        if (t is tuple or t is frozenset) and id(key) not in costs:
            _nested_cost(key, costs)
        elif t is int and key.bit_length() > 64 * MAX_KEY_VALUES:
            raise CheckpointError(f"a dict key or set element is an int of {key.bit_length()} "
                                  "bits; jnn refuses keys that costly to hash")


def _leaf_cost(value: Any) -> int:
    return 1 + (value.bit_length() >> 6 if type(value) is int else 0)


def _nested_cost(key: tuple | frozenset, costs: dict) -> int:
    # Iterative post-order walk that stops as soon as the count passes the limit, so a key
    # built to be exponential or 10^6 deep costs at most MAX_KEY_VALUES steps.
    stack: list[list[Any]] = [[key, iter(key), 1]]
    while stack:
        frame = stack[-1]
        for child in frame[1]:
            ct = type(child)
            if ct is tuple or ct is frozenset:
                known = costs.get(id(child))
                if known is None:
                    stack.append([child, iter(child), 1])
                    break
                frame[2] += known[1]
            else:
                frame[2] += _leaf_cost(child)
            if frame[2] > MAX_KEY_VALUES:
                break
        else:
            stack.pop()
            costs[id(frame[0])] = (frame[0], frame[2])
            if not stack:
                return frame[2]
            stack[-1][2] += frame[2]
            frame = stack[-1]
        if frame[2] > MAX_KEY_VALUES:
            raise CheckpointError(
                f"a dict key or set element holds more than {MAX_KEY_VALUES} values (nested "
                "tuples/frozensets); jnn refuses keys that costly to hash (Python hashes "
                "nested tuples recursively and can crash on deep ones)")
    return 0  # pragma: no cover


class _Frozen(type):
    def __setattr__(cls, name, value):
        raise UnsafeCheckpointError(f"refusing to set attribute {name!r} of {cls.__name__}")


class _TorchTensorClass(metaclass=_Frozen):  # torch.Tensor, only as _rebuild_from_type_v2's type
    def __new__(cls, *args):
        raise UnsafeCheckpointError("refusing to construct torch.Tensor directly")


class _TorchParameterClass(metaclass=_Frozen):  # torch.nn.Parameter
    def __new__(cls, data=None, requires_grad=True):
        return _rebuild_parameter(data, requires_grad, None)


class _TorchSize(metaclass=_Frozen):
    def __new__(cls, sizes=()):
        return _as_int_tuple(sizes, "torch.Size")


class _TorchDevice(metaclass=_Frozen):
    def __new__(cls, kind, index=None):
        if not isinstance(kind, str) or not (index is None or type(index) is int):
            raise CheckpointError(f"bad torch.device({short_repr(kind)}, {short_repr(index)})")
        return kind if index is None else f"{kind}:{index}"


class _OrderedDictClass(metaclass=_Frozen):
    def __new__(cls, *args):
        out = OrderedDict(*args)
        check_keys(out)
        return out


class _CounterClass(metaclass=_Frozen):
    def __new__(cls, *args):
        out = Counter(*args)
        check_keys(out)
        return out


class _SetClass(metaclass=_Frozen):  # builtins.set
    def __new__(cls, items=()):
        items = list(items)
        check_keys(items)
        return set(items)


class _FrozenSetClass(metaclass=_Frozen):  # builtins.frozenset
    def __new__(cls, items=()):
        items = list(items)
        check_keys(items)
        return frozenset(items)


class _ByteArrayClass(metaclass=_Frozen):  # builtins.bytearray; bytearray(n) would allocate n
    def __new__(cls, source=b"", encoding=None):
        if isinstance(source, (bytes, bytearray)) and encoding is None:
            return bytearray(source)
        if isinstance(source, str) and encoding in ("latin1", "latin-1", "utf-8", "utf8"):
            return bytearray(source, encoding)
        raise UnsafeCheckpointError(f"bytearray: refusing arguments ({type(source).__name__}, "
                                    f"{short_repr(encoding)})")


class _Fn(_NoState):
    __slots__ = ("fn", "name")

    def __init__(self, fn, name):
        self.fn, self.name = fn, name

    def __call__(self, *args):
        return self.fn(*args)

    def __repr__(self):
        return self.name


def _rebuild_from_type_v2(func, new_type, args, state):
    if func not in (_REBUILD_V2, _REBUILD_V1, _REBUILD_V3) or not isinstance(args, tuple):
        raise UnsafeCheckpointError(f"_rebuild_from_type_v2: refusing to call "
                                    f"{short_repr(func)}")
    ref = func(*args)
    if new_type is _TorchParameterClass:
        return ParamRef(ref, True)
    if new_type is not _TorchTensorClass:
        raise UnsafeCheckpointError(f"_rebuild_from_type_v2: refusing tensor subclass "
                                    f"{short_repr(new_type)}")
    return ref


def _codecs_encode(obj, encoding="utf-8"):
    if not isinstance(obj, str) or encoding not in ("latin1", "latin-1", "utf-8", "utf8"):
        raise UnsafeCheckpointError(f"_codecs.encode: refusing arguments ({type(obj).__name__}, "
                                    f"{short_repr(encoding)})")
    return obj.encode(encoding)


_REBUILD_V1 = _Fn(_rebuild_tensor, "torch._utils._rebuild_tensor")
_REBUILD_V2 = _Fn(_rebuild_tensor_v2, "torch._utils._rebuild_tensor_v2")
_REBUILD_V3 = _Fn(_rebuild_tensor_v3, "torch._utils._rebuild_tensor_v3")

_ALLOWED_GLOBALS: dict[str, Any] = {
    "torch._utils._rebuild_tensor": _REBUILD_V1,
    "torch._utils._rebuild_tensor_v2": _REBUILD_V2,
    "torch._utils._rebuild_tensor_v3": _REBUILD_V3,
    "torch._utils._rebuild_parameter": _Fn(_rebuild_parameter, "torch._utils._rebuild_parameter"),
    "torch._utils._rebuild_parameter_with_state": _Fn(
        _rebuild_parameter, "torch._utils._rebuild_parameter_with_state"),
    "torch._tensor._rebuild_from_type_v2": _Fn(_rebuild_from_type_v2,
                                               "torch._tensor._rebuild_from_type_v2"),
    "torch.Tensor": _TorchTensorClass,
    "torch._tensor.Tensor": _TorchTensorClass,
    "torch.nn.parameter.Parameter": _TorchParameterClass,
    "torch.Size": _TorchSize,
    "torch.device": _TorchDevice,
    "collections.OrderedDict": _OrderedDictClass,
    "collections.Counter": _CounterClass,
    "builtins.set": _SetClass,
    "builtins.frozenset": _FrozenSetClass,
    "builtins.complex": complex,
    "builtins.bytearray": _ByteArrayClass,
    "_codecs.encode": _Fn(_codecs_encode, "_codecs.encode"),
    "torch.storage.UntypedStorage": StorageType("UntypedStorage", np.dtype(np.uint8)),
    "torch.UntypedStorage": StorageType("UntypedStorage", np.dtype(np.uint8)),
}
for _name, _dt in STORAGE_DTYPES.items():
    _ALLOWED_GLOBALS[f"torch.{_name}"] = StorageType(_name, _dt)
for _name, _dt in TORCH_DTYPES.items():
    _ALLOWED_GLOBALS[f"torch.{_name}"] = TorchDType(_name, _dt)
del _name, _dt

# What the unpickler can build that must never reach the user as a value: the loader's own
# objects (tensors and dtypes are converted; these are refused).
LOADER_OBJECTS = (StorageRef, StorageType, _Fn, _Frozen)


def _resolve_global(module: str, name: str) -> Any:
    if (module, name) in _compat_pickle.NAME_MAPPING:  # protocol 2 writes Python 2 names
        module, name = _compat_pickle.NAME_MAPPING[(module, name)]
    elif module in _compat_pickle.IMPORT_MAPPING:
        module = _compat_pickle.IMPORT_MAPPING[module]
    full = f"{module}.{name}"
    try:
        return _ALLOWED_GLOBALS[full]
    except KeyError:
        raise UnsafeCheckpointError(
            f"refusing to load global '{full[:200]}': a weights-only checkpoint may only "
            "reference tensor rebuild functions, storage types, torch dtypes, OrderedDict and "
            "plain containers; nothing from it was run. If you trust the file, load it with "
            "torch.load(..., weights_only=False) and save its state_dict()."
        ) from None


# Python's unpickler, typed Any: the typeshed stubs leave out its internals (dispatch, stack,
# the load_* opcode methods, read, append).
_PyUnpickler: Any = pickle._Unpickler


class _RestrictedUnpickler(_PyUnpickler):
    dispatch = _PyUnpickler.dispatch.copy()

    def __init__(self, file: io.BytesIO, persistent_load: Callable[[Any], Any]):
        super().__init__(file, encoding="utf-8")
        self._persistent = persistent_load

    def find_class(self, module, name):
        return _resolve_global(str(module), str(name))

    def persistent_load(self, pid):
        return self._persistent(pid)

    # The opcodes that hash keys check them first (items above the last MARK are self.stack).
    def load_setitem(self):
        check_keys(self.stack[-2:-1])
        _PyUnpickler.load_setitem(self)

    def load_setitems(self):
        check_keys(self.stack[0::2])
        _PyUnpickler.load_setitems(self)

    def load_dict(self):
        check_keys(self.stack[0::2])
        _PyUnpickler.load_dict(self)

    def load_additems(self):
        check_keys(self.stack)
        _PyUnpickler.load_additems(self)

    def load_frozenset(self):
        check_keys(self.stack)
        _PyUnpickler.load_frozenset(self)

    def load_bytearray8(self):  # pickle's version allocates the declared length before reading
        n, = struct.unpack("<Q", self.read(8))
        data = self.read(n)
        if len(data) != n:
            raise CheckpointError("the pickle ends inside a BYTEARRAY8 value")
        self.append(bytearray(data))

    dispatch[pickle.SETITEM[0]] = load_setitem
    dispatch[pickle.SETITEMS[0]] = load_setitems
    dispatch[pickle.DICT[0]] = load_dict
    dispatch[pickle.ADDITEMS[0]] = load_additems
    dispatch[pickle.FROZENSET[0]] = load_frozenset
    dispatch[pickle.BYTEARRAY8[0]] = load_bytearray8


def unpickle(stream: io.BytesIO, persistent_load: Callable[[Any], Any]) -> Any:
    """Unpickle one object from ``stream`` (in memory) through the allowlist."""
    return _RestrictedUnpickler(stream, persistent_load).load()


def refuse_persistent_id(pid: Any):
    """The persistent-id hook of pickles that reference no storage (the legacy headers)."""
    raise UnsafeCheckpointError(f"unexpected persistent id {short_repr(pid)}")


def storage_from_pid(pid: Any, length: int) -> tuple[StorageType, str, str, int]:
    """Check a storage persistent id ``('storage', type, key, location, numel, ...)``.

    Returns:
        (storage type, key, location, numel).
    """
    if not isinstance(pid, tuple) or len(pid) != length or pid[0] not in ("storage",
                                                                          b"storage"):
        if isinstance(pid, tuple) and pid and pid[0] in ("module", b"module"):
            raise UnsafeCheckpointError(f"refusing a pickled nn.Module class "
                                        f"({short_repr(pid[1:2])}); save the state_dict() "
                                        "instead")
        raise UnsafeCheckpointError(f"refusing persistent id {short_repr(pid)}: only tensor "
                                    "storages may be referenced")
    storage_type, key, location, numel = pid[1:5]
    if not isinstance(storage_type, StorageType):
        raise CheckpointError(f"bad storage type {short_repr(storage_type)}")
    if type(numel) is not int or numel < 0:
        raise CheckpointError(f"bad storage size {short_repr(numel)}")
    if isinstance(key, bytes):
        key = key.decode("ascii", "replace")
    if isinstance(location, bytes):
        location = location.decode("ascii", "replace")
    if not isinstance(key, (str, int)) or not isinstance(location, str):
        raise CheckpointError(f"bad storage key or location in {short_repr(pid)}")
    return storage_type, str(key), location, numel
