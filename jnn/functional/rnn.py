"""Recurrent kernels: one-step cells and the multi-layer sequence loop behind ``nn.RNN``/
``nn.LSTM``/``nn.GRU``.

The cells (``rnn_tanh_cell``, ``rnn_relu_cell``, ``lstm_cell``, ``gru_cell``) are jnn extras:
torch has them as ``torch.rnn_tanh_cell`` / ``torch.lstm_cell`` / ``torch.gru_cell``, not in
``torch.nn.functional``. Gate order is torch's: LSTM ``(i, f, g, o)``, GRU ``(r, z, n)`` with
``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``.

The sequence loop (:func:`rnn_layers`, used by the layers) follows design.md section 6: the
input projection of a whole layer (both directions) is one large matmul over the sequence,
hoisted out of the time loop; only the recurrent matmul runs inside one ``jax.lax.scan``, and
both directions of a bidirectional layer advance in the same scan. Variable lengths (packed
sequences) are handled by masking inside the scan: a finished sequence's state stops updating
and its outputs are zero, and the reverse direction meets its first valid element at the
sequence's own last step with the state still at its initial value.
"""
from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from ..random import next_key
from ._utils import as_array

__all__ = ["rnn_tanh_cell", "rnn_relu_cell", "lstm_cell", "gru_cell"]

_CHUNKS = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _linear(x, w, b=None):
    """``x @ w.T + b`` with leading dimensions flattened (the fast 2-D dot on CPU)."""
    lead = x.shape[:-1]
    out = jax.lax.dot_general(x.reshape(-1, x.shape[-1]), w, (((1,), (1,)), ((), ())))
    out = out.reshape(*lead, w.shape[0])
    return out if b is None else out + b


def _check_cell(fn: str, chunks: int, input, hx, w_ih, w_hh, b_ih, b_hh):
    x, w_ih, w_hh = as_array(input), as_array(w_ih), as_array(w_hh)
    if x.ndim not in (1, 2):
        raise ValueError(f"{fn}: expected input with 1 or 2 dimensions (input_size,) or "
                         f"(N, input_size), got shape {tuple(x.shape)}")
    if w_ih.ndim != 2 or w_hh.ndim != 2 or w_hh.shape[0] % chunks or \
            w_hh.shape[0] != chunks * w_hh.shape[1] or w_ih.shape[0] != w_hh.shape[0]:
        raise ValueError(f"{fn}: expected w_ih of shape ({chunks} * hidden_size, input_size) and "
                         f"w_hh of shape ({chunks} * hidden_size, hidden_size), got "
                         f"{tuple(w_ih.shape)} and {tuple(w_hh.shape)}")
    hidden = w_hh.shape[1]
    if x.shape[-1] != w_ih.shape[1]:
        raise ValueError(f"{fn}: expected input with last dimension {w_ih.shape[1]} "
                         f"(input_size), got shape {tuple(x.shape)}")
    for name, b in (("b_ih", b_ih), ("b_hh", b_hh)):
        if b is not None and tuple(jnp.shape(b)) != (chunks * hidden,):
            raise ValueError(f"{fn}: expected {name} of shape ({chunks * hidden},), got shape "
                             f"{tuple(jnp.shape(b))}")
    hs = hx if isinstance(hx, (tuple, list)) else (hx,)
    batch = x.shape[:-1]
    for i, h in enumerate(hs):
        if tuple(jnp.shape(h)) != batch + (hidden,):
            what = f"hx[{i}]" if len(hs) > 1 else "hx"
            raise ValueError(f"{fn}: expected {what} of shape {batch + (hidden,)}, got shape "
                             f"{tuple(jnp.shape(h))}")
    return x, w_ih, w_hh


def _opt(b):
    return None if b is None else as_array(b)


def rnn_tanh_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None) -> jax.Array:
    """One Elman RNN step, ``h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)``.

    Args:
        input: ``(N, input_size)`` or ``(input_size,)``.
        hx: ``(N, hidden_size)`` or ``(hidden_size,)``.
        w_ih: ``(hidden_size, input_size)``; w_hh: ``(hidden_size, hidden_size)``.
        b_ih, b_hh: ``(hidden_size,)`` or ``None``.

    Shape:
        ``(N, input_size), (N, hidden) -> (N, hidden)``.

    Returns:
        The next hidden state.

    Example:
        >>> F.rnn_tanh_cell(jnp.ones((2, 3)), jnp.zeros((2, 4)), jnp.ones((4, 3)),
        ...                 jnp.ones((4, 4))).shape
        (2, 4)
    """
    x, w_ih, w_hh = _check_cell("rnn_tanh_cell", 1, input, hx, w_ih, w_hh, b_ih, b_hh)
    h = as_array(hx)
    return jnp.tanh(_linear(x, w_ih, _opt(b_ih)) + _linear(h, w_hh, _opt(b_hh)))


def rnn_relu_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None) -> jax.Array:
    """One Elman RNN step with ReLU, ``h' = relu(x W_ih^T + b_ih + h W_hh^T + b_hh)``.

    Args:
        input: ``(N, input_size)`` or ``(input_size,)``.
        hx: ``(N, hidden_size)`` or ``(hidden_size,)``.
        w_ih: ``(hidden_size, input_size)``; w_hh: ``(hidden_size, hidden_size)``.
        b_ih, b_hh: ``(hidden_size,)`` or ``None``.

    Shape:
        ``(N, input_size), (N, hidden) -> (N, hidden)``.

    Returns:
        The next hidden state.

    Example:
        >>> F.rnn_relu_cell(jnp.ones(3), jnp.zeros(4), jnp.ones((4, 3)), jnp.ones((4, 4))).shape
        (4,)
    """
    x, w_ih, w_hh = _check_cell("rnn_relu_cell", 1, input, hx, w_ih, w_hh, b_ih, b_hh)
    h = as_array(hx)
    return jax.nn.relu(_linear(x, w_ih, _opt(b_ih)) + _linear(h, w_hh, _opt(b_hh)))


def _lstm_gates(gates, c):
    i, f, g, o = jnp.split(gates, 4, axis=-1)
    c_new = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
    return jax.nn.sigmoid(o) * jnp.tanh(c_new), c_new


def _gru_gates(gi, gh, h):
    i_r, i_z, i_n = jnp.split(gi, 3, axis=-1)
    h_r, h_z, h_n = jnp.split(gh, 3, axis=-1)
    r = jax.nn.sigmoid(i_r + h_r)
    z = jax.nn.sigmoid(i_z + h_z)
    n = jnp.tanh(i_n + r * h_n)
    return n + z * (h - n)  # (1 - z) * n + z * h


def lstm_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One LSTM step (torch gate order ``i, f, g, o``).

    ``c' = sigmoid(f) * c + sigmoid(i) * tanh(g)``, ``h' = sigmoid(o) * tanh(c')`` with the
    gates ``x W_ih^T + b_ih + h W_hh^T + b_hh`` split in four.

    Args:
        input: ``(N, input_size)`` or ``(input_size,)``.
        hx: the pair ``(h, c)``, each ``(N, hidden_size)`` or ``(hidden_size,)``.
        w_ih: ``(4 * hidden_size, input_size)``; w_hh: ``(4 * hidden_size, hidden_size)``.
        b_ih, b_hh: ``(4 * hidden_size,)`` or ``None``.

    Shape:
        ``(N, input_size), ((N, hidden), (N, hidden)) -> ((N, hidden), (N, hidden))``.

    Returns:
        ``(h', c')``.

    Example:
        >>> h, c = F.lstm_cell(jnp.ones((2, 3)), (jnp.zeros((2, 4)), jnp.zeros((2, 4))),
        ...                    jnp.ones((16, 3)), jnp.ones((16, 4)))
    """
    if not isinstance(hx, (tuple, list)) or len(hx) != 2:
        raise TypeError("lstm_cell: expected hx to be a pair (h, c)")
    x, w_ih, w_hh = _check_cell("lstm_cell", 4, input, hx, w_ih, w_hh, b_ih, b_hh)
    h, c = as_array(hx[0]), as_array(hx[1])
    gates = _linear(x, w_ih, _opt(b_ih)) + _linear(h, w_hh, _opt(b_hh))
    return _lstm_gates(gates, c)


def gru_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None) -> jax.Array:
    """One GRU step (torch gate order ``r, z, n``).

    ``r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)``, ``z`` likewise,
    ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``, ``h' = (1 - z) * n + z * h``.

    Args:
        input: ``(N, input_size)`` or ``(input_size,)``.
        hx: ``(N, hidden_size)`` or ``(hidden_size,)``.
        w_ih: ``(3 * hidden_size, input_size)``; w_hh: ``(3 * hidden_size, hidden_size)``.
        b_ih, b_hh: ``(3 * hidden_size,)`` or ``None``.

    Shape:
        ``(N, input_size), (N, hidden) -> (N, hidden)``.

    Returns:
        The next hidden state.

    Example:
        >>> F.gru_cell(jnp.ones((2, 3)), jnp.zeros((2, 4)), jnp.ones((12, 3)),
        ...            jnp.ones((12, 4))).shape
        (2, 4)
    """
    x, w_ih, w_hh = _check_cell("gru_cell", 3, input, hx, w_ih, w_hh, b_ih, b_hh)
    h = as_array(hx)
    return _gru_gates(_linear(x, w_ih, _opt(b_ih)), _linear(h, w_hh, _opt(b_hh)), h)


# -- the multi-layer sequence loop ------------------------------------------------------------

def _recurrent(h, w):
    """``h @ w.T`` per direction: ``h (D, B, K)``, ``w (D, G, K)`` -> ``(D, B, G)``."""
    if h.shape[0] == 1:
        return jax.lax.dot_general(h[0], w[0], (((1,), (1,)), ((), ())))[None]
    return jax.lax.dot_general(h, w, (((2,), (2,)), ((0,), (0,))))


def _flip_reverse(a, num_directions):
    """Reverse time (axis 0) of direction 1 of a ``(T, D, ...)`` array."""
    if num_directions == 1:
        return a
    return jnp.stack([a[:, 0], jnp.flip(a[:, 1], 0)], 1)


def _layer_scan(mode, xw, h0, c0, w_hh, b_hh, w_hr, mask):
    """Run one layer (all directions at once) over time.

    ``xw (T, D, B, G)``: input projections, direction 1 already time-reversed, biases folded in
    (except GRU's ``b_hh``). ``h0 (D, B, Hout)``, ``c0 (D, B, H)`` (LSTM). ``mask (T, D, B, 1)``
    bool or ``None``. Returns ``ys (T, D, B, Hout)``, ``h_T``, ``c_T``.
    """
    is_lstm = mode == "LSTM"

    def step(carry, inputs):
        h, c = carry
        gx, m = inputs if mask is not None else (inputs, None)
        gh = _recurrent(h, w_hh)
        if mode == "GRU":
            if b_hh is not None:
                gh = gh + b_hh
            h_new, c_new = _gru_gates(gx, gh, h), c
        elif is_lstm:
            h_new, c_new = _lstm_gates(gx + gh, c)
            if w_hr is not None:
                h_new = _recurrent(h_new, w_hr)
        elif mode == "RNN_TANH":
            h_new, c_new = jnp.tanh(gx + gh), c
        else:
            h_new, c_new = jax.nn.relu(gx + gh), c
        if m is None:
            return (h_new, c_new), h_new
        h_new = jnp.where(m, h_new, h)
        if is_lstm:
            c_new = jnp.where(m, c_new, c)
        return (h_new, c_new), jnp.where(m, h_new, jnp.zeros((), h_new.dtype))

    xs = xw if mask is None else (xw, mask)
    (h_t, c_t), ys = jax.lax.scan(step, (h0, c0), xs)
    return ys, h_t, c_t


def rnn_layers(mode: str, input, hx, weights: Sequence[Sequence], *, num_layers: int = 1,
               bidirectional: bool = False, dropout: float = 0.0, training: bool = False,
               batch_first: bool = False, lengths=None, key=None):
    """The multi-layer (bi)directional recurrent loop behind ``nn.RNN``/``nn.LSTM``/``nn.GRU``.

    Args:
        mode: ``'RNN_TANH'``, ``'RNN_RELU'``, ``'LSTM'`` or ``'GRU'``.
        input: ``(T, B, input_size)`` (``(B, T, input_size)`` with ``batch_first``).
        hx: initial hidden state ``(L * D, B, Hout)``; for LSTM the pair ``(h0, c0)`` with
            ``c0 (L * D, B, hidden_size)``.
        weights: per layer and direction (``l * D + d``) the tuple
            ``(w_ih, w_hh, b_ih, b_hh, w_hr)`` with ``None`` for absent entries.
        num_layers, bidirectional: the stack's shape (``D = 2`` if bidirectional).
        dropout, training: dropout on the outputs of every layer but the last, when training.
        batch_first: layout of ``input`` and the output.
        lengths: ``B`` sequence lengths (host data), or ``None`` for full sequences.
        key: PRNG key for the dropout (default: the global stream).

    Shape:
        ``(T, B, I) -> output (T, B, D * Hout), h_n (L * D, B, Hout)[, c_n (L * D, B, H)]``.

    Returns:
        ``(output, h_n)`` or, for LSTM, ``(output, (h_n, c_n))``.

    Example:
        >>> w = [(jnp.ones((16, 3)), jnp.ones((16, 4)), None, None, None)]
        >>> from jnn.functional.rnn import rnn_layers
        >>> out, (h, c) = rnn_layers("LSTM", jnp.ones((5, 2, 3)),
        ...                          (jnp.zeros((1, 2, 4)), jnp.zeros((1, 2, 4))), w)
    """
    if mode not in _CHUNKS:
        raise ValueError(f"rnn_layers: unknown mode {mode!r}; expected one of {list(_CHUNKS)}")
    x = as_array(input)
    if batch_first:
        x = jnp.swapaxes(x, 0, 1)
    num_dir = 2 if bidirectional else 1
    if len(weights) != num_layers * num_dir:
        raise ValueError(f"rnn_layers: expected {num_layers * num_dir} weight tuples "
                         f"(num_layers * num_directions), got {len(weights)}")
    is_lstm = mode == "LSTM"
    h0_all, c0_all = (hx if is_lstm else (hx, None))
    h0_all = as_array(h0_all)
    c0_all = as_array(c0_all) if is_lstm else None
    t_len, batch = x.shape[0], x.shape[1]

    mask = None
    if lengths is not None:
        lengths = np.asarray(lengths, np.int64)
        steps = np.arange(t_len)[:, None]
        fwd = steps < lengths[None, :]
        rev = (t_len - 1 - steps) < lengths[None, :]
        mask = np.stack([fwd, rev][:num_dir], 1)[..., None]  # (T, D, B, 1)
        mask = jnp.asarray(mask)

    drop = dropout > 0 and training and num_layers > 1
    if drop:
        key = next_key(key)

    h_out, c_out = [], []
    for layer in range(num_layers):
        ws = [tuple(as_array(w) if w is not None else None for w in weights[layer * num_dir + d])
              for d in range(num_dir)]
        w_ih = jnp.concatenate([w[0] for w in ws], 0) if num_dir > 1 else ws[0][0]
        gate = ws[0][1].shape[0]
        if ws[0][2] is not None:
            if mode == "GRU":
                b_in = [w[2] for w in ws]
            else:
                b_in = [w[2] + w[3] for w in ws]
            b_in = jnp.concatenate(b_in, 0) if num_dir > 1 else b_in[0]
        else:
            b_in = None
        xw = _linear(x, w_ih, b_in).reshape(t_len, batch, num_dir, gate)
        xw = _flip_reverse(jnp.swapaxes(xw, 1, 2), num_dir)  # (T, D, B, G)
        w_hh = jnp.stack([w[1] for w in ws], 0)
        b_hh = None
        if mode == "GRU" and ws[0][3] is not None:
            b_hh = jnp.stack([w[3] for w in ws], 0)[:, None, :]
        w_hr = jnp.stack([w[4] for w in ws], 0) if ws[0][4] is not None else None
        sl = slice(layer * num_dir, (layer + 1) * num_dir)
        h0 = h0_all[sl]
        c0 = c0_all[sl] if is_lstm else jnp.zeros((), x.dtype)
        ys, h_t, c_t = _layer_scan(mode, xw, h0, c0, w_hh, b_hh, w_hr, mask)
        ys = _flip_reverse(ys, num_dir)  # (T, D, B, Hout)
        x = jnp.swapaxes(ys, 1, 2).reshape(t_len, batch, num_dir * ys.shape[-1])
        h_out.append(h_t)
        if is_lstm:
            c_out.append(c_t)
        if drop and layer < num_layers - 1:
            key, sub = jax.random.split(key)
            if dropout >= 1:
                x = jnp.zeros_like(x)
            else:
                keep = jax.random.bernoulli(sub, 1.0 - dropout, x.shape)
                x = jnp.where(keep, x / (1.0 - dropout), jnp.zeros((), x.dtype))
    out = jnp.swapaxes(x, 0, 1) if batch_first else x
    h_n = jnp.concatenate(h_out, 0)
    if is_lstm:
        return out, (h_n, jnp.concatenate(c_out, 0))
    return out, h_n
