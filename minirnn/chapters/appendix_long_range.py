"""The appendix's long-range benchmark: the adding and copy tasks over the sequence length T for
a vanilla RNN, an LSTM, a GRU and a minGRU, each trained from a seed with Adam.

- `LongRangeModel`: one recurrent layer (batch-first) and a linear head. For "adding" it reads
  x (N, T, 2) and regresses the sum from the final state; for "copy" it reads ids (N, L), embeds
  them and predicts a symbol at every step.
- `task_batch`: a fresh batch of either task (its seed fixes it).
- `run_one`: train one (task, cell, T, seed) and return its final error and success.
- `summarise`: success counts and median errors per (task, cell, T) from a list of runs.

Errors: adding, the test mean squared error (predicting the mean sum scores 1/6); copy, the
share of copied symbols predicted wrongly (chance 1 - 1/8). A run *succeeds* when its error is
below `SUCCESS` for its task.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch
from torch import nn

from minirnn.data import IGNORE_INDEX, adding_problem, copy_task, to_torch
from minirnn.torch.mingru import MinGRU
from minirnn.torch.models import recurrent_layer, token_cross_entropy

CELLS = ("rnn", "lstm", "gru", "mingru")
TASKS = ("adding", "copy")
SUCCESS = {"adding": 0.01, "copy": 0.05}  # error thresholds; the trivial baselines: 1/6, 7/8
N_SYMBOLS, COPY_LEN = 8, 5


class LongRangeModel(nn.Module):
    """One recurrent layer of ``cell`` with ``hidden_size`` units and a head for ``task``."""

    def __init__(self, task: str, cell: str, hidden_size: int = 32) -> None:
        super().__init__()
        if task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {task!r}")
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {CELLS}, got {cell!r}")
        self.task, self.cell = task, cell
        if task == "adding":
            self.embed, input_size, out_size = None, 2, 1
        else:
            vocab = N_SYMBOLS + 2  # blank, symbols, delimiter
            self.embed, input_size, out_size = nn.Embedding(vocab, 16), 16, N_SYMBOLS + 1
        if cell == "mingru":
            self.rnn = MinGRU(input_size, hidden_size)
        else:
            # torch.nn's layers (backend="torch"): the same function as minirnn's, faster on a CPU
            self.rnn = recurrent_layer(cell, input_size, hidden_size, backend="torch")
        self.head = nn.Linear(hidden_size, out_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """adding: x (N, T, 2) -> (N,) sums; copy: ids (N, L) -> logits (N, L, 9)."""
        if self.embed is not None:
            x = self.embed(x)
        out, _ = self.rnn(x)
        if self.task == "adding":
            return self.head(out[:, -1]).squeeze(-1)
        return self.head(out)

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        out = self(x)
        if self.task == "adding":
            return ((out - y) ** 2).mean()
        return token_cross_entropy(out, y)

    @torch.no_grad()
    def error(self, x: torch.Tensor, y: torch.Tensor) -> float:
        """adding: mean squared error; copy: share of copied symbols predicted wrongly."""
        out = self(x)
        if self.task == "adding":
            return float(((out - y) ** 2).mean())
        scored = y != IGNORE_INDEX
        return float((out.argmax(-1)[scored] != y[scored]).float().mean())


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
    model = LongRangeModel(task, cell, hidden_size)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    start = time.perf_counter()
    curve = []
    for step in range(steps):
        x, y = task_batch(task, batch, T, seed=10_000 * (seed + 1) + step)
        loss = model.loss(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
        opt.step()
        if step % 50 == 0 or step == steps - 1:
            curve.append(round(loss.item(), 5))
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


def load_runs(folder: str | Path) -> list[dict]:
    """Every run stored in ``folder``'s runs*.json files (the experiment may split its seeds over
    several files), in a stable order: task, cell, T, seed."""
    folder = Path(folder)
    files = sorted(folder.glob("runs*.json"))
    if not files:
        raise FileNotFoundError(f"folder: no runs*.json in {folder}")
    runs = [r for f in files for r in json.loads(f.read_text())]
    return sorted(runs, key=lambda r: (r["task"], CELLS.index(r["cell"]), r["T"], r["seed"]))


def errors_by_length(runs: list[dict], task: str, cell: str) -> dict[int, list[float]]:
    """{T: [error of each seed]} for one task and cell, T ascending."""
    out: dict[int, list[float]] = {}
    for r in runs:
        if r["task"] == task and r["cell"] == cell:
            out.setdefault(r["T"], []).append(r["error"])
    return dict(sorted(out.items()))
