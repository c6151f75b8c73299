"""The pytree bridge: every ``Module`` is a JAX pytree.

Flattening a module gives its arrays as leaves: parameters (each a ``Parameter`` node),
buffers and child modules in registration order, then the arrays held in plain attributes
(directly or inside lists, tuples and dicts). Everything else is the aux data, split by the
same rule ``nn.jit`` uses (``jnn._state.static``): the class, the registry keys, the hooks and
every other attribute's static value. Aux data compare by value, so ``jax.jit`` over two
modules of the same structure reuses one program, and over modules that differ in any static
fact (a hook, a flag, ``training``) traces again.

Unflattening builds a new module from the aux data alone and gives it fresh copies of every
mutable container (hook dicts, lists, dicts, namespaces): a pytree copy
(``jax.tree.map(f, m)``) shares no mutable state with its original, so registering a hook on
the copy leaves the original alone. Objects jnn cannot copy (opaque user objects) are shared.
"""
from __future__ import annotations

import jax

from .._state.static import Template, TooLarge, freeze, is_array, rebuild, split
from .._state.tracking import IdentityDict, ValueDict

__all__ = ["register_module_pytree", "REGISTRY_NAMES", "PROTOCOL_NAMES"]

REGISTRY_NAMES = ("_parameters", "_buffers", "_modules")
# Containers every module owns besides its registries: copied (not shared) by unflatten.
PROTOCOL_NAMES = frozenset({
    "_non_persistent_buffers_set", "_forward_pre_hooks", "_forward_pre_hooks_with_kwargs",
    "_forward_hooks", "_forward_hooks_with_kwargs", "_forward_hooks_always_called",
    "_backward_pre_hooks", "_backward_hooks", "_state_dict_hooks", "_state_dict_pre_hooks",
    "_load_state_dict_pre_hooks", "_load_state_dict_post_hooks",
})
_LEAF = split(jax.numpy.zeros(()))[1]


def _static_key(value):
    try:
        return freeze(value)[0]
    except TooLarge:
        return ("id", id(value))


class ModuleTreeDef:
    """Aux data of a flattened module (compares by value; holds no arrays)."""

    __slots__ = ("cls", "param_keys", "buffer_keys", "module_keys", "protocol", "static_attrs",
                 "array_attrs", "_key")

    def __init__(self, module):
        d = module.__dict__
        self.cls = type(module)
        self.param_keys = tuple(d["_parameters"])
        self.buffer_keys = tuple(d["_buffers"])
        self.module_keys = tuple(d["_modules"])
        protocol, static_attrs, array_attrs = [], [], []
        for name, value in d.items():
            if name in REGISTRY_NAMES:
                continue
            if name in PROTOCOL_NAMES:
                protocol.append((name, value))
            elif is_array(value):
                array_attrs.append((name, _LEAF))
            elif type(value) in (list, tuple, dict):
                leaves, template = split(value)
                if leaves:
                    array_attrs.append((name, template))
                else:
                    static_attrs.append((name, value))
            else:
                static_attrs.append((name, value))
        self.protocol = tuple(protocol)
        self.static_attrs = tuple(static_attrs)
        self.array_attrs = tuple(array_attrs)
        self._key = (self.cls, self.param_keys, self.buffer_keys, self.module_keys,
                     tuple((n, _static_key(v)) for n, v in protocol),
                     tuple((n, _static_key(v)) for n, v in static_attrs),
                     tuple((n, t.static_key()) for n, t in array_attrs))

    def array_leaves(self, module) -> list:
        d = module.__dict__
        leaves = []
        for name, template in self.array_attrs:
            if template is _LEAF:
                leaves.append(d[name])
            else:
                leaves.extend(split(d[name])[0])
        return leaves

    def __eq__(self, other):
        return isinstance(other, ModuleTreeDef) and self._key == other._key

    def __hash__(self):
        return hash(self._key)

    def __repr__(self):
        return f"ModuleTreeDef({self.cls.__name__})"


def _flatten(module):
    d = module.__dict__
    treedef = ModuleTreeDef(module)
    children = [*d["_parameters"].values(), *d["_buffers"].values(), *d["_modules"].values(),
                *treedef.array_leaves(module)]
    return children, treedef


def _flatten_with_keys(module):
    children, treedef = _flatten(module)
    names = [*treedef.param_keys, *treedef.buffer_keys, *treedef.module_keys]
    for name, template in treedef.array_attrs:
        names.extend([name] if template is _LEAF else
                     [f"{name}[{i}]" for i in range(template.num_leaves)])
    return [(jax.tree_util.GetAttrKey(n), c) for n, c in zip(names, children)], treedef


def _unflatten(treedef: ModuleTreeDef, children):
    module = object.__new__(treedef.cls)
    d = module.__dict__
    for name, value in treedef.protocol:
        d[name] = type(value)(value)
    for name, value in treedef.static_attrs:
        d[name] = rebuild(Template("atom", value=value), iter(()), fresh=True)
    it = iter(children)
    d["_parameters"] = IdentityDict((k, next(it)) for k in treedef.param_keys)
    d["_buffers"] = ValueDict((k, next(it)) for k in treedef.buffer_keys)
    d["_modules"] = IdentityDict((k, next(it)) for k in treedef.module_keys)
    for name, template in treedef.array_attrs:
        d[name] = rebuild(template, it, fresh=True)
    return module


def register_module_pytree(cls) -> None:
    """Register a Module subclass as a pytree (``Module.__init_subclass__`` calls this)."""
    jax.tree_util.register_pytree_with_keys(cls, _flatten_with_keys, _unflatten, _flatten)
