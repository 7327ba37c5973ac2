"""Chapter 7's claims, each asserted in its direction on a small fixed seed."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from minirnn.chapters import ch07_bptt as bptt
from minirnn.data.text import CharVocab, load_corpus
from minirnn.numpy import (
    eval_numerical_gradient,
    rel_error,
    rnn_backward,
    rnn_forward,
    rnn_states,
    temporal_affine_backward,
    temporal_affine_forward,
    temporal_softmax_loss,
    word_embedding_forward,
)
from minirnn.numpy.lags import lag_decomposition
from minirnn.numpy.models import MaskedCharRNN, rnn_lm_loss
from minirnn.numpy.train import fit


def _small_lm(seed=1, N=2, T=6, D=3, H=5, V=4):
    rng = np.random.default_rng(seed)
    params = {"Wx": rng.normal(size=(D, H)) * 0.5, "Wh": rng.normal(size=(H, H)) * 0.5,
              "b": rng.normal(size=H) * 0.1, "Wy": rng.normal(size=(H, V)) * 0.5,
              "by": rng.normal(size=V) * 0.1}
    x, y = rng.normal(size=(N, T, D)), rng.integers(0, V, (N, T))
    return params, x, y, rng.normal(size=(N, H)) * 0.5


def _local_gradients(params, x, y, h0):
    h, cache = rnn_forward(x, h0, params["Wx"], params["Wh"], params["b"])
    scores, affine_cache = temporal_affine_forward(h, params["Wy"], params["by"])
    _, dscores = temporal_softmax_loss(scores, y)
    return cache, temporal_affine_backward(dscores, affine_cache)[0]


def test_bptt_recursion_equals_rnn_backward_and_keeps_T_plus_1_states():
    params, x, _, h0 = _small_lm(seed=0, N=3, T=7, D=4)
    h, cache = rnn_forward(x, h0, params["Wx"], params["Wh"], params["b"])
    dh = np.random.default_rng(5).normal(size=h.shape)
    for ours, ref in zip(bptt.manual_bptt(x, rnn_states(cache), params["Wx"], params["Wh"], dh),
                         rnn_backward(dh, cache)):
        assert np.allclose(ours, ref, atol=1e-12, rtol=0)
    assert rnn_states(cache).nbytes == (7 + 1) * 3 * 5 * 8


def test_every_gradient_passes_a_numeric_check():
    params, x, y, h0 = _small_lm()
    table = bptt.gradient_check_table(params, x, y, h0)
    assert set(table) == {"Wx", "Wh", "b", "Wy", "by", "x", "h0"}
    assert max(table.values()) < 1e-6


def test_partial_for_total_fails_everywhere_and_off_by_one_only_on_dWh():
    params, x, y, h0 = _small_lm()
    cache, dh_local = _local_gradients(params, x, y, h0)
    numeric = {
        "Wx": eval_numerical_gradient(
            lambda W: rnn_lm_loss(params | {"Wx": W}, x, y, h0)[0], params["Wx"].copy()),
        "Wh": eval_numerical_gradient(
            lambda W: rnn_lm_loss(params | {"Wh": W}, x, y, h0)[0], params["Wh"].copy()),
    }
    errors = {}
    for variant in bptt.VARIANTS:
        _, _, dWx, dWh, _ = bptt.manual_bptt(x, rnn_states(cache), params["Wx"], params["Wh"],
                                             dh_local, variant)
        errors[variant] = (rel_error(dWx, numeric["Wx"]), rel_error(dWh, numeric["Wh"]))
    assert max(errors["correct"]) < 1e-6
    assert min(errors["partial_only"]) > 1e-2
    assert errors["off_by_one"][0] < 1e-6 and errors["off_by_one"][1] > 1e-2


def test_lags_sum_to_dWh_and_lag_zero_is_the_partial_only_gradient():
    params, x, y, h0 = _small_lm()
    cache, dh_local = _local_gradients(params, x, y, h0)
    dec = lag_decomposition(rnn_states(cache), params["Wh"], dh_local)
    assert np.allclose(dec["by_lag"].sum(axis=0), rnn_backward(dh_local, cache)[3], atol=1e-12)
    partial = bptt.manual_bptt(x, rnn_states(cache), params["Wx"], params["Wh"], dh_local,
                               "partial_only")[3]
    assert np.allclose(dec["by_lag"][0], partial, atol=1e-12)


def _decompose(model, x_ids, y_ids):
    p = model.params
    emb, _ = word_embedding_forward(x_ids, p["W_embed"])
    h, cache = rnn_forward(emb, np.zeros((len(x_ids), model.H)), p["Wx"], p["Wh"], p["b"])
    scores, affine_cache = temporal_affine_forward(h, p["W_out"], p["b_out"])
    loss, dscores = temporal_softmax_loss(scores, y_ids)
    dh_local = temporal_affine_backward(dscores, affine_cache)[0]
    dec = lag_decomposition(rnn_states(cache), p["Wh"], dh_local)
    dec["dWh"] = rnn_backward(dh_local, cache)[3]
    dec["bits"] = loss / x_ids.shape[1] / np.log(2)
    return dec


@pytest.fixture(scope="module")
def lag_runs():
    """Chapter 7's character model decomposed at initialisation and after 300 Adam steps."""
    text = load_corpus()
    vocab = CharVocab.from_text(text)
    ids = vocab.encode(text[:150_000])
    T = 64
    n = (len(ids) - 1) // T
    inputs, targets = ids[: n * T].reshape(n, T), ids[1: n * T + 1].reshape(n, T)
    model = MaskedCharRNN(V=len(vocab), H=64, E=32, seed=0)
    with threadpool_limits(1):
        before = _decompose(model, inputs[-16:], targets[-16:])
        fit(model, inputs[:-16], targets[:-16], steps=300, batch_size=32, lr=0.01, seed=0)
        after = _decompose(model, inputs[-16:], targets[-16:])
    return before, after


def test_long_lags_are_swamped_but_the_gradient_does_not_vanish(lag_runs):
    before, after = lag_runs
    assert after["bits"] < 3.5 < before["bits"]
    assert 0.2 < np.linalg.norm(after["dWh"]) / np.linalg.norm(before["dWh"]) < 5
    for dec in (before, after):
        bptt.check_lag_claims(dec)


def test_lag_claims_fail_when_long_lags_grow_past_the_prose(lag_runs):
    # the prose: dropping every lag >= 20 moves dL/dWh by under 1% (measured 6.5e-04 after
    # training); lags >= 20 twenty times as large move it by over 1%
    dec = dict(lag_runs[1])
    by_lag = dec["by_lag"].copy()
    by_lag[20:] *= 20
    moved = dec | {"by_lag": by_lag, "dWh": by_lag.sum(axis=0)}
    with pytest.raises(AssertionError, match="dropping lags >= 20"):
        bptt.check_lag_claims(moved)
