"""``ASGD``: averaged stochastic gradient descent."""
from __future__ import annotations

import jax.numpy as jnp

from ._common import LRType, ParamsT, check_lr, check_nonneg, state_full, step_zero
from .optimizer import Optimizer, StaticView

__all__ = ["ASGD"]


class ASGD(Optimizer):
    """Averaged SGD (``torch.optim.ASGD``), with torch's exact update::

        g = -g if maximize;  g += weight_decay * p
        p = p * (1 - lambd * eta) - eta * g
        ax = p if mu == 1 else ax + mu * (p - ax)
        eta = lr / (1 + lambd * lr * t) ** alpha;   mu = 1 / max(1, t - t0)

    State per parameter: ``step``, ``eta`` (starts at ``lr``), ``mu`` (starts at 1) -- float32
    scalars -- and ``ax``, the running average of the parameter.

    Args:
        params: parameters or param-group dicts.
        lr: learning rate (default 1e-2).
        lambd: decay term (default 1e-4).
        alpha: power for the eta update (default 0.75).
        t0: the step at which averaging starts (default 1e6).
        weight_decay: L2 penalty (default 0).
        maximize: ascend instead of descend.
        foreach, differentiable, capturable: accepted for torch compatibility; no effect.

    Example:
        >>> model = nn.Linear(3, 1)
        >>> def loss_fn(m):
        ...     return ((m(jnp.ones((4, 3))) - 3.0) ** 2).mean()
        >>> opt = optim.ASGD(model.parameters(), lr=0.01, t0=100)
        >>> loss, grads = nn.value_and_grad(loss_fn)(model)
        >>> opt.step(grads)
        >>> bool(loss_fn(model) < loss)
        True
    """

    _zero_keys = frozenset({"weight_decay"})

    def __init__(self, params: ParamsT, lr: LRType = 1e-2, lambd: float = 1e-4, alpha: float = 0.75,
                 t0: float = 1e6, weight_decay: float = 0, foreach: bool | None = None,
                 maximize: bool = False, differentiable: bool = False,
                 capturable: bool = False) -> None:
        check_lr(lr)
        check_nonneg(weight_decay, "weight_decay")
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize, differentiable=differentiable,
                        capturable=capturable)
        super().__init__(params, defaults)

    def _init_state(self, p, group):
        return {"step": step_zero(),
                "eta": jnp.asarray(jnp.asarray(group["lr"]), jnp.float32),
                "mu": jnp.ones((), jnp.float32), "ax": state_full(p)}

    @staticmethod
    def _update(p, g, state, hyper, static: StaticView):
        lr, lambd = hyper["lr"], hyper["lambd"]
        if static["maximize"]:
            g = -g
        step = state["step"] + 1
        if not static.is_zero("weight_decay"):
            g = g + hyper["weight_decay"] * p
        eta, mu = state["eta"], state["mu"]
        p = p * (1 - lambd * eta)
        p = p - eta * g
        ax = jnp.where(mu == 1, p, state["ax"] + (p - state["ax"]) * mu)
        new_eta = lr / jnp.power(1 + lambd * lr * step, hyper["alpha"])
        new_mu = 1 / jnp.maximum(1.0, step - hyper["t0"])
        state.update(step=step, eta=jnp.asarray(new_eta, jnp.float32),
                     mu=jnp.asarray(new_mu, jnp.float32), ax=ax)
        return p, state
