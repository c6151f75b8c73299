"""Parity cases for normalization: BatchNorm*/InstanceNorm* (+ Lazy), LayerNorm, GroupNorm,
RMSNorm, LocalResponseNorm and their kernels.

The harness compares buffers after forward, so every training-mode BatchNorm case checks the
running-statistics update rules (unbiased variance, momentum, cumulative average) and
``num_batches_tracked``; ``setup`` gives the eval cases non-trivial running statistics.
"""
import jax
import jax.numpy as jnp
import numpy as np
import torch

import jnn as nn
import jnn.functional as F
from harness import ErrorCase, FunctionCase, ModuleCase


def _stats_setup(num_batches=5):
    """Random running statistics (and num_batches_tracked) copied into both modules."""
    def setup(tmod, jmod):
        rng = np.random.default_rng(1)
        c = tmod.num_features
        with torch.no_grad():
            if tmod.running_mean is not None:
                tmod.running_mean.copy_(torch.from_numpy(rng.standard_normal(c)))
                tmod.running_var.copy_(torch.from_numpy(rng.random(c) + 0.5))
                tmod.num_batches_tracked.fill_(num_batches)
            if getattr(tmod, "weight", None) is not None:
                tmod.weight.copy_(torch.from_numpy(rng.random(c) + 0.5))
            if getattr(tmod, "bias", None) is not None:
                tmod.bias.copy_(torch.from_numpy(rng.standard_normal(c)))
        jmod.load_state_dict({k: v.detach().numpy() for k, v in tmod.state_dict().items()})
    return setup


def _affine_setup(tmod, jmod):
    """Random elementwise affine parameters (LayerNorm/GroupNorm/RMSNorm init them to 1/0)."""
    rng = np.random.default_rng(2)
    with torch.no_grad():
        for p in tmod.parameters():
            p.copy_(torch.from_numpy(rng.standard_normal(tuple(p.shape))))
    jmod.load_state_dict({k: v.detach().numpy() for k, v in tmod.state_dict().items()})


def shifted(*shape, offset=3.0, dtype=np.float32):
    def make(rng):
        return tuple((rng.standard_normal(s) * 2 + offset).astype(dtype) for s in shape)
    return make


MODULE_CASES = [
    # BatchNorm1d
    ModuleCase("BatchNorm1d", (4,), input_shapes=[(8, 4)], desc="2d"),
    ModuleCase("BatchNorm1d", (4,), inputs=shifted((5, 4, 3)), desc="3d-shifted"),
    ModuleCase("BatchNorm1d", (4,), input_shapes=[(2, 4)], desc="batch2"),
    ModuleCase("BatchNorm1d", (4,), dict(momentum=0.3, eps=1e-3), input_shapes=[(6, 4)],
               setup=_stats_setup(), desc="momentum-eps"),
    ModuleCase("BatchNorm1d", (4,), dict(momentum=None), input_shapes=[(6, 4)],
               desc="cumulative-first"),
    ModuleCase("BatchNorm1d", (4,), dict(momentum=None), input_shapes=[(6, 4, 2)],
               setup=_stats_setup(3), desc="cumulative"),
    ModuleCase("BatchNorm1d", (4,), dict(affine=False), input_shapes=[(6, 4)], desc="no-affine"),
    ModuleCase("BatchNorm1d", (4,), dict(bias=False), input_shapes=[(6, 4)], desc="no-bias"),
    ModuleCase("BatchNorm1d", (4,), dict(track_running_stats=False), input_shapes=[(6, 4)],
               desc="no-stats"),
    ModuleCase("BatchNorm1d", (4,), dict(track_running_stats=False), input_shapes=[(6, 4)],
               training=False, desc="no-stats-eval"),
    ModuleCase("BatchNorm1d", (4,), input_shapes=[(6, 4)], training=False,
               setup=_stats_setup(), desc="eval"),
    ModuleCase("BatchNorm1d", (4,), input_shapes=[(1, 4, 5)], desc="batch1-length5"),
    ModuleCase("BatchNorm1d", (4,), input_shapes=[(1, 4)], training=False, setup=_stats_setup(),
               desc="eval-batch1"),
    ModuleCase("BatchNorm1d", (4,), input_shapes=[(6, 4, 3)], dtype="float64", desc="f64"),
    ModuleCase("BatchNorm1d", (4,), dict(momentum=None), input_shapes=[(6, 4)],
               dtype="float64", setup=_stats_setup(2), desc="cumulative-f64"),
    # BatchNorm2d
    ModuleCase("BatchNorm2d", (3,), input_shapes=[(4, 3, 5, 5)]),
    ModuleCase("BatchNorm2d", (3,), inputs=shifted((2, 3, 4, 4), offset=10.0),
               setup=_stats_setup(), desc="shifted"),
    ModuleCase("BatchNorm2d", (3,), input_shapes=[(4, 3, 5, 5)], training=False,
               setup=_stats_setup(), desc="eval"),
    ModuleCase("BatchNorm2d", (3,), dict(affine=False, momentum=None), input_shapes=[(2, 3, 4, 4)],
               desc="no-affine-cumulative"),
    ModuleCase("BatchNorm2d", (3,), dict(affine=False, track_running_stats=False),
               input_shapes=[(2, 3, 4, 4)], training=False, desc="bare-eval"),
    ModuleCase("BatchNorm2d", (3,), input_shapes=[(4, 3, 5, 5)], dtype="float64",
               setup=_stats_setup(), desc="f64"),
    ModuleCase("BatchNorm2d", (3,), input_shapes=[(4, 3, 5, 5)], dtype="float64",
               training=False, setup=_stats_setup(), desc="eval-f64"),
    # BatchNorm3d
    ModuleCase("BatchNorm3d", (2,), input_shapes=[(2, 2, 3, 3, 3)]),
    ModuleCase("BatchNorm3d", (2,), dict(eps=0.1), input_shapes=[(2, 2, 3, 3, 3)],
               training=False, setup=_stats_setup(), desc="eval"),
    ModuleCase("BatchNorm3d", (2,), input_shapes=[(2, 2, 2, 3, 3)], dtype="float64",
               desc="f64"),
    # Lazy batch norm: jnn's lazy module takes its shapes from torch's (materialised)
    # state_dict, like torch's own lazy load hook; first-call inference is checked below.
    ModuleCase("LazyBatchNorm1d", (), input_shapes=[(6, 4)], torch_name="BatchNorm1d",
               torch_args=(4,), check_repr=False, check_state_dict=False),
    ModuleCase("LazyBatchNorm2d", (), dict(momentum=None), input_shapes=[(2, 3, 4, 4)],
               torch_name="BatchNorm2d", torch_args=(3,), torch_kwargs=dict(momentum=None),
               check_repr=False, check_state_dict=False),
    ModuleCase("LazyBatchNorm3d", (), input_shapes=[(2, 2, 2, 3, 3)], torch_name="BatchNorm3d",
               torch_args=(2,), check_repr=False, check_state_dict=False, training=False,
               setup=_stats_setup()),
    # InstanceNorm
    ModuleCase("InstanceNorm1d", (3,), input_shapes=[(2, 3, 6)]),
    ModuleCase("InstanceNorm1d", (3,), input_shapes=[(3, 6)], desc="unbatched"),
    ModuleCase("InstanceNorm1d", (3,), dict(affine=True), input_shapes=[(2, 3, 6)],
               setup=_stats_setup(), desc="affine"),
    ModuleCase("InstanceNorm1d", (3,), dict(affine=True, track_running_stats=True),
               input_shapes=[(2, 3, 6)], setup=_stats_setup(), desc="stats-train"),
    ModuleCase("InstanceNorm1d", (3,), dict(affine=True, track_running_stats=True),
               input_shapes=[(3, 6)], setup=_stats_setup(), desc="stats-train-unbatched"),
    ModuleCase("InstanceNorm1d", (3,), dict(track_running_stats=True), input_shapes=[(2, 3, 6)],
               training=False, setup=_stats_setup(), desc="stats-eval"),
    ModuleCase("InstanceNorm2d", (3,), input_shapes=[(2, 3, 4, 5)]),
    ModuleCase("InstanceNorm2d", (3,), dict(affine=True, momentum=0.5, eps=1e-3),
               input_shapes=[(3, 4, 5)], desc="unbatched-affine"),
    ModuleCase("InstanceNorm2d", (3,), dict(track_running_stats=True, momentum=None),
               inputs=shifted((2, 3, 4, 5)), setup=_stats_setup(), desc="momentum-none"),
    ModuleCase("InstanceNorm2d", (3,), dict(affine=True, track_running_stats=True),
               input_shapes=[(2, 3, 4, 5)], dtype="float64", setup=_stats_setup(),
               desc="stats-f64"),
    ModuleCase("InstanceNorm3d", (2,), input_shapes=[(2, 2, 3, 3, 3)]),
    ModuleCase("InstanceNorm3d", (2,), dict(affine=True), input_shapes=[(2, 3, 3, 3)],
               desc="unbatched"),
    ModuleCase("InstanceNorm3d", (2,), input_shapes=[(2, 2, 3, 3, 3)], dtype="float64",
               desc="f64"),
    ModuleCase("LazyInstanceNorm1d", (), input_shapes=[(2, 3, 6)], torch_name="InstanceNorm1d",
               torch_args=(3,), torch_kwargs=dict(affine=True, track_running_stats=True),
               check_repr=False, check_state_dict=False),
    ModuleCase("LazyInstanceNorm2d", (), input_shapes=[(2, 3, 4, 4)],
               torch_name="InstanceNorm2d", torch_args=(3,),
               torch_kwargs=dict(affine=True, track_running_stats=True), check_repr=False,
               check_state_dict=False, training=False, setup=_stats_setup()),
    ModuleCase("LazyInstanceNorm3d", (), input_shapes=[(2, 2, 2, 3, 3)],
               torch_name="InstanceNorm3d", torch_args=(2,),
               torch_kwargs=dict(affine=True, track_running_stats=True), check_repr=False,
               check_state_dict=False),
    # LayerNorm
    ModuleCase("LayerNorm", (10,), input_shapes=[(4, 10)]),
    ModuleCase("LayerNorm", ((3, 4),), inputs=shifted((2, 5, 3, 4)), setup=_affine_setup,
               desc="2d-shape"),
    ModuleCase("LayerNorm", ([4],), dict(eps=1e-3, bias=False), input_shapes=[(2, 3, 4)],
               setup=_affine_setup, desc="no-bias"),
    ModuleCase("LayerNorm", (4,), dict(elementwise_affine=False), input_shapes=[(3, 4)],
               desc="no-affine"),
    ModuleCase("LayerNorm", (6,), input_shapes=[(6,)], desc="unbatched"),
    ModuleCase("LayerNorm", ((2, 3),), input_shapes=[(4, 2, 3)], dtype="float64",
               setup=_affine_setup, desc="f64"),
    # GroupNorm
    ModuleCase("GroupNorm", (2, 6), input_shapes=[(4, 6, 5)], setup=_affine_setup),
    ModuleCase("GroupNorm", (3, 6), dict(affine=False), input_shapes=[(2, 6, 3, 3)],
               desc="no-affine"),
    ModuleCase("GroupNorm", (1, 4), dict(eps=1e-3), input_shapes=[(2, 4, 3)],
               setup=_affine_setup, desc="one-group"),
    ModuleCase("GroupNorm", (4, 4), input_shapes=[(2, 4, 3, 3)], setup=_affine_setup,
               desc="per-channel"),
    ModuleCase("GroupNorm", (2, 4), dict(bias=False), input_shapes=[(3, 4)], desc="2d-no-bias"),
    ModuleCase("GroupNorm", (2, 6), inputs=shifted((2, 6, 2, 2, 2)), dtype="float64",
               setup=_affine_setup, desc="f64"),
    # RMSNorm
    ModuleCase("RMSNorm", (4,), input_shapes=[(3, 4)], setup=_affine_setup),
    ModuleCase("RMSNorm", ([3, 4],), dict(eps=1e-3), input_shapes=[(2, 3, 4)],
               setup=_affine_setup, desc="2d-eps"),
    ModuleCase("RMSNorm", (4,), dict(elementwise_affine=False), input_shapes=[(3, 4)],
               desc="no-affine"),
    ModuleCase("RMSNorm", (5,), input_shapes=[(2, 5)], dtype="float64", setup=_affine_setup,
               desc="f64"),
    # LocalResponseNorm
    ModuleCase("LocalResponseNorm", (2,), input_shapes=[(2, 5, 4, 4)]),
    ModuleCase("LocalResponseNorm", (3,), dict(alpha=0.5, beta=0.6, k=2.0),
               input_shapes=[(2, 6, 7)], desc="3d"),
    ModuleCase("LocalResponseNorm", (5,), dict(alpha=1.0), input_shapes=[(2, 4, 2, 3, 2)],
               desc="5d-wide"),
    ModuleCase("LocalResponseNorm", (1,), dict(alpha=0.3), input_shapes=[(2, 3, 4)],
               desc="size1"),
    ModuleCase("LocalResponseNorm", (4,), dict(alpha=0.5), input_shapes=[(2, 6, 3, 3)],
               dtype="float64", desc="f64"),
    # A batch of zero samples leaves the running statistics alone (torch's module_db
    # zero_batch input; the mean of no values would make them NaN).
    ModuleCase("BatchNorm1d", (5, 1e-3, 0.3, False), input_shapes=[(0, 5, 9)],
               desc="zero_batch"),
    ModuleCase("BatchNorm2d", (3,), dict(momentum=None), input_shapes=[(0, 3, 2, 2)],
               desc="zero_batch-cumulative"),
]


# -- kernels -----------------------------------------------------------------------------------

def _bn_inputs(shape, training, affine=True, stats=True, dtype=np.float32, **kw):
    def make(rng):
        c = shape[1]
        x = rng.standard_normal(shape).astype(dtype)
        rm = rng.standard_normal(c).astype(dtype) if stats else None
        rv = (rng.random(c) + 0.5).astype(dtype) if stats else None
        w = (rng.random(c) + 0.5).astype(dtype) if affine else None
        b = rng.standard_normal(c).astype(dtype) if affine else None
        return (x, rm, rv), dict(weight=w, bias=b, training=training, **kw)
    return make


def _torch_bn_update(x, rm, rv, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    rm = None if rm is None else rm.clone()
    rv = None if rv is None else rv.clone()
    out = torch.nn.functional.batch_norm(x, rm, rv, weight, bias, training, momentum, eps)
    return out, rm, rv


def _jnn_bn_update(*args, **kwargs):
    out, rm, rv = F.batch_norm_with_update(*args, **kwargs)
    # The running statistics are state, not differentiable outputs (torch's are not either).
    return out, jax.lax.stop_gradient(rm), jax.lax.stop_gradient(rv)


def _in_inputs(shape, use_input_stats=True, affine=True, stats=False, dtype=np.float32, **kw):
    def make(rng):
        c = shape[1]
        x = rng.standard_normal(shape).astype(dtype)
        rm = rng.standard_normal(c).astype(dtype) if stats else None
        rv = (rng.random(c) + 0.5).astype(dtype) if stats else None
        w = (rng.random(c) + 0.5).astype(dtype) if affine else None
        b = rng.standard_normal(c).astype(dtype) if affine else None
        return (x,), dict(running_mean=rm, running_var=rv, weight=w, bias=b,
                          use_input_stats=use_input_stats, **kw)
    return make


def _ln_inputs(shape, nshape, affine=True, bias=True, dtype=np.float32, offset=0.0, **kw):
    def make(rng):
        x = (rng.standard_normal(shape) + offset).astype(dtype)
        w = rng.standard_normal(nshape).astype(dtype) if affine else None
        b = rng.standard_normal(nshape).astype(dtype) if affine and bias else None
        return (x, list(nshape)), dict(weight=w, bias=b, **kw)
    return make


def _rms_inputs(shape, nshape, affine=True, dtype=np.float32, **kw):
    def make(rng):
        x = rng.standard_normal(shape).astype(dtype)
        w = rng.standard_normal(nshape).astype(dtype) if affine else None
        return (x, list(nshape)), dict(weight=w, **kw)
    return make


def _gn_inputs(shape, groups, affine=True, dtype=np.float32, **kw):
    def make(rng):
        c = shape[1]
        x = rng.standard_normal(shape).astype(dtype)
        w = rng.standard_normal(c).astype(dtype) if affine else None
        b = rng.standard_normal(c).astype(dtype) if affine else None
        return (x, groups), dict(weight=w, bias=b, **kw)
    return make


def _lrn_inputs(shape, size, dtype=np.float32, **kw):
    def make(rng):
        return (rng.standard_normal(shape).astype(dtype), size), dict(kw)
    return make


def _normalize_inputs(shape, zero_row=False, dtype=np.float32, **kw):
    def make(rng):
        x = rng.standard_normal(shape).astype(dtype)
        if zero_row:
            x[0] = 0
        return (x,), dict(kw)
    return make


FUNCTION_CASES = [
    FunctionCase("batch_norm", _bn_inputs((6, 4), True), nondiff=(1, 2), desc="train"),
    FunctionCase("batch_norm", _bn_inputs((6, 4, 3), True, stats=False), desc="train-no-stats"),
    FunctionCase("batch_norm", _bn_inputs((4, 3, 2, 2), False), nondiff=(1, 2), desc="eval"),
    FunctionCase("batch_norm", _bn_inputs((4, 3, 2, 2), False, affine=False, eps=0.1),
                 nondiff=(1, 2), desc="eval-bare"),
    FunctionCase("batch_norm", _bn_inputs((4, 3, 5), True, dtype=np.float64, momentum=0.5),
                 nondiff=(1, 2), desc="train-f64"),
    # torch returns an empty 1-d input unchanged (an op_db sample), running stats untouched.
    FunctionCase("batch_norm", lambda rng: ((np.zeros((0,), np.float32), np.zeros(3, np.float32),
                                             np.ones(3, np.float32)), dict(training=True)),
                 nondiff=(1, 2), desc="empty-1d"),
    FunctionCase("batch_norm_with_update", _bn_inputs((6, 4), True, momentum=0.3),
                 nondiff=(1, 2), torch_fn=_torch_bn_update, jnn_fn=_jnn_bn_update,
                 desc="train"),
    FunctionCase("batch_norm_with_update", _bn_inputs((6, 4, 3), True, affine=False),
                 nondiff=(1, 2), torch_fn=_torch_bn_update, jnn_fn=_jnn_bn_update,
                 desc="train-3d"),
    FunctionCase("batch_norm_with_update", _bn_inputs((6, 4, 3), False), nondiff=(1, 2),
                 torch_fn=_torch_bn_update, jnn_fn=_jnn_bn_update, desc="eval"),
    FunctionCase("batch_norm_with_update", _bn_inputs((3, 2, 2, 2), True, dtype=np.float64),
                 nondiff=(1, 2), torch_fn=_torch_bn_update, jnn_fn=_jnn_bn_update,
                 desc="train-f64"),
    FunctionCase("instance_norm", _in_inputs((2, 3, 5))),
    FunctionCase("instance_norm", _in_inputs((2, 3, 4, 4), affine=False), desc="2d-bare"),
    FunctionCase("instance_norm", _in_inputs((2, 3, 4, 4), use_input_stats=False, stats=True),
                 nondiff=("running_mean", "running_var"), desc="running"),
    FunctionCase("instance_norm", _in_inputs((2, 3, 2, 2, 3), dtype=np.float64, eps=1e-3),
                 desc="3d-f64"),
    FunctionCase("layer_norm", _ln_inputs((4, 10), (10,))),
    FunctionCase("layer_norm", _ln_inputs((2, 3, 4), (3, 4), offset=5.0), desc="2d-shifted"),
    FunctionCase("layer_norm", _ln_inputs((2, 3, 4), (4,), affine=False, eps=1e-2),
                 desc="bare"),
    FunctionCase("layer_norm", _ln_inputs((2, 3, 4), (4,), bias=False), desc="no-bias"),
    FunctionCase("layer_norm", _ln_inputs((3, 5), (5,), dtype=np.float64), desc="f64"),
    FunctionCase("rms_norm", _rms_inputs((4, 10), (10,))),
    FunctionCase("rms_norm", _rms_inputs((2, 3, 4), (3, 4), eps=1e-2), desc="2d-eps"),
    FunctionCase("rms_norm", _rms_inputs((2, 3, 4), (4,), affine=False), desc="bare"),
    FunctionCase("rms_norm", _rms_inputs((3, 5), (5,), dtype=np.float64), desc="f64"),
    FunctionCase("group_norm", _gn_inputs((4, 6, 5), 2)),
    FunctionCase("group_norm", _gn_inputs((2, 6, 3, 3), 3, affine=False, eps=1e-3),
                 desc="bare"),
    FunctionCase("group_norm", _gn_inputs((3, 4), 2), desc="2d"),
    FunctionCase("group_norm", _gn_inputs((2, 4, 3), 4, dtype=np.float64), desc="f64"),
    FunctionCase("local_response_norm", _lrn_inputs((2, 5, 4, 4), 2)),
    FunctionCase("local_response_norm", _lrn_inputs((2, 6, 7), 3, alpha=0.5, beta=0.6, k=2.0),
                 desc="3d"),
    FunctionCase("local_response_norm", _lrn_inputs((2, 4, 3, 2, 2), 4, alpha=1.0), desc="5d"),
    FunctionCase("local_response_norm", _lrn_inputs((2, 5, 3), 7, alpha=2.0), desc="wide"),
    FunctionCase("local_response_norm", _lrn_inputs((2, 4, 3), 3, alpha=0.5,
                                                    dtype=np.float64), desc="f64"),
    FunctionCase("normalize", _normalize_inputs((4, 5))),
    FunctionCase("normalize", _normalize_inputs((4, 5), zero_row=True, dim=1), desc="zero"),
    FunctionCase("normalize", _normalize_inputs((4, 5), p=1.0, dim=0), desc="p1-dim0"),
    FunctionCase("normalize", _normalize_inputs((4, 5, 3), p=3.0, dim=-1), desc="p3"),
    FunctionCase("normalize", _normalize_inputs((4, 5), p=float("inf")), desc="inf"),
    FunctionCase("normalize", _normalize_inputs((6,), dim=0, eps=10.0), desc="eps-clamp"),
    FunctionCase("normalize", _normalize_inputs((4, 5), dtype=np.float64, p=2.5),
                 desc="f64"),
    # Gradients through a compiled call: under jit the window sum's init value must stay a
    # concrete zero, or the reduce_window is not reverse-differentiable.
    FunctionCase("local_response_norm", lambda rng: ((rng.standard_normal((2, 5, 7)).astype(
        np.float32), 3), {}), jnn_fn=jax.jit(F.local_response_norm, static_argnums=(1,)),
        desc="grad_through_jit"),
    # An empty batch: output empty, no NaN (torch's module_db zero_batch input).
    FunctionCase("group_norm", lambda rng: ((np.zeros((0, 6, 9), np.float32), 2), {}),
                 desc="zero_batch"),
]


# -- bad input and behaviour checks ------------------------------------------------------------

def _lazy_first_call():
    m = nn.LazyBatchNorm2d(momentum=0.2)
    x = nn.randn(4, 3, 2, 2) * 2 + 1
    out = m(x)
    assert type(m) is nn.BatchNorm2d and m.num_features == 3
    assert m.weight.shape == (3,) and m.running_var.shape == (3,)
    t = torch.nn.BatchNorm2d(3, momentum=0.2)
    t_out = t(torch.from_numpy(np.asarray(x)))
    np.testing.assert_allclose(np.asarray(out), t_out.detach().numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.asarray(m.running_var), t.running_var.numpy(), rtol=1e-4)
    assert int(m.num_batches_tracked) == 1
    m2 = nn.LazyInstanceNorm1d()
    m2(nn.randn(2, 5, 4))
    assert type(m2) is nn.InstanceNorm1d and m2.running_mean.shape == (5,)
    m3 = nn.LazyBatchNorm1d(affine=False)  # only buffers to infer
    m3(nn.randn(4, 6))
    assert type(m3) is nn.BatchNorm1d and m3.running_mean.shape == (6,)
    raise ValueError("lazy checks passed")


def _bn_jit_and_state():
    bn = nn.BatchNorm1d(3)
    bn_eager = nn.BatchNorm1d(3)
    step = nn.jit(lambda m, x: m(x))
    for i in range(3):
        x = nn.randn(5, 3) + i
        step(bn, x)
        bn_eager(x)
    np.testing.assert_allclose(np.asarray(bn.running_mean), np.asarray(bn_eager.running_mean),
                               rtol=1e-5, atol=1e-6)
    assert int(bn.num_batches_tracked) == 3 == int(bn_eager.num_batches_tracked)
    # torch's int64 num_batches_tracked loads (into int32 without x64)
    t = torch.nn.BatchNorm1d(3)
    t.num_batches_tracked.fill_(12)
    bn.load_state_dict(t.state_dict())
    assert int(bn.num_batches_tracked) == 12
    assert bn.num_batches_tracked.dtype == jax.dtypes.canonicalize_dtype(jnp.int64)
    # seed 000, section 4.6
    b2 = nn.BatchNorm1d(2)
    b2(nn.rand(3, 2))
    assert list(b2._buffers) == ["running_mean", "running_var", "num_batches_tracked"]
    assert int(b2._buffers["num_batches_tracked"]) == 1
    # track_running_stats=False: buffers registered as None, like torch
    b3 = nn.BatchNorm2d(2, track_running_stats=False)
    assert b3.running_mean is None and b3.num_batches_tracked is None
    assert list(b3.state_dict()) == ["weight", "bias"]
    b3.reset_running_stats()
    raise ValueError("batchnorm state checks passed")


def _seed_4_2_1():
    h = jnp.array([[-0.2782, -0.7852, 0.0166, -0.1817], [-0.1064, -0.5069, -0.2169, -0.0372]])
    bn = nn.BatchNorm1d(4)
    bn.weight.data = jnp.ones(4) * 4
    bn.bias.data = jnp.zeros(4)
    out = np.asarray(bn(h))
    np.testing.assert_allclose(out, [[-3.9973, -3.9990, 3.9985, -3.9962],
                                     [3.9973, 3.9990, -3.9985, 3.9962]], atol=2e-4)
    np.testing.assert_allclose(out.std(0), [3.9973, 3.9990, 3.9985, 3.9962], atol=2e-4)
    raise ValueError("seed example passed")


ERROR_CASES = [
    ErrorCase("BatchNorm1d", lambda: nn.BatchNorm1d(3)(jnp.ones((2, 3, 4, 4))), ValueError,
              r"BatchNorm1d: expected 2D or 3D input \(got 4D input"),
    ErrorCase("BatchNorm2d", lambda: nn.BatchNorm2d(3)(jnp.ones((2, 3, 4))), ValueError,
              r"expected 4D input \(got 3D input"),
    ErrorCase("BatchNorm3d", lambda: nn.BatchNorm3d(3)(jnp.ones((2, 3, 4, 4))), ValueError,
              r"expected 5D input \(got 4D input"),
    ErrorCase("BatchNorm1d", lambda: nn.BatchNorm1d(3)(jnp.ones((1, 3))), ValueError,
              r"Expected more than 1 value per channel when training, got input size \(1, 3\)",
              desc="batch1"),
    ErrorCase("BatchNorm2d", lambda: nn.BatchNorm2d(3)(jnp.ones((2, 4, 5, 5))), ValueError,
              r"expected running_mean of shape \(4,\).*got shape \(3,\)", desc="channels"),
    ErrorCase("BatchNorm1d", lambda: nn.BatchNorm1d(-1), ValueError,
              r"num_features to be a non-negative int, got -1", desc="ctor"),
    ErrorCase("batch_norm", lambda: F.batch_norm(jnp.ones((2, 3)), None, None), ValueError,
              r"running_mean and running_var must be given when training=False"),
    ErrorCase("batch_norm", lambda: F.batch_norm(jnp.ones((2, 3)), jnp.zeros(4), jnp.ones(4)),
              ValueError, r"running_mean of shape \(3,\)", desc="stats-shape"),
    ErrorCase("batch_norm", lambda: F.batch_norm(jnp.ones((4, 3)), None, None, training=True,
                                                 eps=0.0),
              ValueError, r"eps must be positive during training", desc="eps"),
    ErrorCase("batch_norm", lambda: F.batch_norm(jnp.ones(3), None, None, training=True),
              ValueError, r"at least 2 dimensions", desc="1d"),
    ErrorCase("InstanceNorm1d", lambda: nn.InstanceNorm1d(3, affine=True)(jnp.ones((2, 4, 5))),
              ValueError, r"expected input's size at dim=1 to match num_features \(3\), but "
                          r"got: 4"),
    ErrorCase("InstanceNorm2d", lambda: nn.InstanceNorm2d(3)(jnp.ones((3, 4))), ValueError,
              r"expected 3D or 4D input \(got 2D input"),
    ErrorCase("instance_norm", lambda: F.instance_norm(jnp.ones((2, 3, 1))), ValueError,
              r"Expected more than 1 spatial element when training"),
    ErrorCase("LayerNorm", lambda: nn.LayerNorm(4)(jnp.ones((2, 5))), ValueError,
              r"normalized_shape=\[4\], expected input with shape \[\*, 4\], but got input of "
              r"size \(2, 5\)"),
    ErrorCase("layer_norm", lambda: F.layer_norm(jnp.ones((2, 4)), (4,), jnp.ones(5)),
              ValueError, r"expected weight of shape \(4,\)"),
    ErrorCase("GroupNorm", lambda: nn.GroupNorm(4, 6), ValueError,
              r"num_channels \(6\) must be divisible by num_groups \(4\)"),
    ErrorCase("group_norm", lambda: F.group_norm(jnp.ones((2, 6, 3)), 4), ValueError,
              r"divisible by num_groups, but got input of shape \(2, 6, 3\) and num_groups=4"),
    ErrorCase("group_norm", lambda: F.group_norm(jnp.ones((1, 2)), 2), ValueError,
              r"Expected more than 1 value per channel", desc="one-value"),
    ErrorCase("rms_norm", lambda: F.rms_norm(jnp.ones((2, 3)), [2, 3, 4]), ValueError,
              r"normalized_shape=\[2, 3, 4\]"),
    ErrorCase("local_response_norm", lambda: F.local_response_norm(jnp.ones((2, 3)), 2),
              ValueError, r"Expected 3D or higher dimensionality input \(got 2 dimensions"),
    ErrorCase("normalize", lambda: F.normalize(jnp.ones(3)), ValueError,
              r"Dimension out of range \(expected to be in range of \[-1, 0\], but got 1\)"),
    ErrorCase("LazyBatchNorm2d", _lazy_first_call, ValueError, "lazy checks passed",
              desc="first-call-inference"),
    ErrorCase("BatchNorm1d", _bn_jit_and_state, ValueError, "batchnorm state checks passed",
              desc="jit-state-and-loading"),
    ErrorCase("BatchNorm1d", _seed_4_2_1, ValueError, "seed example passed",
              desc="seed-000-4.2.1"),
]

# A 0-d input normalised along dim 0 (torch's op_db sample), and one that is zero.
FUNCTION_CASES += [
    FunctionCase("normalize", lambda rng: ((np.array(0.7, np.float32),), dict(p=1.2, dim=0)),
                 desc="0d"),
    FunctionCase("normalize", lambda rng: ((np.array(0.0, np.float32),), dict(p=1.2, dim=0)),
                 desc="0d_zero"),
]
