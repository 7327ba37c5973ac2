"""A1's and A2's graded questions, judged in the grader's own process.

For each graded test, `CASES[name](rng)` returns a Case: the calls the child makes on the
student's functions (with inputs drawn from `rng`, which the grader seeds from a secret and the
submission) and the check the grader runs on what they returned. Expected values come from the
equations written out here with einsum, gradients from this module's own centred differences,
and the caches handed to backward functions from the grader's reference forward passes, so a
wrong forward pass does not cost the backward points. Nothing of the student's package runs
here.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from minirnn.assignments._child import flatten
from minirnn.numpy import gru as reference_gru
from minirnn.numpy import layers as reference_layers
from minirnn.numpy import lstm as reference_lstm
from minirnn.numpy import rnn as reference_rnn

RNN, LAYERS = "minirnn.numpy.rnn", "minirnn.numpy.layers"
LSTM, GRU = "minirnn.numpy.lstm", "minirnn.numpy.gru"


class Case:
    """The calls of one graded test, their inputs, and the check of their results."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self.calls: list[dict] = []
        self.check: Callable[[dict], None] = lambda out: None

    def call(self, name: str, module: str, function: str, *args,
             select: int | list[int] | None = None, **kwargs) -> None:
        self.calls.append({"name": name, "module": module, "function": function,
                           "args": flatten(args, self.arrays, np),
                           "kwargs": flatten(kwargs, self.arrays, np), "select": select})

    def program(self, name: str, program: str, **inputs: np.ndarray) -> None:
        self.arrays.update({k: np.asarray(v) for k, v in inputs.items()})
        self.calls.append({"name": name, "program": program})


def array(value, name: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """`value` as a float64 array of `shape`, or an AssertionError saying what came back."""
    if shape is None and isinstance(value, (int, float, np.number)) and not isinstance(
            value, bool):  # a scalar may come back as a Python number
        value = np.asarray(value)
    if not isinstance(value, np.ndarray):
        raise AssertionError(f"{name}: expected an array, got {type(value).__name__}")
    if shape is not None and value.shape != shape:
        raise AssertionError(f"{name}: shape {value.shape} where {shape} was expected")
    if value.dtype.kind not in "fiub":
        raise AssertionError(f"{name}: dtype {value.dtype} is not numeric")
    return value.astype(np.float64)


def relative(got, want) -> float:
    return float(np.max(np.abs(got - want) / np.maximum(1e-8, np.abs(got) + np.abs(want))))


def scaled(got, want) -> float:
    """Largest difference relative to the largest entry (numeric gradients carry ~1e-10)."""
    return float(np.max(np.abs(got - want)) / max(float(np.max(np.abs(want))), 1e-12))


def numeric_gradient(f: Callable[[], np.ndarray], x: np.ndarray, upstream: np.ndarray,
                     h: float = 1e-5) -> np.ndarray:
    """d sum(f() * upstream) / dx by centred differences (x is changed in place, restored)."""
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        old = x[index]
        x[index] = old + h
        plus = np.sum(f() * upstream)
        x[index] = old - h
        minus = np.sum(f() * upstream)
        x[index] = old
        grad[index] = (plus - minus) / (2 * h)
    return grad


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def step(x, h, Wx, Wh, b, relu=False):
    pre = np.einsum("nd,dh->nh", x, Wx) + np.einsum("nk,kh->nh", h, Wh) + b[None]
    return np.where(pre > 0, pre, 0.0) if relu else np.tanh(pre)


def sequence(x, h0, Wx, Wh, b):
    state, hs = h0, []
    for t in range(x.shape[1]):
        state = step(x[:, t], state, Wx, Wh, b)
        hs.append(state)
    return np.stack(hs, axis=1)


def rnn_inputs(rng, N, D, H, T=None):
    shape_x = (N, D) if T is None else (N, T, D)
    return [rng.normal(size=shape_x), rng.normal(size=(N, H)) * 0.5,
            rng.normal(size=(D, H)) * 0.4, rng.normal(size=(H, H)) * 0.4,
            rng.normal(size=H) * 0.1]


def check_gradients(out, name, names, f, inputs, upstream, tolerance):
    grads = out[name]
    expect(isinstance(grads, (tuple, list)) and len(grads) == len(names),
           f"expected {len(names)} gradients ({', '.join(names)})")
    for k, label in enumerate(names):
        got = array(grads[k], label, inputs[k].shape)
        want = numeric_gradient(f, inputs[k], upstream)
        expect(scaled(got, want) < tolerance, f"{label} differs from the numeric gradient "
                                              f"by {scaled(got, want):.1e}")


def big_backward(case: Case, rng, name: str, module: str, function: str, inputs: list,
                 upstream, cache, f: Callable[[], np.ndarray], labels) -> Callable[[dict], None]:
    """A second backward call on inputs large enough that gradients by finite differences of the
    student's own forward pass would run far past the CPU limit; checked here along one random
    direction (two forward passes of the grader's equations), so it costs the grader little.

    `cache` comes from the reference forward pass; returns the check of the call's result."""
    case.call(name, module, function, *upstream, cache)
    directions = [rng.normal(size=x.shape) for x in inputs]

    def check(out):
        grads = out[name]
        expect(isinstance(grads, (tuple, list)) and len(grads) == len(labels),
               f"expected {len(labels)} gradients ({', '.join(labels)}) on the large case")
        got = sum(float(np.sum(array(g, label, x.shape) * v))
                  for g, label, x, v in zip(grads, labels, inputs, directions))
        h, saved = 1e-5, [x.copy() for x in inputs]
        weight = np.concatenate([u.ravel() for u in upstream])

        def loss(sign):
            for x, x0, v in zip(inputs, saved, directions):
                x[...] = x0 + sign * h * v
            return float(np.sum(np.ravel(f()) * weight))

        want = (loss(1) - loss(-1)) / (2 * h)
        for x, x0 in zip(inputs, saved):
            x[...] = x0
        expect(abs(got - want) <= 1e-6 * max(1.0, abs(want)),
               f"on the large case the gradients disagree with the loss's slope "
               f"({got:.6g} vs {want:.6g})")
    return check


def big_inputs(rng, gates, N, D, H, T=None, biases=1):
    """Inputs of a large case, weights scaled by 1/sqrt(fan-in) so the gates stay lively."""
    shape_x = (N, D) if T is None else (N, T, D)
    out = [rng.normal(size=shape_x), rng.normal(size=(N, H)) * 0.5,
           rng.normal(size=(D, gates * H)) / np.sqrt(D),
           rng.normal(size=(H, gates * H)) / np.sqrt(H)]
    return out + [rng.normal(size=gates * H) * 0.1 for _ in range(biases)]


def with_big(check_small, check_big):
    def check(out):
        check_small(out)
        check_big(out)
    return check


def rnn_step_forward_case(rng) -> Case:
    case, x = Case(), rnn_inputs(rng, 3, 4, 5)
    case.call("tanh", RNN, "rnn_step_forward", *x, select=0)
    case.call("relu", RNN, "rnn_step_forward", *x, nonlinearity="relu", select=0)

    def check(out):
        for name, relu in (("tanh", False), ("relu", True)):
            got = array(out[name], f"next_h ({name})", (3, 5))
            expect(relative(got, step(*x, relu=relu)) < 1e-10, f"next_h ({name}) is wrong")
    case.check = check
    return case


def rnn_step_backward_case(rng) -> Case:
    case, x = Case(), rnn_inputs(rng, 3, 4, 5)
    upstream = rng.normal(size=(3, 5))
    _, cache = reference_rnn.rnn_step_forward(*x)
    case.call("grads", RNN, "rnn_step_backward", upstream, cache)
    names = ("dx", "dprev_h", "dWx", "dWh", "db")
    big = big_inputs(rng, 1, 256, 128, 128)
    big_up = rng.normal(size=(256, 128))
    big_check = big_backward(case, rng, "big", RNN, "rnn_step_backward", big, [big_up],
                             reference_rnn.rnn_step_forward(*big)[1], lambda: step(*big), names)
    case.check = with_big(lambda out: check_gradients(
        out, "grads", names, lambda: step(*x), x, upstream, 1e-7), big_check)
    return case


def rnn_forward_case(rng) -> Case:
    case, x = Case(), rnn_inputs(rng, 2, 3, 4, T=6)
    case.call("h", RNN, "rnn_forward", *x, select=0)
    case.call("h32", RNN, "rnn_forward", *(a.astype(np.float32) for a in x), select=0)

    def check(out):
        got = array(out["h"], "h", (2, 6, 4))
        expect(relative(got, sequence(*x)) < 1e-10, "h differs from the RNN's equations")
        expect(isinstance(out["h32"], np.ndarray) and out["h32"].dtype == np.float32,
               "float32 inputs must give float32 outputs")
    case.check = check
    return case


def rnn_backward_case(rng) -> Case:
    case, x = Case(), rnn_inputs(rng, 2, 3, 4, T=5)
    upstream = rng.normal(size=(2, 5, 4))
    _, cache = reference_rnn.rnn_forward(*x)
    case.call("grads", RNN, "rnn_backward", upstream, cache)
    names = ("dx", "dh0", "dWx", "dWh", "db")
    big = big_inputs(rng, 1, 32, 64, 64, T=32)
    big_up = rng.normal(size=(32, 32, 64))
    big_check = big_backward(case, rng, "big", RNN, "rnn_backward", big, [big_up],
                             reference_rnn.rnn_forward(*big)[1], lambda: sequence(*big), names)
    case.check = with_big(lambda out: check_gradients(
        out, "grads", names, lambda: sequence(*x), x, upstream, 1e-6), big_check)
    return case


def embedding_ids(rng, V, shape):
    """Ids with repeats that leave two of the V rows unused."""
    unused = rng.choice(V, size=2, replace=False)
    used = np.setdiff1d(np.arange(V), unused)
    return rng.choice(used, size=shape), unused


def word_embedding_forward_case(rng) -> Case:
    case = Case()
    W = rng.normal(size=(6, 3))
    ids, _ = embedding_ids(rng, 6, (2, 4))
    case.call("out", LAYERS, "word_embedding_forward", ids, W, select=0)
    case.check = lambda out: expect(
        np.array_equal(array(out["out"], "out", (2, 4, 3)), W[ids]), "out[n, t] != W[x[n, t]]")
    return case


def word_embedding_backward_case(rng) -> Case:
    case = Case()
    W = rng.normal(size=(7, 3))
    ids, unused = embedding_ids(rng, 7, (2, 5))
    upstream = rng.normal(size=(2, 5, 3))
    _, cache = reference_layers.word_embedding_forward(ids, W)
    case.call("dW", LAYERS, "word_embedding_backward", upstream, cache)

    def check(out):
        got = array(out["dW"], "dW", W.shape)
        want = np.zeros_like(W)
        np.add.at(want, ids, upstream)  # repeated ids accumulate
        expect(scaled(got, want) < 1e-10, "dW is wrong (repeated ids must accumulate)")
        expect(bool(np.all(got[unused] == 0)), "ids that never occur must get no gradient")
    case.check = check
    return case


def temporal_affine_case(rng) -> Case:
    case = Case()
    x, w, b = rng.normal(size=(2, 4, 3)), rng.normal(size=(3, 6)), rng.normal(size=6)
    upstream = rng.normal(size=(2, 4, 6))
    _, cache = reference_layers.temporal_affine_forward(x, w, b)
    case.call("out", LAYERS, "temporal_affine_forward", x, w, b, select=0)
    case.call("grads", LAYERS, "temporal_affine_backward", upstream, cache)

    def check(out):
        got = array(out["out"], "out", (2, 4, 6))
        expect(relative(got, np.einsum("ntd,dm->ntm", x, w) + b) < 1e-10, "out is wrong")
        check_gradients(out, "grads", ("dx", "dw", "db"),
                        lambda: np.einsum("ntd,dm->ntm", x, w) + b, [x, w, b], upstream, 1e-8)
    case.check = check
    return case


def softmax_loss(scores, targets, mask):
    """(loss, dscores) written out: log-softmax, summed over kept steps, averaged over N."""
    shifted = scores - scores.max(axis=2, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=2, keepdims=True))
    picked = np.take_along_axis(log_p, targets[..., None], axis=2)[..., 0]
    N = scores.shape[0]
    dscores = np.exp(log_p)
    np.put_along_axis(dscores, targets[..., None],
                      np.take_along_axis(dscores, targets[..., None], axis=2) - 1, axis=2)
    return float(-(picked * mask).sum() / N), dscores * mask[..., None] / N


def temporal_softmax_loss_case(rng) -> Case:
    case = Case()
    N, T, V = 4, 6, 10
    scores = rng.normal(size=(3, 5, 7)) * 3
    targets = rng.integers(0, 7, size=(3, 5))
    mask = rng.random((3, 5)) > 0.4
    mask[0, 0] = True
    case.call("uniform", LAYERS, "temporal_softmax_loss", np.zeros((N, T, V)),
              np.ones((N, T), dtype=np.int64))
    case.call("masked", LAYERS, "temporal_softmax_loss", scores, targets, mask)
    case.call("big", LAYERS, "temporal_softmax_loss", scores * 1000, targets, mask, select=0)

    def check(out):
        uniform = float(array(out["uniform"][0], "loss"))
        expect(abs(uniform - T * np.log(V)) < 1e-10, "uniform scores must cost T log V")
        want_loss, want_d = softmax_loss(scores, targets, mask)
        loss, dscores = out["masked"]
        expect(abs(float(array(loss, "loss")) - want_loss) < 1e-10, "the masked loss is wrong")
        got = array(dscores, "dscores", scores.shape)
        expect(scaled(got, want_d) < 1e-9, "dscores is wrong")
        expect(bool(np.all(got[~mask] == 0)), "masked steps must send no gradient back")
        expect(bool(np.isfinite(array(out["big"], "loss"))), "large scores overflow")
    case.check = check
    return case


def language_model_loss(p, seq) -> float:
    """The tiny language model's mean loss per sequence on `seq`, computed here."""
    emb = p["W_embed"][seq[:, :-1]]
    h = sequence(emb, np.zeros((seq.shape[0], p["Wh"].shape[0])), p["Wx"], p["Wh"], p["b"])
    scores = np.einsum("nth,hv->ntv", h, p["W_out"]) + p["b_out"]
    return softmax_loss(scores, seq[:, 1:], np.ones(seq[:, 1:].shape, dtype=bool))[0]


def tiny_language_model_case(rng) -> Case:
    """Trained by the child on one cyclic sequence; scored here on phases it never saw."""
    case = Case()
    V, D, H = 5, 4, 8
    order = rng.permutation(V)  # the cycle the model must learn
    seq = order[np.arange(11) % V][None]
    params = dict(W_embed=rng.normal(size=(V, D)) * 0.5, Wx=rng.normal(size=(D, H)) * 0.3,
                  Wh=rng.normal(size=(H, H)) * 0.3, b=np.zeros(H),
                  W_out=rng.normal(size=(H, V)) * 0.3, b_out=np.zeros(V))
    case.program("params", "tiny_language_model", seq=seq, steps=150, lr=0.1, **params)
    unseen = np.stack([order[(np.arange(11) + k) % V] for k in range(1, V)])

    def check(out):
        trained = {k: array(out["params"].get(k), k, v.shape) for k, v in params.items()}
        before, after = language_model_loss(params, unseen), language_model_loss(trained, unseen)
        expect(after < 0.1 * before, f"the loss fell from {before:.3f} to {after:.3f} only, "
                                     f"not below a tenth")
    case.check = check
    return case


CASES: dict[str, Callable[[np.random.Generator], Case]] = {
    "test_rnn_step_forward": rnn_step_forward_case,
    "test_rnn_step_backward": rnn_step_backward_case,
    "test_rnn_forward": rnn_forward_case,
    "test_rnn_backward": rnn_backward_case,
    "test_word_embedding_forward": word_embedding_forward_case,
    "test_word_embedding_backward": word_embedding_backward_case,
    "test_temporal_affine": temporal_affine_case,
    "test_temporal_softmax_loss": temporal_softmax_loss_case,
    "test_tiny_language_model_learns": tiny_language_model_case,
}


# -- A2: the LSTM and the GRU ---------------------------------------------------------------------
def logistic(z):
    return 1.0 / (1.0 + np.exp(-z))


def lstm_step(x, h, c, Wx, Wh, b):
    N, H = h.shape
    pre = (np.einsum("nd,dk->nk", x, Wx) + np.einsum("nj,jk->nk", h, Wh) + b).reshape(N, 4, H)
    cell = logistic(pre[:, 1]) * c + logistic(pre[:, 0]) * np.tanh(pre[:, 2])
    return logistic(pre[:, 3]) * np.tanh(cell), cell


def gru_step(x, h, Wx, Wh, bx, bh):
    N, H = h.shape
    from_x = (np.einsum("nd,dk->nk", x, Wx) + bx).reshape(N, 3, H)
    from_h = (np.einsum("nj,jk->nk", h, Wh) + bh).reshape(N, 3, H)
    reset = logistic(from_x[:, 0] + from_h[:, 0])
    update = logistic(from_x[:, 1] + from_h[:, 1])
    candidate = np.tanh(from_x[:, 2] + reset * from_h[:, 2])
    return update * h + (1.0 - update) * candidate


def lstm_sequence(x, h0, Wx, Wh, b):
    state, cell, hs = h0, np.zeros_like(h0), []
    for t in range(x.shape[1]):
        state, cell = lstm_step(x[:, t], state, cell, Wx, Wh, b)
        hs.append(state)
    return np.stack(hs, axis=1)


def gru_sequence(x, h0, Wx, Wh, bx, bh):
    state, hs = h0, []
    for t in range(x.shape[1]):
        state = gru_step(x[:, t], state, Wx, Wh, bx, bh)
        hs.append(state)
    return np.stack(hs, axis=1)


def gated_inputs(rng, gates, N=3, D=4, H=5, T=None, biases=1):
    shape_x = (N, D) if T is None else (N, T, D)
    out = [rng.normal(size=shape_x), rng.normal(size=(N, H)) * 0.5,
           rng.normal(size=(D, gates * H)) * 0.4, rng.normal(size=(H, gates * H)) * 0.4]
    return out + [rng.normal(size=gates * H) * 0.2 for _ in range(biases)]


def lstm_step_forward_case(rng) -> Case:
    case = Case()
    x, h, Wx, Wh, b = gated_inputs(rng, 4)
    c = rng.normal(size=h.shape)
    case.call("hc", LSTM, "lstm_step_forward", x, h, c, Wx, Wh, b, select=[0, 1])

    def check(out):
        want_h, want_c = lstm_step(x, h, c, Wx, Wh, b)
        expect(relative(array(out["hc"][0], "next_h", h.shape), want_h) < 1e-10, "next_h")
        expect(relative(array(out["hc"][1], "next_c", h.shape), want_c) < 1e-10, "next_c")
    case.check = check
    return case


def lstm_step_backward_case(rng) -> Case:
    case = Case()
    x, h, Wx, Wh, b = gated_inputs(rng, 4)
    c = rng.normal(size=h.shape)
    up_h, up_c = rng.normal(size=h.shape), rng.normal(size=h.shape)
    _, _, cache = reference_lstm.lstm_step_forward(x, h, c, Wx, Wh, b)
    case.call("grads", LSTM, "lstm_step_backward", up_h, up_c, cache)
    inputs = [x, h, c, Wx, Wh, b]
    case.check = lambda out: check_gradients(
        out, "grads", ("dx", "dprev_h", "dprev_c", "dWx", "dWh", "db"),
        lambda: np.concatenate(lstm_step(*inputs), axis=1), inputs,
        np.concatenate([up_h, up_c], axis=1), 1e-7)
    return case


def sequence_forward_case(rng, module, function, gates, biases, expected) -> Case:
    case = Case()
    x = gated_inputs(rng, gates, N=2, D=3, H=4, T=6, biases=biases)
    case.call("h", module, function, *x, select=0)
    case.check = lambda out: expect(
        relative(array(out["h"], "h", (2, 6, 4)), expected(*x)) < 1e-10,
        "h differs from the cell's equations")
    return case


def sequence_backward_case(rng, module, function, gates, biases, forward, expected,
                           names) -> Case:
    case = Case()
    x = gated_inputs(rng, gates, N=2, D=3, H=4, T=5, biases=biases)
    upstream = rng.normal(size=(2, 5, 4))
    _, cache = forward(*x)
    case.call("grads", module, function, upstream, cache)
    case.check = lambda out: check_gradients(out, "grads", names, lambda: expected(*x), x,
                                             upstream, 1e-6)
    return case


def gru_step_forward_case(rng) -> Case:
    case, x = Case(), gated_inputs(rng, 3, biases=2)
    case.call("h", GRU, "gru_step_forward", *x, select=0)
    case.check = lambda out: expect(
        relative(array(out["h"], "next_h", x[1].shape), gru_step(*x)) < 1e-10, "next_h")
    return case


def gru_step_backward_case(rng) -> Case:
    case, x = Case(), gated_inputs(rng, 3, biases=2)
    upstream = rng.normal(size=x[1].shape)
    _, cache = reference_gru.gru_step_forward(*x)
    case.call("grads", GRU, "gru_step_backward", upstream, cache)
    case.check = lambda out: check_gradients(
        out, "grads", ("dx", "dprev_h", "dWx", "dWh", "dbx", "dbh"), lambda: gru_step(*x), x,
        upstream, 1e-7)
    return case


A2_CASES: dict[str, Callable[[np.random.Generator], Case]] = {
    "test_lstm_step_forward": lstm_step_forward_case,
    "test_lstm_step_backward": lstm_step_backward_case,
    "test_lstm_forward": lambda rng: sequence_forward_case(
        rng, LSTM, "lstm_forward", 4, 1, lstm_sequence),
    "test_lstm_backward": lambda rng: sequence_backward_case(
        rng, LSTM, "lstm_backward", 4, 1, reference_lstm.lstm_forward, lstm_sequence,
        ("dx", "dh0", "dWx", "dWh", "db")),
    "test_gru_step_forward": gru_step_forward_case,
    "test_gru_step_backward": gru_step_backward_case,
    "test_gru_forward": lambda rng: sequence_forward_case(
        rng, GRU, "gru_forward", 3, 2, gru_sequence),
    "test_gru_backward": lambda rng: sequence_backward_case(
        rng, GRU, "gru_backward", 3, 2, reference_gru.gru_forward, gru_sequence,
        ("dx", "dh0", "dWx", "dWh", "dbx", "dbh")),
}

# assignments graded here (the others run their graded tests in the child)
JUDGED = {"a1_rnn": CASES, "a2_gated": A2_CASES}
