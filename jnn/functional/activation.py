"""Activation kernels (``torch.nn.functional`` non-linearities).

Every kernel is elementwise (or a reduction along one ``dim`` for the softmax family), pure and
jit-friendly. Kinks follow torch's gradient conventions exactly (``relu'(0) = 0``,
``hardtanh`` has zero gradient at its bounds, ``leaky_relu'(0) = negative_slope`` ...): the
piecewise functions are written with ``jnp.where`` so that the branch torch's backward picks at
the kink is the one differentiated.

``inplace=`` is accepted everywhere torch has it and has no effect (JAX arrays are immutable).

Differences from PyTorch:
    Functions that draw random numbers (``rrelu`` in training, ``gumbel_softmax``) take
    ``key=None``; without a key they draw from jnn's global stream (``jnn.random.next_key``).
    ``softmax``/``softmin``/``log_softmax`` with ``dim=None`` use torch's implicit-dimension
    rule (dim 0 for 0-, 1- and 3-D input, else dim 1) without torch's deprecation warning.
"""
from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp

from ..amp.autocast_mode import autocast_op
from ..random import next_key
from ..types import Array, ArrayLike, DTypeLike
from ._eager import eager_jit
from ._utils import as_array, check_operands, float_input

__all__ = [
    "threshold", "relu", "relu6", "leaky_relu", "prelu", "rrelu", "elu", "selu", "celu", "gelu",
    "silu", "mish", "glu", "sigmoid", "logsigmoid", "hardsigmoid", "tanh", "hardtanh",
    "tanhshrink", "softsign", "softplus", "softshrink", "hardshrink", "hardswish", "softmax",
    "softmin", "log_softmax", "gumbel_softmax",
]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _scalar(value, x):
    """A Python/array scalar as an array of ``x``'s dtype (keeps float32 float32)."""
    return jnp.asarray(value, dtype=x.dtype)


# -- rectifiers --------------------------------------------------------------------------------

def threshold(input: ArrayLike, threshold: float, value: float, inplace: bool = False) -> jax.Array:
    """``x if x > threshold else value`` elementwise.

    Args:
        input: any shape.
        threshold: the value to threshold at.
        value: the value that replaces elements ``<= threshold``.
        inplace: accepted for torch compatibility; no effect.

    Shape:
        ``(*) -> (*)``.

    Returns:
        The thresholded input; the gradient is 0 where ``x <= threshold`` (as in torch).

    Example:
        >>> F.threshold(jnp.array([0.0, 0.5, 2.0]), 0.5, 20.0)
        Array([20., 20.,  2.], dtype=float32)
    """
    x = as_array(input)
    return jnp.where(x > threshold, x, jnp.asarray(value, x.dtype))


@functools.partial(eager_jit, static_argnames=("inplace",))
def relu(input: ArrayLike, inplace: bool = False) -> jax.Array:
    """``max(0, x)`` elementwise.

    Args:
        input: any shape.
        inplace: accepted for torch compatibility; no effect.

    Shape:
        ``(*) -> (*)``.

    Returns:
        The rectified input; ``relu'(0) = 0`` as in torch.

    Example:
        >>> F.relu(jnp.array([-1.0, 2.0]))
        Array([0., 2.], dtype=float32)
    """
    x = as_array(input)
    return jnp.where(x > 0, x, jnp.zeros((), x.dtype))


def hardtanh(input: ArrayLike, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> jax.Array:
    """Clamp to ``[min_val, max_val]`` elementwise.

    Args:
        input: any shape.
        min_val, max_val: the bounds of the linear region (``min_val < max_val``).
        inplace: accepted for torch compatibility; no effect.

    Shape:
        ``(*) -> (*)``.

    Returns:
        The clamped input; the gradient is 0 at and beyond the bounds (as in torch).

    Example:
        >>> F.hardtanh(jnp.array([-2.0, 0.5, 2.0]))
        Array([-1. ,  0.5,  1. ], dtype=float32)
    """
    x = as_array(input, "hardtanh")
    if x.dtype == jnp.bool_:  # integers stay integers (torch clamps them); bool is refused
        raise TypeError("hardtanh: bool input is not supported")
    lo, hi = _scalar(min_val, x), _scalar(max_val, x)
    return jnp.where(x <= lo, lo, jnp.where(x >= hi, hi, x))


def relu6(input: ArrayLike, inplace: bool = False) -> jax.Array:
    """``min(max(0, x), 6)`` elementwise (``hardtanh(x, 0, 6)``).

    Args:
        input: any shape.
        inplace: accepted for torch compatibility; no effect.

    Shape:
        ``(*) -> (*)``.

    Returns:
        The clamped input; the gradient is 0 at 0 and at 6 (as in torch).

    Example:
        >>> F.relu6(jnp.array([-1.0, 3.0, 7.0]))
        Array([0., 3., 6.], dtype=float32)
    """
    return hardtanh(input, 0.0, 6.0)


def leaky_relu(input: ArrayLike, negative_slope: float = 0.01, inplace: bool = False) -> jax.Array:
    """``x if x > 0 else negative_slope * x`` elementwise.

    Args:
        input: any shape.
        negative_slope: slope for negative inputs (default ``0.01``).
        inplace: accepted for torch compatibility; no effect.

    Shape:
        ``(*) -> (*)``.

    Returns:
        The activated input; the gradient at 0 is ``negative_slope`` (as in torch).

    Example:
        >>> F.leaky_relu(jnp.array([-1.0, 2.0]), 0.1)
        Array([-0.1,  2. ], dtype=float32)
    """
    x = float_input("leaky_relu", input, complex_ok=True)
    return jnp.where(x > 0, x, x * _scalar(negative_slope, x))


@autocast_op("prelu")
def prelu(input: ArrayLike, weight: ArrayLike) -> jax.Array:
    """``x if x > 0 else a * x`` with a learned slope ``a`` per channel (dim 1).

    Args:
        input: ``(N, C, *)`` or, when ``weight`` has one element, any shape.
        weight: ``(C,)`` or ``(1,)`` (or a scalar) slopes.

    Shape:
        ``(*) -> (*)``.

    Returns:
        The activated input.

    Example:
        >>> F.prelu(jnp.array([[-1.0, 2.0]]), jnp.array([0.25]))
        Array([[-0.25,  2.  ]], dtype=float32)
    """
    x, w = check_operands("prelu", input=float_input("prelu", input), weight=weight)
    if w.ndim > 1:
        raise ValueError(f"prelu: expected weight with 0 or 1 dimensions, got shape "
                         f"{tuple(w.shape)}")
    num = w.size
    if num != 1:
        channels = x.shape[1] if x.ndim > 1 else 1
        if x.ndim == 0 or channels != num:
            raise ValueError(f"prelu: Mismatch of parameter numbers and input channel size. "
                             f"Found parameter numbers = {num} and channel size = {channels} "
                             f"(input shape {tuple(x.shape)})")
        w = w.reshape((1, num) + (1,) * (x.ndim - 2))
    else:
        w = w.reshape(())
    return jnp.where(x > 0, x, w * x)


def rrelu(input: ArrayLike, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          inplace: bool = False, key: Array | None = None) -> jax.Array:
    """Randomized leaky ReLU.

    In training, each element ``x <= 0`` is multiplied by a slope drawn from
    ``U(lower, upper)``; in evaluation the slope is ``(lower + upper) / 2``.

    Args:
        input: any shape.
        lower, upper: the range of the random slope.
        training: draw random slopes (default ``False``, like torch's functional form).
        inplace: accepted for torch compatibility; no effect.
        key: a JAX PRNG key; ``None`` draws from jnn's global stream.

    Shape:
        ``(*) -> (*)``.

    Returns:
        The activated input.

    Example:
        >>> F.rrelu(jnp.array([-1.0, 2.0]))
        Array([-0.22916667,  2.        ], dtype=float32)
    """
    x = float_input("rrelu", input, complex_ok=True)
    if not training:
        return leaky_relu(x, (lower + upper) / 2)
    if lower > upper:
        raise ValueError(f"rrelu: lower bound ({lower}) must be less than or equal to upper "
                         f"bound ({upper})")
    slope = jax.random.uniform(next_key(key), x.shape, x.dtype, minval=lower, maxval=upper)
    return jnp.where(x > 0, x, x * slope)


def elu(input: ArrayLike, alpha: float = 1.0, inplace: bool = False) -> jax.Array:
    """``x if x > 0 else alpha * (exp(x) - 1)`` elementwise.

    Args:
        input: any shape.
        alpha: the saturation value for negative inputs (default ``1.0``).
        inplace: accepted for torch compatibility; no effect.

    Shape:
        ``(*) -> (*)``.

    Returns:
        The activated input (gradient ``alpha`` at 0, as in torch).

    Example:
        >>> F.elu(jnp.array([0.0, 1.0]))
        Array([0., 1.], dtype=float32)
    """
    return _elu(float_input("elu", input, complex_ok=True), alpha, 1.0, 1.0)


def _elu(x, alpha, scale, input_scale):
    neg = _scalar(alpha * scale, x) * jnp.expm1(x * _scalar(input_scale, x))
    return jnp.where(x > 0, x * _scalar(scale, x), neg)


def selu(input: ArrayLike, inplace: bool = False) -> jax.Array:
    """``scale * elu(x, alpha)`` with the self-normalising constants.

    ``alpha = 1.6732632423543772848170429916717``, ``scale = 1.0507009873554804934193349852946``.

    Args:
        input: any shape.
        inplace: accepted for torch compatibility; no effect.

    Shape:
        ``(*) -> (*)``.

    Returns:
        The activated input.

    Example:
        >>> F.selu(jnp.array([1.0]))
        Array([1.050701], dtype=float32)
    """
    return _elu(float_input("selu", input, complex_ok=True), _SELU_ALPHA, _SELU_SCALE, 1.0)


def celu(input: ArrayLike, alpha: float = 1.0, inplace: bool = False) -> jax.Array:
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))`` elementwise.

    Args:
        input: any shape.
        alpha: non-zero scale (default ``1.0``).
        inplace: accepted for torch compatibility; no effect.

    Shape:
        ``(*) -> (*)``.

    Returns:
        The activated input.

    Example:
        >>> F.celu(jnp.array([1.0]), 2.0)
        Array([1.], dtype=float32)
    """
    if alpha == 0:
        raise ValueError("celu: ZeroDivisionError: alpha cannot be 0 for CELU")
    return _elu(float_input("celu", input, complex_ok=True), alpha, 1.0, 1.0 / alpha)


def gelu(input: ArrayLike, approximate: str = "none") -> jax.Array:
    """Gaussian error linear unit ``x * Phi(x)``.

    Args:
        input: any shape.
        approximate: ``'none'`` (exact, with ``erf``) or ``'tanh'`` (the tanh approximation).

    Shape:
        ``(*) -> (*)``.

    Returns:
        The activated input.

    Example:
        >>> F.gelu(jnp.array([1.0]))
        Array([0.8413447], dtype=float32)
    """
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate argument must be either 'none' or 'tanh', got "
                         f"{approximate!r}")
    x = float_input("gelu", input, complex_ok=True)
    if approximate == "tanh":
        c = _scalar(math.sqrt(2.0 / math.pi), x)
        inner = c * (x + _scalar(0.044715, x) * x * x * x)
        return 0.5 * x * (1.0 + jnp.tanh(inner))
    return 0.5 * x * (1.0 + jax.lax.erf(x * _scalar(1.0 / math.sqrt(2.0), x)))


def silu(input: ArrayLike, inplace: bool = False) -> jax.Array:
    """``x * sigmoid(x)`` (swish) elementwise.

    Args:
        input: any shape.
        inplace: accepted for torch compatibility; no effect.

    Shape:
        ``(*) -> (*)``.

    Returns:
        The activated input.

    Example:
        >>> F.silu(jnp.array([0.0]))
        Array([0.], dtype=float32)
    """
    x = float_input("silu", input, complex_ok=True)
    return x * jax.nn.sigmoid(x)


def mish(input: ArrayLike, inplace: bool = False) -> jax.Array:
    """``x * tanh(softplus(x))`` elementwise.

    Args:
        input: any shape.
        inplace: accepted for torch compatibility; no effect.

    Shape:
        ``(*) -> (*)``.

    Returns:
        The activated input.

    Example:
        >>> F.mish(jnp.array([0.0]))
        Array([0.], dtype=float32)
    """
    x = float_input("mish", input, complex_ok=True)
    return x * jnp.tanh(jax.nn.softplus(x))


def glu(input: ArrayLike, dim: int = -1) -> jax.Array:
    """Gated linear unit: split ``input`` in halves ``a, b`` along ``dim``; ``a * sigmoid(b)``.

    Args:
        input: any shape with an even size along ``dim``.
        dim: the dimension to split (default ``-1``).

    Shape:
        ``(*, 2M, *) -> (*, M, *)``.

    Returns:
        The gated first half.

    Example:
        >>> F.glu(jnp.ones((2, 4))).shape
        (2, 2)
    """
    x = float_input("glu", input, complex_ok=True)
    if x.ndim == 0:
        raise ValueError("glu: glu does not support scalars because halving size must be even")
    d = _canonical_dim("glu", dim, x.ndim)
    if x.shape[d] % 2:
        raise ValueError(f"glu: Halving dimension must be even, but dimension {d} is size "
                         f"{x.shape[d]} (input shape {tuple(x.shape)})")
    a, b = jnp.split(x, 2, axis=d)
    return a * jax.nn.sigmoid(b)


def _canonical_dim(fn: str, dim, ndim: int) -> int:
    if not isinstance(dim, int) or isinstance(dim, bool):
        raise TypeError(f"{fn}: expected dim to be an int, got {dim!r}")
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise ValueError(f"{fn}: Dimension out of range (expected to be in range of "
                         f"[{-n}, {n - 1}], but got {dim})")
    return dim % n


# -- sigmoids and shrinkers --------------------------------------------------------------------

def sigmoid(input: ArrayLike) -> jax.Array:
    """``1 / (1 + exp(-x))`` elementwise.

    Args:
        input: any shape.

    Shape:
        ``(*) -> (*)``.

    Returns:
        The logistic function of the input.

    Example:
        >>> F.sigmoid(jnp.zeros(2))
        Array([0.5, 0.5], dtype=float32)
    """
    return jax.nn.sigmoid(float_input("sigmoid", input, promote_integers=True, complex_ok=True))


def logsigmoid(input: ArrayLike) -> jax.Array:
    """``log(1 / (1 + exp(-x)))`` elementwise, computed stably.

    Args:
        input: any shape.

    Shape:
        ``(*) -> (*)``.

    Returns:
        The log of the logistic function.

    Example:
        >>> F.logsigmoid(jnp.zeros(1))
        Array([-0.6931472], dtype=float32)
    """
    return jax.nn.log_sigmoid(float_input("logsigmoid", input, complex_ok=True))


def hardsigmoid(input: ArrayLike, inplace: bool = False) -> jax.Array:
    """``0 if x <= -3, 1 if x >= 3, x / 6 + 1 / 2 otherwise``.

    Args:
        input: any shape.
        inplace: accepted for torch compatibility; no effect.

    Shape:
        ``(*) -> (*)``.

    Returns:
        The activated input; the gradient is 0 at ``x = +-3`` (as in torch).

    Example:
        >>> F.hardsigmoid(jnp.array([-4.0, 0.0, 4.0]))
        Array([0. , 0.5, 1. ], dtype=float32)
    """
    x = float_input("hardsigmoid", input, complex_ok=True)
    mid = x / _scalar(6.0, x) + _scalar(0.5, x)
    return jnp.where(x <= -3, jnp.zeros((), x.dtype), jnp.where(x >= 3, jnp.ones((), x.dtype), mid))


def hardswish(input: ArrayLike, inplace: bool = False) -> jax.Array:
    """``0 if x <= -3, x if x >= 3, x * (x + 3) / 6 otherwise``.

    Args:
        input: any shape.
        inplace: accepted for torch compatibility; no effect.

    Shape:
        ``(*) -> (*)``.

    Returns:
        The activated input (gradient 0 at ``x = -3`` and 1 at ``x = 3``, as in torch).

    Example:
        >>> F.hardswish(jnp.array([-4.0, 0.0, 4.0]))
        Array([0., 0., 4.], dtype=float32)
    """
    x = float_input("hardswish", input, complex_ok=True)
    mid = x * (x + _scalar(3.0, x)) / _scalar(6.0, x)
    return jnp.where(x <= -3, jnp.zeros((), x.dtype), jnp.where(x >= 3, x, mid))


def tanh(input: ArrayLike) -> jax.Array:
    """Hyperbolic tangent elementwise.

    Args:
        input: any shape.

    Shape:
        ``(*) -> (*)``.

    Returns:
        ``tanh(input)``.

    Example:
        >>> F.tanh(jnp.zeros(2))
        Array([0., 0.], dtype=float32)
    """
    return jnp.tanh(float_input("tanh", input, promote_integers=True, complex_ok=True))


def tanhshrink(input: ArrayLike) -> jax.Array:
    """``x - tanh(x)`` elementwise.

    Args:
        input: any shape.

    Shape:
        ``(*) -> (*)``.

    Returns:
        The activated input.

    Example:
        >>> F.tanhshrink(jnp.zeros(1))
        Array([0.], dtype=float32)
    """
    x = float_input("tanhshrink", input, promote_integers=True, complex_ok=True)
    return x - jnp.tanh(x)


def softsign(input: ArrayLike) -> jax.Array:
    """``x / (1 + |x|)`` elementwise.

    Args:
        input: any shape.

    Shape:
        ``(*) -> (*)``.

    Returns:
        The activated input.

    Example:
        >>> F.softsign(jnp.array([1.0]))
        Array([0.5], dtype=float32)
    """
    x = float_input("softsign", input, promote_integers=True, complex_ok=True)
    return x / (jnp.abs(x) + 1)


@autocast_op("softplus")
def softplus(input: ArrayLike, beta: float = 1.0, threshold: float = 20.0) -> jax.Array:
    """``log(1 + exp(beta * x)) / beta``; linear where ``beta * x > threshold``.

    Args:
        input: any shape.
        beta: sharpness (default ``1``).
        threshold: above ``beta * x > threshold`` the function is the identity (default ``20``).

    Shape:
        ``(*) -> (*)``.

    Returns:
        The activated input.

    Example:
        >>> F.softplus(jnp.zeros(1))
        Array([0.6931472], dtype=float32)
    """
    x = float_input("softplus", input, complex_ok=True)
    b = _scalar(beta, x)
    xb = x * b
    above = xb > threshold
    safe = jnp.where(above, jnp.zeros((), x.dtype), xb)  # no overflow in the unused branch
    return jnp.where(above, x, jnp.log1p(jnp.exp(safe)) / b)


def softshrink(input: ArrayLike, lambd: float = 0.5) -> jax.Array:
    """``x - lambd if x > lambd, x + lambd if x < -lambd, 0 otherwise``.

    Args:
        input: any shape.
        lambd: the non-negative threshold (default ``0.5``).

    Shape:
        ``(*) -> (*)``.

    Returns:
        The shrunk input (gradient 0 on ``[-lambd, lambd]``, as in torch).

    Example:
        >>> F.softshrink(jnp.array([-1.0, 0.2, 1.0]))
        Array([-0.5,  0. ,  0.5], dtype=float32)
    """
    if lambd < 0:
        raise ValueError(f"softshrink: lambda must be greater or equal to 0, but found to be "
                         f"{lambd}")
    x = float_input("softshrink", input, complex_ok=True)
    lam = _scalar(lambd, x)
    return jnp.where(x > lam, x - lam, jnp.where(x < -lam, x + lam, jnp.zeros((), x.dtype)))


def hardshrink(input: ArrayLike, lambd: float = 0.5) -> jax.Array:
    """``x if |x| > lambd else 0`` elementwise.

    Args:
        input: any shape.
        lambd: the threshold (default ``0.5``).

    Shape:
        ``(*) -> (*)``.

    Returns:
        The shrunk input (gradient 0 on ``[-lambd, lambd]``, as in torch).

    Example:
        >>> F.hardshrink(jnp.array([-1.0, 0.2, 1.0]))
        Array([-1.,  0.,  1.], dtype=float32)
    """
    x = float_input("hardshrink", input, complex_ok=True)
    lam = _scalar(lambd, x)
    return jnp.where((x >= -lam) & (x <= lam), jnp.zeros((), x.dtype), x)


# -- softmax family ----------------------------------------------------------------------------

def _softmax_dim(dim, ndim: int, fn: str) -> int | None:
    if dim is None:
        return 0 if ndim in (0, 1, 3) else 1
    return _canonical_dim(fn, dim, ndim)


def _softmax_input(input, dtype):
    x = as_array(input)
    if dtype is not None:
        x = x.astype(dtype)
    elif not jnp.issubdtype(x.dtype, jnp.inexact):
        raise TypeError(f"softmax: expected a floating input (or pass dtype=), got {x.dtype}")
    return x


def _reduce_0d(fn, x, d):
    if x.ndim == 0:
        return fn(x.reshape(1), axis=0).reshape(())
    return fn(x, axis=d)


@autocast_op("softmax")
def softmax(input: ArrayLike, dim: int | None = None, _stacklevel: int = 3,
            dtype: DTypeLike | None = None) -> jax.Array:
    """``exp(x_i) / sum_j exp(x_j)`` along ``dim``.

    Args:
        input: any shape.
        dim: the dimension to normalise; ``None`` picks torch's implicit one (0 for 0-, 1- and
            3-D input, 1 otherwise).
        _stacklevel: accepted for torch compatibility; unused.
        dtype: cast the input to this dtype first.

    Shape:
        ``(*) -> (*)``.

    Returns:
        Probabilities that sum to 1 along ``dim``.

    Example:
        >>> F.softmax(jnp.zeros((2, 2)), dim=1)
        Array([[0.5, 0.5],
               [0.5, 0.5]], dtype=float32)
    """
    x = _softmax_input(input, dtype)
    return _reduce_0d(jax.nn.softmax, x, _softmax_dim(dim, x.ndim, "softmax"))


def softmin(input: ArrayLike, dim: int | None = None, _stacklevel: int = 3,
            dtype: DTypeLike | None = None) -> jax.Array:
    """``softmax(-x)`` along ``dim``.

    Args:
        input: any shape.
        dim: the dimension to normalise (``None``: torch's implicit choice, see ``softmax``).
        _stacklevel: accepted for torch compatibility; unused.
        dtype: cast the input to this dtype first.

    Shape:
        ``(*) -> (*)``.

    Returns:
        Probabilities that sum to 1 along ``dim``, largest for the smallest input.

    Example:
        >>> F.softmin(jnp.array([0.0, 0.0]), dim=0)
        Array([0.5, 0.5], dtype=float32)
    """
    x = _softmax_input(input, dtype)
    return _reduce_0d(jax.nn.softmax, -x, _softmax_dim(dim, x.ndim, "softmin"))


@autocast_op("log_softmax")
def log_softmax(input: ArrayLike, dim: int | None = None, _stacklevel: int = 3,
                dtype: DTypeLike | None = None) -> jax.Array:
    """``log(softmax(x))`` along ``dim``, computed stably.

    Args:
        input: any shape.
        dim: the dimension to normalise (``None``: torch's implicit choice, see ``softmax``).
        _stacklevel: accepted for torch compatibility; unused.
        dtype: cast the input to this dtype first.

    Shape:
        ``(*) -> (*)``.

    Returns:
        Log-probabilities along ``dim``.

    Example:
        >>> F.log_softmax(jnp.zeros(2), dim=0)
        Array([-0.6931472, -0.6931472], dtype=float32)
    """
    x = _softmax_input(input, dtype)
    return _reduce_0d(jax.nn.log_softmax, x, _softmax_dim(dim, x.ndim, "log_softmax"))


def gumbel_softmax(logits: ArrayLike, tau: float = 1, hard: bool = False, eps: float = 1e-10,
                   dim: int = -1, key: Array | None = None) -> jax.Array:
    """Sample from the Gumbel-softmax distribution, optionally one-hot (straight-through).

    Args:
        logits: ``(*, num_features)`` unnormalised log-probabilities.
        tau: non-negative temperature.
        hard: return one-hot samples whose gradient is the soft sample's (straight-through).
        eps: unused (deprecated in torch too).
        dim: the dimension along which softmax is computed (default ``-1``).
        key: a JAX PRNG key; ``None`` draws from jnn's global stream.

    Shape:
        ``(*) -> (*)``.

    Returns:
        Samples of the same shape as ``logits``.

    Example:
        >>> F.gumbel_softmax(jnp.zeros((2, 3)), hard=True).sum(-1)
        Array([1., 1.], dtype=float32)
    """
    x = float_input("gumbel_softmax", logits, "logits")
    d = _canonical_dim("gumbel_softmax", dim, x.ndim)
    g = jax.random.gumbel(next_key(key), x.shape, x.dtype)
    y_soft = _reduce_0d(jax.nn.softmax, (x + g) / _scalar(tau, x), d)
    if not hard:
        return y_soft
    if x.ndim == 0:
        y_hard = jnp.ones_like(y_soft)
    else:
        index = jnp.argmax(y_soft, axis=d)
        y_hard = jax.nn.one_hot(index, x.shape[d], dtype=x.dtype, axis=d)
    return y_hard - jax.lax.stop_gradient(y_soft) + y_soft
