"""Distance layers: ``PairwiseDistance``, ``CosineSimilarity`` (torch.nn)."""
from __future__ import annotations

from .. import functional as F
from ..types import Array
from .module import Module

__all__ = ["PairwiseDistance", "CosineSimilarity"]


class PairwiseDistance(Module):
    """The ``p``-norm of ``x1 - x2 + eps`` over the last dimension (``torch.nn.PairwiseDistance``).

    Args:
        p: the norm degree. Default 2.
        eps: added to the difference. Default 1e-6.
        keepdim: keep the reduced dimension. Default False.

    Shape:
        ``(N, D), (N, D) -> (N,)``; ``(D,), (D,) -> ()``.

    Example:
        >>> nn.PairwiseDistance()(jnp.zeros((2, 3)), jnp.ones((2, 3))).shape
        (2,)
    """

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        super().__init__()
        self.norm = p
        self.eps = eps
        self.keepdim = keepdim

    def forward(self, x1: Array, x2: Array) -> Array:
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)


class CosineSimilarity(Module):
    """Cosine similarity along ``dim`` (``torch.nn.CosineSimilarity``).

    Args:
        dim: the vector dimension. Default 1.
        eps: lower bound of each norm. Default 1e-8.

    Shape:
        ``(*1, D, *2), (*1, D, *2) -> (*1, *2)``.

    Example:
        >>> nn.CosineSimilarity()(jnp.ones((4, 3)), jnp.ones((4, 3))).shape
        (4,)
    """

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim = dim
        self.eps = eps

    def forward(self, x1: Array, x2: Array) -> Array:
        return F.cosine_similarity(x1, x2, self.dim, self.eps)
