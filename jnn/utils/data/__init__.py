"""``torch.utils.data`` for jnn: datasets, samplers and a ``DataLoader`` yielding jax arrays.

    from jnn.utils.data import DataLoader, TensorDataset, random_split

    train, val = random_split(TensorDataset(x, y), [0.8, 0.2])
    for xb, yb in DataLoader(train, batch_size=64, shuffle=True, num_workers=2):
        loss = train_step(model, opt, xb, yb)

Why not build on grain (Google's data loader for JAX, ``grain`` on PyPI): its ``DataLoader``
takes a ``RandomAccessDataSource``, an ``IndexSampler`` with its own seed and a list of
``operations``: none of torch's arguments (``batch_size``, ``shuffle``, ``sampler``,
``collate_fn``, ``drop_last``) or semantics (a ``Sampler``'s ``__iter__``/``__len__``,
``default_collate``'s dict/tuple rules, ``random_split``), so a torch layer over it would be
all of this package anyway. It would add seven run-time dependencies (absl-py, array-record,
cloudpickle, etils, portpicker, protobuf, ...) to jnn's three and needs Python >= 3.11 (jnn:
3.10). What grain does better, process workers with checkpointable iterators, a torch program
does not expect. torch's own loader is not an option either: jnn does not depend on torch.
The loader here is small: samplers over indices, a collate function, and a thread pool
(see ``dataloader.py`` for why threads).
"""
from .dataloader import DataLoader, WorkerInfo, default_collate, default_convert, get_worker_info
from .dataset import ConcatDataset, Dataset, IterableDataset, Subset, TensorDataset, random_split
from .sampler import (
    BatchSampler,
    DistributedSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)

__all__ = ["DataLoader", "WorkerInfo", "default_collate", "default_convert", "get_worker_info",
           "Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset",
           "random_split", "Sampler", "SequentialSampler", "RandomSampler",
           "SubsetRandomSampler", "WeightedRandomSampler", "BatchSampler", "DistributedSampler"]
