"""``Rprop``: resilient backpropagation."""
from __future__ import annotations

import jax.numpy as jnp

from ._common import LRType, ParamsT, check_lr, state_full, step_zero
from .optimizer import Optimizer, StaticView

__all__ = ["Rprop"]


class Rprop(Optimizer):
    """Rprop (``torch.optim.Rprop``), with torch's exact update::

        g = -g if maximize
        s = sign(g * prev)  ->  etaplus where > 0, etaminus where < 0, 1 where 0
        step_size = clamp(step_size * s, *step_sizes)
        g = 0 where s == etaminus;   p -= sign(g) * step_size;   prev = g

    State per parameter: ``step``, ``prev``, ``step_size`` (starts at ``lr``).

    Args:
        params: parameters or param-group dicts.
        lr: initial step size (default 1e-2).
        etas: (etaminus, etaplus) multiplicative factors (default (0.5, 1.2)).
        step_sizes: (min, max) allowed step sizes (default (1e-6, 50)).
        maximize: ascend instead of descend.
        capturable, foreach, differentiable: accepted for torch compatibility; no effect.

    ``etas`` and ``step_sizes`` are compile-time constants under ``nn.jit`` (changing them
    recompiles).

    Example:
        >>> model = nn.Linear(3, 1)
        >>> def loss_fn(m):
        ...     return ((m(jnp.ones((4, 3))) - 3.0) ** 2).mean()
        >>> opt = optim.Rprop(model.parameters())
        >>> loss, grads = nn.value_and_grad(loss_fn)(model)
        >>> opt.step(grads)
        >>> bool(loss_fn(model) < loss)
        True
    """

    _zero_keys = frozenset()

    def __init__(self, params: ParamsT, lr: LRType = 1e-2, etas: tuple[float, float] = (0.5, 1.2),
                 step_sizes: tuple[float, float] = (1e-6, 50), *, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        check_lr(lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        defaults = dict(lr=lr, etas=tuple(etas), step_sizes=tuple(step_sizes), foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def _init_state(self, p, group):
        return {"step": step_zero(), "prev": state_full(p),
                "step_size": state_full(p, float(jnp.asarray(group["lr"])))}

    @staticmethod
    def _update(p, g, state, hyper, static: StaticView):
        etaminus, etaplus = static["etas"]
        step_size_min, step_size_max = static["step_sizes"]
        if static["maximize"]:
            g = -g
        product = g * state["prev"]
        negative = product < 0
        factor = jnp.where(product > 0, etaplus, jnp.where(negative, etaminus, 1.0))
        step_size = jnp.clip(state["step_size"] * factor.astype(p.dtype), step_size_min,
                             step_size_max)
        g = jnp.where(negative, jnp.zeros_like(g), g)
        state.update(step=state["step"] + 1, prev=g, step_size=step_size)
        return p - jnp.sign(g) * step_size, state
