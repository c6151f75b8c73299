"""``RAdam``: rectified Adam."""
from __future__ import annotations

import jax.numpy as jnp

from .optimizer import (Optimizer, StaticView, _check_betas, _check_lr, _check_nonneg, _count,
                        _one_minus_pow, _pow, _step_zero)

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

    _zero_keys = frozenset({"weight_decay"})
    _dynamic_items = {"betas": (0,)}

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False,
                 capturable=False, differentiable=False):
        _check_lr(lr)
        _check_nonneg(eps, "epsilon")
        _check_betas(betas)
        _check_nonneg(weight_decay, "weight_decay")
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        decoupled_weight_decay=decoupled_weight_decay,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    def _init_state(self, p, group):
        return {"step": _step_zero(p), "exp_avg": jnp.zeros_like(p.data),
                "exp_avg_sq": jnp.zeros_like(p.data)}

    def _update(self, p, g, state, hyper, static: StaticView):
        lr = hyper["lr"]
        beta1, beta2 = hyper["betas"]
        if static["maximize"]:
            g = -g
        step = state["step"] + 1
        if not static.is_zero("weight_decay"):
            if static["decoupled_weight_decay"]:
                p = p * (1 - lr * hyper["weight_decay"])
            else:
                g = g + hyper["weight_decay"] * p
        m = state["exp_avg"] + (1 - beta1) * (g - state["exp_avg"])
        v = beta2 * state["exp_avg_sq"] + (1 - beta2) * g * g
        state.update(step=step, exp_avg=m, exp_avg_sq=v)
        # torch computes the step-dependent scalars in double precision (``step`` as a Python
        # float); in float32, rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t) cancels badly near
        # the rho_t > 5 switch. Here: the parameter's precision (float64 follows torch).
        t = _count(step, p)
        bias_correction1 = _one_minus_pow(beta1, t)
        bias_correction2 = _one_minus_pow(beta2, t)
        m_hat = m / bias_correction1
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * t * _pow(beta2, t) / bias_correction2
        # The rectification term; only used where rho_t > 5 (clamped so the unused branch
        # stays finite).
        safe_rho = jnp.maximum(rho_t, 5.0)
        rect = jnp.sqrt((safe_rho - 4) * (safe_rho - 2) * rho_inf /
                        ((rho_inf - 4) * (rho_inf - 2) * safe_rho))
        adaptive = jnp.sqrt(bias_correction2) / (jnp.sqrt(v) + hyper["eps"])
        update = jnp.where(rho_t > 5.0, m_hat * lr * adaptive * rect, m_hat * lr)
        return p - update, state
