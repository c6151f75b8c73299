"""torch's ``DataParallel`` and its helpers (``replicate``, ``scatter``, ``gather``,
``parallel_apply``, ``data_parallel``), on JAX devices.

``device_ids`` are indices into ``jax.devices()`` (or ``jax.Device`` objects). The forward pass
of ``DataParallel``/``data_parallel`` runs through ``nn.pmap``: the batch is split along ``dim``,
the module runs on every device with replicated parameters in one compiled program, and the
outputs are gathered on ``output_device``.

Differences from PyTorch:
    Buffers a replica updates (BatchNorm running statistics) are averaged across devices, where
    torch keeps replica 0's. A batch that does not divide by the device count runs on one
    device (torch would scatter uneven chunks).
"""
from __future__ import annotations

import copy
import functools
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ..modules.module import Module
from ..types import DeviceLike
from .pmap import pmap

__all__ = ["DataParallel", "data_parallel", "replicate", "scatter", "gather", "parallel_apply"]


def _devices(device_ids: Sequence | None) -> list:
    available = jax.devices()
    if device_ids is None:
        return list(available)
    devices = []
    for d in device_ids:
        if isinstance(d, jax.Device):
            devices.append(d)
        else:
            index = int(getattr(d, "index", d))
            if not 0 <= index < len(available):
                raise ValueError(f"device_ids: index {index} out of range, {len(available)} "
                                 f"device(s) available: {available}")
            devices.append(available[index])
    if not devices:
        raise ValueError("device_ids: expected at least one device, got an empty list")
    return devices


def _device(device, default):
    if device is None:
        return default
    return device if isinstance(device, jax.Device) else _devices([device])[0]


def _forward(module, *inputs, **kwargs):
    return module(*inputs, **kwargs)


_PMAPS: dict = {}


def _pmapped(devices: tuple):
    if devices not in _PMAPS:
        _PMAPS[devices] = pmap(_forward, devices=devices)
        _PMAPS[devices].place_state = False
    return _PMAPS[devices]


def _rehome(module: Module) -> None:
    """Bring buffers a data-parallel forward updated (replicated on the mesh) back to an
    ordinary single-device array, so the module keeps working with other arrays as before."""
    for m in module.modules():
        for name, b in m._buffers.items():
            if isinstance(b, jax.Array) and len(b.devices()) > 1:
                m._buffers[name] = jnp.asarray(np.asarray(b))


def _move_dim(tree, src: int, dst: int):
    if src == dst:
        return tree
    return jax.tree.map(lambda a: jnp.moveaxis(a, src, dst) if jnp.ndim(a) > src else a, tree)


def _batch_sizes(tree) -> set:
    return {jnp.shape(a)[0] for a in jax.tree.leaves(tree) if jnp.ndim(a) >= 1}


def data_parallel(module: Module, inputs: Any, device_ids: Sequence | None = None,
                  output_device=None, dim: int = 0, module_kwargs: dict | None = None):
    """Evaluate ``module(*inputs)`` with the batch split across devices (torch's functional form).

    Args:
        module: the module to evaluate.
        inputs: one input or a tuple of inputs; arrays are split along ``dim``.
        device_ids: devices to use (indices into ``jax.devices()``; default: all).
        output_device: where the gathered output goes (default: the first device).
        dim: the batch dimension.
        module_kwargs: keyword arguments for the module.

    Returns:
        The module's output for the whole batch.
    """
    devices = tuple(_devices(device_ids))
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    module_kwargs = module_kwargs or {}
    moved_inputs, moved_kwargs = _move_dim((inputs, module_kwargs), dim, 0)
    sizes = _batch_sizes((moved_inputs, moved_kwargs))
    batch = next(iter(sizes)) if len(sizes) == 1 else None
    if len(devices) == 1 or batch is None or batch % len(devices):
        out = module(*inputs, **module_kwargs)
    else:
        out = _pmapped(devices)(module, *moved_inputs, **moved_kwargs)
        out = _move_dim(out, 0, dim)
        if module.training:
            _rehome(module)
    target = _device(output_device, devices[0])
    return jax.device_put(out, target)


class DataParallel(Module):
    """Run a module data-parallel over devices (``torch.nn.DataParallel``).

    Args:
        module: the module to parallelise (registered as ``self.module``, so state_dict keys
            are ``module.<name>`` as in torch).
        device_ids: devices to use (indices into ``jax.devices()``; default: all).
        output_device: where outputs are gathered (default: ``device_ids[0]``).
        dim: the batch dimension to split.

    Example:
        >>> model = nn.Linear(4, 2)
        >>> net = nn.DataParallel(model)     # all of jax.devices()
        >>> x = jnp.ones((8, 4))             # split on dim 0 when 8 divides by the device count
        >>> out = net(x)
        >>> out.shape, bool(jnp.allclose(out, model(x), atol=1e-6))
        ((8, 2), True)
        >>> list(net.state_dict())           # torch's keys
        ['module.weight', 'module.bias']
    """

    def __init__(self, module: Module, device_ids: Sequence | None = None,
                 output_device: DeviceLike | None = None, dim: int = 0) -> None:
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DataParallel: expected a Module, got {type(module).__name__}")
        devices = _devices(device_ids)
        self.module = module
        self.device_ids = [jax.devices().index(d) if d in jax.devices() else d for d in devices]
        self.output_device = self.device_ids[0] if output_device is None else output_device
        self.dim = dim
        self.src_device_obj = devices[0]

    def forward(self, *inputs, **kwargs) -> Any:
        return data_parallel(self.module, inputs, self.device_ids, self.output_device, self.dim,
                             kwargs)

    def replicate(self, module: Module, device_ids: Sequence) -> list:
        return replicate(module, device_ids)

    def scatter(self, inputs, kwargs, device_ids):
        return scatter(inputs, device_ids, self.dim), scatter(kwargs, device_ids, self.dim)

    def parallel_apply(self, replicas, inputs, kwargs):
        return parallel_apply(replicas, inputs, kwargs, self.device_ids[:len(replicas)])

    def gather(self, outputs, output_device):
        return gather(outputs, output_device, dim=self.dim)


def replicate(network: Module, devices: Sequence, detach: bool = False) -> list:
    """Copies of ``network``, one per device, with their arrays placed on that device."""
    replicas = []
    for device in _devices(devices):
        replica = copy.deepcopy(network)
        replica._apply(functools.partial(jax.device_put, device=device))
        replicas.append(replica)
    return replicas


def _chunks(a, n: int, dim: int) -> list:
    size = a.shape[dim]
    step = -(-size // n)  # torch.chunk: ceil-sized chunks, possibly fewer than n
    return [jax.lax.slice_in_dim(a, i, min(i + step, size), axis=dim)
            for i in range(0, size, step)]


def scatter(inputs: Any, target_gpus: Sequence, dim: int = 0) -> list:
    """Split arrays in ``inputs`` along ``dim`` into per-device chunks (torch's ``scatter``).

    Returns a list with one entry per device; tuples, lists and dicts are scattered elementwise
    and other objects are repeated.
    """
    devices = _devices(target_gpus)
    n = len(devices)

    def split(obj):
        if isinstance(obj, (jax.Array, np.ndarray)):
            return [jax.device_put(c, d) for c, d in zip(_chunks(jnp.asarray(obj), n, dim),
                                                         devices)]
        if isinstance(obj, tuple) and obj:
            return [tuple(x) for x in zip(*map(split, obj))]
        if isinstance(obj, list) and obj:
            return [list(x) for x in zip(*map(split, obj))]
        if isinstance(obj, dict) and obj:
            parts = {k: split(v) for k, v in obj.items()}
            count = min(len(v) for v in parts.values())
            return [{k: v[i] for k, v in parts.items()} for i in range(count)]
        return [obj for _ in devices]

    return split(inputs)


def gather(outputs: Sequence, target_device, dim: int = 0):
    """Concatenate per-device outputs along ``dim`` on ``target_device`` (torch's ``gather``)."""
    device = _device(target_device, jax.devices()[0])
    first = outputs[0]
    if isinstance(first, (jax.Array, np.ndarray)):
        return jax.device_put(jnp.concatenate([jax.device_put(o, device) for o in outputs],
                                              axis=dim), device)
    if isinstance(first, dict):
        return type(first)((k, gather([o[k] for o in outputs], device, dim)) for k in first)
    if isinstance(first, (tuple, list)):
        return type(first)(gather(parts, device, dim) for parts in zip(*outputs))
    return first


def parallel_apply(modules: Sequence[Module], inputs: Sequence, kwargs_tup=None,
                   devices=None) -> list:
    """Apply each module to its input; JAX's asynchronous dispatch runs them concurrently."""
    if len(modules) != len(inputs):
        raise ValueError(f"parallel_apply: {len(modules)} modules but {len(inputs)} inputs")
    kwargs_tup = kwargs_tup or ({},) * len(modules)
    return [m(*(x if isinstance(x, (tuple, list)) else (x,)), **kw)
            for m, x, kw in zip(modules, inputs, kwargs_tup)]
