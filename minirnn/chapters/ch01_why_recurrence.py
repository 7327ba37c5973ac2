"""Chapter 1's generated tasks and the small NumPy classifiers that compare on them.

Three needs motivate recurrence, and each has a task here that a feed-forward model cannot do:

- variable length: `FlatMLP` takes exactly T steps; `ManyToOneRNN` takes any T with the same
  weights;
- order: in `order_task` the label is whether token A comes before token B, so `BagOfTokens`,
  which sees only how often each token occurs, is at chance by construction;
- memory: in `first_token_task` the label is the first token, read only after T steps, so
  `LastStepOnly`, which sees one step, is at chance.

Every model has `params` (a dict of arrays), `loss(tokens, labels) -> (loss, grads)` and
`predict(tokens) -> labels`, and trains with `fit`. Tokens are integer arrays of shape (N, T).
"""

from __future__ import annotations

import numpy as np

from minirnn.numpy import (
    Adam,
    rnn_backward,
    rnn_forward,
    temporal_affine_backward,
    temporal_affine_forward,
    temporal_softmax_loss,
)

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


def one_hot(tokens: np.ndarray, V: int) -> np.ndarray:
    """Token ids (N, T) to one-hot rows (N, T, V) of float64."""
    tokens = np.asarray(tokens)
    if not np.issubdtype(tokens.dtype, np.integer):
        raise TypeError(f"tokens: expected an integer array, got dtype {tokens.dtype}")
    if tokens.size and (tokens.min() < 0 or tokens.max() >= V):
        raise IndexError(f"tokens: expected ids in [0, {V}), got [{tokens.min()}, {tokens.max()}]")
    return np.eye(V)[tokens]


# --------------------------------------------------------------------------- models


def _softmax_head(features: np.ndarray, W: np.ndarray, b: np.ndarray, labels: np.ndarray):
    """Scores, mean cross-entropy and gradients of a linear classifier on features (N, F)."""
    scores, cache = temporal_affine_forward(features[:, None, :], W, b)  # one "time step"
    mask = np.ones(labels.shape + (1,), dtype=bool)
    loss, dscores = temporal_softmax_loss(scores, labels[:, None], mask)
    dfeatures, dW, db = temporal_affine_backward(dscores, cache)
    return loss, dfeatures[:, 0, :], dW, db


class ManyToOneRNN:
    """Vanilla RNN over one-hot tokens; the last hidden state is classified.

    Shapes: tokens (N, T) with ids < V, any T; Wx (V, H), Wh (H, H), b (H,), W_out (H, C).
    """

    def __init__(self, V: int, H: int, C: int = 2, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.V, self.H = V, H
        self.params = {
            "Wx": rng.normal(0.0, 0.5, (V, H)),
            "Wh": rng.normal(0.0, 1.0 / np.sqrt(H), (H, H)),
            "b": np.zeros(H),
            "W_out": rng.normal(0.0, 1.0 / np.sqrt(H), (H, C)),
            "b_out": np.zeros(C),
        }

    def hidden_states(self, tokens: np.ndarray) -> np.ndarray:
        """All hidden states (N, T, H) for tokens (N, T), starting from h0 = 0."""
        p = self.params
        h0 = np.zeros((len(tokens), self.H))
        h, _ = rnn_forward(one_hot(tokens, self.V), h0, p["Wx"], p["Wh"], p["b"])
        return h

    def scores(self, tokens: np.ndarray) -> np.ndarray:
        return self.hidden_states(tokens)[:, -1] @ self.params["W_out"] + self.params["b_out"]

    def loss(self, tokens: np.ndarray, labels: np.ndarray):
        p = self.params
        h0 = np.zeros((len(tokens), self.H))
        h, cache = rnn_forward(one_hot(tokens, self.V), h0, p["Wx"], p["Wh"], p["b"])
        loss, dlast, dW_out, db_out = _softmax_head(h[:, -1], p["W_out"], p["b_out"], labels)
        dh = np.zeros_like(h)
        dh[:, -1] = dlast  # only the last step is classified
        _, _, dWx, dWh, db = rnn_backward(dh, cache)
        return loss, {"Wx": dWx, "Wh": dWh, "b": db, "W_out": dW_out, "b_out": db_out}

    def predict(self, tokens: np.ndarray) -> np.ndarray:
        return self.scores(tokens).argmax(axis=1)


class BagOfTokens:
    """Logistic regression on token counts (N, V): it cannot see the order of the tokens."""

    def __init__(self, V: int, C: int = 2, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.V = V
        self.params = {"W": rng.normal(0.0, 0.1, (V, C)), "b": np.zeros(C)}

    def features(self, tokens: np.ndarray) -> np.ndarray:
        return one_hot(tokens, self.V).sum(axis=1)

    def loss(self, tokens: np.ndarray, labels: np.ndarray):
        loss, _, dW, db = _softmax_head(
            self.features(tokens), self.params["W"], self.params["b"], labels
        )
        return loss, {"W": dW, "b": db}

    def predict(self, tokens: np.ndarray) -> np.ndarray:
        return (self.features(tokens) @ self.params["W"] + self.params["b"]).argmax(axis=1)


class _TanhMLP:
    """One tanh hidden layer on a feature vector (N, F); subclasses choose the features."""

    def __init__(self, F: int, H: int, C: int, seed: int):
        rng = np.random.default_rng(seed)
        self.params = {
            "W1": rng.normal(0.0, 1.0 / np.sqrt(F), (F, H)),
            "b1": np.zeros(H),
            "W2": rng.normal(0.0, 1.0 / np.sqrt(H), (H, C)),
            "b2": np.zeros(C),
        }

    def features(self, tokens: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def loss(self, tokens: np.ndarray, labels: np.ndarray):
        p = self.params
        x = self.features(tokens)
        hidden = np.tanh(x @ p["W1"] + p["b1"])
        loss, dhidden, dW2, db2 = _softmax_head(hidden, p["W2"], p["b2"], labels)
        da = dhidden * (1.0 - hidden**2)
        return loss, {"W1": x.T @ da, "b1": da.sum(axis=0), "W2": dW2, "b2": db2}

    def predict(self, tokens: np.ndarray) -> np.ndarray:
        p = self.params
        hidden = np.tanh(self.features(tokens) @ p["W1"] + p["b1"])
        return (hidden @ p["W2"] + p["b2"]).argmax(axis=1)


class LastStepOnly(_TanhMLP):
    """An MLP that sees only the last token (N, V): a model without memory."""

    def __init__(self, V: int, H: int, C: int = 2, seed: int = 0):
        super().__init__(V, H, C, seed)
        self.V = V

    def features(self, tokens: np.ndarray) -> np.ndarray:
        return one_hot(tokens[:, -1:], self.V)[:, 0]


class FlatMLP(_TanhMLP):
    """An MLP on the whole sequence flattened to (N, T * V): it needs exactly T steps."""

    def __init__(self, T: int, V: int, H: int, C: int = 2, seed: int = 0):
        super().__init__(T * V, H, C, seed)
        self.T, self.V = T, V

    def features(self, tokens: np.ndarray) -> np.ndarray:
        tokens = np.asarray(tokens)
        if tokens.ndim != 2 or tokens.shape[1] != self.T:
            raise ValueError(
                f"tokens: expected shape (N, {self.T}) since this MLP's input layer has "
                f"{self.T} x {self.V} = {self.T * self.V} inputs, got {tokens.shape}"
            )
        return one_hot(tokens, self.V).reshape(len(tokens), -1)


# --------------------------------------------------------------------------- training


def count_params(model) -> int:
    """Number of scalars in model.params."""
    return sum(p.size for p in model.params.values())


def accuracy(model, tokens: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of labels (N,) that model.predict(tokens) gets right."""
    return float(np.mean(model.predict(tokens) == labels))


def fit(
    model,
    tokens: np.ndarray,
    labels: np.ndarray,
    steps: int = 400,
    batch_size: int = 64,
    lr: float = 0.02,
    seed: int = 0,
) -> dict[str, list[float]]:
    """Train model with Adam on random minibatches; returns {"loss": [...]} per step."""
    rng = np.random.default_rng(seed)
    optimizer = Adam(lr=lr)
    history: dict[str, list[float]] = {"loss": []}
    for _ in range(steps):
        idx = rng.integers(0, len(tokens), size=batch_size)
        loss, grads = model.loss(tokens[idx], labels[idx])
        optimizer.step(model.params, grads)
        history["loss"].append(float(loss))
    return history
