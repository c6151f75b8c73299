"""``SGD``: stochastic gradient descent with momentum, dampening, Nesterov and weight decay."""
from __future__ import annotations

import jax.numpy as jnp

from ._common import LRType, ParamsT, check_lr, state_full
from .optimizer import Optimizer, StaticView

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent (``torch.optim.SGD``), with torch's exact update::

        g = -g if maximize;  g += weight_decay * p
        b = g (first step) or momentum * b + (1 - dampening) * g
        g = g + momentum * b if nesterov else b;  p -= lr * g

    Args:
        params: parameters or param-group dicts.
        lr: learning rate (default 1e-3).
        momentum, dampening, weight_decay: as in torch (default 0).
        nesterov: Nesterov momentum (needs momentum > 0 and dampening == 0).
        maximize: ascend instead of descend.
        foreach, differentiable, fused: accepted for torch compatibility; no effect.

    Example:
        >>> model = nn.Linear(3, 1)
        >>> def loss_fn(m):
        ...     return ((m(jnp.ones((4, 3))) - 3.0) ** 2).mean()
        >>> opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        >>> loss, grads = nn.value_and_grad(loss_fn)(model)
        >>> opt.step(grads)
        >>> bool(loss_fn(model) < loss)
        True
    """

    _zero_keys = frozenset({"momentum", "dampening", "weight_decay"})

    def __init__(self, params: ParamsT, lr: LRType = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float = 0, nesterov: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None, differentiable: bool = False,
                 fused: bool | None = None) -> None:
        check_lr(lr)
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize, foreach=foreach,
                        differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)

    def _init_state(self, p, group):
        if group["momentum"] == 0:
            return {}
        # torch creates the buffer as a copy of the first gradient. A zero buffer gives the
        # same first step when dampening is 0; otherwise a private `_first` flag (left out of
        # state_dict) marks the first step. Either way the state has a fixed structure, which
        # a compiled step needs.
        state = {"momentum_buffer": state_full(p)}
        if group["dampening"] != 0:
            state["_first"] = jnp.asarray(True)
        return state

    @staticmethod
    def _update(p, g, state, hyper, static: StaticView):
        if static["maximize"]:
            g = -g
        if not static.is_zero("weight_decay"):
            g = g + hyper["weight_decay"] * p
        if "momentum_buffer" in state and not static.is_zero("momentum"):
            buf = state["momentum_buffer"]
            momentum = hyper["momentum"]
            if static.is_zero("dampening"):
                buf = momentum * buf + g  # equals g on the first step (buffer starts at zero)
            else:
                updated = momentum * buf + (1 - hyper["dampening"]) * g
                first = state.get("_first")
                buf = updated if first is None else jnp.where(first, g, updated)
                if first is not None:
                    state["_first"] = jnp.asarray(False)
            state["momentum_buffer"] = buf
            g = g + momentum * buf if static["nesterov"] else buf
        return p - hyper["lr"] * g, state
