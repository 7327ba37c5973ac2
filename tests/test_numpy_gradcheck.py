"""Numeric gradient checks of every backward pass in minirnn.numpy.

float64, fixed small cases with weights of moderate size (so no unit saturates and no relu
sits at its kink), central differences with h = 1e-5. Thresholds from the issue: relative
error below 1e-7 for single steps and layers without recurrence, 1e-6 for whole sequences.
"""

from __future__ import annotations

import numpy as np
import pytest

from minirnn.numpy import (
    bidirectional_backward,
    bidirectional_forward,
    check_gradients,
    eval_numerical_gradient,
    eval_numerical_gradient_array,
    gru_backward,
    gru_forward,
    gru_step_backward,
    gru_step_forward,
    lstm_backward,
    lstm_forward,
    lstm_step_backward,
    lstm_step_forward,
    multilayer_backward,
    multilayer_forward,
    rel_error,
    rnn_backward,
    rnn_forward,
    rnn_step_backward,
    rnn_step_forward,
    temporal_affine_backward,
    temporal_affine_forward,
    temporal_softmax_loss,
    word_embedding_backward,
    word_embedding_forward,
)

STEP_TOL = 1e-7
SEQUENCE_TOL = 1e-6
N, T, D, H = 3, 4, 5, 4


def weights(rng: np.random.Generator, cell: str, D: int = D, H: int = H) -> dict:
    G = {"rnn": 1, "lstm": 4, "gru": 3}[cell]
    w = dict(Wx=rng.standard_normal((D, G * H)) * 0.4, Wh=rng.standard_normal((H, G * H)) * 0.4)
    if cell == "gru":
        w.update(bx=rng.standard_normal(G * H) * 0.3, bh=rng.standard_normal(G * H) * 0.3)
    else:
        w.update(b=rng.standard_normal(G * H) * 0.3)
    return w


def assert_all_below(errors: dict[str, float], tol: float) -> None:
    assert errors, "no gradients were checked"
    worst = max(errors, key=errors.get)
    assert errors[worst] < tol, f"{worst}: relative error {errors[worst]:.2e} >= {tol:.0e}"


# ---------------------------------------------------------------------------------------------
# Single steps
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rnn_step(nonlinearity: str) -> None:
    rng = np.random.default_rng(0)
    inputs = dict(x=rng.standard_normal((N, D)), prev_h=rng.standard_normal((N, H)),
                  **weights(rng, "rnn"))
    errors = check_gradients(rnn_step_forward, rnn_step_backward, inputs,
                             kwargs=dict(nonlinearity=nonlinearity))
    assert set(errors) == {"x", "prev_h", "Wx", "Wh", "b"}
    assert_all_below(errors, STEP_TOL)


def test_lstm_step() -> None:
    rng = np.random.default_rng(0)
    inputs = dict(x=rng.standard_normal((N, D)), prev_h=rng.standard_normal((N, H)),
                  prev_c=rng.standard_normal((N, H)), **weights(rng, "lstm"))
    errors = check_gradients(lstm_step_forward, lstm_step_backward, inputs)
    assert set(errors) == {"x", "prev_h", "prev_c", "Wx", "Wh", "b"}
    assert_all_below(errors, STEP_TOL)


def test_gru_step() -> None:
    rng = np.random.default_rng(0)
    inputs = dict(x=rng.standard_normal((N, D)), prev_h=rng.standard_normal((N, H)),
                  **weights(rng, "gru"))
    errors = check_gradients(gru_step_forward, gru_step_backward, inputs)
    assert set(errors) == {"x", "prev_h", "Wx", "Wh", "bx", "bh"}
    assert_all_below(errors, STEP_TOL)


# ---------------------------------------------------------------------------------------------
# Whole sequences, full and ragged
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lengths", [None, [4, 1, 3]])
@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rnn_sequence(nonlinearity: str, lengths: list[int] | None) -> None:
    rng = np.random.default_rng(1)
    inputs = dict(x=rng.standard_normal((N, T, D)), h0=rng.standard_normal((N, H)) * 0.5,
                  **weights(rng, "rnn"))
    errors = check_gradients(rnn_forward, rnn_backward, inputs,
                             kwargs=dict(nonlinearity=nonlinearity, lengths=lengths))
    assert set(errors) == {"x", "h0", "Wx", "Wh", "b"}
    assert_all_below(errors, SEQUENCE_TOL)


@pytest.mark.parametrize("lengths", [None, [4, 1, 3]])
def test_lstm_sequence(lengths: list[int] | None) -> None:
    rng = np.random.default_rng(1)
    inputs = dict(x=rng.standard_normal((N, T, D)), h0=rng.standard_normal((N, H)) * 0.5,
                  **weights(rng, "lstm"))
    errors = check_gradients(lstm_forward, lstm_backward, inputs, kwargs=dict(lengths=lengths))
    assert_all_below(errors, SEQUENCE_TOL)


@pytest.mark.parametrize("lengths", [None, [4, 1, 3]])
def test_gru_sequence(lengths: list[int] | None) -> None:
    rng = np.random.default_rng(1)
    inputs = dict(x=rng.standard_normal((N, T, D)), h0=rng.standard_normal((N, H)) * 0.5,
                  **weights(rng, "gru"))
    errors = check_gradients(gru_forward, gru_backward, inputs, kwargs=dict(lengths=lengths))
    assert_all_below(errors, SEQUENCE_TOL)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_bidirectional(cell: str) -> None:
    rng = np.random.default_rng(2)
    inputs = dict(x=rng.standard_normal((N, T, D)), h0=rng.standard_normal((2, N, H)) * 0.5,
                  forward_params=tuple(weights(rng, cell).values()),
                  backward_params=tuple(weights(rng, cell).values()))
    errors = check_gradients(bidirectional_forward, bidirectional_backward, inputs,
                             kwargs=dict(cell=cell, lengths=[2, 4, 3]))
    assert len(errors) == 2 + 2 * len(inputs["forward_params"])
    assert_all_below(errors, SEQUENCE_TOL)


def test_two_layer_bidirectional_lstm() -> None:
    rng = np.random.default_rng(4)
    params = [tuple(weights(rng, "lstm", D=d).values()) for d in (D, D, 2 * H, 2 * H)]
    inputs = dict(x=rng.standard_normal((N, T, D)), h0=rng.standard_normal((4, N, H)) * 0.5,
                  params=params)
    errors = check_gradients(multilayer_forward, multilayer_backward, inputs,
                             kwargs=dict(cell="lstm", bidirectional=True, lengths=[3, 4, 1]))
    assert len(errors) == 2 + 4 * 3
    assert_all_below(errors, SEQUENCE_TOL)


# ---------------------------------------------------------------------------------------------
# Embedding, temporal affine, softmax loss
# ---------------------------------------------------------------------------------------------


def test_word_embedding_with_repeated_ids() -> None:
    rng = np.random.default_rng(4)
    x = np.array([[0, 3, 3, 1], [3, 0, 2, 3]])  # id 3 appears four times
    errors = check_gradients(word_embedding_forward, word_embedding_backward,
                             dict(x=x, W=rng.standard_normal((5, 6))))
    assert set(errors) == {"W"}
    assert_all_below(errors, STEP_TOL)


def test_temporal_affine() -> None:
    rng = np.random.default_rng(5)
    inputs = dict(x=rng.standard_normal((N, T, D)), w=rng.standard_normal((D, 7)),
                  b=rng.standard_normal(7))
    assert_all_below(check_gradients(temporal_affine_forward, temporal_affine_backward, inputs),
                     STEP_TOL)


def test_temporal_softmax_loss_gradient_with_mask() -> None:
    rng = np.random.default_rng(6)
    x = rng.standard_normal((N, T, 8))
    y = rng.integers(0, 8, size=(N, T))
    mask = rng.random((N, T)) > 0.3
    _, dx = temporal_softmax_loss(x, y, mask)
    numeric = eval_numerical_gradient(lambda _: temporal_softmax_loss(x, y, mask)[0], x)
    assert rel_error(dx, numeric) < STEP_TOL
    assert np.all(dx[~mask] == 0)  # masked steps get no gradient


def test_eval_numerical_gradient_array_on_a_known_function() -> None:
    """The checker itself: d/dx sum(sin(x) * df) = cos(x) * df."""
    rng = np.random.default_rng(7)
    x, df = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    numeric = eval_numerical_gradient_array(np.sin, x, df)
    assert rel_error(numeric, np.cos(x) * df) < 1e-8


def test_check_gradients_catches_a_wrong_backward() -> None:
    """A backward pass with one wrong factor must be reported, not waved through."""
    rng = np.random.default_rng(8)
    inputs = dict(x=rng.standard_normal((N, D)), prev_h=rng.standard_normal((N, H)),
                  **weights(rng, "rnn"))

    def wrong_backward(dnext_h: np.ndarray, cache: tuple) -> tuple:
        dx, dprev_h, dWx, dWh, db = rnn_step_backward(dnext_h, cache)
        return dx, dprev_h, dWx, dWh * 1.01, db

    errors = check_gradients(rnn_step_forward, wrong_backward, inputs)
    assert errors["Wh"] > 1e-3
    assert errors["Wx"] < STEP_TOL
