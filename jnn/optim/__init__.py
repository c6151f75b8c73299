"""``torch.optim`` on jnn Parameters: the ``Optimizer`` base, optimizers and ``lr_scheduler``.

Every optimizer keeps torch's name, signature, defaults, validation messages, state keys and
numbers; ``state_dict()`` has torch's structure, so optimizer checkpoints load both ways.
All but :class:`LBFGS` compile into an ``nn.jit`` training step (``opt.step(grads)``), with
the numeric hyper-parameters as program inputs (schedulers change them without recompiling).
"""
from __future__ import annotations

from . import lr_scheduler  # noqa: F401
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam
from .adamax import Adamax
from .adamw import AdamW
from .asgd import ASGD
from .lbfgs import LBFGS
from .nadam import NAdam
from .optimizer import Optimizer, required  # noqa: F401
from .radam import RAdam
from .rmsprop import RMSprop
from .rprop import Rprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "Adamax", "NAdam", "RAdam", "Adagrad",
           "Adadelta", "RMSprop", "Rprop", "ASGD", "LBFGS", "lr_scheduler"]
