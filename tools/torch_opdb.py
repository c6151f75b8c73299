"""Run PyTorch's own ``op_db`` sample inputs for ``nn.functional.*`` against ``jnn.functional``.

``torch.testing._internal.common_methods_invocations.op_db`` holds, for every operator, the
sample inputs PyTorch tests it with (edge shapes, 0-d and empty tensors, unusual keyword
arguments). This script feeds every float32 CPU sample of every ``nn.functional.<name>`` that
jnn also has to both libraries (tensors converted to numpy, then to jax arrays) and compares
the outputs: values for deterministic functions, shapes and dtypes for random ones.

Usage (from the repository root; needs torch and ``expecttest``, the ``tools`` extra)::

    python tools/torch_opdb.py                 # every function, a summary and each failure
    python tools/torch_opdb.py -k max_unpool   # only names containing the string
    python tools/torch_opdb.py -v              # also list passing samples
    python tools/torch_opdb.py -n 100          # at most 100 samples per entry (evenly spread)

A full run compiles every sample's shapes (max_pool2d/3d alone have ~1,400 each): tens of
minutes on a laptop; ``-n 100`` takes a few.

Exit status 1 when a sample fails. Samples that torch itself rejects are skipped.
"""
from __future__ import annotations

import argparse
import os
import sys
import traceback
import warnings

os.environ.setdefault("JAX_PLATFORMS", "cpu")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)  # torch's int64 indices and dtype=float64 arguments
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch.testing._internal.common_methods_invocations import op_db  # noqa: E402

import jnn  # noqa: E402
import jnn.functional as F  # noqa: E402

# Outputs drawn at random: only shapes and dtypes are comparable.
RANDOM = {"alpha_dropout", "dropout", "dropout2d", "dropout3d", "feature_alpha_dropout",
          "fractional_max_pool2d", "fractional_max_pool3d", "rrelu"}
# op_db wraps these with the arguments swapped: op(weight, indices).
WEIGHT_FIRST = {"embedding", "embedding_bag"}


def is_random(name: str, sample) -> bool:
    """Whether the sample's output is random (a random function, or attention with dropout)."""
    if name in RANDOM:
        return True
    if name == "scaled_dot_product_attention":
        return sample.kwargs.get("dropout_p", 0.0) > 0
    if name == "multi_head_attention_forward":  # dropout_p is positional argument 10
        return sample.kwargs.get("training", True) and sample.args[9] > 0
    return False
# Sample kwargs that select a torch backend and have no meaning in jnn.
TORCH_ONLY_KWARGS = {"cudnn_enabled"}

_TORCH_TO_JNP = {torch.float16: jnp.float16, torch.bfloat16: jnp.bfloat16,
                 torch.float32: jnp.float32, torch.float64: jnp.float64,
                 torch.int32: jnp.int32, torch.int64: jnp.int64, torch.bool: jnp.bool_,
                 torch.uint8: jnp.uint8, torch.int8: jnp.int8, torch.complex64: jnp.complex64}


def to_jax(value):
    """torch tensors (also inside containers) as jax arrays, torch dtypes as jnp dtypes."""
    if isinstance(value, torch.Tensor):
        return jnp.asarray(value.detach().cpu().resolve_conj().numpy())
    if isinstance(value, torch.dtype):
        return _TORCH_TO_JNP[value]
    if isinstance(value, torch.nn.PairwiseDistance):  # a distance_function argument
        return jnn.PairwiseDistance(value.norm, value.eps, value.keepdim)
    if isinstance(value, (list, tuple)):
        return type(value)(to_jax(v) for v in value)
    if isinstance(value, dict):
        return {k: to_jax(v) for k, v in value.items()}
    return value


def flatten(out) -> list:
    if isinstance(out, torch.Tensor):
        return [out.detach().cpu().numpy()]
    if isinstance(out, (jax.Array, np.ndarray, np.generic)):
        return [np.asarray(out)]
    if isinstance(out, (list, tuple)):
        return [a for o in out for a in flatten(o)]
    if out is None:
        return []
    return [np.asarray(out)]


def compare(name: str, got, want, random: bool) -> str | None:
    got, want = flatten(got), flatten(want)
    if len(got) != len(want):
        return f"jnn returned {len(got)} arrays, torch {len(want)}"
    for i, (g, w) in enumerate(zip(got, want)):
        if g.shape != w.shape:
            return f"output {i}: shape {g.shape} != torch's {w.shape}"
        if g.dtype.kind != w.dtype.kind or (w.dtype.kind == "f"
                                            and g.dtype.itemsize != w.dtype.itemsize):
            return f"output {i}: dtype {g.dtype} != torch's {w.dtype}"
        if random:
            continue
        if w.dtype.kind in "fc":
            if not np.allclose(g, w, rtol=1e-4, atol=1e-5, equal_nan=True):
                err = np.nanmax(np.abs(g.astype(np.float64) - w.astype(np.float64))) \
                    if g.size else 0.0
                return f"output {i}: values differ (max abs error {err:.3g})"
        elif not np.array_equal(g, w):
            return f"output {i}: values differ"
    return None


def run(keyword: str = "", verbose: bool = False, max_samples: int = 0) -> int:
    ops = [op for op in op_db if op.name.startswith("nn.functional.")
           and hasattr(F, op.name.split(".", 2)[2]) and keyword in op.name]
    passed = skipped = 0
    failures = []
    for op in ops:
        name = op.name.split(".", 2)[2]
        label = name + (f"/{op.variant_test_name}" if op.variant_test_name else "")
        if torch.float32 not in op.supported_dtypes("cpu"):
            continue
        samples = list(op.sample_inputs("cpu", torch.float32, requires_grad=False))
        if max_samples and len(samples) > max_samples:
            samples = samples[::-(-len(samples) // max_samples)]
        print(f"{label}: {len(samples)} samples", file=sys.stderr, flush=True)
        for k, sample in enumerate(samples):
            kwargs = {key: v for key, v in sample.kwargs.items() if key not in TORCH_ONLY_KWARGS}
            torch.manual_seed(0)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    want = op.op(sample.input, *sample.args, **sample.kwargs)
            except Exception:  # torch rejects its own sample (a known-bad variant)
                skipped += 1
                continue
            shapes = [tuple(t.shape) for t in [sample.input, *sample.args]
                      if isinstance(t, torch.Tensor)]
            where = f"{label}[{k}] shapes={shapes} kwargs={ {k_: v for k_, v in kwargs.items() if not isinstance(v, torch.Tensor)} }"
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    args = [to_jax(sample.input), *to_jax(sample.args)]
                    if name in WEIGHT_FIRST:
                        args[:2] = args[1::-1]
                    got = getattr(F, name)(*args, **to_jax(kwargs))
                problem = compare(name, got, want, is_random(name, sample))
            except Exception as exc:  # noqa: BLE001 - every jnn failure is reported
                line = traceback.format_exception_only(type(exc), exc)[-1].strip()
                problem = f"raised {line[:200]}"
            if problem is None:
                passed += 1
                if verbose:
                    print(f"ok    {where}")
            else:
                failures.append(f"FAIL  {where}: {problem}")
    for f in failures:
        print(f)
    print(f"\n{passed} passed, {len(failures)} failed, {skipped} skipped (torch rejects the "
          f"sample) over {len(ops)} op_db entries")
    return 1 if failures else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", default="", help="only op_db names containing this string")
    parser.add_argument("-v", action="store_true", help="also list passing samples")
    parser.add_argument("-n", type=int, default=0, help="at most this many samples per entry")
    args = parser.parse_args()
    sys.exit(run(args.k, args.v, args.n))
