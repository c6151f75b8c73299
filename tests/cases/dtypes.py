"""Parity cases for the dtype policy: one rule for every kernel that combines data with
parameters, torch's (``jnn.functional._utils.check_operands``).

torch never promotes between a kernel's input and its weights: ``F.linear`` with float16 input
and float32 weight raises "mat1 and mat2 must have the same dtype". Its CPU normalization kernels
accept float16/bfloat16 input with float32 parameters (mixed precision); a few ops do promote
(probability-target ``cross_entropy`` with a float64 weight) or keep the input's dtype
(``huber_loss`` with a float64 target). Every refusal below is checked against torch refusing
the same call (``ErrorCase.torch_fn``); every acceptance is a ``FunctionCase`` compared with
torch's output dtype, values and gradients.
"""
import jax
import jax.numpy as jnp
import numpy as np
import torch

import jnn as nn
import jnn.functional as F
from harness import ErrorCase, FunctionCase

f16, f32, f64, i64 = np.float16, np.float32, np.float64, np.int64


def _a(shape, dtype=f32, seed=0, kind="normal"):
    rng = np.random.default_rng(seed)
    v = {"normal": rng.standard_normal, "uniform": rng.random}[kind](shape)
    if kind == "normal" and np.dtype(dtype).kind in "iu":
        v = np.round(v * 3)
    return v.astype(dtype)


def _to(lib, value):
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value) if lib == "torch" else jnp.asarray(value)
    return value


def _call(lib, name, make):
    with jax.enable_x64(True):  # float64/int64 arrays keep their dtype on the jnn side
        args, kwargs = make()
        args = [_to(lib, a) for a in args]
        kwargs = {k: _to(lib, v) for k, v in kwargs.items()}
        fn = getattr(torch.nn.functional if lib == "torch" else F, name)
        return fn(*args, **kwargs)


def _refused(name, make, match, desc, exc=TypeError):
    """``F.<name>(*make())`` raises ``exc`` in jnn, and torch refuses the same call."""
    return ErrorCase(name, lambda: _call("jnn", name, make), exc, match, desc=desc,
                     torch_fn=lambda: _call("torch", name, make))


def _x64(fn):
    def run():
        with jax.enable_x64(True):
            return fn()
    return run


_TARGET = np.array([0, 1, 2])
_MASK_NONE = dict(q_proj_weight=None, k_proj_weight=None, v_proj_weight=None)


def _mha(query_dtype=f32, mask=None, need_weights=True):
    """multi_head_attention_forward arguments: E=4, 2 heads, float32 weights."""
    def make():
        q = _a((3, 2, 4), query_dtype, 1)
        args = (q, q, q, 4, 2, _a((12, 4), f32, 2), _a(12, f32, 3), None, None, False, 0.0,
                _a((4, 4), f32, 4), _a(4, f32, 5))
        return args, dict(training=False, attn_mask=mask, need_weights=need_weights)
    return make


ERROR_CASES = [
    # -- linear layers ----------------------------------------------------------------------
    _refused("linear", lambda: ((_a((2, 3), f16), _a((4, 3)), _a(4)), {}),
             r"linear: input and weight must have the same dtype, but got float16 and float32",
             "f16_input"),
    _refused("linear", lambda: ((_a((2, 3), f64), _a((4, 3))), {}),
             r"input and weight .* float64 and float32", "f64_input"),
    _refused("linear", lambda: ((_a((2, 3), i64), _a((4, 3))), {}),
             r"input and weight .* int64 and float32", "int_input"),
    _refused("linear", lambda: ((_a((2, 3)), _a((4, 3)), _a(4, f64)), {}),
             r"input and bias .* float32 and float64", "f64_bias"),
    _refused("bilinear", lambda: ((_a((2, 3), f64), _a((2, 2)), _a((4, 3, 2))), {}),
             r"bilinear: input1 and input2 must have the same dtype", "f64_input1"),
    ErrorCase("Linear", lambda: nn.Linear(3, 4)(jnp.ones((2, 3), jnp.float16)), TypeError,
              r"input and weight must have the same dtype, but got float16 and float32",
              desc="f16_input",
              torch_fn=lambda: torch.nn.Linear(3, 4)(torch.ones(2, 3, dtype=torch.float16))),
    ErrorCase("Linear", lambda: nn.Linear(3, 4)(jnp.ones((2, 3), jnp.bfloat16)), TypeError,
              r"bfloat16 and float32", desc="bf16_input",
              torch_fn=lambda: torch.nn.Linear(3, 4)(torch.ones(2, 3, dtype=torch.bfloat16))),
    ErrorCase("Linear", lambda: nn.Linear(3, 4)(jnp.ones((2, 3), jnp.complex64)), TypeError,
              r"complex64 and float32", desc="complex_input",
              torch_fn=lambda: torch.nn.Linear(3, 4)(torch.ones(2, 3, dtype=torch.complex64))),
    ErrorCase("Linear", lambda: nn.Linear(6, 3)("abc"), TypeError,
              r"linear: expected input to be an array .*got str 'abc'", desc="string_input",
              torch_fn=lambda: torch.nn.Linear(6, 3)("abc")),
    # -- convolutions -----------------------------------------------------------------------
    _refused("conv2d", lambda: ((_a((1, 2, 4, 4), i64), _a((3, 2, 3, 3))), {}),
             r"conv2d: input and weight .* int64 and float32", "int_input"),
    _refused("conv2d", lambda: ((_a((1, 2, 4, 4)), _a((3, 2, 3, 3)), _a(3, f64)), {}),
             r"conv2d: input and bias .* float32 and float64", "f64_bias"),
    _refused("conv1d", lambda: ((_a((1, 2, 5), f16), _a((3, 2, 3))), {}),
             r"conv1d: input and weight .* float16 and float32", "f16_input"),
    # -- embeddings -------------------------------------------------------------------------
    _refused("embedding_bag", lambda: ((np.array([[0, 1], [2, 3]]), _a((5, 3))),
                                       dict(per_sample_weights=_a((2, 2), f64), mode="sum")),
             r"weight and per_sample_weights .* float32 and float64", "f64_per_sample_weights"),
    # -- normalization (float16 input with float32 parameters is accepted, see below) ----------
    _refused("batch_norm", lambda: ((_a((2, 3, 4), f64), _a(3), _a(3, kind="uniform"), _a(3),
                                     _a(3)), dict(training=True)),
             r"batch_norm: input and weight .* float64 and float32", "f64_input"),
    _refused("batch_norm", lambda: ((_a((2, 3, 4)), _a(3), _a(3, kind="uniform"), _a(3, f64),
                                     _a(3)), {}),
             r"input and weight .* float32 and float64", "f64_weight"),
    _refused("batch_norm", lambda: ((_a((2, 3, 4)), _a(3, f64), _a(3, f64, kind="uniform")),
                                    dict(training=True)),
             r"input and running_mean .* float32 and float64", "f64_running_stats"),
    _refused("batch_norm", lambda: ((_a((2, 3, 4), f16), _a(3), _a(3, kind="uniform"),
                                     _a(3, f16), _a(3)), dict(training=True)),
             r"input and bias .* float16 and float32", "f16_mixed_not_all_float32"),
    _refused("layer_norm", lambda: ((_a((2, 3), f64), (3,), _a(3), _a(3)), {}),
             r"layer_norm: input and weight .* float64 and float32", "f64_input"),
    _refused("layer_norm", lambda: ((_a((2, 3)), (3,), _a(3), _a(3, f16)), {}),
             r"input and bias .* float32 and float16", "f16_bias"),
    _refused("layer_norm", lambda: ((_a((2, 3), i64), (3,)), {}),
             r"layer_norm: expected a floating point input, got dtype int64", "int_input"),
    _refused("group_norm", lambda: ((_a((2, 4, 3), f64), 2, _a(4), _a(4)), {}),
             r"group_norm: input and weight .* float64 and float32", "f64_input"),
    _refused("instance_norm", lambda: ((_a((2, 3, 4)),), dict(weight=_a(3, f64), bias=_a(3))),
             r"instance_norm: input and weight .* float32 and float64", "f64_weight"),
    ErrorCase("BatchNorm1d", lambda: _x64(lambda: nn.BatchNorm1d(3)(jnp.ones((2, 3),
                                                                             jnp.float64)))(),
              TypeError, r"float64 and float32", desc="f64_input",
              torch_fn=lambda: torch.nn.BatchNorm1d(3)(torch.ones(2, 3, dtype=torch.float64))),
    # -- activations ------------------------------------------------------------------------
    _refused("prelu", lambda: ((_a((2, 3), f64), _a(1)), {}),
             r"prelu: input and weight .* float64 and float32", "f64_input"),
    _refused("gelu", lambda: ((_a((2, 3), i64),), {}),
             r"gelu: expected a floating point input, got dtype int64", "int_input"),
    _refused("leaky_relu", lambda: ((_a((2, 3), i64),), {}),
             r"leaky_relu: expected a floating point input", "int_input"),
    _refused("hardtanh", lambda: ((np.array([True, False]),), {}),
             r"hardtanh: bool input is not supported", "bool_input"),
    # -- attention --------------------------------------------------------------------------
    _refused("scaled_dot_product_attention",
             lambda: ((_a((2, 3, 4), f16), _a((2, 3, 4)), _a((2, 3, 4))), {}),
             r"query and key .* float16 and float32", "f16_query"),
    _refused("scaled_dot_product_attention",
             lambda: ((_a((2, 3, 4)), _a((2, 3, 4)), _a((2, 3, 4))),
                      dict(attn_mask=_a((3, 3), f64))),
             r"attn_mask to be bool, float32 or of the query's dtype float32, got dtype float64",
             "f64_mask"),
    _refused("multi_head_attention_forward", _mha(f64),
             r"query and in_proj_weight .* float64 and float32", "f64_query"),
    _refused("multi_head_attention_forward", _mha(mask=_a((3, 3), f64)),
             r"float attn_mask of the query's dtype float32, got dtype float64", "f64_mask"),
    ErrorCase("MultiheadAttention",
              lambda: nn.MultiheadAttention(4, 2)(*[jnp.ones((3, 1, 4), jnp.float16)] * 3),
              TypeError, r"float16 and float32", desc="f16_input",
              torch_fn=lambda: torch.nn.MultiheadAttention(4, 2)(
                  *[torch.ones(3, 1, 4, dtype=torch.float16)] * 3)),
    # -- losses -----------------------------------------------------------------------------
    _refused("nll_loss", lambda: ((_a((3, 4), f16), _TARGET), dict(weight=_a(4, f64, kind="uniform"))),
             r"nll_loss: input and weight .* float16 and float64", "f16_input_f64_weight"),
    _refused("nll_loss", lambda: ((_a((3, 4)), _TARGET), dict(weight=_a(4, f64, kind="uniform"))),
             r"nll_loss: input and weight .* float32 and float64", "f64_weight"),
    _refused("cross_entropy", lambda: ((_a((3, 4)), _TARGET), dict(weight=_a(4, f16))),
             r"cross_entropy: input and weight .* float32 and float16", "f16_weight"),
    _refused("multi_margin_loss", lambda: ((_a((3, 4)), _TARGET), dict(weight=_a(4, f64))),
             r"multi_margin_loss: input and weight .* float32 and float64", "f64_weight"),
    _refused("binary_cross_entropy",
             lambda: ((_a((3, 4), kind="uniform"), _a((3, 4), f64, kind="uniform")), {}),
             r"binary_cross_entropy: input and target .* float32 and float64", "f64_target"),
    _refused("binary_cross_entropy_with_logits", lambda: ((_a((3, 4)), _a((3, 4), i64)), {}),
             r"expected a floating point target, got dtype int64", "int_target"),
    _refused("kl_div", lambda: ((_a((3, 4)), _a((3, 4), i64)), dict(reduction="batchmean")),
             r"kl_div: expected a floating point target", "int_target"),
    _refused("gaussian_nll_loss", lambda: ((_a((3, 4)), _a((3, 4)), np.ones((3, 4), i64)), {}),
             r"gaussian_nll_loss: expected a floating point var", "int_var"),
    _refused("pdist", lambda: ((_a((3, 4), i64),), {}),
             r"pdist: expected a floating point input, got dtype int64", "int_input"),
    ErrorCase("NLLLoss", lambda: _x64(lambda: nn.NLLLoss(weight=jnp.ones(4, jnp.float64))(
        jnp.zeros((3, 4), jnp.float16), jnp.asarray(_TARGET)))(), TypeError,
        r"float16 and float64", desc="f16_input_f64_weight",
        torch_fn=lambda: torch.nn.NLLLoss(weight=torch.ones(4, dtype=torch.float64))(
            torch.zeros(3, 4, dtype=torch.float16), torch.from_numpy(_TARGET))),
]


def _devices_linear():
    cpu = jax.devices("cpu")
    x = jax.device_put(jnp.ones((2, 3)), cpu[0])
    w = jax.device_put(jnp.ones((4, 3)), cpu[1])
    return F.linear(x, w)


def _devices_module():
    cpu = jax.devices("cpu")
    return nn.Linear(3, 4).to("cpu:1")(jax.device_put(jnp.ones((2, 3)), cpu[0]))


# torch cannot place tensors on two CPU devices; its message is the model
# ("Expected all tensors to be on the same device, but found at least two devices, cpu:0 and
# cuda:0!"). Arrays JAX has not committed to a device (plain jnp.ones) move freely, as in JAX.
ERROR_CASES += [
    ErrorCase("linear", _devices_linear, ValueError,
              r"linear: expected all arrays to be on the same device, but found at least two "
              r"devices, cpu:0 \(input\) and cpu:1 \(weight\)", desc="two_devices"),
    ErrorCase("Linear", _devices_module, ValueError,
              r"same device.*cpu:0 \(input\) and cpu:1 \(weight\)", desc="two_devices"),
]


def _fc(name, make, desc, **kw):
    return FunctionCase(name, lambda rng: make(), desc=desc, **kw)


_HALF = dict(rtol=2e-3, atol=2e-3)

FUNCTION_CASES = [
    # Mixed precision torch's CPU normalization kernels accept: float16 data, float32 params.
    _fc("layer_norm", lambda: ((_a((2, 5), f16), (5,), _a(5), _a(5, seed=1)), {}),
        "f16_input_f32_params", **_HALF),
    _fc("batch_norm", lambda: ((_a((4, 3, 2), f16), _a(3), _a(3, kind="uniform") + 0.5, _a(3),
                                _a(3, seed=1)), dict(training=False)),
        "f16_input_f32_params", nondiff=(1, 2), **_HALF),
    _fc("group_norm", lambda: ((_a((2, 4, 3), f16), 2, _a(4), _a(4, seed=1)), {}),
        "f16_input_f32_params", **_HALF),
    # ... and the ops where torch does accept another dtype:
    _fc("instance_norm", lambda: ((_a((2, 3, 4)), _a(3, f64), _a(3, f64, kind="uniform")),
                                  dict(use_input_stats=True)),
        "f64_running_stats", nondiff=(1, 2)),
    _fc("rms_norm", lambda: ((_a((2, 5)), (5,), _a(5, f64)), {}), "f64_weight"),
    _fc("conv_transpose2d", lambda: ((_a((1, 2, 4, 4)), _a((2, 3, 3, 3)), _a(3, f64)), {}),
        "f64_bias"),
    _fc("scaled_dot_product_attention",
        lambda: ((_a((2, 3, 4), f64), _a((2, 3, 4), f64, 1), _a((2, 3, 4), f64, 2)),
                 dict(attn_mask=_a((3, 3), f32, 3))),
        "f32_mask_f64_query", nondiff=("attn_mask",), rtol=1e-6, atol=1e-7),
    _fc("cross_entropy", lambda: ((_a((3, 4)), _a((3, 4), kind="uniform")),
                                  dict(weight=_a(4, f64, kind="uniform"))),
        "probabilities_f64_weight_promotes"),
    _fc("binary_cross_entropy", lambda: ((_a((3, 4), kind="uniform"),
                                          _a((3, 4), kind="uniform", seed=1)),
                                         dict(weight=_a((3, 4), f64))),
        "f64_weight_keeps_f32", nondiff=("weight",)),
    _fc("binary_cross_entropy_with_logits", lambda: ((_a((3, 4)), _a((3, 4), f16, 1, "uniform")),
                                                     {}),
        "f16_target_gives_f16", nondiff=(1,), **_HALF),
    _fc("binary_cross_entropy_with_logits", lambda: ((_a((3, 4)), _a((3, 4), f32, 1, "uniform")),
                                                     dict(pos_weight=_a(4, f64, 2),
                                                          weight=_a((3, 4), f64, 3))),
        "f64_weights_keep_f32", nondiff=("weight", "pos_weight")),
    _fc("huber_loss", lambda: ((_a((3, 4)), _a((3, 4), f64, 1)), {}), "f64_target_keeps_f32",
        grad=False),  # torch's huber backward raises "Found dtype Double but expected Float"
    _fc("soft_margin_loss", lambda: ((_a((3, 4)), np.sign(_a((3, 4), f64, 1))), {}),
        "f64_target_keeps_f32", nondiff=(1,)),
    _fc("hinge_embedding_loss", lambda: ((_a((3, 4)), np.sign(_a((3, 4), f64, 1))), {}),
        "f64_target_keeps_f32", nondiff=(1,)),
    # Integer input: the elementwise math functions compute in float32, clamps keep integers.
    _fc("sigmoid", lambda: ((_a((2, 3), i64),), {}), "int_input"),
    _fc("softsign", lambda: ((_a((2, 3), i64),), {}), "int_input"),
    _fc("local_response_norm", lambda: ((_a((1, 3, 4), i64), 2), {}), "int_input"),
    _fc("hardtanh", lambda: ((_a((2, 3), i64),), {}), "int_input_stays_int"),
    _fc("relu6", lambda: ((_a((2, 3), i64) * 3,), {}), "int_input_stays_int"),
]
