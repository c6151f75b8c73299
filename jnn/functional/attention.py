"""Attention kernels: ``scaled_dot_product_attention`` and ``multi_head_attention_forward``.

Mask conventions are torch's, which differ between the two:

* ``scaled_dot_product_attention``: a bool ``attn_mask`` is ``True`` where a query *may*
  attend; a float mask is added to the scores.
* ``multi_head_attention_forward`` (and ``nn.MultiheadAttention``/``nn.Transformer*``): a bool
  ``attn_mask``/``key_padding_mask`` is ``True`` where attention is *not* allowed; a float mask
  is added.

A query row whose keys are all masked gives zeros in ``scaled_dot_product_attention`` (as
torch's CPU kernel does) and NaN in the weights path of ``multi_head_attention_forward``
(``need_weights=True``, as torch's explicit softmax does).
"""
from __future__ import annotations

import functools
import math
import warnings
from typing import cast

import jax
import jax.numpy as jnp

from ..amp.autocast_mode import autocast_op
from ..random import next_key
from ..types import Array, ArrayLike
from ._eager import eager_jit
from ._utils import as_array, check_operands, promote_rank
from .linear import affine

__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward"]


class _AttnShapeError(ValueError, AssertionError):
    """Bad shapes: a ``ValueError`` that is also the ``AssertionError`` torch raises."""


class _AttnMaskError(ValueError, RuntimeError):
    """Bad mask: a ``ValueError`` that is also the ``RuntimeError`` torch raises."""


def _shape(x) -> tuple:
    return tuple(jnp.shape(x))


def _is_bool(x) -> bool:
    return jnp.result_type(x) == jnp.bool_


def _is_float(x) -> bool:
    return jnp.issubdtype(jnp.result_type(x), jnp.floating)


def _safe_softmax(scores):
    """Softmax over the last axis; a row of ``-inf`` gives zeros (not NaN) and zero gradient."""
    m = jnp.max(scores, axis=-1, keepdims=True)
    m = jax.lax.stop_gradient(jnp.where(jnp.isfinite(m), m, 0))
    e = jnp.exp(scores - m)
    s = jnp.sum(e, axis=-1, keepdims=True)
    return e / jnp.where(s == 0, jnp.ones((), s.dtype), s)


def _dropout(weights, p: float, key):
    if p >= 1:
        return jnp.zeros_like(weights)
    keep = jax.random.bernoulli(key, 1.0 - p, weights.shape)
    return jnp.where(keep, weights / (1.0 - p), jnp.zeros((), weights.dtype))


def _causal_mask(l_len: int, s_len: int):
    return jnp.tril(jnp.ones((l_len, s_len), jnp.bool_))


@functools.partial(eager_jit, static_argnames=("scale", "dropout_p", "safe"),
                   key_argnames=("key",))
def _attend(q, k, v, bias, scale, dropout_p, key, safe=True):
    """``softmax(q k^T * scale + bias) v`` with ``bias`` additive float or ``None``.

    Returns ``(output, weights)``. Called eagerly, one compiled program per configuration
    (``jnn/functional/_eager.py``).
    """
    scores = jnp.einsum("...le,...se->...ls", q, k) * jnp.asarray(scale, q.dtype)
    if bias is not None:
        scores = scores + promote_rank(bias, scores.ndim)
    weights = _safe_softmax(scores) if safe else jax.nn.softmax(scores, axis=-1)
    if dropout_p > 0:
        weights = _dropout(weights, dropout_p, key)
    return jnp.einsum("...ls,...se->...le", weights, v), weights


@autocast_op("scaled_dot_product_attention")
def scaled_dot_product_attention(query: ArrayLike, key: ArrayLike, value: ArrayLike,
                                 attn_mask: ArrayLike | None = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False, *,
                                 rng_key: Array | None = None) -> jax.Array:
    """``softmax(Q K^T * scale + mask) V`` (``torch.nn.functional.scaled_dot_product_attention``).

    Args:
        query: ``(N, ..., Hq, L, E)``.
        key: ``(N, ..., H, S, E)``.
        value: ``(N, ..., H, S, Ev)``.
        attn_mask: broadcastable to ``(N, ..., L, S)``; bool (``True`` = may attend) or float
            (added to the scores).
        dropout_p: dropout probability on the attention weights (always applied when
            ``> 0``, as in torch; pass ``0.0`` in evaluation).
        is_causal: a lower-triangular (top-left aligned) mask; ``attn_mask`` must be ``None``.
        scale: score scale; default ``1 / sqrt(E)``.
        enable_gqa: grouped-query attention: ``Hq`` a multiple of ``H``; each key/value head
            serves ``Hq / H`` query heads.
        rng_key: PRNG key for the dropout (default: the global stream).

    Shape:
        ``(N, ..., L, E), (N, ..., S, E), (N, ..., S, Ev) -> (N, ..., L, Ev)``.

    Returns:
        The attention output. A query whose keys are all masked gets zeros.

    Differences from PyTorch:
        The PRNG key argument is named ``rng_key`` because ``key`` is the attention keys.
        Unmasked, dropout-free float32/16 calls on 4-D input use
        ``jax.nn.dot_product_attention`` (which can pick a fused GPU kernel); float64 stays on
        jnn's own path (JAX's loses float64 precision).

    Example:
        >>> q = k = v = jnp.ones((2, 4, 5, 8))
        >>> F.scaled_dot_product_attention(q, k, v, is_causal=True).shape
        (2, 4, 5, 8)
    """
    fn = "scaled_dot_product_attention"
    q, k, v = check_operands(fn, query=query, key=key, value=value)
    for name, a in (("query", q), ("key", k), ("value", v)):
        if a.ndim < 2:
            raise ValueError(f"{fn}: expected {name} with at least 2 dimensions (..., seq, "
                             f"features), got shape {_shape(a)}")
        if not _is_float(a):
            raise TypeError(f"{fn}: expected floating {name}, got dtype {a.dtype}")
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"{fn}: expected query and key with the same last dimension, got "
                         f"shapes {_shape(q)} and {_shape(k)}")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"{fn}: expected key and value with the same sequence length "
                         f"(dimension -2), got shapes {_shape(k)} and {_shape(v)}")
    if not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"{fn}: dropout_p must be in [0, 1], got {dropout_p}")
    if enable_gqa and q.ndim >= 3 and k.shape[-3] != q.shape[-3]:
        hq, hk = q.shape[-3], k.shape[-3]
        if k.ndim < 3 or v.ndim < 3 or hq % hk or v.shape[-3] != hk:
            raise ValueError(f"{fn}: with enable_gqa, the query heads ({hq}) must be a multiple "
                             f"of the key/value heads, got key shape {_shape(k)} and value shape "
                             f"{_shape(v)}")
        k = jnp.repeat(k, hq // hk, axis=-3)
        v = jnp.repeat(v, hq // hk, axis=-3)
    l_len, s_len = q.shape[-2], k.shape[-2]
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)

    bias = None
    if is_causal:
        if attn_mask is not None:
            raise ValueError(f"{fn}: Explicit attn_mask should not be set when is_causal=True")
        bias = jnp.where(_causal_mask(l_len, s_len), jnp.zeros((), q.dtype),
                         jnp.asarray(-jnp.inf, q.dtype))
    elif attn_mask is not None:
        mask = as_array(attn_mask, fn, "attn_mask")
        try:
            jnp.broadcast_shapes(mask.shape, q.shape[:-2] + (l_len, s_len))
        except ValueError:
            raise ValueError(f"{fn}: expected attn_mask broadcastable to "
                             f"{q.shape[:-2] + (l_len, s_len)}, got shape {_shape(mask)}") from None
        if _is_bool(mask):
            bias = jnp.where(mask, jnp.zeros((), q.dtype), jnp.asarray(-jnp.inf, q.dtype))
        elif mask.dtype in (q.dtype, jnp.float32):  # torch: "bool or float or query's dtype"
            bias = mask.astype(q.dtype)
        else:
            raise TypeError(f"{fn}: expected attn_mask to be bool, float32 or of the query's "
                            f"dtype {q.dtype}, got dtype {mask.dtype}")

    if (bias is None and dropout_p == 0 and q.ndim == 4 and k.shape == v.shape
            and q.shape[:2] == k.shape[:2] and q.dtype != jnp.float64):
        out = jax.nn.dot_product_attention(jnp.swapaxes(q, 1, 2), jnp.swapaxes(k, 1, 2),
                                           jnp.swapaxes(v, 1, 2), scale=scale)
        return jnp.swapaxes(out, 1, 2)
    rkey = next_key(rng_key) if dropout_p > 0 else None
    return _attend(q, k, v, bias, scale, dropout_p, rkey)[0]


def _canonical_mask(mask, mask_name: str, other, other_name: str, dtype,
                    check_other=True) -> jax.Array | None:
    """torch's ``_canonical_mask``: bool (``True`` = masked) becomes an additive float mask."""
    if mask is None:
        return None
    mask = as_array(mask, "multi_head_attention_forward", mask_name)
    if not _is_bool(mask) and not _is_float(mask):
        raise TypeError(f"only bool and floating types of {mask_name} are supported, got dtype "
                        f"{mask.dtype}")
    if check_other and other is not None and jnp.result_type(other) != mask.dtype:
        warnings.warn(f"Support for mismatched {mask_name} and {other_name} is deprecated. "
                      "Use same type for both instead.", stacklevel=3)
    if _is_bool(mask):
        return jnp.where(mask, jnp.asarray(-jnp.inf, dtype), jnp.zeros((), dtype))
    return mask


def _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads) -> bool:
    fn = "multi_head_attention_forward"
    qd, kd, vd = jnp.ndim(query), jnp.ndim(key), jnp.ndim(value)
    if qd == 3:
        if kd != 3 or vd != 3:
            raise _AttnShapeError(f"{fn}: For batched (3-D) `query`, expected `key` and `value` "
                                  f"to be 3-D but found {kd}-D and {vd}-D tensors respectively")
        if key_padding_mask is not None and jnp.ndim(key_padding_mask) != 2:
            raise _AttnShapeError(f"{fn}: For batched (3-D) `query`, expected `key_padding_mask` "
                                  f"to be `None` or 2-D but found {jnp.ndim(key_padding_mask)}-D "
                                  "tensor instead")
        if attn_mask is not None and jnp.ndim(attn_mask) not in (2, 3):
            raise _AttnShapeError(f"{fn}: For batched (3-D) `query`, expected `attn_mask` to be "
                                  f"`None`, 2-D or 3-D but found {jnp.ndim(attn_mask)}-D tensor "
                                  "instead")
        return True
    if qd == 2:
        if kd != 2 or vd != 2:
            raise _AttnShapeError(f"{fn}: For unbatched (2-D) `query`, expected `key` and `value` "
                                  f"to be 2-D but found {kd}-D and {vd}-D tensors respectively")
        if key_padding_mask is not None and jnp.ndim(key_padding_mask) != 1:
            raise _AttnShapeError(f"{fn}: For unbatched (2-D) `query`, expected "
                                  f"`key_padding_mask` to be `None` or 1-D but found "
                                  f"{jnp.ndim(key_padding_mask)}-D tensor instead")
        if attn_mask is not None:
            if jnp.ndim(attn_mask) not in (2, 3):
                raise _AttnShapeError(f"{fn}: For unbatched (2-D) `query`, expected `attn_mask` "
                                      f"to be `None`, 2-D or 3-D but found "
                                      f"{jnp.ndim(attn_mask)}-D tensor instead")
            if jnp.ndim(attn_mask) == 3:
                expected = (num_heads, _shape(query)[0], _shape(key)[0])
                if _shape(attn_mask) != expected:
                    raise _AttnShapeError(f"{fn}: Expected `attn_mask` shape to be {expected} but "
                                          f"got {_shape(attn_mask)}")
        return False
    raise _AttnShapeError(f"{fn}: query should be unbatched 2D or batched 3D tensor but received "
                          f"{qd}-D query tensor")


def _check_features(fn, key, value, kdim, vdim):
    for name, x, d in (("key", key, kdim), ("value", value, vdim)):
        if x.shape[-1] != d:
            raise _AttnShapeError(f"{fn}: expected {name} with last dimension {d} "
                                  f"({name[0]}dim), got shape {_shape(x)}")


@autocast_op("multi_head_attention_forward")
def multi_head_attention_forward(query: ArrayLike, key: ArrayLike, value: ArrayLike,
                                 embed_dim_to_check: int, num_heads: int,
                                 in_proj_weight: ArrayLike | None,
                                 in_proj_bias: ArrayLike | None, bias_k: ArrayLike | None,
                                 bias_v: ArrayLike | None, add_zero_attn: bool,
                                 dropout_p: float, out_proj_weight: ArrayLike,
                                 out_proj_bias: ArrayLike | None, training: bool = True,
                                 key_padding_mask: ArrayLike | None = None,
                                 need_weights: bool = True, attn_mask: ArrayLike | None = None,
                                 use_separate_proj_weight: bool = False,
                                 q_proj_weight: ArrayLike | None = None,
                                 k_proj_weight: ArrayLike | None = None,
                                 v_proj_weight: ArrayLike | None = None,
                                 static_k: ArrayLike | None = None,
                                 static_v: ArrayLike | None = None,
                                 average_attn_weights: bool = True, is_causal: bool = False, *,
                                 rng_key: Array | None = None) -> tuple[Array, Array | None]:
    """Multi-head attention (``torch.nn.functional.multi_head_attention_forward``).

    Args:
        query: ``(L, N, E)`` or unbatched ``(L, E)``.
        key, value: ``(S, N, Ek)``, ``(S, N, Ev)`` (or unbatched ``(S, E*)``).
        embed_dim_to_check: ``E``; num_heads: ``H`` (``E`` divisible by ``H``).
        in_proj_weight: ``(3E, E)`` packed q/k/v projection (unless
            ``use_separate_proj_weight``); in_proj_bias: ``(3E,)`` or ``None``.
        bias_k, bias_v: ``(1, 1, E)`` appended to the keys/values, or ``None``.
        add_zero_attn: append a zero key/value per head.
        dropout_p: dropout on the attention weights (training only).
        out_proj_weight: ``(E, E)``; out_proj_bias: ``(E,)`` or ``None``.
        training: apply dropout.
        key_padding_mask: ``(N, S)`` (or ``(S,)``); bool ``True`` = ignore that key, or float
            (added).
        need_weights: also return the attention weights.
        attn_mask: ``(L, S)`` or ``(N * H, L, S)``; bool ``True`` = not allowed, or float.
        use_separate_proj_weight: use ``q/k/v_proj_weight`` (``(E, E)``, ``(E, Ek)``,
            ``(E, Ev)``) instead of ``in_proj_weight``.
        static_k, static_v: ``(N * H, S, E / H)`` precomputed projected keys/values.
        average_attn_weights: average the returned weights over heads.
        is_causal: hint that ``attn_mask`` is the causal mask (an ``attn_mask`` is required).
        rng_key: PRNG key for the dropout (default: the global stream).

    Shape:
        ``(L, N, E) -> (L, N, E)``; weights ``(N, L, S)`` averaged or ``(N, H, L, S)``.

    Returns:
        ``(attn_output, attn_weights)``; ``attn_weights`` is ``None`` unless ``need_weights``.

    Differences from PyTorch:
        Shape errors are ``ValueError`` (also ``AssertionError``/``RuntimeError`` as in torch).

    Example:
        >>> E, H = 8, 2
        >>> x = jnp.ones((5, 3, E))
        >>> out, w = F.multi_head_attention_forward(x, x, x, E, H, jnp.ones((3 * E, E)),
        ...     jnp.zeros(3 * E), None, None, False, 0.0, jnp.eye(E), jnp.zeros(E))
        >>> out.shape, w.shape
        ((5, 3, 8), (3, 5, 5))
    """
    fn = "multi_head_attention_forward"
    same_qk, same_kv = query is key, key is value
    # One dtype for the data and every weight (torch's projections refuse to promote). The
    # operands come back as arrays (None kept); query, key and value are never None.
    query, key, value, *_ = cast("tuple[jax.Array, ...]", check_operands(
        fn, query=query, key=key, value=value, in_proj_weight=in_proj_weight,
        in_proj_bias=in_proj_bias, bias_k=bias_k, bias_v=bias_v,
        out_proj_weight=out_proj_weight, out_proj_bias=out_proj_bias,
        q_proj_weight=q_proj_weight, k_proj_weight=k_proj_weight, v_proj_weight=v_proj_weight,
        static_k=static_k, static_v=static_v))
    is_batched = _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not is_batched:
        query, key, value = query[:, None], key[:, None], value[:, None]
        if key_padding_mask is not None:
            key_padding_mask = as_array(key_padding_mask)[None]
    tgt_len, bsz, embed_dim = query.shape
    dtype = query.dtype

    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", attn_mask,
                                       "attn_mask", dtype)
    if is_causal and attn_mask is None:
        raise _AttnMaskError("Need attn_mask if specifying the is_causal hint. You may use the "
                             "Transformer module method `generate_square_subsequent_mask` to "
                             "create this mask.")
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None  # the kernel builds the causal mask itself
    else:
        attn_mask = _canonical_mask(attn_mask, "attn_mask", None, "", dtype, check_other=False)
        if key_padding_mask is not None:
            is_causal = False
    for mask_name, m in (("key_padding_mask", key_padding_mask), ("attn_mask", attn_mask)):
        # A float mask of another dtype: torch's need_weights path (baddbmm) refuses it, its
        # fused path (scaled_dot_product_attention) takes a float32 one.
        if m is not None and m.dtype != dtype and (need_weights or m.dtype != jnp.float32):
            raise TypeError(f"{fn}: expected a float {mask_name} of the query's dtype "
                            f"{jnp.dtype(dtype)}{'' if need_weights else ' or float32'}, got "
                            f"dtype {m.dtype}")
    key_padding_mask = None if key_padding_mask is None else key_padding_mask.astype(dtype)
    attn_mask = None if attn_mask is None else attn_mask.astype(dtype)
    if embed_dim != embed_dim_to_check:
        raise _AttnShapeError(f"{fn}: was expecting embedding dimension of "
                              f"{embed_dim_to_check}, but got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise _AttnShapeError(f"{fn}: embed_dim {embed_dim} not divisible by num_heads "
                              f"{num_heads}")
    if use_separate_proj_weight:
        if key.shape[:2] != value.shape[:2]:
            raise _AttnShapeError(f"{fn}: key's sequence and batch dims {key.shape[:2]} do not "
                                  f"match value's {value.shape[:2]}")
    elif key.shape != value.shape:
        raise _AttnShapeError(f"{fn}: key shape {_shape(key)} does not match value shape "
                              f"{_shape(value)}")

    # -- input projections (one matmul for self-attention, as torch's packed path) ---------
    b = None if in_proj_bias is None else as_array(in_proj_bias)
    if not use_separate_proj_weight:
        if in_proj_weight is None:
            raise _AttnShapeError(f"{fn}: use_separate_proj_weight is False but in_proj_weight "
                                  "is None")
        w = as_array(in_proj_weight)
        if w.shape != (3 * embed_dim, embed_dim):
            raise _AttnShapeError(f"{fn}: expected in_proj_weight of shape "
                                  f"{(3 * embed_dim, embed_dim)}, got {_shape(w)}")
        _check_features(fn, key, value, embed_dim, embed_dim)
        if same_kv and same_qk:
            q, k, v = jnp.split(affine(query, w, b), 3, axis=-1)
        elif same_kv:
            q = affine(query, w[:embed_dim], None if b is None else b[:embed_dim])
            k, v = jnp.split(affine(key, w[embed_dim:], None if b is None else b[embed_dim:]), 2,
                             axis=-1)
        else:
            bq, bk, bv = (None, None, None) if b is None else jnp.split(b, 3)
            wq, wk, wv = jnp.split(w, 3)
            q, k, v = affine(query, wq, bq), affine(key, wk, bk), affine(value, wv, bv)
    else:
        for name, w_ in (("q_proj_weight", q_proj_weight), ("k_proj_weight", k_proj_weight),
                         ("v_proj_weight", v_proj_weight)):
            if w_ is None:
                raise _AttnShapeError(f"{fn}: use_separate_proj_weight is True but {name} is "
                                      "None")
        wq, wk, wv = as_array(q_proj_weight), as_array(k_proj_weight), as_array(v_proj_weight)
        _check_features(fn, key, value, wk.shape[-1], wv.shape[-1])
        bq, bk, bv = (None, None, None) if b is None else jnp.split(b, 3)
        q, k, v = affine(query, wq, bq), affine(key, wk, bk), affine(value, wv, bv)

    if attn_mask is not None:
        if attn_mask.ndim == 2:
            if attn_mask.shape != (tgt_len, key.shape[0]):
                raise _AttnMaskError(f"{fn}: The shape of the 2D attn_mask is {attn_mask.shape}, "
                                     f"but should be {(tgt_len, key.shape[0])}.")
            attn_mask = attn_mask[None]
        else:
            want = (bsz * num_heads, tgt_len, key.shape[0])
            if attn_mask.shape != want:
                raise _AttnMaskError(f"{fn}: The shape of the 3D attn_mask is {attn_mask.shape}, "
                                     f"but should be {want}.")

    def pad_last(m: jax.Array | None) -> jax.Array | None:
        return None if m is None else jnp.pad(m, [(0, 0)] * (m.ndim - 1) + [(0, 1)])

    if bias_k is not None and bias_v is not None:
        if static_k is not None or static_v is not None:
            raise _AttnShapeError(f"{fn}: bias cannot be added to static key/value.")
        k = jnp.concatenate([k, jnp.broadcast_to(as_array(bias_k), (1, bsz, embed_dim))], 0)
        v = jnp.concatenate([v, jnp.broadcast_to(as_array(bias_v), (1, bsz, embed_dim))], 0)
        attn_mask, key_padding_mask = pad_last(attn_mask), pad_last(key_padding_mask)
    elif bias_k is not None or bias_v is not None:
        raise _AttnShapeError(f"{fn}: bias_k and bias_v must be given together")

    # -- heads: (len, N, E) -> (N, H, len, head_dim) ---------------------------------------
    def heads(x):
        return jnp.transpose(x.reshape(x.shape[0], bsz, num_heads, head_dim), (1, 2, 0, 3))

    q = heads(q)
    for name, static, arr in (("static_k", static_k, "k"), ("static_v", static_v, "v")):
        if static is not None:
            s = as_array(static)
            if s.ndim != 3 or s.shape[0] != bsz * num_heads or s.shape[2] != head_dim:
                raise _AttnShapeError(f"{fn}: expecting {name} of shape ({bsz * num_heads}, S, "
                                      f"{head_dim}), got {_shape(s)}")
            s = s.reshape(bsz, num_heads, s.shape[1], head_dim)
            if arr == "k":
                k = s
            else:
                v = s
    k = heads(k) if static_k is None else k
    v = heads(v) if static_v is None else v

    if add_zero_attn:
        k = jnp.concatenate([k, jnp.zeros(k.shape[:2] + (1, head_dim), k.dtype)], 2)
        v = jnp.concatenate([v, jnp.zeros(v.shape[:2] + (1, head_dim), v.dtype)], 2)
        attn_mask, key_padding_mask = pad_last(attn_mask), pad_last(key_padding_mask)
    src_len = k.shape[2]

    bias = None
    if key_padding_mask is not None:
        if key_padding_mask.shape != (bsz, src_len):
            raise _AttnShapeError(f"{fn}: Expected key_padding_mask of shape {(bsz, src_len)}, "
                                  f"got {_shape(key_padding_mask)}")
        bias = key_padding_mask[:, None, None, :]
    if attn_mask is not None:
        m = attn_mask.reshape(-1, num_heads, tgt_len, src_len) if attn_mask.shape[0] > 1 else \
            attn_mask[None]
        bias = m if bias is None else m + bias
    if is_causal and bias is None:
        bias = jnp.where(_causal_mask(tgt_len, src_len), jnp.zeros((), dtype),
                         jnp.asarray(-jnp.inf, dtype))

    if not training:
        dropout_p = 0.0
    rkey = next_key(rng_key) if dropout_p > 0 else None
    scale = math.sqrt(1.0 / float(head_dim))
    out, weights = _attend(q, k, v, bias, scale, dropout_p, rkey, safe=not need_weights)
    out = jnp.transpose(out, (2, 0, 1, 3)).reshape(tgt_len, bsz, embed_dim)
    out = affine(out, as_array(out_proj_weight),
                None if out_proj_bias is None else as_array(out_proj_bias))
    if not need_weights:
        return (out if is_batched else out[:, 0]), None
    if average_attn_weights:
        weights = jnp.mean(weights, axis=1)
    if not is_batched:
        return out[:, 0], weights[0]
    return out, weights
