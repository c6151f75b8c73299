"""``SyncBatchNorm``: batch normalization whose statistics span every device of an ``nn.pmap``."""
from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .._axis import current_axis_name
from ..functional import normalization as _norm
from ..types import DeviceLike, DTypeLike
from .batchnorm import _BatchNorm
from .module import Module

__all__ = ["SyncBatchNorm"]


class SyncBatchNorm(_BatchNorm):
    """Batch normalization over the whole data-parallel batch (``torch.nn.SyncBatchNorm``).

    Inside ``nn.pmap`` the batch mean and variance are computed over the global batch (all
    devices) with collectives, so outputs and running statistics equal ``BatchNorm`` on the
    unsplit batch. Outside ``nn.pmap`` it is plain batch normalization.

    Args:
        num_features: ``C`` of an input ``(N, C, *)``.
        eps, momentum, affine, track_running_stats, bias: as ``BatchNorm``.
        process_group: accepted for torch compatibility; the devices of the enclosing
            ``nn.pmap`` form the group.

    Shape:
        ``(N, C, *) -> (N, C, *)``.

    Example:
        >>> model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8))
        >>> model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        >>> model[1]
        SyncBatchNorm(8, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
        >>> model(jnp.ones((6, 4))).shape   # outside nn.pmap: plain batch norm
        (6, 8)
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, process_group: Any = None,
                 device: DeviceLike | None = None, dtype: DTypeLike | None = None, *,
                 bias: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype,
                         bias=bias)
        self.process_group = process_group

    def _check_input_dim(self, input) -> None:
        if jnp.ndim(input) < 2:
            raise ValueError(f"SyncBatchNorm: expected at least 2D input (got {jnp.ndim(input)}D "
                             f"input, shape {tuple(jnp.shape(input))})")

    def _batch_stats(self, input, reduce_axes):
        axis = current_axis_name()
        if axis is None:
            return _norm.moments(input, reduce_axes)
        # Equal shards per device: the global mean is the mean of the local means, and the
        # global (biased) variance the mean of local mean squared deviations from it.
        mean = jax.lax.pmean(jnp.mean(input, axis=reduce_axes), axis)
        shape = [1] * input.ndim
        shape[1] = input.shape[1]
        var = jax.lax.pmean(jnp.mean(jnp.square(input - mean.reshape(shape)), axis=reduce_axes),
                            axis)
        local = 1
        for a in reduce_axes:
            local *= input.shape[a]
        return mean, var, local * jax.lax.psum(1, axis)

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group=None) -> Module:
        """Replace every ``BatchNorm*d`` in ``module`` by a ``SyncBatchNorm`` with the same
        parameters, buffers and mode (returns the new module when ``module`` itself is one)."""
        output = module
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            output = SyncBatchNorm(module.num_features, module.eps, module.momentum,
                                   module.affine, module.track_running_stats, process_group,
                                   bias=module.bias is not None if module.affine else True)
            if module.affine:
                output.weight = module.weight
                output.bias = module.bias
            output.running_mean = module.running_mean
            output.running_var = module.running_var
            output.num_batches_tracked = module.num_batches_tracked
            output.training = module.training
        for name, child in module.named_children():
            output.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        return output
