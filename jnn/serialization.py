"""Checkpoints: ``jnn.save`` / ``jnn.load`` read and write PyTorch's own ``.pt``/``.pth`` files.

Neither function imports torch. A file written by :func:`save` loads with
``torch.load(f, weights_only=True)``, and :func:`load` reads what ``torch.save`` writes, so
checkpoints move freely between the two libraries.

File format (what ``torch.save`` writes since PyTorch 1.6, and what :func:`save` writes):
    An uncompressed zip archive whose records all sit in one folder ``<name>/``:

    * ``<name>/data.pkl``: a pickle (protocol 2) of the saved object. Each tensor is the call
      ``torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad,
      OrderedDict())`` where ``storage`` is a *persistent id*
      ``('storage', torch.FloatStorage, key, 'cpu', numel)`` (the storage class names the
      dtype; dtypes without a storage class use ``_rebuild_tensor_v3`` with a
      ``torch.storage.UntypedStorage`` and an explicit dtype). A ``Parameter`` wraps its tensor
      in ``torch._utils._rebuild_parameter(tensor, requires_grad, OrderedDict())``.
    * ``<name>/data/<key>``: the storage's raw bytes, little-endian, each record aligned to 64
      bytes in the file (through padding in the zip "extra" field, as torch does) so that
      ``torch.load(..., mmap=True)`` can map it.
    * ``<name>/byteorder`` (``little``), ``<name>/version`` (``3``), ``<name>/.format_version``,
      ``<name>/.storage_alignment`` and ``<name>/.data/serialization_id``.

    The legacy format (``torch.save(..., _use_new_zipfile_serialization=False)``) is a run of
    pickles in one stream: a magic number, the protocol version, a ``sys_info`` dict, the object
    (storages as persistent ids ``('storage', type, key, location, numel, view)``), the sorted
    list of storage keys, then for each key an int64 element count and the raw bytes.
    :func:`load` reads it too; :func:`save` writes only the zip format.

Safety model:
    Unpickling an arbitrary pickle runs arbitrary code. :func:`load` therefore never uses
    Python's normal class lookup: its unpickler admits only a fixed list of names -- the tensor
    rebuild functions (``torch._utils._rebuild_tensor``, ``_rebuild_tensor_v2``,
    ``_rebuild_tensor_v3``, ``_rebuild_parameter``, ``_rebuild_parameter_with_state``,
    ``torch._tensor._rebuild_from_type_v2`` for plain tensors/parameters), the storage classes,
    torch dtypes, ``torch.Size``, ``torch.device``, ``collections.OrderedDict``/``Counter``,
    ``builtins.set``/``frozenset``/``complex``/``bytearray`` and ``_codecs.encode`` (how
    protocol 2 spells ``bytes``) -- and each name resolves to jnn's own small replacement, never
    to the real object. Any other global (``os.system``, ``builtins.eval``, ``posix.system``, any
    class) is refused with :class:`UnsafeCheckpointError` (a ``pickle.UnpicklingError``) naming
    the callable and the file, before anything of it runs. Tensor views are bounds-checked
    against their storage. This matches ``torch.load(weights_only=True)``, torch's default;
    ``weights_only=False`` (unpickling arbitrary objects, e.g. a whole ``nn.Module`` saved with
    ``torch.save(model)``) is not supported.

Differences from PyTorch:
    Loaded tensors are ``jax.Array`` (``numpy.ndarray`` with ``as_numpy=True``); tensors saved as
    ``Parameter`` load as ``jnn.Parameter`` (plain arrays with ``as_numpy=True``). Every loaded
    tensor owns its data: two tensors that were views of one storage load as two arrays (equal
    values, no shared memory -- JAX arrays are immutable anyway). With ``jax_enable_x64`` off,
    64-bit tensors become 32-bit jax arrays, as with any ``jnp.asarray``; ``as_numpy=True`` keeps
    every dtype exactly. ``map_location`` only picks the jax device.
"""
from __future__ import annotations

import _compat_pickle
import codecs
import io
import os
import pickle
import secrets
import struct
import zipfile
import zlib
from collections import Counter, OrderedDict
from typing import Any, BinaryIO, Callable, Union

import ml_dtypes
import numpy as np

__all__ = ["save", "load", "save_safetensors", "load_safetensors", "CheckpointError",
           "UnsafeCheckpointError"]

FileLike = Union[str, os.PathLike, BinaryIO]

_MAGIC_NUMBER = 0x1950A86A20F9469CFC6C  # torch/serialization.py: legacy format header
_LEGACY_PROTOCOL_VERSION = 1001
_ALIGNMENT = 64  # torch aligns every record's data to 64 bytes in the zip file


class CheckpointError(RuntimeError):
    """A checkpoint file is corrupt, truncated, or in a format jnn cannot read."""


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint asks to call or build something outside the weights-only allowlist."""


# -- dtypes ------------------------------------------------------------------------------------
# torch storage class name -> numpy dtype (torch/storage.py: _dtype_to_storage_type_map)
_STORAGE_DTYPES: dict[str, np.dtype] = {
    "DoubleStorage": np.dtype(np.float64), "FloatStorage": np.dtype(np.float32),
    "HalfStorage": np.dtype(np.float16), "BFloat16Storage": np.dtype(ml_dtypes.bfloat16),
    "LongStorage": np.dtype(np.int64), "IntStorage": np.dtype(np.int32),
    "ShortStorage": np.dtype(np.int16), "CharStorage": np.dtype(np.int8),
    "ByteStorage": np.dtype(np.uint8), "BoolStorage": np.dtype(np.bool_),
    "ComplexFloatStorage": np.dtype(np.complex64),
    "ComplexDoubleStorage": np.dtype(np.complex128),
}
_DTYPE_STORAGES = {v: k for k, v in _STORAGE_DTYPES.items()}

# torch dtype name -> numpy dtype (names as pickled: GLOBAL 'torch float32')
_TORCH_DTYPES: dict[str, np.dtype] = {
    "float64": np.dtype(np.float64), "double": np.dtype(np.float64),
    "float32": np.dtype(np.float32), "float": np.dtype(np.float32),
    "float16": np.dtype(np.float16), "half": np.dtype(np.float16),
    "bfloat16": np.dtype(ml_dtypes.bfloat16),
    "int64": np.dtype(np.int64), "long": np.dtype(np.int64),
    "int32": np.dtype(np.int32), "int": np.dtype(np.int32),
    "int16": np.dtype(np.int16), "short": np.dtype(np.int16),
    "int8": np.dtype(np.int8), "uint8": np.dtype(np.uint8),
    "uint16": np.dtype(np.uint16), "uint32": np.dtype(np.uint32),
    "uint64": np.dtype(np.uint64), "bool": np.dtype(np.bool_),
    "complex64": np.dtype(np.complex64), "cfloat": np.dtype(np.complex64),
    "complex128": np.dtype(np.complex128), "cdouble": np.dtype(np.complex128),
    "float8_e4m3fn": np.dtype(ml_dtypes.float8_e4m3fn),
    "float8_e5m2": np.dtype(ml_dtypes.float8_e5m2),
    "float8_e4m3fnuz": np.dtype(ml_dtypes.float8_e4m3fnuz),
    "float8_e5m2fnuz": np.dtype(ml_dtypes.float8_e5m2fnuz),
    "float8_e8m0fnu": np.dtype(ml_dtypes.float8_e8m0fnu),
}
# numpy dtype -> the torch dtype name written for dtypes without a typed storage class
_V3_DTYPE_NAMES = {np.dtype(np.uint16): "uint16", np.dtype(np.uint32): "uint32",
                   np.dtype(np.uint64): "uint64",
                   np.dtype(ml_dtypes.float8_e4m3fn): "float8_e4m3fn",
                   np.dtype(ml_dtypes.float8_e5m2): "float8_e5m2",
                   np.dtype(ml_dtypes.float8_e4m3fnuz): "float8_e4m3fnuz",
                   np.dtype(ml_dtypes.float8_e5m2fnuz): "float8_e5m2fnuz",
                   np.dtype(ml_dtypes.float8_e8m0fnu): "float8_e8m0fnu"}


def _describe(f: Any) -> str:
    if isinstance(f, (str, bytes, os.PathLike)):
        return repr(os.fsdecode(f))
    name = getattr(f, "name", None)
    return repr(name) if isinstance(name, str) else f"<{type(f).__name__} object>"


# =============================================================================================
# save
# =============================================================================================
class _Global:
    """A pickle GLOBAL reference written by name, without importing the module (torch)."""

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


class _StorageOut:
    """One storage to write as ``data/<key>``: a contiguous little-endian numpy array."""

    def __init__(self, array: np.ndarray, key: str):
        self.array, self.key = array, key


class _TensorOut:
    def __init__(self, storage: _StorageOut, shape: tuple, strides: tuple):
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
        self.storages: list[_StorageOut] = []

    def tensor(self, value: Any, path: str) -> _TensorOut:
        import jax

        if isinstance(value, jax.core.Tracer):
            raise TypeError(f"save: cannot save a traced value at {path}; save outside "
                            "jit/grad (e.g. after the step returns)")
        arr = np.asarray(value)
        dtype = arr.dtype
        if dtype not in _DTYPE_STORAGES and dtype not in _V3_DTYPE_NAMES:
            little = dtype.newbyteorder("<") if dtype.byteorder == ">" else None
            if little is not None and (little in _DTYPE_STORAGES or little in _V3_DTYPE_NAMES):
                arr = arr.astype(little)
            else:
                raise TypeError(f"save: cannot save an array of dtype {dtype} at {path}: "
                                "PyTorch has no such dtype")
        if not arr.flags.c_contiguous:  # (np.ascontiguousarray would turn 0-d into 1-d)
            arr = np.ascontiguousarray(arr)
        storage = _StorageOut(arr.reshape(-1), str(len(self.storages)))
        self.storages.append(storage)
        return _TensorOut(storage, tuple(int(n) for n in arr.shape),
                          _contiguous_strides(arr.shape))

    def __call__(self, obj: Any, path: str = "obj") -> Any:
        from .parameter import Buffer, Parameter, is_array

        if obj is None:
            return None
        if not isinstance(obj, (np.ndarray, np.generic)):
            for base in (bool, int, float, complex, str, bytes):  # IntEnum etc. -> plain values
                if isinstance(obj, base):
                    return obj if type(obj) is base else base(obj)
        key = id(obj)
        if key in self.memo:
            return self.memo[key]
        self.keep.append(obj)
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


class _TorchPickler(pickle._Pickler):  # the Python pickler: its dispatch table is extensible
    dispatch = pickle._Pickler.dispatch.copy()

    def save_torch_global(self, obj: _Global) -> None:
        self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode("utf-8"))
        self.memoize(obj)

    dispatch[_Global] = save_torch_global

    def persistent_id(self, obj: Any):
        if type(obj) is _StorageOut:
            dtype = obj.array.dtype
            if dtype in _DTYPE_STORAGES:
                return ("storage", _Global("torch", _DTYPE_STORAGES[dtype]), obj.key, "cpu",
                        int(obj.array.size))
            return ("storage", _Global("torch.storage", "UntypedStorage"), obj.key, "cpu",
                    int(obj.array.nbytes))
        return None

    def reducer_override(self, obj: Any):
        t = type(obj)
        if t is _TensorOut:
            dtype = obj.storage.array.dtype
            if dtype in _DTYPE_STORAGES:
                return (_Global("torch._utils", "_rebuild_tensor_v2"),
                        (obj.storage, 0, obj.shape, obj.strides, False, OrderedDict()))
            return (_Global("torch._utils", "_rebuild_tensor_v3"),
                    (obj.storage, 0, obj.shape, obj.strides, False, OrderedDict(),
                     _Global("torch", _V3_DTYPE_NAMES[dtype])))
        if t is _ParamOut:
            return (_Global("torch._utils", "_rebuild_parameter"),
                    (obj.tensor, obj.requires_grad, OrderedDict()))
        if t is bytes and not obj and self.proto < 3:  # pickle writes builtins.bytes() here,
            return (codecs.encode, ("", "latin1"))     # which torch's loader refuses
        return NotImplemented


def _archive_name(f: Any) -> str:
    if isinstance(f, (str, bytes, os.PathLike)):
        stem = os.path.splitext(os.path.basename(os.fsdecode(f)))[0]
        stem = "".join(c if (c.isascii() and (c.isalnum() or c in "_-.")) else "_"
                       for c in stem)
        if stem.strip("."):
            return stem
    return "archive"


def _write_zip(fobj: BinaryIO, prefix: str, pickled: bytes,
               storages: list[_StorageOut]) -> None:
    # ZIP_STORED only; every record's data starts on a multiple of _ALIGNMENT bytes, padded via
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
            start = zf.fp.tell() + 30 + name_len + (20 if zip64 else 0)
            pad = (-(start + 4)) % _ALIGNMENT
            info.extra = b"FB" + struct.pack("<H", pad) + b"Z" * pad
            zf.writestr(info, data)

        record("data.pkl", pickled)
        record(".format_version", b"1")
        record(".storage_alignment", str(_ALIGNMENT).encode())
        record("byteorder", b"little")
        for storage in storages:
            record(f"data/{storage.key}", storage.array.view(np.uint8) if storage.array.size
                   else b"")
        record("version", b"3\n")
        record(".data/serialization_id", str(secrets.randbits(128)).zfill(40).encode())


def _fsync_dir(directory: str) -> None:
    if os.name != "posix":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _atomic_write(path: Any, write: Callable[[BinaryIO], None]) -> None:
    """Write through ``write(fileobj)`` into a temp file beside ``path``, fsync, then rename.

    A failure at any point leaves a previous file at ``path`` untouched.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    for _ in range(100):
        tmp = os.path.join(directory, f".{base}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                         0o666)
            break
        except FileExistsError:
            continue
    else:  # pragma: no cover
        raise OSError(f"save: could not create a temporary file in {directory!r}")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(directory)


def save(obj: Any, f: FileLike, pickle_protocol: int = 2) -> None:
    """Save ``obj`` in PyTorch's checkpoint format (``torch.save``).

    The file loads with ``torch.load(f, weights_only=True)`` and with :func:`jnn.load`.
    Arrays (``jax.Array``, ``numpy.ndarray``) become tensors with the same dtype and shape
    (numpy scalars such as ``np.float64(0.5)`` become 0-d tensors); ``jnn.Parameter`` becomes ``torch.nn.Parameter``; dicts, ``OrderedDict`` (with
    torch's ``_metadata`` attribute), lists, tuples, sets, numbers, strings, bytes and ``None``
    are kept. One array object saved twice (tied weights) is stored once and loads as one
    tensor. When ``f`` is a path the write is atomic: data goes to a temporary file in the same
    folder, is fsync-ed, then renamed over ``f``, so a crash mid-save leaves any old file intact.

    Args:
        obj: the object to save, typically ``model.state_dict()`` or
            ``{"model": ..., "optimizer": ..., "epoch": ...}``.
        f: a path (``str``/``os.PathLike``) or a binary file object open for writing.
        pickle_protocol: pickle protocol of ``data.pkl``. Keep 2 (torch's default): torch's
            weights-only loader only understands protocol 2's opcodes. :func:`load` reads any.

    Returns:
        None.

    Raises:
        TypeError: ``obj`` holds something a weights-only checkpoint cannot hold (a module, a
            function, an arbitrary class, a dtype PyTorch lacks); the message names its path.

    Example:
        >>> nn.save(model.state_dict(), "ckpt.pt")
        >>> torch_model.load_state_dict(torch.load("ckpt.pt", weights_only=True))
    """
    if not isinstance(pickle_protocol, int) or not 2 <= pickle_protocol <= pickle.HIGHEST_PROTOCOL:
        raise ValueError(f"save: pickle_protocol must be an int in [2, "
                         f"{pickle.HIGHEST_PROTOCOL}], got {pickle_protocol!r}")
    sanitize = _Sanitizer()
    payload = sanitize(obj)
    buf = io.BytesIO()
    _TorchPickler(buf, protocol=pickle_protocol).dump(payload)
    pickled = buf.getvalue()
    prefix = _archive_name(f)

    def write(fobj: BinaryIO) -> None:
        _write_zip(fobj, prefix, pickled, sanitize.storages)

    if isinstance(f, (str, bytes, os.PathLike)):
        _atomic_write(f, write)
    elif hasattr(f, "write"):
        write(f)
        if hasattr(f, "flush"):
            f.flush()
    else:
        raise TypeError(f"save: f must be a path or a binary file object, got "
                        f"{type(f).__name__}")


# =============================================================================================
# load
# =============================================================================================
class _NoState:
    """Refuses pickle's BUILD (``__setstate__``), which could otherwise rewrite loader objects."""

    def __setstate__(self, state):
        raise UnsafeCheckpointError(
            f"refusing to set the state of {type(self).__name__.lstrip('_')} (pickle BUILD)")


class _StorageType(_NoState):
    def __init__(self, name: str, dtype: np.dtype):
        self.name, self.dtype = name, dtype


class _TorchDType(_NoState):
    def __init__(self, name: str, dtype: np.dtype):
        self.name, self.dtype = name, dtype


class _Storage(_NoState):
    """A storage: ``numel`` elements of ``dtype``; bytes come from ``fetch()`` or are set later."""

    def __init__(self, dtype: np.dtype, numel: int, fetch: Callable[[], Any] | None = None):
        self.dtype, self.numel, self.fetch = dtype, numel, fetch
        self.data: np.ndarray | None = None  # flat uint8
        self.base: _Storage | None = None  # legacy storage views
        self.offset = 0  # in bytes, into base

    def raw(self) -> np.ndarray:
        if self.base is not None:
            root = self.base.raw()
            return root[self.offset:self.offset + self.numel * self.dtype.itemsize]
        if self.data is None:
            if self.fetch is None:
                raise CheckpointError("the data of a storage is missing")
            self.data = np.frombuffer(self.fetch(), dtype=np.uint8)
            self.fetch = None
        return self.data


class _TensorRef(_NoState):
    def __init__(self, storage, offset, size, stride, dtype=None):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride
        self.dtype = dtype
        self.is_param, self.requires_grad = False, False


def _as_int_tuple(value: Any, what: str) -> tuple:
    if not isinstance(value, (tuple, list)) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise CheckpointError(f"tensor {what} must be a tuple of ints, got {value!r}")
    return tuple(value)


def _rebuild_tensor(storage, storage_offset, size, stride, *rest):
    if not isinstance(storage, _Storage):
        raise CheckpointError(f"a tensor's storage is {type(storage).__name__}, not a storage")
    if not isinstance(storage_offset, int) or storage_offset < 0:
        raise CheckpointError(f"bad tensor storage offset {storage_offset!r}")
    return _TensorRef(storage, storage_offset, _as_int_tuple(size, "size"),
                      _as_int_tuple(stride, "stride"))


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    return _rebuild_tensor(storage, storage_offset, size, stride)


def _rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, backward_hooks,
                       dtype, metadata=None):
    ref = _rebuild_tensor(storage, storage_offset, size, stride)
    if not isinstance(dtype, _TorchDType):
        raise CheckpointError(f"_rebuild_tensor_v3: expected a torch dtype, got {dtype!r}")
    ref.dtype = dtype.dtype
    return ref


def _rebuild_parameter(data, requires_grad, backward_hooks, state=None):
    if not isinstance(data, _TensorRef):
        raise CheckpointError(f"_rebuild_parameter: expected a tensor, got "
                              f"{type(data).__name__}")
    data.is_param, data.requires_grad = True, bool(requires_grad)
    return data


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
        return tuple(int(s) for s in sizes)


class _TorchDevice(metaclass=_Frozen):
    def __new__(cls, kind, index=None):
        return str(kind) if index is None else f"{kind}:{int(index)}"


class _OrderedDictClass(metaclass=_Frozen):
    def __new__(cls, *args):
        return OrderedDict(*args)


class _CounterClass(metaclass=_Frozen):
    def __new__(cls, *args):
        return Counter(*args)


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
        raise UnsafeCheckpointError(f"_rebuild_from_type_v2: refusing to call {func!r}")
    ref = func(*args)
    if new_type is _TorchParameterClass:
        ref.is_param, ref.requires_grad = True, True
    elif new_type is not _TorchTensorClass:
        raise UnsafeCheckpointError(f"_rebuild_from_type_v2: refusing tensor subclass "
                                    f"{new_type!r}")
    return ref


def _codecs_encode(obj, encoding="utf-8"):
    if not isinstance(obj, str) or encoding not in ("latin1", "latin-1", "utf-8", "utf8"):
        raise UnsafeCheckpointError(f"_codecs.encode: refusing arguments ({type(obj).__name__}, "
                                    f"{encoding!r})")
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
    "builtins.set": set,
    "builtins.frozenset": frozenset,
    "builtins.complex": complex,
    "builtins.bytearray": bytearray,
    "_codecs.encode": _Fn(_codecs_encode, "_codecs.encode"),
    "torch.storage.UntypedStorage": _StorageType("UntypedStorage", np.dtype(np.uint8)),
    "torch.UntypedStorage": _StorageType("UntypedStorage", np.dtype(np.uint8)),
}
for _name, _dt in _STORAGE_DTYPES.items():
    _ALLOWED_GLOBALS[f"torch.{_name}"] = _StorageType(_name, _dt)
for _name, _dt in _TORCH_DTYPES.items():
    _ALLOWED_GLOBALS[f"torch.{_name}"] = _TorchDType(_name, _dt)
del _name, _dt


def _resolve_global(module: str, name: str, source: str) -> Any:
    if (module, name) in _compat_pickle.NAME_MAPPING:  # protocol 2 writes Python 2 names
        module, name = _compat_pickle.NAME_MAPPING[(module, name)]
    elif module in _compat_pickle.IMPORT_MAPPING:
        module = _compat_pickle.IMPORT_MAPPING[module]
    full = f"{module}.{name}"
    try:
        return _ALLOWED_GLOBALS[full]
    except KeyError:
        raise UnsafeCheckpointError(
            f"{source}: refusing to load global '{full}': a weights-only checkpoint may only "
            "reference tensor rebuild functions, storage types, torch dtypes, OrderedDict and "
            "plain containers; nothing from it was run. If you trust the file, load it with "
            "torch.load(..., weights_only=False) and save its state_dict()."
        ) from None


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file, source: str, persistent_load: Callable[[Any], Any]):
        super().__init__(file, encoding="utf-8")
        self._source = source
        self._persistent = persistent_load

    def find_class(self, module, name):
        return _resolve_global(str(module), str(name), self._source)

    def persistent_load(self, pid):
        return self._persistent(pid)


def _storage_type_from_pid(pid: Any, source: str, n: int) -> tuple:
    if not isinstance(pid, tuple) or len(pid) != n or pid[0] not in ("storage", b"storage"):
        raise UnsafeCheckpointError(f"{source}: refusing persistent id {pid!r}: only tensor "
                                    "storages may be referenced")
    storage_type, key, location, numel = pid[1:5]
    if not isinstance(storage_type, _StorageType):
        raise CheckpointError(f"{source}: bad storage type {storage_type!r}")
    if not isinstance(numel, int) or numel < 0:
        raise CheckpointError(f"{source}: bad storage size {numel!r}")
    if isinstance(key, bytes):
        key = key.decode("ascii", "replace")
    if isinstance(location, bytes):
        location = location.decode("ascii", "replace")
    return storage_type, str(key), location, numel


def _byteswap(raw: np.ndarray, dtype: np.dtype) -> np.ndarray:
    size = dtype.itemsize // 2 if dtype.kind == "c" else dtype.itemsize
    if size <= 1:
        return raw
    return np.ascontiguousarray(raw.reshape(-1, size)[:, ::-1]).reshape(-1)


def _materialize_tensor(ref: _TensorRef, little_endian: bool, source: str) -> np.ndarray:
    storage = ref.storage
    dtype = ref.dtype if ref.dtype is not None else storage.dtype
    raw = storage.raw()
    if not little_endian:
        raw = _byteswap(raw, dtype)
    if raw.size % dtype.itemsize:
        raise CheckpointError(f"{source}: storage of {raw.size} bytes does not hold whole "
                              f"{dtype} elements")
    numel = raw.size // dtype.itemsize
    size, stride, offset = ref.size, ref.stride, ref.offset
    if len(size) != len(stride) or any(s < 0 for s in size) or any(s < 0 for s in stride):
        raise CheckpointError(f"{source}: bad tensor geometry size={size} stride={stride}")
    if 0 in size:
        return np.zeros(size, dtype)
    last = offset + sum((n - 1) * s for n, s in zip(size, stride))
    if last >= numel:
        raise CheckpointError(f"{source}: tensor (offset {offset}, size {size}, stride {stride})"
                              f" reaches past the end of its storage of {numel} elements")
    # Stride over the bytes (an extra trailing axis of itemsize bytes): numpy's as_strided cannot
    # take ml_dtypes dtypes (bfloat16, float8) directly.
    item = dtype.itemsize
    start = offset * item
    view = np.lib.stride_tricks.as_strided(
        raw[start:], shape=size + (item,), strides=tuple(s * item for s in stride) + (1,),
        writeable=False)
    return np.ascontiguousarray(view).view(dtype).reshape(size)


def _resolve_device(map_location: Any):
    import jax

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
        return _resolve_device(str(map_location))
    raise TypeError(f"load: map_location must be None, a str, a jax.Device or a dict, got "
                    f"{type(map_location).__name__}")


class _Finisher:
    """Replaces tensor references in the unpickled object with arrays, keeping sharing."""

    def __init__(self, source, little_endian, as_numpy, map_location):
        self.source, self.little_endian, self.as_numpy = source, little_endian, as_numpy
        self.map_location = map_location
        self.memo: dict[int, Any] = {}

    def device_for(self, ref: _TensorRef):
        loc = self.map_location
        if isinstance(loc, dict):
            tag = getattr(ref.storage, "location", "cpu")
            loc = loc.get(tag)
        return _resolve_device(loc)

    def __call__(self, obj: Any) -> Any:
        key = id(obj)
        if key in self.memo:
            return self.memo[key]
        if isinstance(obj, _TensorRef):
            arr = _materialize_tensor(obj, self.little_endian, self.source)
            if not self.as_numpy:
                import jax
                import jax.numpy as jnp

                device = self.device_for(obj)
                arr = jnp.asarray(arr) if device is None else jax.device_put(arr, device)
                if obj.is_param:
                    from .parameter import Parameter

                    arr = Parameter(arr, requires_grad=obj.requires_grad)
            out = arr
        elif isinstance(obj, _TorchDType):
            out = obj.dtype
        elif isinstance(obj, (_Storage, _StorageType, _Fn)) or type(obj) is _Frozen:
            raise CheckpointError(f"{self.source}: a bare storage or rebuild function is not "
                                  "a valid checkpoint value")
        elif isinstance(obj, dict):
            self.memo[key] = obj
            for k, v in list(obj.items()):
                obj[k] = self(v)
            if isinstance(obj, OrderedDict) and obj.__dict__:
                for k, v in list(obj.__dict__.items()):
                    obj.__dict__[k] = self(v)
            return obj
        elif isinstance(obj, list):
            self.memo[key] = obj
            obj[:] = [self(v) for v in obj]
            return obj
        elif isinstance(obj, tuple):
            out = tuple(self(v) for v in obj)
        else:
            out = obj
        self.memo[key] = out
        return out


def _load_zip(zf: zipfile.ZipFile, source: str, finish_args: tuple) -> Any:
    names = zf.namelist()
    pkl = [n for n in names if n == "data.pkl" or n.endswith("/data.pkl")]
    if not pkl:
        raise CheckpointError(f"{source}: zip archive has no data.pkl record; not a PyTorch "
                              "checkpoint (a TorchScript archive needs torch.jit.load)")
    pkl_name = min(pkl, key=len)
    prefix = pkl_name[:-len("data.pkl")]
    if prefix + "constants.pkl" in names:
        raise CheckpointError(f"{source} is a TorchScript archive (torch.jit.save); jnn.load "
                              "reads torch.save checkpoints")
    little_endian = True
    if prefix + "byteorder" in names:
        order = zf.read(prefix + "byteorder").decode("ascii", "replace").strip()
        if order not in ("little", "big"):
            raise CheckpointError(f"{source}: unknown byteorder record {order!r}")
        little_endian = order == "little"
    storages: dict[str, _Storage] = {}

    def persistent_load(pid):
        storage_type, key, location, numel = _storage_type_from_pid(pid, source, 5)
        if key in storages:
            return storages[key]
        record = f"{prefix}data/{key}"
        try:
            info = zf.getinfo(record)
        except KeyError:
            raise CheckpointError(f"{source}: missing record {record!r}") from None
        nbytes = numel * storage_type.dtype.itemsize
        if info.file_size != nbytes:
            raise CheckpointError(f"{source}: record {record!r} holds {info.file_size} bytes, "
                                  f"expected {nbytes}")
        storage = _Storage(storage_type.dtype, numel, lambda: zf.read(record))
        storage.location = location
        storages[key] = storage
        return storage

    obj = _RestrictedUnpickler(io.BytesIO(zf.read(pkl_name)), source, persistent_load).load()
    return _Finisher(source, little_endian, *finish_args)(obj)


def _load_legacy(f: BinaryIO, source: str, finish_args: tuple) -> Any:
    def plain(pid):
        raise UnsafeCheckpointError(f"{source}: unexpected persistent id {pid!r}")

    magic = _RestrictedUnpickler(f, source, plain).load()
    if magic != _MAGIC_NUMBER:
        raise CheckpointError(f"{source}: invalid magic number; not a PyTorch checkpoint")
    protocol = _RestrictedUnpickler(f, source, plain).load()
    if protocol != _LEGACY_PROTOCOL_VERSION:
        raise CheckpointError(f"{source}: unsupported legacy protocol version {protocol!r}")
    sys_info = _RestrictedUnpickler(f, source, plain).load()
    little_endian = bool(sys_info.get("little_endian", True)) if isinstance(sys_info, dict) \
        else True
    storages: dict[str, _Storage] = {}
    views: dict[str, _Storage] = {}

    def persistent_load(pid):
        if isinstance(pid, tuple) and pid and pid[0] in ("module", b"module"):
            raise UnsafeCheckpointError(f"{source}: refusing a pickled nn.Module class "
                                        f"({pid[1]!r}); save the state_dict() instead")
        storage_type, key, location, numel = _storage_type_from_pid(pid, source, 6)
        view = pid[5]
        root = storages.get(key)
        if root is None:
            root = storages[key] = _Storage(storage_type.dtype, numel)
            root.location = location
        if view is None:
            return root
        if not (isinstance(view, tuple) and len(view) == 3):
            raise CheckpointError(f"{source}: bad storage view {view!r}")
        view_key, offset, view_size = view
        if view_key not in views:
            sub = _Storage(storage_type.dtype, int(view_size))
            sub.base, sub.offset = root, int(offset) * storage_type.dtype.itemsize
            sub.location = location
            views[view_key] = sub
        return views[view_key]

    obj = _RestrictedUnpickler(f, source, persistent_load).load()
    keys = _RestrictedUnpickler(f, source, plain).load()
    if not isinstance(keys, list):
        raise CheckpointError(f"{source}: bad storage key list")
    end = None
    if getattr(f, "seekable", lambda: False)():
        here = f.tell()
        end = f.seek(0, io.SEEK_END)
        f.seek(here)
    for key in keys:
        storage = storages.get(str(key))
        if storage is None:
            raise CheckpointError(f"{source}: storage key {key!r} was not referenced")
        header = f.read(8)
        if len(header) != 8:
            raise CheckpointError(f"{source}: file is truncated (storage {key!r} missing)")
        numel = struct.unpack("<q" if little_endian else ">q", header)[0]
        if numel != storage.numel:
            raise CheckpointError(f"{source}: storage {key!r} has {numel} elements, "
                                  f"expected {storage.numel}")
        nbytes = numel * storage.dtype.itemsize
        if end is not None and nbytes > end - f.tell():
            raise CheckpointError(f"{source}: file is truncated (storage {key!r} needs {nbytes} "
                                  f"bytes, {end - f.tell()} left)")
        data = f.read(nbytes)
        if len(data) != nbytes:
            raise CheckpointError(f"{source}: file is truncated (storage {key!r} has "
                                  f"{len(data)} of {nbytes} bytes)")
        storage.data = np.frombuffer(data, dtype=np.uint8)
    for storage in list(storages.values()) + list(views.values()):
        if storage.base is not None and storage.offset + storage.numel * storage.dtype.itemsize \
                > storage.base.numel * storage.base.dtype.itemsize:
            raise CheckpointError(f"{source}: a storage view reaches past its storage")
    return _Finisher(source, little_endian, *finish_args)(obj)


def load(f: FileLike, map_location: Any = None, weights_only: bool | None = True, *,
         as_numpy: bool = False, mmap: bool | None = None) -> Any:
    """Load a checkpoint written by ``torch.save`` or :func:`jnn.save` (``torch.load``).

    Reads PyTorch's zip format and its legacy (``_use_new_zipfile_serialization=False``)
    format without importing torch. Tensors become ``jax.Array`` (or ``numpy.ndarray`` with
    ``as_numpy=True``) with the same dtype, shape and values, honouring storage offsets and
    strides (views, transposes, shared storages); ``torch.nn.Parameter`` becomes
    ``jnn.Parameter``; containers, numbers and strings come back as saved, including a
    state_dict's ``_metadata`` attribute.

    Loading is weights-only, always: the unpickler resolves only an allowlist of tensor rebuild
    functions, storage/dtype names, ``OrderedDict`` and plain containers, each to jnn's own
    stand-in. Anything else is refused with :class:`UnsafeCheckpointError` before it runs.

    Args:
        f: a path or a binary file object open for reading.
        map_location: where arrays go: ``None`` (jax's default device), ``'cpu'``,
            ``'cuda'``/``'cuda:1'``, a ``jax.Device``, or a dict from the saved location tag
            (``'cuda:0'``) to one of those. Ignored with ``as_numpy=True``.
        weights_only: must be ``True`` (or ``None``). ``False`` -- unpickling arbitrary
            objects -- is not supported.
        as_numpy: return ``numpy.ndarray`` instead of jax arrays (every dtype kept exactly,
            including 64-bit ones when ``jax_enable_x64`` is off).
        mmap: accepted for ``torch.load`` compatibility; the data is always read into memory.

    Returns:
        The saved object with tensors replaced by arrays.

    Raises:
        FileNotFoundError: ``f`` does not exist.
        CheckpointError: (a ``RuntimeError``) the file is corrupt, truncated or not a PyTorch
            checkpoint; the message names the file.
        UnsafeCheckpointError: (a ``pickle.UnpicklingError``) the file references a callable or
            class outside the allowlist; the message names it and the file.

    Example:
        >>> sd = nn.load("resnet18.pth")            # written by torch.save(model.state_dict())
        >>> model.load_state_dict(sd)
    """
    if weights_only is False:
        raise ValueError(
            "load: weights_only=False is not supported. jnn never unpickles arbitrary objects "
            "(that would run code from the file and needs torch's own classes); checkpoints "
            "must hold tensors, containers, numbers and strings. If the file holds a whole "
            "pickled model, load it with torch and save its state_dict() instead.")
    if weights_only not in (True, None):
        raise TypeError(f"load: weights_only must be a bool, got {weights_only!r}")
    if not as_numpy and map_location is not None:  # validate early
        for target in (map_location.values() if isinstance(map_location, dict)
                       else (map_location,)):
            _resolve_device(target)
    source = _describe(f)
    finish_args = (as_numpy, map_location)
    if isinstance(f, (str, bytes, os.PathLike)):
        path = os.fsdecode(f)
        if not os.path.exists(path):
            raise FileNotFoundError(f"load: no such file: {path!r}")
        with open(path, "rb") as fh:
            return _load_stream(fh, source, finish_args)
    if not hasattr(f, "read"):
        raise TypeError(f"load: f must be a path or a binary file object, got "
                        f"{type(f).__name__}")
    return _load_stream(f, source, finish_args)


def _load_stream(fh: BinaryIO, source: str, finish_args: tuple) -> Any:
    seekable = getattr(fh, "seekable", lambda: False)()
    if not seekable:
        fh = io.BytesIO(fh.read())
    start = fh.tell()
    head = fh.read(512)
    fh.seek(start)
    if not head:
        raise CheckpointError(f"{source}: file is empty")
    try:
        if head[:4] == b"PK\x03\x04":
            try:
                zf = zipfile.ZipFile(fh)
            except zipfile.BadZipFile as e:
                raise CheckpointError(f"{source}: corrupt or truncated zip checkpoint ({e})") \
                    from None
            with zf:
                return _load_zip(zf, source, finish_args)
        if head[:1] == pickle.PROTO:
            return _load_legacy(fh, source, finish_args)
        if len(head) >= 262 and head[257:262] == b"ustar":
            raise CheckpointError(f"{source}: PyTorch's tar checkpoint format (before 0.4) is "
                                  "not supported; re-save the file with a recent torch")
        raise CheckpointError(f"{source}: not a PyTorch checkpoint (unknown file header "
                              f"{head[:8]!r})")
    except UnsafeCheckpointError:
        raise
    except CheckpointError as e:
        if source not in str(e):
            raise CheckpointError(f"{source}: {e}") from None
        raise
    except (pickle.UnpicklingError, EOFError, zipfile.BadZipFile, zlib.error, struct.error,
            ValueError, TypeError, AttributeError, IndexError, KeyError, OverflowError,
            MemoryError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{source}: corrupt or truncated checkpoint "
                              f"({type(e).__name__}: {e})") from None


# =============================================================================================
# safetensors
# =============================================================================================
_ST_DTYPES = {
    "F64": np.dtype(np.float64), "F32": np.dtype(np.float32), "F16": np.dtype(np.float16),
    "BF16": np.dtype(ml_dtypes.bfloat16), "I64": np.dtype(np.int64),
    "I32": np.dtype(np.int32), "I16": np.dtype(np.int16), "I8": np.dtype(np.int8),
    "U64": np.dtype(np.uint64), "U32": np.dtype(np.uint32), "U16": np.dtype(np.uint16),
    "U8": np.dtype(np.uint8), "BOOL": np.dtype(np.bool_), "C64": np.dtype(np.complex64),
    "F8_E4M3": np.dtype(ml_dtypes.float8_e4m3fn), "F8_E5M2": np.dtype(ml_dtypes.float8_e5m2),
}


def _import_safetensors():
    try:
        import safetensors
    except ImportError as e:
        raise ImportError("jnn's safetensors support needs the 'safetensors' package: "
                          "pip install jnn[safetensors]  (or: pip install safetensors)") from e
    return safetensors


def save_safetensors(tensors: dict, path: Union[str, os.PathLike],
                     metadata: dict | None = None) -> None:
    """Save a flat ``{name: array}`` dict as a ``.safetensors`` file (atomically).

    Args:
        tensors: a mapping from str names to arrays (``jax.Array``, ``numpy.ndarray``,
            ``jnn.Parameter``), e.g. ``model.state_dict()``.
        path: the file to write.
        metadata: optional ``{str: str}`` stored in the file's header.

    Returns:
        None.

    Raises:
        ImportError: the ``safetensors`` package is not installed (``pip install
            jnn[safetensors]``).

    Example:
        >>> nn.save_safetensors(model.state_dict(), "model.safetensors")
    """
    safetensors = _import_safetensors()
    from .parameter import Parameter

    if not isinstance(tensors, dict):
        raise TypeError(f"save_safetensors: tensors must be a dict of arrays, got "
                        f"{type(tensors).__name__}")
    specs, keep = {}, []
    for name, value in tensors.items():
        if not isinstance(name, str):
            raise TypeError(f"save_safetensors: keys must be str, got {name!r}")
        if isinstance(value, Parameter):
            value = value.data
        arr = np.asarray(value)
        if not arr.flags.c_contiguous:
            arr = np.ascontiguousarray(arr)
        if arr.dtype.byteorder == ">":
            arr = arr.astype(arr.dtype.newbyteorder("<"))
        if arr.dtype not in _ST_DTYPES.values():
            raise TypeError(f"save_safetensors: {name!r} has dtype {arr.dtype}, which "
                            "safetensors cannot store")
        keep.append(arr)
        if hasattr(safetensors, "TensorSpec"):  # safetensors >= 0.7: zero-copy specs
            specs[name] = safetensors.TensorSpec(dtype=arr.dtype.name, shape=list(arr.shape),
                                                 data_ptr=arr.ctypes.data, data_len=arr.nbytes)
        else:
            specs[name] = {"dtype": arr.dtype.name, "shape": list(arr.shape),
                           "data": arr.tobytes()}

    def write(fh: BinaryIO) -> None:
        fh.write(bytes(safetensors.serialize(specs, metadata=metadata)))

    _atomic_write(path, write)
    del keep


def load_safetensors(path: Union[str, os.PathLike], *, as_numpy: bool = False) -> dict:
    """Load a ``.safetensors`` file into ``{name: array}`` (dtypes kept, bfloat16 included).

    Args:
        path: the file to read.
        as_numpy: return numpy arrays instead of jax arrays.

    Returns:
        A dict from tensor names to arrays, in the file's order.

    Raises:
        ImportError: the ``safetensors`` package is not installed.
        FileNotFoundError: ``path`` does not exist.
        CheckpointError: the file is not a valid safetensors file.

    Example:
        >>> sd = nn.load_safetensors("model.safetensors"); model.load_state_dict(sd)
    """
    safetensors = _import_safetensors()
    path = os.fsdecode(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load_safetensors: no such file: {path!r}")
    with open(path, "rb") as fh:
        data = fh.read()
    try:
        entries = safetensors.deserialize(data)
    except Exception as e:  # SafetensorError has no stable import path across versions
        raise CheckpointError(f"{path!r}: not a valid safetensors file ({e})") from None
    out = {}
    for name, entry in entries:
        dtype = _ST_DTYPES.get(entry["dtype"])
        if dtype is None:
            raise CheckpointError(f"{path!r}: tensor {name!r} has unsupported dtype "
                                  f"{entry['dtype']}")
        arr = np.frombuffer(entry["data"], dtype=dtype).reshape(entry["shape"]).copy()
        if not as_numpy:
            import jax.numpy as jnp

            arr = jnp.asarray(arr)
        out[name] = arr
    return out
