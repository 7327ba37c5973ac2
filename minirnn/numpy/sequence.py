"""The last hidden state of each sequence in a padded (ragged) batch.

Ragged batches (`lengths`): sequence n has lengths[n] real steps followed by padding. Its
hidden state stops changing after step lengths[n] - 1, its padded outputs are zero and get
zero gradient, so the batch gives the same numbers as running each sequence alone.
"""

from __future__ import annotations

import numpy as np

from minirnn.numpy import checks


def last_hidden(h: np.ndarray, lengths: np.ndarray | list[int] | None = None) -> np.ndarray:
    """The final hidden state of each sequence.

    Inputs:
    - h: (N, T, H) outputs of rnn_forward / lstm_forward / gru_forward.
    - lengths: (N,) integers in [1, T], or None when every sequence has T steps.

    Returns (N, H): h[n, lengths[n] - 1] for every n (h[:, -1] when lengths is None).
    """
    h = checks.Shapes().array("h", h, "N, T, H")
    N, T, _ = h.shape
    lengths = checks.lengths_array(lengths, N, T, source="h")
    if lengths is None:
        return h[:, -1].copy()
    return h[np.arange(N), lengths - 1]
