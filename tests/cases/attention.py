"""Parity cases: attention (``jnn/functional/attention.py``, ``jnn/modules/attention.py``) and the
Transformer family (``jnn/modules/transformer.py``)."""
import jax.numpy as jnp
import numpy as np
import torch

import jnn
import jnn.functional as F
from harness import ErrorCase, FunctionCase, ModuleCase


def _n(rng, *shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


def _qkv(q, k=None, v=None, dtype=np.float32):
    k = q if k is None else k
    v = k if v is None else v

    def make(rng):
        return (_n(rng, *q, dtype=dtype), _n(rng, *k, dtype=dtype), _n(rng, *v, dtype=dtype))
    return make


def _bool_mask(shape, seed=1, keep_first=True):
    """A random bool mask; column 0 is never masked so no row is fully masked."""
    m = np.random.default_rng(seed).random(shape) < 0.4
    if keep_first:
        m[..., 0] = False
    return m


def _causal_float(n):
    return np.triu(np.full((n, n), -np.inf, np.float32), 1)


# -- MultiheadAttention -----------------------------------------------------------------------

_L, _S, _N, _E = 5, 7, 3, 8

MODULE_CASES = [
    ModuleCase("MultiheadAttention", (_E, 2), inputs=_qkv((_L, _N, _E), (_S, _N, _E)),
               desc="basic"),
    ModuleCase("MultiheadAttention", (_E, 4), dict(batch_first=True, bias=False),
               inputs=_qkv((_N, _L, _E), (_N, _S, _E)), desc="batch_first-nobias"),
    ModuleCase("MultiheadAttention", (_E, 2), dict(add_bias_kv=True, add_zero_attn=True),
               inputs=_qkv((_L, _N, _E), (_S, _N, _E)),
               forward_kwargs=dict(attn_mask=np.random.default_rng(2).standard_normal(
                   (_L, _S)).astype(np.float32),
                   key_padding_mask=_bool_mask((_N, _S))),
               desc="bias_kv-zero_attn-float_mask-kpm"),
    ModuleCase("MultiheadAttention", (_E, 2), dict(kdim=4, vdim=6),
               inputs=_qkv((_L, _N, _E), (_S, _N, 4), (_S, _N, 6)),
               forward_kwargs=dict(key_padding_mask=_bool_mask((_N, _S))), desc="kdim-vdim-kpm"),
    ModuleCase("MultiheadAttention", (_E, 2), dict(kdim=4, vdim=6, bias=False,
                                                   add_bias_kv=True),
               inputs=_qkv((_L, _N, _E), (_S, _N, 4), (_S, _N, 6)),
               forward_kwargs=dict(need_weights=False), desc="kdim-vdim-no_weights"),
    ModuleCase("MultiheadAttention", (_E, 2), inputs=_qkv((_L, _N, _E), (_S, _N, _E)),
               forward_kwargs=dict(attn_mask=_bool_mask((_L, _S)), need_weights=False),
               desc="bool_mask-no_weights"),
    ModuleCase("MultiheadAttention", (_E, 2), inputs=_qkv((_L, _N, _E), (_S, _N, _E)),
               forward_kwargs=dict(attn_mask=_bool_mask((_N * 2, _L, _S)),
                                   average_attn_weights=False), desc="3d_bool_mask-per_head"),
    ModuleCase("MultiheadAttention", (_E, 2), inputs=_qkv((_L, _N, _E), (_S, _N, _E)),
               forward_kwargs=dict(attn_mask=np.random.default_rng(3).standard_normal(
                   (_N * 2, _L, _S)).astype(np.float32),
                   key_padding_mask=np.random.default_rng(4).standard_normal(
                       (_N, _S)).astype(np.float32),
                   need_weights=False), desc="3d_float_mask-float_kpm-no_weights"),
    ModuleCase("MultiheadAttention", (_E, 2), inputs=_qkv((_L, _E), (_S, _E)),
               forward_kwargs=dict(attn_mask=_bool_mask((2, _L, _S)),
                                   key_padding_mask=_bool_mask((_S,), seed=5)),
               desc="unbatched-3d_mask"),
    ModuleCase("MultiheadAttention", (_E, 2), inputs=_qkv((_L, _E), (_S, _E)),
               forward_kwargs=dict(need_weights=False), desc="unbatched-no_weights"),
    ModuleCase("MultiheadAttention", (_E, 2), dict(batch_first=True),
               inputs=_qkv((_N, _L, _E)),
               forward_kwargs=dict(attn_mask=_causal_float(_L), is_causal=True,
                                   need_weights=False), desc="is_causal"),
    ModuleCase("MultiheadAttention", (_E, 2), dict(batch_first=True),
               inputs=_qkv((_N, _L, _E)),
               forward_kwargs=dict(attn_mask=_causal_float(_L), is_causal=True,
                                   key_padding_mask=_bool_mask((_N, _L))),
               desc="is_causal-kpm-weights"),
    ModuleCase("MultiheadAttention", (_E, 2), dict(add_bias_kv=True),
               inputs=_qkv((_L, _N, _E), (_S, _N, _E), dtype=np.float64), dtype="float64",
               rtol=1e-7, atol=1e-9, forward_kwargs=dict(key_padding_mask=_bool_mask((_N, _S))),
               desc="float64"),
    ModuleCase("MultiheadAttention", (_E, 2), dict(dropout=0.5),
               inputs=_qkv((_L, _N, _E), (_S, _N, _E)), training=False, desc="dropout-eval"),
    ModuleCase("MultiheadAttention", (_E, 2), dict(dropout=0.5),
               inputs=_qkv((_L, _N, _E), (_S, _N, _E)), random=True, desc="dropout-train"),
]


# -- scaled_dot_product_attention -------------------------------------------------------------

def _sdpa(q, k, v=None, dtype=np.float32, **kw):
    v = k if v is None else v

    def make(rng):
        args = (_n(rng, *q, dtype=dtype), _n(rng, *k, dtype=dtype), _n(rng, *v, dtype=dtype))
        kwargs = {}
        for name, val in kw.items():
            kwargs[name] = val(rng) if callable(val) else val
        return args, kwargs
    return make


def _fully_masked_row(rng):
    m = np.ones((5, 7), bool)
    m[2] = False
    return m


FUNCTION_CASES = [
    FunctionCase("scaled_dot_product_attention", _sdpa((2, 3, 5, 8), (2, 3, 7, 8)),
                 desc="plain-4d"),
    FunctionCase("scaled_dot_product_attention", _sdpa((2, 5, 8), (2, 7, 8), (2, 7, 4)),
                 desc="plain-3d-ev"),
    FunctionCase("scaled_dot_product_attention",
                 _sdpa((2, 3, 5, 8), (2, 3, 7, 8), attn_mask=lambda r: _bool_mask((5, 7))),
                 desc="bool_mask"),
    FunctionCase("scaled_dot_product_attention",
                 _sdpa((2, 3, 5, 8), (2, 3, 7, 8), attn_mask=lambda r: _n(r, 2, 1, 5, 7)),
                 desc="float_mask"),
    FunctionCase("scaled_dot_product_attention",
                 _sdpa((2, 3, 5, 8), (2, 3, 7, 8), attn_mask=_fully_masked_row),
                 desc="fully_masked_row"),
    FunctionCase("scaled_dot_product_attention",
                 _sdpa((2, 3, 6, 8), (2, 3, 6, 8), is_causal=True), desc="causal"),
    FunctionCase("scaled_dot_product_attention",
                 _sdpa((2, 3, 4, 8), (2, 3, 6, 8), is_causal=True, scale=0.3),
                 desc="causal-rect-scale"),
    FunctionCase("scaled_dot_product_attention",
                 _sdpa((2, 4, 5, 8), (2, 2, 7, 8), enable_gqa=True), desc="gqa"),
    FunctionCase("scaled_dot_product_attention",
                 _sdpa((2, 3, 5, 8), (2, 3, 7, 8), dtype=np.float64,
                       attn_mask=lambda r: _bool_mask((5, 7))),
                 rtol=1e-7, atol=1e-9, desc="float64"),
    FunctionCase("scaled_dot_product_attention",
                 _sdpa((2, 3, 5, 8), (2, 3, 7, 8), dropout_p=0.5), random=True, desc="dropout"),
    FunctionCase("scaled_dot_product_attention", _sdpa((2, 3, 5, 8), (2, 3, 7, 8), dtype=np.float64),
                 rtol=1e-7, atol=1e-9, desc="plain-float64"),
]


def _mha_args(kdim=_E, vdim=_E, separate=False, bias=True, bias_kv=False, zero_attn=False,
              dropout=0.0, training=True, static=False, **kw):
    def make(rng):
        H = 2
        q, k, v = _n(rng, _L, _N, _E), _n(rng, _S, _N, kdim), _n(rng, _S, _N, vdim)
        in_w = None if separate else _n(rng, 3 * _E, _E) * 0.3
        in_b = _n(rng, 3 * _E) if bias else None
        bk, bv = (_n(rng, 1, 1, _E), _n(rng, 1, 1, _E)) if bias_kv else (None, None)
        args = (q, k, v, _E, H, in_w, in_b, bk, bv, zero_attn, dropout, _n(rng, _E, _E) * 0.3,
                _n(rng, _E) if bias else None)
        kwargs = dict(training=training)
        if separate:
            kwargs.update(use_separate_proj_weight=True, q_proj_weight=_n(rng, _E, _E) * 0.3,
                          k_proj_weight=_n(rng, _E, kdim) * 0.3,
                          v_proj_weight=_n(rng, _E, vdim) * 0.3)
        if static:
            kwargs.update(static_k=_n(rng, _N * H, 4, _E // H), static_v=_n(rng, _N * H, 4, _E // H))
        for name, val in kw.items():
            kwargs[name] = val(rng) if callable(val) else val
        return args, kwargs
    return make


FUNCTION_CASES += [
    FunctionCase("multi_head_attention_forward", _mha_args(), desc="basic"),
    FunctionCase("multi_head_attention_forward",
                 _mha_args(kdim=4, vdim=6, separate=True, bias_kv=True, zero_attn=True,
                           key_padding_mask=lambda r: _bool_mask((_N, _S)),
                           attn_mask=lambda r: _bool_mask((_L, _S), seed=7)),
                 desc="separate-bias_kv-zero_attn-masks"),
    FunctionCase("multi_head_attention_forward",
                 _mha_args(bias=False, need_weights=False, average_attn_weights=False,
                           attn_mask=lambda r: _n(r, _N * 2, _L, _S)),
                 desc="nobias-no_weights-3d_mask"),
    FunctionCase("multi_head_attention_forward",
                 _mha_args(static=True, average_attn_weights=False), desc="static_kv"),
    FunctionCase("multi_head_attention_forward",
                 _mha_args(dropout=0.5, training=False), desc="dropout-eval"),
    FunctionCase("multi_head_attention_forward", _mha_args(dropout=0.5), random=True,
                 desc="dropout-train"),
]


def _x(*s, dtype=jnp.float32):
    return jnp.ones(s, dtype)


ERROR_CASES = [
    ErrorCase("MultiheadAttention", lambda: jnn.MultiheadAttention(8, 3), ValueError,
              r"embed_dim must be divisible by num_heads"),
    ErrorCase("MultiheadAttention", lambda: jnn.MultiheadAttention(0, 2), ValueError,
              r"embed_dim and num_heads must be greater than 0", desc="zero"),
    ErrorCase("MultiheadAttention", lambda: jnn.MultiheadAttention(8, 2)(_x(5, 3, 8),
                                                                      _x(7, 8), _x(7, 8)),
              ValueError, r"For batched \(3-D\) `query`, expected `key` and `value` to be 3-D "
                          r"but found 2-D and 2-D", desc="key-dims"),
    ErrorCase("MultiheadAttention", lambda: jnn.MultiheadAttention(8, 2)(
        _x(5, 3, 8), _x(7, 3, 8), _x(7, 3, 8), attn_mask=_x(5, 6)), RuntimeError,
        r"The shape of the 2D attn_mask is \(5, 6\), but should be \(5, 7\)", desc="mask-2d"),
    ErrorCase("MultiheadAttention", lambda: jnn.MultiheadAttention(8, 2)(
        _x(5, 3, 8), _x(7, 3, 8), _x(7, 3, 8), attn_mask=_x(3, 5, 7)), ValueError,
        r"The shape of the 3D attn_mask is \(3, 5, 7\), but should be \(6, 5, 7\)",
        desc="mask-3d"),
    ErrorCase("MultiheadAttention", lambda: jnn.MultiheadAttention(8, 2)(
        _x(5, 3, 8), _x(7, 3, 8), _x(7, 3, 8), key_padding_mask=_x(3, 6)), ValueError,
        r"Expected key_padding_mask of shape \(3, 7\), got \(3, 6\)", desc="kpm"),
    ErrorCase("MultiheadAttention", lambda: jnn.MultiheadAttention(8, 2)(
        _x(5, 3, 8), _x(5, 3, 8), _x(5, 3, 8), is_causal=True), RuntimeError,
        r"Need attn_mask if specifying the is_causal hint", desc="is_causal"),
    ErrorCase("MultiheadAttention", lambda: jnn.MultiheadAttention(8, 2)(
        _x(5, 3, 6), _x(5, 3, 6), _x(5, 3, 6)), ValueError,
        r"was expecting embedding dimension of 8, but got 6", desc="embed_dim"),
    ErrorCase("MultiheadAttention", lambda: jnn.MultiheadAttention(8, 2)(
        _x(5, 3, 8), _x(5, 3, 8), _x(5, 3, 8), attn_mask=_x(5, 5, dtype=jnp.int32)), TypeError,
        r"only bool and floating types of attn_mask are supported", desc="mask-dtype"),
    ErrorCase("MultiheadAttention", lambda: jnn.MultiheadAttention(8, 2)(
        _x(2, 5, 3, 8), _x(2, 5, 3, 8), _x(2, 5, 3, 8)), ValueError,
        r"query should be unbatched 2D or batched 3D tensor but received 4-D", desc="4d"),
    ErrorCase("scaled_dot_product_attention", lambda: F.scaled_dot_product_attention(
        _x(2, 5, 8), _x(2, 7, 4), _x(2, 7, 4)), ValueError,
        r"expected query and key with the same last dimension"),
    ErrorCase("scaled_dot_product_attention", lambda: F.scaled_dot_product_attention(
        _x(2, 5, 8), _x(2, 5, 8), _x(2, 5, 8), attn_mask=_x(5, 5), is_causal=True), ValueError,
        r"Explicit attn_mask should not be set when is_causal=True", desc="causal+mask"),
    ErrorCase("scaled_dot_product_attention", lambda: F.scaled_dot_product_attention(
        _x(2, 5, 8), _x(2, 7, 8), _x(2, 7, 8), attn_mask=_x(5, 6)), ValueError,
        r"expected attn_mask broadcastable to \(2, 5, 7\), got shape \(5, 6\)", desc="mask"),
    ErrorCase("scaled_dot_product_attention", lambda: F.scaled_dot_product_attention(
        _x(2, 3, 5, 8), _x(2, 2, 7, 8), _x(2, 2, 7, 8), enable_gqa=True), ValueError,
        r"with enable_gqa, the query heads \(3\) must be a multiple", desc="gqa"),
    ErrorCase("multi_head_attention_forward", lambda: F.multi_head_attention_forward(
        _x(5, 3, 8), _x(7, 3, 8), _x(7, 3, 8), 8, 2, _x(20, 8), None, None, None, False, 0.0,
        _x(8, 8), None), ValueError, r"expected in_proj_weight of shape \(24, 8\), got \(20, 8\)"),
]


# -- Transformer family -----------------------------------------------------------------------

def _enc_layer(lib, **kw):
    kw = dict(dict(dim_feedforward=16, dropout=0.0), **kw)
    return lib.TransformerEncoderLayer(_E, 2, **kw)


def _dec_layer(lib, **kw):
    kw = dict(dict(dim_feedforward=16, dropout=0.0), **kw)
    return lib.TransformerDecoderLayer(_E, 2, **kw)


def _stack(name, layer_fn, num, norm=True, **layer_kw):
    """A ModuleCase for TransformerEncoder/Decoder: each library gets its own layer instance."""
    def parts(lib):
        args = (layer_fn(lib, **layer_kw), num)
        kwargs = dict(norm=lib.LayerNorm(_E)) if norm else {}
        if name == "TransformerEncoder":
            kwargs["enable_nested_tensor"] = False
        return args, kwargs
    (j_args, j_kwargs), (t_args, t_kwargs) = parts(jnn), parts(torch.nn)
    return dict(args=j_args, kwargs=j_kwargs, torch_args=t_args, torch_kwargs=t_kwargs)


_T = 4  # target length
_FF = dict(dim_feedforward=16, dropout=0.0)

MODULE_CASES += [
    ModuleCase("TransformerEncoderLayer", (_E, 2), _FF, input_shapes=[(_L, _N, _E)],
               desc="post_norm"),
    ModuleCase("TransformerEncoderLayer", (_E, 2),
               dict(_FF, batch_first=True, norm_first=True, activation="gelu"),
               input_shapes=[(_N, _L, _E)],
               forward_kwargs=dict(src_mask=_causal_float(_L),
                                   src_key_padding_mask=_bool_mask((_N, _L))),
               desc="batch_first-norm_first-gelu-masks"),
    ModuleCase("TransformerEncoderLayer", (_E, 2), dict(_FF, activation=jnn.GELU()),
               torch_kwargs=dict(_FF, activation=torch.nn.GELU()), input_shapes=[(_L, _N, _E)],
               forward_kwargs=dict(src_mask=_causal_float(_L), is_causal=True),
               desc="gelu_module-is_causal"),
    ModuleCase("TransformerEncoderLayer", (_E, 2), dict(_FF, bias=False, layer_norm_eps=1e-3),
               input_shapes=[(_L, _E)], forward_kwargs=dict(src_mask=_bool_mask((_L, _L))),
               desc="unbatched-nobias-bool_mask"),
    ModuleCase("TransformerEncoderLayer", (_E, 2), dict(_FF, norm_first=True),
               input_shapes=[(_L, _N, _E)], dtype="float64", rtol=1e-7, atol=1e-9,
               forward_kwargs=dict(src_key_padding_mask=_bool_mask((_N, _L))), desc="float64"),
    ModuleCase("TransformerEncoderLayer", (_E, 2), dict(dim_feedforward=16, dropout=0.3),
               input_shapes=[(_L, _N, _E)], random=True, desc="dropout-train"),
    ModuleCase("TransformerEncoderLayer", (_E, 2), dict(dim_feedforward=16, dropout=0.3),
               input_shapes=[(_L, _N, _E)], training=False, desc="dropout-eval"),
    ModuleCase("TransformerDecoderLayer", (_E, 2), _FF,
               input_shapes=[(_T, _N, _E), (_S, _N, _E)], desc="post_norm"),
    ModuleCase("TransformerDecoderLayer", (_E, 2),
               dict(_FF, batch_first=True, norm_first=True, activation="gelu"),
               input_shapes=[(_N, _T, _E), (_N, _S, _E)],
               forward_kwargs=dict(tgt_mask=_causal_float(_T), tgt_is_causal=True,
                                   memory_key_padding_mask=_bool_mask((_N, _S)),
                                   tgt_key_padding_mask=_bool_mask((_N, _T), seed=3)),
               desc="batch_first-norm_first-gelu-masks"),
    ModuleCase("TransformerDecoderLayer", (_E, 2), dict(_FF, bias=False),
               input_shapes=[(_T, _E), (_S, _E)],
               forward_kwargs=dict(memory_mask=np.random.default_rng(8).standard_normal(
                   (_T, _S)).astype(np.float32)), desc="unbatched-nobias-memory_mask"),
    ModuleCase("TransformerDecoderLayer", (_E, 2), _FF, dtype="float64", rtol=1e-7, atol=1e-9,
               input_shapes=[(_T, _N, _E), (_S, _N, _E)],
               forward_kwargs=dict(tgt_mask=_causal_float(_T)), desc="float64"),
    ModuleCase("TransformerEncoder", input_shapes=[(_L, _N, _E)],
               **_stack("TransformerEncoder", _enc_layer, 2), desc="2layers-norm"),
    ModuleCase("TransformerEncoder", input_shapes=[(_N, _L, _E)],
               forward_kwargs=dict(mask=_causal_float(_L),
                                   src_key_padding_mask=_bool_mask((_N, _L))),
               **_stack("TransformerEncoder", _enc_layer, 3, norm=False, batch_first=True,
                        norm_first=True), desc="3layers-batch_first-norm_first-masks"),
    ModuleCase("TransformerEncoder", input_shapes=[(_L, _N, _E)],
               forward_kwargs=dict(mask=_causal_float(_L), is_causal=True),
               **_stack("TransformerEncoder", _enc_layer, 2, activation="gelu"),
               desc="is_causal-gelu"),
    ModuleCase("TransformerDecoder", input_shapes=[(_T, _N, _E), (_S, _N, _E)],
               forward_kwargs=dict(tgt_mask=_causal_float(_T),
                                   memory_key_padding_mask=_bool_mask((_N, _S))),
               **_stack("TransformerDecoder", _dec_layer, 2), desc="2layers-norm-masks"),
    ModuleCase("TransformerDecoder", input_shapes=[(_N, _T, _E), (_N, _S, _E)],
               **_stack("TransformerDecoder", _dec_layer, 2, norm=False, batch_first=True,
                        norm_first=True, activation="gelu"), desc="batch_first-norm_first-gelu"),
    ModuleCase("Transformer", (_E, 2, 2, 2, 16, 0.0), input_shapes=[(_S, _N, _E), (_T, _N, _E)],
               forward_kwargs=dict(tgt_mask=_causal_float(_T),
                                   src_key_padding_mask=_bool_mask((_N, _S)),
                                   memory_key_padding_mask=_bool_mask((_N, _S))),
               desc="masks"),
    ModuleCase("Transformer", (_E, 2, 1, 2, 16, 0.0),
               dict(batch_first=True, norm_first=True, activation="gelu"),
               input_shapes=[(_N, _S, _E), (_N, _T, _E)],
               forward_kwargs=dict(tgt_mask=_causal_float(_T), tgt_is_causal=True),
               desc="batch_first-norm_first-gelu-causal"),
    ModuleCase("Transformer", (_E, 2, 1, 1, 16, 0.0), dict(bias=False),
               input_shapes=[(_S, _E), (_T, _E)], desc="unbatched-nobias"),
    ModuleCase("Transformer", (_E, 2, 1, 1, 16, 0.0), input_shapes=[(_S, _N, _E), (_T, _N, _E)],
               dtype="float64", rtol=1e-7, atol=1e-9, desc="float64"),
]

ERROR_CASES += [
    ErrorCase("Transformer", lambda: jnn.Transformer(8, 2, 1, 1, 16)(_x(5, 3, 8), _x(4, 2, 8)),
              RuntimeError, r"the batch number of src and tgt must be equal"),
    ErrorCase("Transformer", lambda: jnn.Transformer(8, 2, 1, 1, 16)(_x(5, 3, 8), _x(4, 3, 6)),
              ValueError, r"the feature number of src and tgt must be equal to d_model",
              desc="d_model"),
    ErrorCase("TransformerEncoderLayer", lambda: jnn.TransformerEncoderLayer(8, 2,
                                                                            activation="tanh"),
              RuntimeError, r"activation should be relu/gelu, not tanh"),
    ErrorCase("TransformerEncoderLayer", lambda: jnn.TransformerEncoderLayer(8, 2, 16)(
        _x(5, 3, 8), is_causal=True), ValueError,
        r"Need attn_mask if specifying the is_causal hint", desc="is_causal"),
    ErrorCase("TransformerDecoderLayer", lambda: jnn.TransformerDecoderLayer(8, 2, 16)(
        _x(4, 3, 8), _x(6, 3, 8), memory_mask=_x(4, 5)), ValueError,
        r"The shape of the 2D attn_mask is \(4, 5\), but should be \(4, 6\)"),
    ErrorCase("TransformerEncoder", lambda: jnn.TransformerEncoder(
        jnn.TransformerEncoderLayer(8, 2, 16), 2, enable_nested_tensor=False)(
        _x(5, 3, 8), src_key_padding_mask=_x(3, 4).astype(bool)), ValueError,
        r"Expected key_padding_mask of shape \(3, 5\), got \(3, 4\)"),
    ErrorCase("TransformerDecoder", lambda: jnn.TransformerDecoder(
        jnn.TransformerDecoderLayer(8, 2, 16), 2)(_x(4, 3, 8), _x(6, 3, 7)), ValueError,
        r"multi_head_attention_forward: expected key with last dimension 8 \(kdim\), got "
        r"shape \(6, 3, 7\)"),
]
