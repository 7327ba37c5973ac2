"""minirnn.numpy.classifiers, minirnn.numpy.train and one_hot: gradients against numeric
ones, shapes, errors, and a fit that learns."""

from __future__ import annotations

import numpy as np
import pytest

from minirnn.numpy import eval_numerical_gradient, rel_error
from minirnn.numpy.classifiers import FlatMLP, ManyToOneRNN, TanhMLP, linear_softmax_loss
from minirnn.numpy.layers import one_hot
from minirnn.numpy.train import accuracy, count_params, fit


def test_one_hot_rows_and_errors():
    oh = one_hot(np.array([[2, 0]]), 3)
    assert oh.shape == (1, 2, 3)
    assert np.array_equal(oh[0], [[0, 0, 1], [1, 0, 0]])
    with pytest.raises(IndexError, match=r"ids: expected ids in \[0, 3\), got \[0, 3\]"):
        one_hot(np.array([0, 3]), 3)
    with pytest.raises(TypeError, match="ids: expected an integer array"):
        one_hot(np.array([0.0, 1.0]), 3)
    assert one_hot(np.array([1]), 2, dtype=np.float32).dtype == np.float32
    with pytest.raises(TypeError, match="tokens: expected an integer array"):
        one_hot(np.array([0.5]), 3, name="tokens")


def test_linear_softmax_loss_matches_a_hand_softmax_and_numeric_gradients():
    rng = np.random.default_rng(0)
    x, W, b, labels = rng.normal(size=(4, 3)), rng.normal(size=(3, 5)), rng.normal(size=5), \
        np.array([0, 4, 2, 2])
    loss, dx, dW, db = linear_softmax_loss(x, W, b, labels)
    scores = x @ W + b
    log_probs = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
    assert np.isclose(loss, -log_probs[np.arange(4), labels].mean())
    for value, grad in ((x, dx), (W, dW), (b, db)):
        numeric = eval_numerical_gradient(
            lambda _: linear_softmax_loss(x, W, b, labels)[0], value)
        assert rel_error(grad, numeric) < 1e-7


@pytest.mark.parametrize("make", [
    lambda: ManyToOneRNN(V=4, H=3, C=3, seed=1),
    lambda: FlatMLP(T=5, V=4, H=3, C=3, seed=1),
])
def test_classifier_gradients_match_numeric(make):
    model = make()
    rng = np.random.default_rng(0)
    tokens, labels = rng.integers(0, 4, size=(6, 5)), rng.integers(0, 3, size=6)
    _, grads = model.loss(tokens, labels)
    assert set(grads) == set(model.params)
    for name, value in model.params.items():
        numeric = eval_numerical_gradient(lambda _: model.loss(tokens, labels)[0], value)
        assert rel_error(grads[name], numeric) < 1e-6, name
    assert model.predict(tokens).shape == (6,)


def test_many_to_one_rnn_reads_any_length_and_flat_mlp_one():
    rnn, mlp = ManyToOneRNN(V=3, H=4), FlatMLP(T=5, V=3, H=4)
    for T in (1, 5, 9):
        assert rnn.hidden_states(np.zeros((2, T), dtype=np.int64)).shape == (2, T, 4)
    assert count_params(rnn) == 3 * 4 + 4 * 4 + 4 + 4 * 2 + 2
    assert count_params(mlp) == 5 * 3 * 4 + 4 + 4 * 2 + 2
    with pytest.raises(ValueError, match=r"tokens: expected shape \(N, 5\)"):
        mlp.predict(np.zeros((2, 6), dtype=np.int64))
    with pytest.raises(IndexError, match=r"tokens: expected ids in \[0, 3\)"):
        rnn.predict(np.array([[0, 3]]))
    with pytest.raises(NotImplementedError):
        TanhMLP(F=2, H=2, C=2, seed=0).predict(np.zeros((1, 2), dtype=np.int64))


def test_fit_learns_a_separable_task_reproducibly_and_accuracy_counts_right_answers():
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, 4, size=(200, 3))
    labels = (tokens[:, -1] >= 2).astype(np.int64)  # readable from the last token
    runs = []
    for _ in range(2):
        model = ManyToOneRNN(V=4, H=8, seed=0)
        history = fit(model, tokens, labels, steps=150, batch_size=32, lr=0.05, seed=0)
        runs.append(history["loss"])
    assert runs[0] == runs[1] and len(runs[0]) == 150
    assert np.mean(runs[0][-10:]) < 0.5 * np.mean(runs[0][:10])
    assert accuracy(model, tokens, labels) > 0.95
    assert accuracy(model, tokens, 1 - model.predict(tokens)) == 0.0
    with pytest.raises(ValueError, match="targets: expected 200 rows like inputs, got 199"):
        fit(model, tokens, labels[:-1])
