"""``Module``: torch's ``nn.Module`` API over JAX arrays, and a pytree.

A module keeps torch's three registries, ``_parameters`` (``Parameter`` boxes), ``_buffers``
(arrays) and ``_modules`` (children), filled by ``__setattr__`` exactly as torch does, and
implements the whole ``nn.Module`` API on them (traversal, ``state_dict``, hooks, ``train``,
``to`` ...).

Every subclass is also registered as a JAX pytree: its leaves are the parameter and buffer
arrays in ``state_dict`` order and its aux data is the static structure, so ``jax.jit``,
``jax.grad``, ``jax.vmap`` and ``jax.tree.map`` accept a module and return a new one.

Any change of structure (registering or removing a parameter, buffer, child or hook, switching
``train``/``eval``, changing a configuration attribute) bumps a global version number. ``nn.jit``
uses it to know when its cached view of the reachable state must be rebuilt; the per-call path
never walks the module tree.
"""
from __future__ import annotations

import functools
import itertools
import warnings
from collections import OrderedDict, namedtuple
from typing import Any, Callable, Iterator, Mapping, Optional

import jax
import jax.numpy as jnp
import numpy as np

from ..parameter import Buffer, Parameter, _to_array, is_array

__all__ = [
    "Module", "RemovableHandle", "register_module_forward_pre_hook",
    "register_module_forward_hook", "register_module_full_backward_pre_hook",
    "register_module_full_backward_hook", "register_module_buffer_registration_hook",
    "register_module_parameter_registration_hook", "register_module_module_registration_hook",
]


# -- structure version ------------------------------------------------------------------------

class _StructureVersion:
    """A global counter bumped by every structural change to any module or optimizer."""
    value = 0


def bump_structure_version() -> None:
    _StructureVersion.value += 1


def structure_version() -> int:
    return _StructureVersion.value


# -- hooks ------------------------------------------------------------------------------------

class RemovableHandle:
    """A handle that removes the hook it was returned for (``torch.utils.hooks.RemovableHandle``)."""

    _next_id = 0

    def __init__(self, hooks_dict: dict, *, extra_dict=None):
        self.hooks_dict_ref = hooks_dict
        self.id = RemovableHandle._next_id
        RemovableHandle._next_id += 1
        self.extra_dict_ref = [] if extra_dict is None else (
            extra_dict if isinstance(extra_dict, list) else [extra_dict])

    def remove(self) -> None:
        for d in (self.hooks_dict_ref, *self.extra_dict_ref):
            if d is not None and self.id in d:
                del d[self.id]
        bump_structure_version()

    def __enter__(self) -> "RemovableHandle":
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


def _add_hook(hooks: dict, hook: Callable, prepend: bool, extra=None) -> RemovableHandle:
    if not callable(hook):
        raise TypeError(f"hook: expected a callable, got {type(hook).__name__}")
    handle = RemovableHandle(hooks, extra_dict=extra)
    hooks[handle.id] = hook
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    bump_structure_version()
    return handle


_global_forward_pre_hooks: OrderedDict = OrderedDict()
_global_forward_hooks: OrderedDict = OrderedDict()
_global_forward_hooks_always_called: OrderedDict = OrderedDict()
_global_forward_hooks_with_kwargs: OrderedDict = OrderedDict()
_global_backward_pre_hooks: OrderedDict = OrderedDict()
_global_backward_hooks: OrderedDict = OrderedDict()
_global_buffer_registration_hooks: OrderedDict = OrderedDict()
_global_parameter_registration_hooks: OrderedDict = OrderedDict()
_global_module_registration_hooks: OrderedDict = OrderedDict()


def _any_global_call_hooks() -> bool:
    return bool(_global_forward_pre_hooks or _global_forward_hooks or _global_backward_pre_hooks
                or _global_backward_hooks)


def register_module_forward_pre_hook(hook: Callable) -> RemovableHandle:
    """A forward pre-hook run for every module, before the module's own pre-hooks."""
    return _add_hook(_global_forward_pre_hooks, hook, False)


def register_module_forward_hook(hook: Callable, *, with_kwargs: bool = False,
                                 always_call: bool = False) -> RemovableHandle:
    """A forward hook run for every module, before the module's own forward hooks."""
    handle = _add_hook(_global_forward_hooks, hook, False,
                       extra=[_global_forward_hooks_always_called,
                              _global_forward_hooks_with_kwargs])
    if with_kwargs:
        _global_forward_hooks_with_kwargs[handle.id] = True
    if always_call:
        _global_forward_hooks_always_called[handle.id] = True
    return handle


def register_module_full_backward_pre_hook(hook: Callable) -> RemovableHandle:
    return _add_hook(_global_backward_pre_hooks, hook, False)


def register_module_full_backward_hook(hook: Callable) -> RemovableHandle:
    return _add_hook(_global_backward_hooks, hook, False)


def register_module_buffer_registration_hook(hook: Callable) -> RemovableHandle:
    return _add_hook(_global_buffer_registration_hooks, hook, False)


def register_module_parameter_registration_hook(hook: Callable) -> RemovableHandle:
    return _add_hook(_global_parameter_registration_hooks, hook, False)


def register_module_module_registration_hook(hook: Callable) -> RemovableHandle:
    return _add_hook(_global_module_registration_hooks, hook, False)


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


def _check_name(kind: str, name: Any, module: "Module", registry: dict) -> None:
    if not isinstance(name, str):
        raise TypeError(f"{kind} name should be a string. Got {type(name).__name__}")
    if "." in name:
        raise NameError_(f'{kind} name can\'t contain ".", got {name!r}')
    if name == "":
        raise NameError_(f'{kind} name can\'t be empty string ""')
    if hasattr(module, name) and name not in registry:
        raise NameError_(f"attribute '{name}' already exists")


_CONFIG_TYPES = (int, float, str, bool, type(None), tuple)


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

    dump_patches = False
    _version = 1
    training: bool
    call_super_init = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _register_pytree(cls)

    def __init__(self, *args, **kwargs):
        if args or kwargs:
            raise TypeError(f"{type(self).__name__}.__init__() got unexpected arguments "
                            f"{args or ''}{kwargs or ''}")
        sa = object.__setattr__
        sa(self, "training", True)
        sa(self, "_parameters", OrderedDict())
        sa(self, "_buffers", OrderedDict())
        sa(self, "_non_persistent_buffers_set", set())
        sa(self, "_modules", OrderedDict())
        sa(self, "_forward_pre_hooks", OrderedDict())
        sa(self, "_forward_pre_hooks_with_kwargs", OrderedDict())
        sa(self, "_forward_hooks", OrderedDict())
        sa(self, "_forward_hooks_with_kwargs", OrderedDict())
        sa(self, "_forward_hooks_always_called", OrderedDict())
        sa(self, "_backward_pre_hooks", OrderedDict())
        sa(self, "_backward_hooks", OrderedDict())
        sa(self, "_state_dict_hooks", OrderedDict())
        sa(self, "_state_dict_pre_hooks", OrderedDict())
        sa(self, "_load_state_dict_pre_hooks", OrderedDict())
        sa(self, "_load_state_dict_post_hooks", OrderedDict())
        bump_structure_version()

    # -- forward and calling ------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(
            f'Module [{type(self).__name__}] is missing the required "forward" function')

    def __call__(self, *args, **kwargs):
        if (self._forward_pre_hooks or self._forward_hooks or self._backward_hooks
                or self._backward_pre_hooks or _any_global_call_hooks()):
            return self._call_with_hooks(args, kwargs)
        return self.forward(*args, **kwargs)

    _call_impl = __call__

    def _call_with_hooks(self, args: tuple, kwargs: dict):
        for hook_id, hook in itertools.chain(_global_forward_pre_hooks.items(),
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
        if self._backward_hooks or self._backward_pre_hooks or _global_backward_hooks \
                or _global_backward_pre_hooks:
            forward = functools.partial(_call_with_backward_hooks, self, self.forward)

        called = set()
        try:
            output = forward(*args, **kwargs)
            for hook_id, hook in itertools.chain(_global_forward_hooks.items(),
                                                 self._forward_hooks.items()):
                called.add(hook_id)
                if hook_id in self._forward_hooks_with_kwargs or \
                        hook_id in _global_forward_hooks_with_kwargs:
                    result = hook(self, args, kwargs, output)
                else:
                    result = hook(self, args, output)
                if result is not None:
                    output = result
            return output
        except Exception:
            for hook_id, hook in itertools.chain(_global_forward_hooks.items(),
                                                 self._forward_hooks.items()):
                always = hook_id in self._forward_hooks_always_called or \
                    hook_id in _global_forward_hooks_always_called
                if always and hook_id not in called:
                    try:
                        if hook_id in self._forward_hooks_with_kwargs:
                            hook(self, args, kwargs, None)
                        else:
                            hook(self, args, None)
                    except Exception as hook_error:  # torch warns and re-raises the original
                        warnings.warn(f"forward hook with always_call=True raised: {hook_error}")
            raise

    # -- attribute registration ---------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        d = self.__dict__
        if "_parameters" in d and name in d["_parameters"]:
            return d["_parameters"][name]
        if "_buffers" in d and name in d["_buffers"]:
            return d["_buffers"][name]
        if "_modules" in d and name in d["_modules"]:
            return d["_modules"][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
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
            for hook in _global_module_registration_hooks.values():
                out = hook(self, name, value)
                if out is not None:
                    value = out
            modules[name] = value
            bump_structure_version()
            return
        if modules is not None and name in modules:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as child module "
                                f"'{name}' (jnn.Module or None expected)")
            modules[name] = value
            bump_structure_version()
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
            if (value is None) != (buffers[name] is None):
                bump_structure_version()
            buffers[name] = None if value is None else _to_array(value, f"buffer '{name}'")
            return
        object.__setattr__(self, name, value)
        bump_structure_version()  # training flags and configuration are part of compile keys

    def _remove_from_registries(self, name: str, keep: str) -> None:
        d = self.__dict__
        d.pop(name, None)
        for registry in ("_parameters", "_buffers", "_modules"):
            if registry != keep and name in d.get(registry, {}):
                del d[registry][name]
        if keep != "_buffers":
            d.get("_non_persistent_buffers_set", set()).discard(name)

    def __delattr__(self, name: str) -> None:
        for registry in ("_parameters", "_buffers", "_modules"):
            if name in self.__dict__.get(registry, {}):
                del self.__dict__[registry][name]
                self._non_persistent_buffers_set.discard(name)
                bump_structure_version()
                return
        object.__delattr__(self, name)
        bump_structure_version()

    def __dir__(self):
        keys = itertools.chain(dir(type(self)), self.__dict__, self._parameters, self._modules,
                               self._buffers)
        return sorted({k for k in keys if not k[0].isdigit()})

    def register_parameter(self, name: str, param: Optional[Parameter]) -> None:
        """Add a parameter (or ``None``) under ``name``."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        _check_name("parameter", name, self, self._parameters)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' object to parameter "
                            f"'{name}' (jnn.Parameter or None required)")
        for hook in _global_parameter_registration_hooks.values():
            out = hook(self, name, param)
            if out is not None:
                param = out
        self._parameters[name] = param
        bump_structure_version()

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
        for hook in _global_buffer_registration_hooks.values():
            out = hook(self, name, tensor)
            if out is not None:
                tensor = out
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)
        bump_structure_version()

    def add_module(self, name: str, module: Optional["Module"]) -> None:
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
        for hook in _global_module_registration_hooks.values():
            out = hook(self, name, module)
            if out is not None:
                module = out
        self._modules[name] = module
        bump_structure_version()

    register_module = add_module

    def get_submodule(self, target: str) -> "Module":
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

    def set_submodule(self, target: str, module: "Module") -> None:
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

    def children(self) -> Iterator["Module"]:
        for _, module in self.named_children():
            yield module

    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        memo = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in memo:
                memo.add(id(module))
                yield name, module

    def modules(self) -> Iterator["Module"]:
        for _, module in self.named_modules():
            yield module

    def named_modules(self, memo: Optional[set] = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, "Module"]]:
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
    def train(self, mode: bool = True) -> "Module":
        if not isinstance(mode, bool):
            raise ValueError(f"training mode is expected to be boolean, got {type(mode).__name__}")
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        bump_structure_version()
        return self

    def eval(self) -> "Module":
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        bump_structure_version()
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if p.grad is not None:
                p.grad = None if set_to_none else jnp.zeros_like(p.grad)

    def apply(self, fn: Callable[["Module"], None]) -> "Module":
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # -- dtype and device ---------------------------------------------------------------------
    def _apply(self, fn: Callable[[jax.Array], jax.Array], recurse: bool = True) -> "Module":
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

    def to(self, *args, **kwargs) -> "Module":
        """Cast floating parameters/buffers to ``dtype`` and/or move everything to ``device``.

        Accepts ``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(array)`` and the
        keywords ``device=``, ``dtype=``, ``non_blocking=`` (ignored) like torch.
        """
        device, dtype = _parse_to(*args, **kwargs)
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
        bump_structure_version()
        return out

    def _cast_floating(self, dtype) -> "Module":
        return self.to(dtype=dtype)

    def float(self) -> "Module":
        return self._cast_floating(jnp.float32)

    def double(self) -> "Module":
        return self._cast_floating(jnp.float64)

    def half(self) -> "Module":
        return self._cast_floating(jnp.float16)

    def bfloat16(self) -> "Module":
        return self._cast_floating(jnp.bfloat16)

    def type(self, dst_type) -> "Module":
        dst_type = jnp.dtype(dst_type)
        return self._apply(lambda a: a.astype(dst_type))

    def cpu(self) -> "Module":
        return self.to(device=jax.devices("cpu")[0])

    def cuda(self, device: Optional[int] = None) -> "Module":
        return self.to(device=_gpu_device(device))

    def share_memory(self) -> "Module":
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
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict).__name__}.")
        missing, unexpected, errors = [], [], []

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
        return _add_hook(self._state_dict_pre_hooks, hook, False)

    def register_state_dict_post_hook(self, hook: Callable) -> RemovableHandle:
        return _add_hook(self._state_dict_hooks, hook, False)

    _register_state_dict_hook = register_state_dict_post_hook

    def register_load_state_dict_pre_hook(self, hook: Callable) -> RemovableHandle:
        def adapted(state_dict, prefix, *rest):
            return hook(self, state_dict, prefix, *rest)
        return _add_hook(self._load_state_dict_pre_hooks, adapted, False)

    _register_load_state_dict_pre_hook = register_load_state_dict_pre_hook

    def register_load_state_dict_post_hook(self, hook: Callable) -> RemovableHandle:
        return _add_hook(self._load_state_dict_post_hooks, hook, False)

    # -- hooks --------------------------------------------------------------------------------
    def register_forward_pre_hook(self, hook: Callable, *, prepend: bool = False,
                                  with_kwargs: bool = False) -> RemovableHandle:
        """``hook(module, args) -> None | new_args`` (or ``(module, args, kwargs)`` with kwargs)."""
        handle = _add_hook(self._forward_pre_hooks, hook, prepend,
                           extra=self._forward_pre_hooks_with_kwargs)
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
        handle = _add_hook(self._forward_hooks, hook, prepend,
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
        return _add_hook(self._backward_pre_hooks, hook, prepend)

    def register_full_backward_hook(self, hook: Callable,
                                    prepend: bool = False) -> RemovableHandle:
        """``hook(module, grad_input, grad_output) -> None | new_grad_input``.

        Implemented with ``jax.custom_vjp`` around the call, so it fires inside
        ``nn.grad``/``jax.grad`` (at trace time under ``jit``).
        """
        return _add_hook(self._backward_hooks, hook, prepend)

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
        self.__dict__.update(state)
        bump_structure_version()


def _gpu_device(index: Optional[int]):
    try:
        gpus = jax.devices("gpu")
    except RuntimeError:
        gpus = []
    if not gpus:
        raise RuntimeError("cuda(): JAX has no GPU backend in this process (devices: "
                           f"{jax.devices()}); install jax with CUDA support, e.g. "
                           "'pip install jax[cuda12]'")
    index = 0 if index is None else int(getattr(index, "index", index) or 0)
    if index >= len(gpus):
        raise ValueError(f"cuda(): device index {index} out of range, {len(gpus)} GPU(s) visible")
    return gpus[index]


def _parse_device(device):
    if device is None or isinstance(device, jax.Device):
        return device
    if isinstance(device, int):
        return _gpu_device(device)
    text = str(device)
    kind, _, index = text.partition(":")
    if kind == "cpu":
        return jax.devices("cpu")[int(index or 0)]
    if kind in ("cuda", "gpu"):
        return _gpu_device(int(index) if index else None)
    if kind == "tpu":
        return jax.devices("tpu")[int(index or 0)]
    raise ValueError(f"to(): expected a device like 'cpu', 'cuda:0' or a jax.Device, got {device!r}")


def _parse_dtype(dtype):
    if dtype is None:
        return None
    if type(dtype).__module__.startswith("torch"):  # torch.float64 -> "float64"
        dtype = str(dtype).replace("torch.", "")
    return jnp.dtype(dtype)


def _looks_like_dtype(value) -> bool:
    if is_array(value) or isinstance(value, jax.Device):
        return False
    try:
        _parse_dtype(value)
        return True
    except (TypeError, ValueError):
        return False


def _parse_to(*args, **kwargs):
    device, dtype = kwargs.pop("device", None), kwargs.pop("dtype", None)
    kwargs.pop("non_blocking", None)
    kwargs.pop("copy", None)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    for arg in args:
        if isinstance(arg, bool):
            continue  # non_blocking passed positionally
        if is_array(arg) or isinstance(arg, Parameter):
            dtype = jnp.asarray(arg).dtype
            device = getattr(arg, "device", None) if isinstance(arg, jax.Array) else device
        elif _looks_like_dtype(arg):
            dtype = arg
        else:
            device = arg
    return _parse_device(device), _parse_dtype(dtype)


# -- backward hooks via custom_vjp ------------------------------------------------------------

def _is_inexact_array(x) -> bool:
    return isinstance(x, jax.Array) and jnp.issubdtype(x.dtype, jnp.inexact)


def _call_with_backward_hooks(module: Module, forward: Callable, *args, **kwargs):
    """Run ``forward`` so that differentiation fires the module's backward (pre-)hooks.

    Two identity functions with custom VJPs bracket the call: the one on the outputs sees
    ``grad_output`` first (backward pre-hooks may replace it), the one on the inputs then sees
    ``grad_input`` and runs the full backward hooks, whose return value replaces it.
    """
    diff_idx = [i for i, a in enumerate(args) if _is_inexact_array(jnp.asarray(a)
                                                                  if isinstance(a, Parameter) else a)]
    stash: dict = {}
    pre_hooks = list(itertools.chain(_global_backward_pre_hooks.values(),
                                     module._backward_pre_hooks.values()))
    hooks = list(itertools.chain(_global_backward_hooks.values(), module._backward_hooks.values()))

    def run_full_hooks(grad_input: tuple) -> tuple:
        grad_output = stash.get("grad_output", ())
        for hook in hooks:
            result = hook(module, grad_input, grad_output)
            if result is not None:
                result = tuple(result) if isinstance(result, (tuple, list)) else (result,)
                if len(result) != len(grad_input):
                    raise RuntimeError(f"backward hook returned {len(result)} gradients, expected "
                                       f"{len(grad_input)}")
                grad_input = result
        return grad_input

    @jax.custom_vjp
    def enter(*xs):
        return xs

    def enter_bwd(_, grads):
        return tuple(run_full_hooks(tuple(grads)))

    enter.defvjp(lambda *xs: (xs, None), enter_bwd)

    @jax.custom_vjp
    def leave(*ys):
        return ys

    def leave_bwd(_, grads):
        grads = tuple(grads)
        for hook in pre_hooks:
            result = hook(module, grads)
            if result is not None:
                grads = tuple(result) if isinstance(result, (tuple, list)) else (result,)
        stash["grad_output"] = grads
        if not diff_idx:
            run_full_hooks((None,))
        return grads

    leave.defvjp(lambda *ys: (ys, None), leave_bwd)

    args = list(args)
    if diff_idx:
        entered = enter(*[jnp.asarray(args[i]) for i in diff_idx])
        for i, x in zip(diff_idx, entered):
            args[i] = x
    out = forward(*args, **kwargs)
    leaves, treedef = jax.tree_util.tree_flatten(out)
    out_idx = [i for i, leaf in enumerate(leaves) if _is_inexact_array(leaf)]
    if out_idx:
        left = leave(*[leaves[i] for i in out_idx])
        for i, y in zip(out_idx, left):
            leaves[i] = y
    return jax.tree_util.tree_unflatten(treedef, leaves)


# -- the pytree bridge ------------------------------------------------------------------------

class _ModuleStructure:
    """Aux data of a flattened module: its class, registry keys and static configuration.

    Equality is structural (two ``Linear(3, 4)`` in train mode are equal), so ``jax.jit``
    does not retrace for a new module of the same structure.
    """

    __slots__ = ("cls", "param_keys", "buffer_keys", "module_keys", "static", "template")

    def __init__(self, module: Module):
        d = module.__dict__
        self.cls = type(module)
        self.param_keys = tuple(d["_parameters"])
        self.buffer_keys = tuple(d["_buffers"])
        self.module_keys = tuple(d["_modules"])
        self.static = (tuple(p.requires_grad if p is not None else None
                             for p in d["_parameters"].values()),
                       _config_signature(module))
        self.template = module

    def _key(self):
        return (self.cls, self.param_keys, self.buffer_keys, self.module_keys, self.static)

    def __eq__(self, other):
        return isinstance(other, _ModuleStructure) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())


def _config_signature(module: Module) -> tuple:
    """The hashable configuration of one module: ``training`` and plain public attributes."""
    items = []
    for k, v in module.__dict__.items():
        if k[0] == "_" or not isinstance(v, _CONFIG_TYPES):
            continue
        try:
            hash(v)
        except TypeError:
            continue
        items.append((k, v))
    return tuple(items)


def _flatten_module(module: Module):
    d = module.__dict__
    children = [*d["_parameters"].values(), *d["_buffers"].values(), *d["_modules"].values()]
    return children, _ModuleStructure(module)


def _flatten_module_with_keys(module: Module):
    d = module.__dict__
    children = [(jax.tree_util.GetAttrKey(k), v) for registry in ("_parameters", "_buffers",
                                                                  "_modules")
                for k, v in d[registry].items()]
    return children, _ModuleStructure(module)


def _unflatten_module(structure: _ModuleStructure, children) -> Module:
    module = object.__new__(structure.cls)
    d = module.__dict__
    d.update(structure.template.__dict__)
    it = iter(children)
    d["_parameters"] = OrderedDict((k, next(it)) for k in structure.param_keys)
    d["_buffers"] = OrderedDict((k, next(it)) for k in structure.buffer_keys)
    d["_modules"] = OrderedDict((k, next(it)) for k in structure.module_keys)
    return module


def _register_pytree(cls) -> None:
    jax.tree_util.register_pytree_with_keys(cls, _flatten_module_with_keys, _unflatten_module,
                                            _flatten_module)


_register_pytree(Module)


# -- state discovery for nn.jit / nn.value_and_grad -------------------------------------------

def _collect_module_state(self: Module, collector) -> None:
    for _, module in self.named_modules():
        d = module.__dict__
        collector.signature.append((type(module), module.training,
                                    tuple(d["_parameters"]), tuple(d["_buffers"]),
                                    tuple(d["_modules"]), _config_signature(module),
                                    tuple(d["_forward_pre_hooks"]), tuple(d["_forward_hooks"]),
                                    tuple(d["_backward_hooks"]),
                                    tuple(d["_backward_pre_hooks"])))
        for p in d["_parameters"].values():
            if p is not None:
                collector.add_parameter(p)
        buffers = d["_buffers"]
        for name in buffers:
            collector.add(buffers, name, kind="buffer")


Module._jnn_stateful = True
Module._jnn_collect_state = _collect_module_state
