"""Working-looking RNN code with the bugs real RNN code has had (assignment A8, the bug gallery).

- ``minirnn.debugging.layers``: NumPy layers (an embedding's backward, BPTT through tanh, a
  softmax, a padded sequence loss).
- ``minirnn.debugging.loops``: PyTorch code around ``torch.nn.RNN``/``LSTM`` (truncated BPTT,
  independent sequences, loading LSTM weights, batch-major input, clipping, a bidirectional
  summary).
- ``minirnn.debugging.meters``: what the checks measure (autograd's live saved bytes).

Weights travel as dicts of NumPy arrays named as torch names them (``weight_ih_l0`` ...), and
every function returns NumPy arrays, so a check can compare them with its own equations.
"""
