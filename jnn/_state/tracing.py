"""Which kind of JAX transformation the current code runs under.

jnn needs to know this in two places: the random stream (a draw with a concrete key inside a
staged or batched trace would bake one key into the program, or give every batch element the
same numbers) and the eager kernel cache (which must step aside inside any trace).

JAX has no public API for it; this reads the current trace from ``jax._src.core`` (JAX 0.10)
and is the only place in jnn that does. If that internal moves, :func:`current_trace_kind`
falls back to ``"unknown"``, which callers treat as the conservative case.
"""
from __future__ import annotations

from typing import Any

import jax

__all__ = ["current_trace_kind", "under_differentiation", "EAGER", "AUTODIFF", "STAGED",
           "BATCHED", "UNKNOWN", "is_tracer", "same_trace"]

EAGER = "eager"        # plain Python execution, op by op
AUTODIFF = "autodiff"  # jax.grad / jvp / vjp / linearize over eager execution
STAGED = "staged"      # jax.jit, lax.scan/cond/while bodies, jax.checkpoint, custom_vjp traces
BATCHED = "batched"    # jax.vmap (over eager or autodiff execution)
UNKNOWN = "unknown"

_trace_ctx: Any
_EvalTrace: Any
try:  # pragma: no cover - exercised through the public behaviour
    from jax._src import core as _core

    _trace_ctx = _core.trace_ctx
    _EvalTrace = _core.EvalTrace
except Exception:  # pragma: no cover
    _trace_ctx = None
    _EvalTrace = None

_AUTODIFF_TRACES = {"JVPTrace", "LinearizeTrace"}
_BATCH_TRACES = {"BatchTrace"}
_STAGED_TRACES = {"DynamicJaxprTrace", "JaxprTrace"}


def _active_traces() -> list | None:
    """Names of the traces active on this thread, innermost first (``None``: unknown)."""
    if _trace_ctx is None:
        return None
    trace = getattr(_trace_ctx, "trace", None)
    names = []
    while trace is not None and not isinstance(trace, _EvalTrace):
        names.append(type(trace).__name__)
        trace = getattr(trace, "parent_trace", None)
        if len(names) > 64:  # a bound instead of trusting the parent links to end
            return None
    return names


def current_trace_kind() -> str:
    """``EAGER``, ``AUTODIFF``, ``BATCHED``, ``STAGED`` or ``UNKNOWN`` for the combination of
    transformations active on this thread (the most restrictive one wins: staged over batched
    over autodiff)."""
    names = _active_traces()
    if names is None:
        return UNKNOWN
    kind = EAGER
    for name in names:
        if name in _STAGED_TRACES:
            return STAGED
        if name in _BATCH_TRACES:
            kind = BATCHED
        elif name in _AUTODIFF_TRACES:
            kind = AUTODIFF if kind == EAGER else kind
        else:
            return UNKNOWN
    return kind


def under_differentiation() -> bool:
    """Whether a ``jax.grad`` / ``jvp`` / ``nn.grad`` trace is active (at any depth)."""
    names = _active_traces()
    return names is not None and any(name in _AUTODIFF_TRACES for name in names)


def is_tracer(value: Any) -> bool:
    return isinstance(value, jax.core.Tracer)


def same_trace(a: Any, b: Any) -> bool:
    """Whether two tracers belong to the same trace (a value made inside a ``lax.scan`` body
    from an outer tracer belongs to the body's trace, and must not be stored outside it)."""
    return getattr(a, "_trace", None) is getattr(b, "_trace", None)
