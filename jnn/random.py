"""The global random stream: torch's ``manual_seed`` / ``randn`` workflow on JAX keys.

PyTorch draws every random number from one global generator. JAX has no hidden state: each
draw needs an explicit key. jnn bridges the two with a *stream*: one JAX key held in a mutable
box, split on every draw. Eagerly it behaves like torch's generator (``manual_seed(s)`` and then
building a model is reproducible). Under ``nn.jit`` / ``nn.pmap`` the box is state like a
parameter: its key enters the compiled program as an input and the advanced key is written
back, so every call draws fresh numbers (a key baked into the program as a constant would
repeat the same dropout mask forever).

Every function that draws also takes an explicit ``key=``; then the stream is not touched.

Under transformations jnn does not manage (a plain ``jax.jit``, ``jax.vmap``, a ``lax.scan``
body), drawing from the stream without ``key=`` raises :class:`RandomStreamError`: the key
would be a compile-time constant (the same "random" numbers on every call) or shared by every
batch element. ``jax.grad`` and friends over eager code are fine (they run the Python code on
every call), and so is everything under ``nn.jit``, where the stream is program state.

Differences from PyTorch:
    The numbers differ from torch's for the same seed (JAX uses Threefry, torch Philox/MT).
"""
from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ._state import tracing

__all__ = [
    "manual_seed", "seed", "initial_seed", "get_rng_state", "set_rng_state", "fork_rng",
    "next_key", "Generator", "default_generator", "RandomStreamError",
    "randn", "rand", "randint", "randperm", "normal", "uniform", "bernoulli", "multinomial",
    "randn_like", "rand_like", "randint_like",
]

_DEFAULT_SEED = 67280421310721  # torch's default seed; kept for familiarity


class RandomStreamError(RuntimeError):
    """A draw from the random stream inside a transformation that cannot thread it."""


class Generator:
    """A random stream: a JAX key in a mutable box (``torch.Generator``'s role).

    ``key`` is the state; ``next_key()`` splits it and returns a fresh subkey. ``nn.jit``
    treats ``key`` of every generator it can reach (the default one always) as state.
    """

    def __init__(self, seed: int | None = None) -> None:
        self._initial_seed = _DEFAULT_SEED if seed is None else int(seed)
        # Created lazily: importing jnn must not initialise a JAX backend.
        self.key: jax.Array | None = None

    # -- torch.Generator API -----------------------------------------------------------------
    def manual_seed(self, seed: int) -> Generator:
        if not isinstance(seed, (int, np.integer)):
            raise TypeError(f"manual_seed: expected an int seed, got {type(seed).__name__}")
        self._initial_seed = int(seed)
        self.key = _key_from_seed(self._initial_seed)
        return self

    def seed(self) -> int:
        """Seed from the OS entropy pool and return the seed (torch.Generator.seed)."""
        entropy = np.random.SeedSequence().entropy
        assert isinstance(entropy, int)  # (a SeedSequence made without entropy draws an int)
        s = entropy % (2 ** 63)
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        return self._initial_seed

    def get_state(self) -> jax.Array:
        return self._current_key()

    def set_state(self, state: Any) -> Generator:
        state = jnp.asarray(state)
        if state.shape != (2,) or state.dtype != jnp.uint32:
            raise ValueError(
                f"set_state: expected a key of shape (2,) and dtype uint32, got shape "
                f"{tuple(state.shape)} and dtype {state.dtype}")
        self.key = state
        return self

    # -- drawing ------------------------------------------------------------------------------
    def _current_key(self) -> jax.Array:
        if self.key is None:
            self.key = _key_from_seed(self._initial_seed)
        return self.key

    def next_key(self) -> jax.Array:
        """Advance the stream and return a fresh key (works eagerly and under ``nn.jit``).

        Raises:
            RandomStreamError: inside ``jax.jit`` / ``jax.vmap`` / a ``lax.scan`` body that
                ``nn.jit`` does not manage (pass ``key=`` to the drawing function instead).
        """
        current = self._current_key()
        if isinstance(current, jax.core.Tracer):
            # Under nn.jit the key is program state, a tracer threaded through the step.
            key, sub = jax.random.split(current)
            if not tracing.same_trace(key, current):
                raise RandomStreamError(
                    "a random function drew from jnn's random stream inside a nested JAX "
                    "transformation (a lax.scan/cond/while body, jax.checkpoint, vmap ...) "
                    "within nn.jit: the advanced stream cannot leave that body. Pass key= "
                    "explicitly (split keys outside and thread them through the loop).")
            self.key = key
            return sub
        kind = tracing.current_trace_kind()
        if kind not in (tracing.EAGER, tracing.AUTODIFF):
            what = "jax.vmap" if kind == tracing.BATCHED else "jax.jit (or a lax.scan body)"
            raise RandomStreamError(
                f"a random function drew from jnn's global random stream inside {what}, "
                "which jnn does not manage: the key would be "
                + ("shared by every batch element" if kind == tracing.BATCHED else
                   "a compile-time constant, giving the same numbers on every call")
                + ". Pass key= explicitly (e.g. F.dropout(x, p, key=k)), or compile the step "
                "with nn.jit, which threads the stream through the program.")
        key, sub = _split(current)
        if isinstance(key, jax.core.Tracer):  # autodiff lifted the draw: keep the stream concrete
            with jax.ensure_compile_time_eval():
                key, sub = jax.random.split(current)
        self.key = key
        return sub

    # -- the state protocol (jnn._state): the key is a slot ------------------------------------
    _jnn_stateful = True

    def _jnn_collect_state(self, collector) -> None:
        self._current_key()  # materialise the key outside any trace
        collector.add(self.__dict__, "key", "rng")
        collector.signature.append(("rng",))

    def state_dict(self) -> dict:
        return {"key": np.asarray(self._current_key()), "initial_seed": self._initial_seed}

    def load_state_dict(self, state: dict) -> None:
        self._initial_seed = int(state.get("initial_seed", self._initial_seed))
        self.set_state(state["key"])

    def __repr__(self) -> str:
        return f"<jnn.Generator initial_seed={self._initial_seed}>"


def _key_from_seed(seed: int) -> jax.Array:
    # Fold the high bits in so 64-bit seeds (torch's default seed is one) stay distinct.
    with jax.ensure_compile_time_eval():  # concrete even when first used inside a trace
        key = jax.random.PRNGKey(seed & 0xFFFFFFFF)
        if seed >> 32:
            key = jax.random.fold_in(key, (seed >> 32) & 0xFFFFFFFF)
    return key


@jax.jit
def _split(key):
    new_key, sub = jax.random.split(key)
    return new_key, sub


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed the global stream (``torch.manual_seed``). Returns the default generator."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    """Seed the global stream non-deterministically and return the seed."""
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state() -> jax.Array:
    """The global stream's key (a ``uint32[2]`` array), to restore with ``set_rng_state``."""
    return default_generator.get_state()


def set_rng_state(state: Any) -> None:
    default_generator.set_state(state)


@contextlib.contextmanager
def fork_rng(seed: int | None = None):
    """Run a block on a forked stream and restore the global stream afterwards.

    Example:
        >>> with nn.fork_rng(0):          # draws in here do not move the global stream
        ...     noise = nn.randn(3)
    """
    saved_key, saved_seed = default_generator.key, default_generator._initial_seed
    try:
        if seed is not None:
            default_generator.manual_seed(seed)
        yield default_generator
    finally:
        default_generator.key, default_generator._initial_seed = saved_key, saved_seed


def next_key(key: jax.Array | None = None, generator: Generator | None = None) -> jax.Array:
    """Return ``key`` if given, else a fresh key from ``generator`` (default: global stream).

    This is the one entry point kernels use for randomness, so every random kernel accepts
    an explicit key and otherwise advances the stream.
    """
    if key is not None:
        return key
    return (generator or default_generator).next_key()


# -- torch-style samplers ----------------------------------------------------------------------

def _size(size: Sequence) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, (int, np.integer)) or s < 0:
            raise ValueError(f"size: expected non-negative ints, got {tuple(size)}")
    return tuple(int(s) for s in size)


def _float_dtype(dtype):
    dtype = jnp.float32 if dtype is None else jnp.dtype(dtype)
    if not jnp.issubdtype(dtype, jnp.floating):
        raise TypeError(f"dtype: expected a floating dtype, got {dtype}")
    return dtype


def randn(*size: Any, dtype: Any = None, key: jax.Array | None = None,
          generator: Generator | None = None) -> jax.Array:
    """Standard normal samples of the given size (``torch.randn``)."""
    return jax.random.normal(next_key(key, generator), _size(size), _float_dtype(dtype))


def rand(*size: Any, dtype: Any = None, key: jax.Array | None = None,
         generator: Generator | None = None) -> jax.Array:
    """Uniform samples on ``[0, 1)`` (``torch.rand``)."""
    return jax.random.uniform(next_key(key, generator), _size(size), _float_dtype(dtype))


def randint(low: Any, high: Any = None, size: Any = None, *, dtype: Any = None,
            key: jax.Array | None = None, generator: Generator | None = None) -> jax.Array:
    """Integers uniform on ``[low, high)`` (``torch.randint(low=0, high, size)``)."""
    if size is None and isinstance(high, (tuple, list)):
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    if size is None:
        raise TypeError("randint: missing required argument 'size'")
    dtype = jnp.int32 if dtype is None else dtype
    return jax.random.randint(next_key(key, generator), _size((size,)), low, high, dtype=dtype)


def randperm(n: int, *, dtype: Any = None, key: jax.Array | None = None,
             generator: Generator | None = None) -> jax.Array:
    """A random permutation of ``0..n-1`` (``torch.randperm``)."""
    perm = jax.random.permutation(next_key(key, generator), int(n))
    return perm if dtype is None else perm.astype(dtype)


def normal(mean: Any = 0.0, std: Any = 1.0, size: Any = None, *, dtype: Any = None,
           key: jax.Array | None = None, generator: Generator | None = None) -> jax.Array:
    """Normal samples with the given mean and std (``torch.normal``); broadcasts arrays."""
    if size is None:
        size = jnp.broadcast_shapes(jnp.shape(mean), jnp.shape(std))
    z = jax.random.normal(next_key(key, generator), _size((size,)), _float_dtype(dtype))
    return z * std + mean


def uniform(low: Any = 0.0, high: Any = 1.0, size: Any = (), *, dtype: Any = None,
            key: jax.Array | None = None, generator: Generator | None = None) -> jax.Array:
    """Uniform samples on ``[low, high)``."""
    return jax.random.uniform(next_key(key, generator), _size((size,)), _float_dtype(dtype),
                              minval=low, maxval=high)


def bernoulli(p: Any, size: Any = None, *, key: jax.Array | None = None,
              generator: Generator | None = None) -> jax.Array:
    """0/1 samples with probability ``p`` (``torch.bernoulli``); float output like torch."""
    p = jnp.asarray(p)
    shape = p.shape if size is None else _size((size,))
    dtype = p.dtype if jnp.issubdtype(p.dtype, jnp.floating) else jnp.float32
    return jax.random.bernoulli(next_key(key, generator), p, shape).astype(dtype)


def multinomial(input: Any, num_samples: int, replacement: bool = False, *,
                key: jax.Array | None = None, generator: Generator | None = None) -> jax.Array:
    """Sample category indices from (unnormalised) probabilities (``torch.multinomial``)."""
    probs = jnp.asarray(input)
    if probs.ndim not in (1, 2):
        raise ValueError("multinomial: expected input with 1 or 2 dimensions, got shape "
                         f"{probs.shape}")
    if not replacement and num_samples > probs.shape[-1]:
        raise ValueError(f"multinomial: cannot draw num_samples={num_samples} > "
                         f"{probs.shape[-1]} categories without replacement")
    k = next_key(key, generator)
    logits = jnp.log(probs)
    if replacement:
        shape = (num_samples,) + probs.shape[:-1]
        out = jax.random.categorical(k, logits, shape=shape)
        return jnp.moveaxis(out, 0, -1)
    # Gumbel top-k: sampling without replacement in one shot.
    g = jax.random.gumbel(k, probs.shape, logits.dtype)
    return jax.lax.top_k(logits + g, num_samples)[1]


def randn_like(x: Any, *, dtype: Any = None, key: jax.Array | None = None,
               generator: Generator | None = None) -> jax.Array:
    return randn(*jnp.shape(x), dtype=dtype or jnp.result_type(x), key=key, generator=generator)


def rand_like(x: Any, *, dtype: Any = None, key: jax.Array | None = None,
              generator: Generator | None = None) -> jax.Array:
    return rand(*jnp.shape(x), dtype=dtype or jnp.result_type(x), key=key, generator=generator)


def randint_like(x: Any, low: Any, high: Any = None, *, dtype: Any = None,
                 key: jax.Array | None = None, generator: Generator | None = None) -> jax.Array:
    return randint(low, high, jnp.shape(x), dtype=dtype or jnp.result_type(x), key=key,
                   generator=generator)

