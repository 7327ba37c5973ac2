"""Appendix of the book: the long-range benchmark. The adding and copy tasks over
the sequence length T for a vanilla RNN, an LSTM, a GRU and a minGRU, each trained from a seed
with Adam.

- `build_model`: for "adding" the library's `AddingRegressor` (reads x (N, T, 2), regresses the
  sum from the final state); for "copy" a `CopyModel` (embeds ids (N, L), one recurrent layer,
  predicts a symbol at every step). Both use torch.nn's layers (``backend="torch"``): the same
  function as minirnn's, faster on a CPU for a sweep of hundreds of runs.
- `task_batch`: a fresh batch of either task (its seed fixes it).
- `run_one`: train one (task, cell, T, seed) and return its final error and success.
- `summarise`: success counts and median errors per (task, cell, T) from a list of runs;
  `load_runs`: the shipped runs in a stable order.
- `gradient_reach`: how much gradient of the adding loss reaches each input step, the
  measurement behind "the vanilla RNN fails because its gradient vanishes".
- `check_claims`: the appendix's claims on the shipped table and that measurement.

Errors: adding, the test mean squared error (predicting the mean sum scores about 1/6); copy,
the share of copied symbols predicted wrongly (chance 1 - 1/8). A run *succeeds* by the course's
one standard (`succeeds`): its error is below ``SOLVED_FRACTION`` (a tenth) of the trivial
model's error on the same held-out set: for adding the predict-the-mean MSE
(`minirnn.torch.adding.solved`), for copy the error of always answering the held-out targets'
most common symbol (about 7/8, so a run succeeds below about 0.0875).

Besides the four cells of the main grid (`CELLS`), two checks run on a smaller grid
(`EXTRA_CELLS`): "rnn_orth", the vanilla RNN with an orthogonal W_hh (every singular value 1 at
initialisation, so the product of Jacobians does not shrink through W_hh), and "mingru_stack",
three residual minGRU blocks with MLPs between them (`minirnn.torch.mingru.MinGRUStack`), the way
Feng et al. stack the layer.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn

from minirnn.data import IGNORE_INDEX, adding_problem, copy_task, to_torch
from minirnn.results.runs import errors_by_length
from minirnn.results.runs import load_runs as load_shipped_runs
from minirnn.torch.adding import SOLVED_FRACTION, AddingRegressor, solved
from minirnn.torch.mingru import MinGRU, MinGRUStack
from minirnn.torch.models import recurrent_layer, token_cross_entropy
from minirnn.torch.train import FreshBatches, Trainer

__all__ = ["ALL_CELLS", "CELLS", "EXTRA_CELLS", "TASKS", "CopyModel", "build_model",
           "errors_by_length", "held_out_baseline", "load_runs", "run_one", "succeeds",
           "summarise", "task_batch"]

CELLS = ("rnn", "lstm", "gru", "mingru")
EXTRA_CELLS = ("rnn_orth", "mingru_stack")  # the checks, on a smaller grid
ALL_CELLS = CELLS + EXTRA_CELLS
TASKS = ("adding", "copy")
N_SYMBOLS, COPY_LEN = 8, 5


def held_out_baseline(task: str, y: torch.Tensor) -> float:
    """The trivial model's error on held-out targets y: adding, the MSE of predicting their mean
    (about 1/6); copy, the share wrong when always answering their most common symbol (about
    7/8)."""
    if task == "adding":
        return float(torch.mean((y - y.mean()) ** 2))
    if task == "copy":
        scored = y[y != IGNORE_INDEX]
        return 1.0 - float(torch.bincount(scored).max()) / scored.numel()
    raise ValueError(f"task must be one of {TASKS}, got {task!r}")


def succeeds(task: str, error: float, baseline: float) -> bool:
    """The course's one standard: error below ``SOLVED_FRACTION`` (0.1) times the trivial model's
    error on the same held-out set (for adding exactly `minirnn.torch.adding.solved`)."""
    if task == "adding":
        return solved(error, baseline)
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    return bool(error < SOLVED_FRACTION * baseline)


class CopyModel(nn.Module):
    """ids (N, L) -> logits (N, L, 9): embeddings of 16, one recurrent layer of ``cell`` with
    ``hidden_size`` units (batch-first), a linear head predicting a symbol at every step."""

    def __init__(self, cell: str, hidden_size: int = 32) -> None:
        super().__init__()
        if cell not in ALL_CELLS:
            raise ValueError(f"cell must be one of {ALL_CELLS}, got {cell!r}")
        self.embed = nn.Embedding(N_SYMBOLS + 2, 16)  # blank, symbols, delimiter
        if cell == "mingru":
            self.rnn = MinGRU(16, hidden_size)
        elif cell == "mingru_stack":
            self.rnn = MinGRUStack(16, hidden_size, num_layers=3)
        else:
            # torch.nn's layers (backend="torch"): the same function as minirnn's, faster on a CPU
            self.rnn = recurrent_layer(cell.removesuffix("_orth"), 16, hidden_size,
                                       backend="torch")
            if cell == "rnn_orth":
                nn.init.orthogonal_(self.rnn.weight_hh_l0)
        self.head = nn.Linear(hidden_size, N_SYMBOLS + 1)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(self.embed(ids))
        return self.head(out)

    def loss(self, ids: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return token_cross_entropy(self(ids), targets)

    @torch.no_grad()
    def error(self, ids: torch.Tensor, targets: torch.Tensor) -> float:
        """The share of copied symbols predicted wrongly (positions not IGNORE_INDEX)."""
        scored = targets != IGNORE_INDEX
        return float((self(ids).argmax(-1)[scored] != targets[scored]).float().mean())


def build_model(task: str, cell: str, hidden_size: int = 32) -> nn.Module:
    """The model of one run: an `AddingRegressor` for "adding", a `CopyModel` for "copy"; each
    has ``loss(x, y)`` and ``error(x, y)``. Draws its weights from torch's global generator."""
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    if cell not in ALL_CELLS:
        raise ValueError(f"cell must be one of {ALL_CELLS}, got {cell!r}")
    if task == "adding":
        # torch.nn's layers (backend "torch"): the same function, faster on a CPU
        if cell == "rnn_orth":
            return AddingRegressor("rnn", hidden_size, backend="torch", init="orthogonal")
        return AddingRegressor(cell, hidden_size, backend="torch")
    return CopyModel(cell, hidden_size)


def task_batch(task: str, n: int, T: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """adding: x (n, T, 2), y (n,). copy: ids and targets (n, T + 11) with T blanks of delay."""
    if task == "adding":
        return to_torch(adding_problem(n, T, seed=seed))
    if task == "copy":
        return to_torch(copy_task(n, T, n_symbols=N_SYMBOLS, copy_len=COPY_LEN, seed=seed))
    raise ValueError(f"task must be one of {TASKS}, got {task!r}")


def run_one(task: str, cell: str, T: int, seed: int, steps: int = 1000, batch: int = 64,
            hidden_size: int = 32, lr: float = 3e-3, clip_norm: float = 1.0,
            n_test: int = 1000, return_model: bool = False) -> dict:
    """Train one model with Adam (global-norm clipping at ``clip_norm``) on fresh batches, then
    score it on ``n_test`` held-out sequences. Returns a dict: the configuration, ``error``,
    ``baseline`` (the trivial model's error on the same held-out set, `held_out_baseline`),
    ``success`` (`succeeds`), the loss every 50 steps and the seconds it took; with
    ``return_model`` also ``model``, the trained model (not JSON: leave it out of a saved run)."""
    if steps < 1 or T < 2:
        raise ValueError(f"steps, T: expected steps >= 1 and T >= 2, got {steps}, {T}")
    torch.manual_seed(seed)
    model = build_model(task, cell, hidden_size)
    data = FreshBatches(lambda step: task_batch(task, batch, T, seed=10_000 * (seed + 1) + step))
    start = time.perf_counter()
    losses = Trainer(model, data, optimizer="adam", lr=lr, clip_norm=clip_norm, progress=False
                     ).fit(steps)["loss"]
    curve = [round(loss, 5) for step, loss in enumerate(losses)
             if step % 50 == 0 or step == steps - 1]
    model.eval()
    x, y = task_batch(task, n_test, T, seed=999_999 - seed)  # held out: no training seed is this
    error = model.error(x, y)
    baseline = held_out_baseline(task, y)
    return {"task": task, "cell": cell, "T": T, "seed": seed, "steps": steps, "batch": batch,
            "hidden_size": hidden_size, "lr": lr, "error": error,
            "success": succeeds(task, error, baseline), "baseline": baseline,
            "loss_curve": curve, "seconds": round(time.perf_counter() - start, 2),
            **({"model": model} if return_model else {})}


def gradient_reach(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    """(T,) ||dL/dx_t|| of the adding MSE L on x (N, T, 2), y (N,), divided by its value at the
    last step: how much of the gradient that reaches the last input reaches each earlier one
    (the norm is over the batch and both features)."""
    if x.ndim != 3 or y.shape != x.shape[:1]:
        raise ValueError(f"x, y: expected shapes (N, T, 2) and (N,), got {tuple(x.shape)} and "
                         f"{tuple(y.shape)}")
    x = x.clone().requires_grad_(True)
    (dx,) = torch.autograd.grad(model.loss(x, y), x)
    norms = dx.double().norm(dim=(0, 2)).numpy()
    return norms / norms[-1]


def summarise(runs: list[dict]) -> list[dict]:
    """One row per (task, cell, T): runs, successes, median and best error, in sorted order."""
    groups: dict[tuple, list[dict]] = {}
    for r in runs:
        groups.setdefault((r["task"], r["cell"], r["T"]), []).append(r)
    rows = []
    for (task, cell, T), rs in sorted(groups.items(),
                                      key=lambda kv: (kv[0][0], ALL_CELLS.index(kv[0][1]),
                                                      kv[0][2])):
        errors = sorted(r["error"] for r in rs)
        rows.append({"task": task, "cell": cell, "T": T, "runs": len(rs),
                     "successes": sum(r["success"] for r in rs),
                     "median_error": errors[len(errors) // 2], "best_error": errors[0]})
    return rows


def load_runs() -> list[dict]:
    """Every shipped run of the benchmark (``minirnn/results/long_range/runs*.json``: the
    experiment may split its seeds over several files), in a stable order: task, cell, T, seed."""
    return sorted(load_shipped_runs("long_range"),
                  key=lambda r: (r["task"], ALL_CELLS.index(r["cell"]), r["T"], r["seed"]))




def check_claims(summary: list[dict], reach: dict[str, dict[str, np.ndarray]]) -> None:
    """Assert the appendix's claims; raises AssertionError naming the claim that fails.

    summary: `summarise` of the shipped runs. reach: {"rnn" | "rnn_orth": {"init" | "trained":
    `gradient_reach` at the first input step of adding sequences of the measured length}}.
    """
    def claim(ok: bool, text: str) -> None:
        if not ok:
            raise AssertionError(f"appendix claim fails: {text}")

    rows = {(r["task"], r["cell"], r["T"]): r for r in summary}

    def lengths(task: str, cell: str) -> list[int]:
        return sorted(T for t, c, T in rows if (t, c) == (task, cell))

    def ok(task: str, cell: str, T: int) -> int:
        return rows[task, cell, T]["successes"]

    def everyone(task: str, cell: str, T: int) -> bool:
        return ok(task, cell, T) == rows[task, cell, T]["runs"]

    def median(task: str, cell: str, T: int) -> float:
        return rows[task, cell, T]["median_error"]

    claim(all(r["runs"] >= 3 for r in summary), "every row has at least 3 seeds")
    claim(ok("adding", "rnn", 10) == 1 and 0.01 < median("adding", "rnn", 10) < 0.05,
          "the vanilla RNN solves T = 10 in 1 of 3 seeds, its median just above the standard")
    claim(all(ok("adding", c, T) == 0 and median("adding", c, T) > 0.1
              for c in ("rnn", "rnn_orth") for T in lengths("adding", c) if T >= 30),
          "the vanilla RNN, default or orthogonal, stays at the predict-the-mean error from 30")
    claim(everyone("adding", "rnn_orth", 10) is False and ok("adding", "rnn_orth", 10) >= 1,
          "the orthogonal RNN solves T = 10 in some seeds but not all")
    claim(all(everyone("adding", "gru", T) for T in lengths("adding", "gru")),
          "the GRU solves every length in every seed")
    claim(all(everyone("adding", "lstm", T) for T in lengths("adding", "lstm") if T <= 30)
          and all(median("adding", "lstm", T) > 0.1 for T in lengths("adding", "lstm")
                  if T >= 100), "the LSTM solves T <= 30 and stays on the plateau from 100")
    claim(everyone("adding", "mingru", 10) and ok("adding", "mingru", 30) == 2
          and all(ok("adding", "mingru", T) == 0 for T in (100, 200)),
          "one minGRU layer: 3 of 3 at T = 10, 2 of 3 at 30, none from 100")
    claim(all(median("adding", "mingru", T) < 0.1 for T in (10, 30, 100))
          and median("adding", "mingru", 200) > 0.1,
          "one minGRU layer stays far below the trivial error up to 100, not at 200")
    claim(all(everyone("adding", "mingru_stack", T) for T in lengths("adding", "mingru_stack")),
          "the stacked minGRU solves every length it ran in every seed")
    copy_T = lengths("copy", "rnn")
    claim(all(r["successes"] == 0 for r in summary if r["task"] == "copy"),
          "no copy run succeeds at this budget")
    claim(all(min(CELLS, key=lambda c: median("copy", c, T)) == "gru" for T in copy_T),
          "the GRU has the lowest copy error at every delay")
    claim(all(median("copy", "rnn", T) > 0.85 for T in copy_T), "the RNN copies at chance")
    claim(all(median("copy", c, T) <= median("copy", c, T2) for c in CELLS
              for T, T2 in zip(copy_T, copy_T[1:])), "every cell's copy error grows with delay")
    rnn, orth = reach["rnn"], reach["rnn_orth"]
    claim(rnn["init"] < 1e-4 and rnn["trained"] < 1e-3,
          "little gradient reaches the first step of the default RNN, before and after training")
    claim(orth["init"] > 100 * rnn["init"] and orth["trained"] > 10 * rnn["trained"],
          "the orthogonal RNN gets orders of magnitude more gradient to the first step")
    claim(orth["init"] > 0.01 and orth["trained"] > 0.01,
          "a few percent of the last step's gradient reaches the orthogonal RNN's first step")
