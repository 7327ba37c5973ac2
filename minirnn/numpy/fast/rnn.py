"""The vanilla RNN over a whole sequence, tuned for speed (BLAS-friendly, in place).

Computes exactly what minirnn.numpy.rnn_forward / rnn_backward compute (tests/
test_numpy_fast_parity.py pins the two together), but: one big GEMM for the input projections
of all T steps (with the bias trick), time-major buffers allocated once, in-place elementwise
work, and the weight gradients as one GEMM over all steps. Read minirnn/numpy/rnn.py first.

The cache is this module's own (a dict of time-major buffers) and is not a stable contract:
pass it only to this module's rnn_backward.
"""

from __future__ import annotations

import numpy as np

from minirnn.numpy import checks
from minirnn.numpy.fast.sequence import batch_major, step_mask, time_major, time_major_with_ones
from minirnn.numpy.rnn import _check_weights


def rnn_forward(
    x: np.ndarray,
    h0: np.ndarray,
    Wx: np.ndarray,
    Wh: np.ndarray,
    b: np.ndarray,
    nonlinearity: str = "tanh",
    lengths: np.ndarray | list[int] | None = None,
) -> tuple[np.ndarray, dict]:
    """Run a vanilla RNN over a whole sequence.

    Inputs:
    - x: (N, T, D) inputs, batch-first.
    - h0: (N, H) initial hidden state.
    - Wx: (D, H), Wh: (H, H), b: (H,) as in rnn_step_forward.
    - nonlinearity: "tanh" or "relu".
    - lengths: optional (N,) integers in [1, T] for a padded (ragged) batch: sequence n has
      lengths[n] real steps. Its state stops changing after its last real step and its padded
      outputs h[n, lengths[n]:] are zero. Its final state is h[n, lengths[n] - 1]
      (see `last_hidden`).

    Returns (h, cache): h (N, T, H) the hidden state at every step, and what rnn_backward needs.
    The cache is a dict; cache["states"] is the time-major (T + 1, N, H) array of states
    h_0, ..., h_T (chapter 7 reads it); without `lengths`, cache["states"][1:] is h moved to
    time-major (with `lengths`, padded steps hold the frozen state instead of zeros).
    """
    s = checks.Shapes()
    _check_weights(s, Wx, Wh, b)  # the weights fix D and H; the data must agree with them
    s.array("x", x, "N, T, D")
    s.array("h0", h0, "N, H")
    checks.same_dtype("x", x, h0=h0, Wx=Wx, Wh=Wh, b=b)
    checks.finite(x=x, h0=h0, Wx=Wx, Wh=Wh, b=b)
    checks.nonlinearity_name(nonlinearity)
    N, T, D = x.shape
    H = s["H"]
    lengths = checks.lengths_array(lengths, N, T)

    x1 = time_major_with_ones(x)  # (T, N, D + 1): [x, 1], for the bias trick
    # states[t + 1] is the hidden state after step t, states[0] = h0: (T + 1, N, H).
    states = np.empty((T + 1, N, H), dtype=x.dtype)
    states[0] = h0
    # The input projections x_t Wx + b of all T steps in one GEMM, written straight into the
    # buffer that each step then finishes in place: states[t + 1] = act(... + h_t Wh).
    Wx1 = np.concatenate([Wx, b[None]])  # (D + 1, H)
    np.matmul(x1.reshape(T * N, D + 1), Wx1, out=states[1:].reshape(T * N, H))
    # A padded row keeps its previous state: frozen[t, n] is True when t >= lengths[n].
    frozen = None if lengths is None else (np.arange(T)[:, None, None] >= lengths[:, None])

    hWh = np.empty((N, H), dtype=x.dtype)  # scratch for prev_h @ Wh
    for t in range(T):
        a = states[t + 1]
        np.matmul(states[t], Wh, out=hWh)
        a += hWh
        if nonlinearity == "tanh":
            np.tanh(a, out=a)
        else:
            np.maximum(a, 0, out=a)
        if frozen is not None:
            np.copyto(a, states[t], where=frozen[t])

    # Outputs are batch-first; padded positions are zero.
    mask = None if lengths is None else step_mask(lengths, T, x.dtype)  # (T, N, 1)
    h = batch_major(states[1:] if mask is None else states[1:] * mask)
    cache = dict(x1=x1, states=states, Wx=Wx, Wh=Wh, mask=mask, nonlinearity=nonlinearity)
    return h, cache


def rnn_backward(
    dh: np.ndarray, cache: dict
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backpropagation through time for rnn_forward.

    Inputs:
    - dh: (N, T, H) gradient of the loss with respect to every hidden state h.
    - cache: from rnn_forward.

    Returns (dx, dh0, dWx, dWh, db) with shapes (N, T, D), (N, H), (D, H), (H, H), (H,).
    Padded steps of a ragged batch get zero gradient.
    """
    x1, states, Wx, Wh, mask = (cache[k] for k in ("x1", "states", "Wx", "Wh", "mask"))
    T, N, D1 = x1.shape
    H = Wh.shape[0]
    s = checks.Shapes()
    s.array("h", states[1:].swapaxes(0, 1), "N, T, H")
    s.array("dh", dh, "N, T, H")
    checks.same_dtype("h", states, dh=dh)
    checks.finite(dh=dh)

    # da[t] will hold dLoss/d(pre-activation) at step t. It starts as the gradient arriving
    # from the outputs, time-major; padded steps get none.
    da = time_major(dh) if mask is None else np.multiply(time_major(dh), mask)
    # The nonlinearity's local derivative at every step, all in one vectorised pass.
    if cache["nonlinearity"] == "tanh":
        deriv = np.multiply(states[1:], states[1:])
        np.subtract(1, deriv, out=deriv)  # 1 - h^2
    else:
        deriv = (states[1:] > 0).astype(states.dtype)

    # Walk backwards: the state gradient at step t is what its output receives plus what
    # step t + 1 sends back through Wh. Padded rows receive nothing and send nothing back,
    # so the loop needs no mask.
    WhT = np.ascontiguousarray(Wh.T)  # BLAS is faster on a contiguous (H, H) than on Wh.T
    dnext = np.zeros((N, H), dtype=states.dtype)  # dLoss/dh_t from step t + 1
    for t in range(T - 1, -1, -1):
        da_t = da[t]
        da_t += dnext
        da_t *= deriv[t]
        np.matmul(da_t, WhT, out=dnext)
    dh0 = dnext

    # Weight gradients: one GEMM each over all T steps at once.
    da_flat = da.reshape(T * N, H)
    dWx1 = x1.reshape(T * N, D1).T @ da_flat  # (D + 1, H): last row is the bias gradient
    dWx, db = dWx1[:-1], dWx1[-1]
    dWh = states[:-1].reshape(T * N, H).T @ da_flat
    dx = batch_major((da_flat @ np.ascontiguousarray(Wx.T)).reshape(T, N, D1 - 1))
    return dx, dh0, dWx, dWh, db
