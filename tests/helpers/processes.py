"""Multi-process test runs: 2 processes x 4 simulated CPU devices, JAX's gloo collectives.

The test side calls :func:`run_workers`; each worker script calls :func:`join` first thing,
before anything imports jax (the device count is an XLA flag read at import).
"""
import os
import socket
import subprocess
import sys

HELPERS = os.path.dirname(os.path.abspath(__file__))


def join(devices: int = 4):
    """In a worker: ``(process_id, out_file)`` from argv, after joining the run's coordinator."""
    process_id, port, out_file = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    os.environ["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    os.environ["JAX_PLATFORMS"] = "cpu"
    import jax
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator_address=f"localhost:{port}", num_processes=2,
                               process_id=process_id, initialization_timeout=60)
    return process_id, out_file


def run_workers(script: str, tmp_path, timeout: float = 240) -> list:
    """Run ``tests/helpers/<script>`` as processes 0 and 1 and return the two output files'
    paths (``<tmp_path>/<i>.npz``); a failing worker fails the test with its output."""
    with socket.socket() as s:
        s.bind(("localhost", 0))
        port = str(s.getsockname()[1])
    # The workers set their own device count: the suite's 8-device XLA_FLAGS must not leak.
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    outs = [str(tmp_path / f"{i}.npz") for i in range(2)]
    procs = [subprocess.Popen([sys.executable, os.path.join(HELPERS, script), str(i), port,
                               outs[i]], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT)
             for i in range(2)]
    outputs = []
    try:
        for p in procs:
            out, _ = p.communicate(timeout=timeout)
            outputs.append(out.decode(errors="replace"))
    finally:
        for p in procs:
            p.kill()
    for p, out in zip(procs, outputs):
        assert p.returncode == 0, out[-3000:]
    return outs
