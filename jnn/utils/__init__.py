"""``torch.nn.utils``: gradient clipping, parameter/vector conversion, weight and spectral
normalisation, parametrizations, pruning, fusion, and ``rnn`` (packed sequences)."""
from __future__ import annotations

import importlib

from . import rnn  # noqa: F401

_SUBMODULES = ("rnn", "parametrize", "parametrizations", "prune", "stateless", "fusion")
__all__: list = []


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'jnn.utils' has no attribute {name!r}")
