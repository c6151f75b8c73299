"""jnn's state protocol: how the transforms see and guard mutable state.

``docs/design.md`` ("State and nn.jit") is the contract; this package is its one home:

* :mod:`.tracking`: the mutation epoch and the self-tracking containers (registries, hooks,
  param groups, optimizer state) that advance it;
* :mod:`.static`: what is static and what is an array leaf, for ``nn.jit`` and the pytree
  bridge alike;
* :mod:`.collector`: slots and the structure signature of the reachable state;
* :mod:`.context`: the state lock, trace ownership across threads, and the trace recorder
  that turns attribute reads into guards;
* :mod:`.hooks`: hook handles shared by modules and optimizers;
* :mod:`.tracing`: which JAX transformation is active (eager, autodiff, batched, staged).

``Parameter``, ``Module``, ``Optimizer`` and ``Generator`` implement the protocol
(``_jnn_stateful`` and ``_jnn_collect_state``) in their own class bodies.
"""
from .collector import StateCollector, collect
from .hooks import RemovableHandle, add_hook
from .static import is_stateful
from .tracking import HookDict, IdentityDict, TrackedList, ValueDict, epoch, note_change

__all__ = ["StateCollector", "collect", "RemovableHandle", "add_hook", "is_stateful",
           "HookDict", "IdentityDict", "TrackedList", "ValueDict", "epoch", "note_change"]
