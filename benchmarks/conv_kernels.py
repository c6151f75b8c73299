"""Single-kernel timings behind the README's record of convolution levers (XLA:CPU, 1 thread).

For the CIFAR ResNet-18 convolution shapes at batch 32, the forward, input-gradient and
weight-gradient programs of ``lax.conv_general_dilated``:

* in torch's layouts (NCHW data, OIHW weights) and channels-last (NHWC data with HWIO or OHWI
  weights), each compiled alone: what carrying channels-last through a network could gain;
* the weight gradient also compiled with YNNPACK off for that one program
  (``xla_cpu_experimental_ynn_fusion_type=""``), and written as one matmul per kernel tap
  (``einsum('nohw,nihw->oi')`` over shifted slices): candidates for a per-shape routing.

``--part small`` times 3x3 convolutions on small output maps (1x1 to 8x8, batch 1 to 32, 64 to
512 channels), forward and forward + backward, as ``lax.conv_general_dilated`` and as jnn's
``F.conv2d``, which on CPU runs maps of at most 4 positions as one matmul over gathered patches
(``jnn/functional/conv.py``): the evidence for that threshold.

``--part batch`` times 3x3 convolutions at batch 8 to 256, per sample, as one
``lax.conv_general_dilated`` and as jnn's ``F.conv2d``, which on CPU runs batches of more than
32 samples as one convolution per chunk of 32: the evidence for that lowering. The two run in
interleaved rounds (median per-round ratio, forward and forward + both gradients).

``--part transposed`` times the weight gradient (and both gradients) of transposed
convolutions: JAX differentiating ``lax.conv_transpose`` (one convolution over the
stride-dilated input, as jnn's own lowering) against jnn's ``F.conv_transpose2d``, whose
custom JVP makes reverse mode compute the weight gradient as a strided convolution.

Times are the minimum of a few calls, in ms. The machine is shared: compare within a row.

    python benchmarks/conv_kernels.py     # --part resnet (default), small, batch, transposed
"""
from __future__ import annotations

import argparse
import functools
import time

from cpu_threads import limit_threads

limit_threads(1)

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax import lax  # noqa: E402

import jnn.functional as F  # noqa: E402

# (in channels, out channels, spatial size, stride, kernel)
SHAPES = [(3, 64, 32, 1, 3), (64, 64, 32, 1, 3), (64, 128, 32, 2, 3), (64, 128, 32, 2, 1),
          (128, 128, 16, 1, 3), (256, 256, 8, 1, 3), (512, 512, 4, 1, 3)]
BATCH = 32


def best_ms(fn, *args, reps=3):
    jax.block_until_ready(fn(*args))
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - start)
    return min(times) * 1e3


def conv(dn, stride, pad):
    return lambda x, w: lax.conv_general_dilated(x, w, (stride, stride), [(pad, pad)] * 2,
                                                 dimension_numbers=dn)


def weight_grad_taps(x, g, stride, pad, k):
    """dw[o, i, a, b] = sum_{n,h,w} g[n, o, h, w] * x_pad[n, i, s*h + a, s*w + b]."""
    xp = jnp.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    ho, wo = g.shape[2:]
    taps = []
    for a in range(k):
        for b in range(k):
            piece = lax.slice(xp, (0, 0, a, b), xp.shape[:2] + (a + stride * (ho - 1) + 1,
                                                                  b + stride * (wo - 1) + 1),
                              (1, 1, stride, stride))
            taps.append(jnp.einsum("nohw,nihw->oi", g, piece))
    return jnp.stack(taps, -1).reshape(g.shape[1], x.shape[1], k, k)


def resnet_shapes():
    print(f"jax {jax.__version__}, batch {BATCH}, 1 thread; ms (forward / input grad / weight "
          "grad)")
    rng = np.random.default_rng(0)
    for cin, cout, size, stride, k in SHAPES:
        pad = k // 2
        x = jnp.asarray(rng.standard_normal((BATCH, cin, size, size)), jnp.float32)
        w = jnp.asarray(rng.standard_normal((cout, cin, k, k)) * 0.1, jnp.float32)
        cells = []
        layouts = [("NCHW/OIHW", ("NCHW", "OIHW", "NCHW"), x, w),
                   ("NHWC/HWIO", ("NHWC", "HWIO", "NHWC"), x.transpose(0, 2, 3, 1),
                    w.transpose(2, 3, 1, 0)),
                   ("NHWC/OHWI", ("NHWC", "OHWI", "NHWC"), x.transpose(0, 2, 3, 1),
                    w.transpose(0, 2, 3, 1))]
        for label, dn, xx, ww in layouts:
            f = conv(dn, stride, pad)
            g = jnp.ones_like(f(xx, ww))
            fwd = jax.jit(f)
            dx = jax.jit(lambda x_, w_, g_, f=f: jax.vjp(lambda a: f(a, w_), x_)[1](g_)[0])
            dw = jax.jit(lambda x_, w_, g_, f=f: jax.vjp(lambda b: f(x_, b), w_)[1](g_)[0])
            cells.append(f"{label} {best_ms(fwd, xx, ww):.1f} / {best_ms(dx, xx, ww, g):.1f} / "
                         f"{best_ms(dw, xx, ww, g):.1f}")
        f = conv(("NCHW", "OIHW", "NCHW"), stride, pad)
        g = jnp.asarray(rng.standard_normal(f(x, w).shape), jnp.float32)
        dw = jax.jit(lambda x_, w_, g_, f=f: jax.vjp(lambda b: f(x_, b), w_)[1](g_)[0])
        no_ynn = dw.lower(x, w, g).compile({"xla_cpu_experimental_ynn_fusion_type": ""})
        taps = jax.jit(functools.partial(weight_grad_taps, stride=stride, pad=pad, k=k))
        cells.append(f"weight grad: YNNPACK off {best_ms(no_ynn, x, w, g):.1f}, per-tap matmuls "
                     f"{best_ms(taps, x, g):.1f}")
        print(f"{cin:3d}->{cout:3d} {size:2d}x{size:<2d} s{stride} k{k}: " + " | ".join(cells),
              flush=True)


# (batch, channels, output map side) for 3x3 stride-1 convolutions
SMALL = [(1, 512, 1), (8, 512, 1), (1, 512, 2), (16, 512, 2), (1, 512, 4), (8, 512, 4),
         (32, 512, 4), (1, 256, 5), (8, 256, 5), (32, 256, 5), (1, 256, 8), (32, 256, 8),
         (1, 64, 2), (32, 64, 4), (32, 64, 8)]


def small_maps():
    print(f"jax {jax.__version__}, 3x3 stride 1 padding 1, 1 thread; ms, lax / jnn "
          "(forward | forward + backward)")
    rng = np.random.default_rng(0)
    for n, c, size in SMALL:
        x = jnp.asarray(rng.standard_normal((n, c, size, size)), jnp.float32)
        w = jnp.asarray(rng.standard_normal((c, c, 3, 3)) * 0.05, jnp.float32)
        cells = []
        for conv_fn in (conv(("NCHW", "OIHW", "NCHW"), 1, 1),
                        lambda a, b: F.conv2d(a, b, padding=1)):
            fwd = jax.jit(conv_fn)
            both = jax.jit(jax.grad(lambda a, b, f=conv_fn: (f(a, b) ** 2).sum(), (0, 1)))
            cells.append((best_ms(fwd, x, w), best_ms(both, x, w)))
        (lf, lb), (jf, jb) = cells
        print(f"N {n:2d} C {c:3d} {size}x{size}: forward {lf:7.2f} / {jf:7.2f} ({lf / jf:5.1f}x)"
              f" | forward + backward {lb:7.2f} / {jb:7.2f} ({lb / jb:5.1f}x)", flush=True)


# (in channels, out channels, spatial size, padding): MNIST-example, CIFAR stem and ResNet shapes
BATCHED = [(32, 64, 26, 0), (3, 64, 32, 1), (64, 64, 16, 1), (128, 128, 16, 1)]


def batch_sizes(rounds=5):
    print(f"jax {jax.__version__}, 3x3 stride 1, 1 thread; us per sample, one lax convolution /"
          " jnn (chunks of 32), median of per-round ratios")
    rng = np.random.default_rng(0)
    for c, o, size, pad in BATCHED:
        for n in (8, 32, 64, 128, 256):
            x = jnp.asarray(rng.standard_normal((n, c, size, size)), jnp.float32)
            w = jnp.asarray(rng.standard_normal((o, c, 3, 3)) * 0.05, jnp.float32)
            programs = {}
            for name, conv_fn in (("lax", conv(("NCHW", "OIHW", "NCHW"), 1, pad)),
                                  ("jnn", lambda a, b, p=pad: F.conv2d(a, b, padding=p))):
                programs[name, "forward"] = jax.jit(conv_fn)
                programs[name, "both"] = jax.jit(
                    jax.value_and_grad(lambda a, b, f=conv_fn: (f(a, b) ** 2).sum(), (0, 1)))
            times = {key: [] for key in programs}
            for _ in range(rounds):
                for key, fn in programs.items():
                    times[key].append(best_ms(fn, x, w, reps=1) * 1e3 / n)
            cells = []
            for part in ("forward", "both"):
                lax_t, jnn_t = (float(np.median(times[name, part])) for name in ("lax", "jnn"))
                ratio = np.median(np.divide(times["lax", part], times["jnn", part]))
                cells.append(f"{lax_t:6.0f} / {jnn_t:6.0f} ({ratio:4.2f}x)")
            print(f"{c:3d}->{o:3d} {size}x{size} pad {pad} batch {n:3d}: forward {cells[0]} | "
                  f"forward + gradients {cells[1]}", flush=True)


# (batch, in channels, out channels, input size, kernel, stride, padding): DCGAN-like
# generator and U-Net decoder layers
TRANSPOSED = [(64, 64, 32, 13, 4, 2, 1), (16, 128, 64, 16, 4, 2, 1), (16, 64, 32, 32, 2, 2, 0),
              (64, 64, 32, 13, 3, 1, 1)]


def transposed():
    print(f"jax {jax.__version__}, conv_transpose2d, 1 thread; ms, lax.conv_transpose / jnn")
    rng = np.random.default_rng(0)
    for n, c, o, size, k, stride, pad in TRANSPOSED:
        x = jnp.asarray(rng.standard_normal((n, c, size, size)), jnp.float32)
        w = jnp.asarray(rng.standard_normal((c, o, k, k)) * 0.05, jnp.float32)
        edge = [(k - 1 - pad, k - 1 - pad)] * 2  # torch's padding, in lax.conv_transpose's terms
        plain = functools.partial(lax.conv_transpose, strides=(stride, stride), padding=edge,
                                  dimension_numbers=("NCHW", "OIHW", "NCHW"),
                                  transpose_kernel=True)
        ours = functools.partial(F.conv_transpose2d, stride=stride, padding=pad)
        np.testing.assert_allclose(plain(x, w), ours(x, w), rtol=1e-4, atol=1e-4)
        cells = []
        for fn in (plain, ours):
            weight = jax.jit(jax.grad(lambda b, a, f=fn: (f(a, b) ** 2).sum()))
            both = jax.jit(jax.grad(lambda a, b, f=fn: (f(a, b) ** 2).sum(), (0, 1)))
            cells.append((best_ms(weight, w, x), best_ms(both, x, w)))
        (pw, pb), (jw, jb) = cells
        print(f"N {n:2d} {c:3d}->{o:3d} {size}x{size} k{k} s{stride}: weight gradient "
              f"{pw:7.2f} / {jw:7.2f} ({pw / jw:5.1f}x) | both gradients {pb:7.2f} / {jb:7.2f} "
              f"({pb / jb:5.1f}x)", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=["resnet", "small", "batch", "transposed"],
                        default="resnet")
    {"resnet": resnet_shapes, "small": small_maps, "batch": batch_sizes,
     "transposed": transposed}[parser.parse_args().part]()
