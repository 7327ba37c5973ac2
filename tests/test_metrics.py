"""minirnn.metrics: sequence scores and the input-blind baseline, on hand-made cases."""

from __future__ import annotations

import pytest

from minirnn.data.tokens import Vocab
from minirnn.metrics import majority_per_position, sequence_scores


def test_sequence_scores_counts_missing_and_extra_tokens_as_wrong():
    scores = sequence_scores([[1, 2, 3], [4, 5], [7, 8, 9]], [[1, 2, 3], [4, 6, 6], [7]])
    assert scores["exact"] == pytest.approx(1 / 3)
    # right: 3 + 1 + 1 = 5 out of max lengths 3 + 3 + 3 = 9
    assert scores["token_accuracy"] == pytest.approx(5 / 9)


def test_sequence_scores_of_perfect_predictions_and_bad_input():
    targets = [[4, 5], [6]]
    assert sequence_scores(targets, targets) == {"exact": 1.0, "token_accuracy": 1.0}
    with pytest.raises(ValueError, match="predicted, targets: expected two non-empty lists"):
        sequence_scores([[1]], [[1], [2]])


def test_majority_per_position_is_a_blind_decoder():
    train = [[5, 1, 2], [5, 1, 3], [5, 4]]
    assert majority_per_position(train, 4) == [5, 1, 2, Vocab.EOS]  # ties: first seen
    assert majority_per_position(train, 4, eos=99)[3] == 99  # no token at position 3
