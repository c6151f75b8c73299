"""Parity cases: recurrent layers and cells (``jnn/modules/rnn.py``, ``jnn/functional/rnn.py``).

LSTM/LSTMCell with an explicit ``(h_0, c_0)`` pair, packed sequences and the seed's LSTM vs
LSTMCell example are in ``tests/test_packed_sequence.py`` (the registry passes inputs as flat
arrays, so a state *pair* cannot be a ModuleCase input).
"""
import jax.numpy as jnp
import numpy as np
import torch

import jnn
import jnn.functional as F
from harness import ErrorCase, FunctionCase, ModuleCase


def _inputs(*shapes, dtype=np.float32):
    def make(rng):
        return tuple(rng.standard_normal(s).astype(dtype) for s in shapes)
    return make


MODULE_CASES = [
    # RNN
    ModuleCase("RNN", (3, 4), input_shapes=[(5, 2, 3)], desc="tanh"),
    ModuleCase("RNN", (3, 4), dict(num_layers=2, nonlinearity="relu", bidirectional=True),
               input_shapes=[(5, 2, 3), (4, 2, 4)], desc="relu-2layer-bidir-h0"),
    ModuleCase("RNN", (3, 4, 2), dict(bias=False, batch_first=True),
               input_shapes=[(2, 6, 3)], desc="nobias-batch_first"),
    ModuleCase("RNN", (3, 4), input_shapes=[(5, 3), (1, 4)], desc="unbatched-h0"),
    ModuleCase("RNN", (3, 4), dict(num_layers=2, nonlinearity="relu", bidirectional=True),
               input_shapes=[(5, 2, 3), (4, 2, 4)], dtype="float64", rtol=1e-7, atol=1e-9,
               desc="relu-2layer-bidir-h0-float64"),
    ModuleCase("RNN", (3, 4, 3), dict(dropout=0.3), input_shapes=[(5, 2, 3)], training=False,
               desc="dropout-eval"),
    ModuleCase("RNN", (3, 4, 3), dict(dropout=0.5, bidirectional=True), input_shapes=[(5, 2, 3)],
               random=True, desc="dropout-train"),
    # LSTM
    ModuleCase("LSTM", (4, 3, 1), input_shapes=[(2, 3, 4)], desc="seed-shape"),
    ModuleCase("LSTM", (4, 5), dict(num_layers=2, bidirectional=True), input_shapes=[(6, 2, 4)],
               desc="2layer-bidir"),
    ModuleCase("LSTM", (4, 5), dict(num_layers=2, bidirectional=True, batch_first=True),
               input_shapes=[(2, 6, 4)], desc="2layer-bidir-batch_first"),
    ModuleCase("LSTM", (4, 5), dict(proj_size=2), input_shapes=[(6, 3, 4)], desc="proj"),
    ModuleCase("LSTM", (4, 5), dict(proj_size=3, num_layers=2, bidirectional=True, bias=False),
               input_shapes=[(6, 3, 4)], desc="proj-2layer-bidir-nobias"),
    ModuleCase("LSTM", (4, 5), dict(num_layers=2), input_shapes=[(7, 4)], desc="unbatched"),
    ModuleCase("LSTM", (4, 5), dict(num_layers=2, bidirectional=True), input_shapes=[(6, 2, 4)],
               dtype="float64", rtol=1e-7, atol=1e-9, desc="float64"),
    ModuleCase("LSTM", (4, 5), dict(proj_size=3, bidirectional=True, batch_first=True),
               input_shapes=[(2, 6, 4)], dtype="float64", rtol=1e-7, atol=1e-9,
               desc="proj-bidir-batch_first-float64"),
    ModuleCase("LSTM", (4, 5, 3), dict(dropout=0.5), input_shapes=[(5, 2, 4)], random=True,
               desc="dropout-train"),
    # GRU
    ModuleCase("GRU", (3, 4), input_shapes=[(5, 2, 3)], desc="basic"),
    ModuleCase("GRU", (10, 20), dict(num_layers=2, batch_first=True, bidirectional=True),
               input_shapes=[(3, 5, 10), (4, 3, 20)], desc="2layer-bidir-batch_first-h0"),
    ModuleCase("GRU", (3, 4), dict(bias=False, num_layers=3), input_shapes=[(5, 2, 3)],
               desc="nobias-3layer"),
    ModuleCase("GRU", (3, 4), dict(bidirectional=True), input_shapes=[(5, 3), (2, 4)],
               desc="unbatched-bidir-h0"),
    ModuleCase("GRU", (3, 4), dict(bidirectional=True, num_layers=2), input_shapes=[(5, 2, 3)],
               dtype="float64", rtol=1e-7, atol=1e-9, desc="float64"),
    # cells
    ModuleCase("RNNCell", (3, 4), input_shapes=[(2, 3)], desc="tanh"),
    ModuleCase("RNNCell", (3, 4), dict(nonlinearity="relu", bias=False),
               input_shapes=[(2, 3), (2, 4)], desc="relu-nobias-hx"),
    ModuleCase("RNNCell", (3, 4), input_shapes=[(3,), (4,)], desc="unbatched"),
    ModuleCase("LSTMCell", (4, 3), input_shapes=[(3, 4)], desc="batched"),
    ModuleCase("LSTMCell", (4, 3), dict(bias=False), input_shapes=[(4,)], desc="unbatched-nobias"),
    ModuleCase("LSTMCell", (4, 3), input_shapes=[(3, 4)], dtype="float64", rtol=1e-7,
               atol=1e-9, desc="float64"),
    ModuleCase("GRUCell", (3, 5), input_shapes=[(2, 3), (2, 5)], desc="hx"),
    ModuleCase("GRUCell", (3, 5), dict(bias=False), input_shapes=[(3,)], desc="unbatched"),
]


def _cell_inputs(chunks, bias=True, batch=(2,), lstm=False, dtype=np.float32):
    def make(rng):
        n = lambda *s: rng.standard_normal(s).astype(dtype)  # noqa: E731
        x, h = n(*batch, 3), n(*batch, 4)
        hx = (h, n(*batch, 4)) if lstm else h
        args = (x, hx, n(chunks * 4, 3), n(chunks * 4, 4))
        if bias:
            args += (n(chunks * 4), n(chunks * 4))
        return args, {}
    return make


FUNCTION_CASES = [
    FunctionCase("rnn_tanh_cell", _cell_inputs(1), torch_fn=torch.rnn_tanh_cell),
    FunctionCase("rnn_tanh_cell", _cell_inputs(1, bias=False), torch_fn=torch.rnn_tanh_cell,
                 desc="nobias"),
    FunctionCase("rnn_relu_cell", _cell_inputs(1), torch_fn=torch.rnn_relu_cell),
    FunctionCase("rnn_relu_cell", _cell_inputs(1, dtype=np.float64),
                 torch_fn=torch.rnn_relu_cell, rtol=1e-7, atol=1e-9, desc="float64"),
    FunctionCase("lstm_cell", _cell_inputs(4, lstm=True), torch_fn=torch.lstm_cell),
    FunctionCase("lstm_cell", _cell_inputs(4, lstm=True, bias=False), torch_fn=torch.lstm_cell,
                 desc="nobias"),
    FunctionCase("lstm_cell", _cell_inputs(4, lstm=True, dtype=np.float64),
                 torch_fn=torch.lstm_cell, rtol=1e-7, atol=1e-9, desc="float64"),
    FunctionCase("gru_cell", _cell_inputs(3), torch_fn=torch.gru_cell),
    FunctionCase("gru_cell", _cell_inputs(3, bias=False, batch=(5,)), torch_fn=torch.gru_cell,
                 desc="nobias"),
]


def _x(*s):
    return jnp.ones(s)


ERROR_CASES = [
    ErrorCase("LSTM", lambda: jnn.LSTM(4, 3)(_x(2, 3, 2, 4)), ValueError,
              r"LSTM: Expected input to be 2D or 3D, got 4D"),
    ErrorCase("LSTM", lambda: jnn.LSTM(4, 3)(_x(5, 2, 3)), ValueError,
              r"input.size\(-1\) must be equal to input_size. Expected 4, got 3",
              desc="input_size"),
    ErrorCase("LSTM", lambda: jnn.LSTM(4, 3)(_x(5, 2, 4), (_x(1, 2, 3), _x(1, 3, 3))),
              RuntimeError, r"Expected hidden\[1\] size \(1, 2, 3\), got \[1, 3, 3\]",
              desc="cell-size"),
    ErrorCase("LSTM", lambda: jnn.LSTM(4, 3)(_x(5, 2, 4), (_x(2, 3), _x(2, 3))), ValueError,
              r"For batched 3-D input, hx and cx should also be 3-D but got \(2-D, 2-D\)",
              desc="hx-dims"),
    ErrorCase("LSTM", lambda: jnn.LSTM(4, 3, proj_size=3), ValueError,
              r"proj_size has to be smaller than hidden_size", desc="proj_size"),
    ErrorCase("GRU", lambda: jnn.GRU(4, 3)(_x(5, 2, 4), _x(2, 2, 3)), ValueError,
              r"Expected hidden size \(1, 2, 3\), got \[2, 2, 3\]"),
    ErrorCase("GRU", lambda: jnn.GRU(4, 3, proj_size=2), ValueError,
              r"proj_size argument is only supported for LSTM", desc="proj_size"),
    ErrorCase("RNN", lambda: jnn.RNN(4, 3, nonlinearity="gelu"), ValueError,
              r"Unknown nonlinearity 'gelu'"),
    ErrorCase("RNN", lambda: jnn.RNN(4, 3, dropout=1.5), ValueError,
              r"dropout should be a number in range \[0, 1\]", desc="dropout"),
    ErrorCase("RNN", lambda: jnn.RNN(4, 0), ValueError, r"hidden_size must be greater than zero",
              desc="hidden_size"),
    ErrorCase("RNN", lambda: jnn.RNN(4, 3)(_x(5, 4), _x(1, 2, 3)), ValueError,
              r"For unbatched 2-D input, hx should also be 2-D but got 3-D", desc="unbatched-hx"),
    ErrorCase("RNN", lambda: jnn.RNN(4, 3)(_x(5, 2, 4).astype(jnp.int32)), ValueError,
              r"RNN input dtype \(int32\) does not match weight dtype \(float32\)",
              desc="dtype"),
    ErrorCase("LSTMCell", lambda: jnn.LSTMCell(4, 3)(_x(2, 2, 4)), ValueError,
              r"LSTMCell: Expected input to be 1D or 2D, got 3D"),
    ErrorCase("LSTMCell", lambda: jnn.LSTMCell(4, 3)(_x(2, 4), (_x(2, 3), _x(1, 2, 3))),
              ValueError, r"LSTMCell: Expected hx\[1\] to be 1D or 2D, got 3D", desc="hx"),
    ErrorCase("GRUCell", lambda: jnn.GRUCell(4, 3)(_x(2, 4), _x(2, 2, 3)), ValueError,
              r"GRUCell: Expected hidden to be 1D or 2D, got 3D"),
    ErrorCase("GRUCell", lambda: jnn.GRUCell(4, 3)(_x(2, 5)), ValueError,
              r"gru_cell: expected input with last dimension 4 \(input_size\), got shape \(2, 5\)",
              desc="input_size"),
    ErrorCase("RNNCell", lambda: jnn.RNNCell(4, 3, nonlinearity="sigmoid"), ValueError,
              r"Unknown nonlinearity"),
    ErrorCase("RNNCell", lambda: jnn.RNNCell(4, 3)(_x(2, 4), _x(3, 3)), ValueError,
              r"rnn_tanh_cell: expected hx of shape \(2, 3\), got shape \(3, 3\)", desc="hx"),
    ErrorCase("lstm_cell", lambda: F.lstm_cell(_x(2, 3), (_x(2, 4), _x(2, 4)), _x(12, 3),
                                               _x(12, 4)), ValueError,
              r"lstm_cell: expected w_ih of shape \(4 \* hidden_size, input_size\)"),
    ErrorCase("lstm_cell", lambda: F.lstm_cell(_x(2, 3), _x(2, 4), _x(16, 3), _x(16, 4)),
              TypeError, r"lstm_cell: expected hx to be a pair", desc="hx"),
    ErrorCase("gru_cell", lambda: F.gru_cell(_x(2, 3), _x(2, 4), _x(12, 3), _x(12, 4),
                                             _x(5), None), ValueError,
              r"gru_cell: expected b_ih of shape \(12,\), got shape \(5,\)"),
    ErrorCase("rnn_tanh_cell", lambda: F.rnn_tanh_cell(_x(2, 2, 3), _x(2, 4), _x(4, 3),
                                                       _x(4, 4)), ValueError,
              r"rnn_tanh_cell: expected input with 1 or 2 dimensions"),
    ErrorCase("rnn_relu_cell", lambda: F.rnn_relu_cell(_x(2, 3), _x(2, 5), _x(4, 3), _x(4, 4)),
              ValueError, r"rnn_relu_cell: expected hx of shape \(2, 4\), got shape \(2, 5\)"),
]

EXEMPT = {
    "RNNBase": "abstract base of RNN/LSTM/GRU; covered through them here",
    "RNNCellBase": "abstract base of the cells; covered through RNNCell/LSTMCell/GRUCell here",
}
