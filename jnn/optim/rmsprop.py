"""``RMSprop``."""
from __future__ import annotations

import jax.numpy as jnp

from ._common import LRType, ParamsT, check_lr, check_nonneg, state_full, step_zero
from .optimizer import Optimizer, StaticView

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop (``torch.optim.RMSprop``), with torch's exact update::

        g = -g if maximize;  g += weight_decay * p
        square_avg = alpha * square_avg + (1 - alpha) * g**2
        centered:  grad_avg = alpha * grad_avg + (1 - alpha) * g
                   avg = sqrt(square_avg - grad_avg**2) + eps
        else:      avg = sqrt(square_avg) + eps
        momentum > 0:  buf = momentum * buf + g / avg;  p -= lr * buf
        else:          p -= lr * g / avg

    State per parameter: ``step``, ``square_avg``, and ``momentum_buffer`` (momentum > 0) and
    ``grad_avg`` (centered), as in torch.

    Args:
        params: parameters or param-group dicts.
        lr: learning rate (default 1e-2).
        alpha: smoothing constant (default 0.99).
        eps: denominator term (default 1e-8).
        weight_decay: L2 penalty (default 0).
        momentum: momentum factor (default 0).
        centered: normalize by an estimate of the gradient's variance.
        maximize: ascend instead of descend.
        capturable, foreach, differentiable: accepted for torch compatibility; no effect.

    Example:
        >>> model = nn.Linear(3, 1)
        >>> def loss_fn(m):
        ...     return ((m(jnp.ones((4, 3))) - 3.0) ** 2).mean()
        >>> opt = optim.RMSprop(model.parameters(), lr=0.01, momentum=0.9)
        >>> loss, grads = nn.value_and_grad(loss_fn)(model)
        >>> opt.step(grads)
        >>> bool(loss_fn(model) < loss)
        True
    """

    _zero_keys = frozenset({"weight_decay", "momentum"})

    def __init__(self, params: ParamsT, lr: LRType = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False,
                 capturable: bool = False, foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        check_lr(lr)
        check_nonneg(eps, "epsilon")
        check_nonneg(momentum, "momentum")
        check_nonneg(weight_decay, "weight_decay")
        check_nonneg(alpha, "alpha")
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                        maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    def _init_state(self, p, group):
        state = {"step": step_zero(), "square_avg": state_full(p)}
        if group["momentum"] > 0:
            state["momentum_buffer"] = state_full(p)
        if group["centered"]:
            state["grad_avg"] = state_full(p)
        return state

    @staticmethod
    def _update(p, g, state, hyper, static: StaticView):
        alpha, eps = hyper["alpha"], hyper["eps"]
        if static["maximize"]:
            g = -g
        state["step"] = state["step"] + 1
        if not static.is_zero("weight_decay"):
            g = g + hyper["weight_decay"] * p
        square_avg = alpha * state["square_avg"] + (1 - alpha) * g * g
        state["square_avg"] = square_avg
        if static["centered"]:
            grad_avg = state["grad_avg"] + (1 - alpha) * (g - state["grad_avg"])
            state["grad_avg"] = grad_avg
            avg = jnp.sqrt(square_avg - grad_avg * grad_avg) + eps
        else:
            avg = jnp.sqrt(square_avg) + eps
        if not static.is_zero("momentum") and "momentum_buffer" in state:
            buf = hyper["momentum"] * state["momentum_buffer"] + g / avg
            state["momentum_buffer"] = buf
            return p - hyper["lr"] * buf, state
        return p - hyper["lr"] * (g / avg), state
