"""Finding the state reachable from function arguments: slots and the structure signature.

jnn keeps state in mutable places: a ``Parameter`` box's array, a module's buffer dict and
array attributes, an optimizer's per-parameter state, a random stream's key. Transforms that
must be pure (``nn.jit``, ``nn.value_and_grad``, ``nn.pmap``) gather these places once as
*slots*, pairs ``(container, key)`` read as ``container[key]``, de-duplicated by identity (an
optimizer and its model share their parameters). Reading and writing the state is then a flat
loop over the slots with no tree walk.

While it walks, the collector also writes down the *structure signature*: every static fact
about the objects that the slot layout and the traced program depend on (module types,
training flags, registry keys, ``requires_grad`` flags, hooks, param-group options and
membership, optimizer-state keys, which attributes hold arrays). Two calls whose objects have
equal signatures can share a compiled program.

An object takes part by setting the class attribute ``_jnn_stateful = True`` and defining
``_jnn_collect_state(collector)``; ``Parameter``, ``Module``, ``Optimizer`` and ``Generator``
do so in their own class bodies.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .static import Template, is_stateful, rebuild, split

__all__ = ["StateCollector", "collect", "NestedArraySlot", "StaleStateError"]


class StaleStateError(Exception):
    """A slot no longer matches the structure it was collected with (re-collect)."""


class NestedArraySlot:
    """A slot container for the arrays inside a list/tuple/dict attribute (``self.masks =
    [a, b]``): ``slot[0]`` is the tuple of those arrays, and setting it rebuilds the value.

    Reading re-splits the attribute, so it also checks that the static part (the other
    elements, the keys) is still what the slot was collected with; if not, it raises
    :class:`StaleStateError` and the caller collects again.
    """

    __slots__ = ("owner", "name", "template", "key", "last")

    def __init__(self, owner: dict, name: str, template: Template):
        self.owner = owner
        self.name = name
        self.template = template
        self.key = template.static_key()
        self.last: tuple = ()

    def __getitem__(self, _index):
        leaf_list, template = split(self.owner.get(self.name))
        leaves = tuple(leaf_list)
        if len(leaves) == len(self.last) and all(a is b for a, b in zip(leaves, self.last)):
            return self.last  # unchanged since the last write: the same object
        if template.static_key() != self.key:
            raise StaleStateError(self.name)
        return leaves

    def __setitem__(self, _index, leaves) -> None:
        self.last = tuple(leaves)
        self.owner[self.name] = rebuild(self.template, iter(self.last))


class StateCollector:
    """Accumulates the slots and the structure signature of everything it visits.

    Attributes:
        containers, keys, kinds, writable: the slots, in discovery order. ``kinds`` are
            ``"param"``, ``"grad"``, ``"buffer"``, ``"attr"`` (an array in a plain attribute),
            ``"rng"``, ``"optim"`` (optimizer state) and ``"hyper"`` (a numeric
            hyper-parameter: an input of the program, written back only if the step sets it).
        objects: every stateful object visited, in discovery order (its index is its
            *position*: calls whose objects have equal signatures share positions).
        params: the Parameters whose value is a slot, in discovery order.
        watched: objects and containers whose changes during a trace are side effects of
            the trace (modules, optimizers, param groups, ``params`` lists).
        volatile: ``(container, snapshot_fn, snapshot)`` for containers jnn does not own that
            the structure depends on, to be re-checked on every call.
    """

    def __init__(self):
        self.containers: list = []
        self.keys: list = []
        self.kinds: list = []
        self.writable: list = []
        self.signature: list = []
        self.objects: list = []
        self.positions: dict = {}
        self.params: list = []
        self.watched: list = []
        self.volatile: list = []
        self._slot_index: dict = {}

    # -- slots ---------------------------------------------------------------------------------
    def add(self, container: Any, key: Any, kind: str, *, writable: bool = True) -> int:
        """Add the slot ``container[key]`` (once) and return its index."""
        ident = (id(container), key)
        index = self._slot_index.get(ident)
        if index is not None:
            return index
        index = len(self.containers)
        self._slot_index[ident] = index
        self.containers.append(container)
        self.keys.append(key)
        self.kinds.append(kind)
        self.writable.append(writable)
        return index

    def slots(self) -> list:
        return list(zip(self.containers, self.keys))

    # -- objects -------------------------------------------------------------------------------
    def first_visit(self, obj: Any) -> bool:
        """Register ``obj`` (giving it the next position); False if it was seen already."""
        if id(obj) in self.positions:
            return False
        self.positions[id(obj)] = len(self.objects)
        self.objects.append(obj)
        return True

    def position(self, obj: Any) -> int:
        """The position of a visited object (its identity, made independent of the call)."""
        return self.positions[id(obj)]

    def visit(self, obj: Any) -> None:
        """Visit a stateful object, or the stateful objects inside a list/tuple/dict."""
        if is_stateful(obj):
            if self.first_visit(obj):
                obj._jnn_collect_state(self)
        elif isinstance(obj, (list, tuple)):
            for item in obj:
                self.visit(item)
        elif isinstance(obj, dict):
            for item in obj.values():
                self.visit(item)

    def visit_child(self, obj: Any) -> int:
        """Visit ``obj`` and return its position (for signatures that name shared objects)."""
        self.visit(obj)
        return self.positions[id(obj)]

    # -- the signature -------------------------------------------------------------------------
    def structure(self) -> tuple:
        """The hashable structure signature of everything collected."""
        return (tuple(self.signature), tuple(self.kinds), tuple(self.writable))


def collect(objects: Iterable[Any], extra: Iterable[Any] = ()) -> StateCollector:
    """Gather the slots reachable from ``objects``, then from ``extra`` (e.g. the global
    random stream, which every transform threads through)."""
    collector = StateCollector()
    for obj in objects:
        collector.visit(obj)
    for obj in extra:
        collector.visit(obj)
    return collector
