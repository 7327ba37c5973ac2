"""minirnn.results.runs: the shipped sweep's runs, read back through importlib.resources."""

from __future__ import annotations

import pytest

from minirnn.results.runs import errors_by_length, load_runs


def test_load_runs_reads_every_file_of_the_shipped_sweep():
    runs = load_runs("long_range")
    assert {"task", "cell", "T", "seed", "error"} <= set(runs[0])
    assert {r["seed"] for r in runs} == {0, 1, 2}  # seeds 1 and 2 live in their own files
    with pytest.raises(FileNotFoundError, match="no runs"):
        load_runs("lstm_adding")


def test_errors_by_length_orders_by_length_then_seed():
    runs = [{"task": "adding", "cell": "gru", "T": T, "seed": s, "error": 10 * T + s}
            for T, s in [(30, 1), (10, 2), (10, 0), (30, 0)]]
    runs.append({"task": "copy", "cell": "gru", "T": 10, "seed": 0, "error": -1.0})
    assert errors_by_length(runs, "adding", "gru") == {10: [100, 102], 30: [300, 301]}
    assert errors_by_length(runs, "adding", "lstm") == {}
