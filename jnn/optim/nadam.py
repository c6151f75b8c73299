"""``NAdam``: Adam with Nesterov momentum."""
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
    check_nonneg,
    count,
    one_minus_pow,
    power,
    signed_grad,
    step_zero,
)
from .optimizer import Optimizer, StaticView

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

    _zero_keys = ADAM_ZERO_KEYS
    _dynamic_items = ADAM_DYNAMIC_ITEMS

    def __init__(self, params: ParamsT, lr: LRType = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        check_adam_args(lr, betas, eps, weight_decay)
        check_nonneg(momentum_decay, "momentum_decay")
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize,
                        foreach=foreach, capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)

    def _init_state(self, p, group):
        # torch's key order: step, mu_product, exp_avg, exp_avg_sq.
        return {"step": step_zero(), "mu_product": jnp.ones((), jnp.float32),
                **{k: v for k, v in adam_state(p).items() if k != "step"}}

    @staticmethod
    def _update(p, g, state, hyper, static: StaticView):
        lr = hyper["lr"]
        beta1, beta2 = hyper["betas"]
        g = signed_grad(g, static)
        step = state["step"] + 1
        # torch keeps ``step`` and ``mu_product`` as float32 tensors but computes every
        # step-dependent scalar from them in double precision (Python floats): here they are
        # computed in the parameter's precision, so float64 parameters follow torch to 1e-15.
        t = count(step, p)
        bias_correction2 = one_minus_pow(beta2, t)
        p, g = apply_weight_decay(p, g, hyper, static)
        md = hyper["momentum_decay"]
        mu = beta1 * (1.0 - 0.5 * power(0.96, t * md))
        mu_next = beta1 * (1.0 - 0.5 * power(0.96, (t + 1) * md))
        # torch's in-place ``mu_product *= mu`` rounds to the float32 state each step.
        mu_product = state["mu_product"] * mu.astype(state["mu_product"].dtype)
        m, v = adam_moments(state, g, beta1, beta2)
        denom = jnp.sqrt(v / bias_correction2) + hyper["eps"]
        mu_product_next = mu_product.astype(t.dtype) * mu_next
        p = p + (-lr * (1.0 - mu) / (1.0 - mu_product.astype(t.dtype))) * (g / denom)
        p = p + (-lr * mu_next / (1.0 - mu_product_next)) * (m / denom)
        state.update(step=step, mu_product=mu_product, exp_avg=m, exp_avg_sq=v)
        return p, state
