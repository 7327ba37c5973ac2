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


def test_delayed_echo_needs_k_above_the_lag():
    for k, solved in [(8, False), (9, True)]:
        for seed in (0, 1):
            model, losses = trunc.train_delayed_echo(k, lag=8, steps=500, seed=seed)
            acc, late = trunc.echo_accuracy(model, 8), np.mean(losses[-100:])
            if solved:
                assert acc > 0.98 and late < 0.1, (k, seed, acc, late)
            else:
                assert acc < 0.6 and late > 0.68, (k, seed, acc, late)


def test_carrying_the_state_beats_resetting_it_most_at_position_zero():
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
        pos[carry] = trunc.loss_by_position(model, val_ids, 16, carry=carry)
    assert pos[True].mean() < pos[False].mean() - 0.1
    assert pos[False][0] > pos[True][0] + 1.0
    assert pos[False][0] > pos[False][8:].mean() + 0.8
    assert abs(pos[True][0] - pos[True][8:].mean()) < 0.3


def test_a_larger_share_of_teaching_steps_learns_the_echo_sooner():
    steps = {}
    for k in (9, 16):
        _, losses = trunc.train_delayed_echo(k, lag=8, steps=500, seed=0)
        smooth = np.convolve(losses, np.ones(20) / 20, mode="valid")
        assert smooth.min() < 0.1
        steps[k] = int(np.argmax(smooth < 0.1))
    assert steps[16] < steps[9]
