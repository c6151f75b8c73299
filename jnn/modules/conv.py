"""Convolution layers: ``Conv1d/2d/3d``, ``ConvTranspose1d/2d/3d`` and their ``Lazy*`` forms.

One shared ``_ConvNd`` base (torch's anatomy: the same attributes, parameter layouts and
``extra_repr``); the public classes only fix the number of spatial dimensions and the kernel.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import jax.numpy as jnp

from .. import functional as F
from .. import init
from ..functional._utils import int_tuple
from ..parameter import Parameter, UninitializedParameter
from ..types import Array, DeviceLike, DTypeLike, size_any_t
from . import _factory
from ._factory import factory_dtype, place
from .lazy import LazyModuleMixin
from .module import Module

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d",
           "ConvTranspose3d", "LazyConv1d", "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d",
           "LazyConvTranspose2d", "LazyConvTranspose3d"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _check_channels(layer: str, **values) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{layer}: expected {name} to be a non-negative int, got {value!r}")


class _ConvNd(Module):
    """The shared base of every convolution layer (``torch.nn.modules.conv._ConvNd``).

    Arguments are already normalised to tuples by the subclasses. Attributes (``in_channels``,
    ``out_channels``, ``kernel_size``, ``stride``, ``padding``, ``dilation``, ``transposed``,
    ``output_padding``, ``groups``, ``padding_mode``, ``_reversed_padding_repeated_twice``) and
    the parameters ``weight`` ``(out, in/groups, *k)`` (transposed: ``(in, out/groups, *k)``)
    and ``bias`` ``(out,)`` are torch's.
    """

    _n: int = 0  # number of spatial dimensions, set by the subclasses
    _kernel: Callable[..., Any]  # the functional kernel, bound by each subclass

    def __init__(self, in_channels: int, out_channels: int, kernel_size: tuple[int, ...],
                 stride: tuple[int, ...], padding: str | tuple[int, ...],
                 dilation: tuple[int, ...], transposed: bool, output_padding: tuple[int, ...],
                 groups: int, bias: bool, padding_mode: str, device: DeviceLike | None = None,
                 dtype: DTypeLike | None = None) -> None:
        super().__init__()
        name = type(self).__name__
        _check_channels(name, in_channels=in_channels, out_channels=out_channels)
        if isinstance(groups, bool) or not isinstance(groups, int) or groups <= 0:
            raise ValueError(f"{name}: groups must be a positive integer, got {groups!r}")
        if in_channels % groups != 0:
            raise ValueError(f"{name}: in_channels must be divisible by groups, got "
                             f"in_channels={in_channels}, groups={groups}")
        if out_channels % groups != 0:
            raise ValueError(f"{name}: out_channels must be divisible by groups, got "
                             f"out_channels={out_channels}, groups={groups}")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{name}: invalid padding string {padding!r}, should be one of "
                                 f"{{'same', 'valid'}}")
            if padding == "same" and any(s != 1 for s in stride):
                raise ValueError(f"{name}: padding='same' is not supported for strided "
                                 f"convolutions, got stride={stride}")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"{name}: padding_mode must be one of {set(_PADDING_MODES)}, but "
                             f"got padding_mode={padding_mode!r}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.transposed = transposed
        self.output_padding = output_padding
        self.groups = groups
        self.padding_mode = padding_mode
        # The F.pad argument for non-zero padding modes (last dimension first).
        if isinstance(padding, str):
            rev = [0, 0] * len(kernel_size)
            if padding == "same":
                for d, k, i in zip(dilation, kernel_size, range(len(kernel_size) - 1, -1, -1)):
                    total = d * (k - 1)
                    rev[2 * i] = total // 2
                    rev[2 * i + 1] = total - total // 2
            self._reversed_padding_repeated_twice = rev
        else:
            self._reversed_padding_repeated_twice = [p for p in reversed(padding)
                                                     for _ in range(2)]
        dtype = factory_dtype(dtype)
        if transposed:
            shape = (in_channels, out_channels // groups, *kernel_size)
        else:
            shape = (out_channels, in_channels // groups, *kernel_size)
        self.weight = Parameter(_factory.empty(shape, dtype))
        if bias:
            self.bias = Parameter(_factory.empty((out_channels,), dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()
        place(self, device)

    def reset_parameters(self) -> None:
        # kaiming_uniform_(a=sqrt(5)) == U(-1/sqrt(fan_in), 1/sqrt(fan_in)), torch's default.
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        s = "{in_channels}, {out_channels}, kernel_size={kernel_size}, stride={stride}"
        if self.padding != (0,) * len(self.padding):
            s += ", padding={padding}"
        if self.dilation != (1,) * len(self.dilation):
            s += ", dilation={dilation}"
        if self.output_padding != (0,) * len(self.output_padding):
            s += ", output_padding={output_padding}"
        if self.groups != 1:
            s += ", groups={groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += ", padding_mode={padding_mode}"
        return s.format(**self.__dict__)


class _ConvXd(_ConvNd):
    """``Conv1d/2d/3d``'s shared constructor and forward; subclasses set ``_n`` and ``_kernel``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: size_any_t,
                 stride: size_any_t = 1, padding: str | size_any_t = 0, dilation: size_any_t = 1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device: DeviceLike | None = None, dtype: DTypeLike | None = None) -> None:
        n, name = self._n, type(self).__name__
        kernel_size = int_tuple(kernel_size, n, name, "kernel_size", 1)
        stride = int_tuple(stride, n, name, "stride", 1)
        if not isinstance(padding, str):
            padding = int_tuple(padding, n, name, "padding", 0)
        dilation = int_tuple(dilation, n, name, "dilation", 1)
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         False, (0,) * n, groups, bias, padding_mode, device, dtype)

    def _conv_forward(self, input, weight, bias):
        fn = type(self)._kernel
        if self.padding_mode != "zeros":
            padded = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return fn(padded, weight, bias, self.stride, 0, self.dilation, self.groups)
        return fn(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)

    def forward(self, input: Array) -> Array:
        return self._conv_forward(input, self.weight, self.bias)


_CONV_DOC = """Applies a {n}-D convolution over an input signal (``torch.nn.Conv{n}d``).

    Args:
        in_channels: channels of the input.
        out_channels: channels produced by the convolution.
        kernel_size: int or tuple of {n} ints.
        stride: int or tuple (default 1).
        padding: int, tuple, ``'valid'`` or ``'same'`` (default 0).
        dilation: spacing between kernel elements (default 1).
        groups: blocked connections from input to output channels (default 1); both channel
            counts must be divisible by it.
        bias: learn an additive bias (default ``True``).
        padding_mode: ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``; non-zero
            modes pad with ``F.pad`` and then convolve without padding, as torch.
        device, dtype: where and in which floating dtype to create the parameters.

    Shape:
        ``(N, C_in, {sdims})`` or ``(C_in, {sdims})`` -> ``(N, C_out, {odims})`` or
        ``(C_out, {odims})``; see :func:`jnn.functional.conv{n}d`.

    Attributes:
        weight: ``(out_channels, in_channels / groups, {kdims})``, init
            ``kaiming_uniform_(a=sqrt(5))``, i.e. ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``.
        bias: ``(out_channels,)``, init ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``.

    Example:
        >>> m = nn.Conv{n}d(16, 33, 3, stride=2)
        >>> m(nn.randn({ex_in})).shape
        {ex_out}
    """

_CONV_T_DOC = """Applies a {n}-D transposed convolution (``torch.nn.ConvTranspose{n}d``).

    Args:
        in_channels, out_channels, kernel_size, stride: as in ``Conv{n}d``.
        padding: ``dilation * (kernel_size - 1) - padding`` zeros are added to both sides of
            the input (default 0).
        output_padding: extra size added to one side of each output dimension (default 0).
        groups: blocked connections from input to output channels (default 1).
        bias: learn an additive bias (default ``True``).
        dilation: spacing between kernel elements (default 1).
        padding_mode: only ``'zeros'`` is supported (as torch).
        device, dtype: where and in which floating dtype to create the parameters.

    Shape:
        ``(N, C_in, {sdims})`` or unbatched -> ``(N, C_out, {odims})`` with
        ``out = (in - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1``.
        ``forward(input, output_size)`` picks the ``output_padding`` that gives
        ``output_size`` (which may include the batch and channel dimensions).

    Attributes:
        weight: ``(in_channels, out_channels / groups, {kdims})``, torch's init.
        bias: ``(out_channels,)``.

    Example:
        >>> m = nn.ConvTranspose{n}d(16, 33, 3, stride=2)
        >>> m(nn.randn({ex_in})).shape
        {ex_tout}
    """

_EXAMPLES = {
    # Small inputs: the docstring examples run in the test suite (tests/test_doctests.py).
    1: dict(sdims="L", odims="L_out", kdims="kL", ex_in="(4, 16, 50)",
            ex_out="(4, 33, 24)", ex_tout="(4, 33, 101)"),
    2: dict(sdims="H, W", odims="H_out, W_out", kdims="kH, kW", ex_in="(4, 16, 10, 20)",
            ex_out="(4, 33, 4, 9)", ex_tout="(4, 33, 21, 41)"),
    3: dict(sdims="D, H, W", odims="D_out, H_out, W_out", kdims="kD, kH, kW",
            ex_in="(2, 16, 5, 10, 20)", ex_out="(2, 33, 2, 4, 9)",
            ex_tout="(2, 33, 11, 21, 41)"),
}


class Conv1d(_ConvXd):
    _n = 1
    _kernel = staticmethod(F.conv1d)
    __doc__ = _CONV_DOC.format(n=1, **_EXAMPLES[1])


class Conv2d(_ConvXd):
    _n = 2
    _kernel = staticmethod(F.conv2d)
    __doc__ = _CONV_DOC.format(n=2, **_EXAMPLES[2])


class Conv3d(_ConvXd):
    _n = 3
    _kernel = staticmethod(F.conv3d)
    __doc__ = _CONV_DOC.format(n=3, **_EXAMPLES[3])


class _ConvTransposeNd(_ConvNd):
    """``ConvTranspose1d/2d/3d``'s shared constructor and forward (torch's argument order)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: size_any_t,
                 stride: size_any_t = 1, padding: str | size_any_t = 0,
                 output_padding: size_any_t = 0, groups: int = 1, bias: bool = True,
                 dilation: size_any_t = 1, padding_mode: str = "zeros",
                 device: DeviceLike | None = None, dtype: DTypeLike | None = None) -> None:
        n, name = self._n, type(self).__name__
        if padding_mode != "zeros":
            raise ValueError(f'{name}: only "zeros" padding mode is supported, got '
                             f"padding_mode={padding_mode!r}")
        if isinstance(padding, str):
            raise ValueError(f"{name}: padding must be an int or a tuple of {n} ints, got "
                             f"{padding!r} (transposed convolutions take no padding strings)")
        kernel_size = int_tuple(kernel_size, n, name, "kernel_size", 1)
        stride = int_tuple(stride, n, name, "stride", 1)
        padding = int_tuple(padding, n, name, "padding", 0)
        dilation = int_tuple(dilation, n, name, "dilation", 1)
        output_padding = int_tuple(output_padding, n, name, "output_padding", 0)
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         True, output_padding, groups, bias, padding_mode, device, dtype)

    def _output_padding(self, input, output_size, stride, padding, kernel_size,
                        num_spatial_dims, dilation=None) -> tuple:
        """The ``output_padding`` that makes the output ``output_size`` (torch's rule)."""
        if output_size is None:
            return tuple(self.output_padding)
        ndim = len(jnp.shape(input))
        shape = tuple(jnp.shape(input))
        num_non_spatial = 2 if ndim == num_spatial_dims + 2 else 1
        output_size = [int(s) for s in output_size]
        if len(output_size) == num_non_spatial + num_spatial_dims:
            output_size = output_size[num_non_spatial:]
        if len(output_size) != num_spatial_dims:
            raise ValueError(f"ConvTranspose{num_spatial_dims}D: for {ndim}D input, output_size "
                             f"must have {num_spatial_dims} or "
                             f"{num_non_spatial + num_spatial_dims} elements (got "
                             f"{len(output_size)})")
        min_sizes, max_sizes = [], []
        for d in range(num_spatial_dims):
            dil = dilation[d] if dilation is not None else 1
            size = ((shape[d + num_non_spatial] - 1) * stride[d] - 2 * padding[d]
                    + dil * (kernel_size[d] - 1) + 1)
            min_sizes.append(size)
            max_sizes.append(size + stride[d] - 1)
        for size, lo, hi in zip(output_size, min_sizes, max_sizes):
            if size < lo or size > hi:
                raise ValueError(f"requested an output size of {output_size}, but valid sizes "
                                 f"range from {min_sizes} to {max_sizes} (for an input of "
                                 f"{shape[num_non_spatial:]})")
        return tuple(o - m for o, m in zip(output_size, min_sizes))

    def forward(self, input: Array, output_size: Sequence[int] | None = None) -> Array:
        n = self._n
        output_padding = self._output_padding(input, output_size, self.stride, self.padding,
                                              self.kernel_size, n, self.dilation)
        return type(self)._kernel(input, self.weight, self.bias, self.stride, self.padding,
                              output_padding, self.groups, self.dilation)


class ConvTranspose1d(_ConvTransposeNd):
    _n = 1
    _kernel = staticmethod(F.conv_transpose1d)
    __doc__ = _CONV_T_DOC.format(n=1, **_EXAMPLES[1])


class ConvTranspose2d(_ConvTransposeNd):
    _n = 2
    _kernel = staticmethod(F.conv_transpose2d)
    __doc__ = _CONV_T_DOC.format(n=2, **_EXAMPLES[2])


class ConvTranspose3d(_ConvTransposeNd):
    _n = 3
    _kernel = staticmethod(F.conv_transpose3d)
    __doc__ = _CONV_T_DOC.format(n=3, **_EXAMPLES[3])


# -- lazy forms ----------------------------------------------------------------------------------

if TYPE_CHECKING:  # a mixin for the conv classes: the type checker sees that base (and, for
    # the two lazy families, the layer class whose constructor their super().__init__ reaches)
    _LazyConvBase = _ConvNd
    _LazyConvXdBase = _ConvXd
    _LazyConvTransposeXdBase = _ConvTransposeNd
else:
    _LazyConvBase = _LazyConvXdBase = _LazyConvTransposeXdBase = object


class _LazyConvXdMixin(LazyModuleMixin, _LazyConvBase):
    """``in_channels`` is inferred from the first input (``input.shape[1]``, or ``[0]`` when
    unbatched); the layer then becomes its non-lazy class.

    Run one eager forward pass (or ``load_state_dict``) before ``nn.jit`` so the parameters
    exist. Loading a state_dict materialises the parameters with the loaded shapes, as torch.
    """

    def _lazy_setup(self, out_channels: int, bias: bool, dtype) -> None:
        self.out_channels = out_channels
        self.weight = UninitializedParameter(dtype=factory_dtype(dtype))
        if bias:
            self.bias = UninitializedParameter(dtype=factory_dtype(dtype))

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_channels != 0:
            super().reset_parameters()

    def _get_in_channels(self, input) -> int:
        n = self._n
        shape = tuple(jnp.shape(input))
        if len(shape) not in (n + 1, n + 2):
            raise ValueError(f"{type(self).__name__}: expected {n + 1}D (unbatched) or "
                             f"{n + 2}D (batched) input, but got input of shape {shape}")
        return shape[1] if len(shape) == n + 2 else shape[0]

    def _materialize(self) -> None:
        if self.transposed:
            shape = (self.in_channels, self.out_channels // self.groups, *self.kernel_size)
        else:
            shape = (self.out_channels, self.in_channels // self.groups, *self.kernel_size)
        self.weight.materialize(shape)
        if self.bias is not None:
            self.bias.materialize((self.out_channels,))

    def initialize_parameters(self, input, *args, **kwargs) -> None:
        if self.has_uninitialized_params():
            in_channels = self._get_in_channels(input)
            if in_channels % self.groups != 0:
                raise ValueError(f"{type(self).__name__}: in_channels must be divisible by "
                                 f"groups, got in_channels={in_channels} (from input of shape "
                                 f"{tuple(jnp.shape(input))}), groups={self.groups}")
            self.in_channels = in_channels
            self._materialize()
            self.reset_parameters()

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs, assign=False) -> None:
        key = prefix + "weight"
        if isinstance(self.weight, UninitializedParameter) and key in state_dict:
            shape = tuple(jnp.shape(state_dict[key]))
            if len(shape) == self._n + 2:
                self.in_channels = shape[0] if self.transposed else shape[1] * self.groups
                self._materialize()
        if self.bias is not None and isinstance(self.bias, UninitializedParameter) and \
                prefix + "bias" in state_dict:
            self.bias.materialize(tuple(jnp.shape(state_dict[prefix + "bias"])))
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs, assign)
        if not self.has_uninitialized_params() and self.cls_to_become is not None:
            self.__class__ = self.cls_to_become


class _LazyConvXd(_LazyConvXdMixin, _LazyConvXdBase):
    def __init__(self, out_channels: int, kernel_size: size_any_t, stride: size_any_t = 1,
                 padding: str | size_any_t = 0, dilation: size_any_t = 1, groups: int = 1,
                 bias: bool = True, padding_mode: str = "zeros", device: DeviceLike | None = None,
                 dtype: DTypeLike | None = None) -> None:
        # in_channels and out_channels start at 0 (torch's construction); bias=False here so
        # that no bias is made before the lazy one.
        super().__init__(0, 0, kernel_size, stride, padding, dilation, groups, False,
                         padding_mode, device, dtype)
        self._lazy_setup(out_channels, bias, dtype)


class _LazyConvTransposeXd(_LazyConvXdMixin, _LazyConvTransposeXdBase):
    def __init__(self, out_channels: int, kernel_size: size_any_t, stride: size_any_t = 1,
                 padding: str | size_any_t = 0, output_padding: size_any_t = 0, groups: int = 1,
                 bias: bool = True, dilation: size_any_t = 1, padding_mode: str = "zeros",
                 device: DeviceLike | None = None, dtype: DTypeLike | None = None) -> None:
        super().__init__(0, 0, kernel_size, stride, padding, output_padding, groups, False,
                         dilation, padding_mode, device, dtype)
        self._lazy_setup(out_channels, bias, dtype)


_LAZY_DOC = """A ``{base}`` whose ``in_channels`` is inferred from the first input
    (``torch.nn.{name}``): ``input.shape[1]`` (or ``[0]`` for unbatched input).

    Same arguments as ``{base}`` without ``in_channels``. Run one eager forward pass (or load a
    state_dict) before ``nn.jit``; the layer then becomes a ``{base}``.

    Example:
        >>> m = nn.{name}(8, 3)
        >>> m(nn.randn({ex_in})).shape, type(m).__name__
        ({ex_out}, '{base}')
    """


def _lazy_doc(name, base, n):
    ex_in = {1: "(2, 4, 10)", 2: "(2, 4, 10, 10)", 3: "(2, 4, 6, 6, 6)"}[n]
    transposed = "Transpose" in name
    size = {1: 12, 2: 12, 3: 8}[n] if transposed else {1: 8, 2: 8, 3: 4}[n]
    ex_out = "(2, 8" + f", {size}" * n + ")"
    return _LAZY_DOC.format(name=name, base=base, ex_in=ex_in, ex_out=ex_out)


class LazyConv1d(_LazyConvXd, Conv1d):
    cls_to_become = Conv1d
    __doc__ = _lazy_doc("LazyConv1d", "Conv1d", 1)


class LazyConv2d(_LazyConvXd, Conv2d):
    cls_to_become = Conv2d
    __doc__ = _lazy_doc("LazyConv2d", "Conv2d", 2)


class LazyConv3d(_LazyConvXd, Conv3d):
    cls_to_become = Conv3d
    __doc__ = _lazy_doc("LazyConv3d", "Conv3d", 3)


class LazyConvTranspose1d(_LazyConvTransposeXd, ConvTranspose1d):
    cls_to_become = ConvTranspose1d
    __doc__ = _lazy_doc("LazyConvTranspose1d", "ConvTranspose1d", 1)


class LazyConvTranspose2d(_LazyConvTransposeXd, ConvTranspose2d):
    cls_to_become = ConvTranspose2d
    __doc__ = _lazy_doc("LazyConvTranspose2d", "ConvTranspose2d", 2)


class LazyConvTranspose3d(_LazyConvTransposeXd, ConvTranspose3d):
    cls_to_become = ConvTranspose3d
    __doc__ = _lazy_doc("LazyConvTranspose3d", "ConvTranspose3d", 3)
