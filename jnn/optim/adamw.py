"""``AdamW``: Adam with decoupled weight decay."""
from __future__ import annotations

from ._common import LRType, ParamsT
from .adam import Adam

__all__ = ["AdamW"]


class AdamW(Adam):
    """AdamW (``torch.optim.AdamW``): :class:`Adam` with ``decoupled_weight_decay=True``, i.e.
    ``p *= 1 - lr * weight_decay`` before the Adam step, and ``weight_decay`` defaulting to 1e-2.

    Args:
        params: parameters or param-group dicts.
        lr: learning rate (default 1e-3).
        betas: running-average coefficients (default (0.9, 0.999)).
        eps: denominator term (default 1e-8).
        weight_decay: decoupled weight decay coefficient (default 1e-2).
        amsgrad: use the AMSGrad variant (state 'max_exp_avg_sq').
        maximize: ascend instead of descend.
        foreach, capturable, differentiable, fused: accepted for torch compatibility; no effect.

    Example:
        >>> model = nn.Linear(3, 1)
        >>> def loss_fn(m):
        ...     return ((m(jnp.ones((4, 3))) - 3.0) ** 2).mean()
        >>> opt = optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.05)
        >>> loss, grads = nn.value_and_grad(loss_fn)(model)
        >>> opt.step(grads)
        >>> bool(loss_fn(model) < loss)
        True
    """

    def __init__(self, params: ParamsT, lr: LRType = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable,
                         differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
