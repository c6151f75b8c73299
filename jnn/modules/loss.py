"""Loss layers (torch.nn): thin modules over the kernels in ``jnn.functional.loss``.

Every layer keeps torch's constructor (including the deprecated ``size_average``/``reduce``,
which override ``reduction`` as in torch) and registers class weights as buffers under torch's
names (``weight``, ``pos_weight``), so state_dicts match.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable

from .. import functional as F
from ..functional.loss import legacy_reduction
from ..types import Array
from .distance import PairwiseDistance
from .module import Module

__all__ = [
    "L1Loss", "NLLLoss", "NLLLoss2d", "PoissonNLLLoss", "GaussianNLLLoss", "KLDivLoss", "MSELoss",
    "BCELoss", "BCEWithLogitsLoss", "HingeEmbeddingLoss", "MultiLabelMarginLoss", "SmoothL1Loss",
    "HuberLoss", "SoftMarginLoss", "CrossEntropyLoss", "MultiLabelSoftMarginLoss",
    "CosineEmbeddingLoss", "MarginRankingLoss", "MultiMarginLoss", "TripletMarginLoss",
    "TripletMarginWithDistanceLoss", "CTCLoss",
]


class _Loss(Module):
    """Base of the losses: holds ``reduction`` (from the legacy pair when given)."""

    def __init__(self, size_average: bool | None = None, reduce: bool | None = None,
                 reduction: str = "mean") -> None:
        super().__init__()
        if size_average is not None or reduce is not None:
            reduction = legacy_reduction(size_average, reduce)
            warnings.warn(f"size_average and reduce args will be deprecated, please use "
                          f"reduction='{reduction}' instead.", stacklevel=3)
        self.reduction = reduction


class _WeightedLoss(_Loss):
    """A loss with an optional per-class ``weight`` buffer."""

    def __init__(self, weight: Array | None = None, size_average: bool | None = None,
                 reduce: bool | None = None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)


class L1Loss(_Loss):
    """Mean absolute error (``torch.nn.L1Loss``); see :func:`jnn.functional.l1_loss`.

    Args:
        size_average, reduce: deprecated (see ``reduction``).
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.

    Shape:
        ``(*), (*) -> ()`` (``(*)`` with ``reduction='none'``).

    Example:
        >>> nn.L1Loss()(jnp.zeros(3), jnp.ones(3))
        Array(1., dtype=float32)
    """

    def forward(self, input: Array, target: Array) -> Array:
        return F.l1_loss(input, target, reduction=self.reduction)


class MSELoss(_Loss):
    """Mean squared error (``torch.nn.MSELoss``); see :func:`jnn.functional.mse_loss`.

    Args:
        size_average, reduce: deprecated (see ``reduction``).
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.

    Shape:
        ``(*), (*) -> ()`` (``(*)`` with ``reduction='none'``).

    Example:
        >>> nn.MSELoss()(jnp.zeros(3), 2 * jnp.ones(3))
        Array(4., dtype=float32)
    """

    def forward(self, input: Array, target: Array) -> Array:
        return F.mse_loss(input, target, reduction=self.reduction)


class NLLLoss(_WeightedLoss):
    """Negative log likelihood of log-probabilities (``torch.nn.NLLLoss``).

    Args:
        weight: optional per-class weights ``(C,)`` (a buffer).
        size_average, reduce: deprecated (see ``reduction``).
        ignore_index: targets equal to it are ignored. Default -100.
        reduction: ``'none'`` | ``'mean'`` (weighted mean) | ``'sum'``.

    Shape:
        ``(N, C, *), (N, *) -> ()``; unbatched ``(C,), () -> ()``.

    Example:
        >>> nn.NLLLoss()(jnp.log(jnp.full((2, 4), 0.25)), jnp.array([1, 3]))
        Array(1.3862944, dtype=float32)
    """

    def __init__(self, weight: Array | None = None, size_average: bool | None = None,
                 ignore_index: int = -100, reduce: bool | None = None,
                 reduction: str = "mean") -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input: Array, target: Array) -> Array:
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)


class NLLLoss2d(NLLLoss):
    """Deprecated alias of :class:`NLLLoss` (``torch.nn.NLLLoss2d``); warns like torch.

    Example:
        >>> nn.NLLLoss2d()  # doctest: +SKIP
        NLLLoss2d()
    """

    def __init__(self, weight: Array | None = None, size_average: bool | None = None,
                 ignore_index: int = -100, reduce: bool | None = None,
                 reduction: str = "mean") -> None:
        warnings.warn("`NLLLoss2d` has been deprecated. Please use `NLLLoss` instead as a "
                      "drop-in replacement.", FutureWarning, stacklevel=2)
        super().__init__(weight, size_average, ignore_index, reduce, reduction)


class CrossEntropyLoss(_WeightedLoss):
    """Cross entropy of logits vs class indices or probabilities (``torch.nn.CrossEntropyLoss``).

    Args:
        weight: optional per-class weights ``(C,)`` (a buffer).
        size_average, reduce: deprecated (see ``reduction``).
        ignore_index: index targets equal to it are ignored. Default -100.
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.
        label_smoothing: in ``[0, 1]``. Default 0.

    Shape:
        ``(N, C, *), (N, *) or (N, C, *) -> ()``; unbatched ``(C,), () -> ()``.

    Example:
        >>> criterion = nn.CrossEntropyLoss()
        >>> criterion(jnp.zeros((3, 2)), jnp.array([1, 0, 1]))
        Array(0.6931472, dtype=float32)
    """

    def __init__(self, weight: Array | None = None, size_average: bool | None = None,
                 ignore_index: int = -100, reduce: bool | None = None, reduction: str = "mean",
                 label_smoothing: float = 0.0) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input: Array, target: Array) -> Array:
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


class PoissonNLLLoss(_Loss):
    """Poisson negative log likelihood (``torch.nn.PoissonNLLLoss``).

    Args:
        log_input: the input is the log-rate. Default True.
        full: add the Stirling term. Default False.
        size_average, reduce: deprecated (see ``reduction``).
        eps: added inside the log when ``log_input=False``. Default 1e-8.
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.

    Shape:
        ``(*), (*) -> ()``.

    Example:
        >>> nn.PoissonNLLLoss()(jnp.zeros(3), jnp.ones(3))
        Array(1., dtype=float32)
    """

    def __init__(self, log_input: bool = True, full: bool = False, size_average: bool | None = None,
                 eps: float = 1e-8, reduce: bool | None = None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.log_input = log_input
        self.full = full
        self.eps = eps

    def forward(self, log_input: Array, target: Array) -> Array:
        return F.poisson_nll_loss(log_input, target, log_input=self.log_input, full=self.full,
                                  eps=self.eps, reduction=self.reduction)


class GaussianNLLLoss(_Loss):
    """Gaussian negative log likelihood (``torch.nn.GaussianNLLLoss``).

    ``forward(input, target, var)``.

    Args:
        full: add the constant term. Default False.
        eps: lower clamp of ``var``. Default 1e-6.
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.

    Shape:
        ``(N, *), (N, *), (N, *) or (N, *[:-1]) -> ()``.

    Example:
        >>> nn.GaussianNLLLoss()(jnp.zeros(3), jnp.zeros(3), jnp.ones(3))
        Array(0., dtype=float32)
    """

    def __init__(self, *, full: bool = False, eps: float = 1e-6, reduction: str = "mean") -> None:
        super().__init__(None, None, reduction)
        self.full = full
        self.eps = eps

    def forward(self, input: Array, target: Array, var: Array) -> Array:
        return F.gaussian_nll_loss(input, target, var, full=self.full, eps=self.eps,
                                   reduction=self.reduction)


class KLDivLoss(_Loss):
    """Kullback-Leibler divergence (``torch.nn.KLDivLoss``); ``input`` holds log-probabilities.

    Args:
        size_average, reduce: deprecated (see ``reduction``).
        reduction: ``'none'`` | ``'batchmean'`` | ``'sum'`` | ``'mean'``.
        log_target: the target is in log space. Default False.

    Shape:
        ``(*), (*) -> ()``.

    Example:
        >>> p = jax.nn.log_softmax(jnp.ones((2, 3)))
        >>> nn.KLDivLoss(reduction="batchmean", log_target=True)(p, p)
        Array(0., dtype=float32)
    """

    def __init__(self, size_average: bool | None = None, reduce: bool | None = None,
                 reduction: str = "mean", log_target: bool = False) -> None:
        super().__init__(size_average, reduce, reduction)
        self.log_target = log_target

    def forward(self, input: Array, target: Array) -> Array:
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class BCELoss(_WeightedLoss):
    """Binary cross entropy of probabilities (``torch.nn.BCELoss``); logs clamped at -100.

    Args:
        weight: optional weights broadcastable to the input (a buffer).
        size_average, reduce: deprecated (see ``reduction``).
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.

    Shape:
        ``(*), (*) -> ()``.

    Example:
        >>> nn.BCELoss()(jnp.full(2, 0.5), jnp.array([0.0, 1.0]))
        Array(0.6931472, dtype=float32)
    """

    def forward(self, input: Array, target: Array) -> Array:
        return F.binary_cross_entropy(input, target, weight=self.weight,
                                      reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid + binary cross entropy (``torch.nn.BCEWithLogitsLoss``).

    Args:
        weight: optional weights broadcastable to the input (a buffer).
        size_average, reduce: deprecated (see ``reduction``).
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.
        pos_weight: weight of positive examples, e.g. ``(C,)`` (a buffer).

    Shape:
        ``(*), (*) -> ()``.

    Example:
        >>> nn.BCEWithLogitsLoss(pos_weight=jnp.ones(2))(jnp.zeros(2), jnp.array([0.0, 1.0]))
        Array(0.6931472, dtype=float32)
    """

    def __init__(self, weight: Array | None = None, size_average: bool | None = None,
                 reduce: bool | None = None, reduction: str = "mean",
                 pos_weight: Array | None = None) -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input: Array, target: Array) -> Array:
        return F.binary_cross_entropy_with_logits(input, target, self.weight,
                                                  pos_weight=self.pos_weight,
                                                  reduction=self.reduction)


class HingeEmbeddingLoss(_Loss):
    """Hinge embedding loss (``torch.nn.HingeEmbeddingLoss``).

    ``x`` where ``y == 1``, ``max(0, margin - x)`` where ``y == -1``.

    Args:
        margin: Default 1.
        size_average, reduce: deprecated (see ``reduction``).
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.

    Shape:
        ``(*), (*) -> ()``.

    Example:
        >>> nn.HingeEmbeddingLoss()(jnp.array([0.3, 0.3]), jnp.array([1.0, -1.0]))
        Array(0.5, dtype=float32)
    """

    def __init__(self, margin: float = 1.0, size_average: bool | None = None,
                 reduce: bool | None = None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input: Array, target: Array) -> Array:
        return F.hinge_embedding_loss(input, target, margin=self.margin, reduction=self.reduction)


class MultiLabelMarginLoss(_Loss):
    """Multi-label hinge loss with ``-1``-padded target indices (``torch.nn.MultiLabelMarginLoss``).

    Args:
        size_average, reduce: deprecated (see ``reduction``).
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.

    Shape:
        ``(N, C), (N, C) -> ()``; ``(C,), (C,) -> ()``.

    Example:
        >>> nn.MultiLabelMarginLoss()(jnp.array([[0.1, 0.2, 0.4, 0.8]]),
        ...                           jnp.array([[3, 0, -1, 1]]))
        Array(0.85, dtype=float32)
    """

    def forward(self, input: Array, target: Array) -> Array:
        return F.multilabel_margin_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """Smooth L1 loss (``torch.nn.SmoothL1Loss``).

    Args:
        size_average, reduce: deprecated (see ``reduction``).
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.
        beta: the quadratic-to-linear threshold (``>= 0``). Default 1.

    Shape:
        ``(*), (*) -> ()``.

    Example:
        >>> nn.SmoothL1Loss()(jnp.zeros(2), jnp.array([0.5, 3.0]))
        Array(1.3125, dtype=float32)
    """

    def __init__(self, size_average: bool | None = None, reduce: bool | None = None,
                 reduction: str = "mean", beta: float = 1.0) -> None:
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input: Array, target: Array) -> Array:
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    """Huber loss (``torch.nn.HuberLoss``).

    Args:
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.
        delta: the quadratic-to-linear threshold (``> 0``). Default 1.

    Shape:
        ``(*), (*) -> ()``.

    Example:
        >>> nn.HuberLoss(delta=2.0)(jnp.zeros(2), jnp.array([0.5, 3.0]))
        Array(2.0625, dtype=float32)
    """

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        if not isinstance(delta, (float, int)) or isinstance(delta, bool):
            raise TypeError(f"HuberLoss: delta must be a float or int, got {type(delta).__name__}")
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input: Array, target: Array) -> Array:
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class SoftMarginLoss(_Loss):
    """Two-class logistic loss ``log(1 + exp(-y x))`` (``torch.nn.SoftMarginLoss``).

    Args:
        size_average, reduce: deprecated (see ``reduction``).
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.

    Shape:
        ``(*), (*) -> ()``.

    Example:
        >>> nn.SoftMarginLoss()(jnp.zeros(2), jnp.array([1.0, -1.0]))
        Array(0.6931472, dtype=float32)
    """

    def forward(self, input: Array, target: Array) -> Array:
        return F.soft_margin_loss(input, target, reduction=self.reduction)


class MultiLabelSoftMarginLoss(_WeightedLoss):
    """One-vs-all logistic loss (``torch.nn.MultiLabelSoftMarginLoss``).

    Args:
        weight: optional per-class weights ``(C,)`` (a buffer).
        size_average, reduce: deprecated (see ``reduction``).
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.

    Shape:
        ``(N, C), (N, C) -> ()``.

    Example:
        >>> nn.MultiLabelSoftMarginLoss()(jnp.zeros((2, 3)), jnp.ones((2, 3)))
        Array(0.6931472, dtype=float32)
    """

    def forward(self, input: Array, target: Array) -> Array:
        return F.multilabel_soft_margin_loss(input, target, weight=self.weight,
                                             reduction=self.reduction)


class CosineEmbeddingLoss(_Loss):
    """``1 - cos`` for similar pairs, ``max(0, cos - margin)`` for dissimilar ones
    (``torch.nn.CosineEmbeddingLoss``); ``forward(input1, input2, target)``.

    Args:
        margin: Default 0.
        size_average, reduce: deprecated (see ``reduction``).
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.

    Shape:
        ``(N, D), (N, D), (N,) -> ()``.

    Example:
        >>> nn.CosineEmbeddingLoss()(jnp.ones((2, 3)), jnp.ones((2, 3)), jnp.array([1, 1]))
        Array(0., dtype=float32)
    """

    def __init__(self, margin: float = 0.0, size_average: bool | None = None,
                 reduce: bool | None = None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input1: Array, input2: Array, target: Array) -> Array:
        return F.cosine_embedding_loss(input1, input2, target, margin=self.margin,
                                       reduction=self.reduction)


class MarginRankingLoss(_Loss):
    """``max(0, -y (x1 - x2) + margin)`` (``torch.nn.MarginRankingLoss``).

    Args:
        margin: Default 0.
        size_average, reduce: deprecated (see ``reduction``).
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.

    Shape:
        ``(N,), (N,), (N,) -> ()``.

    Example:
        >>> nn.MarginRankingLoss()(jnp.array([1.0]), jnp.array([2.0]), jnp.array([1.0]))
        Array(1., dtype=float32)
    """

    def __init__(self, margin: float = 0.0, size_average: bool | None = None,
                 reduce: bool | None = None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input1: Array, input2: Array, target: Array) -> Array:
        return F.margin_ranking_loss(input1, input2, target, margin=self.margin,
                                     reduction=self.reduction)


class MultiMarginLoss(_WeightedLoss):
    """Multi-class hinge loss (``torch.nn.MultiMarginLoss``).

    Args:
        p: 1 or 2. Default 1.
        margin: Default 1.
        weight: optional per-class weights ``(C,)`` (a buffer).
        size_average, reduce: deprecated (see ``reduction``).
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.

    Shape:
        ``(N, C), (N,) -> ()``.

    Example:
        >>> loss = nn.MultiMarginLoss()(jnp.array([[0.1, 0.2, 0.4, 0.8]]), jnp.array([3]))
        >>> round(float(loss), 4)
        0.325
    """

    def __init__(self, p: int = 1, margin: float = 1.0, weight: Array | None = None,
                 size_average: bool | None = None, reduce: bool | None = None,
                 reduction: str = "mean") -> None:
        super().__init__(weight, size_average, reduce, reduction)
        if p not in (1, 2):
            raise ValueError(f"MultiMarginLoss: only p == 1 and p == 2 are supported, got {p}")
        if weight is not None and getattr(weight, "ndim", 1) != 1:
            raise ValueError(f"MultiMarginLoss: weight must be one-dimensional, got shape "
                             f"{tuple(weight.shape)}")
        self.p = p
        self.margin = margin

    def forward(self, input: Array, target: Array) -> Array:
        return F.multi_margin_loss(input, target, p=self.p, margin=self.margin,
                                   weight=self.weight, reduction=self.reduction)


class TripletMarginLoss(_Loss):
    """Triplet loss with the ``p``-norm distance (``torch.nn.TripletMarginLoss``).

    Args:
        margin: Default 1 (must be positive).
        p: the norm degree. Default 2.
        eps: added inside the distance. Default 1e-6.
        swap: the distance swap of Balntas et al. Default False.
        size_average, reduce: deprecated (see ``reduction``).
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.

    Shape:
        ``(N, D) x 3 -> ()``.

    Example:
        >>> a = jnp.zeros((2, 3))
        >>> nn.TripletMarginLoss()(a, a, a + 5.0)
        Array(0., dtype=float32)
    """

    def __init__(self, margin: float = 1.0, p: float = 2.0, eps: float = 1e-6, swap: bool = False,
                 size_average: bool | None = None, reduce: bool | None = None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        if margin <= 0:
            raise ValueError(f"TripletMarginLoss: expected margin to be greater than 0, got "
                             f"{margin} instead")
        self.margin = margin
        self.p = p
        self.eps = eps
        self.swap = swap

    def forward(self, anchor: Array, positive: Array, negative: Array) -> Array:
        return F.triplet_margin_loss(anchor, positive, negative, margin=self.margin, p=self.p,
                                     eps=self.eps, swap=self.swap, reduction=self.reduction)


class TripletMarginWithDistanceLoss(_Loss):
    """Triplet loss with a custom distance (``torch.nn.TripletMarginWithDistanceLoss``).

    Args:
        distance_function: ``(x, y) -> distances``; default :func:`F.pairwise_distance`.
        margin: Default 1 (must be positive).
        swap: the distance swap. Default False.
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.

    Shape:
        ``(N, D) x 3 -> ()``.

    Example:
        >>> loss = nn.TripletMarginWithDistanceLoss(
        ...     distance_function=lambda x, y: 1.0 - F.cosine_similarity(x, y))
    """

    def __init__(self, *, distance_function: Callable | None = None, margin: float = 1.0,
                 swap: bool = False, reduction: str = "mean") -> None:
        super().__init__(size_average=None, reduce=None, reduction=reduction)
        if margin <= 0:
            raise ValueError(f"TripletMarginWithDistanceLoss: expected margin to be greater than "
                             f"0, got {margin} instead")
        self.distance_function = distance_function if distance_function is not None \
            else PairwiseDistance()
        self.margin = margin
        self.swap = swap

    def forward(self, anchor: Array, positive: Array, negative: Array) -> Array:
        return F.triplet_margin_with_distance_loss(
            anchor, positive, negative, distance_function=self.distance_function,
            margin=self.margin, swap=self.swap, reduction=self.reduction)


class CTCLoss(_Loss):
    """Connectionist Temporal Classification loss (``torch.nn.CTCLoss``).

    ``forward(log_probs, targets, input_lengths, target_lengths)``; see
    :func:`jnn.functional.ctc_loss` (including its differences from PyTorch).

    Args:
        blank: the blank label. Default 0.
        reduction: ``'none'`` | ``'mean'`` (per-target-length mean) | ``'sum'``.
        zero_infinity: zero infinite losses and their gradients. Default False.

    Shape:
        ``(T, N, C), (N, S), (N,), (N,) -> ()``.

    Example:
        >>> lp = jax.nn.log_softmax(jnp.zeros((5, 2, 4)), axis=2)
        >>> nn.CTCLoss()(lp, jnp.array([[1, 2], [3, 3]]), jnp.array([5, 5]),
        ...              jnp.array([2, 2])).shape
        ()
    """

    def __init__(self, blank: int = 0, reduction: str = "mean",
                 zero_infinity: bool = False) -> None:
        super().__init__(reduction=reduction)
        self.blank = blank
        self.zero_infinity = zero_infinity

    def forward(self, log_probs: Array, targets: Array, input_lengths: Array,
                target_lengths: Array) -> Array:
        return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, self.blank,
                          self.reduction, self.zero_infinity)
