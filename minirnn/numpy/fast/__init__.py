"""minirnn.numpy.fast: the three sequence layers tuned for speed, same numbers as the reference.

    from minirnn.numpy.fast import lstm_forward, lstm_backward

Same signatures, same outputs and gradients as minirnn.numpy's rnn/lstm/gru_forward and
_backward (tests/test_numpy_fast_parity.py checks it in float64), written for BLAS instead of
for reading: one GEMM for the input projections of all T steps, time-major buffers allocated
once, in-place elementwise work, weight gradients as one GEMM over all steps. Each cache is the
module's own (time-major buffers, not the reference's documented layout): pass it only to the
matching backward here. `benchmarks/bench_numpy.py` times these against torch.nn.

The assignments never ship this package: the reference is what students write.
"""

from collections.abc import Callable
from functools import partial

from minirnn.numpy.fast.gru import gru_backward, gru_forward
from minirnn.numpy.fast.lstm import lstm_backward, lstm_forward
from minirnn.numpy.fast.rnn import rnn_backward, rnn_forward

# cell name -> (forward, backward), as minirnn.numpy.bidirectional.CELLS
CELLS: dict[str, tuple[Callable, Callable]] = {
    "rnn": (rnn_forward, rnn_backward),
    "rnn_tanh": (rnn_forward, rnn_backward),
    "rnn_relu": (partial(rnn_forward, nonlinearity="relu"), rnn_backward),
    "lstm": (lstm_forward, lstm_backward),
    "gru": (gru_forward, gru_backward),
}

__all__ = [
    "CELLS",
    "gru_backward",
    "gru_forward",
    "lstm_backward",
    "lstm_forward",
    "rnn_backward",
    "rnn_forward",
]
