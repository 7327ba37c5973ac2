"""minirnn.numpy.lags: dL/dWh of the vanilla RNN split by time lag, against independent results."""

from __future__ import annotations

import numpy as np
import pytest

from minirnn.numpy import rnn_backward, rnn_forward, rnn_states
from minirnn.numpy.lags import chunked_dWh, lag_decomposition, truncation_error


def _case(seed=0, N=3, T=6, D=4, H=5):
    rng = np.random.default_rng(seed)
    x, h0 = rng.normal(size=(N, T, D)), rng.normal(size=(N, H)) * 0.5
    Wx, Wh, b = rng.normal(size=(D, H)) * 0.6, rng.normal(size=(H, H)) * 0.6, rng.normal(size=H)
    h, cache = rnn_forward(x, h0, Wx, Wh, b)
    return x, Wx, Wh, cache, rng.normal(size=h.shape)


def test_lags_sum_to_rnn_backward_dWh():
    _, _, Wh, cache, dh = _case(seed=1)
    dec = lag_decomposition(rnn_states(cache), Wh, dh)
    assert dec["by_lag"].shape == (6, 5, 5) and dec["gamma_norm"].shape == (6, 6)
    assert np.allclose(dec["by_lag"].sum(axis=0), rnn_backward(dh, cache)[3], atol=1e-12)
    assert np.all(np.triu(dec["gamma_norm"], 1) == 0)


def test_lag_decomposition_matches_explicit_jacobian_products():
    # one sequence, loss only at the last step T: C_l comes from h_k with k = T - l, through
    # the product of Jacobians J_T J_{T-1} ... J_{k+1}, J_j = diag(1 - h_j^2) Wh^T (eq-ch07-*)
    x, Wx, Wh, cache, dh = _case(seed=2, N=1, T=4)
    dh[:, :-1] = 0
    states = rnn_states(cache)[:, 0]  # (T + 1, H)
    T = 4
    dec = lag_decomposition(rnn_states(cache), Wh, dh)
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
        lag_decomposition(rnn_states(cache), Wh, dh[:, :5])
    with pytest.raises(ValueError, match=r"states: expected shape \(T \+ 1, N, H\)"):
        lag_decomposition(rnn_states(cache)[0], Wh, dh)


@pytest.mark.parametrize("k", [1, 2, 3, 4, 7])
def test_chunked_dWh_is_the_sum_of_backward_passes_over_detached_chunks(k):
    # independent result: run rnn_forward/rnn_backward on each chunk alone, from the state
    # the previous chunk ended in (a constant, as after detach), and add up the chunks' dWh
    rng = np.random.default_rng(3)
    N, T, D, H = 2, 7, 3, 4
    x, h0 = rng.normal(size=(N, T, D)), rng.normal(size=(N, H)) * 0.5
    Wx, Wh, b = rng.normal(size=(D, H)) * 0.6, rng.normal(size=(H, H)) * 0.6, rng.normal(size=H)
    dh = rng.normal(size=(N, T, H))
    _, cache = rnn_forward(x, h0, Wx, Wh, b)
    expected, h_start = np.zeros((H, H)), h0
    for start in range(0, T, k):
        h, chunk_cache = rnn_forward(x[:, start:start + k], h_start, Wx, Wh, b)
        expected += rnn_backward(dh[:, start:start + k], chunk_cache)[3]
        h_start = h[:, -1]
    got = chunked_dWh(rnn_states(cache), Wh, dh, k)
    assert np.allclose(got, expected, atol=1e-12)
    if k >= T:  # one chunk: full BPTT
        assert np.allclose(got, rnn_backward(dh, cache)[3], atol=1e-12)


def test_chunked_dWh_of_one_chunk_is_full_bptt_and_k_is_checked():
    _, _, Wh, cache, dh = _case(seed=4)
    assert np.allclose(chunked_dWh(rnn_states(cache), Wh, dh, 6), rnn_backward(dh, cache)[3],
                       atol=1e-12)
    # k = 1 keeps lag 0 only: the "partial only" gradient, C_0
    by_lag = lag_decomposition(rnn_states(cache), Wh, dh)["by_lag"]
    assert np.allclose(chunked_dWh(rnn_states(cache), Wh, dh, 1), by_lag[0], atol=1e-12)
    with pytest.raises(ValueError, match="k: expected a chunk length >= 1, got 0"):
        chunked_dWh(rnn_states(cache), Wh, dh, 0)
