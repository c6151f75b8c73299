"""Pruning (``torch.nn.utils.prune``): mask out entries of a parameter.

torch's mechanics: pruning ``module.weight`` moves the Parameter to ``weight_orig``, stores
the mask as the buffer ``weight_mask`` and recomputes ``weight = weight_orig * weight_mask`` in
a forward pre-hook (the hook is the pruning method object). Pruning the same tensor again
combines the masks through a :class:`PruningContainer`. :func:`remove` makes the pruning
permanent. The state_dict keys are torch's (``weight_orig``, ``weight_mask``).

Masks are computed eagerly (they depend on the values, e.g. the smallest magnitudes); applying
them in the forward pre-hook is a plain multiplication, so a pruned model runs under ``nn.jit``.

Differences from PyTorch:
    The recomputed ``weight`` is held as a non-persistent buffer rather than a plain attribute
    (see :mod:`jnn.utils.weight_norm`), so ``nn.jit`` writes it back instead of leaking a tracer;
    it is not in ``state_dict``. The random methods draw from jnn's random stream (numbers
    differ from torch's for the same seed). Ties in L1/Ln magnitudes are broken by position
    (lowest index first), which may differ from torch's ``topk``. ``compute_mask`` must be
    called on concrete arrays, not inside a JAX trace.
"""
from __future__ import annotations

import numbers
from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ..modules.module import Module
from ..parameter import Parameter
from ..random import next_key
from ._parametrize_common import as_array, del_derived, set_derived
from .convert_parameters import parameters_to_vector

__all__ = ["BasePruningMethod", "PruningContainer", "Identity", "RandomUnstructured",
           "L1Unstructured", "RandomStructured", "LnStructured", "CustomFromMask", "identity",
           "random_unstructured", "l1_unstructured", "random_structured", "ln_structured",
           "global_unstructured", "custom_from_mask", "remove", "is_pruned"]


def _np(x) -> np.ndarray:
    if isinstance(x, Parameter):
        x = x._data
    if isinstance(x, jax.core.Tracer):
        raise TypeError("prune: pruning masks are computed from concrete values; call the "
                        "pruning functions outside nn.jit / jax transformations")
    if type(x).__module__.startswith("torch"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


class BasePruningMethod(ABC):
    """Abstract base of the pruning methods (``torch.nn.utils.prune.BasePruningMethod``).

    Subclasses define ``PRUNING_TYPE`` (``"unstructured"``, ``"structured"`` or ``"global"``)
    and ``compute_mask(t, default_mask)``. An instance is the forward pre-hook that recomputes
    the pruned tensor.
    """

    _tensor_name: str | None = None
    PRUNING_TYPE: str  # set by each subclass

    def __call__(self, module, inputs):
        assert self._tensor_name is not None  # (set by apply() before the hook is registered)
        set_derived(module, self._tensor_name, self.apply_mask(module))

    @abstractmethod
    def compute_mask(self, t: Any, default_mask: Any) -> jax.Array:
        """The new mask for ``t``, combining ``default_mask`` (the existing mask)."""

    def apply_mask(self, module: Module) -> jax.Array:
        """``<name>_orig * <name>_mask`` for ``module``."""
        if self._tensor_name is None:
            raise AssertionError(f"Module {module} has to be pruned")
        mask = as_array(getattr(module, self._tensor_name + "_mask"))
        orig = as_array(getattr(module, self._tensor_name + "_orig"))
        return mask.astype(orig.dtype) * orig

    # Each method's apply() takes its own arguments (torch's signatures), so the subclasses'
    # overrides are narrower than this one: they carry type: ignore[override].
    @classmethod
    def apply(cls, module, name, *args, importance_scores=None, **kwargs):
        """Prune ``module.<name>`` with a new ``cls(*args, **kwargs)``, combined with any
        earlier pruning of the same tensor; returns the (possibly container) method."""

        def _get_composite_method(cls, module, name, *args, **kwargs):
            old_method = None
            found = 0
            hooks_to_remove = []
            for k, hook in module._forward_pre_hooks.items():
                if isinstance(hook, BasePruningMethod) and hook._tensor_name == name:
                    old_method = hook
                    hooks_to_remove.append(k)
                    found += 1
            if found > 1:
                raise AssertionError(f"Avoid adding multiple pruning hooks to the same tensor "
                                     f"{name} of module {module}. Use a PruningContainer.")
            for k in hooks_to_remove:
                del module._forward_pre_hooks[k]
            method = cls(*args, **kwargs)
            method._tensor_name = name
            if old_method is not None:
                if isinstance(old_method, PruningContainer):
                    old_method.add_pruning_method(method)
                    method = old_method
                elif isinstance(old_method, BasePruningMethod):
                    container = PruningContainer(old_method)
                    container.add_pruning_method(method)
                    method = container
            return method

        method = _get_composite_method(cls, module, name, *args, **kwargs)
        orig = getattr(module, name)
        if importance_scores is not None:
            if tuple(np.shape(importance_scores)) != tuple(np.shape(orig)):
                raise AssertionError(
                    f"importance_scores should have the same shape as parameter {name} of "
                    f"{module}, got {tuple(np.shape(importance_scores))} vs "
                    f"{tuple(np.shape(orig))}")
        else:
            importance_scores = orig
        if not isinstance(method, PruningContainer):
            if not isinstance(orig, Parameter):
                raise TypeError(f"prune: '{name}' of {type(module).__name__} must be a "
                                f"Parameter, got {type(orig).__name__}")
            module.register_parameter(name + "_orig", orig)
            del module._parameters[name]
            default_mask = jnp.ones_like(orig._data)
        else:
            default_mask = as_array(getattr(module, name + "_mask"))
        try:
            mask = jnp.asarray(method.compute_mask(importance_scores, default_mask=default_mask))
            module.register_buffer(name + "_mask", mask)
            set_derived(module, name, method.apply_mask(module))
            module.register_forward_pre_hook(method)
        except Exception:
            if not isinstance(method, PruningContainer):
                orig = getattr(module, name + "_orig")
                del_derived(module, name)
                module.register_parameter(name, orig)
                del module._parameters[name + "_orig"]
            raise
        return method

    def prune(self, t: Any, default_mask: Any = None, importance_scores: Any = None) -> jax.Array:
        """``t`` times the mask computed from ``importance_scores`` (default ``t``)."""
        if importance_scores is not None:
            if tuple(np.shape(importance_scores)) != tuple(np.shape(t)):
                raise AssertionError(
                    "importance_scores should have the same shape as tensor t, got "
                    f"{tuple(np.shape(importance_scores))} vs {tuple(np.shape(t))}")
        else:
            importance_scores = t
        t = as_array(t)
        default_mask = default_mask if default_mask is not None else jnp.ones_like(t)
        return t * jnp.asarray(self.compute_mask(importance_scores, default_mask=default_mask))

    def remove(self, module: Module) -> None:
        """Make the pruning permanent: ``<name>`` becomes the Parameter (the ``_orig`` box)
        holding the pruned values; ``_orig`` and ``_mask`` are deleted."""
        if self._tensor_name is None:
            raise AssertionError(f"Module {module} has to be pruned before pruning can be "
                                 "removed")
        weight = self.apply_mask(module)
        del_derived(module, self._tensor_name)
        orig = module._parameters[self._tensor_name + "_orig"]
        orig.data = weight
        del module._parameters[self._tensor_name + "_orig"]
        del module._buffers[self._tensor_name + "_mask"]
        setattr(module, self._tensor_name, orig)


class PruningContainer(BasePruningMethod):
    """A sequence of pruning methods applied one after the other to the same tensor
    (``torch.nn.utils.prune.PruningContainer``): each new method only prunes the entries (or
    channels) the earlier masks kept."""

    def __init__(self, *args) -> None:
        self._pruning_methods: tuple = ()
        if len(args) == 1 and isinstance(args[0], BasePruningMethod):
            self._tensor_name = args[0]._tensor_name
            self.add_pruning_method(args[0])
        else:
            for method in args:
                self.add_pruning_method(method)

    def add_pruning_method(self, method: BasePruningMethod) -> None:
        """Append ``method`` (it must act on the same tensor name)."""
        if not isinstance(method, BasePruningMethod) and method is not None:
            raise TypeError(f"{type(method)} is not a BasePruningMethod subclass")
        elif method is not None and self._tensor_name != method._tensor_name:
            raise ValueError("Can only add pruning methods acting on the parameter named "
                             f"'{self._tensor_name}' to PruningContainer {self}. Found "
                             f"'{method._tensor_name}'")
        self._pruning_methods += (method,)

    def __len__(self) -> int:
        return len(self._pruning_methods)

    def __iter__(self):
        return iter(self._pruning_methods)

    def __getitem__(self, idx):
        return self._pruning_methods[idx]

    def compute_mask(self, t: Any, default_mask: Any) -> jax.Array:
        """Apply the last method to the still-unpruned part of ``t`` and merge the result into
        ``default_mask``."""
        method = self._pruning_methods[-1]
        t = _np(t)
        mask = _np(default_mask)
        new_mask = mask.astype(t.dtype)
        if method.PRUNING_TYPE == "unstructured":
            slc = mask == 1
        elif method.PRUNING_TYPE == "structured":
            if not hasattr(method, "dim"):
                raise AttributeError('Pruning methods of PRUNING_TYPE "structured" need to have '
                                     "the attribute `dim` defined.")
            n_dims = t.ndim
            dim = method.dim
            if dim < 0:
                dim = n_dims + dim
            if dim < 0:
                raise IndexError(f"Index is out of bounds for tensor with dimensions {n_dims}")
            keep_channel = mask.sum(axis=tuple(d for d in range(n_dims) if d != dim)) != 0
            slc = [slice(None)] * n_dims
            slc[dim] = keep_channel
            slc = tuple(slc)
        elif method.PRUNING_TYPE == "global":
            slc = tuple([slice(None)] * t.ndim)
        else:
            raise ValueError(f"Unrecognized PRUNING_TYPE {method.PRUNING_TYPE}")
        partial_mask = _np(method.compute_mask(t[slc], default_mask=mask[slc]))
        new_mask[slc] = partial_mask.astype(new_mask.dtype)
        return jnp.asarray(new_mask)


class Identity(BasePruningMethod):
    """A pruning method that prunes nothing (the mask is all ones)."""

    PRUNING_TYPE = "unstructured"

    def compute_mask(self, t: Any, default_mask: Any) -> jax.Array:
        return jnp.asarray(default_mask)

    @classmethod
    def apply(cls, module, name):  # type: ignore[override]
        return super().apply(module, name)


class RandomUnstructured(BasePruningMethod):
    """Prune ``amount`` randomly chosen entries (drawn from jnn's random stream).

    Args:
        amount: a fraction in ``[0, 1]`` or an absolute number of entries.
    """

    PRUNING_TYPE = "unstructured"

    def __init__(self, amount: int | float) -> None:
        _validate_pruning_amount_init(amount)
        self.amount = amount

    def compute_mask(self, t: Any, default_mask: Any) -> jax.Array:
        t = _np(t)
        tensor_size = t.size
        nparams_toprune = _compute_nparams_toprune(self.amount, tensor_size)
        _validate_pruning_amount(nparams_toprune, tensor_size)
        mask = _np(default_mask).copy()
        if nparams_toprune != 0:
            prob = np.asarray(jax.random.uniform(next_key(), t.shape)).reshape(-1)
            idx = np.argsort(-prob, kind="stable")[:nparams_toprune]
            mask.reshape(-1)[idx] = 0
        return jnp.asarray(mask)

    @classmethod
    def apply(cls, module, name, amount):  # type: ignore[override]
        return super().apply(module, name, amount=amount)


class L1Unstructured(BasePruningMethod):
    """Prune the ``amount`` entries with the smallest absolute value.

    Args:
        amount: a fraction in ``[0, 1]`` or an absolute number of entries.
    """

    PRUNING_TYPE = "unstructured"

    def __init__(self, amount: int | float) -> None:
        _validate_pruning_amount_init(amount)
        self.amount = amount

    def compute_mask(self, t: Any, default_mask: Any) -> jax.Array:
        t = _np(t)
        tensor_size = t.size
        nparams_toprune = _compute_nparams_toprune(self.amount, tensor_size)
        _validate_pruning_amount(nparams_toprune, tensor_size)
        mask = _np(default_mask).copy()
        if nparams_toprune != 0:
            idx = np.argsort(np.abs(t).reshape(-1), kind="stable")[:nparams_toprune]
            mask.reshape(-1)[idx] = 0
        return jnp.asarray(mask)

    @classmethod
    def apply(cls, module, name, amount, importance_scores=None):  # type: ignore[override]
        return super().apply(module, name, amount=amount, importance_scores=importance_scores)


class RandomStructured(BasePruningMethod):
    """Prune ``amount`` randomly chosen channels along ``dim``.

    Args:
        amount: a fraction in ``[0, 1]`` or an absolute number of channels.
        dim: the channel dimension (default -1).
    """

    PRUNING_TYPE = "structured"

    def __init__(self, amount: int | float, dim: int = -1) -> None:
        _validate_pruning_amount_init(amount)
        self.amount = amount
        self.dim = dim

    def compute_mask(self, t: Any, default_mask: Any) -> jax.Array:
        t = _np(t)
        _validate_structured_pruning(t)
        _validate_pruning_dim(t, self.dim)
        tensor_size = t.shape[self.dim]
        nparams_toprune = _compute_nparams_toprune(self.amount, tensor_size)
        _validate_pruning_amount(nparams_toprune, tensor_size)
        if nparams_toprune == 0:
            return jnp.asarray(default_mask)
        prob = np.asarray(jax.random.uniform(next_key(), (tensor_size,)))
        threshold = np.sort(prob)[nparams_toprune - 1]
        channel_mask = prob > threshold
        mask = np.zeros_like(t)
        slc = [slice(None)] * t.ndim
        slc[self.dim] = channel_mask
        mask[tuple(slc)] = 1
        mask *= _np(default_mask).astype(mask.dtype)
        return jnp.asarray(mask)

    @classmethod
    def apply(cls, module, name, amount, dim=-1):  # type: ignore[override]
        return super().apply(module, name, amount=amount, dim=dim)


class LnStructured(BasePruningMethod):
    """Prune the ``amount`` channels along ``dim`` with the smallest ``n``-norm.

    Args:
        amount: a fraction in ``[0, 1]`` or an absolute number of channels.
        n: the norm's order (``1``, ``2``, ``float('inf')``, ``'fro'`` ...).
        dim: the channel dimension (default -1).
    """

    PRUNING_TYPE = "structured"

    def __init__(self, amount: int | float, n: int | float | str, dim: int = -1) -> None:
        _validate_pruning_amount_init(amount)
        self.amount = amount
        self.n = n
        self.dim = dim

    def compute_mask(self, t: Any, default_mask: Any) -> jax.Array:
        t = _np(t)
        _validate_structured_pruning(t)
        _validate_pruning_dim(t, self.dim)
        tensor_size = t.shape[self.dim]
        nparams_toprune = _compute_nparams_toprune(self.amount, tensor_size)
        nparams_tokeep = tensor_size - nparams_toprune
        _validate_pruning_amount(nparams_toprune, tensor_size)
        if nparams_toprune == 0:
            return jnp.asarray(default_mask)
        norm = _compute_norm(t, self.n, self.dim)
        keep = np.argsort(-norm, kind="stable")[:nparams_tokeep]
        mask = np.zeros_like(t)
        slc: list[Any] = [slice(None)] * t.ndim
        slc[self.dim] = keep
        mask[tuple(slc)] = 1
        mask *= _np(default_mask).astype(mask.dtype)
        return jnp.asarray(mask)

    @classmethod
    def apply(cls, module, name, amount, n, dim, importance_scores=None):  # type: ignore[override]
        return super().apply(module, name, amount=amount, n=n, dim=dim,
                             importance_scores=importance_scores)


class CustomFromMask(BasePruningMethod):
    """Prune with a given mask (multiplied into the existing one)."""

    PRUNING_TYPE = "global"

    def __init__(self, mask: Any) -> None:
        self.mask = mask

    def compute_mask(self, t: Any, default_mask: Any) -> jax.Array:
        if tuple(np.shape(default_mask)) != tuple(np.shape(self.mask)):
            raise AssertionError(f"default_mask shape {tuple(np.shape(default_mask))} must "
                                 f"match self.mask shape {tuple(np.shape(self.mask))}")
        default_mask = jnp.asarray(as_array(default_mask))
        return default_mask * jnp.asarray(_np(self.mask)).astype(default_mask.dtype)

    @classmethod
    def apply(cls, module, name, mask):  # type: ignore[override]
        return super().apply(module, name, mask=mask)


def identity(module: Module, name: str) -> Module:
    """Apply a mask of ones to ``module.<name>`` (sets up the pruning machinery only).

    Example:
        >>> from jnn.utils import prune
        >>> m = prune.identity(nn.Linear(2, 3), "bias")
        >>> m.bias_mask
        Array([1., 1., 1.], dtype=float32)
    """
    Identity.apply(module, name)
    return module


def random_unstructured(module: Module, name: str, amount: int | float) -> Module:
    """Prune ``amount`` (fraction or count) random entries of ``module.<name>``.

    Example:
        >>> from jnn.utils import prune
        >>> m = prune.random_unstructured(nn.Linear(2, 3), "weight", amount=1)
        >>> int((m.weight == 0).sum())                      # one of the six entries
        1
    """
    RandomUnstructured.apply(module, name, amount)
    return module


def l1_unstructured(module: Module, name: str, amount: int | float,
                    importance_scores: Any = None) -> Module:
    """Prune the ``amount`` (fraction or count) entries of ``module.<name>`` with the smallest
    absolute value (or smallest ``importance_scores``).

    Example:
        >>> from jnn.utils import prune
        >>> m = prune.l1_unstructured(nn.Linear(2, 3), "weight", amount=0.2)
        >>> m.state_dict().keys()
        odict_keys(['bias', 'weight_orig', 'weight_mask'])
    """
    L1Unstructured.apply(module, name, amount=amount, importance_scores=importance_scores)
    return module


def random_structured(module: Module, name: str, amount: int | float, dim: int) -> Module:
    """Prune ``amount`` random channels of ``module.<name>`` along ``dim``.

    Example:
        >>> from jnn.utils import prune
        >>> m = prune.random_structured(nn.Linear(5, 3), "weight", amount=1, dim=1)
        >>> int((m.weight == 0).all(axis=0).sum())          # one input column zeroed
        1
    """
    RandomStructured.apply(module, name, amount, dim)
    return module


def ln_structured(module: Module, name: str, amount: int | float, n: int | float | str, dim: int,
                  importance_scores: Any = None) -> Module:
    """Prune the ``amount`` channels of ``module.<name>`` along ``dim`` with the smallest
    ``n``-norm.

    Example:
        >>> from jnn.utils import prune
        >>> m = prune.ln_structured(nn.Linear(5, 3), "weight", amount=0.3, n=2, dim=0)
        >>> int((m.weight == 0).all(axis=1).sum())          # round(0.3 * 3) = 1 output row
        1
    """
    LnStructured.apply(module, name, amount, n, dim, importance_scores=importance_scores)
    return module


def global_unstructured(parameters: Iterable[tuple[Module, str]],
                        pruning_method: type[BasePruningMethod], importance_scores: Any = None,
                        **kwargs) -> None:
    """Prune several tensors together, treating them as one vector (e.g. the globally
    smallest 20% of all weights).

    Args:
        parameters: an iterable of ``(module, name)`` pairs.
        pruning_method: an unstructured pruning class, e.g. :class:`L1Unstructured`.
        importance_scores: optional ``{(module, name): scores}``.
        **kwargs: the method's arguments (e.g. ``amount=0.2``).

    Example:
        >>> from jnn.utils import prune
        >>> net = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
        >>> prune.global_unstructured([(net[0], "weight"), (net[2], "weight")],
        ...                           pruning_method=prune.L1Unstructured, amount=0.2)
        >>> int((net[0].weight == 0).sum() + (net[2].weight == 0).sum())   # round(0.2 * 24)
        5
    """
    if not isinstance(parameters, Iterable):
        raise TypeError("global_unstructured(): parameters is not an Iterable")
    parameters = list(parameters)
    importance_scores = importance_scores if importance_scores is not None else {}
    if not isinstance(importance_scores, dict):
        raise TypeError("global_unstructured(): importance_scores must be of type dict")
    relevant_importance_scores = parameters_to_vector(
        [importance_scores.get((module, name), getattr(module, name))
         for (module, name) in parameters])
    default_mask = parameters_to_vector(
        [getattr(module, name + "_mask", None) if hasattr(module, name + "_mask")
         else jnp.ones_like(as_array(getattr(module, name))) for (module, name) in parameters])
    container = PruningContainer()
    container._tensor_name = "temp"
    method = pruning_method(**kwargs)
    method._tensor_name = "temp"
    if method.PRUNING_TYPE != "unstructured":
        raise TypeError('Only "unstructured" PRUNING_TYPE supported for the `pruning_method`. '
                        f"Found method {pruning_method} of type {method.PRUNING_TYPE}")
    container.add_pruning_method(method)
    final_mask = container.compute_mask(relevant_importance_scores, default_mask)
    pointer = 0
    for module, name in parameters:
        param = getattr(module, name)
        num_param = int(np.prod(np.shape(param)))
        param_mask = final_mask[pointer:pointer + num_param].reshape(np.shape(param))
        custom_from_mask(module, name, mask=param_mask)
        pointer += num_param


def custom_from_mask(module: Module, name: str, mask: Any) -> Module:
    """Prune ``module.<name>`` with the given ``mask`` (0 = pruned).

    Example:
        >>> from jnn.utils import prune
        >>> m = prune.custom_from_mask(nn.Linear(5, 3), "bias", mask=jnp.array([0, 1, 0]))
        >>> (m.bias == 0).tolist()
        [True, False, True]
    """
    CustomFromMask.apply(module, name, mask)
    return module


def remove(module: Module, name: str) -> Module:
    """Make the pruning of ``module.<name>`` permanent (drop ``_orig``/``_mask`` and the hook).

    Example:
        >>> from jnn.utils import prune
        >>> m = prune.l1_unstructured(nn.Linear(2, 3), "weight", amount=0.5)
        >>> prune.remove(m, "weight")
        Linear(in_features=2, out_features=3, bias=True)
        >>> list(m.state_dict()), int((m.weight == 0).sum())
        (['bias', 'weight'], 3)
    """
    for k, hook in module._forward_pre_hooks.items():
        if isinstance(hook, BasePruningMethod) and hook._tensor_name == name:
            hook.remove(module)
            del module._forward_pre_hooks[k]
            return module
    raise ValueError(f"Parameter '{name}' of module {module} has to be pruned before pruning "
                     "can be removed")


def is_pruned(module: Module) -> bool:
    """Whether any submodule of ``module`` has a pruning hook.

    Example:
        >>> from jnn.utils import prune
        >>> prune.is_pruned(nn.Linear(2, 3))
        False
    """
    for _, submodule in module.named_modules():
        for hook in submodule._forward_pre_hooks.values():
            if isinstance(hook, BasePruningMethod):
                return True
    return False


def _validate_pruning_amount_init(amount) -> None:
    if not isinstance(amount, numbers.Real):
        raise TypeError(f"Invalid type for amount: {amount}. Must be int or float.")
    if (isinstance(amount, numbers.Integral) and amount < 0) or (
            not isinstance(amount, numbers.Integral)
            and (float(amount) > 1.0 or float(amount) < 0.0)):
        raise ValueError(f"amount={amount} should either be a float in the range [0, 1] or a "
                         "non-negative integer")


def _validate_pruning_amount(amount, tensor_size) -> None:
    if isinstance(amount, numbers.Integral) and amount > tensor_size:
        raise ValueError(f"amount={amount} should be smaller than the number of parameters to "
                         f"prune={tensor_size}")


def _validate_structured_pruning(t) -> None:
    shape = tuple(np.shape(t))
    if len(shape) <= 1:
        raise ValueError("Structured pruning can only be applied to multidimensional tensors. "
                         f"Found tensor of shape {shape} with {len(shape)} dims")


def _compute_nparams_toprune(amount, tensor_size):
    if isinstance(amount, numbers.Integral):
        return amount
    return round(amount * tensor_size)


def _validate_pruning_dim(t, dim) -> None:
    if dim >= np.ndim(t):
        raise IndexError(f"Invalid index {dim} for tensor of size {tuple(np.shape(t))}")


def _compute_norm(t, n, dim):
    """``torch.norm(t, p=n, dim=<all but dim>)``."""
    t = np.asarray(t)
    dims = list(range(t.ndim))
    if dim < 0:
        dim = dims[dim]
    dims.remove(dim)
    axes = tuple(dims)
    a = np.abs(t)
    if n == "fro" or n == 2:
        return np.sqrt(np.sum(a * a, axis=axes))
    if n == float("inf"):
        return np.max(a, axis=axes)
    if n == float("-inf"):
        return np.min(a, axis=axes)
    if n == 0:
        return np.sum(a != 0, axis=axes).astype(t.dtype)
    if n == 1:
        return np.sum(a, axis=axes)
    if isinstance(n, str):
        raise ValueError(f"ln_structured: unsupported norm n={n!r}; use a number or 'fro'")
    return np.sum(a ** n, axis=axes) ** (1.0 / n)
