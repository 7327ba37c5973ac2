"""minirnn.numpy.lags: dL/dWh of the vanilla RNN split by time lag, against independent results."""

from __future__ import annotations

import numpy as np
import pytest

from minirnn.numpy import rnn_backward, rnn_forward
from minirnn.numpy.lags import lag_decomposition, truncation_error


def _case(seed=0, N=3, T=6, D=4, H=5):
    rng = np.random.default_rng(seed)
    x, h0 = rng.normal(size=(N, T, D)), rng.normal(size=(N, H)) * 0.5
    Wx, Wh, b = rng.normal(size=(D, H)) * 0.6, rng.normal(size=(H, H)) * 0.6, rng.normal(size=H)
    h, cache = rnn_forward(x, h0, Wx, Wh, b)
    return x, Wx, Wh, cache, rng.normal(size=h.shape)


def test_lags_sum_to_rnn_backward_dWh():
    _, _, Wh, cache, dh = _case(seed=1)
    dec = lag_decomposition(cache["states"], Wh, dh)
    assert dec["by_lag"].shape == (6, 5, 5) and dec["gamma_norm"].shape == (6, 6)
    assert np.allclose(dec["by_lag"].sum(axis=0), rnn_backward(dh, cache)[3], atol=1e-12)
    assert np.all(np.triu(dec["gamma_norm"], 1) == 0)


def test_lag_decomposition_matches_explicit_jacobian_products():
    # one sequence, loss only at the last step T: C_l comes from h_k with k = T - l, through
    # the product of Jacobians J_T J_{T-1} ... J_{k+1}, J_j = diag(1 - h_j^2) Wh^T (eq-ch07-*)
    x, Wx, Wh, cache, dh = _case(seed=2, N=1, T=4)
    dh[:, :-1] = 0
    states = cache["states"][:, 0]  # (T + 1, H)
    T = 4
    dec = lag_decomposition(cache["states"], Wh, dh)
    for lag in range(T):
        k = T - lag
        gamma = dh[0, -1]
        for j in range(T, k, -1):
            gamma = gamma @ (np.diag(1 - states[j] ** 2) @ Wh.T)
        expected = np.outer(states[k - 1], gamma * (1 - states[k] ** 2))
        assert np.allclose(dec["by_lag"][lag], expected, atol=1e-12)
        assert np.isclose(dec["gamma_norm"][T - 1, k - 1], np.linalg.norm(gamma))
    assert np.allclose(dec["gamma_norm"][:-1], 0)


def test_truncation_error():
    by_lag = np.zeros((3, 2, 2))
    by_lag[0] = np.eye(2) * 3
    by_lag[1] = np.eye(2)
    err = truncation_error(by_lag)
    assert np.allclose(err, [0.25, 0.0, 0.0])
    with pytest.raises(ValueError, match=r"by_lag: expected shape \(T, H, H\)"):
        truncation_error(np.zeros((3, 2)))


def test_lag_decomposition_shape_errors():
    _, _, Wh, cache, dh = _case()
    with pytest.raises(ValueError, match=r"dh: expected shape \(3, 6, 5\)"):
        lag_decomposition(cache["states"], Wh, dh[:, :5])
    with pytest.raises(ValueError, match=r"states: expected shape \(T \+ 1, N, H\)"):
        lag_decomposition(cache["states"][0], Wh, dh)
