"""Linear layers: ``Identity``, ``Linear``, ``Bilinear``, ``LazyLinear``."""
from __future__ import annotations

import math

import jax.numpy as jnp

from .. import functional as F
from .. import init
from ..parameter import Parameter, UninitializedParameter
from ..types import Array, DeviceLike, DTypeLike
from . import _factory
from ._factory import factory_dtype, place
from .lazy import LazyModuleMixin
from .module import Module

__all__ = ["Identity", "Linear", "Bilinear", "LazyLinear"]


def _check_features(layer: str, **features) -> None:
    for name, value in features.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"{layer}: expected {name} to be a non-negative int, got {value!r}")


class Identity(Module):
    """Returns its input unchanged; any constructor arguments are ignored (as in torch).

    Example:
        >>> nn.Identity(54, unused="x")(jnp.ones(3)).shape
        (3,)
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__()

    def forward(self, input: Array) -> Array:
        return input


class Linear(Module):
    """``y = x W^T + b`` (``torch.nn.Linear``).

    Args:
        in_features: size of each input sample.
        out_features: size of each output sample.
        bias: learn an additive bias (default ``True``).
        device, dtype: where and in which floating dtype to create the parameters.

    Shape:
        ``(*, in_features) -> (*, out_features)``.

    Attributes:
        weight: ``(out_features, in_features)``, init ``U(-1/sqrt(in), 1/sqrt(in))``.
        bias: ``(out_features,)``, same init.

    Example:
        >>> m = nn.Linear(20, 30)
        >>> m(nn.randn(128, 20)).shape
        (128, 30)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 device: DeviceLike | None = None, dtype: DTypeLike | None = None) -> None:
        super().__init__()
        _check_features("Linear", in_features=in_features, out_features=out_features)
        self.in_features = in_features
        self.out_features = out_features
        dtype = factory_dtype(dtype)
        self.weight = Parameter(_factory.empty((out_features, in_features), dtype))
        if bias:
            self.bias = Parameter(_factory.empty((out_features,), dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()
        place(self, device)

    def reset_parameters(self) -> None:
        # kaiming_uniform_(a=sqrt(5)) is U(-1/sqrt(fan_in), 1/sqrt(fan_in)), torch's default.
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1]
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Array) -> Array:
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Bilinear(Module):
    """``y = x1^T A x2 + b`` (``torch.nn.Bilinear``).

    Args:
        in1_features, in2_features: sizes of the two inputs' last dimensions.
        out_features: size of each output sample.
        bias: learn an additive bias (default ``True``).

    Shape:
        ``(*, in1), (*, in2) -> (*, out)``.

    Attributes:
        weight: ``(out_features, in1_features, in2_features)``, init ``U(-1/sqrt(in1), ...)``.
        bias: ``(out_features,)``.

    Example:
        >>> m = nn.Bilinear(20, 30, 40)
        >>> m(nn.randn(128, 20), nn.randn(128, 30)).shape
        (128, 40)
    """

    def __init__(self, in1_features: int, in2_features: int, out_features: int, bias: bool = True,
                 device: DeviceLike | None = None, dtype: DTypeLike | None = None) -> None:
        super().__init__()
        _check_features("Bilinear", in1_features=in1_features, in2_features=in2_features,
                        out_features=out_features)
        self.in1_features = in1_features
        self.in2_features = in2_features
        self.out_features = out_features
        dtype = factory_dtype(dtype)
        self.weight = Parameter(_factory.empty((out_features, in1_features, in2_features), dtype))
        if bias:
            self.bias = Parameter(_factory.empty((out_features,), dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()
        place(self, device)

    def reset_parameters(self) -> None:
        bound = 1 / math.sqrt(self.weight.shape[1]) if self.weight.shape[1] > 0 else 0
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1: Array, input2: Array) -> Array:
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


class LazyLinear(LazyModuleMixin, Linear):
    """A ``Linear`` whose ``in_features`` is inferred from the first input.

    Run one eager forward pass before ``nn.jit`` so the parameters exist.

    Example:
        >>> m = nn.LazyLinear(10)
        >>> m(jnp.ones((2, 7))).shape, m.weight.shape
        ((2, 10), (10, 7))
    """

    cls_to_become = Linear

    def __init__(self, out_features: int, bias: bool = True, device: DeviceLike | None = None,
                 dtype: DTypeLike | None = None) -> None:
        super().__init__(0, 0, False, device, dtype)
        self.out_features = out_features
        self.weight = UninitializedParameter(dtype=factory_dtype(dtype))
        if bias:
            self.bias = UninitializedParameter(dtype=factory_dtype(dtype))

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input) -> None:
        if self.has_uninitialized_params():
            self.in_features = int(jnp.shape(input)[-1])
            self.weight.materialize((self.out_features, self.in_features))
            if self.bias is not None:
                self.bias.materialize((self.out_features,))
            self.reset_parameters()
