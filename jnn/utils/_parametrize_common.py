"""Helpers shared by the reparametrisation utilities (package-internal): ``weight_norm``,
``spectral_norm``, ``parametrizations``, ``prune`` and ``fusion``.

The legacy hook-based APIs (``weight_norm``, ``spectral_norm``, ``prune``) recompute a tensor
before every forward; torch stores it as a plain attribute, jnn as a non-persistent buffer
(:func:`set_derived`), so that ``nn.jit`` writes the value computed inside a compiled step
back instead of leaking a tracer (``docs/design.md``).
"""
from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from ..modules.module import Module
from ..parameter import Parameter

__all__ = ["as_array", "set_derived", "del_derived", "normalize", "is_conv_transpose",
           "norm_except_dim", "weight_norm_value"]


def as_array(x: Any) -> Any:
    """The array behind ``x``: a Parameter's data, anything else through ``jnp.asarray``;
    ``None`` (an absent bias) stays ``None``."""
    if x is None:
        return None
    return x._data if isinstance(x, Parameter) else jnp.asarray(x)


def set_derived(module: Module, name: str, value: Any) -> None:
    """Store a recomputed tensor (torch: a plain attribute) as a non-persistent buffer.

    Written straight into ``_buffers`` after the first time, so a forward does not count as a
    structural change (``nn.jit`` keeps its cache) and is written back by ``nn.jit``.
    """
    if name in module._buffers:
        module._buffers[name] = value
    else:
        module.register_buffer(name, value, persistent=False)


def del_derived(module: Module, name: str) -> None:
    """Remove what :func:`set_derived` stored (nothing if it is not there)."""
    if name in module._buffers:
        delattr(module, name)


def normalize(x: jax.Array, eps: float) -> jax.Array:
    """``F.normalize(x, dim=0, eps=eps)`` for a vector (real or complex): ``x / max(||x||, eps)``.

    ``abs(x) ** 2`` is ``x * x`` bit for bit for real ``x`` (``integer_pow``)."""
    return x / jnp.maximum(jnp.sqrt(jnp.sum(jnp.abs(x) ** 2)), eps)


def is_conv_transpose(module: Any) -> bool:
    """Whether ``module`` is a ``ConvTranspose{1,2,3}d`` (whose weight's output dimension is 1)."""
    from .. import modules  # (jnn.modules imports jnn.utils: resolved at call time)
    classes = tuple(getattr(modules, n) for n in ("ConvTranspose1d", "ConvTranspose2d",
                                                  "ConvTranspose3d") if hasattr(modules, n))
    return bool(classes) and isinstance(module, classes)


def norm_except_dim(v: Any, pow: float = 2, dim: int = 0) -> jax.Array:
    """``torch.norm_except_dim``: the ``pow``-norm over every dimension but ``dim``, kept as
    size-1 dimensions; ``dim=-1`` gives the norm of the whole tensor (a 0-d array)."""
    v = as_array(v)
    if dim == -1:
        a = jnp.abs(v)
        return jnp.sqrt(jnp.sum(a * a)) if pow == 2 else jnp.sum(a ** pow) ** (1.0 / pow)
    if not -v.ndim <= dim < v.ndim:
        raise IndexError(f"Dimension out of range (expected to be in range of "
                         f"[{-v.ndim}, {v.ndim - 1}], but got {dim})")
    d = dim % v.ndim
    axes = tuple(i for i in range(v.ndim) if i != d)
    a = jnp.abs(v)
    if pow == 2:
        return jnp.sqrt(jnp.sum(a * a, axis=axes, keepdims=True))
    return jnp.sum(a ** pow, axis=axes, keepdims=True) ** (1.0 / pow)


def weight_norm_value(v: Any, g: Any, dim: int = 0) -> jax.Array:
    """``torch._weight_norm``: ``v * (g / norm_except_dim(v, 2, dim))``."""
    v, g = as_array(v), as_array(g)
    return v * (g / norm_except_dim(v, 2, dim))
