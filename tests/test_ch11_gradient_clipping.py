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


def test_input_gradient_norms_shape():
    x, y = torch.rand(4, 7, 2), torch.rand(4)
    assert clipping.input_gradient_norms(AddingRegressor("rnn", 5), x, y).shape == (7,)
    with pytest.raises(ValueError, match="y: expected shape"):
        clipping.input_gradient_norms(AddingRegressor("rnn", 5), x, torch.rand(3))
