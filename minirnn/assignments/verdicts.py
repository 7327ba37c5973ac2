"""The graded questions of every assignment, judged in the grader's own process.

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

    def program(self, name: str, program: str, **inputs) -> None:
        """A call of one of the child's programs (models and step functions cannot travel as
        arrays); its inputs are stored under ``<name>__<key>``."""
        self.arrays.update({f"{name}__{k}": np.asarray(v) for k, v in inputs.items()})
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
    direction (four forward passes of the grader's equations), so it costs the grader little.

    `cache` comes from the reference forward pass; returns the check of the call's result."""
    case.call(name, module, function, *upstream, cache)
    directions = [rng.normal(size=x.shape) for x in inputs]
    norm = np.sqrt(sum(float(np.sum(v * v)) for v in directions))
    directions = [v / norm for v in directions]  # one unit step moves all inputs together

    def check(out):
        grads = out[name]
        expect(isinstance(grads, (tuple, list)) and len(grads) == len(labels),
               f"expected {len(labels)} gradients ({', '.join(labels)}) on the large case")
        got = sum(float(np.sum(array(g, label, x.shape) * v))
                  for g, label, x, v in zip(grads, labels, inputs, directions))
        h, saved = 1e-3, [x.copy() for x in inputs]
        weight = np.concatenate([u.ravel() for u in upstream])

        def loss(sign):
            for x, x0, v in zip(inputs, saved, directions):
                x[...] = x0 + sign * h * v
            terms = np.ravel(f()) * weight
            return float(np.sum(terms)), float(np.sum(np.abs(terms)))

        # the five-point stencil: its error is O(h^4) (about 1e-12 here), so rounding decides
        (p2, _), (p1, size), (m1, _), (m2, _) = loss(2), loss(1), loss(-1), loss(-2)
        want = (-p2 + 8 * p1 - 8 * m1 + m2) / (12 * h)
        for x, x0 in zip(inputs, saved):
            x[...] = x0
        tolerance = 1e-6 * max(1.0, abs(want)) + 1e-13 * size / h  # and the sums' rounding
        expect(abs(got - want) <= tolerance,
               f"on the large case the gradients disagree with the loss's slope "
               f"({got:.8g} vs {want:.8g})")
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
    names = ("dx", "dprev_h", "dprev_c", "dWx", "dWh", "db")
    bx, bh, bWx, bWh, bb = big_inputs(rng, 4, 128, 96, 96)
    big = [bx, bh, rng.normal(size=bh.shape), bWx, bWh, bb]
    big_up = [rng.normal(size=bh.shape), rng.normal(size=bh.shape)]
    big_check = big_backward(
        case, rng, "big", LSTM, "lstm_step_backward", big, big_up,
        reference_lstm.lstm_step_forward(*big)[2],
        lambda: np.concatenate([a.ravel() for a in lstm_step(*big)]), names)
    case.check = with_big(lambda out: check_gradients(
        out, "grads", names, lambda: np.concatenate(lstm_step(*inputs), axis=1), inputs,
        np.concatenate([up_h, up_c], axis=1), 1e-7), big_check)
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
    big = big_inputs(rng, gates, 16, 64, 64, T=32, biases=biases)
    big_up = rng.normal(size=(16, 32, 64))
    big_check = big_backward(case, rng, "big", module, function, big, [big_up],
                             forward(*big)[1], lambda: expected(*big), names)
    case.check = with_big(lambda out: check_gradients(
        out, "grads", names, lambda: expected(*x), x, upstream, 1e-6), big_check)
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
    names = ("dx", "dprev_h", "dWx", "dWh", "dbx", "dbh")
    big = big_inputs(rng, 3, 128, 96, 96, biases=2)
    big_up = rng.normal(size=(128, 96))
    big_check = big_backward(case, rng, "big", GRU, "gru_step_backward", big, [big_up],
                             reference_gru.gru_step_forward(*big)[1], lambda: gru_step(*big),
                             names)
    case.check = with_big(lambda out: check_gradients(
        out, "grads", names, lambda: gru_step(*x), x, upstream, 1e-7), big_check)
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



# -- A3: image captioning (PyTorch) --------------------------------------------------------------
# The child builds the student's model and returns its weights and outputs; the grader loads the
# weights into its own reference model and compares. Sizes as in the students' copy of the tests.
VOCAB, CAPTION_SIZES = 12, {"vocab": 12, "hidden": 12, "embed": 6}
CONDITIONS, CELLS = ("h0", "first_input", "every_step"), ("lstm", "gru")


def reference_captioner(condition: int, cell: int, state: dict | None = None, seed: int = 0):
    """The grader's own CaptioningModel, with `state` (arrays) loaded when given."""
    import torch

    from minirnn.torch.models import CaptioningModel, ShapesEncoder

    torch.manual_seed(seed)
    model = CaptioningModel(VOCAB, ShapesEncoder(feature_size=16), CAPTION_SIZES["hidden"],
                            CAPTION_SIZES["embed"], cell=CELLS[cell],
                            condition=CONDITIONS[condition], backend="torch")
    if state is not None:
        expect(isinstance(state, dict), "the model's weights did not come back")
        want = model.state_dict()
        expect(set(state) == set(want), f"the model's parameters are "
                                        f"{sorted(set(state) ^ set(want))[:4]} off")
        model.load_state_dict({k: torch.from_numpy(np.array(
            array(state[k], k, tuple(want[k].shape)), dtype=np.float32)) for k in want})
    model.eval()
    return model


def close(got, want, name: str, atol: float = 1e-5) -> None:
    got = array(got, name, tuple(want.shape))
    expect(np.allclose(got, want, atol=atol, rtol=1e-4),
           f"{name} differs from the reference by {np.max(np.abs(got - want)):.2e}")


def caption_inputs(rng, n: int = 3) -> tuple[np.ndarray, np.ndarray]:
    images = rng.random((n, 3, 32, 32)).astype(np.float32)
    words = rng.integers(3, VOCAB, (n, 5))
    words[:, 0] = 1  # <bos>
    return images, words


def captioning_case(rng, conditions: tuple[int, ...], decoding: bool = False) -> Case:
    """The student's model, for each condition and cell, on random images: its logits (and, with
    `decoding`, the first step through start/step and greedy captions) against the reference
    model with the same weights."""
    import torch

    case, runs = Case(), []
    for condition in conditions:
        for cell in (0, 1):
            images, words = caption_inputs(rng)
            name = f"{CONDITIONS[condition]}_{CELLS[cell]}"
            case.program(name, "captioning_outputs", seed=int(rng.integers(1 << 30)),
                         cell=cell, condition=condition, images=images, words=words,
                         **CAPTION_SIZES)
            runs.append((name, condition, cell, images, words))

    def check(out):
        for name, condition, cell, images, words in runs:
            got = out[name]
            model = reference_captioner(condition, cell, got.get("state"))
            x, w = torch.from_numpy(images), torch.from_numpy(words)
            with torch.no_grad():
                close(got.get("logits"), model(x, w).numpy(), f"{name}: the logits")
                if decoding:
                    p, state = model.start(x)
                    first, _ = model.step(w[:, 0], (state, p[None]))
                    close(got.get("first"), first.numpy(), f"{name}: the first decoding step")
            if decoding:
                want = [list(c) for c in model.caption(x[:2], max_len=4)]
                captions = array(got.get("captions"), f"{name}: captions")
                got_captions = [[int(i) for i in row if i >= 0] for row in captions]
                expect(got_captions == want, f"{name}: greedy captions {got_captions}, "
                                             f"expected {want}")
    case.check = check
    return case


def four_squares(brightness: float = 1.0) -> np.ndarray:
    """Four images, each a bright square in a different quarter."""
    images = np.zeros((4, 3, 32, 32), dtype=np.float32)
    for k in range(4):
        images[k, :, 16 * (k // 2):16 * (k // 2) + 16, 16 * (k % 2):16 * (k % 2) + 16] = (
            brightness)
    return images


def captioning_training_case(rng) -> Case:
    """Trained by the child (Adam, 200 steps) on four images; scored here on the same four
    squares dimmed and with noise the child never saw."""
    import torch

    case = Case()
    captions = np.array([[1, 3 + k, 7 + k, 2] for k in range(4)])  # <bos> a b <eos>
    for condition in (0, 2):
        case.program(CONDITIONS[condition], "captioning_training", seed=1, cell=0,
                     condition=condition, images=four_squares(), captions=captions,
                     steps=200, lr=3e-2, **CAPTION_SIZES)
    unseen = four_squares(0.9) + rng.normal(0, 0.03, (4, 3, 32, 32)).astype(np.float32)

    def check(out):
        x, c = torch.from_numpy(four_squares()), torch.from_numpy(captions)
        for condition in (0, 2):
            name = CONDITIONS[condition]
            before = reference_captioner(condition, 0, seed=1)
            after = reference_captioner(condition, 0, out[name].get("state"))
            with torch.no_grad():
                first = before.loss(x, c[:, :-1], c[:, 1:]).item()
                last = after.loss(x, c[:, :-1], c[:, 1:]).item()
            expect(last < 0.1 * first, f"{name}: the loss fell from {first:.3f} to {last:.3f} "
                                       f"only, not below a tenth")
            got = after.caption(torch.from_numpy(unseen))
            expect(got == [[3 + k, 7 + k] for k in range(4)],
                   f"{name}: captions of the unseen images are {got}")
    case.check = check
    return case


A3_CASES: dict[str, Callable[[np.random.Generator], Case]] = {
    "test_v_as_initial_state": lambda rng: captioning_case(rng, (0,)),
    "test_v_as_first_input": lambda rng: captioning_case(rng, (1,)),
    "test_v_at_every_step": lambda rng: captioning_case(rng, (2,)),
    "test_decoding_uses_the_same_conditioning": lambda rng: captioning_case(rng, (0, 1, 2),
                                                                            decoding=True),
    "test_a_small_model_learns_to_caption": captioning_training_case,
}


# -- A4: truncated-BPTT batches, sampling, beam search (PyTorch) ---------------------------------
def tbptt_case(rng) -> Case:
    from minirnn.data.text import TBPTTBatcher

    case = Case()
    ids = rng.integers(0, 60, size=int(rng.integers(90, 140)))
    size, length = int(rng.integers(2, 5)), int(rng.integers(3, 7))
    per_epoch = (len(ids) - 1) // 2 // size // length  # of the two-rank batchers, the smaller
    batches = max(per_epoch, 1) + 2
    case.program("b", "tbptt_batches", ids=ids, batch_size=size, seq_len=length,
                 batches=batches)

    def check(out):
        got = out["b"]
        for key, rank, world in (("one", 0, 1), ("rank0", 0, 2), ("rank1", 1, 2)):
            batcher = TBPTTBatcher(ids, size, length, rank=rank, world_size=world)
            want = [batcher.next_batch() for _ in range(batches)]
            part = got[key]
            expect(int(array(part["per_epoch"], "batches_per_epoch")) ==
                   batcher.batches_per_epoch, f"{key}: batches_per_epoch")
            for name, k in (("x", 0), ("y", 1)):
                stacked = np.stack([np.asarray(w[k]) for w in want])
                expect(np.array_equal(array(part[name], f"{key}: {name}", stacked.shape),
                                      stacked), f"{key}: the batches' {name} differ")
            flags = [bool(w[2]) for w in want]
            expect([bool(f) for f in np.asarray(part["new_epoch"])] == flags,
                   f"{key}: the new-epoch flags differ")
    case.check = check
    return case


def decoding_inputs(rng) -> dict:
    V = 6
    return {"logits": rng.normal(size=(3, V)).astype(np.float32), "ks": [1, 3, V],
            "row": (rng.normal(size=V) * 1.2).astype(np.float32),
            "seed": int(rng.integers(1 << 30))}


def filter_top_k_case(rng) -> Case:
    import torch

    from minirnn.torch.decode import filter_top_k

    case, inputs = Case(), decoding_inputs(rng)
    case.program("d", "decoding", part=0, **inputs)

    def check(out):
        logits = torch.from_numpy(inputs["logits"])
        for k, got in zip(inputs["ks"], out["d"]["top_k"]):
            want = filter_top_k(logits, k).numpy()
            expect(np.array_equal(array(got, f"top {k}", want.shape), want),
                   f"filter_top_k(logits, {k}) differs")
        expect(np.array_equal(array(out["d"]["top_k_none"], "top None", logits.shape),
                              logits.numpy()), "filter_top_k(logits, None) changed the logits")
    case.check = check
    return case


def frequencies_match(ids: np.ndarray, probs: np.ndarray, label: str) -> None:
    ids = array(ids, label).astype(np.int64).ravel()
    expect(ids.min() >= 0 and ids.max() < len(probs), f"{label}: ids outside the vocabulary")
    freq = np.bincount(ids, minlength=len(probs)) / len(ids)
    tolerance = 5 * np.sqrt(0.25 / len(ids))  # five standard deviations at worst
    expect(np.all(np.abs(freq - probs) < tolerance),
           f"{label}: frequencies {np.round(freq, 3)} where {np.round(probs, 3)} were expected")


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()


def sampling_case(rng, top_k: bool) -> Case:
    """Sampling from a constant row of logits (4,000 draws, two steps each) at several
    temperatures, or with top-k; without top-k also a chain whose every step has one likely
    successor, so each step must feed back the token just drawn."""
    case, inputs = Case(), decoding_inputs(rng)
    V = len(inputs["row"])
    temperatures = [1.0] if top_k else list(rng.permutation([0.5, 1.0, 2.0]))
    tops = [int(rng.integers(2, 4))] if top_k else [-1] * 3
    successor = rng.permutation(V)
    chain = np.full((V, V), -40.0, dtype=np.float32)
    chain[np.arange(V), successor] = 0.0
    case.program("d", "decoding", part=2 if top_k else 1, draws=4000,
                 temperatures=np.array(temperatures), tops=np.array(tops), chain=chain,
                 chain_length=8, **inputs)

    def check(out):
        for (t, k), ids in zip(zip(temperatures, tops), out["d"]["samples"]):
            z = inputs["row"].astype(np.float64) / t
            if k > 0:
                kept = np.argsort(-z)[:k]
                z = np.where(np.isin(np.arange(V), kept), z, -np.inf)
            frequencies_match(ids, softmax(z), f"temperature {t:g}, top_k {k if k > 0 else None}")
        if not top_k:
            ids = array(out["d"]["chain"], "the chain's ids", (3, 8)).astype(np.int64)
            want = [int(successor[0])]
            for _ in range(7):
                want.append(int(successor[want[-1]]))
            expect(all(list(row) == want for row in ids.tolist()),
                   "each sampled token must be fed back as the next step's input")
    case.check = check
    return case


def table_step(table):
    """A decoding step whose logits depend on the last token only: table[tokens]."""
    def step(tokens, state):
        return table[tokens], state
    return step


def beam_table(rng, V: int = 4, length: int = 3):
    """Log-probabilities (V, V) of a next-token table on which greedy decoding misses the most
    likely sequence of `length` tokens."""
    import torch

    from minirnn.torch.decode import beam_search

    start = torch.zeros(1, dtype=torch.long)
    while True:
        table = torch.log_softmax(torch.from_numpy(rng.normal(size=(V, V)) * 2.0), -1).float()
        step = table_step(table)
        if beam_search(step, start, None, length, 1)[0] != beam_search(
                step, start, None, length, V)[0]:
            return table.numpy(), step


def beam_case(rng) -> Case:
    import torch

    from minirnn.torch.decode import beam_search

    case = Case()
    table, step = beam_table(rng)
    beams = np.array([[1, 3, -1], [2, 3, -1], [4, 3, -1], [3, 5, 0]])
    case.program("d", "decoding", part=3, table=table, beams=beams, **decoding_inputs(rng))

    def check(out):
        got = out["d"]["beams"]
        expect(isinstance(got, list) and len(got) == len(beams), "beam_search returned nothing")
        for (width, length, eos), result in zip(beams, got):
            ids, log_prob = beam_search(step, torch.zeros(1, dtype=torch.long), None,
                                        int(length), int(width),
                                        eos=int(eos) if eos >= 0 else None)
            label = f"beam width {width}, length {length}" + (f", eos {eos}" if eos >= 0 else "")
            got_ids = [int(i) for i in array(result["ids"], label)]
            expect(got_ids == [int(i) for i in ids], f"{label}: ids {got_ids}, expected {ids}")
            expect(abs(float(result["log_prob"]) - log_prob) < 1e-4,
                   f"{label}: log-probability {float(result['log_prob']):.5f}, expected "
                   f"{log_prob:.5f}")
    case.check = check
    return case


A4_CASES: dict[str, Callable[[np.random.Generator], Case]] = {
    "test_tbptt_batches_continue_their_streams": tbptt_case,
    "test_filter_top_k": filter_top_k_case,
    "test_sampling_follows_softmax_over_temperature": lambda rng: sampling_case(rng, False),
    "test_sampling_with_top_k": lambda rng: sampling_case(rng, True),
    "test_beam_search_finds_what_greedy_misses": beam_case,
}

# every assignment is judged here; the graded tests the students receive are for their own checks
# (the later assignments' verdicts live in verdicts_<name>.py, which import the helpers above:
# import them through this module, never first)
from minirnn.assignments import verdicts_a5, verdicts_a6, verdicts_a7, verdicts_a8  # noqa: E402

JUDGED = {"a1_rnn": CASES, "a2_gated": A2_CASES, "a3_captioning": A3_CASES,
          "a4_charlm": A4_CASES, "a5_dynamics": verdicts_a5.CASES,
          "a6_bidirectional": verdicts_a6.CASES, "a7_scan": verdicts_a7.CASES,
          "a8_debugging": verdicts_a8.CASES}
