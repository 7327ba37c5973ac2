"""The diagonal tanh RNN (minirnn.numpy.diagonal), A6's given cell, and the bidirectional layer
on it: ragged batches give each sequence's own numbers, gradients match numeric ones."""

import numpy as np
import pytest

from minirnn.numpy.bidirectional import bidirectional_backward, bidirectional_forward
from minirnn.numpy.diagonal import diagonal_backward, diagonal_forward
from minirnn.numpy.gradcheck import eval_numerical_gradient_array, rel_error


def weights(rng, D=3, H=4):
    return rng.normal(size=(D, H)) * 0.5, rng.uniform(-0.9, 0.9, size=H), rng.normal(size=H)


def test_forward_is_the_equation_and_padding_is_zero_and_frozen():
    rng = np.random.default_rng(0)
    x, h0 = rng.normal(size=(2, 4, 3)), rng.normal(size=(2, 4))
    Wx, u, b = weights(rng)
    h, cache = diagonal_forward(x, h0, Wx, u, b, lengths=[4, 2])
    state = h0
    for t in range(4):
        state = np.tanh(x[:, t] @ Wx + u * state + b)
        assert np.allclose(h[0, t], state[0])
    assert np.all(h[1, 2:] == 0)
    alone, _ = diagonal_forward(x[1:, :2], h0[1:], Wx, u, b)
    assert np.allclose(h[1, :2], alone[0])
    assert np.allclose(cache["states"][-1][1], alone[0, -1])  # the padded row kept its state


def test_backward_matches_numeric_gradients_and_padding_gets_none():
    rng = np.random.default_rng(1)
    x, h0 = rng.normal(size=(3, 5, 3)), rng.normal(size=(3, 4))
    params = [x, h0, *weights(rng)]
    lengths = np.array([5, 1, 3])
    dh = rng.normal(size=(3, 5, 4))
    _, cache = diagonal_forward(*params, lengths=lengths)
    grads = diagonal_backward(dh, cache)
    for grad, value in zip(grads, params):
        numeric = eval_numerical_gradient_array(
            lambda _: diagonal_forward(*params, lengths=lengths)[0], value, dh)
        assert rel_error(grad, numeric) < 1e-7
    assert np.all(grads[0][1, 1:] == 0) and np.all(grads[0][2, 3:] == 0)


def test_float32_stays_float32_and_bad_shapes_name_the_argument():
    rng = np.random.default_rng(2)
    Wx, u, b = (w.astype(np.float32) for w in weights(rng))
    x, h0 = np.ones((2, 3, 3), np.float32), np.zeros((2, 4), np.float32)
    h, cache = diagonal_forward(x, h0, Wx, u, b)
    assert h.dtype == np.float32
    assert all(g.dtype == np.float32 for g in diagonal_backward(np.ones_like(h), cache))
    with pytest.raises(ValueError, match="u"):
        diagonal_forward(x, h0, Wx, np.zeros(5, np.float32), b)


def test_the_bidirectional_layer_runs_on_the_diagonal_cell():
    """Each sequence of a ragged batch alone gives the same numbers; the backward pass agrees
    with numeric gradients."""
    rng = np.random.default_rng(3)
    x, h0 = rng.normal(size=(3, 5, 3)), rng.normal(size=(2, 3, 4))
    fwd, bwd = weights(rng), weights(rng)
    lengths = np.array([2, 5, 4])
    h, cache = bidirectional_forward(x, h0, fwd, bwd, cell="diagonal", lengths=lengths)
    for n, L in enumerate(lengths):
        alone, _ = bidirectional_forward(x[n:n + 1, :L], h0[:, n:n + 1], fwd, bwd,
                                         cell="diagonal")
        assert np.allclose(h[n, :L], alone[0]) and np.all(h[n, L:] == 0)
    dh = rng.normal(size=h.shape)
    dx, dh0, dfwd, dbwd = bidirectional_backward(dh, cache)
    for grad, value in zip((dx, dh0, *dfwd, *dbwd), (x, h0, *fwd, *bwd)):
        numeric = eval_numerical_gradient_array(lambda _: bidirectional_forward(
            x, h0, fwd, bwd, cell="diagonal", lengths=lengths)[0], value, dh)
        assert rel_error(grad, numeric) < 1e-7
