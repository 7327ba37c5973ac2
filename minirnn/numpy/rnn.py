"""The vanilla (Elman) RNN: one step and a whole sequence, forward and backward by hand.

Row-vector convention (CS231n): a minibatch of N inputs x of shape (N, D) and a hidden state
h of shape (N, H) go through

    next_h = tanh(x @ Wx + prev_h @ Wh + b)          Wx: (D, H), Wh: (H, H), b: (H,)

(or relu instead of tanh). torch.nn.RNN stores the transposes and two biases, so its weights
map as Wx = weight_ih_l0.T, Wh = weight_hh_l0.T, b = bias_ih_l0 + bias_hh_l0.

The step functions are one line per equation; the sequence functions loop over them, as in
CS231n. This is the reference: minirnn.numpy.fast.rnn computes the same numbers with one big
matmul for the input projections of all T steps and time-major buffers (faster, harder to read).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minirnn.numpy import checks


def _check_weights(s: checks.Shapes, Wx: Any, Wh: Any, b: Any) -> None:
    s.array("Wx", Wx, "D, H")
    s.array("Wh", Wh, "H, H")
    s.array("b", b, "H")


# ---------------------------------------------------------------------------------------------
# One time step (the teaching version)
# ---------------------------------------------------------------------------------------------


def rnn_step_forward(
    x: np.ndarray,
    prev_h: np.ndarray,
    Wx: np.ndarray,
    Wh: np.ndarray,
    b: np.ndarray,
    nonlinearity: str = "tanh",
) -> tuple[np.ndarray, tuple]:
    """One step of a vanilla RNN.

    Inputs:
    - x: (N, D) inputs at this step.
    - prev_h: (N, H) hidden state from the previous step.
    - Wx: (D, H) input-to-hidden weights.
    - Wh: (H, H) hidden-to-hidden weights.
    - b: (H,) bias.
    - nonlinearity: "tanh" or "relu".

    Returns (next_h, cache): next_h (N, H), and what rnn_step_backward needs.
    """
    s = checks.Shapes()
    _check_weights(s, Wx, Wh, b)  # the weights fix D and H; the data must agree with them
    s.array("x", x, "N, D")
    s.array("prev_h", prev_h, "N, H")
    checks.same_dtype("x", x, prev_h=prev_h, Wx=Wx, Wh=Wh, b=b)
    checks.finite(x=x, prev_h=prev_h, Wx=Wx, Wh=Wh, b=b)
    checks.nonlinearity_name(nonlinearity)

    # BEGIN SOLUTION
    a = x @ Wx + prev_h @ Wh + b  # (N, H) pre-activation
    next_h = np.tanh(a) if nonlinearity == "tanh" else np.maximum(a, 0)
    # the name as a 0-d string array: a cache holds only arrays (a grader can save it as .npz)
    cache = (x, prev_h, Wx, Wh, next_h, np.array(nonlinearity))
    return next_h, cache
    # END SOLUTION


def rnn_step_backward(
    dnext_h: np.ndarray, cache: tuple
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of rnn_step_forward.

    Inputs:
    - dnext_h: (N, H) gradient of the loss with respect to next_h.
    - cache: from rnn_step_forward.

    Returns (dx, dprev_h, dWx, dWh, db) with shapes (N, D), (N, H), (D, H), (H, H), (H,).
    """
    x, prev_h, Wx, Wh, next_h, nonlinearity = cache
    s = checks.Shapes()
    s.array("next_h", next_h, "N, H")
    s.array("dnext_h", dnext_h, "N, H")
    checks.finite(dnext_h=dnext_h)

    # BEGIN SOLUTION
    # d tanh(a)/da = 1 - tanh(a)^2, written with the output we kept; relu passes where a > 0.
    if nonlinearity == "tanh":
        da = dnext_h * (1 - next_h**2)
    else:
        da = dnext_h * (next_h > 0)
    dx = da @ Wx.T
    dprev_h = da @ Wh.T
    dWx = x.T @ da
    dWh = prev_h.T @ da
    db = da.sum(axis=0)
    return dx, dprev_h, dWx, dWh, db
    # END SOLUTION


# ---------------------------------------------------------------------------------------------
# A whole sequence: a loop over the step
# ---------------------------------------------------------------------------------------------


def rnn_forward(
    x: np.ndarray,
    h0: np.ndarray,
    Wx: np.ndarray,
    Wh: np.ndarray,
    b: np.ndarray,
    nonlinearity: str = "tanh",
    lengths: np.ndarray | list[int] | None = None,
) -> tuple[np.ndarray, dict]:
    """Run a vanilla RNN over a whole sequence, one rnn_step_forward per time step.

    Inputs:
    - x: (N, T, D) inputs, batch-first.
    - h0: (N, H) initial hidden state.
    - Wx: (D, H), Wh: (H, H), b: (H,) as in rnn_step_forward.
    - nonlinearity: "tanh" or "relu".
    - lengths: optional (N,) integers in [1, T] for a padded (ragged) batch: sequence n has
      lengths[n] real steps. Its state stops changing after its last real step and its padded
      outputs h[n, lengths[n]:] are zero. Its final state is h[n, lengths[n] - 1]
      (see `last_hidden`).

    Returns (h, cache): h (N, T, H) the hidden state at every step, and the cache, a dict
    with exactly two entries (rnn_backward reads nothing else, so a cache built by hand to
    this layout works too):
    - cache["steps"]: a list of T step caches, cache["steps"][t] the one rnn_step_forward
      returned at step t: the tuple (x_t, prev_h, Wx, Wh, next_h, nonlinearity), all arrays,
      the last a 0-d string array holding "tanh" or "relu". next_h is the step's own output,
      before a padded row is frozen.
    - cache["lengths"]: (N,) int64, the real steps of each sequence (all T without `lengths`).
    The hidden states h_0, ..., h_T, time-major, are `rnn_states(cache)`.
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
    if lengths is None:  # every sequence has all T steps
        lengths = np.full(N, T, dtype=np.int64)

    # BEGIN SOLUTION
    h = np.zeros((N, T, H), dtype=x.dtype)
    steps = []
    prev_h = h0
    for t in range(T):
        next_h, step_cache = rnn_step_forward(x[:, t], prev_h, Wx, Wh, b, nonlinearity)
        real = (t < lengths)[:, None]  # (N, 1): False where step t is padding
        h[:, t] = next_h * real  # padded outputs are zero
        prev_h = np.where(real, next_h, prev_h)  # and a padded row keeps its state
        steps.append(step_cache)
    cache = {"steps": steps, "lengths": lengths}
    return h, cache
    # END SOLUTION


def rnn_backward(
    dh: np.ndarray, cache: dict
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backpropagation through time for rnn_forward, one rnn_step_backward per time step.

    Inputs:
    - dh: (N, T, H) gradient of the loss with respect to every hidden state h.
    - cache: from rnn_forward (its layout is documented there).

    Returns (dx, dh0, dWx, dWh, db) with shapes (N, T, D), (N, H), (D, H), (H, H), (H,).
    Padded steps of a ragged batch get zero gradient.
    """
    steps, lengths = cache["steps"], cache["lengths"]
    _, _, Wx, Wh, next_h, _ = steps[0]
    N, T, D, H = len(lengths), len(steps), Wx.shape[0], Wh.shape[0]
    s = checks.Shapes().bind("h", N=N, T=T, H=H)
    s.array("dh", dh, "N, T, H")
    checks.same_dtype("h", next_h, dh=dh)
    checks.finite(dh=dh)

    # BEGIN SOLUTION
    dx = np.zeros((N, T, D), dtype=dh.dtype)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(H, dtype=dh.dtype)
    dprev_h = np.zeros((N, H), dtype=dh.dtype)  # dLoss/dh_t sent back by step t + 1
    for t in range(T - 1, -1, -1):
        # h_t reaches the loss through its output (zero on padding) and through step t + 1.
        # A padded step's state is a frozen copy that no output reads: nothing flows there,
        # so dprev_h is already zero on those rows.
        real = (t < lengths)[:, None]
        dnext_h = dh[:, t] * real + dprev_h
        dx[:, t], dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(dnext_h, steps[t])
        dWx += dWx_t  # the weights are shared by every step: their gradients add up
        dWh += dWh_t
        db += db_t
    return dx, dprev_h, dWx, dWh, db
    # END SOLUTION


def rnn_states(cache: dict) -> np.ndarray:
    """The hidden states h_0, ..., h_T of an rnn_forward call, time-major: (T + 1, N, H).

    states[0] is h0 and states[t + 1] the state after step t. Without `lengths`, states[1:] is
    rnn_forward's h moved to time-major; with `lengths`, padded steps hold the frozen state
    (the last real one) instead of the zeros h has there.
    """
    steps, lengths = cache["steps"], cache["lengths"]
    states = [steps[0][1]]  # h0: the first step's prev_h
    for t, (_, prev_h, _, _, next_h, _) in enumerate(steps):
        states.append(np.where((t < lengths)[:, None], next_h, prev_h))
    return np.stack(states)
