"""Parametrizations (``torch.nn.utils.parametrize``): express a parameter or buffer as a
function of other tensors.

``register_parametrization(module, "weight", P)`` moves the original tensor to
``module.parametrizations.weight.original`` (a Parameter box, or a buffer), swaps the module's
class for a ``Parametrized<Class>`` subclass carrying a ``weight`` property, and from then on
``module.weight`` evaluates ``P(original)``. Assigning ``module.weight = X`` calls
``P.right_inverse(X)`` and stores the result in the original. The structure, names and
``state_dict`` keys are torch's (``parametrizations.weight.original``, or ``original0``,
``original1`` ... when ``right_inverse`` returns a sequence).

The ``parametrizations`` ``ModuleDict`` is a registered child, so ``nn.jit``,
``nn.value_and_grad``, optimizers and ``state_dict`` see the originals (and the buffers of the
parametrization modules, e.g. spectral norm's power-iteration vectors).

Differences from PyTorch:
    The parametrization modules receive the originals as arrays (``p.data``), not as the
    Parameter boxes. :func:`cached` does not cache values computed inside a JAX trace
    (``nn.jit`` removes the duplicated computation itself), so a ``cached()`` block entered
    outside a compiled function never holds a tracer.
"""
from __future__ import annotations

import collections.abc
import copy
from collections.abc import Sequence
from contextlib import contextmanager
from typing import Any

import jax

from ..modules.container import ModuleDict, ModuleList
from ..modules.module import Module
from ..parameter import Parameter, is_array

__all__ = ["cached", "ParametrizationList", "register_parametrization", "is_parametrized",
           "remove_parametrizations", "type_before_parametrizations",
           "transfer_parametrizations_and_params"]

_cache_enabled = 0
_cache: dict = {}


@contextmanager
def cached():
    """Cache the parametrized tensors computed inside the block (``parametrize.cached``).

    Useful when a parametrized weight is read many times per step (e.g. a recurrent cell):
    each parametrization is then evaluated once. The cache is emptied on exit.

    Example:
        >>> m = nn.utils.parametrizations.orthogonal(nn.Linear(4, 4))
        >>> x = jnp.ones((2, 4))
        >>> with nn.utils.parametrize.cached():     # the orthogonal weight is computed once
        ...     out = m(m(x))
        >>> out.shape
        (2, 4)
    """
    global _cache, _cache_enabled
    _cache_enabled += 1
    try:
        yield
    finally:
        _cache_enabled -= 1
        if not _cache_enabled:
            _cache = {}


def _is_tensor(x) -> bool:
    return isinstance(x, Parameter) or (is_array(x) and not isinstance(x, (list, tuple)))


def _value(x):
    return x._data if isinstance(x, Parameter) else x


def _register_parameter_or_buffer(module: Module, name: str, X) -> None:
    if isinstance(X, Parameter):
        module.register_parameter(name, X)
    else:
        module.register_buffer(name, X)


def _set_original(owner: Module, name: str, value) -> None:
    """torch's ``original.set_(value)``: a Parameter keeps its identity (optimizers still hold
    it) and gets the new array; a buffer is replaced."""
    value = _value(value)
    current = getattr(owner, name)
    if isinstance(current, Parameter):
        current._data = value
    else:
        owner._buffers[name] = value


class ParametrizationList(ModuleList):
    """The parametrizations of one tensor, and the original tensor(s)
    (``torch.nn.utils.parametrize.ParametrizationList``).

    Holds the parametrization modules as ``0, 1, ...`` and the unparametrized tensor as
    ``original`` (or ``original0, original1, ...`` when the first ``right_inverse`` returns a
    sequence). Calling it evaluates the chain on the originals.

    Args:
        modules: the parametrizations (at least one).
        original: the tensor being parametrized (a Parameter or an array).
        unsafe: skip the shape/dtype consistency checks.
    """

    def __init__(self, modules: Sequence[Module], original: Any, unsafe: bool = False) -> None:
        if len(modules) == 0:
            raise ValueError("ParametrizationList requires one or more modules.")
        super().__init__(modules)
        self.unsafe = unsafe

        original_value = _value(original)
        original_shape = tuple(original_value.shape)
        original_dtype = original_value.dtype

        new = original_value
        for module in reversed(list(self)):
            if hasattr(module, "right_inverse"):
                try:
                    new = module.right_inverse(new)
                except NotImplementedError:
                    pass
        new = jax.lax.stop_gradient(new) if _is_tensor(new) else new

        if not _is_tensor(new) and not isinstance(new, collections.abc.Sequence):
            raise ValueError("'right_inverse' must return a Tensor or a Sequence of tensors "
                             f"(list, tuple...). Got {type(new).__name__}")

        self.is_tensor = _is_tensor(new)
        self.ntensors = 1 if self.is_tensor else len(new)

        if self.is_tensor:
            new = _value(new)
            if original_dtype != new.dtype:
                raise ValueError(
                    "When `right_inverse` outputs one tensor, it may not change the dtype.\n"
                    f"original.dtype: {original_dtype}\n"
                    f"right_inverse(original).dtype: {new.dtype}")
            if isinstance(original, Parameter):
                original._data = new  # keep the box: the optimizer still holds it
            else:
                original = new
            _register_parameter_or_buffer(self, "original", original)
        else:
            for i, originali in enumerate(new):
                if not _is_tensor(originali):
                    raise ValueError(
                        "'right_inverse' must return a Tensor or a Sequence of tensors "
                        "(list, tuple...). "
                        f"Got element {i} of the sequence with type {type(originali).__name__}.")
                originali = jax.lax.stop_gradient(_value(originali))
                if isinstance(original, Parameter):
                    originali = Parameter(originali, original.requires_grad)
                _register_parameter_or_buffer(self, f"original{i}", originali)

        if not self.unsafe:
            Z = self()
            if not _is_tensor(Z):
                raise ValueError(f"A parametrization must return a tensor. Got "
                                 f"{type(Z).__name__}.")
            Z = _value(Z)
            if Z.dtype != original_dtype:
                raise ValueError(
                    "Registering a parametrization may not change the dtype of the tensor, "
                    "unless `unsafe` flag is enabled.\n"
                    f"unparametrized dtype: {original_dtype}\n"
                    f"parametrized dtype: {Z.dtype}")
            if tuple(Z.shape) != original_shape:
                raise ValueError(
                    "Registering a parametrization may not change the shape of the tensor, "
                    "unless `unsafe` flag is enabled.\n"
                    f"unparametrized shape: {original_shape}\n"
                    f"parametrized shape: {tuple(Z.shape)}")

    def right_inverse(self, value: Any) -> None:
        """Store ``right_inverse(value)`` (through the whole chain) in the original(s)."""
        value = _value(value)
        for module in reversed(list(self)):
            if hasattr(module, "right_inverse"):
                value = module.right_inverse(value)
            else:
                raise RuntimeError(f"parametrization {type(module).__name__} does not implement "
                                   "right_inverse.")
        if self.is_tensor:
            if not _is_tensor(value):
                raise ValueError(f"`right_inverse` should return a tensor. Got "
                                 f"{type(value).__name__}")
            value = jax.lax.stop_gradient(_value(value))
            if value.dtype != _value(self.original).dtype:
                raise ValueError(f"The tensor returned by `right_inverse` has dtype {value.dtype} "
                                 f"while `original` has dtype {_value(self.original).dtype}")
            _set_original(self, "original", value)
        else:
            if not isinstance(value, collections.abc.Sequence):
                raise ValueError("'right_inverse' must return a sequence of tensors. "
                                 f"Got {type(value).__name__}.")
            if len(value) != self.ntensors:
                raise ValueError("'right_inverse' must return a sequence of tensors of length "
                                 f"{self.ntensors}. Got a sequence of length {len(value)}.")
            for i, tensor in enumerate(value):
                original_i = _value(getattr(self, f"original{i}"))
                if not _is_tensor(tensor):
                    raise ValueError("'right_inverse' must return a sequence of tensors. Got "
                                     f"element {i} of type {type(tensor).__name__}.")
                tensor = jax.lax.stop_gradient(_value(tensor))
                if original_i.dtype != tensor.dtype:
                    raise ValueError(f"Tensor {i} returned by `right_inverse` has dtype "
                                     f"{tensor.dtype} while `original{i}` has dtype "
                                     f"{original_i.dtype}")
                _set_original(self, f"original{i}", tensor)

    def forward(self) -> Any:
        if self.is_tensor:
            x = self[0](_value(self.original))
        else:
            x = self[0](*(_value(getattr(self, f"original{i}")) for i in range(self.ntensors)))
        curr_idx = 1
        while str(curr_idx) in self._modules:
            x = self[curr_idx](x)
            curr_idx += 1
        return x


def _default_deepcopy(self, memo):
    obj = memo.get(id(self), None)
    if obj is not None:
        return obj
    replica = self.__new__(self.__class__)
    memo[id(self)] = replica
    replica.__dict__ = copy.deepcopy(self.__dict__, memo)
    return replica


def _getstate(self):
    raise RuntimeError(
        "Serialization of parametrized modules is only supported through state_dict(). See:\n"
        "https://pytorch.org/tutorials/beginner/saving_loading_models.html"
        "#saving-loading-a-general-checkpoint-for-inference-and-or-resuming-training")


def _inject_new_class(module: Module) -> None:
    """Swap ``module``'s class for a fresh ``Parametrized<Class>`` subclass (its own class, so
    properties added to it affect this module only)."""
    cls = module.__class__
    dct: dict[str, Any] = {"__getstate__": _getstate}
    if not hasattr(cls, "__deepcopy__"):
        dct["__deepcopy__"] = _default_deepcopy
    param_cls = type(f"Parametrized{cls.__name__}", (cls,), dct)
    param_cls.__module__ = cls.__module__
    param_cls.__qualname__ = f"Parametrized{cls.__qualname__}"
    module.__class__ = param_cls


def _inject_property(module: Module, tensor_name: str) -> None:
    if hasattr(module, tensor_name):
        raise AssertionError(f"Module already has an attribute named '{tensor_name}'")

    def get_parametrized(self):
        parametrization = self.parametrizations[tensor_name]
        if _cache_enabled:
            key = (id(self), tensor_name)
            tensor = _cache.get(key)
            if tensor is None:
                tensor = parametrization()
                if not isinstance(tensor, jax.core.Tracer):
                    _cache[key] = tensor
            return tensor
        return parametrization()

    def set_original(self, value) -> None:
        self.parametrizations[tensor_name].right_inverse(value)

    setattr(module.__class__, tensor_name, property(get_parametrized, set_original))


def register_parametrization(module: Module, tensor_name: str, parametrization: Module, *,
                             unsafe: bool = False) -> Module:
    """Parametrize ``module.<tensor_name>`` by ``parametrization``
    (``torch.nn.utils.parametrize.register_parametrization``).

    After the call, ``module.<tensor_name>`` returns ``parametrization(original)`` and the
    original lives at ``module.parametrizations.<tensor_name>.original``. Registering a second
    parametrization on the same tensor chains it after the first.

    Args:
        module: the module owning the parameter or buffer.
        tensor_name: its name.
        parametrization: a module whose ``forward`` maps the original(s) to the tensor; it may
            define ``right_inverse`` (returning one array, or a sequence of arrays, which then
            become ``original0, original1, ...``).
        unsafe: allow the parametrization to change the tensor's shape or dtype.

    Returns:
        ``module`` (its class is now ``Parametrized<Class>``).

    Example:
        >>> class Symmetric(nn.Module):
        ...     def forward(self, X):
        ...         return jnp.triu(X) + jnp.triu(X, 1).T
        >>> from jnn.utils import parametrize as P
        >>> m = nn.Linear(5, 5)
        >>> P.register_parametrization(m, "weight", Symmetric())
        ParametrizedLinear(...)
        >>> bool(jnp.array_equal(m.weight, m.weight.T))
        True
        >>> list(m.state_dict())
        ['bias', 'parametrizations.weight.original']
    """
    parametrization.train(module.training)
    if is_parametrized(module, tensor_name):
        if not unsafe:
            Y = _value(getattr(module, tensor_name))
            X = parametrization(Y)
            if not _is_tensor(X):
                raise ValueError(f"A parametrization must return a tensor. Got "
                                 f"{type(X).__name__}.")
            X = _value(X)
            if X.dtype != Y.dtype:
                raise ValueError(
                    "Registering a parametrization may not change the dtype of the tensor, "
                    "unless the `unsafe` flag is enabled.\n"
                    f"module.{tensor_name}.dtype: {Y.dtype}\n"
                    f"parametrization(module.{tensor_name}).dtype: {X.dtype}")
            if X.shape != Y.shape:
                raise ValueError(
                    "Registering a parametrization may not change the shape of the tensor, "
                    "unless the `unsafe` flag is enabled.\n"
                    f"module.{tensor_name}.shape: {tuple(Y.shape)}\n"
                    f"parametrization(module.{tensor_name}).shape: {tuple(X.shape)}")
            if hasattr(parametrization, "right_inverse"):
                try:
                    Z = parametrization.right_inverse(X)
                except NotImplementedError:
                    pass
                else:
                    if not _is_tensor(Z):
                        raise ValueError("parametrization.right_inverse must return a tensor. "
                                         f"Got: {type(Z).__name__}")
                    Z = _value(Z)
                    if Z.dtype != Y.dtype:
                        raise ValueError(
                            "The tensor returned by parametrization.right_inverse must have the "
                            f"same dtype as module.{tensor_name}, unless the `unsafe` flag is "
                            f"enabled.\nmodule.{tensor_name}.dtype: {Y.dtype}\n"
                            f"returned dtype: {Z.dtype}")
                    if Z.shape != Y.shape:
                        raise ValueError(
                            "The tensor returned by parametrization.right_inverse must have the "
                            f"same shape as module.{tensor_name}, unless the `unsafe` flag is "
                            f"enabled.\nmodule.{tensor_name}.shape: {tuple(Y.shape)}\n"
                            f"returned shape: {tuple(Z.shape)}")
        plist = module.parametrizations[tensor_name]
        plist.append(parametrization)
        plist.unsafe = plist.unsafe or unsafe
    elif tensor_name in module._buffers or tensor_name in module._parameters:
        original = getattr(module, tensor_name)
        if original is None:
            raise ValueError(f"Module '{module}' has its parameter or buffer '{tensor_name}' set "
                             "to None; there is nothing to parametrize")
        parametrizations = ParametrizationList([parametrization], original, unsafe=unsafe)
        delattr(module, tensor_name)
        if not is_parametrized(module):
            _inject_new_class(module)
            module.parametrizations = ModuleDict()
        _inject_property(module, tensor_name)
        module.parametrizations[tensor_name] = parametrizations
    else:
        raise ValueError(f"Module '{module}' does not have a parameter, a buffer, or a "
                         f"parametrized element with name '{tensor_name}'")
    return module


def is_parametrized(module: Module, tensor_name: str | None = None) -> bool:
    """Whether ``module`` has any parametrization (or one on ``tensor_name``)."""
    parametrizations = module._modules.get("parametrizations") if isinstance(module, Module) \
        else None
    if parametrizations is None or not isinstance(parametrizations, ModuleDict):
        return False
    if tensor_name is None:
        return len(parametrizations) > 0
    return tensor_name in parametrizations


def remove_parametrizations(module: Module, tensor_name: str,
                            leave_parametrized: bool = True) -> Module:
    """Remove the parametrizations on ``tensor_name``
    (``torch.nn.utils.parametrize.remove_parametrizations``).

    Args:
        module: a parametrized module.
        tensor_name: the parametrized tensor.
        leave_parametrized: keep the current parametrized value (``True``) or restore the
            original (``False``; impossible when the original is a sequence of tensors). The
            original Parameter box is reused, so optimizers holding it keep working.

    Returns:
        ``module`` (its original class restored when nothing is parametrized any more).

    Example:
        >>> from jnn.utils import parametrize as P
        >>> m = nn.utils.parametrizations.orthogonal(nn.Linear(3, 3))
        >>> P.remove_parametrizations(m, "weight")   # keeps the orthogonal value as a plain weight
        Linear(in_features=3, out_features=3, bias=True)
        >>> list(m.state_dict())
        ['bias', 'weight']
    """
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"Module {module} does not have a parametrization on {tensor_name}")
    parametrizations = module.parametrizations[tensor_name]
    if parametrizations.is_tensor:
        original = parametrizations.original
        if leave_parametrized:
            t = jax.lax.stop_gradient(_value(getattr(module, tensor_name)))
            if isinstance(original, Parameter):
                original._data = t
            else:
                original = t
    else:
        if leave_parametrized:
            t = jax.lax.stop_gradient(_value(getattr(module, tensor_name)))
            requires_grad = any(isinstance(p, Parameter) and p.requires_grad
                                for p in parametrizations._parameters.values())
            original = Parameter(t) if requires_grad else t
        else:
            raise ValueError("Cannot leave unparametrized (`leave_parametrized=False`) a tensor "
                             "that is parametrized in terms of a sequence of tensors.")
    delattr(module.__class__, tensor_name)
    del module.parametrizations[tensor_name]
    _register_parameter_or_buffer(module, tensor_name, original)
    if not is_parametrized(module):
        delattr(module, "parametrizations")
        module.__class__ = module.__class__.__bases__[0]
    return module


def type_before_parametrizations(module: Module) -> type:
    """The class of ``module`` before any parametrization was registered."""
    if is_parametrized(module):
        return module.__class__.__bases__[0]
    return type(module)


def transfer_parametrizations_and_params(from_module: Module, to_module: Module,
                                         tensor_name: str | None = None) -> Module:
    """Copy the parametrizations (and their originals) of ``from_module`` to ``to_module``
    (``torch.nn.utils.parametrize.transfer_parametrizations_and_params``)."""
    if is_parametrized(from_module):
        names = list(from_module.parametrizations) if tensor_name is None else [tensor_name]
        for parameter_name in names:
            if not hasattr(to_module, parameter_name):
                setattr(to_module, parameter_name,
                        Parameter(_value(getattr(from_module, parameter_name))))
            for param_func in from_module.parametrizations[parameter_name]:
                register_parametrization(to_module, parameter_name, param_func)
            src = from_module.parametrizations[parameter_name]
            dst = to_module.parametrizations[parameter_name]
            if "original" in src._parameters or "original" in src._buffers:
                _transfer(src, dst, "original")
            else:
                num = 0
                while f"original{num}" in src._parameters or f"original{num}" in src._buffers:
                    _transfer(src, dst, f"original{num}")
                    num += 1
    return to_module


def _transfer(src: Module, dst: Module, name: str) -> None:
    value = getattr(src, name)
    if isinstance(value, Parameter):
        setattr(dst, name, value)
    else:
        dst._buffers[name] = value
