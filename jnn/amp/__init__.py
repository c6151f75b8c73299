"""Mixed precision (``torch.amp``): :class:`autocast` and :class:`GradScaler`.

    with nn.autocast("cpu", dtype=jnp.bfloat16):
        loss = criterion(model(x), y)
"""
from .autocast_mode import (
                            AUTOCAST_OPS,
                            autocast,
                            autocast_op,
                            autocast_signature,
                            autocast_state,
                            cast_for,
                            get_autocast_dtype,
                            is_autocast_enabled,
)
from .grad_scaler import GradScaler

__all__ = ["autocast", "GradScaler", "autocast_op", "autocast_state", "autocast_signature",
           "cast_for", "is_autocast_enabled", "get_autocast_dtype", "AUTOCAST_OPS"]
