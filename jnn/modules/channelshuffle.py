"""``ChannelShuffle`` (ShuffleNet's channel interleaving)."""
from __future__ import annotations

from .. import functional as F
from ..types import Array
from .module import Module

__all__ = ["ChannelShuffle"]


class ChannelShuffle(Module):
    """Divides the channels into ``groups`` and interleaves them (``torch.nn.ChannelShuffle``).

    Args:
        groups: number of groups; must divide the channel count.

    Shape:
        ``(N, C, *) -> (N, C, *)`` (at least 3 dimensions).

    Example:
        >>> nn.ChannelShuffle(2)(jnp.arange(4.0).reshape(1, 4, 1)).ravel()
        Array([0., 2., 1., 3.], dtype=float32)
    """

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, input: Array) -> Array:
        return F.channel_shuffle(input, self.groups)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"
