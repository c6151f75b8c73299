"""Linear-layer weight gradients on XLA:CPU (1 thread): the evidence for ``F.linear``'s rule.

The weight gradient of ``y = x @ w.T`` is ``dy.T @ x``, a dot contracting the row dimension of
both operands. XLA:CPU runs that form with its Eigen fallback (YNNPACK takes only dots whose
left operand contracts its last dimension); the same product over an explicit transpose of
``dy``, kept apart from the dot by an optimisation barrier, runs on YNNPACK. For each shape
(rows, in_features, out_features) this prints the two programs' times and their ratio, from
interleaved rounds (median per-round ratio), and which library each program's dot went to.
On CPU, ``F.linear`` takes the transposed form for float32 layers with
``out_features >= 2 * in_features`` (``jnn/functional/linear.py``); the whole-step effect is
measured by ``benchmarks/models.py`` with the rule on and off (README "Speed").

    python benchmarks/linear_kernels.py            # --rounds 5
"""
from __future__ import annotations

import argparse
import statistics
import time

from cpu_threads import limit_threads

limit_threads(1)

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

# (rows, in_features, out_features): Transformer / GPT-mini projections at 16 x 128 tokens,
# LSTM gates (4 * hidden) over 64 steps x 32 samples, MLP layers, narrowing layers.
SHAPES = [(2048, 256, 1024), (2048, 256, 512), (2048, 256, 768), (2048, 256, 256),
          (2048, 512, 512), (2048, 1024, 256), (512, 256, 1024), (512, 1024, 256),
          (8192, 256, 256), (4096, 64, 64), (256, 784, 128), (64, 9216, 128), (32, 400, 120),
          (128, 4096, 4096)]


def eigen_form(g, x):
    return jax.lax.dot_general(g, x, (((0,), (0,)), ((), ())))


def transposed_form(g, x):
    g_t = jax.lax.optimization_barrier(g.T)
    return jax.lax.dot_general(g_t, x, (((1,), (0,)), ((), ())))


def _ms(fn, *args, reps=5):
    start = time.perf_counter()
    for _ in range(reps):
        jax.block_until_ready(fn(*args))
    return (time.perf_counter() - start) / reps * 1e3


def _library(fn, *args) -> str:
    return "YNNPACK" if "ynn" in fn.lower(*args).compile().as_text() else "Eigen"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"jax {jax.__version__}, 1 thread, {args.rounds} interleaved rounds; ms per weight "
          "gradient (dy.T @ x)")
    print("| rows | in | out | dy.T @ x | transpose(dy) @ x | ratio | libraries |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for rows, fan_in, fan_out in SHAPES:
        x = jnp.asarray(rng.standard_normal((rows, fan_in), dtype=np.float32))
        g = jnp.asarray(rng.standard_normal((rows, fan_out), dtype=np.float32))
        plain, fast = jax.jit(eigen_form), jax.jit(transposed_form)
        np.testing.assert_allclose(fast(g, x), plain(g, x), rtol=1e-4, atol=1e-2)
        times = {"plain": [], "fast": []}
        for _ in range(args.rounds):
            times["plain"].append(_ms(plain, g, x))
            times["fast"].append(_ms(fast, g, x))
        ratio = statistics.median(f / p for f, p in zip(times["fast"], times["plain"]))
        print(f"| {rows} | {fan_in} | {fan_out} | {statistics.median(times['plain']):.2f} | "
              f"{statistics.median(times['fast']):.2f} | {ratio:.2f} | "
              f"{_library(plain, g, x)} / {_library(fast, g, x)} |", flush=True)


if __name__ == "__main__":
    main()
