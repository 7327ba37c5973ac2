"""Unit tests of minirnn.chapters.ch12_lstm (gradient path, adding problem, interpretable cells)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from minirnn.chapters import ch12_lstm as ch12
from minirnn.torch.rnn import LSTM, RNN


@pytest.mark.parametrize("layer_class", [torch.nn.LSTM, LSTM])
def test_state_jacobian_equals_autograd_through_the_whole_sequence(layer_class):
    torch.manual_seed(0)
    lstm = layer_class(2, 3).double()
    x = torch.randn(5, 2, dtype=torch.float64)
    r = ch12.state_jacobian_norms(lstm, x)

    def final_state(s0):
        _, (h, c) = lstm(x[:, None], (s0[:3].reshape(1, 1, 3), s0[3:].reshape(1, 1, 3)))
        return torch.cat([h.flatten(), c.flatten()])

    J = torch.autograd.functional.jacobian(final_state, torch.zeros(6, dtype=torch.float64))
    assert np.isclose(r["total"][-1], float(torch.linalg.matrix_norm(J, 2)), rtol=1e-10)
    assert np.isclose(r["cell"][-1], float(torch.linalg.matrix_norm(J[3:, 3:], 2)), rtol=1e-10)
    assert np.isclose(r["forget_product"][-1], r["f"].prod(axis=0).max())
    with pytest.raises(ValueError, match=r"x: expected a tensor of shape \(T, 2\)"):
        ch12.state_jacobian_norms(lstm, torch.zeros(5, 3))
    with pytest.raises(TypeError, match="layer: expected a one-layer"):
        ch12.state_jacobian_norms(torch.nn.GRU(2, 3), x)


@pytest.mark.parametrize("layer_class", [torch.nn.RNN, RNN])
def test_rnn_jacobian_norms_match_autograd(layer_class):
    torch.manual_seed(1)
    rnn = layer_class(2, 3).double()
    x = torch.randn(4, 2, dtype=torch.float64)
    J = torch.autograd.functional.jacobian(
        lambda h0: rnn(x[:, None], h0.reshape(1, 1, 3))[1].flatten(),
        torch.zeros(3, dtype=torch.float64))
    assert np.isclose(ch12.rnn_jacobian_norms(rnn, x)[-1],
                      float(torch.linalg.matrix_norm(J, 2)), rtol=1e-10)


def test_adding_training_errors_and_shapes():
    with pytest.raises(ValueError, match="cell: expected one of"):
        ch12.train_adding("gru", 6)
    r = ch12.train_adding("lstm", 6, steps=5, hidden_size=4, eval_size=20)
    assert r["loss"].shape == (5,) and isinstance(r["solved"], bool)


def test_structure_indicators():
    text = "a (b (c) d) `e` f)"
    assert "".join("1" if v else "0" for v in ch12.inside_parentheses(text)) == \
        "001111111100000000"
    assert "".join("1" if v else "0" for v in ch12.inside_backticks(text)) == \
        "000000000000111000"
    with pytest.raises(TypeError, match="text: expected str"):
        ch12.inside_parentheses(3)


def test_select_and_test_picks_the_correlated_cell_on_the_first_half():
    rng = np.random.default_rng(0)
    label = rng.random(400) < 0.3
    acts = rng.normal(size=(400, 6))
    acts[:, 4] = -2.0 * label + 0.1 * rng.normal(size=400)  # negatively correlated
    out = ch12.select_and_test(acts, label)
    assert out["unit"] == 4 and out["select_corr"] > 0.9 and out["test_corr"] > 0.9
    with pytest.raises(ValueError, match="acts and label"):
        ch12.select_and_test(acts, label[:10])


def test_cell_states_match_the_layers_final_cell_state():
    model = ch12.char_lstm(10, hidden_size=5, seed=0)
    ids = torch.tensor([1, 2, 3, 4, 0, 9])
    c = ch12.cell_states(model, ids)
    with torch.no_grad():
        _, (h, c_layer) = model.rnn(model.embed(ids)[None])
    assert c.shape == (6, 5) and np.allclose(c[-1], c_layer[0, 0].numpy(), atol=1e-6)
    assert not np.allclose(c[-2], c[-1])
    with pytest.raises(ValueError, match=r"ids: expected shape \(T,\)"):
        ch12.cell_states(model, ids[None])


def test_train_char_lstm_learns_a_repeating_text():
    ids = torch.tensor([0, 1, 2, 3, 4] * 40)
    model, losses = ch12.train_char_lstm(ids, 5, steps=40, hidden_size=8, chunk=10,
                                                  batch_size=4, lr=3e-2)
    assert len(losses) == 40 and losses[-1] < 0.5 * losses[0]
    with pytest.raises(ValueError, match="ids: expected a 1-D tensor longer"):
        ch12.train_char_lstm(ids[:5], 5, steps=1, chunk=10)
