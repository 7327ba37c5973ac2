"""Graded tests of A1: vanilla RNN layers and BPTT in NumPy.

Forward passes are compared with the equations written out here with einsum, loop by loop;
backward passes with centred-difference numeric gradients on small, fixed, float64 cases
(well-conditioned, so a correct gradient agrees to better than 1e-6). rnn_backward is graded on
its own: its cache is built here, to the layout documented in rnn_forward's docstring.
Run them with ``python -m pytest tests -q`` from the assignment folder.
"""

import numpy as np

from minirnn.numpy import (
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
from minirnn.numpy.gradcheck import eval_numerical_gradient, eval_numerical_gradient_array


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


def rnn_params(seed, N=3, D=4, H=5, T=None):
    rng = np.random.default_rng(seed)
    shape_x = (N, D) if T is None else (N, T, D)
    return (rng.normal(size=shape_x), rng.normal(size=(N, H)) * 0.5,
            rng.normal(size=(D, H)) * 0.4, rng.normal(size=(H, H)) * 0.4,
            rng.normal(size=H) * 0.1)


def expected_step(x, h, Wx, Wh, b):
    return np.tanh(np.einsum("nd,dh->nh", x, Wx) + np.einsum("nk,kh->nh", h, Wh) + b[None])


def expected_sequence(x, h0, Wx, Wh, b):
    """(h, cache): the outputs (N, T, H), and rnn_forward's cache in its documented layout."""
    state, hs, steps = h0, [], []
    for t in range(x.shape[1]):
        next_h = expected_step(x[:, t], state, Wx, Wh, b)
        steps.append((x[:, t], state, Wx, Wh, next_h, np.array("tanh")))
        state = next_h
        hs.append(next_h)
    lengths = np.full(x.shape[0], x.shape[1], dtype=np.int64)
    return np.stack(hs, axis=1), {"steps": steps, "lengths": lengths}


def test_rnn_step_forward():
    x, h, Wx, Wh, b = rnn_params(0)
    next_h, _ = rnn_step_forward(x, h, Wx, Wh, b)
    assert relative(next_h, expected_step(x, h, Wx, Wh, b)) < 1e-10
    relu_h, _ = rnn_step_forward(x, h, Wx, Wh, b, nonlinearity="relu")
    pre = np.einsum("nd,dh->nh", x, Wx) + np.einsum("nk,kh->nh", h, Wh) + b[None]
    assert relative(relu_h, np.where(pre > 0, pre, 0.0)) < 1e-10


def test_rnn_step_backward():
    x, h, Wx, Wh, b = rnn_params(1)
    upstream = np.random.default_rng(11).normal(size=(3, 5))
    _, cache = rnn_step_forward(x, h, Wx, Wh, b)
    grads = rnn_step_backward(upstream, cache)
    inputs = [x, h, Wx, Wh, b]
    for k, name in enumerate(("dx", "dprev_h", "dWx", "dWh", "db")):
        numeric = eval_numerical_gradient_array(lambda _: rnn_step_forward(*inputs)[0],
                                                inputs[k], upstream)
        assert scaled(grads[k], numeric) < 1e-7, name


def test_rnn_forward():
    x, h0, Wx, Wh, b = rnn_params(2, N=2, D=3, H=4, T=6)
    h, _ = rnn_forward(x, h0, Wx, Wh, b)
    assert relative(h, expected_sequence(x, h0, Wx, Wh, b)[0]) < 1e-10
    h32, _ = rnn_forward(*(a.astype(np.float32) for a in (x, h0, Wx, Wh, b)))
    assert h32.dtype == np.float32


def test_rnn_backward():
    x, h0, Wx, Wh, b = rnn_params(3, N=2, D=3, H=4, T=5)
    upstream = np.random.default_rng(13).normal(size=(2, 5, 4))
    _, cache = expected_sequence(x, h0, Wx, Wh, b)
    grads = rnn_backward(upstream, cache)
    inputs = [x, h0, Wx, Wh, b]
    for k, name in enumerate(("dx", "dh0", "dWx", "dWh", "db")):
        numeric = eval_numerical_gradient_array(lambda _: expected_sequence(*inputs)[0],
                                                inputs[k], upstream)
        assert scaled(grads[k], numeric) < 1e-6, name


def test_word_embedding_forward():
    W = np.arange(12, dtype=np.float64).reshape(4, 3)
    ids = np.array([[0, 3, 3], [2, 1, 0]])
    out, _ = word_embedding_forward(ids, W)
    assert out.shape == (2, 3, 3)
    for n in range(2):
        for t in range(3):
            assert np.array_equal(out[n, t], W[ids[n, t]])


def test_word_embedding_backward():
    rng = np.random.default_rng(4)
    W = rng.normal(size=(5, 3))
    ids = np.array([[0, 3, 3, 1], [3, 1, 0, 0]])  # repeated ids must accumulate
    upstream = rng.normal(size=(2, 4, 3))
    _, cache = word_embedding_forward(ids, W)
    dW = word_embedding_backward(upstream, cache)
    numeric = eval_numerical_gradient_array(lambda _: word_embedding_forward(ids, W)[0], W,
                                            upstream)
    assert scaled(dW, numeric) < 1e-8
    assert np.all(dW[[2, 4]] == 0)  # ids that never occur get no gradient


def test_temporal_affine():
    rng = np.random.default_rng(5)
    x, w, b = rng.normal(size=(2, 4, 3)), rng.normal(size=(3, 6)), rng.normal(size=6)
    out, cache = temporal_affine_forward(x, w, b)
    assert relative(out, np.einsum("ntd,dm->ntm", x, w) + b) < 1e-10
    upstream = rng.normal(size=(2, 4, 6))
    grads = temporal_affine_backward(upstream, cache)
    inputs = [x, w, b]
    for k, name in enumerate(("dx", "dw", "db")):
        numeric = eval_numerical_gradient_array(lambda _: temporal_affine_forward(*inputs)[0],
                                                inputs[k], upstream)
        assert scaled(grads[k], numeric) < 1e-8, name


def test_temporal_softmax_loss():
    # uniform scores: every step costs log V, summed over T, averaged over N
    N, T, V = 4, 6, 10
    loss, _ = temporal_softmax_loss(np.zeros((N, T, V)), np.ones((N, T), dtype=int))
    assert abs(loss - T * np.log(V)) < 1e-10
    rng = np.random.default_rng(6)
    scores = rng.normal(size=(3, 5, 7)) * 3
    targets = rng.integers(0, 7, size=(3, 5))
    mask = rng.random((3, 5)) > 0.4
    loss, dscores = temporal_softmax_loss(scores, targets, mask)
    log_p = scores - np.log(np.exp(scores).sum(axis=2, keepdims=True))
    picked = np.take_along_axis(log_p, targets[..., None], axis=2)[..., 0]
    assert abs(loss - float(-(picked * mask).sum() / 3)) < 1e-10
    numeric = eval_numerical_gradient(lambda s: temporal_softmax_loss(s, targets, mask)[0],
                                      scores)
    assert scaled(dscores, numeric) < 1e-7
    assert np.all(dscores[~mask] == 0)  # masked steps send no gradient back
    big, _ = temporal_softmax_loss(scores * 1000, targets, mask)  # no overflow
    assert np.isfinite(big)


def test_tiny_language_model_learns():
    """Embedding -> RNN -> affine -> loss, trained by plain gradient descent on one sequence."""
    rng = np.random.default_rng(7)
    V, D, H = 5, 4, 8
    seq = np.array([[0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0]])
    ids, targets = seq[:, :-1], seq[:, 1:]
    params = dict(W_embed=rng.normal(size=(V, D)) * 0.5, Wx=rng.normal(size=(D, H)) * 0.3,
                  Wh=rng.normal(size=(H, H)) * 0.3, b=np.zeros(H),
                  W_out=rng.normal(size=(H, V)) * 0.3, b_out=np.zeros(V))
    losses = []
    for _ in range(150):
        p = params
        emb, emb_cache = word_embedding_forward(ids, p["W_embed"])
        h, rnn_cache = rnn_forward(emb, np.zeros((1, H)), p["Wx"], p["Wh"], p["b"])
        scores, aff_cache = temporal_affine_forward(h, p["W_out"], p["b_out"])
        loss, dscores = temporal_softmax_loss(scores, targets)
        losses.append(loss)
        dh, dW_out, db_out = temporal_affine_backward(dscores, aff_cache)
        demb, _, dWx, dWh, db = rnn_backward(dh, rnn_cache)
        dW_embed = word_embedding_backward(demb, emb_cache)
        for key, grad in zip(params, (dW_embed, dWx, dWh, db, dW_out, db_out)):
            params[key] = params[key] - 0.1 * grad
    assert losses[-1] < 0.1 * losses[0], (losses[0], losses[-1])
