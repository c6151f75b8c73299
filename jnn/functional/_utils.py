"""Small helpers shared by the kernels: argument normalisation and validation."""
from __future__ import annotations

import operator
from typing import Any

import jax
import jax.numpy as jnp


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


def int_tuple(value: Any, n: int, fn: str, name: str, minimum: int | None = None, *,
              none_ok: bool = False) -> tuple:
    """``value`` as a tuple of ``n`` Python ints, the one parser of size arguments.

    An int is repeated ``n`` times, a list or tuple of one int too (torch's ``_pair((3,))``);
    otherwise a list or tuple must have ``n`` entries. Every kernel and layer that takes a
    ``kernel_size``/``stride``/``padding``/``dilation``/``output_size`` parses it here, so the
    same mistake raises the same error everywhere:

    * the wrong number of entries: ``ValueError``;
    * an entry that is not an int (a float, a bool, a string): ``TypeError``;
    * an entry below ``minimum``: ``ValueError`` ("positive" for 1, "non-negative" for 0).

    Args:
        value: an int or a list/tuple of ints.
        n: the number of spatial dimensions.
        fn: the kernel or layer name, for the messages.
        name: the argument name, for the messages.
        minimum: the smallest valid entry (``None``: no bound).
        none_ok: ``None`` entries pass through (adaptive pooling's "keep the input size").

    Returns:
        A tuple of ``n`` ints (and ``None`` where ``none_ok`` let them through).
    """
    items = _sized(value, n, fn, name, "an int", "ints")
    out: list[int | None] = []
    for v in items:
        if v is None and none_ok:
            out.append(None)
            continue
        if isinstance(v, bool):
            raise TypeError(f"{fn}: expected {name} to be an int or a tuple of {n} ints, got "
                            f"{value!r}")
        try:
            out.append(operator.index(v))
        except TypeError:
            raise TypeError(f"{fn}: expected {name} to be an int or a tuple of {n} ints, got "
                            f"{value!r}") from None
    if minimum is not None and any(v is not None and v < minimum for v in out):
        what = "positive" if minimum == 1 else "non-negative" if minimum == 0 else f">= {minimum}"
        raise ValueError(f"{fn}: expected {name} to be {what}, got {tuple(out)}")
    return tuple(out)


def float_tuple(value: Any, n: int, fn: str, name: str) -> tuple:
    """``value`` as a tuple of ``n`` Python floats, with ``int_tuple``'s repeat/length rules
    (``output_ratio`` of fractional max pooling); a non-number entry raises ``TypeError``."""
    items = _sized(value, n, fn, name, "a float", "floats")
    try:
        if any(isinstance(v, (bool, str, bytes)) for v in items):
            raise TypeError
        return tuple(float(v) for v in items)
    except TypeError:
        raise TypeError(f"{fn}: expected {name} to be a float or a tuple of {n} floats, got "
                        f"{value!r}") from None


def _sized(value: Any, n: int, fn: str, name: str, one: str, many: str) -> tuple:
    # The length rules shared by int_tuple and float_tuple.
    if isinstance(value, (list, tuple)):
        items = tuple(value)
        if len(items) == 1 and n > 1:
            items = items * n
    else:
        items = (value,) * n
    if len(items) != n:
        raise ValueError(f"{fn}: expected {name} to be {one} or a tuple of {n} {many}, got "
                         f"{value!r}")
    return items


def promote_rank(a: jax.Array, ndim: int) -> jax.Array:
    """``a`` with leading size-1 axes up to rank ``ndim``: numpy's broadcast alignment, explicit.

    torch broadcasts operands of different ranks implicitly (a ``(C,)`` norm weight against an
    ``(N, L, C)`` activation, a ``(L, S)`` mask against ``(N, H, L, S)`` scores). JAX does too,
    unless ``jax_numpy_rank_promotion`` is ``"raise"``, which JAX users may set to catch
    broadcasting mistakes in their own code. Kernels align ranks through this helper so they
    run under either setting. Arrays of rank ``ndim`` or more pass through unchanged.
    """
    if a.ndim >= ndim:
        return a
    return a.reshape((1,) * (ndim - a.ndim) + a.shape)
