"""Chapter 2's claims, checked on what the chapter shows: the stored models evaluated on their
test sets, the one-frame baselines trained at the chapter's settings, and `check_claims` (the
prose's statements) run on them; each architecture retrained small still beats its input-blind
baseline; a shifted number makes the check fail."""

from __future__ import annotations

import copy

import pytest
import torch
from threadpoolctl import threadpool_limits

from minirnn.chapters import ch02_five_architectures as arch
from minirnn.results import results_path


@pytest.fixture(scope="module")
def measured():
    with threadpool_limits(1):
        results = {}
        for kind in arch.ARCHITECTURES:
            state = torch.load(results_path("architectures", f"{kind}.pt"), weights_only=True)
            model, data = arch.load_trained(kind, state)
            results[kind] = arch.evaluate(model, data)
        one_frame = {"many_to_one": arch.run_one_frame("many_to_one").results["score"],
                     "synced": arch.run_one_frame("synced").results["score"],
                     "digit": arch.run_one_frame("many_to_one", label="digit").results["score"]}
        gru_digit = arch.run_task("many_to_one", label="digit").results["score"]
    return results, one_frame, gru_digit


def test_the_chapter_claims_hold(measured):
    results, one_frame, gru_digit = measured
    print({k: round(r["score"], 3) for k, r in results.items()}, one_frame, gru_digit)
    arch.check_claims(results, one_frame, gru_digit)


@pytest.mark.parametrize("shift", ["exact", "heading", "position", "digit", "chance"])
def test_a_shifted_result_fails_the_claims(measured, shift):
    results, one_frame, gru_digit = copy.deepcopy(measured)
    if shift == "exact":  # 90% exact becomes 89%: past the prose's rounding
        results["seq2seq"]["exact"] = 0.89
    elif shift == "heading":  # a last frame that told the heading
        one_frame["many_to_one"] = results["many_to_one"]["score"]
    elif shift == "position":  # a position that one frame could not tell
        one_frame["synced"] = results["synced"]["score"] - 0.1
    elif shift == "digit":
        gru_digit = one_frame["digit"]
    else:
        results["synced"]["score"] = results["synced"]["baseline"]
    with pytest.raises(AssertionError):
        arch.check_claims(results, one_frame, gru_digit)


def test_video_test_images_never_occur_in_training():
    data = arch.task_data("many_to_one")
    train, test = set(data.info["train_bitmaps"].tolist()), set(data.info["test_bitmaps"].tolist())
    assert train and test and not train & test


@pytest.mark.parametrize("name", arch.ARCHITECTURES)
def test_quick_run_beats_the_input_blind_baseline(name):
    with threadpool_limits(1):
        run = arch.run_task(name, quick=True)
    r = run.results
    assert arch.beats_chance(r["score"], r["baseline"]), r
    assert run.history["loss"][-1] < run.history["loss"][0]


def test_stored_weights_are_small():
    for name in arch.ARCHITECTURES:
        assert results_path("architectures", f"{name}.pt").stat().st_size < 5 * 2**20  # 5 MB
