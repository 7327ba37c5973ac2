"""Chapter 8's claims, each asserted in its direction on a small fixed seed."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import minirnn.chapters.ch08_truncated_bptt as trunc
from minirnn.data import CharVocab, TBPTTBatcher, load_corpus, split_text, to_torch
from minirnn.torch.memory import saved_tensor_bytes
from minirnn.torch.models import CharLM
from minirnn.torch.train import Trainer


def test_stateful_batches_are_the_streams_unbroken():
    text = "the cat sat on the mat. a dog ate the hat. no one ran far."
    vocab = CharVocab.from_text(text)
    batcher = TBPTTBatcher(vocab.encode(text), batch_size=3, seq_len=6)
    batches = [batcher.next_batch() for _ in range(3)]
    side_by_side = np.concatenate([x for x, _, _ in batches], axis=1)
    assert np.array_equal(side_by_side, batcher.streams[:, :18])
    assert np.array_equal(batches[0][1][:, :-1], batches[0][0][:, 1:])  # targets shifted by one


@pytest.mark.parametrize("k", [4, 8, 9, 12, 16, 24, 48])
def test_lag_gets_gradient_only_from_k_minus_lag_of_k_steps(k):
    reached = trunc.gradient_reach(k, 8, T=144)
    assert reached.mean() == pytest.approx(trunc.reach_share(k, 8))
    assert reached.any() == (k >= 9)


def test_saved_memory_is_exactly_affine_in_k():
    torch.manual_seed(0)
    V, N, E, H = 126, 32, 32, 128
    model = CharLM(V, embed_size=E, hidden_size=H, cell="rnn")
    saved = []
    for k in (8, 16, 32, 64):
        x = torch.randint(0, V, (N, k))
        saved.append(saved_tensor_bytes(lambda x=x: model.loss(x, x)[0]).nbytes)
    per_step = np.diff(saved) / np.diff([8, 16, 32, 64])
    assert np.all(per_step == N * (4 * E + 4 * H + 8 * V + 16))


@pytest.fixture(scope="module")
def echo_runs():
    """The delayed echo at 288 targets per update for k = 8, 9, 16 on two seeds."""
    ks, seeds = [8, 9, 16], [0, 1]
    acc, late, curves = np.zeros((3, 2)), np.zeros((3, 2)), {}
    for i, k in enumerate(ks):
        for j, seed in enumerate(seeds):
            model, losses = trunc.train_delayed_echo(k, lag=8, steps=500, seed=seed,
                                                     batch_size=288 // k)
            acc[i, j], late[i, j], curves[k, seed] = trunc.echo_accuracy(model, 8), \
                np.mean(losses[-100:]), losses
    smooth = {key: np.convolve(c, np.ones(20) / 20, mode="valid") for key, c in curves.items()}
    steps = np.array([[int(np.argmax(smooth[k, s] < 0.1)) for s in seeds] for k in (9, 16)])
    assert all(smooth[k, s].min() < 0.1 for k in (9, 16) for s in seeds)
    return ks, acc, late, steps


def test_delayed_echo_needs_k_above_the_lag_and_a_larger_share_learns_sooner(echo_runs):
    trunc.check_echo_claims(*echo_runs)


def test_echo_claims_fail_when_a_result_moves_past_the_prose(echo_runs):
    ks, acc, late, steps = echo_runs
    for i, j, value in [(0, 0, 0.61), (1, 1, 0.975)]:  # k = 8 off chance, k = 9 not solved
        moved = acc.copy()
        moved[i, j] = value
        with pytest.raises(AssertionError):
            trunc.check_echo_claims(ks, moved, late, steps)
    slower = steps.copy()
    slower[1, 0] = steps[0, 0]  # k = 16 no sooner than k = 9 on one seed
    with pytest.raises(AssertionError, match="learn sooner"):
        trunc.check_echo_claims(ks, acc, late, slower)


@pytest.fixture(scope="module")
def carry_runs():
    text = load_corpus()
    train_text, val_text = split_text(text, 0.1)
    vocab = CharVocab.from_text(text)
    train_ids, val_ids = vocab.encode(train_text), to_torch(vocab.encode(val_text)[:40_000])
    pos = {}
    for carry in (True, False):
        torch.manual_seed(0)
        model = CharLM(len(vocab), embed_size=32, hidden_size=128, cell="rnn")
        batches = TBPTTBatcher(train_ids, batch_size=32, seq_len=16)
        Trainer(model, batches if carry else trunc.NoCarry(batches), lr=3e-3,
                clip_norm=1.0).fit(steps=800)
        for carry_eval in (True, False):
            pos[carry, carry_eval] = trunc.loss_by_position(model, val_ids, 16, carry=carry_eval)
    return pos


def test_carrying_beats_resetting_at_evaluation_and_at_training_time(carry_runs):
    trunc.check_carry_claims(carry_runs)


def test_carry_claims_fail_when_training_time_carrying_buys_nothing(carry_runs):
    moved = dict(carry_runs)
    moved[False, True] = carry_runs[True, True] + 0.02  # within 0.03 of the carried model
    with pytest.raises(AssertionError, match="training time alone"):
        trunc.check_carry_claims(moved)


def test_chunked_truncation_moves_the_gradient_far_more_than_chapter_7s_lag_cutoff():
    ks = [4, 8, 16, 20, 32]
    errors = trunc.truncation_errors(*trunc.chapter7_gradients(), ks)
    trunc.check_truncation_claims(ks, errors)
    assert errors["chunked"][2] == pytest.approx(7.4e-2, abs=5e-4)  # the prose's numbers
    assert errors["lag cutoff"][2] == pytest.approx(2.3e-4, abs=5e-6)
    moved = {name: e.copy() for name, e in errors.items()}
    moved["chunked"][2] = 9 * errors["lag cutoff"][2]  # k = 16 only 9x the lag cutoff
    with pytest.raises(AssertionError, match="k = 16"):
        trunc.check_truncation_claims(ks, moved)


def test_updates_per_pass_are_one_for_full_bptt_and_537_at_k_64():
    text = load_corpus()
    train_ids = CharVocab.from_text(text).encode(split_text(text, 0.1)[0])
    stream = (len(train_ids) - 1) // 32
    assert stream == 34_405
    assert TBPTTBatcher(train_ids, batch_size=32, seq_len=stream).batches_per_epoch == 1
    assert TBPTTBatcher(train_ids, batch_size=32, seq_len=64).batches_per_epoch == 537
