"""The non-recurrent layers around a recurrent one: word embedding, a per-step affine map,
and the softmax loss summed over time.
"""

from __future__ import annotations

import numpy as np

from minirnn.numpy import checks


def word_embedding_forward(x: np.ndarray, W: np.ndarray) -> tuple[np.ndarray, tuple]:
    """Look up a vector for every token id.

    Inputs:
    - x: (N, T) integer token ids in [0, V).
    - W: (V, D) one row per vocabulary entry.

    Returns (out, cache): out (N, T, D) with out[n, t] = W[x[n, t]].
    """
    s = checks.Shapes()
    s.array("W", W, "V, D")
    checks.token_ids("x", x, s["V"], "N, T")
    checks.finite(W=W)
    # BEGIN SOLUTION
    out = W[x]
    return out, (x, W.shape, W.dtype)
    # END SOLUTION


def word_embedding_backward(dout: np.ndarray, cache: tuple) -> np.ndarray:
    """Backward pass of word_embedding_forward.

    Inputs:
    - dout: (N, T, D) gradient with respect to the looked-up vectors.
    - cache: from word_embedding_forward.

    Returns dW (V, D). A token id that occurs several times gets the sum of its gradients
    (a scatter-add; `dW[x] += dout` would keep only one of them).
    """
    x, (V, D), dtype = cache
    N, T = x.shape
    checks.Shapes().bind("the forward pass", N=N, T=T, D=D).array("dout", dout, "N, T, D")
    # BEGIN SOLUTION
    dW = np.zeros((V, D), dtype=dtype)
    np.add.at(dW, x.reshape(-1), dout.reshape(-1, D))
    return dW
    # END SOLUTION


def temporal_affine_forward(
    x: np.ndarray, w: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, tuple]:
    """The same affine map applied at every time step.

    Inputs:
    - x: (N, T, D) inputs.
    - w: (D, M) weights.
    - b: (M,) bias.

    Returns (out, cache): out (N, T, M) = x @ w + b.
    """
    s = checks.Shapes()
    s.array("w", w, "D, M")
    s.array("b", b, "M")
    s.array("x", x, "N, T, D")
    checks.same_dtype("x", x, w=w, b=b)
    checks.finite(x=x, w=w, b=b)
    N, T, D = x.shape
    # BEGIN SOLUTION
    out = (x.reshape(N * T, D) @ w + b).reshape(N, T, -1)
    return out, (x, w)
    # END SOLUTION


def temporal_affine_backward(
    dout: np.ndarray, cache: tuple
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of temporal_affine_forward.

    Inputs:
    - dout: (N, T, M) upstream gradient.
    - cache: from temporal_affine_forward.

    Returns (dx, dw, db) with shapes (N, T, D), (D, M), (M,).
    """
    x, w = cache
    N, T, D = x.shape
    M = w.shape[1]
    checks.Shapes().bind("the forward pass", N=N, T=T, M=M).array("dout", dout, "N, T, M")
    # BEGIN SOLUTION
    dout2 = dout.reshape(N * T, M)
    dx = (dout2 @ w.T).reshape(N, T, D)
    dw = x.reshape(N * T, D).T @ dout2
    db = dout2.sum(axis=0)
    return dx, dw, db
    # END SOLUTION


def temporal_softmax_loss(
    x: np.ndarray, y: np.ndarray, mask: np.ndarray | None = None
) -> tuple[float, np.ndarray]:
    """Softmax cross-entropy at every time step, summed over time, averaged over the batch.

    Inputs:
    - x: (N, T, V) scores (logits) over a vocabulary of V entries.
    - y: (N, T) integer targets in [0, V).
    - mask: (N, T) booleans, True where the step counts (False for padding / NULL tokens).
      None counts every step.

    Returns (loss, dx): the scalar loss sum_{n,t} mask * -log softmax(x[n, t])[y[n, t]] / N,
    and dx (N, T, V) its gradient. This is CS231n's convention; divide by T (or by the number
    of counted steps per sequence) for a loss per token.
    """
    s = checks.Shapes()
    s.array("x", x, "N, T, V")
    checks.token_ids("y", y, s["V"], "N, T")
    s.array("y", y, "N, T", floating=False)
    checks.finite(x=x)
    N, T, V = x.shape
    if mask is None:
        mask = np.ones((N, T), dtype=bool)
    else:
        mask = s.array("mask", np.asarray(mask), "N, T", floating=False)
        if mask.dtype != bool:
            raise TypeError(f"mask: expected dtype bool, got {mask.dtype}")

    # BEGIN SOLUTION
    x2 = x.reshape(N * T, V)
    y2 = y.reshape(N * T)
    m2 = mask.reshape(N * T)
    # log-sum-exp with the row maximum subtracted, so exp never overflows
    shifted = x2 - x2.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    log_probs = shifted - log_norm  # (N*T, V)
    rows = np.arange(N * T)
    loss = -(m2 * log_probs[rows, y2]).sum() / N

    dx2 = np.exp(log_probs)  # softmax probabilities
    dx2[rows, y2] -= 1
    dx2 *= m2[:, None] / N
    return float(loss), dx2.reshape(N, T, V).astype(x.dtype, copy=False)
    # END SOLUTION


def one_hot(ids: np.ndarray, V: int, dtype: type = np.float64, name: str = "ids") -> np.ndarray:
    """Token ids of any shape S to one-hot rows of shape S + (V,): id v becomes row v of the
    identity. A one-hot row times a weight matrix (V, D) picks that matrix's row v, which is
    what `word_embedding_forward` does without building the rows.

    name: the argument named in the error for ids that are not integers in [0, V).
    """
    ids = np.asarray(ids)
    if not np.issubdtype(ids.dtype, np.integer):
        raise TypeError(f"{name}: expected an integer array, got dtype {ids.dtype}")
    if ids.size and (ids.min() < 0 or ids.max() >= V):
        raise IndexError(f"{name}: expected ids in [0, {V}), got [{ids.min()}, {ids.max()}]")
    out = np.zeros(ids.shape + (V,), dtype=dtype)
    np.put_along_axis(out, ids[..., None], 1, axis=-1)
    return out
