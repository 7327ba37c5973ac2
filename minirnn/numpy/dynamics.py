"""Gradient dynamics of the tanh RNN: Jacobians over time, the spectrum of Wh, vanishing lags.

Model (row vectors, course notation): h_t = tanh(h_{t-1} Wh + u_t), where u_t = x_t Wx + b is
the input drive of step t. The one-step Jacobian (entry (i, j) = d h_{t,i} / d h_{t-1,j}) is

    dh_t/dh_{t-1} = diag(1 - h_t^2) Wh^T

and the Jacobian over k steps, dh_t/dh_{t-k}, is the product of k of them, newest on the left.
Backpropagation multiplies a gradient by exactly these matrices, so their norms say how much of
a loss at step t reaches the state k steps earlier (chapter 10).

- `rnn_step_jacobian`: the one-step Jacobian of every sequence of a batch;
- `jacobian_product`: dh_t/dh_{t-k} along one trajectory of states;
- `spectrum`: sigma_max (largest singular value) and rho (spectral radius) of a matrix;
- `jacobian_norms_by_lag`: ||dh_T/dh_{T-k}||_2 for k = 1..T along a driven trajectory;
- `predicted_vanishing_lag`: the lag at which ||Wh^k||_2 falls below a threshold, from the
  spectrum alone (no loop), for a normal Wh.
"""

from __future__ import annotations

import math

import numpy as np


def _square(name: str, W: np.ndarray) -> int:
    if not isinstance(W, np.ndarray) or W.ndim != 2 or W.shape[0] != W.shape[1]:
        raise ValueError(f"{name}: expected a square 2-D array (H, H), got "
                         f"{getattr(W, 'shape', type(W).__name__)}")
    return W.shape[0]


def rnn_step_jacobian(next_h: np.ndarray, Wh: np.ndarray) -> np.ndarray:
    """The one-step Jacobians dh_t/dh_{t-1} of a tanh RNN, one per sequence of the batch.

    Inputs:
    - next_h: (N, H) the states h_t the step produced (tanh' is 1 - h_t^2, read off h_t).
    - Wh: (H, H) recurrent weights.

    Returns J (N, H, H) with J[n, i, j] = d h_t[n, i] / d h_{t-1}[n, j] = (1 - h_t[n, i]^2)
    Wh[j, i].
    """
    H = _square("Wh", Wh)
    if not isinstance(next_h, np.ndarray) or next_h.ndim != 2 or next_h.shape[1] != H:
        raise ValueError(f"next_h: expected shape (N, {H}), got "
                         f"{getattr(next_h, 'shape', type(next_h).__name__)}")
    # BEGIN SOLUTION
    tanh_slope = 1.0 - next_h ** 2  # (N, H): tanh'(a_t) written with h_t = tanh(a_t)
    return tanh_slope[:, :, None] * Wh.T[None]  # row i of Wh^T scaled by unit i's slope
    # END SOLUTION


def jacobian_product(states: np.ndarray, Wh: np.ndarray, t: int, k: int) -> np.ndarray:
    """dh_t/dh_{t-k} (H, H) along one trajectory: the product of the k one-step Jacobians of
    steps t, t - 1, ..., t - k + 1, the newest on the left.

    Inputs:
    - states: (T + 1, H) the states h_0..h_T of one sequence (states[0] = h_0).
    - Wh: (H, H) the recurrent weights that produced them.
    - t: the later step, 1 <= t <= T; k: the lag, 0 <= k <= t (k = 0 gives the identity).
    """
    H = _square("Wh", Wh)
    if not isinstance(states, np.ndarray) or states.ndim != 2 or states.shape[1] != H:
        raise ValueError(f"states: expected shape (T + 1, {H}), got "
                         f"{getattr(states, 'shape', type(states).__name__)}")
    T = states.shape[0] - 1
    if not 1 <= t <= T:
        raise ValueError(f"t: expected a step in [1, {T}], got {t}")
    if not 0 <= k <= t:
        raise ValueError(f"k: expected a lag in [0, t = {t}], got {k}")
    # BEGIN SOLUTION
    through = np.eye(H, dtype=np.result_type(states, Wh))  # dh_t/dh_t
    for s in range(t, t - k, -1):  # append one older step on the right each time
        through = through @ rnn_step_jacobian(states[s][None], Wh)[0]
    return through
    # END SOLUTION


def spectrum(W: np.ndarray) -> tuple[float, float]:
    """(sigma_max, rho) of a square matrix W (H, H): its largest singular value (from the SVD)
    and its spectral radius, the largest modulus of its (possibly complex) eigenvalues.

    rho <= sigma_max always; they are equal when W is normal (W W^T = W^T W).
    """
    _square("W", W)
    # BEGIN SOLUTION
    singular_values = np.linalg.svd(W, compute_uv=False)
    moduli = np.abs(np.linalg.eigvals(W))  # complex eigenvalues count by their modulus
    return float(singular_values[0]), float(moduli.max())
    # END SOLUTION


def jacobian_norms_by_lag(Wh: np.ndarray, drive: np.ndarray,
                          h0: np.ndarray | None = None) -> np.ndarray:
    """Run h_t = tanh(h_{t-1} Wh + u_t) for t = 1..T and measure how the Jacobian from the last
    state back to earlier ones shrinks (or grows) with the lag.

    Inputs:
    - Wh: (H, H) recurrent weights.
    - drive: (T, H) the input term u_t = x_t Wx + b of each step.
    - h0: (H,) initial state, zeros by default.

    Returns norms (T,) with norms[k - 1] = ||dh_T/dh_{T-k}||_2 (largest singular value), k = 1..T.
    """
    H = _square("Wh", Wh)
    if not isinstance(drive, np.ndarray) or drive.ndim != 2 or drive.shape[1] != H:
        raise ValueError(f"drive: expected shape (T, {H}), got "
                         f"{getattr(drive, 'shape', type(drive).__name__)}")
    h0 = np.zeros(H) if h0 is None else np.asarray(h0, dtype=float)
    if h0.shape != (H,):
        raise ValueError(f"h0: expected shape ({H},), got {h0.shape}")
    # BEGIN SOLUTION
    trajectory = [h0]
    for drive_t in drive:
        trajectory.append(np.tanh(trajectory[-1] @ Wh + drive_t))
    T = len(drive)
    back = np.eye(H)  # dh_T/dh_{T-k}, grown one step to the right per lag
    lag_norms = np.empty(T)
    for lag in range(1, T + 1):
        back = back @ rnn_step_jacobian(trajectory[T - lag + 1][None], Wh)[0]
        lag_norms[lag - 1] = np.linalg.norm(back, 2)
    return lag_norms
    # END SOLUTION


def predicted_vanishing_lag(Wh: np.ndarray, threshold: float = 1e-6) -> int | None:
    """The first lag k >= 1 at which ||dh_t/dh_{t-k}||_2 = ||Wh^k||_2 of the LINEAR recurrence
    h_t = h_{t-1} Wh falls below `threshold`, predicted from the spectrum alone (no loop over
    k, no matrix powers), for a normal Wh (symmetric, or a multiple of an orthogonal matrix).

    Returns None when the norm never falls below the threshold (rho >= 1). The written question
    of the assignment's notebook asks why rho, not sigma_max, decides this for long lags.
    """
    _square("Wh", Wh)
    if not 0 < threshold < 1:
        raise ValueError(f"threshold: expected a number in (0, 1), got {threshold}")
    # BEGIN SOLUTION
    radius = spectrum(Wh)[1]
    if radius >= 1.0:
        return None  # ||Wh^k|| = rho^k never shrinks
    if radius == 0.0:
        return 1  # Wh^1 = 0 already (a normal matrix with rho = 0 is zero)
    # rho^k < threshold  <=>  k > log(threshold) / log(rho)  (both logs negative)
    return int(math.floor(math.log(threshold) / math.log(radius))) + 1
    # END SOLUTION
