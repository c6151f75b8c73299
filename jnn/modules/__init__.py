"""Layers: ``torch.nn``'s module classes, one family per file."""

from __future__ import annotations

from . import activation as _activation
from . import adaptive as _adaptive
from . import attention as _attention
from . import batchnorm as _batchnorm
from . import channelshuffle as _channelshuffle
from . import container as _container
from . import conv as _conv
from . import distance as _distance
from . import dropout as _dropout
from . import flatten as _flatten
from . import fold as _fold
from . import instancenorm as _instancenorm
from . import lazy as _lazy
from . import linear as _linear
from . import loss as _loss
from . import module as _module
from . import normalization as _normalization
from . import padding as _padding
from . import pixelshuffle as _pixelshuffle
from . import pooling as _pooling
from . import rnn as _rnn
from . import sparse as _sparse
from . import syncbatchnorm as _syncbatchnorm
from . import transformer as _transformer
from . import upsampling as _upsampling
from .activation import *  # noqa: F401,F403
from .adaptive import *  # noqa: F401,F403
from .attention import *  # noqa: F401,F403
from .batchnorm import *  # noqa: F401,F403
from .channelshuffle import *  # noqa: F401,F403
from .container import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .distance import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .flatten import *  # noqa: F401,F403
from .fold import *  # noqa: F401,F403
from .instancenorm import *  # noqa: F401,F403
from .lazy import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .module import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .padding import *  # noqa: F401,F403
from .pixelshuffle import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .rnn import *  # noqa: F401,F403
from .sparse import *  # noqa: F401,F403
from .syncbatchnorm import *  # noqa: F401,F403
from .transformer import *  # noqa: F401,F403
from .upsampling import *  # noqa: F401,F403

__all__ = [name for family in (_module, _container, _lazy, _linear, _flatten, _activation, _conv,
                               _pooling, _padding, _upsampling, _pixelshuffle, _channelshuffle,
                               _fold, _batchnorm, _syncbatchnorm, _instancenorm, _normalization,
                               _dropout, _sparse, _loss, _distance, _rnn, _attention,
                               _transformer, _adaptive)
           for name in family.__all__]
