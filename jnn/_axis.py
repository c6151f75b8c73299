"""The mapped-axis context: which ``nn.pmap`` axis (if any) is being traced.

``nn.value_and_grad`` averages gradients over it and ``SyncBatchNorm`` its batch statistics.
"""
from __future__ import annotations

import contextlib
import threading

_context = threading.local()


def current_axis_name() -> str | None:
    """The axis name of the innermost ``nn.pmap`` being traced, or ``None`` outside one."""
    stack = getattr(_context, "axes", None)
    return stack[-1] if stack else None


@contextlib.contextmanager
def mapped_axis(name: str):
    stack = getattr(_context, "axes", None)
    if stack is None:
        stack = _context.axes = []
    stack.append(name)
    try:
        yield
    finally:
        stack.pop()


def varies_over(x, axis_name: str) -> bool:
    """Whether a value traced inside ``shard_map`` differs across ``axis_name``.

    Replicated inputs and results of collectives do not vary; anything computed from the
    per-device batch does. (JAX 0.10 exposes this as ``manual_axis_type.varying``; earlier
    releases as ``vma``.)
    """
    import jax
    aval = jax.typeof(x)
    mat = getattr(aval, "manual_axis_type", None)
    if mat is not None:
        return axis_name in mat.varying
    vma = getattr(aval, "vma", None)
    return True if vma is None else axis_name in vma
