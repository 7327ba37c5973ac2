"""Scores of predicted token sequences against targets, and the input-blind baseline.

Sequences are lists of token ids without padding or <eos>. Chapter 2 scores its one-to-many
and seq2seq models with these, chapter 9 its captioning models.

``sequence_scores`` compares position by position: after a missing or extra token (a one-word
"above" written for the two-word "left of") every later token is compared with the wrong
neighbour. The aligned scores below (edit distance, matches of an optimal alignment, the
correct prefix) do not have that problem.
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


def _check_pair(predicted, target) -> None:
    if not isinstance(predicted, (list, tuple)) or not isinstance(target, (list, tuple)):
        raise TypeError(f"predicted, target: expected two lists of token ids, got "
                        f"{type(predicted).__name__} and {type(target).__name__}")


def _suffix_table(predicted: list[int], target: list[int]) -> list[list[int]]:
    """d[i][j]: the edit distance between predicted[i:] and target[j:]."""
    m, n = len(predicted), len(target)
    d = [[0] * (n + 1) for _ in range(m + 1)]
    for i in range(m, -1, -1):
        for j in range(n, -1, -1):
            if i == m or j == n:
                d[i][j] = (m - i) + (n - j)
            else:
                d[i][j] = min(d[i + 1][j + 1] + (predicted[i] != target[j]),
                              d[i + 1][j] + 1, d[i][j + 1] + 1)
    return d


def edit_distance(predicted: list[int], target: list[int]) -> int:
    """Token edit distance (Levenshtein): the fewest insertions, deletions and substitutions
    that turn ``predicted`` into ``target``. One wrong word costs 1 wherever it stands, however
    long the rest of the sequence."""
    _check_pair(predicted, target)
    return _suffix_table(list(predicted), list(target))[0][0]


def aligned_matches(predicted: list[int], target: list[int]) -> list[bool]:
    """For each position of ``target``: is it matched by an equal token of ``predicted`` in an
    optimal (edit-distance) alignment? The alignment is read from the start, preferring a match
    or substitution, then an extra predicted token, then a missing one; so a correct prefix is
    always matched and the result is deterministic. len(result) == len(target)."""
    _check_pair(predicted, target)
    p, t = list(predicted), list(target)
    d = _suffix_table(p, t)
    matched = [False] * len(t)
    i = j = 0
    while i < len(p) and j < len(t):
        if d[i][j] == d[i + 1][j + 1] + (p[i] != t[j]):
            matched[j] = p[i] == t[j]
            i, j = i + 1, j + 1
        elif d[i][j] == d[i + 1][j] + 1:
            i += 1  # p[i] is an extra token
        else:
            j += 1  # t[j] is missing from predicted
    return matched


def aligned_position_accuracy(predicted: list[list[int]], targets: list[list[int]]
                              ) -> list[float]:
    """Accuracy at each target position 0..max length - 1, counting a position right when an
    optimal alignment matches it (``aligned_matches``); each position is averaged over the
    targets that reach it."""
    if len(predicted) != len(targets) or not targets:
        raise ValueError(f"predicted, targets: expected two non-empty lists of equal length, "
                         f"got {len(predicted)} and {len(targets)}")
    length = max(map(len, targets))
    right, count = [0] * length, [0] * length
    for p, t in zip(predicted, targets):
        for i, ok in enumerate(aligned_matches(p, t)):
            count[i] += 1
            right[i] += ok
    return [r / c if c else 0.0 for r, c in zip(right, count)]


def correct_prefix_length(predicted: list[int], target: list[int]) -> int:
    """How many leading tokens of ``predicted`` equal ``target``'s: the position of the first
    error (len(target) if there is none and ``predicted`` is not shorter)."""
    _check_pair(predicted, target)
    n = 0
    for a, b in zip(predicted, target):
        if a != b:
            break
        n += 1
    return n
