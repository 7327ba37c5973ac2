"""minirnn.numpy: every recurrent layer written from scratch in NumPy, forward and backward.

The API follows CS231n: batch-first arrays (N, T, D), row vectors (x @ W), and every layer is a
pair `out, cache = layer_forward(...)` / `grads = layer_backward(dout, cache)`.

Size letters used in every docstring: N batch, T time steps, D input features, H hidden units,
V vocabulary size. float32 and float64 both work, and outputs keep the input dtype.

Where things live (each file reads top to bottom):

- rnn.py, lstm.py, gru.py: the three cells, the reference. `*_step_forward/backward` are one
  line per equation; `*_forward/backward` run a whole sequence as a loop over the step
  functions (CS231n's shape). Their cache is a documented contract: {"steps": the list of
  step caches, "lengths": (N,) real steps}; `rnn_states`, `lstm_states`, `gru_states` read
  the states h_0..h_T (and c_0..c_T) out of it.
- fast/: the same three sequence layers tuned for BLAS (one GEMM for all input projections,
  time-major buffers, in-place updates), selected explicitly:
  `from minirnn.numpy.fast import lstm_forward`, or `fast=True` in bidirectional.py. Same
  numbers as the reference (tests/test_numpy_fast_parity.py); the assignments never ship it.
- sequence.py: `last_hidden` for ragged batches.
- layers.py: word embedding, temporal affine, temporal softmax loss.
- bidirectional.py: bidirectional and stacked layers over any cell (torch weights map in
  through `minirnn.convert.from_torch`).
- optim.py, clip.py: optimizers and gradient clipping over dicts of arrays.
- dynamics.py: one-step Jacobians, their products over k steps, the spectrum of Wh, the norm
  against the lag (chapter 10; assignment A5).
- scan.py: linear recurrences h_t = a_t * h_{t-1} + b_t by a loop, a Hillis-Steele scan and in
  log space, and a minGRU layer on top (chapters 15-16; assignment A7).
- gradcheck.py: numeric gradients, `rel_error`, `check_gradients`.
- models.py: CharRNN and CaptioningRNN (on the reference cells).
- checks.py: argument validation with messages that name the argument.

Ragged batches: every sequence function takes `lengths` (N,) in [1, T]. Sequence n then stops
changing after its own last step, its padded outputs are zero and get zero gradient, so the batch
gives the same numbers as running each sequence alone (as torch's packed sequences do). Its
final hidden state is h[n, lengths[n] - 1], which `last_hidden(h, lengths)` gathers.
"""

from minirnn.numpy.activations import sigmoid
from minirnn.numpy.bidirectional import (
    bidirectional_backward,
    bidirectional_forward,
    multilayer_backward,
    multilayer_forward,
    reverse_index,
)
from minirnn.numpy.clip import clip_grad_norm, clip_grad_value
from minirnn.numpy.gradcheck import (
    check_gradients,
    eval_numerical_gradient,
    eval_numerical_gradient_array,
    rel_error,
)
from minirnn.numpy.gru import (
    gru_backward,
    gru_forward,
    gru_states,
    gru_step_backward,
    gru_step_forward,
)
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
    lstm_states,
    lstm_step_backward,
    lstm_step_forward,
)
from minirnn.numpy.models import CaptioningRNN, CharRNN
from minirnn.numpy.optim import SGD, Adagrad, Adam, Momentum, Optimizer, RMSprop
from minirnn.numpy.rnn import (
    rnn_backward,
    rnn_forward,
    rnn_states,
    rnn_step_backward,
    rnn_step_forward,
)
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
    "gru_states",
    "gru_step_backward",
    "gru_step_forward",
    "last_hidden",
    "lstm_backward",
    "lstm_forward",
    "lstm_states",
    "lstm_step_backward",
    "lstm_step_forward",
    "multilayer_backward",
    "multilayer_forward",
    "rel_error",
    "reverse_index",
    "rnn_backward",
    "rnn_forward",
    "rnn_states",
    "rnn_step_backward",
    "rnn_step_forward",
    "sigmoid",
    "temporal_affine_backward",
    "temporal_affine_forward",
    "temporal_softmax_loss",
    "word_embedding_backward",
    "word_embedding_forward",
]
