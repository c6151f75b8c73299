"""``nn.pmap``: data-parallel training steps on ``jax.jit`` + ``jax.shard_map``.

``nn.pmap(step)`` keeps ``jax.pmap``'s contract for a training step (split the batch's leading
dimension across devices, run the step on each device, average gradients) with ``nn.jit``'s
state semantics, built on ``jax.jit(jax.shard_map(...))`` over a cached ``Mesh``:

* array arguments with at least one dimension are split along dim 0 (``P(axis)``); modules,
  optimizers and other state are replicated (``P()``), never stacked copies;
* gradients from ``nn.grad``/``nn.value_and_grad`` inside the step are averaged across devices
  (``lax.pmean``), so replicated parameters stay identical;
* state that differs across devices after the step (BatchNorm running statistics) is averaged
  (floating) or reduced with ``pmax`` (integer) before it is written back, once;
* the random stream is folded with the device index, so devices draw different dropout masks,
  and advances once per call;
* outputs: arrays with a leading dimension are concatenated along it (the whole batch);
  scalars come back averaged across devices (floating) or summed (integer, e.g. counts).

The mesh spans ``jax.devices()``: after ``jax.distributed.initialize`` that is every device of
every process, and each process passes its process-local batch.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from .._axis import current_axis_name, mapped_axis, varies_over
from ..random import default_generator
from ..transforms.jit import Entry, Jit

__all__ = ["pmap", "current_axis_name"]

@functools.cache
def _mesh(devices: tuple, axis_name: str) -> Mesh:
    return Mesh(np.array(devices, dtype=object), (axis_name,))


def _replicate(x, axis_name: str):
    """Make a per-device value replicated: average floats, take the max of integers."""
    if x is None or not varies_over(x, axis_name):
        return x
    if jnp.issubdtype(x.dtype, jnp.inexact):
        return jax.lax.pmean(x, axis_name)
    return jax.lax.pmax(x, axis_name)


class _Pmap(Jit):
    """The callable returned by :func:`pmap`: ``nn.jit``'s machinery with a sharded program.

    Built on :class:`~jnn.transforms.jit.Jit`'s extension points: :meth:`prepare_entry`
    places the collected state replicated on the mesh, :meth:`program` wraps the step's
    body (:meth:`Jit.run_traced`) in ``jax.shard_map``.
    """

    layout_rewrite = False

    def __init__(self, fn: Callable, axis_name: str, devices: Sequence | None = None,
                 static_argnums=(), static_argnames=()):
        super().__init__(fn, static_argnums, static_argnames)
        self.axis_name = axis_name
        self.devices = tuple(devices) if devices is not None else None
        # nn.pmap keeps the state replicated on the mesh between calls; DataParallel leaves
        # the module where it is (and pays a transfer per call), as torch's does.
        self.place_state = True

    @property
    def mesh(self) -> Mesh:
        devices = self.devices if self.devices is not None else tuple(jax.devices())
        return _mesh(devices, self.axis_name)

    @property
    def device_count(self) -> int:
        return self.mesh.devices.size

    def __call__(self, *args, **kwargs):
        n = self.device_count
        for i, a in enumerate(args):
            shape = getattr(a, "shape", None)
            if shape and isinstance(a, (jax.Array, np.ndarray)) and shape[0] % n:
                raise ValueError(f"nn.pmap: argument {i} has leading (batch) dimension {shape[0]}, "
                                 f"which does not divide evenly across {n} devices")
        if jax.process_count() > 1:
            args = tuple(self._globalize(a) for a in args)
        # Advance the random stream on the host, once per call: the program derives its
        # per-device keys from the stream's key, which thus never becomes a mesh array.
        default_generator.next_key()
        out = super().__call__(*args, **kwargs)
        if jax.process_count() > 1:
            out = jax.tree.map(self._localize, out)
        return out

    def prepare_entry(self, entry: Entry) -> None:
        if not self.place_state:
            return
        # Place the state replicated on the mesh now, so the first call sees the same input
        # shardings as every later one (whose state comes back replicated): no second trace.
        # With several processes the values become global arrays (each process holds a full
        # replica), which is also how the step returns them.
        replicated = NamedSharding(self.mesh, P())
        for (c, k), kind in zip(entry.slots, entry.kinds):
            if kind in ("rng", "hyper"):
                continue
            v = c[k]
            if isinstance(v, jax.Array) and v.sharding != replicated:
                c[k] = (jax.device_put(v, replicated) if jax.process_count() == 1 else
                        jax.make_array_from_process_local_data(replicated, np.asarray(v)))

    # -- multi-process: process-local data <-> global arrays ----------------------------------
    def _globalize(self, a):
        if isinstance(a, (jax.Array, np.ndarray)) and np.ndim(a) >= 1:
            return jax.make_array_from_process_local_data(NamedSharding(self.mesh,
                                                                        P(self.axis_name)), a)
        return a

    @staticmethod
    def _localize(x):
        if not isinstance(x, jax.Array) or x.is_fully_addressable:
            return x
        if x.sharding.is_fully_replicated:
            return x.addressable_data(0)
        shards = sorted(x.addressable_shards, key=lambda s: s.index[0].start or 0)
        return jnp.concatenate([s.data for s in shards])

    # -- the compiled program -----------------------------------------------------------------
    def program(self, entry: Entry, layout: tuple, variant, call) -> Callable:
        axis = self.axis_name
        kinds = entry.kinds
        out_tree: dict = {}

        def body(values, dyn):
            values = list(values)
            index = jax.lax.axis_index(axis)
            for i, kind in enumerate(kinds):
                if kind == "rng":  # each device draws its own numbers
                    values[i] = jax.random.fold_in(values[i], index)
            with mapped_axis(axis):
                out, writes, extras = self.run_traced(entry, layout, variant, call, values, dyn)
            # Streams were advanced before the call (see __call__); the per-device keys the
            # function left behind are not written back.
            writes = {i: _replicate(v, axis) for i, v in writes.items() if kinds[i] != "rng"}
            extras = [_replicate(v, axis) for v in extras]
            leaves, out_tree["def"] = jax.tree_util.tree_flatten(out)
            batched, scalars = {}, {}
            for i, leaf in enumerate(leaves):
                leaf = jnp.asarray(leaf)
                if leaf.ndim >= 1:
                    batched[i] = leaf
                elif jnp.issubdtype(leaf.dtype, jnp.inexact):
                    scalars[i] = jax.lax.pmean(leaf, axis)
                else:
                    scalars[i] = jax.lax.psum(leaf, axis)
            return batched, scalars, writes, extras

        def compiled(values, dyn):
            dyn_specs = [P(axis) if jnp.ndim(d) >= 1 else P() for d in dyn]
            mapped = jax.shard_map(body, mesh=self.mesh, in_specs=(P(), dyn_specs),
                                   out_specs=(P(axis), P(), P(), P()))
            batched, scalars, writes, extras = mapped(values, list(dyn))
            treedef = out_tree["def"]
            leaves = [batched[i] if i in batched else scalars[i]
                      for i in range(treedef.num_leaves)]
            return jax.tree_util.tree_unflatten(treedef, leaves), writes, extras

        return compiled


def pmap(fn: Callable | None = None, axis_name: str = "batch",
         devices: Sequence | None = None, *, static_argnums=(), static_argnames=()):
    """Data-parallel ``nn.jit``: split the batch across devices, average gradients.

    Args:
        fn: a training (or evaluation) step taking modules/optimizers and arrays, as for
            ``nn.jit``.
        axis_name: the mesh axis name (usable in ``jax.lax`` collectives inside ``fn``).
        devices: the devices to use (default: all of ``jax.devices()``).
        static_argnums, static_argnames: as for ``nn.jit``.

    Returns:
        A callable with ``fn``'s signature. Array arguments' leading dimension must divide by
        the device count. Outputs with a leading dimension are concatenated across devices;
        scalar outputs are averaged (floating) or summed (integer).

    Example:
        >>> model = nn.Linear(4, 1)
        >>> opt = optim.SGD(model.parameters(), lr=0.1)
        >>> def train_step(model, opt, x, y):  # the same function as for nn.jit
        ...     loss, grads = nn.value_and_grad(lambda m: F.mse_loss(m(x), y))(model)
        ...     opt.step(grads)
        ...     return loss
        >>> step = nn.pmap(train_step)
        >>> x, y = jnp.ones((8, 4)), jnp.zeros((8, 1))  # the global batch (8 divides by devices)
        >>> step(model, opt, x, y).shape                  # the loss, averaged over devices
        ()

    Differences from ``jax.pmap``: no leading device axis on inputs or state; state is
    replicated, not stacked; gradients are averaged automatically.
    """
    if fn is None:
        return functools.partial(pmap, axis_name=axis_name, devices=devices,
                                 static_argnums=static_argnums, static_argnames=static_argnames)
    if isinstance(static_argnums, int):
        static_argnums = (static_argnums,)
    if isinstance(static_argnames, str):
        static_argnames = (static_argnames,)
    return _Pmap(fn, axis_name, devices, static_argnums, static_argnames)
