"""The appendix's claims: a small rerun of the benchmark's code path, and the committed table."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch

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
    assert gru["success"] and lr.succeeds("adding", gru["error"], gru["baseline"])


def test_vanilla_rnn_stays_at_the_predict_the_mean_error_at_20():
    rnn = lr.run_one("adding", "rnn", T=20, seed=0, steps=400, batch=32, n_test=500)
    assert rnn["error"] > 0.1  # the baseline is 1/6


def test_committed_results_are_complete_and_summarised():
    runs = lr.load_runs()
    summary = load_json("long_range", "summary.json")
    assert summary == lr.summarise(runs)
    keys = {(r["task"], r["cell"], r["T"], r["seed"]) for r in runs}
    assert len(keys) == len(runs)  # no run twice
    assert all(row["runs"] == 3 for row in summary)  # every cell, every seed
    for r in runs:  # every run scored by the one standard, against its own held-out set
        assert r["success"] == lr.succeeds(r["task"], r["error"], r["baseline"])
    cells = {(r["task"], r["cell"]) for r in runs}
    assert {("adding", c) for c in lr.ALL_CELLS} <= cells


def test_one_standard_for_both_tasks():
    _, y = lr.task_batch("adding", 1000, 10, seed=999_999)
    assert abs(lr.held_out_baseline("adding", y) - 1 / 6) < 0.02
    ids, targets = lr.task_batch("copy", 1000, 10, seed=999_999)
    assert abs(lr.held_out_baseline("copy", targets) - 7 / 8) < 0.02
    assert lr.succeeds("adding", 0.0099, 0.1) and not lr.succeeds("adding", 0.0101, 0.1)
    assert lr.succeeds("copy", 0.087, 0.875) and not lr.succeeds("copy", 0.088, 0.875)
    with pytest.raises(ValueError, match="task"):
        lr.succeeds("sort", 0.0, 1.0)


@pytest.fixture(scope="module")
def reach():
    """The vanishing-gradient measurement at T = 30, as the page makes it (1000 steps)."""
    x, y = lr.task_batch("adding", 256, 30, seed=5)
    out = {}
    for cell in ("rnn", "rnn_orth"):
        torch.manual_seed(0)
        at_init = lr.gradient_reach(lr.build_model("adding", cell), x, y)
        model = lr.run_one("adding", cell, T=30, seed=0, return_model=True)["model"]
        out[cell] = {"init": float(at_init[0]), "trained": float(lr.gradient_reach(model, x, y)[0])}
    return out


def test_appendix_claims_hold(reach):
    lr.check_claims(load_json("long_range", "summary.json"), reach)


def _set(summary, task, cell, T, **changes):
    return [dict(r, **changes) if (r["task"], r["cell"], r["T"]) == (task, cell, T) else r
            for r in summary]


@pytest.mark.parametrize("change, claim", [
    # the prose: "succeeds in 1 of 3 seeds ... median error, 0.0197, just above the standard"
    (lambda s, r: (_set(s, "adding", "rnn", 10, successes=2), r), "1 of 3"),
    (lambda s, r: (_set(s, "adding", "rnn_orth", 30, successes=1), r), "orthogonal, stays"),
    (lambda s, r: (_set(s, "adding", "mingru_stack", 100, successes=2), r), "stacked minGRU"),
    (lambda s, r: (_set(s, "adding", "mingru", 30, successes=3), r), "2 of 3 at 30"),
    (lambda s, r: (_set(s, "adding", "gru", 200, successes=2), r), "GRU solves every"),
    (lambda s, r: (_set(s, "copy", "lstm", 10, median_error=0.1), r), "lowest copy error"),
    (lambda s, r: (s, {**r, "rnn": {**r["rnn"], "trained": 2e-3}}), "default RNN"),
    (lambda s, r: (s, {**r, "rnn_orth": {**r["rnn_orth"], "trained": 0.005}}),
     "orders of magnitude|a few percent"),
])
def test_claims_check_fails_when_a_result_moves_past_the_prose(reach, change, claim):
    summary, shifted_reach = change(load_json("long_range", "summary.json"), reach)
    with pytest.raises(AssertionError, match=claim):
        lr.check_claims(summary, shifted_reach)


def test_stacked_mingru_shapes_and_errors():
    from minirnn.torch.mingru import MinGRUStack

    torch.manual_seed(0)
    stack = MinGRUStack(2, 8, num_layers=2)
    out, h_n = stack(torch.randn(3, 5, 2))
    assert out.shape == (3, 5, 8) and torch.equal(h_n[0], out[:, -1])
    with pytest.raises(ValueError, match="x: expected shape"):
        stack(torch.randn(3, 5, 4))
    with pytest.raises(ValueError, match="num_layers"):
        MinGRUStack(2, 8, num_layers=0)
