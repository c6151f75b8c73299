"""Instance normalization layers: ``InstanceNorm1d/2d/3d`` and their ``Lazy`` variants.

They share ``_NormBase`` with ``BatchNorm*`` (same parameter/buffer names and layouts) but
default to ``affine=False, track_running_stats=False``. Unbatched input (``(C, L)``,
``(C, H, W)``, ``(C, D, H, W)``) is accepted like in torch.

With ``track_running_stats=True`` the running statistics are updated in training (the batch
average of the per-instance statistics, unbiased variance) by assigning new arrays to the
buffers, and used in eval. ``num_batches_tracked`` is kept for state_dict compatibility but, as
in torch, not incremented.
"""
from __future__ import annotations

import warnings

import jax.numpy as jnp

from ..functional import normalization as _norm
from ..functional._utils import as_array
from ..types import Array, DeviceLike, DTypeLike
from .batchnorm import _check_ndim, _LazyNormBase, _NormBase

__all__ = ["InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "LazyInstanceNorm1d",
           "LazyInstanceNorm2d", "LazyInstanceNorm3d"]


class _InstanceNorm(_NormBase):
    """The forward pass shared by ``InstanceNorm1d/2d/3d``."""

    _no_batch_dim = 2  # the rank of unbatched input

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = False, track_running_stats: bool = False,
                 device: DeviceLike | None = None, dtype: DTypeLike | None = None, *,
                 bias: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype,
                         bias=bias)

    def _check_input_dim(self, input) -> None:
        _check_ndim(self, input, (self._no_batch_dim, self._no_batch_dim + 1))

    def forward(self, input: Array) -> Array:
        self._check_input_dim(input)
        x = as_array(input)
        feature_dim = x.ndim - self._no_batch_dim
        if x.shape[feature_dim] != self.num_features:
            if self.affine:
                raise ValueError(f"{type(self).__name__}: expected input's size at "
                                 f"dim={feature_dim} to match num_features "
                                 f"({self.num_features}), but got: {x.shape[feature_dim]}.")
            warnings.warn(f"input's size at dim={feature_dim} does not match num_features. You "
                          "can silence this warning by not passing in num_features, which is "
                          "not used because affine=False", stacklevel=2)
        unbatched = x.ndim == self._no_batch_dim
        if unbatched:
            x = x[None]
        use_input_stats = self.training or not self.track_running_stats
        momentum = self.momentum if self.momentum is not None else 0.0
        out, new_mean, new_var = _norm.instance_norm_core(
            x, self.running_mean, self.running_var, self.weight, self.bias, use_input_stats,
            momentum, self.eps, fn=type(self).__name__)
        if use_input_stats and self.running_mean is not None:
            self.running_mean = new_mean
        if use_input_stats and self.running_var is not None:
            self.running_var = new_var
        return out[0] if unbatched else out


class InstanceNorm1d(_InstanceNorm):
    """Normalise each channel of each sample over its length (``torch.nn.InstanceNorm1d``).

    Args:
        num_features: ``C``.
        eps: added to the variance (default ``1e-5``).
        momentum: running-statistics factor (default ``0.1``).
        affine: learn per-channel ``weight``/``bias`` (default ``False``).
        track_running_stats: keep running estimates and use them in eval (default ``False``).
        device, dtype: where and in which floating dtype to create parameters and buffers.
        bias: keyword-only; with ``affine``, learn the bias (default ``True``).

    Shape:
        ``(N, C, L) -> (N, C, L)``, ``(C, L) -> (C, L)``.

    Example:
        >>> nn.InstanceNorm1d(3)(nn.randn(2, 3, 5)).shape
        (2, 3, 5)
    """

    _no_batch_dim = 2


class InstanceNorm2d(_InstanceNorm):
    """Instance normalization over ``(N, C, H, W)`` / ``(C, H, W)`` input
    (``torch.nn.InstanceNorm2d``); arguments as :class:`InstanceNorm1d`.

    Shape:
        ``(N, C, H, W) -> (N, C, H, W)``, ``(C, H, W) -> (C, H, W)``.
    """

    _no_batch_dim = 3


class InstanceNorm3d(_InstanceNorm):
    """Instance normalization over ``(N, C, D, H, W)`` / ``(C, D, H, W)`` input
    (``torch.nn.InstanceNorm3d``); arguments as :class:`InstanceNorm1d`.

    Shape:
        ``(N, C, D, H, W) -> (N, C, D, H, W)``, ``(C, D, H, W) -> (C, D, H, W)``.
    """

    _no_batch_dim = 4


class _LazyInstanceNorm(_LazyNormBase, _InstanceNorm):
    """Lazy instance norm: ``num_features`` from ``input.shape[-(no_batch_dim)]``.

    Like torch, the lazy variants default to ``affine=True, track_running_stats=True``.
    """

    def initialize_parameters(self, input) -> None:
        if self.has_uninitialized_params() and jnp.ndim(input) == self._no_batch_dim:
            input = jnp.expand_dims(as_array(input), 0)  # torch reads dim 1 of batched input
        super().initialize_parameters(input)


class LazyInstanceNorm1d(_LazyInstanceNorm):
    """``InstanceNorm1d`` with ``num_features`` inferred on the first call."""

    cls_to_become = InstanceNorm1d
    _no_batch_dim = 2


class LazyInstanceNorm2d(_LazyInstanceNorm):
    """``InstanceNorm2d`` with ``num_features`` inferred on the first call."""

    cls_to_become = InstanceNorm2d
    _no_batch_dim = 3


class LazyInstanceNorm3d(_LazyInstanceNorm):
    """``InstanceNorm3d`` with ``num_features`` inferred on the first call."""

    cls_to_become = InstanceNorm3d
    _no_batch_dim = 4
