"""Chapter 15: Frontiers. The one-step Jacobian of each cell, initialisation, and minGRU's scan.

- `one_step_jacobian`: d h_t / d h_{t-1} (or d c_t / d c_{t-1} along the LSTM's cell path) by
  autograd through the library's steps (`minirnn.torch.cells`, `mingru_coefficients`) for
  "rnn", "lstm", "gru" and "mingru" at a random point, with the closed form the
  chapter's table gives and the gate that form is built from.
- `lag_jacobian_norm`: the spectral norm of d h_k / d h_0 for a tanh RNN with torch's default
  W_h, an orthogonal W_h, and an identity-initialised ReLU RNN (Le et al. 2015).
- `scan_work`: how many pair combinations the Hillis-Steele scan performs for T steps.
- `first_nonfinite_length`, `logspace_relative_error`: where the naive cumulative product breaks
  and how far a float32 log-space scan drifts.

Row-vector convention: J[i, j] = d h_t[i] / d h_{t-1}[j]; one example, H units.
"""

from __future__ import annotations

import torch

from minirnn.torch.cells import gru_step, lstm_step, rnn_step
from minirnn.torch.mingru import (
    linear_recurrence_cumprod,
    linear_recurrence_logspace,
    linear_recurrence_sequential,
    mingru_coefficients,
)
from minirnn.torch.rnn import RNN

CELLS = ("rnn", "lstm", "gru", "mingru")


def one_step_jacobian(cell: str, H: int = 6, D: int = 4, seed: int = 0
                      ) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (J, formula), both (H, H), float64, at a random x (1, D), h_{t-1} (and c_{t-1}).

    rnn:    J = d h_t/d h_{t-1},           formula diag(1 - h_t^2) W_h^T (exact)
    lstm:   J = d c_t/d c_{t-1} at fixed h, formula diag(f)              (exact; the cell path)
    gru:    J = d h_t/d h_{t-1},           formula diag(z)               (only the direct path)
    mingru: J = d h_t/d h_{t-1},           formula diag(1 - z)           (exact: gates read x only)
    """
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {CELLS}, got {cell!r}")
    g = torch.Generator().manual_seed(seed)

    def rand(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=g, dtype=torch.float64)

    x, h_prev = rand(1, D), rand(1, H)
    point = h_prev  # where J is taken: h_{t-1}, or c_{t-1} for the LSTM's cell path
    # The course's layout (Wx (D, G*H), Wh (H, G*H)); the library's steps take the transposes.
    if cell == "rnn":
        Wx, Wh, b = rand(D, H) * 0.5, rand(H, H) * 0.5, rand(H) * 0.1

        def step(h):
            return rnn_step(x, h, Wx.T, Wh.T, b, None)

        h_t = step(h_prev)
        formula = torch.diag((1 - h_t**2)[0]) @ Wh.T
    elif cell == "lstm":
        Wx, Wh, b = rand(D, 4 * H) * 0.5, rand(H, 4 * H) * 0.5, rand(4 * H) * 0.1
        point = rand(1, H)  # c_{t-1}; h_{t-1} stays fixed, so the gates do too

        def step(c):
            return lstm_step(x, (h_prev, c), Wx.T, Wh.T, b, None)[1]

        _, (_, f, _, _) = lstm_step(x, (h_prev, point), Wx.T, Wh.T, b, None, return_gates=True)
        formula = torch.diag(f[0])
    elif cell == "gru":
        Wx, Wh, bx, bh = rand(D, 3 * H) * 0.5, rand(H, 3 * H) * 0.5, rand(3 * H), rand(3 * H)

        def step(h):
            return gru_step(x, h, Wx.T, Wh.T, bx, bh)

        _, (_, z, _) = gru_step(x, h_prev, Wx.T, Wh.T, bx, bh, return_gates=True)
        formula = torch.diag(z[0])
    else:
        Wz, bz, Wn, bn = rand(D, H), rand(H), rand(D, H), rand(H)
        # a = 1 - z, b = z * n, for a sequence of one step: they read x only
        a, b = (c[:, 0] for c in mingru_coefficients(x[:, None], Wz, bz, Wn, bn))

        def step(h):
            return a * h + b

        formula = torch.diag(a[0])
    J = torch.autograd.functional.jacobian(step, point)[0, :, 0, :]
    return J, formula


def lag_jacobian_norm(init: str, k: int, H: int = 64, input_std: float = 0.1, seed: int = 0
                      ) -> float:
    """Spectral norm of d h_k / d h_0 for a one-layer RNN over k random inputs (N = 1, D = H).

    The layer is `minirnn.torch.RNN`. init: "default" (torch.nn's uniform(-1/sqrt(H), 1/sqrt(H)),
    tanh), "orthogonal" (an orthogonal W_h, tanh), or "identity_relu" (W_h = I, zero bias, ReLU:
    Le et al.'s IRNN)."""
    inits = ("default", "orthogonal", "identity_relu")
    if init not in inits:
        raise ValueError(f"init must be one of {inits}, got {init!r}")
    if k < 1:
        raise ValueError(f"k: expected >= 1, got {k}")
    torch.manual_seed(seed)
    rnn = RNN(H, H, nonlinearity="relu" if init == "identity_relu" else "tanh",
              batch_first=True).double()
    with torch.no_grad():
        if init == "orthogonal":
            torch.nn.init.orthogonal_(rnn.weight_hh_l0)
        elif init == "identity_relu":
            rnn.weight_hh_l0.copy_(torch.eye(H))
            rnn.bias_hh_l0.zero_()
            rnn.bias_ih_l0.zero_()
    x = torch.randn(1, k, H, dtype=torch.float64) * input_std
    h0 = torch.rand(1, 1, H, dtype=torch.float64)  # positive, so every ReLU unit starts active

    def final(h: torch.Tensor) -> torch.Tensor:
        return rnn(x, h)[1]

    J = torch.autograd.functional.jacobian(final, h0).reshape(H, H)
    return float(torch.linalg.matrix_norm(J, ord=2))


def scan_work(T: int) -> int:
    """Pair combinations the Hillis-Steele scan does: at offset d, T - d positions combine, for
    d = 1, 2, 4, ... < T; about T log2 T in all (the sequential loop does T - 1)."""
    if T < 1:
        raise ValueError(f"T: expected >= 1, got {T}")
    work, d = 0, 1
    while d < T:
        work += T - d
        d *= 2
    return work


def mingru_like_coefficients(T: int, H: int = 16, N: int = 4, seed: int = 0,
                             dtype: torch.dtype = torch.float64
                             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """a = 1 - z, b = z * n with z = sigmoid(standard normal) and n = softplus(normal) > 0, so the
    log-space form applies; and h0 > 0. Shapes (N, T, H), (N, T, H), (N, H)."""
    g = torch.Generator().manual_seed(seed)
    z = torch.sigmoid(torch.randn(N, T, H, generator=g, dtype=torch.float64))
    n = torch.nn.functional.softplus(torch.randn(N, T, H, generator=g, dtype=torch.float64))
    h0 = torch.rand(N, H, generator=g, dtype=torch.float64) + 0.1
    return (1 - z).to(dtype), (z * n).to(dtype), h0.to(dtype)


def first_nonfinite_length(dtype: torch.dtype, lengths: tuple[int, ...] = tuple(
        2**p for p in range(4, 13)), seed: int = 0) -> int | None:
    """The first T in ``lengths`` at which `linear_recurrence_cumprod` returns inf or NaN on
    `mingru_like_coefficients` in ``dtype``; None if it never does."""
    for T in lengths:
        a, b, h0 = mingru_like_coefficients(T, seed=seed, dtype=dtype)
        if not torch.isfinite(linear_recurrence_cumprod(a, b, h0)).all():
            return T
    return None


def logspace_relative_error(T: int, dtype: torch.dtype = torch.float32, seed: int = 0) -> float:
    """Median over entries of |h_logspace - h_exact| / |h_exact| at every step, where h_exact is
    the float64 sequential recurrence and the log-space scan runs in ``dtype``."""
    a, b, h0 = mingru_like_coefficients(T, seed=seed)
    exact = linear_recurrence_sequential(a, b, h0)
    approx = linear_recurrence_logspace(a.to(dtype), b.to(dtype), h0.to(dtype)).double()
    return float(((approx - exact).abs() / exact.abs()).median())


def sequential_relative_error(T: int, dtype: torch.dtype = torch.float32, seed: int = 0) -> float:
    """The same measure for the plain sequential loop run in ``dtype`` (the baseline)."""
    a, b, h0 = mingru_like_coefficients(T, seed=seed)
    exact = linear_recurrence_sequential(a, b, h0)
    approx = linear_recurrence_sequential(a.to(dtype), b.to(dtype), h0.to(dtype)).double()
    return float(((approx - exact).abs() / exact.abs()).median())
