"""``Module``: torch's ``nn.Module`` API over JAX arrays.

A module keeps torch's three registries, ``_parameters`` (``Parameter`` boxes), ``_buffers``
(arrays) and ``_modules`` (children), filled by ``__setattr__`` exactly as torch does, and
implements the whole ``nn.Module`` API on them (traversal, ``state_dict``, hooks, ``train``,
``to`` ...).

A module takes part in jnn's state protocol (``jnn._state``, contract in ``docs/design.md``):

* its registries and hook dicts are self-tracking containers, and ``__setattr__`` reports
  every structural change (a new parameter, a replaced child, ``training``, a configuration
  attribute), so ``nn.jit`` never runs a program traced for a different structure;
* ``_jnn_collect_state`` lists its slots (parameters, buffers, arrays in plain attributes)
  and its static facts for ``nn.jit``'s structure signature;
* it is a pytree (``jnn.modules.pytree``), its plain attributes split by the same rule.

Global hooks and backward hooks live in ``jnn.modules.hooks``.
"""
from __future__ import annotations

import functools
import itertools
import warnings
from collections import OrderedDict, namedtuple
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._placement import gpu_device, parse_to
from .._state import HookDict, IdentityDict, RemovableHandle, ValueDict, add_hook, context
from .._state.collector import NestedArraySlot
from .._state.static import is_array as _is_data_array
from .._state.static import split as _split_arrays
from .._state.tracking import note_change
from ..parameter import Buffer, Parameter, _to_array, is_array
from .hooks import (
    any_global_call_hooks,
    call_with_backward_hooks,
    global_hooks,
    register_module_buffer_registration_hook,
    register_module_forward_hook,
    register_module_forward_pre_hook,
    register_module_full_backward_hook,
    register_module_full_backward_pre_hook,
    register_module_module_registration_hook,
    register_module_parameter_registration_hook,
)
from .pytree import PROTOCOL_NAMES, REGISTRY_NAMES, register_module_pytree

__all__ = [
    "Module", "RemovableHandle", "register_module_forward_pre_hook",
    "register_module_forward_hook", "register_module_full_backward_pre_hook",
    "register_module_full_backward_hook", "register_module_buffer_registration_hook",
    "register_module_parameter_registration_hook", "register_module_module_registration_hook",
]

_MISSING = object()
_REGISTRY_TYPES = {"_parameters": IdentityDict, "_buffers": ValueDict, "_modules": IdentityDict}


# -- load_state_dict result and error ---------------------------------------------------------

class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


class StateDictError(RuntimeError, KeyError):
    """``load_state_dict(strict=True)`` mismatch. A ``RuntimeError`` as in torch, and a
    ``KeyError`` since it is about keys."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class NameError_(KeyError):
    """A bad parameter/buffer/module name (a ``KeyError`` as in torch, printed unquoted)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def _addindent(s: str, num_spaces: int) -> str:
    lines = s.split("\n")
    if len(lines) == 1:
        return s
    first = lines.pop(0)
    return first + "\n" + "\n".join(" " * num_spaces + line for line in lines)


def _shape_of(value) -> tuple:
    return tuple(np.shape(value))


def _check_name(kind: str, name: Any, module: Module, registry: dict) -> None:
    if not isinstance(name, str):
        raise TypeError(f"{kind} name should be a string. Got {type(name).__name__}")
    if "." in name:
        raise NameError_(f'{kind} name can\'t contain ".", got {name!r}')
    if name == "":
        raise NameError_(f'{kind} name can\'t be empty string ""')
    if hasattr(module, name) and name not in registry:
        raise NameError_(f"attribute '{name}' already exists")


class Module:
    """Base class for all layers and models (``torch.nn.Module``).

    Subclass it, register parameters/buffers/children by assigning attributes in ``__init__``
    (after ``super().__init__()``), and define ``forward``. Call the module, not ``forward``,
    so that hooks run.

    Example:
        >>> class Net(nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.fc = nn.Linear(3, 4)
        ...     def forward(self, x):
        ...         return F.relu(self.fc(x))
    """

    # The registries, set through __dict__ in __init__ (contract in docs/design.md).
    # (Assigning a plain dict converts it; see __setattr__.)
    _parameters: dict[str, Any]
    _buffers: dict[str, Any]
    _modules: dict[str, Any]

    dump_patches = False
    _version = 1
    training: bool
    call_super_init = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        register_module_pytree(cls)

    def __init__(self, *args, **kwargs) -> None:
        if args or kwargs:
            raise TypeError(f"{type(self).__name__}.__init__() got unexpected arguments "
                            f"{args or ''}{kwargs or ''}")
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = IdentityDict()
        d["_buffers"] = ValueDict()
        d["_non_persistent_buffers_set"] = set()
        d["_modules"] = IdentityDict()
        for name in PROTOCOL_NAMES - {"_non_persistent_buffers_set"}:
            d[name] = HookDict()
        if context.jit_depth():
            d["_made_in_trace"] = True  # a temporary module built inside a traced step

    # -- forward and calling ------------------------------------------------------------------
    def forward(self, *args, **kwargs) -> Any:
        raise NotImplementedError(
            f'Module [{type(self).__name__}] is missing the required "forward" function')

    def __call__(self, *args, **kwargs):
        if (self._forward_pre_hooks or self._forward_hooks or self._backward_hooks
                or self._backward_pre_hooks or any_global_call_hooks()):
            return self._call_with_hooks(args, kwargs)
        return self.forward(*args, **kwargs)

    _call_impl = __call__

    def _call_with_hooks(self, args: tuple, kwargs: dict):
        for hook_id, hook in itertools.chain(global_hooks.forward_pre.items(),
                                             self._forward_pre_hooks.items()):
            if hook_id in self._forward_pre_hooks_with_kwargs:
                result = hook(self, args, kwargs)
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise RuntimeError("forward pre-hook must return None or a tuple of "
                                           f"(new_args, new_kwargs), but got {result!r}.")
                    args, kwargs = result
            else:
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)

        forward = self.forward
        if self._backward_hooks or self._backward_pre_hooks or global_hooks.backward \
                or global_hooks.backward_pre:
            forward = functools.partial(call_with_backward_hooks, self, self.forward)

        called = set()
        try:
            output = forward(*args, **kwargs)
            for hook_id, hook in itertools.chain(global_hooks.forward.items(),
                                                 self._forward_hooks.items()):
                called.add(hook_id)
                if hook_id in self._forward_hooks_with_kwargs or \
                        hook_id in global_hooks.forward_with_kwargs:
                    result = hook(self, args, kwargs, output)
                else:
                    result = hook(self, args, output)
                if result is not None:
                    output = result
            return output
        except Exception:
            for hook_id, hook in itertools.chain(global_hooks.forward.items(),
                                                 self._forward_hooks.items()):
                always = hook_id in self._forward_hooks_always_called or \
                    hook_id in global_hooks.forward_always_called
                if always and hook_id not in called:
                    try:
                        if hook_id in self._forward_hooks_with_kwargs:
                            hook(self, args, kwargs, None)
                        else:
                            hook(self, args, None)
                    except Exception as hook_error:  # torch warns and re-raises the original
                        warnings.warn(f"forward hook with always_call=True raised: {hook_error}",
                                      stacklevel=2)
            raise

    # -- attribute registration ---------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        d = self.__dict__
        if "_parameters" in d and name in d["_parameters"]:
            return d["_parameters"][name]
        if "_buffers" in d and name in d["_buffers"]:
            value = d["_buffers"][name]
            if isinstance(value, jax.core.Tracer):
                if context.wait_if_foreign():  # another thread's trace: read after it
                    return getattr(self, name)
            elif value is not None and context.jit_depth():
                self._check_reachable(f"buffer '{name}'", value)
            return value
        if "_modules" in d and name in d["_modules"]:
            return d["_modules"][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def _check_reachable(self, what: str, value) -> None:
        # As for Parameters (jnn.parameter._read): inside nn.jit, state of a module that is not
        # reachable from the arguments would be frozen into the program as a constant.
        rec = context.recorder()
        if rec is not None and id(self) not in rec.watched and \
                not self.__dict__.get("_made_in_trace"):
            raise RuntimeError(
                f"nn.jit: the function reads {what} (shape {tuple(np.shape(value))}) of a "
                f"{type(self).__name__} that is not reachable from its arguments, so its current "
                "value would be frozen into the compiled program. Pass the module as an argument.")

    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        rec = context.recorder()
        if rec is not None:
            rec.note_write(self, name, self._current_attr(name))
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            self._remove_from_registries(name, keep="_parameters")
            self.register_parameter(name, value)
            return
        if params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                                "(jnn.Parameter or None expected)")
            self.register_parameter(name, value)
            return
        modules = d.get("_modules")
        if isinstance(value, Module):
            if modules is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            self._remove_from_registries(name, keep="_modules")
            for hook in global_hooks.module_registration.values():
                out = hook(self, name, value)
                if out is not None:
                    value = out
            modules[name] = value
            return
        if modules is not None and name in modules:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as child module "
                                f"'{name}' (jnn.Module or None expected)")
            modules[name] = value
            return
        if isinstance(value, Buffer):
            self._remove_from_registries(name, keep="_buffers")
            self.register_buffer(name, value.data, persistent=value.persistent)
            return
        buffers = d.get("_buffers")
        if buffers is not None and name in buffers:
            if value is not None and not is_array(value):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                                "(jax.Array or None expected)")
            # A new value for an existing buffer is a value, not structure.
            buffers[name] = None if value is None else _to_array(value, f"buffer '{name}'")
            return
        if name in _REGISTRY_TYPES and not isinstance(value, _REGISTRY_TYPES[name]):
            value = _REGISTRY_TYPES[name](value)  # a registry rebuilt wholesale stays tracked
        old = d.get(name, _MISSING)
        object.__setattr__(self, name, value)
        # A plain attribute is configuration (part of what a trace depends on) unless it is an
        # array replacing an array: that is a new value of an input of the compiled program.
        if not (_is_data_array(value) and _is_data_array(old)):
            note_change()

    def _current_attr(self, name: str):
        d = self.__dict__
        for registry in REGISTRY_NAMES:
            reg = d.get(registry)
            if reg is not None and name in reg:
                return reg[name]
        return d.get(name, _MISSING)

    def _remove_from_registries(self, name: str, keep: str) -> None:
        d = self.__dict__
        if d.pop(name, _MISSING) is not _MISSING:
            note_change()
        for registry in REGISTRY_NAMES:
            if registry != keep and name in d.get(registry, {}):
                del d[registry][name]
        if keep != "_buffers":
            d.get("_non_persistent_buffers_set", set()).discard(name)

    def __delattr__(self, name: str) -> None:
        rec = context.recorder()
        if rec is not None:
            rec.note_write(self, name, self._current_attr(name))
        for registry in REGISTRY_NAMES:
            if name in self.__dict__.get(registry, {}):
                del self.__dict__[registry][name]
                self._non_persistent_buffers_set.discard(name)
                return
        object.__delattr__(self, name)
        note_change()

    def __dir__(self):
        keys = itertools.chain(dir(type(self)), self.__dict__, self._parameters, self._modules,
                               self._buffers)
        return sorted({k for k in keys if not k[0].isdigit()})

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (or ``None``) under ``name``."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        _check_name("parameter", name, self, self._parameters)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' object to parameter "
                            f"'{name}' (jnn.Parameter or None required)")
        for hook in global_hooks.parameter_registration.values():
            out = hook(self, name, param)
            if out is not None:
                param = out
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Any, persistent: bool = True) -> None:
        """Add a buffer (state that is not trained, e.g. BatchNorm's running mean).

        Non-persistent buffers are left out of ``state_dict``.
        """
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        _check_name("buffer", name, self, self._buffers)
        if tensor is not None:
            if isinstance(tensor, Parameter) or not is_array(tensor):
                raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer "
                                f"'{name}' (jax.Array or None required)")
            tensor = _to_array(tensor, f"buffer '{name}'")
        for hook in global_hooks.buffer_registration.values():
            out = hook(self, name, tensor)
            if out is not None:
                tensor = out
        rec = context.recorder()
        if rec is not None:
            rec.note_write(self, name, self._current_attr(name))
        self._buffers.pop(name, None)  # (re-)registering is structural even for a known name
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a child module under ``name`` (reachable as ``self.<name>``)."""
        if not isinstance(module, Module) and module is not None:
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        if not isinstance(name, str):
            raise TypeError(f"module name should be a string. Got {type(name).__name__}")
        if hasattr(self, name) and name not in self._modules:
            raise NameError_(f"attribute '{name}' already exists")
        if "." in name:
            raise NameError_(f'module name can\'t contain ".", got: {name}')
        if name == "":
            raise NameError_('module name can\'t be empty string ""')
        for hook in global_hooks.module_registration.values():
            out = hook(self, name, module)
            if out is not None:
                module = out
        self._modules[name] = module

    register_module = add_module

    def get_submodule(self, target: str) -> Module:
        if target == "":
            return self
        mod = self
        for item in target.split("."):
            if not hasattr(mod, item):
                raise AttributeError(f"{mod._get_name()} has no attribute `{item}`")
            mod = getattr(mod, item)
            if not isinstance(mod, Module):
                raise AttributeError(f"`{item}` is not an nn.Module")
        return mod

    def set_submodule(self, target: str, module: Module) -> None:
        if target == "":
            raise ValueError("set_submodule: target must be a non-empty path")
        *path, last = target.split(".")
        parent = self.get_submodule(".".join(path))
        if not isinstance(module, Module):
            raise TypeError(f"set_submodule: expected a Module, got {type(module).__name__}")
        setattr(parent, last, module)

    def get_parameter(self, target: str) -> Parameter:
        module_path, _, name = target.rpartition(".")
        mod = self.get_submodule(module_path)
        if not hasattr(mod, name):
            raise AttributeError(f"{mod._get_name()} has no attribute `{name}`")
        param = getattr(mod, name)
        if not isinstance(param, Parameter):
            raise AttributeError(f"`{name}` is not an nn.Parameter")
        return param

    def get_buffer(self, target: str):
        module_path, _, name = target.rpartition(".")
        mod = self.get_submodule(module_path)
        if not hasattr(mod, name):
            raise AttributeError(f"{mod._get_name()} has no attribute `{name}`")
        if name not in mod._buffers:
            raise AttributeError(f"`{name}` is not a buffer")
        return mod._buffers[name]

    def get_extra_state(self) -> Any:
        raise RuntimeError("Reached a code path in Module.get_extra_state() that should never be "
                           "called: override get_extra_state together with set_extra_state")

    def set_extra_state(self, state: Any) -> None:
        raise RuntimeError("Reached a code path in Module.set_extra_state() that should never be "
                           "called: override set_extra_state together with get_extra_state")

    def _has_extra_state(self) -> bool:
        return type(self).get_extra_state is not Module.get_extra_state

    # -- traversal ----------------------------------------------------------------------------
    def _named_members(self, get_members, prefix="", recurse=True, remove_duplicate=True):
        memo = set()
        modules = (self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
                   if recurse else [(prefix, self)])
        for module_prefix, module in modules:
            for k, v in get_members(module):
                if v is None or id(v) in memo:
                    continue
                if remove_duplicate:
                    memo.add(id(v))
                yield (module_prefix + ("." if module_prefix else "") + k), v

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        yield from self._named_members(lambda m: m._parameters.items(), prefix, recurse,
                                       remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[jax.Array]:
        for _, buf in self.named_buffers(recurse=recurse):
            yield buf

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, jax.Array]]:
        yield from self._named_members(lambda m: m._buffers.items(), prefix, recurse,
                                       remove_duplicate)

    def children(self) -> Iterator[Module]:
        for _, module in self.named_children():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        memo = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in memo:
                memo.add(id(module))
                yield name, module

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_modules(self, memo: set | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Module]]:
        if memo is None:
            memo = set()
        if id(self) in memo:
            return
        if remove_duplicate:
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            sub_prefix = prefix + ("." if prefix else "") + name
            yield from module.named_modules(memo, sub_prefix, remove_duplicate)

    # -- modes and gradients ------------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        if not isinstance(mode, bool):
            raise ValueError(f"training mode is expected to be boolean, got {type(mode).__name__}")
        for module in self.modules():
            module.training = mode
        return self

    def eval(self) -> Module:
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if set_to_none:
                # Set without looking: under nn.jit an incoming .grad that is never read is
                # not an input of the program (so the first call, with no grads yet, and the
                # later ones share one compilation).
                p.grad = None
            elif p.grad is not None:
                p.grad = jnp.zeros_like(p.grad)

    def apply(self, fn: Callable[[Module], None]) -> Module:
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # -- dtype and device ---------------------------------------------------------------------
    def _apply(self, fn: Callable[[jax.Array], jax.Array], recurse: bool = True) -> Module:
        if recurse:
            for module in self.children():
                module._apply(fn)
        for p in self._parameters.values():
            if p is not None:
                p._data = fn(p._data)
                if p.grad is not None:
                    p.grad = fn(p.grad)
        for k, b in self._buffers.items():
            if b is not None:
                self._buffers[k] = fn(b)
        return self

    def to(self, *args, **kwargs) -> Module:
        """Cast floating parameters/buffers to ``dtype`` and/or move everything to ``device``.

        Accepts ``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(array)`` and the
        keywords ``device=``, ``dtype=``, ``non_blocking=`` (ignored) like torch.
        """
        device, dtype = parse_to(*args, **kwargs)
        if dtype is not None and not jnp.issubdtype(dtype, jnp.inexact):
            raise TypeError(f"nn.Module.to only accepts floating point or complex dtypes, but "
                            f"got desired dtype={dtype}")

        def convert(a):
            if dtype is not None and jnp.issubdtype(a.dtype, jnp.floating):
                a = a.astype(dtype)
            if device is not None:
                a = jax.device_put(a, device)
            return a
        out = self._apply(convert)
        note_change()  # placement is static for compiled programs (hyper-parameter scalars)
        return out

    def _cast_floating(self, dtype) -> Module:
        return self.to(dtype=dtype)

    def float(self) -> Module:
        return self._cast_floating(jnp.float32)

    def double(self) -> Module:
        return self._cast_floating(jnp.float64)

    def half(self) -> Module:
        return self._cast_floating(jnp.float16)

    def bfloat16(self) -> Module:
        return self._cast_floating(jnp.bfloat16)

    def type(self, dst_type) -> Module:
        dst_type = jnp.dtype(dst_type)
        return self._apply(lambda a: a.astype(dst_type))

    def cpu(self) -> Module:
        return self.to(device=jax.devices("cpu")[0])

    def cuda(self, device: int | None = None) -> Module:
        return self.to(device=gpu_device(device))

    def share_memory(self) -> Module:
        return self

    # -- state_dict ---------------------------------------------------------------------------
    def _save_to_state_dict(self, destination: dict, prefix: str, keep_vars: bool) -> None:
        for name, param in self._parameters.items():
            if param is not None:
                destination[prefix + name] = param if keep_vars else param._data
        for name, buf in self._buffers.items():
            if buf is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = buf
        if self._has_extra_state():
            destination[prefix + "_extra_state"] = self.get_extra_state()

    def state_dict(self, *args, destination=None, prefix: str = "", keep_vars: bool = False):
        """Parameters and persistent buffers by dotted name (``torch``'s keys and layouts)."""
        if args:  # torch's deprecated positional form: (destination, prefix, keep_vars)
            destination = args[0]
            prefix = args[1] if len(args) > 1 else prefix
            keep_vars = args[2] if len(args) > 2 else keep_vars
        if destination is None:
            destination = OrderedDict()
        for hook in self._state_dict_pre_hooks.values():
            hook(self, prefix, keep_vars)
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination=destination, prefix=prefix + name + ".",
                                  keep_vars=keep_vars)
        for hook in self._state_dict_hooks.values():
            result = hook(self, destination, prefix, {})
            if result is not None:
                destination = result
        return destination

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs, assign=False) -> None:
        for hook in self._load_state_dict_pre_hooks.values():
            hook(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                 error_msgs)
        persistent = {k: v for k, v in self._buffers.items()
                      if k not in self._non_persistent_buffers_set}
        local_state = {k: v for k, v in itertools.chain(self._parameters.items(),
                                                        persistent.items()) if v is not None}
        for name, current in local_state.items():
            key = prefix + name
            if key not in state_dict:
                if strict:
                    missing_keys.append(key)
                continue
            value = state_dict[key]
            try:
                value = _to_array(value, key)
            except TypeError:
                error_msgs.append(f'While copying the parameter named "{key}", expected an array '
                                  f"from checkpoint but received {type(value).__name__}")
                continue
            if _shape_of(value) != _shape_of(current):
                error_msgs.append(f"size mismatch for {key}: copying a param with shape "
                                  f"{_shape_of(value)} from checkpoint, the shape in current "
                                  f"model is {_shape_of(current)}.")
                continue
            if not assign:
                value = jnp.asarray(value, dtype=jnp.asarray(current).dtype)
            if name in self._parameters:
                self._parameters[name]._data = value
            else:
                self._buffers[name] = value
        extra_key = prefix + "_extra_state"
        if self._has_extra_state():
            if extra_key in state_dict:
                self.set_extra_state(state_dict[extra_key])
            elif strict:
                missing_keys.append(extra_key)
        if strict:
            for key in state_dict:
                if not key.startswith(prefix) or key == extra_key:
                    continue
                head, *rest = key[len(prefix):].split(".", 1)
                if rest:
                    if head not in self._modules:
                        unexpected_keys.append(key)
                elif head not in local_state:
                    unexpected_keys.append(key)

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True,
                        assign: bool = False) -> _IncompatibleKeys:
        """Copy parameters and buffers from ``state_dict`` (arrays, numpy or torch tensors).

        With ``strict=True`` (default) one error lists every missing key, every unexpected key
        and every shape mismatch. Returns ``(missing_keys, unexpected_keys)``.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError("Expected state_dict to be dict-like, got "
                            f"{type(state_dict).__name__}.")
        missing: list[str] = []
        unexpected: list[str] = []
        errors: list[str] = []

        def load(module: Module, local: dict, prefix: str) -> None:
            module._load_from_state_dict(local, prefix, {}, True, missing, unexpected, errors,
                                         assign)
            for name, child in module._modules.items():
                if child is not None:
                    child_prefix = prefix + name + "."
                    load(child, {k: v for k, v in local.items() if k.startswith(child_prefix)},
                         child_prefix)
            incompatible = _IncompatibleKeys(missing, unexpected)
            for hook in module._load_state_dict_post_hooks.values():
                hook(module, incompatible)

        load(self, dict(state_dict), "")
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: {}. ".format(
                    ", ".join(f'"{k}"' for k in unexpected)))
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: {}. ".format(
                    ", ".join(f'"{k}"' for k in missing)))
        if errors:
            raise StateDictError("Error(s) in loading state_dict for {}:\n\t{}".format(
                type(self).__name__, "\n\t".join(errors)))
        return _IncompatibleKeys(missing, unexpected)

    def register_state_dict_pre_hook(self, hook: Callable) -> RemovableHandle:
        return add_hook(self._state_dict_pre_hooks, hook)

    def register_state_dict_post_hook(self, hook: Callable) -> RemovableHandle:
        return add_hook(self._state_dict_hooks, hook)

    _register_state_dict_hook = register_state_dict_post_hook

    def register_load_state_dict_pre_hook(self, hook: Callable) -> RemovableHandle:
        def adapted(state_dict, prefix, *rest):
            return hook(self, state_dict, prefix, *rest)
        return add_hook(self._load_state_dict_pre_hooks, adapted, False)

    _register_load_state_dict_pre_hook = register_load_state_dict_pre_hook

    def register_load_state_dict_post_hook(self, hook: Callable) -> RemovableHandle:
        return add_hook(self._load_state_dict_post_hooks, hook)

    # -- hooks --------------------------------------------------------------------------------
    def register_forward_pre_hook(self, hook: Callable, *, prepend: bool = False,
                                  with_kwargs: bool = False) -> RemovableHandle:
        """``hook(module, args) -> None | new_args`` (or ``(module, args, kwargs)`` with kwargs)."""
        handle = add_hook(self._forward_pre_hooks, hook, prepend,
                          extra=[self._forward_pre_hooks_with_kwargs])
        if with_kwargs:
            self._forward_pre_hooks_with_kwargs[handle.id] = True
        return handle

    def register_forward_hook(self, hook: Callable, *, prepend: bool = False,
                              with_kwargs: bool = False,
                              always_call: bool = False) -> RemovableHandle:
        """``hook(module, args, output) -> None | new_output``.

        Under ``nn.jit`` hooks run while tracing: keep values by returning them from the
        jitted function, not by storing tracers.
        """
        handle = add_hook(self._forward_hooks, hook, prepend,
                          extra=[self._forward_hooks_with_kwargs,
                                 self._forward_hooks_always_called])
        if with_kwargs:
            self._forward_hooks_with_kwargs[handle.id] = True
        if always_call:
            self._forward_hooks_always_called[handle.id] = True
        return handle

    def register_full_backward_pre_hook(self, hook: Callable,
                                        prepend: bool = False) -> RemovableHandle:
        """``hook(module, grad_output) -> None | new_grad_output`` during differentiation."""
        return add_hook(self._backward_pre_hooks, hook, prepend)

    def register_full_backward_hook(self, hook: Callable,
                                    prepend: bool = False) -> RemovableHandle:
        """``hook(module, grad_input, grad_output) -> None | new_grad_input``.

        Implemented with ``jax.custom_vjp`` around the call, so it fires inside
        ``nn.grad``/``jax.grad`` (at trace time under ``jit``).
        """
        return add_hook(self._backward_hooks, hook, prepend)

    def register_backward_hook(self, hook: Callable) -> RemovableHandle:
        warnings.warn("register_backward_hook is deprecated; it behaves as "
                      "register_full_backward_hook in jnn", FutureWarning, stacklevel=2)
        return self.register_full_backward_hook(hook)

    # -- text ---------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def _get_name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({key}): " + _addindent(repr(module), 2)
                       for key, module in self._modules.items()]
        lines = extra_lines + child_lines
        main = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                main += extra_lines[0]
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"

    # -- copying and pickling -----------------------------------------------------------------
    def __getstate__(self):
        return self.__dict__.copy()

    def __setstate__(self, state):
        d = self.__dict__
        d.update(state)
        # Checkpoints pickled before the registries were self-tracking hold plain dicts.
        for name, cls in _REGISTRY_TYPES.items():
            if name in d and not isinstance(d[name], cls):
                d[name] = cls(d[name])
        for name in PROTOCOL_NAMES - {"_non_persistent_buffers_set"}:
            if name in d and not isinstance(d[name], HookDict):
                d[name] = HookDict(d[name])

    # -- the state protocol (jnn._state; contract in docs/design.md) --------------------------
    _jnn_stateful = True

    def _jnn_collect_state(self, collector) -> None:
        """Slots: parameters (through their own protocol), buffers and the arrays in plain
        attributes. Signature: the facts a trace depends on that are not values: the class,
        ``training``, registry keys, which objects are shared, hooks, which attributes hold
        arrays. (Plain non-array attributes are guarded by what a trace reads of them.)"""
        d = self.__dict__
        collector.watched.append(self)
        params = tuple((name, None if p is None else collector.visit_child(p))
                       for name, p in d["_parameters"].items())
        buffers = d["_buffers"]
        for name in buffers:
            collector.add(buffers, name, "buffer")
        array_attrs = []
        for name, value in d.items():
            if name in REGISTRY_NAMES or name in PROTOCOL_NAMES:
                continue
            if _is_data_array(value):
                collector.add(d, name, "attr")
                array_attrs.append((name, None))
            elif type(value) in (list, tuple, dict):
                leaves, template = _split_arrays(value)
                if leaves:
                    collector.add(NestedArraySlot(d, name, template), 0, "attr")
                    array_attrs.append((name, template.static_key()))
        collector.signature.append((
            "m", type(self), d["training"], params, tuple(buffers), tuple(array_attrs),
            tuple(tuple(d[name].items()) for name in _CALL_HOOK_NAMES)))
        children = tuple((name, None if m is None else collector.visit_child(m))
                         for name, m in d["_modules"].items())
        collector.signature.append(("children", children))


_CALL_HOOK_NAMES = ("_forward_pre_hooks", "_forward_pre_hooks_with_kwargs", "_forward_hooks",
                    "_forward_hooks_with_kwargs", "_forward_hooks_always_called",
                    "_backward_pre_hooks", "_backward_hooks")
register_module_pytree(Module)


