"""Gradient clipping (``torch.nn.utils.clip_grad``).

Two ways to call each function:

* torch's way: pass parameters (an iterable of :class:`~jnn.Parameter`, or one). Their ``.grad``
  slots are read and rewritten in place (filled by ``Grads.accumulate()`` or by you). This works
  eagerly and inside ``nn.jit`` (``.grad`` is state that ``nn.jit`` writes back).
* the jnn way (an extension): pass the :class:`~jnn.Grads` returned by ``nn.value_and_grad``
  (or any ``Mapping`` name -> array). Nothing is mutated; the clipped gradients are returned,
  as ``(clipped_grads, total_norm)`` for the norm-based functions and ``clipped_grads`` for
  :func:`clip_grad_value_`. This is the jit-friendly functional path::

      loss, grads = nn.value_and_grad(loss_fn)(model)
      grads, norm = nn.utils.clip_grad_norm_(grads, max_norm=1.0)
      opt.step(grads)
"""
from __future__ import annotations

import types
import warnings
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp

from ..functional.distance import vector_norm
from ..parameter import Parameter, is_array
from ..transforms import Grads

__all__ = ["clip_grad_norm", "clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_",
           "get_total_norm"]


# -- helpers ----------------------------------------------------------------------------------

def _is_grads(obj: Any) -> bool:
    """A gradient mapping (``Grads`` or ``{name: array}``), as opposed to parameters."""
    if isinstance(obj, Grads):
        return True
    if isinstance(obj, Mapping):
        return all(v is None or (is_array(v) and not isinstance(v, Parameter))
                   for v in obj.values())
    return False


def _grad_values(grads) -> list:
    return [v for v in grads.values() if v is not None]


def _rebuild(grads, new_values: list):
    """The mapping ``grads`` with its non-None values replaced by ``new_values`` in order."""
    it = iter(new_values)
    if isinstance(grads, Grads):
        values = [None if v is None else next(it) for v in grads._values]
        return Grads(grads._names, grads._params, values)
    out = {k: (None if v is None else next(it)) for k, v in grads.items()}
    return type(grads)(out) if isinstance(grads, dict) else out


def _as_param_list(parameters, what: str) -> list:
    if isinstance(parameters, Parameter):
        return [parameters]
    if is_array(parameters):
        raise TypeError(f"{what}: got a plain array; pass Parameters (whose .grad is clipped in "
                        "place) or the Grads returned by nn.value_and_grad")
    return list(parameters)


def _vector_norm(x, p: float):
    """``torch.linalg.vector_norm(x, p)`` over all elements (0 for an empty array)."""
    x = jnp.asarray(x)
    if x.size == 0:
        return jnp.zeros((), x.dtype if jnp.issubdtype(x.dtype, jnp.inexact) else jnp.float32)
    return vector_norm(x.reshape(-1), p, axis=0)


def _check_finite(total_norm, norm_type: float) -> None:
    message = (f"The total norm of order {norm_type} for gradients from `parameters` is "
               "non-finite, so it cannot be clipped. To disable this error and scale the "
               "gradients by the non-finite norm anyway, set `error_if_nonfinite=False`")
    if isinstance(total_norm, jax.core.Tracer):
        def raise_if(bad):
            if bool(bad):
                raise RuntimeError(message)
        jax.debug.callback(raise_if, ~jnp.isfinite(total_norm))
        return
    if not bool(jnp.isfinite(total_norm)):
        raise RuntimeError(message)


def _total_norm(arrays: list, norm_type: float, error_if_nonfinite: bool):
    if not arrays:
        return jnp.asarray(0.0, jnp.float32)
    norms = [_vector_norm(g, norm_type) for g in arrays]
    total = _vector_norm(jnp.stack(norms), norm_type)
    if error_if_nonfinite:
        _check_finite(total, norm_type)
    return total


def _clip_coef(max_norm: float, total_norm):
    return jnp.minimum(float(max_norm) / (jnp.asarray(total_norm) + 1e-6), 1.0)


# -- public API -------------------------------------------------------------------------------

def get_total_norm(tensors: Any, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                   foreach: bool | None = None) -> jax.Array:
    """The norm of a collection of arrays, as if they were concatenated into one vector
    (``torch.nn.utils.get_total_norm``).

    Args:
        tensors: an array, an iterable of arrays/Parameters, or a :class:`~jnn.Grads` /
            ``Mapping`` name -> array (its values are used).
        norm_type: the p of the p-norm; ``float('inf')`` for the max-norm.
        error_if_nonfinite: raise ``RuntimeError`` if the norm is nan or inf (under ``nn.jit``
            the check runs as a host callback and the error surfaces when the step runs).
        foreach: accepted for compatibility; ignored (XLA fuses the per-array norms).

    Returns:
        A scalar array: ``norm([norm(t, p) for t in tensors], p)``; ``0.0`` for no tensors.

    Example:
        >>> nn.utils.get_total_norm([jnp.ones(3), jnp.ones(1)])
        Array(2., dtype=float32)
    """
    norm_type = float(norm_type)
    if _is_grads(tensors):
        arrays = _grad_values(tensors)
    elif is_array(tensors) or isinstance(tensors, Parameter):
        arrays = [tensors]
    else:
        arrays = list(tensors)
    return _total_norm(arrays, norm_type, error_if_nonfinite)


def clip_grads_with_norm_(parameters: Any, max_norm: float, total_norm: Any,
                          foreach: bool | None = None) -> Any:
    """Scale gradients by ``min(max_norm / (total_norm + 1e-6), 1)`` given a precomputed norm
    (``torch.nn.utils.clip_grads_with_norm_``).

    Args:
        parameters: Parameters (their ``.grad`` is scaled in place; returns ``None``) or a
            :class:`~jnn.Grads` / ``Mapping`` of gradients (jnn extension: returns
            ``(scaled_grads, total_norm)`` and mutates nothing).
        max_norm: the norm the gradients are scaled down to.
        total_norm: e.g. from :func:`get_total_norm`.
        foreach: ignored.

    Example:
        >>> model = nn.Linear(3, 1)
        >>> nn.grad(lambda m: 10 * m(jnp.ones((1, 3))).sum())(model).accumulate()   # into .grad
        >>> norm = nn.utils.get_total_norm([p.grad for p in model.parameters()])
        >>> nn.utils.clip_grads_with_norm_(model.parameters(), 1.0, norm)
        >>> round(float(norm), 4), round(float(model.bias.grad[0]), 4)
        (20.0, 0.5)
    """
    coef = _clip_coef(max_norm, total_norm)
    if _is_grads(parameters):
        new = [(g * coef).astype(jnp.asarray(g).dtype) for g in _grad_values(parameters)]
        return _rebuild(parameters, new), total_norm
    params = _as_param_list(parameters, "clip_grads_with_norm_")
    for p in params:
        if p.grad is not None:
            p.grad = (p.grad * coef).astype(jnp.asarray(p.grad).dtype)
    return None


def clip_grad_norm_(parameters: Any, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach: bool | None = None) -> Any:
    """Clip the total gradient norm (``torch.nn.utils.clip_grad_norm_``).

    The norm is taken over all gradients together, as if concatenated into one vector, and
    every gradient is multiplied by ``min(max_norm / (total_norm + 1e-6), 1)``.

    Args:
        parameters: an iterable of Parameters (or one): their ``.grad`` is clipped in place.
            jnn extension: a :class:`~jnn.Grads` (from ``nn.value_and_grad``) or a ``Mapping``
            name -> gradient; then nothing is mutated and ``(clipped_grads, total_norm)`` is
            returned (the jit-friendly functional form).
        max_norm: the maximal norm.
        norm_type: p of the p-norm (``float('inf')`` for the max-norm). Default 2.
        error_if_nonfinite: raise ``RuntimeError`` when the total norm is nan/inf.
        foreach: accepted for compatibility; ignored.

    Returns:
        The total norm of the gradients before clipping (a scalar array), or
        ``(clipped_grads, total_norm)`` for a Grads input.

    Example:
        >>> model = nn.Linear(3, 1)
        >>> loss_fn = lambda m: 10 * m(jnp.ones((1, 3))).sum()
        >>> loss, grads = nn.value_and_grad(loss_fn)(model)
        >>> grads, norm = nn.utils.clip_grad_norm_(grads, max_norm=1.0)   # functional
        >>> round(float(norm), 4), round(float(grads["bias"][0]), 4)
        (20.0, 0.5)
        >>> grads.accumulate()                               # torch style: .grad in place
        >>> round(float(nn.utils.clip_grad_norm_(model.parameters(), 1.0)), 4)
        1.0
    """
    if _is_grads(parameters):
        total = _total_norm(_grad_values(parameters), float(norm_type), error_if_nonfinite)
        return clip_grads_with_norm_(parameters, max_norm, total)
    is_generator = isinstance(parameters, types.GeneratorType)
    params = _as_param_list(parameters, "clip_grad_norm_")
    if is_generator and not params:
        warnings.warn("`parameters` is an empty generator, no gradient clipping will occur.",
                      stacklevel=2)
    grads = [p.grad for p in params if p.grad is not None]
    total = _total_norm(grads, float(norm_type), error_if_nonfinite)
    clip_grads_with_norm_(params, max_norm, total)
    return total


def clip_grad_norm(parameters: Any, max_norm: float, norm_type: float = 2.0,
                   error_if_nonfinite: bool = False, foreach: bool | None = None) -> Any:
    """Deprecated alias of :func:`clip_grad_norm_` (emits a ``FutureWarning`` like torch)."""
    warnings.warn("`torch.nn.utils.clip_grad_norm` is now deprecated in favor of "
                  "`torch.nn.utils.clip_grad_norm_`.", FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters: Any, clip_value: float, foreach: bool | None = None) -> Any:
    """Clamp every gradient element to ``[-clip_value, clip_value]``
    (``torch.nn.utils.clip_grad_value_``).

    Args:
        parameters: Parameters (``.grad`` clamped in place, returns ``None``) or a
            :class:`~jnn.Grads` / ``Mapping`` of gradients (jnn extension: returns the clamped
            gradients, mutates nothing).
        clip_value: the bound.
        foreach: ignored.

    Example:
        >>> model = nn.Linear(3, 1)
        >>> grads = nn.grad(lambda m: 10 * m(jnp.ones((1, 3))).sum())(model)
        >>> grads = nn.utils.clip_grad_value_(grads, 0.5)
        >>> grads["weight"]
        Array([[0.5, 0.5, 0.5]], dtype=float32)
    """
    clip_value = float(clip_value)
    if _is_grads(parameters):
        new = [jnp.clip(g, -clip_value, clip_value) for g in _grad_values(parameters)]
        return _rebuild(parameters, new)
    for p in _as_param_list(parameters, "clip_grad_value_"):
        if p.grad is not None:
            p.grad = jnp.clip(p.grad, -clip_value, clip_value)
    return None
