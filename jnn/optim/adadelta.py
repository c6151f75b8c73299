"""``Adadelta``: an adaptive learning-rate method."""
from __future__ import annotations

import jax.numpy as jnp

from ._common import (
    LRType,
    ParamsT,
    check_lr,
    check_nonneg,
    l2_weight_decay,
    signed_grad,
    state_full,
    step_zero,
)
from .optimizer import Optimizer, StaticView

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """Adadelta (``torch.optim.Adadelta``), with torch's exact update::

        g = -g if maximize;  g += weight_decay * p
        square_avg = rho * square_avg + (1 - rho) * g**2
        delta = sqrt(acc_delta + eps) / sqrt(square_avg + eps) * g
        acc_delta = rho * acc_delta + (1 - rho) * delta**2
        p -= lr * delta

    State per parameter: ``step``, ``square_avg``, ``acc_delta``.

    Args:
        params: parameters or param-group dicts.
        lr: coefficient that scales delta (default 1.0).
        rho: running-average coefficient (default 0.9).
        eps: numerical-stability term (default 1e-6).
        weight_decay: L2 penalty (default 0).
        maximize: ascend instead of descend.
        foreach, capturable, differentiable: accepted for torch compatibility; no effect.

    Example:
        >>> model = nn.Linear(3, 1)
        >>> def loss_fn(m):
        ...     return ((m(jnp.ones((4, 3))) - 3.0) ** 2).mean()
        >>> opt = optim.Adadelta(model.parameters())
        >>> loss, grads = nn.value_and_grad(loss_fn)(model)
        >>> opt.step(grads)
        >>> bool(loss_fn(model) < loss)
        True
    """

    _zero_keys = frozenset({"weight_decay"})  # (as the Adam family's ADAM_ZERO_KEYS)

    def __init__(self, params: ParamsT, lr: LRType = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, foreach: bool | None = None, *, capturable: bool = False,
                 maximize: bool = False, differentiable: bool = False) -> None:
        check_lr(lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        check_nonneg(eps, "epsilon")
        check_nonneg(weight_decay, "weight_decay")
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        capturable=capturable, foreach=foreach, differentiable=differentiable)
        super().__init__(params, defaults)

    def _init_state(self, p, group):
        return {"step": step_zero(), "square_avg": state_full(p),
                "acc_delta": state_full(p)}

    @staticmethod
    def _update(p, g, state, hyper, static: StaticView):
        rho, eps = hyper["rho"], hyper["eps"]
        g = l2_weight_decay(p, signed_grad(g, static), hyper, static)
        square_avg = rho * state["square_avg"] + (1 - rho) * g * g
        std = jnp.sqrt(square_avg + eps)
        delta = jnp.sqrt(state["acc_delta"] + eps) / std * g
        acc_delta = rho * state["acc_delta"] + (1 - rho) * delta * delta
        state.update(step=state["step"] + 1, square_avg=square_avg, acc_delta=acc_delta)
        return p - hyper["lr"] * delta, state
