"""``nn.functional_call``: run a module with substituted parameters and buffers
(``torch.func.functional_call``)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .._state import context
from ..modules.module import Module
from ..parameter import Parameter

__all__ = ["functional_call"]


def functional_call(module: Module, parameters_and_buffers: Mapping | Sequence[Mapping],
                    args: Any = (), kwargs: dict | None = None, *, tie_weights: bool = True,
                    strict: bool = False) -> Any:
    """Call ``module`` with some parameters/buffers replaced (``torch.func.functional_call``).

    Args:
        module: the module to call.
        parameters_and_buffers: ``name -> array`` (or a sequence of such dicts); names as in
            ``state_dict``. Arrays may be tracers, so this composes with ``jax.grad``/``vmap``.
        args: positional arguments (a single non-tuple value is one argument).
        kwargs: keyword arguments.
        tie_weights: a parameter registered under two names is replaced everywhere (jnn swaps
            the shared box, so this always holds).
        strict: every parameter and buffer must be given.

    Returns:
        The module's output. The module itself is left unchanged: values are swapped in for the
        call and restored afterwards (buffer updates made during the call are discarded).

    Example:
        >>> model, x = nn.Linear(3, 2), jnp.ones((4, 3))
        >>> params = {k: v * 2 for k, v in model.state_dict().items()}
        >>> out = nn.functional_call(model, params, (x,))
        >>> bool(jnp.allclose(out, 2 * model(x)))   # the model keeps its own parameters
        True
    """
    if isinstance(parameters_and_buffers, Mapping):
        values = dict(parameters_and_buffers)
    else:
        values = {}
        for d in parameters_and_buffers:
            overlap = set(values) & set(d)
            if overlap:
                raise ValueError(f"functional_call: {sorted(overlap)} appeared in multiple "
                                 "dictionaries")
            values.update(d)
    if not isinstance(args, tuple):
        args = (args,)
    kwargs = kwargs or {}

    params = dict(module.named_parameters(remove_duplicate=False))
    buffers = dict(module.named_buffers(remove_duplicate=False))
    unexpected = [k for k in values if k not in params and k not in buffers]
    if unexpected:
        raise ValueError(f"functional_call: unexpected key(s): {unexpected}; expected names "
                         "from the module's state_dict")
    if strict:
        missing = [k for k in (*params, *buffers) if k not in values]
        if missing:
            raise ValueError(f"functional_call: missing key(s) with strict=True: {missing}")

    saved: list[tuple[dict, str, Any]] = []
    with context.swapped_state():
        return _call_swapped(module, values, params, args, kwargs, saved)


def _call_swapped(module, values, params, args, kwargs, saved):
    try:
        for name, value in values.items():
            value = value._data if isinstance(value, Parameter) else value
            if name in params:
                p = params[name]
                saved.append((p.__dict__, "_data", p._data))
                p._data = value
            else:
                owner_path, _, leaf = name.rpartition(".")
                owner = module.get_submodule(owner_path)
                saved.append((owner._buffers, leaf, owner._buffers[leaf]))
                owner._buffers[leaf] = value
        return module(*args, **kwargs)
    finally:
        for container, key, value in reversed(saved):
            container[key] = value
