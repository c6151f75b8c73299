"""Forward-mode and higher-order differentiation through the kernels with their own derivatives.

``jax.jvp`` / ``jax.jacfwd`` / ``jax.hessian`` must work through conv1d/2d/3d, including the
paths with their own kernels (depthwise on CPU) and the grouped, strided and 1x1 cases, and
through the kernels whose derivative jnn writes itself (max pooling, ``grid_sample``,
``binary_cross_entropy``: custom JVP rules whose transpose is the fast backward); a
``jax.custom_vjp`` anywhere on the path would raise instead. The derivatives are checked
against torch's in float64 (``torch.func.jvp`` / ``torch.func.hessian`` for the
convolutions; reverse-mode Jacobians and double backward for the other kernels, as torch has
no forward AD for ``grid_sample``).
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

import jnn.functional as F

# (fn, input shape, weight shape, kwargs)
CASES = [
    # grouped, strided
    ("conv1d", (2, 4, 7), (6, 2, 3), {"groups": 2, "stride": 2, "padding": 1}),
    ("conv1d", (2, 3, 6), (3, 1, 3), {"groups": 3, "padding": 1}),  # depthwise
    ("conv2d", (2, 3, 5, 5), (4, 3, 1, 1), {"stride": 2}),  # 1x1 strided
    # depthwise x2
    ("conv2d", (2, 4, 5, 5), (8, 1, 3, 3), {"groups": 4, "stride": 2, "padding": 1}),
    ("conv2d", (1, 4, 6, 6), (4, 2, 3, 3), {"groups": 2, "dilation": 2, "padding": 2}),
    ("conv3d", (1, 2, 4, 4, 4), (2, 1, 2, 2, 2), {"groups": 2, "stride": (1, 2, 1)}),  # depthwise
    ("conv3d", (1, 2, 4, 4, 4), (3, 2, 1, 1, 1), {}),  # 1x1x1
]


def _ids(case):
    fn, _, w, kw = case
    return f"{fn}-w{'x'.join(map(str, w))}-" + "-".join(f"{k}{v}" for k, v in kw.items())


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_jvp_jacfwd_hessian_match_torch(case):
    with jax.enable_x64(True):  # float64 for tight comparisons, scoped to this test
        _check(*case)


def _check(fn, xs, ws, kw):
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    dx, dw = rng.standard_normal(xs), rng.standard_normal(ws)
    jfn, tfn = getattr(F, fn), getattr(torch.nn.functional, fn)

    # jvp in both arguments at once
    # (Each transform runs as one jitted program: op by op, every primitive of the derivative
    # programs would compile on its own; the derivative rules are the same either way.)
    _, jt = jax.jit(lambda *a: jax.jvp(lambda a, b: jfn(a, b, **kw), a[:2], a[2:]))(
        jnp.asarray(x), jnp.asarray(w), jnp.asarray(dx), jnp.asarray(dw))
    _, tt = torch.func.jvp(lambda a, b: tfn(a, b, **kw),
                           (torch.from_numpy(x), torch.from_numpy(w)),
                           (torch.from_numpy(dx), torch.from_numpy(dw)))
    np.testing.assert_allclose(np.asarray(jt), tt.numpy(), rtol=1e-10, atol=1e-10)

    # jacfwd agrees with jacrev (the reverse-mode gradient the registry checks against torch)
    def scalar(b):
        return jnp.sum(jnp.tanh(jfn(jnp.asarray(x), b, **kw)))
    fwd = jax.jit(jax.jacfwd(scalar))(jnp.asarray(w))
    rev = jax.jit(jax.jacrev(scalar))(jnp.asarray(w))
    np.testing.assert_allclose(np.asarray(fwd), np.asarray(rev), rtol=1e-10, atol=1e-10)

    # hessian (forward over reverse) in the weight, against torch.func.hessian
    jh = jax.jit(jax.hessian(scalar))(jnp.asarray(w))
    th = torch.func.hessian(lambda b: torch.tanh(tfn(torch.from_numpy(x), b, **kw)).sum())(
        torch.from_numpy(w))
    np.testing.assert_allclose(np.asarray(jh), th.numpy(), rtol=1e-9, atol=1e-10)


# Kernels with a jnn-written derivative: (name, jnn fn, torch fn, inputs). The tangent is taken
# in the first input; the others are held fixed.
def _grid(n, h, w, seed):
    return np.random.default_rng(seed).uniform(-1.1, 1.1, (n, h, w, 2))


def _probs(shape, seed):
    return np.random.default_rng(seed).uniform(0.05, 0.95, shape)


KERNEL_CASES = [
    ("max_pool1d", lambda x: F.max_pool1d(x, 3, 2, 1),
     lambda x: torch.nn.functional.max_pool1d(x, 3, 2, 1), [(2, 3, 9)]),
    ("max_pool2d-ceil-dilated", lambda x: F.max_pool2d(x, 2, 2, 0, 2, ceil_mode=True),
     lambda x: torch.nn.functional.max_pool2d(x, 2, 2, 0, 2, ceil_mode=True), [(2, 2, 7, 6)]),
    ("max_pool2d-indices", lambda x: F.max_pool2d(x, 3, 2, 1, return_indices=True)[0],
     lambda x: torch.nn.functional.max_pool2d(x, 3, 2, 1, return_indices=True)[0],
     [(1, 3, 6, 6)]),
    ("max_pool3d", lambda x: F.max_pool3d(x, 2), lambda x: torch.nn.functional.max_pool3d(x, 2),
     [(1, 2, 4, 4, 4)]),
    ("adaptive_max_pool2d", lambda x: F.adaptive_max_pool2d(x, (3, 2)),
     lambda x: torch.nn.functional.adaptive_max_pool2d(x, (3, 2)), [(2, 2, 7, 5)]),
    ("grid_sample-bilinear", lambda x, g: F.grid_sample(x, g, align_corners=False),
     lambda x, g: torch.nn.functional.grid_sample(x, g, align_corners=False),
     [(2, 3, 5, 4), lambda: _grid(2, 3, 4, 1)]),
    ("grid_sample-bicubic-border",
     lambda x, g: F.grid_sample(x, g, "bicubic", "border", align_corners=True),
     lambda x, g: torch.nn.functional.grid_sample(x, g, "bicubic", "border", align_corners=True),
     [(1, 2, 4, 5), lambda: _grid(1, 3, 3, 2)]),
    ("binary_cross_entropy", lambda x, t: F.binary_cross_entropy(x, t, reduction="none"),
     lambda x, t: torch.nn.functional.binary_cross_entropy(x, t, reduction="none"),
     [lambda: _probs((3, 4), 3), lambda: _probs((3, 4), 4)]),
]


def _inputs(spec, seed):
    rng = np.random.default_rng(seed)
    return [s() if callable(s) else rng.standard_normal(s) for s in spec]


@pytest.mark.parametrize("case", KERNEL_CASES, ids=[c[0] for c in KERNEL_CASES])
def test_kernel_jvp_and_hessian_match_torch(case):
    _, jfn, tfn, spec = case
    with jax.enable_x64(True):
        xs = _inputs(spec, 0)
        dx = np.random.default_rng(9).standard_normal(xs[0].shape)
        rest = [jnp.asarray(a) for a in xs[1:]]
        trest = [torch.from_numpy(a) for a in xs[1:]]
        # (Each transform runs as one jitted program, as in _check.)
        _, jt = jax.jit(lambda a, t: jax.jvp(lambda a: jfn(a, *rest), (a,), (t,)))(
            jnp.asarray(xs[0]), jnp.asarray(dx))
        # torch's Jacobian by reverse mode (torch has no forward AD for grid_sample), applied
        # to the tangent
        tj = torch.func.jacrev(lambda a: tfn(a, *trest))(torch.from_numpy(xs[0]))
        tt = torch.tensordot(tj, torch.from_numpy(dx), dims=dx.ndim)
        np.testing.assert_allclose(np.asarray(jt), tt.numpy(), rtol=1e-10, atol=1e-10)

        def scalar(a):
            return jnp.sum(jnp.tanh(jfn(a, *rest)))
        # jacfwd agrees with the reverse-mode gradient (which the registry checks against torch)
        x0 = jnp.asarray(xs[0])
        np.testing.assert_allclose(np.asarray(jax.jit(jax.jacfwd(scalar))(x0)),
                                   np.asarray(jax.jit(jax.grad(scalar))(x0)), rtol=1e-10,
                                   atol=1e-10)
        # Hessian-vector product, forward over reverse (jax.hessian's mode), against torch's
        # double backward (cheaper than whole Hessians)
        v = np.random.default_rng(10).standard_normal(xs[0].shape)
        jhv = jax.jit(lambda a, t: jax.jvp(jax.grad(scalar), (a,), (t,))[1])(x0, jnp.asarray(v))
        ta = torch.from_numpy(xs[0]).requires_grad_()
        (tg,) = torch.autograd.grad(torch.tanh(tfn(ta, *trest)).sum(), ta, create_graph=True)
        (thv,) = torch.autograd.grad((tg * torch.from_numpy(v)).sum(), ta)
        np.testing.assert_allclose(np.asarray(jhv), thv.numpy(), rtol=1e-9, atol=1e-10)
