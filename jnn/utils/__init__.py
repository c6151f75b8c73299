"""``torch.nn.utils`` (and ``torch.utils.data`` as ``jnn.utils.data``): gradient clipping,
parameter/vector conversion, weight and spectral normalisation, parametrizations, pruning,
fusion, and ``rnn`` (packed sequences)."""
from __future__ import annotations

from . import (  # noqa: F401
    checkpoint,
    data,
    fusion,
    parametrizations,
    parametrize,
    prune,
    rnn,  # noqa: F401
    stateless,
)
from .clip_grad import (
    clip_grad_norm,
    clip_grad_norm_,
    clip_grad_value_,
    clip_grads_with_norm_,
    get_total_norm,
)
from .convert_parameters import parameters_to_vector, vector_to_parameters
from .fusion import (
    fuse_conv_bn_eval,
    fuse_conv_bn_weights,
    fuse_linear_bn_eval,
    fuse_linear_bn_weights,
)
from .init import skip_init
from .spectral_norm import remove_spectral_norm, spectral_norm
from .weight_norm import remove_weight_norm, weight_norm

__all__: list = [
    "checkpoint", "clip_grad_norm", "clip_grad_norm_", "data", "clip_grads_with_norm_",
    "clip_grad_value_",
    "fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval", "fuse_linear_bn_weights",
    "fusion",
    "get_total_norm", "parameters_to_vector", "parametrizations", "parametrize", "prune",
    "remove_spectral_norm", "remove_weight_norm", "rnn", "skip_init", "spectral_norm",
    "stateless", "vector_to_parameters", "weight_norm",
]

