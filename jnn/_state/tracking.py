"""Mutation tracking: one process-wide counter that every structural change advances.

``nn.jit`` caches what it learnt about the state reachable from its arguments (which arrays
are inputs, which facts are static). Re-checking all of it on every call would cost a walk of
the module tree; instead every *structural* change advances one counter, the epoch, and a
cached view is re-validated only when the epoch moved (``docs/design.md``, "Guards").

The containers jnn owns track themselves, so no call site has to remember to report a change:

* :class:`IdentityDict`: what a key holds is structure (a registry of Parameters or child
  modules, a dict of hooks): every change advances the epoch.
* :class:`ValueDict`: what a key holds is a value (buffers, an optimizer's per-parameter
  state): replacing the value of an existing key is not structural; adding or removing keys is.
* :class:`HookDict`: an ``OrderedDict`` of hooks (hooks may be prepended).
* :class:`TrackedList`: every change is structural (param groups, a group's ``params``).

``Module.__setattr__``, ``Optimizer.__setattr__``, ``Parameter.requires_grad`` and the param
groups report their own changes with :func:`note_change`.
"""
from __future__ import annotations

import itertools
from collections import OrderedDict
from typing import TYPE_CHECKING

__all__ = ["epoch", "note_change", "IdentityDict", "ValueDict", "PendingDict", "HookDict",
           "TrackedList"]

# ``next()`` on an itertools.count is atomic under the GIL, so concurrent changes from several
# threads each get a distinct value; a reader only ever compares epochs for equality.
_counter = itertools.count(1)
_epoch = 0


def epoch() -> int:
    """The current epoch: equal values mean no structural change happened in between."""
    return _epoch


def note_change() -> None:
    """Record a structural change (invalidates every cached view of the state)."""
    global _epoch
    _epoch = next(_counter)


if TYPE_CHECKING:  # a mixin over dict / OrderedDict: the type checker sees its dict base
    _DictBase = dict
else:
    _DictBase = object


class _NotifyingDict(_DictBase):
    """Mutators shared by the tracked dicts; ``_notify_set`` decides whether a set is structural."""

    __slots__ = ()

    def _notify_set(self, key) -> bool:  # pragma: no cover - overridden
        return True

    def __setitem__(self, key, value):
        structural = self._notify_set(key)
        super().__setitem__(key, value)
        if structural:
            note_change()

    def __delitem__(self, key):
        super().__delitem__(key)
        note_change()

    def pop(self, *args):
        value = super().pop(*args)
        note_change()
        return value

    def popitem(self, *args, **kwargs):
        item = super().popitem(*args, **kwargs)
        note_change()
        return item

    def clear(self):
        super().clear()
        note_change()

    def setdefault(self, key, default=None):
        if key in self:
            return self[key]
        self[key] = default
        return default

    def update(self, *args, **kwargs):
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def __ior__(self, other):  # type: ignore[misc]  # (dict's |= returns Self too)
        self.update(other)
        return self

    def __repr__(self) -> str:
        # Printed as the OrderedDict torch's registries were (``module._modules``).
        return f"OrderedDict({list(self.items())!r})" if self else "OrderedDict()"


class IdentityDict(_NotifyingDict, dict):
    """A dict whose every change is structural (parameter and child-module registries)."""

    __slots__ = ()


class ValueDict(_NotifyingDict, dict):
    """A dict of values: replacing an existing key's value is not structural."""

    __slots__ = ()

    def _notify_set(self, key) -> bool:
        return key not in self


class PendingDict(ValueDict):
    """A :class:`ValueDict` made ahead of its first update (an optimizer's state, created for
    a compiled step before any step ran). The first write of an update turns it into a plain
    ``ValueDict`` (:func:`write_value`); until then ``state_dict`` leaves it out, as torch's
    lazily created state would be absent."""

    __slots__ = ()


def write_value(container, key, value) -> None:
    """Write the new value of a slot (``container[key] = value``), fast for the dicts jnn
    owns, and marking a :class:`PendingDict` as started."""
    t = type(container)
    if t is dict or t is ValueDict:
        dict.__setitem__(container, key, value)  # a value for an existing key: not structural
    elif t is PendingDict:
        container.__class__ = ValueDict
        dict.__setitem__(container, key, value)
    else:
        container[key] = value


class HookDict(_NotifyingDict, OrderedDict):
    """An ordered dict of hooks; every change (including ``move_to_end``) is structural."""

    def move_to_end(self, key, last: bool = True):
        super().move_to_end(key, last)
        note_change()


class TrackedList(list):
    """A list whose every change is structural (``param_groups``, a group's ``params``)."""

    __slots__ = ()


def _tracked_list_method(name):
    base = getattr(list, name)

    def method(self, *args, **kwargs):
        result = base(self, *args, **kwargs)
        note_change()
        return result
    method.__name__ = name
    method.__doc__ = base.__doc__
    return method


for _name in ("append", "extend", "insert", "remove", "pop", "clear", "sort", "reverse",
              "__setitem__", "__delitem__", "__iadd__", "__imul__"):
    setattr(TrackedList, _name, _tracked_list_method(_name))
