"""Hook registration shared by modules and optimizers (``torch.utils.hooks.RemovableHandle``).

Hooks live in :class:`~jnn._state.tracking.HookDict`s, so adding or removing one is a
structural change that ``nn.jit`` sees without being told.
"""
from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Callable, Iterable

__all__ = ["RemovableHandle", "add_hook"]

_handle_ids = itertools.count()


class RemovableHandle:
    """A handle that removes the hook it was returned for (``torch.utils.hooks.RemovableHandle``).

    ``extra_dict`` names further dicts keyed by the same id (the ``with_kwargs`` and
    ``always_call`` flags of a forward hook) that are cleaned up with it.
    """

    def __init__(self, hooks_dict: dict, *, extra_dict=None):
        self.hooks_dict_ref = hooks_dict
        self.id = next(_handle_ids)
        self.extra_dict_ref = [] if extra_dict is None else (
            extra_dict if isinstance(extra_dict, list) else [extra_dict])

    def remove(self) -> None:
        for d in (self.hooks_dict_ref, *self.extra_dict_ref):
            if d is not None and self.id in d:
                del d[self.id]

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


def add_hook(hooks: OrderedDict, hook: Callable, prepend: bool = False,
             extra: Iterable[dict] | None = None) -> RemovableHandle:
    """Register ``hook`` in ``hooks`` (first if ``prepend``) and return its handle."""
    if not callable(hook):
        raise TypeError(f"hook: expected a callable, got {type(hook).__name__}")
    handle = RemovableHandle(hooks, extra_dict=list(extra) if extra is not None else None)
    hooks[handle.id] = hook
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    return handle
