"""Unit tests of minirnn.torch.adding (the adding problem's regressor) and the batch helpers
of minirnn.torch.train (FreshBatches, random_windows)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from minirnn.convert import from_torch
from minirnn.data import adding_problem, to_torch
from minirnn.torch.adding import AddingRegressor, set_forget_bias
from minirnn.torch.rnn import LSTM
from minirnn.torch.train import FreshBatches, Trainer, random_windows

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "mingru"])
def test_shapes_and_loss(cell):
    x, y = to_torch(adding_problem(5, 7, seed=0))
    model = AddingRegressor(cell, 6, seed=0)
    assert model(x).shape == (5,)
    assert torch.isclose(model.loss(x, y), torch.mean((model(x) - y) ** 2))
    assert model.error(x, y) == pytest.approx(float(model.loss(x, y).detach()))


def test_the_seed_fixes_the_weights_and_the_backends_agree():
    x, _ = to_torch(adding_problem(4, 9, seed=1))
    ours = AddingRegressor("lstm", 8, seed=3)
    theirs = AddingRegressor("lstm", 8, backend="torch", seed=3)
    assert isinstance(theirs.layer, torch.nn.LSTM) and isinstance(ours.layer, LSTM)
    for (name, a), (_, b) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        assert torch.equal(a, b), name
    with torch.no_grad():
        assert torch.allclose(ours(x), theirs(x), atol=1e-6)
    assert not torch.equal(AddingRegressor("lstm", 8, seed=4).readout.weight, ours.readout.weight)


def test_orthogonal_init_and_forget_bias():
    rnn = AddingRegressor("rnn", 16, init="orthogonal", seed=0).layer
    W = rnn.weight_hh_l0.detach().double()
    assert torch.allclose(W @ W.T, torch.eye(16, dtype=torch.float64), atol=1e-6)
    lstm = AddingRegressor("lstm", 4, forget_bias=2.5, seed=0).layer
    (_, _, total), = from_torch(lstm)  # b = bias_ih + bias_hh
    assert np.array_equal(total[4:8], np.full(4, 2.5))
    assert not np.array_equal(total[:4], np.full(4, 2.5))  # only the forget slice


def test_set_forget_bias_reaches_every_layer_and_direction():
    layer = torch.nn.LSTM(3, 5, num_layers=2, bidirectional=True)
    set_forget_bias(layer, -1.0)
    for name, p in layer.named_parameters():
        if name.startswith("bias_ih"):
            assert torch.equal(p[5:10], torch.full((5,), -1.0)), name
        elif name.startswith("bias_hh"):
            assert torch.equal(p[5:10], torch.zeros(5)), name


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="cell: expected one of"):
        AddingRegressor("tcn")
    with pytest.raises(ValueError, match="init: expected one of"):
        AddingRegressor("rnn", init="xavier")
    with pytest.raises(ValueError, match="init='orthogonal' is for cell='rnn'"):
        AddingRegressor("lstm", init="orthogonal")
    with pytest.raises(ValueError, match="forget_bias is for cell='lstm'"):
        AddingRegressor("gru", forget_bias=1.0)
    with pytest.raises(ValueError, match=r"x: expected shape \(N, T, 2\)"):
        AddingRegressor("rnn", 4)(torch.zeros(2, 3, 5))
    with pytest.raises(TypeError, match="x: expected a floating-point tensor"):
        AddingRegressor("rnn", 4)(torch.zeros(2, 3, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="y: expected shape"):
        AddingRegressor("rnn", 4).loss(torch.zeros(2, 3, 2), torch.zeros(3))
    with pytest.raises(TypeError, match="lstm: expected a torch.nn.LSTM"):
        set_forget_bias(torch.nn.GRU(2, 3), 1.0)
    with pytest.raises(TypeError, match="make_batch must be callable"):
        FreshBatches(3)


def test_fresh_batches_feed_the_trainer_and_resume():
    def make_batch(step):
        return to_torch(adding_problem(16, 10, seed=step))

    data = FreshBatches(make_batch)
    assert all(torch.equal(a, b) for a, b in zip(data.next_batch(), make_batch(0)))
    data.load_state_dict({"step": 5})
    assert all(torch.equal(a, b) for a, b in zip(data.next_batch(), make_batch(5)))
    assert data.state_dict() == {"step": 6}

    model = AddingRegressor("lstm", 8, seed=0)
    history = Trainer(model, FreshBatches(make_batch), lr=1e-2, clip_norm=1.0).fit(steps=60)
    assert len(history["loss"]) == 60
    assert sum(history["loss"][-10:]) < sum(history["loss"][:10])  # it learns


def test_random_windows_are_next_token_pairs_and_reproducible():
    ids = torch.arange(50)
    x, y = random_windows(ids, 6, 8, torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (6, 8)
    assert torch.equal(y, x + 1) and torch.equal(x[:, 1:], x[:, :-1] + 1)
    assert int(y.max()) <= 49
    again, _ = random_windows(ids, 6, 8, torch.Generator().manual_seed(0))
    assert torch.equal(x, again)
    with pytest.raises(ValueError, match="ids: expected a 1-D tensor"):
        random_windows(ids[None], 6, 8, torch.Generator())
    with pytest.raises(ValueError, match="T: expected"):
        random_windows(ids, 6, 49, torch.Generator())
    with pytest.raises(ValueError, match="batch: expected"):
        random_windows(ids, 0, 8, torch.Generator())


def test_solved_is_a_tenth_of_the_baseline():
    from minirnn.torch.adding import solved
    assert solved(0.0165, 1 / 6)
    assert not solved(0.0167, 1 / 6)
    assert not solved(float("nan"), 1 / 6)
    with pytest.raises(ValueError, match="baseline_mse"):
        solved(0.01, 0.0)
