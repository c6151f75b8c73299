"""Samplers (``torch.utils.data.sampler`` and ``distributed``): which indices a DataLoader
reads, in which order.

Random samplers draw from jnn's random stream (``nn.manual_seed``) or the ``generator=`` they
are given, once per pass (``iter(sampler)``), so an epoch's order is reproducible from the seed.
Their orders differ from torch's for the same seed (JAX's generator is not torch's).
"""
from __future__ import annotations

import math
from collections.abc import Iterator, Sequence, Sized
from typing import Any

import jax
import numpy as np

from ... import random as _random

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler", "DistributedSampler"]


def _positive_int(value, fn: str, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{fn}: {name} should be a positive integer value, but got "
                         f"{name}={value!r}")
    return int(value)


class Sampler:
    """Base class: ``__iter__`` yields indices (or lists of indices, for a batch sampler)."""

    def __init__(self, data_source: Sized | None = None) -> None:
        pass

    def __iter__(self) -> Iterator:
        raise NotImplementedError


class SequentialSampler(Sampler):
    """``0, 1, ..., len(data_source) - 1``."""

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random permutation each pass, or ``num_samples`` draws with ``replacement=True``
    (torch's ``RandomSampler``; without replacement, ``num_samples`` larger than the dataset
    concatenates permutations)."""

    def __init__(self, data_source: Sized, replacement: bool = False,
                 num_samples: int | None = None,
                 generator: _random.Generator | None = None) -> None:
        if not isinstance(replacement, bool):
            raise TypeError(f"RandomSampler: replacement should be a boolean value, but got "
                            f"replacement={replacement!r}")
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        _positive_int(self.num_samples, "RandomSampler", "num_samples")

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        n, count = len(self.data_source), self.num_samples
        key = _random.next_key(generator=self.generator)
        if self.replacement:
            return iter(np.asarray(jax.random.randint(key, (count,), 0, n)).tolist())
        rounds = -(-count // n)
        keys = jax.random.split(key, rounds)
        order = np.concatenate([np.asarray(jax.random.permutation(k, n)) for k in keys])
        return iter(order[:count].tolist())

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in a random order each pass (torch's ``SubsetRandomSampler``)."""

    def __init__(self, indices: Sequence[int], generator: _random.Generator | None = None) -> None:
        self.indices = indices
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        perm = np.asarray(jax.random.permutation(_random.next_key(generator=self.generator),
                                                 len(self.indices)))
        return iter([self.indices[i] for i in perm.tolist()])

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probabilities proportional to ``weights``
    (torch's ``WeightedRandomSampler``)."""

    def __init__(self, weights: Sequence[float], num_samples: int, replacement: bool = True,
                 generator: _random.Generator | None = None) -> None:
        self.num_samples = _positive_int(num_samples, "WeightedRandomSampler", "num_samples")
        if not isinstance(replacement, bool):
            raise ValueError(f"WeightedRandomSampler: replacement should be a boolean value, "
                             f"but got replacement={replacement!r}")
        w = np.asarray(weights, dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(f"WeightedRandomSampler: weights should be a 1d sequence but "
                             f"given weights have shape {w.shape}")
        if not replacement and self.num_samples > w.shape[0]:
            raise ValueError(f"WeightedRandomSampler: cannot draw num_samples={num_samples} "
                             f"from {w.shape[0]} weights without replacement")
        self.weights = w
        self.replacement = replacement
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        draws = _random.multinomial(self.weights.astype(np.float32), self.num_samples,
                                    self.replacement, generator=self.generator)
        return iter(np.asarray(draws).tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Groups another sampler's indices into lists of ``batch_size`` (torch's)."""

    def __init__(self, sampler: Any, batch_size: int, drop_last: bool) -> None:
        self.batch_size = _positive_int(batch_size, "BatchSampler", "batch_size")
        if not isinstance(drop_last, bool):
            raise ValueError(f"BatchSampler: drop_last should be a boolean value, but got "
                             f"drop_last={drop_last!r}")
        self.sampler = sampler
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list[int]]:
        batch: list = []
        for idx in self.sampler:
            batch.append(idx)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


class DistributedSampler(Sampler):
    """The share of the dataset that process ``rank`` of ``num_replicas`` reads (torch's
    ``DistributedSampler``): every process permutes with the same ``seed + epoch`` (call
    ``set_epoch`` each epoch), pads by repeating indices (or drops, with ``drop_last``) so all
    shares have the same length, then takes every ``num_replicas``-th index.

    ``num_replicas``/``rank`` default to ``jax.process_count()``/``jax.process_index()``. Inside
    one process ``nn.pmap`` already splits each batch across the local devices; this sampler
    is for several processes (``jax.distributed.initialize``).
    """

    def __init__(self, dataset: Sized, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        num_replicas = jax.process_count() if num_replicas is None else num_replicas
        rank = jax.process_index() if rank is None else rank
        _positive_int(num_replicas, "DistributedSampler", "num_replicas")
        if not 0 <= rank < num_replicas:
            raise ValueError(f"DistributedSampler: invalid rank {rank}, rank should be in the "
                             f"interval [0, {num_replicas - 1}]")
        self.dataset, self.num_replicas, self.rank = dataset, num_replicas, rank
        self.shuffle, self.seed, self.drop_last, self.epoch = shuffle, seed, drop_last, 0
        n = len(dataset)
        if drop_last and n % num_replicas:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        if self.shuffle:
            key = jax.random.PRNGKey(self.seed + self.epoch)   # the same on every process
            indices = np.asarray(jax.random.permutation(key, n)).tolist()
        else:
            indices = list(range(n))
        if not self.drop_last:
            pad = self.total_size - len(indices)
            if pad <= len(indices):
                indices += indices[:pad]
            else:
                indices += (indices * math.ceil(pad / len(indices)))[:pad]
        else:
            indices = indices[:self.total_size]
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
