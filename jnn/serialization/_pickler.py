"""The save side's pickle: what ``data.pkl`` holds, written with torch's names, without torch."""
from __future__ import annotations

import codecs
import io
import pickle
from collections import OrderedDict
from typing import Any

import jax
import numpy as np

from ..parameter import Buffer, Parameter, is_array
from ._dtypes import DTYPE_STORAGES, V3_DTYPE_NAMES


class TorchGlobal:
    """A pickle GLOBAL reference written by name, without importing the module (torch)."""

    module: str
    name: str

    _cache: dict = {}

    def __new__(cls, module: str, name: str):
        key = (module, name)
        obj = cls._cache.get(key)
        if obj is None:
            obj = super().__new__(cls)
            obj.module, obj.name = module, name
            cls._cache[key] = obj
        return obj

    def __call__(self, *args):  # pickle's save_reduce() requires a callable; never called
        raise TypeError(f"{self.module}.{self.name} is a name written into a checkpoint")


class StorageOut:
    """One storage to write as ``data/<key>``: a contiguous little-endian numpy array."""

    def __init__(self, array: np.ndarray, key: str):
        self.array, self.key = array, key


class _TensorOut:
    def __init__(self, storage: StorageOut, shape: tuple, strides: tuple):
        self.storage, self.shape, self.strides = storage, shape, strides


class _ParamOut:
    def __init__(self, tensor: _TensorOut, requires_grad: bool):
        self.tensor, self.requires_grad = tensor, requires_grad


def _contiguous_strides(shape: tuple) -> tuple:
    strides, acc = [], 1
    for n in reversed(shape):
        strides.append(acc)
        acc *= max(int(n), 1)
    return tuple(reversed(strides))


class _Sanitizer:
    """Checks what is being saved and maps it onto picklable stand-ins (arrays -> storages).

    Shared objects stay shared (one storage per array object) and the path of anything that
    cannot be saved is reported (``obj['layer']['weight']``).
    """

    def __init__(self):
        self.memo: dict[int, Any] = {}
        self.keep: list = []  # keeps ids in memo valid
        self.storages: list[StorageOut] = []

    def tensor(self, value: Any, path: str) -> _TensorOut:
        if isinstance(value, jax.core.Tracer):
            raise TypeError(f"save: cannot save a traced value at {path}; save outside "
                            "jit/grad (e.g. after the step returns)")
        arr = np.asarray(value)
        dtype = arr.dtype
        if dtype not in DTYPE_STORAGES and dtype not in V3_DTYPE_NAMES:
            little = dtype.newbyteorder("<") if dtype.byteorder == ">" else None
            if little is not None and (little in DTYPE_STORAGES or little in V3_DTYPE_NAMES):
                arr = arr.astype(little)
            else:
                raise TypeError(f"save: cannot save an array of dtype {dtype} at {path}: "
                                "PyTorch has no such dtype")
        if not arr.flags.c_contiguous:  # (np.ascontiguousarray would turn 0-d into 1-d)
            arr = np.ascontiguousarray(arr)
        storage = StorageOut(arr.reshape(-1), str(len(self.storages)))
        self.storages.append(storage)
        return _TensorOut(storage, tuple(int(n) for n in arr.shape),
                          _contiguous_strides(arr.shape))

    def __call__(self, obj: Any, path: str = "obj") -> Any:
        if obj is None:
            return None
        if not isinstance(obj, (np.ndarray, np.generic)):
            for base in _PLAIN_TYPES:  # IntEnum etc. -> plain values
                if isinstance(obj, base):
                    return obj if type(obj) is base else base(obj)
        key = id(obj)
        if key in self.memo:
            return self.memo[key]
        self.keep.append(obj)
        out: Any
        if isinstance(obj, Parameter):
            out = _ParamOut(self.tensor(obj.data, path), obj.requires_grad)
        elif isinstance(obj, Buffer):
            out = self.tensor(obj.data, path)
        elif is_array(obj):
            out = self.tensor(obj, path)
        elif isinstance(obj, dict):
            out = OrderedDict() if isinstance(obj, OrderedDict) else {}
            self.memo[key] = out
            for k, v in obj.items():
                kk = self(k, f"{path} key {k!r}")
                if not isinstance(kk, (str, int, float, bool, bytes, tuple, type(None))):
                    raise TypeError(f"save: cannot use {type(k).__name__} as a dict key at "
                                    f"{path}")
                out[kk] = self(v, f"{path}[{k!r}]")
            attrs = getattr(obj, "__dict__", None)
            if isinstance(out, OrderedDict) and attrs:  # torch's state_dict._metadata
                out.__dict__.update(self(dict(attrs), f"{path}.__dict__"))
            return out
        elif isinstance(obj, list):
            out = []
            self.memo[key] = out
            out.extend(self(v, f"{path}[{i}]") for i, v in enumerate(obj))
            return out
        elif isinstance(obj, tuple):  # namedtuples are written as plain tuples
            out = tuple(self(v, f"{path}[{i}]") for i, v in enumerate(obj))
        elif isinstance(obj, set):
            out = {self(v, f"{path} element") for v in obj}
        else:
            hint = (" (to save a module, save its state_dict())"
                    if hasattr(obj, "state_dict") else "")
            raise TypeError(
                f"save: cannot save an object of type {type(obj).__module__}."
                f"{type(obj).__qualname__} at {path}{hint}: a checkpoint holds arrays (jax, "
                "numpy, jnn.Parameter), dicts, OrderedDicts, lists, tuples, sets, numbers, "
                "strings, bytes and None (what torch.load(weights_only=True) accepts)")
        self.memo[key] = out
        return out


# The Python pickler (its dispatch table is extensible); typed Any: the typeshed stubs leave out
# its internals (dispatch, write, memoize).
_PyPickler: Any = pickle._Pickler
_PLAIN_TYPES: tuple[type, ...] = (bool, int, float, complex, str, bytes)


class _TorchPickler(_PyPickler):
    dispatch = _PyPickler.dispatch.copy()

    def save_torch_global(self, obj: TorchGlobal) -> None:
        self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())
        self.memoize(obj)

    dispatch[TorchGlobal] = save_torch_global

    def persistent_id(self, obj: Any):
        if type(obj) is StorageOut:
            dtype = obj.array.dtype
            if dtype in DTYPE_STORAGES:
                return ("storage", TorchGlobal("torch", DTYPE_STORAGES[dtype]), obj.key, "cpu",
                        int(obj.array.size))
            return ("storage", TorchGlobal("torch.storage", "UntypedStorage"), obj.key, "cpu",
                    int(obj.array.nbytes))
        return None

    def reducer_override(self, obj: Any):
        t = type(obj)
        if t is _TensorOut:
            dtype = obj.storage.array.dtype
            if dtype in DTYPE_STORAGES:
                return (TorchGlobal("torch._utils", "_rebuild_tensor_v2"),
                        (obj.storage, 0, obj.shape, obj.strides, False, OrderedDict()))
            return (TorchGlobal("torch._utils", "_rebuild_tensor_v3"),
                    (obj.storage, 0, obj.shape, obj.strides, False, OrderedDict(),
                     TorchGlobal("torch", V3_DTYPE_NAMES[dtype])))
        if t is _ParamOut:
            return (TorchGlobal("torch._utils", "_rebuild_parameter"),
                    (obj.tensor, obj.requires_grad, OrderedDict()))
        if t is bytes and not obj and self.proto < 3:  # pickle writes builtins.bytes() here,
            return (codecs.encode, ("", "latin1"))     # which torch's loader refuses
        return NotImplemented


def pickle_checkpoint(obj: Any, protocol: int) -> tuple[bytes, list[StorageOut]]:
    """``data.pkl``'s bytes for ``obj`` and the storages it references, in key order.

    Raises:
        TypeError: ``obj`` holds something a weights-only checkpoint cannot hold.
        ValueError: ``obj`` is nested too deeply for Python's pickler.
    """
    sanitize = _Sanitizer()
    buf = io.BytesIO()
    try:
        _TorchPickler(buf, protocol=protocol).dump(sanitize(obj))
    except RecursionError:
        raise ValueError("save: obj is nested too deeply to pickle (Python's pickler, like "
                         "torch.save, recurses once per level of nesting)") from None
    return buf.getvalue(), sanitize.storages
