"""Unit tests of minirnn.chapters.appendix_long_range: the models of a run, batches, errors."""

from __future__ import annotations

import pytest
import torch

import minirnn.chapters.appendix_long_range as lr
from minirnn.data import IGNORE_INDEX
from minirnn.torch.adding import AddingRegressor

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("cell", lr.CELLS)
def test_build_model_gives_each_task_its_model(cell):
    torch.manual_seed(0)
    adding = lr.build_model("adding", cell, hidden_size=6)
    x, y = lr.task_batch("adding", 5, 7, seed=0)
    assert isinstance(adding, AddingRegressor) and adding(x).shape == (5,)
    assert adding.error(x, y) == pytest.approx(float(adding.loss(x, y).detach()))
    copy = lr.build_model("copy", cell, hidden_size=6)
    ids, targets = lr.task_batch("copy", 3, 4, seed=0)
    assert isinstance(copy, lr.CopyModel)
    assert copy(ids).shape == (*ids.shape, lr.N_SYMBOLS + 1)
    scored = targets != IGNORE_INDEX
    wrong = (copy(ids).argmax(-1)[scored] != targets[scored]).float().mean()
    assert copy.error(ids, targets) == pytest.approx(float(wrong))


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="task must be one of"):
        lr.build_model("sort", "gru")
    with pytest.raises(ValueError, match="cell must be one of"):
        lr.build_model("copy", "tcn")
    with pytest.raises(ValueError, match="cell must be one of"):
        lr.CopyModel("tcn")
    with pytest.raises(ValueError, match="task must be one of"):
        lr.task_batch("sort", 2, 4, seed=0)
    with pytest.raises(ValueError, match="steps, T"):
        lr.run_one("adding", "gru", T=1, seed=0)


def test_run_one_is_deterministic_and_records_its_curve():
    a = lr.run_one("copy", "gru", T=3, seed=2, steps=52, batch=8, n_test=20)
    b = lr.run_one("copy", "gru", T=3, seed=2, steps=52, batch=8, n_test=20)
    assert a["error"] == b["error"] and a["loss_curve"] == b["loss_curve"]
    assert len(a["loss_curve"]) == 3  # the loss at steps 0, 50 and 51 (the last)
