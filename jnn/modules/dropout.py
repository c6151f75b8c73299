"""Dropout layers: identity in eval mode; in training each call draws a fresh mask.

The mask comes from jnn's global random stream (``jnn.random.next_key``), which ``nn.jit``
treats as state: two calls of a compiled training step drop different elements.

Differences from PyTorch:
    The masks differ from torch's for the same seed. ``inplace=`` is accepted (and shown in the
    repr) but has no effect: JAX arrays are immutable.
"""
from __future__ import annotations

from .. import functional as F
from ..types import Array
from .module import Module

__all__ = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
           "FeatureAlphaDropout"]


class _DropoutNd(Module):
    """Shared constructor and repr of the dropout layers (torch's ``_DropoutNd``)."""

    _kernel = staticmethod(F.dropout)

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not isinstance(p, (int, float)) or isinstance(p, bool) or p < 0 or p > 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def forward(self, input: Array) -> Array:
        return type(self)._kernel(input, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Zero elements with probability ``p``, scale the rest by ``1 / (1 - p)`` (training only).

    Args:
        p: probability of an element to be zeroed (default ``0.5``).
        inplace: accepted for torch compatibility; no effect.

    Shape:
        ``(*) -> (*)``.

    Example:
        >>> m = nn.Dropout(0.5)
        >>> m.eval()(jnp.ones(4)).tolist()
        [1.0, 1.0, 1.0, 1.0]
    """

    _kernel = staticmethod(F.dropout)


class Dropout1d(_DropoutNd):
    """Zero whole channels of ``(N, C, L)`` / ``(C, L)`` input (training only).

    Args:
        p: probability of a channel to be zeroed (default ``0.5``).
        inplace: accepted for torch compatibility; no effect.

    Shape:
        ``(N, C, L) -> (N, C, L)``, ``(C, L) -> (C, L)``.
    """

    _kernel = staticmethod(F.dropout1d)


class Dropout2d(_DropoutNd):
    """Zero whole channels of ``(N, C, H, W)`` input (training only).

    As in torch, 3-D input is treated as ``(N, C, L)`` with a warning.

    Args:
        p: probability of a channel to be zeroed (default ``0.5``).
        inplace: accepted for torch compatibility; no effect.

    Shape:
        ``(N, C, H, W) -> (N, C, H, W)``.
    """

    _kernel = staticmethod(F.dropout2d)


class Dropout3d(_DropoutNd):
    """Zero whole channels of ``(N, C, D, H, W)`` / ``(C, D, H, W)`` input (training only).

    Args:
        p: probability of a channel to be zeroed (default ``0.5``).
        inplace: accepted for torch compatibility; no effect.

    Shape:
        ``(N, C, D, H, W) -> (N, C, D, H, W)``, ``(C, D, H, W) -> (C, D, H, W)``.
    """

    _kernel = staticmethod(F.dropout3d)


class AlphaDropout(_DropoutNd):
    """Alpha dropout for SELU networks: keeps zero mean and unit variance (training only).

    Args:
        p: drop probability (default ``0.5``).
        inplace: accepted for torch compatibility; no effect.

    Shape:
        ``(*) -> (*)``.
    """

    _kernel = staticmethod(F.alpha_dropout)


class FeatureAlphaDropout(_DropoutNd):
    """Alpha dropout of whole channels of ``(N, C, *)`` input (training only).

    Args:
        p: drop probability of a channel (default ``0.5``).
        inplace: accepted for torch compatibility; no effect.

    Shape:
        ``(N, C, *) -> (N, C, *)``.
    """

    _kernel = staticmethod(F.feature_alpha_dropout)
