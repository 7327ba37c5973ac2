"""minirnn.numpy: every recurrent layer written from scratch in NumPy, forward and backward.

The API follows CS231n: batch-first arrays (N, T, D), row vectors (x @ W), and every layer is a
pair `out, cache = layer_forward(...)` / `grads = layer_backward(dout, cache)`.

Size letters used in every docstring: N batch, T time steps, D input features, H hidden units,
V vocabulary size.
"""

from minirnn.numpy.activations import sigmoid
from minirnn.numpy.gru import gru_backward, gru_forward, gru_step_backward, gru_step_forward
from minirnn.numpy.lstm import (
    lstm_backward,
    lstm_forward,
    lstm_step_backward,
    lstm_step_forward,
)
from minirnn.numpy.rnn import rnn_backward, rnn_forward, rnn_step_backward, rnn_step_forward
from minirnn.numpy.sequence import last_hidden

__all__ = [
    "gru_backward",
    "gru_forward",
    "gru_step_backward",
    "gru_step_forward",
    "last_hidden",
    "lstm_backward",
    "lstm_forward",
    "lstm_step_backward",
    "lstm_step_forward",
    "rnn_backward",
    "rnn_forward",
    "rnn_step_backward",
    "rnn_step_forward",
    "sigmoid",
]
