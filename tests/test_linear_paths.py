"""Both lowerings of a linear layer's weight gradient, against torch and against each other.

On CPU, float32 layers with ``out_features >= 2 * in_features`` carry a custom JVP whose
reverse mode computes the weight gradient as a dot over an explicit transpose of the output
gradient (``jnn/functional/linear.py``), and the recurrent scans build their weight tangents the
same way; every other layer, and every layer on other backends, is one ``dot_general`` that JAX
differentiates. These tests rerun the registry's float32 linear, recurrent and attention cases
with the private switch sending every float32 layer through the rule (``every``: narrowing and
square layers too); by default the registry runs widening float32 layers through it and every
float64 case through the plain dot (what GPU users run). And they compare the two lowerings
over random shapes in both AD modes.
"""
import importlib
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from cases import attention as attention_cases
from cases import core as core_cases
from cases import rnn as rnn_cases
from harness import case_id, run_function_case, run_module_case

import jnn.functional as F

# (the module, not the function F.linear that jnn.functional re-exports under the same name)
linear_kernels = importlib.import_module("jnn.functional.linear")

PATHS = {"every": 1e-9, "plain": 0}  # values of _WIDE_MIN_RATIO


def _select(monkeypatch, ratio) -> None:
    """Set the switch, read when a kernel is traced. Eagerly, ``F.linear`` runs as a program
    cached per call signature, traced under whatever switch held then, so JAX's caches are
    cleared on both sides of a change (monkeypatch restores the switch after the test)."""
    jax.clear_caches()
    monkeypatch.setattr(linear_kernels, "_WIDE_MIN_RATIO", ratio)


@pytest.fixture(autouse=True)
def _fresh_programs_after():
    yield
    jax.clear_caches()

_MODULE = ([c for c in core_cases.MODULE_CASES if c.name == "Linear"] + rnn_cases.MODULE_CASES
           + [c for c in attention_cases.MODULE_CASES if c.name == "MultiheadAttention"])
_FUNCTION = ([c for c in core_cases.FUNCTION_CASES if c.name == "linear"]
             + rnn_cases.FUNCTION_CASES)


def _every(cases):
    """The float32 cases (float64 layers take the plain dot whatever the switch says)."""
    return [pytest.param(case, id=case_id(case)) for case in cases
            if getattr(case, "dtype", "float32") == "float32"]


def _jaxpr_of_weight_gradient(x_shape, w_shape, dtype=jnp.float32) -> str:
    x, w = jnp.ones(x_shape, dtype), jnp.ones(w_shape, dtype)
    return str(jax.make_jaxpr(jax.grad(lambda v: F.linear(x, v).sum()))(w))


def test_cases_found():
    assert len(_MODULE) >= 30 and len(_FUNCTION) >= 5


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="the rule is CPU-only")
def test_default_rule_takes_widening_float32_layers():
    assert "optimization_barrier" in _jaxpr_of_weight_gradient((6, 4), (8, 4))
    assert "optimization_barrier" in _jaxpr_of_weight_gradient((2, 3, 4), (32, 4))
    assert "optimization_barrier" not in _jaxpr_of_weight_gradient((6, 4), (7, 4))  # < 2x
    assert "optimization_barrier" not in _jaxpr_of_weight_gradient((6, 8), (4, 8))
    with jax.enable_x64(True):
        assert "optimization_barrier" not in _jaxpr_of_weight_gradient((6, 4), (8, 4),
                                                                       jnp.float64)


@pytest.mark.parametrize("path", sorted(PATHS))
def test_switch_selects_the_path(path, monkeypatch):
    _select(monkeypatch, PATHS[path])
    barrier = "optimization_barrier" in _jaxpr_of_weight_gradient((6, 8), (4, 8))
    assert barrier == (path == "every")


@pytest.mark.parametrize("case", _every(_MODULE))
def test_module_parity_every_layer_through_the_rule(case, monkeypatch):
    _select(monkeypatch, PATHS["every"])
    run_module_case(case)


@pytest.mark.parametrize("case", _every(_FUNCTION))
def test_function_parity_every_layer_through_the_rule(case, monkeypatch):
    _select(monkeypatch, PATHS["every"])
    run_function_case(case)


def _random_layer(rng):
    """Input, weight and bias (or None) of a random float32 linear layer, often widening."""
    lead = tuple(int(s) for s in rng.integers(0, 4, int(rng.integers(0, 3))))
    in_features = int(rng.integers(0, 9))
    out_features = int(rng.integers(1, 4)) * max(in_features, 1) + int(rng.integers(0, 3))
    x = rng.standard_normal(lead + (in_features,)).astype(np.float32)
    w = rng.standard_normal((out_features, in_features)).astype(np.float32)
    b = rng.standard_normal(out_features).astype(np.float32) if rng.random() < 0.5 else None
    return jnp.asarray(x), jnp.asarray(w), None if b is None else jnp.asarray(b)


def _derivatives(x, w, b, cotangent):
    """Forward, reverse-mode gradients, forward mode, second order and per-sample gradients."""
    def fn(a, v, c):
        return F.linear(a, v, c)

    args = (x, w, b)
    out, vjp = jax.vjp(fn, *args)
    tangents = jax.tree.map(jnp.cos, args)
    second = jax.jvp(lambda v: jax.grad(lambda u: jnp.sum(fn(x, u, b) ** 2))(v), (w,),
                     (tangents[1],))[1]
    per_sample = jax.vmap(jax.grad(lambda v, row: jnp.sum(jnp.tanh(fn(row, v, b)))),
                          (None, 0))(w, x.reshape(math.prod(x.shape[:-1]), x.shape[-1]))
    return (out, *[g for g in vjp(cotangent) if g is not None],
            jax.jvp(fn, args, tangents)[1], second, per_sample)


@pytest.mark.parametrize("seed", range(2))
def test_rule_matches_plain_differentiation(seed, monkeypatch):
    """Differential: the custom JVP against JAX differentiating one dot, float32, random shapes
    (empty rows and in_features = 0 included)."""
    rng = np.random.default_rng(seed)
    for _ in range(8):
        x, w, b = _random_layer(rng)
        cotangent = jnp.asarray(rng.standard_normal(x.shape[:-1] + w.shape[:1]), jnp.float32)
        results = {}
        for path, ratio in PATHS.items():
            _select(monkeypatch, ratio)
            # one compiled program per path: a new function, so traced under this switch
            results[path] = jax.jit(lambda *a: _derivatives(*a))(x, w, b, cotangent)  # noqa: B023
        for got, want in zip(results["every"], results["plain"]):
            np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5)
