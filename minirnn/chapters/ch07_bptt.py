"""Chapter 7: Backpropagation through time. The backward pass written out and taken apart.

Model (row vectors, course notation): a_t = x_t Wx + h_{t-1} Wh + b, h_t = tanh(a_t),
s_t = h_t Wy + by, L = sum_t L_t(s_t) averaged over the batch (temporal_softmax_loss).

- `manual_bptt`: the backward pass as a readable loop, with two common mistakes available as
  values of `variant`, so that a gradient check can catch them;
- `gradient_check_table`: the numeric check, for every parameter, of the whole model's loss
  and gradients (`minirnn.numpy.models.rnn_lm_loss`);
- `check_lag_claims`: the chapter's claims about a gradient split by lag.

The chapter's dL/dWh split into the contributions of each time lag t - k (from the loss at
step t through the state at step k), which add up to the full gradient exactly, is
`minirnn.numpy.lags.lag_decomposition`, in the library because chapter 10 uses it too.
"""

from __future__ import annotations

import numpy as np

from minirnn.numpy import eval_numerical_gradient, rel_error
from minirnn.numpy.lags import check_states, truncation_error
from minirnn.numpy.models import rnn_lm_loss

VARIANTS = ("correct", "partial_only", "off_by_one")


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
    check_states(states, dh)
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


def check_lag_claims(decomposition: dict[str, np.ndarray]) -> None:
    """The chapter's claims about one model's dL/dWh split by lag (section 7.5).

    decomposition: `lag_decomposition`'s "by_lag" (T, H, H) and "gamma_norm" (T, T), with the
    full gradient as "dWh" (H, H). Raises AssertionError naming the claims that do not hold.
    """
    by_lag, dWh, gamma = decomposition["by_lag"], decomposition["dWh"], decomposition["gamma_norm"]
    T = len(by_lag)
    n = np.linalg.norm(by_lag, axis=(1, 2))
    rate = (n[40] / n[10]) ** (1 / 30)  # geometric decay per step of lag, lags 10 to 40
    claims = {
        "the lags add up to dL/dWh": np.allclose(by_lag.sum(axis=0), dWh, atol=1e-10),
        "the gradient is far from zero": np.linalg.norm(dWh) > 1.0,
        "every lag up to T - 2 contributes": bool(np.all(n[:T - 1] > 0)),
        "lag T - 1 meets h_0 = 0": n[T - 1] == 0,
        "lag 20 carries under 1% of lag 0's norm": n[20] < 1e-2 * n[0],
        "dropping lags >= 20 moves dL/dWh by under 1%": truncation_error(by_lag)[19] < 1e-2,
        "decay per step of lag between 0.5 and 0.9": 0.5 < rate < 0.9,
        "lags 10 to 40 within 10x of the geometric line": bool(np.all(np.abs(np.log10(
            n[10:41] / (n[10] * rate ** np.arange(31)))) < 1)),
        "20 steps back is over 100x smaller along every row":
            np.mean(np.diag(gamma, k=-20)) < 1e-2 * np.mean(np.diag(gamma)),
    }
    failed = [name for name, holds in claims.items() if not holds]
    if failed:
        raise AssertionError(f"claims that do not hold: {failed}")
