"""Sparse (lookup) kernels: ``embedding``, ``embedding_bag``, ``one_hot`` (torch.nn.functional).

Indices are checked against the table size when they are concrete (eager calls). Under a trace
(``jit``/``grad``) the check would need a host sync, so there an out-of-range index gives a row
of NaN instead of an error.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ..types import Array, ArrayLike
from ._utils import as_array, check_operands
from .distance import vector_norm

__all__ = ["embedding", "embedding_bag", "one_hot"]


def _concrete(x) -> np.ndarray | None:
    if isinstance(x, jax.core.Tracer):
        return None
    try:
        return np.asarray(x)
    except Exception:  # pragma: no cover
        return None


def _check_index_dtype(fn: str, name: str, x) -> None:
    if not jnp.issubdtype(x.dtype, jnp.integer):
        raise TypeError(f"{fn}: expected {name} of an integer dtype (int32 or int64), got dtype "
                        f"{x.dtype}")


def _check_weight(fn: str, w) -> None:
    if w.ndim != 2:
        raise ValueError(f"{fn}: expected weight with 2 dimensions (num_embeddings, "
                         f"embedding_dim), got shape {tuple(w.shape)}")


def _check_indices(fn: str, idx, num: int) -> None:
    c = _concrete(idx)
    if c is None or c.size == 0:
        return
    lo, hi = int(c.min()), int(c.max())
    if lo < 0 or hi >= num:
        bad = lo if lo < 0 else hi
        raise IndexError(f"{fn}: index {bad} is out of range for a table of {num} embeddings "
                         f"(expected indices in [0, {num - 1}])")


def normalize_padding_idx(fn: str, padding_idx, num: int):
    """torch's rule: ``padding_idx`` in ``[-num, num)``; negative values count from the end."""
    if padding_idx is None:
        return None
    if not isinstance(padding_idx, (int, np.integer)) or isinstance(padding_idx, bool):
        raise TypeError(f"{fn}: expected padding_idx to be an int or None, got {padding_idx!r}")
    if not -num <= padding_idx < num:
        raise ValueError(f"{fn}: padding_idx must be within num_embeddings: expected a value in "
                         f"[{-num}, {num - 1}], got {padding_idx}")
    return int(padding_idx) % num


@jax.custom_vjp
def _scale_grad(x, scale):
    """Identity whose gradient is multiplied by ``scale`` (broadcast against ``x``)."""
    return x


def _scale_grad_fwd(x, scale):
    return x, scale


def _scale_grad_bwd(scale, g):
    return (g * scale).astype(g.dtype), jnp.zeros_like(scale)


_scale_grad.defvjp(_scale_grad_fwd, _scale_grad_bwd)


def renormed_weight(weight, indices, max_norm: float, norm_type: float = 2.0):
    """The table with each row that ``indices`` use rescaled to norm ``<= max_norm``.

    Rows are scaled by ``max_norm / (norm + 1e-7)`` when their ``norm_type``-norm exceeds
    ``max_norm`` (torch's ``embedding_renorm_``). The result carries no gradient.
    """
    w = jax.lax.stop_gradient(as_array(weight))
    idx = as_array(indices).reshape(-1)
    used = jnp.zeros((w.shape[0],), bool).at[idx].set(True, mode="drop")
    norms = vector_norm(w, norm_type, axis=1)
    scale = jnp.where(used & (norms > max_norm), max_norm / (norms + 1e-7), 1.0)
    return (w * scale[:, None].astype(w.dtype)).astype(w.dtype)


def _lookup(w, idx, padding_idx, scale_grad_by_freq):
    """Rows of ``w`` at ``idx`` (NaN rows out of range); torch's gradient rules for the table."""
    out = jnp.take(w, idx, axis=0, mode="fill", fill_value=jnp.nan)
    if padding_idx is None and not scale_grad_by_freq:
        return out
    scale = jnp.ones(idx.shape, w.dtype)
    if scale_grad_by_freq:
        counts = jnp.zeros((w.shape[0],), w.dtype).at[idx.reshape(-1)].add(1, mode="drop")
        scale = scale / jnp.maximum(jnp.take(counts, idx, mode="fill", fill_value=1), 1)
    if padding_idx is not None:
        scale = jnp.where(idx == padding_idx, 0, scale)
    return _scale_grad(out, scale[..., None])


def embedding(input: ArrayLike, weight: ArrayLike, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Array:
    """Look up rows of ``weight`` (``torch.nn.functional.embedding``).

    Args:
        input: integer indices of any shape.
        weight: the table ``(num_embeddings, embedding_dim)``.
        padding_idx: the row at this index gets no gradient.
        max_norm: rows used by ``input`` whose ``norm_type``-norm exceeds it are rescaled to
            norm ``max_norm`` before the lookup.
        norm_type: the p of that norm. Default 2.
        scale_grad_by_freq: divide each row's gradient by the number of times its index
            occurs in ``input``.
        sparse: accepted for compatibility; gradients are dense.

    Shape:
        ``(*), (V, D) -> (*, D)``.

    Returns:
        The embeddings.

    Example:
        >>> F.embedding(jnp.array([[0, 2]]), jnp.arange(12.0).reshape(4, 3)).shape
        (1, 2, 3)

    Differences from PyTorch:
        With ``max_norm`` torch rescales the rows of ``weight`` in place. Arrays are immutable,
        so this function only uses the rescaled rows for its output (the gradient still flows to
        ``weight`` unscaled, as in torch); ``nn.Embedding`` writes the rescaled table back to
        its ``weight`` Parameter. ``sparse=True`` gives a dense gradient.
    """
    idx, w = as_array(input), as_array(weight)
    _check_index_dtype("embedding", "input", idx)
    _check_weight("embedding", w)
    V = w.shape[0]
    padding_idx = normalize_padding_idx("embedding", padding_idx, V)
    _check_indices("embedding", idx, V)
    if max_norm is not None:
        w = w + jax.lax.stop_gradient(renormed_weight(w, idx, max_norm, norm_type) - w)
    return _lookup(w, idx, padding_idx, scale_grad_by_freq)


def embedding_bag(input: ArrayLike, weight: ArrayLike, offsets: ArrayLike | None = None,
                  max_norm: float | None = None, norm_type: float = 2,
                  scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                  per_sample_weights: ArrayLike | None = None, include_last_offset: bool = False,
                  padding_idx: int | None = None) -> Array:
    """Sums, means or maxima of bags of embeddings (``torch.nn.functional.embedding_bag``).

    Args:
        input: ``(B, L)`` indices (``B`` bags of length ``L``), or ``(n,)`` concatenated bags
            together with ``offsets``.
        weight: the table ``(num_embeddings, embedding_dim)``.
        offsets: ``(B,)`` start position of each bag in a 1-D ``input`` (``(B + 1,)`` with
            ``include_last_offset``); must be ``None`` for 2-D input.
        max_norm, norm_type, scale_grad_by_freq: as in :func:`embedding`.
        mode: ``'sum'``, ``'mean'`` or ``'max'``.
        sparse: accepted for compatibility; gradients are dense.
        per_sample_weights: weights with ``input``'s shape, multiplied into the rows
            (``mode='sum'`` only).
        include_last_offset: ``offsets`` has one extra entry: the end of the last bag.
        padding_idx: entries equal to it are left out of their bag (and get no gradient); an
            empty bag gives zeros.

    Shape:
        ``(B, L), (V, D) -> (B, D)``; ``(n,), (V, D), (B,) -> (B, D)``.

    Returns:
        One vector per bag.

    Example:
        >>> w = jnp.arange(12.0).reshape(4, 3)
        >>> F.embedding_bag(jnp.array([0, 1, 2, 3]), w, jnp.array([0, 2]), mode="sum")
        Array([[ 3.,  5.,  7.],
               [15., 17., 19.]], dtype=float32)

    Differences from PyTorch:
        As in :func:`embedding`, ``max_norm`` does not modify ``weight`` in place here
        (``nn.EmbeddingBag`` writes the rescaled table back). The number of bags is static
        (``offsets.shape``); the offsets themselves are data. With ``scale_grad_by_freq`` each
        row's gradient is divided by its number of occurrences in ``input`` (as
        :func:`embedding` does); torch's CPU ``embedding_bag`` backward divides by the wrong
        counts there (e.g. ``[[5, 1, 2], [4, 3, 3]]`` gives row 4 half its gradient). With
        ``include_last_offset`` the last offset must equal ``len(input)`` (CSR); torch divides a
        ``'mean'`` bag by a different count when it does not.
    """
    idx = as_array(input, "embedding_bag")
    w, psw = check_operands("embedding_bag", weight=weight, per_sample_weights=per_sample_weights)
    _check_index_dtype("embedding_bag", "input", idx)
    _check_weight("embedding_bag", w)
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"embedding_bag: mode has to be one of 'sum', 'mean' or 'max', got "
                         f"{mode!r}")
    if mode == "max" and scale_grad_by_freq:
        raise ValueError("embedding_bag: max mode does not support scaling the gradient by the "
                         "frequency (scale_grad_by_freq=True)")
    if psw is not None:
        if psw.shape != idx.shape:
            raise ValueError(f"embedding_bag: per_sample_weights shape {tuple(psw.shape)} must "
                             f"be the same as the input shape {tuple(idx.shape)}")
        if mode != "sum":
            raise ValueError(f"embedding_bag: per_sample_weights is only supported for "
                             f"mode='sum', got mode={mode!r}")
    V = w.shape[0]
    padding_idx = normalize_padding_idx("embedding_bag", padding_idx, V)

    if idx.ndim == 2:
        if offsets is not None:
            raise ValueError("embedding_bag: if input is 2-D (bags of fixed length), offsets has "
                             "to be None")
        B, Lb = idx.shape
        seg = jnp.repeat(jnp.arange(B), Lb)
        flat = idx.reshape(-1)
        if psw is not None:
            psw = psw.reshape(-1)
    elif idx.ndim == 1:
        if offsets is None:
            raise ValueError("embedding_bag: offsets has to be a 1-D array for 1-D input, got "
                             "None")
        off = as_array(offsets)
        if off.ndim != 1:
            raise ValueError(f"embedding_bag: offsets has to be a 1-D array, got shape "
                             f"{tuple(off.shape)}")
        _check_index_dtype("embedding_bag", "offsets", off)
        B = off.shape[0] - (1 if include_last_offset else 0)
        if B < 0:
            raise ValueError("embedding_bag: with include_last_offset=True offsets needs at "
                             "least one entry")
        co = _concrete(off)
        if co is not None and co.size:
            if co[0] != 0 or (np.diff(co) < 0).any() or co[-1] > idx.shape[0]:
                raise ValueError(f"embedding_bag: offsets must start at 0, be non-decreasing "
                                 f"and not exceed the input length {idx.shape[0]}, got "
                                 f"{co.tolist()}")
        flat = idx
        pos = jnp.arange(idx.shape[0])
        seg = jnp.searchsorted(off.astype(pos.dtype), pos, side="right") - 1
        seg = jnp.where((seg < 0) | (seg >= B), B, seg)  # outside every bag: dropped
    else:
        raise ValueError(f"embedding_bag: expected input with 1 or 2 dimensions (n,) or (B, L), "
                         f"got shape {tuple(idx.shape)}")
    _check_indices("embedding_bag", flat, V)
    if max_norm is not None:
        w = w + jax.lax.stop_gradient(renormed_weight(w, flat, max_norm, norm_type) - w)

    rows = _lookup(w, flat, padding_idx, scale_grad_by_freq)               # (n, D)
    valid = jnp.ones(flat.shape, bool) if padding_idx is None else flat != padding_idx
    nseg = B + 1
    if mode == "max":
        masked = jnp.where(valid[:, None], rows, -jnp.inf)
        out = jax.ops.segment_max(masked, seg, num_segments=nseg)[:B]
        count = jax.ops.segment_sum(valid.astype(w.dtype), seg, num_segments=nseg)[:B]
        return jnp.where(count[:, None] > 0, out, 0).astype(w.dtype)
    if psw is not None:
        rows = rows * psw[:, None]
    rows = jnp.where(valid[:, None], rows, 0)
    out = jax.ops.segment_sum(rows, seg, num_segments=nseg)[:B]
    if mode == "sum":
        return out
    count = jax.ops.segment_sum(valid.astype(w.dtype), seg, num_segments=nseg)[:B]
    return out / jnp.maximum(count, 1)[:, None]


def one_hot(tensor: ArrayLike, num_classes: int = -1) -> Array:
    """One-hot encoding of integer class indices (``torch.nn.functional.one_hot``).

    Args:
        tensor: integer indices of any shape.
        num_classes: number of classes; ``-1`` infers ``max(tensor) + 1``, which needs a
            concrete ``tensor`` (pass ``num_classes`` explicitly under ``jit``/``grad``).

    Shape:
        ``(*) -> (*, num_classes)``.

    Returns:
        An integer array (int64 when 64-bit types are enabled, else int32) of zeros and ones.

    Example:
        >>> F.one_hot(jnp.array([0, 2]), 3)
        Array([[1, 0, 0],
               [0, 0, 1]], dtype=int32)
    """
    t = as_array(tensor)
    _check_index_dtype("one_hot", "tensor", t)
    if not isinstance(num_classes, (int, np.integer)) or isinstance(num_classes, bool):
        raise TypeError(f"one_hot: expected num_classes to be an int, got {num_classes!r}")
    c = _concrete(t)
    if num_classes == -1:
        if c is None:
            raise ValueError("one_hot: num_classes=-1 infers the number of classes from the "
                             "values, which are not known under jit/grad tracing; pass "
                             "num_classes explicitly")
        if c.size == 0:
            raise ValueError("one_hot: can not infer the total number of classes from an empty "
                             "array; pass num_classes")
        num_classes = int(c.max()) + 1
    elif num_classes < 1 and not (num_classes == 0 and t.size == 0):
        raise ValueError(f"one_hot: expected num_classes >= 1 or -1, got {num_classes}")
    if c is not None and c.size:
        if c.min() < 0:
            raise ValueError(f"one_hot: class values must be non-negative, got {int(c.min())}")
        if c.max() >= num_classes:
            raise ValueError(f"one_hot: class values must be smaller than num_classes="
                             f"{num_classes}, got {int(c.max())}")
    dtype = jax.dtypes.canonicalize_dtype(jnp.int64)
    classes = jnp.arange(num_classes, dtype=t.dtype).reshape((1,) * t.ndim + (num_classes,))
    return (t[..., None] == classes).astype(dtype)
