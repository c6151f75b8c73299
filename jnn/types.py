"""Type aliases of jnn's public signatures (jnn's counterpart of ``torch.nn.common_types``).

The layers and kernels are annotated with these names, so a signature reads as torch's does
(``kernel_size: size_2_t``) and a type checker sees what each argument accepts. They are plain
aliases, for annotations only: nothing checks them at run time.

Arrays:
    ``ArrayLike``: an array argument: a ``jax.Array``, a NumPy array or scalar, or a Python
    scalar (``jax.typing.ArrayLike``), or an object with ``__jax_array__`` (a
    ``jnn.Parameter`` box). The functional kernels accept any of these.
    ``Array``: what the kernels and layers return (``jax.Array``); also the array arguments of
    ``Module.forward``, as torch's ``forward(self, input: Tensor)``.

Sizes (torch's ``_size_*_t``): an ``int`` stands for the same value along every dimension.
    ``size_1_t``, ``size_2_t``, ``size_3_t``: one ``int`` or a tuple of 1, 2, 3 ints
    (``kernel_size``, ``stride``, ``padding``, ``dilation`` of the 1-, 2-, 3-d layers).
    ``size_any_t``: one ``int`` or a tuple of any length (shared by the 1-, 2- and 3-d forms).
    ``size_1_opt_t``, ``size_2_opt_t``, ``size_3_opt_t``, ``size_any_opt_t``: as above where an
    entry may be ``None`` ("keep the input's size", the adaptive poolings' ``output_size``).
    ``shape_t``: a shape: one ``int`` or a sequence of ints (``normalized_shape``; torch's
    ``_shape_t``).

Ratios (torch's ``_ratio_*_t``): a ``float`` for every dimension or one per dimension.
    ``ratio_2_t``, ``ratio_3_t``, ``ratio_any_t`` (``scale_factor``, ``output_ratio``).

Factory keywords of the layer constructors:
    ``DeviceLike``: a device: a ``jax.Device``, ``"cpu"``, ``"cuda:1"`` or a GPU index.
    ``DTypeLike``: a dtype: a NumPy/JAX dtype, a dtype name (``"float64"``) or a torch dtype;
    typed loosely (``Any``), as torch's dtype is not a type jnn's annotations can name.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, TypeAlias

import jax

__all__ = [
    "ArrayLike", "Array",
    "size_1_t", "size_2_t", "size_3_t", "size_any_t",
    "size_1_opt_t", "size_2_opt_t", "size_3_opt_t", "size_any_opt_t", "shape_t",
    "ratio_2_t", "ratio_3_t", "ratio_any_t",
    "DeviceLike", "DTypeLike",
]


# Private: the docs site (griffe) cannot render a Protocol class; ArrayLike is the public name.
class _SupportsJaxArray(Protocol):
    """An object that converts itself to a ``jax.Array`` (``__jax_array__``): a
    :class:`jnn.Parameter` or ``Buffer`` box, for one."""

    def __jax_array__(self) -> jax.Array: ...


ArrayLike: TypeAlias = jax.typing.ArrayLike | _SupportsJaxArray
Array: TypeAlias = jax.Array

size_1_t: TypeAlias = int | tuple[int]
size_2_t: TypeAlias = int | tuple[int, int]
size_3_t: TypeAlias = int | tuple[int, int, int]
size_any_t: TypeAlias = int | tuple[int, ...]

size_1_opt_t: TypeAlias = int | None | tuple[int | None]
size_2_opt_t: TypeAlias = int | None | tuple[int | None, int | None]
size_3_opt_t: TypeAlias = int | None | tuple[int | None, int | None, int | None]
size_any_opt_t: TypeAlias = int | None | tuple[int | None, ...]

shape_t: TypeAlias = int | Sequence[int]

ratio_2_t: TypeAlias = float | tuple[float, float]
ratio_3_t: TypeAlias = float | tuple[float, float, float]
ratio_any_t: TypeAlias = float | tuple[float, ...]

DeviceLike: TypeAlias = jax.Device | str | int
DTypeLike: TypeAlias = Any
