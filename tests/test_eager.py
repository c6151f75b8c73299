"""Eager calls compile once (``jnn/functional/_eager.py``): a second eager call with the same
configuration, shapes and dtypes traces and compiles nothing.

Compilations and traces are counted with ``jax.monitoring``'s duration events, which JAX records
for every jaxpr trace and every backend compilation, whatever causes them (a kernel's jit, a
``lax.scan`` traced again, an op-by-op primitive seen for the first time).
"""
import collections
import contextlib

import jax
import jax.monitoring
import jax.numpy as jnp
import numpy as np
import pytest

import jnn
import jnn.functional as F
from jnn.functional._eager import eager_jit, is_eager
from jnn.utils import rnn as R

_EVENTS = {"/jax/core/compile/jaxpr_trace_duration": "traces",
           "/jax/core/compile/backend_compile_duration": "compiles"}


@contextlib.contextmanager
def count_compilations():
    """Counts of jaxpr traces and backend compilations inside the block."""
    counts = collections.Counter()

    def listener(event, duration, **kwargs):
        if event in _EVENTS:
            counts[_EVENTS[event]] += 1

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        yield counts
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)


def _block(tree):
    leaves = jax.tree.leaves(tree)
    jax.block_until_ready(leaves)
    return leaves


def _assert_second_call_free(call):
    """``call(seed)`` twice with fresh data of the same shapes: the second compiles nothing."""
    first = _block(call(0))
    with count_compilations() as counts:
        second = _block(call(1))
    assert counts["traces"] == 0 and counts["compiles"] == 0, dict(counts)
    assert not all(np.array_equal(a, b) for a, b in zip(first, second))  # new data was used


def _randn(seed, *shape):
    return jnp.asarray(np.random.default_rng(seed).standard_normal(shape).astype(np.float32))


RECURRENT = [
    ("LSTM", dict()),
    ("LSTM", dict(num_layers=2, bidirectional=True, batch_first=True)),
    ("LSTM", dict(proj_size=2)),
    ("GRU", dict(bidirectional=True, batch_first=True)),
    ("RNN", dict(nonlinearity="relu", num_layers=2, bidirectional=True)),
]


def _initial_state(cls, layer, seed, batch):
    lead = layer.num_layers * (2 if layer.bidirectional else 1)
    h = _randn(seed + 10, lead, batch, layer.proj_size or layer.hidden_size)
    return (h, _randn(seed + 20, lead, batch, layer.hidden_size)) if cls == "LSTM" else h


@pytest.mark.parametrize("with_state", [False, True], ids=["zeros", "hx"])
@pytest.mark.parametrize("cls,kwargs", RECURRENT, ids=lambda v: str(v))
def test_recurrent_second_eager_call_does_not_compile(cls, kwargs, with_state):
    layer = getattr(jnn, cls)(3, 4, **kwargs)
    shape = (2, 5, 3) if layer.batch_first else (5, 2, 3)

    def call(seed):
        hx = _initial_state(cls, layer, seed, 2) if with_state else None
        return layer(_randn(seed, *shape), hx)

    _assert_second_call_free(call)


@pytest.mark.parametrize("cls,kwargs,with_state", [("LSTM", dict(bidirectional=True), True),
                                                   ("GRU", dict(), False),
                                                   ("RNN", dict(num_layers=2), True)],
                         ids=lambda v: str(v))
def test_packed_sequence_second_eager_call_does_not_compile(cls, kwargs, with_state):
    layer = getattr(jnn, cls)(3, 4, **kwargs)

    def call(seed):
        packed = R.pack_padded_sequence(_randn(seed, 5, 3, 3), [5, 2, 3], enforce_sorted=False)
        hx = _initial_state(cls, layer, seed, 3) if with_state else None
        out, hidden = layer(packed, hx)
        return out.data, hidden

    _assert_second_call_free(call)


def test_eager_value_and_grad_does_not_compile_again():
    lstm = jnn.LSTM(3, 4, num_layers=2, bidirectional=True)

    def call(seed):
        x = _randn(seed, 5, 2, 3)
        return jnn.value_and_grad(lambda m: jnp.sum(m(x)[0] ** 2))(lstm)

    _assert_second_call_free(call)


def test_eager_gradients_equal_traced_gradients():
    gru = jnn.GRU(3, 4, bidirectional=True)
    x = _randn(0, 5, 2, 3)
    params = {n: p.data for n, p in gru.named_parameters()}

    def loss(params, x):
        return jnp.sum(jnn.functional_call(gru, params, (x,))[0] ** 2)

    eager = jax.grad(loss, argnums=(0, 1))(params, x)
    traced = jax.jit(jax.grad(loss, argnums=(0, 1)))(params, x)
    for a, b in zip(jax.tree.leaves(eager), jax.tree.leaves(traced)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_recurrent_dropout_draws_a_new_mask_each_eager_call():
    lstm = jnn.LSTM(3, 8, num_layers=2, dropout=0.5)
    lstm.train()
    x = _randn(0, 5, 2, 3)
    first = _block(lstm(x))
    with count_compilations() as counts:
        second = _block(lstm(x))
    assert counts["compiles"] == 0, dict(counts)
    assert not np.array_equal(first[0], second[0])  # the key is an argument, not a constant
    lstm.eval()
    np.testing.assert_array_equal(_block(lstm(x))[0], _block(lstm(x))[0])


def test_ctc_loss_second_eager_call_does_not_compile():
    def call(seed):
        lp = jax.nn.log_softmax(_randn(seed, 6, 2, 4), axis=2)
        return F.ctc_loss(lp, jnp.array([[1, 2], [3, 3]]), jnp.array([6, 4]), jnp.array([2, 1]))

    _assert_second_call_free(call)


def test_is_eager_sees_staging_and_batching_traces():
    seen = []

    def probe(x):
        seen.append(is_eager())
        return x

    probe(1.0)
    jax.grad(probe)(1.0)        # differentiating eager code: still eager
    jax.jit(probe)(1.0)
    jax.vmap(probe)(jnp.ones(2))
    jax.lax.scan(lambda c, x: (probe(c), x), 0.0, jnp.ones(2))
    assert seen == [True, True, False, False, False]


def test_eager_jit_runs_plain_code_inside_traces():
    calls = []

    @eager_jit
    def kernel(x):
        calls.append(type(x).__name__)
        return x * 2

    kernel(jnp.ones(2))
    kernel(jnp.ones(2))          # compiled once: the Python body ran (traced) once
    jax.jit(kernel)(jnp.ones(3))  # inside a trace: plain code, traced by the outer jit only
    assert len(calls) == 2
    assert kernel.jitted()._cache_size() == 1


def test_closure_captured_recurrent_layer_still_raises_under_nn_jit():
    lstm = jnn.LSTM(3, 4)
    with pytest.raises(RuntimeError, match="not reachable from its arguments"):
        jnn.jit(lambda x: lstm(x)[0])(jnp.ones((5, 2, 3)))


def test_first_eager_call_compiles_one_program_per_layer():
    layers = jnn.Sequential(jnn.Conv2d(3, 4, 3, padding=1), jnn.BatchNorm2d(4), jnn.ReLU(),
                            jnn.MaxPool2d(3, 2, 1), jnn.AdaptiveAvgPool2d((1, 1)),
                            jnn.Flatten(), jnn.Linear(4, 2)).eval()
    x = _randn(0, 2, 3, 9, 7)  # shapes no other test compiles for
    F.relu(jnp.ones(1))  # the one-time probe of the eager compiler options happens here
    with count_compilations() as counts:
        _block(layers(x))
    assert counts["compiles"] <= len(layers), dict(counts)  # op by op: 46 programs
    _assert_second_call_free(lambda seed: layers(_randn(seed, 2, 3, 9, 7)))


@pytest.mark.parametrize("name,kwargs", [("SGD", dict(lr=0.1, momentum=0.9, dampening=0.1)),
                                         ("Adam", dict(lr=0.01, amsgrad=True)),
                                         ("Rprop", dict())], ids=lambda v: str(v))
def test_eager_optimizer_step_compiles_one_program(name, kwargs):
    shapes = [(5, 3), (5,), (2, 5), (7, 1, 2)]  # shapes no other test compiles for
    params = [jnn.Parameter(_randn(i, *s)) for i, s in enumerate(shapes)]
    opt = getattr(jnn.optim, name)(params, **kwargs)

    def step(seed):
        for i, p in enumerate(params):
            p.grad = _randn(10 * seed + i, *p.shape)
        opt.step()
        opt.param_groups[0]["lr"] *= 0.5  # a program input: no recompilation
        return [p.data for p in params]

    jnn.optim.SGD([jnn.Parameter(jnp.ones(1))], lr=0.1).step()  # one-time scalar programs
    with count_compilations() as counts:
        _block(step(0))
    assert counts["compiles"] <= 2, dict(counts)  # the group's updates; op by op: 40-90
    _assert_second_call_free(step)


def test_eager_transformer_layer_compiles_few_programs():
    layer = jnn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.1, batch_first=True)
    x = _randn(0, 3, 5, 8)  # shapes no other test compiles for
    F.relu(jnp.ones(1))
    with count_compilations() as counts:
        _block(layer(x))
    # attention, dropout and layer norm are one program each (op by op: 54 in all)
    assert counts["compiles"] <= 30, dict(counts)
    _assert_second_call_free(lambda seed: layer(_randn(seed, 3, 5, 8)))
