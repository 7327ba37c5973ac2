"""Small NumPy classifiers of token sequences, and the linear softmax head they share.

Chapters 1 and 3 compare a recurrent model with feed-forward ones on generated tasks:

- `ManyToOneRNN`: a vanilla RNN over one-hot tokens whose last state is classified; the same
  weights read any length T;
- `TanhMLP`: one tanh hidden layer on a feature vector; subclasses choose the features;
- `FlatMLP`: a `TanhMLP` on the whole sequence flattened, so it needs exactly T steps.

Every model has `params` (a dict of arrays), `loss(tokens, labels) -> (loss, grads)` with grads
under the names of params, and `predict(tokens) -> labels`; `minirnn.numpy.train.fit` trains
any of them. Tokens are integer arrays of shape (N, T) with ids in [0, V); labels are (N,)
integers in [0, C).
"""

from __future__ import annotations

import numpy as np

from minirnn.numpy.layers import (
    one_hot,
    temporal_affine_backward,
    temporal_affine_forward,
    temporal_softmax_loss,
)
from minirnn.numpy.rnn import rnn_backward, rnn_forward


def linear_softmax_loss(
    features: np.ndarray, W: np.ndarray, b: np.ndarray, labels: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """Mean cross-entropy of a linear classifier and its gradients.

    Inputs: features (N, F), W (F, C), b (C,), labels (N,) in [0, C).
    Returns (loss, dfeatures (N, F), dW (F, C), db (C,)).
    """
    # the temporal layers with a single "time step" are exactly a linear layer and a softmax
    scores, cache = temporal_affine_forward(features[:, None, :], W, b)
    loss, dscores = temporal_softmax_loss(scores, labels[:, None])
    dfeatures, dW, db = temporal_affine_backward(dscores, cache)
    return loss, dfeatures[:, 0, :], dW, db


class ManyToOneRNN:
    """Vanilla RNN over one-hot tokens; the last hidden state is classified.

    Shapes: tokens (N, T) with ids < V, any T; Wx (V, H), Wh (H, H), b (H,), W_out (H, C),
    b_out (C,). The number of parameters does not depend on T.
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

    def _run(self, tokens: np.ndarray) -> tuple[np.ndarray, dict]:
        p = self.params
        x = one_hot(tokens, self.V, name="tokens")  # (N, T, V)
        h0 = np.zeros((len(x), self.H))
        return rnn_forward(x, h0, p["Wx"], p["Wh"], p["b"])

    def hidden_states(self, tokens: np.ndarray) -> np.ndarray:
        """All hidden states (N, T, H) for tokens (N, T), starting from h0 = 0."""
        return self._run(tokens)[0]

    def scores(self, tokens: np.ndarray) -> np.ndarray:
        """Class scores (N, C) read from the last hidden state."""
        return self.hidden_states(tokens)[:, -1] @ self.params["W_out"] + self.params["b_out"]

    def loss(self, tokens: np.ndarray, labels: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
        p = self.params
        h, cache = self._run(tokens)
        loss, dlast, dW_out, db_out = linear_softmax_loss(h[:, -1], p["W_out"], p["b_out"], labels)
        dh = np.zeros_like(h)
        dh[:, -1] = dlast  # only the last step is classified
        _, _, dWx, dWh, db = rnn_backward(dh, cache)
        return loss, {"Wx": dWx, "Wh": dWh, "b": db, "W_out": dW_out, "b_out": db_out}

    def predict(self, tokens: np.ndarray) -> np.ndarray:
        """Predicted classes (N,)."""
        return self.scores(tokens).argmax(axis=1)


class TanhMLP:
    """One tanh hidden layer on a feature vector (N, F): W1 (F, H), b1 (H,), W2 (H, C), b2 (C,).

    Subclasses define `features(tokens) -> (N, F)`.
    """

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

    def loss(self, tokens: np.ndarray, labels: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
        p = self.params
        x = self.features(tokens)
        hidden = np.tanh(x @ p["W1"] + p["b1"])
        loss, dhidden, dW2, db2 = linear_softmax_loss(hidden, p["W2"], p["b2"], labels)
        da = dhidden * (1.0 - hidden**2)  # through tanh
        return loss, {"W1": x.T @ da, "b1": da.sum(axis=0), "W2": dW2, "b2": db2}

    def predict(self, tokens: np.ndarray) -> np.ndarray:
        """Predicted classes (N,)."""
        p = self.params
        hidden = np.tanh(self.features(tokens) @ p["W1"] + p["b1"])
        return (hidden @ p["W2"] + p["b2"]).argmax(axis=1)


class FlatMLP(TanhMLP):
    """A `TanhMLP` on the whole sequence flattened to (N, T * V): it needs exactly T steps."""

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
        return one_hot(tokens, self.V, name="tokens").reshape(len(tokens), -1)
