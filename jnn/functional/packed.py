"""Packed-sequence index plans: between packed ``data`` and a time-major padded batch.

Shared by the recurrent layers (``jnn.modules.rnn``) and the packing functions
(``jnn.utils.rnn``), so it lives below both. Package-internal (not exported by
``jnn.functional``). The plans are host (numpy) computations on ``batch_sizes``, which is
static data (see ``jnn.utils.rnn``'s module docstring).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

__all__: list = []


def lengths_from_batch_sizes(batch_sizes: np.ndarray) -> np.ndarray:
    """Per-sequence lengths in sorted order: ``len[b] = #{t : batch_sizes[t] > b}``."""
    batch_sizes = np.asarray(batch_sizes, np.int64)
    b = int(batch_sizes[0]) if batch_sizes.size else 0
    return (batch_sizes[None, :] > np.arange(b)[:, None]).sum(1).astype(np.int64)


def _padded_gather_index(batch_sizes: np.ndarray) -> np.ndarray:
    """``(T, B)`` indices into ``data`` (``sum`` = a padding row) that build the padded batch."""
    batch_sizes = np.asarray(batch_sizes, np.int64)
    total = int(batch_sizes.sum())
    t_len, b = batch_sizes.size, int(batch_sizes[0]) if batch_sizes.size else 0
    offsets = np.concatenate([[0], np.cumsum(batch_sizes)[:-1]]).astype(np.int64)
    cols = np.arange(b, dtype=np.int64)
    idx = offsets[:, None] + cols[None, :]
    return np.where(cols[None, :] < batch_sizes[:, None], idx, total).reshape(t_len, b)


def _packed_flat_index(batch_sizes: np.ndarray) -> np.ndarray:
    """Indices into a ``(T * B, ...)`` flattened time-major padded batch, in packed order."""
    batch_sizes = np.asarray(batch_sizes, np.int64)
    b = int(batch_sizes[0]) if batch_sizes.size else 0
    return np.concatenate([t * b + np.arange(n, dtype=np.int64)
                           for t, n in enumerate(batch_sizes)]) if batch_sizes.size else \
        np.zeros((0,), np.int64)


def packed_to_padded(data: jax.Array, batch_sizes: np.ndarray,
                     padding_value: float = 0.0) -> jax.Array:
    """Time-major ``(T, B, *)`` padded batch (sorted order) from packed ``data``."""
    data = jnp.asarray(data)
    idx = _padded_gather_index(batch_sizes)
    pad_row = jnp.full((1,) + data.shape[1:], padding_value, data.dtype)
    return jnp.concatenate([data, pad_row], 0)[idx]


def padded_to_packed(padded: jax.Array, batch_sizes: np.ndarray) -> jax.Array:
    """Packed ``data`` from a time-major ``(T, B, *)`` padded batch (sorted order)."""
    padded = jnp.asarray(padded)
    t_len, b = padded.shape[:2]
    flat = padded.reshape((t_len * b,) + padded.shape[2:])
    return flat[_packed_flat_index(batch_sizes)]
