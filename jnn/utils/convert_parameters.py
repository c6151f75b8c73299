"""Flatten parameters into one vector and back (``torch.nn.utils.convert_parameters``)."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import jax
import jax.numpy as jnp

from ..parameter import Parameter, is_array

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def _check_param_device(param, old_device):
    device = getattr(param, "device", None)
    if callable(device):  # not a property on some array types
        device = None
    if old_device is None:
        return device if device is not None else "unknown"
    if device is not None and old_device != "unknown" and device != old_device:
        raise TypeError("Found two parameters on different devices, this is currently not "
                        "supported.")
    return old_device


def parameters_to_vector(parameters: Iterable) -> jax.Array:
    """Concatenate the flattened parameters into one 1-D array
    (``torch.nn.utils.parameters_to_vector``).

    Args:
        parameters: an iterable of Parameters or arrays, e.g. ``model.parameters()``.

    Returns:
        A 1-D array of all elements, in iteration order (row-major within each parameter).

    Example:
        >>> vec = nn.utils.parameters_to_vector(nn.Linear(3, 2).parameters())
        >>> vec.shape
        (8,)
    """
    device = None
    vec = []
    for param in parameters:
        device = _check_param_device(param, device)
        vec.append(jnp.ravel(jnp.asarray(param)))
    if not vec:
        raise ValueError("parameters_to_vector: expected a non-empty iterable of parameters")
    return jnp.concatenate(vec)


def vector_to_parameters(vec: Any, parameters: Iterable) -> None:
    """Copy consecutive slices of ``vec`` into the parameters, in place
    (``torch.nn.utils.vector_to_parameters``).

    Args:
        vec: a 1-D array holding (at least) as many elements as the parameters together.
        parameters: an iterable of :class:`~jnn.Parameter` boxes; each box's ``.data`` is
            replaced by its slice reshaped to the parameter's shape (as ``param.data = ...``
            does in torch: the slice's dtype is kept).

    Example:
        >>> model = nn.Linear(3, 2)
        >>> nn.utils.vector_to_parameters(jnp.zeros(8), model.parameters())
    """
    if not is_array(vec) or isinstance(vec, Parameter):
        raise TypeError(f"expected jax.Array, but got: {type(vec).__module__}."
                        f"{type(vec).__name__}")
    vec = jnp.asarray(vec)
    device = None
    pointer = 0
    for param in parameters:
        device = _check_param_device(param, device)
        if not isinstance(param, Parameter):
            raise TypeError(f"vector_to_parameters: expected Parameters (mutable boxes) to "
                            f"write into, got {type(param).__name__}")
        num = param.numel()
        if pointer + num > vec.shape[0]:
            raise ValueError(f"vector_to_parameters: vec has {vec.shape[0]} elements, fewer than "
                             f"the parameters need (at least {pointer + num})")
        param.data = vec[pointer:pointer + num].reshape(param.shape)
        pointer += num
