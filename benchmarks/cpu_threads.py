"""Thread limits for the benchmarks: XLA:CPU and torch on the same number of cores.

``--xla_cpu_multi_thread_eigen=false`` alone does not make XLA:CPU single-threaded: its runtime
(and the YNNPACK kernels under it) runs on an intra-op thread pool sized by the number of CPUs the
process may run on. The one reliable limit is the process's CPU affinity, which XLA reads when
its CPU backend starts, so :func:`limit_threads` must run before jax is imported. Child
processes inherit the affinity. (Earlier versions of these scripts appended
``intra_op_parallelism_threads=1`` to ``XLA_FLAGS``: not an XLA flag, and a token without ``--``
ends XLA's flag parsing, so any flag after it was silently ignored.)
"""
from __future__ import annotations

import os
import sys

__all__ = ["limit_threads"]


def limit_threads(threads: int) -> list[int]:
    """Restrict this process (and its children) to ``threads`` of the CPUs it may use.

    Returns the CPUs kept. With one thread, Eigen's own pool is switched off as well.
    """
    if "jax" in sys.modules:
        raise RuntimeError("limit_threads must run before jax is imported")
    allowed = sorted(os.sched_getaffinity(0))
    if threads < 1 or threads > len(allowed):
        raise ValueError(f"threads must be in [1, {len(allowed)}] on this machine, got {threads}")
    keep = allowed[:threads]
    os.sched_setaffinity(0, keep)
    if threads == 1:
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                                   " --xla_cpu_multi_thread_eigen=false").strip()
    return keep
