"""``nn.autocast``: torch's automatic mixed precision, op by op (``torch.autocast``).

While an autocast region is active, each jnn kernel that torch's autocast lists casts its
floating inputs before it runs: matrix products and convolutions to the low dtype (float16 or
bfloat16), losses and other range-sensitive ops to float32, and "promote" ops to the widest
input dtype. Every other kernel runs in its inputs' dtype. The lists are torch's, per device
type (``docs/design.md``, "Mixed precision"): CPU and CUDA differ (on CUDA ``softmax``,
``layer_norm`` and ``group_norm`` run in float32; on CPU they keep their input's dtype).

Kernels opt in with one decorator, :func:`autocast_op` ``("linear")``, which looks the op up in
the table of the device type whose autocast region is active. The cast happens before the
kernel's eager program is chosen, so an eagerly compiled kernel is keyed by the cast dtypes,
and the autocast state is part of ``nn.jit``'s context signature, so a step traced under
autocast is never reused outside it (and the other way round).
"""
from __future__ import annotations

import functools
import threading
import warnings
from collections.abc import Callable
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["autocast", "autocast_op", "autocast_state", "autocast_signature",
           "is_autocast_enabled", "get_autocast_dtype", "AUTOCAST_OPS"]

LOWER = "lower_precision_fp"   # run in the autocast dtype (float16 / bfloat16)
FP32 = "fp32"                  # run in float32
PROMOTE = "promote"            # run in the widest floating dtype of the inputs

# torch's autocast op lists (aten/src/ATen/autocast_mode.cpp), for the ops jnn implements.
_COMMON_LOWER = ("conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                 "conv_transpose3d", "linear", "matmul", "mm", "bmm", "baddbmm", "addmm",
                 "addbmm", "prelu", "scaled_dot_product_attention",
                 "multi_head_attention_forward")
_COMMON_FP32 = ("mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "poisson_nll_loss",
                "kl_div", "nll_loss", "cross_entropy", "binary_cross_entropy_with_logits",
                "multi_margin_loss", "multilabel_margin_loss", "hinge_embedding_loss",
                "soft_margin_loss", "margin_ranking_loss", "cosine_embedding_loss",
                "triplet_margin_loss", "ctc_loss", "cdist")
AUTOCAST_OPS = {
    "cpu": {
        **{op: LOWER for op in _COMMON_LOWER},
        **{op: FP32 for op in _COMMON_FP32},
        **{op: FP32 for op in ("binary_cross_entropy", "grid_sample", "avg_pool3d",
                               "max_pool3d", "adaptive_avg_pool3d", "max_unpool2d",
                               "max_unpool3d", "prod", "cumprod")},
        **{op: PROMOTE for op in ("cat", "stack")},
    },
    "cuda": {
        **{op: LOWER for op in _COMMON_LOWER},
        **{op: LOWER for op in ("rnn_tanh_cell", "rnn_relu_cell", "lstm_cell", "gru_cell")},
        **{op: FP32 for op in _COMMON_FP32},
        **{op: FP32 for op in ("softmax", "log_softmax", "layer_norm", "group_norm",
                               "cosine_similarity", "pdist", "softplus", "exp", "log", "pow",
                               "sum", "prod", "cumsum", "cumprod", "normalize")},
        **{op: PROMOTE for op in ("cat", "stack", "bilinear", "grid_sample")},
    },
}
_DEFAULT_DTYPE = {"cpu": jnp.bfloat16, "cuda": jnp.float16}
_SUPPORTED = {"cpu": (jnp.bfloat16, jnp.float16), "cuda": (jnp.bfloat16, jnp.float16)}
_CASTABLE = (jnp.dtype(jnp.float16), jnp.dtype(jnp.bfloat16), jnp.dtype(jnp.float32))


class _State(threading.local):
    # device type -> (dtype, op table) while its autocast is enabled on this thread
    regions: dict | None = None
    # the table that applies to this thread's kernels now (None: no autocast, or inside an
    # autocast op, whose own inner ops do not autocast again, as in torch)
    active: tuple | None = None


_state = _State()


def _backend_device_type() -> str:
    """The torch device type whose autocast applies to jnn's arrays: ``"cuda"`` on a GPU
    backend, ``"cpu"`` otherwise."""
    return "cuda" if jax.default_backend() in ("gpu", "cuda", "rocm") else "cpu"


def _dtype_name(dtype) -> str:
    try:
        return jnp.dtype(dtype).name
    except TypeError:
        return repr(dtype)


def _regions() -> dict:
    if _state.regions is None:
        _state.regions = {}
    return _state.regions


def autocast_state() -> tuple | None:
    """``(device_type, dtype)`` of the autocast region that applies to jnn's kernels on this
    thread, or ``None`` outside autocast.

    Example:
        >>> with nn.autocast("cpu"):
        ...     nn.amp.autocast_state()
        ('cpu', dtype(bfloat16))
    """
    active = _state.active
    return None if active is None else (active[0], active[1])


def autocast_signature() -> tuple:
    """The autocast facts a trace depends on (part of ``nn.jit``'s context signature)."""
    regions = _state.regions
    if not regions:
        return ()
    return tuple(sorted((d, jnp.dtype(dt).name) for d, (dt, _) in regions.items()))


def is_autocast_enabled(device_type: str | None = None) -> bool:
    """Whether autocast is enabled for ``device_type`` (default: the backend's) on this
    thread (``torch.is_autocast_enabled``)."""
    device_type = _backend_device_type() if device_type is None else device_type
    return device_type in _regions()


def get_autocast_dtype(device_type: str) -> Any:
    """The dtype autocast uses for ``device_type`` (``torch.get_autocast_dtype``)."""
    region = _regions().get(device_type)
    return jnp.dtype(region[0] if region else _DEFAULT_DTYPE.get(device_type, jnp.float16))


def _refresh_active() -> None:
    region = _regions().get(_backend_device_type())
    device = _backend_device_type()
    _state.active = None if region is None else (device, jnp.dtype(region[0]), region[1])


def _note_change() -> None:
    # Entering or leaving autocast changes a static fact of traced programs: cached nn.jit
    # views re-check their context signature (only outside an nn.jit trace: a region opened
    # and closed inside a step is part of that step's trace).
    from .._state import context, note_change
    if context.jit_depth() == 0:
        note_change()


class autocast:
    """Run jnn's kernels in mixed precision (``torch.autocast``), as a context manager or a
    decorator.

    Args:
        device_type: ``"cpu"`` or ``"cuda"``: which of torch's op lists to apply. It applies to
            jnn's arrays when it matches the JAX backend (``"cuda"`` on a GPU backend, ``"cpu"``
            otherwise); as in torch, an autocast region of another device type changes nothing
            for them (``autocast("cuda")`` on a CPU-only machine warns and is disabled).
        dtype: the low precision type, ``jnp.bfloat16`` or ``jnp.float16`` (default: bfloat16
            on CPU, float16 on CUDA, as torch).
        enabled: ``False`` makes the region a no-op (and disables an enclosing one).
        cache_enabled: accepted for torch compatibility (XLA reuses casts by itself).

    Returns:
        The context manager; used as ``@autocast(...)`` it wraps a function.

    Raises:
        ValueError: an unknown ``device_type``, or a ``dtype`` autocast does not support.

    Example:
        >>> model, x, t = nn.Linear(4, 2), jnp.ones((3, 4)), jnp.zeros((3, 2))
        >>> with nn.autocast("cpu", dtype=jnp.bfloat16):
        ...     y = model(x)                 # Linear runs in bfloat16
        ...     loss = F.mse_loss(y, t)      # losses in float32
        >>> y.dtype, loss.dtype
        (dtype(bfloat16), dtype('float32'))

    Differences from PyTorch:
        * Only jnn's kernels autocast (``jnn.functional``, layers, ``nn.matmul`` ...); plain
          ``jnp`` operations (``x @ w``, ``jnp.exp``) run in their inputs' dtype.
        * An unsupported ``dtype`` raises ``ValueError`` (torch warns and disables autocast).
        * Under a plain ``jax.jit`` (not ``nn.jit``) the autocast state at trace time is baked
          into the program; ``nn.jit``/``nn.pmap`` trace again when it changes.
    """

    def __init__(self, device_type: str = "cuda", dtype: Any = None, enabled: bool = True,
                 cache_enabled: bool | None = None):
        if not isinstance(device_type, str):
            raise ValueError(f"autocast: expected device_type of type str, got "
                             f"{type(device_type).__name__}")
        device_type = device_type.split(":")[0]
        if device_type not in _SUPPORTED:
            raise ValueError(f"autocast: device_type must be 'cpu' or 'cuda', got "
                             f"{device_type!r}")
        if not isinstance(enabled, (bool, np.bool_)):
            raise TypeError(f"autocast: enabled must be a bool, got {type(enabled).__name__}")
        if dtype is None:
            dtype = _DEFAULT_DTYPE[device_type]
        try:
            dt = jnp.dtype(dtype)
        except TypeError:
            raise ValueError(f"autocast: dtype must be jnp.bfloat16 or jnp.float16, got "
                             f"{dtype!r}") from None
        if dt not in tuple(map(jnp.dtype, _SUPPORTED[device_type])):
            raise ValueError(f"autocast: in {device_type} autocast the supported dtypes are "
                             f"bfloat16 and float16, got {_dtype_name(dtype)}")
        self.device = device_type
        self.fast_dtype = dt
        self._enabled = bool(enabled)
        self._cache_enabled = cache_enabled
        self._saved: list = []
        if self._enabled and device_type == "cuda" and _backend_device_type() != "cuda":
            warnings.warn("User provided device_type of 'cuda', but CUDA is not available. "
                          "Disabling", stacklevel=2)
            self._enabled = False

    def __enter__(self):
        regions = _regions()
        self._saved.append((self.device, regions.get(self.device, None)))
        if self._enabled:
            regions[self.device] = (self.fast_dtype, AUTOCAST_OPS[self.device])
        else:
            regions.pop(self.device, None)
        _refresh_active()
        _note_change()
        return self

    def __exit__(self, *exc) -> Literal[False]:
        device, previous = self._saved.pop()
        regions = _regions()
        if previous is None:
            regions.pop(device, None)
        else:
            regions[device] = previous
        _refresh_active()
        _note_change()
        return False

    def __call__(self, func: Callable) -> Callable:
        @functools.wraps(func)
        def decorated(*args, **kwargs):
            with self:
                return func(*args, **kwargs)
        return decorated


def _castable(x) -> bool:
    return isinstance(x, (jax.Array, np.ndarray)) and x.dtype in _CASTABLE


def _value(x):
    # A Parameter (or any array-like box) is read through ``__jax_array__``.
    if not isinstance(x, (jax.Array, np.ndarray)):
        read = getattr(x, "__jax_array__", None)
        if callable(read):
            return read()
    return x


def _cast_all(args, kwargs, target):
    def cast(x):
        x = _value(x)
        return x.astype(target) if _castable(x) and x.dtype != target else x
    return tuple(map(cast, args)), {k: cast(v) for k, v in kwargs.items()}


def cast_for(policy: str, dtype, args: tuple, kwargs: dict) -> tuple:
    """The arguments of an op under ``policy`` (``"lower_precision_fp"``, ``"fp32"`` or
    ``"promote"``) with low dtype ``dtype``: floating arrays (float16/bfloat16/float32, never
    float64, as torch) cast; everything else as given."""
    if policy == LOWER:
        return _cast_all(args, kwargs, jnp.dtype(dtype))
    if policy == FP32:
        return _cast_all(args, kwargs, jnp.dtype(jnp.float32))
    floats = [v.dtype for v in map(_value, (*args, *kwargs.values()))
              if isinstance(v, (jax.Array, np.ndarray)) and jnp.issubdtype(v.dtype, jnp.floating)]
    for item in (*args, *kwargs.values()):  # sequence arguments (cat, stack)
        if isinstance(item, (list, tuple)):
            floats += [v.dtype for v in map(_value, item) if isinstance(v, (jax.Array, np.ndarray))
                       and jnp.issubdtype(v.dtype, jnp.floating)]
    if len(set(floats)) < 2:
        return args, kwargs
    widest = functools.reduce(jnp.promote_types, floats)

    def cast(x):
        if isinstance(x, (list, tuple)):
            return type(x)(cast(v) for v in x)
        x = _value(x)
        return x.astype(widest) if _castable(x) and x.dtype != widest else x
    return tuple(map(cast, args)), {k: cast(v) for k, v in kwargs.items()}


def autocast_op(name: str) -> Callable:
    """Decorate a kernel as torch's autocast op ``name``: under an active autocast region whose
    op table lists ``name``, its floating inputs are cast by the listed policy, and the ops it
    calls internally do not autocast again (torch excludes autocast inside an autocast op).

    Outside autocast the call costs one thread-local read. A call with an explicit
    ``dtype=`` is not eligible (torch's rule).

    Example:
        >>> @autocast_op("linear")
        ... def linear(input, weight, bias=None): ...
    """
    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def call(*args, **kwargs):
            active = _state.active
            if active is None:
                return fn(*args, **kwargs)
            policy = active[2].get(name)
            if policy is None or kwargs.get("dtype") is not None:
                return fn(*args, **kwargs)
            args, kwargs = cast_for(policy, active[1], args, kwargs)
            _state.active = None
            try:
                return fn(*args, **kwargs)
            finally:
                _state.active = active
        call.__wrapped_autocast_op__ = name  # type: ignore[attr-defined]  # (a function attribute)
        return call
    return decorate
