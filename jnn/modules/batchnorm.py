"""Batch normalization layers: ``BatchNorm1d/2d/3d`` and their ``Lazy`` variants.

``_NormBase`` (shared with ``InstanceNorm*``) owns the parameters and buffers exactly as torch
lays them out: ``weight``/``bias`` ``(C,)`` when ``affine``; ``running_mean``/``running_var``
``(C,)`` and the scalar ``num_batches_tracked`` when ``track_running_stats`` (otherwise the three
buffers are registered as ``None``, like torch).

Running statistics are updated the functional way: ``forward`` computes the new arrays with
``F.batch_norm_with_update`` and assigns them to the buffers (``self.running_mean = new``);
``nn.jit`` tracks buffer assignments, so a compiled training step updates them exactly as an
eager one does.

Subclassing: the batch statistics come from one overridable method,
``_batch_stats(self, input, reduce_axes) -> (mean, biased_var, count)``; ``SyncBatchNorm``
overrides it to average across devices.

Differences from PyTorch:
    ``num_batches_tracked`` is int32 unless JAX's 64-bit mode is on (then int64, like torch);
    torch's int64 checkpoints load into it unchanged.
"""
from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .. import init
from ..functional import normalization as _norm
from ..functional._utils import as_array
from ..parameter import Parameter, UninitializedParameter
from ..types import Array, DeviceLike, DTypeLike
from . import _factory
from ._factory import factory_dtype, place
from .lazy import LazyModuleMixin
from .module import Module

__all__ = ["BatchNorm1d", "LazyBatchNorm1d", "BatchNorm2d", "LazyBatchNorm2d", "BatchNorm3d",
           "LazyBatchNorm3d"]


def _count_dtype():
    """torch's ``num_batches_tracked`` is int64; JAX without x64 holds int32."""
    return jax.dtypes.canonicalize_dtype(jnp.int64)


class _NormBase(Module):
    """Common base of ``_BatchNorm`` and ``_InstanceNorm`` (torch's ``_NormBase``)."""

    # Buffers (or None without track_running_stats), registered in __init__.
    running_mean: Any
    running_var: Any
    num_batches_tracked: Any

    _version = 2

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True,
                 device: DeviceLike | None = None, dtype: DTypeLike | None = None, *,
                 bias: bool = True) -> None:
        super().__init__()
        if not isinstance(num_features, int) or isinstance(num_features, bool) \
                or num_features < 0:
            raise ValueError(f"{type(self).__name__}: expected num_features to be a "
                             f"non-negative int, got {num_features!r}")
        if momentum is not None and not isinstance(momentum, (int, float)):
            raise TypeError(f"{type(self).__name__}: expected momentum to be a float or None, "
                            f"got {momentum!r}")
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        self._factory_dtype = factory_dtype(dtype)
        dt = self._factory_dtype
        if affine:
            self.weight = Parameter(_factory.empty((num_features,), dt))
            if bias:
                self.bias = Parameter(_factory.empty((num_features,), dt))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", _factory.zeros((num_features,), dt))
            self.register_buffer("running_var", _factory.ones((num_features,), dt))
            self.register_buffer("num_batches_tracked", _factory.zeros((), _count_dtype()))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()
        place(self, device)

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, ``num_batches_tracked`` 0."""
        if self.track_running_stats:
            rm, rv = self.running_mean, self.running_var
            self.running_mean = _factory.zeros(rm.shape, rm.dtype)
            self.running_var = _factory.ones(rv.shape, rv.dtype)
            nbt = self.num_batches_tracked
            self.num_batches_tracked = _factory.zeros((), nbt.dtype if nbt is not None
                                                 else _count_dtype())

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def _check_input_dim(self, input) -> None:
        raise NotImplementedError

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs, *args, **kwargs) -> None:
        # Checkpoints from before torch 0.4.1 have no num_batches_tracked: keep ours.
        version = (local_metadata or {}).get("version", None)
        key = prefix + "num_batches_tracked"
        if version is not None and version < 2 and self.track_running_stats \
                and key not in state_dict and self.num_batches_tracked is not None:
            state_dict[key] = self.num_batches_tracked
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs, *args, **kwargs)


def _check_ndim(module, input, allowed: tuple) -> None:
    ndim = jnp.ndim(input)
    if ndim not in allowed:
        want = " or ".join(f"{d}D" for d in allowed)
        raise ValueError(f"{type(module).__name__}: expected {want} input (got {ndim}D input, "
                         f"shape {tuple(jnp.shape(input))})")


class _BatchNorm(_NormBase):
    """The forward pass shared by ``BatchNorm1d/2d/3d`` (and ``SyncBatchNorm``)."""

    def _batch_stats(self, input, reduce_axes):
        """Batch statistics ``(mean, biased_var, count)`` over ``reduce_axes``.

        Override to change how they are computed (``SyncBatchNorm`` averages across devices).
        """
        return _norm.moments(input, reduce_axes)

    def forward(self, input: Array) -> Array:
        self._check_input_dim(input)
        x = as_array(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked = self.num_batches_tracked + 1
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / self.num_batches_tracked.astype(jnp.promote_types(
                    x.dtype, jnp.float32))
        # Batch statistics in training, and in eval when there are no running statistics.
        bn_training = self.training or (self.running_mean is None and self.running_var is None)
        use_buffers = not self.training or self.track_running_stats
        running_mean = self.running_mean if use_buffers else None
        running_var = self.running_var if use_buffers else None
        out, new_mean, new_var = _norm.batch_norm_core(
            x, running_mean, running_var, self.weight, self.bias, bn_training, factor, self.eps,
            fn=type(self).__name__,
            # None for the default statistics, so all layers of one shape share a program
            batch_stats=None if type(self)._batch_stats is _BatchNorm._batch_stats
            else self._batch_stats)
        if bn_training and running_mean is not None:
            self.running_mean = new_mean
        if bn_training and running_var is not None:
            self.running_var = new_var
        return out


class _LazyNormBase(LazyModuleMixin, _NormBase):
    """``num_features`` (and the parameter/buffer shapes) inferred from ``input.shape[1]``."""

    def __init__(self, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device: DeviceLike | None = None,
                 dtype: DTypeLike | None = None, *, bias: bool = True) -> None:
        super().__init__(0, eps, momentum, False, False, device, dtype, bias=False)
        self.affine = affine
        self.track_running_stats = track_running_stats
        dt = self._factory_dtype
        if affine:
            self.weight = UninitializedParameter(dtype=dt)
            if bias:
                self.bias = UninitializedParameter(dtype=dt)
        if track_running_stats:
            self.running_mean = _factory.zeros((0,), dt)
            self.running_var = _factory.zeros((0,), dt)
            self.num_batches_tracked = _factory.zeros((), _count_dtype())

    def has_uninitialized_params(self) -> bool:
        # Buffers are stored as plain arrays, so an unmaterialised one is recognised by
        # num_features still being 0.
        return super().has_uninitialized_params() or (
            self.track_running_stats and self.num_features == 0)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.num_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input) -> None:
        if self.has_uninitialized_params():
            if jnp.ndim(input) < 2:
                raise ValueError(f"{type(self).__name__}: expected input with at least 2 "
                                 f"dimensions to infer num_features, got shape "
                                 f"{tuple(jnp.shape(input))}")
            self._materialize(int(jnp.shape(input)[1]))
            self.reset_parameters()

    def _materialize(self, num_features: int) -> None:
        self.num_features = num_features
        dt = self._factory_dtype
        if self.affine:
            for p in (self.weight, self.bias):
                if isinstance(p, UninitializedParameter):
                    p.materialize((num_features,))
        if self.track_running_stats:
            self.running_mean = _factory.zeros((num_features,), dt)
            self.running_var = _factory.ones((num_features,), dt)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs, *args, **kwargs) -> None:
        # torch's _lazy_load_hook: loading a checkpoint materialises the shapes it holds.
        if self.has_uninitialized_params():
            for name in ("weight", "bias", "running_mean", "running_var"):
                value = state_dict.get(prefix + name)
                if value is not None and len(getattr(value, "shape", ())) == 1:
                    self._materialize(int(value.shape[0]))
                    break
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs, *args, **kwargs)


class BatchNorm1d(_BatchNorm):
    """Batch normalization over ``(N, C)`` or ``(N, C, L)`` input (``torch.nn.BatchNorm1d``).

    ``y = (x - E[x]) / sqrt(Var[x] + eps) * weight + bias`` per channel. In training, batch
    statistics are used (biased variance) and the running estimates are updated with
    ``momentum`` (``None``: cumulative average) using the *unbiased* variance; in eval the
    running estimates are used (batch statistics if ``track_running_stats=False``).

    Args:
        num_features: ``C``.
        eps: added to the variance (default ``1e-5``).
        momentum: running-statistics factor (default ``0.1``; ``None`` for a cumulative
            average).
        affine: learn ``weight`` (init 1) and ``bias`` (init 0) (default ``True``).
        track_running_stats: keep running estimates (default ``True``).
        device, dtype: where and in which floating dtype to create parameters and buffers.
        bias: keyword-only; with ``affine``, learn the bias (default ``True``).

    Shape:
        ``(N, C) -> (N, C)``, ``(N, C, L) -> (N, C, L)``.

    Example:
        >>> bn = nn.BatchNorm1d(4)
        >>> bn(nn.randn(8, 4)).shape, int(bn.num_batches_tracked)
        ((8, 4), 1)
    """

    def _check_input_dim(self, input) -> None:
        _check_ndim(self, input, (2, 3))


class BatchNorm2d(_BatchNorm):
    """Batch normalization over ``(N, C, H, W)`` input (``torch.nn.BatchNorm2d``).

    Arguments and behaviour as :class:`BatchNorm1d`.

    Shape:
        ``(N, C, H, W) -> (N, C, H, W)``.

    Example:
        >>> nn.BatchNorm2d(3)
        BatchNorm2d(3, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
    """

    def _check_input_dim(self, input) -> None:
        _check_ndim(self, input, (4,))


class BatchNorm3d(_BatchNorm):
    """Batch normalization over ``(N, C, D, H, W)`` input (``torch.nn.BatchNorm3d``).

    Arguments and behaviour as :class:`BatchNorm1d`.

    Shape:
        ``(N, C, D, H, W) -> (N, C, D, H, W)``.
    """

    def _check_input_dim(self, input) -> None:
        _check_ndim(self, input, (5,))


class LazyBatchNorm1d(_LazyNormBase, _BatchNorm):
    """``BatchNorm1d`` with ``num_features`` inferred from ``input.shape[1]`` on the first call.

    Run one eager forward pass before ``nn.jit`` so the parameters exist.
    """

    cls_to_become = BatchNorm1d

    def _check_input_dim(self, input) -> None:
        _check_ndim(self, input, (2, 3))


class LazyBatchNorm2d(_LazyNormBase, _BatchNorm):
    """``BatchNorm2d`` with ``num_features`` inferred from ``input.shape[1]`` on the first call."""

    cls_to_become = BatchNorm2d

    def _check_input_dim(self, input) -> None:
        _check_ndim(self, input, (4,))


class LazyBatchNorm3d(_LazyNormBase, _BatchNorm):
    """``BatchNorm3d`` with ``num_features`` inferred from ``input.shape[1]`` on the first call."""

    cls_to_become = BatchNorm3d

    def _check_input_dim(self, input) -> None:
        _check_ndim(self, input, (5,))
