"""The GRU over a whole sequence, tuned for speed (BLAS-friendly, in place).

Computes exactly what minirnn.numpy.gru_forward / gru_backward compute (torch.nn.GRU's
equations; tests/test_numpy_fast_parity.py pins the two together). The tricks: sigmoid through
tanh with halved r and z columns, one GEMM for the input projections of all T steps, and one
(T, N, 4H) buffer [n, r, z, ah_n] that the backward pass overwrites with its gradients.
Read minirnn/numpy/gru.py first.

The cache is this module's own (a dict of time-major buffers) and is not a stable contract:
pass it only to this module's gru_backward.
"""

from __future__ import annotations

import numpy as np

from minirnn.numpy import checks
from minirnn.numpy.fast.sequence import batch_major, step_mask, time_major_with_ones, transposed
from minirnn.numpy.gru import _check_weights


def gru_forward(
    x: np.ndarray,
    h0: np.ndarray,
    Wx: np.ndarray,
    Wh: np.ndarray,
    bx: np.ndarray,
    bh: np.ndarray,
    lengths: np.ndarray | list[int] | None = None,
) -> tuple[np.ndarray, dict]:
    """Run a GRU over a whole sequence.

    Inputs:
    - x: (N, T, D) inputs, batch-first.
    - h0: (N, H) initial hidden state.
    - Wx: (D, 3H), Wh: (H, 3H), bx: (3H,), bh: (3H,) as in gru_step_forward.
    - lengths: optional (N,) integers in [1, T] for a padded batch: sequence n stops changing
      after step lengths[n] - 1, its padded outputs are zero, and its final hidden state is
      h[n, lengths[n] - 1] (see `last_hidden`).

    Returns (h, cache): h (N, T, H) the hidden state at every step.
    """
    s = checks.Shapes()
    _check_weights(s, Wx, Wh, bx, bh)
    s.array("x", x, "N, T, D")
    s.array("h0", h0, "N, H")
    checks.same_dtype("x", x, h0=h0, Wx=Wx, Wh=Wh, bx=bx, bh=bh)
    checks.finite(x=x, h0=h0, Wx=Wx, Wh=Wh, bx=bx, bh=bh)
    N, T, D = x.shape
    H = s["H"]
    lengths = checks.lengths_array(lengths, N, T)
    dtype = x.dtype

    # sigmoid(a) = 0.5 * tanh(0.5 a) + 0.5: halving the r and z columns of the weights and
    # biases makes the matmuls produce 0.5 a for those gates directly.
    column_scale = np.repeat(np.array([0.5, 0.5, 1.0], dtype=dtype), H)  # (3H,)
    Wh_scaled = Wh * column_scale
    # The hidden bias of r and z simply adds to the input bias; only n's must stay apart.
    b_in = bx + np.concatenate([bh[: 2 * H], np.zeros(H, dtype)])
    bh_n = bh[2 * H :]

    # acts[t] holds step t's values in four column blocks [n, r, z, ah_n], where
    # ah_n = prev_h @ Wh_n + bh_n. The input contributions x_t Wx + b_in of every step come
    # from one GEMM (with the bias trick), with Wx's columns reordered to n, r, z; each step
    # then turns them in place into n, r and z. (This order lets the backward pass write its
    # gradients into the same buffer, as blocks [ax_n, r, z, ah_n] that go back through Wx
    # (the first three) and Wh (the last three).)
    x1 = time_major_with_ones(x)  # (T, N, D + 1)
    acts = np.empty((T, N, 4 * H), dtype=dtype)
    Wx1 = np.concatenate([Wx, b_in[None]]) * column_scale  # (D + 1, 3H), columns r, z, n
    Wx1_nrz = np.concatenate([Wx1[:, 2 * H :], Wx1[:, : 2 * H]], axis=1)
    np.matmul(x1.reshape(T * N, D + 1), Wx1_nrz, out=acts.reshape(T * N, 4 * H)[:, : 3 * H])

    hs = np.empty((T + 1, N, H), dtype=dtype)  # hs[t + 1]: hidden state after step t
    hs[0] = h0
    hg = np.empty((N, 3 * H), dtype=dtype)  # scratch: prev_h @ Wh for r, z, n
    scratch = np.empty((N, H), dtype=dtype)
    frozen = None if lengths is None else (np.arange(T)[:, None, None] >= lengths[:, None])

    for t in range(T):
        A = acts[t]  # (N, 4H)
        n, r, z, ah_n = A[:, :H], A[:, H : 2 * H], A[:, 2 * H : 3 * H], A[:, 3 * H :]
        np.matmul(hs[t], Wh_scaled, out=hg)
        rz = A[:, H : 3 * H]  # r and z side by side
        rz += hg[:, : 2 * H]
        np.tanh(rz, out=rz)
        rz *= 0.5
        rz += 0.5
        np.add(hg[:, 2 * H :], bh_n, out=ah_n)
        np.multiply(r, ah_n, out=scratch)  # n = tanh(ax_n + r * ah_n)
        n += scratch
        np.tanh(n, out=n)
        np.subtract(hs[t], n, out=scratch)  # next_h = n + z * (prev_h - n)
        scratch *= z
        np.add(n, scratch, out=hs[t + 1])
        if frozen is not None:  # padded rows keep their state
            np.copyto(hs[t + 1], hs[t], where=frozen[t])

    mask = None if lengths is None else step_mask(lengths, T, dtype)  # (T, N, 1)
    h = batch_major(hs[1:] if mask is None else hs[1:] * mask)
    cache = dict(x1=x1, hs=hs, acts=acts, Wx=Wx, Wh=Wh, bx=bx, bh=bh, lengths=lengths, mask=mask)
    return h, cache


def gru_backward(
    dh: np.ndarray, cache: dict
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backpropagation through time for gru_forward.

    Inputs:
    - dh: (N, T, H) gradient with respect to every hidden state.
    - cache: from gru_forward. This pass writes its gradients into the cache's gate buffer;
      a second call on the same cache is allowed and reruns the forward pass first.

    Returns (dx, dh0, dWx, dWh, dbx, dbh) with shapes
    (N, T, D), (N, H), (D, 3H), (H, 3H), (3H,), (3H,).
    """
    x1, hs, Wx, Wh, mask = (cache[k] for k in ("x1", "hs", "Wx", "Wh", "mask"))
    T, N, D1 = x1.shape
    H = hs.shape[2]
    s = checks.Shapes()
    s.array("h", hs[1:].swapaxes(0, 1), "N, T, H")
    s.array("dh", dh, "N, T, H")
    checks.same_dtype("h", hs, dh=dh)
    checks.finite(dh=dh)
    dtype = hs.dtype
    # This pass writes its gradients into the forward's buffer acts (a second (T, N, 4H)
    # buffer would cost time to allocate and fill), and takes it out of the cache. A second
    # backward on the same cache first reruns the forward pass, from the inputs kept in x1.
    if "acts" not in cache:
        x, h0 = x1[:, :, :-1].swapaxes(0, 1), hs[0]
        cache.update(gru_forward(x, h0, Wx, Wh, cache["bx"], cache["bh"], cache["lengths"])[1])
        x1, hs = cache["x1"], cache["hs"]
    acts = cache.pop("acts")
    WhT = transposed(Wh)  # (3H, H) contiguous: BLAS is faster on it than on the view Wh.T

    # The gradient arriving at each output is read straight from dh[:, t] (no time-major
    # copy); on a ragged batch the mask zeroes it at padded steps. Step t's values
    # [n, r, z, ah_n] are read from acts[t] and then overwritten by the gradients on
    # [ax_n, r, z, ah_n] (the pre-activations of r and z, and the two parts of n's).
    dnext = np.zeros((N, H), dtype=dtype)  # from step t + 1 back to h_t
    dh_t = np.empty((N, H), dtype=dtype)  # scratch buffers, reused at every step
    scratch = np.empty((N, H), dtype=dtype)
    dh_via_z = np.empty((N, H), dtype=dtype)
    slopes = np.empty((N, 3 * H), dtype=dtype)
    for t in range(T - 1, -1, -1):
        A = acts[t]  # (N, 4H)
        n, r, z, ah_n = A[:, :H], A[:, H : 2 * H], A[:, 2 * H : 3 * H], A[:, 3 * H :]
        if mask is None:  # total gradient on h_t: from its output and from step t + 1
            np.add(dh[:, t], dnext, out=dh_t)
        else:
            np.multiply(dh[:, t], mask[t], out=dh_t)
            dh_t += dnext
        # slope of each nonlinearity: s (1 - s) for the sigmoids r, z (computed for all
        # three blocks n, r, z in one pass), then (1 - n^2) for the tanh of n
        nrz = A[:, : 3 * H]
        np.subtract(1, nrz, out=slopes)
        slopes *= nrz
        slope_n, slope_r, slope_z = slopes[:, :H], slopes[:, H : 2 * H], slopes[:, 2 * H :]
        np.multiply(n, n, out=slope_n)
        np.subtract(1, slope_n, out=slope_n)
        # next_h = n + z (prev_h - n). Everything that needs n and z is done before their
        # blocks are overwritten: z's gradient dh (prev_h - n), and h_{t-1}'s direct share dh z.
        np.subtract(hs[t], n, out=scratch)
        scratch *= dh_t
        np.multiply(dh_t, z, out=dh_via_z)
        d_axn = n  # n's pre-activation ax_n + r * ah_n: dh (1 - z) tanh'
        np.subtract(1, z, out=d_axn)
        d_axn *= dh_t
        d_axn *= slope_n
        np.multiply(scratch, slope_z, out=z)  # z's pre-activation
        np.multiply(d_axn, ah_n, out=scratch)  # through r * ah_n, to r ...
        np.multiply(d_axn, r, out=ah_n)  # ... and to ah_n
        np.multiply(scratch, slope_r, out=r)  # r's pre-activation
        # back to h_{t-1}: through the three hidden matmuls, and directly through z
        np.matmul(A[:, H:], WhT, out=dnext)
        dnext += dh_via_z
    dh0 = dnext

    # Weight gradients: one GEMM each over all steps. The input side comes out in the
    # column order [n, r, z] of acts and is put back into the order r, z, n.
    dg = acts.reshape(T * N, 4 * H)
    dax, dah = dg[:, : 3 * H], dg[:, H:]
    dWx1 = x1.reshape(T * N, D1).T @ dax  # (D + 1, 3H): last row is the bias gradient
    dWx1 = np.concatenate([dWx1[:, H:], dWx1[:, :H]], axis=1)
    dWx, dbx = dWx1[:-1], dWx1[-1]
    dWh = hs[:-1].reshape(T * N, H).T @ dah
    dbh = np.concatenate([dbx[: 2 * H], dg[:, 3 * H :].sum(axis=0)])
    WxT_nrz = transposed(np.concatenate([Wx[:, 2 * H :], Wx[:, : 2 * H]], axis=1))
    dx = batch_major((dax @ WxT_nrz).reshape(T, N, D1 - 1))
    return dx, dh0, dWx, dWh, dbx, dbh
