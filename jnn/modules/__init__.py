"""Layers: ``torch.nn``'s module classes, one family per file."""

from __future__ import annotations

from . import module as _module
from .module import *  # noqa: F401,F403
from . import container as _container
from .container import *  # noqa: F401,F403
from . import lazy as _lazy
from .lazy import *  # noqa: F401,F403
from . import linear as _linear
from .linear import *  # noqa: F401,F403
from . import flatten as _flatten
from .flatten import *  # noqa: F401,F403
from . import activation as _activation
from .activation import *  # noqa: F401,F403
from . import conv as _conv
from .conv import *  # noqa: F401,F403
from . import pooling as _pooling
from .pooling import *  # noqa: F401,F403
from . import padding as _padding
from .padding import *  # noqa: F401,F403
from . import upsampling as _upsampling
from .upsampling import *  # noqa: F401,F403
from . import pixelshuffle as _pixelshuffle
from .pixelshuffle import *  # noqa: F401,F403
from . import channelshuffle as _channelshuffle
from .channelshuffle import *  # noqa: F401,F403
from . import fold as _fold
from .fold import *  # noqa: F401,F403
from . import batchnorm as _batchnorm
from .batchnorm import *  # noqa: F401,F403
from . import syncbatchnorm as _syncbatchnorm
from .syncbatchnorm import *  # noqa: F401,F403
from . import instancenorm as _instancenorm
from .instancenorm import *  # noqa: F401,F403
from . import normalization as _normalization
from .normalization import *  # noqa: F401,F403
from . import dropout as _dropout
from .dropout import *  # noqa: F401,F403
from . import sparse as _sparse
from .sparse import *  # noqa: F401,F403
from . import loss as _loss
from .loss import *  # noqa: F401,F403
from . import distance as _distance
from .distance import *  # noqa: F401,F403
from . import rnn as _rnn
from .rnn import *  # noqa: F401,F403
from . import attention as _attention
from .attention import *  # noqa: F401,F403
from . import transformer as _transformer
from .transformer import *  # noqa: F401,F403
from . import adaptive as _adaptive
from .adaptive import *  # noqa: F401,F403

__all__ = [name for family in (_module, _container, _lazy, _linear, _flatten, _activation, _conv, _pooling, _padding, _upsampling, _pixelshuffle, _channelshuffle, _fold, _batchnorm, _syncbatchnorm, _instancenorm, _normalization, _dropout, _sparse, _loss, _distance, _rnn, _attention, _transformer, _adaptive)
           for name in family.__all__]
