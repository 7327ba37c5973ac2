"""The bug gallery (book/bug_gallery.md, assignment A8): its numbers, its claims, its library.

The page's table is bug_gallery.table() of the shipped symptoms.json; the JSON is recomputed
here (seconds), and check_claims must fail when a symptom is shifted past the page's rounding.
"""

import copy
from pathlib import Path

import numpy as np
import pytest

from minirnn.assignments import bug_gallery
from minirnn.debugging import layers, loops
from minirnn.debugging.meters import LiveSavedBytes
from minirnn.results import load_json

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def shipped():
    return load_json("bug_gallery", "symptoms.json")


@pytest.fixture(scope="module")
def measured():
    return bug_gallery.measure(seed=0)


def test_the_shipped_numbers_are_what_measure_gives(shipped, measured):
    assert set(measured) == set(shipped) and measured["seed"] == shipped["seed"] == 0
    for which in ("planted", "fixed"):
        for key, want in shipped[which].items():
            got = measured[which][key]
            if want < 1e-8:  # rounding's size: only its bound is shipped
                assert got < 1e-8, (which, key)
            else:
                assert got == pytest.approx(want, rel=1e-6), (which, key)


def test_the_page_shows_the_table_of_the_shipped_numbers(shipped):
    page = (ROOT / "book" / "bug_gallery.md").read_text()
    assert bug_gallery.table(shipped) in page
    changed = copy.deepcopy(shipped)
    changed["planted"]["clip"] *= 1.01  # past the page's two decimals: the table differs
    assert bug_gallery.table(changed) not in page
    for *_, chapter in bug_gallery.GALLERY:
        assert (ROOT / "notebooks" / f"{chapter}.ipynb").is_file(), chapter
    assert len(bug_gallery.GALLERY) >= 8


def test_claims_hold(measured):
    bug_gallery.check_claims(measured)


@pytest.mark.parametrize("which, key, value", [
    ("planted", "tbptt_last", 1.5),   # the planted bug's memory no longer doubles
    ("fixed", "clip", 1.01),          # the fixed update leaves its bound
    ("fixed", "embedding", 1e-7),     # the fix no longer passes the gradient check
    ("planted", "bidirectional", 1e-3),
])
def test_claims_fail_when_a_symptom_shifts(shipped, which, key, value):
    results = copy.deepcopy(shipped)
    results[which][key] = value * (results[which]["tbptt_first"] if key == "tbptt_last" else 1)
    with pytest.raises(AssertionError):
        bug_gallery.check_claims(results)


def test_planted_and_fixed_differ_only_in_the_marked_regions():
    bug, fix = bug_gallery.planted("layers"), bug_gallery.fixed("layers")
    ids, dout = np.array([[0, 0]]), np.ones((1, 2, 1))
    assert fix.embedding_backward(dout, ids, 2)[0, 0] == 2.0
    assert bug.embedding_backward(dout, ids, 2)[0, 0] == 1.0
    with pytest.raises(ValueError, match="expected one of"):
        bug_gallery.planted("nope")


def test_meter_counts_live_saved_bytes_and_drops_freed_ones():
    import torch

    w = torch.ones(4, 4, dtype=torch.float64, requires_grad=True)
    with LiveSavedBytes() as meter:
        y = (w * torch.arange(16.0, dtype=torch.float64).reshape(4, 4)).sum()
        meter.record()
        y.backward()  # frees what the multiplication saved
        meter.record()
    assert meter.history[0] >= 128 and meter.history[1] < meter.history[0]


def test_bad_inputs_name_the_argument():
    with pytest.raises(ValueError, match="ids: expected a 2-d NumPy array"):
        layers.embedding_forward(np.zeros(3, dtype=int), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="params: expected a dict"):
        loops.rnn_module([1, 2])
    with pytest.raises(ValueError, match="x: expected a 3-d NumPy array"):
        loops.final_states({"weight_ih_l0": np.zeros((2, 2))}, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="Wx, b"):
        loops.lstm_from_cs231n(np.zeros((2, 5)), np.zeros((2, 8)), np.zeros(8))
