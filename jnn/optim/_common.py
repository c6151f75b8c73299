"""Pieces shared by the optimizers (package-internal): constructor checks, the step counter,
the bias-correction powers, and the Adam family's core (maximize, weight decay, moments).

Every optimizer's ``_update`` is a pure function of ``(p, g, state, hyper, static)`` (see
``optimizer.py``); the helpers here are the steps several of them take in the same order and
with the same floating-point operations as torch, so that sharing them keeps each optimizer's
numbers bit-identical.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, TypeAlias

import jax
import jax.numpy as jnp
import numpy as np

from ..parameter import Parameter
from .optimizer import StaticView

__all__ = ["ParamsT", "LRType", "check_lr", "check_betas", "check_nonneg", "check_adam_args",
           "state_full", "step_zero", "count", "power", "one_minus_pow", "signed_grad",
           "l2_weight_decay",
           "apply_weight_decay", "adam_moments", "adam_state", "ADAM_ZERO_KEYS",
           "ADAM_DYNAMIC_ITEMS"]


#: What an optimizer takes as ``params``: Parameters, or param-group dicts (torch's ParamsT).
ParamsT: TypeAlias = Iterable[Parameter] | Iterable[dict[str, Any]]
#: A learning rate: a number or a 1-element array (torch: float or Tensor).
LRType: TypeAlias = float | jax.Array


# -- constructor checks (torch's messages) ----------------------------------------------------

def check_lr(lr: Any) -> None:
    if isinstance(lr, (jax.Array, np.ndarray)) and np.size(lr) != 1:
        raise ValueError("Tensor lr must be 1-element")
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")


def check_betas(betas: Any) -> None:
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")


def check_nonneg(value: Any, what: str) -> None:
    if not 0.0 <= value:
        raise ValueError(f"Invalid {what} value: {value}")


def check_adam_args(lr: Any, betas: Any, eps: float, weight_decay: float) -> None:
    """The checks every Adam-family constructor makes, in torch's order."""
    check_lr(lr)
    check_nonneg(eps, "epsilon")
    check_betas(betas)
    check_nonneg(weight_decay, "weight_decay")


# -- initial state ------------------------------------------------------------------------------

def state_full(p: Any, value: Any = 0) -> jax.Array:
    """A state array like the parameter (shape, dtype, placement) filled with ``value``.

    Eagerly it is made on the host and transferred: ``jnp.zeros_like`` would compile one
    broadcast program per parameter shape on the first step (a small Transformer: 27 of them).
    """
    data = p.data if isinstance(p, Parameter) else p
    if isinstance(data, jax.core.Tracer):
        return jnp.full_like(data, value)
    host = np.full(data.shape, value, data.dtype)
    return jax.device_put(host, data.sharding) if data.committed else jnp.asarray(host)


# -- the step counter and bias corrections ----------------------------------------------------

def step_zero() -> jax.Array:
    """torch's initial ``state['step']``: a float32 scalar (whatever the parameter's dtype)."""
    return jnp.zeros((), jnp.float32)


def count(step: jax.Array, p: Any) -> jax.Array:
    """A step count (torch's float32 ``state['step']``) in the parameter's precision: torch
    computes bias corrections from ``step.item()``, a double, so in float64 a float32 count
    would lose digits."""
    return step.astype(jnp.promote_types(jnp.result_type(p), jnp.float32))


def power(base: Any, step: jax.Array) -> jax.Array:
    """``base ** step`` for a step-count array; a Python-float ``base`` keeps its double-precision
    logarithm (``0.999 ** t`` in float32 would lose digits that bias corrections need)."""
    if isinstance(base, (int, float)):
        if base == 0:
            return jnp.zeros_like(step)
        return jnp.exp(step * math.log(base))
    return jnp.power(base, step)


def one_minus_pow(base: Any, step: jax.Array) -> jax.Array:
    """``1 - base ** step`` without cancellation (``-expm1(step * log(base))``)."""
    if isinstance(base, (int, float)):
        if base == 0:
            return jnp.ones_like(step)
        return -jnp.expm1(step * math.log(base))
    return -jnp.expm1(step * jnp.log(base))


# -- the Adam family's core -------------------------------------------------------------------

#: ``_zero_keys`` of the Adam family: only ``weight_decay``'s zero-ness is branched on.
ADAM_ZERO_KEYS = frozenset({"weight_decay"})
#: ``_dynamic_items`` of the Adam family: ``betas[0]`` is a program input (schedulers cycle
#: it), ``betas[1]`` a Python float so ``1 - beta2`` is computed in double precision.
ADAM_DYNAMIC_ITEMS = {"betas": (0,)}


def signed_grad(g: jax.Array, static: StaticView) -> jax.Array:
    """``-g`` with ``maximize``."""
    return -g if static["maximize"] else g


def l2_weight_decay(p: jax.Array, g: jax.Array, hyper: dict,
                    static: StaticView) -> jax.Array:
    """``g + weight_decay * p`` (torch's coupled weight decay), skipped when it is zero."""
    if static.is_zero("weight_decay"):
        return g
    return g + hyper["weight_decay"] * p


def apply_weight_decay(p: jax.Array, g: jax.Array, hyper: dict,
                       static: StaticView) -> tuple[jax.Array, jax.Array]:
    """Weight decay of an optimizer with a ``decoupled_weight_decay`` option: returns
    ``(p * (1 - lr * weight_decay), g)`` when decoupled (AdamW), else ``(p, g + wd * p)``."""
    if static.is_zero("weight_decay"):
        return p, g
    if static["decoupled_weight_decay"]:
        return p * (1 - hyper["lr"] * hyper["weight_decay"]), g
    return p, g + hyper["weight_decay"] * p


def adam_moments(state: dict, g: jax.Array, beta1: Any,
                 beta2: Any) -> tuple[jax.Array, jax.Array]:
    """The running averages ``m = beta1 m + (1 - beta1) g``, ``v = beta2 v + (1 - beta2) g^2``
    with torch's operations (``m.lerp_(g, 1 - beta1)``;
    ``v.mul_(beta2).addcmul_(g, g, 1 - beta2)``)."""
    m = state["exp_avg"] + (1 - beta1) * (g - state["exp_avg"])
    v = beta2 * state["exp_avg_sq"] + (1 - beta2) * g * g
    return m, v


def adam_state(p: Any, second: str = "exp_avg_sq") -> dict:
    """The initial state of an Adam-family optimizer: ``step``, ``exp_avg`` and the second
    moment (``exp_avg_sq``; Adamax's is ``exp_inf``), zeros like the parameter."""
    return {"step": step_zero(), "exp_avg": state_full(p), second: state_full(p)}
