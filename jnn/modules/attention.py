"""Attention layers: ``MultiheadAttention``.

(torch defines it in ``torch/nn/modules/activation.py``; jnn keeps attention in its own family.)
"""
from __future__ import annotations

import jax.numpy as jnp

from .. import functional as F
from .. import init
from ..parameter import Parameter
from ..types import Array, DeviceLike, DTypeLike
from . import _factory
from ._factory import factory_dtype, place
from .linear import Linear
from .module import Module

__all__ = ["MultiheadAttention"]


class NonDynamicallyQuantizableLinear(Linear):
    """A ``Linear`` under torch's name for ``MultiheadAttention.out_proj`` (so reprs match).

    Example:
        >>> NonDynamicallyQuantizableLinear(8, 8)
        NonDynamicallyQuantizableLinear(in_features=8, out_features=8, bias=True)
    """


class MultiheadAttention(Module):
    """Multi-head attention (``torch.nn.MultiheadAttention``).

    ``MultiHead(Q, K, V) = Concat(head_1, ..., head_H) W^O`` with
    ``head_i = softmax(Q W_i^Q (K W_i^K)^T / sqrt(E / H) + mask) V W_i^V``.

    Args:
        embed_dim: ``E``, the model dimension.
        num_heads: ``H``; ``E`` must be divisible by ``H``.
        dropout: dropout on the attention weights (training only; default 0).
        bias: learn ``in_proj_bias`` and ``out_proj.bias`` (default ``True``).
        add_bias_kv: learn ``bias_k``/``bias_v`` ``(1, 1, E)`` appended to the keys/values.
        add_zero_attn: append a zero key/value per head.
        kdim, vdim: feature sizes of key/value (default ``E``); when they differ from ``E``
            the projections are ``q_proj_weight``/``k_proj_weight``/``v_proj_weight``.
        batch_first: inputs and output are ``(N, L, E)`` instead of ``(L, N, E)``.
        device, dtype: factory arguments.

    Shape:
        query ``(L, N, E)``, key ``(S, N, kdim)``, value ``(S, N, vdim)`` (or unbatched
        ``(L, E)`` ...); ``key_padding_mask (N, S)``; ``attn_mask (L, S)`` or
        ``(N * H, L, S)``. Output ``(L, N, E)``; weights ``(N, L, S)`` (averaged) or
        ``(N, H, L, S)``.

    Attributes:
        in_proj_weight: ``(3E, E)``, xavier-uniform init (or the three ``*_proj_weight``).
        in_proj_bias: ``(3E,)`` zeros; out_proj: ``NonDynamicallyQuantizableLinear(E, E)``
        with zero bias; bias_k, bias_v: ``(1, 1, E)`` xavier-normal init.

    Differences from PyTorch:
        There is no inference fast path; results equal torch's general path (torch's fast
        path returns zeros instead of NaN for fully masked query rows).

    Example:
        >>> mha = nn.MultiheadAttention(8, 2)
        >>> q = nn.randn(5, 3, 8)
        >>> out, w = mha(q, q, q)
        >>> out.shape, w.shape
        ((5, 3, 8), (3, 5, 5))
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
                 vdim: int | None = None, batch_first: bool = False,
                 device: DeviceLike | None = None, dtype: DTypeLike | None = None) -> None:
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got "
                             f"embed_dim={embed_dim} and num_heads={num_heads} instead")
        super().__init__()
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != self.embed_dim:
            raise ValueError(f"embed_dim must be divisible by num_heads, got embed_dim="
                             f"{embed_dim} and num_heads={num_heads}")
        dt = factory_dtype(dtype)
        if not self._qkv_same_embed_dim:
            self.q_proj_weight = Parameter(_factory.empty((embed_dim, embed_dim), dt))
            self.k_proj_weight = Parameter(_factory.empty((embed_dim, self.kdim), dt))
            self.v_proj_weight = Parameter(_factory.empty((embed_dim, self.vdim), dt))
            self.register_parameter("in_proj_weight", None)
        else:
            self.in_proj_weight = Parameter(_factory.empty((3 * embed_dim, embed_dim), dt))
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(_factory.empty((3 * embed_dim,), dt))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias,
                                                        dtype=dtype)
        if add_bias_kv:
            self.bias_k = Parameter(_factory.empty((1, 1, embed_dim), dt))
            self.bias_v = Parameter(_factory.empty((1, 1, embed_dim), dt))
        else:
            self.bias_k = self.bias_v = None  # type: ignore[assignment]  # (torch's None)
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()
        place(self, device)

    def _reset_parameters(self) -> None:
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
        if self.bias_v is not None:
            init.xavier_normal_(self.bias_v)

    def forward(self, query: Array, key: Array, value: Array, key_padding_mask: Array | None = None,
                need_weights: bool = True, attn_mask: Array | None = None,
                average_attn_weights: bool = True,
                is_causal: bool = False) -> tuple[Array, Array | None]:
        is_batched = jnp.ndim(query) == 3
        if self.batch_first and is_batched:
            # Keep identities (self-attention uses one fused projection).
            if key is value:
                if query is key:
                    query = key = value = jnp.swapaxes(query, 0, 1)
                else:
                    query, key = (jnp.swapaxes(x, 0, 1) for x in (query, key))
                    value = key
            else:
                query, key, value = (jnp.swapaxes(x, 0, 1) for x in (query, key, value))
        separate = not self._qkv_same_embed_dim
        out, weights = F.multi_head_attention_forward(
            query, key, value, self.embed_dim, self.num_heads, self.in_proj_weight,
            self.in_proj_bias, self.bias_k, self.bias_v, self.add_zero_attn, self.dropout,
            self.out_proj.weight, self.out_proj.bias, training=self.training,
            key_padding_mask=key_padding_mask, need_weights=need_weights, attn_mask=attn_mask,
            use_separate_proj_weight=separate,
            q_proj_weight=self.q_proj_weight if separate else None,
            k_proj_weight=self.k_proj_weight if separate else None,
            v_proj_weight=self.v_proj_weight if separate else None,
            average_attn_weights=average_attn_weights, is_causal=is_causal)
        if self.batch_first and is_batched:
            out = jnp.swapaxes(out, 0, 1)
        return out, weights

    def merge_masks(self, attn_mask, key_padding_mask, query):
        """torch's helper: one additive ``(N, H, L, L)`` mask and its type (1: padding, 2: both)."""
        mask_type, merged = None, None
        if key_padding_mask is not None:
            mask_type, merged = 1, key_padding_mask
        if attn_mask is not None:
            batch_size, seq_len, _ = jnp.shape(query)
            mask_type = 2
            if jnp.ndim(attn_mask) == 3:
                expanded = jnp.reshape(attn_mask, (batch_size, -1, seq_len, seq_len))
            else:
                expanded = jnp.broadcast_to(jnp.reshape(attn_mask, (1, 1, seq_len, seq_len)),
                                            (batch_size, self.num_heads, seq_len, seq_len))
            merged = expanded
            if key_padding_mask is not None:
                merged = expanded + jnp.broadcast_to(
                    jnp.reshape(key_padding_mask, (batch_size, 1, 1, seq_len)),
                    (batch_size, self.num_heads, 1, seq_len))
        return merged, mask_type
