"""``jnn.utils.data`` against ``torch.utils.data`` where torch's results are deterministic:
batch composition without shuffling, ``drop_last``, ``len``, collation of dicts / tuples /
nested samples, ``random_split`` lengths, ``Subset``/``ConcatDataset`` indexing, sampler
lengths and ``DistributedSampler``'s shares; plus shuffle reproducibility under
``nn.manual_seed``, worker threads, device placement and sharding."""
import os
import collections

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.utils.data as tud

import jnn as nn
import jnn.utils.data as jud

X = np.arange(30, dtype=np.float32).reshape(10, 3)
Y = np.arange(10, dtype=np.int64)


def _np(tree):
    if isinstance(tree, torch.Tensor):
        return tree.numpy()
    if isinstance(tree, (jax.Array, np.ndarray)):
        return np.asarray(tree)
    if isinstance(tree, dict):
        return {k: _np(v) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return [_np(v) for v in tree]
    return tree


def _assert_same(got, want):
    got, want = _np(got), _np(want)
    if isinstance(want, dict):
        assert isinstance(got, dict) and list(got) == list(want)
        for k in want:
            _assert_same(got[k], want[k])
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), (got, want)
        for g, w in zip(got, want):
            _assert_same(g, w)
    elif isinstance(want, np.ndarray):
        assert isinstance(got, np.ndarray) and got.shape == want.shape
        assert got.dtype.kind == want.dtype.kind, (got.dtype, want.dtype)
        np.testing.assert_array_equal(got, want)
    else:
        assert got == want


class Pairs:
    """A map-style dataset with nested samples, the same class for both libraries."""

    def __init__(self, n=7):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return {"x": X[i], "label": int(Y[i]), "pair": (float(i) / 2, np.int64(i)),
                "name": f"s{i}", "nested": {"w": [X[i, :2], True]}}


LOADER_ARGS = [dict(batch_size=3), dict(batch_size=3, drop_last=True), dict(batch_size=1),
               dict(batch_size=10), dict(batch_size=4, drop_last=True),
               dict(batch_size=None)]


@pytest.mark.parametrize("kwargs", LOADER_ARGS, ids=str)
def test_batches_and_len_match_torch_without_shuffle(kwargs):
    t_loader = tud.DataLoader(tud.TensorDataset(torch.from_numpy(X), torch.from_numpy(Y)),
                              **kwargs)
    j_loader = jud.DataLoader(jud.TensorDataset(X, Y), **kwargs)
    assert len(j_loader) == len(t_loader)
    t_batches, j_batches = list(t_loader), list(j_loader)
    assert len(j_batches) == len(t_batches)
    for jb, tb in zip(j_batches, t_batches):
        assert all(isinstance(a, jax.Array) for a in jb)
        _assert_same(list(jb), list(tb))


def test_collate_of_dicts_tuples_strings_and_nesting_matches_torch():
    kwargs = dict(batch_size=3)
    t_batches = list(tud.DataLoader(Pairs(), **kwargs))
    j_batches = list(jud.DataLoader(Pairs(), **kwargs))
    assert len(j_batches) == len(t_batches) == 3
    for jb, tb in zip(j_batches, t_batches):
        _assert_same(jb, tb)
        assert isinstance(jb["x"], jax.Array) and jb["name"] == tb["name"]
    Point = collections.namedtuple("Point", "x y")
    got = jud.default_collate([Point(1, 2.0), Point(3, 4.0)])
    want = tud.default_collate([Point(1, 2.0), Point(3, 4.0)])
    assert type(got) is Point
    _assert_same(list(got), list(want))


def test_collate_errors():
    with pytest.raises(ValueError, match="equal size"):
        jud.default_collate([[1, 2], [3]])
    with pytest.raises(TypeError, match="found <class 'NoneType'>"):
        jud.default_collate([None, None])
    with pytest.raises(ValueError, match="do not fit in int32"):
        jud.default_collate([2 ** 40, 1])      # without x64: refused, not wrapped around


@pytest.mark.parametrize("lengths", [[3, 7], [0.3, 0.7], [0.5, 0.25, 0.25], [0.34, 0.33, 0.33],
                                     [1.0]], ids=str)
def test_random_split_lengths_match_torch(lengths):
    t_parts = tud.random_split(range(10), lengths)
    nn.manual_seed(0)
    j_parts = jud.random_split(range(10), lengths)
    assert [len(p) for p in j_parts] == [len(p) for p in t_parts]
    together = sorted(i for p in j_parts for i in p)
    assert together == list(range(10))                     # a partition
    nn.manual_seed(0)
    again = jud.random_split(range(10), lengths)
    assert [list(p) for p in again] == [list(p) for p in j_parts]


def test_random_split_bad_lengths():
    with pytest.raises(ValueError, match=r"adding up to the dataset's length 10"):
        jud.random_split(range(10), [3, 3])


def test_subset_and_concat_indexing_match_torch():
    t_sub, j_sub = tud.Subset(range(10), [7, 2, 5]), jud.Subset(range(10), [7, 2, 5])
    assert len(j_sub) == len(t_sub) and [j_sub[i] for i in range(3)] == [t_sub[i] for i in range(3)]
    t_cat = tud.ConcatDataset([range(3), range(10, 14), range(20, 22)])
    j_cat = jud.ConcatDataset([range(3), range(10, 14), range(20, 22)])
    assert len(j_cat) == len(t_cat) == 9
    assert j_cat.cumulative_sizes == t_cat.cumulative_sizes
    assert [j_cat[i] for i in range(-9, 9)] == [t_cat[i] for i in range(-9, 9)]
    with pytest.raises(IndexError):
        j_cat[9]
    both = jud.TensorDataset(X[:4]) + jud.TensorDataset(X[4:])
    np.testing.assert_array_equal(both[5][0], X[5])
    sub = jud.Subset(jud.TensorDataset(X, Y), [9, 0, 4])
    xb, yb = next(iter(jud.DataLoader(sub, batch_size=3)))
    np.testing.assert_array_equal(yb, [9, 0, 4])


def test_sampler_lengths_and_orders_match_torch():
    data = range(10)
    pairs = [
        (tud.SequentialSampler(data), jud.SequentialSampler(data)),
        (tud.RandomSampler(data), jud.RandomSampler(data)),
        (tud.RandomSampler(data, replacement=True, num_samples=25),
         jud.RandomSampler(data, replacement=True, num_samples=25)),
        (tud.RandomSampler(data, num_samples=23), jud.RandomSampler(data, num_samples=23)),
        (tud.SubsetRandomSampler([1, 5, 7]), jud.SubsetRandomSampler([1, 5, 7])),
        (tud.WeightedRandomSampler([0.1, 0.9, 0.0], 6), jud.WeightedRandomSampler([0.1, 0.9, 0.0], 6)),
        (tud.BatchSampler(range(10), 3, False), jud.BatchSampler(range(10), 3, False)),
        (tud.BatchSampler(range(10), 3, True), jud.BatchSampler(range(10), 3, True)),
    ]
    for t, j in pairs:
        got, want = list(j), list(t)
        assert len(j) == len(t) == len(got) == len(want), type(j).__name__
    assert list(jud.SequentialSampler(data)) == list(range(10))
    assert list(jud.BatchSampler(range(10), 3, False)) == list(tud.BatchSampler(range(10), 3, False))
    assert sorted(jud.RandomSampler(data)) == list(range(10))
    assert sorted(jud.SubsetRandomSampler([1, 5, 7])) == [1, 5, 7]
    assert 2 not in list(jud.WeightedRandomSampler([0.1, 0.9, 0.0], 50))   # weight 0
    counts = collections.Counter(jud.RandomSampler(data, num_samples=23))  # 2 passes + 3 more
    assert set(counts) == set(range(10)) and sorted(counts.values()) == [2] * 7 + [3] * 3


@pytest.mark.parametrize("n,replicas,drop_last", [(10, 3, False), (10, 3, True), (2, 4, False),
                                                  (12, 4, False)])
def test_distributed_sampler_shares_match_torch_without_shuffle(n, replicas, drop_last):
    for rank in range(replicas):
        t = tud.DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        j = jud.DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        assert list(j) == list(t) and len(j) == len(t)
    shuffled = [list(jud.DistributedSampler(range(n), replicas, r, seed=3)) for r in range(replicas)]
    if not drop_last and n % replicas == 0:
        assert sorted(i for s in shuffled for i in s) == list(range(n))  # the shares partition


def test_shuffle_is_reproducible_under_manual_seed_and_a_generator():
    loader = jud.DataLoader(jud.TensorDataset(X, Y), batch_size=4, shuffle=True)

    def epoch():
        return [np.asarray(y).tolist() for _, y in loader]

    nn.manual_seed(1)
    first, second = epoch(), epoch()
    nn.manual_seed(1)
    assert epoch() == first and epoch() == second
    assert first != second                                # a new order every epoch
    assert sorted(sum(first, [])) == list(range(10))
    g = nn.Generator().manual_seed(5)
    with_gen = jud.DataLoader(jud.TensorDataset(X, Y), batch_size=4, shuffle=True, generator=g)
    a = [np.asarray(y).tolist() for _, y in with_gen]
    g.manual_seed(5)
    assert [np.asarray(y).tolist() for _, y in with_gen] == a


class Slow(jud.Dataset):
    def __len__(self):
        return 23

    def __getitem__(self, i):
        info = jud.get_worker_info()
        return np.full(2, i, np.float32), -1 if info is None else info.id


@pytest.mark.parametrize("kwargs", [dict(num_workers=3), dict(num_workers=2, prefetch_factor=1),
                                    dict(pin_memory=True), dict(num_workers=2, pin_memory=True,
                                                                persistent_workers=True)], ids=str)
def test_workers_and_prefetch_keep_the_order(kwargs):
    seen_init = []
    loader = jud.DataLoader(Slow(), batch_size=5, worker_init_fn=seen_init.append, **kwargs)
    for _ in range(2):                                    # two epochs (persistent: same pool)
        batches = list(loader)
        np.testing.assert_array_equal(np.concatenate([np.asarray(x)[:, 0] for x, _ in batches]),
                                      np.arange(23))
        assert all(isinstance(x, jax.Array) for x, _ in batches)
    workers = {int(w) for _, ids in batches for w in np.asarray(ids)}
    if kwargs.get("num_workers"):
        assert workers <= set(range(kwargs["num_workers"])) and sorted(set(seen_init)) == \
            sorted(workers | set(seen_init))
    else:
        assert workers == {-1}


def test_worker_errors_reach_the_loop():
    class Broken(Slow):
        def __getitem__(self, i):
            if i == 7:
                raise KeyError("sample 7 is missing")
            return super().__getitem__(i)

    for kwargs in (dict(num_workers=2), dict(pin_memory=True), {}):
        with pytest.raises(KeyError, match="sample 7"):
            list(jud.DataLoader(Broken(), batch_size=4, **kwargs))


def test_iterable_dataset_batches_and_len():
    def stream(base):
        class Stream(base):
            def __iter__(self):
                return iter({"v": i} for i in range(11))

            def __len__(self):
                return 11
        return Stream()

    for kwargs in (dict(batch_size=4), dict(batch_size=4, drop_last=True),
                   dict(batch_size=4, num_workers=2), dict(batch_size=None)):
        t = tud.DataLoader(stream(tud.IterableDataset),
                           **{k: v for k, v in kwargs.items() if k != "num_workers"})
        j = jud.DataLoader(stream(jud.IterableDataset), **kwargs)
        assert len(j) == len(t)
        _assert_same(list(j), list(t))
    with pytest.raises(ValueError, match="shuffle"):
        jud.DataLoader(stream(jud.IterableDataset), shuffle=True)


def test_bad_arguments_are_named():
    ds = jud.TensorDataset(X)
    cases = [
        (dict(batch_sampler=jud.BatchSampler(range(10), 2, False), batch_size=3),
         "batch_sampler option is mutually exclusive"),
        (dict(sampler=jud.SequentialSampler(ds), shuffle=True), "mutually exclusive with shuffle"),
        (dict(num_workers=-1), "num_workers option should be non-negative"),
        (dict(prefetch_factor=2), "prefetch_factor option could only be specified"),
        (dict(persistent_workers=True), "persistent_workers option needs num_workers > 0"),
        (dict(batch_size=0), "batch_size should be a positive integer"),
        (dict(timeout=-1), "timeout option should be non-negative"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=message):
            jud.DataLoader(ds, **kwargs)
    with pytest.raises(ValueError, match="size mismatch"):
        jud.TensorDataset(X, Y[:3])


def test_shard_splits_batches_over_the_pmap_mesh_and_pmap_takes_them():
    devices = jax.devices()
    assert len(devices) == 8                               # tests/conftest.py
    xs = np.random.default_rng(0).standard_normal((40, 3)).astype(np.float32)
    loader = jud.DataLoader(jud.TensorDataset(xs), batch_size=16, shard=True, drop_last=True)
    (xb,) = next(iter(loader))
    assert len(xb.sharding.device_set) == 8 and xb.sharding.spec == jax.sharding.PartitionSpec("batch")
    assert [s.data.shape for s in xb.addressable_shards] == [(2, 3)] * 8
    nn.manual_seed(0)
    model = nn.Linear(3, 1)
    step = nn.pmap(lambda m, x: m(x))
    np.testing.assert_allclose(step(model, xb), model(xs[:16]), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="does not split evenly across 8 devices"):
        list(jud.DataLoader(jud.TensorDataset(xs[:36]), batch_size=16, shard=True))  # last: 4
    cpu1 = jax.devices("cpu")[1]
    (xb,) = next(iter(jud.DataLoader(jud.TensorDataset(xs), batch_size=4, device=cpu1)))
    assert xb.devices() == {cpu1}


def test_tqdm_wraps_a_loader():
    from tqdm import tqdm  # a test-extra dependency: a missing one fails
    loader = jud.DataLoader(jud.TensorDataset(X), batch_size=3)
    with open(os.devnull, "w") as sink:
        bar = tqdm(loader, disable=False, file=sink)
        assert bar.total == 4 and sum(1 for _ in bar) == 4
