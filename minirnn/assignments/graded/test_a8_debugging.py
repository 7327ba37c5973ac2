"""A8's graded tests: each is the check a practitioner would use to catch its bug.

Run them with ``python -m pytest tests -q`` in the assignment folder. The grader runs the same
checks on other inputs, computing every expected value with its own code.
"""

import numpy as np
import pytest
import torch

from minirnn.debugging import layers, loops
from minirnn.debugging.meters import LiveSavedBytes


def rnn_params(rng, D, H, reverse=False, head=False):
    p = {}
    for suffix in ("", "_reverse") if reverse else ("",):
        p["weight_ih_l0" + suffix] = rng.normal(size=(H, D)) / np.sqrt(D)
        p["weight_hh_l0" + suffix] = rng.normal(size=(H, H)) * 0.9 / np.sqrt(H)
        p["bias_ih_l0" + suffix] = rng.normal(size=H) * 0.1
        p["bias_hh_l0" + suffix] = rng.normal(size=H) * 0.1
    if head:
        p["head_weight"], p["head_bias"] = rng.normal(size=(1, H)) / np.sqrt(H), np.zeros(1)
    return p


def run_rnn(p, x, suffix=""):
    """States (N, T, H) of torch's tanh RNN from the zero state, written out."""
    h, hs = np.zeros((x.shape[0], p["weight_hh_l0" + suffix].shape[0])), []
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ p["weight_ih_l0" + suffix].T + p["bias_ih_l0" + suffix]
                    + h @ p["weight_hh_l0" + suffix].T + p["bias_hh_l0" + suffix])
        hs.append(h)
    return np.stack(hs, axis=1)


def numeric_gradient(f, x, upstream, h=1e-6):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        plus = np.sum(f() * upstream)
        x[i] = old - h
        minus = np.sum(f() * upstream)
        x[i] = old
        grad[i] = (plus - minus) / (2 * h)
    return grad


def test_embedding_backward_repeated_words():
    rng = np.random.default_rng(0)
    W, ids = rng.normal(size=(5, 3)), np.array([[1, 1, 2], [4, 1, 0]])  # word 1 three times
    dout = rng.normal(size=(2, 3, 3))
    want = numeric_gradient(lambda: layers.embedding_forward(ids, W), W, dout)
    assert np.allclose(layers.embedding_backward(dout, ids, 5), want, atol=1e-7)


def test_rnn_backward_gradient_check():
    rng = np.random.default_rng(1)
    x, h0 = rng.normal(size=(2, 5, 3)), rng.normal(size=(2, 4)) * 0.5
    Wx, Wh, b = rng.normal(size=(3, 4)) * 0.5, rng.normal(size=(4, 4)) * 0.5, rng.normal(size=4)
    upstream = rng.normal(size=(2, 5, 4))
    _, cache = layers.rnn_forward(x, h0, Wx, Wh, b)
    grads = layers.rnn_backward(upstream, cache)
    for got, value in zip(grads, (x, h0, Wx, Wh, b)):
        want = numeric_gradient(lambda: layers.rnn_forward(x, h0, Wx, Wh, b)[0], value, upstream)
        assert np.allclose(got, want, atol=1e-6)


def test_softmax_large_scores():
    scores = np.array([[1000.0, 999.0, 990.0], [-1000.0, -1001.0, -1010.0]])
    with np.errstate(over="ignore", invalid="ignore"):
        probs = layers.softmax(scores)
    assert np.all(np.isfinite(probs))
    assert np.allclose(probs, layers.softmax(scores - scores.max(axis=1, keepdims=True)))


def test_sequence_loss_ignores_padding():
    rng = np.random.default_rng(2)
    scores, targets = rng.normal(size=(2, 4, 3)), rng.integers(0, 3, size=(2, 4))
    mask = np.array([[True] * 4, [True, True, False, False]])
    other = np.where(mask[..., None], scores, 10.0)  # other scores at the padding
    loss, dscores = layers.sequence_loss(scores, targets, mask)
    loss2, dscores2 = layers.sequence_loss(other, targets, mask)
    assert loss == pytest.approx(loss2) and np.allclose(dscores, dscores2)
    assert np.all(dscores[~mask] == 0)


def test_tbptt_memory_stays_flat():
    rng = np.random.default_rng(3)
    p = rnn_params(rng, 3, 8, head=True)
    x, y = rng.normal(size=(2, 20, 3)), rng.normal(size=(2, 20))
    with LiveSavedBytes() as meter:
        loops.tbptt_gradients(p, x, y, 4, on_chunk=meter.record)
    assert len(meter.history) == 5 and meter.history[-1] <= meter.history[0]


def test_independent_sequences():
    rng = np.random.default_rng(4)
    p, seqs = rnn_params(rng, 2, 3), [rng.normal(size=(t, 2)) for t in (3, 5)]
    finals = loops.encode_each(p, seqs)
    for k, seq in enumerate(seqs):
        assert np.allclose(finals[k], run_rnn(p, seq[None])[0, -1])


def test_lstm_weights_match_torch():
    rng = np.random.default_rng(5)
    D, H = 2, 3
    Wx, Wh, b = rng.normal(size=(D, 4 * H)), rng.normal(size=(H, 4 * H)), rng.normal(size=4 * H)
    x = rng.normal(size=(1, 4, D))
    h = c = np.zeros((1, H))
    for t in range(4):  # CS231n's LSTM: gates i, f, o, g
        a = x[:, t] @ Wx + h @ Wh + b
        i, f, o = (1 / (1 + np.exp(-a[:, k * H:(k + 1) * H])) for k in range(3))
        c = f * c + i * np.tanh(a[:, 3 * H:])
        h = o * np.tanh(c)
    lstm = torch.nn.LSTM(D, H, batch_first=True).double()
    lstm.load_state_dict({k: torch.from_numpy(v) for k, v in
                          loops.lstm_from_cs231n(Wx, Wh, b).items()})
    with torch.no_grad():
        assert np.allclose(lstm(torch.from_numpy(x))[0][:, -1].numpy(), h)


def test_final_states_batch_first():
    rng = np.random.default_rng(6)
    p, x = rnn_params(rng, 2, 4), rng.normal(size=(3, 5, 2))  # N = 3 sequences, T = 5 steps
    h = loops.final_states(p, x)
    assert h.shape == (3, 4)
    assert np.allclose(h, run_rnn(p, x)[:, -1])


def test_clipping_bounds_the_update():
    rng = np.random.default_rng(7)
    p = rnn_params(rng, 3, 5, head=True)
    x, y = rng.normal(size=(2, 6, 3)), rng.normal(size=(2, 6)) * 20
    new, norm = loops.clipped_sgd_step(p, x, y, lr=0.1, max_norm=1.0)
    step = np.sqrt(sum(np.sum((new[k] - p[k]) ** 2) for k in p))
    assert norm > 1.0 and step <= 0.1 * 1.0 + 1e-9


def test_bidirectional_summary():
    rng = np.random.default_rng(8)
    p, x = rnn_params(rng, 2, 3, reverse=True), rng.normal(size=(2, 5, 2))
    summary = loops.bidirectional_summary(p, x)
    assert np.allclose(summary[:, :3], run_rnn(p, x)[:, -1])
    assert np.allclose(summary[:, 3:], run_rnn(p, x[:, ::-1], "_reverse")[:, -1])
