"""``Adamax``: Adam with the infinity norm."""
from __future__ import annotations

import jax.numpy as jnp

from .optimizer import (Optimizer, StaticView, _check_betas, _check_lr, _check_nonneg, _count,
                        _one_minus_pow, _step_zero)

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

    _zero_keys = frozenset({"weight_decay"})
    _dynamic_items = {"betas": (0,)}

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 foreach=None, *, maximize=False, differentiable=False, capturable=False):
        _check_lr(lr)
        _check_nonneg(eps, "epsilon")
        _check_betas(betas)
        _check_nonneg(weight_decay, "weight_decay")
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize, differentiable=differentiable,
                        capturable=capturable)
        super().__init__(params, defaults)

    def _init_state(self, p, group):
        return {"step": _step_zero(p), "exp_avg": jnp.zeros_like(p.data),
                "exp_inf": jnp.zeros_like(p.data)}

    def _update(self, p, g, state, hyper, static: StaticView):
        beta1, beta2 = hyper["betas"]
        if static["maximize"]:
            g = -g
        step = state["step"] + 1
        if not static.is_zero("weight_decay"):
            g = g + hyper["weight_decay"] * p
        m = state["exp_avg"] + (1 - beta1) * (g - state["exp_avg"])
        u = jnp.maximum(state["exp_inf"] * beta2, jnp.abs(g) + hyper["eps"])
        clr = hyper["lr"] / _one_minus_pow(beta1, _count(step, p))
        state.update(step=step, exp_avg=m, exp_inf=u)
        return p - clr * (m / u), state
