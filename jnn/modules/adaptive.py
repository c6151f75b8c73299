"""Adaptive softmax: ``AdaptiveLogSoftmaxWithLoss`` (torch.nn)."""
from __future__ import annotations

from collections import namedtuple
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from ..types import Array, DeviceLike, DTypeLike
from .container import ModuleList, Sequential
from .linear import Linear
from .module import Module

__all__ = ["AdaptiveLogSoftmaxWithLoss"]

_ASMoutput = namedtuple("_ASMoutput", ["output", "loss"])


class AdaptiveLogSoftmaxWithLoss(Module):
    """Efficient softmax approximation for large vocabularies (Grave et al., 2016).

    Classes below ``cutoffs[0]`` live in the head ("shortlist"); each further interval of
    ``cutoffs`` is a cluster with its own two-layer projection of size
    ``in_features // div_value**(i + 1)``, reached through one head logit per cluster.

    Args:
        in_features: size of each input sample.
        n_classes: number of classes.
        cutoffs: increasing cluster boundaries in ``[1, n_classes - 1]``.
        div_value: the factor that shrinks each cluster's hidden size. Default 4.
        head_bias: give the head a bias. Default False.
        device, dtype: factory keywords.

    Shape:
        ``forward(input, target)``: ``(N, in_features), (N,)`` (or ``(in_features,), ()``)
        ``-> (output (N,), loss ())``: ``output`` is the log-probability of each target,
        ``loss`` the mean negative log-likelihood.

    Attributes:
        head: ``Linear(in_features, cutoffs[0] + n_clusters)``.
        tail: ``ModuleList`` of ``Sequential(Linear(in, hsz), Linear(hsz, osz))`` (no biases).

    Example:
        >>> asm = nn.AdaptiveLogSoftmaxWithLoss(16, 20, [5, 10])
        >>> out, loss = asm(nn.randn(4, 16), jnp.array([0, 7, 12, 19]))
        >>> asm.log_prob(nn.randn(4, 16)).shape, asm.predict(nn.randn(4, 16)).shape
        ((4, 20), (4,))

    Differences from PyTorch:
        Every cluster's projection is computed for the whole batch and the needed rows selected
        (static shapes for XLA) instead of gathering the rows of each cluster first; results and
        gradients are the same.
    """

    def __init__(self, in_features: int, n_classes: int, cutoffs: Sequence[int],
                 div_value: float = 4.0, head_bias: bool = False, device: DeviceLike | None = None,
                 dtype: DTypeLike | None = None) -> None:
        super().__init__()
        cutoffs = list(cutoffs)
        if len(cutoffs) == 0:
            raise ValueError("AdaptiveLogSoftmaxWithLoss: cutoffs should be a sequence of length "
                             "larger than 0")
        if (cutoffs != sorted(cutoffs) or min(cutoffs) <= 0 or max(cutoffs) > n_classes - 1
                or len(set(cutoffs)) != len(cutoffs) or any(int(c) != c for c in cutoffs)):
            raise ValueError(f"AdaptiveLogSoftmaxWithLoss: cutoffs should be a sequence of unique, "
                             f"positive integers sorted in an increasing order, where each value "
                             f"is between 1 and n_classes-1 ({n_classes - 1}), got {cutoffs}")
        self.in_features = in_features
        self.n_classes = n_classes
        self.cutoffs = [int(c) for c in cutoffs] + [n_classes]
        self.div_value = div_value
        self.head_bias = head_bias
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        self.head = Linear(in_features, self.head_size, bias=head_bias, device=device,
                           dtype=dtype)
        self.tail = ModuleList()
        for i in range(self.n_clusters):
            hsz = int(in_features // (div_value ** (i + 1)))
            osz = self.cutoffs[i + 1] - self.cutoffs[i]
            self.tail.append(Sequential(
                Linear(in_features, hsz, bias=False, device=device, dtype=dtype),
                Linear(hsz, osz, bias=False, device=device, dtype=dtype)))

    def reset_parameters(self) -> None:
        self.head.reset_parameters()
        for i2h, h2o in self.tail:  # type: ignore[attr-defined]  # (Sequential pairs)
            i2h.reset_parameters()
            h2o.reset_parameters()

    def _check(self, x, t):
        if t.ndim == 1:
            if x.ndim != 2:
                raise ValueError(f"AdaptiveLogSoftmaxWithLoss: 1D target expects 2D input, but "
                                 f"found input of shape {tuple(x.shape)}")
            if x.shape[0] != t.shape[0]:
                raise ValueError(f"AdaptiveLogSoftmaxWithLoss: input and target should have the "
                                 f"same size in the batch dimension, got {x.shape[0]} and "
                                 f"{t.shape[0]}")
        elif t.ndim == 0:
            if x.ndim != 1:
                raise ValueError(f"AdaptiveLogSoftmaxWithLoss: 0D target expects 1D input, but "
                                 f"found input of shape {tuple(x.shape)}")
        else:
            raise ValueError(f"AdaptiveLogSoftmaxWithLoss: 0D or 1D target expected, "
                             f"multi-target not supported (got shape {tuple(t.shape)})")
        if x.shape[-1] != self.in_features:
            raise ValueError(f"AdaptiveLogSoftmaxWithLoss: expected input with last dimension "
                             f"{self.in_features} (in_features), got shape {tuple(x.shape)}")
        if not jnp.issubdtype(t.dtype, jnp.integer):
            raise TypeError(f"AdaptiveLogSoftmaxWithLoss: expected an integer target, got dtype "
                            f"{t.dtype}")
        if not isinstance(t, jax.core.Tracer):
            c = np.asarray(t)
            if c.size and (c.min() < 0 or c.max() >= self.n_classes):
                raise ValueError(f"AdaptiveLogSoftmaxWithLoss: target values should be in "
                                 f"[0, {self.n_classes - 1}], but values in range "
                                 f"[{int(c.min())}, {int(c.max())}] were found")

    def forward(self, input_: Array, target_: Array) -> _ASMoutput:
        x, t = jnp.asarray(input_), jnp.asarray(target_)
        self._check(x, t)
        batched = t.ndim > 0
        if not batched:
            x, t = x[None], t[None]
        head_lp = jax.nn.log_softmax(self.head(x), axis=1)
        in_short = t < self.shortlist_size
        gather = jnp.where(in_short, t, 0)
        output = jnp.zeros(t.shape, head_lp.dtype)
        for i in range(self.n_clusters):
            low, high = self.cutoffs[i], self.cutoffs[i + 1]
            mask = (t >= low) & (t < high)
            rel = jnp.where(mask, t - low, 0)
            cluster_lp = jax.nn.log_softmax(self.tail[i](x), axis=1)
            local = jnp.take_along_axis(cluster_lp, rel[:, None], axis=1)[:, 0]
            output = jnp.where(mask, local, output)
            gather = jnp.where(mask, self.shortlist_size + i, gather)
        output = output + jnp.take_along_axis(head_lp, gather[:, None], axis=1)[:, 0]
        loss = jnp.mean(-output)
        if not batched:
            output = output[0]
        return _ASMoutput(output, loss)

    def _get_full_log_prob(self, input, head_output):
        head_lp = jax.nn.log_softmax(head_output, axis=1)
        parts = [head_lp[:, :self.shortlist_size]]
        for i in range(self.n_clusters):
            cluster_lp = jax.nn.log_softmax(self.tail[i](input), axis=1)
            parts.append(cluster_lp + head_lp[:, self.shortlist_size + i][:, None])
        return jnp.concatenate(parts, axis=1)

    def log_prob(self, input):
        """Log-probabilities of all ``n_classes``: ``(N, in_features) -> (N, n_classes)``."""
        x = jnp.asarray(input)
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"AdaptiveLogSoftmaxWithLoss.log_prob: expected input of shape "
                             f"(N, {self.in_features}), got {tuple(x.shape)}")
        return self._get_full_log_prob(x, self.head(x))

    def predict(self, input):
        """The most likely class of each row: ``(N, in_features) -> (N,)``."""
        return jnp.argmax(self.log_prob(input), axis=1)
