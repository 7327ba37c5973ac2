"""Scoring and baselines of chapter 2's experiment, on hand-made cases."""

from __future__ import annotations

import pytest
import torch

from minirnn.chapters import ch02_five_architectures as arch


def test_sequence_scores_counts_missing_and_extra_tokens_as_wrong():
    scores = arch.sequence_scores([[1, 2, 3], [4, 5], [7, 8, 9]], [[1, 2, 3], [4, 6, 6], [7]])
    assert scores["exact"] == pytest.approx(1 / 3)
    # right: 3 + 1 + 1 = 5 out of max lengths 3 + 3 + 3 = 9
    assert scores["token_accuracy"] == pytest.approx(5 / 9)


def test_majority_per_position_is_a_blind_decoder():
    train = [[5, 1, 2], [5, 1, 3], [5, 4]]
    assert arch.majority_per_position(train, 4) == [5, 1, 2, 2]  # ties: first seen; then <eos>
    assert arch.majority_per_position(train, 4)[3] == 2  # no token at position 3 -> Vocab.EOS


def test_beats_chance_needs_double_or_half_way():
    assert arch.beats_chance(0.2, 0.1) and not arch.beats_chance(0.19, 0.1)
    assert arch.beats_chance(0.8, 0.6) and not arch.beats_chance(0.79, 0.6)


def test_task_data_shapes_and_determinism():
    data = arch.task_data("synced", quick=True)
    x, tags = data.train
    assert x.shape == (800, 10, 256) and tags.shape == (800, 10)
    assert torch.equal(arch.task_data("synced", quick=True).train[0], x)
    with pytest.raises(ValueError, match="name: expected one of"):
        arch.task_data("two_to_two")
