"""Padding layers: ``ReflectionPad``, ``ReplicationPad``, ``ZeroPad``, ``ConstantPad`` and
``CircularPad`` in 1, 2 and 3 dimensions, all on one ``_PadNd`` base and ``F.pad``."""
from __future__ import annotations

import collections.abc
from typing import TYPE_CHECKING

import jax.numpy as jnp

from .. import functional as F
from ..types import Array, size_any_t
from .module import Module

__all__ = ["ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d", "ReplicationPad1d",
           "ReplicationPad2d", "ReplicationPad3d", "ZeroPad1d", "ZeroPad2d", "ZeroPad3d",
           "ConstantPad1d", "ConstantPad2d", "ConstantPad3d", "CircularPad1d", "CircularPad2d",
           "CircularPad3d"]


def _padding_tuple(padding, n: int) -> tuple:
    # torch's _ntuple(2 * n): a sequence is kept as given (F.pad validates it), a scalar repeated.
    if isinstance(padding, collections.abc.Iterable) and not isinstance(padding, str):
        return tuple(padding)
    return (padding,) * (2 * n)


class _PadNd(Module):
    """Shared base: ``padding`` is ``(left, right[, top, bottom[, front, back]])`` as in torch;
    ``forward`` is one ``F.pad`` call with the subclass's ``_mode``."""

    _n: int = 0
    _mode: str = "constant"

    def __init__(self, padding: size_any_t) -> None:
        super().__init__()
        self.padding = _padding_tuple(padding, self._n)

    def _check_input_dim(self, input) -> None:
        pass

    def forward(self, input: Array) -> Array:
        self._check_input_dim(input)
        return F.pad(input, self.padding, self._mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ReflectionPadNd(_PadNd):
    _mode = "reflect"


class _ReplicationPadNd(_PadNd):
    _mode = "replicate"


class _CircularPadNd(_PadNd):
    _mode = "circular"

    def _check_input_dim(self, input) -> None:
        ndim = len(jnp.shape(input))
        if ndim not in (self._n + 1, self._n + 2):
            raise ValueError(f"{type(self).__name__}: expected {self._n + 1}D or {self._n + 2}D "
                             f"input (got {ndim}D input of shape {tuple(jnp.shape(input))})")


class _ConstantPadNd(_PadNd):
    def __init__(self, padding: size_any_t, value: float) -> None:
        super().__init__(padding)
        self.value = value

    def forward(self, input: Array) -> Array:
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


_DOC = """Pads the last {n} dimension(s) {how} (``torch.nn.{name}``).

    Args:
        padding: int (the same on every side) or a {k}-tuple ``{order}``.{extra}

    Shape:
        {shape_in} -> the same with each padded dimension grown by its two pads.

    Example:
        >>> m = nn.{name}({example})
        >>> m(nn.randn({ex_in})).shape
        {ex_out}
    """

_ORDER = {1: "(left, right)", 2: "(left, right, top, bottom)",
          3: "(left, right, top, bottom, front, back)"}
_SHAPES = {1: "``(N, C, W)`` or ``(C, W)``", 2: "``(N, C, H, W)`` or ``(C, H, W)``",
           3: "``(N, C, D, H, W)`` or ``(C, D, H, W)``"}
_EX = {1: ("(1, 2, 4)", "(1, 2, 8)"), 2: ("(1, 2, 4, 4)", "(1, 2, 8, 8)"),
       3: ("(1, 2, 4, 4, 4)", "(1, 2, 8, 8, 8)")}
_HOW = {"reflect": "by reflecting the input at its edges (edges not repeated)",
        "replicate": "by repeating the input's edge values",
        "circular": "by wrapping around (circular / periodic padding)",
        "zero": "with zeros",
        "constant": "with a constant ``value``"}


def _doc(name: str, n: int, how: str) -> str:
    extra = "\n        value: the fill value." if how == "constant" else ""
    example = "2, 3.5" if how == "constant" else "2"
    if how in ("constant", "zero"):
        shape_in = "``(*, " + ", ".join("DHW"[3 - n:]) + ")``"
    else:
        shape_in = _SHAPES[n]
    return _DOC.format(n=n, how=_HOW[how], name=name, k=2 * n, order=_ORDER[n], extra=extra,
                       shape_in=shape_in, example=example, ex_in=_EX[n][0], ex_out=_EX[n][1])


class ReflectionPad1d(_ReflectionPadNd):
    _n = 1
    __doc__ = _doc("ReflectionPad1d", 1, "reflect")


class ReflectionPad2d(_ReflectionPadNd):
    _n = 2
    __doc__ = _doc("ReflectionPad2d", 2, "reflect")


class ReflectionPad3d(_ReflectionPadNd):
    _n = 3
    __doc__ = _doc("ReflectionPad3d", 3, "reflect")


class ReplicationPad1d(_ReplicationPadNd):
    _n = 1
    __doc__ = _doc("ReplicationPad1d", 1, "replicate")


class ReplicationPad2d(_ReplicationPadNd):
    _n = 2
    __doc__ = _doc("ReplicationPad2d", 2, "replicate")


class ReplicationPad3d(_ReplicationPadNd):
    _n = 3
    __doc__ = _doc("ReplicationPad3d", 3, "replicate")


class CircularPad1d(_CircularPadNd):
    _n = 1
    __doc__ = _doc("CircularPad1d", 1, "circular")


class CircularPad2d(_CircularPadNd):
    _n = 2
    __doc__ = _doc("CircularPad2d", 2, "circular")


class CircularPad3d(_CircularPadNd):
    _n = 3
    __doc__ = _doc("CircularPad3d", 3, "circular")


class ConstantPad1d(_ConstantPadNd):
    _n = 1
    __doc__ = _doc("ConstantPad1d", 1, "constant")


class ConstantPad2d(_ConstantPadNd):
    _n = 2
    __doc__ = _doc("ConstantPad2d", 2, "constant")


class ConstantPad3d(_ConstantPadNd):
    _n = 3
    __doc__ = _doc("ConstantPad3d", 3, "constant")


if TYPE_CHECKING:  # a mixin over the ConstantPad classes: the type checker sees that base
    _ConstantPadBase = _ConstantPadNd
else:
    _ConstantPadBase = object


class _ZeroPadMixin(_ConstantPadBase):
    def __init__(self, padding: size_any_t) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad1d(_ZeroPadMixin, ConstantPad1d):
    __doc__ = _doc("ZeroPad1d", 1, "zero")


class ZeroPad2d(_ZeroPadMixin, ConstantPad2d):
    __doc__ = _doc("ZeroPad2d", 2, "zero")


class ZeroPad3d(_ZeroPadMixin, ConstantPad3d):
    __doc__ = _doc("ZeroPad3d", 3, "zero")
