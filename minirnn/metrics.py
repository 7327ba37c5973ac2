"""Scores of predicted token sequences against targets, and the input-blind baseline.

Sequences are lists of token ids without padding or <eos>. Chapter 2 scores its one-to-many
and seq2seq models with these, chapter 9 its captioning models.
"""

from __future__ import annotations

from collections import Counter

from minirnn.data.tokens import Vocab


def sequence_scores(predicted: list[list[int]], targets: list[list[int]]) -> dict[str, float]:
    """Exact-match rate and per-token accuracy of predicted sequences against targets.

    Token accuracy compares position by position over each target's length: a missing token
    counts as wrong, and so does a token after the target's end (it is added to the count).
    Returns {"exact": ..., "token_accuracy": ...}, both in [0, 1].
    """
    if len(predicted) != len(targets) or not targets:
        raise ValueError(f"predicted, targets: expected two non-empty lists of equal length, "
                         f"got {len(predicted)} and {len(targets)}")
    exact = sum(p == t for p, t in zip(predicted, targets)) / len(targets)
    right = sum(sum(a == b for a, b in zip(p, t)) for p, t in zip(predicted, targets))
    total = sum(max(len(p), len(t)) for p, t in zip(predicted, targets))
    return {"exact": exact, "token_accuracy": right / total if total else 1.0}


def majority_per_position(train_targets: list[list[int]], length: int,
                          eos: int = Vocab.EOS) -> list[int]:
    """The most frequent training token at each position 0..length-1: a blind decoder.

    A position that no training target reaches gets `eos`.
    """
    guess = []
    for pos in range(length):
        counts = Counter(t[pos] for t in train_targets if len(t) > pos)
        guess.append(counts.most_common(1)[0][0] if counts else eos)
    return guess
