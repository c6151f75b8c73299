"""``device=`` / ``dtype=`` factory keywords that every torch layer constructor accepts."""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .module import _parse_device, _parse_dtype


def parse_dtype(dtype):
    """A numpy dtype from a torch dtype, a name (``"float32"``) or a jnp/numpy type; None stays."""
    return _parse_dtype(dtype)


def parse_device(device):
    """A ``jax.Device`` from ``"cpu"``, ``"cuda:0"``, an int or a ``jax.Device``; None stays."""
    return _parse_device(device)


def factory_dtype(dtype=None):
    """The floating dtype new parameters get (torch's default: float32)."""
    dtype = _parse_dtype(dtype)
    return jnp.float32 if dtype is None else dtype


def place(module, device=None):
    """Move a freshly built module to ``device`` when one was requested."""
    if device is not None and str(device) != "cpu":
        module.to(device=_parse_device(device))
    return module


# Constructors build arrays on the host: jnp.zeros/ones/empty compile one XLA program per new
# shape, which made building a model like ResNet-34 cost seconds of compilation.
def empty(shape, dtype=None):
    """A zero-filled array for a parameter that ``reset_parameters`` will overwrite."""
    return zeros(shape, dtype)


def zeros(shape, dtype=None):
    return jnp.asarray(np.zeros(shape, np.dtype(factory_dtype(dtype))))


def ones(shape, dtype=None):
    return jnp.asarray(np.ones(shape, np.dtype(factory_dtype(dtype))))
