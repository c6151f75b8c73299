"""``RAdam``: rectified Adam."""
from __future__ import annotations

import jax.numpy as jnp

from ._common import (
    ADAM_DYNAMIC_ITEMS,
    ADAM_ZERO_KEYS,
    LRType,
    ParamsT,
    adam_moments,
    adam_state,
    apply_weight_decay,
    check_adam_args,
    count,
    one_minus_pow,
    power,
    signed_grad,
)
from .optimizer import Optimizer, StaticView

__all__ = ["RAdam"]


class RAdam(Optimizer):
    """RAdam (``torch.optim.RAdam``), with torch's exact update::

        g = -g if maximize
        p *= 1 - lr * weight_decay (decoupled_weight_decay)   or   g += weight_decay * p
        m = beta1 * m + (1 - beta1) * g;   v = beta2 * v + (1 - beta2) * g**2
        rho_inf = 2 / (1 - beta2) - 1;  rho_t = rho_inf - 2 t beta2**t / (1 - beta2**t)
        m_hat = m / (1 - beta1**t)
        if rho_t > 5:  p -= lr * m_hat * rect_t * sqrt(1 - beta2**t) / (sqrt(v) + eps)
        else:          p -= lr * m_hat

    The branch on ``rho_t`` is a ``jnp.where``, so the step compiles once.
    State per parameter: ``step``, ``exp_avg``, ``exp_avg_sq``.

    Args:
        params: parameters or param-group dicts.
        lr: learning rate (default 1e-3).
        betas: running-average coefficients (default (0.9, 0.999)).
        eps: denominator term (default 1e-8).
        weight_decay: weight decay (default 0).
        decoupled_weight_decay: AdamW-style weight decay.
        maximize: ascend instead of descend.
        foreach, capturable, differentiable: accepted for torch compatibility; no effect.

    Example:
        >>> model = nn.Linear(3, 1)
        >>> def loss_fn(m):
        ...     return ((m(jnp.ones((4, 3))) - 3.0) ** 2).mean()
        >>> opt = optim.RAdam(model.parameters())
        >>> loss, grads = nn.value_and_grad(loss_fn)(model)
        >>> opt.step(grads)
        >>> bool(loss_fn(model) < loss)
        True
    """

    _zero_keys = ADAM_ZERO_KEYS
    _dynamic_items = ADAM_DYNAMIC_ITEMS

    def __init__(self, params: ParamsT, lr: LRType = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, decoupled_weight_decay: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        check_adam_args(lr, betas, eps, weight_decay)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        decoupled_weight_decay=decoupled_weight_decay,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    def _init_state(self, p, group):
        return adam_state(p)

    @staticmethod
    def _update(p, g, state, hyper, static: StaticView):
        lr = hyper["lr"]
        beta1, beta2 = hyper["betas"]
        g = signed_grad(g, static)
        step = state["step"] + 1
        p, g = apply_weight_decay(p, g, hyper, static)
        m, v = adam_moments(state, g, beta1, beta2)
        state.update(step=step, exp_avg=m, exp_avg_sq=v)
        # torch computes the step-dependent scalars in double precision (``step`` as a Python
        # float); in float32, rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t) cancels badly near
        # the rho_t > 5 switch. Here: the parameter's precision (float64 follows torch).
        t = count(step, p)
        bias_correction1 = one_minus_pow(beta1, t)
        bias_correction2 = one_minus_pow(beta2, t)
        m_hat = m / bias_correction1
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * t * power(beta2, t) / bias_correction2
        # The rectification term; only used where rho_t > 5 (clamped so the unused branch
        # stays finite).
        safe_rho = jnp.maximum(rho_t, 5.0)
        rect = jnp.sqrt((safe_rho - 4) * (safe_rho - 2) * rho_inf /
                        ((rho_inf - 4) * (rho_inf - 2) * safe_rho))
        adaptive = jnp.sqrt(bias_correction2) / (jnp.sqrt(v) + hyper["eps"])
        update = jnp.where(rho_t > 5.0, m_hat * lr * adaptive * rect, m_hat * lr)
        return p - update, state
