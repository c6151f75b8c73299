"""``.safetensors`` files, through the optional ``safetensors`` package."""
from __future__ import annotations

import os
from typing import BinaryIO

import ml_dtypes
import numpy as np

from ..parameter import Parameter
from ._arrays import to_jax
from ._atomic import atomic_write
from ._errors import CheckpointError, short_message

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


def save_safetensors(tensors: dict, path: str | os.PathLike,
                     metadata: dict | None = None) -> None:
    """Save a flat ``{name: array}`` dict as a ``.safetensors`` file (atomically).

    The write is atomic and keeps an existing file's permissions and symlinks, as
    :func:`jnn.save` does.

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
        >>> import tempfile
        >>> from jnn.serialization import save_safetensors
        >>> tmp = tempfile.TemporaryDirectory()
        >>> save_safetensors(nn.Linear(2, 3).state_dict(), f"{tmp.name}/model.safetensors")
        >>> tmp.cleanup()
    """
    safetensors = _import_safetensors()
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

    atomic_write(path, write, "save_safetensors")
    del keep


def load_safetensors(path: str | os.PathLike, *, as_numpy: bool = False) -> dict:
    """Load a ``.safetensors`` file into ``{name: array}`` (dtypes kept, bfloat16 included).

    Args:
        path: the file to read.
        as_numpy: return numpy arrays instead of jax arrays.

    Returns:
        A dict from tensor names to arrays, in the file's order.

    Raises:
        ImportError: the ``safetensors`` package is not installed.
        FileNotFoundError: ``path`` does not exist.
        CheckpointError: the file is not a valid safetensors file, or (with
            ``jax_enable_x64`` off and ``as_numpy=False``) a 64-bit tensor holds values that
            32 bits cannot.

    Example:
        >>> import tempfile
        >>> from jnn.serialization import load_safetensors, save_safetensors
        >>> tmp = tempfile.TemporaryDirectory()
        >>> path = f"{tmp.name}/model.safetensors"
        >>> save_safetensors(nn.Linear(2, 3).state_dict(), path)
        >>> sd = load_safetensors(path)
        >>> sorted((k, v.shape) for k, v in sd.items())
        [('bias', (3,)), ('weight', (3, 2))]
        >>> nn.Linear(2, 3).load_state_dict(sd)
        <All keys matched successfully>
        >>> tmp.cleanup()
    """
    safetensors = _import_safetensors()
    path = os.fsdecode(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load_safetensors: no such file: {path!r}")
    with open(path, "rb") as fh:
        data = fh.read()
    try:
        entries = safetensors.deserialize(data)
        out = {}
        for name, entry in entries:
            dtype = _ST_DTYPES.get(entry["dtype"])
            if dtype is None:
                raise CheckpointError(f"{path!r}: tensor {name!r} has unsupported dtype "
                                      f"{entry['dtype']}")
            out[name] = np.frombuffer(entry["data"], dtype=dtype).reshape(entry["shape"]).copy()
    except CheckpointError:
        raise
    except Exception as e:  # SafetensorError has no stable import path across versions
        raise CheckpointError(f"{path!r}: not a valid safetensors file "
                              f"({short_message(e)})") from None
    if as_numpy:
        return out
    try:
        return {name: to_jax(arr, None, f"tensor {name!r}") for name, arr in out.items()}
    except CheckpointError as e:
        raise CheckpointError(f"{path!r}: {e}") from None
