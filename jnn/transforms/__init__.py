"""Transforms connecting jnn's stateful objects to JAX's pure world.

* :mod:`.jit`: ``nn.jit``, one XLA program per step with torch's in-place state semantics,
  guarded so that it stays exactly the eager step (``docs/design.md``, "The nn.jit contract");
* :mod:`.grad`: ``nn.value_and_grad`` / ``nn.grad`` and the ``Grads`` mapping;
* :mod:`.functional_call`: ``nn.functional_call`` (``torch.func.functional_call``);
* :mod:`.channels_last`: the CPU rewrite ``nn.jit`` applies to steps with 2-d convolutions
  (activations channels-last inside the program, torch's layouts outside).
"""
from .functional_call import functional_call
from .grad import Grads, grad, value_and_grad
from .jit import Jit, JitRecompileWarning, jit

__all__ = ["jit", "Jit", "JitRecompileWarning", "grad", "value_and_grad", "functional_call",
           "Grads"]
