"""``Parameter`` and ``Buffer``: mutable boxes around immutable JAX arrays.

A torch ``Parameter`` is a tensor that is updated in place. JAX arrays are immutable, so a jnn
``Parameter`` is a *box*: it holds the current array in ``.data`` and swapping the array is the
in-place update. The box works wherever an array does in ``jnp`` code (``__jax_array__``,
operators, indexing, ``.shape``/``.dtype``/``.T`` ...) and is a pytree node whose one leaf is
the array, so ``jax.tree.map`` over a module maps over its parameter values.

Differences from PyTorch:
    ``lax.*`` primitives do not accept a box: pass ``p.data`` (or ``jnp.asarray(p)``).
    In-place methods (``add_``, ``zero_``, ``normal_`` ...) rebind the box's array.
    ``.grad`` is only filled by ``Grads.accumulate()`` or by you; ``nn.value_and_grad`` returns
    gradients instead of writing them.
"""
from __future__ import annotations

import operator
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np

from . import _tensor_str
from ._state import context
from ._state.tracking import note_change

if TYPE_CHECKING:  # (jnn.random imports this module)
    from .random import Generator

__all__ = ["Parameter", "Buffer", "UninitializedParameter", "UninitializedBuffer", "is_array"]


def is_array(value: Any) -> bool:
    """True for the values jnn stores as array state: jax/numpy arrays (not Python scalars)."""
    return isinstance(value, (jax.Array, np.ndarray, np.generic)) or hasattr(value, "__jax_array__")


def _to_array(value: Any, what: str) -> jax.Array:
    if isinstance(value, Parameter):
        return value._data
    if isinstance(value, jax.Array):
        return value
    if isinstance(value, (np.ndarray, np.generic, list, tuple, int, float, bool)):
        # Copy: on CPU jnp.asarray may alias numpy memory, and the caller may mutate it later
        # (torch's .numpy() views share storage with tensors a torch optimizer updates).
        return jnp.array(value, copy=True)
    if hasattr(value, "__jax_array__"):
        return jnp.asarray(value)
    if type(value).__module__.startswith("torch"):  # a torch tensor: copy through numpy
        return jnp.array(value.detach().cpu().numpy(), copy=True)
    raise TypeError(f"{what}: expected an array (jax.Array, numpy.ndarray), got "
                    f"{type(value).__name__}")


def _read(p: Parameter):
    """The array in a Parameter box, as seen by computation (``__jax_array__``, operators).

    Inside an ``nn.jit`` trace every Parameter reachable from the arguments holds a tracer.
    One that still holds a concrete array was not reachable (a module captured by closure,
    say): using it would freeze its current value into the compiled program, a silent wrong
    answer, so reading it raises instead. A tracer found while another thread traces is that
    thread's: wait for it to restore the box (``jnn._state.context``).
    """
    data = p._data
    if isinstance(data, jax.core.Tracer):
        if context.wait_if_foreign():
            return _read(p)
        return data
    if context.jit_depth() and not p.__dict__.get("_made_in_trace"):
        raise RuntimeError(
            f"nn.jit: the function reads a Parameter of shape {tuple(data.shape)} that is not "
            "reachable from its arguments, so its current value would be frozen into the "
            "compiled program. Pass the module (or optimizer) that owns it as an argument.")
    return data


class _Size(int):
    """``p.size`` is JAX's element count *and* torch's ``p.size(dim=None)`` method."""

    _shape: tuple

    def __new__(cls, shape):
        obj = super().__new__(cls, int(np.prod(shape, dtype=np.int64)))
        obj._shape = tuple(shape)
        return obj

    def __call__(self, dim=None):
        return self._shape if dim is None else self._shape[dim]


class Parameter:
    """A trainable array held in a mutable box (``torch.nn.Parameter``).

    Args:
        data: the initial array (anything ``jnp.asarray`` accepts). ``None`` gives an empty
            float32 array, as ``torch.nn.Parameter()`` does.
        requires_grad: whether ``nn.grad``/``nn.value_and_grad`` differentiate it and
            optimizers update it.

    Example:
        >>> w = nn.Parameter(jnp.ones((2, 2)))
        >>> x = jnp.ones((3, 2))
        >>> (x @ w).shape, w.shape, w.requires_grad
        ((3, 2), (2, 2), True)
    """

    __array_priority__ = 100  # numpy defers binary operators to us

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        if data is None:
            data = jnp.zeros((0,), jnp.float32)
        d = self.__dict__
        d["_data"] = _to_array(data, "Parameter")
        d["_requires_grad"] = bool(requires_grad)
        d["_grad"] = None
        if context.jit_depth():
            d["_made_in_trace"] = True

    @classmethod
    def _from_leaf(cls, leaf, requires_grad: bool) -> Parameter:
        # pytree unflatten: leaves may be tracers, None or sentinel objects; no validation.
        p = object.__new__(cls)
        p.__dict__.update(_data=leaf, _requires_grad=requires_grad, _grad=None)
        return p

    # -- the state protocol (jnn._state): a value slot, a gradient slot, requires_grad --------
    _jnn_stateful = True

    def _jnn_collect_state(self, collector) -> None:
        collector.params.append(self)
        collector.add(self.__dict__, "_data", "param")
        collector.add(self.__dict__, "_grad", "grad")
        collector.signature.append(("p", self._requires_grad))

    @property
    def requires_grad(self) -> bool:
        return self.__dict__["_requires_grad"]

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        value = bool(value)
        d = self.__dict__
        old = d["_requires_grad"]
        if value != old:
            rec = context.recorder()
            if rec is not None:
                rec.note_write(self, "requires_grad", old)
            d["_requires_grad"] = value
            note_change()  # what nn.grad differentiates and optimizers update is structure

    @property
    def grad(self):
        """The accumulated gradient (``None`` until ``Grads.accumulate()`` or you set it)."""
        rec = context.recorder()
        if rec is not None:
            rec.note_grad(self, read=True)
        return self.__dict__["_grad"]

    @grad.setter
    def grad(self, value) -> None:
        rec = context.recorder()
        if rec is not None:
            rec.note_grad(self, read=False)
        self.__dict__["_grad"] = value

    # -- the box --------------------------------------------------------------------------------
    @property
    def data(self) -> jax.Array:
        return _read(self)

    @data.setter
    def data(self, value) -> None:
        self._data = _to_array(value, "Parameter.data")

    def __jax_array__(self):
        return _read(self)

    def __array__(self, dtype=None, copy=None):
        arr = np.asarray(self._data)
        return arr.astype(dtype) if dtype is not None else arr

    def requires_grad_(self, requires_grad: bool = True) -> Parameter:
        self.requires_grad = bool(requires_grad)
        return self

    # -- array facts ----------------------------------------------------------------------------
    shape = property(lambda self: tuple(self._data.shape))
    dtype = property(lambda self: self._data.dtype)
    ndim = property(lambda self: self._data.ndim)
    T = property(lambda self: self._data.T)
    mT = property(lambda self: jnp.swapaxes(self._data, -1, -2))
    is_leaf = property(lambda self: True)

    @property
    def size(self) -> _Size:
        return _Size(self._data.shape)

    @property
    def device(self):
        devices = getattr(self._data, "devices", None)
        return next(iter(devices())) if devices else None

    def numel(self) -> int:
        return int(np.prod(self._data.shape, dtype=np.int64))

    def dim(self) -> int:
        return self._data.ndim

    def item(self) -> Any:
        return self._data.item()

    def tolist(self) -> Any:
        return np.asarray(self._data).tolist()

    def numpy(self) -> np.ndarray:
        return np.asarray(self._data)

    def detach(self) -> jax.Array:
        return self._data

    def clone(self) -> jax.Array:
        return jnp.array(self._data, copy=True)

    def __getattr__(self, name: str):
        # Everything else an array has (sum, mean, reshape, astype, ...) reads the current array.
        if name.startswith("__") or name in ("_data", "_requires_grad", "_grad"):
            raise AttributeError(name)
        return getattr(self._data, name)

    def __len__(self) -> int:
        return len(self._data)

    def __iter__(self):
        return iter(self._data)

    def __getitem__(self, index):
        return _read(self)[index]

    def __bool__(self) -> bool:
        return bool(self._data)

    def __float__(self) -> float:
        return float(self._data)

    def __int__(self) -> int:
        return int(self._data)

    def __index__(self) -> int:
        return operator.index(self._data)

    # Identity semantics for hashing (like torch tensors); == is elementwise.
    __hash__ = object.__hash__

    # -- in-place updates (rebind the box) ------------------------------------------------------
    def copy_(self, src: Any) -> Parameter:
        src = _to_array(src, "copy_")
        self._data = jnp.broadcast_to(src, self._data.shape).astype(self._data.dtype)
        return self

    def fill_(self, value: Any) -> Parameter:
        self._data = jnp.full_like(self._data, value)
        return self

    def zero_(self) -> Parameter:
        return self.fill_(0)

    def add_(self, other: Any, *, alpha: Any = 1) -> Parameter:
        self._data = (self._data + alpha * jnp.asarray(other)).astype(self._data.dtype)
        return self

    def sub_(self, other: Any, *, alpha: Any = 1) -> Parameter:
        return self.add_(other, alpha=-alpha)

    def mul_(self, other: Any) -> Parameter:
        self._data = (self._data * jnp.asarray(other)).astype(self._data.dtype)
        return self

    def div_(self, other: Any) -> Parameter:
        self._data = (self._data / jnp.asarray(other)).astype(self._data.dtype)
        return self

    def clamp_(self, min: Any = None, max: Any = None) -> Parameter:
        self._data = jnp.clip(self._data, min, max)
        return self

    def normal_(self, mean: Any = 0.0, std: Any = 1.0, *, key: jax.Array | None = None,
                generator: Generator | None = None) -> Parameter:
        from .random import next_key
        z = jax.random.normal(next_key(key, generator), self._data.shape, self._data.dtype)
        self._data = z * std + mean
        return self

    def uniform_(self, a: Any = 0.0, b: Any = 1.0, *, key: jax.Array | None = None,
                 generator: Generator | None = None) -> Parameter:
        from .random import next_key
        self._data = jax.random.uniform(next_key(key, generator), self._data.shape,
                                        self._data.dtype, minval=a, maxval=b)
        return self

    def __repr__(self) -> str:
        if isinstance(self._data, jax.core.Tracer):
            return f"Parameter containing:\n{self._data!r}"
        suffix = ("requires_grad=True",) if self.requires_grad else ()
        return "Parameter containing:\n" + _tensor_str.format_array(self._data, suffixes=suffix)

    def __deepcopy__(self, memo):
        p = Parameter._from_leaf(self._data, self.requires_grad)
        p.__dict__["_grad"] = self.__dict__["_grad"]
        extra = {k: v for k, v in self.__dict__.items()
                 if k not in ("_data", "_requires_grad", "_grad")}
        if extra:
            import copy
            p.__dict__.update(copy.deepcopy(extra, memo))
        memo[id(self)] = p
        return p

    def __reduce__(self):
        return (_rebuild_parameter, (np.asarray(self._data), self.requires_grad, type(self)))


def _rebuild_parameter(array, requires_grad, cls=Parameter):
    p = Parameter._from_leaf(jnp.asarray(array), requires_grad)
    p.__class__ = cls
    return p


def _unary(op):
    return lambda self: op(_read(self))


def _binary(op):
    def method(self, other):
        if isinstance(other, Parameter):
            other = _read(other)
        return op(_read(self), other)
    return method


def _reflected(op):
    def method(self, other):
        return op(other, _read(self))
    return method


def _inplace(op):
    def method(self, other):
        if isinstance(other, Parameter):
            other = other._data
        self._data = jnp.asarray(op(self._data, other)).astype(self._data.dtype)
        return self
    return method


for _name, _op in {
    "add": operator.add, "sub": operator.sub, "mul": operator.mul, "truediv": operator.truediv,
    "floordiv": operator.floordiv, "mod": operator.mod, "pow": operator.pow,
    "matmul": operator.matmul, "and": operator.and_, "or": operator.or_, "xor": operator.xor,
    "lshift": operator.lshift, "rshift": operator.rshift,
}.items():
    setattr(Parameter, f"__{_name}__", _binary(_op))
    setattr(Parameter, f"__r{_name}__", _reflected(_op))
    setattr(Parameter, f"__i{_name}__", _inplace(_op))
for _name, _op in {"lt": operator.lt, "le": operator.le, "gt": operator.gt, "ge": operator.ge,
                   "eq": operator.eq, "ne": operator.ne}.items():
    setattr(Parameter, f"__{_name}__", _binary(_op))
for _name, _uop in {"neg": operator.neg, "pos": operator.pos, "abs": operator.abs,
                    "invert": operator.invert}.items():
    setattr(Parameter, f"__{_name}__", _unary(_uop))


jax.tree_util.register_pytree_node(
    Parameter,
    lambda p: ((p._data,), p.requires_grad),
    lambda requires_grad, children: Parameter._from_leaf(children[0], requires_grad),
)


class UninitializedParameter(Parameter):
    """A parameter whose shape is not known yet (Lazy* modules fill it on the first call)."""

    def __init__(self, requires_grad: bool = True, dtype: Any = None) -> None:
        super().__init__(jnp.zeros((0,), dtype or jnp.float32), requires_grad)

    def materialize(self, shape: Any, dtype: Any = None) -> None:
        self._data = jnp.zeros(tuple(shape), dtype or self._data.dtype)
        self.__class__ = Parameter  # type: ignore[assignment]  # (torch's materialize does too)
        note_change()

    def __repr__(self) -> str:
        return "<UninitializedParameter>"


class Buffer:
    """Marks an array as a buffer on assignment: ``self.stats = nn.Buffer(x, persistent=True)``.

    The module stores the plain array in ``_buffers``; the marker itself is not kept.
    """

    def __init__(self, data: Any = None, *, persistent: bool = True) -> None:
        self.data = None if data is None else _to_array(data, "Buffer")
        self.persistent = persistent

    def __repr__(self) -> str:
        return f"Buffer({self.data!r}, persistent={self.persistent})"


class UninitializedBuffer(Buffer):
    """A buffer whose shape is not known yet (Lazy* modules fill it on the first call)."""

    def __init__(self, dtype: Any = None, *, persistent: bool = True) -> None:
        super().__init__(jnp.zeros((0,), dtype or jnp.float32), persistent=persistent)
