"""Spectral normalisation, the legacy hook-based API (``torch.nn.utils.spectral_norm``).

``W_SN = W / sigma(W)`` with ``sigma`` estimated by power iteration. The parameter ``<name>``
becomes ``<name>_orig``, the power-iteration vectors are buffers ``<name>_u`` and ``<name>_v``
(initialised from the random stream), and a forward pre-hook recomputes ``<name>`` before every
call, advancing the power iteration in training mode.

Differences from PyTorch:
    The recomputed ``<name>`` is held as a non-persistent buffer rather than a plain attribute
    (see :mod:`jnn.utils.weight_norm`), so ``nn.jit`` writes it back instead of leaking a
    tracer; it is not in ``state_dict``. The initial ``u``/``v`` come from jnn's random stream,
    so they differ from torch's for the same seed; load torch's ``state_dict`` (which includes
    both buffers) to reproduce torch's numbers exactly.
"""
from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._state import RemovableHandle
from ..modules.module import Module
from ..parameter import Parameter, UninitializedParameter
from ..random import next_key
from ._parametrize_common import as_array, del_derived, is_conv_transpose, normalize, set_derived

__all__ = ["SpectralNorm", "SpectralNormLoadStateDictPreHook", "SpectralNormStateDictHook",
           "spectral_norm", "remove_spectral_norm"]


def _reshape_weight_to_matrix(weight, dim: int):
    weight = as_array(weight)
    if dim != 0:
        weight = jnp.transpose(weight, (dim, *[d for d in range(weight.ndim) if d != dim]))
    return weight.reshape(weight.shape[0], -1)


class SpectralNorm:
    """The forward pre-hook installed by :func:`spectral_norm`."""

    _version: int = 1
    name: str
    dim: int
    n_power_iterations: int
    eps: float

    def __init__(self, name: str = "weight", n_power_iterations: int = 1, dim: int = 0,
                 eps: float = 1e-12) -> None:
        self.name = name
        self.dim = dim
        if n_power_iterations <= 0:
            raise ValueError("Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.n_power_iterations = n_power_iterations
        self.eps = eps
        self._load_handle: RemovableHandle | None = None

    def reshape_weight_to_matrix(self, weight):
        return _reshape_weight_to_matrix(weight, self.dim)

    def compute_weight(self, module: Module, do_power_iteration: bool):
        weight = as_array(getattr(module, self.name + "_orig"))
        u = getattr(module, self.name + "_u")
        v = getattr(module, self.name + "_v")
        weight_mat = self.reshape_weight_to_matrix(weight)
        if do_power_iteration:
            w_const = jax.lax.stop_gradient(weight_mat)
            for _ in range(self.n_power_iterations):
                v = normalize(w_const.T @ u, self.eps)
                u = normalize(w_const @ v, self.eps)
            module._buffers[self.name + "_u"] = u
            module._buffers[self.name + "_v"] = v
        u, v = jax.lax.stop_gradient(u), jax.lax.stop_gradient(v)
        sigma = jnp.dot(u, weight_mat @ v)
        return weight / sigma

    def remove(self, module: Module) -> None:
        weight = jax.lax.stop_gradient(self.compute_weight(module, do_power_iteration=False))
        del_derived(module, self.name)
        delattr(module, self.name + "_u")
        delattr(module, self.name + "_v")
        delattr(module, self.name + "_orig")
        module.register_parameter(self.name, Parameter(weight))

    def __call__(self, module: Module, inputs: Any) -> None:
        set_derived(module, self.name,
                     self.compute_weight(module, do_power_iteration=module.training))

    def _solve_v_and_rescale(self, weight_mat, u, target_sigma):
        # v such that u = normalize(W @ v) and u @ W @ v = sigma (pinverse for a singular W^T W)
        v = jnp.linalg.pinv(weight_mat.T @ weight_mat) @ weight_mat.T @ u
        return v * (target_sigma / jnp.dot(u, weight_mat @ v))

    @staticmethod
    def apply(module: Module, name: str, n_power_iterations: int, dim: int,
              eps: float) -> SpectralNorm:
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, SpectralNorm) and hook.name == name:
                raise RuntimeError(f"Cannot register two spectral_norm hooks on the same "
                                   f"parameter {name}")
        fn = SpectralNorm(name, n_power_iterations, dim, eps)
        if name not in module._parameters:
            raise ValueError(f"spectral_norm: module {type(module).__name__} has no parameter "
                             f"named {name!r}")
        weight = module._parameters[name]
        if weight is None:
            raise ValueError(f"`SpectralNorm` cannot be applied as parameter `{name}` is None")
        if isinstance(weight, UninitializedParameter):
            raise ValueError(
                "The module passed to `SpectralNorm` can't have uninitialized parameters. Make "
                "sure to run the dummy forward before applying spectral normalization")
        weight_mat = fn.reshape_weight_to_matrix(weight)
        h, w = weight_mat.shape
        dtype = weight_mat.dtype
        u = normalize(jax.random.normal(next_key(), (h,), dtype), fn.eps)
        v = normalize(jax.random.normal(next_key(), (w,), dtype), fn.eps)

        delattr(module, fn.name)
        module.register_parameter(fn.name + "_orig", weight)
        set_derived(module, fn.name, weight._data)
        module.register_buffer(fn.name + "_u", u)
        module.register_buffer(fn.name + "_v", v)
        module.register_forward_pre_hook(fn)
        fn._load_handle = module._register_load_state_dict_pre_hook(
            SpectralNormLoadStateDictPreHook(fn))
        return fn


class SpectralNormLoadStateDictPreHook:
    """Converts a version-0 spectral-norm state_dict (with ``<name>`` and without
    ``<name>_v``) on load, as torch does."""

    def __init__(self, fn: SpectralNorm) -> None:
        self.fn = fn

    def __call__(self, module, state_dict, prefix, local_metadata, strict, missing_keys,
                 unexpected_keys, error_msgs) -> None:
        fn = self.fn
        version = (local_metadata or {}).get("spectral_norm", {}).get(fn.name + ".version")
        if version is not None and version >= 1:
            return
        weight_key = prefix + fn.name
        if version is None and all(weight_key + s in state_dict for s in ("_orig", "_u", "_v")) \
                and weight_key not in state_dict:
            return
        has_missing_keys = False
        for suffix in ("_orig", "", "_u"):
            key = weight_key + suffix
            if key not in state_dict:
                has_missing_keys = True
                if strict:
                    missing_keys.append(key)
        if has_missing_keys:
            return
        def to(x):
            return jnp.asarray(np.asarray(x.detach().cpu().numpy() if hasattr(x, "detach")
                                          else x))

        weight_orig = to(state_dict[weight_key + "_orig"])
        weight = to(state_dict.pop(weight_key))
        sigma = jnp.mean(weight_orig / weight)
        weight_mat = fn.reshape_weight_to_matrix(weight_orig)
        u = to(state_dict[weight_key + "_u"])
        state_dict[weight_key + "_v"] = fn._solve_v_and_rescale(weight_mat, u, sigma)


class SpectralNormStateDictHook:
    """torch records a format version in the state_dict metadata; jnn's ``state_dict`` has no
    metadata, so this hook is kept for API compatibility only and does nothing."""

    def __init__(self, fn: SpectralNorm) -> None:
        self.fn = fn

    def __call__(self, module, state_dict, prefix, local_metadata) -> None:
        return None


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1,
                  eps: float = 1e-12, dim: int | None = None) -> Module:
    """Apply spectral normalisation to a parameter (``torch.nn.utils.spectral_norm``).

    ``W = W_orig / sigma`` where ``sigma = u^T W_orig v`` is estimated by power iteration; in
    training mode each forward runs ``n_power_iterations`` steps and stores the new ``u``/``v``
    buffers (also under ``nn.jit``).

    Args:
        module: the module holding the parameter.
        name: the parameter's name.
        n_power_iterations: power-iteration steps per forward.
        eps: epsilon for the vector normalisations.
        dim: the output dimension (default 0; 1 for ``ConvTranspose*d``).

    Returns:
        ``module``, with parameter ``<name>_orig`` and buffers ``<name>_u``, ``<name>_v``.

    Example:
        >>> m = nn.utils.spectral_norm(nn.Linear(20, 40))
        >>> m.weight_u.shape
        (40,)

    Differences from PyTorch:
        See the module docstring (derived weight held as a non-persistent buffer; initial
        ``u``/``v`` drawn from jnn's stream).
    """
    if dim is None:
        dim = 1 if is_conv_transpose(module) else 0
    SpectralNorm.apply(module, name, n_power_iterations, dim, eps)
    return module


def remove_spectral_norm(module: Module, name: str = "weight") -> Module:
    """Undo :func:`spectral_norm`: ``<name>`` becomes a Parameter holding the current
    ``W_orig / sigma`` (``torch.nn.utils.remove_spectral_norm``).

    Example:
        >>> m = nn.utils.remove_spectral_norm(nn.utils.spectral_norm(nn.Linear(40, 10)))
    """
    for k, hook in module._forward_pre_hooks.items():
        if isinstance(hook, SpectralNorm) and hook.name == name:
            hook.remove(module)
            del module._forward_pre_hooks[k]
            if hook._load_handle is not None:
                hook._load_handle.remove()
            break
    else:
        raise ValueError(f"spectral_norm of '{name}' not found in {module}")
    return module
