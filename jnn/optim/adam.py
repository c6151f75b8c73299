"""``Adam`` (with AMSGrad and optional decoupled weight decay)."""
from __future__ import annotations

import jax.numpy as jnp

from .optimizer import (Optimizer, StaticView, _check_betas, _check_lr, _check_nonneg, _count,
                        _one_minus_pow, _step_zero)

__all__ = ["Adam"]


class Adam(Optimizer):
    """Adam (``torch.optim.Adam``), with torch's exact update::

        g = -g if maximize
        p *= 1 - lr * weight_decay        (decoupled_weight_decay)   or   g += weight_decay * p
        m = beta1 * m + (1 - beta1) * g;   v = beta2 * v + (1 - beta2) * g**2
        v_hat = max(v_max, v) if amsgrad else v      (kept in state 'max_exp_avg_sq')
        p -= lr / (1 - beta1**t) * m / (sqrt(v_hat) / sqrt(1 - beta2**t) + eps)

    State per parameter: ``step`` (float32 scalar), ``exp_avg``, ``exp_avg_sq`` and, with
    ``amsgrad``, ``max_exp_avg_sq`` (torch's keys; state_dicts load both ways).

    Args:
        params: parameters or param-group dicts.
        lr: learning rate (default 1e-3); a float or a 1-element array.
        betas: coefficients of the running averages of the gradient and its square
            (default (0.9, 0.999)).
        eps: added to the denominator (default 1e-8).
        weight_decay: L2 penalty (default 0).
        amsgrad: use the AMSGrad variant.
        foreach, capturable, differentiable, fused: accepted for torch compatibility; no effect
            (every jnn step compiles to one fused XLA program under ``nn.jit``).
        maximize: ascend instead of descend.
        decoupled_weight_decay: AdamW-style weight decay.

    Under ``nn.jit``, ``lr``, ``eps``, ``weight_decay`` and ``betas[0]`` are program inputs
    (schedulers change them without recompiling); ``betas[1]`` is a compile-time constant.

    Example:
        >>> model = nn.Linear(3, 1)
        >>> def loss_fn(m):
        ...     return ((m(jnp.ones((4, 3))) - 3.0) ** 2).mean()
        >>> opt = optim.Adam(model.parameters(), lr=1e-3)
        >>> loss, grads = nn.value_and_grad(loss_fn)(model)
        >>> opt.step(grads)
        >>> bool(loss_fn(model) < loss)
        True
    """

    _zero_keys = frozenset({"weight_decay"})
    _dynamic_items = {"betas": (0,)}

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=False):
        _check_lr(lr)
        _check_nonneg(eps, "epsilon")
        _check_betas(betas)
        _check_nonneg(weight_decay, "weight_decay")
        if fused and differentiable:
            raise RuntimeError("`fused` does not support `differentiable`")
        if fused and foreach:
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _init_state(self, p, group):
        state = {"step": _step_zero(p), "exp_avg": jnp.zeros_like(p.data),
                 "exp_avg_sq": jnp.zeros_like(p.data)}
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = jnp.zeros_like(p.data)
        return state

    def _update(self, p, g, state, hyper, static: StaticView):
        lr, eps = hyper["lr"], hyper["eps"]
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
        if static["amsgrad"]:
            v = jnp.maximum(state["max_exp_avg_sq"], v)
            state["max_exp_avg_sq"] = v
        t = _count(step, p)
        step_size = lr / _one_minus_pow(beta1, t)
        denom = jnp.sqrt(v) / jnp.sqrt(_one_minus_pow(beta2, t)) + eps
        return p - step_size * (m / denom), state
