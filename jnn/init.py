"""Parameter initialisation (``torch.nn.init``).

Each ``*_`` function fills a ``Parameter`` in place (rebinding its array) and returns it, as
torch does. Random ones draw from the global stream unless ``key=`` (or ``generator=``) is given.

Differences from PyTorch:
    Given a plain array (immutable), a function returns the new array instead of filling it.
    The random numbers differ from torch's for the same seed (different generators); the
    distributions are the same.
"""
from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .parameter import Parameter
from .random import Generator, next_key

__all__ = [
    "calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_",
    "eye_", "dirac_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
    "orthogonal_", "sparse_", "uniform", "normal", "constant", "xavier_uniform", "xavier_normal",
    "kaiming_uniform", "kaiming_normal", "orthogonal", "sparse",
]

_LINEAR_FNS = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
               "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity (torch's table)."""
    if nonlinearity in _LINEAR_FNS:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"calculate_gain: negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _calculate_fan_in_and_fan_out(tensor) -> tuple[int, int]:
    shape = tuple(jnp.shape(tensor))
    if len(shape) < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 "
                         f"dimensions, got shape {shape}")
    receptive = int(np.prod(shape[2:], dtype=np.int64)) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def _calculate_correct_fan(tensor, mode: str) -> int:
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode: expected 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _shape_dtype(tensor):
    data = tensor.data if isinstance(tensor, Parameter) else jnp.asarray(tensor)
    dtype = data.dtype if jnp.issubdtype(data.dtype, jnp.floating) else jnp.float32
    return tuple(data.shape), dtype


def _host_rng(key) -> np.random.Generator:
    """A numpy generator seeded by a concrete key."""
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        key = jax.random.key_data(key)
    return np.random.default_rng(np.asarray(key).astype(np.uint64).tolist())


def _sample_on_host(key, shape: tuple, dtype, draw):
    """``draw(numpy_generator)`` seeded by ``key``, as a ``dtype`` array of ``shape``.

    Initialisation samples on the host: ``jax.random`` would compile one XLA program per
    parameter shape, which made building a model like ResNet-34 cost seconds. Under a trace
    (a lazy module initialised inside ``nn.jit``) the same host sampling runs as a callback,
    so a traced initialisation draws exactly the numbers the eager one would.
    """
    def sample(k):
        return np.asarray(draw(_host_rng(k)), np.dtype(dtype)).reshape(shape)
    if isinstance(key, jax.core.Tracer):
        return jax.pure_callback(sample, jax.ShapeDtypeStruct(shape, dtype), key)
    return sample(key)


def _fill(tensor, value):
    """Write ``value`` into a Parameter (returning it) or return the new array."""
    if isinstance(tensor, Parameter):
        tensor._data = jnp.asarray(value, tensor.dtype)
        return tensor
    return jnp.asarray(value, jnp.asarray(tensor).dtype)


def uniform_(tensor: Any, a: float = 0.0, b: float = 1.0, generator: Generator | None = None, *,
             key: jax.Array | None = None) -> Any:
    shape, dtype = _shape_dtype(tensor)
    return _fill(tensor, _sample_on_host(next_key(key, generator), shape, dtype,
                                         lambda rng: rng.uniform(a, b, shape)))


def normal_(tensor: Any, mean: float = 0.0, std: float = 1.0, generator: Generator | None = None, *,
            key: jax.Array | None = None) -> Any:
    shape, dtype = _shape_dtype(tensor)
    return _fill(tensor, _sample_on_host(next_key(key, generator), shape, dtype,
                                         lambda rng: mean + std * rng.standard_normal(shape)))


def trunc_normal_(tensor: Any, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0,
                  generator: Generator | None = None, *, key: jax.Array | None = None) -> Any:
    """Normal(mean, std) truncated to ``[a, b]`` (bounds in absolute units, as in torch)."""
    shape, dtype = _shape_dtype(tensor)
    lo, hi = (a - mean) / std, (b - mean) / std
    z = jax.random.truncated_normal(next_key(key, generator), lo, hi, shape, dtype)
    return _fill(tensor, jnp.clip(mean + std * z, a, b))


def constant_(tensor: Any, val: float) -> Any:
    shape, dtype = _shape_dtype(tensor)
    if isinstance(val, jax.core.Tracer):
        return _fill(tensor, jnp.full(shape, val, dtype))
    return _fill(tensor, np.full(shape, val, np.dtype(dtype)))


def ones_(tensor: Any) -> Any:
    return constant_(tensor, 1.0)


def zeros_(tensor: Any) -> Any:
    return constant_(tensor, 0.0)


def eye_(tensor: Any) -> Any:
    shape, dtype = _shape_dtype(tensor)
    if len(shape) != 2:
        raise ValueError(f"eye_: only tensors with 2 dimensions are supported, got shape {shape}")
    return _fill(tensor, np.eye(*shape, dtype=np.dtype(dtype)))


def dirac_(tensor: Any, groups: int = 1) -> Any:
    """The identity for convolutions: each output channel passes one input channel through."""
    shape, dtype = _shape_dtype(tensor)
    if len(shape) not in (3, 4, 5):
        raise ValueError(f"dirac_: only tensors with 3, 4, or 5 dimensions are supported, got "
                         f"shape {shape}")
    if shape[0] % groups != 0:
        raise ValueError(f"dirac_: dim 0 ({shape[0]}) must be divisible by groups ({groups})")
    out_per_group = shape[0] // groups
    min_dim = min(out_per_group, shape[1])
    out = np.zeros(shape, dtype=np.float64)
    centre = tuple(s // 2 for s in shape[2:])
    for g in range(groups):
        for d in range(min_dim):
            out[(g * out_per_group + d, d) + centre] = 1
    return _fill(tensor, jnp.asarray(out, dtype))


def xavier_uniform_(tensor: Any, gain: float = 1.0, generator: Generator | None = None, *,
                    key: jax.Array | None = None) -> Any:
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / float(fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator, key=key)


def xavier_normal_(tensor: Any, gain: float = 1.0, generator: Generator | None = None, *,
                   key: jax.Array | None = None) -> Any:
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator, key=key)


def kaiming_uniform_(tensor: Any, a: float = 0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu", generator: Generator | None = None, *,
                     key: jax.Array | None = None) -> Any:
    if 0 in _shape_dtype(tensor)[0]:
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    bound = math.sqrt(3.0) * calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return uniform_(tensor, -bound, bound, generator, key=key)


def kaiming_normal_(tensor: Any, a: float = 0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", generator: Generator | None = None, *,
                    key: jax.Array | None = None) -> Any:
    if 0 in _shape_dtype(tensor)[0]:
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return normal_(tensor, 0.0, std, generator, key=key)


def orthogonal_(tensor: Any, gain: float = 1.0, generator: Generator | None = None, *,
                key: jax.Array | None = None) -> Any:
    """A (semi-)orthogonal matrix from the QR decomposition of a normal matrix (torch's recipe)."""
    shape, dtype = _shape_dtype(tensor)
    if len(shape) < 2:
        raise ValueError(f"orthogonal_: only tensors with 2 or more dimensions are supported, "
                         f"got shape {shape}")
    if 0 in shape:
        return tensor
    rows, cols = shape[0], int(np.prod(shape[1:]))
    flat = jax.random.normal(next_key(key, generator), (rows, cols), jnp.float32)
    if rows < cols:
        flat = flat.T
    q, r = jnp.linalg.qr(flat)
    # Signs of R's diagonal make the decomposition unique (uniform over O(n)).
    q = q * jnp.sign(jnp.diagonal(r))[None, :]
    if rows < cols:
        q = q.T
    return _fill(tensor, (gain * q).reshape(shape).astype(dtype))


def sparse_(tensor: Any, sparsity: float, std: float = 0.01, generator: Generator | None = None, *,
            key: jax.Array | None = None) -> Any:
    """Normal(0, std) entries with a fraction ``sparsity`` of each column set to zero."""
    shape, dtype = _shape_dtype(tensor)
    if len(shape) != 2:
        raise ValueError("sparse_: only tensors with 2 dimensions are supported, got shape "
                         f"{shape}")
    rows, cols = shape
    num_zeros = int(math.ceil(sparsity * rows))
    k_values, k_perm = jax.random.split(next_key(key, generator))
    values = std * jax.random.normal(k_values, shape, dtype)
    # For each column, zero the rows that come first in an independent random permutation.
    ranks = jnp.argsort(jax.random.uniform(k_perm, shape), axis=0).argsort(axis=0)
    return _fill(tensor, jnp.where(ranks < num_zeros, 0, values))


def _deprecated(fn):
    def alias(*args, **kwargs):
        return fn(*args, **kwargs)
    alias.__name__ = fn.__name__.rstrip("_")
    alias.__doc__ = f"Deprecated alias of :func:`{fn.__name__}`."
    return alias


uniform = _deprecated(uniform_)
normal = _deprecated(normal_)
constant = _deprecated(constant_)
xavier_uniform = _deprecated(xavier_uniform_)
xavier_normal = _deprecated(xavier_normal_)
kaiming_uniform = _deprecated(kaiming_uniform_)
kaiming_normal = _deprecated(kaiming_normal_)
orthogonal = _deprecated(orthogonal_)
sparse = _deprecated(sparse_)
