"""``torch.nn.utils.skip_init``: build a module without running its initialisation."""
from __future__ import annotations

import inspect

import jax.numpy as jnp

from ..modules.module import Module
from ..random import fork_rng

__all__ = ["skip_init"]


def skip_init(module_cls: type[Module], *args, **kwargs) -> Module:
    """Instantiate ``module_cls(*args, **kwargs)`` with uninitialised parameters and buffers
    (``torch.nn.utils.skip_init``).

    Like torch, the class must accept a ``device`` argument.

    Differences from PyTorch:
        JAX has no meta device and no uninitialised memory: the module is built normally on a
        forked random stream (so the global stream does not advance, as no initialisation
        happened), then every parameter and buffer is replaced by ``jnp.empty`` of the same
        shape and dtype (zeros in JAX). The initialisation work itself is not skipped.

    Example:
        >>> m = nn.utils.skip_init(nn.Linear, 5, 1)
        >>> m.weight.shape
        (1, 5)
    """
    if not (isinstance(module_cls, type) and issubclass(module_cls, Module)):
        raise RuntimeError(f"Expected a Module; got {module_cls}")
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    final_device = kwargs.pop("device", None)
    kwargs["device"] = final_device
    with fork_rng():
        module = module_cls(*args, **kwargs)
    module._apply(lambda a: jnp.empty(a.shape, a.dtype))
    return module
