"""``Adagrad``: per-coordinate learning rates from the sum of squared gradients."""
from __future__ import annotations

import jax.numpy as jnp

from ._common import LRType, ParamsT, check_lr, check_nonneg, count, state_full, step_zero
from .optimizer import Optimizer, StaticView

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad (``torch.optim.Adagrad``), with torch's exact update::

        g = -g if maximize;  g += weight_decay * p
        clr = lr / (1 + (t - 1) * lr_decay)
        sum += g * g;  p -= clr * g / (sqrt(sum) + eps)

    As in torch, the state (``step``, ``sum`` = ``initial_accumulator_value``) is created by
    the constructor, so ``state_dict()`` has it before the first step.

    Args:
        params: parameters or param-group dicts.
        lr: learning rate (default 1e-2).
        lr_decay: learning-rate decay (default 0).
        weight_decay: L2 penalty (default 0).
        initial_accumulator_value: starting value of ``sum`` (default 0).
        eps: denominator term (default 1e-10).
        maximize: ascend instead of descend.
        foreach, differentiable, fused: accepted for torch compatibility; no effect.

    Differences from PyTorch: sparse gradients do not exist in jnn.

    Example:
        >>> model = nn.Linear(3, 1)
        >>> def loss_fn(m):
        ...     return ((m(jnp.ones((4, 3))) - 3.0) ** 2).mean()
        >>> opt = optim.Adagrad(model.parameters(), lr=0.1)
        >>> loss, grads = nn.value_and_grad(loss_fn)(model)
        >>> opt.step(grads)
        >>> bool(loss_fn(model) < loss)
        True
    """

    _zero_keys = frozenset({"weight_decay"})

    def __init__(self, params: ParamsT, lr: LRType = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0, eps: float = 1e-10,
                 foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        check_lr(lr)
        check_nonneg(lr_decay, "lr_decay")
        check_nonneg(weight_decay, "weight_decay")
        check_nonneg(initial_accumulator_value, "initial_accumulator_value")
        check_nonneg(eps, "epsilon")
        if fused and differentiable:
            raise RuntimeError("`fused` does not support `differentiable`")
        if fused and foreach:
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        self._ensure_state()

    def _init_state(self, p, group):
        return {"step": step_zero(),
                "sum": state_full(p, group["initial_accumulator_value"])}

    @staticmethod
    def _update(p, g, state, hyper, static: StaticView):
        if static["maximize"]:
            g = -g
        step = state["step"] + 1
        if not static.is_zero("weight_decay"):
            g = g + hyper["weight_decay"] * p
        clr = hyper["lr"] / (1 + (count(step, p) - 1) * hyper["lr_decay"])
        total = state["sum"] + g * g
        state.update(step=step, sum=total)
        return p - clr * (g / (jnp.sqrt(total) + hyper["eps"])), state
