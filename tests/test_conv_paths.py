"""Every lowering of a convolution against torch, over the registry's convolution cases.

On CPU jnn lowers some convolutions itself (``jnn/functional/conv.py``): depthwise ones as
shifted slices, those with small output maps or few patch rows per filter as one matmul over
gathered patches, and those with more than 32 samples (and 16 or more input channels) as one
``lax.conv_general_dilated`` per chunk of 32; everything else, and every convolution on other
backends, runs one ``lax.conv_general_dilated``. Which path the
registry's cases take on CPU CI depends on their shapes, so these tests rerun the registry's
convolutions with the private switches set to send them down one path: ``patches`` (the
matmul lowering, at any shape, grouped and depthwise included) and ``chunked`` (every sample a
convolution of its own) for every case, and ``lax`` (what GPU users run) for the depthwise and
few-rows-per-filter cases, the only ones of the registry that do not take it by default on CPU
(its other output maps have more than 4 positions, its batches at most 32 samples).
"""
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jnn.functional as F
from cases import conv as conv_cases
from harness import case_id, run_function_case, run_module_case
from jnn.functional import conv as conv_kernels

_MODULE = [c for c in conv_cases.MODULE_CASES if not c.name.startswith(("ConvTranspose", "Lazy"))]
_FUNCTION = [c for c in conv_cases.FUNCTION_CASES if "transpose" not in c.name]

_NO_PATCHES = dict(_PATCHES_MAX_OUTPUT=0, _PATCHES_MAX_ROWS_PER_FILTER=0)
PATHS = {"lax": dict(_DEPTHWISE_SLICES=False, **_NO_PATCHES, _BATCH_CHUNK=0),
         "patches": dict(_DEPTHWISE_SLICES=False, _PATCHES_MAX_OUTPUT=10 ** 9, _BATCH_CHUNK=0),
         "chunked": dict(_DEPTHWISE_SLICES=False, **_NO_PATCHES, _BATCH_CHUNK=1,
                         _BATCH_CHUNK_MIN_CHANNELS=1)}


def _select(monkeypatch, path: str) -> None:
    for name, value in PATHS[path].items():
        monkeypatch.setattr(conv_kernels, name, value)


@pytest.fixture(params=sorted(PATHS))
def path(request, monkeypatch):
    _select(monkeypatch, request.param)
    return request.param


def _primitives(x_shape, w_shape, groups=1, fn=F.conv2d, dtype=jnp.float32) -> str:
    x, w = jnp.ones(x_shape, dtype), jnp.ones(w_shape, dtype)
    return str(jax.make_jaxpr(lambda a, b: fn(a, b, padding=1, groups=groups))(x, w))


def test_switches_select_the_path(path):
    lax_convs = _primitives((2, 4, 6, 6), (4, 1, 3, 3), groups=4).count("conv_general_dilated")
    assert lax_convs == {"lax": 1, "chunked": 2, "patches": 0}[path]
    lax_convs = _primitives((2, 4, 9, 9), (5, 4, 3, 3)).count("conv_general_dilated")
    assert lax_convs == {"lax": 1, "chunked": 2, "patches": 0}[path]


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="the fast paths are CPU-only")
def test_default_cpu_paths_follow_the_output_size():
    assert "conv_general_dilated" not in _primitives((1, 4, 6, 6), (4, 1, 3, 3), groups=4)
    assert "conv_general_dilated" not in _primitives((8, 16, 2, 2), (8, 16, 3, 3))  # 4 positions
    assert "conv_general_dilated" in _primitives((8, 16, 3, 2), (8, 16, 3, 3))  # 6
    # Or at most a quarter of a patch row per filter (one group): 1 x 4 x 4 rows, 64 filters.
    assert "conv_general_dilated" not in _primitives((1, 8, 4, 4), (64, 8, 3, 3))
    assert "conv_general_dilated" in _primitives((1, 8, 4, 4), (63, 8, 3, 3))
    assert "conv_general_dilated" in _primitives((1, 8, 4, 4), (64, 4, 3, 3), groups=2)
    assert "conv_general_dilated" in _primitives((1, 8, 4, 4), (64, 8, 3, 3), dtype=jnp.bfloat16)
    # More than 32 samples and at least 16 input channels: one convolution per chunk of 32;
    # fewer channels, and transposed convolutions, stay whole.
    assert _primitives((32, 16, 5, 5), (3, 16, 3, 3)).count("conv_general_dilated") == 1
    assert _primitives((65, 16, 5, 5), (3, 16, 3, 3)).count("conv_general_dilated") == 3
    assert _primitives((65, 8, 5, 5), (3, 8, 3, 3)).count("conv_general_dilated") == 1
    assert _primitives((65, 16, 5, 5), (16, 3, 3, 3),
                       fn=F.conv_transpose2d).count("conv_general_dilated") == 1


def test_cases_found():
    assert len(_MODULE) >= 15 and sum("depthwise" in c.desc for c in _MODULE) >= 4
    assert sum("few_rows_per_filter" in c.desc for c in _MODULE) >= 2


def _on(path_cases):
    return [pytest.param(path, case, id=f"{path}-{case_id(case)}") for path, cases in path_cases
            for case in cases]


def _not_lax_on_cpu(cases):
    return [c for c in cases if "depthwise" in c.desc or "few_rows_per_filter" in c.desc]


@pytest.mark.parametrize("path,case", _on([("patches", _MODULE), ("chunked", _MODULE),
                                           ("lax", _not_lax_on_cpu(_MODULE))]))
def test_module_parity(path, case, monkeypatch):
    _select(monkeypatch, path)
    run_module_case(case)


@pytest.mark.parametrize("path,case", _on([("patches", _FUNCTION), ("chunked", _FUNCTION),
                                           ("lax", _not_lax_on_cpu(_FUNCTION))]))
def test_function_parity(path, case, monkeypatch):
    _select(monkeypatch, path)
    run_function_case(case)


def _random_geometry(rng, max_stride):
    """n, groups, in and out channels, kernel, stride and dilation of a random 1-3-d conv."""
    n = int(rng.integers(1, 4))
    groups = int(rng.choice([1, 2]))
    cin, cout = groups * int(rng.integers(1, 3)), groups * int(rng.integers(1, 3))
    kernel = tuple(int(k) for k in rng.integers(1, 4, n))
    stride = tuple(int(s) for s in rng.integers(1, max_stride + 1, n))
    dilation = tuple(int(d) for d in rng.integers(1, 3, n))
    return n, groups, cin, cout, kernel, stride, dilation


def _random_conv(rng):
    """A random 1-3-d convolution of 33-70 samples (so that the default path chunks it)."""
    n, groups, cin, cout, kernel, stride, dilation = _random_geometry(rng, max_stride=2)
    padding = tuple(int(p) for p in rng.integers(0, 2, n))
    # 4-7 strides beyond the kernel: maps of a realistic size for batches of 33-70 samples.
    size = tuple(d * (k - 1) + 1 + s * int(rng.integers(4, 8)) + int(rng.integers(0, s))
                 for d, k, s in zip(dilation, kernel, stride))
    x = rng.standard_normal((int(rng.integers(33, 71)), cin) + size)
    w = rng.standard_normal((cout, cin // groups) + kernel)
    conv = getattr(F, f"conv{n}d")
    return (lambda a, b: conv(a, b, stride=stride, padding=padding, dilation=dilation,
                              groups=groups)), jnp.asarray(x), jnp.asarray(w)


@pytest.mark.parametrize("seed", range(3))
def test_chunked_batches_equal_one_convolution(seed, monkeypatch):
    """Differential: the chunked lowering against one lax convolution, forward, both gradients
    (reverse mode) and forward mode, over random configurations in float64."""
    rng = np.random.default_rng(seed)
    for name, value in _NO_PATCHES.items():  # no other path
        monkeypatch.setattr(conv_kernels, name, value)
    monkeypatch.setattr(conv_kernels, "_DEPTHWISE_SLICES", False)
    monkeypatch.setattr(conv_kernels, "_BATCH_CHUNK_MIN_CHANNELS", 1)
    with jax.enable_x64(True):
        for _ in range(4):
            conv, x, w = _random_conv(rng)
            cotangent = jnp.asarray(rng.standard_normal(jax.eval_shape(conv, x, w).shape))
            results = {}
            for chunk in (32, 0):
                monkeypatch.setattr(conv_kernels, "_BATCH_CHUNK", chunk)
                out, vjp = jax.vjp(conv, x, w)
                tangent = jax.jvp(conv, (x, w), (jnp.cos(x), jnp.sin(w)))[1]
                results[chunk] = (out, *vjp(cotangent), tangent)
                # (a new function each time: make_jaxpr caches traces by function)
                jaxpr = jax.make_jaxpr(lambda a, b: conv(a, b))(x, w)  # noqa: B023
                convs = str(jaxpr).count("conv_general_dilated")
                assert convs == (-(-x.shape[0] // 32) if chunk else 1)
            for got, want in zip(results[32], results[0]):
                np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def _random_conv_transpose(rng):
    """A random 1-3-d transposed convolution, output padding up to max(stride, dilation) - 1."""
    n, groups, cin, cout, kernel, stride, dilation = _random_geometry(rng, max_stride=3)
    padding = tuple(int(rng.integers(0, d * (k - 1) + 1)) for d, k in zip(dilation, kernel))
    output_padding = tuple(int(rng.integers(0, max(s, d))) for s, d in zip(stride, dilation))
    x = rng.standard_normal((int(rng.integers(1, 4)), cin) + tuple(rng.integers(2, 5, n)))
    w = rng.standard_normal((cin, cout // groups) + kernel)
    args = (stride, padding, output_padding, dilation, groups)
    return args, jnp.asarray(x), jnp.asarray(w)


@pytest.mark.parametrize("seed", range(2))
def test_transposed_weight_gradient_rule_matches_lax(seed):
    """Differential: the transposed convolution's custom JVP (whose weight tangent reverse mode
    transposes into a strided convolution) against JAX differentiating the plain lowering, over
    random configurations in float64: forward, both gradients, forward mode, second order."""
    rng = np.random.default_rng(seed)
    with jax.enable_x64(True):
        for _ in range(8):
            args, x, w = _random_conv_transpose(rng)

            def custom(a, b, args=args):  # the public kernel: the custom JVP where it applies
                stride, padding, output_padding, dilation, groups = args
                return getattr(F, f"conv_transpose{len(stride)}d")(
                    a, b, stride=stride, padding=padding, output_padding=output_padding,
                    dilation=dilation, groups=groups)

            def plain(a, b, args=args):
                return conv_kernels._conv_transpose_lax(a, b, *args)

            out = plain(x, w)
            cotangent = jnp.asarray(rng.standard_normal(out.shape))
            tangents = (jnp.cos(x), jnp.sin(w))
            results = []
            for fn in (custom, plain):
                y, vjp = jax.vjp(fn, x, w)
                second = jax.jvp(lambda b, fn=fn: jax.grad(
                    lambda v: jnp.sum(fn(x, v) ** 2))(b), (w,), (tangents[1],))[1]
                results.append((y, *vjp(cotangent), jax.jvp(fn, (x, w), tangents)[1], second))
            for got, want in zip(*results):
                np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


# Random small convolutions around the form XLA:CPU's compiler aborted on (jnn/functional/conv.py,
# "An XLA:CPU compiler abort"): kernels 1-3 with 2 frequent, strides and dilations 1-2, paddings
# 0-2, dimensions of 1-6. Each is compiled and run forward, in reverse mode and in forward mode
# against torch in float64. It runs in a subprocess: an abort ends the process, not the test run.
_ABORT_PROBE = r'''
import json, sys
import jax, jax.numpy as jnp, numpy as np, torch
import jnn.functional as F

jax.config.update("jax_enable_x64", True)
rng = np.random.default_rng(int(sys.argv[1]))
done = 0
while done < int(sys.argv[2]):
    n, transposed = int(rng.choice([2, 3])), bool(rng.random() < 0.5)
    k, s, d = ([int(v) for v in rng.choice(c, n)] for c in ([1, 2, 2, 3], [1, 2, 2], [1, 1, 2]))
    p = [int(v) for v in rng.choice([0, 1, 1, 2], n)]
    size = [int(v) for v in rng.integers(1, 7, n)]
    cin, cout = (int(v) for v in rng.integers(1, 3, 2))
    if transposed:
        kw = dict(stride=s, padding=p, dilation=d,
                  output_padding=[int(rng.integers(0, max(a, b))) for a, b in zip(s, d)])
        w_shape = (cin, cout, *k)
        if any((i - 1) * a - 2 * b + c * (e - 1) + f + 1 < 1 for i, a, b, c, e, f in
               zip(size, s, p, d, k, kw["output_padding"])):
            continue
    else:
        kw, w_shape = dict(stride=s, padding=p, dilation=d), (cout, cin, *k)
        if any(i + 2 * b < c * (e - 1) + 1 for i, b, c, e in zip(size, p, d, k)):
            continue
    done += 1
    name = f"conv_transpose{n}d" if transposed else f"conv{n}d"
    print("BEGIN", name, size, w_shape, json.dumps(kw), flush=True)
    x, w = rng.standard_normal((2, cin, *size)), rng.standard_normal(w_shape)
    tx, tw = rng.standard_normal(x.shape), rng.standard_normal(w.shape)
    ours = lambda a, b: getattr(F, name)(a, b, **kw)
    theirs = lambda a, b: getattr(torch.nn.functional, name)(a, b, **kw)
    out, vjp = jax.vjp(jax.jit(ours), jnp.asarray(x), jnp.asarray(w))
    g = rng.standard_normal(out.shape)
    tangent = jax.jit(lambda *a: jax.jvp(ours, a[:2], a[2:])[1])(x, w, tx, tw)
    xt, wt = (torch.tensor(v, requires_grad=True) for v in (x, w))
    ref = theirs(xt, wt)
    ref_grads = torch.autograd.grad(ref, (xt, wt), torch.tensor(g))
    ref_tangent = torch.func.jvp(theirs, (torch.tensor(x), torch.tensor(w)),
                                 (torch.tensor(tx), torch.tensor(tw)))[1]
    for got, want in zip((out, *vjp(jnp.asarray(g)), tangent),
                         (ref, *ref_grads, ref_tangent)):
        np.testing.assert_allclose(np.asarray(got), want.detach().numpy(), rtol=1e-10,
                                   atol=1e-10)
print("DONE", flush=True)
'''


@pytest.mark.parametrize("seed", range(2))
def test_compiler_abort_forms_compile_and_match_torch(seed):
    proc = subprocess.run([sys.executable, "-c", _ABORT_PROBE, str(seed), "30"],
                          capture_output=True, text=True, timeout=600)
    started = [line for line in proc.stdout.splitlines() if line.startswith("BEGIN")]
    assert proc.returncode == 0 and proc.stdout.rstrip().endswith("DONE"), (
        f"rc {proc.returncode} at {started[-1] if started else 'start'}:\n"
        f"{proc.stderr[-3000:]}")
