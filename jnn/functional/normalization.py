"""Normalization kernels (``torch.nn.functional``): batch, instance, layer, group, RMS and
local-response normalization, and ``normalize``.

All kernels are pure. Statistics are accumulated in at least float32 (half-precision input is
normalised in float32 and cast back), like torch's CPU kernels.

Differences from PyTorch:
    JAX arrays are immutable, so ``batch_norm``/``instance_norm`` cannot update
    ``running_mean``/``running_var`` in place when ``training=True``: they only return the
    normalised output. ``batch_norm_with_update`` returns ``(output, new_running_mean,
    new_running_var)`` instead -- the functional way to keep running statistics (the
    ``BatchNorm*`` layers use it and assign the new arrays to their buffers).
    Where torch raises ``RuntimeError`` for bad shapes, jnn raises ``ValueError``.

Dtypes follow torch's CPU kernels: the affine parameters (and ``batch_norm``'s running
statistics) must have the input's dtype, or all be float32 for float16/bfloat16 input (mixed
precision, computed in float32); anything else raises ``TypeError`` naming both dtypes. Integer
input raises, except in ``local_response_norm`` (computed in float32, as torch does).
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from ..amp.autocast_mode import autocast_op
from ..types import Array, ArrayLike, shape_t
from ._eager import eager_jit
from ._utils import as_array, check_operands, float_input, promote_rank
from .distance import vector_norm

__all__ = ["batch_norm", "batch_norm_with_update", "instance_norm", "layer_norm", "group_norm",
           "rms_norm", "local_response_norm", "normalize"]


# -- helpers -----------------------------------------------------------------------------------

def _compute_dtype(dtype):
    """Statistics are computed in at least float32."""
    return jnp.promote_types(dtype, jnp.float32)


def _check_vector(fn: str, name: str, v, n: int) -> jax.Array | None:
    if v is None:
        return None
    v = as_array(v)
    if v.shape != (n,):
        raise ValueError(f"{fn}: expected {name} of shape ({n},) (one value per channel), got "
                         f"shape {tuple(v.shape)}")
    return v


def moments(x, axes: Sequence[int]):
    """``(mean, biased_variance, count)`` of ``x`` over ``axes`` (two-pass, stable).

    ``count`` is the number of elements each statistic is taken over (a Python int). This is
    the default batch-statistics function of ``BatchNorm``; ``SyncBatchNorm`` replaces it by
    one that averages across devices.
    """
    axes = tuple(axes)
    mean = jnp.mean(x, axis=axes)
    keep = _expand(mean, x.ndim, axes)
    var = jnp.mean(jnp.square(x - keep), axis=axes)
    count = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
    return mean, var, count


def _expand(v, ndim: int, axes: Sequence[int]):
    """Re-insert the reduced ``axes`` of a statistic so it broadcasts against the input."""
    for a in sorted(axes):
        v = jnp.expand_dims(v, a)
    return v


def _channel(v, ndim: int):
    """``(C,)`` -> ``(1, C, 1, ...)`` for an ``ndim``-dimensional ``(N, C, *)`` input."""
    return v.reshape((1, -1) + (1,) * (ndim - 2))


def _verify_batch_size(fn: str, shape) -> None:
    size = shape[0]
    for s in shape[2:]:
        size *= s
    if size == 1:
        raise ValueError(f"{fn}: Expected more than 1 value per channel when training, got "
                         f"input size {tuple(shape)}")


# -- batch norm --------------------------------------------------------------------------------

@functools.partial(eager_jit, static_argnames=("training", "eps", "fn", "batch_stats"))
def batch_norm_core(input, running_mean, running_var, weight=None, bias=None, training=False,
                momentum=0.1, eps=1e-5, fn: str = "batch_norm",
                batch_stats: Callable | None = None):
    """The body of ``batch_norm``: returns ``(output, new_running_mean, new_running_var)``.

    Package-internal (not in ``__all__``): the batch-norm layers call it to get the updated
    running statistics back.

    ``batch_stats(x, axes) -> (mean, biased_var, count)`` computes the batch statistics
    (default :func:`moments`); ``momentum`` may be a traced scalar (cumulative averaging).
    """
    x = float_input(fn, input)
    if x.ndim == 1 and x.size == 0:
        # torch returns an empty 1-d input as it is, before reading a channel dimension.
        return x, running_mean, running_var
    if x.ndim < 2:
        raise ValueError(f"{fn}: expected input with at least 2 dimensions (N, C, *), got shape "
                         f"{tuple(x.shape)}")
    c = x.shape[1]
    running_mean = _check_vector(fn, "running_mean", running_mean, c)
    running_var = _check_vector(fn, "running_var", running_var, c)
    weight = _check_vector(fn, "weight", weight, c)
    bias = _check_vector(fn, "bias", bias, c)
    check_operands(fn, input=x, weight=weight, bias=bias, running_mean=running_mean,
                   running_var=running_var, mixed_precision=True)
    if isinstance(eps, (int, float)):
        if training and eps <= 0.0:
            raise ValueError(f"{fn}: batch_norm eps must be positive during training, but got "
                             f"{eps}")
        if eps < 0.0:
            raise ValueError(f"{fn}: batch_norm eps must be non-negative, but got {eps}")
    if x.size == 0:
        # torch returns (a copy of) the empty input and leaves the running statistics alone;
        # the mean of no values would make them NaN.
        return x, running_mean, running_var
    ct = _compute_dtype(x.dtype)
    xc = x.astype(ct)
    new_mean, new_var = running_mean, running_var
    if training:
        _verify_batch_size(fn, x.shape)
        axes = (0,) + tuple(range(2, x.ndim))
        mean, var, count = (batch_stats or moments)(xc, axes)
        if running_mean is not None or running_var is not None:
            m = jnp.asarray(momentum, ct)
            if running_mean is not None:
                new_mean = ((1 - m) * running_mean.astype(ct) + m * mean).astype(
                    running_mean.dtype)
            if running_var is not None:
                # torch feeds the *unbiased* batch variance to the running estimate
                unbiased = var * (count / jnp.maximum(count - 1, 1))
                new_var = ((1 - m) * running_var.astype(ct) + m * unbiased).astype(
                    running_var.dtype)
    else:
        if running_mean is None or running_var is None:
            raise ValueError(f"{fn}: running_mean and running_var must be given when "
                             "training=False (evaluation uses the running statistics)")
        mean, var = running_mean.astype(ct), running_var.astype(ct)
    scale = jax.lax.rsqrt(var + jnp.asarray(eps, ct))
    if weight is not None:
        scale = scale * weight.astype(ct)
    out = (xc - _channel(mean, x.ndim)) * _channel(scale, x.ndim)
    if bias is not None:
        out = out + _channel(bias.astype(ct), x.ndim)
    return out.astype(x.dtype), new_mean, new_var


def batch_norm(input: ArrayLike, running_mean: ArrayLike, running_var: ArrayLike,
               weight: ArrayLike | None = None, bias: ArrayLike | None = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> jax.Array:
    """Batch normalization over the channel dimension (dim 1) of ``(N, C, *)`` input.

    In training the batch statistics (mean and biased variance over every dimension but 1)
    normalise the input; otherwise ``running_mean``/``running_var`` do.

    Args:
        input: ``(N, C, *)``.
        running_mean, running_var: ``(C,)`` running statistics, or ``None`` (training only).
        weight, bias: optional ``(C,)`` affine parameters.
        training: use batch statistics (default ``False``).
        momentum: running-statistics update factor (used by ``batch_norm_with_update``).
        eps: added to the variance for stability (default ``1e-5``).

    Shape:
        ``(N, C, *) -> (N, C, *)``.

    Returns:
        The normalised input. The running statistics are *not* updated (JAX arrays are
        immutable): use ``batch_norm_with_update`` to get the new ones.

    Example:
        >>> x = jnp.arange(6.0).reshape(3, 2)
        >>> [round(v, 4) for v in F.batch_norm(x, None, None, training=True)[:, 0].tolist()]
        [-1.2247, 0.0, 1.2247]
    """
    return batch_norm_core(input, running_mean, running_var, weight, bias, training, momentum,
                       eps)[0]


def batch_norm_with_update(input: ArrayLike, running_mean: ArrayLike, running_var: ArrayLike,
                           weight: ArrayLike | None = None, bias: ArrayLike | None = None,
                           training: bool = False, momentum: float = 0.1,
                           eps: float = 1e-5) -> Array:
    """``batch_norm`` that also returns the updated running statistics (jnn's functional form
    of torch's in-place update).

    In training, ``new = (1 - momentum) * old + momentum * batch_stat`` where the variance fed
    to the running estimate is the *unbiased* batch variance (as in torch). Otherwise, and for
    statistics given as ``None``, the inputs are returned unchanged.

    Args:
        input: ``(N, C, *)``.
        running_mean, running_var: ``(C,)`` running statistics or ``None``.
        weight, bias: optional ``(C,)`` affine parameters.
        training: use (and track) batch statistics.
        momentum: update factor (a float, or a scalar array for cumulative averaging).
        eps: added to the variance for stability.

    Shape:
        ``(N, C, *) -> ((N, C, *), (C,), (C,))``.

    Returns:
        ``(output, new_running_mean, new_running_var)``.

    Example:
        >>> x = jnp.arange(6.0).reshape(3, 2)
        >>> out, mean, var = F.batch_norm_with_update(x, jnp.zeros(2), jnp.ones(2),
        ...                                           training=True, momentum=0.5)
        >>> mean, var        # 0.5 * old + 0.5 * batch (the unbiased variance: 4)
        (Array([1. , 1.5], dtype=float32), Array([2.5, 2.5], dtype=float32))
    """
    return batch_norm_core(input, running_mean, running_var, weight, bias, training, momentum, eps,
                       fn="batch_norm_with_update")


# -- instance norm -----------------------------------------------------------------------------

def instance_norm_core(input, running_mean=None, running_var=None, weight=None, bias=None,
                   use_input_stats=True, momentum=0.1, eps=1e-5, fn: str = "instance_norm"):
    """The body of ``instance_norm``: returns ``(output, new_running_mean, new_running_var)``.

    Package-internal (not in ``__all__``): the instance-norm layers call it.

    The running statistics are updated like torch's: the per-instance statistics are averaged
    over the batch, and the variance is the unbiased one.
    """
    x = float_input(fn, input)
    if x.ndim < 2:
        raise ValueError(f"{fn}: expected input with at least 2 dimensions (N, C, *), got shape "
                         f"{tuple(x.shape)}")
    c = x.shape[1]
    running_mean = _check_vector(fn, "running_mean", running_mean, c)
    running_var = _check_vector(fn, "running_var", running_var, c)
    weight = _check_vector(fn, "weight", weight, c)
    bias = _check_vector(fn, "bias", bias, c)
    # torch accepts running statistics of another dtype here (not in batch_norm).
    check_operands(fn, input=x, weight=weight, bias=bias, mixed_precision=True)
    ct = _compute_dtype(x.dtype)
    xc = x.astype(ct)
    new_mean, new_var = running_mean, running_var
    if use_input_stats:
        spatial = int(np.prod(x.shape[2:], dtype=np.int64))
        if spatial == 1:
            raise ValueError(f"{fn}: Expected more than 1 spatial element when training, got "
                             f"input size {tuple(x.shape)}")
        axes = tuple(range(2, x.ndim))
        mean, var, count = moments(xc, axes)  # (N, C)
        m = jnp.asarray(momentum, ct)
        if running_mean is not None:
            new_mean = ((1 - m) * running_mean.astype(ct) + m * jnp.mean(mean, 0)).astype(
                running_mean.dtype)
        if running_var is not None:
            unbiased = var * (count / max(count - 1, 1))
            new_var = ((1 - m) * running_var.astype(ct) + m * jnp.mean(unbiased, 0)).astype(
                running_var.dtype)
        mean, var = _expand(mean, x.ndim, axes), _expand(var, x.ndim, axes)
    else:
        if running_mean is None or running_var is None:
            raise ValueError(f"{fn}: Expected running_mean and running_var to be defined when "
                             "use_input_stats is false")
        mean = _channel(running_mean.astype(ct), x.ndim)
        var = _channel(running_var.astype(ct), x.ndim)
    out = (xc - mean) * jax.lax.rsqrt(var + jnp.asarray(eps, ct))
    if weight is not None:
        out = out * _channel(weight.astype(ct), x.ndim)
    if bias is not None:
        out = out + _channel(bias.astype(ct), x.ndim)
    return out.astype(x.dtype), new_mean, new_var


def instance_norm(input: ArrayLike, running_mean: ArrayLike | None = None,
                  running_var: ArrayLike | None = None, weight: ArrayLike | None = None,
                  bias: ArrayLike | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> jax.Array:
    """Normalise every channel of every sample over its spatial dimensions.

    Args:
        input: ``(N, C, *)`` with more than one spatial element.
        running_mean, running_var: optional ``(C,)`` statistics, used when
            ``use_input_stats=False``.
        weight, bias: optional ``(C,)`` affine parameters.
        use_input_stats: normalise with the instance statistics (default ``True``).
        momentum: running-statistics factor (the update is not written back, see the module
            docstring; ``nn.InstanceNorm*`` layers keep their buffers up to date).
        eps: added to the variance for stability.

    Shape:
        ``(N, C, *) -> (N, C, *)``.

    Returns:
        The normalised input.

    Example:
        >>> F.instance_norm(jnp.arange(4.0).reshape(1, 1, 4))
        Array([[[-1.3416355, -0.4472118,  0.4472118,  1.3416355]]], dtype=float32)
    """
    return instance_norm_core(input, running_mean, running_var, weight, bias, use_input_stats,
                          momentum, eps)[0]


# -- layer, group and RMS norm -----------------------------------------------------------------

def _normalized_shape(fn: str, normalized_shape) -> tuple:
    if isinstance(normalized_shape, (int, np.integer)):
        return (int(normalized_shape),)
    try:
        return tuple(int(s) for s in normalized_shape)
    except TypeError:
        raise TypeError(f"{fn}: expected normalized_shape to be an int or a sequence of ints, "
                        f"got {normalized_shape!r}") from None


def _check_trailing(fn: str, x, shape: tuple) -> None:
    if len(shape) == 0 or x.ndim < len(shape) or tuple(x.shape[x.ndim - len(shape):]) != shape:
        raise ValueError(f"{fn}: Given normalized_shape={list(shape)}, expected input with shape "
                         f"[*, {', '.join(map(str, shape))}], but got input of size "
                         f"{tuple(x.shape)}")


def _check_param(fn: str, name: str, v, shape: tuple) -> jax.Array | None:
    if v is None:
        return None
    v = as_array(v)
    if tuple(v.shape) != shape:
        raise ValueError(f"{fn}: expected {name} of shape {shape} (normalized_shape), got shape "
                         f"{tuple(v.shape)}")
    return v


@autocast_op("layer_norm")
def layer_norm(input: ArrayLike, normalized_shape: shape_t, weight: ArrayLike | None = None,
               bias: ArrayLike | None = None, eps: float = 1e-5) -> jax.Array:
    """Normalise over the trailing ``normalized_shape`` dimensions of each sample.

    Args:
        input: ``(*, *normalized_shape)``.
        normalized_shape: int or tuple: the trailing dimensions to normalise over.
        weight, bias: optional elementwise affine parameters of shape ``normalized_shape``.
        eps: added to the (biased) variance for stability.

    Shape:
        ``(*, *normalized_shape) -> same``.

    Returns:
        The normalised input.

    Example:
        >>> out = F.layer_norm(jnp.array([[1.0, 3.0]]), (2,))   # (x - 2) / sqrt(1 + eps)
        >>> out.shape, [round(v, 4) for v in out[0].tolist()]
        ((1, 2), [-1.0, 1.0])
    """
    shape = _normalized_shape("layer_norm", normalized_shape)
    x = float_input("layer_norm", input)
    _check_trailing("layer_norm", x, shape)
    weight = _check_param("layer_norm", "weight", weight, shape)
    bias = _check_param("layer_norm", "bias", bias, shape)
    check_operands("layer_norm", input=x, weight=weight, bias=bias, mixed_precision=True)
    return _layer_norm(x, weight, bias, n_axes=len(shape), eps=eps)


@functools.partial(eager_jit, static_argnames=("n_axes", "eps"))
def _layer_norm(x, weight, bias, *, n_axes: int, eps: float):
    ct = _compute_dtype(x.dtype)
    xc = x.astype(ct)
    axes = tuple(range(x.ndim - n_axes, x.ndim))
    mean = jnp.mean(xc, axis=axes, keepdims=True)
    centered = xc - mean
    var = jnp.mean(jnp.square(centered), axis=axes, keepdims=True)
    out = centered * jax.lax.rsqrt(var + jnp.asarray(eps, ct))
    if weight is not None:
        out = out * promote_rank(weight.astype(ct), out.ndim)
    if bias is not None:
        out = out + promote_rank(bias.astype(ct), out.ndim)
    return out.astype(x.dtype)


def rms_norm(input: ArrayLike, normalized_shape: shape_t, weight: ArrayLike | None = None,
             eps: float | None = None) -> jax.Array:
    """Root-mean-square normalization over the trailing ``normalized_shape`` dimensions.

    ``y = x / sqrt(mean(x**2) + eps) * weight``.

    Args:
        input: ``(*, *normalized_shape)``.
        normalized_shape: int or tuple: the trailing dimensions to normalise over.
        weight: optional elementwise scale of shape ``normalized_shape``.
        eps: added inside the square root; ``None`` uses ``finfo(input.dtype).eps``.

    Shape:
        ``(*, *normalized_shape) -> same``.

    Returns:
        The normalised input.

    Example:
        >>> F.rms_norm(jnp.array([[3.0, 4.0]]), (2,))
        Array([[0.84852815, 1.1313709 ]], dtype=float32)
    """
    shape = _normalized_shape("rms_norm", normalized_shape)
    x = float_input("rms_norm", input)
    _check_trailing("rms_norm", x, shape)
    # torch's rms_norm is the one normalization that takes a weight of any dtype (the output
    # keeps the input's).
    weight = _check_param("rms_norm", "weight", weight, shape)
    if eps is None:
        eps = float(jnp.finfo(x.dtype).eps)
    ct = _compute_dtype(x.dtype)
    xc = x.astype(ct)
    axes = tuple(range(x.ndim - len(shape), x.ndim))
    ms = jnp.mean(jnp.square(xc), axis=axes, keepdims=True)
    out = xc * jax.lax.rsqrt(ms + jnp.asarray(eps, ct))
    if weight is not None:
        out = out * promote_rank(weight.astype(ct), out.ndim)
    return out.astype(x.dtype)


@autocast_op("group_norm")
def group_norm(input: ArrayLike, num_groups: int, weight: ArrayLike | None = None,
               bias: ArrayLike | None = None, eps: float = 1e-5) -> jax.Array:
    """Normalise each group of ``C / num_groups`` channels of each sample.

    Args:
        input: ``(N, C, *)`` with ``C`` divisible by ``num_groups``.
        num_groups: the number of channel groups.
        weight, bias: optional per-channel ``(C,)`` affine parameters.
        eps: added to the (biased) variance for stability.

    Shape:
        ``(N, C, *) -> (N, C, *)``.

    Returns:
        The normalised input.

    Example:
        >>> F.group_norm(jnp.arange(8.0).reshape(1, 4, 2), 2).shape
        (1, 4, 2)
    """
    x = float_input("group_norm", input)
    if x.ndim < 2:
        raise ValueError(f"group_norm: Expected at least 2 dimensions for input tensor but "
                         f"received {x.ndim} (shape {tuple(x.shape)})")
    if not isinstance(num_groups, (int, np.integer)) or num_groups <= 0:
        raise ValueError(f"group_norm: expected num_groups to be a positive int, got "
                         f"{num_groups!r}")
    n, c = x.shape[:2]
    if c % num_groups:
        raise ValueError(f"group_norm: Expected number of channels in input to be divisible by "
                         f"num_groups, but got input of shape {tuple(x.shape)} and num_groups="
                         f"{num_groups}")
    _verify_batch_size("group_norm", (n * c // num_groups, num_groups) + tuple(x.shape[2:]))
    weight = _check_vector("group_norm", "weight", weight, c)
    bias = _check_vector("group_norm", "bias", bias, c)
    check_operands("group_norm", input=x, weight=weight, bias=bias, mixed_precision=True)
    ct = _compute_dtype(x.dtype)
    # An explicit group size: reshape's -1 cannot be inferred for an empty batch.
    xg = x.astype(ct).reshape((n, num_groups, x.size // max(n * num_groups, 1)))
    mean = jnp.mean(xg, axis=-1, keepdims=True)
    centered = xg - mean
    var = jnp.mean(jnp.square(centered), axis=-1, keepdims=True)
    out = (centered * jax.lax.rsqrt(var + jnp.asarray(eps, ct))).reshape(x.shape)
    if weight is not None:
        out = out * _channel(weight.astype(ct), x.ndim)
    if bias is not None:
        out = out + _channel(bias.astype(ct), x.ndim)
    return out.astype(x.dtype)


# -- local response norm and normalize ---------------------------------------------------------

def local_response_norm(input: ArrayLike, size: int, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 1.0) -> jax.Array:
    """Normalise each element by the energy of its ``size`` neighbouring channels.

    ``y_c = x_c / (k + alpha / size * sum_{c' in window(c)} x_{c'}**2) ** beta`` with the
    window ``[c - size // 2, c + (size - 1) // 2]`` zero-padded at the edges.

    Args:
        input: ``(N, C, *)`` with at least 3 dimensions.
        size: the number of neighbouring channels.
        alpha, beta, k: the constants of the formula above.

    Shape:
        ``(N, C, *) -> (N, C, *)``.

    Returns:
        The normalised input.

    Example:
        >>> F.local_response_norm(jnp.ones((1, 3, 2)), 2).shape
        (1, 3, 2)
    """
    x = float_input("local_response_norm", input, promote_integers=True)
    if x.ndim < 3:
        raise ValueError(f"local_response_norm: Expected 3D or higher dimensionality input (got "
                         f"{x.ndim} dimensions, shape {tuple(x.shape)})")
    if not isinstance(size, (int, np.integer)) or size <= 0:
        raise ValueError(f"local_response_norm: expected size to be a positive int, got {size!r}")
    if x.size == 0:
        return x
    ct = _compute_dtype(x.dtype)
    xc = x.astype(ct)
    sq = jnp.square(xc)
    window = (1, size) + (1,) * (x.ndim - 2)
    pads = ((0, 0), (size // 2, (size - 1) // 2)) + ((0, 0),) * (x.ndim - 2)
    # The init value must be a concrete (numpy) zero: JAX recognises a windowed *sum* (which
    # has a transpose) only then; a jnp constant is a tracer under jit, and the generic
    # reduce_window it falls back to cannot be differentiated in reverse mode.
    total = jax.lax.reduce_window(sq, np.zeros((), ct), jax.lax.add, window,
                                  (1,) * x.ndim, pads)
    div = (total * jnp.asarray(alpha / size, ct) + jnp.asarray(k, ct)) ** jnp.asarray(beta, ct)
    return (xc / div).astype(x.dtype)


@autocast_op("normalize")
def normalize(input: ArrayLike, p: float = 2.0, dim: int = 1, eps: float = 1e-12,
              out: ArrayLike | None = None) -> jax.Array:
    """``x / max(||x||_p, eps)`` along ``dim``.

    Args:
        input: any shape with at least ``dim + 1`` dimensions.
        p: the norm's exponent (default ``2``; ``inf`` for the max norm).
        dim: the dimension to normalise over (default ``1``).
        eps: lower bound of the denominator (default ``1e-12``).
        out: not supported (``None`` only; JAX arrays are immutable).

    Shape:
        ``(*) -> (*)``.

    Returns:
        The normalised input; all-zero slices stay zero (with zero gradient, like torch).

    Example:
        >>> F.normalize(jnp.array([[3.0, 4.0]]))
        Array([[0.6, 0.8]], dtype=float32)
    """
    if out is not None:
        raise TypeError("normalize: out= is not supported (JAX arrays are immutable); use the "
                        "return value")
    x = float_input("normalize", input)
    n = max(x.ndim, 1)
    if not isinstance(dim, (int, np.integer)) or not -n <= dim < n:
        raise ValueError(f"normalize: Dimension out of range (expected to be in range of "
                         f"[{-n}, {n - 1}], but got {dim})")
    dim = int(dim) % n
    # A 0-d input is a vector of one element (torch accepts dim=0 or -1 for it).
    norm = (vector_norm(x.reshape(1), p, 0, keepdim=True).reshape(()) if x.ndim == 0
            else vector_norm(x, p, dim, keepdim=True))
    return x / jnp.maximum(norm, jnp.asarray(eps, x.dtype))
