"""Chapter 15: Frontiers of recurrence. The one-step Jacobian of each cell, initialisation, and
minGRU's linear recurrence computed by parallel scans.

- `one_step_jacobian`: d h_t / d h_{t-1} (or d c_t / d c_{t-1} along the LSTM's cell path) by
  autograd through the library's steps (`minirnn.torch.cells`, `mingru_coefficients`) for
  "rnn", "lstm", "gru" and "mingru" at a random point, with the closed form the chapter's table
  gives (in the course's convention, where the GRU's and minGRU's update gate z keeps the old
  state) and the gate that form is built from.
- `lag_jacobian`, `lag_jacobian_norm`, `carrying_directions`: d h_k / d h_0 for a tanh RNN with
  torch's default W_h, an orthogonal W_h, and an identity-initialised ReLU RNN (Le et al. 2015),
  its spectral norm, and how many directions carry at least a tenth of a gradient through it.
- `train_init_adding`: a short training of the orthogonal RNN and the IRNN on the adding problem,
  with the lag-T Jacobian on held-out sequences before and after.
- `hillis_steele_work`, `blelloch_work`: how many pair combinations each parallel scan performs.
- `first_nonfinite_length`, `relative_error`: where the naive cumulative product breaks and how
  far each float32 method drifts from the float64 loop.
- `check_claims`: the chapter's claims on its measurements.

Row-vector convention: J[i, j] = d h_t[i] / d h_{t-1}[j]; one example, H units. In the chapter's
prose the linear recurrence is h_t = lambda_t * h_{t-1} + u_t; the code names lambda a and u b.
"""

from __future__ import annotations

import copy
import math
from unittest import mock

import numpy as np
import torch

from minirnn.data import adding_problem, to_torch
from minirnn.torch import mingru
from minirnn.torch.adding import solved
from minirnn.torch.cells import gru_step, lstm_step, rnn_step
from minirnn.torch.mingru import (
    linear_recurrence_blelloch,
    linear_recurrence_cumprod,
    linear_recurrence_logspace,
    linear_recurrence_scan,
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
    mingru: J = d h_t/d h_{t-1},           formula diag(z)               (exact: gates read x only)

    z is the update gate in the course's (torch's) convention, the share of h_{t-1} kept, for both
    the GRU and minGRU; minGRU's paper writes 1 - z for it (`mingru_coefficients` returns our z
    as its first output, a = 1 - z_paper).
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
        # a = 1 - z_paper (our z), b = z_paper * n, for a sequence of one step: they read x only
        a, b = (c[:, 0] for c in mingru_coefficients(x[:, None], Wz, bz, Wn, bn))

        def step(h):
            return a * h + b

        formula = torch.diag(a[0])
    J = torch.autograd.functional.jacobian(step, point)[0, :, 0, :]
    return J, formula


INITS = ("default", "orthogonal", "identity_relu")


def _init_rnn(rnn: torch.nn.RNN, init: str) -> None:
    """Set W_h (and for the IRNN the biases) of a one-layer torch.nn.RNN in place."""
    with torch.no_grad():
        if init == "orthogonal":
            torch.nn.init.orthogonal_(rnn.weight_hh_l0)
        elif init == "identity_relu":
            rnn.weight_hh_l0.copy_(torch.eye(rnn.hidden_size))
            rnn.bias_hh_l0.zero_()
            rnn.bias_ih_l0.zero_()


def lag_jacobian(rnn: torch.nn.Module, x: torch.Tensor, h0: torch.Tensor) -> torch.Tensor:
    """d h_k / d h_0 (H, H), float64, for a one-layer batch-first RNN module (torch.nn's or
    minirnn's, tanh or ReLU) over one sequence x (1, k, D) from h0 (1, 1, H).

    The product of the one-step Jacobians diag(phi'(pre_t)) W_hh, t = k..1 (torch's W_hh is our
    W_h^T), written out so that it is cheap; `autograd_lag_jacobian` is the check."""
    if x.dim() != 3 or x.shape[0] != 1:
        raise ValueError(f"x: expected shape (1, k, D), got {tuple(x.shape)}")
    W_ih, W_hh = rnn.weight_ih_l0.detach().double(), rnn.weight_hh_l0.detach().double()
    bias = (rnn.bias_ih_l0 + rnn.bias_hh_l0).detach().double()
    relu = rnn.nonlinearity == "relu"
    h, J = h0.reshape(1, -1).double(), torch.eye(W_hh.shape[0], dtype=torch.float64)
    for x_t in x[0].double():
        pre = x_t @ W_ih.T + h @ W_hh.T + bias
        h = torch.relu(pre) if relu else torch.tanh(pre)
        slope = (pre > 0).double() if relu else 1 - h**2
        J = (slope[0, :, None] * W_hh) @ J
    return J


def autograd_lag_jacobian(rnn: torch.nn.Module, x: torch.Tensor, h0: torch.Tensor
                          ) -> torch.Tensor:
    """`lag_jacobian` by autograd through a float64 copy of the module (slow; for checks)."""
    layer = copy.deepcopy(rnn).double()

    def final(h: torch.Tensor) -> torch.Tensor:
        return layer(x.double(), h)[1]

    H = h0.shape[-1]
    return torch.autograd.functional.jacobian(final, h0.double()).reshape(H, H)


def _random_rnn(init: str, k: int, H: int, input_std: float, seed: int):
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {init!r}")
    if k < 1:
        raise ValueError(f"k: expected >= 1, got {k}")
    torch.manual_seed(seed)
    rnn = RNN(H, H, nonlinearity="relu" if init == "identity_relu" else "tanh",
              batch_first=True).double()
    _init_rnn(rnn, init)
    h0 = torch.rand(1, 1, H, dtype=torch.float64)  # positive, so every ReLU unit starts active
    # one step at a time, so that the inputs of a shorter lag are the start of a longer one's
    x = torch.stack([torch.randn(H, dtype=torch.float64) for _ in range(k)])[None] * input_std
    return rnn, x, h0


def lag_jacobian_norm(init: str, k: int, H: int = 64, input_std: float = 0.1, seed: int = 0
                      ) -> float:
    """Spectral norm of d h_k / d h_0 for a one-layer RNN over k random inputs (N = 1, D = H).

    The layer is `minirnn.torch.RNN`. init: "default" (torch.nn's uniform(-1/sqrt(H), 1/sqrt(H)),
    tanh), "orthogonal" (an orthogonal W_h, tanh), or "identity_relu" (W_h = I, zero bias, ReLU:
    Le et al.'s IRNN)."""
    J = lag_jacobian(*_random_rnn(init, k, H, input_std, seed))
    return float(torch.linalg.matrix_norm(J, ord=2))


def carrying_directions(J: torch.Tensor, share: float = 0.1) -> int:
    """How many singular values of J are at least ``share``: the number of independent
    directions through which at least that share of a gradient survives. For the IRNN, whose
    lag Jacobian is a 0/1 diagonal, it is the number of units active at every step."""
    if not 0 < share:
        raise ValueError(f"share: expected > 0, got {share}")
    return int((torch.linalg.svdvals(J) >= share).sum())


def lag_jacobian_stats(init: str, k: int, H: int = 64, input_std: float = 0.1, seed: int = 0
                       ) -> tuple[float, int]:
    """(spectral norm, carrying directions) of d h_k / d h_0, on the setting of
    `lag_jacobian_norm`."""
    J = lag_jacobian(*_random_rnn(init, k, H, input_std, seed))
    return float(torch.linalg.matrix_norm(J, ord=2)), carrying_directions(J)


class _Regressor(torch.nn.Module):
    """x (N, T, 2) -> (N,): a one-layer torch.nn.RNN (tanh or ReLU) and a linear readout."""

    def __init__(self, init: str, H: int) -> None:
        super().__init__()
        self.rnn = torch.nn.RNN(2, H, nonlinearity="relu" if init == "identity_relu" else "tanh",
                                batch_first=True)
        _init_rnn(self.rnn, init)
        self.readout = torch.nn.Linear(H, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.readout(self.rnn(x)[0][:, -1]).squeeze(-1)


def _held_out_jacobians(rnn: torch.nn.RNN, x: torch.Tensor) -> tuple[float, float]:
    """Median spectral norm and median carrying directions of d h_T / d h_0 from h0 = 0, over
    the sequences of x (n, T, 2)."""
    H = rnn.hidden_size
    norms, carrying = [], []
    for seq in x:
        J = lag_jacobian(rnn, seq[None], torch.zeros(1, 1, H))
        norms.append(float(torch.linalg.matrix_norm(J, ord=2)))
        carrying.append(carrying_directions(J))
    return float(np.median(norms)), float(np.median(carrying))


def train_init_adding(init: str, T: int = 50, H: int = 64, steps: int = 300,
                      batch_size: int = 32, lr: float = 1e-3, seed: int = 0,
                      n_jacobian: int = 8, eval_size: int = 500) -> dict:
    """Adam (norm clipped at 1) on the adding problem of length T for an RNN of H units with
    ``init`` "orthogonal" (tanh) or "identity_relu" (the IRNN), from torch's default otherwise.

    Returns {"norm_before", "norm_after": median spectral norm of d h_T / d h_0 on
    ``n_jacobian`` held-out sequences, "carrying_before", "carrying_after": median number of
    directions carrying at least a tenth of a gradient (`carrying_directions`), "eval_mse",
    "baseline_mse": held-out MSE after training and of predicting the mean}."""
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {init!r}")
    torch.manual_seed(seed)
    model = _Regressor(init, H)
    x_train, y_train = to_torch(adding_problem(steps * batch_size, T, seed=seed))
    x_eval, y_eval = to_torch(adding_problem(eval_size, T, seed=10_000 + seed))
    norm_before, carrying_before = _held_out_jacobians(model.rnn, x_eval[:n_jacobian])
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for step in range(steps):
        rows = slice(step * batch_size, (step + 1) * batch_size)
        loss = torch.mean((model(x_train[rows]) - y_train[rows]) ** 2)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
    with torch.no_grad():
        eval_mse = float(torch.mean((model(x_eval) - y_eval) ** 2))
    norm_after, carrying_after = _held_out_jacobians(model.rnn, x_eval[:n_jacobian])
    return {"norm_before": norm_before, "norm_after": norm_after,
            "carrying_before": carrying_before, "carrying_after": carrying_after,
            "eval_mse": eval_mse, "baseline_mse": float(torch.mean((y_eval - y_eval.mean()) ** 2))}


def hillis_steele_work(T: int) -> int:
    """Pair combinations the Hillis-Steele scan (`linear_recurrence_scan`) does: at offset d,
    T - d positions combine, for d = 1, 2, 4, ... < T; about T log2 T in all."""
    if T < 1:
        raise ValueError(f"T: expected >= 1, got {T}")
    work, d = 0, 1
    while d < T:
        work += T - d
        d *= 2
    return work


def blelloch_work(T: int) -> int:
    """Pair combinations Blelloch's scan (`linear_recurrence_blelloch`) does: P - 1 in the
    up-sweep and P - 1 in the down-sweep, P = T rounded up to a power of two; at most 4 T."""
    if T < 1:
        raise ValueError(f"T: expected >= 1, got {T}")
    P = 2 ** math.ceil(math.log2(T)) if T > 1 else 1
    return 2 * (P - 1)


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


METHODS = {"loop": linear_recurrence_sequential, "hillis_steele": linear_recurrence_scan,
           "blelloch": linear_recurrence_blelloch, "logspace": linear_recurrence_logspace}


def relative_error(T: int, method: str, dtype: torch.dtype = torch.float32, seed: int = 0
                   ) -> float:
    """Median over entries of |h_method - h_exact| / |h_exact| at every step, where h_exact is
    the float64 sequential loop and ``method`` (a key of METHODS) runs in ``dtype`` on
    `mingru_like_coefficients`."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {tuple(METHODS)}, got {method!r}")
    a, b, h0 = mingru_like_coefficients(T, seed=seed)
    exact = linear_recurrence_sequential(a, b, h0)
    approx = METHODS[method](a.to(dtype), b.to(dtype), h0.to(dtype)).double()
    return float(((approx - exact).abs() / exact.abs()).median())


def logspace_relative_error(T: int, dtype: torch.dtype = torch.float32, seed: int = 0) -> float:
    """`relative_error` of the log-space closed form."""
    return relative_error(T, "logspace", dtype, seed)


def sequential_relative_error(T: int, dtype: torch.dtype = torch.float32, seed: int = 0) -> float:
    """`relative_error` of the plain sequential loop (the baseline)."""
    return relative_error(T, "loop", dtype, seed)


def counted_combinations(method: str, T: int) -> tuple[int, int]:
    """(levels, pair combinations) that `linear_recurrence_scan` ("hillis_steele") or
    `linear_recurrence_blelloch` ("blelloch") actually performs on T steps, counted by wrapping
    `minirnn.torch.mingru.combine` (each call combines a batch of positions at once)."""
    scans = {"hillis_steele": mingru.linear_recurrence_scan,
             "blelloch": mingru.linear_recurrence_blelloch}
    if method not in scans:
        raise ValueError(f"method must be one of {tuple(scans)}, got {method!r}")
    a, b, h0 = mingru_like_coefficients(T, H=1, N=1)
    combined: list[int] = []
    real = mingru.combine

    def counting(first, then):
        combined.append(first[0].shape[1])  # positions combined by this call
        return real(first, then)

    with mock.patch.object(mingru, "combine", counting):
        _, levels = scans[method](a, b, h0, return_levels=True)
    return levels, sum(combined)


# ------------------------------------------------------------------------------ claims


def check_claims(m: dict) -> None:
    """Assert the chapter's claims on its measurements m; raises AssertionError naming the claim.

    Keys: jacobian_error {cell: max |J - formula|}, off_diagonal {cell: off-diagonal share of J},
    lag_norms {init: [spectral norm at each lag]}, lag_carrying {init: [carrying directions]},
    lags (list of ints), H (units), training (the runs of init_training.json: dicts with init,
    norm_before, norm_after, carrying_before, carrying_after, eval_mse, baseline_mse),
    work {T: (hillis_steele combinations, blelloch combinations)}, counted {T: same, counted},
    errors {method: [float32 median relative error at each T of error_T]}, error_T,
    nonfinite {"float32": T, "float64": T}.
    """
    def claim(ok: bool, text: str) -> None:
        if not ok:
            raise AssertionError(f"chapter 15 claim fails: {text}")

    je, off = m["jacobian_error"], m["off_diagonal"]
    claim(max(je["rnn"], je["lstm"], je["mingru"]) < 1e-12,
          "the vanilla, LSTM-cell-path and minGRU rows of the table are exact")
    claim(je["gru"] > 0.05, "the GRU's Jacobian is more than its direct path diag(z)")
    claim(off["lstm"] == 0 and off["mingru"] == 0 and min(off["rnn"], off["gru"]) > 0.1,
          "only the LSTM's cell path and minGRU have diagonal Jacobians")
    lags, norms, carrying = m["lags"], m["lag_norms"], m["lag_carrying"]
    k50 = lags.index(50)
    claim(norms["default"][k50] < 1e-8, "torch's default leaves a lag-50 norm below 1e-8")
    claim(norms["orthogonal"][k50] > 1e8 * norms["default"][k50],
          "the orthogonal start keeps the lag-50 norm eight or more orders of magnitude larger")
    claim(all(abs(v - 1) < 1e-12 for v in norms["identity_relu"]),
          "the IRNN's lag Jacobian has spectral norm exactly 1 at every lag")
    irnn = carrying["identity_relu"]
    claim(all(x >= y for x, y in zip(irnn, irnn[1:])) and irnn[-1] <= 0.6 * m["H"],
          "the units that carry the IRNN's gradient fall with the lag, to at most 60% of H")
    runs = m["training"]
    orth = [r for r in runs if r["init"] == "orthogonal"]
    ident = [r for r in runs if r["init"] == "identity_relu"]
    claim(len(orth) >= 3 and len(ident) >= 3, "three seeds per initialisation")
    claim(all(r["norm_after"] < 0.01 * r["norm_before"] for r in orth),
          "training shrinks the orthogonal RNN's lag-50 norm a hundredfold or more, every seed")
    claim(all(r["norm_after"] > 2 for r in ident),
          "training moves the IRNN's lag-50 norm from 1 to above 2, every seed")
    claim(all(r["carrying_after"] <= 0.5 * r["carrying_before"] for r in ident),
          "training halves (or worse) the IRNN's gradient-carrying directions, every seed")
    claim(all(r["eval_mse"] < r["baseline_mse"] / 3 for r in ident)
          and all(abs(r["eval_mse"] / r["baseline_mse"] - 1) < 0.04 for r in orth),
          "in 300 steps the IRNN learns (below a third of the mean predictor's error) and the "
          "orthogonal RNN stays within 4% of the mean predictor")
    claim(not any(solved(r["eval_mse"], r["baseline_mse"]) for r in runs),
          "neither solves the task in 300 steps (the book's standard: a tenth of the mean's)")
    for T, (hs, bl) in m["work"].items():
        claim(tuple(m["counted"][T]) == (hs, bl), f"the counted combinations at T={T}")
        claim(bl <= 4 * T and bl < hs, f"Blelloch's work is O(T) and below Hillis-Steele's "
              f"at T={T}")
        if T >= 64:
            claim(hs > T * (math.log2(T) - 2), f"Hillis-Steele does about T log2 T at T={T}")
    errors = m["errors"]
    for method in ("hillis_steele", "blelloch", "loop"):
        e = errors[method]
        claim(max(e) < 1e-7 and max(e) < 1.5 * min(e),
              f"the float32 {method} error stays below 1e-7 and does not grow with T")
    claim(round(float(np.median(errors["hillis_steele"])), 8) == 4e-8,
          "the float32 Hillis-Steele scan's median relative error is about 4e-8")
    log_err = errors["logspace"]
    claim(all(x < y for x, y in zip(log_err, log_err[1:])), "the log-space error grows with T")
    claim(all(le > 10 * se for le, se in zip(log_err, errors["hillis_steele"])),
          "the log-space error is more than ten times the (a, b) scan's at every T")
    claim(m["nonfinite"] == {"float32": 128, "float64": 1024},
          "the cumulative product breaks at T = 128 in float32 and T = 1024 in float64")
