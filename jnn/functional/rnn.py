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

Speed (measured by ``benchmarks/rnn_eager.py``; figures in the README):

* the scan has a custom JVP (:func:`_layer_scan`), so the backward loop carries only the
  state cotangents and the recurrent-weight gradient is one matmul after the loop (a layer's
  gradient: 0.73x the cost of JAX's own derivative of the scan);
* gate sigmoids run over the whole contiguous gate block (:func:`_lstm_activations`): XLA:CPU
  runs sigmoids of strided slices 3x slower;
* called eagerly, the whole stack is one compiled program per signature
  (``jnn/functional/_eager.py``), instead of a new ``lax.scan`` traced and compiled per call.
"""
from __future__ import annotations

import functools
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from ..amp.autocast_mode import autocast_op
from ..random import next_key
from ..types import Array, ArrayLike
from ._eager import eager_jit
from ._utils import as_array
from .linear import affine, weight_tangent

__all__ = ["rnn_tanh_cell", "rnn_relu_cell", "lstm_cell", "gru_cell"]

_CHUNKS = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _check_cell(fn: str, chunks: int, input, hx, w_ih, w_hh, b_ih,
                b_hh) -> tuple[jax.Array, jax.Array, jax.Array]:
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


@autocast_op("rnn_tanh_cell")
def rnn_tanh_cell(input: ArrayLike, hx: ArrayLike, w_ih: ArrayLike, w_hh: ArrayLike,
                  b_ih: ArrayLike | None = None, b_hh: ArrayLike | None = None) -> jax.Array:
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
    return jnp.tanh(affine(x, w_ih, _opt(b_ih)) + affine(h, w_hh, _opt(b_hh)))


@autocast_op("rnn_relu_cell")
def rnn_relu_cell(input: ArrayLike, hx: ArrayLike, w_ih: ArrayLike, w_hh: ArrayLike,
                  b_ih: ArrayLike | None = None, b_hh: ArrayLike | None = None) -> jax.Array:
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
    return jax.nn.relu(affine(x, w_ih, _opt(b_ih)) + affine(h, w_hh, _opt(b_hh)))


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


@autocast_op("lstm_cell")
def lstm_cell(input: ArrayLike, hx: tuple[ArrayLike, ArrayLike], w_ih: ArrayLike,
              w_hh: ArrayLike, b_ih: ArrayLike | None = None,
              b_hh: ArrayLike | None = None) -> tuple[Array, Array]:
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
    gates = affine(x, w_ih, _opt(b_ih)) + affine(h, w_hh, _opt(b_hh))
    return _lstm_gates(gates, c)


@autocast_op("gru_cell")
def gru_cell(input: ArrayLike, hx: ArrayLike, w_ih: ArrayLike, w_hh: ArrayLike,
             b_ih: ArrayLike | None = None, b_hh: ArrayLike | None = None) -> jax.Array:
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
    return _gru_gates(affine(x, w_ih, _opt(b_ih)), affine(h, w_hh, _opt(b_hh)), h)


# -- the multi-layer sequence loop ------------------------------------------------------------
# Layout inside the loop: time first, then direction, batch, features: ``(T, D, B, F)``.
# Direction 1 (reverse) is stored time-reversed, so both directions step forward together.

def _recurrent(h, w):
    """``h @ w.T`` per direction: ``h (D, B, K)``, ``w (D, G, K)`` -> ``(D, B, G)``."""
    if h.shape[0] == 1:
        return jax.lax.dot_general(h[0], w[0], (((1,), (1,)), ((), ())))[None]
    return jax.lax.dot_general(h, w, (((2,), (2,)), ((0,), (0,))))


def _over_time(hs, w):
    """``hs @ w.T`` per direction for all steps at once: ``(T, D, B, K)`` -> ``(T, D, B, G)``,
    for a weight tangent ``w``.

    One large matmul outside the loop (its transpose is the weight gradient, also one matmul,
    in :func:`weight_tangent`'s fast form).
    """
    t_len, num_dir, batch, k = hs.shape
    if num_dir == 1:
        out = weight_tangent(hs.reshape(t_len * batch, k), w[0])
        return out.reshape(t_len, 1, batch, w.shape[1])
    return jnp.einsum("tdbk,dgk->tdbg", hs, w)


def _flip_reverse(a, num_directions):
    """Reverse time (axis 0) of direction 1 of a ``(T, D, ...)`` array."""
    if num_directions == 1:
        return a
    return jnp.stack([a[:, 0], jnp.flip(a[:, 1], 0)], 1)


def _varying_like(ref, carry):
    """``carry`` typed as varying over the devices ``ref`` varies over: inside ``shard_map``
    (``nn.pmap``) a scan's initial state (zeros, replicated) must have the type of the state the
    body returns, which the per-device inputs make varying. Outside, a no-op."""
    def varying(a) -> frozenset:
        manual = getattr(jax.typeof(a), "manual_axis_type", None)
        return manual.varying if manual is not None else frozenset()

    def cast(a):
        if a is None:
            return a
        axes = tuple(sorted(varying(ref) - varying(a)))
        return jax.lax.pcast(a, axes, to="varying") if axes else a
    return tuple(cast(a) for a in carry)


def _masked(m, new, old):
    """The state update of a step: ``new`` where the sequence is running, else ``old``."""
    return new if m is None else jnp.where(m, new, old)


def _zero_where_done(m, y):
    return y if m is None else jnp.where(m, y, jnp.zeros((), y.dtype))


def _lstm_activations(gates):
    """``sigmoid(i), sigmoid(f), tanh(g), sigmoid(o)`` of the ``(..., 4H)`` pre-activations.

    The sigmoid runs over the whole contiguous array and is sliced afterwards: XLA:CPU runs
    three sigmoids of strided slices 3x slower than one over the whole (same values).
    """
    hidden = gates.shape[-1] // 4
    i, f, _, o = jnp.split(jax.nn.sigmoid(gates), 4, axis=-1)
    return i, f, jnp.tanh(gates[..., 2 * hidden:3 * hidden]), o


def _gru_activations(gi, gh):
    """``r, z, n`` and ``W_hn h + b_hn`` from the ``(..., 3H)`` input and hidden parts (one
    sigmoid over the contiguous ``r, z`` block, as in :func:`_lstm_activations`)."""
    hidden = gi.shape[-1] // 3
    r, z = jnp.split(jax.nn.sigmoid(gi[..., :2 * hidden] + gh[..., :2 * hidden]), 2, axis=-1)
    h_n = gh[..., 2 * hidden:]
    return r, z, jnp.tanh(gi[..., 2 * hidden:] + r * h_n), h_n


def _scan_forward(mode, xw, h0, c0, w_hh, b_hh, w_hr, mask, save: bool):
    """The forward loop of one layer (all directions at once).

    ``xw (T, D, B, G)``: input projections with the biases folded in (except GRU's ``b_hh``).
    ``h0 (D, B, Hout)``, ``c0 (D, B, H)`` (LSTM, else ``None``), ``w_hh (D, G, Hout)``,
    ``b_hh (D, 1, G)`` (GRU) or ``None``, ``w_hr (D, Hout, H)`` or ``None``, ``mask
    (T, D, B, 1)`` bool or ``None``. Returns ``ys (T, D, B, Hout)``, ``h_T``, ``c_T`` and, with
    ``save``, the per-step values the tangent (and so the gradient) needs: the carried states
    ``hs``/``cs`` and the gate activations.
    """
    is_lstm = mode == "LSTM"

    def step(carry, inputs):
        h, c = carry
        gx, m = inputs
        gh = _recurrent(h, w_hh)
        c_new = c
        gates: tuple = ()
        if is_lstm:
            i, f, g, o = _lstm_activations(gx + gh)
            c_new = f * c + i * g
            h_new = o * jnp.tanh(c_new)
            if w_hr is not None:
                h_new = _recurrent(h_new, w_hr)
            gates = (i, f, g, o)
            c_new = _masked(m, c_new, c)
        elif mode == "GRU":
            if b_hh is not None:
                gh = gh + b_hh
            r, z, n, h_n = _gru_activations(gx, gh)
            h_new = n + z * (h - n)  # (1 - z) * n + z * h
            gates = (r, z, n, h_n)
        elif mode == "RNN_TANH":
            h_new = jnp.tanh(gx + gh)
        else:
            h_new = jax.nn.relu(gx + gh)
        h_carry = _masked(m, h_new, h)
        y = _zero_where_done(m, h_new)
        return (h_carry, c_new), ((y, h_carry, c_new, gates) if save else y)

    (h_t, c_t), out = jax.lax.scan(step, _varying_like(xw, (h0, c0)), (xw, mask))
    if not save:
        return out, h_t, c_t, None
    ys, hs, cs, gates = out
    return ys, h_t, c_t, (hs, cs, gates)


def _shift_in(first, seq):
    """``[first, seq[0], ..., seq[T-2]]``: the state each step started from."""
    return jnp.concatenate([first[None], seq[:-1]], 0)


def _tangent_coefficients(mode, h0, c0, w_hr, saved):
    """Per-step coefficients of the linearised recurrence, computed for all steps at once.

    Everything that depends only on primal values is computed here, vectorised over time, so
    that the tangent loop is purely linear: its transpose (the backward pass) then carries only
    the state cotangents, and the weight gradients come out as single matmuls after the loop.
    """
    hs, cs, gates = saved
    h_prev = _shift_in(h0, hs)
    if mode == "LSTM":
        i, f, g, o = gates
        tanh_c = jnp.tanh(cs)  # c_t where the step ran; where it did not, the tangent is masked
        d_o = o * (1 - o)
        coefs: tuple = (g * (i * (1 - i)),                    # dc/da_i
                 _shift_in(c0, cs) * (f * (1 - f)),    # dc/da_f
                 i * (1 - g * g),                      # dc/da_g
                 tanh_c * d_o,                         # dh/da_o
                 f,                                    # dc/dc_prev
                 o * (1 - tanh_c * tanh_c))            # dh/dc
        h_cell = o * tanh_c if w_hr is not None else None
        return coefs, h_prev, h_cell
    if mode == "GRU":
        r, z, n, h_n = gates
        dn = (1 - z) * (1 - n * n)  # dh/d(n's pre-activation)
        coefs = (dn,                                   # dh/dxw_n
                 dn * r,                               # dh/dgh_n
                 dn * h_n * (r * (1 - r)),             # dh/d(r's pre-activation)
                 (h_prev - n) * (z * (1 - z)),         # dh/d(z's pre-activation)
                 z)                                    # dh/dh_prev (direct path)
        return coefs, h_prev, None
    if mode == "RNN_TANH":
        return (1 - hs * hs,), h_prev, None
    return ((hs > 0).astype(hs.dtype),), h_prev, None


def _scan_tangent(mode, coefs, dxw, u, dh0, dc0, w_hh, w_hr, v, mask):
    """The linearised recurrence: tangents of ``ys``, ``h_T``, ``c_T``.

    ``u (T, D, B, G)`` is the part of the gates' tangent that does not depend on the previous
    state (``dxw + h_prev @ dw_hh.T``; for GRU only ``h_prev @ dw_hh.T + db_hh``, with ``dxw``
    separate), ``v (T, D, B, Hout)`` the projection's ``h_cell @ dw_hr.T`` or ``None``.
    """
    is_lstm = mode == "LSTM"

    def step(carry, inputs):
        dh, dc = carry
        k, dx, u_t, v_t, m = inputs
        q = u_t + _recurrent(dh, w_hh)
        dc_new = dc
        if is_lstm:
            ci, cf, cg, co, fgate, e = k
            da_i, da_f, da_g, da_o = jnp.split(q, 4, axis=-1)
            dc_new = fgate * dc + ci * da_i + cf * da_f + cg * da_g
            dh_new = co * da_o + e * dc_new
            if w_hr is not None:
                dh_new = _recurrent(dh_new, w_hr) + v_t
            dc_new = _masked(m, dc_new, dc)
        elif mode == "GRU":
            a_n, b_n, c_r, c_z, z = k
            dx_r, dx_z, dx_n = jnp.split(dx, 3, axis=-1)
            q_r, q_z, q_n = jnp.split(q, 3, axis=-1)
            dh_new = a_n * dx_n + b_n * q_n + c_r * (dx_r + q_r) + c_z * (dx_z + q_z) + z * dh
        else:
            dh_new = k[0] * q
        return (_masked(m, dh_new, dh), dc_new), _zero_where_done(m, dh_new)

    xs = (coefs, dxw if mode == "GRU" else None, u, v, mask)
    (dh_t, dc_t), dys = jax.lax.scan(step, _varying_like(u, (dh0, dc0)), xs)
    return dys, dh_t, dc_t


@functools.partial(jax.custom_jvp, nondiff_argnums=(0,))
def _layer_scan(mode, xw, h0, c0, w_hh, b_hh, w_hr, mask):
    """One layer's recurrence over time (see :func:`_scan_forward`): ``(ys, h_T, c_T)``.

    A custom JVP (design.md section 6): the tangent of the weights' contribution,
    ``h_prev @ dw_hh.T``, is one matmul over all steps *before* the loop, and the loop itself
    is linear with precomputed coefficients. Reverse mode transposes it into a backward loop
    that carries only ``dh``/``dc`` and computes the recurrent-weight gradient as one matmul
    after the loop, instead of accumulating an outer product at every step (about 20% of an
    LSTM training step on CPU). Being a JVP rule, forward mode and higher derivatives work.
    """
    ys, h_t, c_t, _ = _scan_forward(mode, xw, h0, c0, w_hh, b_hh, w_hr, mask, save=False)
    return ys, h_t, c_t


@_layer_scan.defjvp
def _layer_scan_jvp(mode, primals, tangents):
    xw, h0, c0, w_hh, b_hh, w_hr, mask = primals
    dxw, dh0, dc0, dw_hh, db_hh, dw_hr, _ = tangents
    ys, h_t, c_t, saved = _scan_forward(mode, xw, h0, c0, w_hh, b_hh, w_hr, mask, save=True)
    coefs, h_prev, h_cell = _tangent_coefficients(mode, h0, c0, w_hr, saved)
    u = _over_time(h_prev, dw_hh)
    if mode == "GRU":
        if b_hh is not None:
            u = u + db_hh[None]  # (D, 1, G) over time
    else:
        u = u + dxw
    v = _over_time(h_cell, dw_hr) if w_hr is not None else None
    dys, dh_t, dc_t = _scan_tangent(mode, coefs, dxw, u, dh0, dc0, w_hh, w_hr, v, mask)
    return (ys, h_t, c_t), (dys, dh_t, dc_t)


def _step_mask(lengths, t_len: int, num_dir: int):
    """``(T, D, B, 1)`` bool: where each direction's step is inside its sequence."""
    steps = jnp.arange(t_len)[:, None]
    fwd = steps < lengths[None, :]
    rev = (t_len - 1 - steps) < lengths[None, :]
    return jnp.stack([fwd, rev][:num_dir], 1)[..., None]


@functools.partial(eager_jit, static_argnames=("mode", "num_layers", "num_dir", "dropout",
                                               "batch_first"))
def _rnn_stack(x, h0_all, c0_all, weights, lengths, key, *, mode, num_layers, num_dir, dropout,
               batch_first):
    """The compute of :func:`rnn_layers` on validated arrays (compiled once per signature
    when called eagerly; see ``jnn/functional/_eager.py``). ``h0_all``/``c0_all`` ``None``
    mean zeros; ``lengths`` is an int array or ``None``; ``key`` is ``None`` unless
    ``dropout > 0``.
    """
    is_lstm = mode == "LSTM"
    if batch_first:
        x = jnp.swapaxes(x, 0, 1)
    t_len, batch = x.shape[0], x.shape[1]
    mask = None if lengths is None else _step_mask(lengths, t_len, num_dir)

    h_out, c_out = [], []
    for layer in range(num_layers):
        ws = weights[layer * num_dir:(layer + 1) * num_dir]
        w_ih = jnp.concatenate([w[0] for w in ws], 0) if num_dir > 1 else ws[0][0]
        gate = ws[0][1].shape[0]
        if ws[0][2] is not None:
            if mode == "GRU":
                b_parts = [w[2] for w in ws]
            else:
                b_parts = [w[2] + w[3] for w in ws]
            b_in = jnp.concatenate(b_parts, 0) if num_dir > 1 else b_parts[0]
        else:
            b_in = None
        xw = affine(x, w_ih, b_in).reshape(t_len, batch, num_dir, gate)
        xw = _flip_reverse(jnp.swapaxes(xw, 1, 2), num_dir)  # (T, D, B, G)
        w_hh = jnp.stack([w[1] for w in ws], 0)
        b_hh = None
        if mode == "GRU" and ws[0][3] is not None:
            b_hh = jnp.stack([w[3] for w in ws], 0)[:, None, :]
        w_hr = jnp.stack([w[4] for w in ws], 0) if ws[0][4] is not None else None
        hidden = ws[0][1].shape[0] // _CHUNKS[mode]
        out_size = w_hh.shape[2]
        sl = slice(layer * num_dir, (layer + 1) * num_dir)
        h0 = jnp.zeros((num_dir, batch, out_size), x.dtype) if h0_all is None else h0_all[sl]
        c0 = None
        if is_lstm:
            c0 = jnp.zeros((num_dir, batch, hidden), x.dtype) if c0_all is None else c0_all[sl]
        ys, h_t, c_t = _layer_scan(mode, xw, h0, c0, w_hh, b_hh, w_hr, mask)
        ys = _flip_reverse(ys, num_dir)  # (T, D, B, Hout)
        x = jnp.swapaxes(ys, 1, 2).reshape(t_len, batch, num_dir * out_size)
        h_out.append(h_t)
        if is_lstm:
            c_out.append(c_t)
        if dropout > 0 and layer < num_layers - 1:
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


def rnn_layers(mode: str, input, hx, weights: Sequence[Sequence], *, num_layers: int = 1,
               bidirectional: bool = False, dropout: float = 0.0, training: bool = False,
               batch_first: bool = False, lengths=None, key=None):
    """The multi-layer (bi)directional recurrent loop behind ``nn.RNN``/``nn.LSTM``/``nn.GRU``.

    Called eagerly it runs as one compiled program per (configuration, shapes, dtypes,
    training flag), so a second identical call does not trace or compile again.

    Args:
        mode: ``'RNN_TANH'``, ``'RNN_RELU'``, ``'LSTM'`` or ``'GRU'``.
        input: ``(T, B, input_size)`` (``(B, T, input_size)`` with ``batch_first``).
        hx: initial hidden state ``(L * D, B, Hout)``; for LSTM the pair ``(h0, c0)`` with
            ``c0 (L * D, B, hidden_size)``; ``None`` for zeros.
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
    num_dir = 2 if bidirectional else 1
    if len(weights) != num_layers * num_dir:
        raise ValueError(f"rnn_layers: expected {num_layers * num_dir} weight tuples "
                         f"(num_layers * num_directions), got {len(weights)}")
    is_lstm = mode == "LSTM"
    h0_all, c0_all = (hx if is_lstm and hx is not None else (hx, None))
    h0_all = None if h0_all is None else as_array(h0_all)
    c0_all = None if c0_all is None else as_array(c0_all)
    weights = tuple(tuple(None if w is None else as_array(w) for w in ws) for ws in weights)
    if lengths is not None:
        t_len = x.shape[1] if batch_first else x.shape[0]
        lengths = np.asarray(lengths, np.int64)
        if lengths.ndim != 1 or (lengths.size and (lengths.min() < 0 or lengths.max() > t_len)):
            raise ValueError(f"rnn_layers: expected lengths, one per sequence, in [0, {t_len}], "
                             f"got {lengths.tolist()}")
        lengths = jnp.asarray(lengths.astype(np.int32))
    p = float(dropout) if dropout > 0 and training and num_layers > 1 else 0.0
    # The key is drawn here, outside the compiled program, and enters it as an argument.
    key = next_key(key) if p > 0 else None
    return _rnn_stack(x, h0_all, c0_all, weights, lengths, key, mode=mode,
                      num_layers=num_layers, num_dir=num_dir, dropout=p,
                      batch_first=batch_first)
