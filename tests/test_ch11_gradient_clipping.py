"""Unit tests of minirnn.chapters.ch11_gradient_clipping."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from minirnn.chapters import ch11_gradient_clipping as clipping
from minirnn.numpy import clip_grad_norm, clip_grad_value
from minirnn.torch.adding import AddingRegressor


def _grads():
    return [torch.tensor([[3.0, -4.0], [0.5, 0.0]]), torch.tensor([12.0, 0.1])]


def test_rules_match_the_numpy_package_and_leave_the_input_alone():
    g = _grads()
    before = [t.clone() for t in g]
    a = [t.numpy().copy() for t in g]
    clip_grad_norm(a, 1.0)
    assert all(np.allclose(x, y.numpy(), atol=1e-6) for x, y in zip(a, clipping.clip(g, "norm", 1)))
    a = [t.numpy().copy() for t in g]
    clip_grad_value(a, 1.0)
    assert all(np.array_equal(x, y.numpy()) for x, y in zip(a, clipping.clip(g, "value", 1)))
    per = clipping.clip(g, "tensor_norm", 1.0)
    assert all(np.isclose(float(t.norm()), 1.0, atol=1e-6) for t in per)
    assert all(torch.equal(x, y) for x, y in zip(g, before))


def test_norm_rule_keeps_the_direction_and_others_bend_it():
    g = _grads()
    assert np.isclose(clipping.cosine(clipping.clip(g, "norm", 1.0), g), 1.0)
    assert clipping.cosine(clipping.clip(g, "value", 1.0), g) < 0.9
    assert clipping.cosine(clipping.clip(g, "tensor_norm", 1.0), g) < 0.95
    small = [t * 1e-3 for t in g]  # below every threshold: nothing changes
    assert all(torch.equal(x, y) for x, y in zip(clipping.clip(small, "norm", 1.0), small))


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="rule: expected one of"):
        clipping.clip(_grads(), "max", 1.0)
    with pytest.raises(ValueError, match="threshold: expected a positive number"):
        clipping.clip(_grads(), "norm", 0.0)
    with pytest.raises(ValueError, match="same shapes"):
        clipping.cosine(_grads(), _grads()[:1])
    with pytest.raises(ValueError, match="optimizer"):
        clipping.train_adding("norm", steps=1, optimizer="rmsprop")
    with pytest.raises(ValueError, match="w and b"):
        clipping.cliff_loss(np.zeros(3), np.zeros(2))


def test_train_adding_records_every_step_and_is_deterministic():
    a = clipping.train_adding("norm", T=8, hidden_size=8, steps=20, seed=3, eval_size=50)
    b = clipping.train_adding("norm", T=8, hidden_size=8, steps=20, seed=3, eval_size=50)
    assert a["loss"].shape == (20,) and np.isfinite(a["loss"]).all()
    assert np.array_equal(a["loss"], b["loss"]) and a["eval_mse"] == b["eval_mse"]
    assert set(a["cosine"]) == {"value", "norm", "tensor_norm"}


def test_adding_problem_window_puts_both_markers_in_the_window():
    x, y = clipping.adding_problem_window(200, 30, (5, 12), seed=1)
    assert x.shape == (200, 30, 2) and y.shape == (200,) and x.dtype == np.float32
    marked = x[..., 1] == 1
    assert np.all(marked.sum(axis=1) == 2) and not marked[:, :5].any() and not marked[:, 12:].any()
    assert np.allclose(y, (x[..., 0] * marked).sum(axis=1))
    assert np.array_equal(x, clipping.adding_problem_window(200, 30, (5, 12), seed=1)[0])
    with pytest.raises(ValueError, match="window: expected"):
        clipping.adding_problem_window(4, 10, (9, 10))


def test_step_bounds():
    assert clipping.max_step_length("norm", 2.0, 100) == 2.0
    assert clipping.max_step_length("value", 2.0, 100) == 20.0
    assert clipping.adam_spike_bound(1) == pytest.approx(1.0)
    assert clipping.adam_spike_bound(100_000) == pytest.approx(0.1 / np.sqrt(0.001), rel=1e-6)
    assert 7.2 < clipping.adam_step_bound(100_000) < 7.4
    with pytest.raises(ValueError, match="t: expected a positive integer"):
        clipping.adam_spike_bound(0)
    with pytest.raises(ValueError, match="rule: expected"):
        clipping.max_step_length("tensor_norm", 1.0, 10)


def test_adam_direction_is_torch_adams_step():
    gen = torch.Generator().manual_seed(0)
    p = torch.nn.Parameter(torch.zeros(5, 3, dtype=torch.float64))
    adam = torch.optim.Adam([p], lr=0.01)
    m, v = [torch.zeros(5, 3, dtype=torch.float64)], [torch.zeros(5, 3, dtype=torch.float64)]
    for t in range(1, 8):
        g = torch.randn(5, 3, generator=gen, dtype=torch.float64) * (1e6 if t == 6 else 1.0)
        before = p.detach().clone()
        p.grad = g.clone()
        adam.step()
        (direction,) = clipping.adam_direction([g], m, v, t)
        assert torch.allclose(before - p.detach(), 0.01 * direction, rtol=1e-6, atol=1e-12)
        if t == 6:  # the spike: every coordinate moves by about the spike limit
            assert torch.allclose(direction.abs(), torch.full_like(direction, clipping.
                                  adam_spike_bound(6)), rtol=0.05)


def test_lag_shares_add_up_to_torchs_gradient():
    x, y = (torch.from_numpy(a) for a in clipping.adding_problem_window(16, 12, (0, 4), seed=0))
    model = AddingRegressor("rnn", 6, seed=0)
    out = clipping.lag_shares(model, x, y)
    model.loss(x, y).backward()
    assert np.allclose(out["dWh"], model.layer.weight_hh_l0.grad.double().numpy().T, atol=1e-6)
    assert out["share"].shape == (12,)
    with pytest.raises(ValueError, match="tanh RNN"):
        clipping.lag_shares(AddingRegressor("gru", 6), x, y)
