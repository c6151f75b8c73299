"""Activation kernels (``torch.nn.functional`` non-linearities).

``inplace=`` is accepted everywhere torch has it and has no effect (JAX arrays are immutable).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from ._utils import as_array

__all__ = ["relu", "sigmoid", "tanh"]


def relu(input, inplace: bool = False) -> jax.Array:
    """``max(0, x)`` elementwise.

    Args:
        input: any shape.
        inplace: accepted for torch compatibility; no effect.

    Shape:
        ``(*) -> (*)``.

    Returns:
        The rectified input.

    Example:
        >>> F.relu(jnp.array([-1.0, 2.0]))
        Array([0., 2.], dtype=float32)
    """
    return jax.nn.relu(as_array(input))


def sigmoid(input) -> jax.Array:
    """``1 / (1 + exp(-x))`` elementwise.

    Args:
        input: any shape.

    Shape:
        ``(*) -> (*)``.

    Returns:
        The logistic function of the input.

    Example:
        >>> F.sigmoid(jnp.zeros(2))
        Array([0.5, 0.5], dtype=float32)
    """
    return jax.nn.sigmoid(as_array(input))


def tanh(input) -> jax.Array:
    """Hyperbolic tangent elementwise.

    Args:
        input: any shape.

    Shape:
        ``(*) -> (*)``.

    Returns:
        ``tanh(input)``.

    Example:
        >>> F.tanh(jnp.zeros(2))
        Array([0., 0.], dtype=float32)
    """
    return jnp.tanh(as_array(input))
