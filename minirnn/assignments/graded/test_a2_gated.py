"""Graded tests of A2: the LSTM and the GRU in NumPy.

Forward passes are compared with the equations of chapters 12 and 14 written out here with
einsum; backward passes with centred-difference numeric gradients on small, fixed, float64
cases. lstm_backward and gru_backward are graded on their own: their caches are built here, to
the layouts documented in lstm_forward's and gru_forward's docstrings.
Run them with ``python -m pytest tests -q`` from the assignment folder.
"""

import numpy as np

from minirnn.numpy import (
    gru_backward,
    gru_forward,
    gru_step_backward,
    gru_step_forward,
    lstm_backward,
    lstm_forward,
    lstm_step_backward,
    lstm_step_forward,
)
from minirnn.numpy.gradcheck import eval_numerical_gradient_array


def relative(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, f"shape {a.shape} where {b.shape} was expected"
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def scaled(a, b):
    """Largest difference relative to the largest entry: for gradients with tiny entries, whose
    numeric estimates carry ~1e-10 of rounding noise."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, f"shape {a.shape} where {b.shape} was expected"
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-12))


def logistic(z):
    return 1.0 / (1.0 + np.exp(-z))


def weights(seed, gates, N=3, D=4, H=5, T=None, biases=1):
    rng = np.random.default_rng(seed)
    shape_x = (N, D) if T is None else (N, T, D)
    out = [rng.normal(size=shape_x), rng.normal(size=(N, H)) * 0.5,
           rng.normal(size=(D, gates * H)) * 0.4, rng.normal(size=(H, gates * H)) * 0.4]
    out += [rng.normal(size=gates * H) * 0.2 for _ in range(biases)]
    return out


def expected_lstm_step(x, h, c, Wx, Wh, b, with_cache=False):
    N, H = h.shape
    pre = (np.einsum("nd,dk->nk", x, Wx) + np.einsum("nj,jk->nk", h, Wh) + b).reshape(N, 4, H)
    in_gate, forget, candidate, out_gate = (logistic(pre[:, 0]), logistic(pre[:, 1]),
                                            np.tanh(pre[:, 2]), logistic(pre[:, 3]))
    cell = forget * c + in_gate * candidate
    if with_cache:  # lstm_step_forward's cache, in its documented layout
        step = (x, h, c, Wx, Wh, in_gate, forget, candidate, out_gate, np.tanh(cell))
        return out_gate * np.tanh(cell), cell, step
    return out_gate * np.tanh(cell), cell


def expected_gru_step(x, h, Wx, Wh, bx, bh, with_cache=False):
    N, H = h.shape
    from_x = (np.einsum("nd,dk->nk", x, Wx) + bx).reshape(N, 3, H)
    from_h = (np.einsum("nj,jk->nk", h, Wh) + bh).reshape(N, 3, H)
    reset = logistic(from_x[:, 0] + from_h[:, 0])
    update = logistic(from_x[:, 1] + from_h[:, 1])
    candidate = np.tanh(from_x[:, 2] + reset * from_h[:, 2])
    next_h = update * h + (1.0 - update) * candidate
    if with_cache:  # gru_step_forward's cache, in its documented layout
        return next_h, (x, h, Wx, Wh, reset, update, candidate, from_h[:, 2])
    return next_h


def expected_lstm_sequence(x, h0, Wx, Wh, b):
    """(h, cache): the outputs (N, T, H), and lstm_forward's cache in its documented layout."""
    state, cell, hs, steps = h0, np.zeros_like(h0), [], []
    for t in range(x.shape[1]):
        state, cell, step = expected_lstm_step(x[:, t], state, cell, Wx, Wh, b, True)
        hs.append(state)
        steps.append(step)
    lengths = np.full(x.shape[0], x.shape[1], dtype=np.int64)
    return np.stack(hs, axis=1), {"steps": steps, "lengths": lengths}


def expected_gru_sequence(x, h0, Wx, Wh, bx, bh):
    """(h, cache): the outputs (N, T, H), and gru_forward's cache in its documented layout."""
    state, hs, steps = h0, [], []
    for t in range(x.shape[1]):
        state, step = expected_gru_step(x[:, t], state, Wx, Wh, bx, bh, True)
        hs.append(state)
        steps.append(step)
    lengths = np.full(x.shape[0], x.shape[1], dtype=np.int64)
    return np.stack(hs, axis=1), {"steps": steps, "lengths": lengths}


def test_lstm_step_forward():
    x, h, Wx, Wh, b = weights(0, 4)
    c = np.random.default_rng(20).normal(size=h.shape)
    next_h, next_c, _ = lstm_step_forward(x, h, c, Wx, Wh, b)
    want_h, want_c = expected_lstm_step(x, h, c, Wx, Wh, b)
    assert relative(next_h, want_h) < 1e-10
    assert relative(next_c, want_c) < 1e-10


def test_lstm_step_backward():
    x, h, Wx, Wh, b = weights(1, 4)
    c = np.random.default_rng(21).normal(size=h.shape)
    rng = np.random.default_rng(22)
    up_h, up_c = rng.normal(size=h.shape), rng.normal(size=h.shape)
    _, _, cache = lstm_step_forward(x, h, c, Wx, Wh, b)
    grads = lstm_step_backward(up_h, up_c, cache)
    inputs = [x, h, c, Wx, Wh, b]

    def both(_):
        next_h, next_c, _ = lstm_step_forward(*inputs)
        return np.concatenate([next_h, next_c], axis=1)

    upstream = np.concatenate([up_h, up_c], axis=1)
    for k, name in enumerate(("dx", "dprev_h", "dprev_c", "dWx", "dWh", "db")):
        numeric = eval_numerical_gradient_array(both, inputs[k], upstream)
        assert scaled(grads[k], numeric) < 1e-7, name


def test_lstm_forward():
    x, h0, Wx, Wh, b = weights(2, 4, N=2, D=3, H=4, T=6)
    h, _ = lstm_forward(x, h0, Wx, Wh, b)
    assert relative(h, expected_lstm_sequence(x, h0, Wx, Wh, b)[0]) < 1e-10


def test_lstm_backward():
    x, h0, Wx, Wh, b = weights(3, 4, N=2, D=3, H=4, T=5)
    upstream = np.random.default_rng(23).normal(size=(2, 5, 4))
    _, cache = expected_lstm_sequence(x, h0, Wx, Wh, b)
    grads = lstm_backward(upstream, cache)
    inputs = [x, h0, Wx, Wh, b]
    for k, name in enumerate(("dx", "dh0", "dWx", "dWh", "db")):
        numeric = eval_numerical_gradient_array(lambda _: expected_lstm_sequence(*inputs)[0],
                                                inputs[k], upstream)
        assert scaled(grads[k], numeric) < 1e-6, name


def test_gru_step_forward():
    x, h, Wx, Wh, bx, bh = weights(4, 3, biases=2)
    next_h, _ = gru_step_forward(x, h, Wx, Wh, bx, bh)
    assert relative(next_h, expected_gru_step(x, h, Wx, Wh, bx, bh)) < 1e-10


def test_gru_step_backward():
    x, h, Wx, Wh, bx, bh = weights(5, 3, biases=2)
    upstream = np.random.default_rng(25).normal(size=h.shape)
    _, cache = gru_step_forward(x, h, Wx, Wh, bx, bh)
    grads = gru_step_backward(upstream, cache)
    inputs = [x, h, Wx, Wh, bx, bh]
    for k, name in enumerate(("dx", "dprev_h", "dWx", "dWh", "dbx", "dbh")):
        numeric = eval_numerical_gradient_array(lambda _: gru_step_forward(*inputs)[0],
                                                inputs[k], upstream)
        assert scaled(grads[k], numeric) < 1e-7, name


def test_gru_forward():
    x, h0, Wx, Wh, bx, bh = weights(6, 3, N=2, D=3, H=4, T=6, biases=2)
    h, _ = gru_forward(x, h0, Wx, Wh, bx, bh)
    assert relative(h, expected_gru_sequence(x, h0, Wx, Wh, bx, bh)[0]) < 1e-10


def test_gru_backward():
    x, h0, Wx, Wh, bx, bh = weights(7, 3, N=2, D=3, H=4, T=5, biases=2)
    upstream = np.random.default_rng(27).normal(size=(2, 5, 4))
    _, cache = expected_gru_sequence(x, h0, Wx, Wh, bx, bh)
    grads = gru_backward(upstream, cache)
    inputs = [x, h0, Wx, Wh, bx, bh]
    for k, name in enumerate(("dx", "dh0", "dWx", "dWh", "dbx", "dbh")):
        numeric = eval_numerical_gradient_array(lambda _: expected_gru_sequence(*inputs)[0],
                                                inputs[k], upstream)
        assert scaled(grads[k], numeric) < 1e-6, name
