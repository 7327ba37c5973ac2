"""minirnn.metrics: sequence scores, aligned scores and the input-blind baseline, on hand-made
cases."""

from __future__ import annotations

import pytest

from minirnn.data.tokens import Vocab
from minirnn.metrics import (
    aligned_matches,
    aligned_position_accuracy,
    correct_prefix_length,
    edit_distance,
    majority_per_position,
    sequence_scores,
)


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


# "a red circle left of a blue square" against "a red circle above a blue square": one word
# written for two. Position by position, every word after the relation is compared with the
# wrong neighbour; aligned, only the relation is wrong.
A, RED, CIRCLE, LEFT, OF, ABOVE, BLUE, SQUARE = range(3, 11)
TRUTH = [A, RED, CIRCLE, LEFT, OF, A, BLUE, SQUARE]
WRITTEN = [A, RED, CIRCLE, ABOVE, A, BLUE, SQUARE]


def test_edit_distance_counts_one_wrong_relation_once():
    assert edit_distance(WRITTEN, TRUTH) == 2  # "above" for "left", "of" missing
    assert sequence_scores([WRITTEN], [TRUTH])["token_accuracy"] == pytest.approx(3 / 8)
    assert edit_distance(TRUTH, TRUTH) == 0
    assert edit_distance([], [1, 2]) == edit_distance([1, 2], []) == 2
    assert edit_distance([1, 2, 3], [2, 3, 4]) == 2  # delete 1, insert 4
    assert edit_distance([1, 2], [2, 1]) == 2  # no transpositions


def test_aligned_matches_keep_the_words_after_a_wrong_relation():
    assert aligned_matches(WRITTEN, TRUTH) == [True, True, True, False, False, True, True, True]
    assert aligned_position_accuracy([WRITTEN, TRUTH], [TRUTH, TRUTH]) == [
        1.0, 1.0, 1.0, 0.5, 0.5, 1.0, 1.0, 1.0]
    # a correct prefix is always matched, even where another optimal alignment would not
    assert aligned_matches([5, 5], [5, 6, 5])[0] is True
    assert aligned_matches([1], [2]) == [False]
    assert aligned_matches([], [1, 2]) == [False, False]


def test_aligned_position_accuracy_averages_over_targets_that_reach_a_position():
    assert aligned_position_accuracy([[1, 2, 3], [1]], [[1, 2, 3], [1]]) == [1.0, 1.0, 1.0]
    assert aligned_position_accuracy([[9], [1, 2]], [[1], [1, 2]]) == [0.5, 1.0]


def test_correct_prefix_length_is_the_first_error():
    assert correct_prefix_length(WRITTEN, TRUTH) == 3
    assert correct_prefix_length(TRUTH, TRUTH) == len(TRUTH)
    assert correct_prefix_length([], [1]) == 0
    assert correct_prefix_length([2, 1], [1]) == 0


def test_aligned_scores_reject_bad_input():
    with pytest.raises(TypeError, match="predicted, target: expected two lists"):
        edit_distance("ab", [1])
    with pytest.raises(ValueError, match="predicted, targets: expected two non-empty lists"):
        aligned_position_accuracy([[1]], [])
