"""dL/dWh of the vanilla tanh RNN split by time lag, and what truncating the lags loses.

The loss at step t reaches Wh through every earlier state h_k (k <= t); the lag is t - k.
Chapter 7 shows that the contributions of all lags add up to the full gradient exactly and
that long lags are small; chapter 10 measures how fast they shrink.

States are time-major (T + 1, N, H) with states[0] = h_0, as `rnn_forward`'s cache holds them;
local gradients dh are (N, T, H).
"""

from __future__ import annotations

import numpy as np


def check_states(states: np.ndarray, dh: np.ndarray) -> None:
    """Raise a ValueError unless states is (T + 1, N, H) and dh is (N, T, H)."""
    if states.ndim != 3:
        raise ValueError(f"states: expected shape (T + 1, N, H), got {states.shape}")
    T1, N, H = states.shape
    if dh.shape != (N, T1 - 1, H):
        raise ValueError(f"dh: expected shape {(N, T1 - 1, H)} (N, T, H) to match states, "
                         f"got {dh.shape}")


def lag_decomposition(states: np.ndarray, Wh: np.ndarray, dh: np.ndarray) -> dict[str, np.ndarray]:
    """Split dL/dWh by time lag.

    The loss at step t reaches Wh through every earlier state h_k (k <= t). Its contribution
    through h_k is h_{k-1}^T (gamma_{t,k} * (1 - h_k^2)), where gamma_{t,k} = dL_t/dh_k is the
    gradient of L_t alone carried back from h_t to h_k. The lag is t - k.

    Inputs:
    - states: (T + 1, N, H) time-major states, states[0] = h_0 (as rnn_forward's cache holds).
    - Wh: (H, H).
    - dh: (N, T, H) local gradients dL_t/dh_t.

    Returns {"by_lag": (T, H, H) contribution of each lag 0..T-1 (they sum to dL/dWh),
    "gamma_norm": (T, T) with [t - 1, k - 1] = ||dL_t/dh_k|| (Frobenius over N and H) for
    k <= t and 0 above the diagonal}.
    """
    check_states(states, dh)
    N, T, H = dh.shape
    by_lag = np.zeros((T, H, H))
    gamma_norm = np.zeros((T, T))
    deriv = 1.0 - states[1:] ** 2  # (T, N, H): tanh'(a_k) for k = 1..T
    for t in range(1, T + 1):
        gamma = dh[:, t - 1]  # dL_t/dh_t
        for k in range(t, 0, -1):
            gamma_norm[t - 1, k - 1] = np.linalg.norm(gamma)
            da = gamma * deriv[k - 1]  # dL_t/da_k
            by_lag[t - k] += states[k - 1].T @ da  # through h_k, pairing with h_{k-1}
            gamma = da @ Wh.T  # dL_t/dh_{k-1}
    return {"by_lag": by_lag, "gamma_norm": gamma_norm}


def truncation_error(by_lag: np.ndarray) -> np.ndarray:
    """Relative error || sum_{lag < L} C_lag - dWh || / || dWh || for L = 1..T (array of T).

    by_lag: (T, H, H) from `lag_decomposition`. Entry L - 1 is how far the gradient is from
    the full one when only lags below L are kept; the last entry is 0.
    """
    if by_lag.ndim != 3:
        raise ValueError(f"by_lag: expected shape (T, H, H), got {by_lag.shape}")
    full = by_lag.sum(axis=0)
    partial_sums = np.cumsum(by_lag, axis=0)
    return np.linalg.norm(partial_sums - full, axis=(1, 2)) / np.linalg.norm(full)


def chunked_dWh(states: np.ndarray, Wh: np.ndarray, dh: np.ndarray, k: int) -> np.ndarray:
    """dL/dWh as truncated BPTT computes it when the T steps are read in chunks of k steps
    (steps 1..k, k+1..2k, ...; the last chunk may be shorter) and the state is detached at
    every chunk start: the forward states are unchanged, but the gradient carried back from
    step t to step t - 1 is dropped whenever t starts a chunk.

    This differs from dropping every lag >= k (`truncation_error`): a loss at position p
    (0-based) of its chunk keeps only the lags 0..p, so the first loss of each chunk keeps
    lag 0 alone.

    states (T + 1, N, H), Wh (H, H), dh (N, T, H) local gradients dL_t/dh_t; returns (H, H).
    """
    check_states(states, dh)
    if k < 1:
        raise ValueError(f"k: expected a chunk length >= 1, got {k}")
    N, T, H = dh.shape
    dWh = np.zeros((H, H))
    carried = np.zeros((N, H))  # dL/dh_t from the losses after step t, within t's chunk
    for t in range(T, 0, -1):
        da = (dh[:, t - 1] + carried) * (1.0 - states[t] ** 2)  # dL/da_t
        dWh += states[t - 1].T @ da
        starts_chunk = (t - 1) % k == 0
        carried = np.zeros((N, H)) if starts_chunk else da @ Wh.T  # the cut (detach)
    return dWh
