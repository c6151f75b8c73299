"""``PixelShuffle`` and ``PixelUnshuffle`` (sub-pixel convolution rearrangements)."""
from __future__ import annotations

from .. import functional as F
from ..types import Array
from .module import Module

__all__ = ["PixelShuffle", "PixelUnshuffle"]


class PixelShuffle(Module):
    """Rearranges ``(*, C * r^2, H, W)`` into ``(*, C, H * r, W * r)`` (``torch.nn.PixelShuffle``).

    Args:
        upscale_factor: ``r``.

    Shape:
        ``(*, C * r^2, H, W) -> (*, C, H * r, W * r)``.

    Example:
        >>> nn.PixelShuffle(3)(nn.randn(1, 9, 4, 4)).shape
        (1, 1, 12, 12)
    """

    def __init__(self, upscale_factor: int) -> None:
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input: Array) -> Array:
        return F.pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """Reverses ``PixelShuffle``: ``(*, C, H * r, W * r) -> (*, C * r^2, H, W)``
    (``torch.nn.PixelUnshuffle``).

    Args:
        downscale_factor: ``r``.

    Shape:
        ``(*, C, H * r, W * r) -> (*, C * r^2, H, W)``.

    Example:
        >>> nn.PixelUnshuffle(3)(nn.randn(1, 1, 12, 12)).shape
        (1, 9, 4, 4)
    """

    def __init__(self, downscale_factor: int) -> None:
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input: Array) -> Array:
        return F.pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"
