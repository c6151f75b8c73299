"""Parity cases for the losses (layers in jnn/modules/loss.py, kernels in jnn/functional/loss.py).

Notes on gradients: torch refuses to differentiate class ``weight`` arguments of nll_loss,
cross_entropy, multi_margin_loss, binary_cross_entropy(_with_logits) and the target of
soft_margin_loss, so those are marked ``nondiff`` here. CTC gradients are compared through a
``log_softmax`` (see jnn.functional.ctc_loss's "Differences from PyTorch").
"""
import warnings

import jax.numpy as jnp
import numpy as np
import torch

import jnn as nn
import jnn.functional as F
from harness import ErrorCase, FunctionCase, ModuleCase

warnings.filterwarnings("ignore", message=".*size_average and reduce args.*")
warnings.filterwarnings("ignore", message=".*reduction: 'mean' divides the total loss.*")
warnings.filterwarnings("ignore", message=".*NLLLoss2d.*")

REDUCTIONS = ("none", "mean", "sum")
F64 = dict(rtol=1e-9, atol=1e-11)


def _n(rng, shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


def _u(rng, shape, lo=0.0, hi=1.0, dtype=np.float32):
    return rng.uniform(lo, hi, shape).astype(dtype)


def _sign(rng, shape, dtype=np.float32):
    return np.where(rng.random(shape) < 0.5, -1, 1).astype(dtype)


def _cls(rng, shape, C, ignore=None, frac=0.3):
    t = rng.integers(0, C, shape).astype(np.int64)
    if ignore is not None:
        t = np.where(rng.random(shape) < frac, ignore, t).astype(np.int64)
    return t


def _probs(rng, shape, axis=1, dtype=np.float32):
    e = np.exp(rng.standard_normal(shape))
    return (e / e.sum(axis=axis, keepdims=True)).astype(dtype)


def fc(name, make, desc, **kw):
    return FunctionCase(name, make, desc=desc, **kw)


FUNCTION_CASES = []

# -- elementwise regression losses ------------------------------------------------------------
for r in REDUCTIONS:
    FUNCTION_CASES += [
        fc("l1_loss", lambda rng, r=r: ((_n(rng, (3, 4)), _n(rng, (3, 4))), dict(reduction=r)),
           r),
        fc("l1_loss", lambda rng, r=r: ((_n(rng, (3, 4)), _n(rng, (3, 4))),
                                        dict(reduction=r, weight=_u(rng, (3, 4), 0.1))),
           f"{r}-weight"),
        fc("mse_loss", lambda rng, r=r: ((_n(rng, (2, 3, 4)), _n(rng, (2, 3, 4))),
                                         dict(reduction=r)), r),
        fc("mse_loss", lambda rng, r=r: ((_n(rng, (3, 4)), _n(rng, (3, 4))),
                                         dict(reduction=r, weight=_u(rng, (3, 4), 0.1))),
           f"{r}-weight"),
        fc("smooth_l1_loss", lambda rng, r=r: ((_n(rng, (4, 5)), _n(rng, (4, 5))),
                                               dict(reduction=r, beta=0.5)), r),
        fc("huber_loss", lambda rng, r=r: ((_n(rng, (4, 5)), _n(rng, (4, 5))),
                                           dict(reduction=r, delta=0.7)), r),
        fc("huber_loss", lambda rng, r=r: ((_n(rng, (4, 5)), _n(rng, (4, 5))),
                                           dict(reduction=r, weight=_u(rng, (4, 5), 0.1))),
           f"{r}-weight"),
        fc("soft_margin_loss", lambda rng, r=r: ((_n(rng, (3, 4)), _sign(rng, (3, 4))),
                                                 dict(reduction=r)), r, nondiff=(1,)),
        fc("hinge_embedding_loss", lambda rng, r=r: ((_n(rng, (3, 4)), _sign(rng, (3, 4))),
                                                     dict(reduction=r, margin=0.5)), r),
        fc("poisson_nll_loss", lambda rng, r=r: ((_n(rng, (3, 4)),
                                                  rng.poisson(2.0, (3, 4)).astype(np.float32)),
                                                 dict(reduction=r)), r),
        fc("gaussian_nll_loss", lambda rng, r=r: ((_n(rng, (3, 4)), _n(rng, (3, 4)),
                                                   _u(rng, (3, 4), 0.2, 2.0)),
                                                  dict(reduction=r)), r),
        fc("kl_div", lambda rng, r=r: ((np.log(_probs(rng, (3, 5))), _probs(rng, (3, 5))),
                                       dict(reduction=r)), r),
        fc("binary_cross_entropy", lambda rng, r=r: ((_u(rng, (3, 4), 0.05, 0.95),
                                                      _u(rng, (3, 4))), dict(reduction=r)), r),
        fc("binary_cross_entropy_with_logits",
           lambda rng, r=r: ((_n(rng, (3, 4)), _u(rng, (3, 4))), dict(reduction=r)), r),
        fc("multilabel_soft_margin_loss",
           lambda rng, r=r: ((_n(rng, (3, 4)), (rng.random((3, 4)) < 0.5).astype(np.float32)),
                             dict(reduction=r)), r),
        fc("margin_ranking_loss", lambda rng, r=r: ((_n(rng, (6,)), _n(rng, (6,)),
                                                     _sign(rng, (6,))),
                                                    dict(reduction=r, margin=0.3)), r),
        fc("cosine_embedding_loss",
           lambda rng, r=r: ((_n(rng, (5, 4)), _n(rng, (5, 4)),
                              _sign(rng, (5,), np.int64)), dict(reduction=r, margin=0.2)), r),
        fc("triplet_margin_loss", lambda rng, r=r: ((_n(rng, (5, 4)), _n(rng, (5, 4)),
                                                     _n(rng, (5, 4))), dict(reduction=r)), r),
        fc("triplet_margin_with_distance_loss",
           lambda rng, r=r: ((_n(rng, (5, 4)), _n(rng, (5, 4)), _n(rng, (5, 4))),
                             dict(reduction=r)), r),
        fc("multi_margin_loss", lambda rng, r=r: ((_n(rng, (5, 4)), _cls(rng, (5,), 4)),
                                                  dict(reduction=r)), r),
        fc("multilabel_margin_loss",
           lambda rng, r=r: ((_n(rng, (3, 5)),
                              np.array([[3, 0, -1, 1, 2], [1, 2, 3, 4, 0], [-1, 1, 2, 0, 0]],
                                       np.int64)), dict(reduction=r)), r),
        fc("kl_div", lambda rng, r=r: ((np.log(_probs(rng, (3, 5))), np.log(_probs(rng, (3, 5)))),
                                       dict(reduction=r, log_target=True)), f"{r}-log_target"),
    ]

FUNCTION_CASES += [
    fc("l1_loss", lambda rng: ((_n(rng, (3, 4)), _n(rng, (4,))), {}), "broadcast_warns"),
    fc("mse_loss", lambda rng: ((_n(rng, (3, 1)), _n(rng, (3, 4))), {}), "broadcast_warns"),
    fc("mse_loss", lambda rng: ((_n(rng, (3, 4)), _n(rng, (3, 4))),
                                dict(size_average=False)), "legacy_size_average"),
    fc("l1_loss", lambda rng: ((_n(rng, (3, 4)), _n(rng, (3, 4))), dict(reduce=False)),
       "legacy_reduce"),
    fc("mse_loss", lambda rng: ((_n(rng, (3, 4), np.float64), _n(rng, (3, 4), np.float64)), {}),
       "float64", **F64),
    fc("l1_loss", lambda rng: ((_n(rng, ()), _n(rng, ())), {}), "scalar"),
    fc("smooth_l1_loss", lambda rng: ((_n(rng, (4, 5)), _n(rng, (4, 5))), dict(beta=0.0)),
       "beta0"),
    fc("smooth_l1_loss", lambda rng: ((_n(rng, (4, 5), np.float64), _n(rng, (4, 5), np.float64)),
                                      dict(beta=2.0)), "float64", **F64),
    fc("huber_loss", lambda rng: ((_n(rng, (4, 5), np.float64), _n(rng, (4, 5), np.float64)),
                                  dict(delta=2.0)), "float64", **F64),
    fc("poisson_nll_loss", lambda rng: ((_u(rng, (3, 4), 0.1, 3.0),
                                         rng.poisson(2.0, (3, 4)).astype(np.float32)),
                                        dict(log_input=False)), "not_log_input"),
    fc("poisson_nll_loss", lambda rng: ((_n(rng, (3, 4)),
                                         rng.poisson(3.0, (3, 4)).astype(np.float32)),
                                        dict(full=True)), "full"),
    fc("poisson_nll_loss", lambda rng: ((_n(rng, (3, 4), np.float64),
                                         rng.poisson(3.0, (3, 4)).astype(np.float64)),
                                        dict(full=True, reduction="sum")), "float64", **F64),
    fc("gaussian_nll_loss", lambda rng: ((_n(rng, (3, 4)), _n(rng, (3, 4)),
                                          _u(rng, (3,), 0.2, 2.0)), dict(full=True)),
       "homoscedastic_short"),
    fc("gaussian_nll_loss", lambda rng: ((_n(rng, (3, 4)), _n(rng, (3, 4)),
                                          _u(rng, (3, 1), 0.2, 2.0)), {}), "homoscedastic_1"),
    fc("gaussian_nll_loss", lambda rng: ((_n(rng, (3, 4)), _n(rng, (3, 4)), 0.5), {}),
       "float_var"),
    fc("gaussian_nll_loss", lambda rng: ((_n(rng, (3, 4)), _n(rng, (3, 4)),
                                          np.array([[1e-8, 0.5, 1.0, 2.0]] * 3, np.float32)),
                                         dict(eps=1e-3)), "var_clamped"),
    fc("gaussian_nll_loss", lambda rng: ((_n(rng, (3, 4), np.float64), _n(rng, (3, 4), np.float64),
                                          _u(rng, (3, 4), 0.2, 2.0, np.float64)), {}),
       "float64", **F64),
    fc("kl_div", lambda rng: ((np.log(_probs(rng, (4, 5))), _probs(rng, (4, 5))),
                              dict(reduction="batchmean")), "batchmean"),
    fc("kl_div", lambda rng: ((np.log(_probs(rng, (4, 5), dtype=np.float64)),
                               np.log(_probs(rng, (4, 5), dtype=np.float64))),
                              dict(reduction="batchmean", log_target=True)),
       "batchmean_log_target_float64", **F64),
    fc("binary_cross_entropy", lambda rng: ((_u(rng, (3, 4), 0.05, 0.95), _u(rng, (3, 4))),
                                            dict(weight=_u(rng, (3, 4), 0.1))), "weight",
       nondiff=("weight",)),
    fc("binary_cross_entropy", lambda rng: ((_u(rng, (3, 4), 0.05, 0.95), _u(rng, (3, 4))),
                                            dict(weight=_u(rng, (4,), 0.1))),
       "weight_broadcast", nondiff=("weight",)),
    fc("binary_cross_entropy", lambda rng: ((np.array([0.0, 1.0, 0.5], np.float32),
                                             np.array([1.0, 0.0, 0.5], np.float32)), {}),
       "log_clamp"),
    fc("binary_cross_entropy", lambda rng: ((_u(rng, (3, 4), 0.05, 0.95, np.float64),
                                             _u(rng, (3, 4), dtype=np.float64)), {}),
       "float64", **F64),
    fc("binary_cross_entropy_with_logits",
       lambda rng: ((_n(rng, (3, 4)), _u(rng, (3, 4))),
                    dict(weight=_u(rng, (3, 4), 0.1), pos_weight=_u(rng, (4,), 0.5, 3.0))),
       "weight_pos_weight", nondiff=("weight", "pos_weight")),
    fc("binary_cross_entropy_with_logits",
       lambda rng: ((5 * _n(rng, (2, 3, 4)), _u(rng, (2, 3, 4))),
                    dict(pos_weight=_u(rng, (3, 1), 0.5, 3.0), reduction="none")),
       "pos_weight_broadcast", nondiff=("pos_weight",)),
    fc("binary_cross_entropy_with_logits",
       lambda rng: ((_n(rng, (3, 4), np.float64), _u(rng, (3, 4), dtype=np.float64)), {}),
       "float64", **F64),
    fc("multilabel_soft_margin_loss",
       lambda rng: ((_n(rng, (3, 4)), (rng.random((3, 4)) < 0.5).astype(np.float32)),
                    dict(weight=_u(rng, (4,), 0.1))), "weight"),
    fc("multilabel_soft_margin_loss",
       lambda rng: ((_n(rng, (4,), np.float64), (rng.random(4) < 0.5).astype(np.float64)), {}),
       "unbatched_float64", **F64),
    fc("hinge_embedding_loss", lambda rng: ((_n(rng, (3, 4), np.float64),
                                             _sign(rng, (3, 4), np.float64)), {}),
       "float64", **F64),
    fc("soft_margin_loss", lambda rng: ((_n(rng, (3, 4), np.float64),
                                         _sign(rng, (3, 4), np.float64)), {}),
       "float64", nondiff=(1,), **F64),
    fc("margin_ranking_loss", lambda rng: ((_n(rng, (6,), np.float64), _n(rng, (6,), np.float64),
                                            _sign(rng, (6,), np.float64)), {}), "float64", **F64),
    fc("cosine_embedding_loss", lambda rng: ((_n(rng, (4,)), _n(rng, (4,)),
                                              np.array(-1, np.int64)), dict(margin=-0.5)),
       "unbatched"),
    fc("cosine_embedding_loss", lambda rng: ((_n(rng, (5, 4), np.float64),
                                              _n(rng, (5, 4), np.float64),
                                              _sign(rng, (5,), np.int64)), {}), "float64", **F64),
    fc("triplet_margin_loss", lambda rng: ((_n(rng, (5, 4)), _n(rng, (5, 4)), _n(rng, (5, 4))),
                                           dict(p=1, swap=True, margin=2.0)), "p1_swap"),
    fc("triplet_margin_loss", lambda rng: ((_n(rng, (4,)), _n(rng, (4,)), _n(rng, (4,))),
                                           dict(p=3.0, eps=1e-3)), "unbatched_p3"),
    fc("triplet_margin_loss", lambda rng: ((_n(rng, (5, 4), np.float64),
                                            _n(rng, (5, 4), np.float64),
                                            _n(rng, (5, 4), np.float64)), dict(swap=True)),
       "float64", **F64),
    fc("triplet_margin_with_distance_loss",
       lambda rng: ((_n(rng, (5, 4)), _n(rng, (5, 4)), _n(rng, (5, 4))),
                    dict(distance_function=lambda x, y: abs(x - y).sum(-1), margin=0.5,
                         swap=True)), "custom_distance_swap"),
    fc("multi_margin_loss", lambda rng: ((_n(rng, (5, 4)), _cls(rng, (5,), 4)),
                                         dict(p=2, margin=0.7, weight=_u(rng, (4,), 0.1))),
       "p2_weight", nondiff=("weight",)),
    fc("multi_margin_loss", lambda rng: ((_n(rng, (4,)), np.array(2, np.int64)), {}),
       "unbatched"),
    fc("multi_margin_loss", lambda rng: ((_n(rng, (5, 4), np.float64), _cls(rng, (5,), 4)),
                                         dict(reduction="none")), "float64", **F64),
    fc("multilabel_margin_loss", lambda rng: ((_n(rng, (4,)), np.array([2, 1, -1, 0], np.int64)),
                                              dict(reduction="none")), "unbatched"),
    fc("multilabel_margin_loss", lambda rng: ((_n(rng, (2, 4), np.float64),
                                               np.array([[0, 1, 2, 3], [-1, 0, 0, 0]], np.int64)),
                                              {}), "float64_all_and_none", **F64),
]

# -- cross entropy / nll ----------------------------------------------------------------------


def _ce(shape, C, ignore=None, weight=False, ls=0.0, reduction="mean", dtype=np.float32,
        target_shape=None):
    def make(rng):
        x = _n(rng, shape, dtype)
        ts = target_shape if target_shape is not None else (shape[:1] + shape[2:]
                                                            if len(shape) > 1 else ())
        kw = dict(reduction=reduction)
        t = _cls(rng, ts, C, ignore)
        if ignore is not None:
            kw["ignore_index"] = ignore
        if weight:
            kw["weight"] = _u(rng, (C,), 0.2, 2.0, dtype)
        if ls:
            kw["label_smoothing"] = ls
        return (x, t), kw
    return make


def _ce_prob(shape, weight=False, ls=0.0, reduction="mean", dtype=np.float32):
    def make(rng):
        C = shape[0] if len(shape) == 1 else shape[1]
        x = _n(rng, shape, dtype)
        t = _probs(rng, shape, axis=0 if len(shape) == 1 else 1, dtype=dtype)
        kw = dict(reduction=reduction)
        if weight:
            kw["weight"] = _u(rng, (C,), 0.2, 2.0, dtype)
        if ls:
            kw["label_smoothing"] = ls
        return (x, t), kw
    return make


def _log_softmax_input(make):
    def wrapped(rng):
        (x, t), kw = make(rng)
        axis = 0 if x.ndim == 1 else 1
        x = x - np.log(np.exp(x).sum(axis=axis, keepdims=True))
        return (x.astype(x.dtype), t), kw
    return wrapped


for r in REDUCTIONS:
    FUNCTION_CASES += [
        fc("cross_entropy", _ce((4, 5), 5, reduction=r), r),
        fc("cross_entropy", _ce((6, 5), 5, ignore=2, weight=True, reduction=r),
           f"{r}-weight-ignore",
           nondiff=("weight",)),
        fc("cross_entropy", _ce((6, 5), 5, ignore=-100, weight=True, ls=0.2, reduction=r),
           f"{r}-weight-ignore-smoothing", nondiff=("weight",)),
        fc("cross_entropy", _ce((6, 5), 5, ls=0.1, reduction=r), f"{r}-smoothing"),
        fc("cross_entropy", _ce((2, 4, 3, 5), 4, ignore=1, weight=True, ls=0.3, reduction=r),
           f"{r}-kdim-all", nondiff=("weight",)),
        fc("cross_entropy", _ce_prob((4, 5), weight=True, ls=0.25, reduction=r),
           f"{r}-probs-weight-smoothing", nondiff=("weight",)),
        fc("cross_entropy", _ce_prob((2, 3, 4, 2), reduction=r), f"{r}-probs-kdim"),
        fc("nll_loss", _log_softmax_input(_ce((6, 5), 5, ignore=0, weight=True, reduction=r)),
           f"{r}-weight-ignore", nondiff=("weight",)),
        fc("nll_loss", _log_softmax_input(_ce((2, 3, 4), 3, reduction=r)), f"{r}-kdim"),
    ]

FUNCTION_CASES += [
    fc("cross_entropy", _ce((5,), 5), "unbatched"),
    fc("cross_entropy", _ce((5,), 5, weight=True, ls=0.1), "unbatched_weight_smoothing",
       nondiff=("weight",)),
    fc("cross_entropy", _ce_prob((5,), ls=0.1), "unbatched_probs"),
    fc("cross_entropy", _ce((2, 3, 2, 2, 2), 3, ignore=0), "3d_spatial"),
    fc("cross_entropy", _ce((6, 5), 5, ignore=2, weight=True, ls=0.2, dtype=np.float64),
       "float64_all", nondiff=("weight",), **F64),
    fc("cross_entropy", _ce_prob((4, 5), weight=True, ls=0.2, dtype=np.float64),
       "float64_probs", nondiff=("weight",), **F64),
    fc("cross_entropy", _ce((4, 5), 5, reduction="sum"), "legacy_size_average",
       jnn_fn=lambda x, t, **kw: F.cross_entropy(x, t, size_average=False),
       torch_fn=lambda x, t, **kw: torch.nn.functional.cross_entropy(x, t, size_average=False)),
    fc("cross_entropy", lambda rng: ((_n(rng, (4, 5)), rng.integers(0, 5, 4).astype(np.int32)),
                                     dict(label_smoothing=0.1)), "int32_targets",
       torch_fn=lambda x, t, **kw: torch.nn.functional.cross_entropy(x, t.long(), **kw)),
    fc("cross_entropy", lambda rng: ((_n(rng, (3, 4)), np.full(3, -100, np.int64)), {}),
       "all_ignored_nan"),
    fc("nll_loss", _log_softmax_input(_ce((5,), 5)), "unbatched"),
    fc("nll_loss", _log_softmax_input(_ce((6, 5), 5, ignore=3, weight=True, dtype=np.float64)),
       "float64", nondiff=("weight",), **F64),
    fc("nll_loss", lambda rng: ((_n(rng, (4, 5)), rng.integers(0, 5, 4).astype(np.int32)), {}),
       "int32_targets",
       torch_fn=lambda x, t, **kw: torch.nn.functional.nll_loss(x, t.long(), **kw)),
]

# -- CTC --------------------------------------------------------------------------------------


def _ctc(T=12, N=3, C=5, S=4, tl=(4, 2, 3), il=(12, 10, 11), reduction="mean", concat=False,
         blank=0, zero_infinity=False, dtype=np.float32, unbatched=False):
    def make(rng):
        x = _n(rng, (T, C) if unbatched else (T, N, C), dtype)
        labels = [c for c in range(C) if c != blank]
        tgt = rng.choice(labels, size=(N, S)).astype(np.int64)
        lens = np.array(tl, np.int64)
        if unbatched:
            return (x, tgt[0], np.array(il[0], np.int64), np.array(tl[0], np.int64)), \
                dict(reduction=reduction, blank=blank, zero_infinity=zero_infinity)
        if concat:
            tgt = np.concatenate([tgt[i, :lens[i]] for i in range(N)])
        return (x, tgt, np.array(il, np.int64), lens), \
            dict(reduction=reduction, blank=blank, zero_infinity=zero_infinity)
    return make


def _ctc_torch(x, *args, **kw):
    return torch.nn.functional.ctc_loss(torch.log_softmax(x, -1), *args, **kw)


def _ctc_jnn(x, *args, **kw):
    import jax
    return F.ctc_loss(jax.nn.log_softmax(x, -1), *args, **kw)


for r in REDUCTIONS:
    FUNCTION_CASES.append(fc("ctc_loss", _ctc(reduction=r), r, torch_fn=_ctc_torch,
                             jnn_fn=_ctc_jnn))
FUNCTION_CASES += [
    fc("ctc_loss", _ctc(concat=True), "concatenated_targets", torch_fn=_ctc_torch,
       jnn_fn=_ctc_jnn),
    fc("ctc_loss", _ctc(blank=4, tl=(4, 0, 1)), "blank4_empty_target", torch_fn=_ctc_torch,
       jnn_fn=_ctc_jnn),
    fc("ctc_loss", _ctc(T=20, N=2, C=4, S=5, tl=(5, 3), il=(20, 15), reduction="none",
                        dtype=np.float64), "float64", torch_fn=_ctc_torch, jnn_fn=_ctc_jnn, **F64),
    fc("ctc_loss", _ctc(T=4, N=2, C=4, S=5, tl=(5, 2), il=(4, 4), reduction="none",
                        zero_infinity=True), "zero_infinity", torch_fn=_ctc_torch,
       jnn_fn=_ctc_jnn),
    fc("ctc_loss", _ctc(T=4, N=2, C=4, S=5, tl=(5, 2), il=(4, 4), reduction="none"),
       "impossible_inf", grad=False),
    fc("ctc_loss", _ctc(unbatched=True, reduction="sum"), "unbatched", torch_fn=_ctc_torch,
       jnn_fn=_ctc_jnn),
]


# -- layers -----------------------------------------------------------------------------------

def _pair(make_x, make_t):
    return lambda rng: (make_x(rng), make_t(rng))


def _w(C, lo=0.2, hi=2.0, seed=1):
    return np.random.default_rng(seed).uniform(lo, hi, C).astype(np.float32)


def _weighted(name, args=(), weight=None, dtype="float32", **kw):
    """A ModuleCase whose class weights go in as numpy (jnn) and as a tensor (torch)."""
    extra = {k: v for k, v in kw.items() if k in ("inputs", "input_shapes", "desc", "rtol",
                                                   "atol", "grad")}
    ctor = {k: v for k, v in kw.items() if k not in extra}
    j_kw, t_kw = dict(ctor), dict(ctor)
    for key, value in (weight or {}).items():
        j_kw[key] = value
        t_kw[key] = torch.from_numpy(value)
    return ModuleCase(name, args, j_kw, torch_kwargs=t_kw, dtype=dtype, **extra)


_x_t = _pair(lambda rng: _n(rng, (3, 4)), lambda rng: _n(rng, (3, 4)))
_logit_idx = _pair(lambda rng: _n(rng, (5, 4)), lambda rng: _cls(rng, (5,), 4))

MODULE_CASES = []
for r in REDUCTIONS:
    MODULE_CASES += [
        ModuleCase("L1Loss", kwargs=dict(reduction=r), inputs=_x_t, desc=r),
        ModuleCase("MSELoss", kwargs=dict(reduction=r), inputs=_x_t, desc=r),
        ModuleCase("CrossEntropyLoss", kwargs=dict(reduction=r), inputs=_logit_idx, desc=r),
        ModuleCase("NLLLoss", kwargs=dict(reduction=r), inputs=_logit_idx, desc=r),
        ModuleCase("SmoothL1Loss", kwargs=dict(reduction=r, beta=0.4), inputs=_x_t, desc=r),
        ModuleCase("HuberLoss", kwargs=dict(reduction=r, delta=0.6), inputs=_x_t, desc=r),
    ]

MODULE_CASES += [
    ModuleCase("L1Loss", kwargs=dict(size_average=False), inputs=_x_t, desc="legacy"),
    ModuleCase("MSELoss", kwargs=dict(reduce=False), inputs=_x_t, desc="legacy"),
    ModuleCase("MSELoss", inputs=_x_t, dtype="float64", desc="float64", **F64),
    # the seed's example: scores (3, 2), labels [1, 0, 1]
    ModuleCase("CrossEntropyLoss", inputs=lambda rng: (_n(rng, (3, 2)),
                                                       np.array([1, 0, 1], np.int64)),
               desc="seed"),
    _weighted("CrossEntropyLoss", weight=dict(weight=_w(4)), ignore_index=1,
              label_smoothing=0.1, inputs=_pair(lambda rng: _n(rng, (2, 4, 3)),
                                                lambda rng: _cls(rng, (2, 3), 4)),
              desc="weight_ignore_smoothing_kdim"),
    _weighted("CrossEntropyLoss", weight=dict(weight=_w(4).astype(np.float64)),
              label_smoothing=0.2, dtype="float64",
              inputs=lambda rng: (_n(rng, (5, 4), np.float64), _probs(rng, (5, 4),
                                                                     dtype=np.float64)),
              desc="probs_float64", **F64),
    _weighted("NLLLoss", weight=dict(weight=_w(4)), ignore_index=0, inputs=_logit_idx,
              desc="weight_ignore"),
    ModuleCase("NLLLoss2d", inputs=_pair(lambda rng: _n(rng, (2, 3, 4, 4)),
                                         lambda rng: _cls(rng, (2, 4, 4), 3))),
    ModuleCase("PoissonNLLLoss", inputs=_pair(lambda rng: _n(rng, (3, 4)),
                                              lambda rng: rng.poisson(2., (3, 4)).astype(
                                                  np.float32))),
    ModuleCase("PoissonNLLLoss", kwargs=dict(log_input=False, full=True, eps=1e-4,
                                             reduction="sum"),
               inputs=_pair(lambda rng: _u(rng, (3, 4), 0.1, 3.0),
                            lambda rng: rng.poisson(3., (3, 4)).astype(np.float32)),
               desc="full"),
    ModuleCase("GaussianNLLLoss", inputs=lambda rng: (_n(rng, (3, 4)), _n(rng, (3, 4)),
                                                      _u(rng, (3, 4), 0.2, 2.0))),
    ModuleCase("GaussianNLLLoss", kwargs=dict(full=True, eps=1e-3, reduction="none"),
               inputs=lambda rng: (_n(rng, (3, 4)), _n(rng, (3, 4)), _u(rng, (3,), 0.2, 2.0)),
               desc="full_short_var"),
    ModuleCase("KLDivLoss", inputs=lambda rng: (np.log(_probs(rng, (3, 5))), _probs(rng, (3, 5)))),
    ModuleCase("KLDivLoss", kwargs=dict(reduction="batchmean", log_target=True),
               inputs=lambda rng: (np.log(_probs(rng, (3, 5))), np.log(_probs(rng, (3, 5)))),
               desc="batchmean_log_target"),
    ModuleCase("BCELoss", inputs=_pair(lambda rng: _u(rng, (3, 4), 0.05, 0.95),
                                       lambda rng: _u(rng, (3, 4)))),
    _weighted("BCELoss", weight=dict(weight=_w(4)), reduction="sum",
              inputs=_pair(lambda rng: _u(rng, (3, 4), 0.05, 0.95), lambda rng: _u(rng, (3, 4))),
              desc="weight"),
    ModuleCase("BCEWithLogitsLoss", inputs=_pair(lambda rng: _n(rng, (3, 4)),
                                                 lambda rng: _u(rng, (3, 4)))),
    _weighted("BCEWithLogitsLoss", weight=dict(weight=_w(4), pos_weight=_w(4, 0.5, 3.0, 2)),
              inputs=_pair(lambda rng: _n(rng, (3, 4)), lambda rng: _u(rng, (3, 4))),
              desc="weight_pos_weight"),
    _weighted("BCEWithLogitsLoss", weight=dict(pos_weight=_w(4, 0.5, 3.0, 2).astype(np.float64)),
              dtype="float64", inputs=lambda rng: (_n(rng, (3, 4), np.float64),
                                                   _u(rng, (3, 4), dtype=np.float64)),
              desc="float64", **F64),
    ModuleCase("HingeEmbeddingLoss", kwargs=dict(margin=0.5),
               inputs=_pair(lambda rng: _n(rng, (3, 4)), lambda rng: _sign(rng, (3, 4)))),
    ModuleCase("MultiLabelMarginLoss",
               inputs=lambda rng: (_n(rng, (2, 4)), np.array([[3, 0, -1, 1], [1, 2, 0, 3]],
                                                             np.int64))),
    ModuleCase("SoftMarginLoss", inputs=_pair(lambda rng: _n(rng, (3, 4)),
                                              lambda rng: _sign(rng, (3, 4), np.int64)),
               desc="int_target"),
    ModuleCase("MultiLabelSoftMarginLoss",
               inputs=_pair(lambda rng: _n(rng, (3, 4)),
                            lambda rng: (rng.random((3, 4)) < 0.5).astype(np.float32))),
    _weighted("MultiLabelSoftMarginLoss", weight=dict(weight=_w(4)), reduction="none",
              inputs=_pair(lambda rng: _n(rng, (3, 4)),
                           lambda rng: (rng.random((3, 4)) < 0.5).astype(np.float32)),
              desc="weight"),
    ModuleCase("CosineEmbeddingLoss", kwargs=dict(margin=0.1),
               inputs=lambda rng: (_n(rng, (5, 3)), _n(rng, (5, 3)), _sign(rng, (5,), np.int64))),
    ModuleCase("MarginRankingLoss", kwargs=dict(margin=0.2),
               inputs=lambda rng: (_n(rng, (5,)), _n(rng, (5,)), _sign(rng, (5,)))),
    ModuleCase("MultiMarginLoss", inputs=_logit_idx),
    _weighted("MultiMarginLoss", weight=dict(weight=_w(4)), p=2, margin=0.5, reduction="sum",
              inputs=_logit_idx, desc="p2_weight"),
    ModuleCase("TripletMarginLoss", inputs=lambda rng: (_n(rng, (5, 3)), _n(rng, (5, 3)),
                                                        _n(rng, (5, 3)))),
    ModuleCase("TripletMarginLoss", kwargs=dict(margin=0.5, p=1.0, swap=True, reduction="none"),
               inputs=lambda rng: (_n(rng, (5, 3)), _n(rng, (5, 3)), _n(rng, (5, 3))),
               desc="p1_swap"),
    ModuleCase("TripletMarginWithDistanceLoss",
               inputs=lambda rng: (_n(rng, (5, 3)), _n(rng, (5, 3)), _n(rng, (5, 3)))),
    ModuleCase("TripletMarginWithDistanceLoss",
               kwargs=dict(distance_function=lambda x, y: ((x - y) ** 2).sum(-1), margin=2.0,
                           swap=True), check_repr=False,
               inputs=lambda rng: (_n(rng, (5, 3)), _n(rng, (5, 3)), _n(rng, (5, 3))),
               desc="custom_distance"),
    # CTC gradients w.r.t. log_probs differ from torch's by design (see F.ctc_loss); the
    # gradient is compared through log_softmax in the ctc_loss function cases.
    ModuleCase("CTCLoss", inputs=lambda rng: _ctc()(rng)[0], grad=False),
    ModuleCase("CTCLoss", (2, "sum", True), inputs=lambda rng: _ctc(blank=2, T=4, tl=(4, 4, 1),
                                                                     il=(4, 3, 4))(rng)[0],
               grad=False, desc="blank_zero_infinity"),
]




ERROR_CASES = [
    ErrorCase("mse_loss", lambda: F.mse_loss(jnp.ones((3, 4)), jnp.ones((3, 5))), ValueError,
              r"mse_loss: input shape \(3, 4\) and target shape \(3, 5\) do not match"),
    ErrorCase("l1_loss", lambda: F.l1_loss(jnp.ones(3), jnp.ones(3), reduction="avg"),
              ValueError, r"reduction: expected 'none', 'mean' or 'sum', got 'avg'"),
    ErrorCase("MSELoss", lambda: nn.MSELoss(reduction="avg")(jnp.ones(3), jnp.ones(3)),
              ValueError, r"got 'avg'"),
    ErrorCase("cross_entropy", lambda: F.cross_entropy(jnp.ones((3, 4)), jnp.array([0, 4, 1])),
              ValueError, r"target 4 is out of bounds.*\[0, 4\)"),
    ErrorCase("CrossEntropyLoss", lambda: nn.CrossEntropyLoss()(jnp.ones((3, 4)),
                                                                jnp.array([0, 1])),
              ValueError, r"expected target of shape \(3,\).*got \(2,\)"),
    ErrorCase("cross_entropy", lambda: F.cross_entropy(jnp.ones((3, 4)), jnp.array([0, 1, 1]),
                                                       weight=jnp.ones(3)),
              ValueError, r"weight of shape \(4,\).*got shape \(3,\)"),
    ErrorCase("cross_entropy", lambda: F.cross_entropy(jnp.ones((3, 4)), jnp.ones((3, 4)),
                                                       ignore_index=1),
              ValueError, r"ignore_index is not supported"),
    ErrorCase("cross_entropy", lambda: F.cross_entropy(jnp.ones((3, 4)), jnp.ones((3,))),
              TypeError, r"integer target"),
    ErrorCase("cross_entropy", lambda: F.cross_entropy(jnp.ones((3, 4)), jnp.array([0, 1, 1]),
                                                       label_smoothing=1.5),
              ValueError, r"label_smoothing must be between 0.0 and 1.0"),
    ErrorCase("nll_loss", lambda: F.nll_loss(jnp.ones((3, 4)), jnp.array([0, -1, 1])),
              ValueError, r"target -1 is out of bounds"),
    ErrorCase("nll_loss", lambda: F.nll_loss(jnp.ones(()), jnp.array(0)), ValueError,
              r"1 or more dimensions"),
    ErrorCase("binary_cross_entropy", lambda: F.binary_cross_entropy(jnp.full((3,), .5),
                                                                     jnp.ones((3, 1))),
              ValueError, r"input shape \(3,\) and target shape \(3, 1\) do not match"),
    ErrorCase("binary_cross_entropy_with_logits",
              lambda: F.binary_cross_entropy_with_logits(jnp.ones(3), jnp.ones(4)), ValueError,
              r"do not match"),
    ErrorCase("huber_loss", lambda: F.huber_loss(jnp.ones(3), jnp.ones(3), delta=0.0),
              ValueError, r"positive delta"),
    ErrorCase("HuberLoss", lambda: nn.HuberLoss(delta="1"), TypeError, r"delta must be"),
    ErrorCase("smooth_l1_loss", lambda: F.smooth_l1_loss(jnp.ones(3), jnp.ones(3), beta=-1.0),
              ValueError, r"non-negative beta"),
    ErrorCase("gaussian_nll_loss", lambda: F.gaussian_nll_loss(jnp.ones((3, 4)), jnp.ones((3, 4)),
                                                               jnp.ones((2, 4))),
              ValueError, r"var is of incorrect size"),
    ErrorCase("gaussian_nll_loss", lambda: F.gaussian_nll_loss(jnp.ones(3), jnp.ones(3),
                                                               -jnp.ones(3)),
              ValueError, r"negative"),
    ErrorCase("kl_div", lambda: F.kl_div(jnp.ones(3), jnp.ones(3), reduction="avg"),
              ValueError, r"'batchmean'"),
    ErrorCase("multi_margin_loss", lambda: F.multi_margin_loss(jnp.ones((2, 3)), jnp.array([0, 1]),
                                                               p=3), ValueError,
              r"only p == 1 and p == 2"),
    ErrorCase("MultiMarginLoss", lambda: nn.MultiMarginLoss(weight=jnp.ones((2, 2))), ValueError,
              r"one-dimensional"),
    ErrorCase("multilabel_margin_loss",
              lambda: F.multilabel_margin_loss(jnp.ones((2, 3)), jnp.array([[0, 5, -1]] * 2)),
              ValueError, r"target 5 is out of bounds"),
    ErrorCase("margin_ranking_loss",
              lambda: F.margin_ranking_loss(jnp.ones(3), jnp.ones(3), jnp.ones((3, 1))),
              ValueError, r"same number of dimensions"),
    ErrorCase("cosine_embedding_loss",
              lambda: F.cosine_embedding_loss(jnp.ones((3, 4)), jnp.ones((3, 5)), jnp.ones(3)),
              ValueError, r"input1 shape \(3, 4\) and input2 shape \(3, 5\)"),
    ErrorCase("triplet_margin_loss",
              lambda: F.triplet_margin_loss(jnp.ones((3, 4)), jnp.ones((3, 4)), jnp.ones(4)),
              ValueError, r"anchor 2D, positive 2D, and negative 1D"),
    ErrorCase("TripletMarginLoss", lambda: nn.TripletMarginLoss(margin=0.0), ValueError,
              r"margin to be greater than 0"),
    ErrorCase("triplet_margin_with_distance_loss",
              lambda: F.triplet_margin_with_distance_loss(jnp.ones(3), jnp.ones(3), jnp.ones(3),
                                                          margin=-1.0),
              ValueError, r"margin must be greater than 0"),
    ErrorCase("ctc_loss", lambda: F.ctc_loss(jnp.zeros((5, 2, 4)), jnp.ones((2, 3), int),
                                             jnp.array([6, 5]), jnp.array([3, 3])),
              ValueError, r"input_lengths must be in \[0, 5\]"),
    ErrorCase("ctc_loss", lambda: F.ctc_loss(jnp.zeros((5, 2, 4)), jnp.zeros((2, 3), int),
                                             jnp.array([5, 5]), jnp.array([3, 3])),
              ValueError, r"other than blank=0"),
    ErrorCase("ctc_loss", lambda: F.ctc_loss(jnp.zeros((5, 4)), jnp.ones((2, 3), int),
                                             jnp.array(5), jnp.array(3)),
              ValueError, r"unbatched"),
    ErrorCase("CTCLoss", lambda: nn.CTCLoss(blank=7)(jnp.zeros((5, 2, 4)), jnp.ones((2, 3), int),
                                                     jnp.array([5, 5]), jnp.array([3, 3])),
              ValueError, r"blank must be in \[0, 4\)"),
]

# 0-d input (torch's op_db samples): one sample of one class.
FUNCTION_CASES += [
    FunctionCase("multi_margin_loss", lambda rng: ((np.array(0.3, np.float32), np.array(0)), {}),
                 desc="0d"),
    FunctionCase("multilabel_margin_loss", lambda rng: ((np.array(0.3, np.float32),
                                                         np.array(0)), {}), desc="0d"),
]
