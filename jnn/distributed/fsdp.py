"""``fully_shard``: sharded parameters, buffers and optimizer state (torch's FSDP2).

``fully_shard(model, mesh=...)`` places every parameter and buffer of ``model`` as a
``jax.Array`` sharded over one axis of a ``jax.sharding.Mesh`` (``NamedSharding``). Nothing else
changes: the model is still a plain module, the training step is the same ``nn.jit`` function.
``jax.jit`` compiles a program for the arrays' shardings, and XLA's SPMD partitioner inserts
the collectives FSDP is made of (all-gather of a parameter where the computation needs it
whole, a reduction of its gradient onto the shards); the updated state is written back with
the same shardings. Design notes: ``docs/design.md``, "Sharded training".
"""
from __future__ import annotations

import fnmatch
import math
import weakref
from collections.abc import Callable, Mapping

import jax
import numpy as np
from jax.sharding import AxisType, Mesh, NamedSharding, PartitionSpec

from .._placement import put_global
from ..modules.module import Module
from ..parameter import Parameter

__all__ = ["fully_shard", "default_mesh", "shard_batch", "full_array", "placements"]

_DEFAULT_AXIS = "fsdp"
# module -> {its own parameter/buffer name: NamedSharding}, for the state_dict hooks.
_SHARDINGS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

PlacementRule = Mapping[str, PartitionSpec] | Callable[[str, object], PartitionSpec | None]


def default_mesh(axis_name: str = _DEFAULT_AXIS) -> Mesh:
    """A 1-D mesh over every device of every process (``jax.devices()``), named ``axis_name``.

    torch's ``init_device_mesh("cuda", (world_size,))`` for :func:`fully_shard`.

    Args:
        axis_name: the mesh axis name (default ``"fsdp"``).

    Returns:
        A ``jax.sharding.Mesh`` of shape ``(len(jax.devices()),)``.

    Example:
        >>> mesh = jnn.distributed.default_mesh()   # Mesh('fsdp': 8)
    """
    return Mesh(np.array(jax.devices(), dtype=object), (axis_name,))


def _check_mesh(mesh, axis_name):
    if mesh is None:
        mesh = default_mesh(axis_name or _DEFAULT_AXIS)
    if not isinstance(mesh, Mesh):
        raise TypeError(f"fully_shard: mesh must be a jax.sharding.Mesh, got "
                        f"{type(mesh).__name__}")
    if any(t != AxisType.Auto for t in mesh.axis_types):
        # The step is written as for one device, so XLA must be free to choose the sharding
        # of every intermediate value: Auto axes. (jax.make_mesh makes Explicit ones, whose
        # sharding-in-types would ask the step to say how, e.g., an embedding gather's output
        # is sharded.) docs/design.md, "Sharded training".
        mesh = mesh.update(axis_types=(AxisType.Auto,) * len(mesh.axis_names))
    names = tuple(mesh.axis_names)
    if axis_name is None:
        if len(names) != 1:
            raise ValueError(f"fully_shard: the mesh has several axes {names}; say which one "
                             "parameters are sharded over with axis_name=")
        axis_name = names[0]
    if axis_name not in names:
        raise ValueError(f"fully_shard: axis_name {axis_name!r} is not an axis of the mesh, "
                         f"whose axes are {names}")
    return mesh, axis_name


def _default_spec(shape: tuple, size: int, axis_name: str) -> PartitionSpec:
    """The default rule: dim 0 split over the axis when it divides evenly, else replicated."""
    if len(shape) >= 1 and shape[0] % size == 0:
        return PartitionSpec(axis_name)
    return PartitionSpec()


def _check_spec(spec, name: str, shape: tuple, mesh: Mesh) -> PartitionSpec:
    if not isinstance(spec, PartitionSpec):
        raise TypeError(f"fully_shard: the placement rule gave {type(spec).__name__} for "
                        f"{name!r}; expected a jax.sharding.PartitionSpec (or None for the "
                        "default rule)")
    if len(spec) > len(shape):
        raise ValueError(f"fully_shard: PartitionSpec {spec} for {name!r} has {len(spec)} "
                         f"entries, but the array has only {len(shape)} dimension(s) "
                         f"(shape {shape})")
    used = []
    for dim, entry in enumerate(spec):
        axes = () if entry is None else (entry,) if isinstance(entry, str) else tuple(entry)
        for axis in axes:
            if axis not in mesh.shape:
                raise ValueError(f"fully_shard: PartitionSpec {spec} for {name!r} names mesh "
                                 f"axis {axis!r}, but the mesh's axes are "
                                 f"{tuple(mesh.axis_names)}")
            if axis in used:
                raise ValueError(f"fully_shard: PartitionSpec {spec} for {name!r} uses mesh "
                                 f"axis {axis!r} twice")
            used.append(axis)
        parts = math.prod(mesh.shape[a] for a in axes)
        if shape[dim] % parts:
            raise ValueError(f"fully_shard: PartitionSpec {spec} for {name!r} splits dim {dim} "
                             f"(size {shape[dim]}) into {parts} parts, which does not divide it")
    return spec


def _rule_spec(rule, name: str, value):
    """The spec a user rule gives ``name`` (None: use the default rule)."""
    if rule is None:
        return None
    if isinstance(rule, Mapping):
        if name in rule:
            return rule[name]
        for pattern, spec in rule.items():
            if fnmatch.fnmatchcase(name, pattern):
                return spec
        return None
    return rule(name, value)


def full_array(value):
    """The whole array behind a (possibly sharded, possibly multi-process) ``jax.Array``, on
    one device of this process; other values come back unchanged.

    With several processes this is a collective (``process_allgather``): every process must
    call it, as every rank calls ``state_dict`` with torch's FSDP.

    Args:
        value: a ``jax.Array`` (or anything else).

    Returns:
        A single-device ``jax.Array`` holding every element.
    """
    if not isinstance(value, jax.Array) or isinstance(value, jax.core.Tracer) or \
            len(value.sharding.device_set) == 1:
        return value  # (a tracer: state_dict() called inside a compiled step)
    if value.is_fully_addressable:
        return jax.device_put(value, jax.local_devices()[0])
    from jax.experimental import multihost_utils
    gathered = multihost_utils.process_allgather(value, tiled=True)
    return jax.device_put(gathered, jax.local_devices()[0])


def shard_batch(batch, mesh: Mesh | None = None, axis_name: str | None = None):
    """Split a batch's dim 0 over a mesh axis, as FSDP's data-parallel input.

    With one process ``batch`` is the global batch. After ``jax.distributed.initialize``
    each process passes its own part (its rank's batch, as with torch's ``DistributedSampler``)
    and gets back one global array (``jax.make_array_from_process_local_data``).

    Args:
        batch: an array, or a pytree of arrays (e.g. ``(x, y)``).
        mesh: the mesh given to :func:`fully_shard` (default: :func:`default_mesh`).
        axis_name: the axis to split over (default: the mesh's only axis).

    Returns:
        The same structure of ``jax.Array`` sharded ``PartitionSpec(axis_name)``.

    Example:
        >>> mesh = jax.make_mesh((len(jax.devices()),), ("fsdp",))
        >>> x, y = jnn.distributed.shard_batch((jnp.ones((8, 4)), jnp.zeros(8)), mesh)
        >>> x.shape, tuple(x.sharding.spec)
        ((8, 4), ('fsdp',))
    """
    mesh, axis_name = _check_mesh(mesh, axis_name)
    sharding = NamedSharding(mesh, PartitionSpec(axis_name))
    size = mesh.shape[axis_name]
    local = size // jax.process_count() if jax.process_count() > 1 else size

    def put(x):
        n = np.shape(x)[0] if np.ndim(x) else None
        if n is None or n % local:
            raise ValueError(f"shard_batch: a batch of leading dimension {n} does not split "
                             f"evenly over the {local} devices of mesh axis {axis_name!r}"
                             + (" in this process" if jax.process_count() > 1 else ""))
        if jax.process_count() == 1:
            return jax.device_put(x, sharding)
        return jax.make_array_from_process_local_data(sharding, np.asarray(x))

    return jax.tree_util.tree_map(put, batch)


def placements(module: Module) -> dict:
    """Where each array of ``module`` lives, to inspect what :func:`fully_shard` did.

    Args:
        module: any module.

    Returns:
        ``{name: PartitionSpec}`` for every parameter, then every buffer
        (``named_parameters()`` / ``named_buffers()`` names); ``None`` for an array that is not
        placed with a ``NamedSharding``.

    Example:
        >>> specs = jnn.distributed.placements(nn.fully_shard(nn.Linear(4, 8)))
        >>> {name: tuple(spec) for name, spec in specs.items()}
        {'weight': ('fsdp',), 'bias': ('fsdp',)}
    """
    out = {}
    for name, value in (*module.named_parameters(), *module.named_buffers()):
        data = value._data if isinstance(value, Parameter) else value
        sharding = getattr(data, "sharding", None)
        out[name] = sharding.spec if isinstance(sharding, NamedSharding) else None
    return out


def fully_shard(module: Module, *, mesh: Mesh | None = None,
                reshard_after_forward: bool | int | None = None,
                shard_placement_fn: PlacementRule | None = None,
                mp_policy=None, offload_policy=None, ignored_params=None,
                axis_name: str | None = None) -> Module:
    """Shard ``module``'s parameters and buffers over a device mesh (``torch.distributed.fsdp.
    fully_shard``, FSDP2).

    Every parameter and buffer of ``module`` and its submodules becomes a ``jax.Array`` with a
    ``NamedSharding`` on ``mesh``. The default rule: **dim 0 is split over** ``axis_name``
    **when the axis size divides it; otherwise (and for scalars) the array is replicated**.
    ``shard_placement_fn`` overrides the rule per array, e.g. to split Linear/attention
    weights over a second ("tensor parallel") mesh axis.

    The training step is unchanged: under ``nn.jit`` it compiles for these shardings (XLA's
    SPMD partitioner all-gathers a parameter where the computation needs it whole and
    reduces its gradient onto the shards), and the updated parameters, buffers and optimizer state
    are written back with the shardings they came in with. Optimizer state created for a
    sharded parameter (momentum buffers, Adam's moments) gets that parameter's sharding. Pass
    the batch split over the same axis (:func:`shard_batch`, or ``DataLoader(device=
    NamedSharding(mesh, PartitionSpec(axis_name)))``): each device then computes on its part
    of the batch, and BatchNorm statistics and the loss are over the whole batch, exactly as
    on one device. ``state_dict()`` returns full, single-device arrays (torch-compatible
    checkpoints); ``load_state_dict()`` puts loaded values back in their shardings.

    With several processes (after ``jax.distributed.initialize``) the same code works: the
    mesh spans every process's devices, each process holds its shards, and
    :func:`shard_batch` assembles the global batch from each process's part.

    Args:
        module: the model (or a submodule) to shard; changed in place.
        mesh: a ``jax.sharding.Mesh`` (torch's ``DeviceMesh``); default: a 1-D mesh over
            ``jax.devices()`` with axis ``"fsdp"``. Its axes are used as ``AxisType.Auto``
            (XLA chooses the shardings inside the step), also when made ``Explicit`` (the
            default of ``jax.make_mesh``).
        reshard_after_forward: accepted for torch compatibility; XLA decides how long a
            gathered parameter lives inside the compiled step.
        shard_placement_fn: per-array placement: a callable ``(name, array) ->
            PartitionSpec | None`` or a dict ``{name or glob pattern: PartitionSpec}``
            (exact names first, then patterns in order). ``None`` from either means the
            default rule. Names are ``module.named_parameters()`` /
            ``named_buffers()`` names.
        mp_policy, offload_policy: not supported (``None`` only); use ``nn.autocast`` for
            mixed precision.
        ignored_params: parameters to leave where they are.
        axis_name: the mesh axis to shard over (jnn only); default: the mesh's only axis.

    Returns:
        ``module`` itself.

    Raises:
        ValueError: ``axis_name`` is not an axis of the mesh (or the mesh has several axes and
            none was named), or a ``PartitionSpec`` names an unknown axis, has more entries
            than the array has dimensions, or splits a dimension unevenly.
        TypeError: ``mesh`` is not a ``Mesh``, or the rule gave something other than a
            ``PartitionSpec``/``None``.

    Shape:
        Unchanged: every array keeps its global shape; each device holds
        ``shape[0] / mesh.shape[axis_name]`` rows of a sharded one.

    Example:
        >>> mesh = jax.make_mesh((len(jax.devices()),), ("fsdp",))
        >>> model = nn.fully_shard(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1)),
        ...                        mesh=mesh)
        >>> opt = optim.Adam(model.parameters())       # moments follow the shardings
        >>> @nn.jit                                    # the same step as on one device
        ... def step(model, opt, x, y):
        ...     loss, grads = nn.value_and_grad(lambda m: F.mse_loss(m(x)[:, 0], y))(model)
        ...     opt.step(grads)
        ...     return loss
        >>> x, y = jnn.distributed.shard_batch((jnp.ones((8, 4)), jnp.zeros(8)), mesh)
        >>> loss = step(model, opt, x, y)
        >>> model[0].weight.shape                      # the global shape, split over the mesh
        (8, 4)

    Differences from PyTorch:
        * No ``FSDPModule`` class swap, no ``unshard()``/``reshard()``, no per-layer
          communication groups: XLA schedules the gathers and gradient reductions of the whole
          compiled step. Calling it on submodules first and on the root last (torch's
          pattern) works and gives the same placement.
        * A dimension the axis size does not divide is replicated, not padded; with
          ``shard_placement_fn`` any dimension (or several, over several mesh axes) can be
          split. torch's ``shard_placement_fn`` takes the parameter only and returns a
          ``Shard(dim)``; jnn's also gets the name and returns a ``PartitionSpec``.
        * Buffers are sharded by the same rule (torch replicates them).
        * ``state_dict()`` gives full arrays, like torch's ``get_model_state_dict`` with
          ``full_state_dict=True``, not DTensors. Optimizer ``state_dict()`` keeps sharded
          arrays (:func:`full_array` gathers one).
        * The batch is one global array split over the mesh, not one tensor per rank.
    """
    if mp_policy is not None or offload_policy is not None:
        raise NotImplementedError("fully_shard: mp_policy and offload_policy are not "
                                  "supported; use nn.autocast for mixed precision")
    if not isinstance(module, Module):
        raise TypeError(f"fully_shard: expected a jnn Module, got {type(module).__name__}")
    if shard_placement_fn is not None and not (callable(shard_placement_fn)
                                               or isinstance(shard_placement_fn, Mapping)):
        raise TypeError("fully_shard: shard_placement_fn must be a callable (name, array) -> "
                        "PartitionSpec | None or a dict {name: PartitionSpec}, got "
                        f"{type(shard_placement_fn).__name__}")
    mesh, axis_name = _check_mesh(mesh, axis_name)
    ignored = {id(p) for p in (ignored_params or ())}
    size = mesh.shape[axis_name]
    plan: dict[int, tuple] = {}  # id(owner module) -> (owner, {local name: sharding})
    for prefix, owner in module.named_modules():
        local = plan.setdefault(id(owner), (owner, {}))[1]
        entries = [(n, p, p._data) for n, p in owner._parameters.items() if p is not None]
        entries += [(n, None, b) for n, b in owner._buffers.items() if b is not None]
        for name, param, value in entries:
            if param is not None and id(param) in ignored:
                continue
            full_name = f"{prefix}.{name}" if prefix else name
            shape = tuple(np.shape(value))
            spec = _rule_spec(shard_placement_fn, full_name, value)
            spec = _default_spec(shape, size, axis_name) if spec is None else \
                _check_spec(spec, full_name, shape, mesh)
            local[name] = NamedSharding(mesh, spec)
    for owner, local in plan.values():
        _place_module(owner, local)
        if owner not in _SHARDINGS:
            owner.register_state_dict_post_hook(_gather_hook)
            owner.register_load_state_dict_post_hook(_reshard_hook)
        # Kept outside the module (no attribute): the module's structure, its pytree aux data
        # and nn.jit's signature stay those of the unsharded model.
        _SHARDINGS[owner] = local
    return module


def _place_module(owner: Module, shardings: dict) -> None:
    for name, sharding in shardings.items():
        param = owner._parameters.get(name)
        if param is not None:
            param._data = put_global(param._data, sharding)
        elif owner._buffers.get(name) is not None:
            owner._buffers[name] = put_global(owner._buffers[name], sharding)


def _gather_hook(owner: Module, destination: dict, prefix: str, local_metadata) -> None:
    """state_dict post-hook: this module's own sharded entries become full arrays."""
    for name in _SHARDINGS.get(owner, {}):
        key = prefix + name
        value = destination.get(key)
        if isinstance(value, jax.Array):
            destination[key] = full_array(value)


def _reshard_hook(owner: Module, incompatible_keys) -> None:
    """load_state_dict post-hook: loaded values go back to this module's shardings."""
    _place_module(owner, _SHARDINGS.get(owner, {}))
