"""Per-step losses with a weight for every step: masks for padded batches and the three usual
ways of reducing a sequence's per-step losses to one number.

Shapes: N sequences, T steps, V classes. A target equal to IGNORE_INDEX is not predicted
(padding), as in torch's cross_entropy. `temporal_softmax_loss` is the special case
weights = mask / N ("sum" below, the course's convention, CS231n's).
"""

from __future__ import annotations

import numpy as np

IGNORE_INDEX = -100  # a target that is not predicted (padding), as in torch's cross_entropy
REDUCTIONS = ("sum", "token_mean", "sequence_mean")


def length_mask(lengths: np.ndarray | list[int], T: int) -> np.ndarray:
    """Boolean mask (N, T), True at the real steps t < lengths[n] of a right-padded batch."""
    lengths = np.asarray(lengths)
    if lengths.ndim != 1 or not np.issubdtype(lengths.dtype, np.integer):
        raise ValueError(f"lengths: expected a 1-D integer array, got {lengths!r}")
    if lengths.size and (lengths.min() < 1 or lengths.max() > T):
        raise ValueError(f"lengths: expected values in [1, {T}], "
                         f"got [{lengths.min()}, {lengths.max()}]")
    return np.arange(T)[None, :] < lengths[:, None]


def token_weights(mask: np.ndarray, reduction: str) -> np.ndarray:
    """The weight each step's loss gets in the scalar loss, shape (N, T) like mask.

    - "sum": summed over steps, averaged over the N sequences (the course's convention,
      CS231n's): every real token weighs 1 / N.
    - "token_mean": the mean over all real tokens of the batch: every one weighs
      1 / (number of real tokens).
    - "sequence_mean": each sequence's mean over its own tokens, then the mean over sequences:
      a token of sequence n weighs 1 / (N * length_n), so short sequences' tokens weigh more.
    """
    mask = np.asarray(mask)
    if mask.ndim != 2 or mask.dtype != bool:
        raise ValueError(f"mask: expected a (N, T) boolean array, got shape {mask.shape} "
                         f"dtype {mask.dtype}")
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction: expected one of {REDUCTIONS}, got {reduction!r}")
    N = mask.shape[0]
    m = mask.astype(np.float64)
    if reduction == "sum":
        return m / N
    if reduction == "token_mean":
        return m / m.sum()
    lengths = m.sum(axis=1, keepdims=True)
    if np.any(lengths == 0):
        raise ValueError("mask: every sequence needs at least one real step for 'sequence_mean'")
    return m / (N * lengths)


def per_step_losses(scores: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Cross-entropy -log softmax(scores[n, t])[y[n, t]] at every step: (N, T, V), (N, T) -> (N, T).

    Targets equal to IGNORE_INDEX get loss 0.
    """
    N, T, V = scores.shape
    if y.shape != (N, T):
        raise ValueError(f"y: expected shape {(N, T)} to match scores, got {y.shape}")
    shifted = scores - scores.max(axis=-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    safe_y = np.where(y == IGNORE_INDEX, 0, y)
    losses = -np.take_along_axis(log_probs, safe_y[..., None], axis=-1)[..., 0]
    return np.where(y == IGNORE_INDEX, 0.0, losses)


def weighted_softmax_loss(scores: np.ndarray, y: np.ndarray,
                          weights: np.ndarray) -> tuple[float, np.ndarray]:
    """sum_{n,t} weights[n, t] * cross-entropy at (n, t), and its gradient (N, T, V).

    scores (N, T, V); y (N, T) ids in [0, V) (or IGNORE_INDEX where weights is 0); weights (N, T).
    With weights = mask / N this is `minirnn.numpy.temporal_softmax_loss`.
    """
    if weights.shape != y.shape:
        raise ValueError(f"weights: expected shape {y.shape} to match y, got {weights.shape}")
    if np.any((y == IGNORE_INDEX) & (weights != 0)):
        raise ValueError("weights: a step with target IGNORE_INDEX must have weight 0")
    loss = float(np.sum(weights * per_step_losses(scores, y)))
    probs = np.exp(scores - scores.max(axis=-1, keepdims=True))
    probs /= probs.sum(axis=-1, keepdims=True)
    N, T, V = scores.shape
    safe_y = np.where(y == IGNORE_INDEX, 0, y)
    probs[np.arange(N)[:, None], np.arange(T)[None, :], safe_y] -= 1.0
    return loss, probs * weights[..., None]
