"""Gated recurrent unit (GRU), exactly as torch.nn.GRU computes it, forward and backward by hand.

Gates stacked along the last axis in torch's order r, z, n, with separate input and hidden
biases (torch keeps both, and they are not interchangeable for n):

    ax = x @ Wx + bx                                   Wx: (D, 3H), bx: (3H,)
    ah = prev_h @ Wh + bh                              Wh: (H, 3H), bh: (3H,)
    r = sigmoid(ax_r + ah_r)     reset gate
    z = sigmoid(ax_z + ah_z)     update gate
    n = tanh(ax_n + r * ah_n)    candidate state: the reset gate acts after the matmul
    next_h = z * prev_h + (1 - z) * n

(Cho et al. 2014 apply r before the matmul, tanh(x W + (r * h) U); torch and cuDNN apply it
after, as here.) torch maps in by transposition: Wx = weight_ih_l0.T, Wh = weight_hh_l0.T,
bx = bias_ih_l0, bh = bias_hh_l0.

The step functions are one line per equation; the sequence functions loop over them, as in
CS231n. This is the reference: minirnn.numpy.fast.gru computes the same numbers with BLAS-sized
matmuls over all steps and in-place buffers (faster, harder to read).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minirnn.numpy import checks
from minirnn.numpy.activations import sigmoid


def _check_weights(s: checks.Shapes, Wx: Any, Wh: Any, bx: Any, bh: Any) -> None:
    s.array("Wx", Wx, "D, 3H")
    s.array("Wh", Wh, "H, 3H")
    s.array("bx", bx, "3H")
    s.array("bh", bh, "3H")


# ---------------------------------------------------------------------------------------------
# One time step (the teaching version)
# ---------------------------------------------------------------------------------------------


def gru_step_forward(
    x: np.ndarray,
    prev_h: np.ndarray,
    Wx: np.ndarray,
    Wh: np.ndarray,
    bx: np.ndarray,
    bh: np.ndarray,
) -> tuple[np.ndarray, tuple]:
    """One step of a GRU (torch.nn.GRU's equations).

    Inputs:
    - x: (N, D) inputs at this step.
    - prev_h: (N, H) previous hidden state.
    - Wx: (D, 3H), Wh: (H, 3H) weights, gates in the order r, z, n.
    - bx: (3H,) input bias, bh: (3H,) hidden bias.

    Returns (next_h, cache): next_h (N, H).
    """
    s = checks.Shapes()
    _check_weights(s, Wx, Wh, bx, bh)
    s.array("x", x, "N, D")
    s.array("prev_h", prev_h, "N, H")
    checks.same_dtype("x", x, prev_h=prev_h, Wx=Wx, Wh=Wh, bx=bx, bh=bh)
    checks.finite(x=x, prev_h=prev_h, Wx=Wx, Wh=Wh, bx=bx, bh=bh)
    H = s["H"]

    # BEGIN SOLUTION
    ax = x @ Wx + bx  # (N, 3H) input contributions to r, z, n
    ah = prev_h @ Wh + bh  # (N, 3H) hidden contributions to r, z, n
    r = sigmoid(ax[:, 0 * H : 1 * H] + ah[:, 0 * H : 1 * H])
    z = sigmoid(ax[:, 1 * H : 2 * H] + ah[:, 1 * H : 2 * H])
    ah_n = ah[:, 2 * H : 3 * H]
    n = np.tanh(ax[:, 2 * H : 3 * H] + r * ah_n)
    next_h = (1 - z) * n + z * prev_h
    cache = (x, prev_h, Wx, Wh, r, z, n, ah_n)
    return next_h, cache
    # END SOLUTION


def gru_step_backward(
    dnext_h: np.ndarray, cache: tuple
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of gru_step_forward.

    Inputs:
    - dnext_h: (N, H) gradient with respect to next_h.
    - cache: from gru_step_forward.

    Returns (dx, dprev_h, dWx, dWh, dbx, dbh) with shapes
    (N, D), (N, H), (D, 3H), (H, 3H), (3H,), (3H,).
    """
    x, prev_h, Wx, Wh, r, z, n, ah_n = cache
    s = checks.Shapes()
    s.array("next_h", n, "N, H")
    s.array("dnext_h", dnext_h, "N, H")
    checks.finite(dnext_h=dnext_h)

    # BEGIN SOLUTION
    dn = dnext_h * (1 - z)
    dz = dnext_h * (prev_h - n)
    dan = dn * (1 - n**2)  # through tanh: gradient on ax_n + r * ah_n
    dr = dan * ah_n
    dah_n = dan * r
    dar = dr * r * (1 - r)  # through the sigmoids
    daz = dz * z * (1 - z)
    dax = np.concatenate([dar, daz, dan], axis=1)  # (N, 3H)
    dah = np.concatenate([dar, daz, dah_n], axis=1)  # (N, 3H)
    dx = dax @ Wx.T
    dprev_h = dah @ Wh.T + dnext_h * z  # prev_h also reaches next_h directly through z
    dWx = x.T @ dax
    dWh = prev_h.T @ dah
    dbx = dax.sum(axis=0)
    dbh = dah.sum(axis=0)
    return dx, dprev_h, dWx, dWh, dbx, dbh
    # END SOLUTION


# ---------------------------------------------------------------------------------------------
# A whole sequence: a loop over the step
# ---------------------------------------------------------------------------------------------


def gru_forward(
    x: np.ndarray,
    h0: np.ndarray,
    Wx: np.ndarray,
    Wh: np.ndarray,
    bx: np.ndarray,
    bh: np.ndarray,
    lengths: np.ndarray | list[int] | None = None,
) -> tuple[np.ndarray, dict]:
    """Run a GRU over a whole sequence, one gru_step_forward per time step.

    Inputs:
    - x: (N, T, D) inputs, batch-first.
    - h0: (N, H) initial hidden state.
    - Wx: (D, 3H), Wh: (H, 3H), bx: (3H,), bh: (3H,) as in gru_step_forward.
    - lengths: optional (N,) integers in [1, T] for a padded batch: sequence n stops changing
      after step lengths[n] - 1, its padded outputs are zero, and its final hidden state is
      h[n, lengths[n] - 1] (see `last_hidden`).

    Returns (h, cache): h (N, T, H) the hidden state at every step, and the cache, a dict
    with exactly two entries (gru_backward reads nothing else, so a cache built by hand to
    this layout works too):
    - cache["steps"]: a list of T step caches, cache["steps"][t] the one gru_step_forward
      returned at step t: the tuple (x_t, prev_h, Wx, Wh, r, z, n, ah_n) of arrays, computed
      before a padded row is frozen.
    - cache["lengths"]: (N,) int64, the real steps of each sequence (all T without `lengths`).
    The hidden states h_0, ..., h_T, time-major, are `gru_states(cache)`.
    """
    s = checks.Shapes()
    _check_weights(s, Wx, Wh, bx, bh)
    s.array("x", x, "N, T, D")
    s.array("h0", h0, "N, H")
    checks.same_dtype("x", x, h0=h0, Wx=Wx, Wh=Wh, bx=bx, bh=bh)
    checks.finite(x=x, h0=h0, Wx=Wx, Wh=Wh, bx=bx, bh=bh)
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
        next_h, step_cache = gru_step_forward(x[:, t], prev_h, Wx, Wh, bx, bh)
        real = (t < lengths)[:, None]  # (N, 1): False where step t is padding
        h[:, t] = next_h * real  # padded outputs are zero
        prev_h = np.where(real, next_h, prev_h)  # and a padded row keeps its state
        steps.append(step_cache)
    cache = {"steps": steps, "lengths": lengths}
    return h, cache
    # END SOLUTION


def gru_backward(
    dh: np.ndarray, cache: dict
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backpropagation through time for gru_forward, one gru_step_backward per time step.

    Inputs:
    - dh: (N, T, H) gradient with respect to every hidden state.
    - cache: from gru_forward (its layout is documented there).

    Returns (dx, dh0, dWx, dWh, dbx, dbh) with shapes
    (N, T, D), (N, H), (D, 3H), (H, 3H), (3H,), (3H,). Padded steps get zero gradient.
    """
    steps, lengths = cache["steps"], cache["lengths"]
    _, _, Wx, Wh, _, _, n, _ = steps[0]
    N, T, D, H = len(lengths), len(steps), Wx.shape[0], Wh.shape[0]
    s = checks.Shapes().bind("h", N=N, T=T, H=H)
    s.array("dh", dh, "N, T, H")
    checks.same_dtype("h", n, dh=dh)
    checks.finite(dh=dh)

    # BEGIN SOLUTION
    dx = np.zeros((N, T, D), dtype=dh.dtype)
    dWx, dWh = np.zeros_like(Wx), np.zeros_like(Wh)
    dbx, dbh = np.zeros(3 * H, dtype=dh.dtype), np.zeros(3 * H, dtype=dh.dtype)
    dprev_h = np.zeros((N, H), dtype=dh.dtype)  # dLoss/dh_t sent back by step t + 1
    for t in range(T - 1, -1, -1):
        # h_t reaches the loss through its output (zero on padding) and through step t + 1.
        # A padded step's state is a frozen copy that no output reads: nothing flows there,
        # so dprev_h is already zero on those rows.
        real = (t < lengths)[:, None]
        dnext_h = dh[:, t] * real + dprev_h
        dx[:, t], dprev_h, dWx_t, dWh_t, dbx_t, dbh_t = gru_step_backward(dnext_h, steps[t])
        dWx += dWx_t  # the weights are shared by every step: their gradients add up
        dWh += dWh_t
        dbx += dbx_t
        dbh += dbh_t
    return dx, dprev_h, dWx, dWh, dbx, dbh
    # END SOLUTION


def gru_states(cache: dict) -> np.ndarray:
    """The hidden states h_0, ..., h_T of a gru_forward call, time-major: (T + 1, N, H).

    states[0] is h0 and states[t + 1] the state after step t. With `lengths`, padded steps
    hold the frozen state (the last real one) instead of the zeros h has there.
    """
    steps, lengths = cache["steps"], cache["lengths"]
    states = [steps[0][1]]  # h0: the first step's prev_h
    for t, (_, prev_h, _, _, _, z, n, _) in enumerate(steps):
        # the step's output from its cache: next_h = z * prev_h + (1 - z) * n (the docstring's
        # equation; the same floats as gru_step_forward's, as a + b == b + a exactly)
        states.append(np.where((t < lengths)[:, None], z * prev_h + (1 - z) * n, prev_h))
    return np.stack(states)
