"""The dtypes a checkpoint names: torch storage classes and torch dtypes, as numpy dtypes."""
from __future__ import annotations

import ml_dtypes
import numpy as np

# torch storage class name -> numpy dtype (torch/storage.py: _dtype_to_storage_type_map)
STORAGE_DTYPES: dict[str, np.dtype] = {
    "DoubleStorage": np.dtype(np.float64), "FloatStorage": np.dtype(np.float32),
    "HalfStorage": np.dtype(np.float16), "BFloat16Storage": np.dtype(ml_dtypes.bfloat16),
    "LongStorage": np.dtype(np.int64), "IntStorage": np.dtype(np.int32),
    "ShortStorage": np.dtype(np.int16), "CharStorage": np.dtype(np.int8),
    "ByteStorage": np.dtype(np.uint8), "BoolStorage": np.dtype(np.bool_),
    "ComplexFloatStorage": np.dtype(np.complex64),
    "ComplexDoubleStorage": np.dtype(np.complex128),
}
DTYPE_STORAGES = {v: k for k, v in STORAGE_DTYPES.items()}

# torch dtype name -> numpy dtype (names as pickled: GLOBAL 'torch float32')
TORCH_DTYPES: dict[str, np.dtype] = {
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
V3_DTYPE_NAMES = {np.dtype(np.uint16): "uint16", np.dtype(np.uint32): "uint32",
                  np.dtype(np.uint64): "uint64",
                  np.dtype(ml_dtypes.float8_e4m3fn): "float8_e4m3fn",
                  np.dtype(ml_dtypes.float8_e5m2): "float8_e5m2",
                  np.dtype(ml_dtypes.float8_e4m3fnuz): "float8_e4m3fnuz",
                  np.dtype(ml_dtypes.float8_e5m2fnuz): "float8_e5m2fnuz",
                  np.dtype(ml_dtypes.float8_e8m0fnu): "float8_e8m0fnu"}
