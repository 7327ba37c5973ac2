"""Unit tests of minirnn.chapters.ch08_truncated_bptt, each against an independent result."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import minirnn.chapters.ch08_truncated_bptt as trunc


def test_reach_share_formula_and_errors():
    assert trunc.reach_share(8, 8) == 0.0
    assert trunc.reach_share(9, 8) == pytest.approx(1 / 9)
    assert trunc.reach_share(16, 8) == 0.5
    assert trunc.reach_share(5, 0) == 1.0
    with pytest.raises(ValueError, match="k, lag"):
        trunc.reach_share(0, 1)


def test_gradient_reach_pattern_by_position():
    reached = trunc.gradient_reach(6, 2, T=18)
    # positions 2..5 of every chunk of 6 reach back 2 steps; positions 0, 1 do not
    expected = np.tile([False, False, True, True, True, True], 3)
    assert np.array_equal(reached, expected)
    # without truncation (k >= T) every step from the lag on is reached
    assert np.array_equal(trunc.gradient_reach(18, 2, T=18), np.arange(18) >= 2)


def test_delayed_echo_stream_targets():
    x, y = trunc.delayed_echo_stream(3, 20, 5, seed=1)
    assert x.shape == y.shape == (3, 20)
    assert torch.equal(y[:, 5:], x[:, :-5]) and torch.all(y[:, :5] == -100)
    assert set(x.unique().tolist()) <= {0, 1}
    with pytest.raises(ValueError, match="lag, length"):
        trunc.delayed_echo_stream(1, 5, 5)


def test_echo_accuracy_of_a_perfect_and_a_constant_predictor():
    class Oracle(trunc.EchoRNN):
        def forward(self, x, h=None):
            shifted = torch.zeros_like(x)
            shifted[:, 3:] = x[:, :-3]
            return torch.nn.functional.one_hot(shifted, 2).float(), h

    class Zero(trunc.EchoRNN):
        def forward(self, x, h=None):
            return torch.nn.functional.one_hot(torch.zeros_like(x), 2).float(), h

    assert trunc.echo_accuracy(Oracle(), 3) == 1.0
    assert 0.45 < trunc.echo_accuracy(Zero(), 3) < 0.55


def test_train_delayed_echo_learns_a_lag_inside_the_chunk():
    model, losses = trunc.train_delayed_echo(k=6, lag=2, hidden_size=16, steps=300, seed=0)
    assert np.mean(losses[-20:]) < 0.1 < np.mean(losses[:20])
    assert trunc.echo_accuracy(model, 2) > 0.98


class _Counter(torch.nn.Module):
    """Predicts from its carried state only: logit of id 0 = number of steps seen so far."""

    def forward(self, x, state=None):
        n = torch.zeros(x.shape[0]) if state is None else state
        steps = n[:, None] + torch.arange(1, x.shape[1] + 1)[None]
        logits = torch.stack([steps, torch.zeros_like(steps)], dim=-1)
        return logits, n + x.shape[1]


def test_loss_by_position_resets_or_carries_the_state():
    ids = torch.zeros(4 * 3 * 4 + 1, dtype=torch.long)  # target always id 0
    carried = trunc.loss_by_position(_Counter(), ids, k=4, carry=True, streams=4)
    reset = trunc.loss_by_position(_Counter(), ids, k=4, carry=False, streams=4)
    # reset: every chunk starts counting from 1, so position p always has logit p + 1
    expected = np.log2(1 + np.exp(-np.arange(1, 5)))
    assert np.allclose(reset, expected)
    assert np.all(carried < reset)  # later chunks have larger counts, so lower loss
    with pytest.raises(ValueError, match="too few"):
        trunc.loss_by_position(_Counter(), ids[:10], k=4, carry=True, streams=4)


def test_no_carry_drops_the_new_epoch_flag():
    batcher = trunc.TBPTTBatcher(np.arange(50), batch_size=2, seq_len=5)
    x, y = trunc.NoCarry(batcher).next_batch()
    assert x.shape == y.shape == (2, 5) and np.array_equal(y[:, :-1], x[:, 1:])


def test_remaining_bad_inputs_name_the_argument():
    with pytest.raises(ValueError, match="T, k, lag"):
        trunc.gradient_reach(0, 2, T=10)
    with pytest.raises(ValueError, match="k: expected k >= 1"):
        trunc.train_delayed_echo(0)
    with pytest.raises(ValueError, match=r"ids: expected shape \(L,\)"):
        trunc.loss_by_position(_Counter(), torch.zeros(2, 10, dtype=torch.long), k=4, carry=True)


def test_truncation_errors_against_chunked_dWh_and_truncation_error():
    from minirnn.numpy import rnn_backward, rnn_forward, rnn_states
    from minirnn.numpy.lags import chunked_dWh, lag_decomposition, truncation_error

    rng = np.random.default_rng(0)
    N, T, D, H = 2, 8, 3, 4
    Wh = rng.normal(size=(H, H)) * 0.6
    _, cache = rnn_forward(rng.normal(size=(N, T, D)), np.zeros((N, H)),
                           rng.normal(size=(D, H)), Wh, rng.normal(size=H))
    states, dh = rnn_states(cache), rng.normal(size=(N, T, H))
    errors = trunc.truncation_errors(states, Wh, dh, [2, 8])
    full = rnn_backward(dh, cache)[3]
    expected = np.linalg.norm(chunked_dWh(states, Wh, dh, 2) - full) / np.linalg.norm(full)
    assert errors["chunked"][0] == pytest.approx(expected)
    assert errors["chunked"][1] == pytest.approx(0, abs=1e-12)  # one chunk: full BPTT
    cutoff = truncation_error(lag_decomposition(states, Wh, dh)["by_lag"])
    assert np.allclose(errors["lag cutoff"], [cutoff[1], cutoff[7]])
    assert errors["chunked"][0] > errors["lag cutoff"][0]  # the chunked cut drops more
    with pytest.raises(ValueError, match=r"ks: expected chunk lengths in \[1, 8\]"):
        trunc.truncation_errors(states, Wh, dh, [9])


def test_claim_checks_pass_on_clear_cases_and_name_what_fails():
    ks = [8, 9, 16]
    acc = np.array([[0.5, 0.52], [0.99, 1.0], [1.0, 1.0]])
    late = np.array([[0.69, 0.70], [0.05, 0.02], [0.0, 0.0]])
    steps = np.array([[150, 200], [60, 70]])
    trunc.check_echo_claims(ks, acc, late, steps)
    with pytest.raises(AssertionError, match="k = 9 > lag should solve"):
        trunc.check_echo_claims(ks, acc, late + np.array([[0], [0.2], [0]]), steps)
    pos = {(True, True): np.full(16, 2.9), (False, False): np.r_[4.0, np.full(15, 3.0)],
           (False, True): np.full(16, 2.95), (True, False): np.r_[5.0, np.full(15, 2.9)]}
    pos[False, False][1:] = 3.0
    trunc.check_carry_claims(pos)
    with pytest.raises(AssertionError, match="position 0 over a bit worse"):
        trunc.check_carry_claims(pos | {(False, False): np.r_[3.5, np.full(15, 3.0)]})
    errors = {"chunked": np.array([0.1, 0.08]), "lag cutoff": np.array([1e-3, 1e-4])}
    trunc.check_truncation_claims([16, 20], errors)
    with pytest.raises(AssertionError, match="not above 1%"):
        trunc.check_truncation_claims([16, 20], {**errors, "chunked": np.array([0.1, 0.009])})
