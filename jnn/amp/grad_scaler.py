"""``nn.GradScaler``: dynamic loss scaling for float16 training (``torch.amp.GradScaler``).

The scale and the growth tracker are arrays held by the scaler, and the scaler takes part in
jnn's state protocol (``docs/design.md``, "State and nn.jit"): under ``nn.jit``/``nn.pmap`` they
are slots of the step's program, so a step that skips (inf/NaN gradients) or grows the scale
runs the same compiled program. A skipped step is a selection (``jnp.where``) between the
updated and the previous parameters and optimizer state when the check is traced; eagerly it
is torch's Python branch (the optimizer is not called at all).
"""
from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp

from .._state import context, note_change
from ..parameter import Parameter

__all__ = ["GradScaler"]

_READY, _UNSCALED, _STEPPED = "ready", "unscaled", "stepped"
_LOW = (jnp.dtype(jnp.float16), jnp.dtype(jnp.bfloat16))


def _is_tracer(x) -> bool:
    return isinstance(x, jax.core.Tracer)


def _unscale(g, inv_scale):
    """``g * inv_scale`` in ``g``'s dtype, computed in at least float32 (torch's opmath)."""
    compute = jnp.promote_types(g.dtype, jnp.float32)
    return (g.astype(compute) * inv_scale.astype(compute)).astype(g.dtype)


def _non_finite(values) -> jax.Array:
    flags = [jnp.logical_not(jnp.all(jnp.isfinite(v))) for v in values]
    return jnp.any(jnp.stack(flags)) if flags else jnp.asarray(False)


class GradScaler:
    """Scale the loss so float16 gradients do not underflow, unscale them before the
    optimizer steps, skip steps whose gradients hold inf/NaN, and adapt the scale
    (``torch.amp.GradScaler``).

    Args:
        device: accepted for torch compatibility (``"cuda"``, ``"cpu"`` ...); the scaler's
            arrays live where JAX puts them.
        init_scale: the initial scale.
        growth_factor: the scale is multiplied by it after ``growth_interval`` consecutive
            steps without inf/NaN gradients.
        backoff_factor: the scale is multiplied by it when a step had inf/NaN gradients.
        growth_interval: the number of clean steps before the scale grows.
        enabled: ``False`` makes every method a pass-through (``scale`` returns the loss,
            ``step`` just calls ``optimizer.step``).

    Returns:
        The scaler. Typical jnn step (eager or inside ``nn.jit``/``nn.pmap``, with the scaler
        passed to the step as an argument)::

            loss, grads = nn.value_and_grad(lambda m: scaler.scale(loss_fn(m)))(model)
            scaler.step(opt, grads)       # unscales, skips on inf/NaN
            scaler.update()

        torch's style works too: ``grads.accumulate(); scaler.unscale_(opt)`` (e.g. before
        clipping ``.grad``), ``scaler.step(opt); scaler.update()``.

    Example:
        >>> scaler = nn.GradScaler(init_scale=2.0 ** 16)
        >>> scaler.get_scale()
        65536.0

    Differences from PyTorch:
        * Gradients may be passed explicitly: ``step(optimizer, grads)`` unscales the
          :class:`jnn.Grads` (a new pytree; nothing is modified in place) and
          ``unscale_(optimizer, grads)`` returns the unscaled ``Grads``.
        * Under ``nn.jit`` a skipped step leaves the optimizer's state entries created (with
          their initial values) where torch, never calling ``step``, would have none yet.
        * ``get_scale()`` returns the scale array (not a float) when called inside a trace.
        * Closures in ``step`` are not supported (as torch with the scaler enabled).
    """

    def __init__(self, device: str = "cuda", init_scale: float = 2.0 ** 16,
                 growth_factor: float = 2.0, backoff_factor: float = 0.5,
                 growth_interval: int = 2000, enabled: bool = True):
        if not isinstance(device, str):
            raise TypeError(f"GradScaler: device must be a str, got {type(device).__name__}")
        if not isinstance(enabled, bool):
            raise TypeError(f"GradScaler: enabled must be a bool, got {type(enabled).__name__}")
        if not float(growth_factor) > 1.0:
            raise ValueError(f"GradScaler: growth_factor should be > 1, got {growth_factor}")
        if not float(backoff_factor) < 1.0:
            raise ValueError(f"GradScaler: backoff_factor should be < 1, got {backoff_factor}")
        if not isinstance(growth_interval, int) or isinstance(growth_interval, bool) or \
                growth_interval <= 0:
            raise ValueError(f"GradScaler: growth_interval should be a positive int, got "
                             f"{growth_interval!r}")
        self._device = device
        self._enabled = enabled
        self._init_scale = float(init_scale)
        self._growth_factor = float(growth_factor)
        self._backoff_factor = float(backoff_factor)
        self._growth_interval = growth_interval
        self._scale = jnp.asarray(self._init_scale, jnp.float32)
        self._growth_tracker = jnp.asarray(0, jnp.int32)
        self._per_optimizer_states: dict = {}

    # -- the state protocol (jnn._state): the scale and the tracker are slots -----------------
    _jnn_stateful = True

    def _jnn_collect_state(self, collector) -> None:
        self._check_no_leftover()
        collector.add(self.__dict__, "_scale", "attr")
        collector.add(self.__dict__, "_growth_tracker", "attr")
        collector.signature.append(("GradScaler", self._enabled, self._growth_factor,
                                    self._backoff_factor, self._growth_interval))

    def _check_no_leftover(self) -> None:
        if any(_is_tracer(s.get("found_inf")) for s in self._per_optimizer_states.values()) \
                and context.jit_depth() == 0:
            self._per_optimizer_states = {}
            raise RuntimeError("GradScaler: a compiled step called scaler.step() without "
                               "scaler.update(); call update() inside the same step")

    def _check_reachable(self) -> None:
        # Captured by a closure instead of passed to nn.jit, the scale would be a constant of
        # the program and never change.
        if context.jit_depth() > 0 and not _is_tracer(self._scale):
            raise RuntimeError("GradScaler: used inside an nn.jit/nn.pmap step but not passed "
                               "to it; pass the scaler as an argument of the step so its scale "
                               "is state of the compiled program")

    # -- public API ---------------------------------------------------------------------------
    def is_enabled(self) -> bool:
        return self._enabled

    def scale(self, outputs):
        """``outputs * scale`` (an array, or a list/tuple/dict of arrays).

        Args:
            outputs: the loss (or losses).

        Returns:
            The scaled outputs (unchanged when the scaler is disabled).
        """
        if not self._enabled:
            return outputs
        self._check_no_leftover()
        self._check_reachable()

        def one(x):
            if isinstance(x, Parameter):
                x = x.data
            if not isinstance(x, jax.Array):
                raise TypeError(f"GradScaler.scale: expected an array, got {type(x).__name__}")
            s = self._scale
            # torch: a 0-dim loss promotes with the float32 scale; a larger output keeps its
            # dtype.
            return x * s if x.ndim == 0 else x * s.astype(x.dtype)
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(one(x) for x in outputs)
        if isinstance(outputs, Mapping):
            return {k: one(v) for k, v in outputs.items()}
        return one(outputs)

    def _state_for(self, optimizer) -> dict:
        return self._per_optimizer_states.setdefault(id(optimizer),
                                                     {"stage": _READY, "found_inf": None})

    def _params(self, optimizer) -> list:
        return [p for group in optimizer.param_groups for p in group["params"]]

    def _unscale_grads(self, optimizer, grads):
        x64 = jax.config.jax_enable_x64  # type: ignore[attr-defined]  # (no stub)
        inv_scale = (1.0 / self._scale.astype(jnp.float64 if x64
                                              else jnp.float32)).astype(jnp.float32)
        if grads is None:  # torch style: each parameter's .grad, unscaled in place
            found = []
            for p in self._params(optimizer):
                g = p.grad
                if g is None:
                    continue
                if jnp.dtype(g.dtype) == jnp.float16:
                    raise ValueError("Attempting to unscale FP16 gradients.")
                found.append(g)
                p.grad = _unscale(g, inv_scale)
            return None, _non_finite(found)
        wanted = {id(p) for p in self._params(optimizer)}
        if isinstance(grads, Mapping) and hasattr(grads, "parameters"):
            values = [g for p, g in zip(grads.parameters(), grads.values()) if id(p) in wanted]
        else:
            values = jax.tree_util.tree_leaves(grads)
        for g in values:
            if jnp.dtype(g.dtype) == jnp.float16:
                raise ValueError("Attempting to unscale FP16 gradients.")
        return jax.tree.map(lambda g: _unscale(g, inv_scale), grads), _non_finite(values)

    def unscale_(self, optimizer, grads=None):
        """Divide the optimizer's gradients by the scale (``torch.amp.GradScaler.unscale_``),
        e.g. before clipping them, and record whether any is inf/NaN.

        Args:
            optimizer: the optimizer whose parameters' gradients to unscale.
            grads: ``None`` (torch style: each parameter's ``.grad`` is unscaled in place) or
                the :class:`jnn.Grads` from ``nn.value_and_grad``.

        Returns:
            ``None`` for ``.grad``; the unscaled ``Grads`` when ``grads`` was given (pass those
            to :meth:`step`).

        Raises:
            RuntimeError: ``unscale_`` or ``step`` was already called for this optimizer since
                the last :meth:`update`.
        """
        if not self._enabled:
            return grads
        state = self._state_for(optimizer)
        if state["stage"] == _UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since the "
                               "last update().")
        if state["stage"] == _STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        unscaled, state["found_inf"] = self._unscale_grads(optimizer, grads)
        state["stage"] = _UNSCALED
        return unscaled

    def step(self, optimizer, *args, **kwargs):
        """Unscale the gradients (unless :meth:`unscale_` did) and call ``optimizer.step``
        unless they hold inf/NaN (``torch.amp.GradScaler.step``).

        Args:
            optimizer: the optimizer.
            *args, **kwargs: passed to ``optimizer.step``; the first positional argument (or
                ``grads=``) may be the :class:`jnn.Grads` to step with.

        Returns:
            What ``optimizer.step`` returned, or ``None`` for a skipped (eager) step.
        """
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs or (args and callable(args[0]) and not isinstance(args[0],
                                                                                 Mapping)):
            raise RuntimeError("Closure use is not currently supported if GradScaler is "
                               "enabled.")
        self._check_reachable()
        state = self._state_for(optimizer)
        if state["stage"] == _STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        arg_list = list(args)
        grads = arg_list[0] if arg_list else kwargs.get("grads")
        if state["stage"] == _READY:
            unscaled = self.unscale_(optimizer, grads)
            if grads is not None:
                if arg_list:
                    arg_list[0] = unscaled
                else:
                    kwargs["grads"] = unscaled
        found_inf = state["found_inf"]
        state["stage"] = _STEPPED
        if not _is_tracer(found_inf):  # eager: torch's branch
            if bool(found_inf):
                return None
            return optimizer.step(*arg_list, **kwargs)
        # Traced: run the update and keep the previous values where the gradients overflowed.
        params = self._params(optimizer)
        before = [p.data for p in params]
        saved = {id(p): dict(optimizer.state.get(p) or {}) for p in params}
        out = optimizer.step(*arg_list, **kwargs)
        for p, old in zip(params, before):
            p.data = jnp.where(found_inf, old, p.data)
        for p in params:
            current = optimizer.state.get(p)
            if not current:
                continue
            for k, old in saved[id(p)].items():
                new = current.get(k)
                if isinstance(new, jax.Array) and new is not old:
                    current[k] = jnp.where(found_inf, old, new)
        return out

    def update(self, new_scale=None) -> None:
        """Adapt the scale (``torch.amp.GradScaler.update``): multiply it by
        ``backoff_factor`` if any optimizer stepped with inf/NaN gradients, by
        ``growth_factor`` after ``growth_interval`` clean steps in a row.

        Args:
            new_scale: set the scale to this value (a float or a one-element array) instead.

        Raises:
            RuntimeError: no :meth:`unscale_`/:meth:`step` was recorded since the last update.
        """
        if not self._enabled:
            return
        self._check_no_leftover()
        if new_scale is not None:
            value = jnp.asarray(new_scale, jnp.float32).reshape(())
            self._scale = value
        else:
            found = [s["found_inf"] for s in self._per_optimizer_states.values()
                     if s["found_inf"] is not None]
            if not found:
                raise RuntimeError("No inf checks were recorded prior to update.")
            found_inf = jnp.any(jnp.stack(found))
            self._scale, self._growth_tracker = _update_scale(
                self._scale, self._growth_tracker, found_inf, self._growth_factor,
                self._backoff_factor, self._growth_interval)
        self._per_optimizer_states = {}

    def get_scale(self):
        """The current scale as a float (1.0 when disabled)."""
        if not self._enabled:
            return 1.0
        return self._scale if _is_tracer(self._scale) else float(self._scale)

    def get_growth_factor(self) -> float:
        return self._growth_factor

    def set_growth_factor(self, new_factor: float) -> None:
        self._growth_factor = float(new_factor)
        note_change()  # a static fact of compiled steps

    def get_backoff_factor(self) -> float:
        return self._backoff_factor

    def set_backoff_factor(self, new_factor: float) -> None:
        self._backoff_factor = float(new_factor)
        note_change()

    def get_growth_interval(self) -> int:
        return self._growth_interval

    def set_growth_interval(self, new_interval: int) -> None:
        self._growth_interval = int(new_interval)
        note_change()

    def state_dict(self) -> dict:
        """torch's keys: ``scale``, ``growth_factor``, ``backoff_factor``, ``growth_interval``,
        ``_growth_tracker`` (empty when disabled)."""
        if not self._enabled:
            return {}
        return {"scale": self.get_scale(), "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor,
                "growth_interval": self._growth_interval,
                "_growth_tracker": int(self._growth_tracker)}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore from :meth:`state_dict` (also one saved by torch's GradScaler)."""
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved "
                               "from a disabled instance of GradScaler.")
        self._init_scale = float(state_dict["scale"])
        self._scale = jnp.asarray(float(state_dict["scale"]), jnp.float32)
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._growth_tracker = jnp.asarray(int(state_dict["_growth_tracker"]), jnp.int32)
        note_change()

    def __repr__(self) -> str:
        return (f"GradScaler(scale={self.get_scale() if self._enabled else 1.0}, "
                f"growth_factor={self._growth_factor}, backoff_factor={self._backoff_factor}, "
                f"growth_interval={self._growth_interval}, enabled={self._enabled})")


@jax.jit
def _update_scale_jit(scale, tracker, found_inf, growth_factor, backoff_factor,
                      growth_interval):
    return _update_scale_body(scale, tracker, found_inf, growth_factor, backoff_factor,
                              growth_interval)


def _update_scale_body(scale, tracker, found_inf, growth_factor, backoff_factor,
                       growth_interval):
    # torch's _amp_update_scale_: back off on inf/NaN; grow after growth_interval clean steps
    # unless the grown scale would overflow.
    successful = tracker + 1
    grow = successful >= growth_interval
    grown = scale * growth_factor
    grown = jnp.where(jnp.isfinite(grown), grown, scale)
    new_scale = jnp.where(found_inf, scale * backoff_factor, jnp.where(grow, grown, scale))
    new_tracker = jnp.where(found_inf | grow, 0, successful).astype(tracker.dtype)
    return new_scale.astype(scale.dtype), new_tracker


def _update_scale(scale, tracker, found_inf, growth_factor, backoff_factor, growth_interval):
    args = (scale, tracker, found_inf, jnp.float32(growth_factor), jnp.float32(backoff_factor),
            jnp.int32(growth_interval))
    if any(map(_is_tracer, (scale, tracker, found_inf))):
        return _update_scale_body(*args)
    return _update_scale_jit(*args)
