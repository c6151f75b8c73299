"""Transformer layers: ``Transformer``, ``TransformerEncoder``, ``TransformerDecoder``,
``TransformerEncoderLayer``, ``TransformerDecoderLayer`` (torch's structure, names and reprs).

Differences from PyTorch:
    There is no inference fast path (nested tensors, fused encoder-layer kernel). Results equal
    torch's general path; torch's inference fast path (eval mode, no gradients,
    ``batch_first=True`` with a ``src_key_padding_mask``) returns zeros at padded positions,
    jnn returns the general path's values there. The causal-mask detection of
    ``is_causal=None`` (a data-dependent check in torch) is skipped: the given mask is used
    as is, which gives the same numbers.
"""
from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from typing import Any

import jax.numpy as jnp

from .. import functional as F
from .. import init
from ..functional.attention import _canonical_mask
from ..types import Array, DeviceLike, DTypeLike
from ._factory import factory_dtype
from .module import Module

__all__ = ["Transformer", "TransformerEncoder", "TransformerDecoder", "TransformerEncoderLayer",
           "TransformerDecoderLayer"]


class _TransformerError(ValueError, RuntimeError):
    """Bad argument: a ``ValueError`` that is also the ``RuntimeError`` torch raises."""


def _layers():
    # Imported at call time: these families live in other files of jnn.modules.
    from .attention import MultiheadAttention
    from .container import ModuleList
    from .dropout import Dropout
    from .linear import Linear
    from .normalization import LayerNorm
    return ModuleList, Dropout, Linear, LayerNorm, MultiheadAttention


def _generate_square_subsequent_mask(sz: int, device=None, dtype=None):
    dtype = factory_dtype(dtype)
    return jnp.triu(jnp.full((sz, sz), -jnp.inf, dtype), 1)


def _get_activation_fn(activation: str) -> Callable:
    if activation == "relu":
        return F.relu
    if activation == "gelu":
        return F.gelu
    raise _TransformerError(f"activation should be relu/gelu, not {activation}")


def _get_clones(module, n: int):
    ModuleList = _layers()[0]
    return ModuleList([copy.deepcopy(module) for _ in range(n)])


class TransformerEncoderLayer(Module):
    """Self-attention and a feed-forward block, each with a residual and LayerNorm
    (``torch.nn.TransformerEncoderLayer``).

    Args:
        d_model: model dimension.
        nhead: attention heads.
        dim_feedforward: hidden size of the feed-forward block (default 2048).
        dropout: dropout probability (default 0.1).
        activation: ``'relu'`` (default), ``'gelu'`` or a callable (function or module).
        layer_norm_eps: LayerNorm epsilon (default 1e-5).
        batch_first: ``(N, S, E)`` instead of ``(S, N, E)``.
        norm_first: pre-norm (LayerNorm before each block) instead of post-norm.
        bias: learn biases in the linear and LayerNorm layers.
        device, dtype: factory arguments.

    Shape:
        src ``(S, N, E)`` (``(N, S, E)`` with ``batch_first``; unbatched ``(S, E)``);
        src_mask ``(S, S)`` or ``(N * nhead, S, S)``; src_key_padding_mask ``(N, S)``.

    Example:
        >>> layer = nn.TransformerEncoderLayer(d_model=8, nhead=2, dim_feedforward=16)
        >>> layer(nn.randn(5, 3, 8)).shape
        (5, 3, 8)
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: str | Callable = F.relu, layer_norm_eps: float = 1e-5,
                 batch_first: bool = False, norm_first: bool = False, bias: bool = True,
                 device: DeviceLike | None = None, dtype: DTypeLike | None = None) -> None:
        super().__init__()
        _, Dropout, Linear, LayerNorm, MultiheadAttention = _layers()
        fk = dict(device=device, dtype=dtype)
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first, **fk)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **fk)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **fk)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **fk)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **fk)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        if isinstance(activation, str):
            activation = _get_activation_fn(activation)
        from .activation import GELU, ReLU
        if activation is F.relu or isinstance(activation, ReLU):
            self.activation_relu_or_gelu = 1
        elif activation is F.gelu or isinstance(activation, GELU):
            self.activation_relu_or_gelu = 2
        else:
            self.activation_relu_or_gelu = 0
        self.activation = activation

    def forward(self, src: Array, src_mask: Array | None = None,
                src_key_padding_mask: Array | None = None, is_causal: bool = False) -> Array:
        dtype = jnp.result_type(src)
        src_key_padding_mask = _canonical_mask(src_key_padding_mask, "src_key_padding_mask",
                                               src_mask, "src_mask", dtype)
        src_mask = _canonical_mask(src_mask, "src_mask", None, "", dtype, check_other=False)
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
            x = self.norm2(x + self._ff_block(x))
        return x

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal=False):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_block(self, x):
        x = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return self.dropout2(x)


class TransformerDecoderLayer(Module):
    """Self-attention, cross-attention over ``memory`` and a feed-forward block, each with a
    residual and LayerNorm (``torch.nn.TransformerDecoderLayer``).

    Args:
        d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps, batch_first,
        norm_first, bias, device, dtype: as in :class:`TransformerEncoderLayer`.

    Shape:
        tgt ``(T, N, E)``, memory ``(S, N, E)`` (batch first with ``batch_first``);
        tgt_mask ``(T, T)``, memory_mask ``(T, S)``; key padding masks ``(N, T)``/``(N, S)``.

    Example:
        >>> layer = nn.TransformerDecoderLayer(d_model=8, nhead=2, dim_feedforward=16)
        >>> layer(nn.randn(4, 3, 8), nn.randn(6, 3, 8)).shape
        (4, 3, 8)
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: str | Callable = F.relu, layer_norm_eps: float = 1e-5,
                 batch_first: bool = False, norm_first: bool = False, bias: bool = True,
                 device: DeviceLike | None = None, dtype: DTypeLike | None = None) -> None:
        super().__init__()
        _, Dropout, Linear, LayerNorm, MultiheadAttention = _layers()
        fk = dict(device=device, dtype=dtype)
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout,
                                            batch_first=batch_first, bias=bias, **fk)
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout,
                                                 batch_first=batch_first, bias=bias, **fk)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **fk)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **fk)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **fk)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **fk)
        self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **fk)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.dropout3 = Dropout(dropout)
        if isinstance(activation, str):
            self.activation = _get_activation_fn(activation)
        else:
            self.activation = activation

    def forward(self, tgt: Array, memory: Array, tgt_mask: Array | None = None,
                memory_mask: Array | None = None, tgt_key_padding_mask: Array | None = None,
                memory_key_padding_mask: Array | None = None, tgt_is_causal: bool = False,
                memory_is_causal: bool = False) -> Array:
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(self.norm2(x), memory, memory_mask, memory_key_padding_mask,
                                    memory_is_causal)
            x = x + self._ff_block(self.norm3(x))
        else:
            x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
            x = self.norm2(x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask,
                                               memory_is_causal))
            x = self.norm3(x + self._ff_block(x))
        return x

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal=False):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           is_causal=is_causal, need_weights=False)[0]
        return self.dropout1(x)

    def _mha_block(self, x, mem, attn_mask, key_padding_mask, is_causal=False):
        x = self.multihead_attn(x, mem, mem, attn_mask=attn_mask,
                                key_padding_mask=key_padding_mask, is_causal=is_causal,
                                need_weights=False)[0]
        return self.dropout2(x)

    def _ff_block(self, x):
        x = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return self.dropout3(x)


class TransformerEncoder(Module):
    """A stack of ``num_layers`` deep copies of an encoder layer (``torch.nn.TransformerEncoder``).

    Args:
        encoder_layer: the layer to copy (``layers.0``, ``layers.1``, ...).
        num_layers: number of copies.
        norm: optional final normalisation module.
        enable_nested_tensor, mask_check: accepted for torch compatibility (jnn has no
            nested-tensor fast path; ``use_nested_tensor`` is computed as torch does).

    Shape:
        As :class:`TransformerEncoderLayer`.

    Example:
        >>> layer = nn.TransformerEncoderLayer(d_model=8, nhead=2, dim_feedforward=16)
        >>> enc = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        >>> enc(nn.randn(5, 3, 8)).shape
        (5, 3, 8)
    """

    def __init__(self, encoder_layer: TransformerEncoderLayer, num_layers: int,
                 norm: Module | None = None, enable_nested_tensor: bool = True,
                 mask_check: bool = True) -> None:
        super().__init__()
        self.layers = _get_clones(encoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm
        self.enable_nested_tensor = enable_nested_tensor
        self.use_nested_tensor = enable_nested_tensor
        self.mask_check = mask_check
        why = ""
        enc = "encoder_layer"
        if not isinstance(encoder_layer, TransformerEncoderLayer):
            why = f"{enc} was not TransformerEncoderLayer"
        elif encoder_layer.norm_first:
            why = f"{enc}.norm_first was True"
        elif not encoder_layer.self_attn.batch_first:
            why = (f"{enc}.self_attn.batch_first was not True"
                   "(use batch_first for better inference performance)")
        elif not encoder_layer.self_attn._qkv_same_embed_dim:
            why = f"{enc}.self_attn._qkv_same_embed_dim was not True"
        elif encoder_layer.self_attn.in_proj_bias is None:
            why = f"{enc}.self_attn was passed bias=False"
        elif not encoder_layer.activation_relu_or_gelu:
            why = f"{enc}.activation_relu_or_gelu was not True"
        elif encoder_layer.norm1.eps != encoder_layer.norm2.eps:
            why = f"{enc}.norm1.eps was not equal to {enc}.norm2.eps"
        elif encoder_layer.self_attn.num_heads % 2 == 1:
            why = f"{enc}.self_attn.num_heads is odd"
        if enable_nested_tensor and why:
            warnings.warn(f"enable_nested_tensor is True, but self.use_nested_tensor is False "
                          f"because {why}", stacklevel=2)
            self.use_nested_tensor = False

    def forward(self, src: Array, mask: Array | None = None,
                src_key_padding_mask: Array | None = None, is_causal: bool | None = None) -> Array:
        dtype = jnp.result_type(src)
        src_key_padding_mask = _canonical_mask(src_key_padding_mask, "src_key_padding_mask",
                                               mask, "mask", dtype)
        mask = _canonical_mask(mask, "mask", None, "", dtype, check_other=False)
        output = src
        for mod in self.layers:
            output = mod(output, src_mask=mask, is_causal=is_causal is True,
                         src_key_padding_mask=src_key_padding_mask)
        if self.norm is not None:
            output = self.norm(output)
        return output


class TransformerDecoder(Module):
    """A stack of ``num_layers`` deep copies of a decoder layer (``torch.nn.TransformerDecoder``).

    Args:
        decoder_layer: the layer to copy.
        num_layers: number of copies.
        norm: optional final normalisation module.

    Shape:
        As :class:`TransformerDecoderLayer`.

    Example:
        >>> layer = nn.TransformerDecoderLayer(d_model=8, nhead=2, dim_feedforward=16)
        >>> dec = nn.TransformerDecoder(layer, num_layers=2)
        >>> dec(nn.randn(4, 3, 8), nn.randn(6, 3, 8)).shape
        (4, 3, 8)
    """

    def __init__(self, decoder_layer: TransformerDecoderLayer, num_layers: int,
                 norm: Module | None = None) -> None:
        super().__init__()
        self.layers = _get_clones(decoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, tgt: Array, memory: Array, tgt_mask: Array | None = None,
                memory_mask: Array | None = None, tgt_key_padding_mask: Array | None = None,
                memory_key_padding_mask: Array | None = None, tgt_is_causal: bool | None = None,
                memory_is_causal: bool = False) -> Array:
        output = tgt
        for mod in self.layers:
            output = mod(output, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                         tgt_key_padding_mask=tgt_key_padding_mask,
                         memory_key_padding_mask=memory_key_padding_mask,
                         tgt_is_causal=tgt_is_causal is True, memory_is_causal=memory_is_causal)
        if self.norm is not None:
            output = self.norm(output)
        return output


class Transformer(Module):
    """The encoder-decoder Transformer of "Attention Is All You Need" (``torch.nn.Transformer``).

    Args:
        d_model: model dimension (default 512).
        nhead: attention heads (default 8).
        num_encoder_layers, num_decoder_layers: stack depths (default 6 each).
        dim_feedforward: feed-forward hidden size (default 2048).
        dropout: dropout probability (default 0.1).
        activation: ``'relu'``/``'gelu'`` or a callable (default ReLU).
        custom_encoder, custom_decoder: modules to use instead of the default stacks.
        layer_norm_eps, batch_first, norm_first, bias, device, dtype: as in the layers.

    Shape:
        src ``(S, N, E)``, tgt ``(T, N, E)`` (batch first with ``batch_first``; unbatched
        ``(S, E)``/``(T, E)``) -> ``(T, N, E)``.

    Example:
        >>> model = nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1,
        ...                        num_decoder_layers=1, dim_feedforward=16)
        >>> tgt_mask = nn.Transformer.generate_square_subsequent_mask(4)
        >>> model(nn.randn(6, 3, 8), nn.randn(4, 3, 8), tgt_mask=tgt_mask).shape
        (4, 3, 8)
    """

    def __init__(self, d_model: int = 512, nhead: int = 8, num_encoder_layers: int = 6,
                 num_decoder_layers: int = 6, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: str | Callable = F.relu, custom_encoder: Any | None = None,
                 custom_decoder: Any | None = None, layer_norm_eps: float = 1e-5,
                 batch_first: bool = False, norm_first: bool = False, bias: bool = True,
                 device: DeviceLike | None = None, dtype: DTypeLike | None = None) -> None:
        super().__init__()
        LayerNorm = _layers()[3]
        fk = dict(device=device, dtype=dtype)
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            encoder_layer = TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout,
                                                    activation, layer_norm_eps, batch_first,
                                                    norm_first, bias, **fk)
            encoder_norm = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **fk)
            self.encoder = TransformerEncoder(encoder_layer, num_encoder_layers, encoder_norm)
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            decoder_layer = TransformerDecoderLayer(d_model, nhead, dim_feedforward, dropout,
                                                    activation, layer_norm_eps, batch_first,
                                                    norm_first, bias, **fk)
            decoder_norm = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **fk)
            self.decoder = TransformerDecoder(decoder_layer, num_decoder_layers, decoder_norm)
        self._reset_parameters()
        self.d_model = d_model
        self.nhead = nhead
        self.batch_first = batch_first

    def forward(self, src: Array, tgt: Array, src_mask: Array | None = None,
                tgt_mask: Array | None = None, memory_mask: Array | None = None,
                src_key_padding_mask: Array | None = None,
                tgt_key_padding_mask: Array | None = None,
                memory_key_padding_mask: Array | None = None, src_is_causal: bool | None = None,
                tgt_is_causal: bool | None = None, memory_is_causal: bool = False) -> Array:
        src_shape, tgt_shape = jnp.shape(src), jnp.shape(tgt)
        is_batched = len(src_shape) == 3
        batch_dim = 0 if self.batch_first else 1
        if is_batched and (len(tgt_shape) != 3 or src_shape[batch_dim] != tgt_shape[batch_dim]):
            raise _TransformerError(f"the batch number of src and tgt must be equal, got src "
                                    f"shape {tuple(src_shape)} and tgt shape {tuple(tgt_shape)}")
        if src_shape[-1] != self.d_model or tgt_shape[-1] != self.d_model:
            raise _TransformerError(f"the feature number of src and tgt must be equal to d_model "
                                    f"({self.d_model}), got src shape {tuple(src_shape)} and tgt "
                                    f"shape {tuple(tgt_shape)}")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask,
                              is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask,
                            tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz: int, device=None, dtype=None):
        """A float ``(sz, sz)`` mask with ``-inf`` above the diagonal and ``0`` elsewhere.

        Example:
            >>> nn.Transformer.generate_square_subsequent_mask(3)[0].tolist()
            [0.0, -inf, -inf]
        """
        return _generate_square_subsequent_mask(sz, device=device, dtype=dtype)

    def _reset_parameters(self) -> None:
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p)
