"""Module hooks that are not one module's own: the global registries and backward hooks.

* Global hooks (``register_module_forward_hook`` ...) run for every module, before the
  module's own hooks, as in torch.
* Backward hooks are implemented with ``jax.custom_vjp`` around the module call
  (:func:`call_with_backward_hooks`), so they fire inside ``nn.grad`` / ``jax.grad``.

Every registry is a :class:`~jnn._state.tracking.HookDict`: adding or removing a hook is a
structural change that ``nn.jit`` sees.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable

import jax
import jax.numpy as jnp

from .._state import HookDict, RemovableHandle, add_hook
from ..parameter import Parameter

__all__ = [
    "register_module_forward_pre_hook", "register_module_forward_hook",
    "register_module_full_backward_pre_hook", "register_module_full_backward_hook",
    "register_module_buffer_registration_hook", "register_module_parameter_registration_hook",
    "register_module_module_registration_hook", "global_hooks", "any_global_call_hooks",
    "call_with_backward_hooks", "global_hooks_signature",
]


class _GlobalHooks:
    """The process-wide hook registries (``torch.nn.modules.module._global_*``)."""

    def __init__(self):
        self.forward_pre = HookDict()
        self.forward = HookDict()
        self.forward_always_called = HookDict()
        self.forward_with_kwargs = HookDict()
        self.backward_pre = HookDict()
        self.backward = HookDict()
        self.buffer_registration = HookDict()
        self.parameter_registration = HookDict()
        self.module_registration = HookDict()


global_hooks = _GlobalHooks()


def any_global_call_hooks() -> bool:
    g = global_hooks
    return bool(g.forward_pre or g.forward or g.backward_pre or g.backward)


def global_hooks_signature() -> tuple:
    """The global call hooks as a static fact of traced programs (they run while tracing)."""
    g = global_hooks
    if not any_global_call_hooks():
        return ()
    return tuple(tuple(d.items()) for d in (g.forward_pre, g.forward, g.forward_always_called,
                                              g.forward_with_kwargs, g.backward_pre,
                                              g.backward))


def register_module_forward_pre_hook(hook: Callable) -> RemovableHandle:
    """A forward pre-hook run for every module, before the module's own pre-hooks."""
    return add_hook(global_hooks.forward_pre, hook)


def register_module_forward_hook(hook: Callable, *, with_kwargs: bool = False,
                                 always_call: bool = False) -> RemovableHandle:
    """A forward hook run for every module, before the module's own forward hooks."""
    g = global_hooks
    handle = add_hook(g.forward, hook, extra=[g.forward_always_called, g.forward_with_kwargs])
    if with_kwargs:
        g.forward_with_kwargs[handle.id] = True
    if always_call:
        g.forward_always_called[handle.id] = True
    return handle


def register_module_full_backward_pre_hook(hook: Callable) -> RemovableHandle:
    return add_hook(global_hooks.backward_pre, hook)


def register_module_full_backward_hook(hook: Callable) -> RemovableHandle:
    return add_hook(global_hooks.backward, hook)


def register_module_buffer_registration_hook(hook: Callable) -> RemovableHandle:
    return add_hook(global_hooks.buffer_registration, hook)


def register_module_parameter_registration_hook(hook: Callable) -> RemovableHandle:
    return add_hook(global_hooks.parameter_registration, hook)


def register_module_module_registration_hook(hook: Callable) -> RemovableHandle:
    return add_hook(global_hooks.module_registration, hook)


# -- backward hooks via custom_vjp ------------------------------------------------------------

def _is_inexact_array(x) -> bool:
    return isinstance(x, jax.Array) and jnp.issubdtype(x.dtype, jnp.inexact)


def call_with_backward_hooks(module, forward: Callable, *args, **kwargs):
    """Run ``forward`` so that differentiation fires the module's backward (pre-)hooks.

    Two identity functions with custom VJPs bracket the call: the one on the outputs sees
    ``grad_output`` first (backward pre-hooks may replace it), the one on the inputs then sees
    ``grad_input`` and runs the full backward hooks, whose return value replaces it.
    """
    diff_idx = [i for i, a in enumerate(args)
                if _is_inexact_array(jnp.asarray(a) if isinstance(a, Parameter) else a)]
    stash: dict = {}
    pre_hooks = list(itertools.chain(global_hooks.backward_pre.values(),
                                     module._backward_pre_hooks.values()))
    hooks = list(itertools.chain(global_hooks.backward.values(), module._backward_hooks.values()))

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

    arg_list = list(args)
    if diff_idx:
        entered = enter(*[jnp.asarray(arg_list[i]) for i in diff_idx])
        for i, x in zip(diff_idx, entered):
            arg_list[i] = x
    out = forward(*arg_list, **kwargs)
    leaves, treedef = jax.tree_util.tree_flatten(out)
    out_idx = [i for i, leaf in enumerate(leaves) if _is_inexact_array(leaf)]
    if out_idx:
        left = leave(*[leaves[i] for i in out_idx])
        for i, y in zip(out_idx, left):
            leaves[i] = y
    return jax.tree_util.tree_unflatten(treedef, leaves)
