"""``NAdam``: Adam with Nesterov momentum."""
from __future__ import annotations

import jax.numpy as jnp

from .optimizer import (Optimizer, StaticView, _check_betas, _check_lr, _check_nonneg, _count,
                        _one_minus_pow, _pow, _step_zero)

__all__ = ["NAdam"]


class NAdam(Optimizer):
    """NAdam (``torch.optim.NAdam``), with torch's exact update::

        g = -g if maximize
        p *= 1 - lr * weight_decay (decoupled_weight_decay)   or   g += weight_decay * p
        mu_t = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay));  mu_product *= mu_t
        m = beta1 * m + (1 - beta1) * g;   v = beta2 * v + (1 - beta2) * g**2
        denom = sqrt(v / (1 - beta2**t)) + eps
        p -= lr * (1 - mu_t) / (1 - mu_product) * g / denom
        p -= lr * mu_{t+1} / (1 - mu_product * mu_{t+1}) * m / denom

    State per parameter: ``step``, ``mu_product`` (float32 scalars), ``exp_avg``, ``exp_avg_sq``.

    Args:
        params: parameters or param-group dicts.
        lr: learning rate (default 2e-3).
        betas: running-average coefficients (default (0.9, 0.999)).
        eps: denominator term (default 1e-8).
        weight_decay: weight decay (default 0).
        momentum_decay: the momentum schedule's decay (default 4e-3).
        decoupled_weight_decay: AdamW-style weight decay (NAdamW).
        maximize: ascend instead of descend.
        foreach, capturable, differentiable: accepted for torch compatibility; no effect.

    Example:
        >>> model = nn.Linear(3, 1)
        >>> def loss_fn(m):
        ...     return ((m(jnp.ones((4, 3))) - 3.0) ** 2).mean()
        >>> opt = optim.NAdam(model.parameters(), lr=2e-3)
        >>> loss, grads = nn.value_and_grad(loss_fn)(model)
        >>> opt.step(grads)
        >>> bool(loss_fn(model) < loss)
        True
    """

    _zero_keys = frozenset({"weight_decay"})
    _dynamic_items = {"betas": (0,)}

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, foreach=None,
                 maximize=False, capturable=False, differentiable=False):
        _check_lr(lr)
        _check_nonneg(eps, "epsilon")
        _check_betas(betas)
        _check_nonneg(weight_decay, "weight_decay")
        _check_nonneg(momentum_decay, "momentum_decay")
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize,
                        foreach=foreach, capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)

    def _init_state(self, p, group):
        return {"step": _step_zero(p), "mu_product": jnp.ones((), jnp.float32),
                "exp_avg": jnp.zeros_like(p.data), "exp_avg_sq": jnp.zeros_like(p.data)}

    def _update(self, p, g, state, hyper, static: StaticView):
        lr = hyper["lr"]
        beta1, beta2 = hyper["betas"]
        if static["maximize"]:
            g = -g
        step = state["step"] + 1
        # torch keeps ``step`` and ``mu_product`` as float32 tensors but computes every
        # step-dependent scalar from them in double precision (Python floats): here they are
        # computed in the parameter's precision, so float64 parameters follow torch to 1e-15.
        t = _count(step, p)
        bias_correction2 = _one_minus_pow(beta2, t)
        if not static.is_zero("weight_decay"):
            if static["decoupled_weight_decay"]:
                p = p * (1 - lr * hyper["weight_decay"])
            else:
                g = g + hyper["weight_decay"] * p
        md = hyper["momentum_decay"]
        mu = beta1 * (1.0 - 0.5 * _pow(0.96, t * md))
        mu_next = beta1 * (1.0 - 0.5 * _pow(0.96, (t + 1) * md))
        # torch's in-place ``mu_product *= mu`` rounds to the float32 state each step.
        mu_product = state["mu_product"] * mu.astype(state["mu_product"].dtype)
        m = state["exp_avg"] + (1 - beta1) * (g - state["exp_avg"])
        v = beta2 * state["exp_avg_sq"] + (1 - beta2) * g * g
        denom = jnp.sqrt(v / bias_correction2) + hyper["eps"]
        mu_product_next = mu_product.astype(t.dtype) * mu_next
        p = p + (-lr * (1.0 - mu) / (1.0 - mu_product.astype(t.dtype))) * (g / denom)
        p = p + (-lr * mu_next / (1.0 - mu_product_next)) * (m / denom)
        state.update(step=step, mu_product=mu_product, exp_avg=m, exp_avg_sq=v)
        return p, state
