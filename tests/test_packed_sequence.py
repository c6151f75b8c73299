"""Packed sequences and recurrent layers with state pairs / PackedSequence inputs, against torch.

The generic registry passes flat arrays only; here inputs can be nested (``(h_0, c_0)`` pairs,
``PackedSequence``), and forward outputs, final states and gradients with respect to inputs,
initial states and every parameter are compared with torch.
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.utils.rnn as TR
from harness import TEST_COMPILER_OPTIONS, gradient

import jnn
from jnn.utils import rnn as R

RTOL, ATOL = 1e-4, 1e-5


def _flat(out):
    if isinstance(out, (TR.PackedSequence, R.PackedSequence)):
        return [out.data]
    if isinstance(out, (tuple, list)):
        return [a for o in out for a in _flat(o)]
    return [out]


def _np(a):
    return a.detach().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)


def _pair(tcls, jcls, *args, dtype="float32", **kwargs):
    torch.manual_seed(0)
    tmod = getattr(torch.nn, tcls)(*args, **kwargs)
    jmod = getattr(jnn, jcls)(*args, **kwargs)
    if dtype == "float64":
        tmod.double()
        jmod.double()
    jmod.load_state_dict({k: v.detach().numpy() for k, v in tmod.state_dict().items()})
    return tmod, jmod


def _compare(tmod, jmod, arrays, build, rtol=RTOL, atol=ATOL, jit=True):
    """``build(lib, arrays)`` makes the call's positional args for 'torch' or 'jnn'."""
    t_arrays = [torch.from_numpy(a.copy()).requires_grad_(a.dtype.kind == "f") for a in arrays]
    t_out = tmod(*build("torch", t_arrays))
    j_out = jmod(*build("jnn", [jnp.asarray(a) for a in arrays]))
    t_flat, j_flat = _flat(t_out), _flat(j_out)
    assert len(t_flat) == len(j_flat)
    for t, j in zip(t_flat, j_flat):
        assert _np(t).shape == np.shape(j)
        assert np.asarray(j).dtype == _np(t).dtype
        np.testing.assert_allclose(np.asarray(j), _np(t), rtol=rtol, atol=atol)
    if isinstance(t_out[0], TR.PackedSequence):
        for field in ("batch_sizes", "sorted_indices", "unsorted_indices"):
            t_f, j_f = getattr(t_out[0], field), getattr(j_out[0], field)
            assert (t_f is None) == (j_f is None), field
            if t_f is not None:
                np.testing.assert_array_equal(np.asarray(j_f), t_f.numpy())
    if jit:
        j_jit = jnn.jit(lambda m, *xs: m(*build("jnn", list(xs))),
                        compiler_options=TEST_COMPILER_OPTIONS)(
            jmod, *[jnp.asarray(a) for a in arrays])
        for a, b in zip(_flat(j_jit), j_flat):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=atol)

    rng = np.random.default_rng(1)
    cts = [rng.standard_normal(_np(t).shape).astype(_np(t).dtype) for t in t_flat]
    sum((t * torch.from_numpy(c)).sum() for t, c in zip(t_flat, cts)).backward()
    params = {n: p.data for n, p in jmod.named_parameters()}
    diff = [i for i, a in enumerate(arrays) if a.dtype.kind == "f"]

    def loss(params, diff_arrays):
        xs = [jnp.asarray(a) for a in arrays]
        for i, v in zip(diff, diff_arrays):
            xs[i] = v
        out = jnn.functional_call(jmod, params, tuple(build("jnn", xs)))
        return sum(jnp.sum(o * c) for o, c in zip(_flat(out), cts))

    g_params, g_inputs = gradient(loss, jit, argnums=(0, 1))(
        params, [jnp.asarray(arrays[i]) for i in diff])
    t_params = dict(tmod.named_parameters())
    for n, g in g_params.items():
        np.testing.assert_allclose(np.asarray(g), t_params[n].grad.numpy(), rtol=rtol * 10,
                                   atol=atol * 10, err_msg=f"d/d{n}")
    for i, g in zip(diff, g_inputs):
        np.testing.assert_allclose(np.asarray(g), t_arrays[i].grad.numpy(), rtol=rtol * 10,
                                   atol=atol * 10, err_msg=f"d/dinput{i}")


# -- the seed's example (000, section 4.2.4) ----------------------------------------------------

def test_seed_lstm_equals_lstmcell_loop():
    jnn.manual_seed(2021)
    input = jnn.randn(2, 3, 4)
    lstm = jnn.LSTM(4, 3, 1)
    h0 = jnn.randn(1, 3, 3)
    c0 = jnn.randn(1, 3, 3)
    out1, hn = lstm(input, (h0, c0))
    assert out1.shape == (2, 3, 3)

    cell = jnn.LSTMCell(4, 3)
    cell.load_state_dict({k[:-3]: v for k, v in lstm.state_dict().items()})  # drop "_l0"
    hx, cx = h0[0], c0[0]
    out = []
    for i_ in input:
        hx, cx = cell(i_, (hx, cx))
        out.append(hx)
    out2 = jnp.stack(out)
    assert out2.shape == (2, 3, 3)
    assert jnp.allclose(out1, out2, atol=1e-6)
    assert jnp.allclose(hn[0][0], hx, atol=1e-6) and jnp.allclose(hn[1][0], cx, atol=1e-6)


def test_seed_lstm_matches_torch():
    tmod, jmod = _pair("LSTM", "LSTM", 4, 3, 1)
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in [(2, 3, 4), (1, 3, 3), (1, 3, 3)]]
    _compare(tmod, jmod, arrays, lambda lib, a: (a[0], (a[1], a[2])))


# -- LSTM / LSTMCell with explicit state pairs ------------------------------------------------

@pytest.mark.parametrize("kwargs,shapes", [
    (dict(num_layers=2, bidirectional=True), [(5, 2, 4), (4, 2, 3), (4, 2, 3)]),
    (dict(num_layers=2, bidirectional=True, batch_first=True), [(2, 5, 4), (4, 2, 3), (4, 2, 3)]),
    (dict(proj_size=2, bidirectional=True), [(5, 2, 4), (2, 2, 2), (2, 2, 3)]),
    (dict(num_layers=2), [(5, 4), (2, 3), (2, 3)]),  # unbatched
])
def test_lstm_with_state(kwargs, shapes):
    tmod, jmod = _pair("LSTM", "LSTM", 4, 3, **kwargs)
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    _compare(tmod, jmod, arrays, lambda lib, a: (a[0], (a[1], a[2])))


def test_lstm_with_state_float64():
    with jax.enable_x64(True):
        tmod, jmod = _pair("LSTM", "LSTM", 4, 3, num_layers=2, bidirectional=True,
                           dtype="float64")
        rng = np.random.default_rng(0)
        arrays = [rng.standard_normal(s) for s in [(5, 2, 4), (4, 2, 3), (4, 2, 3)]]
        _compare(tmod, jmod, arrays, lambda lib, a: (a[0], (a[1], a[2])), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("shapes", [[(3, 4), (3, 5), (3, 5)], [(4,), (5,), (5,)]])
def test_lstmcell_with_state(shapes):
    tmod, jmod = _pair("LSTMCell", "LSTMCell", 4, 5)
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    _compare(tmod, jmod, arrays, lambda lib, a: (a[0], (a[1], a[2])))


# -- packed sequences through the recurrent layers ---------------------------------------------

def _packed_build(lengths, enforce_sorted, batch_first=False, n_states=0):
    def build(lib, a):
        mod = TR if lib == "torch" else R
        lens = torch.tensor(lengths) if lib == "torch" else np.asarray(lengths)
        packed = mod.pack_padded_sequence(a[0], lens, batch_first=batch_first,
                                          enforce_sorted=enforce_sorted)
        if n_states == 0:
            return (packed,)
        if n_states == 1:
            return (packed, a[1])
        return (packed, (a[1], a[2]))
    return build


PACKED = [
    ("LSTM", dict(), [5, 3, 2, 2], True, 0),
    ("LSTM", dict(num_layers=2, bidirectional=True), [5, 3, 2, 1], True, 0),
    ("LSTM", dict(num_layers=2, bidirectional=True), [2, 5, 1, 3], False, 2),
    ("LSTM", dict(proj_size=2, bidirectional=True), [3, 5, 1, 3], False, 2),
    ("GRU", dict(num_layers=2, bidirectional=True), [4, 5, 1, 3], False, 1),
    ("GRU", dict(bidirectional=True, batch_first=True), [5, 4, 4, 1], True, 0),
    ("RNN", dict(nonlinearity="relu", num_layers=2, bidirectional=True), [1, 5, 2, 3], False, 1),
    ("RNN", dict(), [5, 5, 5, 5], True, 1),
]


@pytest.mark.parametrize("cls,kwargs,lengths,enforce_sorted,n_states", PACKED)
def test_packed_rnn(cls, kwargs, lengths, enforce_sorted, n_states):
    tmod, jmod = _pair(cls, cls, 3, 4, **kwargs)
    rng = np.random.default_rng(0)
    batch_first = kwargs.get("batch_first", False)
    x_shape = (4, 5, 3) if batch_first else (5, 4, 3)
    num = (2 if kwargs.get("bidirectional") else 1) * kwargs.get("num_layers", 1)
    h_size = kwargs.get("proj_size") or 4
    shapes = [x_shape] + [(num, 4, h_size), (num, 4, 4)][:n_states]
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    _compare(tmod, jmod, arrays, _packed_build(lengths, enforce_sorted, batch_first, n_states))


@pytest.mark.parametrize("cls,kwargs", [("GRU", dict(num_layers=2, bidirectional=True)),
                                        ("LSTM", dict(proj_size=2, bidirectional=True))])
def test_packed_rnn_float64(cls, kwargs):
    """Float64 pins the custom JVP of the masked recurrence (jnn/functional/rnn.py) tightly."""
    with jax.enable_x64(True):
        tmod, jmod = _pair(cls, cls, 3, 4, dtype="float64", **kwargs)
        rng = np.random.default_rng(0)
        num = 2 * kwargs.get("num_layers", 1)
        h_size = kwargs.get("proj_size") or 4
        shapes = [(5, 3, 3), (num, 3, h_size), (num, 3, 4)][:3 if cls == "LSTM" else 2]
        arrays = [rng.standard_normal(s) for s in shapes]
        _compare(tmod, jmod, arrays, _packed_build([2, 5, 4], False, False, len(shapes) - 1),
                 rtol=1e-7, atol=1e-9)


def test_packed_state_stops_at_sequence_end():
    """The final state of a short sequence equals running it alone (no padding leaks)."""
    lstm = jnn.LSTM(3, 4, bidirectional=True)
    x = jnn.randn(6, 2, 3)
    packed = R.pack_padded_sequence(x, [6, 2])
    _, (h, c) = lstm(packed)
    _, (h_alone, c_alone) = lstm(x[:2, 1:2])
    np.testing.assert_allclose(h[:, 1], h_alone[:, 0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(c[:, 1], c_alone[:, 0], rtol=1e-5, atol=1e-6)


# -- the utilities against torch ---------------------------------------------------------------

def _seqs(rng, lengths, trailing=(3,)):
    return [rng.standard_normal((n,) + trailing).astype(np.float32) for n in lengths]


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_pad_sequence(batch_first, padding_side):
    seqs = _seqs(np.random.default_rng(0), [3, 5, 1])
    want = TR.pad_sequence([torch.from_numpy(s) for s in seqs], batch_first=batch_first,
                           padding_value=-2.0, padding_side=padding_side)
    got = R.pad_sequence([jnp.asarray(s) for s in seqs], batch_first=batch_first,
                         padding_value=-2.0, padding_side=padding_side)
    np.testing.assert_array_equal(np.asarray(got), want.numpy())


@pytest.mark.parametrize("enforce_sorted,lengths", [(True, [5, 3, 3, 1]), (False, [3, 5, 1, 3])])
def test_pack_sequence_roundtrip(enforce_sorted, lengths):
    seqs = _seqs(np.random.default_rng(0), lengths, (2, 2))
    t_p = TR.pack_sequence([torch.from_numpy(s) for s in seqs], enforce_sorted=enforce_sorted)
    j_p = R.pack_sequence([jnp.asarray(s) for s in seqs], enforce_sorted=enforce_sorted)
    np.testing.assert_array_equal(np.asarray(j_p.data), t_p.data.numpy())
    np.testing.assert_array_equal(j_p.batch_sizes, t_p.batch_sizes.numpy())
    if enforce_sorted:
        assert j_p.sorted_indices is None and j_p.unsorted_indices is None
    else:
        np.testing.assert_array_equal(j_p.sorted_indices, t_p.sorted_indices.numpy())
        np.testing.assert_array_equal(j_p.unsorted_indices, t_p.unsorted_indices.numpy())
    for got, s in zip(R.unpack_sequence(j_p), seqs):
        np.testing.assert_array_equal(np.asarray(got), s)
    for bf in (False, True):
        t_pad, t_len = TR.pad_packed_sequence(t_p, batch_first=bf, padding_value=7.0,
                                              total_length=6)
        j_pad, j_len = R.pad_packed_sequence(j_p, batch_first=bf, padding_value=7.0,
                                             total_length=6)
        np.testing.assert_array_equal(np.asarray(j_pad), t_pad.numpy())
        np.testing.assert_array_equal(j_len, t_len.numpy())
        for got, s in zip(R.unpad_sequence(j_pad, j_len, batch_first=bf), seqs):
            np.testing.assert_array_equal(np.asarray(got), s)


def test_pack_padded_sequence_grad():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3, 2)).astype(np.float32)
    lengths = [2, 4, 1]
    tx = torch.from_numpy(x).requires_grad_(True)
    t_data = TR.pack_padded_sequence(tx, lengths, enforce_sorted=False).data
    ct = rng.standard_normal(t_data.shape).astype(np.float32)
    (t_data * torch.from_numpy(ct)).sum().backward()
    g = jax.grad(lambda x: jnp.sum(R.pack_padded_sequence(x, lengths, enforce_sorted=False).data
                                   * ct))(jnp.asarray(x))
    np.testing.assert_allclose(np.asarray(g), tx.grad.numpy())


def test_packed_sequence_is_a_pytree_with_static_lengths():
    p = R.pack_sequence([jnp.ones((3, 2)), jnp.ones((1, 2))])
    leaves = jax.tree_util.tree_leaves(p)
    assert len(leaves) == 1 and leaves[0].shape == (4, 2)
    doubled = jax.tree.map(lambda a: a * 2, p)
    assert isinstance(doubled, R.PackedSequence)
    np.testing.assert_array_equal(doubled.batch_sizes, p.batch_sizes)
    traces = []

    @jax.jit
    def f(p):
        traces.append(1)
        return R.pad_packed_sequence(p)[0]
    f(p)
    f(jax.tree.map(lambda a: a + 1, p))
    assert len(traces) == 1
    assert p.to(jnp.float16).data.dtype == jnp.float16
    data, batch_sizes, sorted_indices, unsorted_indices = p  # a namedtuple, as in torch
    assert sorted_indices is None and batch_sizes.tolist() == [2, 1, 1]


def test_packed_utils_errors():
    x = jnp.ones((4, 3, 2))
    with pytest.raises(ValueError, match=r"must be sorted in decreasing order"):
        R.pack_padded_sequence(x, [2, 4, 1])
    with pytest.raises(ValueError, match=r"Expected `len\(lengths\)` to be equal to batch_size, "
                                         r"but got 2 \(batch_size=3\)"):
        R.pack_padded_sequence(x, [4, 2])
    with pytest.raises(ValueError, match=r"greater than 0"):
        R.pack_padded_sequence(x, [4, 2, 0])
    with pytest.raises(ValueError, match=r"must not exceed the padded length 4"):
        R.pack_padded_sequence(x, [5, 2, 1])
    with pytest.raises(ValueError, match=r"total_length to be at least"):
        R.pad_packed_sequence(R.pack_padded_sequence(x, [4, 2, 1]), total_length=3)
    with pytest.raises(TypeError, match=r"lengths must be concrete host data"):
        jax.jit(lambda x, n: R.pack_padded_sequence(x, n))(x, jnp.array([4, 2, 1]))
    with pytest.raises(ValueError, match=r"padding_side must be 'left' or 'right'"):
        R.pad_sequence([jnp.ones(2)], padding_side="middle")
    with pytest.raises(ValueError, match=r"input must have 2 dimensions, got 3"):
        jnn.LSTM(2, 3)(R.PackedSequence(jnp.ones((4, 1, 2)), np.array([2, 2])))


# -- self-attention: one array as query, key and value (the fused projection path) ------------

@pytest.mark.parametrize("batch_first", [False, True])
def test_mha_self_attention_same_array(batch_first):
    tmod, jmod = _pair("MultiheadAttention", "MultiheadAttention", 8, 2, batch_first=batch_first)
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((5, 3, 8)).astype(np.float32)]
    _compare(tmod, jmod, arrays, lambda lib, a: (a[0], a[0], a[0]))
