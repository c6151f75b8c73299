"""Sparse layers: ``Embedding``, ``EmbeddingBag`` (torch.nn)."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from .. import functional as F
from .. import init
from ..functional.sparse import (
    _check_index_dtype,
    _check_indices,
    normalize_padding_idx,
    renormed_weight,
)
from ..parameter import Parameter, _to_array
from ..types import Array, DeviceLike, DTypeLike
from . import _factory
from ._factory import factory_dtype, place
from .module import Module

__all__ = ["Embedding", "EmbeddingBag"]


def _check_sizes(layer: str, num_embeddings, embedding_dim) -> None:
    for name, value in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"{layer}: expected {name} to be a non-negative int, got {value!r}")


class _EmbeddingBase(Module):
    """Shared anatomy: the table, its init, padding row, ``max_norm`` write-back."""

    def _init_table(self, layer, num_embeddings, embedding_dim, padding_idx, _weight, freeze,
                    dtype):
        _check_sizes(layer, num_embeddings, embedding_dim)
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.padding_idx = normalize_padding_idx(layer, padding_idx, num_embeddings)
        if _weight is None:
            self.weight = Parameter(_factory.empty((num_embeddings, embedding_dim),
                                              factory_dtype(dtype)), requires_grad=not freeze)
            self.reset_parameters()
        else:
            w = _to_array(_weight, layer)
            if tuple(w.shape) != (num_embeddings, embedding_dim):
                raise ValueError(f"{layer}: shape of _weight {tuple(w.shape)} does not match "
                                 f"(num_embeddings, embedding_dim) = "
                                 f"({num_embeddings}, {embedding_dim})")
            self.weight = Parameter(w, requires_grad=not freeze)

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        self._fill_padding_idx_with_zero()

    def _fill_padding_idx_with_zero(self) -> None:
        if self.padding_idx is not None:
            self.weight.data = self.weight.data.at[self.padding_idx].set(0)

    def _renorm(self, indices) -> None:
        """torch's in-place ``embedding_renorm_``: write the rescaled rows back to ``weight``."""
        if self.max_norm is not None:
            self.weight.data = renormed_weight(self.weight, indices, self.max_norm,
                                               self.norm_type)


class Embedding(_EmbeddingBase):
    """A lookup table of ``num_embeddings`` vectors of size ``embedding_dim`` (``nn.Embedding``).

    Args:
        num_embeddings: size of the table.
        embedding_dim: size of each vector.
        padding_idx: this row is initialised to zeros and gets no gradient (negative values
            count from the end).
        max_norm: rows looked up whose ``norm_type``-norm exceeds it are rescaled to that norm;
            the rescaled rows are written back to ``weight`` (as torch does in place).
        norm_type: the p of that norm. Default 2.
        scale_grad_by_freq: divide gradients by the frequency of each index in the batch.
        sparse: accepted; gradients are dense.
        _weight: an initial table ``(num_embeddings, embedding_dim)``.
        _freeze: create ``weight`` with ``requires_grad=False``.
        device, dtype: factory keywords.

    Shape:
        ``(*)`` integer indices ``-> (*, embedding_dim)``.

    Attributes:
        weight: ``(num_embeddings, embedding_dim)``, init ``N(0, 1)``.

    Example:
        >>> nn.Embedding.from_pretrained(jnp.arange(20.0).reshape(4, 5))
        Embedding(4, 5)

    Differences from PyTorch:
        With ``max_norm``, the write-back of the rescaled table happens on the Parameter box
        (under ``nn.jit`` it is written back after the call, like any state). The forward output
        uses the rescaled rows and the gradient flows to the table unscaled, as in torch.
        ``sparse=True`` gives dense gradients.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm: float | None = None, norm_type: float = 2.0,
                 scale_grad_by_freq: bool = False, sparse: bool = False,
                 _weight: Array | None = None, _freeze: bool = False,
                 device: DeviceLike | None = None, dtype: DTypeLike | None = None) -> None:
        super().__init__()
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self._init_table("Embedding", num_embeddings, embedding_dim, padding_idx, _weight,
                         _freeze, dtype)
        self.sparse = sparse
        place(self, device)

    def forward(self, input: Array) -> Array:
        weight = self.weight
        if self.max_norm is not None:
            idx = jnp.asarray(input)
            _check_index_dtype("Embedding", "input", idx)
            _check_indices("Embedding", idx, self.num_embeddings)
            w = jnp.asarray(weight)
            new = renormed_weight(w, idx, self.max_norm, self.norm_type)
            self.weight.data = new
            weight = w + jax.lax.stop_gradient(new - w)  # rescaled values, identity gradient
        return F.embedding(input, weight, self.padding_idx, None, self.norm_type,
                           self.scale_grad_by_freq, self.sparse)

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq is not False:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        if self.sparse is not False:
            s += ", sparse=True"
        return s

    @classmethod
    def from_pretrained(cls, embeddings, freeze: bool = True, padding_idx: int | None = None,
                        max_norm: float | None = None, norm_type: float = 2.0,
                        scale_grad_by_freq: bool = False, sparse: bool = False) -> Embedding:
        """An ``Embedding`` holding ``embeddings`` (2-D); ``freeze`` sets requires_grad=False.

        Example:
            >>> nn.Embedding.from_pretrained(jnp.ones((2, 3)), freeze=False).weight.requires_grad
            True
        """
        w = _to_array(embeddings, "Embedding.from_pretrained")
        if w.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: expected 2-dimensional embeddings, got "
                             f"shape {tuple(w.shape)}")
        rows, cols = w.shape
        return cls(rows, cols, padding_idx=padding_idx, max_norm=max_norm, norm_type=norm_type,
                   scale_grad_by_freq=scale_grad_by_freq, sparse=sparse, _weight=w,
                   _freeze=freeze)


class EmbeddingBag(_EmbeddingBase):
    """Sums, means or maxima of bags of embeddings (``torch.nn.EmbeddingBag``).

    Args:
        num_embeddings, embedding_dim: the table's size.
        max_norm, norm_type, scale_grad_by_freq, sparse: as in :class:`Embedding`.
        mode: ``'sum'``, ``'mean'`` (default) or ``'max'``.
        _weight: an initial table.
        include_last_offset: ``offsets`` has one extra entry, the end of the last bag.
        padding_idx: entries equal to it are left out of their bags; the row starts at zero.
        device, dtype: factory keywords.

    Shape:
        ``forward(input, offsets=None, per_sample_weights=None)``: ``(B, L)`` or ``(n,)`` with
        ``offsets (B,)`` ``-> (B, embedding_dim)``.

    Attributes:
        weight: ``(num_embeddings, embedding_dim)``, init ``N(0, 1)``.

    Example:
        >>> bag = nn.EmbeddingBag(10, 3, mode="sum")
        >>> bag(jnp.array([1, 2, 4, 5, 4, 3, 2, 9]), jnp.array([0, 4])).shape
        (2, 3)

    Differences from PyTorch:
        As for :class:`Embedding`: ``max_norm`` writes the rescaled table back to the Parameter
        box; ``sparse=True`` gives dense gradients.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, max_norm: float | None = None,
                 norm_type: float = 2.0, scale_grad_by_freq: bool = False, mode: str = "mean",
                 sparse: bool = False, _weight: Array | None = None,
                 include_last_offset: bool = False, padding_idx: int | None = None,
                 device: DeviceLike | None = None, dtype: DTypeLike | None = None) -> None:
        super().__init__()
        if mode not in ("sum", "mean", "max"):
            raise ValueError(f"EmbeddingBag: mode has to be one of 'sum', 'mean' or 'max', got "
                             f"{mode!r}")
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self._init_table("EmbeddingBag", num_embeddings, embedding_dim, padding_idx, _weight,
                         False, dtype)
        self.mode = mode
        self.sparse = sparse
        self.include_last_offset = include_last_offset
        place(self, device)

    def forward(self, input: Array, offsets: Array | None = None,
                per_sample_weights: Array | None = None) -> Array:
        weight = self.weight
        if self.max_norm is not None:
            idx = jnp.asarray(input)
            _check_index_dtype("EmbeddingBag", "input", idx)
            _check_indices("EmbeddingBag", idx, self.num_embeddings)
            w = jnp.asarray(weight)
            new = renormed_weight(w, idx, self.max_norm, self.norm_type)
            self.weight.data = new
            weight = w + jax.lax.stop_gradient(new - w)
        return F.embedding_bag(input, weight, offsets, None, self.norm_type,
                               self.scale_grad_by_freq, self.mode, self.sparse,
                               per_sample_weights, self.include_last_offset, self.padding_idx)

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings!r}, {self.embedding_dim!r}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm!r}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type!r}"
        if self.scale_grad_by_freq is not False:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq!r}"
        s += f", mode={self.mode!r}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx!r}"
        return s

    @classmethod
    def from_pretrained(cls, embeddings, freeze: bool = True, max_norm: float | None = None,
                        norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                        mode: str = "mean", sparse: bool = False,
                        include_last_offset: bool = False,
                        padding_idx: int | None = None) -> EmbeddingBag:
        """An ``EmbeddingBag`` holding ``embeddings`` (2-D); ``freeze`` sets requires_grad=False.

        Example:
            >>> nn.EmbeddingBag.from_pretrained(jnp.ones((2, 3))).weight.requires_grad
            False
        """
        w = _to_array(embeddings, "EmbeddingBag.from_pretrained")
        if w.ndim != 2:
            raise ValueError(f"EmbeddingBag.from_pretrained: expected 2-dimensional embeddings, "
                             f"got shape {tuple(w.shape)}")
        rows, cols = w.shape
        bag = cls(rows, cols, max_norm=max_norm, norm_type=norm_type,
                  scale_grad_by_freq=scale_grad_by_freq, mode=mode, sparse=sparse, _weight=w,
                  include_last_offset=include_last_offset, padding_idx=padding_idx)
        bag.weight.requires_grad = not freeze
        return bag
