"""Upsampling layers (``torch.nn``): ``Upsample``, ``UpsamplingNearest2d``,
``UpsamplingBilinear2d``; each forward is one ``F.interpolate`` call."""
from __future__ import annotations

from .. import functional as F
from ..types import Array, ratio_any_t, size_any_t
from .module import Module

__all__ = ["Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d"]


class Upsample(Module):
    """Resample multi-channel 1-D/2-D/3-D data (``torch.nn.Upsample``).

    Args:
        size: output spatial size (int or tuple).
        scale_factor: multiplier(s) for the spatial size (exactly one of size/scale_factor).
        mode: ``'nearest'``, ``'nearest-exact'``, ``'linear'``, ``'bilinear'``, ``'bicubic'``,
            ``'trilinear'`` or ``'area'``.
        align_corners: for the interpolating modes (default ``False``).
        recompute_scale_factor: see ``F.interpolate``.

    Shape:
        ``(N, C, *in) -> (N, C, *out)``, ``out = floor(in * scale_factor)`` or ``size``.

    Example:
        >>> nn.Upsample(scale_factor=2, mode="nearest")(jnp.ones((1, 1, 2, 2))).shape
        (1, 1, 4, 4)
    """

    def __init__(self, size: size_any_t | None = None, scale_factor: ratio_any_t | None = None,
                 mode: str = "nearest", align_corners: bool | None = None,
                 recompute_scale_factor: bool | None = None) -> None:
        super().__init__()
        self.name = type(self).__name__
        self.size = size
        self.scale_factor: tuple[float, ...] | float | None
        if isinstance(scale_factor, tuple):
            self.scale_factor = tuple(float(factor) for factor in scale_factor)
        else:
            self.scale_factor = float(scale_factor) if scale_factor else None
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input: Array) -> Array:
        return F.interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                             recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self) -> str:
        if self.scale_factor is not None:
            info = "scale_factor=" + repr(self.scale_factor)
        else:
            info = "size=" + repr(self.size)
        info += ", mode=" + repr(self.mode)
        return info


class UpsamplingNearest2d(Upsample):
    """Nearest-neighbour 2-D upsampling (``torch.nn.UpsamplingNearest2d``).

    Args:
        size: output spatial size; or
        scale_factor: multiplier for the spatial size.

    Shape:
        ``(N, C, H, W) -> (N, C, H_out, W_out)``.

    Example:
        >>> nn.UpsamplingNearest2d(scale_factor=2)(jnp.ones((1, 1, 2, 2))).shape
        (1, 1, 4, 4)
    """

    def __init__(self, size: size_any_t | None = None,
                 scale_factor: ratio_any_t | None = None) -> None:
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """Bilinear 2-D upsampling with ``align_corners=True`` (``torch.nn.UpsamplingBilinear2d``).

    Args:
        size: output spatial size; or
        scale_factor: multiplier for the spatial size.

    Shape:
        ``(N, C, H, W) -> (N, C, H_out, W_out)``.

    Example:
        >>> nn.UpsamplingBilinear2d(scale_factor=2)(jnp.ones((1, 1, 2, 2))).shape
        (1, 1, 4, 4)
    """

    def __init__(self, size: size_any_t | None = None,
                 scale_factor: ratio_any_t | None = None) -> None:
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)
