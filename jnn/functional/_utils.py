"""Small helpers shared by the kernels: argument normalisation and validation."""
from __future__ import annotations

import collections.abc
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


def as_array(x: Any) -> jax.Array:
    """An array view of ``x``: Parameters unwrap, arrays pass through, numbers convert."""
    if isinstance(x, jax.Array):
        return x
    read = getattr(x, "__jax_array__", None)
    if read is not None:  # a Parameter: its array directly (jnp.asarray costs ~30 us more)
        value = read()
        if isinstance(value, jax.Array):
            return value
    return jnp.asarray(x)


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
