"""Loss kernels (``torch.nn.functional``): regression, classification, ranking, CTC.

Every loss takes torch's arguments, including the legacy ``size_average``/``reduce`` pair
(which, when given, override ``reduction`` exactly as in torch, with a warning).

Class-index targets are checked against the number of classes when they are concrete (eager
calls); under a trace (``jit``/``grad``) such a check would need a host sync, so an
out-of-range target there gives NaN instead of an error.
"""
from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from ..amp.autocast_mode import autocast_op
from ..types import Array, ArrayLike
from ._eager import eager_jit
from ._utils import as_array, check_operands, float_input, promote_rank
from .distance import pairwise_distance

__all__ = [
    "l1_loss", "mse_loss", "cross_entropy", "nll_loss", "poisson_nll_loss", "gaussian_nll_loss",
    "kl_div", "binary_cross_entropy", "binary_cross_entropy_with_logits",
    "hinge_embedding_loss", "multilabel_margin_loss", "smooth_l1_loss", "huber_loss",
    "soft_margin_loss", "multilabel_soft_margin_loss", "cosine_embedding_loss",
    "margin_ranking_loss", "multi_margin_loss", "triplet_margin_loss",
    "triplet_margin_with_distance_loss", "ctc_loss",
]


# -- shared helpers ---------------------------------------------------------------------------

def legacy_reduction(size_average, reduce) -> str:
    """torch's ``_Reduction.legacy_get_string``: map the deprecated pair to a reduction."""
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if size_average and reduce:
        return "mean"
    return "sum" if reduce else "none"


def _reduction(fn: str, reduction: str, size_average=None, reduce=None,
               allowed=("none", "mean", "sum")) -> str:
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce)
        warnings.warn(f"size_average and reduce args will be deprecated, please use "
                      f"reduction='{reduction}' instead.", stacklevel=3)
    if reduction not in allowed:
        names = ", ".join(repr(a) for a in allowed[:-1]) + f" or {allowed[-1]!r}"
        raise ValueError(f"{fn}: reduction: expected {names}, got {reduction!r}")
    return reduction


def _reduce(loss, reduction: str):
    if reduction == "mean":
        return jnp.mean(loss)
    if reduction == "sum":
        return jnp.sum(loss)
    return loss


def _concrete(x) -> np.ndarray | None:
    """The numpy value of ``x`` when it is concrete (not a tracer), else ``None``."""
    if isinstance(x, jax.core.Tracer):
        return None
    try:
        return np.asarray(x)
    except Exception:  # pragma: no cover - abstract values
        return None


def _is_float(x) -> bool:
    return jnp.issubdtype(x.dtype, jnp.floating)


def _is_int(x) -> bool:
    return jnp.issubdtype(x.dtype, jnp.integer)


def _broadcast_pair(fn: str, x, t):
    """torch's elementwise-loss rule: equal shapes, or broadcast with a warning."""
    if x.shape == t.shape:
        return x, t
    try:
        shape = jnp.broadcast_shapes(x.shape, t.shape)
    except ValueError:
        raise ValueError(f"{fn}: input shape {tuple(x.shape)} and target shape "
                         f"{tuple(t.shape)} do not match (and cannot be broadcast)") from None
    warnings.warn(f"{fn}: using a target size ({tuple(t.shape)}) that is different to the input "
                  f"size ({tuple(x.shape)}). This will likely lead to incorrect results due to "
                  "broadcasting. Please ensure they have the same size.", stacklevel=3)
    return jnp.broadcast_to(x, shape), jnp.broadcast_to(t, shape)


def _check_same_shape(fn: str, a, b, what=("input", "target")) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{fn}: {what[0]} shape {tuple(a.shape)} and {what[1]} shape "
                         f"{tuple(b.shape)} do not match")


def _check_class_targets(fn: str, target, num_classes: int, ignore_index=None) -> None:
    t = _concrete(target)
    if t is None or t.size == 0:
        return
    bad = (t < 0) | (t >= num_classes)
    if ignore_index is not None:
        bad &= t != ignore_index
    if bad.any():
        value = t[bad].flat[0]
        extra = f" (and not ignore_index={ignore_index})" if ignore_index is not None else ""
        raise ValueError(f"{fn}: target {value} is out of bounds: expected class indices in "
                         f"[0, {num_classes}){extra}")


def _check_class_weight(fn: str, weight, num_classes: int):
    if weight is None:
        return None
    w = as_array(weight)
    if w.shape != (num_classes,):
        raise ValueError(f"{fn}: expected weight of shape ({num_classes},) (one per class), got "
                         f"shape {tuple(w.shape)}")
    return w


def _elementwise_weight(fn: str, weight, x):
    if weight is None:
        return None
    w = as_array(weight)
    if w.shape != x.shape:
        raise ValueError(f"{fn}: weight shape {tuple(w.shape)} and input shape {tuple(x.shape)} "
                         "must be the same")
    return w


# -- regression -------------------------------------------------------------------------------

def _weighted_pointwise(fn, loss, weight, reduction, mean_by_weight):
    if weight is None:
        return _reduce(loss, reduction)
    loss = loss * weight
    if reduction == "mean":
        return jnp.sum(loss) / jnp.sum(weight) if mean_by_weight else jnp.mean(loss)
    return _reduce(loss, reduction)


@autocast_op("l1_loss")
def l1_loss(input: ArrayLike, target: ArrayLike, size_average: bool | None = None,
            reduce: bool | None = None, reduction: str = "mean",
            weight: ArrayLike | None = None) -> Array:
    """Mean absolute error ``|input - target|``.

    Args:
        input, target: arrays of the same shape (different broadcastable shapes are accepted
            with a warning, as in torch).
        size_average, reduce: deprecated (see ``reduction``).
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.
        weight: optional per-element weights (same shape as ``input``); ``'mean'`` then
            divides by ``weight.sum()``.

    Shape:
        ``(*), (*) -> ()`` (``(*)`` with ``reduction='none'``).

    Returns:
        The loss.

    Example:
        >>> F.l1_loss(jnp.zeros(3), jnp.ones(3))
        Array(1., dtype=float32)
    """
    reduction = _reduction("l1_loss", reduction, size_average, reduce)
    x, t = _broadcast_pair("l1_loss", as_array(input), as_array(target))
    w = _elementwise_weight("l1_loss", weight, as_array(input))
    return _weighted_pointwise("l1_loss", jnp.abs(x - t), w, reduction, True)


@autocast_op("mse_loss")
def mse_loss(input: ArrayLike, target: ArrayLike, size_average: bool | None = None,
             reduce: bool | None = None, reduction: str = "mean",
             weight: ArrayLike | None = None) -> Array:
    """Mean squared error ``(input - target)**2``.

    Args:
        input, target: arrays of the same shape (different broadcastable shapes are accepted
            with a warning, as in torch; non-broadcastable shapes raise ``ValueError``).
        size_average, reduce: deprecated (see ``reduction``).
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.
        weight: optional per-element weights; ``'mean'`` then divides by ``weight.sum()``.

    Shape:
        ``(*), (*) -> ()`` (``(*)`` with ``reduction='none'``).

    Returns:
        The loss.

    Example:
        >>> F.mse_loss(jnp.zeros(3), 2 * jnp.ones(3))
        Array(4., dtype=float32)
    """
    reduction = _reduction("mse_loss", reduction, size_average, reduce)
    x, t = _broadcast_pair("mse_loss", as_array(input), as_array(target))
    w = _elementwise_weight("mse_loss", weight, as_array(input))
    d = x - t
    return _weighted_pointwise("mse_loss", d * d, w, reduction, True)


@autocast_op("smooth_l1_loss")
def smooth_l1_loss(input: ArrayLike, target: ArrayLike, size_average: bool | None = None,
                   reduce: bool | None = None, reduction: str = "mean", beta: float = 1.0) -> Array:
    """Smooth L1: ``0.5 d**2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta``.

    Args:
        input, target: arrays of the same (or broadcastable, with a warning) shape.
        size_average, reduce: deprecated (see ``reduction``).
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.
        beta: the threshold (``>= 0``; 0 gives the L1 loss). Default 1.0.

    Shape:
        ``(*), (*) -> ()`` (``(*)`` with ``reduction='none'``).

    Returns:
        The loss.

    Example:
        >>> F.smooth_l1_loss(jnp.zeros(2), jnp.array([0.5, 3.0]), reduction="none")
        Array([0.125, 2.5  ], dtype=float32)
    """
    reduction = _reduction("smooth_l1_loss", reduction, size_average, reduce)
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: expected a non-negative beta, got {beta}")
    x, t = _broadcast_pair("smooth_l1_loss", as_array(input), as_array(target))
    z = jnp.abs(x - t)
    if beta == 0:
        return _reduce(z, reduction)
    loss = jnp.where(z < beta, 0.5 * z * z / beta, z - 0.5 * beta)
    return _reduce(loss, reduction)


@autocast_op("huber_loss")
def huber_loss(input: ArrayLike, target: ArrayLike, reduction: str = "mean", delta: float = 1.0,
               weight: ArrayLike | None = None) -> Array:
    """Huber loss: ``0.5 d**2`` where ``|d| < delta``, else ``delta (|d| - 0.5 delta)``.

    Args:
        input, target: arrays of the same (or broadcastable, with a warning) shape.
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.
        delta: the threshold (``> 0``). Default 1.0.
        weight: optional per-element weights (``'mean'`` is the mean of the weighted loss).

    Shape:
        ``(*), (*) -> ()`` (``(*)`` with ``reduction='none'``).

    Returns:
        The loss.

    Example:
        >>> F.huber_loss(jnp.zeros(2), jnp.array([0.5, 3.0]), reduction="none")
        Array([0.125, 2.5  ], dtype=float32)
    """
    reduction = _reduction("huber_loss", reduction)
    if not delta > 0:
        raise ValueError(f"huber_loss: expected a positive delta, got {delta}")
    x, t = _broadcast_pair("huber_loss", as_array(input), as_array(target))
    w = _elementwise_weight("huber_loss", weight, as_array(input))
    z = jnp.abs(x - t)
    # torch's kernel writes the loss in the input's dtype (a float64 target does not promote).
    loss = jnp.where(z < delta, 0.5 * z * z, delta * (z - 0.5 * delta)).astype(x.dtype)
    return _weighted_pointwise("huber_loss", loss, w, reduction, False)


@autocast_op("poisson_nll_loss")
def poisson_nll_loss(input: ArrayLike, target: ArrayLike, log_input: bool = True,
                     full: bool = False, size_average: bool | None = None, eps: float = 1e-8,
                     reduce: bool | None = None, reduction: str = "mean") -> Array:
    """Poisson negative log likelihood.

    ``exp(input) - target * input`` if ``log_input`` else ``input - target * log(input + eps)``;
    ``full`` adds the Stirling term ``t log t - t + 0.5 log(2 pi t)`` where ``target > 1``.

    Args:
        input: the (log-)rate; target: the observed counts (same shape).
        log_input, full, eps: as above.
        size_average, reduce: deprecated (see ``reduction``).
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.

    Shape:
        ``(*), (*) -> ()`` (``(*)`` with ``reduction='none'``).

    Returns:
        The loss.

    Example:
        >>> F.poisson_nll_loss(jnp.zeros(3), jnp.ones(3))
        Array(1., dtype=float32)
    """
    reduction = _reduction("poisson_nll_loss", reduction, size_average, reduce)
    x, t = _broadcast_pair("poisson_nll_loss", as_array(input), as_array(target))
    if log_input:
        loss = jnp.exp(x) - t * x
    else:
        loss = x - t * jnp.log(x + eps)
    if full:
        big = t > 1
        ts = jnp.where(big, t, 2.0)
        stirling = ts * jnp.log(ts) - ts + 0.5 * jnp.log(2 * math.pi * ts)
        loss = loss + jnp.where(big, stirling, 0.0)
    return _reduce(loss, reduction)


def gaussian_nll_loss(input: ArrayLike, target: ArrayLike, var: ArrayLike, full: bool = False,
                      eps: float = 1e-6, reduction: str = "mean") -> Array:
    """Gaussian negative log likelihood ``0.5 (log var + (input - target)**2 / var)``.

    Args:
        input: the predicted means; target: samples (same shape).
        var: positive variances: same shape as ``input``, one dimension short of it, broadcastable
            with one mismatched dimension of size 1 (homoscedastic), or a Python number.
        full: add the constant ``0.5 log(2 pi)``.
        eps: ``var`` is clamped to at least ``eps`` (the clamp does not stop the gradient).
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.

    Shape:
        ``(N, *), (N, *), (N, *) or (N, *[:-1]) or (N, 1, ...) -> ()``.

    Returns:
        The loss.

    Example:
        >>> F.gaussian_nll_loss(jnp.zeros(3), jnp.zeros(3), jnp.ones(3))
        Array(0., dtype=float32)
    """
    x, t = as_array(input), as_array(target)
    if isinstance(var, (int, float)) and not isinstance(var, bool):
        if var < 0:
            raise ValueError(f"gaussian_nll_loss: var has negative entries, got {var}")
        v = jnp.full(x.shape, var, x.dtype)
    else:
        v = as_array(var, "gaussian_nll_loss", "var")
        float_input("gaussian_nll_loss", v, "var")  # torch clamps var in place
        cv = _concrete(v)
        if cv is not None and (cv < 0).any():
            raise ValueError("gaussian_nll_loss: var has negative entries")
    if v.shape != x.shape:
        if x.shape[:-1] == v.shape:
            v = v[..., None]
        elif x.ndim == v.ndim and sum(b for a, b in zip(x.shape, v.shape) if a != b) == 1:
            pass
        else:
            raise ValueError(f"gaussian_nll_loss: var is of incorrect size: expected "
                             f"{tuple(x.shape)}, {tuple(x.shape[:-1])} or a shape with one "
                             f"dimension of size 1, got {tuple(v.shape)}")
    reduction = _reduction("gaussian_nll_loss", reduction)
    v = v + jax.lax.stop_gradient(jnp.maximum(v, eps) - v)  # torch clamps under no_grad
    loss = 0.5 * (jnp.log(v) + (x - t) ** 2 / v)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


@autocast_op("kl_div")
def kl_div(input: ArrayLike, target: ArrayLike, size_average: bool | None = None,
           reduce: bool | None = None, reduction: str = "mean", log_target: bool = False) -> Array:
    """Kullback-Leibler divergence ``target * (log target - input)`` (``input``: log-probs).

    Args:
        input: log-probabilities.
        target: probabilities (log-probabilities with ``log_target=True``), same shape.
        size_average, reduce: deprecated (see ``reduction``).
        reduction: ``'none'`` | ``'batchmean'`` (sum / batch size: the true KL) | ``'sum'`` |
            ``'mean'`` (mean over all elements; warns, as in torch).
        log_target: ``target`` is given in log space.

    Shape:
        ``(*), (*) -> ()`` (``(*)`` with ``reduction='none'``).

    Returns:
        The divergence.

    Example:
        >>> p = jax.nn.log_softmax(jnp.ones((2, 3)))
        >>> F.kl_div(p, jnp.exp(p), reduction="batchmean")
        Array(0., dtype=float32)
    """
    if size_average is not None or reduce is not None:
        reduction = _reduction("kl_div", reduction, size_average, reduce)
    else:
        reduction = _reduction("kl_div", reduction,
                               allowed=("none", "batchmean", "mean", "sum"))
        if reduction == "mean":
            warnings.warn("reduction: 'mean' divides the total loss by both the batch size and "
                          "the support size.'batchmean' divides only by the batch size, and "
                          "aligns with the KL div math definition.'mean' will be changed to "
                          "behave the same as 'batchmean' in the next major release.",
                          stacklevel=2)
    x, t = _broadcast_pair("kl_div", as_array(input), as_array(target))
    float_input("kl_div", x)  # torch: "Integral inputs not supported"
    float_input("kl_div", t, "target")
    if log_target:
        loss = jnp.exp(t) * (t - x)
    else:
        loss = jax.scipy.special.xlogy(t, t) - t * x
    if reduction == "batchmean":
        total = jnp.sum(loss)
        return total / as_array(input).shape[0] if as_array(input).ndim != 0 else total
    return _reduce(loss, reduction)


# -- classification ---------------------------------------------------------------------------

def _class_layout(fn: str, x, t):
    """Validate (C,)/(N, C)/(N, C, d1, ...) input against an index target; return class dim."""
    if x.ndim == 0:
        raise ValueError(f"{fn}: expected input with 1 or more dimensions (C,), (N, C) or "
                         f"(N, C, d1, ...), got a scalar")
    if x.ndim == 1:
        if t.ndim != 0:
            raise ValueError(f"{fn}: for unbatched input of shape {tuple(x.shape)} expected a "
                             f"scalar target, got shape {tuple(t.shape)}")
        return 0
    want = (x.shape[0],) + x.shape[2:]
    if t.shape != want:
        raise ValueError(f"{fn}: expected target of shape {want} for input of shape "
                         f"{tuple(x.shape)}, got {tuple(t.shape)}")
    return 1


def _pick(logp, t, class_dim):
    """``logp`` at the target classes (NaN where a target is out of range)."""
    picked = jnp.take_along_axis(logp, jnp.expand_dims(t, class_dim), axis=class_dim,
                                 mode="fill", fill_value=jnp.nan)
    return jnp.squeeze(picked, class_dim)


def _nll(fn, logp, t, weight, ignore_index, reduction, class_dim):
    """NLL over log-probabilities ``logp``; returns (reduced loss, per-target weight, mask)."""
    ignored = t == ignore_index
    safe_t = jnp.where(ignored, 0, t)
    picked = _pick(logp, safe_t, class_dim)
    if weight is None:
        w = jnp.ones(t.shape, logp.dtype)
    else:
        w = jnp.take(weight, safe_t, mode="fill", fill_value=jnp.nan).astype(logp.dtype)
    w = jnp.where(ignored, 0, w)
    loss = jnp.where(ignored, 0, -picked * w)
    if reduction == "none":
        return loss, w, ignored
    if reduction == "sum":
        return jnp.sum(loss), w, ignored
    return jnp.sum(loss) / jnp.sum(w), w, ignored


@autocast_op("nll_loss")
def nll_loss(input: ArrayLike, target: ArrayLike, weight: ArrayLike | None = None,
             size_average: bool | None = None, ignore_index: int = -100, reduce: bool | None = None,
             reduction: str = "mean") -> Array:
    """Negative log likelihood of log-probabilities ``input`` at class indices ``target``.

    Args:
        input: log-probabilities ``(C,)``, ``(N, C)`` or ``(N, C, d1, ...)``.
        target: class indices (integer) ``()``, ``(N,)`` or ``(N, d1, ...)``.
        weight: optional per-class weights ``(C,)``.
        size_average, reduce: deprecated (see ``reduction``).
        ignore_index: targets equal to it contribute nothing (and are not counted by 'mean').
        reduction: ``'none'`` | ``'mean'`` (weighted mean) | ``'sum'``.

    Shape:
        ``(N, C, *), (N, *) -> ()`` (``(N, *)`` with ``reduction='none'``).

    Returns:
        The loss.

    Example:
        >>> F.nll_loss(jnp.log(jnp.full((2, 4), 0.25)), jnp.array([1, 3]))
        Array(1.3862944, dtype=float32)
    """
    reduction = _reduction("nll_loss", reduction, size_average, reduce)
    x, t = as_array(input), as_array(target)
    float_input("nll_loss", x)
    if not _is_int(t):
        raise TypeError(f"nll_loss: expected an integer target of class indices, got dtype "
                        f"{t.dtype}")
    class_dim = _class_layout("nll_loss", x, t)
    C = x.shape[class_dim]
    w = _check_class_weight("nll_loss", weight, C)
    check_operands("nll_loss", input=x, weight=w)
    _check_class_targets("nll_loss", t, C, ignore_index)
    return _nll("nll_loss", x, t, w, ignore_index, reduction, class_dim)[0]


@autocast_op("cross_entropy")
def cross_entropy(input: ArrayLike, target: ArrayLike, weight: ArrayLike | None = None,
                  size_average: bool | None = None, ignore_index: int = -100,
                  reduce: bool | None = None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Array:
    """Cross entropy between logits ``input`` and class indices or class probabilities.

    Computed as ``log_softmax`` over the class dimension followed by the NLL (index targets)
    or ``-sum(target * log_softmax)`` (probability targets, recognised by having the input's
    shape and a floating dtype). ``weight``, ``ignore_index`` and ``label_smoothing`` combine
    exactly as in torch.

    Args:
        input: logits ``(C,)``, ``(N, C)`` or ``(N, C, d1, ...)``.
        target: class indices ``()``, ``(N,)``, ``(N, d1, ...)`` (integer), or probabilities
            with the input's shape (float).
        weight: optional per-class weights ``(C,)``.
        size_average, reduce: deprecated (see ``reduction``).
        ignore_index: index targets equal to it are ignored (not allowed with probabilities).
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.
        label_smoothing: in ``[0, 1]``; mixes the target with the uniform distribution.

    Shape:
        ``(N, C, *), (N, *) -> ()`` (``(N, *)`` with ``reduction='none'``).

    Returns:
        The loss.

    Example:
        >>> F.cross_entropy(jnp.zeros((3, 2)), jnp.array([1, 0, 1]))
        Array(0.6931472, dtype=float32)
    """
    reduction = _reduction("cross_entropy", reduction, size_average, reduce)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be between 0.0 and 1.0, got "
                         f"{label_smoothing}")
    x, t = as_array(input), as_array(target)
    float_input("cross_entropy", x)
    if x.ndim == 0:
        raise ValueError("cross_entropy: expected input with 1 or more dimensions (C,), (N, C) "
                         "or (N, C, d1, ...), got a scalar")
    class_dim = 0 if x.ndim == 1 else 1
    C = x.shape[class_dim]
    w = _check_class_weight("cross_entropy", weight, C)
    wb = None if w is None else w.reshape((1,) * class_dim + (C,) + (1,) * (x.ndim - class_dim - 1))
    logp = jax.nn.log_softmax(x, axis=class_dim)

    if t.shape == x.shape and _is_float(t):  # class probabilities (torch promotes the dtypes)
        if ignore_index >= 0:
            raise ValueError(f"cross_entropy: ignore_index is not supported for class-probability "
                             f"targets (got ignore_index={ignore_index})")
        if label_smoothing > 0:
            t = t * (1 - label_smoothing) + label_smoothing / C
        prod = logp * t if wb is None else logp * t * wb
        if reduction == "none":
            return -jnp.sum(prod, axis=class_dim)
        if reduction == "sum":
            return -jnp.sum(prod)
        return -jnp.sum(prod) / (x.size / C)

    if not _is_int(t):
        raise TypeError(f"cross_entropy: expected an integer target of class indices or a "
                        f"floating target of probabilities with the input's shape "
                        f"{tuple(x.shape)}, got dtype {t.dtype} and shape {tuple(t.shape)}")
    class_dim = _class_layout("cross_entropy", x, t)
    check_operands("cross_entropy", input=x, weight=w)  # index targets: no promotion
    _check_class_targets("cross_entropy", t, C, ignore_index)
    nll, tw, ignored = _nll("cross_entropy", logp, t, w, ignore_index, reduction, class_dim)
    if label_smoothing <= 0:
        return nll
    smooth = -jnp.sum(logp if wb is None else logp * wb, axis=class_dim)
    smooth = jnp.where(ignored, 0, smooth)
    if reduction == "none":
        ret = smooth
    elif reduction == "sum":
        ret = jnp.sum(smooth)
    else:
        ret = jnp.sum(smooth) / jnp.sum(tw)  # tw: weight[target] (or 1), 0 where ignored
    return (1 - label_smoothing) * nll + ret * (label_smoothing / C)


def _bce_logs(x):
    return jnp.maximum(jnp.log(x), -100.0), jnp.maximum(jnp.log(1 - x), -100.0)


@jax.custom_jvp
def _bce(x, t):
    log_x, log_1mx = _bce_logs(x)
    return -(t * log_x + (1 - t) * log_1mx)


@_bce.defjvp
def _bce_jvp(primals, tangents):
    # torch's derivative formulas, finite even at x == 0 or 1 (the clamped logs' own
    # derivative is not). Linear in the tangents, so JAX's transpose of it is torch's
    # backward, and forward mode works too.
    (x, t), (tx, tt) = primals, tangents
    loss = _bce(x, t)
    d_x = ((x - t) / jnp.maximum((1 - x) * x, 1e-12)).astype(x.dtype)
    d_t = (jnp.log1p(-x) - jnp.log(x)).astype(t.dtype)
    tangent = _scaled_tangent(tx, d_x) + _scaled_tangent(tt, d_t)
    return loss, tangent.astype(loss.dtype)


def _scaled_tangent(tangent, derivative):
    """``tangent * derivative``; an integer operand's (float0) tangent contributes zero."""
    if tangent.dtype == jax.dtypes.float0:
        return jnp.zeros(derivative.shape, derivative.dtype)
    return tangent * derivative


@autocast_op("binary_cross_entropy")
def binary_cross_entropy(input: ArrayLike, target: ArrayLike, weight: ArrayLike | None = None,
                         size_average: bool | None = None, reduce: bool | None = None,
                         reduction: str = "mean") -> Array:
    """Binary cross entropy of probabilities: ``-w (t log x + (1 - t) log(1 - x))``.

    As in torch, each log is clamped to ``>= -100`` so that ``x`` of exactly 0 or 1 gives a
    finite loss.

    Args:
        input: probabilities in ``[0, 1]``; target: same shape, values in ``[0, 1]``.
        weight: optional weights broadcastable to the target's shape.
        size_average, reduce: deprecated (see ``reduction``).
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.

    Shape:
        ``(*), (*) -> ()`` (``(*)`` with ``reduction='none'``).

    Returns:
        The loss.

    Example:
        >>> F.binary_cross_entropy(jnp.full(2, 0.5), jnp.array([0.0, 1.0]))
        Array(0.6931472, dtype=float32)

    Differences from PyTorch:
        Inputs outside ``[0, 1]`` give NaN instead of an error (checking needs a host sync).
    """
    reduction = _reduction("binary_cross_entropy", reduction, size_average, reduce)
    x, t = as_array(input), as_array(target)
    float_input("binary_cross_entropy", x)
    _check_same_shape("binary_cross_entropy", x, t)
    check_operands("binary_cross_entropy", input=x, target=t)
    loss = _bce(x, t)
    if weight is not None:
        # torch multiplies in place: a weight of another dtype does not change the loss's.
        w = as_array(weight, "binary_cross_entropy", "weight")
        loss = (promote_rank(loss, w.ndim) * promote_rank(w, loss.ndim)).astype(x.dtype)
    return _reduce(loss, reduction)


@autocast_op("binary_cross_entropy_with_logits")
def binary_cross_entropy_with_logits(input: ArrayLike, target: ArrayLike,
                                     weight: ArrayLike | None = None,
                                     size_average: bool | None = None, reduce: bool | None = None,
                                     reduction: str = "mean",
                                     pos_weight: ArrayLike | None = None) -> Array:
    """Sigmoid + binary cross entropy in one numerically stable step.

    ``loss = (1 - t) x + (1 + (pos_weight - 1) t) * softplus(-x)``, times ``weight``.

    Args:
        input: logits; target: same shape, values in ``[0, 1]``.
        weight: optional weights broadcastable to the input.
        size_average, reduce: deprecated (see ``reduction``).
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.
        pos_weight: weight of positive examples, broadcastable to the input (e.g. ``(C,)``).

    Shape:
        ``(*), (*) -> ()`` (``(*)`` with ``reduction='none'``).

    Returns:
        The loss.

    Example:
        >>> F.binary_cross_entropy_with_logits(jnp.zeros(2), jnp.array([0.0, 1.0]))
        Array(0.6931472, dtype=float32)
    """
    reduction = _reduction("binary_cross_entropy_with_logits", reduction, size_average, reduce)
    x, t = as_array(input), as_array(target)
    float_input("binary_cross_entropy_with_logits", x)
    _check_same_shape("binary_cross_entropy_with_logits", x, t)
    # torch computes ``(1 - target).mul_(input).sub_(log_sigmoid(input) * log_weight)`` in
    # place, so the loss has the target's dtype, and the weights never change it.
    float_input("binary_cross_entropy_with_logits", t, "target")
    softplus_neg = jnp.log1p(jnp.exp(-jnp.abs(x))) + jnp.maximum(-x, 0)
    if pos_weight is not None:
        pw = as_array(pos_weight, "binary_cross_entropy_with_logits", "pos_weight")
        softplus_neg = (((promote_rank(pw, t.ndim) - 1) * promote_rank(t, pw.ndim) + 1)
                        * softplus_neg).astype(x.dtype)
    loss = ((1 - t) * x).astype(t.dtype) + softplus_neg
    if weight is not None:
        w = as_array(weight, "binary_cross_entropy_with_logits", "weight")
        loss = promote_rank(loss.astype(t.dtype), w.ndim) * promote_rank(w, loss.ndim)
    return _reduce(loss.astype(t.dtype), reduction)


def multilabel_soft_margin_loss(input: ArrayLike, target: ArrayLike,
                                weight: ArrayLike | None = None, size_average: bool | None = None,
                                reduce: bool | None = None, reduction: str = "mean") -> Array:
    """One-vs-all logistic loss averaged over the ``C`` classes of each sample.

    Args:
        input: ``(N, C)`` or ``(C,)`` logits; target: same shape, values in ``{0, 1}``.
        weight: optional per-class weights broadcastable to the input.
        size_average, reduce: deprecated (see ``reduction``).
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.

    Shape:
        ``(N, C), (N, C) -> ()`` (``(N,)`` with ``reduction='none'``).

    Returns:
        The loss.

    Example:
        >>> F.multilabel_soft_margin_loss(jnp.zeros((2, 3)), jnp.ones((2, 3)))
        Array(0.6931472, dtype=float32)
    """
    reduction = _reduction("multilabel_soft_margin_loss", reduction, size_average, reduce)
    x, t = as_array(input), as_array(target)
    if x.ndim == 0:
        raise ValueError("multilabel_soft_margin_loss: expected input with 1 or 2 dimensions "
                         "(C,) or (N, C), got a scalar")
    x, t = _broadcast_pair("multilabel_soft_margin_loss", x, t)
    loss = -(t * jax.nn.log_sigmoid(x) + (1 - t) * jax.nn.log_sigmoid(-x))
    if weight is not None:
        w = as_array(weight)
        loss = promote_rank(loss, w.ndim) * promote_rank(w, loss.ndim)
    loss = jnp.sum(loss, axis=-1) / x.shape[-1]
    return _reduce(loss, reduction)


@autocast_op("multi_margin_loss")
def multi_margin_loss(input: ArrayLike, target: ArrayLike, p: int = 1, margin: float = 1.0,
                      weight: ArrayLike | None = None, size_average: bool | None = None,
                      reduce: bool | None = None, reduction: str = "mean") -> Array:
    """Multi-class hinge loss ``sum_{i != y} max(0, margin - x[y] + x[i])**p / C``.

    Args:
        input: ``(N, C)`` or ``(C,)`` scores; target: ``(N,)`` or ``()`` class indices.
        p: 1 or 2.
        margin: the margin. Default 1.
        weight: optional per-class weights ``(C,)`` (scales each sample by ``weight[y]``).
        size_average, reduce: deprecated (see ``reduction``).
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.

    Shape:
        ``(N, C), (N,) -> ()`` (``(N,)`` with ``reduction='none'``).

    Returns:
        The loss.

    Example:
        >>> loss = F.multi_margin_loss(jnp.array([[0.1, 0.2, 0.4, 0.8]]), jnp.array([3]))
        >>> round(float(loss), 4)
        0.325
    """
    reduction = _reduction("multi_margin_loss", reduction, size_average, reduce)
    if p not in (1, 2):
        raise ValueError(f"multi_margin_loss: only p == 1 and p == 2 are supported, got {p}")
    x, t = as_array(input), as_array(target)
    if x.ndim == 0:  # torch: a 0-d input is one sample of one class
        x = x.reshape(1)
    if x.ndim not in (1, 2) or x.shape[-1] == 0:
        raise ValueError(f"multi_margin_loss: expected non-empty input with 1 or 2 dimensions "
                         f"(C,) or (N, C), got shape {tuple(x.shape)}")
    if not _is_int(t):
        raise TypeError(f"multi_margin_loss: expected an integer target of class indices, got "
                        f"dtype {t.dtype}")
    unbatched = x.ndim == 1
    x2, t2 = jnp.atleast_2d(x), jnp.atleast_1d(t)
    if t2.ndim != 1 or t2.shape[0] != x2.shape[0]:
        raise ValueError(f"multi_margin_loss: expected target of shape "
                         f"{() if unbatched else (x.shape[0],)}, got {tuple(t.shape)}")
    C = x2.shape[1]
    if weight is not None:
        w = as_array(weight)
        if w.ndim != 1 or w.shape[0] != C:
            raise ValueError(f"multi_margin_loss: expected a one-dimensional weight of shape "
                             f"({C},), got shape {tuple(w.shape)}")
        check_operands("multi_margin_loss", input=x, weight=w)
    _check_class_targets("multi_margin_loss", t2, C)
    u = jnp.take_along_axis(x2, t2[:, None], axis=1, mode="fill", fill_value=jnp.nan)
    z = jnp.maximum(margin - u + x2, 0)
    if p == 2:
        z = z * z
    if weight is not None:
        z = z * jnp.take(w, t2, mode="fill", fill_value=jnp.nan)[:, None]
    z = jnp.where(jnp.arange(C)[None, :] != t2[:, None], z, 0)
    if reduction == "mean":
        return jnp.mean(z)
    if reduction == "sum":
        return jnp.sum(z) / C
    out = jnp.mean(z, axis=1)
    return out[0] if unbatched else out


@autocast_op("multilabel_margin_loss")
def multilabel_margin_loss(input: ArrayLike, target: ArrayLike, size_average: bool | None = None,
                           reduce: bool | None = None, reduction: str = "mean") -> Array:
    """Multi-label hinge loss: for each target class ``j`` and each non-target ``i``,
    ``max(0, 1 - (x[j] - x[i])) / C``.

    ``target`` holds the target class indices of each sample, padded with ``-1``: only the
    entries before the first ``-1`` count.

    Args:
        input: ``(N, C)`` or ``(C,)``; target: integer array of the same shape.
        size_average, reduce: deprecated (see ``reduction``).
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.

    Shape:
        ``(N, C), (N, C) -> ()`` (``(N,)`` with ``reduction='none'``).

    Returns:
        The loss.

    Example:
        >>> F.multilabel_margin_loss(jnp.array([[0.1, 0.2, 0.4, 0.8]]),
        ...                          jnp.array([[3, 0, -1, 1]]))
        Array(0.85, dtype=float32)
    """
    reduction = _reduction("multilabel_margin_loss", reduction, size_average, reduce)
    x, t = as_array(input), as_array(target)
    if x.ndim == 0 and t.ndim == 0:  # torch: a 0-d input is one sample of one class
        x, t = x.reshape(1), t.reshape(1)
    if x.ndim not in (1, 2) or x.shape[-1] == 0:
        raise ValueError(f"multilabel_margin_loss: expected non-empty input with 1 or 2 "
                         f"dimensions (C,) or (N, C), got shape {tuple(x.shape)}")
    if t.shape != x.shape:
        raise ValueError(f"multilabel_margin_loss: expected target of shape {tuple(x.shape)}, "
                         f"got {tuple(t.shape)}")
    if not _is_int(t):
        raise TypeError(f"multilabel_margin_loss: expected an integer target, got dtype "
                        f"{t.dtype}")
    unbatched = x.ndim == 1
    x2, t2 = jnp.atleast_2d(x), jnp.atleast_2d(t)
    C = x2.shape[1]
    ct = _concrete(t2)
    if ct is not None:
        valid_host = np.cumprod(ct != -1, axis=1).astype(bool)
        bad = valid_host & ((ct < 0) | (ct >= C))
        if bad.any():
            raise ValueError(f"multilabel_margin_loss: target {ct[bad].flat[0]} is out of "
                             f"bounds: expected class indices in [0, {C}) or -1")
    valid = jnp.cumprod(t2 != -1, axis=1).astype(bool)                      # (N, C) over j
    tj = jnp.where(valid, t2, 0)
    u = jnp.take_along_axis(x2, tj, axis=1, mode="fill", fill_value=jnp.nan)  # x[n, t_j]
    is_target = jnp.any(jnp.where(valid, t2, -1)[:, :, None] == jnp.arange(C)[None, None, :],
                        axis=1)
    z = jnp.maximum(1.0 - u[:, :, None] + x2[:, None, :], 0) / C            # (N, j, i)
    z = jnp.where(valid[:, :, None] & ~is_target[:, None, :], z, 0)
    out = jnp.sum(z, axis=(1, 2))
    if reduction == "none":
        return out[0] if unbatched else out
    return _reduce(out, reduction)


# -- margins and embeddings -------------------------------------------------------------------

@autocast_op("hinge_embedding_loss")
def hinge_embedding_loss(input: ArrayLike, target: ArrayLike, margin: float = 1.0,
                         size_average: bool | None = None, reduce: bool | None = None,
                         reduction: str = "mean") -> Array:
    """``x`` where ``y == 1``, ``max(0, margin - x)`` where ``y == -1``.

    Args:
        input: distances (any shape); target: ``1`` / ``-1`` of the same shape.
        margin: Default 1.
        size_average, reduce: deprecated (see ``reduction``).
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.

    Shape:
        ``(*), (*) -> ()`` (``(*)`` with ``reduction='none'``).

    Returns:
        The loss.

    Example:
        >>> F.hinge_embedding_loss(jnp.array([0.3, 0.3]), jnp.array([1.0, -1.0]), reduction="sum")
        Array(1., dtype=float32)
    """
    reduction = _reduction("hinge_embedding_loss", reduction, size_average, reduce)
    x, t = _broadcast_pair("hinge_embedding_loss", as_array(input), as_array(target))
    margin_clamp = jnp.maximum(margin - x, 0)
    loss = jnp.where(t != 1, margin_clamp, 0) + jnp.where(t != -1, x, 0)
    return _reduce(loss.astype(x.dtype), reduction)  # torch: the input's dtype


@autocast_op("soft_margin_loss")
def soft_margin_loss(input: ArrayLike, target: ArrayLike, size_average: bool | None = None,
                     reduce: bool | None = None, reduction: str = "mean") -> Array:
    """Two-class logistic loss ``log(1 + exp(-y x))``.

    Args:
        input: scores; target: ``1`` / ``-1`` of the same shape.
        size_average, reduce: deprecated (see ``reduction``).
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.

    Shape:
        ``(*), (*) -> ()`` (``(*)`` with ``reduction='none'``).

    Returns:
        The loss.

    Example:
        >>> F.soft_margin_loss(jnp.zeros(2), jnp.array([1.0, -1.0]))
        Array(0.6931472, dtype=float32)

    Differences from PyTorch:
        The gradient with respect to ``target`` is computed (torch refuses to differentiate it).
    """
    reduction = _reduction("soft_margin_loss", reduction, size_average, reduce)
    x, t = _broadcast_pair("soft_margin_loss", as_array(input), as_array(target))
    # torch: the input's dtype (a float64 target does not promote the loss).
    return _reduce(jnp.log1p(jnp.exp(-t * x)).astype(x.dtype), reduction)


@autocast_op("margin_ranking_loss")
def margin_ranking_loss(input1: ArrayLike, input2: ArrayLike, target: ArrayLike, margin: float = 0,
                        size_average: bool | None = None, reduce: bool | None = None,
                        reduction: str = "mean") -> Array:
    """``max(0, -y (x1 - x2) + margin)``: ``x1`` should rank above ``x2`` where ``y == 1``.

    Args:
        input1, input2: scores; target: ``1`` / ``-1``; all with the same number of dimensions.
        margin: Default 0.
        size_average, reduce: deprecated (see ``reduction``).
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.

    Shape:
        ``(N,), (N,), (N,) -> ()`` (``(N,)`` with ``reduction='none'``).

    Returns:
        The loss.

    Example:
        >>> F.margin_ranking_loss(jnp.array([1.0]), jnp.array([2.0]), jnp.array([1.0]))
        Array(1., dtype=float32)
    """
    reduction = _reduction("margin_ranking_loss", reduction, size_average, reduce)
    a, b, t = as_array(input1), as_array(input2), as_array(target)
    if not a.ndim == b.ndim == t.ndim:
        raise ValueError(f"margin_ranking_loss: all inputs should have the same number of "
                         f"dimensions, got input1 {tuple(a.shape)}, input2 {tuple(b.shape)}, "
                         f"target {tuple(t.shape)}")
    return _reduce(jnp.maximum(-t * (a - b) + margin, 0), reduction)


@autocast_op("cosine_embedding_loss")
def cosine_embedding_loss(input1: ArrayLike, input2: ArrayLike, target: ArrayLike,
                          margin: float = 0, size_average: bool | None = None,
                          reduce: bool | None = None, reduction: str = "mean") -> Array:
    """``1 - cos(x1, x2)`` where ``y == 1``, ``max(0, cos(x1, x2) - margin)`` where ``y == -1``.

    Args:
        input1, input2: ``(N, D)`` or ``(D,)``; target: ``(N,)`` or ``()`` of ``1`` / ``-1``.
        margin: in ``[-1, 1]``. Default 0.
        size_average, reduce: deprecated (see ``reduction``).
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.

    Shape:
        ``(N, D), (N, D), (N,) -> ()`` (``(N,)`` with ``reduction='none'``).

    Returns:
        The loss.

    Example:
        >>> F.cosine_embedding_loss(jnp.ones((2, 3)), jnp.ones((2, 3)), jnp.array([1, 1]))
        Array(0., dtype=float32)
    """
    reduction = _reduction("cosine_embedding_loss", reduction, size_average, reduce)
    a, b, t = as_array(input1), as_array(input2), as_array(target)
    if a.shape != b.shape:
        raise ValueError(f"cosine_embedding_loss: input1 shape {tuple(a.shape)} and input2 shape "
                         f"{tuple(b.shape)} must be the same")
    if a.ndim not in (1, 2):
        raise ValueError(f"cosine_embedding_loss: expected inputs with 1 or 2 dimensions (D,) or "
                         f"(N, D), got shape {tuple(a.shape)}")
    if t.shape != a.shape[:-1]:
        raise ValueError(f"cosine_embedding_loss: expected target of shape {a.shape[:-1]}, got "
                         f"{tuple(t.shape)}")
    eps = 1e-12
    prod = jnp.sum(a * b, axis=-1)
    mag = jnp.sqrt((jnp.sum(a * a, axis=-1) + eps) * (jnp.sum(b * b, axis=-1) + eps))
    cos = prod / mag
    loss = jnp.where(t == 1, 1 - cos, 0) + jnp.where(t == -1, jnp.maximum(cos - margin, 0), 0)
    return _reduce(loss, reduction)


def triplet_margin_with_distance_loss(anchor: ArrayLike, positive: ArrayLike, negative: ArrayLike,
                                      *, distance_function: Callable | None = None,
                                      margin: float = 1.0, swap: bool = False,
                                      reduction: str = "mean") -> Array:
    """``max(0, d(a, p) - d(a, n) + margin)`` with a custom distance ``d``.

    Args:
        anchor, positive, negative: arrays with the same number of dimensions.
        distance_function: ``(x, y) -> distances``; default :func:`pairwise_distance`.
        margin: must be positive. Default 1.
        swap: use ``min(d(a, n), d(p, n))`` as the negative distance.
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.

    Shape:
        ``(N, D) x 3 -> ()`` (``(N,)`` with ``reduction='none'``).

    Returns:
        The loss.

    Example:
        >>> a = jnp.zeros((2, 3))
        >>> F.triplet_margin_with_distance_loss(a, a, a + 5.0)
        Array(0., dtype=float32)
    """
    reduction = _reduction("triplet_margin_with_distance_loss", reduction)
    if not margin > 0:
        raise ValueError(f"triplet_margin_with_distance_loss: margin must be greater than 0, got "
                         f"{margin}")
    a, p, n = as_array(anchor), as_array(positive), as_array(negative)
    if not a.ndim == p.ndim == n.ndim:
        raise ValueError(f"triplet_margin_with_distance_loss: the anchor, positive, and negative "
                         f"tensors are expected to have the same number of dimensions, but got: "
                         f"anchor {a.ndim}D, positive {p.ndim}D, and negative {n.ndim}D inputs")
    dist = pairwise_distance if distance_function is None else distance_function
    d_pos = dist(a, p)
    d_neg = dist(a, n)
    if swap:
        d_neg = jnp.minimum(d_neg, dist(p, n))
    return _reduce(jnp.maximum(margin + d_pos - d_neg, 0), reduction)


@autocast_op("triplet_margin_loss")
def triplet_margin_loss(anchor: ArrayLike, positive: ArrayLike, negative: ArrayLike,
                        margin: float = 1.0, p: float = 2, eps: float = 1e-6, swap: bool = False,
                        size_average: bool | None = None, reduce: bool | None = None,
                        reduction: str = "mean") -> Array:
    """Triplet loss with the ``p``-norm pairwise distance (``pairwise_distance(x, y, p, eps)``).

    Args:
        anchor, positive, negative: ``(N, D)`` or ``(D,)``.
        margin: must be positive. Default 1.
        p: the norm degree. Default 2.
        eps: added inside the distance. Default 1e-6.
        swap: use ``min(d(a, n), d(p, n))`` as the negative distance.
        size_average, reduce: deprecated (see ``reduction``).
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.

    Shape:
        ``(N, D) x 3 -> ()`` (``(N,)`` with ``reduction='none'``).

    Returns:
        The loss.

    Example:
        >>> a = jnp.zeros((2, 3))
        >>> F.triplet_margin_loss(a, a, a + 5.0)
        Array(0., dtype=float32)
    """
    reduction = _reduction("triplet_margin_loss", reduction, size_average, reduce)
    a = as_array(anchor)
    if a.ndim not in (1, 2):
        raise ValueError(f"triplet_margin_loss: expected anchor with 1 or 2 dimensions (D,) or "
                         f"(N, D), got shape {tuple(a.shape)}")
    return triplet_margin_with_distance_loss(
        a, positive, negative, margin=margin, swap=swap, reduction=reduction,
        distance_function=lambda x, y: pairwise_distance(x, y, p, eps))


# -- CTC --------------------------------------------------------------------------------------

def _logsumexp3(a, b, c):
    m = jnp.maximum(jnp.maximum(a, b), c)
    return m + jnp.log(jnp.exp(a - m) + jnp.exp(b - m) + jnp.exp(c - m))


@functools.partial(eager_jit, static_argnames=("blank", "reduction", "zero_infinity",
                                               "unbatched"))
def _ctc_forward(lp, tg, il, tl, *, blank: int, reduction: str, zero_infinity: bool,
                 unbatched: bool):
    """The forward algorithm of :func:`ctc_loss` on validated ``(T, N, C)`` log-probabilities
    and ``(N, S)`` padded targets (one compiled program per signature when called eagerly: its
    ``lax.scan`` body is a new closure on every call)."""
    T, N, _ = lp.shape
    S = tg.shape[1]
    dtype = lp.dtype
    neg = jnp.asarray(-jnp.finfo(dtype).max / 4, dtype)
    L = 2 * S + 1
    ext = jnp.full((N, L), blank, tg.dtype)
    if S:
        ext = ext.at[:, 1::2].set(tg)
    lp_ext = jnp.take_along_axis(lp, jnp.broadcast_to(ext[None], (T, N, L)), axis=2,
                                 mode="fill", fill_value=jnp.nan)           # (T, N, L)
    s_idx = jnp.arange(L)
    prev2 = jnp.concatenate([jnp.full((N, 2), blank, ext.dtype), ext[:, :-2]], axis=1)
    skip = (ext != blank) & (s_idx[None] >= 2) & (ext != prev2)
    alpha = jnp.where(s_idx[None] < 2, lp_ext[0], neg)
    alpha = jnp.where(il[:, None] > 0, alpha, neg)

    def step(alpha, inputs):
        t, lpt = inputs
        a1 = jnp.concatenate([jnp.full((N, 1), neg, dtype), alpha[:, :-1]], axis=1)
        a2 = jnp.concatenate([jnp.full((N, 2), neg, dtype), alpha[:, :-2]], axis=1)
        a2 = jnp.where(skip, a2, neg)
        new = jnp.maximum(_logsumexp3(alpha, a1, a2) + lpt, neg)
        return jnp.where(t < il[:, None], new, alpha), None

    if T > 1:
        alpha, _ = jax.lax.scan(step, alpha, (jnp.arange(1, T), lp_ext[1:]))
    end = 2 * tl
    last = jnp.take_along_axis(alpha, end[:, None], axis=1)[:, 0]
    before = jnp.where(tl > 0, jnp.take_along_axis(alpha, jnp.maximum(end - 1, 0)[:, None],
                                                   axis=1)[:, 0], neg)
    ll = jnp.logaddexp(last, before)
    impossible = ll <= neg / 2
    nll = -jnp.where(impossible, 0, ll)
    nll = jnp.where(impossible, 0.0 if zero_infinity else jnp.inf, nll)
    if reduction == "none":
        return nll[0] if unbatched else nll
    if reduction == "sum":
        return jnp.sum(nll)
    return jnp.mean(nll / jnp.maximum(tl, 1).astype(dtype))


@autocast_op("ctc_loss")
def ctc_loss(log_probs: ArrayLike, targets: ArrayLike, input_lengths: ArrayLike,
             target_lengths: ArrayLike, blank: int = 0, reduction: str = "mean",
             zero_infinity: bool = False) -> Array:
    """Connectionist Temporal Classification loss (the log-space forward algorithm).

    Args:
        log_probs: ``(T, N, C)`` or ``(T, C)`` log-probabilities (e.g. ``log_softmax``).
        targets: ``(N, S)`` padded target sequences, or ``(sum(target_lengths),)``
            concatenated ones; ``(S,)`` for unbatched input. Must not contain ``blank``.
        input_lengths: ``(N,)`` (or ``()``) lengths of the inputs, each ``<= T``.
        target_lengths: ``(N,)`` (or ``()``) lengths of the targets.
        blank: the blank label. Default 0.
        reduction: ``'none'`` | ``'mean'`` (each loss divided by its target length, then the
            batch mean) | ``'sum'``.
        zero_infinity: replace infinite losses (impossible alignments) and their gradients by 0.

    Shape:
        ``(T, N, C), (N, S), (N,), (N,) -> ()`` (``(N,)`` with ``reduction='none'``).

    Returns:
        The negative log likelihood of the targets.

    Example:
        >>> lp = jax.nn.log_softmax(jnp.zeros((5, 2, 4)), axis=2)
        >>> F.ctc_loss(lp, jnp.array([[1, 2], [3, 3]]), jnp.array([5, 5]),
        ...            jnp.array([2, 2])).shape
        ()

    Differences from PyTorch:
        The gradient with respect to ``log_probs`` is the true gradient of the loss. torch's
        CTC backward adds ``exp(log_probs)`` (it assumes a following ``log_softmax``); both give
        the same gradient with respect to the logits fed to ``log_softmax``. Impossible
        alignments give ``inf`` (as torch) with a zero gradient (torch's is NaN/garbage).
    """
    reduction = _reduction("ctc_loss", reduction)
    lp = as_array(log_probs)
    tg, il, tl = as_array(targets), as_array(input_lengths), as_array(target_lengths)
    float_input("ctc_loss", lp, "log_probs")
    if lp.ndim not in (2, 3):
        raise ValueError(f"ctc_loss: expected log_probs with 2 or 3 dimensions (T, C) or "
                         f"(T, N, C), got shape {tuple(lp.shape)}")
    for name, v in (("targets", tg), ("input_lengths", il), ("target_lengths", tl)):
        if not _is_int(v):
            raise TypeError(f"ctc_loss: expected integer {name}, got dtype {v.dtype}")
    unbatched = lp.ndim == 2
    if unbatched:
        if tg.ndim != 1 or il.size != 1 or tl.size != 1:
            raise ValueError(f"ctc_loss: for unbatched log_probs {tuple(lp.shape)} expected 1-D "
                             f"targets and scalar lengths, got targets {tuple(tg.shape)}, "
                             f"input_lengths {tuple(il.shape)}, target_lengths "
                             f"{tuple(tl.shape)}")
        lp, tg, il, tl = lp[:, None], tg[None], il.reshape(1), tl.reshape(1)
    T, N, C = lp.shape
    if il.shape != (N,) or tl.shape != (N,):
        raise ValueError(f"ctc_loss: expected input_lengths and target_lengths of shape ({N},), "
                         f"got {tuple(il.shape)} and {tuple(tl.shape)}")
    if not 0 <= blank < C:
        raise ValueError(f"ctc_loss: blank must be in [0, {C}), got {blank}")
    if tg.ndim == 1:  # concatenated targets -> padded (N, S) with S = total length (static)
        S = tg.shape[0]
        starts = jnp.cumsum(tl) - tl
        pos = starts[:, None] + jnp.arange(S)[None, :]
        tg = jnp.take(tg, jnp.clip(pos, 0, max(S - 1, 0)), mode="clip") if S else \
            jnp.zeros((N, 0), tg.dtype)
    elif tg.ndim != 2 or tg.shape[0] != N:
        raise ValueError(f"ctc_loss: expected targets of shape ({N}, S) or (sum(target_lengths),)"
                         f", got {tuple(tg.shape)}")
    S = tg.shape[1]
    cil, ctl, ctg = _concrete(il), _concrete(tl), _concrete(tg)
    if cil is not None and ((cil > T).any() or (cil < 0).any()):
        raise ValueError(f"ctc_loss: input_lengths must be in [0, {T}], got {cil.tolist()}")
    if ctl is not None and ((ctl > S).any() or (ctl < 0).any()):
        raise ValueError(f"ctc_loss: target_lengths must be in [0, {S}] (the target length), "
                         f"got {ctl.tolist()}")
    if ctg is not None and ctl is not None:
        used = np.arange(S)[None, :] < ctl[:, None]
        vals = ctg[used]
        if ((vals < 0) | (vals >= C) | (vals == blank)).any():
            raise ValueError(f"ctc_loss: targets must be class indices in [0, {C}) other than "
                             f"blank={blank}")

    return _ctc_forward(lp, tg, il, tl, blank=blank, reduction=reduction,
                        zero_infinity=zero_infinity, unbatched=unbatched)
