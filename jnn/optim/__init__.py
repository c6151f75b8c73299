"""``torch.optim`` on jnn Parameters: the ``Optimizer`` base, optimizers and ``lr_scheduler``."""
from __future__ import annotations

from . import optimizer as _optimizer
from . import sgd as _sgd
from .optimizer import Optimizer, required  # noqa: F401
from .sgd import SGD  # noqa: F401

__all__ = ["Optimizer", "SGD"]
