"""Parity cases for Embedding, EmbeddingBag, AdaptiveLogSoftmaxWithLoss and their kernels
(embedding, embedding_bag, one_hot)."""
import jax.numpy as jnp
import numpy as np
import torch

import jnn as nn
import jnn.functional as F
from harness import ErrorCase, FunctionCase, ModuleCase

F64 = dict(rtol=1e-9, atol=1e-11)


def _n(rng, shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


def _idx(rng, shape, hi=10, dtype=np.int64):
    return rng.integers(0, hi, shape).astype(dtype)


def _i(values, dtype=np.int64):
    return np.array(values, dtype)


_W = np.random.default_rng(7).standard_normal((6, 4)).astype(np.float32)

MODULE_CASES = [
    ModuleCase("Embedding", (10, 3), inputs=lambda rng: (_idx(rng, (2, 4)),)),
    ModuleCase("Embedding", (10, 3), dict(padding_idx=1),
               inputs=lambda rng: (_i([[1, 2, 1, 5], [0, 1, 9, 9]]),), desc="padding_idx"),
    ModuleCase("Embedding", (10, 3), dict(padding_idx=-2),
               inputs=lambda rng: (_i([8, 2, 8, 5]),), desc="negative_padding_idx"),
    ModuleCase("Embedding", (10, 3), dict(max_norm=1.0),
               inputs=lambda rng: (_i([[1, 2, 1], [4, 2, 7]]),), desc="max_norm"),
    ModuleCase("Embedding", (10, 3), dict(max_norm=0.5, norm_type=1.0, padding_idx=0),
               inputs=lambda rng: (_i([0, 2, 3, 3]),), desc="max_norm_l1"),
    ModuleCase("Embedding", (10, 3), dict(scale_grad_by_freq=True),
               inputs=lambda rng: (_i([[1, 2, 1, 1], [4, 2, 7, 1]]),), desc="scale_grad_by_freq"),
    ModuleCase("Embedding", (10, 3), dict(scale_grad_by_freq=True, padding_idx=2),
               inputs=lambda rng: (_i([1, 2, 1, 2, 2]),), desc="freq_padding"),
    # torch's sparse gradient is a sparse tensor; jnn's is dense (documented), so forward only.
    ModuleCase("Embedding", (10, 3), dict(sparse=True), inputs=lambda rng: (_i([1, 2, 1]),),
               desc="sparse", grad=False),
    ModuleCase("Embedding", (10, 3), inputs=lambda rng: (_i(4),), desc="scalar_index"),
    ModuleCase("Embedding", (6, 4), dict(_weight=_W, _freeze=True),
               torch_kwargs=dict(_weight=torch.from_numpy(_W.copy()), _freeze=True),
               inputs=lambda rng: (_idx(rng, (3,), 6),), desc="weight_freeze"),
    ModuleCase("Embedding", (10, 3), dict(padding_idx=3, max_norm=1.5),
               inputs=lambda rng: (_i([[3, 2, 1], [4, 2, 7]]),), dtype="float64",
               desc="float64", **F64),
    ModuleCase("EmbeddingBag", (10, 3), inputs=lambda rng: (_idx(rng, (2, 4)),)),
    ModuleCase("EmbeddingBag", (10, 3), dict(mode="sum"),
               inputs=lambda rng: (_i([1, 2, 4, 5, 4, 3, 2, 9]), _i([0, 4])), desc="sum_offsets"),
    ModuleCase("EmbeddingBag", (10, 3), dict(mode="max"),
               inputs=lambda rng: (_i([1, 2, 4, 5, 4, 3, 2, 9]), _i([0, 3, 3, 6])),
               desc="max_empty_bag"),
    ModuleCase("EmbeddingBag", (10, 3), dict(mode="mean", include_last_offset=True),
               inputs=lambda rng: (_i([1, 2, 4, 5, 4, 3, 2, 9]), _i([0, 2, 2, 8])),
               desc="include_last_offset"),
    ModuleCase("EmbeddingBag", (10, 3), dict(mode="sum"),
               inputs=lambda rng: (_i([1, 2, 4, 5, 4, 3]), _i([0, 2]), _n(rng, (6,))),
               desc="per_sample_weights"),
    ModuleCase("EmbeddingBag", (10, 3), dict(padding_idx=2),
               inputs=lambda rng: (_i([[2, 2, 2], [1, 2, 3], [4, 4, 2]]),), desc="padding_idx"),
    ModuleCase("EmbeddingBag", (10, 3), dict(mode="max", padding_idx=-1),
               inputs=lambda rng: (_i([9, 9, 1, 2, 9, 3]), _i([0, 2, 4])),
               desc="max_padding_idx"),
    ModuleCase("EmbeddingBag", (10, 3), dict(max_norm=1.0, mode="sum"),
               inputs=lambda rng: (_i([[1, 1, 2], [1, 3, 3]]),), desc="max_norm"),
    ModuleCase("EmbeddingBag", (10, 3), dict(mode="sum", padding_idx=0),
               inputs=lambda rng: (_i([1, 0, 4, 5, 0, 3]), _i([0, 1, 3]),
                                   _n(rng, (6,), np.float64)),
               dtype="float64", desc="float64_psw_padding", **F64),
    ModuleCase("AdaptiveLogSoftmaxWithLoss", (16, 20, [5, 10]),
               inputs=lambda rng: (_n(rng, (8, 16)), _i([0, 4, 5, 9, 10, 19, 12, 3]))),
    ModuleCase("AdaptiveLogSoftmaxWithLoss", (12, 30, [4, 11, 20]),
               dict(div_value=2.0, head_bias=True),
               inputs=lambda rng: (_n(rng, (6, 12)), _i([0, 29, 11, 5, 20, 1])),
               desc="head_bias_div2"),
    ModuleCase("AdaptiveLogSoftmaxWithLoss", (8, 10, [3]),
               inputs=lambda rng: (_n(rng, (8,)), _i(7)), desc="unbatched"),
    ModuleCase("AdaptiveLogSoftmaxWithLoss", (8, 10, [3, 6]),
               inputs=lambda rng: (_n(rng, (5, 8), np.float64), _i([0, 3, 6, 9, 2])),
               dtype="float64", desc="float64", **F64),
]


def _asm_method(method):
    """Compare AdaptiveLogSoftmaxWithLoss.log_prob / predict with torch (same weights)."""
    def torch_fn(x, head, t0a, t0b, t1a, t1b):
        torch.manual_seed(0)
        m = torch.nn.AdaptiveLogSoftmaxWithLoss(8, 12, [4, 8], div_value=2.0).to(x.dtype)
        for mod, v in zip((m.head, m.tail[0][0], m.tail[0][1], m.tail[1][0], m.tail[1][1]),
                          (head, t0a, t0b, t1a, t1b)):
            del mod.weight
            mod.weight = v  # a plain tensor, so gradients reach the inputs
        return getattr(m, method)(x)

    cache = []

    def jnn_fn(x, head, t0a, t0b, t1a, t1b):
        if not cache:  # built on the first (eager) call: construction draws random numbers
            cache.append(nn.AdaptiveLogSoftmaxWithLoss(8, 12, [4, 8], div_value=2.0))
        m = cache[0]
        saved = [p.data for p in m.parameters()]
        try:
            for p, v in zip(m.parameters(), (head, t0a, t0b, t1a, t1b)):
                p.data = v
            return getattr(m, method)(x)
        finally:
            for p, v in zip(m.parameters(), saved):
                p.data = v

    def inputs(rng):
        return ((_n(rng, (5, 8)), _n(rng, (6, 8)), _n(rng, (4, 8)), _n(rng, (4, 4)),
                 _n(rng, (2, 8)), _n(rng, (4, 2))), {})
    return dict(torch_fn=torch_fn, jnn_fn=jnn_fn, inputs=inputs)


def _from_pretrained_torch(w, x):
    m = torch.nn.Embedding.from_pretrained(w)
    assert repr(m) == "Embedding(4, 5)" and not m.weight.requires_grad
    return m(x)


def _from_pretrained_jnn(w, x):
    m = nn.Embedding.from_pretrained(w)
    assert repr(m) == "Embedding(4, 5)" and not m.weight.requires_grad
    return m(x)


FUNCTION_CASES = [
    FunctionCase("embedding", lambda rng: ((_idx(rng, (2, 3)), _n(rng, (10, 4))), {})),
    FunctionCase("embedding", lambda rng: ((_i([[0, 2, 0, 5]]), _n(rng, (10, 4))),
                                           dict(padding_idx=0)), desc="padding_idx"),
    FunctionCase("embedding", lambda rng: ((_i([1, 2, 1, 3, 1]), _n(rng, (10, 4))),
                                           dict(scale_grad_by_freq=True, padding_idx=3)),
                 desc="scale_grad_by_freq"),
    FunctionCase("embedding", lambda rng: ((_i([[1, 2], [1, 5]]), 3 * _n(rng, (10, 4))),
                                           dict(max_norm=2.0)), desc="max_norm"),
    FunctionCase("embedding", lambda rng: ((_i([1, 2, 5]), 3 * _n(rng, (10, 4))),
                                           dict(max_norm=1.0, norm_type=3.0)),
                 desc="max_norm_p3"),
    FunctionCase("embedding", lambda rng: ((_idx(rng, (3,), dtype=np.int32),
                                            _n(rng, (10, 4))), {}), desc="int32_indices"),
    FunctionCase("embedding", lambda rng: ((_idx(rng, (2, 3)), _n(rng, (10, 4), np.float64)),
                                           dict(padding_idx=-1, scale_grad_by_freq=True)),
                 desc="float64", **F64),
    FunctionCase("embedding", lambda rng: ((np.arange(20, dtype=np.float32).reshape(4, 5),
                                            _i([3, 2, 1])), {}),
                 desc="seed_from_pretrained", grad=False, torch_fn=_from_pretrained_torch,
                 jnn_fn=_from_pretrained_jnn),
    FunctionCase("embedding_bag", lambda rng: ((_idx(rng, (3, 4)), _n(rng, (10, 4))), {})),
    FunctionCase("embedding_bag", lambda rng: ((_i([1, 2, 4, 5, 4, 3, 2, 9]), _n(rng, (10, 4)),
                                                _i([0, 4])), dict(mode="sum")), desc="sum"),
    FunctionCase("embedding_bag", lambda rng: ((_i([1, 2, 4, 5, 4, 3, 2, 9]), _n(rng, (10, 4)),
                                                _i([0, 0, 5, 8])),
                                               dict(mode="max", include_last_offset=True)),
                 desc="max_include_last_offset"),
    FunctionCase("embedding_bag", lambda rng: ((_i([1, 2, 4, 5, 4, 3]), _n(rng, (10, 4)),
                                                _i([0, 3])),
                                               dict(mode="sum", per_sample_weights=_n(rng, (6,)),
                                                    padding_idx=4)),
                 desc="per_sample_weights_padding"),
    FunctionCase("embedding_bag", lambda rng: ((_i([[1, 1, 2], [3, 3, 3]]), 3 * _n(rng, (10, 4))),
                                               dict(max_norm=1.0)), desc="max_norm"),
    # torch's CPU embedding_bag backward divides by the wrong counts with scale_grad_by_freq
    # (e.g. [[5, 1, 2], [4, 3, 3]] gives row 4 half a gradient); compare with the equivalent
    # embedding + bag reduction, whose torch gradient is right.
    FunctionCase("embedding_bag", lambda rng: ((_i([[5, 1, 2], [4, 3, 3], [1, 1, 0]]),
                                                _n(rng, (10, 4))),
                                               dict(scale_grad_by_freq=True, mode="sum")),
                 desc="scale_grad_by_freq",
                 torch_fn=lambda i, w, **kw: torch.nn.functional.embedding(
                     i, w, scale_grad_by_freq=True).sum(1)),
    FunctionCase("embedding_bag", lambda rng: ((_i([[5, 1, 2], [4, 3, 3], [1, 1, 0]]),
                                                _n(rng, (10, 4))),
                                               dict(scale_grad_by_freq=True, mode="mean",
                                                    padding_idx=0)),
                 desc="scale_grad_by_freq_mean_padding",
                 torch_fn=lambda i, w, **kw: ((torch.nn.functional.embedding(
                     i, w, padding_idx=0, scale_grad_by_freq=True) * (i != 0)[..., None]).sum(1)
                     / (i != 0).sum(1, keepdim=True))),
    FunctionCase("embedding_bag", lambda rng: ((_i([1, 2, 4, 5], np.int32), _n(rng, (10, 4)),
                                                _i([0, 1], np.int32)), {}),
                 desc="int32"),
    FunctionCase("embedding_bag", lambda rng: ((_i([1, 2, 4, 5, 7]), _n(rng, (10, 4), np.float64),
                                                _i([0, 2, 2])), dict(mode="mean")),
                 desc="float64_empty_bag", **F64),
    FunctionCase("one_hot", lambda rng: ((_idx(rng, (2, 3), 5),), dict(num_classes=6))),
    FunctionCase("one_hot", lambda rng: ((_i([0, 3, 1]),), {}), desc="inferred",
                 check_jit=False),
    FunctionCase("one_hot", lambda rng: ((_i([0, 3, 1], np.int32),), dict(num_classes=4)),
                 desc="int32",
                 torch_fn=lambda t, **kw: torch.nn.functional.one_hot(t.long(), **kw)),
]

ERROR_CASES = [
    ErrorCase("embedding", lambda: F.embedding(jnp.array([0, 10]), jnp.ones((10, 3))), IndexError,
              r"index 10 is out of range for a table of 10 embeddings"),
    ErrorCase("embedding", lambda: F.embedding(jnp.array([-1]), jnp.ones((10, 3))), IndexError,
              r"index -1 is out of range"),
    ErrorCase("embedding", lambda: F.embedding(jnp.array([0.0]), jnp.ones((10, 3))), TypeError,
              r"integer dtype"),
    ErrorCase("embedding", lambda: F.embedding(jnp.array([0]), jnp.ones(10)), ValueError,
              r"weight with 2 dimensions"),
    ErrorCase("Embedding", lambda: nn.Embedding(10, 3, padding_idx=10), ValueError,
              r"padding_idx must be within num_embeddings"),
    ErrorCase("Embedding", lambda: nn.Embedding(10, 3)(jnp.array([[3, 11]])), IndexError,
              r"index 11 is out of range"),
    ErrorCase("Embedding", lambda: nn.Embedding(4, 3, _weight=jnp.ones((3, 3))), ValueError,
              r"does not match"),
    ErrorCase("Embedding", lambda: nn.Embedding.from_pretrained(jnp.ones(3)), ValueError,
              r"2-dimensional"),
    ErrorCase("embedding_bag", lambda: F.embedding_bag(jnp.array([1, 2]), jnp.ones((5, 3))),
              ValueError, r"offsets has to be a 1-D array"),
    ErrorCase("embedding_bag", lambda: F.embedding_bag(jnp.ones((2, 2), int), jnp.ones((5, 3)),
                                                       jnp.array([0])),
              ValueError, r"offsets has to be None"),
    ErrorCase("embedding_bag", lambda: F.embedding_bag(jnp.ones((2, 2), int), jnp.ones((5, 3)),
                                                       mode="avg"),
              ValueError, r"mode has to be one of"),
    ErrorCase("embedding_bag", lambda: F.embedding_bag(jnp.ones((2, 2), int), jnp.ones((5, 3)),
                                                       per_sample_weights=jnp.ones((2, 2))),
              ValueError, r"only supported for mode='sum'"),
    ErrorCase("embedding_bag", lambda: F.embedding_bag(jnp.ones((2, 2), int), jnp.ones((5, 3)),
                                                       mode="sum",
                                                       per_sample_weights=jnp.ones(4)),
              ValueError, r"per_sample_weights shape \(4,\)"),
    ErrorCase("embedding_bag", lambda: F.embedding_bag(jnp.array([1, 2, 3]), jnp.ones((5, 3)),
                                                       jnp.array([1, 2])),
              ValueError, r"offsets must start at 0"),
    ErrorCase("embedding_bag", lambda: F.embedding_bag(jnp.ones((2, 2), int), jnp.ones((5, 3)),
                                                       mode="max", scale_grad_by_freq=True),
              ValueError, r"max mode does not support"),
    ErrorCase("EmbeddingBag", lambda: nn.EmbeddingBag(5, 3, mode="median"), ValueError,
              r"mode has to be one of"),
    ErrorCase("one_hot", lambda: F.one_hot(jnp.array([0, 3]), 3), ValueError,
              r"smaller than num_classes=3"),
    ErrorCase("one_hot", lambda: F.one_hot(jnp.array([-1, 2]), 3), ValueError, r"non-negative"),
    ErrorCase("one_hot", lambda: F.one_hot(jnp.array([0.0])), TypeError, r"integer dtype"),
    ErrorCase("one_hot", lambda: __import__("jax").jit(F.one_hot)(jnp.array([0, 1])),
              ValueError, r"pass num_classes explicitly"),
    ErrorCase("AdaptiveLogSoftmaxWithLoss", lambda: nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3, 10]),
              ValueError, r"cutoffs should be a sequence of unique"),
    ErrorCase("AdaptiveLogSoftmaxWithLoss", lambda: nn.AdaptiveLogSoftmaxWithLoss(8, 10, []),
              ValueError, r"length larger than 0"),
    ErrorCase("AdaptiveLogSoftmaxWithLoss",
              lambda: nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3])(jnp.ones((2, 8)),
                                                                jnp.array([1, 10])),
              ValueError, r"values in range \[1, 10\]"),
    ErrorCase("AdaptiveLogSoftmaxWithLoss",
              lambda: nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3])(jnp.ones((2, 8)),
                                                                jnp.array([[1, 2]])),
              ValueError, r"multi-target not supported"),
    ErrorCase("AdaptiveLogSoftmaxWithLoss",
              lambda: nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3])(jnp.ones((3, 8)),
                                                                jnp.array([1, 2])),
              ValueError, r"same size in the batch dimension"),
]

# log_prob / predict of AdaptiveLogSoftmaxWithLoss, compared through FunctionCase overrides.
FUNCTION_CASES += [
    FunctionCase("embedding", desc="asm_log_prob", grad=True, **_asm_method("log_prob")),
    FunctionCase("embedding", desc="asm_predict", grad=False, **_asm_method("predict")),
]
