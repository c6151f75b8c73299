"""Activation layers: each ``forward`` is one call to its ``jnn.functional`` kernel."""
from __future__ import annotations

from .. import functional as F
from .module import Module

__all__ = ["ReLU", "Sigmoid", "Tanh"]


class ReLU(Module):
    """``max(0, x)`` elementwise (``torch.nn.ReLU``).

    Args:
        inplace: accepted for torch compatibility (shown in the repr); no effect in JAX.

    Shape:
        ``(*) -> (*)``.

    Example:
        >>> nn.ReLU()(jnp.array([-1.0, 1.0]))
        Array([0., 1.], dtype=float32)
    """

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return F.relu(input)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class Sigmoid(Module):
    """``1 / (1 + exp(-x))`` elementwise (``torch.nn.Sigmoid``).

    Shape:
        ``(*) -> (*)``.
    """

    def forward(self, input):
        return F.sigmoid(input)


class Tanh(Module):
    """``tanh(x)`` elementwise (``torch.nn.Tanh``).

    Shape:
        ``(*) -> (*)``.
    """

    def forward(self, input):
        return F.tanh(input)
