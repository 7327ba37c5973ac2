"""minirnn.numpy: every recurrent layer written from scratch in NumPy, forward and backward.

The API follows CS231n: batch-first arrays (N, T, D), row vectors (x @ W), and every layer is a
pair `out, cache = layer_forward(...)` / `grads = layer_backward(dout, cache)`.

Size letters used in every docstring: N batch, T time steps, D input features, H hidden units,
V vocabulary size. float32 and float64 both work, and outputs keep the input dtype.
"""

from minirnn.numpy.activations import sigmoid
from minirnn.numpy.bidirectional import (
    bidirectional_backward,
    bidirectional_forward,
    multilayer_backward,
    multilayer_forward,
    params_from_torch,
    reverse_index,
)
from minirnn.numpy.clip import clip_grad_norm, clip_grad_value
from minirnn.numpy.gradcheck import (
    check_gradients,
    eval_numerical_gradient,
    eval_numerical_gradient_array,
    rel_error,
)
from minirnn.numpy.gru import gru_backward, gru_forward, gru_step_backward, gru_step_forward
from minirnn.numpy.layers import (
    temporal_affine_backward,
    temporal_affine_forward,
    temporal_softmax_loss,
    word_embedding_backward,
    word_embedding_forward,
)
from minirnn.numpy.lstm import (
    lstm_backward,
    lstm_forward,
    lstm_step_backward,
    lstm_step_forward,
)
from minirnn.numpy.models import CaptioningRNN, CharRNN
from minirnn.numpy.optim import SGD, Adagrad, Adam, Momentum, Optimizer, RMSprop
from minirnn.numpy.rnn import rnn_backward, rnn_forward, rnn_step_backward, rnn_step_forward
from minirnn.numpy.sequence import last_hidden

__all__ = [
    "CaptioningRNN",
    "CharRNN",
    "SGD",
    "Adagrad",
    "Adam",
    "Momentum",
    "Optimizer",
    "RMSprop",
    "bidirectional_backward",
    "bidirectional_forward",
    "check_gradients",
    "clip_grad_norm",
    "clip_grad_value",
    "eval_numerical_gradient",
    "eval_numerical_gradient_array",
    "gru_backward",
    "gru_forward",
    "gru_step_backward",
    "gru_step_forward",
    "last_hidden",
    "lstm_backward",
    "lstm_forward",
    "lstm_step_backward",
    "lstm_step_forward",
    "multilayer_backward",
    "multilayer_forward",
    "params_from_torch",
    "rel_error",
    "reverse_index",
    "rnn_backward",
    "rnn_forward",
    "rnn_step_backward",
    "rnn_step_forward",
    "sigmoid",
    "temporal_affine_backward",
    "temporal_affine_forward",
    "temporal_softmax_loss",
    "word_embedding_backward",
    "word_embedding_forward",
]
