"""Finding the mutable state reachable from function arguments.

jnn's objects keep state in mutable places: a ``Parameter`` box's array, a module's buffer
dict, an optimizer's per-parameter state, a random stream's key. Transforms that must be pure
(``nn.jit``, ``nn.value_and_grad``, ``nn.pmap``) gather these places once as *slots*, pairs
``(container, key)`` read as ``container[key]``, de-duplicated by identity so an optimizer and
its model share their parameters. Reading and writing a list of slots is then a flat loop with
no tree walk.

An object takes part by setting the class attribute ``_jnn_stateful = True`` and defining
``_jnn_collect_state(collector)`` (modules, parameters and generators are built in).
"""
from __future__ import annotations

from typing import Any, Iterable

from .parameter import Parameter
from .random import Generator, default_generator


class StateCollector:
    """Accumulates slots and the static signature of everything it visits."""

    def __init__(self):
        self.containers: list = []
        self.keys: list = []
        self.writable: list = []
        self.kinds: list = []  # "param", "grad", "buffer", "rng", "optim", "hyper"
        self.signature: list = []
        self._seen_slots: dict = {}
        self._seen_objects: set = set()
        # Parameters whose value slot is in the list, in discovery order (for Grads / pmap).
        self.params: list = []

    def add(self, container: Any, key: Any, *, writable: bool = True, kind: str = "state") -> int:
        ident = (id(container), key)
        index = self._seen_slots.get(ident)
        if index is not None:
            return index
        index = len(self.containers)
        self._seen_slots[ident] = index
        self.containers.append(container)
        self.keys.append(key)
        self.writable.append(writable)
        self.kinds.append(kind)
        return index

    def first_visit(self, obj: Any) -> bool:
        if id(obj) in self._seen_objects:
            return False
        self._seen_objects.add(id(obj))
        return True

    def add_parameter(self, p: Parameter) -> None:
        if not self.first_visit(p):
            return
        self.params.append(p)
        self.add(p.__dict__, "_data", kind="param")
        self.add(p.__dict__, "grad", kind="grad")
        self.signature.append(("p", p.requires_grad))

    def visit(self, obj: Any) -> None:
        if isinstance(obj, Parameter):
            self.add_parameter(obj)
        elif getattr(type(obj), "_jnn_stateful", False):
            if self.first_visit(obj):
                obj._jnn_collect_state(self)
        elif isinstance(obj, (list, tuple)):
            for item in obj:
                self.visit(item)
        elif isinstance(obj, dict):
            for item in obj.values():
                self.visit(item)

    def add_generator(self, gen: Generator) -> None:
        if self.first_visit(gen):
            gen._current_key()  # materialise the key outside any trace
            self.add(gen.__dict__, "key", kind="rng")

    def slots(self) -> tuple:
        return list(zip(self.containers, self.keys))


def collect(objects: Iterable[Any]) -> StateCollector:
    """Gather the slots reachable from ``objects``, plus the global random stream."""
    collector = StateCollector()
    for obj in objects:
        collector.visit(obj)
    collector.add_generator(default_generator)
    return collector


def is_stateful(obj: Any) -> bool:
    return isinstance(obj, Parameter) or getattr(type(obj), "_jnn_stateful", False)


def _collect_generator(self: Generator, collector: StateCollector) -> None:
    collector.add_generator(self)


Generator._jnn_stateful = True
Generator._jnn_collect_state = _collect_generator
