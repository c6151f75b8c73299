"""``torch.nn.utils.stateless``: the deprecated home of ``functional_call``."""
from __future__ import annotations

import warnings
from typing import Any

from ..transforms.functional_call import functional_call as _functional_call

__all__ = ["functional_call"]


def functional_call(module, parameters_and_buffers, args: Any = None,
                    kwargs: dict | None = None, *, tie_weights: bool = True,
                    strict: bool = False):
    """Call ``module`` with some parameters/buffers replaced; see :func:`jnn.functional_call`
    (torch's ``torch.func.functional_call``, of which this is the deprecated alias).

    Emits torch's ``FutureWarning`` and forwards to :func:`jnn.functional_call`.

    Example:
        >>> model, x = nn.Linear(3, 2), jnp.ones((1, 3))
        >>> out = nn.utils.stateless.functional_call(model, {"weight": jnp.zeros((2, 3))}, (x,))
        >>> bool(jnp.allclose(out[0], model.bias))
        True
    """
    warnings.warn("`torch.nn.utils.stateless.functional_call` is deprecated as of PyTorch 2.0 "
                  "and will be removed in a future version of PyTorch. Please use "
                  "`torch.func.functional_call` instead which is a drop-in replacement.",
                  FutureWarning, stacklevel=2)
    if args is None:
        args = ()
    return _functional_call(module, parameters_and_buffers, args, kwargs,
                            tie_weights=tie_weights, strict=strict)
