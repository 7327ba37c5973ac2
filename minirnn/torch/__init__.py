"""minirnn.torch: recurrent modules that match ``torch.nn`` and load its state dicts.

- ``RNNCell``, ``LSTMCell``, ``GRUCell``: one step, written as the chapters derive it.
- ``RNN``, ``LSTM``, ``GRU``: layers and directions, ragged batches (``PackedSequence`` or
  ``lengths=``), and two time loops: ``impl="fused"`` (fast, default) or ``impl="steps"``.
- ``ShapeError``: what they raise for a wrongly shaped input, both a ValueError and the
  RuntimeError torch.nn raises.
"""

from minirnn.torch.cells import GRUCell, LSTMCell, RNNCell, gru_step, lstm_step, rnn_step
from minirnn.torch.errors import ShapeError
from minirnn.torch.rnn import GRU, LSTM, RNN, RNNBase, run_steps

__all__ = [
    "GRU",
    "GRUCell",
    "LSTM",
    "LSTMCell",
    "RNN",
    "RNNBase",
    "RNNCell",
    "ShapeError",
    "gru_step",
    "lstm_step",
    "rnn_step",
    "run_steps",
]

# Task models, training, decoding and checkpoints live in submodules, imported by name
# (`minirnn.torch.models`, `.train`, `.decode`, `.checkpoint`), so that `import minirnn.torch`
# stays as light as `import torch.nn`. The datasets are NumPy, in `minirnn.data`.
