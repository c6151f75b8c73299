"""Sliding-block layers: ``Unfold`` (im2col) and ``Fold`` (col2im)."""
from __future__ import annotations

from .. import functional as F
from ..types import Array, size_any_t
from .module import Module

__all__ = ["Fold", "Unfold"]


class Fold(Module):
    """Combines an array of sliding local blocks into an image (``torch.nn.Fold``).

    Args:
        output_size: spatial size ``(H, W)`` of the output (int or pair).
        kernel_size: size of the blocks.
        dilation, padding, stride: as in ``Unfold`` (defaults 1, 0, 1).

    Shape:
        ``(N, C * kH * kW, L)`` or ``(C * kH * kW, L)`` -> ``(N, C, H, W)`` or ``(C, H, W)``;
        overlapping values are summed (see :func:`jnn.functional.fold`).

    Example:
        >>> fold = nn.Fold(output_size=(4, 5), kernel_size=(2, 2))
        >>> fold(nn.randn(1, 3 * 2 * 2, 12)).shape
        (1, 3, 4, 5)
    """

    def __init__(self, output_size: size_any_t, kernel_size: size_any_t, dilation: size_any_t = 1,
                 padding: size_any_t = 0, stride: size_any_t = 1) -> None:
        super().__init__()
        self.output_size = output_size
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input: Array) -> Array:
        return F.fold(input, self.output_size, self.kernel_size, self.dilation, self.padding,
                      self.stride)

    def extra_repr(self) -> str:
        return ("output_size={output_size}, kernel_size={kernel_size}, "
                "dilation={dilation}, padding={padding}, stride={stride}".format(**self.__dict__))


class Unfold(Module):
    """Extracts sliding local blocks from a batched image (``torch.nn.Unfold``).

    Args:
        kernel_size: size of the blocks (int or pair).
        dilation: spacing between block elements (default 1).
        padding: implicit zero padding on both sides (default 0).
        stride: step between blocks (default 1).

    Shape:
        ``(N, C, H, W)`` or ``(C, H, W)`` -> ``(N, C * kH * kW, L)`` or
        ``(C * kH * kW, L)`` (see :func:`jnn.functional.unfold`).

    Example:
        >>> unfold = nn.Unfold(kernel_size=(2, 3))
        >>> unfold(nn.randn(2, 5, 3, 4)).shape
        (2, 30, 4)
    """

    def __init__(self, kernel_size: size_any_t, dilation: size_any_t = 1, padding: size_any_t = 0,
                 stride: size_any_t = 1) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input: Array) -> Array:
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return ("kernel_size={kernel_size}, dilation={dilation}, padding={padding}, "
                "stride={stride}".format(**self.__dict__))
