"""Appendix (chapter 16 of the book): the long-range benchmark. The adding and copy tasks over
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

Errors: adding, the test mean squared error (predicting the mean sum scores 1/6); copy, the
share of copied symbols predicted wrongly (chance 1 - 1/8). A run *succeeds* when its error is
below `SUCCESS` for its task.
"""

from __future__ import annotations

import time

import torch
from torch import nn

from minirnn.data import IGNORE_INDEX, adding_problem, copy_task, to_torch
from minirnn.results.runs import errors_by_length
from minirnn.results.runs import load_runs as load_shipped_runs
from minirnn.torch.adding import AddingRegressor
from minirnn.torch.mingru import MinGRU
from minirnn.torch.models import recurrent_layer, token_cross_entropy
from minirnn.torch.train import FreshBatches, Trainer

__all__ = ["CELLS", "SUCCESS", "TASKS", "CopyModel", "build_model", "errors_by_length",
           "load_runs", "run_one", "summarise", "task_batch"]

CELLS = ("rnn", "lstm", "gru", "mingru")
TASKS = ("adding", "copy")
SUCCESS = {"adding": 0.01, "copy": 0.05}  # error thresholds; the trivial baselines: 1/6, 7/8
N_SYMBOLS, COPY_LEN = 8, 5


class CopyModel(nn.Module):
    """ids (N, L) -> logits (N, L, 9): embeddings of 16, one recurrent layer of ``cell`` with
    ``hidden_size`` units (batch-first), a linear head predicting a symbol at every step."""

    def __init__(self, cell: str, hidden_size: int = 32) -> None:
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {CELLS}, got {cell!r}")
        self.embed = nn.Embedding(N_SYMBOLS + 2, 16)  # blank, symbols, delimiter
        if cell == "mingru":
            self.rnn = MinGRU(16, hidden_size)
        else:
            # torch.nn's layers (backend="torch"): the same function as minirnn's, faster on a CPU
            self.rnn = recurrent_layer(cell, 16, hidden_size, backend="torch")
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
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {CELLS}, got {cell!r}")
    if task == "adding":
        # torch.nn's layers (backend "torch"): the same function, faster on a CPU
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
            n_test: int = 1000) -> dict:
    """Train one model with Adam (global-norm clipping at ``clip_norm``) on fresh batches, then
    score it on ``n_test`` held-out sequences. Returns a dict: the configuration, ``error``,
    ``success`` (error below ``SUCCESS[task]``), ``baseline`` (the trivial error), the loss every
    50 steps and the seconds it took."""
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
    return {"task": task, "cell": cell, "T": T, "seed": seed, "steps": steps, "batch": batch,
            "hidden_size": hidden_size, "lr": lr, "error": error,
            "success": bool(error < SUCCESS[task]),
            "baseline": 1 / 6 if task == "adding" else 1 - 1 / N_SYMBOLS,
            "loss_curve": curve, "seconds": round(time.perf_counter() - start, 2)}


def summarise(runs: list[dict]) -> list[dict]:
    """One row per (task, cell, T): runs, successes, median and best error, in sorted order."""
    groups: dict[tuple, list[dict]] = {}
    for r in runs:
        groups.setdefault((r["task"], r["cell"], r["T"]), []).append(r)
    rows = []
    for (task, cell, T), rs in sorted(groups.items(),
                                      key=lambda kv: (kv[0][0], CELLS.index(kv[0][1]), kv[0][2])):
        errors = sorted(r["error"] for r in rs)
        rows.append({"task": task, "cell": cell, "T": T, "runs": len(rs),
                     "successes": sum(r["success"] for r in rs),
                     "median_error": errors[len(errors) // 2], "best_error": errors[0]})
    return rows


def load_runs() -> list[dict]:
    """Every shipped run of the benchmark (``minirnn/results/long_range/runs*.json``: the
    experiment may split its seeds over several files), in a stable order: task, cell, T, seed."""
    return sorted(load_shipped_runs("long_range"),
                  key=lambda r: (r["task"], CELLS.index(r["cell"]), r["T"], r["seed"]))


