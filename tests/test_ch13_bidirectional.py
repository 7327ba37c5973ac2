"""Unit tests of minirnn.chapters.ch13_bidirectional: tasks, ceiling, argument errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import minirnn.chapters.ch13_bidirectional as bi


def test_appears_later_tags_match_a_direct_loop():
    ids, tags = bi.appears_later_task(20, 9, 3, seed=1)
    for n in range(20):
        for t in range(9):
            assert tags[n, t] == int(ids[n, t].item() in ids[n, t + 1 :].tolist())
    assert torch.all(tags[:, -1] == 0)


def test_ceiling_matches_simulated_best_guess():
    T, V = 12, 4
    ceiling = bi.unidirectional_ceiling(T, V)
    ids, tags = bi.appears_later_task(40_000, T, V, seed=2)
    p = tags.float().mean(dim=0).numpy()
    guess = (p > 0.5).astype(np.int64)
    simulated = (tags.numpy() == guess).mean()
    assert abs(simulated - ceiling) < 0.01
    assert bi.unidirectional_ceiling(2, 2) == pytest.approx(0.75)


def test_first_token_labels():
    ids, labels = bi.first_token_task(5, 4, 3, seed=0)
    assert torch.equal(labels, ids[:, 0])


def test_loss_by_position_shape():
    model = bi.BidirectionalLM(5, hidden_size=4)
    data = torch.randint(5, (200,))
    assert bi.loss_by_position(model, data, T=7, n=3).shape == (7,)


def test_argument_errors():
    with pytest.raises(ValueError, match="n, T, V"):
        bi.appears_later_task(1, 1, 3)
    with pytest.raises(ValueError, match="T, V"):
        bi.unidirectional_ceiling(5, 1)
    with pytest.raises(ValueError, match="n, T, V"):
        bi.first_token_task(0, 3, 3)
    with pytest.raises(ValueError, match="read must be"):
        bi.train_classifier("middle")
    model = bi.LastOutputClassifier(0, 4, 3, cell="rnn", vocab_size=3, bidirectional=True)
    with pytest.raises(ValueError, match="lengths"):
        model(torch.zeros(1, 3, dtype=torch.long), lengths=torch.tensor([3]))
