"""Sharded training on JAX's sharding (``torch.distributed``'s FSDP2 role).

* :func:`fully_shard` (also ``nn.fully_shard`` and ``jnn.distributed.fsdp.fully_shard``):
  parameters, buffers and optimizer state sharded over a ``jax.sharding.Mesh`` axis;
* :func:`shard_batch`: a (process-local) batch as a global array split over that axis;
* :func:`full_array`: a sharded array gathered on one device; :func:`placements`: what went
  where; :func:`default_mesh`: a 1-D mesh over every device.

Multi-process: call ``jax.distributed.initialize`` first; the same code then runs on every
process. Design notes: ``docs/design.md``, "Sharded training".
"""
from __future__ import annotations

from . import fsdp
from .fsdp import default_mesh, full_array, fully_shard, placements, shard_batch

__all__ = ["fsdp", "fully_shard", "shard_batch", "full_array", "placements", "default_mesh"]
