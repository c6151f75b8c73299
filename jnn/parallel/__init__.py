"""Multi-device parallelism: ``nn.pmap`` and torch's ``DataParallel`` helpers."""
from __future__ import annotations

from .._axis import current_axis_name
from .data_parallel import DataParallel, data_parallel, gather, parallel_apply, replicate, scatter
from .pmap import pmap

__all__ = ["pmap", "current_axis_name", "DataParallel", "data_parallel", "replicate", "scatter",
           "gather", "parallel_apply"]
