"""``Adam`` (with AMSGrad and optional decoupled weight decay)."""
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
    signed_grad,
    state_full,
)
from .optimizer import Optimizer, StaticView

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

    _zero_keys = ADAM_ZERO_KEYS
    _dynamic_items = ADAM_DYNAMIC_ITEMS

    def __init__(self, params: ParamsT, lr: LRType = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None, decoupled_weight_decay: bool = False) -> None:
        check_adam_args(lr, betas, eps, weight_decay)
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
        state = adam_state(p)
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = state_full(p)
        return state

    @staticmethod
    def _update(p, g, state, hyper, static: StaticView):
        lr, eps = hyper["lr"], hyper["eps"]
        beta1, beta2 = hyper["betas"]
        g = signed_grad(g, static)
        step = state["step"] + 1
        p, g = apply_weight_decay(p, g, hyper, static)
        m, v = adam_moments(state, g, beta1, beta2)
        state.update(step=step, exp_avg=m, exp_avg_sq=v)
        if static["amsgrad"]:
            v = jnp.maximum(state["max_exp_avg_sq"], v)
            state["max_exp_avg_sq"] = v
        t = count(step, p)
        step_size = lr / one_minus_pow(beta1, t)
        denom = jnp.sqrt(v) / jnp.sqrt(one_minus_pow(beta2, t)) + eps
        return p - step_size * (m / denom), state
