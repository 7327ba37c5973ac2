"""Chapter 7: backpropagation through time, written out and taken apart.

Model (row vectors, course notation): a_t = x_t Wx + h_{t-1} Wh + b, h_t = tanh(a_t),
s_t = h_t Wy + by, L = sum_t L_t(s_t) averaged over the batch (temporal_softmax_loss).

- `manual_bptt`: the backward pass as a readable loop, with two classic mistakes available as
  values of `variant`, so that a gradient check can catch them;
- `rnn_lm_loss` and `gradient_check_table`: the whole model's loss and gradients, and their
  numeric check for every parameter;
- `lag_decomposition`: dL/dWh split into the contributions of each time lag t - k (from the
  loss at step t through the state at step k), which add up to the full gradient exactly.
"""

from __future__ import annotations

import numpy as np

from minirnn.numpy import (
    eval_numerical_gradient,
    rel_error,
    rnn_backward,
    rnn_forward,
    temporal_affine_backward,
    temporal_affine_forward,
    temporal_softmax_loss,
)

VARIANTS = ("correct", "partial_only", "off_by_one")


def _check_states(states: np.ndarray, dh: np.ndarray) -> None:
    if states.ndim != 3:
        raise ValueError(f"states: expected shape (T + 1, N, H), got {states.shape}")
    T1, N, H = states.shape
    if dh.shape != (N, T1 - 1, H):
        raise ValueError(f"dh: expected shape {(N, T1 - 1, H)} (N, T, H) to match states, "
                         f"got {dh.shape}")


def manual_bptt(x: np.ndarray, states: np.ndarray, Wx: np.ndarray, Wh: np.ndarray,
                dh: np.ndarray, variant: str = "correct"
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backpropagation through time for the vanilla tanh RNN, one line per equation.

    Inputs:
    - x: (N, T, D) inputs.
    - states: (T + 1, N, H) with states[0] = h_0 and states[t] = h_t (time-major, as
      minirnn.numpy.rnn_states(cache) returns them for rnn_forward's cache).
    - Wx: (D, H), Wh: (H, H) weights.
    - dh: (N, T, H) the local gradients dL_t/dh_t (partial: through the outputs of step t only).
    - variant: "correct"; "partial_only" forgets the gradient that flows back from later steps
      (uses the partial dL_t/dh_t where the total dL/dh_t is needed); "off_by_one" pairs the
      gradient at step t with h_t instead of h_{t-1} in dWh.

    Returns (dx, dh0, dWx, dWh, db) with shapes (N, T, D), (N, H), (D, H), (H, H), (H,), like
    minirnn.numpy.rnn_backward.
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant: expected one of {VARIANTS}, got {variant!r}")
    _check_states(states, dh)
    if x.shape[:2] != dh.shape[:2]:
        raise ValueError(f"x: expected shape (N, T, D) with (N, T) = {dh.shape[:2]}, "
                         f"got {x.shape}")
    T = dh.shape[1]
    da = np.zeros_like(dh)  # da[:, t - 1] will hold the total dL/da_t
    delta = np.zeros_like(states[0])  # dL/dh_{T+1} = 0: nothing comes from beyond the end
    for t in range(T, 0, -1):  # t = T, ..., 1; states[t] is h_t, dh[:, t - 1] is dL_t/dh_t
        from_later = delta if variant != "partial_only" else 0.0
        total = dh[:, t - 1] + from_later  # dL/dh_t = partial dL_t/dh_t + what step t+1 sends
        da[:, t - 1] = total * (1.0 - states[t] ** 2)  # dL/da_t, through tanh
        delta = da[:, t - 1] @ Wh.T  # dL/dh_{t-1}, the part that arrives through a_t
    prev = states[:-1] if variant != "off_by_one" else states[1:]  # h_{t-1} (the bug: h_t)
    dWh = np.einsum("tnh,ntk->hk", prev, da)  # sum over t and n of h_{t-1}^T dL/da_t
    dWx = np.einsum("ntd,ntk->dk", x, da)  # sum over t and n of x_t^T dL/da_t
    db = da.sum(axis=(0, 1))
    dx = da @ Wx.T
    return dx, delta, dWx, dWh, db


def rnn_lm_loss(params: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray,
                h0: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
    """Loss and gradients of RNN + per-step scores + softmax loss (summed over T, mean over N).

    Inputs: params with Wx (D, H), Wh (H, H), b (H,), Wy (H, V), by (V,); x (N, T, D) floats;
    y (N, T) targets in [0, V); h0 (N, H). Returns (loss, grads) where grads has a key for
    each parameter and for "x" and "h0".
    """
    p = params
    h, rnn_cache = rnn_forward(x, h0, p["Wx"], p["Wh"], p["b"])
    scores, affine_cache = temporal_affine_forward(h, p["Wy"], p["by"])
    loss, dscores = temporal_softmax_loss(scores, y)
    dh, dWy, dby = temporal_affine_backward(dscores, affine_cache)
    dx, dh0, dWx, dWh, db = rnn_backward(dh, rnn_cache)
    return loss, {"Wx": dWx, "Wh": dWh, "b": db, "Wy": dWy, "by": dby, "x": dx, "h0": dh0}


def gradient_check_table(params: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray,
                         h0: np.ndarray, h: float = 1e-6) -> dict[str, float]:
    """Relative error between `rnn_lm_loss`'s gradients and central differences, per array.

    Use float64 and a small problem. Returns {name: max relative error} for every parameter
    and for x and h0.
    """
    _, grads = rnn_lm_loss(params, x, y, h0)
    inputs = {**params, "x": x, "h0": h0}
    table = {}
    for name, value in inputs.items():
        def f(_, name=name):
            arrays = {**params, "x": x, "h0": h0}
            return rnn_lm_loss({k: arrays[k] for k in params}, arrays["x"], y, arrays["h0"])[0]
        table[name] = rel_error(grads[name], eval_numerical_gradient(f, value, h))
    return table


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
    _check_states(states, dh)
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
