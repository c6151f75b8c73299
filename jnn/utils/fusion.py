"""Fold an eval-mode BatchNorm into the preceding convolution or linear layer
(``torch.nn.utils.fusion``)."""
from __future__ import annotations

import copy
from typing import Any

import jax.numpy as jnp

from ..modules.module import Module
from ..parameter import Parameter
from ._parametrize_common import as_array

__all__ = ["fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval",
           "fuse_linear_bn_weights"]


def _requires_grad(x) -> bool:
    return bool(getattr(x, "requires_grad", False)) if isinstance(x, Parameter) else False


def fuse_conv_bn_eval(conv: Module, bn: Module, transpose: bool = False) -> Module:
    """A copy of ``conv`` whose weight and bias absorb the eval-mode ``bn`` that follows it
    (``torch.nn.utils.fuse_conv_bn_eval``).

    Args:
        conv: a convolution module (``weight``, ``bias`` attributes, torch layouts).
        bn: a BatchNorm module in eval mode (``running_mean``, ``running_var``, ``eps``,
            ``weight``, ``bias``).
        transpose: ``conv`` is a transposed convolution (output channels on dim 1).

    Returns:
        A deep copy of ``conv`` with fused parameters; ``conv(x)`` then ``bn`` equals
        ``fused(x)`` in eval mode.

    Example:
        >>> conv, bn = nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)
        >>> _ = bn(conv(nn.randn(8, 3, 5, 5)))         # training: running statistics move
        >>> fused = nn.utils.fuse_conv_bn_eval(conv.eval(), bn.eval())
        >>> x = nn.randn(1, 3, 5, 5)
        >>> bool(jnp.allclose(fused(x), bn(conv(x)), atol=1e-5))
        True
    """
    if conv.training or bn.training:
        raise AssertionError("Fusion only for eval!")
    fused_conv = copy.deepcopy(conv)
    if bn.running_mean is None or bn.running_var is None:
        raise AssertionError("bn.running_mean and bn.running_var must not be None")
    fused_conv.weight, fused_conv.bias = fuse_conv_bn_weights(
        fused_conv.weight, fused_conv.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight,
        bn.bias, transpose)
    return fused_conv


def fuse_conv_bn_weights(conv_w: Any, conv_b: Any, bn_rm: Any, bn_rv: Any, bn_eps: float, bn_w: Any,
                         bn_b: Any, transpose: bool = False) -> tuple[Parameter, Parameter]:
    """Fused convolution weight and bias from the convolution's and the BatchNorm's arrays
    (``torch.nn.utils.fuse_conv_bn_weights``).

    ``w' = w * (gamma / sqrt(var + eps))`` per output channel and
    ``b' = (b - mean) * gamma / sqrt(var + eps) + beta``.

    Args:
        conv_w: ``(out, in/groups, *k)`` (``(in, out/groups, *k)`` with ``transpose``).
        conv_b: ``(out,)`` or ``None`` (zeros).
        bn_rm, bn_rv: running mean and variance, ``(out,)``.
        bn_eps: BatchNorm's eps.
        bn_w, bn_b: affine weight and bias or ``None`` (ones / zeros).
        transpose: the weight is a transposed convolution's.

    Returns:
        ``(Parameter(fused_w), Parameter(fused_b))`` in the dtypes of ``conv_w``/``conv_b``;
        each requires grad when the corresponding input was a Parameter requiring grad.

    Example:
        >>> conv, bn = nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)
        >>> w, b = nn.utils.fuse_conv_bn_weights(conv.weight, conv.bias, bn.running_mean,
        ...                                      bn.running_var, bn.eps, bn.weight, bn.bias)
        >>> w.shape, b.shape
        ((4, 3, 3, 3), (4,))
    """
    w_grad, b_grad = _requires_grad(conv_w), _requires_grad(conv_b)
    conv_w, conv_b = as_array(conv_w), as_array(conv_b)
    bn_rm, bn_rv, bn_w, bn_b = as_array(bn_rm), as_array(bn_rv), as_array(bn_w), as_array(bn_b)
    w_dtype = conv_w.dtype
    b_dtype = conv_b.dtype if conv_b is not None else w_dtype
    if conv_b is None:
        conv_b = jnp.zeros_like(bn_rm)
    if bn_w is None:
        bn_w = jnp.ones_like(bn_rm)
    if bn_b is None:
        bn_b = jnp.zeros_like(bn_rm)
    rsqrt = 1.0 / jnp.sqrt(bn_rv + bn_eps)
    tail = [1] * (conv_w.ndim - 2)
    shape = [1, -1] + tail if transpose else [-1, 1] + tail
    fused_w = (conv_w * (bn_w * rsqrt).reshape(shape)).astype(w_dtype)
    fused_b = ((conv_b - bn_rm) * rsqrt * bn_w + bn_b).astype(b_dtype)
    return Parameter(fused_w, w_grad), Parameter(fused_b, b_grad)


def fuse_linear_bn_eval(linear: Module, bn: Module) -> Module:
    """A copy of ``linear`` whose weight and bias absorb the eval-mode ``bn`` that follows it
    (``torch.nn.utils.fuse_linear_bn_eval``).

    Args:
        linear: a ``Linear`` in eval mode.
        bn: a ``BatchNorm1d`` in eval mode with ``num_features == linear.out_features`` (or 1).

    Returns:
        A deep copy of ``linear`` with fused parameters.

    Example:
        >>> lin, bn = nn.Linear(3, 4), nn.BatchNorm1d(4)
        >>> _ = bn(lin(nn.randn(8, 3)))                # training: running statistics move
        >>> fused = nn.utils.fuse_linear_bn_eval(lin.eval(), bn.eval())
        >>> x = nn.randn(2, 3)
        >>> bool(jnp.allclose(fused(x), bn(lin(x)), atol=1e-5))
        True
    """
    if linear.training or bn.training:
        raise AssertionError("Fusion only for eval!")
    fused_linear = copy.deepcopy(linear)
    if linear.out_features != bn.num_features and bn.num_features != 1:
        raise AssertionError(
            "To fuse, linear.out_features == bn.num_features or bn.num_features == 1, got "
            f"linear.out_features={linear.out_features} and bn.num_features={bn.num_features}")
    if bn.running_mean is None or bn.running_var is None:
        raise AssertionError("bn.running_mean and bn.running_var must not be None")
    fused_linear.weight, fused_linear.bias = fuse_linear_bn_weights(
        fused_linear.weight, fused_linear.bias, bn.running_mean, bn.running_var, bn.eps,
        bn.weight, bn.bias)
    return fused_linear


def fuse_linear_bn_weights(linear_w: Any, linear_b: Any, bn_rm: Any, bn_rv: Any, bn_eps: float,
                           bn_w: Any, bn_b: Any) -> tuple[Parameter, Parameter]:
    """Fused linear weight and bias (``torch.nn.utils.fuse_linear_bn_weights``).

    ``W' = W * (gamma / sqrt(var + eps))[:, None]``, ``b' = (b - mean) * scale + beta``.

    Args:
        linear_w: ``(out, in)``.
        linear_b: ``(out,)`` or ``None`` (zeros).
        bn_rm, bn_rv, bn_eps, bn_w, bn_b: the BatchNorm's running statistics, eps and affine
            parameters (``(out,)`` or ``(1,)``).

    Returns:
        ``(Parameter(fused_w), Parameter(fused_b))``.

    Example:
        >>> lin, bn = nn.Linear(3, 4), nn.BatchNorm1d(4)
        >>> w, b = nn.utils.fuse_linear_bn_weights(lin.weight, lin.bias, bn.running_mean,
        ...                                        bn.running_var, bn.eps, bn.weight, bn.bias)
        >>> w.shape, b.shape
        ((4, 3), (4,))
    """
    w_grad, b_grad = _requires_grad(linear_w), _requires_grad(linear_b)
    linear_w, linear_b = as_array(linear_w), as_array(linear_b)
    bn_rm, bn_rv, bn_w, bn_b = as_array(bn_rm), as_array(bn_rv), as_array(bn_w), as_array(bn_b)
    w_dtype = linear_w.dtype
    b_dtype = linear_b.dtype if linear_b is not None else w_dtype
    if linear_b is None:
        linear_b = jnp.zeros_like(bn_rm)
    bn_scale = bn_w * (1.0 / jnp.sqrt(bn_rv + bn_eps))
    fused_w = linear_w * bn_scale[..., None].astype(w_dtype)
    fused_b = ((linear_b - bn_rm) * bn_scale + bn_b).astype(b_dtype)
    return Parameter(fused_w, w_grad), Parameter(fused_b, b_grad)
