"""torch-style text for arrays, used by ``Parameter.__repr__``.

torch prints ``tensor([[ 0.5180,  1.4337], ...], requires_grad=True)``: four decimals, one
common width, a trailing ``.`` for integral floats, scientific notation when the magnitudes
span too much, and ``dtype=`` only when it is not the default. This reproduces that layout.
"""
from __future__ import annotations

from typing import Any

import numpy as np

_DEFAULT_DTYPES = ("float32", "int64", "bool")


def _float_formatter(values: np.ndarray):
    finite = np.abs(values[np.isfinite(values)])
    if finite.size == 0:
        return lambda v: f"{v}"
    if np.all(finite == np.round(finite)) and finite.max() < 1e8:
        return lambda v: f"{v:.0f}." if np.isfinite(v) else f"{v}"
    nonzero = finite[finite != 0]
    lo = nonzero.min() if nonzero.size else 0.0
    hi = finite.max()
    if hi > 1e8 or (lo and (hi / lo > 1e3 or lo < 1e-4)):
        return lambda v: f"{v:.4e}" if np.isfinite(v) else f"{v}"
    return lambda v: f"{v:.4f}" if np.isfinite(v) else f"{v}"


def format_array(data, *, name: str = "tensor", suffixes: tuple = ()) -> str:
    """Return ``name(values[, dtype=...][, suffixes...])`` laid out the way torch prints."""
    arr = np.asarray(data)
    dtype = str(arr.dtype)
    extras = list(suffixes)
    if dtype not in _DEFAULT_DTYPES:
        extras.insert(0, f"dtype=torch.{dtype}" if dtype != "bfloat16" else "dtype=torch.bfloat16")
    prefix = name + "("
    formatter: Any  # numpy's formatter dict
    if arr.size == 0:
        body = "[]"
        if arr.shape != (0,):
            extras.insert(0, f"size={tuple(arr.shape)}")
    else:
        if arr.dtype.kind == "f" or dtype == "bfloat16":
            fmt = _float_formatter(arr.astype(np.float64))
            formatter = {"float_kind": fmt, "numpystr": fmt}
            arr_print = arr.astype(np.float64)
        elif arr.dtype.kind == "b":
            formatter = {"bool": lambda v: "True" if v else "False"}
            arr_print = arr
        else:
            formatter = None
            arr_print = arr
        body = np.array2string(arr_print, separator=", ", prefix=prefix, formatter=formatter,
                               max_line_width=80, threshold=1000, edgeitems=3)
        if formatter and arr.dtype.kind == "f":
            # numpy right-aligns each column independently; torch uses one width throughout.
            body = _common_width(arr_print, fmt, prefix)
    tail = "".join(", " + e for e in extras)
    return f"{prefix}{body}{tail})"


def _common_width(arr: np.ndarray, fmt, prefix: str) -> str:
    width = max(len(fmt(v)) for v in arr.reshape(-1)) if arr.size <= 1000 else 10
    return np.array2string(arr, separator=", ", prefix=prefix, max_line_width=80,
                           formatter={"float_kind": lambda v: fmt(v).rjust(width)},
                           threshold=1000, edgeitems=3)
