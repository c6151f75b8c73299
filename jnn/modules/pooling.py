"""Pooling layers (``torch.nn``): max / average / power-average / adaptive / fractional pooling
and max unpooling, each an N-d base class with thin 1-d/2-d/3-d subclasses.

Every layer is parameter-free; ``forward`` is one ``jnn.functional`` call and ``extra_repr``
prints torch's text.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax

from .. import functional as F
from ..functional._utils import as_array, float_tuple, int_tuple
from .module import Module

# A size argument: an int or one int per spatial dimension (adaptive sizes may hold None).
_Size = int | Sequence[int]
_OptSize = int | None | Sequence[int | None]

__all__ = [
    "MaxPool1d", "MaxPool2d", "MaxPool3d",
    "AvgPool1d", "AvgPool2d", "AvgPool3d",
    "LPPool1d", "LPPool2d", "LPPool3d",
    "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AdaptiveMaxPool3d",
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d",
    "FractionalMaxPool2d", "FractionalMaxPool3d",
    "MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d",
]


# -- max pooling --------------------------------------------------------------------------------

class _MaxPoolNd(Module):
    """Shared anatomy of ``MaxPool1d/2d/3d``.

    Args:
        kernel_size: window size (int or tuple).
        stride: window step (default ``kernel_size``).
        padding: implicit ``-inf`` padding on both sides (at most half the effective kernel).
        dilation: spacing between window elements.
        return_indices: also return the indices of the maxima (for ``MaxUnpool``).
        ceil_mode: ceil instead of floor when computing the output size.
    """

    _n = 0
    _kernel: Callable[..., Any]  # the functional kernel, bound by each subclass

    def __init__(self, kernel_size: _Size, stride: _Size | None = None, padding: _Size = 0,
                 dilation: _Size = 1, return_indices: bool = False,
                 ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if (stride is not None) else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def forward(self, input: jax.Array) -> Any:
        fn = type(self)._kernel
        return fn(input, self.kernel_size, self.stride, self.padding, self.dilation,
                  ceil_mode=self.ceil_mode, return_indices=self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
                f", dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    """1-D max pooling (``torch.nn.MaxPool1d``); arguments as in ``_MaxPoolNd``.

    Shape:
        ``(N, C, L) or (C, L) -> (N, C, L_out) or (C, L_out)``.

    Example:
        >>> nn.MaxPool1d(3, stride=2)(jnp.ones((20, 16, 50))).shape
        (20, 16, 24)
    """
    _n = 1
    _kernel = staticmethod(F.max_pool1d)


class MaxPool2d(_MaxPoolNd):
    """2-D max pooling (``torch.nn.MaxPool2d``); arguments as in ``_MaxPoolNd``.

    Shape:
        ``(N, C, H, W) or (C, H, W) -> (N, C, H_out, W_out) or (C, H_out, W_out)``.

    Example:
        >>> nn.MaxPool2d(3, 2, 1)(jnp.ones((1, 64, 112, 112))).shape
        (1, 64, 56, 56)
    """
    _n = 2
    _kernel = staticmethod(F.max_pool2d)


class MaxPool3d(_MaxPoolNd):
    """3-D max pooling (``torch.nn.MaxPool3d``); arguments as in ``_MaxPoolNd``.

    Shape:
        ``(N, C, D, H, W) or (C, D, H, W) -> (N, C, D_out, H_out, W_out) or (C, ...)``.

    Example:
        >>> nn.MaxPool3d(2)(jnp.ones((1, 2, 8, 8, 8))).shape
        (1, 2, 4, 4, 4)
    """
    _n = 3
    _kernel = staticmethod(F.max_pool3d)


# -- average pooling ----------------------------------------------------------------------------

class _AvgPoolNd(Module):
    """Shared anatomy of ``AvgPool1d/2d/3d``.

    Args:
        kernel_size: window size (int or tuple).
        stride: window step (default ``kernel_size``).
        padding: implicit zero padding on both sides (at most half the kernel).
        ceil_mode: ceil instead of floor when computing the output size.
        count_include_pad: count the zero padding in the divisor.
        divisor_override: (2-d/3-d only) if given, the divisor of every window.
    """

    _n = 0
    _kernel: Callable[..., Any]  # the functional kernel, bound by each subclass

    def __init__(self, kernel_size: _Size, stride: _Size | None = None, padding: _Size = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override: int | None = None) -> None:
        super().__init__()
        if self._n == 1:  # torch normalises AvgPool1d's arguments to 1-tuples
            name = type(self).__name__
            self.kernel_size: _Size = int_tuple(kernel_size, 1, name, "kernel_size", 1)
            self.stride: _Size = int_tuple(stride if stride is not None else kernel_size, 1, name,
                                    "stride", 1)
            self.padding: _Size = int_tuple(padding, 1, name, "padding", 0)
        else:
            self.kernel_size = kernel_size
            self.stride = stride if (stride is not None) else kernel_size
            self.padding = padding
            self.divisor_override = divisor_override
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, input: jax.Array) -> Any:
        fn = type(self)._kernel
        if self._n == 1:  # avg_pool1d takes no divisor_override
            return fn(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                      self.count_include_pad)
        return fn(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                  self.count_include_pad, self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(_AvgPoolNd):
    """1-D average pooling (``torch.nn.AvgPool1d``); arguments as in ``_AvgPoolNd``.

    Shape:
        ``(N, C, L) or (C, L) -> (N, C, L_out) or (C, L_out)``.

    Example:
        >>> nn.AvgPool1d(3, stride=2)(jnp.ones((1, 1, 7))).shape
        (1, 1, 3)
    """
    _n = 1
    _kernel = staticmethod(F.avg_pool1d)

    def __init__(self, kernel_size: _Size, stride: _Size | None = None, padding: _Size = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True) -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode, count_include_pad)


class AvgPool2d(_AvgPoolNd):
    """2-D average pooling (``torch.nn.AvgPool2d``); arguments as in ``_AvgPoolNd``.

    Shape:
        ``(N, C, H, W) or (C, H, W) -> (N, C, H_out, W_out) or (C, H_out, W_out)``.

    Example:
        >>> nn.AvgPool2d(2, 2)(jnp.ones((1, 1, 200, 200))).shape
        (1, 1, 100, 100)
    """
    _n = 2
    _kernel = staticmethod(F.avg_pool2d)


class AvgPool3d(_AvgPoolNd):
    """3-D average pooling (``torch.nn.AvgPool3d``); arguments as in ``_AvgPoolNd``.

    Shape:
        ``(N, C, D, H, W) or (C, D, H, W) -> (N, C, D_out, H_out, W_out) or (C, ...)``.

    Example:
        >>> nn.AvgPool3d(2)(jnp.ones((1, 2, 8, 8, 8))).shape
        (1, 2, 4, 4, 4)
    """
    _n = 3
    _kernel = staticmethod(F.avg_pool3d)


# -- power-average pooling ----------------------------------------------------------------------

class _LPPoolNd(Module):
    """Shared anatomy of ``LPPool1d/2d/3d``: ``(sum over the window of x^p)^(1/p)``.

    Args:
        norm_type: the power ``p`` (``inf`` gives max pooling of ``|x|``).
        kernel_size: window size (int or tuple).
        stride: window step (default ``kernel_size``).
        ceil_mode: ceil instead of floor when computing the output size.
    """

    _n = 0
    _kernel: Callable[..., Any]  # the functional kernel, bound by each subclass

    def __init__(self, norm_type: float, kernel_size: _Size, stride: _Size | None = None,
                 ceil_mode: bool = False) -> None:
        super().__init__()
        self.norm_type = norm_type
        self.kernel_size = kernel_size
        self.stride = stride
        self.ceil_mode = ceil_mode

    def forward(self, input: jax.Array) -> Any:
        fn = type(self)._kernel
        return fn(input, float(self.norm_type), self.kernel_size, self.stride, self.ceil_mode)

    def extra_repr(self) -> str:
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, ceil_mode={self.ceil_mode}")


class LPPool1d(_LPPoolNd):
    """1-D power-average pooling (``torch.nn.LPPool1d``).

    Shape:
        ``(N, C, L) or (C, L) -> (N, C, L_out) or (C, L_out)``.

    Example:
        >>> nn.LPPool1d(2, 3, stride=2)(jnp.ones((20, 16, 50))).shape
        (20, 16, 24)
    """
    _n = 1
    _kernel = staticmethod(F.lp_pool1d)


class LPPool2d(_LPPoolNd):
    """2-D power-average pooling (``torch.nn.LPPool2d``).

    Shape:
        ``(N, C, H, W) or (C, H, W) -> (N, C, H_out, W_out) or (C, H_out, W_out)``.

    Example:
        >>> nn.LPPool2d(2, 3, stride=2)(jnp.ones((1, 16, 50, 32))).shape
        (1, 16, 24, 15)
    """
    _n = 2
    _kernel = staticmethod(F.lp_pool2d)


class LPPool3d(_LPPoolNd):
    """3-D power-average pooling (``torch.nn.LPPool3d``).

    Shape:
        ``(N, C, D, H, W) or (C, D, H, W) -> (N, C, D_out, H_out, W_out) or (C, ...)``.

    Example:
        >>> nn.LPPool3d(2, 2)(jnp.ones((1, 2, 8, 8, 8))).shape
        (1, 2, 4, 4, 4)
    """
    _n = 3
    _kernel = staticmethod(F.lp_pool3d)


# -- adaptive pooling ---------------------------------------------------------------------------

class _AdaptiveMaxPoolNd(Module):
    """Shared anatomy of ``AdaptiveMaxPool1d/2d/3d``.

    Args:
        output_size: the target size (int or tuple; ``None`` entries keep the input size).
        return_indices: also return the indices of the maxima.
    """

    _n = 0
    _kernel: Callable[..., Any]  # the functional kernel, bound by each subclass

    def __init__(self, output_size: _OptSize, return_indices: bool = False) -> None:
        super().__init__()
        self.output_size = output_size
        self.return_indices = return_indices

    def forward(self, input: jax.Array) -> Any:
        fn = type(self)._kernel
        return fn(input, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    """1-D adaptive max pooling (``torch.nn.AdaptiveMaxPool1d``).

    Shape:
        ``(N, C, L) or (C, L) -> (N, C, output_size) or (C, output_size)``.

    Example:
        >>> nn.AdaptiveMaxPool1d(5)(jnp.ones((1, 64, 8))).shape
        (1, 64, 5)
    """
    _n = 1
    _kernel = staticmethod(F.adaptive_max_pool1d)


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    """2-D adaptive max pooling (``torch.nn.AdaptiveMaxPool2d``).

    Shape:
        ``(N, C, H, W) or (C, H, W) -> (N, C, *output_size) or (C, *output_size)``.

    Example:
        >>> nn.AdaptiveMaxPool2d((5, None))(jnp.ones((1, 64, 8, 9))).shape
        (1, 64, 5, 9)
    """
    _n = 2
    _kernel = staticmethod(F.adaptive_max_pool2d)


class AdaptiveMaxPool3d(_AdaptiveMaxPoolNd):
    """3-D adaptive max pooling (``torch.nn.AdaptiveMaxPool3d``).

    Shape:
        ``(N, C, D, H, W) or (C, D, H, W) -> (N, C, *output_size) or (C, *output_size)``.

    Example:
        >>> nn.AdaptiveMaxPool3d(2)(jnp.ones((1, 2, 5, 5, 5))).shape
        (1, 2, 2, 2, 2)
    """
    _n = 3
    _kernel = staticmethod(F.adaptive_max_pool3d)


class _AdaptiveAvgPoolNd(Module):
    """Shared anatomy of ``AdaptiveAvgPool1d/2d/3d``.

    Args:
        output_size: the target size (int or tuple; ``None`` entries keep the input size).
    """

    _n = 0
    _kernel: Callable[..., Any]  # the functional kernel, bound by each subclass

    def __init__(self, output_size: _OptSize) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: jax.Array) -> Any:
        fn = type(self)._kernel
        return fn(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptiveAvgPoolNd):
    """1-D adaptive average pooling (``torch.nn.AdaptiveAvgPool1d``).

    Shape:
        ``(N, C, L) or (C, L) -> (N, C, output_size) or (C, output_size)``.

    Example:
        >>> nn.AdaptiveAvgPool1d(5)(jnp.ones((1, 64, 8))).shape
        (1, 64, 5)
    """
    _n = 1
    _kernel = staticmethod(F.adaptive_avg_pool1d)


class AdaptiveAvgPool2d(_AdaptiveAvgPoolNd):
    """2-D adaptive average pooling (``torch.nn.AdaptiveAvgPool2d``).

    Shape:
        ``(N, C, H, W) or (C, H, W) -> (N, C, *output_size) or (C, *output_size)``.

    Example:
        >>> nn.AdaptiveAvgPool2d((1, 1))(jnp.ones((2, 512, 7, 7))).shape
        (2, 512, 1, 1)
    """
    _n = 2
    _kernel = staticmethod(F.adaptive_avg_pool2d)


class AdaptiveAvgPool3d(_AdaptiveAvgPoolNd):
    """3-D adaptive average pooling (``torch.nn.AdaptiveAvgPool3d``).

    Shape:
        ``(N, C, D, H, W) or (C, D, H, W) -> (N, C, *output_size) or (C, *output_size)``.

    Example:
        >>> nn.AdaptiveAvgPool3d((5, 7, 9))(jnp.ones((1, 64, 8, 9, 10))).shape
        (1, 64, 5, 7, 9)
    """
    _n = 3
    _kernel = staticmethod(F.adaptive_avg_pool3d)


# -- fractional max pooling ---------------------------------------------------------------------

class _FractionalMaxPoolNd(Module):
    """Shared anatomy of ``FractionalMaxPool2d/3d``.

    Args:
        kernel_size: window size (int or tuple).
        output_size: the target size; or
        output_ratio: the target size as a fraction of the input size, in ``(0, 1)``.
        return_indices: also return the indices of the maxima.
        _random_samples: optional ``(N, C, n)`` samples fixing the window positions (kept as a
            buffer, as in torch).

    Differences from PyTorch:
        Without ``_random_samples`` the window positions are drawn from jnn's random stream.
    """

    _n = 0
    _kernel: Callable[..., Any]  # the functional kernel, bound by each subclass

    def __init__(self, kernel_size: _Size, output_size: _Size | None = None,
                 output_ratio: float | Sequence[float] | None = None,
                 return_indices: bool = False, _random_samples: Any = None) -> None:
        super().__init__()
        name = type(self).__name__
        n = self._n
        self.kernel_size = int_tuple(kernel_size, n, name, "kernel_size", 1)
        self.return_indices = return_indices
        self.register_buffer("_random_samples",
                             None if _random_samples is None else as_array(_random_samples))
        self.output_size = (int_tuple(output_size, n, name, "output_size", 1)
                            if output_size is not None else None)
        self.output_ratio = (float_tuple(output_ratio, n, name, "output_ratio")
                             if output_ratio is not None else None)
        if output_size is None and output_ratio is None:
            raise ValueError(f"{name} requires specifying either an output size, or a pooling "
                             f"ratio")
        if output_size is not None and output_ratio is not None:
            raise ValueError("only one of output_size and output_ratio may be specified")
        if self.output_ratio is not None:
            if not all(0 < r < 1 for r in self.output_ratio):
                raise ValueError(f"output_ratio must be between 0 and 1 (got {output_ratio})")

    def forward(self, input: jax.Array) -> Any:
        fn = type(self)._kernel
        return fn(input, self.kernel_size, self.output_size, self.output_ratio,
                  self.return_indices, _random_samples=self._random_samples)


class FractionalMaxPool2d(_FractionalMaxPoolNd):
    """2-D fractional max pooling (``torch.nn.FractionalMaxPool2d``).

    Shape:
        ``(N, C, H, W) or (C, H, W) -> (N, C, *output_size) or (C, *output_size)``.

    Example:
        >>> nn.FractionalMaxPool2d(3, output_size=(13, 12))(jnp.ones((2, 4, 50, 32))).shape
        (2, 4, 13, 12)
    """
    _n = 2
    _kernel = staticmethod(F.fractional_max_pool2d)


class FractionalMaxPool3d(_FractionalMaxPoolNd):
    """3-D fractional max pooling (``torch.nn.FractionalMaxPool3d``).

    Shape:
        ``(N, C, D, H, W) or (C, D, H, W) -> (N, C, *output_size) or (C, *output_size)``.

    Example:
        >>> nn.FractionalMaxPool3d(2, output_ratio=0.5)(jnp.ones((1, 2, 8, 8, 8))).shape
        (1, 2, 4, 4, 4)
    """
    _n = 3
    _kernel = staticmethod(F.fractional_max_pool3d)


# -- unpooling ----------------------------------------------------------------------------------

class _MaxUnpoolNd(Module):
    """Shared anatomy of ``MaxUnpool1d/2d/3d``: partial inverse of max pooling.

    Args:
        kernel_size, stride, padding: the max pooling's arguments (stride defaults to
            ``kernel_size``).

    ``forward(input, indices, output_size=None)``.
    """

    _n = 0
    _kernel: Callable[..., Any]  # the functional kernel, bound by each subclass

    def __init__(self, kernel_size: _Size, stride: _Size | None = None,
                 padding: _Size = 0) -> None:
        super().__init__()
        n, name = self._n, type(self).__name__
        self.kernel_size = int_tuple(kernel_size, n, name, "kernel_size", 1)
        self.stride = int_tuple(stride if (stride is not None) else kernel_size, n, name,
                                "stride", 1)
        self.padding = int_tuple(padding, n, name, "padding", 0)

    def forward(self, input: jax.Array, indices: jax.Array,
                output_size: Sequence[int] | None = None) -> jax.Array:
        fn = type(self)._kernel
        return fn(input, indices, self.kernel_size, self.stride, self.padding, output_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpoolNd):
    """1-D max unpooling (``torch.nn.MaxUnpool1d``).

    Shape:
        ``(N, C, L_in) -> (N, C, (L_in - 1) * stride - 2 * padding + kernel_size)``.

    Example:
        >>> y, i = nn.MaxPool1d(2, return_indices=True)(jnp.arange(8.0).reshape(1, 1, 8))
        >>> nn.MaxUnpool1d(2)(y, i).shape
        (1, 1, 8)
    """
    _n = 1
    _kernel = staticmethod(F.max_unpool1d)


class MaxUnpool2d(_MaxUnpoolNd):
    """2-D max unpooling (``torch.nn.MaxUnpool2d``).

    Shape:
        ``(N, C, H_in, W_in) -> (N, C, H_out, W_out)``, ``out = (in - 1) * stride - 2 * pad + k``.

    Example:
        >>> y, i = nn.MaxPool2d(2, return_indices=True)(jnp.ones((1, 1, 4, 4)))
        >>> nn.MaxUnpool2d(2)(y, i).shape
        (1, 1, 4, 4)
    """
    _n = 2
    _kernel = staticmethod(F.max_unpool2d)


class MaxUnpool3d(_MaxUnpoolNd):
    """3-D max unpooling (``torch.nn.MaxUnpool3d``).

    Shape:
        ``(N, C, D_in, H_in, W_in) -> (N, C, D_out, H_out, W_out)``.

    Example:
        >>> y, i = nn.MaxPool3d(2, return_indices=True)(jnp.ones((1, 1, 4, 4, 4)))
        >>> nn.MaxUnpool3d(2)(y, i).shape
        (1, 1, 4, 4, 4)
    """
    _n = 3
    _kernel = staticmethod(F.max_unpool3d)
