"""Eager calls compile once: one XLA program per kernel call signature.

Outside any trace (a notebook, a plain Python loop) JAX runs ``jnp``/``lax`` code op by op:
every primitive is compiled, and cached, for its shapes on first use. Two costs follow for a
layer's kernel:

* a kernel that builds a ``lax.scan`` body, a closure or a ``custom_vjp`` per call hands JAX a
  new function every call, so JAX traces and compiles it again every call (``nn.LSTM`` took
  0.3 s a call against torch's 0.04 s);
* a kernel of fifteen primitives costs fifteen compilations on its first call.

:func:`eager_jit` fixes both the same way: eagerly, the kernel runs as one ``jax.jit`` program
keyed by its static configuration (the hashable arguments named in ``static_argnames``) and the
shapes and dtypes of its array arguments; inside a trace it runs as the plain code it is. The
compiled programs live in JAX's own caches (least-recently-used, bounded:
``jax._src.util.weakref_lru_cache`` and the C++ dispatch cache of ``jax.jit``), so a long session
with many shapes does not grow without bound.

Rules for a kernel wrapped with :func:`eager_jit`:

* its arguments are arrays (or pytrees of arrays and ``None``) plus the configuration named in
  ``static_argnames`` (a call whose configuration is not hashable, a list say, runs the plain
  code: correct, only not compiled);
* it does no work that depends on array *values* on the host (validation of values, numpy
  index arithmetic on an argument): do that before the call, where the values are concrete;
* randomness enters as a key *argument*, drawn before the call (``next_key()`` outside the
  compiled function): a key drawn inside would be a constant of the program, the same mask on
  every call.

Example:
    >>> @functools.partial(eager_jit, static_argnames=("axis",))
    ... def _normalise(x, *, axis):
    ...     return x / jnp.sum(x, axis=axis, keepdims=True)
    >>> _normalise(jnp.ones((2, 4)), axis=1).tolist()[0]
    [0.25, 0.25, 0.25, 0.25]
"""
from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence

import jax

from .._placement import fits_one_program
from .._state import tracing
from ..amp.autocast_mode import autocast_state

__all__ = ["is_eager", "eager_jit"]

def _eager_kind():
    """``"eval"`` (no trace), ``"ad"`` (differentiation directly over eager evaluation) or
    ``None`` (a staging or batching trace: run the plain code). Differentiating a jitted
    program is what JAX does best (the linearised and transposed programs are cached too), so
    ``jax.grad`` / ``nn.value_and_grad`` called eagerly count as eager. The one place in jnn
    that reads which trace is active is ``jnn._state.tracing``."""
    kind = tracing.current_trace_kind()
    return "eval" if kind == tracing.EAGER else "ad" if kind == tracing.AUTODIFF else None


def is_eager() -> bool:
    """True when jnn kernels run on concrete values, outside any staging or batching trace.

    Eager means: JAX's current trace is the evaluation trace, or automatic differentiation
    (``jax.grad``, ``jax.jvp``, ``nn.value_and_grad``) running directly over it. Inside
    ``nn.jit``/``jax.jit``, a ``lax.scan`` body, ``jax.vmap`` or ``jax.checkpoint`` it is False.

    Returns:
        Whether a kernel call would execute immediately (so compiling it once pays).

    Example:
        >>> is_eager(), jax.jit(lambda x: is_eager() or x)(0)
        (True, Array(0, dtype=int32, weak_type=True))
    """
    return _eager_kind() is not None


def _as_value(arg):
    # A Parameter is read through ``__jax_array__`` (never by flattening its pytree), so the
    # read goes through the same path, and the same nn.jit guard, as in plain code.
    if isinstance(arg, jax.Array) or not callable(getattr(arg, "__jax_array__", None)):
        return arg
    return arg.__jax_array__()


# XLA:CPU options for eager programs, where compile time is part of every first call. The new
# fusion emitters (the default in jax 0.10) compile the layout transposes around an NCHW
# convolution slowly and into slow code: a (8, 64, 28, 28) 3x3 conv2d program compiled in
# 0.31-0.36 s and ran in 4.2 ms, against 0.08 s and 2.7 ms with the older emitters and
# without splitting the LLVM module for parallel codegen (no gain on 2 shared cores); batch
# norm 0.16 -> 0.08 s, max pooling 0.23 -> 0.16 s, same run times. (Also tried: LLVM
# optimisation level 1, a little faster to compile but not clearly as fast to run; level 0,
# 2x faster to compile but 3-7x slower to run.) benchmarks/rnn_eager.py measures the effect
# on a whole eager ResNet-18 forward. Dropped if this XLA does not know the options.
_CPU_COMPILER_OPTIONS = {"xla_cpu_use_fusion_emitters": False,
                         "xla_cpu_parallel_codegen_split_count": 1}
# Programs that draw random bits (dropout masks) also compile at LLVM optimisation level 1: the
# unrolled threefry hash is slow to optimise, and level 1 compiled a dropout program in 0.18 s
# instead of 0.78, attention with dropout in 0.26 instead of 1.81 (its gradient: 0.40 vs 1.97),
# running as fast or faster (9.5 vs 13.1 ms, 24 vs 27 ms). Without random bits level 1 ran
# attention 2x slower, so other programs keep the default.
_RANDOM_OPTIONS = {"xla_backend_optimization_level": 1}
_compiler_options = None  # decided on the first eager call: {} or _CPU_COMPILER_OPTIONS


def _eager_compiler_options(random: bool) -> dict:
    global _compiler_options
    if _compiler_options is None:
        options = {}
        if jax.default_backend() == "cpu":
            try:
                jax.jit(lambda x: x + 1, compiler_options=_CPU_COMPILER_OPTIONS).lower(
                    jax.ShapeDtypeStruct((), "float32")).compile()
                options = dict(_CPU_COMPILER_OPTIONS)
            except Exception:  # noqa: BLE001 - an XLA without the option: keep its defaults
                options = {}
        _compiler_options = options
    if random and _compiler_options:
        return {**_compiler_options, **_RANDOM_OPTIONS}
    return _compiler_options


def eager_jit(fn: Callable | None = None, *, static_argnames: Sequence[str] = (),
              key_argnames: Sequence[str] = ()) -> Callable:
    """Run ``fn`` as one compiled program per call signature when called eagerly.

    Args:
        fn: a pure kernel following the rules in this module's docstring.
        static_argnames: the arguments (positional or keyword) that are configuration:
            compile-time constants, part of the cache key, rather than arrays.
        key_argnames: PRNG key arguments; a call where one is not ``None`` draws random bits,
            and its program is compiled with options that suit the random-bit hash.

    Returns:
        A function with ``fn``'s signature: eagerly (:func:`is_eager`) it calls
        ``jax.jit(fn, static_argnames=...)``, otherwise ``fn`` itself. A call whose static
        arguments are not hashable (a list, say) also runs ``fn`` itself: correct, only not
        compiled. ``.jitted()`` returns the compiled form (for tests and benchmarks).

    Example:
        >>> @functools.partial(eager_jit, static_argnames=("p",))
        ... def _power(x, *, p):
        ...     return x ** p
        >>> _power(jnp.arange(3.0), p=2).tolist()
        [0.0, 1.0, 4.0]
    """
    if fn is None:
        return functools.partial(eager_jit, static_argnames=static_argnames,
                                 key_argnames=key_argnames)
    static = frozenset(static_argnames)
    names = list(inspect.signature(fn).parameters)
    unknown = static.union(key_argnames).difference(names)
    if unknown:
        raise TypeError(f"eager_jit: {fn.__name__} has no arguments {sorted(unknown)}")
    positions = tuple(i for i, name in enumerate(names) if name in static)
    key_positions = {names.index(name): name for name in key_argnames}
    compiled = {}

    def jitted(kind: str = "eval", random: bool = False):
        # Under differentiation the program is staged into JAX's linearised program, where
        # compiler options are not allowed (only a top-level jit may carry them). The autocast
        # region is a static fact of the trace (kernels cast their inputs by it).
        key = (kind, autocast_state(), random)
        if key not in compiled:
            options = _eager_compiler_options(random) if kind == "eval" else {}
            # (a function object of its own: jax caches traces by the function)
            compiled[key] = jax.jit(functools.wraps(fn)(lambda *a, **k: fn(*a, **k)),
                                    static_argnames=tuple(static),
                                    compiler_options=options or None)
        return compiled[key]

    @functools.wraps(fn)
    def call(*args, **kwargs):
        kind = _eager_kind()
        if kind is None:
            return fn(*args, **kwargs)
        try:
            hash(tuple(args[i] for i in positions if i < len(args)))
            hash(tuple(v for k, v in kwargs.items() if k in static))
        except TypeError:
            return fn(*args, **kwargs)
        values = [_as_value(a) for a in args]
        kw_values = {k: v if k in static else _as_value(v) for k, v in kwargs.items()}
        # Arguments a compiled call cannot take (a string, arrays on different devices) run the
        # plain kernel, whose validation raises jnn's own error (``check_operands``).
        if not fits_one_program(([v for i, v in enumerate(values) if i not in positions],
                                 [v for k, v in kw_values.items() if k not in static]),
                                tracers_ok=True):
            return fn(*args, **kwargs)
        random = any((args[i] if i < len(args) else kwargs.get(name)) is not None
                     for i, name in key_positions.items())
        return jitted(kind, random)(*values, **kw_values)

    call.jitted = jitted  # type: ignore[attr-defined]  # (a function attribute)
    return call
