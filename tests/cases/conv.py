"""Parity cases for convolutions (jnn/functional/conv.py, jnn/modules/conv.py).

Covers strides, dilation, groups (depthwise included), 'same'/'valid', every padding_mode,
unbatched inputs, transposed convolutions with output_padding/groups/dilation/output_size,
the Lazy* forms (inference of in_channels, loading a state_dict), float64 and gradients.
"""
import jax.numpy as jnp
import numpy as np
import torch

import jnn as nn
import jnn.functional as F
from harness import ErrorCase, FunctionCase, ModuleCase


def _mc(name, args, shape, desc, kwargs=None, **extra):
    return ModuleCase(name, args, kwargs or {}, input_shapes=[shape], desc=desc, atol=1e-4,
                      **extra)


MODULE_CASES = [
    # Conv1d
    _mc("Conv1d", (3, 16, 5), (4, 3, 20), "seed_example"),
    _mc("Conv1d", (4, 6, 3), (2, 4, 15), "stride_pad_dil_groups_nobias",
        dict(stride=2, padding=2, dilation=2, groups=2, bias=False)),
    _mc("Conv1d", (3, 4, 4), (2, 3, 10), "same_even_kernel_reflect",
        dict(padding="same", padding_mode="reflect")),
    _mc("Conv1d", (3, 4, 3), (3, 8), "unbatched_circular", dict(padding=2,
                                                                 padding_mode="circular")),
    _mc("Conv1d", (6, 6, 5), (2, 6, 12), "depthwise_same_dilated",
        dict(groups=6, padding="same", dilation=2)),
    _mc("Conv1d", (3, 5, 3), (2, 3, 9), "float64_replicate",
        dict(padding=1, padding_mode="replicate", stride=2), dtype="float64"),
    # Conv2d
    _mc("Conv2d", (3, 3, 3), (2, 3, 9, 9), "default"),
    _mc("Conv2d", (4, 6, (3, 2)), (2, 4, 11, 10), "stride_pad_dil_groups",
        dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2)),
    _mc("Conv2d", (8, 8, 3), (2, 8, 7, 7), "depthwise", dict(padding=1, groups=8)),
    _mc("Conv2d", (4, 8, 3), (2, 4, 6, 6), "depthwise_multiplier_same",
        dict(groups=4, padding="same", bias=False)),
    _mc("Conv2d", (3, 5, 4), (2, 3, 9, 8), "same_even_dilated_replicate",
        dict(padding="same", dilation=2, padding_mode="replicate")),
    _mc("Conv2d", (3, 4, (4, 2)), (2, 3, 7, 6), "same_even_zeros", dict(padding="same")),
    _mc("Conv2d", (3, 5, 3), (3, 7, 7), "valid_unbatched", dict(padding="valid")),
    _mc("Conv2d", (3, 4, 3), (2, 3, 8, 9), "circular_strided",
        dict(padding=1, padding_mode="circular", stride=2)),
    _mc("Conv2d", (3, 4, 3), (2, 3, 6, 7), "reflect_asym_pad",
        dict(padding=(1, 2), padding_mode="reflect")),
    _mc("Conv2d", (6, 4, 1), (2, 6, 5, 5), "pointwise_groups2", dict(groups=2)),
    _mc("Conv2d", (3, 4, 3), (2, 3, 8, 8), "float64", dict(stride=2, padding=1),
        dtype="float64"),
    _mc("Conv2d", (3, 4, 3), (3, 6, 6), "float64_unbatched_reflect",
        dict(padding=1, padding_mode="reflect", groups=1, dilation=2), dtype="float64"),
    # Few patch rows per filter (batch x output positions <= out_channels / 4): on CPU the
    # default path is the patch matmul.
    _mc("Conv2d", (4, 48, 3), (1, 4, 3, 4), "few_rows_per_filter", dict(padding=1)),
    _mc("Conv1d", (3, 32, 3), (2, 3, 4), "few_rows_per_filter_float64", dict(padding=1),
        dtype="float64"),
    # Conv3d
    _mc("Conv3d", (2, 4, 3), (2, 2, 5, 6, 7), "default"),
    _mc("Conv3d", (4, 4, (2, 3, 1)), (1, 4, 5, 6, 4), "groups_circular",
        dict(stride=(1, 2, 1), padding=(1, 0, 1), dilation=(2, 1, 1), groups=2,
             padding_mode="circular")),
    _mc("Conv3d", (3, 3, 3), (3, 4, 5, 4), "depthwise_same_unbatched_float64",
        dict(groups=3, padding="same"), dtype="float64"),
    _mc("Conv3d", (2, 3, 2), (1, 2, 4, 5, 6), "replicate_stride",
        dict(padding=1, stride=2, padding_mode="replicate", bias=False)),
    # ConvTranspose1d
    _mc("ConvTranspose1d", (3, 4, 3), (2, 3, 7), "default"),
    _mc("ConvTranspose1d", (4, 6, 4), (2, 4, 7), "all_options",
        dict(stride=3, padding=2, output_padding=2, groups=2, dilation=2, bias=False)),
    _mc("ConvTranspose1d", (3, 2, 3), (3, 6), "unbatched_output_size", dict(stride=2),
        forward_kwargs=dict(output_size=(14,))),
    _mc("ConvTranspose1d", (4, 4, 3), (2, 4, 9), "depthwise_float64",
        dict(stride=2, groups=4, padding=1), dtype="float64"),
    # ConvTranspose2d
    _mc("ConvTranspose2d", (4, 6, 3), (2, 4, 5, 6), "stride_pad_outpad",
        dict(stride=2, padding=1, output_padding=1)),
    _mc("ConvTranspose2d", (4, 4, 3), (2, 4, 5, 5), "depthwise", dict(stride=2, groups=4)),
    _mc("ConvTranspose2d", (3, 2, 3), (2, 3, 5, 6), "output_size_full",
        dict(stride=2, padding=1), forward_kwargs=dict(output_size=[2, 2, 10, 12])),
    _mc("ConvTranspose2d", (3, 4, (3, 2)), (2, 3, 5, 4), "dilation_outpad_lt_dilation",
        dict(dilation=(2, 1), output_padding=(1, 0), padding=(2, 0))),
    _mc("ConvTranspose2d", (4, 6, (2, 3)), (2, 4, 4, 5), "groups_stride_float64",
        dict(stride=(2, 3), padding=(0, 1), output_padding=(1, 2), groups=2),
        dtype="float64"),
    _mc("ConvTranspose2d", (3, 3, 3), (3, 4, 4), "unbatched_output_size",
        dict(stride=3), forward_kwargs=dict(output_size=(13, 14))),
    # ConvTranspose3d
    _mc("ConvTranspose3d", (2, 4, 3), (1, 2, 3, 4, 3), "stride", dict(stride=2)),
    _mc("ConvTranspose3d", (4, 2, (2, 3, 2)), (4, 3, 3, 4), "groups_unbatched_float64",
        dict(stride=(2, 1, 2), padding=(1, 0, 1), output_padding=(1, 0, 0), groups=2,
             dilation=(1, 2, 1)), dtype="float64"),
]

# Lazy forms: torch's lazy modules have no state_dict shapes before the first call, so the
# reference is the non-lazy torch layer with in_channels given; loading its state_dict
# materialises jnn's lazy parameters (as torch's lazy load hook does).
for _name, _targs, _args, _kw, _shape in [
    ("Conv1d", (3, 4, 3), (4, 3), dict(padding=1), (2, 3, 8)),
    ("Conv2d", (4, 6, 3), (6, 3), dict(groups=2, stride=2), (2, 4, 7, 7)),
    ("Conv3d", (2, 3, 2), (3, 2), dict(padding="same"), (2, 5, 4, 4)),
    ("ConvTranspose1d", (3, 4, 3), (4, 3), dict(stride=2, output_padding=1), (2, 3, 5)),
    ("ConvTranspose2d", (4, 2, 3), (2, 3), dict(groups=2, padding=1), (2, 4, 5, 5)),
    ("ConvTranspose3d", (2, 3, 2), (3, 2), dict(stride=2), (1, 2, 3, 3, 3)),
]:
    MODULE_CASES.append(ModuleCase(
        "Lazy" + _name, _args, _kw, input_shapes=[_shape], torch_name=_name, torch_args=_targs,
        torch_kwargs=_kw, check_repr=False, check_state_dict=False, atol=1e-4,
        desc="loaded_from_state_dict"))


# -- lazy inference from the first input, then the class switch ---------------------------------

def _lazy_infer(cls, args, kwargs, become, in_axis):
    """jnn side: build the lazy layer, call it once (infers in_channels), check it became the
    non-lazy class, then put the given weights in and call again."""
    def fn(x, w, b):
        m = getattr(nn, cls)(*args, **kwargs)
        assert m.in_channels == 0
        m(x)
        assert type(m) is getattr(nn, become), type(m)
        assert m.in_channels == x.shape[in_axis]
        assert m.weight.shape == w.shape, (m.weight.shape, w.shape)
        m.weight.data = w
        m.bias.data = b
        return m(x)
    return fn


def _arrays(*shapes, dtype=np.float32):
    def make(rng):
        return tuple(rng.standard_normal(s).astype(dtype) for s in shapes), {}
    return make


FUNCTION_CASES = [
    FunctionCase("LazyConv2d", _arrays((2, 5, 6, 6), (4, 5, 3, 3), (4,)), desc="infer",
                 jnn_fn=_lazy_infer("LazyConv2d", (4, 3), dict(padding=1), "Conv2d", 1),
                 torch_fn=lambda x, w, b: torch.nn.functional.conv2d(x, w, b, padding=1),
                 check_jit=False, atol=1e-4),
    FunctionCase("LazyConvTranspose1d", _arrays((6, 7), (6, 2, 3), (4,)),
                 desc="infer_unbatched_groups",
                 jnn_fn=_lazy_infer("LazyConvTranspose1d", (4, 3), dict(groups=2, stride=2),
                                    "ConvTranspose1d", 0),
                 torch_fn=lambda x, w, b: torch.nn.functional.conv_transpose1d(
                     x, w, b, stride=2, groups=2),
                 check_jit=False, atol=1e-4),
]


def _fc(name, x_shape, w_shape, desc, bias=True, dtype=np.float32, **kwargs):
    def make(rng):
        x = rng.standard_normal(x_shape).astype(dtype)
        w = rng.standard_normal(w_shape).astype(dtype)
        b = rng.standard_normal((w_shape[1] * kwargs.get("groups", 1)
                                 if "transpose" in name else w_shape[0],)).astype(dtype)
        return (x, w, b if bias else None), dict(kwargs)
    return FunctionCase(name, make, desc=desc, atol=1e-4)


FUNCTION_CASES += [
    _fc("conv1d", (2, 4, 11), (6, 2, 3), "groups_stride_dilation", stride=2, dilation=2,
        groups=2, padding=1),
    _fc("conv1d", (3, 9), (4, 3, 4), "same_even_unbatched", padding="same"),
    _fc("conv1d", (2, 5, 9), (5, 1, 3), "depthwise_valid_float64", padding="valid", groups=5,
        dtype=np.float64),
    _fc("conv2d", (2, 3, 8, 9), (4, 3, 3, 3), "default"),
    _fc("conv2d", (2, 4, 9, 8), (6, 4, 4, 2), "same_even_dilated", bias=False,
        padding="same", dilation=(2, 1)),
    _fc("conv2d", (2, 4, 9, 9), (6, 2, 3, 3), "groups_stride_pad", stride=2, padding=(1, 0),
        groups=2),
    _fc("conv2d", (2, 6, 7, 7), (6, 1, 3, 3), "depthwise", padding=1, groups=6),
    _fc("conv2d", (3, 7, 6), (2, 3, 2, 3), "unbatched_float64", stride=(1, 2),
        dtype=np.float64),
    _fc("conv3d", (1, 4, 5, 6, 7), (4, 2, 2, 3, 2), "groups_stride_dilation",
        stride=(1, 2, 3), dilation=(2, 1, 1), groups=2),
    _fc("conv3d", (2, 4, 4, 5), (3, 2, 3, 3, 3), "same_unbatched_float64", padding="same",
        dtype=np.float64),
    # Kernel 2, stride 2, padding 1: forms whose XLA:CPU compilation aborted the process
    # (jnn/functional/conv.py, "An XLA:CPU compiler abort"): the input gradient (conv) or the
    # forward (transposed) is an unpadded 2-tap convolution over a 2-dilated input.
    _fc("conv2d", (2, 2, 4, 5), (1, 2, 2, 3), "xla_swap_input_gradient", stride=2,
        padding=(1, 0)),
    _fc("conv3d", (2, 1, 3, 5, 6), (2, 1, 2, 3, 2), "xla_swap_input_gradient",
        stride=(3, 2, 2), padding=(2, 0, 1), dilation=(2, 1, 1)),
    _fc("conv_transpose2d", (2, 2, 3, 1), (2, 3, 2, 3), "xla_swap_forward", stride=(2, 1),
        padding=1),
    _fc("conv_transpose3d", (2, 1, 2, 2, 3), (1, 1, 2, 3, 2), "xla_swap_forward",
        stride=(2, 1, 2), padding=(1, 0, 1), dtype=np.float64),
    _fc("conv_transpose1d", (2, 3, 7), (3, 4, 3), "default"),
    _fc("conv_transpose1d", (4, 7), (4, 2, 3), "unbatched_all_options", stride=3, padding=2,
        output_padding=1, groups=4, dilation=2),
    _fc("conv_transpose2d", (2, 4, 5, 6), (4, 3, 3, 3), "stride_outpad_groups", stride=2,
        padding=1, output_padding=1, groups=2),
    _fc("conv_transpose2d", (2, 4, 5, 6), (4, 3, 3, 2), "dilation_big_padding",
        stride=(2, 3), padding=(3, 1), output_padding=(1, 2), dilation=(2, 1)),
    _fc("conv_transpose2d", (3, 4, 4), (3, 2, 2, 2), "unbatched_float64_nobias", bias=False,
        stride=2, dtype=np.float64),
    _fc("conv_transpose3d", (1, 4, 3, 4, 5), (4, 1, 2, 3, 2), "all_options",
        stride=(2, 1, 2), padding=(1, 0, 1), output_padding=(1, 0, 0), groups=2,
        dilation=(1, 2, 1)),
    _fc("conv_transpose3d", (2, 3, 3, 3), (2, 3, 2, 2, 2), "unbatched_float64",
        stride=2, dtype=np.float64),
]


def _x(*shape):
    return jnp.ones(shape, jnp.float32)


ERROR_CASES = [
    ErrorCase("Conv2d", lambda: nn.Conv2d(3, 4, 3)(_x(2, 5, 8, 8)), ValueError,
              r"conv2d: expected input with 3 channels .*got 5 channels", desc="channels"),
    ErrorCase("Conv2d", lambda: nn.Conv2d(3, 4, 3)(_x(3, 32)), ValueError,
              r"conv2d: expected input with 3 or 4 dimensions .*got shape \(3, 32\)",
              desc="rank"),
    ErrorCase("Conv2d", lambda: nn.Conv2d(3, 4, 3, groups=2), ValueError,
              r"in_channels must be divisible by groups", desc="in_groups"),
    ErrorCase("Conv2d", lambda: nn.Conv2d(4, 3, 3, groups=2), ValueError,
              r"out_channels must be divisible by groups", desc="out_groups"),
    ErrorCase("Conv1d", lambda: nn.Conv1d(4, 4, 3, groups=0), ValueError,
              r"groups must be a positive integer", desc="groups0"),
    ErrorCase("Conv2d", lambda: nn.Conv2d(3, 4, 3, padding_mode="mirror"), ValueError,
              r"padding_mode must be one of .*'mirror'", desc="padding_mode"),
    ErrorCase("Conv2d", lambda: nn.Conv2d(3, 4, 3, padding="full"), ValueError,
              r"invalid padding string 'full'", desc="padding_string"),
    ErrorCase("Conv2d", lambda: nn.Conv2d(3, 4, 3, padding="same", stride=2), ValueError,
              r"padding='same' is not supported for strided", desc="same_strided"),
    ErrorCase("Conv3d", lambda: nn.Conv3d(3, 4, (3, 3)), ValueError,
              r"kernel_size to be an int or a tuple of 3 ints", desc="kernel_len"),
    ErrorCase("Conv1d", lambda: nn.Conv1d(3, 4, 3)(_x(2, 3, 2)), ValueError,
              r"kernel size can't be greater than actual input size", desc="too_small"),
    ErrorCase("conv2d", lambda: F.conv2d(_x(1, 3, 8, 8), _x(4, 3, 3, 3), padding="same",
                                         stride=2), ValueError,
              r"conv2d: padding='same' is not supported for strided", desc="same_strided"),
    ErrorCase("conv2d", lambda: F.conv2d(_x(1, 3, 8, 8), _x(4, 3, 3)), ValueError,
              r"conv2d: expected weight with 4 dimensions, got shape \(4, 3, 3\)",
              desc="weight_rank"),
    ErrorCase("conv2d", lambda: F.conv2d(_x(1, 3, 8, 8), _x(4, 3, 3, 3), stride=0),
              ValueError, r"conv2d: expected stride to be positive", desc="stride0"),
    ErrorCase("conv2d", lambda: F.conv2d(_x(1, 3, 8, 8), _x(4, 3, 3, 3), padding=-1),
              ValueError, r"conv2d: expected padding to be non-negative", desc="neg_padding"),
    ErrorCase("conv2d", lambda: F.conv2d(_x(1, 3, 8, 8), _x(4, 3, 3, 3), _x(3)), ValueError,
              r"conv2d: expected bias of shape \(4,\), got shape \(3,\)", desc="bias"),
    ErrorCase("conv1d", lambda: F.conv1d(_x(1, 4, 8), _x(6, 2, 3), groups=3), ValueError,
              r"conv1d: expected input with 6 channels \(weight.shape\[1\] \* groups",
              desc="groups_channels"),
    ErrorCase("conv_transpose2d", lambda: F.conv_transpose2d(
        _x(1, 3, 4, 4), _x(3, 2, 3, 3), stride=2, output_padding=2), ValueError,
        r"output padding must be smaller than either stride or dilation", desc="outpad"),
    ErrorCase("conv_transpose1d", lambda: F.conv_transpose1d(_x(1, 4, 4), _x(3, 2, 3)),
              ValueError, r"expected input with 3 channels \(weight.shape\[0\]\), got 4",
              desc="channels"),
    ErrorCase("conv_transpose1d", lambda: F.conv_transpose1d(_x(1, 2, 4), _x(2, 2, 2),
                                                             padding=3),
              ValueError, r"calculated output size \(-1,\) is too small", desc="too_small"),
    ErrorCase("conv_transpose3d", lambda: F.conv_transpose3d(_x(2, 4, 4), _x(2, 2, 2, 2, 2)),
              ValueError, r"expected input with 4 or 5 dimensions", desc="rank"),
    ErrorCase("ConvTranspose2d", lambda: nn.ConvTranspose2d(3, 3, 3, padding_mode="reflect"),
              ValueError, r'only "zeros" padding mode is supported', desc="padding_mode"),
    ErrorCase("ConvTranspose2d", lambda: nn.ConvTranspose2d(3, 3, 3, stride=2)(
        _x(1, 3, 5, 5), output_size=(14, 14)), ValueError,
        r"requested an output size of \[14, 14\], but valid sizes range from \[11, 11\] to "
        r"\[12, 12\]", desc="output_size_range"),
    ErrorCase("ConvTranspose1d", lambda: nn.ConvTranspose1d(3, 3, 3)(
        _x(1, 3, 5), output_size=(1, 7)), ValueError,
        r"output_size must have 1 or 3 elements \(got 2\)", desc="output_size_len"),
    ErrorCase("ConvTranspose2d", lambda: nn.ConvTranspose2d(3, 4, 3, groups=2), ValueError,
              r"in_channels must be divisible by groups", desc="groups"),
    ErrorCase("LazyConv2d", lambda: nn.LazyConv2d(4, 3, groups=2)(_x(1, 3, 5, 5)), ValueError,
              r"in_channels must be divisible by groups, got in_channels=3", desc="groups"),
    ErrorCase("LazyConv1d", lambda: nn.LazyConv1d(4, 3)(_x(1, 2, 3, 5)), ValueError,
              r"expected 2D \(unbatched\) or 3D \(batched\) input", desc="rank"),
]
