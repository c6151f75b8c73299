"""Devices and dtypes as torch spells them: ``"cuda:0"``, ``torch.float64``, ``to(x)``.

One parser for every place that accepts torch's ``device=`` / ``dtype=`` arguments
(``Module.to``, layer factory keywords), ``put_global``: the one way jnn places a value
with a (possibly multi-process) sharding (``nn.fully_shard``, ``nn.jit``, optimizer state),
and ``fits_one_program``: whether eager values can go into one compiled call (eager kernels,
the eager optimizer step).
"""
from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["fits_one_program", "gpu_device", "parse_device", "parse_dtype", "parse_to",
           "put_global"]


def gpu_device(index: int | None):
    """The ``index``-th GPU (``cuda(index)``), with an install hint when JAX has none."""
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


def parse_device(device):
    """A ``jax.Device`` for ``None``, a device, an int (GPU index) or ``"cpu"``/``"cuda:1"``."""
    if device is None or isinstance(device, jax.Device):
        return device
    if isinstance(device, int):
        return gpu_device(device)
    text = str(device)
    kind, _, index = text.partition(":")
    if kind == "cpu":
        return jax.devices("cpu")[int(index or 0)]
    if kind in ("cuda", "gpu"):
        return gpu_device(int(index) if index else None)
    if kind == "tpu":
        return jax.devices("tpu")[int(index or 0)]
    raise ValueError("to(): expected a device like 'cpu', 'cuda:0' or a jax.Device, got "
                     f"{device!r}")


def parse_dtype(dtype):
    """A numpy dtype for ``None``, a dtype, a dtype name or a torch dtype."""
    if dtype is None:
        return None
    if type(dtype).__module__.startswith("torch"):  # torch.float64 -> "float64"
        dtype = str(dtype).replace("torch.", "")
    return jnp.dtype(dtype)


def _is_array(value: Any) -> bool:
    return isinstance(value, jax.Array) or hasattr(value, "__jax_array__") or \
        type(value).__module__ == "numpy" and hasattr(value, "dtype")


def _looks_like_dtype(value) -> bool:
    if _is_array(value) or isinstance(value, jax.Device):
        return False
    try:
        parse_dtype(value)
        return True
    except (TypeError, ValueError):
        return False


def parse_to(*args, **kwargs):
    """``(device, dtype)`` from torch's ``to(...)`` signatures: ``to(dtype)``, ``to(device)``,
    ``to(device, dtype)``, ``to(array)`` and the keywords ``device=``, ``dtype=``,
    ``non_blocking=``, ``copy=``, ``memory_format=`` (the last three accepted and ignored)."""
    device, dtype = kwargs.pop("device", None), kwargs.pop("dtype", None)
    kwargs.pop("non_blocking", None)
    kwargs.pop("copy", None)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    for arg in args:
        if isinstance(arg, bool):
            continue  # non_blocking passed positionally
        if _is_array(arg):
            dtype = jnp.asarray(arg).dtype
            device = getattr(arg, "device", None) if isinstance(arg, jax.Array) else device
        elif _looks_like_dtype(arg):
            dtype = arg
        else:
            device = arg
    return parse_device(device), parse_dtype(dtype)


def put_global(value, sharding: jax.sharding.Sharding):
    """``value`` placed with ``sharding``, which may span several processes.

    ``value`` must be the same on every process (a parameter made from the same seed, a
    loaded checkpoint, a scalar). With one process this is ``jax.device_put``; with several,
    each process builds its own shards from its copy (``jax.make_array_from_callback``), so no
    process needs another's data.
    """
    if getattr(value, "sharding", None) == sharding:
        return value
    if jax.process_count() == 1 or sharding.is_fully_addressable:
        return jax.device_put(value, sharding)
    if isinstance(value, jax.Array) and not value.is_fully_addressable:
        from jax.experimental import multihost_utils
        value = multihost_utils.process_allgather(value, tiled=True)
    host = np.asarray(value)
    return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])


def fits_one_program(values: Any, *, tracers_ok: bool) -> bool:
    """Whether ``values`` (a pytree) can be the arguments of one ``jax.jit`` call.

    They can when every leaf is a number or an array and the committed arrays all live on the
    same devices; otherwise the caller runs its plain code, whose validation raises jnn's own
    error instead of ``jax.jit``'s. With ``tracers_ok=False`` a tracer also says no (the
    optimizer's update runs as plain code inside an ``nn.jit`` trace).
    """
    devices = None
    for leaf in jax.tree_util.tree_leaves(values):
        if isinstance(leaf, jax.core.Tracer):
            if not tracers_ok:
                return False
        elif isinstance(leaf, jax.Array):
            if leaf.committed:
                found = leaf.sharding.device_set
                if devices is None:
                    devices = found
                elif found != devices:
                    return False
        elif not isinstance(leaf, (np.ndarray, np.generic, int, float, complex)):
            return False
    return True
