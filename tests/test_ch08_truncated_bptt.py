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
