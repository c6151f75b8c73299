"""Small helpers shared by the kernels: argument normalisation and validation."""
from __future__ import annotations

import collections.abc
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


def as_array(x: Any, fn: str = "", name: str = "input") -> jax.Array:
    """An array view of ``x``: Parameters unwrap, arrays pass through, numbers convert.

    Anything that is not numeric (a string, ``None``, an arbitrary object) raises a
    ``TypeError`` naming ``fn`` and the argument instead of JAX's conversion error.
    """
    if isinstance(x, jax.Array):
        return x
    read = getattr(x, "__jax_array__", None)
    if read is not None:  # a Parameter: its array directly (jnp.asarray costs ~30 us more)
        value = read()
        if isinstance(value, jax.Array):
            return value
    if isinstance(x, (str, bytes)) or x is None:
        raise _not_an_array(fn, name, x)
    try:
        return jnp.asarray(x)
    except TypeError:
        raise _not_an_array(fn, name, x) from None


def _not_an_array(fn: str, name: str, x) -> TypeError:
    where = f"{fn}: " if fn else ""
    return TypeError(f"{where}expected {name} to be an array (jax.Array, numpy array or Python "
                     f"number), got {type(x).__name__} {_short_repr(x)}")


def _short_repr(x) -> str:
    r = repr(x)
    return r if len(r) <= 40 else r[:37] + "..."


def float_input(fn: str, x: Any, name: str = "input", *, promote_integers: bool = False,
                complex_ok: bool = False) -> jax.Array:
    """``x`` as a floating array, with torch's per-op policy for integer and bool input.

    Most torch kernels refuse integer input (``F.gelu`` on int64: "not implemented for
    'Long'"): that is the default here, a ``TypeError`` naming ``fn``. The few that are
    elementwise math functions in torch (``sigmoid``, ``tanh``, ``softsign``, ``tanhshrink``,
    ``local_response_norm``) compute integer and bool input in float32, torch's default float
    dtype: ``promote_integers=True``. ``complex_ok`` lets complex input through.
    """
    a = as_array(x, fn, name)
    if jnp.issubdtype(a.dtype, jnp.floating):
        return a
    if complex_ok and jnp.issubdtype(a.dtype, jnp.complexfloating):
        return a
    if promote_integers and (jnp.issubdtype(a.dtype, jnp.integer) or a.dtype == jnp.bool_):
        return a.astype(jnp.float32)
    raise TypeError(f"{fn}: expected a floating point {name}, got dtype {a.dtype}")


# float16/bfloat16 data with float32 parameters: the mixed precision torch's CPU normalization
# kernels accept (batch/layer/group/instance norm), computing in float32.
_REDUCED_FLOATS = (jnp.dtype(jnp.float16), jnp.dtype(jnp.bfloat16))


def check_operands(fn: str, /, *, mixed_precision: bool = False, **operands: Any) -> tuple:
    """The named operands of a kernel as arrays, checked the way torch checks them.

    torch never promotes between a kernel's input and its weights: ``F.linear`` with float16
    input and float32 weight raises "mat1 and mat2 must have the same dtype", a float64 bias of
    a float32 convolution raises "Input type (float) and bias type (double) should be the
    same". Every kernel that combines its input with parameters passes them here, so that one
    policy holds for all layers:

    * each operand is an array or a number (``None`` passes through as ``None``); a string or
      other object raises ``TypeError`` naming the argument;
    * every array operand has the dtype of the first one (``TypeError`` naming both arguments
      and both dtypes). With ``mixed_precision=True`` the operands after the first may instead
      all be float32 while the first is float16/bfloat16 (torch's CPU normalization kernels);
      Python numbers are exempt (they take the array's dtype, as in torch);
    * arrays committed to devices (``jax.device_put``, ``Module.to``) are on the same devices:
      ``ValueError`` "expected all arrays to be on the same device, but found at least two
      devices, cpu:0 and cpu:1" (torch's message), instead of JAX's error from inside the
      computation. Traced values are not checked (they have no concrete placement; under
      ``jax.jit`` JAX itself places or rejects them).

    Args:
        fn: the kernel's name, for the messages.
        mixed_precision: accept float16/bfloat16 first operand with float32 others.
        **operands: ``name=value`` in the order the first one is the reference.

    Returns:
        The operands as arrays (``None`` kept), in the order given.
    """
    names = list(operands)
    arrays = tuple(None if v is None else as_array(v, fn, k) for k, v in operands.items())
    # Python numbers take the array's dtype (as in torch): only arrays are compared.
    typed = [(n, a) for n, v, a in zip(names, operands.values(), arrays)
             if a is not None and not isinstance(v, (int, float, bool))]
    if len(typed) > 1:
        (ref_name, ref), rest = typed[0], typed[1:]
        mixed = (mixed_precision and ref.dtype in _REDUCED_FLOATS
                 and all(a.dtype == jnp.float32 for _, a in rest))
        for name, a in rest:
            if a.dtype != ref.dtype and not mixed:
                raise TypeError(f"{fn}: {ref_name} and {name} must have the same dtype, but "
                                f"got {ref.dtype} and {a.dtype}")
    _check_devices(fn, names, arrays)
    return arrays


def _check_devices(fn: str, names, arrays) -> None:
    first_name = first = None
    for name, a in zip(names, arrays):
        if a is None or isinstance(a, jax.core.Tracer) or not a.committed:
            continue
        devices = a.sharding.device_set
        if first is None:
            first_name, first = name, devices
        elif devices != first:
            raise ValueError(
                f"{fn}: expected all arrays to be on the same device, but found at least two "
                f"devices, {_device_names(first)} ({first_name}) and {_device_names(devices)} "
                f"({name}); move them with jax.device_put or Module.to")


def _device_names(devices) -> str:
    return ",".join(sorted(str(d) for d in devices))


def ntuple(value: Any, n: int, name: str = "argument") -> tuple:
    """``value`` repeated ``n`` times if it is a scalar, else checked to have length ``n``."""
    if isinstance(value, collections.abc.Iterable) and not isinstance(value, str):
        value = tuple(value)
        if len(value) == 1 and n > 1:
            return value * n
        if len(value) != n:
            raise ValueError(f"{name}: expected an int or a tuple of {n} ints, got {value}")
        return value
    return (value,) * n


def check_ndim(fn: str, x: jax.Array, allowed: tuple, layout: str = "") -> None:
    """Raise torch's style of error when ``x.ndim`` is not one of ``allowed``."""
    if x.ndim not in allowed:
        dims = " or ".join(str(a) for a in allowed)
        layout = f" {layout}" if layout else ""
        raise ValueError(f"{fn}: expected input with {dims} dimensions{layout}, got shape "
                         f"{tuple(x.shape)}")


def is_floating(x) -> bool:
    return jnp.issubdtype(jnp.result_type(x), jnp.floating)


def float_dtype(x) -> np.dtype:
    dt = jnp.result_type(x)
    return dt if jnp.issubdtype(dt, jnp.floating) else jnp.float32
