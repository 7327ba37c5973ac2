"""Chapter 2's claims: each architecture's model, retrained small, beats an input-blind baseline;
and the stored full-size results say the same."""

from __future__ import annotations

import pytest
from threadpoolctl import threadpool_limits

from minirnn.chapters import ch02_five_architectures as arch
from minirnn.results import load_json, results_path


@pytest.mark.parametrize("name", arch.ARCHITECTURES)
def test_quick_run_beats_the_input_blind_baseline(name):
    with threadpool_limits(1):
        run = arch.run_task(name, quick=True)
    r = run.results
    assert arch.beats_chance(r["score"], r["baseline"]), r
    assert run.history["loss"][-1] < run.history["loss"][0]


def test_stored_full_size_results_beat_their_baselines():
    stored = load_json("architectures", "results.json")
    assert sorted(stored) == sorted(arch.ARCHITECTURES)
    for name, r in stored.items():
        assert arch.beats_chance(r["score"], r["baseline"]), (name, r)
        weights = results_path("architectures", f"{name}.pt")
        assert weights.stat().st_size < 5 * 2**20  # under 5 MB
