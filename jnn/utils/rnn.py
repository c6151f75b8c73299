"""Packed sequences (``torch.nn.utils.rnn``).

A :class:`PackedSequence` holds a batch of variable-length sequences without padding: ``data``
stacks, time step by time step, the elements of the sequences still running at that step, and
``batch_sizes[t]`` says how many there are. The recurrent layers (``nn.RNN``/``nn.LSTM``/
``nn.GRU``) accept one and skip the padding exactly as torch does: a finished sequence's state
stops updating, and the reverse direction starts each sequence at its own last element.

Lengths are host data, as in torch (which requires them on the CPU): ``batch_sizes``,
``sorted_indices`` and ``unsorted_indices`` are numpy ``int64`` arrays, and every index
computation happens in numpy when the sequence is packed. They are static under ``nn.jit``:
``PackedSequence`` is a pytree whose only leaf is ``data``; the rest is the tree's (hashable)
structure, so ``jax.jit`` retraces for new lengths and never for new data.

Differences from PyTorch:
    ``batch_sizes``/``sorted_indices``/``unsorted_indices`` and the lengths returned by
    ``pad_packed_sequence`` are numpy ``int64`` arrays instead of CPU tensors. ``lengths``
    must be concrete (a list, numpy array or a concrete jax array), never a traced value.
    A length larger than the padded time dimension raises ``ValueError`` (torch reads past
    the input).
"""
from __future__ import annotations

from collections import namedtuple
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ..functional.packed import lengths_from_batch_sizes, packed_to_padded, padded_to_packed

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence", "pad_packed_sequence",
           "pad_sequence", "unpad_sequence", "pack_sequence", "unpack_sequence"]


def _host_ints(value, fn: str, name: str) -> np.ndarray | None:
    """``value`` as a numpy int64 array (host data); traced values are refused."""
    if value is None:
        return None
    if isinstance(value, jax.core.Tracer):
        raise TypeError(f"{fn}: {name} must be concrete host data (a list, a numpy array or a "
                        f"concrete array), as torch requires CPU lengths; got a traced value. "
                        f"Compute lengths outside nn.jit/jax.jit or pass them as static data.")
    if type(value).__module__.startswith("torch"):
        value = value.detach().cpu().numpy()
    arr = np.asarray(value)
    if arr.dtype.kind not in "iub":
        raise TypeError(f"{fn}: expected {name} of an integer type, got dtype {arr.dtype}")
    return arr.astype(np.int64)


def invert_permutation(permutation: Any) -> np.ndarray | None:
    """The inverse of a permutation (``None`` stays ``None``).

    Args:
        permutation: 1-D integer array, a permutation of ``0..n-1``.

    Returns:
        numpy ``int64`` array ``inv`` with ``inv[permutation[i]] = i``.

    Example:
        >>> invert_permutation(np.array([2, 0, 1]))
        array([1, 2, 0])
    """
    if permutation is None:
        return None
    perm = _host_ints(permutation, "invert_permutation", "permutation")
    assert perm is not None  # (None only for a None permutation, handled above)
    out = np.empty_like(perm)
    out[perm] = np.arange(perm.size, dtype=np.int64)
    return out


class PackedSequence(namedtuple("PackedSequence_",
                                ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    """A packed batch of variable-length sequences (``torch.nn.utils.rnn.PackedSequence``).

    Build it with :func:`pack_padded_sequence` or :func:`pack_sequence`, not by hand.

    Attributes:
        data: ``(sum(lengths), *)`` the sequences' elements, time step by time step.
        batch_sizes: ``(max_len,)`` numpy int64, the batch size at each time step.
        sorted_indices: numpy int64 permutation that sorted the batch by decreasing length, or
            ``None`` (the batch was already sorted).
        unsorted_indices: its inverse, or ``None``.

    Example:
        >>> p = pack_sequence([jnp.ones((3, 2)), jnp.ones((1, 2))])
        >>> p.data.shape, p.batch_sizes
        ((4, 2), array([2, 1, 1]))
    """

    __slots__ = ()

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if batch_sizes is None:
            if not (isinstance(data, (list, tuple)) and len(data) == 2):
                raise TypeError("PackedSequence: expected data and batch_sizes, or a (data, "
                                "batch_sizes) pair")
            data, batch_sizes = data
        batch_sizes = _host_ints(batch_sizes, "PackedSequence", "batch_sizes")
        sorted_indices = _host_ints(sorted_indices, "PackedSequence", "sorted_indices")
        unsorted_indices = _host_ints(unsorted_indices, "PackedSequence", "unsorted_indices")
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    # torch's conveniences: conversions act on ``data`` only.
    def to(self, *args, **kwargs) -> PackedSequence:
        dtype = kwargs.get("dtype")
        for a in args:
            try:
                dtype = jnp.dtype(a)
            except TypeError:
                continue
        if dtype is None or jnp.dtype(dtype) == jnp.result_type(self.data):
            return self
        return self._replace(data=jnp.asarray(self.data).astype(dtype))

    def cpu(self, *args, **kwargs) -> PackedSequence:
        return self

    def cuda(self, *args, **kwargs) -> PackedSequence:
        return self

    def double(self) -> PackedSequence:
        return self.to(jnp.float64)

    def float(self) -> PackedSequence:
        return self.to(jnp.float32)

    def half(self) -> PackedSequence:
        return self.to(jnp.float16)

    def long(self) -> PackedSequence:
        return self.to(jnp.int64)

    def int(self) -> PackedSequence:
        return self.to(jnp.int32)

    def short(self) -> PackedSequence:
        return self.to(jnp.int16)

    def char(self) -> PackedSequence:
        return self.to(jnp.int8)

    def byte(self) -> PackedSequence:
        return self.to(jnp.uint8)

    @property
    def is_cuda(self) -> bool:
        return False

    def is_pinned(self) -> bool:
        return False


def _static(a):
    return None if a is None else tuple(int(v) for v in a)


def _unstatic(t):
    return None if t is None else np.asarray(t, dtype=np.int64)


def _flatten_packed(p):
    return (p.data,), (_static(p.batch_sizes), _static(p.sorted_indices),
                       _static(p.unsorted_indices))


def _unflatten_packed(aux, children):
    obj = tuple.__new__(PackedSequence, (children[0], _unstatic(aux[0]), _unstatic(aux[1]),
                                         _unstatic(aux[2])))
    return obj


jax.tree_util.register_pytree_node(PackedSequence, _flatten_packed, _unflatten_packed)


# -- public API -------------------------------------------------------------------------------

def pack_padded_sequence(input: Any, lengths: Any, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch of variable-length sequences.

    Args:
        input: ``(T, B, *)`` (or ``(B, T, *)`` with ``batch_first=True``) padded batch.
        lengths: ``B`` sequence lengths (host data: a list or numpy array).
        batch_first: the batch is dimension 0.
        enforce_sorted: require ``lengths`` in decreasing order; if ``False`` the batch is
            sorted here and the permutation kept in ``sorted_indices``.

    Shape:
        ``(T, B, *) -> data (sum(lengths), *)``.

    Returns:
        A :class:`PackedSequence`.

    Example:
        >>> p = pack_padded_sequence(jnp.ones((4, 2, 3)), [4, 2])
        >>> p.data.shape, p.batch_sizes
        ((6, 3), array([2, 2, 1, 1]))
    """
    x = jnp.asarray(input)
    lengths = _host_ints(lengths, "pack_padded_sequence", "lengths")
    if lengths.ndim != 1:
        raise ValueError(f"pack_padded_sequence: 'lengths' argument should be 1-D, got shape "
                         f"{lengths.shape}")
    if x.ndim < 2:
        raise ValueError(f"pack_padded_sequence: expected input with at least 2 dimensions "
                         f"(T, B, *), got shape {tuple(x.shape)}")
    if batch_first:
        x = jnp.swapaxes(x, 0, 1)
    t_len, b = x.shape[:2]
    if lengths.size != b:
        raise ValueError(f"pack_padded_sequence: Expected `len(lengths)` to be equal to "
                         f"batch_size, but got {lengths.size} (batch_size={b})")
    if enforce_sorted:
        if np.any(np.diff(lengths) > 0):
            raise ValueError("pack_padded_sequence: `lengths` array must be sorted in decreasing "
                             "order when `enforce_sorted` is True. You can pass "
                             "`enforce_sorted=False` to pack_padded_sequence and/or "
                             "pack_sequence to sidestep this requirement if you do not need "
                             "ONNX exportability.")
        sorted_indices = None
    else:
        sorted_indices = np.argsort(-lengths, kind="stable").astype(np.int64)
        lengths = lengths[sorted_indices]
        x = x[:, sorted_indices]
    if b and lengths.min() <= 0:
        raise ValueError("pack_padded_sequence: Length of all samples has to be greater than 0, "
                         "but found an element in 'lengths' that is <= 0 "
                         f"(lengths={lengths.tolist()})")
    if b and lengths.max() > t_len:
        raise ValueError(f"pack_padded_sequence: lengths must not exceed the padded length "
                         f"{t_len}, got max length {int(lengths.max())}")
    max_len = int(lengths.max()) if b else 0
    batch_sizes = (lengths[None, :] > np.arange(max_len)[:, None]).sum(1).astype(np.int64)
    data = padded_to_packed(x[:max_len], batch_sizes)
    return PackedSequence(data, batch_sizes, sorted_indices, None)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False,
                        padding_value: float = 0.0,
                        total_length: int | None = None) -> tuple[jax.Array, np.ndarray]:
    """Undo :func:`pack_padded_sequence`: a padded batch and the lengths.

    Args:
        sequence: a :class:`PackedSequence`.
        batch_first: return ``(B, T, *)`` instead of ``(T, B, *)``.
        padding_value: value of the padded positions.
        total_length: pad to this length (at least the longest sequence).

    Shape:
        ``data (sum(lengths), *) -> (T, B, *)``.

    Returns:
        ``(padded, lengths)``; ``lengths`` is a numpy int64 array in the original batch order.

    Example:
        >>> packed = pack_sequence([jnp.ones((3, 2)), jnp.ones((1, 2))])
        >>> padded, lengths = pad_packed_sequence(packed)
        >>> padded.shape, lengths
        ((3, 2, 2), array([3, 1]))
    """
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"pad_packed_sequence: expected a PackedSequence, got "
                        f"{type(sequence).__name__}")
    batch_sizes = sequence.batch_sizes
    max_len = int(batch_sizes.size)
    if total_length is not None:
        if total_length < max_len:
            raise ValueError("Expected total_length to be at least the length of the longest "
                             f"sequence in input, but got total_length={total_length} and max "
                             f"sequence length being {max_len}")
    padded = packed_to_padded(sequence.data, batch_sizes, padding_value)
    if total_length is not None and total_length > max_len:
        extra = jnp.full((total_length - max_len,) + padded.shape[1:], padding_value,
                         padded.dtype)
        padded = jnp.concatenate([padded, extra], 0)
    lengths = lengths_from_batch_sizes(batch_sizes)
    if sequence.unsorted_indices is not None:
        padded = padded[:, sequence.unsorted_indices]
        lengths = lengths[sequence.unsorted_indices]
    if batch_first:
        padded = jnp.swapaxes(padded, 0, 1)
    return padded, lengths


def pad_sequence(sequences: Sequence[Any], batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> jax.Array:
    """Stack variable-length sequences into one padded batch.

    Args:
        sequences: a list of ``(L_i, *)`` arrays (same trailing dimensions and dtype).
        batch_first: return ``(B, T, *)`` instead of ``(T, B, *)``.
        padding_value: value of the padded positions.
        padding_side: ``'right'`` (default) or ``'left'``.

    Shape:
        ``[(L_i, *)] -> (max L_i, B, *)``.

    Returns:
        The padded batch.

    Example:
        >>> pad_sequence([jnp.ones((3, 2)), jnp.ones((1, 2))]).shape
        (3, 2, 2)
    """
    if padding_side not in ("left", "right"):
        raise ValueError(f"pad_sequence: padding_side must be 'left' or 'right', got "
                         f"{padding_side!r}")
    if isinstance(sequences, (jax.Array, np.ndarray)):
        sequences = list(sequences)
    seqs = [jnp.asarray(s) for s in sequences]
    if not seqs:
        raise ValueError("pad_sequence: received an empty list of sequences")
    trailing = seqs[0].shape[1:]
    for i, s in enumerate(seqs):
        if s.ndim < 1 or s.shape[1:] != trailing:
            raise ValueError(f"pad_sequence: expected every sequence with trailing dimensions "
                             f"{trailing}, got shape {tuple(s.shape)} at index {i}")
    max_len = max(s.shape[0] for s in seqs)
    dtype = jnp.result_type(*seqs)
    rows = []
    for s in seqs:
        pad = jnp.full((max_len - s.shape[0],) + trailing, padding_value, dtype)
        s = s.astype(dtype)
        rows.append(jnp.concatenate([s, pad] if padding_side == "right" else [pad, s], 0))
    return jnp.stack(rows, 0 if batch_first else 1)


def unpad_sequence(padded_sequences: Any, lengths: Any, batch_first: bool = False) -> list:
    """Split a padded batch back into a list of sequences.

    Args:
        padded_sequences: ``(T, B, *)`` or ``(B, T, *)`` with ``batch_first=True``.
        lengths: ``B`` lengths (host data).
        batch_first: the batch is dimension 0.

    Returns:
        A list of ``B`` arrays ``(L_i, *)``.

    Example:
        >>> [s.shape for s in unpad_sequence(jnp.ones((3, 2, 4)), [3, 1])]
        [(3, 4), (1, 4)]
    """
    x = jnp.asarray(padded_sequences)
    if not batch_first:
        x = jnp.swapaxes(x, 0, 1)
    lengths = _host_ints(lengths, "unpad_sequence", "lengths")
    return [x[i, :int(n)] for i, n in enumerate(lengths)]


def pack_sequence(sequences: Sequence[Any], enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of variable-length sequences.

    Args:
        sequences: a list of ``(L_i, *)`` arrays, by decreasing length unless
            ``enforce_sorted=False``.
        enforce_sorted: require decreasing lengths.

    Returns:
        A :class:`PackedSequence`.

    Example:
        >>> pack_sequence([jnp.ones((3,)), jnp.ones((2,)), jnp.ones((1,))]).batch_sizes
        array([3, 2, 1])
    """
    lengths = np.asarray([np.shape(s)[0] for s in sequences], np.int64)
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list:
    """Unpack a :class:`PackedSequence` into a list of sequences (original order).

    Example:
        >>> [s.shape for s in unpack_sequence(pack_sequence([jnp.ones((3,)), jnp.ones((1,))]))]
        [(3,), (1,)]
    """
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return [padded[i, :int(n)] for i, n in enumerate(lengths)]
