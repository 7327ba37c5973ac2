"""Runs of a shipped sweep, read back: the long-range benchmark's runs*.json, which the appendix
tabulates and chapter 14 compares the GRU with the LSTM on.

A run is a dict with at least "task", "cell", "T", "seed" and "error" (see
``experiments/long_range.py``); an experiment may split its runs over several runs*.json files.
"""

from __future__ import annotations

import json

from minirnn.results import results_path


def load_runs(experiment: str = "long_range") -> list[dict]:
    """Every run in the shipped ``minirnn/results/<experiment>/runs*.json`` files, file by file
    in name order. Raises FileNotFoundError when the experiment holds no runs*.json."""
    folder = results_path(experiment)
    files = sorted(folder.glob("runs*.json"))
    if not files:
        raise FileNotFoundError(f"experiment: no runs*.json in {folder.name}/")
    return [r for f in files for r in json.loads(f.read_text(encoding="utf-8"))]


def errors_by_length(runs: list[dict], task: str, cell: str) -> dict[int, list[float]]:
    """{T: [error of each seed, seeds ascending]} for one task and cell, T ascending."""
    out: dict[int, list[tuple[int, float]]] = {}
    for r in runs:
        if r["task"] == task and r["cell"] == cell:
            out.setdefault(r["T"], []).append((r["seed"], r["error"]))
    return {T: [e for _, e in sorted(pairs)] for T, pairs in sorted(out.items())}
