"""``DataLoader`` (torch's arguments, batches of jax arrays), ``default_collate``,
``default_convert``, ``get_worker_info``.

Workers are threads, not processes. A process worker would have to pickle the dataset and
start after JAX has started its own threads (``fork`` then can deadlock; ``spawn`` re-imports
everything per worker), and every batch would cross a pipe. Threads share the dataset and put
batches on the device directly; the work that dominates real loading (numpy indexing and
stacking, file reads, image decoding) releases the GIL, and so does ``jax.device_put``. A
dataset whose ``__getitem__`` is pure-Python arithmetic does not run faster with more workers.
"""
from __future__ import annotations

import collections.abc
import concurrent.futures
import itertools
import threading
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from ... import random as _random
from ..._placement import parse_device
from ...tensor_functions import as_tensor
from .dataset import IterableDataset
from .sampler import BatchSampler, RandomSampler, SequentialSampler

__all__ = ["DataLoader", "default_collate", "default_convert", "get_worker_info", "WorkerInfo"]

_ARRAY_TYPES = (jax.Array, np.ndarray)



def _container_type(obj: Any) -> Any:
    """``type(obj)``, to rebuild a container of the same type (typed ``Any``: a Mapping or
    namedtuple subclass's constructor is not ``Mapping``'s)."""
    return type(obj)

def _is_torch_tensor(x) -> bool:
    return type(x).__module__.startswith("torch") and hasattr(x, "numpy")


def _collate_host(batch):
    """Stack a list of samples: numpy stays on the host, jax arrays stack where they are."""
    elem = batch[0]
    if isinstance(elem, jax.Array):
        return jnp.stack(batch)
    if _is_torch_tensor(elem):
        return np.stack([b.detach().cpu().numpy() for b in batch])
    if isinstance(elem, np.ndarray):
        if elem.dtype.kind in "OUSV":
            raise TypeError(f"default_collate: numpy arrays of dtype {elem.dtype} cannot be "
                            "collated; return numbers or arrays of numbers")
        return np.stack(batch)
    if isinstance(elem, np.generic):
        return np.asarray(batch)
    if isinstance(elem, bool):
        return np.asarray(batch, dtype=np.bool_)
    if isinstance(elem, int):
        return np.asarray(batch, dtype=np.int64)
    if isinstance(elem, float):
        return np.asarray(batch, dtype=np.float64)   # torch: float64 (float32 without x64)
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, collections.abc.Mapping):
        collated = {key: _collate_host([d[key] for d in batch]) for key in elem}
        try:
            return _container_type(elem)(collated)
        except TypeError:
            return collated
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return _container_type(elem)(*(_collate_host(list(s)) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        if any(len(b) != len(elem) for b in batch):
            raise ValueError("default_collate: each element in list of batch should be of "
                             f"equal size; got sizes {[len(b) for b in batch]}")
        columns = [_collate_host(list(s)) for s in zip(*batch)]
        if isinstance(elem, tuple):
            return columns                            # torch returns a list here too
        try:
            return _container_type(elem)(columns)
        except TypeError:
            return columns
    raise TypeError(f"default_collate: batch must contain arrays, numbers, dicts or lists; "
                    f"found {type(elem)}")


def _map_arrays(tree, fn):
    if isinstance(tree, _ARRAY_TYPES):
        return fn(tree)
    if isinstance(tree, collections.abc.Mapping):
        mapped = {k: _map_arrays(v, fn) for k, v in tree.items()}
        try:
            return _container_type(tree)(mapped)
        except TypeError:
            return mapped
    if isinstance(tree, tuple) and hasattr(tree, "_fields"):
        return _container_type(tree)(*(_map_arrays(v, fn) for v in tree))
    if isinstance(tree, (list, tuple)):
        return _container_type(tree)(_map_arrays(v, fn) for v in tree)
    return tree


def _to_jax(x):
    # as_tensor refuses int64 values that JAX without x64 would wrap around.
    return x if isinstance(x, jax.Array) else as_tensor(x)


def default_collate(batch: list) -> Any:
    """Merge a list of samples into a batch (``torch.utils.data.default_collate``).

    Arrays (jax, numpy, torch) are stacked along a new dim 0 into a jax array; Python ints,
    floats and bools become int64/float64/bool arrays (32-bit without x64); dicts, namedtuples
    and lists are collated field by field (a tuple sample gives a list, as in torch); strings
    stay lists.

    Example:
        >>> default_collate([(np.ones(2), 0), (np.zeros(2), 1)])
        [Array([[1., 1.], [0., 0.]], dtype=float32), Array([0, 1], dtype=int32)]
    """
    if not isinstance(batch, collections.abc.Sequence) or isinstance(batch, (str, bytes)) \
            or not batch:
        raise TypeError(f"default_collate: expected a non-empty list of samples, got "
                        f"{type(batch).__name__}")
    return _map_arrays(_collate_host(batch), _to_jax)


def default_convert(data: Any) -> Any:
    """Arrays (numpy, torch) in ``data`` become jax arrays; everything else is unchanged
    (``torch.utils.data.default_convert``, used when ``batch_size=None``)."""
    if _is_torch_tensor(data):
        data = data.detach().cpu().numpy()
    if isinstance(data, np.ndarray) and data.dtype.kind not in "OUSV":
        return as_tensor(data)
    if isinstance(data, np.generic):
        return as_tensor(data)
    if isinstance(data, (str, bytes)):
        return data
    if isinstance(data, collections.abc.Mapping):
        return _container_type(data)({k: default_convert(v) for k, v in data.items()})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return _container_type(data)(*(default_convert(v) for v in data))
    if isinstance(data, (list, tuple)):
        return _container_type(data)(default_convert(v) for v in data)
    return data


class WorkerInfo:
    """What ``get_worker_info()`` returns inside a worker thread: ``id``, ``num_workers``,
    ``seed``, ``dataset``."""

    def __init__(self, id: int, num_workers: int, seed: int, dataset: Any) -> None:
        self.id, self.num_workers, self.seed, self.dataset = id, num_workers, seed, dataset

    def __repr__(self) -> str:
        return f"WorkerInfo(id={self.id}, num_workers={self.num_workers}, seed={self.seed})"


_worker = threading.local()


def get_worker_info() -> WorkerInfo | None:
    """The current worker's ``WorkerInfo`` inside a DataLoader worker thread, else ``None``."""
    return getattr(_worker, "info", None)


class DataLoader:
    """Batches from a dataset, with torch's arguments (``torch.utils.data.DataLoader``).

    Args:
        dataset: a map-style ``Dataset`` (``__getitem__``/``__len__``) or an ``IterableDataset``.
        batch_size: samples per batch (``None``: no batching, each sample converted).
        shuffle: a new random order every epoch, drawn from jnn's random stream
            (``nn.manual_seed``) or from ``generator``.
        sampler / batch_sampler: the order of indices / of index lists, instead of
            ``shuffle`` / ``batch_size``+``drop_last``.
        num_workers: worker *threads* that load batches ahead, in order (see the module
            docstring for why threads); 0 loads in the calling thread.
        collate_fn: merges a list of samples (default: :func:`default_collate`).
        pin_memory: put each batch on the device ahead of time (``jax.device_put`` in the
            background; with ``num_workers=0`` one prefetch thread does it), on
            ``pin_memory_device`` if given.
        drop_last: drop the last batch if it is smaller than ``batch_size``.
        timeout: seconds to wait for a batch from the workers (0: forever).
        worker_init_fn: called with the worker id in each worker thread as it starts.
        generator: a ``jnn.Generator`` for ``shuffle``'s permutations.
        prefetch_factor: batches loaded ahead per worker (default 2).
        persistent_workers: keep the worker threads between epochs.
        device: where batches go: a device (``"cuda:0"``, a ``jax.Device``) or a
            ``jax.sharding.Sharding``.
        shard: split every batch's dim 0 across ``jax.devices()``, over the same mesh
            ``nn.pmap`` uses, so a ``nn.pmap`` step receives it without moving it. The batch
            size must divide by the number of devices (use ``drop_last=True``).

    ``len(loader)`` is the number of batches; ``tqdm(loader)`` shows progress.

    Example:
        >>> from jnn.utils.data import TensorDataset
        >>> x, y = jnp.arange(10.0).reshape(5, 2), jnp.arange(5)
        >>> loader = DataLoader(TensorDataset(x, y), batch_size=2, shuffle=True)
        >>> [(xb.shape, yb.shape) for xb, yb in loader]
        [((2, 2), (2,)), ((2, 2), (2,)), ((1, 2), (1,))]
        >>> sorted(int(i) for _, yb in loader for i in yb)   # every sample once per epoch
        [0, 1, 2, 3, 4]

    Differences from PyTorch:
        Workers are threads; ``multiprocessing_context`` is accepted and ignored. The shuffle
        order differs from torch's for the same seed. ``in_order=False`` is accepted; batches
        still come in order.
    """

    def __init__(self, dataset: Any, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler: Any = None, batch_sampler: Any = None, num_workers: int = 0,
                 collate_fn: Callable | None = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: Callable | None = None, multiprocessing_context: Any = None,
                 generator: _random.Generator | None = None, *, prefetch_factor: int | None = None,
                 persistent_workers: bool = False, pin_memory_device: str = "",
                 in_order: bool = True, device: Any = None, shard: bool = False) -> None:
        if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError("DataLoader: num_workers option should be non-negative; use "
                             f"num_workers=0 to disable workers, got {num_workers!r}")
        if timeout < 0:
            raise ValueError(f"DataLoader: timeout option should be non-negative, got {timeout}")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("DataLoader: prefetch_factor option could only be specified with "
                             "num_workers > 0; otherwise leave it None")
        if prefetch_factor is not None and (not isinstance(prefetch_factor, int)
                                            or prefetch_factor < 1):
            raise ValueError(f"DataLoader: prefetch_factor must be a positive int, got "
                             f"{prefetch_factor!r}")
        if persistent_workers and num_workers == 0:
            raise ValueError("DataLoader: persistent_workers option needs num_workers > 0")
        if shard and device is not None:
            raise ValueError("DataLoader: give device or shard=True, not both")

        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = 2 if prefetch_factor is None else prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.generator = generator
        self.persistent_workers = persistent_workers
        self.in_order = in_order
        self.drop_last = drop_last
        self._iterable = isinstance(dataset, IterableDataset)

        if self._iterable:
            if shuffle not in (None, False):
                raise ValueError("DataLoader with IterableDataset: expected unspecified shuffle "
                                 f"option, but got shuffle={shuffle}")
            if sampler is not None or batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified "
                                 "sampler and batch_sampler options")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("DataLoader: batch_sampler option is mutually exclusive with "
                                 "batch_size, shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("DataLoader: batch_size=None option disables auto-batching and is "
                             "mutually exclusive with drop_last")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if batch_size is not None and (isinstance(batch_size, bool)
                                       or not isinstance(batch_size, int) or batch_size <= 0):
            raise ValueError(f"DataLoader: batch_size should be a positive integer value, but "
                             f"got batch_size={batch_size!r}")
        if not self._iterable and sampler is None:
            sampler = (RandomSampler(dataset, generator=generator) if shuffle
                       else SequentialSampler(dataset))
        if not self._iterable and batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.batch_size = batch_size
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self._auto_collation = batch_sampler is not None or (self._iterable and
                                                             batch_size is not None)
        self.collate_fn = collate_fn if collate_fn is not None else (
            default_collate if self._auto_collation else default_convert)
        self._default_collate = collate_fn is None
        self._target = self._placement(device, shard)
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    # -- where batches go ---------------------------------------------------------------------
    def _placement(self, device, shard):
        if shard:
            if jax.process_count() > 1:
                raise ValueError("DataLoader: shard=True splits batches over this process's "
                                 "devices only; with several processes pass per-process "
                                 "batches to nn.pmap (it assembles the global batch)")
            return NamedSharding(Mesh(np.array(jax.devices(), dtype=object), ("batch",)),
                                 PartitionSpec("batch"))
        if isinstance(device, jax.sharding.Sharding):
            return device
        if device is not None:
            return parse_device(device)
        if self.pin_memory and self.pin_memory_device:
            return parse_device(self.pin_memory_device)
        return None

    def _place(self, batch):
        target = self._target
        if target is None:
            return _map_arrays(batch, _to_jax) if self._default_collate or self.pin_memory \
                else batch
        devices = len(target.device_set) if isinstance(target, jax.sharding.Sharding) else 1

        def put(x):
            if devices > 1 and isinstance(target, NamedSharding) and target.spec:
                n = np.shape(x)[0] if np.ndim(x) else None
                if n is None or n % devices:
                    raise ValueError(f"DataLoader(shard=True): a batch of {n} does not split "
                                     f"evenly across {devices} devices; use a batch_size "
                                     f"divisible by {devices} and drop_last=True")
            if isinstance(x, np.ndarray):
                x = _to_jax(x) if x.dtype.kind in "iu" else x  # check int64 values fit first
            return jax.device_put(x, target)
        return _map_arrays(batch, put)

    # -- loading --------------------------------------------------------------------------------
    def _fetch(self, indices):
        dataset = self.dataset
        if self._auto_collation:
            getitems = getattr(dataset, "__getitems__", None)
            samples = getitems(indices) if callable(getitems) else [dataset[i] for i in indices]
            if self._default_collate:
                return self._place(_collate_host(samples))
            return self._place(self.collate_fn(samples))
        return self._place(self.collate_fn(dataset[indices]))

    def _iterable_batches(self):
        it = iter(self.dataset)
        if self.batch_size is None:
            for sample in it:
                yield self._place(self.collate_fn(sample))
            return
        while True:
            samples = list(itertools.islice(it, self.batch_size))
            if not samples or (self.drop_last and len(samples) < self.batch_size):
                return
            if self._default_collate:
                yield self._place(_collate_host(samples))
            else:
                yield self._place(self.collate_fn(samples))

    def _index_stream(self):
        return iter(self.batch_sampler if self.batch_sampler is not None else self.sampler)

    def __iter__(self):
        if self._iterable:
            if self.num_workers == 0 and not self.pin_memory:
                return self._iterable_batches()
            return self._prefetched(self._iterable_batches())
        if self.num_workers == 0:
            batches = (self._fetch(indices) for indices in self._index_stream())
            return self._prefetched(batches) if self.pin_memory else batches
        return self._from_workers()

    def _prefetched(self, batches):
        """Run a batch generator one thread ahead of the consumer (up to prefetch_factor *
        max(1, num_workers) batches)."""
        depth = self.prefetch_factor * max(1, self.num_workers)
        queue: collections.deque = collections.deque()
        ready = threading.Condition()
        done = object()
        stop = threading.Event()

        def produce():
            try:
                for batch in batches:
                    with ready:
                        while len(queue) >= depth and not stop.is_set():
                            ready.wait()
                        if stop.is_set():
                            return
                        queue.append((batch, None))
                        ready.notify_all()
            except BaseException as e:  # re-raised in the consumer, like torch's workers
                with ready:
                    queue.append((None, e))
                    ready.notify_all()
                return
            with ready:
                queue.append((done, None))
                ready.notify_all()

        thread = threading.Thread(target=produce, name="jnn-DataLoader-prefetch", daemon=True)
        thread.start()
        try:
            while True:
                with ready:
                    if not ready.wait_for(lambda: queue, timeout=self.timeout or None):
                        raise RuntimeError(f"DataLoader timed out after {self.timeout} seconds")
                    batch, error = queue.popleft()
                    ready.notify_all()
                if error is not None:
                    raise error
                if batch is done:
                    return
                yield batch
        finally:
            stop.set()
            with ready:
                ready.notify_all()

    def _worker_pool(self):
        with self._pool_lock:
            if self._pool is not None:
                return self._pool
            counter = itertools.count()
            base_seed = int(np.asarray(jax.random.randint(
                _random.next_key(generator=self.generator), (), 0, 2 ** 31 - 1)))

            def init():
                wid = next(counter)
                _worker.info = WorkerInfo(wid, self.num_workers, base_seed + wid, self.dataset)
                if self.worker_init_fn is not None:
                    self.worker_init_fn(wid)

            pool = concurrent.futures.ThreadPoolExecutor(
                self.num_workers, thread_name_prefix="jnn-DataLoader-worker", initializer=init)
            if self.persistent_workers:
                self._pool = pool
            return pool

    def _from_workers(self):
        pool = self._worker_pool()
        window = self.prefetch_factor * self.num_workers
        pending: collections.deque = collections.deque()
        indices = self._index_stream()
        try:
            for idx in itertools.islice(indices, window):
                pending.append(pool.submit(self._fetch, idx))
            while pending:
                future = pending.popleft()
                try:
                    batch = future.result(timeout=self.timeout or None)
                except concurrent.futures.TimeoutError:
                    raise RuntimeError(f"DataLoader timed out after {self.timeout} seconds "
                                       "waiting for a batch") from None
                for idx in itertools.islice(indices, 1):
                    pending.append(pool.submit(self._fetch, idx))
                yield batch
        finally:
            for f in pending:
                f.cancel()
            if pool is not self._pool:
                pool.shutdown(wait=False, cancel_futures=True)

    def __len__(self) -> int:
        if self._iterable:
            n = len(self.dataset)   # TypeError if the stream has no length, as in torch
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return len(self.sampler)

    def __del__(self):
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
