"""Weight normalisation, the legacy hook-based API (``torch.nn.utils.weight_norm``).

``w = g * v / ||v||``: the parameter ``<name>`` is replaced by ``<name>_g`` (magnitude) and
``<name>_v`` (direction), and a forward pre-hook recomputes ``<name>`` before every call.

Differences from PyTorch:
    torch stores the recomputed weight as a plain attribute. jnn stores it as a
    *non-persistent buffer* (left out of ``state_dict``, so the keys are torch's): ``nn.jit``
    then treats it as state and writes the value computed inside a compiled step back, instead
    of leaking a tracer. It therefore appears in ``named_buffers()``.
"""
from __future__ import annotations

import warnings
from typing import Any

import jax

from ..modules.module import Module
from ..parameter import Parameter, UninitializedParameter
from ._parametrize_common import (
    as_array,
    del_derived,
    norm_except_dim,
    set_derived,
    weight_norm_value,
)

__all__ = ["WeightNorm", "weight_norm", "remove_weight_norm", "norm_except_dim"]


class WeightNorm:
    """The forward pre-hook installed by :func:`weight_norm`."""

    name: str
    dim: int

    def __init__(self, name: str, dim: int | None) -> None:
        if dim is None:
            dim = -1
        self.name = name
        self.dim = dim

    def compute_weight(self, module: Module) -> Any:
        g = getattr(module, self.name + "_g")
        v = getattr(module, self.name + "_v")
        return weight_norm_value(v, g, self.dim)

    @staticmethod
    def apply(module: Module, name: str, dim: int | None) -> WeightNorm:
        warnings.warn("`torch.nn.utils.weight_norm` is deprecated in favor of "
                      "`torch.nn.utils.parametrizations.weight_norm`.", FutureWarning,
                      stacklevel=3)
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, WeightNorm) and hook.name == name:
                raise RuntimeError(f"Cannot register two weight_norm hooks on the same "
                                   f"parameter {name}")
        if dim is None:
            dim = -1
        fn = WeightNorm(name, dim)
        weight = getattr(module, name)
        if isinstance(weight, UninitializedParameter):
            raise ValueError(
                "The module passed to `WeightNorm` can't have uninitialized parameters. Make "
                "sure to run the dummy forward before applying weight normalization")
        if name not in module._parameters:
            raise ValueError(f"weight_norm: module {type(module).__name__} has no parameter "
                             f"named {name!r}")
        del module._parameters[name]
        module.register_parameter(name + "_g", Parameter(norm_except_dim(weight, 2, dim)))
        module.register_parameter(name + "_v", Parameter(as_array(weight)))
        set_derived(module, name, fn.compute_weight(module))
        module.register_forward_pre_hook(fn)
        return fn

    def remove(self, module: Module) -> None:
        weight = self.compute_weight(module)
        del_derived(module, self.name)
        del module._parameters[self.name + "_g"]
        del module._parameters[self.name + "_v"]
        setattr(module, self.name, Parameter(jax.lax.stop_gradient(weight)))

    def __call__(self, module: Module, inputs: Any) -> None:
        set_derived(module, self.name, self.compute_weight(module))


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Apply weight normalisation to a parameter (``torch.nn.utils.weight_norm``, deprecated in
    torch in favour of :func:`jnn.utils.parametrizations.weight_norm`; emits the same
    ``FutureWarning``).

    ``name`` is replaced by ``<name>_g`` (the norm over every dimension but ``dim``; the whole
    norm for ``dim=None``) and ``<name>_v`` (the direction); a forward pre-hook recomputes
    ``module.<name> = g * v / ||v||`` before every forward.

    Args:
        module: the module holding the parameter.
        name: the parameter's name.
        dim: the dimension kept by the norm (``None``: norm over the whole tensor).

    Returns:
        ``module``, with ``<name>_g``, ``<name>_v`` parameters (state_dict keys as torch).

    Example:
        >>> m = nn.utils.weight_norm(nn.Linear(20, 40), name="weight")
        >>> m.weight_g.shape, m.weight_v.shape
        ((40, 1), (40, 20))

    Differences from PyTorch:
        The recomputed ``<name>`` is a non-persistent buffer (see the module docstring).
    """
    WeightNorm.apply(module, name, dim)
    return module


def remove_weight_norm(module: Module, name: str = "weight") -> Module:
    """Undo :func:`weight_norm`: ``<name>`` becomes a plain Parameter again holding the current
    ``g * v / ||v||`` (``torch.nn.utils.remove_weight_norm``).

    Example:
        >>> m = nn.utils.remove_weight_norm(nn.utils.weight_norm(nn.Linear(20, 40)))
    """
    for k, hook in module._forward_pre_hooks.items():
        if isinstance(hook, WeightNorm) and hook.name == name:
            hook.remove(module)
            del module._forward_pre_hooks[k]
            return module
    raise ValueError(f"weight_norm of '{name}' not found in {module}")
