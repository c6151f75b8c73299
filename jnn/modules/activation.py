"""Activation layers: each ``forward`` is one call to its ``jnn.functional`` kernel.

Constructor arguments, defaults and reprs are torch's. ``inplace=`` is accepted (and shown in
the repr like torch's) but has no effect: JAX arrays are immutable.

Differences from PyTorch:
    ``RReLU`` in training mode draws its slopes from jnn's global random stream (advanced
    eagerly and under ``nn.jit``); the numbers differ from torch's generator.
    ``Softmax``/``Softmin``/``LogSoftmax`` with ``dim=None`` apply torch's implicit-dim rule
    without its deprecation warning.
"""
from __future__ import annotations

import warnings

import jax.numpy as jnp

from .. import functional as F
from .. import init
from ..parameter import Parameter
from ..types import Array, DeviceLike, DTypeLike
from . import _factory
from ._factory import factory_dtype, place
from .module import Module

__all__ = [
    "Threshold", "ReLU", "RReLU", "Hardtanh", "ReLU6", "Sigmoid", "Hardsigmoid", "Tanh", "SiLU",
    "Mish", "Hardswish", "ELU", "CELU", "SELU", "GLU", "GELU", "Hardshrink", "LeakyReLU",
    "LogSigmoid", "Softplus", "Softshrink", "PReLU", "Softsign", "Tanhshrink", "Softmin",
    "Softmax", "Softmax2d", "LogSoftmax",
]


class _Inplace(Module):
    """Base of the activations whose only option is ``inplace`` (repr ``inplace=True``)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


def _inplace_suffix(module) -> str:
    return ", inplace=True" if module.inplace else ""


class Threshold(Module):
    """``x if x > threshold else value`` (``torch.nn.Threshold``).

    Args:
        threshold: the value to threshold at.
        value: the replacement for elements ``<= threshold``.
        inplace: accepted for torch compatibility; no effect.

    Shape:
        ``(*) -> (*)``.

    Example:
        >>> nn.Threshold(0.1, 20.0)(jnp.array([0.0, 1.0]))
        Array([20.,  1.], dtype=float32)
    """

    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__()
        self.threshold = threshold
        self.value = value
        self.inplace = inplace

    def forward(self, input: Array) -> Array:
        return F.threshold(input, self.threshold, self.value)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, value={self.value}{_inplace_suffix(self)}"


class ReLU(_Inplace):
    """``max(0, x)`` elementwise (``torch.nn.ReLU``).

    Args:
        inplace: accepted for torch compatibility (shown in the repr); no effect in JAX.

    Shape:
        ``(*) -> (*)``.

    Example:
        >>> nn.ReLU()(jnp.array([-1.0, 1.0]))
        Array([0., 1.], dtype=float32)
    """

    def forward(self, input: Array) -> Array:
        return F.relu(input)


class RReLU(Module):
    """Randomized leaky ReLU (``torch.nn.RReLU``).

    In training, negative inputs are multiplied by slopes drawn from ``U(lower, upper)`` (a
    fresh draw from the global stream on every call, also under ``nn.jit``); in evaluation the
    slope is ``(lower + upper) / 2``.

    Args:
        lower: lower bound of the slope (default ``1/8``).
        upper: upper bound of the slope (default ``1/3``).
        inplace: accepted for torch compatibility; no effect.

    Shape:
        ``(*) -> (*)``.

    Example:
        >>> nn.RReLU().eval()(jnp.array([-1.0]))
        Array([-0.22916667], dtype=float32)
    """

    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
                 inplace: bool = False) -> None:
        super().__init__()
        self.lower = lower
        self.upper = upper
        self.inplace = inplace

    def forward(self, input: Array) -> Array:
        return F.rrelu(input, self.lower, self.upper, self.training)

    def extra_repr(self) -> str:
        return f"lower={self.lower}, upper={self.upper}{_inplace_suffix(self)}"


class Hardtanh(Module):
    """Clamp to ``[min_val, max_val]`` (``torch.nn.Hardtanh``).

    Args:
        min_val: lower bound of the linear region (default ``-1``).
        max_val: upper bound of the linear region (default ``1``).
        inplace: accepted for torch compatibility; no effect.
        min_value, max_value: deprecated aliases of ``min_val``/``max_val`` (FutureWarning).

    Shape:
        ``(*) -> (*)``.

    Example:
        >>> nn.Hardtanh(-2, 2)(jnp.array([-3.0, 3.0]))
        Array([-2.,  2.], dtype=float32)
    """

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False,
                 min_value: float | None = None, max_value: float | None = None) -> None:
        super().__init__()
        if min_value is not None:
            warnings.warn("keyword argument `min_value` is deprecated and renamed to `min_val`",
                          FutureWarning, stacklevel=2)
            min_val = min_value
        if max_value is not None:
            warnings.warn("keyword argument `max_value` is deprecated and renamed to `max_val`",
                          FutureWarning, stacklevel=2)
            max_val = max_value
        if max_val <= min_val:
            raise ValueError(f"{type(self).__name__}: max_val ({max_val}) must be greater than "
                             f"min_val ({min_val})")
        self.min_val = min_val
        self.max_val = max_val
        self.inplace = inplace

    def forward(self, input: Array) -> Array:
        return F.hardtanh(input, self.min_val, self.max_val)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}{_inplace_suffix(self)}"


class ReLU6(Hardtanh):
    """``min(max(0, x), 6)`` (``torch.nn.ReLU6``).

    Args:
        inplace: accepted for torch compatibility; no effect.

    Shape:
        ``(*) -> (*)``.

    Example:
        >>> nn.ReLU6()(jnp.array([-1.0, 7.0]))
        Array([0., 6.], dtype=float32)
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class Sigmoid(Module):
    """``1 / (1 + exp(-x))`` elementwise (``torch.nn.Sigmoid``).

    Shape:
        ``(*) -> (*)``.
    """

    def forward(self, input: Array) -> Array:
        return F.sigmoid(input)


class Hardsigmoid(_Inplace):
    """Piecewise-linear sigmoid (``torch.nn.Hardsigmoid``).

    Args:
        inplace: accepted for torch compatibility; no effect.

    Shape:
        ``(*) -> (*)``.
    """

    def forward(self, input: Array) -> Array:
        return F.hardsigmoid(input)

    def extra_repr(self) -> str:
        return ""  # torch shows no inplace flag for this layer


class Tanh(Module):
    """``tanh(x)`` elementwise (``torch.nn.Tanh``).

    Shape:
        ``(*) -> (*)``.
    """

    def forward(self, input: Array) -> Array:
        return F.tanh(input)


class SiLU(_Inplace):
    """``x * sigmoid(x)`` (``torch.nn.SiLU``).

    Args:
        inplace: accepted for torch compatibility; no effect.

    Shape:
        ``(*) -> (*)``.
    """

    def forward(self, input: Array) -> Array:
        return F.silu(input)


class Mish(_Inplace):
    """``x * tanh(softplus(x))`` (``torch.nn.Mish``).

    Args:
        inplace: accepted for torch compatibility; no effect.

    Shape:
        ``(*) -> (*)``.
    """

    def forward(self, input: Array) -> Array:
        return F.mish(input)


class Hardswish(_Inplace):
    """``x * relu6(x + 3) / 6`` (``torch.nn.Hardswish``).

    Args:
        inplace: accepted for torch compatibility; no effect.

    Shape:
        ``(*) -> (*)``.
    """

    def forward(self, input: Array) -> Array:
        return F.hardswish(input)

    def extra_repr(self) -> str:
        return ""  # torch shows no inplace flag for this layer


class _Alpha(Module):
    """Base of ``ELU``/``CELU``: an ``alpha`` and an ``inplace`` flag."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}{_inplace_suffix(self)}"


class ELU(_Alpha):
    """``x if x > 0 else alpha * (exp(x) - 1)`` (``torch.nn.ELU``).

    Args:
        alpha: negative saturation (default ``1.0``).
        inplace: accepted for torch compatibility; no effect.

    Shape:
        ``(*) -> (*)``.
    """

    def forward(self, input: Array) -> Array:
        return F.elu(input, self.alpha)


class CELU(_Alpha):
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))`` (``torch.nn.CELU``).

    Args:
        alpha: non-zero scale (default ``1.0``).
        inplace: accepted for torch compatibility; no effect.

    Shape:
        ``(*) -> (*)``.
    """

    def forward(self, input: Array) -> Array:
        return F.celu(input, self.alpha)


class SELU(_Inplace):
    """Scaled ELU with the self-normalising constants (``torch.nn.SELU``).

    Args:
        inplace: accepted for torch compatibility; no effect.

    Shape:
        ``(*) -> (*)``.
    """

    def forward(self, input: Array) -> Array:
        return F.selu(input)


class GLU(Module):
    """Gated linear unit ``a * sigmoid(b)`` over halves of ``dim`` (``torch.nn.GLU``).

    Args:
        dim: the dimension to split in half (default ``-1``).

    Shape:
        ``(*, 2M, *) -> (*, M, *)``.

    Example:
        >>> nn.GLU()(jnp.ones((4, 2))).shape
        (4, 1)
    """

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Array) -> Array:
        return F.glu(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class GELU(Module):
    """Gaussian error linear unit (``torch.nn.GELU``).

    Args:
        approximate: ``'none'`` (exact) or ``'tanh'``.

    Shape:
        ``(*) -> (*)``.
    """

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate argument must be either 'none' or 'tanh', got "
                             f"{approximate!r}")
        self.approximate = approximate

    def forward(self, input: Array) -> Array:
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Hardshrink(Module):
    """``x if |x| > lambd else 0`` (``torch.nn.Hardshrink``).

    Args:
        lambd: the threshold (default ``0.5``).

    Shape:
        ``(*) -> (*)``.
    """

    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = lambd

    def forward(self, input: Array) -> Array:
        return F.hardshrink(input, self.lambd)

    def extra_repr(self) -> str:
        return f"{self.lambd}"


class LeakyReLU(Module):
    """``x if x > 0 else negative_slope * x`` (``torch.nn.LeakyReLU``).

    Args:
        negative_slope: slope for negative inputs (default ``0.01``).
        inplace: accepted for torch compatibility; no effect.

    Shape:
        ``(*) -> (*)``.
    """

    def __init__(self, negative_slope: float = 1e-2, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, input: Array) -> Array:
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}{_inplace_suffix(self)}"


class LogSigmoid(Module):
    """``log(sigmoid(x))`` (``torch.nn.LogSigmoid``).

    Shape:
        ``(*) -> (*)``.
    """

    def forward(self, input: Array) -> Array:
        return F.logsigmoid(input)


class Softplus(Module):
    """``log(1 + exp(beta * x)) / beta``, linear above ``threshold`` (``torch.nn.Softplus``).

    Args:
        beta: sharpness (default ``1.0``).
        threshold: linear where ``beta * x > threshold`` (default ``20.0``).

    Shape:
        ``(*) -> (*)``.
    """

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta = beta
        self.threshold = threshold

    def forward(self, input: Array) -> Array:
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Softshrink(Module):
    """Soft shrinkage by ``lambd`` (``torch.nn.Softshrink``).

    Args:
        lambd: non-negative threshold (default ``0.5``).

    Shape:
        ``(*) -> (*)``.
    """

    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = lambd

    def forward(self, input: Array) -> Array:
        return F.softshrink(input, self.lambd)

    def extra_repr(self) -> str:
        return str(self.lambd)


class PReLU(Module):
    """``x if x > 0 else a * x`` with learned slopes (``torch.nn.PReLU``).

    Args:
        num_parameters: 1 (one shared slope) or the number of channels (dim 1 of the input).
        init: initial slope (default ``0.25``).
        device, dtype: where and in which floating dtype to create the weight.

    Shape:
        ``(*) -> (*)``.

    Attributes:
        weight: ``(num_parameters,)``, filled with ``init``.

    Example:
        >>> m = nn.PReLU(3)
        >>> m(jnp.full((2, 3), -1.0))[0]
        Array([-0.25, -0.25, -0.25], dtype=float32)
    """

    def __init__(self, num_parameters: int = 1, init: float = 0.25,
                 device: DeviceLike | None = None, dtype: DTypeLike | None = None) -> None:
        super().__init__()
        if not isinstance(num_parameters, int) or isinstance(num_parameters, bool) \
                or num_parameters < 1:
            raise ValueError(f"PReLU: expected num_parameters to be a positive int, got "
                             f"{num_parameters!r}")
        self.num_parameters = num_parameters
        self.init = init
        self.weight = Parameter(_factory.empty((num_parameters,), factory_dtype(dtype)))
        self.reset_parameters()
        place(self, device)

    def reset_parameters(self) -> None:
        init.constant_(self.weight, self.init)

    def forward(self, input: Array) -> Array:
        return F.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class Softsign(Module):
    """``x / (1 + |x|)`` (``torch.nn.Softsign``).

    Shape:
        ``(*) -> (*)``.
    """

    def forward(self, input: Array) -> Array:
        return F.softsign(input)


class Tanhshrink(Module):
    """``x - tanh(x)`` (``torch.nn.Tanhshrink``).

    Shape:
        ``(*) -> (*)``.
    """

    def forward(self, input: Array) -> Array:
        return F.tanhshrink(input)


class _SoftmaxBase(Module):
    _kernel = staticmethod(F.softmax)

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Array) -> Array:
        return type(self)._kernel(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmin(_SoftmaxBase):
    """``softmax(-x)`` along ``dim`` (``torch.nn.Softmin``).

    Args:
        dim: the dimension to normalise (``None``: torch's implicit choice).

    Shape:
        ``(*) -> (*)``.
    """

    _kernel = staticmethod(F.softmin)


class Softmax(_SoftmaxBase):
    """``exp(x_i) / sum_j exp(x_j)`` along ``dim`` (``torch.nn.Softmax``).

    Args:
        dim: the dimension to normalise (``None``: torch's implicit choice: 0 for 0-, 1- and
            3-D input, else 1).

    Shape:
        ``(*) -> (*)``.

    Example:
        >>> nn.Softmax(dim=1)(jnp.zeros((2, 4)))[0]
        Array([0.25, 0.25, 0.25, 0.25], dtype=float32)
    """

    _kernel = staticmethod(F.softmax)


class LogSoftmax(_SoftmaxBase):
    """``log(softmax(x))`` along ``dim`` (``torch.nn.LogSoftmax``).

    Args:
        dim: the dimension to normalise (``None``: torch's implicit choice).

    Shape:
        ``(*) -> (*)``.
    """

    _kernel = staticmethod(F.log_softmax)


class Softmax2d(Module):
    """Softmax over channels at every spatial location (``torch.nn.Softmax2d``).

    Shape:
        ``(N, C, H, W) -> (N, C, H, W)`` or ``(C, H, W) -> (C, H, W)``.
    """

    def forward(self, input: Array) -> Array:
        ndim = jnp.ndim(input)
        if ndim not in (3, 4):
            raise ValueError(f"Softmax2d: expected input to be 3D or 4D, got {ndim}D instead "
                             f"(shape {tuple(jnp.shape(input))})")
        return F.softmax(input, -3)
