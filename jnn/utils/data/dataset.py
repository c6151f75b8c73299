"""Datasets (``torch.utils.data.dataset``): ``Dataset``, ``IterableDataset``, ``TensorDataset``,
``Subset``, ``ConcatDataset``, ``random_split``."""
from __future__ import annotations

import bisect
import itertools
import math
import warnings
from collections.abc import Iterable, Sequence
from typing import Generic, TypeVar

import jax
import jax.numpy as jnp
import numpy as np

from ... import random as _random

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset",
           "random_split"]

T_co = TypeVar("T_co", covariant=True)


class Dataset(Generic[T_co]):
    """A map-style dataset: ``__getitem__(index)`` and usually ``__len__`` (torch's)."""

    def __getitem__(self, index) -> T_co:
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset[T_co]):
    """A dataset that is a stream: ``__iter__`` yields the samples (torch's).

    Differences from PyTorch:
        The DataLoader reads it from one background thread (see ``DataLoader``), so
        ``get_worker_info()`` inside ``__iter__`` is ``None``: every sample is yielded once,
        with no per-worker sharding to write.
    """

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")

    def __add__(self, other):
        raise TypeError("IterableDataset does not support +; chain the iterators instead")


class TensorDataset(Dataset):
    """Samples are the ``index``-th rows of each array (``torch.utils.data.TensorDataset``).

    Args:
        *tensors: arrays (jax, numpy, or torch tensors) with the same size in dim 0.

    The arrays are kept on the host (numpy), so a loader gathers a batch with one numpy fancy
    index and transfers it to the device once, instead of one device slice per sample.
    ``dataset[i]`` returns jax arrays, like torch returns tensors.

    Example:
        >>> ds = TensorDataset(nn.randn(100, 3), nn.randint(0, 2, (100,)))
        >>> x, y = ds[0]
    """

    def __init__(self, *tensors) -> None:
        if not tensors:
            raise ValueError("TensorDataset: expected at least one array")
        hosts = []
        for i, t in enumerate(tensors):
            if type(t).__module__.startswith("torch") and hasattr(t, "numpy"):
                t = t.detach().cpu().numpy()
            host = np.asarray(t)
            if host.ndim == 0:
                raise ValueError(f"TensorDataset: tensors[{i}] is a scalar; every array needs "
                                 "a leading (sample) dimension")
            hosts.append(host)
        sizes = [h.shape[0] for h in hosts]
        if len(set(sizes)) != 1:
            raise ValueError(f"TensorDataset: size mismatch between tensors: sizes {sizes} in "
                             "dim 0")
        self.tensors = tuple(hosts)

    def __getitem__(self, index):
        return tuple(jnp.asarray(t[index]) for t in self.tensors)

    def __getitems__(self, indices) -> list:
        """A batch of samples as host rows (the DataLoader's fast path)."""
        idx = np.asarray(indices, dtype=np.int64)
        columns = [t[idx] for t in self.tensors]
        return [tuple(c[i] for c in columns) for i in range(len(idx))]

    def __len__(self) -> int:
        return self.tensors[0].shape[0]


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order (torch's ``Subset``)."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices) -> list:
        mapped = [self.indices[i] for i in indices]
        getitems = getattr(self.dataset, "__getitems__", None)
        if callable(getitems):
            return getitems(mapped)
        return [self.dataset[i] for i in mapped]

    def __len__(self) -> int:
        return len(self.indices)


class ConcatDataset(Dataset):
    """Several map-style datasets one after another (torch's ``ConcatDataset``)."""

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError("ConcatDataset does not support IterableDataset")
        # (Map-style datasets define __len__; torch's Dataset does not declare it either.)
        self.cumulative_sizes = list(itertools.accumulate(
            len(d) for d in self.datasets))  # type: ignore[arg-type]

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        if idx < 0:
            if -idx > len(self):
                raise ValueError("ConcatDataset: absolute value of index should not exceed "
                                 "dataset length")
            idx = len(self) + idx
        if idx >= len(self):
            raise IndexError(f"ConcatDataset: index {idx} out of range for length {len(self)}")
        which = bisect.bisect_right(self.cumulative_sizes, idx)
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][idx - start]


def random_split(dataset: Dataset, lengths: Sequence[int | float],
                 generator: _random.Generator | None = None) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random subsets (``torch.utils.data.random_split``).

    Args:
        lengths: sizes that add up to ``len(dataset)``, or fractions that add up to 1 (floor of
            each share, the remainder given out one by one from the first, like torch).
        generator: a ``jnn.Generator``; default: jnn's global stream (``nn.manual_seed``).

    Differences from PyTorch:
        The permutation comes from JAX's generator, so the subsets differ from torch's for the
        same seed; they are reproducible under ``nn.manual_seed`` / a seeded generator.
    """
    n = len(dataset)  # type: ignore[arg-type]  # (a map-style dataset has __len__)
    lengths = list(lengths)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"random_split: fraction at index {i} is not between 0 and 1")
        sizes = [int(math.floor(n * frac)) for frac in lengths]
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        for i, size in enumerate(sizes):
            if size == 0:
                warnings.warn(f"random_split: length of split at index {i} is 0; this "
                              "might result in an empty dataset", stacklevel=2)
        lengths = sizes
    if any(not isinstance(s, (int, np.integer)) or s < 0 for s in lengths) \
            or sum(lengths) != n:
        raise ValueError(f"random_split: lengths {lengths} must be non-negative ints adding up "
                         f"to the dataset's length {n} (or fractions adding up to 1)")
    perm = np.asarray(jax.random.permutation(_random.next_key(generator=generator), n)).tolist()
    offsets = list(itertools.accumulate(lengths))
    return [Subset(dataset, perm[end - size:end]) for size, end in zip(lengths, offsets)]
