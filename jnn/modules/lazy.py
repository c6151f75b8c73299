"""``LazyModuleMixin``: layers whose parameter shapes are inferred from the first input."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..parameter import UninitializedBuffer, UninitializedParameter
from .module import Module

__all__ = ["LazyModuleMixin"]


if TYPE_CHECKING:  # a mixin for Module subclasses: the type checker sees that base
    _MixinBase = Module
else:
    _MixinBase = object


class LazyModuleMixin(_MixinBase):
    """Mixin for ``Lazy*`` layers (``torch.nn.modules.lazy.LazyModuleMixin``).

    The first call runs ``initialize_parameters(*args, **kwargs)``, which materialises the
    ``UninitializedParameter``s from the input's shape and resets them; the module then
    becomes ``cls_to_become`` (e.g. ``LazyLinear`` -> ``Linear``).
    """

    cls_to_become: type | None = None

    def has_uninitialized_params(self) -> bool:
        params = self._parameters.values()
        buffers = self._buffers.values()
        return any(isinstance(p, UninitializedParameter) for p in params) or \
            any(isinstance(b, UninitializedBuffer) for b in buffers)

    def initialize_parameters(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(f"{type(self).__name__} must define initialize_parameters")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # torch's _infer_parameters: the first call infers the shapes, then the module becomes
        # cls_to_become (also when a loaded state_dict already fixed every shape).
        if self.has_uninitialized_params():
            self.initialize_parameters(*args, **kwargs)
        if self.cls_to_become is not None and not self.has_uninitialized_params():
            self.__class__ = self.cls_to_become
        # The layer's own Module.__call__, named directly: this mixin is not a Module.
        return Module.__call__(self, *args, **kwargs)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # torch's lazy load hook: loading a checkpoint fixes the uninitialised shapes.
        for name, p in self._parameters.items():
            key = prefix + name
            if isinstance(p, UninitializedParameter) and key in state_dict:
                p.materialize(tuple(state_dict[key].shape))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
