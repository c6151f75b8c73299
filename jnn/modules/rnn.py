"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` (on a shared ``RNNBase``) and the one-step
cells ``RNNCell``, ``LSTMCell``, ``GRUCell`` (on ``RNNCellBase``).

Parameter names, shapes and registration order are torch's (``weight_ih_l{k}``,
``weight_hh_l{k}``, ``bias_ih_l{k}``, ``bias_hh_l{k}``, ``weight_hr_l{k}`` and the
``_reverse`` variants), so a torch ``state_dict`` loads unchanged. The time loop is one
``jax.lax.scan`` per layer with the input projection hoisted out of it and a custom JVP; an
eager call runs as one compiled program per signature (see ``jnn.functional.rnn``).
"""
from __future__ import annotations

import math
import numbers
import warnings

import jax.numpy as jnp

from .. import functional as F
from .. import init
from ..functional._utils import as_array
from ..functional.packed import lengths_from_batch_sizes, packed_to_padded, padded_to_packed
from ..functional.rnn import rnn_layers
from ..parameter import Parameter
from ..types import Array, DeviceLike, DTypeLike
from ..utils.rnn import PackedSequence
from . import _factory
from ._factory import factory_dtype, place
from .module import Module

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]


class _ShapeError(ValueError, RuntimeError):
    """Bad input shape: a ``ValueError`` that is also the ``RuntimeError`` torch raises."""


def _shape(x) -> tuple:
    return tuple(jnp.shape(x))


def _permute(h, perm):
    return h if perm is None else h[:, perm]


class RNNBase(Module):
    """Base class of ``RNN``/``LSTM``/``GRU``: parameters, validation, the shared forward.

    Args:
        mode: ``'RNN_TANH'``, ``'RNN_RELU'``, ``'LSTM'`` or ``'GRU'``.
        input_size: features of the input ``x``.
        hidden_size: features of the hidden state ``h``.
        num_layers: stacked recurrent layers (default 1).
        bias: learn ``bias_ih``/``bias_hh`` (default ``True``).
        batch_first: input and output are ``(B, T, F)`` instead of ``(T, B, F)``; the states
            keep the layout ``(L * D, B, H)``.
        dropout: dropout on the outputs of every layer but the last, in training mode only
            (drawn from the global random stream via ``next_key``).
        bidirectional: run a reverse-direction layer too (``D = 2``).
        proj_size: LSTM only: project ``h`` to this size with ``weight_hr_l{k}``.
        device, dtype: where and in which floating dtype to create the parameters.

    Attributes:
        weight_ih_l{k}: ``(gate_size, input_size)`` for ``k = 0``, else
            ``(gate_size, D * Hout)``; ``gate_size`` is ``4H`` (LSTM), ``3H`` (GRU), ``H`` (RNN).
        weight_hh_l{k}: ``(gate_size, Hout)``; bias_ih_l{k}, bias_hh_l{k}: ``(gate_size,)``;
        weight_hr_l{k}: ``(proj_size, hidden_size)``; and the ``_reverse`` variants.
        All initialised ``U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))``.

    Differences from PyTorch:
        ``flatten_parameters()`` is a no-op (there is no cuDNN weight buffer). Bad shapes raise
        an error that is both a ``ValueError`` and the ``RuntimeError`` torch raises.
    """

    _NAME = "RNNBase"

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device: DeviceLike | None = None,
                 dtype: DTypeLike | None = None) -> None:
        super().__init__()
        if not isinstance(dropout, numbers.Number) or isinstance(dropout, bool) or \
                not 0 <= dropout <= 1:
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             f"probability of an element being zeroed, got {dropout!r}")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                          "non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", stacklevel=3)
        if not isinstance(bias, bool):
            raise TypeError(f"bias should be of type bool, got: {type(bias).__name__}")
        if not isinstance(batch_first, bool):
            raise TypeError(f"batch_first should be of type bool, got: "
                            f"{type(batch_first).__name__}")
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size),
                            ("num_layers", num_layers), ("proj_size", proj_size)):
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"{name} should be of type int, got: {type(value).__name__}")
        if input_size <= 0:
            raise ValueError(f"input_size must be greater than zero, got {input_size}")
        if hidden_size <= 0:
            raise ValueError(f"hidden_size must be greater than zero, got {hidden_size}")
        if num_layers <= 0:
            raise ValueError(f"num_layers must be greater than zero, got {num_layers}")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable "
                             f"projections, got {proj_size}")
        if proj_size >= hidden_size:
            raise ValueError(f"proj_size has to be smaller than hidden_size, got "
                             f"proj_size={proj_size} and hidden_size={hidden_size}")
        gates = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}
        if mode not in gates:
            raise ValueError("Unrecognized RNN mode: " + str(mode))
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        dtype = factory_dtype(dtype)
        num_directions = 2 if bidirectional else 1
        gate_size = gates[mode] * hidden_size
        real_hidden = proj_size if proj_size > 0 else hidden_size
        flat_names, all_weights = [], []
        for layer in range(num_layers):
            for direction in range(num_directions):
                layer_input = input_size if layer == 0 else real_hidden * num_directions
                suffix = "_reverse" if direction == 1 else ""
                params: list[tuple[str, tuple[int, ...]]] = [
                          ("weight_ih_l{}{}", (gate_size, layer_input)),
                          ("weight_hh_l{}{}", (gate_size, real_hidden))]
                if bias:
                    params += [("bias_ih_l{}{}", (gate_size,)), ("bias_hh_l{}{}", (gate_size,))]
                if proj_size > 0:
                    params += [("weight_hr_l{}{}", (proj_size, hidden_size))]
                names = []
                for fmt, shape in params:
                    name = fmt.format(layer, suffix)
                    setattr(self, name, Parameter(_factory.empty(shape, dtype)))
                    names.append(name)
                flat_names.extend(names)
                all_weights.append(names)
        self._flat_weights_names = flat_names
        self._all_weights = all_weights
        self.reset_parameters()
        place(self, device)

    # -- torch's parameter bookkeeping -------------------------------------------------------
    @property
    def _flat_weights(self) -> list:
        return [getattr(self, n, None) for n in self._flat_weights_names]

    @property
    def all_weights(self) -> list:
        """The parameters per layer and direction: ``[[w_ih, w_hh, b_ih, b_hh, (w_hr)], ...]``."""
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    def flatten_parameters(self) -> None:
        """No-op (torch compacts cuDNN weights here; jnn has no such buffer)."""

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def extra_repr(self) -> str:
        s = "{input_size}, {hidden_size}"
        if self.proj_size != 0:
            s += ", proj_size={proj_size}"
        if self.num_layers != 1:
            s += ", num_layers={num_layers}"
        if self.bias is not True:
            s += ", bias={bias}"
        if self.batch_first is not False:
            s += ", batch_first={batch_first}"
        if self.dropout != 0:
            s += ", dropout={dropout}"
        if self.bidirectional is not False:
            s += ", bidirectional={bidirectional}"
        return s.format(**self.__dict__)

    # -- validation (torch's messages) -------------------------------------------------------
    def check_input(self, input, batch_sizes) -> None:
        w_dtype = jnp.result_type(self._flat_weights[0])
        if jnp.result_type(input) != w_dtype:
            raise ValueError(f"RNN input dtype ({jnp.result_type(input)}) does not match weight "
                             f"dtype ({w_dtype}). Convert input: input.astype({w_dtype}), or "
                             f"convert model: model.to({jnp.result_type(input)})")
        expected_dim = 2 if batch_sizes is not None else 3
        if jnp.ndim(input) != expected_dim:
            raise _ShapeError(f"{self._NAME}: input must have {expected_dim} dimensions, got "
                              f"{jnp.ndim(input)} (shape {_shape(input)})")
        if self.input_size != _shape(input)[-1]:
            raise _ShapeError(f"{self._NAME}: input.size(-1) must be equal to input_size. "
                              f"Expected {self.input_size}, got {_shape(input)[-1]}")

    def get_expected_hidden_size(self, input, batch_sizes) -> tuple:
        if batch_sizes is not None:
            mini_batch = int(batch_sizes[0])
        else:
            mini_batch = _shape(input)[0] if self.batch_first else _shape(input)[1]
        num_directions = 2 if self.bidirectional else 1
        size = self.proj_size if self.proj_size > 0 else self.hidden_size
        return (self.num_layers * num_directions, mini_batch, size)

    def get_expected_cell_size(self, input, batch_sizes) -> tuple:
        expected = self.get_expected_hidden_size(input, batch_sizes)
        return expected[:2] + (self.hidden_size,)

    def check_hidden_size(self, hx, expected_hidden_size,
                          msg: str = "Expected hidden size {}, got {}") -> None:
        if _shape(hx) != tuple(expected_hidden_size):
            raise _ShapeError(f"{self._NAME}: " + msg.format(tuple(expected_hidden_size),
                                                             list(_shape(hx))))

    def check_forward_args(self, input, hidden, batch_sizes) -> None:
        self.check_input(input, batch_sizes)
        if hidden is None:  # zeros of the right size (made inside the kernel)
            return
        if self.mode == "LSTM":
            self.check_hidden_size(hidden[0], self.get_expected_hidden_size(input, batch_sizes),
                                   "Expected hidden[0] size {}, got {}")
            self.check_hidden_size(hidden[1], self.get_expected_cell_size(input, batch_sizes),
                                   "Expected hidden[1] size {}, got {}")
        else:
            self.check_hidden_size(hidden, self.get_expected_hidden_size(input, batch_sizes))

    def permute_hidden(self, hx, permutation):
        if permutation is None or hx is None:
            return hx
        if self.mode == "LSTM":
            return _permute(hx[0], permutation), _permute(hx[1], permutation)
        return _permute(hx, permutation)

    # -- forward -----------------------------------------------------------------------------
    def _weights(self) -> list:
        out = []
        for names in self._all_weights:
            d = {n.split("_l")[0]: getattr(self, n) for n in names}
            out.append((d["weight_ih"], d["weight_hh"], d.get("bias_ih"), d.get("bias_hh"),
                        d.get("weight_hr")))
        return out

    def _as_pair(self, hx):
        if not isinstance(hx, (tuple, list)) or len(hx) != 2:
            raise TypeError(f"{self._NAME}: expected hx to be a tuple (h_0, c_0), got "
                            f"{type(hx).__name__}")
        return tuple(hx)

    def _forward(self, input, hx=None):
        is_lstm = self.mode == "LSTM"
        if is_lstm and hx is not None:
            hx = self._as_pair(hx)
        if isinstance(input, PackedSequence):
            data, batch_sizes, sorted_indices, unsorted_indices = input
            data = as_array(data)
            hx = self.permute_hidden(hx, sorted_indices)
            self.check_forward_args(data, hx, batch_sizes)
            padded = packed_to_padded(data, batch_sizes)
            lengths = lengths_from_batch_sizes(batch_sizes)
            out, hidden = rnn_layers(self.mode, padded, hx, self._weights(),
                                     num_layers=self.num_layers, bidirectional=self.bidirectional,
                                     dropout=self.dropout, training=self.training,
                                     lengths=lengths)
            packed = PackedSequence(padded_to_packed(out, batch_sizes), batch_sizes,
                                    sorted_indices, unsorted_indices)
            return packed, self.permute_hidden(hidden, unsorted_indices)

        input = as_array(input)
        if input.ndim not in (2, 3):
            raise ValueError(f"{self._NAME}: Expected input to be 2D or 3D, got {input.ndim}D "
                             f"instead (shape {_shape(input)})")
        is_batched = input.ndim == 3
        batch_dim = 0 if self.batch_first else 1
        want = 3 if is_batched else 2
        if hx is not None:
            dims = [jnp.ndim(h) for h in (hx if is_lstm else (hx,))]
            if any(d != want for d in dims):
                kind = "batched 3-D" if is_batched else "unbatched 2-D"
                if is_lstm:
                    raise _ShapeError(f"{self._NAME}: For {kind} input, hx and cx should also "
                                      f"be {want}-D but got ({dims[0]}-D, {dims[1]}-D) tensors")
                raise _ShapeError(f"{self._NAME}: For {kind} input, hx should also be {want}-D "
                                  f"but got {dims[0]}-D tensor")
        if not is_batched:
            input = jnp.expand_dims(input, batch_dim)
            if hx is not None:
                hx = tuple(jnp.expand_dims(as_array(h), 1) for h in hx) if is_lstm else \
                    jnp.expand_dims(as_array(hx), 1)
        self.check_forward_args(input, hx, None)
        out, hidden = rnn_layers(self.mode, input, hx, self._weights(),
                                 num_layers=self.num_layers, bidirectional=self.bidirectional,
                                 dropout=self.dropout, training=self.training,
                                 batch_first=self.batch_first)
        if not is_batched:
            out = jnp.squeeze(out, batch_dim)
            hidden = (hidden[0][:, 0], hidden[1][:, 0]) if is_lstm else hidden[:, 0]
        return out, hidden


def _reject_kwargs(layer: str, kwargs: dict) -> None:
    if "proj_size" in kwargs:
        raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
    if kwargs:
        raise TypeError(f"{layer}.__init__() got unexpected keyword arguments "
                        f"{sorted(kwargs)}")


class RNN(RNNBase):
    """Multi-layer Elman RNN, ``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)``
    (``torch.nn.RNN``).

    Args:
        input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
        device, dtype: as in :class:`RNNBase`.
        nonlinearity: ``'tanh'`` (default) or ``'relu'``.

    Shape:
        input ``(T, B, input_size)`` (``(B, T, input_size)`` with ``batch_first``), unbatched
        ``(T, input_size)``, or a :class:`~jnn.utils.rnn.PackedSequence`; h_0
        ``(L * D, B, hidden_size)`` (default zeros). Output ``(T, B, D * hidden_size)`` and
        h_n ``(L * D, B, hidden_size)``.

    Returns:
        ``(output, h_n)``; ``output`` is a ``PackedSequence`` when the input is one.

    Example:
        >>> rnn = nn.RNN(10, 20, 2)
        >>> output, hn = rnn(nn.randn(5, 3, 10), nn.randn(2, 3, 20))
        >>> output.shape, hn.shape
        ((5, 3, 20), (2, 3, 20))
    """

    _NAME = "RNN"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False,
                 device: DeviceLike | None = None, dtype: DTypeLike | None = None,
                 **kwargs) -> None:
        _reject_kwargs("RNN", kwargs)
        if nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or "
                             "'relu'.")
        super().__init__(mode, input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Array | PackedSequence,
                hx: Array | None = None) -> tuple[Array | PackedSequence, Array]:
        return self._forward(input, hx)


class LSTM(RNNBase):
    """Multi-layer long short-term memory RNN (``torch.nn.LSTM``).

    Per layer and step (gate order ``i, f, g, o``): ``c_t = f * c_{t-1} + i * g``,
    ``h_t = o * tanh(c_t)``; with ``proj_size > 0``, ``h_t = W_hr (o * tanh(c_t))``.

    Args:
        input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
        proj_size, device, dtype: as in :class:`RNNBase`.

    Shape:
        input ``(T, B, input_size)`` (``(B, T, input_size)`` with ``batch_first``), unbatched
        ``(T, input_size)``, or a ``PackedSequence``; ``hx = (h_0, c_0)`` with h_0
        ``(L * D, B, Hout)`` and c_0 ``(L * D, B, hidden_size)`` (default zeros), where
        ``Hout = proj_size or hidden_size``. Output ``(T, B, D * Hout)``.

    Returns:
        ``(output, (h_n, c_n))``.

    Example:
        >>> lstm = nn.LSTM(4, 3, 1)
        >>> out, (hn, cn) = lstm(nn.randn(2, 3, 4), (nn.randn(1, 3, 3), nn.randn(1, 3, 3)))
        >>> out.shape
        (2, 3, 3)
    """

    _NAME = "LSTM"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, device: DeviceLike | None = None,
                 dtype: DTypeLike | None = None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device=device, dtype=dtype)

    def forward(self, input: Array | PackedSequence, hx: tuple[Array, Array] | None = None
                ) -> tuple[Array | PackedSequence, tuple[Array, Array]]:
        return self._forward(input, hx)


class GRU(RNNBase):
    """Multi-layer gated recurrent unit RNN (``torch.nn.GRU``).

    Per layer and step (gate order ``r, z, n``): ``n_t = tanh(W_in x + b_in +
    r * (W_hn h + b_hn))``, ``h_t = (1 - z) * n_t + z * h_{t-1}``.

    Args:
        input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
        device, dtype: as in :class:`RNNBase`.

    Shape:
        As :class:`RNN`.

    Returns:
        ``(output, h_n)``.

    Example:
        >>> gru = nn.GRU(10, 20, num_layers=2, batch_first=True, bidirectional=True)
        >>> out, hn = gru(nn.randn(3, 5, 10))
        >>> out.shape, hn.shape
        ((3, 5, 40), (4, 3, 20))
    """

    _NAME = "GRU"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device: DeviceLike | None = None, dtype: DTypeLike | None = None,
                 **kwargs) -> None:
        _reject_kwargs("GRU", kwargs)
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, device=device, dtype=dtype)

    def forward(self, input: Array | PackedSequence,
                hx: Array | None = None) -> tuple[Array | PackedSequence, Array]:
        return self._forward(input, hx)


# -- cells ------------------------------------------------------------------------------------

class RNNCellBase(Module):
    """Base class of the one-step cells: ``weight_ih (chunks * H, I)``, ``weight_hh
    (chunks * H, H)``, ``bias_ih``/``bias_hh (chunks * H,)``, init ``U(-1/sqrt(H), 1/sqrt(H))``.
    """

    _NAME = "RNNCellBase"

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device: DeviceLike | None = None, dtype: DTypeLike | None = None) -> None:
        super().__init__()
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{self._NAME}: expected {name} to be a non-negative int, got "
                                 f"{value!r}")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        dtype = factory_dtype(dtype)
        self.weight_ih = Parameter(_factory.empty((num_chunks * hidden_size, input_size), dtype))
        self.weight_hh = Parameter(_factory.empty((num_chunks * hidden_size, hidden_size), dtype))
        if bias:
            self.bias_ih = Parameter(_factory.empty((num_chunks * hidden_size,), dtype))
            self.bias_hh = Parameter(_factory.empty((num_chunks * hidden_size,), dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()
        place(self, device)

    def extra_repr(self) -> str:
        s = "{input_size}, {hidden_size}"
        if "bias" in self.__dict__ and self.bias is not True:
            s += ", bias={bias}"
        if "nonlinearity" in self.__dict__ and self.nonlinearity != "tanh":
            s += ", nonlinearity={nonlinearity}"
        return s.format(**self.__dict__)

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def _prepare(self, input, hx, n_states: int):
        """Validate, add the batch dimension to unbatched input, default the state to zeros."""
        input = jnp.asarray(input)
        if input.ndim not in (1, 2):
            raise ValueError(f"{self._NAME}: Expected input to be 1D or 2D, got {input.ndim}D "
                             f"instead (shape {_shape(input)})")
        if hx is not None:
            states = tuple(hx) if n_states > 1 else (hx,)
            if n_states > 1 and len(states) != n_states:
                raise TypeError(f"{self._NAME}: expected hx to be a tuple (h_0, c_0)")
            for i, h in enumerate(states):
                if jnp.ndim(h) not in (1, 2):
                    what = f"hx[{i}]" if n_states > 1 else "hidden"
                    raise ValueError(f"{self._NAME}: Expected {what} to be 1D or 2D, got "
                                     f"{jnp.ndim(h)}D instead")
        is_batched = input.ndim == 2
        if not is_batched:
            input = input[None]
        if hx is None:
            zeros = jnp.zeros((input.shape[0], self.hidden_size), input.dtype)
            states = (zeros,) * n_states
        else:
            states = tuple(jnp.asarray(h) if is_batched else jnp.asarray(h)[None]
                           for h in states)
        return input, states, is_batched


class RNNCell(RNNCellBase):
    """One Elman RNN step (``torch.nn.RNNCell``): ``h' = tanh(x W_ih^T + b_ih + h W_hh^T +
    b_hh)`` (or ReLU).

    Args:
        input_size, hidden_size: feature sizes.
        bias: learn ``bias_ih``/``bias_hh`` (default ``True``).
        nonlinearity: ``'tanh'`` (default) or ``'relu'``.
        device, dtype: factory arguments.

    Shape:
        ``(N, input_size)`` or ``(input_size,)``; hx ``(N, hidden_size)`` (default zeros)
        -> ``(N, hidden_size)``.

    Returns:
        The next hidden state.

    Example:
        >>> cell = nn.RNNCell(10, 20)
        >>> cell(nn.randn(3, 10)).shape
        (3, 20)
    """

    _NAME = "RNNCell"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device: DeviceLike | None = None,
                 dtype: DTypeLike | None = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: Unknown nonlinearity: {nonlinearity!r}; expected 'tanh' "
                             f"or 'relu'")
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device,
                         dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Array, hx: Array | None = None) -> Array:
        x, (h,), is_batched = self._prepare(input, hx, 1)
        cell = F.rnn_tanh_cell if self.nonlinearity == "tanh" else F.rnn_relu_cell
        out = cell(x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return out if is_batched else out[0]


class LSTMCell(RNNCellBase):
    """One LSTM step (``torch.nn.LSTMCell``), gate order ``i, f, g, o``.

    Args:
        input_size, hidden_size: feature sizes.
        bias: learn ``bias_ih``/``bias_hh`` (default ``True``).
        device, dtype: factory arguments.

    Shape:
        ``(N, input_size)`` or ``(input_size,)``; ``hx = (h, c)`` each ``(N, hidden_size)``
        (default zeros) -> ``(h', c')``.

    Returns:
        ``(h', c')``.

    Example:
        >>> cell = nn.LSTMCell(4, 3)
        >>> h, c = cell(nn.randn(3, 4), (nn.randn(3, 3), nn.randn(3, 3)))
        >>> h.shape
        (3, 3)
    """

    _NAME = "LSTMCell"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device: DeviceLike | None = None, dtype: DTypeLike | None = None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device,
                         dtype=dtype)

    def forward(self, input: Array,
                hx: tuple[Array, Array] | None = None) -> tuple[Array, Array]:
        x, (h, c), is_batched = self._prepare(input, hx, 2)
        h, c = F.lstm_cell(x, (h, c), self.weight_ih, self.weight_hh, self.bias_ih,
                           self.bias_hh)
        return (h, c) if is_batched else (h[0], c[0])


class GRUCell(RNNCellBase):
    """One GRU step (``torch.nn.GRUCell``), gate order ``r, z, n``.

    Args:
        input_size, hidden_size: feature sizes.
        bias: learn ``bias_ih``/``bias_hh`` (default ``True``).
        device, dtype: factory arguments.

    Shape:
        ``(N, input_size)`` or ``(input_size,)``; hx ``(N, hidden_size)`` (default zeros)
        -> ``(N, hidden_size)``.

    Returns:
        The next hidden state.

    Example:
        >>> cell = nn.GRUCell(10, 20)
        >>> cell(nn.randn(3, 10), nn.randn(3, 20)).shape
        (3, 20)
    """

    _NAME = "GRUCell"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device: DeviceLike | None = None, dtype: DTypeLike | None = None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device,
                         dtype=dtype)

    def forward(self, input: Array, hx: Array | None = None) -> Array:
        x, (h,), is_batched = self._prepare(input, hx, 1)
        out = F.gru_cell(x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return out if is_batched else out[0]
