"""torch's tensor functions at jnn's top level: ``nn.zeros(2, 3)``, ``nn.cat(xs, dim=1)``, ...

A ported program keeps its ``torch.zeros`` / ``torch.cat`` / ``torch.no_grad`` lines with
``torch`` replaced by ``nn``: the functions take torch's arguments (varargs shapes, ``dim=``,
``keepdim=``, ``dtype=``, ``device=``) and return ``jax.Array``\\ s. The torch dtype names are
here too (``nn.float32``, ``nn.float``, ``nn.long``, ...) as numpy dtypes, so they also work in
``jnp`` code (``x.astype(nn.long)``).

Everything is built on ``jax.numpy``; what this module adds is torch's semantics where numpy's
differ: ``squeeze(x, dim)`` leaves a dimension that is not of size 1 alone, ``chunk``/``split``
cut like torch, ``max(x, dim)`` returns ``(values, indices)``, ``std``/``var`` are unbiased by
default, ``clamp`` has torch's gradient at the bounds, ``arange``/``linspace`` compute their
points like torch (in double precision, then cast), and bad arguments raise a ``ValueError`` /
``TypeError`` naming the argument instead of an XLA error.

Gradient modes (``no_grad``, ``enable_grad``, ``inference_mode``, ``set_grad_enabled``):
    JAX differentiates only what you ask it to (``nn.value_and_grad``, ``jax.grad``): no
    operation records a graph, so evaluation code under ``with nn.no_grad():`` or
    ``@nn.no_grad()`` computes exactly what torch computes, and the contexts cost nothing.
    What cannot be copied is a ``no_grad`` block *inside a function being differentiated*
    (torch detaches every tensor made in the block); jnn cannot see those arrays, and letting
    gradients flow through them would silently change the gradient. So entering ``no_grad`` /
    ``inference_mode`` / ``set_grad_enabled(False)`` while ``nn.grad``/``jax.grad`` is tracing
    raises a ``RuntimeError`` that says to wrap the values in ``nn.detach(x)``
    (``jax.lax.stop_gradient``) instead. ``is_grad_enabled()`` reports the mode, as in torch.

Differences from PyTorch:
    Without JAX's 64-bit mode (``jax.config.update("jax_enable_x64", True)``) 64-bit types
    become 32-bit: ``nn.tensor([1, 2])``, ``nn.arange(5)`` and ``nn.argmax`` give int32 where
    torch gives int64, and float64 data becomes float32. An integer that does not fit raises a
    ``ValueError`` instead of wrapping around. ``empty``/``empty_like`` return zeros (JAX has no
    uninitialised memory). ``from_numpy`` copies (a later change to the numpy array does not
    show in the jax array). ``requires_grad=True`` raises: jax arrays carry no gradient flag; a
    trainable array is an ``nn.Parameter``. ``where(condition)`` (one argument) and
    ``nonzero``-like results need concrete values, so not under ``nn.jit``.
"""
from __future__ import annotations

import collections
import collections.abc
import functools
import math
import threading
from collections.abc import Sequence
from typing import Any, TypeAlias

import jax
import jax.numpy as jnp
import numpy as np

from ._placement import parse_device, parse_dtype
from ._state import tracing
from .amp.autocast_mode import autocast_op
from .functional import activation as _activation

__all__ = [
    # dtypes
    "float32", "float", "float64", "double", "float16", "half", "bfloat16", "complex64",
    "cfloat", "complex128", "cdouble", "uint8", "int8", "int16", "short", "int32", "int",
    "int64", "long", "bool", "Tensor",
    # creation
    "zeros", "ones", "full", "empty", "zeros_like", "ones_like", "full_like", "empty_like",
    "arange", "linspace", "eye", "tensor", "as_tensor", "from_numpy",
    # joining, slicing, reshaping
    "cat", "concat", "concatenate", "stack", "flatten", "squeeze", "unsqueeze", "transpose",
    "t", "permute", "chunk", "split", "where", "clamp", "clip", "tril", "triu",
    # products, reductions, activations
    "matmul", "mm", "bmm", "argmax", "argmin", "max", "min", "sum", "mean", "std", "var",
    "softmax", "log_softmax", "numel", "detach",
    # gradient modes
    "no_grad", "enable_grad", "inference_mode", "set_grad_enabled", "is_grad_enabled",
]

# The builtins, before the dtype names below shadow them (aliases so annotations can use them).
_builtin_bool: TypeAlias = bool
_builtin_int: TypeAlias = int
_builtin_float: TypeAlias = float
_builtin_max, _builtin_min, _builtin_sum = max, min, sum

# -- dtypes -----------------------------------------------------------------------------------
# numpy dtypes: they print as dtype('float32'), compare equal to jnp.float32 and work wherever
# jax or numpy take a dtype. 64-bit ones are 32-bit in arrays unless x64 is enabled.
float32 = float = jnp.dtype("float32")
float64 = double = jnp.dtype("float64")
float16 = half = jnp.dtype("float16")
bfloat16 = jnp.dtype(jnp.bfloat16)
complex64 = cfloat = jnp.dtype("complex64")
complex128 = cdouble = jnp.dtype("complex128")
uint8 = jnp.dtype("uint8")
int8 = jnp.dtype("int8")
int16 = short = jnp.dtype("int16")
int32 = int = jnp.dtype("int32")
int64 = long = jnp.dtype("int64")
bool = jnp.dtype("bool")
Tensor = jax.Array  # for annotations and isinstance checks: ``def forward(self, x: nn.Tensor)``

_DEFAULT_FLOAT = jnp.dtype("float32")  # torch.get_default_dtype()


def _dtype(dtype):
    """The dtype an array will really have: torch/numpy/str names accepted, 64-bit types
    narrowed when x64 is off (silently: that is JAX's mode, documented above)."""
    if dtype is None:
        return None
    try:
        parsed = parse_dtype(dtype)
    except TypeError as e:
        raise TypeError(f"dtype: expected a dtype such as nn.float32, got {dtype!r}") from e
    return jax.dtypes.canonicalize_dtype(parsed)


def _finish(x, device, requires_grad: _builtin_bool, fn: str):
    if requires_grad:
        raise ValueError(f"{fn}: requires_grad=True has no meaning for a jax array (JAX "
                         "differentiates what you pass to nn.grad/jax.grad); for a trainable "
                         "array use nn.Parameter(x)")
    if device is not None:
        x = jax.device_put(x, parse_device(device))
    return x


def _shape(size: tuple, fn: str) -> tuple:
    """torch's size arguments: ``zeros(2, 3)``, ``zeros((2, 3))``, ``zeros([2, 3])``."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for s in size:
        if isinstance(s, _builtin_bool) or not isinstance(s, (_builtin_int, np.integer)):
            raise TypeError(f"{fn}: size must be ints, got {tuple(size)!r}")
        if s < 0:
            raise ValueError(f"{fn}: size must be non-negative, got {tuple(size)}")
    return tuple(_builtin_int(s) for s in size)


def _dim(dim, ndim: _builtin_int, fn: str, name: str = "dim") -> _builtin_int:
    """A dimension index in ``[-ndim, ndim)`` made non-negative (0-d arrays accept 0 and -1)."""
    if isinstance(dim, _builtin_bool) or not isinstance(dim, (_builtin_int, np.integer)):
        raise TypeError(f"{fn}: {name} must be an int, got {dim!r}")
    span = _builtin_max(ndim, 1)
    if not -span <= dim < span:
        # AxisError is both a ValueError and an IndexError (what torch raises).
        raise np.exceptions.AxisError(
            f"{fn}: {name}={dim} is out of range for an array with {ndim} dimensions "
            f"(expected a value in [{-span}, {span - 1}])")
    return _builtin_int(dim) % span


def _array(x, fn: str, name: str = "input") -> jax.Array:
    if isinstance(x, (jax.Array, np.ndarray, np.generic)) or hasattr(x, "__jax_array__"):
        return jnp.asarray(x)
    if isinstance(x, (_builtin_int, _builtin_float, complex, _builtin_bool)):
        return jnp.asarray(x)
    raise TypeError(f"{fn}: {name} must be an array, got {type(x).__name__}")


def _check_fits(host: np.ndarray, fn: str, target=None) -> None:
    """Refuse integers that would wrap around when ``host`` becomes ``target`` (default: its
    own dtype as JAX holds it; without x64, int64 data becomes int32)."""
    target = jax.dtypes.canonicalize_dtype(host.dtype if target is None else target)
    if host.dtype.kind not in "iu" or target.kind not in "iu" or not host.size:
        return
    info = np.iinfo(target)
    lo, hi = host.min(), host.max()
    if lo < info.min or hi > info.max:
        hint = (" (JAX's 64-bit mode is off: enable it with "
                "jax.config.update('jax_enable_x64', True))"
                if target.itemsize < 8 and host.dtype.itemsize == 8 else "")
        raise ValueError(f"{fn}: integer values in [{lo}, {hi}] do not fit in "
                         f"{info.dtype}{hint}")


def _scalar_dtype(value):
    """The dtype torch gives a Python scalar (``full``'s fill_value, ``tensor(3)``)."""
    if isinstance(value, _builtin_bool):
        return jnp.dtype("bool")
    if isinstance(value, (_builtin_int, np.integer)):
        return jax.dtypes.canonicalize_dtype(jnp.int64)
    if isinstance(value, complex):
        return jnp.dtype("complex64")
    if isinstance(value, (_builtin_float, np.floating)):
        return _DEFAULT_FLOAT
    return jnp.result_type(value)


# -- creation ---------------------------------------------------------------------------------

def zeros(*size: Any, dtype: Any = None, device: Any = None,
          requires_grad: _builtin_bool = False) -> jax.Array:
    """An array of zeros (``torch.zeros``): ``nn.zeros(2, 3)`` or ``nn.zeros((2, 3))``.

    Args:
        *size: the shape, as ints or one tuple/list.
        dtype: default float32. device: ``"cpu"``, ``"cuda:0"``, a ``jax.Device``.

    Example:
        >>> nn.zeros(2, 3, dtype=nn.long).dtype    # int32 unless x64 is on
        dtype('int32')
    """
    shape = _shape(size, "zeros")
    return _finish(jnp.zeros(shape, _dtype(dtype) or _DEFAULT_FLOAT), device, requires_grad,
                   "zeros")


def ones(*size: Any, dtype: Any = None, device: Any = None,
         requires_grad: _builtin_bool = False) -> jax.Array:
    """An array of ones (``torch.ones``); arguments as :func:`zeros`."""
    shape = _shape(size, "ones")
    return _finish(jnp.ones(shape, _dtype(dtype) or _DEFAULT_FLOAT), device, requires_grad,
                   "ones")


def empty(*size: Any, dtype: Any = None, device: Any = None,
          requires_grad: _builtin_bool = False) -> jax.Array:
    """``torch.empty``: zeros, since JAX has no uninitialised memory."""
    shape = _shape(size, "empty")
    return _finish(jnp.zeros(shape, _dtype(dtype) or _DEFAULT_FLOAT), device, requires_grad,
                   "empty")


def full(size: Any, fill_value: Any, *, dtype: Any = None, device: Any = None,
         requires_grad: _builtin_bool = False) -> jax.Array:
    """An array filled with ``fill_value`` (``torch.full``); the dtype follows the value like
    torch's (bool, int64, float32 for a Python bool, int, float)."""
    shape = _shape((size,) if isinstance(size, (tuple, list)) else (size,), "full")
    dt = _dtype(dtype) or _dtype(_scalar_dtype(fill_value))
    return _finish(jnp.full(shape, fill_value, dt), device, requires_grad, "full")


def _like(fn: str, input, fill_value, dtype, device, requires_grad):
    x = _array(input, fn)
    dt = _dtype(dtype) or x.dtype
    return _finish(jnp.full(x.shape, fill_value, dt), device, requires_grad, fn)


def zeros_like(input: Any, *, dtype: Any = None, device: Any = None,
               requires_grad: _builtin_bool = False) -> jax.Array:
    """Zeros of ``input``'s shape and dtype (``torch.zeros_like``)."""
    return _like("zeros_like", input, 0, dtype, device, requires_grad)


def ones_like(input: Any, *, dtype: Any = None, device: Any = None,
              requires_grad: _builtin_bool = False) -> jax.Array:
    """Ones of ``input``'s shape and dtype (``torch.ones_like``)."""
    return _like("ones_like", input, 1, dtype, device, requires_grad)


def empty_like(input: Any, *, dtype: Any = None, device: Any = None,
               requires_grad: _builtin_bool = False) -> jax.Array:
    """``torch.empty_like``: zeros (JAX has no uninitialised memory)."""
    return _like("empty_like", input, 0, dtype, device, requires_grad)


def full_like(input: Any, fill_value: Any, *, dtype: Any = None, device: Any = None,
              requires_grad: _builtin_bool = False) -> jax.Array:
    """``fill_value`` in ``input``'s shape and dtype (``torch.full_like``)."""
    return _like("full_like", input, fill_value, dtype, device, requires_grad)


def _number(value, fn: str, name: str):
    if isinstance(value, jax.Array) or isinstance(value, np.ndarray):
        if np.shape(value) != ():
            raise ValueError(f"{fn}: {name} must be a number, got an array of shape "
                             f"{np.shape(value)}")
        value = value.item()
    if isinstance(value, _builtin_bool) or not isinstance(
            value, (_builtin_int, _builtin_float, np.integer, np.floating)):
        raise TypeError(f"{fn}: {name} must be a number, got {value!r}")
    return value


def arange(start: Any = 0, end: Any = None, step: Any = 1, *, dtype: Any = None, device: Any = None,
           requires_grad: _builtin_bool = False) -> jax.Array:
    """``[start, end)`` in steps of ``step`` (``torch.arange(end)`` or ``(start, end, step)``).

    Integers give int64 (int32 without x64), any float gives float32. The number of points is
    ``ceil((end - start) / step)`` computed in double precision, like torch.

    Example:
        >>> nn.arange(0, 1, 0.25)
        Array([0.  , 0.25, 0.5 , 0.75], dtype=float32)
    """
    if end is None:
        start, end = 0, start
    start, end, step = (_number(v, "arange", n) for v, n in
                        ((start, "start"), (end, "end"), (step, "step")))
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    if (end - start) * step < 0:
        raise ValueError(f"arange: the bounds (start={start}, end={end}) are inconsistent with "
                         f"the sign of step={step}")
    count = _builtin_int(math.ceil((end - start) / step))
    integral = all(isinstance(v, (_builtin_int, np.integer)) for v in (start, end, step))
    dt = _dtype(dtype) or (_dtype(jnp.int64) if integral else _DEFAULT_FLOAT)
    values = np.float64(start) + np.float64(step) * np.arange(count, dtype=np.float64)
    if integral:
        values = np.int64(start) + np.int64(step) * np.arange(count, dtype=np.int64)
        _check_fits(values, "arange", dt)
    return _finish(jnp.asarray(values.astype(dt)), device, requires_grad, "arange")


def linspace(start: Any, end: Any, steps: _builtin_int, *, dtype: Any = None, device: Any = None,
             requires_grad: _builtin_bool = False) -> jax.Array:
    """``steps`` evenly spaced points from ``start`` to ``end`` inclusive (``torch.linspace``),
    computed with torch's symmetric rule (from ``start`` for the first half, from ``end`` for
    the second) in double precision."""
    start, end = _number(start, "linspace", "start"), _number(end, "linspace", "end")
    if isinstance(steps, _builtin_bool) or not isinstance(steps, (_builtin_int, np.integer)) \
            or steps < 0:
        raise ValueError(f"linspace: steps must be a non-negative int, got {steps!r}")
    i = np.arange(steps, dtype=np.float64)
    step = (end - start) / (steps - 1) if steps > 1 else 0.0
    values = np.where(i < steps // 2, start + step * i, end - step * (steps - 1 - i))
    if steps == 1:
        values = np.full(1, start, np.float64)
    dt = _dtype(dtype) or _DEFAULT_FLOAT
    return _finish(jnp.asarray(values.astype(dt)), device, requires_grad, "linspace")


def eye(n: _builtin_int, m: _builtin_int | None = None, *, dtype: Any = None, device: Any = None,
        requires_grad: _builtin_bool = False) -> jax.Array:
    """The ``n x m`` identity matrix (``torch.eye``; ``m`` defaults to ``n``)."""
    n, m = _shape((n, n if m is None else m), "eye")
    return _finish(jnp.eye(n, m, dtype=_dtype(dtype) or _DEFAULT_FLOAT), device,
                   requires_grad, "eye")


def _has_tracer(data) -> _builtin_bool:
    return any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(data))


def _from_data(data, dtype, fn: str, copy: _builtin_bool) -> jax.Array:
    if isinstance(data, str) or isinstance(data, bytes):
        raise TypeError(f"{fn}: expected numbers, arrays or nested lists of them, got a string")
    if hasattr(data, "__jax_array__") and not isinstance(data, jax.Array):
        data = jnp.asarray(data)  # nn.Parameter
    if isinstance(data, jax.Array) or _has_tracer(data):
        x = data if isinstance(data, jax.Array) else jnp.asarray(data)
        dt = _dtype(dtype) or x.dtype
        return jnp.array(x, dtype=dt, copy=copy) if copy or dt != x.dtype else x
    if type(data).__module__.startswith("torch") and hasattr(data, "numpy"):
        data = data.detach().cpu().numpy()
    typed = isinstance(data, (np.ndarray, np.generic))
    try:
        host = np.asarray(data)
    except (ValueError, TypeError) as e:
        raise ValueError(f"{fn}: could not make an array from the data: {e}") from e
    if host.dtype == object or host.dtype.kind in "USV":
        raise TypeError(f"{fn}: expected numbers, arrays or nested lists of them, got data of "
                        f"numpy dtype {host.dtype}")
    if dtype is None:
        if host.dtype.kind == "f" and not typed:
            host = host.astype(_DEFAULT_FLOAT)        # Python floats: torch's default dtype
        elif host.dtype.kind == "c" and not typed:
            host = host.astype(np.complex64)
        elif host.dtype.kind in "iu" and not typed:
            host = host.astype(np.int64)              # Python ints: int64 (narrowed below)
    dt = _dtype(dtype) or jax.dtypes.canonicalize_dtype(host.dtype)
    _check_fits(host, fn, dt)
    if host.dtype != dt:
        host = host.astype(dt)
    return jnp.array(host, copy=True)


def tensor(data: Any, *, dtype: Any = None, device: Any = None,
           requires_grad: _builtin_bool = False) -> jax.Array:
    """An array holding a copy of ``data`` (``torch.tensor``): numbers, nested lists, numpy or
    jax arrays (torch tensors too).

    Python floats give float32, ints int64 (int32 without x64), bools bool; numpy data keeps
    its dtype (float64 becomes float32 without x64).

    Example:
        >>> nn.tensor([[1, 2], [3, 4]], dtype=nn.float32)
        Array([[1., 2.],
               [3., 4.]], dtype=float32)
    """
    return _finish(_from_data(data, dtype, "tensor", copy=True), device, requires_grad, "tensor")


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> jax.Array:
    """``data`` as an array (``torch.as_tensor``): a jax array of the right dtype is returned
    as is; anything else is converted like :func:`tensor`."""
    return _finish(_from_data(data, dtype, "as_tensor", copy=False), device, False, "as_tensor")


def from_numpy(ndarray: np.ndarray) -> jax.Array:
    """A jax array with ``ndarray``'s values and dtype (``torch.from_numpy``).

    Differences from PyTorch:
        The values are copied: torch shares the numpy buffer, so an in-place change of the
        numpy array would show in the tensor; here it does not.
    """
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray (got {type(ndarray).__name__})")
    if ndarray.dtype == object or ndarray.dtype.kind in "USVM":
        raise TypeError(f"from_numpy: can't convert a numpy array of dtype {ndarray.dtype}; "
                        "supported: bool, integer, float and complex types")
    return _from_data(ndarray, None, "from_numpy", copy=True)


# -- joining, slicing, reshaping --------------------------------------------------------------

def _sequence(tensors, fn: str) -> list:
    if isinstance(tensors, (jax.Array, np.ndarray)) or not isinstance(
            tensors, collections.abc.Sequence):
        raise TypeError(f"{fn}: expected a list or tuple of arrays, got "
                        f"{type(tensors).__name__}")
    if not tensors:
        raise ValueError(f"{fn}: expected a non-empty list of arrays")
    return [_array(t, fn, f"tensors[{i}]") for i, t in enumerate(tensors)]


@autocast_op("cat")
def cat(tensors: Sequence, dim: _builtin_int = 0) -> jax.Array:
    """Join arrays along an existing dimension (``torch.cat``); dtypes promote like torch's.

    Example:
        >>> nn.cat([nn.zeros(2, 3), nn.ones(2, 1)], dim=1).shape
        (2, 4)
    """
    xs = _sequence(tensors, "cat")
    first = xs[0]
    d = _dim(dim, first.ndim, "cat")
    if first.ndim == 0:
        raise ValueError("cat: zero-dimensional arrays cannot be concatenated; use nn.stack")
    for i, x in enumerate(xs[1:], 1):
        if x.ndim != first.ndim or x.shape[:d] + x.shape[d + 1:] != \
                first.shape[:d] + first.shape[d + 1:]:
            raise ValueError(f"cat: arrays must have the same shape except in dimension {d}; "
                             f"tensors[0] has shape {first.shape}, tensors[{i}] {x.shape}")
    return jnp.concatenate(xs, axis=d)


def concat(tensors: Sequence, dim: _builtin_int = 0) -> jax.Array:
    """Alias of :func:`cat` (``torch.concat``)."""
    return cat(tensors, dim)


def concatenate(tensors: Sequence, dim: _builtin_int = 0) -> jax.Array:
    """Alias of :func:`cat` (``torch.concatenate``)."""
    return cat(tensors, dim)


@autocast_op("stack")
def stack(tensors: Sequence, dim: _builtin_int = 0) -> jax.Array:
    """Join equally shaped arrays along a new dimension ``dim`` (``torch.stack``)."""
    xs = _sequence(tensors, "stack")
    for i, x in enumerate(xs[1:], 1):
        if x.shape != xs[0].shape:
            raise ValueError(f"stack: expects each array to be equal size, but got "
                             f"{xs[0].shape} at entry 0 and {x.shape} at entry {i}")
    d = _dim(dim, xs[0].ndim + 1, "stack")
    return jnp.stack(xs, axis=d)


def flatten(input: Any, start_dim: _builtin_int = 0, end_dim: _builtin_int = -1) -> jax.Array:
    """Merge dimensions ``start_dim..end_dim`` into one (``torch.flatten``; 0-d gives ``(1,)``)."""
    x = _array(input, "flatten")
    if x.ndim == 0:
        _dim(start_dim, 0, "flatten", "start_dim")
        _dim(end_dim, 0, "flatten", "end_dim")
        return x.reshape(1)
    s = _dim(start_dim, x.ndim, "flatten", "start_dim")
    e = _dim(end_dim, x.ndim, "flatten", "end_dim")
    if s > e:
        raise ValueError(f"flatten: start_dim ({start_dim}) cannot come after end_dim "
                         f"({end_dim}) for an array with {x.ndim} dimensions")
    merged = _builtin_int(np.prod(x.shape[s:e + 1], dtype=np.int64))
    return x.reshape(x.shape[:s] + (merged,) + x.shape[e + 1:])


def squeeze(input: Any, dim: Any = None) -> jax.Array:
    """Drop dimensions of size 1 (``torch.squeeze``): all of them, or those in ``dim`` (an int
    or a tuple); a named dimension whose size is not 1 is left alone, as in torch (numpy
    raises)."""
    x = _array(input, "squeeze")
    if dim is None:
        return jnp.squeeze(x)
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    axes = {_dim(d, x.ndim, "squeeze") for d in dims}
    keep = tuple(a for a in sorted(axes) if x.ndim and x.shape[a] == 1)
    return jnp.squeeze(x, axis=keep) if keep else x


def unsqueeze(input: Any, dim: _builtin_int) -> jax.Array:
    """Insert a dimension of size 1 at ``dim`` (``torch.unsqueeze``; ``dim`` in
    ``[-ndim - 1, ndim]``)."""
    x = _array(input, "unsqueeze")
    return jnp.expand_dims(x, _dim(dim, x.ndim + 1, "unsqueeze"))


def transpose(input: Any, dim0: _builtin_int, dim1: _builtin_int) -> jax.Array:
    """Swap two dimensions (``torch.transpose``).

    Note: ``x.transpose(0, 1)`` on a jax array is numpy's transpose, whose arguments are the
    whole permutation: on a 2-D array it returns ``x`` unchanged. Use ``nn.transpose(x, 0, 1)``
    or ``x.swapaxes(0, 1)``.
    """
    x = _array(input, "transpose")
    return jnp.swapaxes(x, _dim(dim0, x.ndim, "transpose", "dim0"),
                        _dim(dim1, x.ndim, "transpose", "dim1"))


def t(input: Any) -> jax.Array:
    """The transpose of an array with at most 2 dimensions (``torch.t``)."""
    x = _array(input, "t")
    if x.ndim > 2:
        raise ValueError(f"t: expects an array with <= 2 dimensions, got shape {x.shape}; "
                         "use nn.transpose(x, dim0, dim1)")
    return x.T


def permute(input: Any, dims: Sequence[_builtin_int]) -> jax.Array:
    """Reorder the dimensions (``torch.permute(x, (2, 0, 1))``)."""
    x = _array(input, "permute")
    if not isinstance(dims, (tuple, list)):
        raise TypeError(f"permute: dims must be a tuple of ints, got {dims!r}")
    if len(dims) != x.ndim:
        raise ValueError(f"permute: dims {tuple(dims)} must name each of the {x.ndim} "
                         f"dimensions of an array of shape {x.shape} once")
    axes = tuple(_dim(d, x.ndim, "permute", "dims") for d in dims)
    if len(set(axes)) != len(axes):
        raise ValueError(f"permute: dims {tuple(dims)} repeat a dimension")
    return jnp.transpose(x, axes)


def chunk(input: Any, chunks: _builtin_int, dim: _builtin_int = 0) -> tuple:
    """Split into ``chunks`` pieces of ``ceil(size / chunks)`` (the last smaller; fewer pieces
    when the size does not allow ``chunks``), as ``torch.chunk`` does."""
    x = _array(input, "chunk")
    if isinstance(chunks, _builtin_bool) or not isinstance(chunks, (_builtin_int, np.integer)) \
            or chunks < 1:
        raise ValueError(f"chunk: chunks must be a positive int, got {chunks!r}")
    d = _dim(dim, x.ndim, "chunk")
    if x.ndim == 0:
        raise ValueError("chunk: expects at least a 1-dimensional array")
    n = x.shape[d]
    if n == 0:
        return tuple(x for _ in range(chunks))
    return split(x, -(-n // chunks), d)


def split(tensor: Any, split_size_or_sections: Any, dim: _builtin_int = 0) -> tuple:
    """Split into pieces of ``split_size`` (the last smaller) or of the listed sizes, which
    must add up to the dimension's size (``torch.split``)."""
    x = _array(tensor, "split", "tensor")
    if x.ndim == 0:
        raise ValueError("split: expects at least a 1-dimensional array")
    d = _dim(dim, x.ndim, "split")
    n = x.shape[d]
    if isinstance(split_size_or_sections, (tuple, list)):
        sizes: list = [_builtin_int(s) for s in split_size_or_sections]
        if any(s < 0 for s in sizes) or _builtin_sum(sizes) != n:
            raise ValueError(f"split: split sizes {list(sizes)} must be non-negative and add "
                             f"up to {n} (the size of dimension {d})")
    else:
        size = split_size_or_sections
        if isinstance(size, _builtin_bool) or not isinstance(size, (_builtin_int, np.integer)) \
                or size < 0 or (size == 0 and n):
            raise ValueError(f"split: split_size must be a positive int, got {size!r}")
        sizes = [size] * (n // size) + ([n % size] if n % size else []) if n else [0]
    bounds = np.cumsum(sizes)[:-1].tolist()
    return tuple(jnp.split(x, bounds, axis=d))


def where(condition: Any, input: Any = None, other: Any = None) -> Any:
    """``input`` where ``condition`` holds, else ``other`` (``torch.where``); scalars
    broadcast. ``where(condition)`` alone returns the indices of the true entries, one array
    per dimension (not under ``nn.jit``: its size depends on the values)."""
    cond = _array(condition, "where", "condition")
    if input is None and other is None:
        return jnp.nonzero(cond)
    if input is None or other is None:
        raise TypeError("where: give both input and other, or neither")
    if cond.dtype != jnp.bool_:
        raise TypeError(f"where: condition must be a bool array, got dtype {cond.dtype}")
    return jnp.where(cond, input, other)


def clamp(input: Any, min: Any = None, max: Any = None) -> jax.Array:
    """Limit values to ``[min, max]`` (``torch.clamp``; either bound may be None or an array).

    The gradient is torch's: to ``input`` where ``min <= x <= max`` (bounds included), to an
    array ``min`` where ``x < min < max``, to an array ``max`` where ``x > max`` or
    ``max < min``. ``min > max`` gives ``max`` everywhere.
    """
    x = _array(input, "clamp")
    if min is None and max is None:
        raise ValueError("clamp: at least one of 'min' or 'max' must not be None")
    if min is not None and max is not None:
        dt = jnp.result_type(x, min, max)
        if jnp.issubdtype(dt, jnp.floating):
            return _clamp_both(x.astype(dt), jnp.asarray(min, dt), jnp.asarray(max, dt))
    # One bound: jnp.where's gradient is torch's (numpy's clip splits it at ties).
    if min is not None:
        x = jnp.where(x < min, min, x)
    if max is not None:
        x = jnp.where(x > max, max, x)
    return x


@jax.custom_jvp
def _clamp_both(x, lo, hi):
    y = jnp.where(x < lo, lo, x)
    return jnp.where(y > hi, hi, y)


@_clamp_both.defjvp
def _clamp_both_jvp(primals, tangents):
    # torch's clamp_backward_min_max: which of x, min, max the output follows.
    x, lo, hi = primals
    tx, tlo, thi = tangents
    out = _clamp_both(x, lo, hi)
    zero = jnp.zeros(out.shape, out.dtype)
    follows_x = (x >= lo) & (x <= hi)
    follows_lo = (x < lo) & (lo < hi)
    follows_hi = (x > hi) | (hi < lo)
    tangent = (jnp.where(follows_x, tx, zero) + jnp.where(follows_lo, tlo, zero)
               + jnp.where(follows_hi, thi, zero))
    return out, tangent.astype(out.dtype)


def clip(input: Any, min: Any = None, max: Any = None) -> jax.Array:
    """Alias of :func:`clamp` (``torch.clip``)."""
    return clamp(input, min, max)


def _matrix_op(fn: str, input, diagonal: _builtin_int, op):
    x = _array(input, fn)
    if x.ndim < 2:
        raise ValueError(f"{fn}: input must have at least 2 dimensions, got shape {x.shape}")
    return op(x, k=diagonal)


def tril(input: Any, diagonal: _builtin_int = 0) -> jax.Array:
    """The lower triangle of the last two dimensions (``torch.tril``)."""
    return _matrix_op("tril", input, diagonal, jnp.tril)


def triu(input: Any, diagonal: _builtin_int = 0) -> jax.Array:
    """The upper triangle of the last two dimensions (``torch.triu``)."""
    return _matrix_op("triu", input, diagonal, jnp.triu)


# -- products, reductions ---------------------------------------------------------------------

@autocast_op("matmul")
def matmul(input: Any, other: Any) -> jax.Array:
    """Matrix product with broadcasting (``torch.matmul``, the ``@`` operator)."""
    a, b = _array(input, "matmul"), _array(other, "matmul", "other")
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: both arguments need at least 1 dimension, got shapes "
                         f"{a.shape} and {b.shape}")
    k_a, k_b = a.shape[-1], b.shape[-2] if b.ndim > 1 else b.shape[0]
    if k_a != k_b:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} cannot be multiplied "
                         f"({k_a} != {k_b})")
    return jnp.matmul(a, b)


@autocast_op("mm")
def mm(input: Any, mat2: Any) -> jax.Array:
    """The product of two matrices (``torch.mm``; 2-D only)."""
    a, b = _array(input, "mm"), _array(mat2, "mm", "mat2")
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"mm: expected 2-D arrays, got shapes {a.shape} and {b.shape}")
    if a.shape[1] != b.shape[0]:
        raise ValueError(f"mm: mat1 and mat2 shapes cannot be multiplied ({a.shape[0]}x"
                         f"{a.shape[1]} and {b.shape[0]}x{b.shape[1]})")
    return a @ b


@autocast_op("bmm")
def bmm(input: Any, mat2: Any) -> jax.Array:
    """Batched matrix product of ``(b, n, m)`` and ``(b, m, p)`` arrays (``torch.bmm``)."""
    a, b = _array(input, "bmm"), _array(mat2, "bmm", "mat2")
    if a.ndim != 3 or b.ndim != 3:
        raise ValueError(f"bmm: expected 3-D arrays, got shapes {a.shape} and {b.shape}")
    if a.shape[0] != b.shape[0] or a.shape[2] != b.shape[1]:
        raise ValueError(f"bmm: shapes {a.shape} and {b.shape} do not match: expected "
                         f"(b, n, m) and (b, m, p)")
    return jnp.matmul(a, b)


def _reduce_dims(x, dim, fn: str):
    if dim is None:
        return None
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    return tuple(sorted({_dim(d, x.ndim, fn) for d in dims}))


def _arg_reduce(fn: str, op, input, dim, keepdim):
    x = _array(input, fn)
    if x.size == 0:
        raise ValueError(f"{fn}: expected a non-empty array, got shape {x.shape}")
    if dim is None:
        out = op(x.reshape(-1))
        return out.reshape((1,) * x.ndim) if keepdim else out
    return op(x, axis=_dim(dim, x.ndim, fn), keepdims=keepdim)


def argmax(input: Any, dim: _builtin_int | None = None,
           keepdim: _builtin_bool = False) -> jax.Array:
    """Index of the (first) largest value, over the flattened array or along ``dim``
    (``torch.argmax``; NaN counts as largest)."""
    return _arg_reduce("argmax", jnp.argmax, input, dim, keepdim)


def argmin(input: Any, dim: _builtin_int | None = None,
           keepdim: _builtin_bool = False) -> jax.Array:
    """Index of the (first) smallest value (``torch.argmin``)."""
    return _arg_reduce("argmin", jnp.argmin, input, dim, keepdim)


# torch.return_types.max / .min: named (values, indices) pairs.
# (Named as torch's types print: ``max(values=..., indices=...)``.)
_MaxResult = collections.namedtuple("max", ["values", "indices"])  # type: ignore[name-match]
_MinResult = collections.namedtuple("min", ["values", "indices"])  # type: ignore[name-match]


def _max_min(fn: str, input, dim, keepdim, other, pick, elementwise, whole, result):
    x = _array(input, fn)
    if other is not None or isinstance(dim, (jax.Array, np.ndarray)):
        if other is None:
            other, dim = dim, None
        if dim is not None:
            raise TypeError(f"{fn}: give dim or other, not both")
        return elementwise(x, _array(other, fn, "other"))
    if x.size == 0:
        raise ValueError(f"{fn}: expected a non-empty array, got shape {x.shape}; "
                         "the reduction has no identity")
    if dim is None:
        if keepdim:
            raise TypeError(f"{fn}: keepdim needs dim")
        return whole(x)                       # ties share the gradient evenly, like torch
    d = _dim(dim, x.ndim, fn)
    if x.ndim == 0:
        return result(x, jnp.zeros((), jax.dtypes.canonicalize_dtype(jnp.int64)))
    idx = pick(x, axis=d, keepdims=True)
    values = jnp.take_along_axis(x, idx, axis=d)  # the gradient goes to the chosen index only
    if not keepdim:
        values, idx = jnp.squeeze(values, d), jnp.squeeze(idx, d)
    return result(values, idx)


def max(input: Any, dim: Any = None, keepdim: _builtin_bool = False, *, other: Any = None) -> Any:
    """``torch.max``: ``max(x)`` the largest value; ``max(x, dim, keepdim=False)`` a named
    pair ``(values, indices)``; ``max(x, other)`` the elementwise maximum.

    Note: a jax array's own ``x.max(1)`` returns only the values, so ``v, i = x.max(1)``
    would silently unpack rows; write ``v, i = nn.max(x, 1)``.
    """
    return _max_min("max", input, dim, keepdim, other, jnp.argmax, jnp.maximum, jnp.max,
                    _MaxResult)


def min(input: Any, dim: Any = None, keepdim: _builtin_bool = False, *, other: Any = None) -> Any:
    """``torch.min``: as :func:`max`, for the smallest value."""
    return _max_min("min", input, dim, keepdim, other, jnp.argmin, jnp.minimum, jnp.min,
                    _MinResult)


@autocast_op("sum")
def sum(input: Any, dim: Any = None, keepdim: _builtin_bool = False, *,
        dtype: Any = None) -> jax.Array:
    """The sum over all elements or the dimension(s) ``dim`` (``torch.sum``)."""
    x = _array(input, "sum")
    dt = _dtype(dtype)
    if dt is None and x.dtype.kind in "biu":
        dt = _dtype(jnp.int64)                # torch sums bools and ints in int64
    return jnp.sum(x, axis=_reduce_dims(x, dim, "sum"), keepdims=keepdim, dtype=dt)


def mean(input: Any, dim: Any = None, keepdim: _builtin_bool = False, *,
         dtype: Any = None) -> jax.Array:
    """The mean over all elements or the dimension(s) ``dim`` (``torch.mean``; floating
    input, or a floating ``dtype``)."""
    x = _array(input, "mean")
    dt = _dtype(dtype)
    if (dt or x.dtype).kind not in "fc":
        raise TypeError(f"mean: input dtype must be floating point or complex, got "
                        f"{x.dtype}; pass dtype=nn.float32 or convert with .astype")
    return jnp.mean(x, axis=_reduce_dims(x, dim, "mean"), keepdims=keepdim, dtype=dt)


def _correction(fn: str, unbiased, correction):
    if unbiased is not None and correction is not None:
        raise TypeError(f"{fn}: give unbiased or correction, not both")
    if correction is None:
        return 1 if unbiased is None or unbiased else 0
    return correction


def _moment(fn: str, op, input, dim, unbiased, keepdim, correction):
    x = _array(input, fn)
    if x.dtype.kind not in "fc":
        raise TypeError(f"{fn}: input dtype must be floating point or complex, got {x.dtype}")
    if isinstance(dim, _builtin_bool):      # torch.std(x, True): the legacy unbiased argument
        dim, unbiased = None, dim
    return op(x, axis=_reduce_dims(x, dim, fn), ddof=_correction(fn, unbiased, correction),
              keepdims=keepdim)


def std(input: Any, dim: Any = None, unbiased: _builtin_bool | None = None,
        keepdim: _builtin_bool = False, *, correction: Any = None) -> jax.Array:
    """Standard deviation (``torch.std``): unbiased (``correction=1``) by default, where
    ``jnp.std``/``x.std()`` divide by ``n``."""
    return _moment("std", jnp.std, input, dim, unbiased, keepdim, correction)


def var(input: Any, dim: Any = None, unbiased: _builtin_bool | None = None,
        keepdim: _builtin_bool = False, *, correction: Any = None) -> jax.Array:
    """Variance (``torch.var``): unbiased (``correction=1``) by default, unlike ``jnp.var``."""
    return _moment("var", jnp.var, input, dim, unbiased, keepdim, correction)


@autocast_op("softmax")
def softmax(input: Any, dim: _builtin_int, dtype: Any = None) -> jax.Array:
    """``torch.softmax``: ``F.softmax`` with a required ``dim``."""
    return _activation.softmax(input, dim=dim, dtype=dtype)


@autocast_op("log_softmax")
def log_softmax(input: Any, dim: _builtin_int, dtype: Any = None) -> jax.Array:
    """``torch.log_softmax``: ``F.log_softmax`` with a required ``dim``."""
    return _activation.log_softmax(input, dim=dim, dtype=dtype)


def numel(input: Any) -> _builtin_int:
    """The number of elements (``torch.numel``; a jax array's ``x.size``)."""
    return _builtin_int(np.prod(np.shape(_array(input, "numel")), dtype=np.int64))


def detach(input: Any) -> jax.Array:
    """``input`` with its gradient stopped (``torch.detach`` / ``x.detach()``):
    ``jax.lax.stop_gradient``."""
    return jax.lax.stop_gradient(_array(input, "detach"))


# -- gradient modes ---------------------------------------------------------------------------

_grad_mode = threading.local()


def is_grad_enabled() -> _builtin_bool:
    """False inside ``no_grad`` / ``inference_mode`` / ``set_grad_enabled(False)``."""
    return getattr(_grad_mode, "enabled", True)


def _being_differentiated() -> _builtin_bool:
    """Whether the code runs inside ``jax.grad`` / ``nn.grad`` (a JVP/linearize trace is
    active; ``jnn._state.tracing`` reads it). Tested in tests/test_tensor_functions.py."""
    return tracing.under_differentiation()


class _GradMode:
    """A context manager that is also a decorator (``@nn.no_grad()`` and ``@nn.no_grad``)."""

    _enabled: _builtin_bool = True

    def __new__(cls, *args, **kwargs):
        if cls is not set_grad_enabled and len(args) == 1 and callable(args[0]) \
                and not kwargs and not isinstance(args[0], _builtin_bool):
            return cls()(args[0])  # bare decorator: @nn.no_grad
        return super().__new__(cls)

    def __enter__(self):
        self._previous = is_grad_enabled()
        if not self._enabled and _being_differentiated():
            raise RuntimeError(
                f"nn.{type(self).__name__} inside a function that nn.grad/jax.grad is "
                "differentiating: jnn cannot stop the gradient of every array computed in the "
                "block, and letting it flow would silently change the gradient. Wrap the "
                "values that must not carry a gradient in nn.detach(x) "
                "(jax.lax.stop_gradient) instead.")
        _grad_mode.enabled = self._enabled
        return self

    def __exit__(self, *exc):
        _grad_mode.enabled = self._previous
        return False

    def __call__(self, fn):
        mode = self

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with mode.clone():
                return fn(*args, **kwargs)
        return wrapper

    def clone(self):
        return type(self)()


class no_grad(_GradMode):
    """``torch.no_grad``: a context manager and decorator for code that needs no gradients.

    JAX records no graph outside ``nn.grad``/``jax.grad``, so the block computes what torch
    computes at no cost. Entering it inside a function being differentiated raises (use
    ``nn.detach``); see this module's docstring.

    Example:
        >>> model, x, y = nn.Linear(4, 3), nn.randn(8, 4), nn.randint(0, 3, (8,))
        >>> with nn.no_grad():
        ...     accuracy = (model(x).argmax(1) == y).mean()
        >>> accuracy.shape, accuracy.dtype
        ((), dtype('float32'))
    """

    _enabled = False


class enable_grad(_GradMode):
    """``torch.enable_grad``: undoes ``no_grad`` for a block (gradients are always available
    to ``nn.grad`` in JAX, so this only sets ``is_grad_enabled()``)."""

    _enabled = True


class inference_mode(_GradMode):
    """``torch.inference_mode(mode=True)``: ``no_grad`` when ``mode`` is true."""

    def __init__(self, mode: _builtin_bool = True) -> None:
        self.mode = mode
        self._enabled = not mode

    def clone(self):
        return type(self)(self.mode)


class set_grad_enabled(_GradMode):
    """``torch.set_grad_enabled(mode)``: sets the mode now (as a function call) or for a block
    (as a context manager) or a function (as a decorator)."""

    def __init__(self, mode: _builtin_bool) -> None:
        if not isinstance(mode, (_builtin_bool, np.bool_)):
            raise TypeError(f"set_grad_enabled: mode must be a bool, got {mode!r}")
        self.mode = _builtin_bool(mode)
        self._enabled = self.mode
        self._previous = is_grad_enabled()
        if not self.mode and _being_differentiated():
            self.__enter__()  # raises the explanation
        _grad_mode.enabled = self.mode  # torch applies the mode at construction

    def __enter__(self):
        previous = self._previous
        super().__enter__()
        self._previous = previous
        return self

    def clone(self):
        return type(self)(self.mode)

    def __call__(self, fn):
        _grad_mode.enabled = self._previous  # as a decorator it applies per call, not now
        return super().__call__(fn)
