"""Unit tests of minirnn.chapters.ch12_lstm and minirnn.chapters.ch12_interpretable."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from minirnn.chapters import ch12_interpretable as interpretable
from minirnn.chapters import ch12_lstm as lstm_gradients


def test_set_forget_bias_sets_the_sum_of_the_forget_slice():
    lstm = torch.nn.LSTM(3, 4)
    lstm_gradients.set_forget_bias(lstm, 2.5)
    total = (lstm.bias_ih_l0 + lstm.bias_hh_l0).detach()
    assert torch.allclose(total[4:8], torch.full((4,), 2.5))
    with pytest.raises(TypeError, match="lstm: expected a torch.nn.LSTM"):
        lstm_gradients.set_forget_bias(torch.nn.RNN(3, 4), 1.0)


def test_state_jacobian_equals_autograd_through_the_whole_sequence():
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(2, 3).double()
    x = torch.randn(5, 2, dtype=torch.float64)
    r = lstm_gradients.state_jacobian_norms(lstm, x)

    def final_state(s0):
        _, (h, c) = lstm(x[:, None], (s0[:3].reshape(1, 1, 3), s0[3:].reshape(1, 1, 3)))
        return torch.cat([h.flatten(), c.flatten()])

    J = torch.autograd.functional.jacobian(final_state, torch.zeros(6, dtype=torch.float64))
    assert np.isclose(r["total"][-1], float(torch.linalg.matrix_norm(J, 2)), rtol=1e-10)
    assert np.isclose(r["cell"][-1], float(torch.linalg.matrix_norm(J[3:, 3:], 2)), rtol=1e-10)
    assert np.isclose(r["forget_product"][-1], r["f"].prod(axis=0).max())
    with pytest.raises(ValueError, match=r"x: expected a tensor of shape \(T, 2\)"):
        lstm_gradients.state_jacobian_norms(lstm, torch.zeros(5, 3))


def test_rnn_jacobian_norms_match_autograd():
    torch.manual_seed(1)
    rnn = torch.nn.RNN(2, 3).double()
    x = torch.randn(4, 2, dtype=torch.float64)
    J = torch.autograd.functional.jacobian(
        lambda h0: rnn(x[:, None], h0.reshape(1, 1, 3))[1].flatten(),
        torch.zeros(3, dtype=torch.float64))
    assert np.isclose(lstm_gradients.rnn_jacobian_norms(rnn, x)[-1],
                      float(torch.linalg.matrix_norm(J, 2)), rtol=1e-10)


def test_adding_model_and_training_errors():
    with pytest.raises(ValueError, match="cell: expected one of"):
        lstm_gradients.AddingModel("gru")
    with pytest.raises(ValueError, match=r"x: expected shape \(N, T, 2\)"):
        lstm_gradients.AddingModel("lstm", 4)(torch.zeros(2, 3))
    r = lstm_gradients.train_adding("lstm", 6, steps=5, hidden_size=4, eval_size=20)
    assert r["loss"].shape == (5,) and isinstance(r["solved"], bool)


def test_structure_indicators():
    text = "a (b (c) d) `e` f)"
    assert "".join("1" if v else "0" for v in interpretable.inside_parentheses(text)) == \
        "001111111100000000"
    assert "".join("1" if v else "0" for v in interpretable.inside_backticks(text)) == \
        "000000000000111000"
    with pytest.raises(TypeError, match="text: expected str"):
        interpretable.inside_parentheses(3)


def test_select_and_test_picks_the_correlated_cell_on_the_first_half():
    rng = np.random.default_rng(0)
    label = rng.random(400) < 0.3
    acts = rng.normal(size=(400, 6))
    acts[:, 4] = -2.0 * label + 0.1 * rng.normal(size=400)  # negatively correlated
    out = interpretable.select_and_test(acts, label)
    assert out["unit"] == 4 and out["select_corr"] > 0.9 and out["test_corr"] > 0.9
    with pytest.raises(ValueError, match="acts and label"):
        interpretable.select_and_test(acts, label[:10])


def test_cell_states_match_torch_hidden_states():
    model = interpretable.CharLSTM(10, embed_size=4, hidden_size=5, seed=0)
    ids = torch.tensor([1, 2, 3, 4, 0, 9])
    c = interpretable.cell_states(model, ids)
    with torch.no_grad():
        _, (h, c_torch) = model.lstm(model.embed(ids)[None])
    assert c.shape == (6, 5) and np.allclose(c[-1], c_torch[0, 0].numpy(), atol=1e-6)
