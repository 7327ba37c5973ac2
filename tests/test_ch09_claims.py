"""Chapter 9's claims, each asserted in its direction: on a small fixed seed where the claim is
about a mechanism, and on the committed grid (minirnn/results/captioning/) where it is
about the grid's result; a tiny rerun of the grid's code path checks that it still produces
what was committed."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from minirnn.chapters import ch09_image_captioning as cap
from minirnn.results import load_json, results_path
from minirnn.torch.models import ShapesEncoder


def _results() -> dict:
    return {(task, cell): load_json("captioning", f"{task}_{cell}.json")
            for task in cap.TASKS for cell in cap.CELLS}


@pytest.fixture(scope="module")
def grid():
    results = _results()
    runs = [r for res in results.values() for r in res["runs"]]
    return results, cap.summarise(runs, "exact"), cap.summarise(runs, "token_accuracy")


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    task = cap.caption_task("scene", n_train=400, n_test=100)
    encoder = cap.pretrain(task, steps=150)
    return task, encoder


def test_raw_image_vector_saturates_the_h0_state_and_standardised_does_not(tiny):
    task, encoder = tiny
    raw = ShapesEncoder()
    raw.load_state_dict({k: v for k, v in encoder.state_dict().items()
                         if not k.startswith("v_")})
    fractions = []
    for enc in (raw, encoder):
        torch.manual_seed(0)
        model = cap.build_captioner("h0", "rnn", len(task.vocab), enc)
        fractions.append(cap.h0_saturation(model, task.test.images))
    assert fractions[0] > 0.3 and fractions[1] < 0.05


def test_tiny_rerun_of_the_grid_shows_exposure_bias_and_the_committed_keys(tiny, grid):
    task, encoder = tiny
    runs, models = cap.run_grid(task, encoder, ("every_step",), ("rnn",), (0,), steps=150,
                                hidden_size=32, log=lambda line: None)
    r = runs[0]
    committed = grid[0]["scene", "rnn"]["runs"][0]
    assert set(r) == set(committed)
    assert r["by_position"][0] == r["teacher_forced_by_position"][0]
    assert np.mean(r["teacher_forced_by_position"]) > np.mean(r["by_position"])


def test_free_running_is_below_teacher_forced_in_every_committed_run(grid):
    results = grid[0]
    for res in results.values():
        for r in res["runs"]:
            assert r["by_position"][0] == pytest.approx(r["teacher_forced_by_position"][0])
            assert np.mean(r["teacher_forced_by_position"]) > np.mean(r["by_position"])


def test_every_model_beats_the_input_blind_baseline(grid):
    results, exact, token = grid
    for (task, cell, condition), values in token.items():
        assert min(values) > results[task, cell]["blind"]["token_accuracy"], (task, cell,
                                                                             condition)


def test_beam_width_one_is_greedy_and_wider_beams_are_more_likely_on_average(grid):
    results = grid[0]
    for res in results.values():
        for b in res["beam"].values():
            assert b["beam1"]["same_as_greedy"] == 1.0
            assert b["beam1"]["mean_log_prob"] == pytest.approx(b["greedy_mean_log_prob"],
                                                                abs=1e-4)
            assert b["beam5"]["mean_log_prob"] >= b["greedy_mean_log_prob"] - 1e-6


def test_beam_width_one_equals_greedy_on_a_stored_model():
    weights = torch.load(results_path("captioning", "scene_rnn.pt"), weights_only=True)
    task = cap.caption_task("scene", n_train=8, n_test=20)
    _, models = cap.load_captioners(weights, len(task.vocab))
    model = models["rnn/every_step"]
    greedy = cap.greedy_captions(model, task.test.images)
    for image, ids in zip(task.test.images, greedy):
        beam_ids, lp = cap.beam_caption(model, image, 1)
        assert beam_ids == ids
        assert lp == pytest.approx(cap.caption_log_prob(model, image, ids), abs=1e-4)


def _mean(table, task, cell, condition) -> float:
    return float(np.mean(table[task, cell, condition]))


def _by_position(results, task, cell, condition) -> np.ndarray:
    return np.mean([r["by_position"] for r in results[task, cell]["runs"]
                    if r["condition"] == condition], axis=0)


def test_vanilla_rnn_every_step_beats_h0_on_every_seed_and_first_input_is_worst(grid):
    _, exact, _ = grid
    for task in cap.TASKS:
        assert min(exact[task, "rnn", "every_step"]) > max(exact[task, "rnn", "h0"])
        assert _mean(exact, task, "rnn", "first_input") < _mean(exact, task, "rnn", "h0")


def test_lstm_lifts_every_condition_and_shrinks_the_gap_only_on_two_shapes(grid):
    _, exact, _ = grid
    for task in cap.TASKS:
        for condition in cap.CONDITIONS:
            assert _mean(exact, task, "lstm", condition) > _mean(exact, task, "rnn", condition)
    gap = {(t, c): _mean(exact, t, c, "every_step") - _mean(exact, t, c, "h0")
           for t in cap.TASKS for c in cap.CELLS}
    assert gap["two_shapes", "lstm"] < gap["two_shapes", "rnn"]
    assert gap["scene", "lstm"] >= gap["scene", "rnn"]


def test_every_step_advantage_is_in_the_second_half_of_the_caption(grid):
    results = grid[0]
    for task in cap.TASKS:
        diff = (_by_position(results, task, "rnn", "every_step")
                - _by_position(results, task, "rnn", "h0"))
        words = len(diff) - 1
        assert diff[words // 2 : words].mean() > diff[: words // 2].mean()


def test_attention_best_on_scenes_and_weaker_on_the_relation_word(grid):
    results, exact, _ = grid
    for cell in cap.CELLS:
        assert _mean(exact, "scene", cell, "attention") > _mean(exact, "scene", cell,
                                                               "every_step")
        assert _mean(exact, "two_shapes", cell, "attention") < _mean(exact, "two_shapes", cell,
                                                                    "every_step")
        assert (_by_position(results, "two_shapes", cell, "attention")[3]
                < _by_position(results, "two_shapes", cell, "every_step")[3])


def test_a_wider_beam_is_not_more_likely_for_every_image(grid):
    results = grid[0]
    lower = [b["beam5"]["lower_than_greedy"] for res in results.values()
             for b in res["beam"].values()]
    assert max(lower) > 0


def test_the_frozen_cnn_names_grid_cells_and_v_is_its_penultimate_layer(grid):
    results = grid[0]
    for res in results.values():
        assert res["encoder_cell_accuracy"] > 0.9
    encoder = ShapesEncoder()
    images = torch.zeros(2, 3, 32, 32)
    assert encoder.features(images).shape == (2, encoder.classify.in_features)


def test_attention_costs_about_a_third_more_parameters():
    encoder = ShapesEncoder()
    for cell in cap.CELLS:
        counts = [sum(p.numel() for p in cap.build_captioner(c, cell, 16, encoder).parameters()
                      if p.requires_grad) for c in ("every_step", "attention")]
        assert 1.25 < counts[1] / counts[0] < 1.45
