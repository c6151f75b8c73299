"""Parity cases for torch's top-level tensor functions (``jnn/tensor_functions.py``):
``nn.zeros`` ... ``nn.softmax`` against ``torch.zeros`` ... ``torch.softmax``.

Case names are ``"nn.<name>"`` (the functions live at jnn's top level, beside the layers; the
``nn.`` keeps ``nn.softmax`` apart from ``F.softmax``). dtype inference is compared exactly, under
x64, in tests/test_tensor_functions.py; the gradient modes are tested there too.
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import torch

import jnn as nn
from harness import ErrorCase, FunctionCase


def case(name, inputs, desc="", dtype=None, **kw):
    """A case comparing ``nn.<name>`` with ``torch.<name>`` (``dtype``: a dtype name given to
    both as their own dtype object)."""
    torch_fn, jnn_fn = getattr(torch, name), getattr(nn, name)
    if dtype is not None:
        torch_fn = functools.partial(torch_fn, dtype=getattr(torch, dtype))
        jnn_fn = functools.partial(jnn_fn, dtype=getattr(nn, dtype))
        kw.setdefault("x64", dtype in ("float64", "int64"))
    return FunctionCase(f"nn.{name}", inputs, desc=desc, torch_fn=torch_fn, jnn_fn=jnn_fn, **kw)


def args(*a, **k):
    return lambda rng: (a, k)


def f32(*shape):
    return lambda rng: rng.standard_normal(shape).astype(np.float32)


def arrays(*makers, **kwargs):
    """Inputs from makers (``f32(2, 3)``, ``ints(...)``) and plain values."""
    def make(rng):
        return tuple(m(rng) if callable(m) else m for m in makers), dict(kwargs)
    return make


def ints(*shape, low=-2, high=3):
    # Integer-valued floats: ties and exact bounds, where gradient conventions differ.
    return lambda rng: rng.integers(low, high, size=shape).astype(np.float32)


def index_ints(*shape, high=5):
    return lambda rng: rng.integers(0, high, size=shape).astype(np.int64)


def listed(*shapes, dtypes=None):
    def make(rng):
        dts = dtypes or [np.float32] * len(shapes)
        return [rng.standard_normal(s).astype(d) if np.dtype(d).kind == "f"
                else rng.integers(0, 5, size=s).astype(d) for s, d in zip(shapes, dts)]
    return make


def _from_numpy_torch(t):
    return torch.from_numpy(t.detach().numpy())


def _from_numpy_jnn(x):
    return nn.from_numpy(np.asarray(x))


FUNCTION_CASES = [
    # creation
    case("zeros", args(2, 3), desc="varargs"),
    case("zeros", args((2, 3)), desc="tuple"),
    case("zeros", args([4]), desc="float64", dtype="float64"),
    case("ones", args(3), desc="1d"),
    case("ones", args(2, 2), desc="int32", dtype="int32"),
    case("full", args((2, 3), 1.5), desc="float"),
    case("full", args((2,), 7), desc="int"),
    case("full", args((2,), True), desc="bool"),
    case("empty", args(2, 3), random=True),  # values are undefined in torch: shapes only
    case("zeros_like", arrays(f32(2, 3))),
    case("ones_like", arrays(f32(2, 3))),
    case("ones_like", arrays(f32(2, 3)), desc="int32", dtype="int32"),
    case("full_like", arrays(f32(3, 2), -2.5)),
    case("empty_like", arrays(f32(3, 2)), random=True),
    case("arange", args(5), desc="end"),
    case("arange", args(1, 2, 0.3), desc="float_step"),
    case("arange", args(10, 0, -3), desc="negative_step"),
    case("arange", args(0, 1, 0.1), desc="float64", dtype="float64"),
    case("linspace", args(0, 1, 7)),
    case("linspace", args(-2.5, 3, 1), desc="one_step"),
    case("linspace", args(3, -1, 10), desc="decreasing"),
    case("eye", args(3)),
    case("eye", args(2, 4), desc="rectangular"),
    case("tensor", args([[1, 2], [3, 4]]), desc="ints", grad=False),
    case("tensor", args([1.5, -2.0]), desc="floats", grad=False),
    case("tensor", args(True), desc="bool_scalar", grad=False),
    case("tensor", arrays(f32(2, 3)), desc="array", grad=False),
    case("tensor", args([1, 2]), desc="dtype", dtype="float32", grad=False),
    case("as_tensor", arrays(f32(2, 3)), grad=False),
    case("as_tensor", args([[0.5, 1]]), desc="list", grad=False),
    FunctionCase("nn.from_numpy", arrays(f32(2, 3)), torch_fn=_from_numpy_torch,
                 jnn_fn=_from_numpy_jnn, grad=False, check_jit=False),
    FunctionCase("nn.from_numpy", arrays(index_ints(4)), desc="int64", torch_fn=_from_numpy_torch,
                 jnn_fn=_from_numpy_jnn, grad=False, check_jit=False),
    # joining, slicing, reshaping
    case("cat", lambda rng: ((listed((2, 3), (4, 3))(rng),), {})),
    case("cat", lambda rng: ((listed((2, 3), (2, 1))(rng),), {"dim": -1}), desc="dim_last"),
    case("cat", lambda rng: ((listed((2, 2), (1, 2), dtypes=[np.float32, np.int32])(rng),), {}),
         desc="promotes"),
    case("concat", lambda rng: ((listed((2, 3), (2, 3))(rng),), {"dim": 1})),
    case("concatenate", lambda rng: ((listed((1, 3), (2, 3))(rng),), {})),
    case("stack", lambda rng: ((listed((2, 3), (2, 3), (2, 3))(rng),), {})),
    case("stack", lambda rng: ((listed((2, 3), (2, 3))(rng),), {"dim": -1}), desc="dim_last"),
    case("flatten", arrays(f32(2, 3, 4))),
    case("flatten", arrays(f32(2, 3, 4, 5), 1, 2), desc="middle"),
    case("flatten", arrays(f32()), desc="scalar"),
    case("squeeze", arrays(f32(1, 3, 1, 2))),
    case("squeeze", arrays(f32(2, 3), 1), desc="not_size_1"),
    case("squeeze", arrays(f32(1, 3, 1), (0, 2)), desc="tuple"),
    case("unsqueeze", arrays(f32(2, 3), -1)),
    case("unsqueeze", arrays(f32(2, 3), 0), desc="front"),
    case("transpose", arrays(f32(2, 3), 0, 1)),
    case("transpose", arrays(f32(2, 3, 4), -1, 0), desc="3d"),
    case("t", arrays(f32(2, 3))),
    case("t", arrays(f32(3)), desc="1d"),
    case("permute", arrays(f32(2, 3, 4), (2, 0, 1))),
    case("chunk", arrays(f32(5, 2), 3)),
    case("chunk", arrays(f32(2, 6), 4, 1), desc="fewer_chunks"),
    case("split", arrays(f32(5, 2), 2)),
    case("split", arrays(f32(5, 2), [1, 4]), desc="sections"),
    case("split", arrays(f32(2, 7), 3, 1), desc="dim1"),
    case("where", lambda rng: ((rng.standard_normal((3, 4)) > 0, f32(3, 4)(rng), f32(3, 4)(rng)),
                               {})),
    case("where", lambda rng: ((rng.standard_normal((3, 4)) > 0, f32(3, 4)(rng), 0.0), {}),
         desc="scalar_other"),
    case("where", lambda rng: ((rng.standard_normal((3, 4)) > 0,), {}), desc="indices",
         check_jit=False),
    case("clamp", arrays(ints(4, 5), -1, 1), desc="bounds_included"),
    case("clamp", arrays(f32(3, 4), min=0.0), desc="min_only"),
    case("clamp", arrays(f32(3, 4), max=0.5), desc="max_only"),
    case("clamp", arrays(ints(3, 4), ints(3, 4), ints(3, 4)), desc="array_bounds"),
    case("clamp", arrays(f32(3, 4), 1.0, -1.0), desc="min_above_max"),
    case("clip", arrays(f32(3, 4), -0.5, 0.5)),
    case("tril", arrays(f32(4, 5))),
    case("tril", arrays(f32(2, 3, 4), -1), desc="batched"),
    case("triu", arrays(f32(4, 5), 1)),
    # products, reductions, activations
    case("matmul", arrays(f32(2, 3), f32(3, 4))),
    case("matmul", arrays(f32(2, 1, 3, 4), f32(5, 4, 2)), desc="broadcast"),
    case("matmul", arrays(f32(3), f32(3, 2)), desc="vector"),
    case("mm", arrays(f32(2, 3), f32(3, 4))),
    case("bmm", arrays(f32(2, 3, 4), f32(2, 4, 5))),
    case("argmax", arrays(ints(4, 5))),
    case("argmax", arrays(ints(4, 5), 1, True), desc="dim_keepdim"),
    case("argmin", arrays(ints(4, 5), 0)),
    case("max", arrays(ints(4, 5)), desc="ties_whole"),
    case("max", arrays(ints(4, 5), 1), desc="dim_ties"),
    case("max", arrays(f32(2, 3, 4), -1, True), desc="keepdim"),
    case("max", arrays(ints(3, 4), ints(3, 4)), desc="elementwise_ties"),
    case("min", arrays(ints(4, 5)), desc="ties_whole"),
    case("min", arrays(ints(4, 5), 0), desc="dim_ties"),
    case("min", arrays(f32(3, 4), f32(1, 4)), desc="elementwise_broadcast"),
    case("sum", arrays(f32(2, 3, 4))),
    case("sum", arrays(f32(2, 3, 4), (0, 2), True), desc="dims_keepdim"),
    case("sum", arrays(index_ints(3, 4)), desc="ints"),
    case("mean", arrays(f32(2, 3, 4), 1)),
    case("mean", arrays(f32(2, 3)), desc="whole"),
    case("std", arrays(f32(4, 5)), desc="unbiased_default"),
    case("std", arrays(f32(4, 5), 1, keepdim=True, correction=0), desc="correction0"),
    case("std", arrays(f32(4, 5), 0, False), desc="unbiased_false"),
    case("var", arrays(f32(4, 5), 1)),
    case("softmax", arrays(f32(3, 5), 1)),
    case("softmax", arrays(f32(2, 3, 4), -1), desc="float64", dtype="float64"),
    case("log_softmax", arrays(f32(3, 5), 0)),
    case("numel", arrays(f32(2, 3, 4)), grad=False),
    case("detach", arrays(f32(2, 3))),
]


def _inside_grad(mode):
    def loss(x):
        with mode():
            return (x * 2).sum()
    return jax.grad(loss)(1.0)


x23 = jnp.ones((2, 3))
ERROR_CASES = [
    ErrorCase("nn.zeros", lambda: nn.zeros(2, -1), ValueError, r"size must be non-negative"),
    ErrorCase("nn.zeros", lambda: nn.zeros(2.5), TypeError, r"size must be ints.*2\.5",
              desc="float_size"),
    ErrorCase("nn.zeros", lambda: nn.zeros(2, requires_grad=True), ValueError,
              r"requires_grad=True.*nn\.Parameter", desc="requires_grad"),
    ErrorCase("nn.full", lambda: nn.full((2,), 1, dtype="notatype"), TypeError,
              r"dtype: expected a dtype.*notatype"),
    ErrorCase("nn.arange", lambda: nn.arange(0, 5, 0), ValueError, r"step must be nonzero"),
    ErrorCase("nn.arange", lambda: nn.arange(5, 0, 1), ValueError,
              r"bounds \(start=5, end=0\).*step=1", desc="sign"),
    ErrorCase("nn.linspace", lambda: nn.linspace(0, 1, -1), ValueError,
              r"steps must be a non-negative int, got -1"),
    ErrorCase("nn.tensor", lambda: nn.tensor("abc"), TypeError, r"got a string"),
    ErrorCase("nn.tensor", lambda: nn.tensor([[1, 2], [3]]), ValueError,
              r"could not make an array", desc="ragged"),
    ErrorCase("nn.tensor", lambda: nn.tensor([2 ** 40]), ValueError,
              r"do not fit in int32.*jax_enable_x64", desc="int64_overflow"),
    ErrorCase("nn.tensor", lambda: nn.tensor([300], dtype=nn.uint8), ValueError,
              r"\[300, 300\] do not fit in uint8", desc="explicit_dtype_overflow"),
    ErrorCase("nn.from_numpy", lambda: nn.from_numpy([1, 2]), TypeError,
              r"expected np\.ndarray \(got list\)"),
    ErrorCase("nn.cat", lambda: nn.cat(x23), TypeError, r"list or tuple of arrays, got ArrayImpl"),
    ErrorCase("nn.cat", lambda: nn.cat([]), ValueError, r"non-empty list", desc="empty"),
    ErrorCase("nn.cat", lambda: nn.cat([x23, jnp.ones((2, 4))]), ValueError,
              r"same shape except in dimension 0.*\(2, 3\).*\(2, 4\)", desc="shapes"),
    ErrorCase("nn.cat", lambda: nn.cat([x23, x23], dim=2), IndexError,
              r"dim=2 is out of range.*\[-2, 1\]", desc="dim_range"),
    ErrorCase("nn.stack", lambda: nn.stack([x23, jnp.ones((3, 2))]), ValueError,
              r"equal size.*\(2, 3\) at entry 0 and \(3, 2\) at entry 1"),
    ErrorCase("nn.flatten", lambda: nn.flatten(jnp.ones((2, 3, 4)), 2, 1), ValueError,
              r"start_dim \(2\) cannot come after end_dim \(1\)"),
    ErrorCase("nn.squeeze", lambda: nn.squeeze(x23, 2), ValueError, r"dim=2 is out of range"),
    ErrorCase("nn.unsqueeze", lambda: nn.unsqueeze(x23, 3), ValueError,
              r"dim=3 is out of range.*\[-3, 2\]"),
    ErrorCase("nn.permute", lambda: nn.permute(x23, (0,)), ValueError,
              r"must name each of the 2 dimensions"),
    ErrorCase("nn.permute", lambda: nn.permute(x23, (1, -1)), ValueError,
              r"repeat a dimension", desc="repeated"),
    ErrorCase("nn.chunk", lambda: nn.chunk(x23, 0), ValueError, r"chunks must be a positive int"),
    ErrorCase("nn.split", lambda: nn.split(x23, [1, 2]), ValueError,
              r"split sizes \[1, 2\].*add up to 2"),
    ErrorCase("nn.where", lambda: nn.where(jnp.ones(3), x23, x23), TypeError,
              r"condition must be a bool array"),
    ErrorCase("nn.where", lambda: nn.where(jnp.ones(3) > 0, x23), TypeError,
              r"both input and other", desc="one_branch"),
    ErrorCase("nn.clamp", lambda: nn.clamp(x23), ValueError, r"at least one of 'min' or 'max'"),
    ErrorCase("nn.tril", lambda: nn.tril(jnp.ones(3)), ValueError,
              r"at least 2 dimensions, got shape \(3,\)"),
    ErrorCase("nn.matmul", lambda: nn.matmul(x23, jnp.ones((4, 2))), ValueError,
              r"\(2, 3\) and \(4, 2\) cannot be multiplied"),
    ErrorCase("nn.matmul", lambda: nn.matmul(x23, 2.0), ValueError, r"at least 1 dimension",
              desc="scalar"),
    ErrorCase("nn.mm", lambda: nn.mm(x23, jnp.ones((4, 5))), ValueError,
              r"shapes cannot be multiplied \(2x3 and 4x5\)"),
    ErrorCase("nn.mm", lambda: nn.mm(jnp.ones((2, 2, 2)), x23), ValueError,
              r"expected 2-D arrays", desc="3d"),
    ErrorCase("nn.bmm", lambda: nn.bmm(jnp.ones((2, 3, 4)), jnp.ones((3, 4, 5))), ValueError,
              r"\(2, 3, 4\) and \(3, 4, 5\) do not match"),
    ErrorCase("nn.t", lambda: nn.t(jnp.ones((2, 2, 2))), ValueError, r"<= 2 dimensions"),
    ErrorCase("nn.argmax", lambda: nn.argmax(jnp.ones((0, 3))), ValueError, r"non-empty array"),
    ErrorCase("nn.max", lambda: nn.max(jnp.ones(0)), ValueError, r"non-empty array"),
    ErrorCase("nn.max", lambda: nn.max(x23, 1, other=x23), TypeError, r"dim or other",
              desc="dim_and_other"),
    ErrorCase("nn.mean", lambda: nn.mean(jnp.arange(3)), TypeError,
              r"floating point or complex, got int32"),
    ErrorCase("nn.std", lambda: nn.std(x23, unbiased=True, correction=0), TypeError,
              r"unbiased or correction"),
    ErrorCase("nn.set_grad_enabled", lambda: nn.set_grad_enabled("yes"), TypeError,
              r"mode must be a bool"),
    ErrorCase("nn.no_grad", lambda: _inside_grad(nn.no_grad), RuntimeError,
              r"no_grad inside a function that nn\.grad/jax\.grad is differentiating.*"
              r"nn\.detach"),
    ErrorCase("nn.inference_mode", lambda: _inside_grad(nn.inference_mode), RuntimeError,
              r"inference_mode inside a function.*differentiating"),
]

EXEMPT = {
    "nn.Tensor": "an alias of jax.Array for annotations; tested in tests/test_tensor_functions.py",
    "nn.no_grad": "a context manager; tested in tests/test_tensor_functions.py",
    "nn.enable_grad": "a context manager; tested in tests/test_tensor_functions.py",
    "nn.inference_mode": "a context manager; tested in tests/test_tensor_functions.py",
    "nn.set_grad_enabled": "a context manager; tested in tests/test_tensor_functions.py",
    "nn.is_grad_enabled": "reports the mode; tested in tests/test_tensor_functions.py",
}
