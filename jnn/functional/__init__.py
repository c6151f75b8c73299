"""Pure kernels: ``torch.nn.functional`` on JAX (``import jnn.functional as F``).

Every function is a pure function of arrays and static configuration, jit- and
grad-compatible, in torch layouts (NCL/NCHW/NCDHW, weights ``(out, in/groups, *k)``).
"""

from __future__ import annotations

from . import _eager
from . import activation as _activation
from . import attention as _attention
from . import conv as _conv
from . import distance as _distance
from . import dropout as _dropout
from . import fold as _fold
from . import linear as _linear
from . import loss as _loss
from . import normalization as _normalization
from . import padding as _padding
from . import pixelshuffle as _pixelshuffle
from . import pooling as _pooling
from . import rnn as _rnn
from . import sparse as _sparse
from . import upsampling as _upsampling
from . import vision as _vision
from .activation import *  # noqa: F401,F403
from .attention import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .distance import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .fold import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .padding import *  # noqa: F401,F403
from .pixelshuffle import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .rnn import *  # noqa: F401,F403
from .sparse import *  # noqa: F401,F403
from .upsampling import *  # noqa: F401,F403
from .vision import *  # noqa: F401,F403

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

__all__ = [name for family in (_activation, _linear, _conv, _pooling, _padding, _upsampling,
                               _vision, _pixelshuffle, _fold, _normalization, _dropout, _sparse,
                               _loss, _distance, _rnn, _attention)
           for name in family.__all__]
