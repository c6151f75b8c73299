"""Pure kernels: ``torch.nn.functional`` on JAX (``import jnn.functional as F``).

Every function is a pure function of arrays and static configuration, jit- and
grad-compatible, in torch layouts (NCL/NCHW/NCDHW, weights ``(out, in/groups, *k)``).
"""

from __future__ import annotations

from . import _eager
from . import activation as _activation
from .activation import *  # noqa: F401,F403
from . import linear as _linear
from .linear import *  # noqa: F401,F403
from . import conv as _conv
from .conv import *  # noqa: F401,F403
from . import pooling as _pooling
from .pooling import *  # noqa: F401,F403
from . import padding as _padding
from .padding import *  # noqa: F401,F403
from . import upsampling as _upsampling
from .upsampling import *  # noqa: F401,F403
from . import vision as _vision
from .vision import *  # noqa: F401,F403
from . import pixelshuffle as _pixelshuffle
from .pixelshuffle import *  # noqa: F401,F403
from . import fold as _fold
from .fold import *  # noqa: F401,F403
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

# Eager calls of the convolutions run as one compiled program per signature (see _eager.py).
# Wrapped here because conv.py is being reworked separately (layouts, issue 13); the wrap
# belongs on the kernels themselves once that lands.
conv1d, conv2d, conv3d = (
    _eager.eager_jit(f, static_argnames=("stride", "padding", "dilation", "groups"))
    for f in (_conv.conv1d, _conv.conv2d, _conv.conv3d))
conv_transpose1d, conv_transpose2d, conv_transpose3d = (
    _eager.eager_jit(f, static_argnames=("stride", "padding", "output_padding", "groups",
                                         "dilation"))
    for f in (_conv.conv_transpose1d, _conv.conv_transpose2d, _conv.conv_transpose3d))

__all__ = [name for family in (_activation, _linear, _conv, _pooling, _padding, _upsampling, _vision, _pixelshuffle, _fold, _normalization, _dropout, _sparse, _loss, _distance, _rnn, _attention)
           for name in family.__all__]
