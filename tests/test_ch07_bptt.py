"""minirnn.chapters.ch07_bptt: the teaching backward, its buggy variants, the gradient check."""

from __future__ import annotations

import numpy as np
import pytest

from minirnn.chapters import ch07_bptt as bptt
from minirnn.numpy import eval_numerical_gradient, rel_error, rnn_backward, rnn_forward
from minirnn.numpy.lags import lag_decomposition
from minirnn.numpy.models import rnn_lm_loss


def _case(seed=0, N=3, T=6, D=4, H=5):
    rng = np.random.default_rng(seed)
    x, h0 = rng.normal(size=(N, T, D)), rng.normal(size=(N, H)) * 0.5
    Wx, Wh, b = rng.normal(size=(D, H)) * 0.6, rng.normal(size=(H, H)) * 0.6, rng.normal(size=H)
    h, cache = rnn_forward(x, h0, Wx, Wh, b)
    return x, Wx, Wh, cache, rng.normal(size=h.shape)


def test_manual_bptt_equals_rnn_backward():
    x, Wx, Wh, cache, dh = _case()
    for ours, ref in zip(bptt.manual_bptt(x, cache["states"], Wx, Wh, dh),
                         rnn_backward(dh, cache)):
        assert np.allclose(ours, ref, atol=1e-12, rtol=0)


def test_variants_break_exactly_what_they_should():
    x, Wx, Wh, cache, dh = _case()
    ref = rnn_backward(dh, cache)
    partial = bptt.manual_bptt(x, cache["states"], Wx, Wh, dh, "partial_only")
    off = bptt.manual_bptt(x, cache["states"], Wx, Wh, dh, "off_by_one")
    assert all(not np.allclose(p, r) for p, r in zip(partial, ref))
    assert [np.allclose(o, r) for o, r in zip(off, ref)] == [True, True, True, False, True]
    with pytest.raises(ValueError, match="variant: expected one of"):
        bptt.manual_bptt(x, cache["states"], Wx, Wh, dh, "wrong")


def test_manual_bptt_shape_errors():
    x, Wx, Wh, cache, dh = _case()
    with pytest.raises(ValueError, match=r"dh: expected shape \(3, 6, 5\)"):
        bptt.manual_bptt(x, cache["states"], Wx, Wh, dh[:, :5])
    with pytest.raises(ValueError, match=r"states: expected shape \(T \+ 1, N, H\)"):
        bptt.manual_bptt(x, cache["states"][0], Wx, Wh, dh)
    with pytest.raises(ValueError, match=r"x: expected shape \(N, T, D\)"):
        bptt.manual_bptt(x[:, :5], cache["states"], Wx, Wh, dh)


def test_lag_decomposition_sums_to_dWh_and_lag_zero_is_the_partial_only_gradient():
    x, Wx, Wh, cache, dh = _case(seed=1)
    dec = lag_decomposition(cache["states"], Wh, dh)
    assert dec["by_lag"].shape == (6, 5, 5) and dec["gamma_norm"].shape == (6, 6)
    assert np.allclose(dec["by_lag"].sum(axis=0), rnn_backward(dh, cache)[3], atol=1e-12)
    partial = bptt.manual_bptt(x, cache["states"], Wx, Wh, dh, "partial_only")[3]
    assert np.allclose(dec["by_lag"][0], partial, atol=1e-12)
    assert np.all(np.triu(dec["gamma_norm"], 1) == 0)
    assert np.allclose(np.diag(dec["gamma_norm"]), np.linalg.norm(dh, axis=(0, 2)))


def test_rnn_lm_loss_gradients_and_check_table():
    rng = np.random.default_rng(3)
    N, T, D, H, V = 2, 4, 3, 4, 3
    params = {"Wx": rng.normal(size=(D, H)) * 0.5, "Wh": rng.normal(size=(H, H)) * 0.5,
              "b": rng.normal(size=H) * 0.1, "Wy": rng.normal(size=(H, V)) * 0.5,
              "by": rng.normal(size=V) * 0.1}
    x, y, h0 = rng.normal(size=(N, T, D)), rng.integers(0, V, (N, T)), rng.normal(size=(N, H))
    table = bptt.gradient_check_table(params, x, y, h0)
    assert set(table) == {*params, "x", "h0"} and max(table.values()) < 1e-6
    _, grads = rnn_lm_loss(params, x, y, h0)
    numeric = eval_numerical_gradient(
        lambda W: rnn_lm_loss(params | {"Wh": W}, x, y, h0)[0], params["Wh"].copy())
    assert rel_error(grads["Wh"], numeric) < 1e-6
