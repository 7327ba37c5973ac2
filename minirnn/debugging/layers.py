"""NumPy layers of the bug gallery (A8): each function holds one planted bug in the handout.

Shapes: N sequences, T steps, D input features, H hidden units, V vocabulary or classes.
"""

from __future__ import annotations

import numpy as np


def _array(value, name: str, ndim: int) -> np.ndarray:
    if not isinstance(value, np.ndarray) or value.ndim != ndim:
        got = getattr(value, "shape", type(value).__name__)
        raise ValueError(f"{name}: expected a {ndim}-d NumPy array, got {got}")
    return value


def embedding_forward(ids: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Rows of W (V, D) picked by ids (N, T) ints: (N, T, D)."""
    return W[_array(ids, "ids", 2)]


def embedding_backward(dout: np.ndarray, ids: np.ndarray, V: int) -> np.ndarray:
    """dL/dW (V, D) of out = W[ids] from dout (N, T, D); a word that occurs k times gets the
    sum of its k upstream gradients (chapter 6)."""
    _array(dout, "dout", 3)
    _array(ids, "ids", 2)
    dW = np.zeros((V, dout.shape[-1]))
    # BEGIN SOLUTION
    np.add.at(dW, ids, dout)  # unbuffered: a repeated index adds every time it occurs
    # END SOLUTION
    # BEGIN BUG
    # dW[ids] += dout
    # END BUG
    return dW


def rnn_forward(x: np.ndarray, h0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray,
                b: np.ndarray) -> tuple[np.ndarray, tuple]:
    """A tanh RNN over x (N, T, D) from h0 (N, H): states hs (N, T, H) and the cache
    (x, h0, Wx, Wh, hs) for rnn_backward. h_t = tanh(a_t), a_t = x_t Wx + h_{t-1} Wh + b."""
    _array(x, "x", 3)
    h, hs = h0, []
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ Wx + h @ Wh + b)
        hs.append(h)
    hs = np.stack(hs, axis=1)
    return hs, (x, h0, Wx, Wh, hs)


def rnn_backward(dhs: np.ndarray, cache: tuple) -> tuple[np.ndarray, ...]:
    """BPTT of rnn_forward: dx (N, T, D), dh0 (N, H), dWx, dWh, db from dhs = dL/dhs (N, T, H)
    (chapter 7)."""
    x, h0, Wx, Wh, hs = cache
    _array(dhs, "dhs", 3)
    dx, dWx, dWh, db = np.zeros_like(x), np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(Wh.shape[0])
    dnext = np.zeros_like(h0)  # dL/dh_t through the later steps
    for t in reversed(range(x.shape[1])):
        prev = hs[:, t - 1] if t > 0 else h0
        dh = dhs[:, t] + dnext  # dL/dh_t: from this step's output and from step t + 1
        da = dh * (1.0 - hs[:, t] ** 2)  # dL/da_t: through tanh
        dx[:, t] = da @ Wx.T
        dWx += x[:, t].T @ da
        dWh += prev.T @ da
        db += da.sum(axis=0)
        # BEGIN SOLUTION
        dnext = da @ Wh.T  # a_t = ... + h_{t-1} Wh: the carried gradient passes through tanh'
        # END SOLUTION
        # BEGIN BUG
        # dnext = dh @ Wh.T
        # END BUG
    return dx, dnext, dWx, dWh, db


def softmax(scores: np.ndarray) -> np.ndarray:
    """Probabilities over the last axis of scores (..., V) (chapter 4)."""
    if not isinstance(scores, np.ndarray):
        raise ValueError(f"scores: expected a NumPy array, got {type(scores).__name__}")
    # BEGIN SOLUTION
    scores = scores - scores.max(axis=-1, keepdims=True)  # exp(s - max) <= 1: no overflow
    # END SOLUTION
    # BEGIN BUG
    # END BUG
    e = np.exp(scores)
    return e / e.sum(axis=-1, keepdims=True)


def sequence_loss(scores: np.ndarray, targets: np.ndarray,
                  mask: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy over the real tokens of a padded batch, and dL/dscores.

    scores (N, T, V), targets (N, T) ints, mask (N, T) bools (False at padding). Padding must
    change neither the loss nor the gradient (chapter 4)."""
    _array(scores, "scores", 3)
    _array(targets, "targets", 2)
    _array(mask, "mask", 2)
    probs = softmax(scores)
    n, t = np.indices(targets.shape)
    # BEGIN SOLUTION
    weight = mask.astype(np.float64)  # a padding position weighs nothing
    # END SOLUTION
    # BEGIN BUG
    # weight = np.ones(mask.shape)
    # END BUG
    total = weight.sum()
    loss = -float(np.sum(weight * np.log(probs[n, t, targets]))) / total
    dscores = probs.copy()
    dscores[n, t, targets] -= 1.0
    return loss, dscores * (weight / total)[..., None]
