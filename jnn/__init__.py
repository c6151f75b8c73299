"""jnn: PyTorch's ``torch.nn`` toolbox re-made on JAX.

    import jnn as nn                 # torch.nn
    import jnn.functional as F       # torch.nn.functional
    from jnn import init, optim      # torch.nn.init, torch.optim
"""
from __future__ import annotations

from . import (
                     amp,
                     distributed,
                     func,
                     functional,
                     init,
                     optim,
                     parallel,
                     random,
                     serialization,
                     tensor_functions,
                     utils,
)
from .amp import GradScaler, autocast
from .distributed import fully_shard
from .func import vmap
from .modules import *  # noqa: F401,F403
from .modules import __all__ as _modules_all
from .parallel import DataParallel, pmap
from .parameter import Buffer, Parameter, UninitializedBuffer, UninitializedParameter
from .random import (
                     Generator,
                     bernoulli,
                     fork_rng,
                     get_rng_state,
                     initial_seed,
                     manual_seed,
                     multinomial,
                     normal,
                     rand,
                     rand_like,
                     randint,
                     randint_like,
                     randn,
                     randn_like,
                     randperm,
                     seed,
                     set_rng_state,
)
from .serialization import load, save
from .summary import summary
from .tensor_functions import *  # noqa: F401,F403  (torch.zeros, torch.cat, torch.no_grad ...)
from .tensor_functions import __all__ as _tensor_functions_all
from .transforms import Grads, JitRecompileWarning, functional_call, grad, jit, value_and_grad

__version__ = "0.1.0.dev0"

__all__ = [
    *_modules_all, "Parameter", "Buffer", "UninitializedParameter", "UninitializedBuffer",
    "functional", "init", "random", "Generator", "manual_seed", "seed", "initial_seed",
    "get_rng_state", "set_rng_state", "fork_rng", "randn", "rand", "randint", "randperm", "normal",
    "bernoulli", "multinomial", "randn_like", "rand_like", "randint_like",
    "jit", "grad", "value_and_grad", "functional_call", "Grads", "JitRecompileWarning", "pmap",
    "parallel", "distributed", "fully_shard", "DataParallel", "amp", "autocast", "GradScaler",
    "func", "vmap", "optim", "utils", "serialization", "save", "load", "summary",
    "tensor_functions",
    *_tensor_functions_all,
]

