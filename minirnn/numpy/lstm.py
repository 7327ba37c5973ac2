"""Long short-term memory (LSTM): one step and a whole sequence, forward and backward by hand.

With row vectors and the four gates stacked along the last axis in torch.nn's order
i, f, g, o:

    a = x @ Wx + prev_h @ Wh + b                       Wx: (D, 4H), Wh: (H, 4H), b: (4H,)
    i = sigmoid(a[:, 0H:1H])     input gate
    f = sigmoid(a[:, 1H:2H])     forget gate
    g = tanh(a[:, 2H:3H])        candidate cell
    o = sigmoid(a[:, 3H:4H])     output gate
    next_c = i * g + f * prev_c
    next_h = o * tanh(next_c)

torch.nn.LSTM maps in by transposition: Wx = weight_ih_l0.T, Wh = weight_hh_l0.T,
b = bias_ih_l0 + bias_hh_l0.

The step functions are one line per equation; the sequence functions loop over them, as in
CS231n. This is the reference: minirnn.numpy.fast.lstm computes the same numbers with BLAS-sized
matmuls over all steps, one tanh for all gates and in-place buffers (faster, harder to read).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minirnn.numpy import checks
from minirnn.numpy.activations import sigmoid


def _check_weights(s: checks.Shapes, Wx: Any, Wh: Any, b: Any) -> None:
    s.array("Wx", Wx, "D, 4H")
    s.array("Wh", Wh, "H, 4H")
    s.array("b", b, "4H")


# ---------------------------------------------------------------------------------------------
# One time step (the teaching version)
# ---------------------------------------------------------------------------------------------


def lstm_step_forward(
    x: np.ndarray,
    prev_h: np.ndarray,
    prev_c: np.ndarray,
    Wx: np.ndarray,
    Wh: np.ndarray,
    b: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, tuple]:
    """One step of an LSTM.

    Inputs:
    - x: (N, D) inputs at this step.
    - prev_h: (N, H) previous hidden state.
    - prev_c: (N, H) previous cell state.
    - Wx: (D, 4H), Wh: (H, 4H), b: (4H,) weights and bias, gates in the order i, f, g, o.

    Returns (next_h, next_c, cache): next_h (N, H), next_c (N, H).
    """
    s = checks.Shapes()
    _check_weights(s, Wx, Wh, b)
    s.array("x", x, "N, D")
    s.array("prev_h", prev_h, "N, H")
    s.array("prev_c", prev_c, "N, H")
    checks.same_dtype("x", x, prev_h=prev_h, prev_c=prev_c, Wx=Wx, Wh=Wh, b=b)
    checks.finite(x=x, prev_h=prev_h, prev_c=prev_c, Wx=Wx, Wh=Wh, b=b)
    H = s["H"]

    # BEGIN SOLUTION
    a = x @ Wx + prev_h @ Wh + b  # (N, 4H) all four gates' pre-activations
    i = sigmoid(a[:, 0 * H : 1 * H])
    f = sigmoid(a[:, 1 * H : 2 * H])
    g = np.tanh(a[:, 2 * H : 3 * H])
    o = sigmoid(a[:, 3 * H : 4 * H])
    next_c = f * prev_c + i * g
    tanh_c = np.tanh(next_c)
    next_h = o * tanh_c
    cache = (x, prev_h, prev_c, Wx, Wh, i, f, g, o, tanh_c)
    return next_h, next_c, cache
    # END SOLUTION


def lstm_step_backward(
    dnext_h: np.ndarray, dnext_c: np.ndarray, cache: tuple
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of lstm_step_forward.

    Inputs:
    - dnext_h: (N, H) gradient with respect to next_h.
    - dnext_c: (N, H) gradient with respect to next_c (from the next step, or zeros).
    - cache: from lstm_step_forward.

    Returns (dx, dprev_h, dprev_c, dWx, dWh, db) with shapes
    (N, D), (N, H), (N, H), (D, 4H), (H, 4H), (4H,).
    """
    x, prev_h, prev_c, Wx, Wh, i, f, g, o, tanh_c = cache
    s = checks.Shapes()
    s.array("next_h", tanh_c, "N, H")
    s.array("dnext_h", dnext_h, "N, H")
    s.array("dnext_c", dnext_c, "N, H")
    checks.finite(dnext_h=dnext_h, dnext_c=dnext_c)

    # BEGIN SOLUTION
    # next_c reaches the loss directly (dnext_c) and through next_h = o * tanh(next_c).
    dc = dnext_c + dnext_h * o * (1 - tanh_c**2)
    do = dnext_h * tanh_c
    di = dc * g
    df = dc * prev_c
    dg = dc * i
    dprev_c = dc * f
    # Through the nonlinearities: sigmoid' = s (1 - s), tanh' = 1 - tanh^2.
    da = np.concatenate(
        [di * i * (1 - i), df * f * (1 - f), dg * (1 - g**2), do * o * (1 - o)], axis=1
    )
    dx = da @ Wx.T
    dprev_h = da @ Wh.T
    dWx = x.T @ da
    dWh = prev_h.T @ da
    db = da.sum(axis=0)
    return dx, dprev_h, dprev_c, dWx, dWh, db
    # END SOLUTION


# ---------------------------------------------------------------------------------------------
# A whole sequence: a loop over the step
# ---------------------------------------------------------------------------------------------


def lstm_forward(
    x: np.ndarray,
    h0: np.ndarray,
    Wx: np.ndarray,
    Wh: np.ndarray,
    b: np.ndarray,
    lengths: np.ndarray | list[int] | None = None,
) -> tuple[np.ndarray, dict]:
    """Run an LSTM over a whole sequence, one lstm_step_forward per time step.

    The initial cell state c_0 is zero.

    Inputs:
    - x: (N, T, D) inputs, batch-first.
    - h0: (N, H) initial hidden state.
    - Wx: (D, 4H), Wh: (H, 4H), b: (4H,) as in lstm_step_forward.
    - lengths: optional (N,) integers in [1, T] for a padded batch: sequence n stops changing
      after step lengths[n] - 1, its padded outputs are zero, and its final hidden state is
      h[n, lengths[n] - 1] (see `last_hidden`).

    Returns (h, cache): h (N, T, H) the hidden state at every step, and the cache, a dict
    with exactly two entries (lstm_backward reads nothing else, so a cache built by hand to
    this layout works too):
    - cache["steps"]: a list of T step caches, cache["steps"][t] the one lstm_step_forward
      returned at step t: the tuple (x_t, prev_h, prev_c, Wx, Wh, i, f, g, o, tanh_c) of
      arrays, computed before a padded row is frozen.
    - cache["lengths"]: (N,) int64, the real steps of each sequence (all T without `lengths`).
    The hidden and cell states h_0..h_T and c_0..c_T are `lstm_states(cache)`.
    """
    s = checks.Shapes()
    _check_weights(s, Wx, Wh, b)
    s.array("x", x, "N, T, D")
    s.array("h0", h0, "N, H")
    checks.same_dtype("x", x, h0=h0, Wx=Wx, Wh=Wh, b=b)
    checks.finite(x=x, h0=h0, Wx=Wx, Wh=Wh, b=b)
    N, T, D = x.shape
    H = s["H"]
    lengths = checks.lengths_array(lengths, N, T)
    if lengths is None:  # every sequence has all T steps
        lengths = np.full(N, T, dtype=np.int64)

    # BEGIN SOLUTION
    h = np.zeros((N, T, H), dtype=x.dtype)
    steps = []
    prev_h, prev_c = h0, np.zeros_like(h0)
    for t in range(T):
        next_h, next_c, step_cache = lstm_step_forward(x[:, t], prev_h, prev_c, Wx, Wh, b)
        real = (t < lengths)[:, None]  # (N, 1): False where step t is padding
        h[:, t] = next_h * real  # padded outputs are zero
        prev_h = np.where(real, next_h, prev_h)  # and a padded row keeps its states
        prev_c = np.where(real, next_c, prev_c)
        steps.append(step_cache)
    cache = {"steps": steps, "lengths": lengths}
    return h, cache
    # END SOLUTION


def lstm_backward(
    dh: np.ndarray, cache: dict
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backpropagation through time for lstm_forward, one lstm_step_backward per time step.

    Inputs:
    - dh: (N, T, H) gradient with respect to every hidden state.
    - cache: from lstm_forward (its layout is documented there).

    Returns (dx, dh0, dWx, dWh, db) with shapes (N, T, D), (N, H), (D, 4H), (H, 4H), (4H,).
    Padded steps of a ragged batch get zero gradient. (c_0 is a constant zero: no gradient.)
    """
    steps, lengths = cache["steps"], cache["lengths"]
    _, _, _, Wx, Wh, *_, tanh_c = steps[0]
    N, T, D, H = len(lengths), len(steps), Wx.shape[0], Wh.shape[0]
    s = checks.Shapes().bind("h", N=N, T=T, H=H)
    s.array("dh", dh, "N, T, H")
    checks.same_dtype("h", tanh_c, dh=dh)
    checks.finite(dh=dh)

    # BEGIN SOLUTION
    dx = np.zeros((N, T, D), dtype=dh.dtype)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(4 * H, dtype=dh.dtype)
    dprev_h = np.zeros((N, H), dtype=dh.dtype)  # dLoss/dh_t sent back by step t + 1
    dprev_c = np.zeros((N, H), dtype=dh.dtype)  # dLoss/dc_t sent back by step t + 1
    for t in range(T - 1, -1, -1):
        # h_t reaches the loss through its output (zero on padding) and through step t + 1,
        # c_t only through step t + 1. A padded step's states are frozen copies that no
        # output reads: nothing flows there, so dprev_h and dprev_c are zero on those rows.
        real = (t < lengths)[:, None]
        dnext_h = dh[:, t] * real + dprev_h
        dx[:, t], dprev_h, dprev_c, dWx_t, dWh_t, db_t = lstm_step_backward(
            dnext_h, dprev_c, steps[t])
        dWx += dWx_t  # the weights are shared by every step: their gradients add up
        dWh += dWh_t
        db += db_t
    return dx, dprev_h, dWx, dWh, db
    # END SOLUTION


def lstm_states(cache: dict) -> tuple[np.ndarray, np.ndarray]:
    """The hidden and cell states of an lstm_forward call, time-major: two (T + 1, N, H).

    Returns (hs, cs): hs[0] = h0 and cs[0] = c_0 = 0; hs[t + 1], cs[t + 1] are the states
    after step t. With `lengths`, padded steps hold the frozen states (the last real ones).
    """
    steps, lengths = cache["steps"], cache["lengths"]
    hs, cs = [steps[0][1]], [steps[0][2]]  # h_0 and c_0: the first step's prev_h, prev_c
    for t, (_, prev_h, prev_c, _, _, i, f, g, o, tanh_c) in enumerate(steps):
        padded = (t >= lengths)[:, None]  # these rows keep their states
        # the step's outputs from its cache, the same floats as lstm_step_forward's
        hs.append(np.where(padded, prev_h, o * tanh_c))
        cs.append(np.where(padded, prev_c, f * prev_c + i * g))
    return np.stack(hs), np.stack(cs)
