"""Chapter 1: Why recurrence. Generated tasks and the NumPy models that compare on them.

Three needs motivate recurrence, and each has a task here that a feed-forward model cannot do:

- variable length: `FlatMLP` takes exactly T steps; `ManyToOneRNN` takes any T with the same
  weights (both in `minirnn.numpy.classifiers`);
- order: in `order_task` the label is whether token A comes before token B, so `BagOfTokens`,
  which sees only how often each token occurs, is at chance by construction;
- memory: in `first_token_task` the label is the first token, read only after T steps, so
  `LastStepOnly`, which sees one step, is at chance.

Every model has `params` (a dict of arrays), `loss(tokens, labels) -> (loss, grads)` and
`predict(tokens) -> labels`, and trains with `minirnn.numpy.train.fit`. Tokens are integer
arrays of shape (N, T).
"""

from __future__ import annotations

import numpy as np

from minirnn.numpy.classifiers import TanhMLP, linear_softmax_loss
from minirnn.numpy.layers import one_hot

# --------------------------------------------------------------------------- tasks


def order_task(n_pairs: int, T: int, n_fillers: int = 4, seed: int = 0):
    """Sequences holding token A (id 0) and token B (id 1) once each, among filler tokens.

    The label is 1 when A comes before B. Examples come in pairs: each sequence is followed by
    its twin with A and B swapped, which has the same token counts and the opposite label, so
    any model that sees only counts is right on exactly half of them.

    Returns tokens (2 * n_pairs, T) int64 with ids in [0, 2 + n_fillers) and labels
    (2 * n_pairs,) int64.
    """
    if T < 2:
        raise ValueError(f"T: expected at least 2 steps to hold A and B, got {T}")
    rng = np.random.default_rng(seed)
    tokens = rng.integers(2, 2 + n_fillers, size=(n_pairs, T))
    for row in tokens:
        a, b = rng.choice(T, size=2, replace=False)
        row[a], row[b] = 0, 1
    labels = (np.argmax(tokens == 0, axis=1) < np.argmax(tokens == 1, axis=1)).astype(np.int64)
    twins = np.where(tokens == 0, 1, np.where(tokens == 1, 0, tokens))  # swap A and B
    paired = np.stack([tokens, twins], axis=1).reshape(2 * n_pairs, T)
    paired_labels = np.stack([labels, 1 - labels], axis=1).reshape(-1)
    return paired.astype(np.int64), paired_labels


def first_token_task(n: int, T: int, seed: int = 0):
    """Random bits whose label is the first bit, so a model must carry it through T - 1 steps.

    Returns tokens (n, T) int64 in {0, 1} and labels (n,) int64.
    """
    rng = np.random.default_rng(seed)
    tokens = rng.integers(0, 2, size=(n, T)).astype(np.int64)
    return tokens, tokens[:, 0].copy()


# --------------------------------------------------------------------------- models


class BagOfTokens:
    """Logistic regression on token counts (N, V): it cannot see the order of the tokens."""

    def __init__(self, V: int, C: int = 2, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.V = V
        self.params = {"W": rng.normal(0.0, 0.1, (V, C)), "b": np.zeros(C)}

    def features(self, tokens: np.ndarray) -> np.ndarray:
        return one_hot(tokens, self.V, name="tokens").sum(axis=1)

    def loss(self, tokens: np.ndarray, labels: np.ndarray):
        loss, _, dW, db = linear_softmax_loss(
            self.features(tokens), self.params["W"], self.params["b"], labels
        )
        return loss, {"W": dW, "b": db}

    def predict(self, tokens: np.ndarray) -> np.ndarray:
        return (self.features(tokens) @ self.params["W"] + self.params["b"]).argmax(axis=1)


class LastStepOnly(TanhMLP):
    """An MLP that sees only the last token (N, V): a model without memory."""

    def __init__(self, V: int, H: int, C: int = 2, seed: int = 0):
        super().__init__(V, H, C, seed)
        self.V = V

    def features(self, tokens: np.ndarray) -> np.ndarray:
        return one_hot(tokens[:, -1:], self.V, name="tokens")[:, 0]
