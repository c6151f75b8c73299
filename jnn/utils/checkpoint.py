"""Activation checkpointing (``torch.utils.checkpoint``) on ``jax.checkpoint``.

``checkpoint(function, *args)`` runs ``function`` so that its intermediate activations are not
kept for the backward pass: they are recomputed from the inputs when gradients are taken.
jnn's state (parameters, buffers, array attributes, the random stream) reachable from
``function`` and its arguments is threaded through the checkpointed computation explicitly,
as ``nn.value_and_grad`` does: the parameters enter as inputs (so their gradients flow), and
the state the function changed (BatchNorm running statistics, the advanced random key) comes
out as outputs and is written back once. The recomputation is a replay of the same JAX
program on the same inputs, random key included, so it draws the same dropout mask and has no
Python side effects (``docs/design.md``, "The random stream").
"""
from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import jax

from .._state import collect, context, is_stateful
from ..modules.module import Module
from ..parameter import Parameter
from ..random import default_generator

__all__ = ["checkpoint", "checkpoint_sequential"]

_THREADED = ("param", "buffer", "attr", "rng")


def _roots(function) -> list:
    """The stateful objects ``function`` reaches without receiving them as arguments: itself
    (a module), the module of a bound method, stateful objects in its closure cells."""
    roots = []
    if is_stateful(function):
        roots.append(function)
    owner = getattr(function, "__self__", None)
    if owner is not None and is_stateful(owner):
        roots.append(owner)
    for cell in getattr(function, "__closure__", None) or ():
        try:
            value = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        if is_stateful(value) or isinstance(value, (list, tuple, dict)):
            roots.append(value)
    return roots


def _unbox(tree):
    return jax.tree_util.tree_map(lambda x: x.data if isinstance(x, Parameter) else x, tree,
                                  is_leaf=lambda x: isinstance(x, Parameter))


def _run_checkpointed(function: Callable, roots: list, args: tuple, kwargs: dict):
    state = collect([*roots, *args, *kwargs.values()], extra=(default_generator,))
    slots = [s for s, kind in zip(state.slots(), state.kinds) if kind in _THREADED]
    slots = [(c, k) for c, k in slots if isinstance(c[k], jax.Array)]
    # Arguments: arrays are inputs of the checkpointed program; everything else (modules,
    # numbers, flags) is passed through as is.
    leaves, treedef = jax.tree_util.tree_flatten((args, kwargs), is_leaf=is_stateful)
    dynamic = [i for i, leaf in enumerate(leaves) if isinstance(leaf, jax.Array)]

    def pure(slot_values, arrays):
        originals = [c[k] for c, k in slots]
        call_leaves = list(leaves)
        for i, a in zip(dynamic, arrays):
            call_leaves[i] = a
        call_args, call_kwargs = jax.tree_util.tree_unflatten(treedef, call_leaves)
        try:
            for (c, k), v in zip(slots, slot_values):
                c[k] = v
            out = function(*call_args, **call_kwargs)
            changed = {i: c[k] for i, ((c, k), v) in enumerate(zip(slots, slot_values))
                       if c[k] is not v}
            return _unbox(out), changed
        finally:
            for (c, k), v in zip(slots, originals):
                c[k] = v

    with context.swapped_state():
        out, changed = jax.checkpoint(pure)([c[k] for c, k in slots],
                                            [leaves[i] for i in dynamic])
    for i, v in changed.items():
        c, k = slots[i]
        c[k] = v
    return out


def checkpoint(function: Callable, *args, use_reentrant: bool | None = None,
               context_fn: Callable | None = None, determinism_check: str = "default",
               debug: bool = False, preserve_rng_state: bool = True, **kwargs) -> Any:
    """Run ``function(*args, **kwargs)`` without keeping its activations for the backward
    pass; they are recomputed when gradients are taken (``torch.utils.checkpoint.checkpoint``).

    Args:
        function: a module, a bound method of a module (``self.block``), or a function; the
            modules it reaches through its arguments, its ``__self__`` or its closure are
            threaded through the checkpoint.
        *args: its positional arguments (arrays, modules, anything else).
        use_reentrant: accepted for torch compatibility; both of torch's variants behave
            the same here (JAX differentiates the checkpointed program as a whole).
        context_fn, determinism_check, debug: torch's options; only their defaults are
            supported.
        preserve_rng_state: accepted; the recomputation always draws the same random
            numbers (it replays the same program on the same key).
        **kwargs: its keyword arguments.

    Returns:
        ``function``'s output (Parameters in it as arrays).

    Example:
        >>> from jnn.utils.checkpoint import checkpoint
        >>> model = nn.ModuleDict({"block": nn.Sequential(nn.Linear(4, 8), nn.Tanh()),
        ...                        "head": nn.Linear(8, 1)})
        >>> x = jnp.ones((2, 4))
        >>> def loss_fn(m):
        ...     h = checkpoint(m["block"], x, use_reentrant=False)   # recomputed in backward
        ...     return m["head"](h).sum()
        >>> loss, grads = nn.value_and_grad(loss_fn)(model)
        >>> grads["block.0.weight"].shape
        (8, 4)

    Differences from PyTorch:
        * BatchNorm running statistics (and any other state the function updates) are
          updated exactly once: the recomputation has no Python side effects. torch's
          recomputation runs the forward again and updates them a second time.
        * Memory is saved where XLA compiles the step (under ``nn.jit``, or a ``jax.grad`` of
          the step); eagerly the result is the same, only op by op.
    """
    if use_reentrant not in (None, True, False):
        raise TypeError(f"checkpoint: use_reentrant must be a bool or None, got "
                        f"{use_reentrant!r}")
    if context_fn is not None:
        raise ValueError("checkpoint: context_fn is not supported by jnn (use "
                         "jax.checkpoint's policies through jax.checkpoint directly)")
    if determinism_check not in ("default", "none"):
        raise ValueError(f"checkpoint: determinism_check must be 'default' or 'none', got "
                         f"{determinism_check!r}")
    if not callable(function):
        raise TypeError(f"checkpoint: function must be callable, got "
                        f"{type(function).__name__}")
    return _run_checkpointed(function, _roots(function), args, kwargs)


def checkpoint_sequential(functions, segments: int, input, use_reentrant: bool | None = None,
                          **kwargs):
    """Run a sequence of modules in ``segments`` chunks, checkpointing every chunk but the
    last (``torch.utils.checkpoint.checkpoint_sequential``).

    Args:
        functions: an ``nn.Sequential`` or a list of modules/functions, applied in order.
        segments: the number of chunks.
        input: the input of the first function.
        use_reentrant: accepted for torch compatibility (see :func:`checkpoint`).
        **kwargs: ``preserve_rng_state`` (accepted, see :func:`checkpoint`).

    Returns:
        The output of the last function.

    Example:
        >>> from jnn.utils.checkpoint import checkpoint_sequential
        >>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU())
        >>> out = checkpoint_sequential(model, 2, jnp.ones((2, 4)), use_reentrant=False)
        >>> out.shape
        (2, 8)

    Differences from PyTorch: as :func:`checkpoint`.
    """
    unexpected = set(kwargs) - {"preserve_rng_state"}
    if unexpected:
        raise ValueError(f"checkpoint_sequential: unexpected keyword arguments "
                         f"{sorted(unexpected)}")
    if isinstance(functions, Module):
        functions = list(functions.children())
    functions = list(functions)
    if not isinstance(segments, int) or isinstance(segments, bool) or segments < 1:
        raise ValueError(f"checkpoint_sequential: segments must be a positive int, got "
                         f"{segments!r}")

    def run(start, end):
        chunk = functions[start:end + 1]

        def forward(x):
            for f in chunk:
                x = f(x)
            return x
        return forward, [f for f in chunk if is_stateful(f) or inspect.ismethod(f)]

    segment_size = len(functions) // segments
    end = -1
    for start in range(0, segment_size * (segments - 1), segment_size):
        end = start + segment_size - 1
        forward, chunk = run(start, end)
        input = _run_checkpointed(forward, [r for f in chunk for r in _roots(f)], (input,), {})
    forward, _ = run(end + 1, len(functions) - 1)
    return forward(input)
