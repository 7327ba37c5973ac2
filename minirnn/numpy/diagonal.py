"""A diagonal tanh RNN: the small given cell that assignment A6's bidirectional layer runs on.

    h_t = tanh(x_t Wx + u * h_{t-1} + b)

The recurrent weight is a vector u (H,) instead of a matrix: each hidden unit feeds back only
into itself, as in the IndRNN of Li et al. (2018), here with tanh. It has the interface of the
sequence functions of rnn.py, lstm.py and gru.py (ragged `lengths` included), so the layers of
bidirectional.py run on it (cell "diagonal"); the assignments ship it whole, so a student
writes a bidirectional layer without first writing (or being handed) another assignment's
cells.
"""

from __future__ import annotations

import numpy as np

from minirnn.numpy import checks


def diagonal_forward(
    x: np.ndarray,
    h0: np.ndarray,
    Wx: np.ndarray,
    u: np.ndarray,
    b: np.ndarray,
    lengths: np.ndarray | list[int] | None = None,
) -> tuple[np.ndarray, dict]:
    """Run the diagonal RNN over a whole (optionally ragged) batch.

    Inputs: x (N, T, D), h0 (N, H), Wx (D, H), u (H,), b (H,); lengths: optional (N,)
    integers in [1, T]. Sequence n stops changing after its last real step, and its padded
    outputs h[n, lengths[n]:] are zero (as rnn_forward's).

    Returns (h (N, T, H), cache): the cache holds the inputs, "states" (T + 1, N, H) the
    carried states h_0..h_T (a padded row keeps its last one), "new" (N, T, H) each step's
    tanh before padding is zeroed, and "lengths" (N,).
    """
    s = checks.Shapes()
    s.array("Wx", Wx, "D, H")
    s.array("u", u, "H")
    s.array("b", b, "H")
    s.array("x", x, "N, T, D")
    s.array("h0", h0, "N, H")
    checks.same_dtype("x", x, h0=h0, Wx=Wx, u=u, b=b)
    N, T, _ = x.shape
    lengths = checks.lengths_array(lengths, N, T)
    if lengths is None:
        lengths = np.full(N, T, dtype=np.int64)
    states = np.empty((T + 1, N, s["H"]), dtype=x.dtype)
    new = np.empty((N, T, s["H"]), dtype=x.dtype)
    states[0] = h0
    running = np.arange(T)[None, :] < lengths[:, None]  # (N, T): False at the padding
    for step in range(T):
        new[:, step] = np.tanh(x[:, step] @ Wx + u * states[step] + b)
        # a padded row keeps its state
        states[step + 1] = np.where(running[:, step, None], new[:, step], states[step])
    h = new * running[..., None]
    return h, {"x": x, "Wx": Wx, "u": u, "states": states, "new": new, "lengths": lengths}


def diagonal_backward(
    dh: np.ndarray, cache: dict
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of diagonal_forward.

    dh: (N, T, H) gradient with respect to h. Returns (dx, dh0, dWx, du, db) with the shapes
    of x, h0, Wx, u, b. Padded steps get zero gradient.
    """
    x, Wx, u, states, new = cache["x"], cache["Wx"], cache["u"], cache["states"], cache["new"]
    lengths = cache["lengths"]
    N, T, _ = x.shape
    checks.Shapes().bind("the forward pass", N=N, T=T, H=u.shape[0]).array("dh", dh, "N, T, H")
    dx = np.zeros_like(x)
    dWx, du, db = np.zeros_like(Wx), np.zeros_like(u), np.zeros_like(u)
    carried = np.zeros_like(states[0])  # dL/d(state after the step)
    running = np.arange(T)[None, :] < lengths[:, None]  # (N, T)
    for step in range(T - 1, -1, -1):
        keep = running[:, step, None]
        da = np.where(keep, dh[:, step] + carried, 0.0) * (1 - new[:, step] ** 2)
        dx[:, step] = da @ Wx.T
        dWx += x[:, step].T @ da
        du += np.sum(da * states[step], axis=0)
        db += np.sum(da, axis=0)
        carried = da * u + np.where(keep, 0.0, carried)  # a padded step passes its state on
    return dx, carried, dWx, du, db
