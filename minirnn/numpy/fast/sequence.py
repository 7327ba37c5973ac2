"""Helpers of the fast sequence functions: time-major buffers and length masks.

The public API is batch-first, (N, T, ...), like CS231n. Inside the fast sequence loops we work
time-major, (T, N, ...), so that the slice for step t, buf[t], is one contiguous block of
memory: a matmul into it needs no copy and touches memory in order.

Ragged batches (`lengths`): sequence n has lengths[n] real steps followed by padding. Its
hidden state stops changing after step lengths[n] - 1, its padded outputs are zero and get
zero gradient, so the batch gives the same numbers as running each sequence alone.
"""

from __future__ import annotations

import numpy as np


def time_major(x: np.ndarray) -> np.ndarray:
    """(N, T, ...) -> a contiguous (T, N, ...) copy (always a copy, safe to write into)."""
    return np.array(x.swapaxes(0, 1), order="C")


def batch_major(x: np.ndarray) -> np.ndarray:
    """(T, N, ...) -> a contiguous (N, T, ...) copy (always a copy, safe to write into)."""
    return np.array(x.swapaxes(0, 1), order="C")


def time_major_with_ones(x: np.ndarray) -> np.ndarray:
    """(N, T, D) -> a contiguous (T, N, D + 1) copy whose last feature is the constant 1.

    The bias trick: [x, 1] @ [[W], [b]] = x @ W + b, so the input GEMM adds the bias for free
    and, in the backward pass, [x, 1].T @ dout gives dW and db (its last row) in one GEMM.
    """
    N, T, D = x.shape
    out = np.empty((T, N, D + 1), dtype=x.dtype)
    out[:, :, :D] = x.swapaxes(0, 1)
    out[:, :, D] = 1
    return out


def inputs_ones_states(x: np.ndarray, h0: np.ndarray) -> np.ndarray:
    """(N, T, D) inputs and (N, H) initial state -> xh, a (T + 1, N, D + 1 + H) buffer.

    xh[t] = [x_t, 1, h_{t-1}] is what step t multiplies by the stacked weights [Wx; b; Wh].
    This fills in the inputs, the ones and h_0 (xh[0, :, D + 1:]); the sequence loop writes
    each new state h_t into xh[t + 1, :, D + 1:]. The extra step T holds only the last state
    (its input part is zero). In the backward pass, xh[:T].T @ da gives dWx, db and dWh in one
    GEMM, stacked in that order.
    """
    N, T, D = x.shape
    H = h0.shape[1]
    xh = np.empty((T + 1, N, D + 1 + H), dtype=x.dtype)
    xh[:T, :, :D] = x.swapaxes(0, 1)
    xh[T, :, :D] = 0
    xh[:, :, D] = 1
    xh[0, :, D + 1 :] = h0
    return xh


def transposed(W: np.ndarray, rows_per_block: int = 64) -> np.ndarray:
    """A contiguous copy of W.T for a 2-D W, copied a band of W's rows at a time.

    The GRU backward multiplies by Wh.T at every step, and the backward passes by Wx.T once;
    BLAS is faster on a contiguous matrix. A plain np.ascontiguousarray(W.T) walks down W's
    columns across all of W, which misses the cache on a large W (about 3x slower for a
    512 x 2048 float32 W); a band of 64 rows stays in cache while it is written out.
    """
    out = np.empty(W.shape[::-1], dtype=W.dtype)
    for start in range(0, W.shape[0], rows_per_block):
        out[:, start : start + rows_per_block] = W[start : start + rows_per_block].T
    return out


def step_mask(lengths: np.ndarray, T: int, dtype: np.dtype) -> np.ndarray:
    """(T, N, 1) array, 1 where step t < lengths[n] (a real step), 0 on padding."""
    return (np.arange(T)[:, None] < lengths[None, :]).astype(dtype)[:, :, None]
