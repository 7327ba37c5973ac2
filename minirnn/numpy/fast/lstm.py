"""The LSTM over a whole sequence, tuned for speed (BLAS-friendly, in place).

Computes exactly what minirnn.numpy.lstm_forward / lstm_backward compute (tests/
test_numpy_fast_parity.py pins the two together), gates in torch's order i, f, g, o. The
tricks: one tanh for all four gates (sigmoid(a) = 0.5 tanh(0.5 a) + 0.5), one GEMM for the
input projections of all T steps, a (T + 1, N, D + 1 + H) buffer [x_t, 1, h_{t-1}] from which
one GEMM gives dWx, db and dWh, and a backward pass that writes its gradients into the
forward's gate buffer. Read minirnn/numpy/lstm.py first.

The cache is this module's own (a dict of time-major buffers) and is not a stable contract:
pass it only to this module's lstm_backward.
"""

from __future__ import annotations

import numpy as np

from minirnn.numpy import checks
from minirnn.numpy.fast.sequence import batch_major, inputs_ones_states, step_mask, transposed
from minirnn.numpy.lstm import _check_weights


def lstm_forward(
    x: np.ndarray,
    h0: np.ndarray,
    Wx: np.ndarray,
    Wh: np.ndarray,
    b: np.ndarray,
    lengths: np.ndarray | list[int] | None = None,
) -> tuple[np.ndarray, dict]:
    """Run an LSTM over a whole sequence; the initial cell state is zero.

    Inputs:
    - x: (N, T, D) inputs, batch-first.
    - h0: (N, H) initial hidden state.
    - Wx: (D, 4H), Wh: (H, 4H), b: (4H,) as in lstm_step_forward.
    - lengths: optional (N,) integers in [1, T] for a padded batch: sequence n stops changing
      after step lengths[n] - 1, its padded outputs are zero, and its final hidden state is
      h[n, lengths[n] - 1] (see `last_hidden`).

    Returns (h, cache): h (N, T, H) the hidden state at every step.
    """
    s = checks.Shapes()
    _check_weights(s, Wx, Wh, b)
    s.array("x", x, "N, T, D")
    s.array("h0", h0, "N, H")
    checks.same_dtype("x", x, h0=h0, Wx=Wx, Wh=Wh, b=b)
    checks.finite(x=x, h0=h0, Wx=Wx, Wh=Wh, b=b)
    N, T, D = x.shape
    H = s["H"]
    lengths = checks.lengths_array(lengths, N, T)
    dtype = x.dtype

    # All four gates through one tanh: sigmoid(a) = 0.5 * tanh(0.5 a) + 0.5. Scaling the i, f
    # and o columns of the weights by 0.5 makes the matmuls produce 0.5 a for those gates,
    # and after one tanh over all 4H columns, "* scale + shift" turns i, f and o into
    # sigmoids (and leaves g alone). Whole rows of 4H with a (4H,) vector: the fastest way.
    column_scale = np.repeat(np.array([0.5, 0.5, 1.0, 0.5], dtype=dtype), H)  # (4H,)
    column_shift = np.repeat(np.array([0.5, 0.5, 0.0, 0.5], dtype=dtype), H)  # (4H,)
    Wh_scaled = Wh * column_scale

    # xh[t] = [x_t, 1, h_{t-1}]: what step t multiplies by [Wx; b; Wh]. Keeping the three
    # side by side lets the backward pass get dWx, db and dWh from one GEMM.
    xh = inputs_ones_states(x, h0)  # (T + 1, N, D + 1 + H)
    x1 = xh[:T, :, : D + 1].reshape(T * N, D + 1)  # [x_t, 1] for every step, as rows
    hs = xh[:, :, D + 1 :]  # hs[t]: the hidden state before step t (hs[0] = h0)

    # gates[t] holds step t's pre-activations, then (in place) its gate values i, f, g, o.
    # The input part x_t Wx + b of every step comes from one GEMM (with the bias trick).
    gates = np.empty((T, N, 4 * H), dtype=dtype)
    Wx1 = np.concatenate([Wx, b[None]]) * column_scale  # (D + 1, 4H)
    np.matmul(x1, Wx1, out=gates.reshape(T * N, 4 * H))

    cs = np.empty((T + 1, N, H), dtype=dtype)  # cs[t + 1]: cell state after step t
    cs[0] = 0
    hWh = np.empty((N, 4 * H), dtype=dtype)  # scratch buffers, reused at every step
    ig = np.empty((N, H), dtype=dtype)
    tanh_c = np.empty((N, H), dtype=dtype)
    frozen = None if lengths is None else (np.arange(T)[:, None, None] >= lengths[:, None])

    for t in range(T):
        a = gates[t]  # (N, 4H)
        np.matmul(hs[t], Wh_scaled, out=hWh)
        a += hWh
        np.tanh(a, out=a)
        a *= column_scale
        a += column_shift
        i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
        np.multiply(f, cs[t], out=cs[t + 1])  # next_c = f * prev_c + i * g
        np.multiply(i, g, out=ig)
        cs[t + 1] += ig
        np.tanh(cs[t + 1], out=tanh_c)
        np.multiply(o, tanh_c, out=hs[t + 1])  # next_h = o * tanh(next_c)
        if frozen is not None:  # padded rows keep their state
            np.copyto(hs[t + 1], hs[t], where=frozen[t])
            np.copyto(cs[t + 1], cs[t], where=frozen[t])

    mask = None if lengths is None else step_mask(lengths, T, dtype)  # (T, N, 1)
    h = batch_major(hs[1:] if mask is None else hs[1:] * mask)
    cache = dict(xh=xh, cs=cs, gates=gates, Wx=Wx, Wh=Wh, b=b, lengths=lengths, mask=mask)
    return h, cache


def lstm_backward(
    dh: np.ndarray, cache: dict
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backpropagation through time for lstm_forward.

    Inputs:
    - dh: (N, T, H) gradient with respect to every hidden state.
    - cache: from lstm_forward. This pass writes its gradients into the cache's gate buffer;
      a second call on the same cache is allowed and reruns the forward pass first.

    Returns (dx, dh0, dWx, dWh, db) with shapes (N, T, D), (N, H), (D, 4H), (H, 4H), (4H,).
    """
    # The cache of lstm_forward: xh (T + 1, N, D + 1 + H) with xh[t] = [x_t, 1, h_{t-1}] (see
    # sequence.inputs_ones_states), cs (T + 1, N, H) the cell states from c_0, the weights, the
    # padding mask, and "gates" (T, N, 4H), the gate values i, f, g, o of every step.
    xh, cs, Wx, Wh, mask = (cache[k] for k in ("xh", "cs", "Wx", "Wh", "mask"))
    T, N, DH1 = xh.shape[0] - 1, xh.shape[1], xh.shape[2]
    H = Wh.shape[0]
    D = DH1 - 1 - H
    hs = xh[:, :, D + 1 :]
    s = checks.Shapes()
    s.array("h", hs[1:].swapaxes(0, 1), "N, T, H")
    s.array("dh", dh, "N, T, H")
    checks.same_dtype("h", hs, dh=dh)
    checks.finite(dh=dh)
    dtype = hs.dtype

    # This pass writes its gradients into the forward's gate buffer (a second (T, N, 4H)
    # buffer would cost time to allocate and fill), and takes it out of the cache. A second
    # backward on the same cache first reruns the forward pass, from the inputs kept in xh.
    if "gates" not in cache:
        x, h0 = xh[:T, :, :D].swapaxes(0, 1), xh[0, :, D + 1 :]
        cache.update(lstm_forward(x, h0, Wx, Wh, cache["b"], cache["lengths"])[1])
        xh, cs, hs = cache["xh"], cache["cs"], cache["xh"][:, :, D + 1 :]
    gates = cache.pop("gates")
    is_g = np.repeat(np.array([0, 0, 1, 0], dtype=dtype), H)  # (4H,): 1 on the tanh gate g

    # The gradient arriving at each output is read straight from dh[:, t] (no time-major
    # copy); on a ragged batch the mask zeroes it at padded steps. Step t's gate values are
    # read from gates[t] and then overwritten by the gradients on its pre-activations.
    # dnext_h: from step t + 1 back to h_t. It is computed transposed, as Wh a^T, because
    # OpenBLAS runs this matmul faster with the long side (4H) in place of the batch (N).
    dnext_hT = np.zeros((H, N), dtype=dtype)
    dnext_h = dnext_hT.T
    dnext_c = np.zeros((N, H), dtype=dtype)  # from step t + 1 back to c_t
    dh_t = np.empty((N, H), dtype=dtype)  # scratch buffers, reused at every step
    dc = np.empty((N, H), dtype=dtype)
    tanh_c = np.empty((N, H), dtype=dtype)
    slopes = np.empty((N, 4 * H), dtype=dtype)
    dvalues = np.empty((N, 4 * H), dtype=dtype)
    for t in range(T - 1, -1, -1):
        a = gates[t]  # (N, 4H): the gate values i, f, g, o of step t
        i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
        if mask is None:  # total gradient on h_t: from its output and from step t + 1
            np.add(dh[:, t], dnext_h, out=dh_t)
        else:
            np.multiply(dh[:, t], mask[t], out=dh_t)
            dh_t += dnext_h
        # total gradient on c_t: from step t + 1, and through h_t = o * tanh(c_t)
        np.tanh(cs[t + 1], out=tanh_c)  # recomputed: cheaper than storing (T, N, H)
        np.multiply(tanh_c, tanh_c, out=dc)
        np.subtract(1, dc, out=dc)
        dc *= o
        dc *= dh_t
        dc += dnext_c
        # slope of each gate's nonlinearity, in whole rows of 4H: s (1 - s) for the
        # sigmoids i, f, o and (1 + g)(1 - g) for the tanh gate g (is_g is 1 on g's columns)
        np.add(a, is_g, out=slopes)
        np.subtract(1, a, out=dvalues)  # dvalues is free until the gate-value gradients below
        slopes *= dvalues
        # gradient on each gate's value: c = f c_prev + i g, h = o tanh(c)
        np.multiply(dc, g, out=dvalues[:, :H])  # di
        np.multiply(dc, cs[t], out=dvalues[:, H : 2 * H])  # df
        np.multiply(dc, i, out=dvalues[:, 2 * H : 3 * H])  # dg
        np.multiply(dh_t, tanh_c, out=dvalues[:, 3 * H :])  # do
        np.multiply(dc, f, out=dnext_c)
        np.multiply(dvalues, slopes, out=a)  # ... through the nonlinearities, into gates[t]
        np.matmul(Wh, a.T, out=dnext_hT)  # (a Wh^T)^T
    dh0 = np.ascontiguousarray(dnext_h)

    # Weight gradients: one GEMM over all steps, [x_t, 1, h_{t-1}].T @ da gives dWx, db and
    # dWh stacked; and one for the inputs.
    da = gates.reshape(T * N, 4 * H)
    dW = xh[:T].reshape(T * N, DH1).T @ da  # (D + 1 + H, 4H)
    dWx, db, dWh = dW[:D], dW[D], dW[D + 1 :]
    dx = batch_major((da @ transposed(Wx)).reshape(T, N, D))
    return dx, dh0, dWx, dWh, db
