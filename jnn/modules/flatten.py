"""``Flatten`` and ``Unflatten``: reshape a contiguous range of dimensions."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..functional._utils import as_array
from ..types import Array
from .module import Module

__all__ = ["Flatten", "Unflatten"]


def _flatten(x, start_dim: int, end_dim: int):
    x = as_array(x)
    if x.ndim == 0:
        return x.reshape(1)
    nd = x.ndim
    start, end = start_dim % nd if -nd <= start_dim < nd else None, \
        end_dim % nd if -nd <= end_dim < nd else None
    if start is None or end is None:
        raise IndexError(f"Flatten: dimension out of range (expected to be in range of "
                         f"[{-nd}, {nd - 1}], but got start_dim={start_dim}, end_dim={end_dim})")
    if start > end:
        raise ValueError(f"Flatten: start_dim ({start_dim}) cannot come after end_dim ({end_dim})")
    merged = int(np.prod(x.shape[start:end + 1], dtype=np.int64))
    return x.reshape(*x.shape[:start], merged, *x.shape[end + 1:])


class Flatten(Module):
    """Flatten dimensions ``start_dim..end_dim`` into one (``torch.nn.Flatten``).

    Shape:
        ``(*, S_start, ..., S_end, *) -> (*, prod(S_start..S_end), *)``.

    Example:
        >>> nn.Flatten()(jnp.ones((32, 1, 5, 5))).shape
        (32, 25)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input: Array) -> Array:
        return _flatten(input, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Expand dimension ``dim`` into ``unflattened_size`` (``torch.nn.Unflatten``).

    Shape:
        ``(*, S_dim, *) -> (*, U_1, ..., U_n, *)`` with ``prod(U) == S_dim`` (one ``-1`` allowed).

    Example:
        >>> nn.Unflatten(1, (2, 5, 5))(jnp.ones((2, 50))).shape
        (2, 2, 5, 5)
    """

    def __init__(self, dim: int | str, unflattened_size: Sequence[int]) -> None:
        super().__init__()
        if isinstance(dim, str):
            raise TypeError("Unflatten: named dimensions are not supported; expected an int dim")
        if not isinstance(unflattened_size, (tuple, list)) or \
                not all(isinstance(s, int) for s in unflattened_size):
            raise TypeError(f"Unflatten: unflattened_size must be a tuple of ints, got "
                            f"{unflattened_size!r}")
        self.dim = dim
        self.unflattened_size = unflattened_size

    def forward(self, input: Array) -> Array:
        x = as_array(input)
        nd = x.ndim
        if not -nd <= self.dim < nd:
            raise IndexError(f"Unflatten: dim {self.dim} out of range for input of shape "
                             f"{tuple(x.shape)}")
        d = self.dim % nd
        sizes = tuple(self.unflattened_size)
        known = int(np.prod([s for s in sizes if s != -1], dtype=np.int64))
        if (-1 not in sizes and known != x.shape[d]) or \
                (-1 in sizes and x.shape[d] % max(known, 1)):
            raise ValueError(f"Unflatten: unflattened_size {sizes} does not match size "
                             f"{x.shape[d]} of dimension {self.dim} (input shape {tuple(x.shape)})")
        return x.reshape(*x.shape[:d], *sizes, *x.shape[d + 1:])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
