"""Forward-mode and higher-order differentiation through every convolution kernel path.

``jax.jvp`` / ``jax.jacfwd`` / ``jax.hessian`` must work through conv1d/2d/3d, including the
paths with their own kernels (depthwise on CPU) and the grouped, strided and 1x1 cases; a
``jax.custom_vjp`` anywhere on the path would raise instead. The derivatives are checked
against torch's (``torch.func.jvp`` / ``torch.func.hessian``) in float64.
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
    _, jt = jax.jvp(lambda a, b: jfn(a, b, **kw), (jnp.asarray(x), jnp.asarray(w)),
                    (jnp.asarray(dx), jnp.asarray(dw)))
    _, tt = torch.func.jvp(lambda a, b: tfn(a, b, **kw),
                           (torch.from_numpy(x), torch.from_numpy(w)),
                           (torch.from_numpy(dx), torch.from_numpy(dw)))
    np.testing.assert_allclose(np.asarray(jt), tt.numpy(), rtol=1e-10, atol=1e-10)

    # jacfwd agrees with jacrev (the reverse-mode gradient the registry checks against torch)
    def scalar(b):
        return jnp.sum(jnp.tanh(jfn(jnp.asarray(x), b, **kw)))
    fwd = jax.jacfwd(scalar)(jnp.asarray(w))
    rev = jax.jacrev(scalar)(jnp.asarray(w))
    np.testing.assert_allclose(np.asarray(fwd), np.asarray(rev), rtol=1e-10, atol=1e-10)

    # hessian (forward over reverse) in the weight, against torch.func.hessian
    jh = jax.hessian(scalar)(jnp.asarray(w))
    th = torch.func.hessian(lambda b: torch.tanh(tfn(torch.from_numpy(x), b, **kw)).sum())(
        torch.from_numpy(w))
    np.testing.assert_allclose(np.asarray(jh), th.numpy(), rtol=1e-9, atol=1e-10)
