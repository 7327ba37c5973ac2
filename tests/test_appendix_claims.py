"""The appendix's claims: a small rerun of the benchmark's code path, and the committed table."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import minirnn.chapters.appendix_long_range as lr
from minirnn.results import load_json

ROOT = Path(__file__).resolve().parents[1]  # for experiments/, which is not shipped




def _script():
    spec = importlib.util.spec_from_file_location("long_range_script",
                                                  ROOT / "experiments" / "long_range.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_script_runs_a_tiny_grid_and_writes_a_consistent_summary(tmp_path, monkeypatch, capsys):
    script = _script()
    monkeypatch.setattr(script, "OUT", tmp_path)
    monkeypatch.setattr(script, "GRID", {"adding": (4,), "copy": (2,)})
    assert script.main(["--steps", "3", "--seeds", "0"]) == 0
    runs = json.loads((tmp_path / "runs.json").read_text())
    assert len(runs) == 2 * len(lr.CELLS)
    assert json.loads((tmp_path / "summary.json").read_text()) == lr.summarise(runs)
    assert "median error" in capsys.readouterr().out
    # a restart skips finished runs
    assert script.main(["--steps", "3", "--seeds", "0"]) == 0
    assert len(json.loads((tmp_path / "runs.json").read_text())) == len(runs)


def test_gru_solves_adding_at_20():
    gru = lr.run_one("adding", "gru", T=20, seed=0, steps=400, batch=32, n_test=500)
    assert gru["error"] < lr.SUCCESS["adding"]


def test_vanilla_rnn_stays_at_the_predict_the_mean_error_at_20():
    rnn = lr.run_one("adding", "rnn", T=20, seed=0, steps=400, batch=32, n_test=500)
    assert rnn["error"] > 0.1  # the baseline is 1/6


def test_committed_results_are_complete_and_summarised():
    runs = lr.load_runs()
    summary = load_json("long_range", "summary.json")
    assert summary == lr.summarise(runs)
    keys = {(r["task"], r["cell"], r["T"], r["seed"]) for r in runs}
    assert len(keys) == len(runs)  # no run twice
    assert all(row["runs"] == summary[0]["runs"] for row in summary)  # every cell, every seed
