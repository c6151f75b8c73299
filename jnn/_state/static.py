"""What is static: the one definition shared by ``nn.jit`` and the pytree bridge.

A module's plain attributes (everything that is not a parameter, buffer or child module) are
split the same way everywhere (``docs/design.md``, "What is static"):

* arrays (``jax.Array``, ``numpy.ndarray``), also inside lists, tuples and dicts, are *leaves*:
  inputs of a compiled program, never constants baked into it;
* everything else is *static*: part of the compile key. :func:`freeze` turns a static value
  into a hashable key that compares by value (``1``, ``1.0`` and ``True`` differ, ``-0.0`` and
  ``0.0`` differ, ``nan`` equals ``nan``), descending into lists, tuples, dicts, sets and plain
  objects (dataclasses, ``SimpleNamespace``, instances of classes without their own ``__eq__``);
  functions, classes and other objects compare by identity.

A frozen value is *volatile* when it holds something that can change in place (a list, a dict,
a set, a plain object): such a value must be re-checked on every call, since no
``__setattr__`` sees ``cfg["t"] = 0.5`` or ``mults[0] = 3``. Immutable values can only change
by assignment, which the module reports (``jnn._state.tracking``).
"""
from __future__ import annotations

import copy
import dataclasses
import types
from collections.abc import Iterator
from typing import Any

import jax
import numpy as np

__all__ = ["is_array", "is_stateful", "freeze", "split", "rebuild", "Template", "TooLarge",
           "FREEZE_BUDGET"]

# A frozen key past this many nodes is not built: the value is compared by identity instead
# (and nn.jit says so once), so a huge object graph never costs a per-call walk.
FREEZE_BUDGET = 4096


class TooLarge(Exception):
    """A value too large to freeze within ``FREEZE_BUDGET`` nodes."""


def is_array(value: Any) -> bool:
    """Arrays that are data: ``jax.Array`` (tracers included) and ``numpy.ndarray``."""
    return isinstance(value, (jax.Array, np.ndarray))


def is_stateful(value: Any) -> bool:
    """jnn's state-holding objects (modules, optimizers, parameters, generators)."""
    return getattr(type(value), "_jnn_stateful", False)


_ATOMS = (type(None), bool, int, str, bytes, complex, range, slice, type(Ellipsis),
          type(NotImplemented))
_IDENTITY = (types.FunctionType, types.BuiltinFunctionType, types.BuiltinMethodType,
             types.ModuleType, type, types.MethodWrapperType, types.WrapperDescriptorType)


def _has_value_equality(t: type) -> bool:
    return t.__eq__ is not object.__eq__ and t.__hash__ is not None


class _Freezer:
    __slots__ = ("budget", "volatile", "active")

    def __init__(self, budget: int):
        self.budget = budget
        self.volatile = False
        self.active: set = set()  # ids on the current path (cycles)

    def __call__(self, v: Any):
        self.budget -= 1
        if self.budget < 0:
            raise TooLarge
        t = type(v)
        if t is float:
            return (float, v.hex())
        if t in _ATOMS:
            return (t, v)
        if isinstance(v, (jax.Array, np.ndarray)):
            # Arrays are leaves wherever jnn can see them; one met here (inside an object
            # nn.jit does not split) is a constant, compared by identity.
            return ("array", id(v), tuple(np.shape(v)), str(v.dtype))
        if isinstance(v, np.generic):
            return (t, v.tobytes())
        if isinstance(v, np.dtype):
            return (np.dtype, v.str)
        if is_stateful(v) or isinstance(v, _IDENTITY):
            return ("id", id(v))
        if isinstance(v, types.MethodType):
            return ("method", id(v.__self__), v.__func__)
        if id(v) in self.active:
            return ("cycle", id(v))
        if isinstance(v, (tuple, list)):
            if isinstance(v, list):
                self.volatile = True
            return self._nested(v, lambda: (t, tuple(self(x) for x in v)))
        if isinstance(v, dict):
            self.volatile = True
            return self._nested(v, lambda: (t, tuple((self(k), self(x)) for k, x in v.items())))
        if isinstance(v, (set, frozenset)):
            self.volatile = self.volatile or isinstance(v, set)
            return (t, frozenset(self(x) for x in v))
        if isinstance(v, bytearray):
            self.volatile = True
            return (t, bytes(v))
        if _has_value_equality(t) and not hasattr(v, "__dict__"):
            return (t, v)  # enums, devices, shardings, named tuples of atoms ...
        attrs = getattr(v, "__dict__", None)
        if attrs is not None and not callable(v):
            self.volatile = True
            return self._nested(v, lambda: (t, tuple((k, self(x)) for k, x in attrs.items())))
        if _has_value_equality(t):
            return (t, v)
        return ("id", id(v))

    def _nested(self, v, build):
        self.active.add(id(v))
        try:
            return build()
        finally:
            self.active.discard(id(v))


def freeze(value: Any, budget: int = FREEZE_BUDGET) -> tuple[Any, bool]:
    """``(key, volatile)``: a hashable key equal for equal static values, and whether the value
    can change in place. Raises :class:`TooLarge` past ``budget`` nodes."""
    freezer = _Freezer(budget)
    key = freezer(value)
    return key, freezer.volatile


# -- splitting values into array leaves and a static template ---------------------------------

class Template:
    """The static part of a value whose arrays were taken out as leaves.

    ``kind`` is ``"leaf"`` (an array), ``"atom"`` (a static value, kept by reference),
    ``"seq"`` (list/tuple, ``children`` in order) or ``"map"`` (dict, ``keys`` + ``children``).
    """

    __slots__ = ("kind", "type", "value", "keys", "children", "num_leaves")

    def __init__(self, kind, type_=None, value=None, keys=(), children=()):
        self.kind = kind
        self.type = type_
        self.value = value
        self.keys = keys
        self.children = children
        self.num_leaves = 1 if kind == "leaf" else sum(c.num_leaves for c in children)

    def static_key(self):
        """A hashable key of everything but the leaves (see :func:`freeze`)."""
        if self.kind == "leaf":
            return ("leaf",)
        if self.kind == "atom":
            return freeze(self.value)[0]
        keys = tuple(freeze(k)[0] for k in self.keys)
        return (self.kind, self.type, keys, tuple(c.static_key() for c in self.children))


_LEAF = Template("leaf")


def split(value: Any) -> tuple[list, Template]:
    """Take the arrays out of ``value`` (through lists, tuples and dicts):
    ``(leaves, template)``."""
    leaves: list = []
    template = _split(value, leaves, set())
    return leaves, template


def _split(v, leaves: list, active: set) -> Template:
    if isinstance(v, (jax.Array, np.ndarray)):
        leaves.append(v)
        return _LEAF
    t = type(v)
    if (t is list or t is tuple or (isinstance(v, tuple) and hasattr(v, "_fields"))) \
            and id(v) not in active:
        active.add(id(v))
        children = tuple(_split(x, leaves, active) for x in v)
        active.discard(id(v))
        if any(c.kind != "atom" for c in children):
            return Template("seq", t, children=children)
    elif t is dict and id(v) not in active:
        active.add(id(v))
        children = tuple(_split(x, leaves, active) for x in v.values())
        active.discard(id(v))
        if any(c.kind != "atom" for c in children):
            return Template("map", t, keys=tuple(v), children=children)
    return Template("atom", value=v)


def rebuild(template: Template, leaves: Iterator, *, fresh: bool = False) -> Any:
    """The value of ``template`` with ``leaves`` put back (an iterator, consumed in order).

    With ``fresh=True`` plain mutable data (lists, dicts, sets, dataclasses, namespaces) is
    copied, so the result shares nothing mutable with the value the template came from.
    """
    kind = template.kind
    if kind == "leaf":
        return next(leaves)
    if kind == "atom":
        return _fresh_copy(template.value) if fresh else template.value
    children = [rebuild(c, leaves, fresh=fresh) for c in template.children]
    if kind == "map":
        return dict(zip(template.keys, children))
    t = template.type
    if t is list:
        return children
    if t is tuple:
        return tuple(children)
    return t(*children)  # a named tuple


def _fresh_copy(value: Any, memo: dict | None = None) -> Any:
    """Copy plain mutable data (lists, dicts, sets, namespaces, dataclasses) recursively; share
    everything else (modules, arrays, functions, opaque objects)."""
    memo = {} if memo is None else memo
    found = memo.get(id(value))
    if found is not None:
        return found
    t = type(value)
    if t is list:
        new_list: list = []
        memo[id(value)] = new_list
        new_list.extend(_fresh_copy(x, memo) for x in value)
        return new_list
    if t is dict:
        new_dict: dict = {}
        memo[id(value)] = new_dict
        new_dict.update((k, _fresh_copy(x, memo)) for k, x in value.items())
        return new_dict
    if t is set or t is bytearray:
        return t(value)
    if t is types.SimpleNamespace or (dataclasses.is_dataclass(value) and
                                      not isinstance(value, type)):
        new = memo[id(value)] = copy.copy(value)
        for k, x in vars(value).items():
            object.__setattr__(new, k, _fresh_copy(x, memo))
        return new
    return value
