"""``Adamax``: Adam with the infinity norm."""
from __future__ import annotations

import jax.numpy as jnp

from ._common import (
    ADAM_DYNAMIC_ITEMS,
    ADAM_ZERO_KEYS,
    LRType,
    ParamsT,
    adam_state,
    check_adam_args,
    count,
    l2_weight_decay,
    one_minus_pow,
    signed_grad,
)
from .optimizer import Optimizer, StaticView

__all__ = ["Adamax"]


class Adamax(Optimizer):
    """Adamax (``torch.optim.Adamax``), with torch's exact update::

        g = -g if maximize;  g += weight_decay * p
        m = beta1 * m + (1 - beta1) * g;   u = max(beta2 * u, |g| + eps)
        p -= lr / (1 - beta1**t) * m / u

    State per parameter: ``step``, ``exp_avg``, ``exp_inf``.

    Args:
        params: parameters or param-group dicts.
        lr: learning rate (default 2e-3).
        betas: coefficients of the running average and the infinity norm (default (0.9, 0.999)).
        eps: added to ``|g|`` (default 1e-8).
        weight_decay: L2 penalty (default 0).
        maximize: ascend instead of descend.
        foreach, differentiable, capturable: accepted for torch compatibility; no effect.

    Example:
        >>> model = nn.Linear(3, 1)
        >>> def loss_fn(m):
        ...     return ((m(jnp.ones((4, 3))) - 3.0) ** 2).mean()
        >>> opt = optim.Adamax(model.parameters())
        >>> loss, grads = nn.value_and_grad(loss_fn)(model)
        >>> opt.step(grads)
        >>> bool(loss_fn(model) < loss)
        True
    """

    _zero_keys = ADAM_ZERO_KEYS
    _dynamic_items = ADAM_DYNAMIC_ITEMS

    def __init__(self, params: ParamsT, lr: LRType = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False) -> None:
        check_adam_args(lr, betas, eps, weight_decay)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize, differentiable=differentiable,
                        capturable=capturable)
        super().__init__(params, defaults)

    def _init_state(self, p, group):
        return adam_state(p, second="exp_inf")

    @staticmethod
    def _update(p, g, state, hyper, static: StaticView):
        beta1, beta2 = hyper["betas"]
        g = signed_grad(g, static)
        step = state["step"] + 1
        g = l2_weight_decay(p, g, hyper, static)
        # (Adamax's first moment is Adam's; its second is the infinity norm.)
        m = state["exp_avg"] + (1 - beta1) * (g - state["exp_avg"])
        u = jnp.maximum(state["exp_inf"] * beta2, jnp.abs(g) + hyper["eps"])
        clr = hyper["lr"] / one_minus_pow(beta1, count(step, p))
        state.update(step=step, exp_avg=m, exp_inf=u)
        return p - clr * (m / u), state
