"""Normalization layers without running statistics: ``LayerNorm``, ``GroupNorm``, ``RMSNorm``,
``LocalResponseNorm``. Each ``forward`` is one ``jnn.functional`` call."""
from __future__ import annotations

import numbers

from .. import functional as F
from .. import init
from ..parameter import Parameter
from ..types import Array, DeviceLike, DTypeLike, shape_t
from . import _factory
from ._factory import factory_dtype, place
from .module import Module

__all__ = ["LocalResponseNorm", "LayerNorm", "GroupNorm", "RMSNorm"]


def _shape_tuple(layer: str, normalized_shape) -> tuple:
    if isinstance(normalized_shape, numbers.Integral):
        normalized_shape = (normalized_shape,)
    try:
        shape = tuple(int(s) for s in normalized_shape)
    except TypeError:
        raise TypeError(f"{layer}: expected normalized_shape to be an int or a sequence of ints, "
                        f"got {normalized_shape!r}") from None
    if any(s < 0 for s in shape):
        raise ValueError(f"{layer}: expected non-negative sizes in normalized_shape, got {shape}")
    return shape


class LocalResponseNorm(Module):
    """Local response normalization across channels (``torch.nn.LocalResponseNorm``).

    Args:
        size: number of neighbouring channels used for normalization.
        alpha: multiplicative factor (default ``1e-4``).
        beta: exponent (default ``0.75``).
        k: additive factor (default ``1.0``).

    Shape:
        ``(N, C, *) -> (N, C, *)``.

    Example:
        >>> nn.LocalResponseNorm(2)(nn.randn(2, 4, 3, 3)).shape
        (2, 4, 3, 3)
    """

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> None:
        super().__init__()
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.k = k

    def forward(self, input: Array) -> Array:
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class LayerNorm(Module):
    """Layer normalization over the trailing ``normalized_shape`` dims (``torch.nn.LayerNorm``).

    Args:
        normalized_shape: int or tuple: the trailing dimensions to normalise over.
        eps: added to the variance (default ``1e-5``).
        elementwise_affine: learn ``weight`` (init 1) and ``bias`` (init 0) of shape
            ``normalized_shape`` (default ``True``).
        bias: learn the bias when ``elementwise_affine`` (default ``True``).
        device, dtype: where and in which floating dtype to create the parameters.

    Shape:
        ``(*, *normalized_shape) -> same``.

    Example:
        >>> nn.LayerNorm(10)
        LayerNorm((10,), eps=1e-05, elementwise_affine=True, bias=True)
    """

    def __init__(self, normalized_shape: shape_t, eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True,
                 device: DeviceLike | None = None, dtype: DTypeLike | None = None) -> None:
        super().__init__()
        self.normalized_shape = _shape_tuple("LayerNorm", normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        dt = factory_dtype(dtype)
        if elementwise_affine:
            self.weight = Parameter(_factory.empty(self.normalized_shape, dt))
            if bias:
                self.bias = Parameter(_factory.empty(self.normalized_shape, dt))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.reset_parameters()
        place(self, device)

    def reset_parameters(self) -> None:
        if self.elementwise_affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def forward(self, input: Array) -> Array:
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class GroupNorm(Module):
    """Group normalization (``torch.nn.GroupNorm``).

    Args:
        num_groups: number of channel groups (must divide ``num_channels``).
        num_channels: ``C``.
        eps: added to the variance (default ``1e-5``).
        affine: learn per-channel ``weight`` (init 1) and ``bias`` (init 0) (default ``True``).
        device, dtype: where and in which floating dtype to create the parameters.
        bias: keyword-only; with ``affine``, learn the bias (default ``True``).

    Shape:
        ``(N, C, *) -> (N, C, *)``.

    Example:
        >>> nn.GroupNorm(2, 6)
        GroupNorm(2, 6, eps=1e-05, affine=True, bias=True)
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True,
                 device: DeviceLike | None = None, dtype: DTypeLike | None = None, *,
                 bias: bool = True) -> None:
        super().__init__()
        if not isinstance(num_groups, int) or num_groups <= 0:
            raise ValueError(f"GroupNorm: expected num_groups to be a positive int, got "
                             f"{num_groups!r}")
        if num_channels % num_groups != 0:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by "
                             f"num_groups ({num_groups})")
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        dt = factory_dtype(dtype)
        if affine:
            self.weight = Parameter(_factory.empty((num_channels,), dt))
            if bias:
                self.bias = Parameter(_factory.empty((num_channels,), dt))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.reset_parameters()
        place(self, device)

    def reset_parameters(self) -> None:
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def forward(self, input: Array) -> Array:
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, "
                f"affine={self.affine}, bias={self.bias is not None}")


class RMSNorm(Module):
    """Root-mean-square layer normalization (``torch.nn.RMSNorm``).

    ``y = x / sqrt(mean(x**2) + eps) * weight`` over the trailing ``normalized_shape`` dims.

    Args:
        normalized_shape: int or tuple: the trailing dimensions to normalise over.
        eps: added inside the square root (default ``None``: ``finfo(input.dtype).eps``).
        elementwise_affine: learn ``weight`` (init 1) (default ``True``).
        device, dtype: where and in which floating dtype to create the weight.

    Shape:
        ``(*, *normalized_shape) -> same``.

    Example:
        >>> nn.RMSNorm([2, 3])
        RMSNorm((2, 3), eps=None, elementwise_affine=True)
    """

    def __init__(self, normalized_shape: shape_t, eps: float | None = None,
                 elementwise_affine: bool = True, device: DeviceLike | None = None,
                 dtype: DTypeLike | None = None) -> None:
        super().__init__()
        self.normalized_shape = _shape_tuple("RMSNorm", normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(_factory.empty(self.normalized_shape, factory_dtype(dtype)))
        else:
            self.register_parameter("weight", None)
        self.reset_parameters()
        place(self, device)

    def reset_parameters(self) -> None:
        if self.elementwise_affine:
            init.ones_(self.weight)

    def forward(self, x: Array) -> Array:
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")
