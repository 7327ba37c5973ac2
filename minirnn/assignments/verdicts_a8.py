"""A8 (debugging RNNs): the grader's checks, each the check a practitioner uses to catch the bug.

The child calls the student's functions on inputs drawn here and returns raw arrays; every
expected value is computed in this file from the equations (NumPy), or with torch's autograd
on a model written out here, never with the student's package: a gradient check (embedding,
BPTT), a value check at large scores (softmax), invariance to padding (the loss), parity with
a reference (independent sequences, LSTM weights, bidirectional summary), a shape assert with
N != T (batch_first), a bound on the update (clipping) and autograd's live saved bytes per chunk
(truncated BPTT).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

LAYERS, LOOPS = "minirnn.debugging.layers", "minirnn.debugging.loops"
KEYS = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")


def rnn_params(rng, D: int, H: int, reverse: bool = False, head: bool = False) -> dict:
    """torch-named weights of a tanh RNN (scaled so the states stay lively)."""
    p = {}
    for suffix in ("", "_reverse") if reverse else ("",):
        p["weight_ih_l0" + suffix] = rng.normal(size=(H, D)) / np.sqrt(D)
        p["weight_hh_l0" + suffix] = rng.normal(size=(H, H)) * 0.9 / np.sqrt(H)
        p["bias_ih_l0" + suffix] = rng.normal(size=H) * 0.1
        p["bias_hh_l0" + suffix] = rng.normal(size=H) * 0.1
    if head:
        p["head_weight"], p["head_bias"] = rng.normal(size=(1, H)) / np.sqrt(H), np.zeros(1)
    return p


def run_rnn(p: dict, x: np.ndarray, suffix: str = "", h=None) -> np.ndarray:
    """States (N, T, H) of torch's tanh RNN over x (N, T, D), from h (zeros by default)."""
    W, U = p["weight_ih_l0" + suffix], p["weight_hh_l0" + suffix]
    b = p["bias_ih_l0" + suffix] + p["bias_hh_l0" + suffix]
    h = np.zeros((x.shape[0], U.shape[0])) if h is None else h
    hs = []
    for t in range(x.shape[1]):
        h = np.tanh(np.einsum("nd,hd->nh", x[:, t], W) + np.einsum("nk,hk->nh", h, U) + b)
        hs.append(h)
    return np.stack(hs, axis=1)


# -- NumPy layers ---------------------------------------------------------------------------------
def embedding_backward_case(rng) -> Case:
    case, V, D = Case(), 6, 3
    ids = rng.integers(0, V, size=(4, 5))
    ids[0, :3] = ids[1, 0]  # a word that occurs several times, in one row and across rows
    W, dout = rng.normal(size=(V, D)), rng.normal(size=(4, 5, D))
    case.call("dW", LAYERS, "embedding_backward", dout, ids, V)

    def check(out):  # the gradient check: W[ids] is linear in W, so differences are exact
        got = array(out["dW"], "dW", (V, D))
        want = numeric_gradient(lambda: W[ids], W, dout)
        expect(scaled(got, want) < 1e-7, f"dW fails the gradient check by {scaled(got, want):.1e}"
               " (a word that occurs several times)")
    case.check = check
    return case


def rnn_backward_case(rng) -> Case:
    case = Case()
    x, h0 = rng.normal(size=(2, 6, 3)), rng.normal(size=(2, 4)) * 0.5
    Wx, Wh, b = rng.normal(size=(3, 4)) * 0.5, rng.normal(size=(4, 4)) * 0.5, rng.normal(size=4)
    inputs = [x, h0, Wx, Wh, b]
    upstream = rng.normal(size=(2, 6, 4))
    case.call("grads", LAYERS, "rnn_backward", upstream, (x, h0, Wx, Wh, sequence(*inputs)))
    names = ("dx", "dh0", "dWx", "dWh", "db")
    big = big_inputs(rng, 1, 16, 64, 128, T=24)
    big_up = rng.normal(size=(16, 24, 128))
    big_check = big_backward(case, rng, "big", LAYERS, "rnn_backward", big, [big_up],
                             (*big[:4], sequence(*big)), lambda: sequence(*big), names)
    case.check = with_big(lambda out: check_gradients(
        out, "grads", names, lambda: sequence(*inputs), inputs, upstream, 1e-6), big_check)
    return case


def softmax_reference(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_case(rng) -> Case:
    case = Case()
    small = rng.normal(size=(3, 5))
    large = rng.normal(size=(2, 4, 6)) * 5 + rng.choice([-1.0, 1.0], size=(2, 4, 1)) * 800
    case.call("small", LAYERS, "softmax", small)
    case.call("large", LAYERS, "softmax", large)

    def check(out):
        for name, z in (("small", small), ("large", large)):
            got = array(out[name], f"softmax ({name} scores)", z.shape)
            expect(bool(np.all(np.isfinite(got))), f"softmax of {name} scores (|s| near "
                   f"{np.abs(z).max():.0f}) is not finite: it overflowed")
            expect(relative(got, softmax_reference(z)) < 1e-9, f"softmax ({name} scores)")
    case.check = check
    return case


def sequence_loss_reference(scores, targets, mask):
    probs = softmax_reference(scores)
    n, t = np.indices(targets.shape)
    w = mask / mask.sum()
    dscores = probs.copy()
    dscores[n, t, targets] -= 1.0
    return -float(np.sum(w * np.log(probs[n, t, targets]))), dscores * w[..., None]


def sequence_loss_case(rng) -> Case:
    case, (N, T, V) = Case(), (3, 6, 5)
    scores, targets = rng.normal(size=(N, T, V)), rng.integers(1, V, size=(N, T))
    lengths = np.array([6, 4, 2])
    mask = np.arange(T)[None] < lengths[:, None]
    other = np.where(mask[..., None], scores, rng.normal(size=scores.shape) * 3)
    case.call("loss", LAYERS, "sequence_loss", scores, np.where(mask, targets, 0), mask)
    case.call("repadded", LAYERS, "sequence_loss", other, targets, mask)

    def check(out):  # the practitioner's check: the padding's contents change nothing
        want, dwant = sequence_loss_reference(scores, targets, mask)
        for name in ("loss", "repadded"):
            expect(isinstance(out[name], (tuple, list)) and len(out[name]) == 2,
                   f"{name}: expected (loss, dscores)")
            loss, dscores = out[name]
            expect(abs(float(array(loss, "loss")) - want) < 1e-9 * max(1.0, abs(want)),
                   f"the loss ({float(array(loss, 'loss')):.6f}) is not the mean over real "
                   f"tokens ({want:.6f}), or it changes with the padding")
            expect(relative(array(dscores, "dscores", scores.shape), dwant) < 1e-8,
                   "dscores is wrong (it must be zero at padding)")
    case.check = check
    return case


# -- PyTorch loops --------------------------------------------------------------------------------
def tbptt_reference(p: dict, x: np.ndarray, y: np.ndarray, chunk: int) -> dict:
    """Gradients of the summed chunk losses, each chunk's graph starting at its first state."""
    import torch

    t = {k: torch.tensor(v, requires_grad=True) for k, v in p.items()}
    xs, ys = torch.from_numpy(x), torch.from_numpy(y)
    h = torch.zeros(x.shape[0], p["weight_hh_l0"].shape[0], dtype=torch.float64)
    total = 0.0
    for start in range(0, x.shape[1], chunk):
        h, outs = h.detach(), []
        for s in range(start, min(start + chunk, x.shape[1])):
            h = torch.tanh(xs[:, s] @ t["weight_ih_l0"].T + t["bias_ih_l0"]
                           + h @ t["weight_hh_l0"].T + t["bias_hh_l0"])
            outs.append(h @ t["head_weight"].T + t["head_bias"])
        total = total + ((torch.cat(outs, 1) - ys[:, start:start + chunk]) ** 2).mean()
    total.backward()
    return {k: v.grad.numpy() for k, v in t.items()}


def tbptt_case(rng) -> Case:
    case, (N, T, D, H, chunk) = Case(), (3, 24, 3, 8, 4)
    p = rnn_params(rng, D, H, head=True)
    x, y = rng.normal(size=(N, T, D)), rng.normal(size=(N, T))
    case.program("tbptt", "tbptt_memory", x=x, y=y, chunk=chunk,
                 **{f"p_{k}": v for k, v in p.items()})

    def check(out):
        result = out["tbptt"]
        expect(isinstance(result, dict) and {"grads", "alive"} <= set(result),
               "expected the gradients and the saved bytes")
        alive = array(result["alive"], "saved bytes per chunk", (T // chunk,))
        expect(alive[-1] <= alive[0], f"autograd keeps more saved bytes after every chunk "
               f"({int(alive[0])} after the first, {int(alive[-1])} after the last): the earlier "
               "chunks' graphs are still held")
        want = tbptt_reference(p, x, y, chunk)
        for k, w in want.items():
            got = array(result["grads"].get(k), f"gradient of {k}", w.shape)
            expect(relative(got, w) < 1e-8, f"the gradient of {k} is not truncated BPTT's")
    case.check = check
    return case


def encode_each_case(rng) -> Case:
    case, D, H = Case(), 3, 5
    p = rnn_params(rng, D, H)
    sequences = [rng.normal(size=(T, D)) for T in (4, 7, 3, 5)]
    case.call("finals", LOOPS, "encode_each", p, sequences)

    def check(out):  # parity: each sequence encoded on its own, from the zero state
        got = array(out["finals"], "final states", (4, H))
        for k, seq in enumerate(sequences):
            want = run_rnn(p, seq[None])[0, -1]
            expect(relative(got[k], want) < 1e-9, f"sequence {k}'s final state is not what it "
                   "gives on its own: a state leaks from the sequence before it")
    case.check = check
    return case


def lstm_cs231n(x, Wx, Wh, b):
    """States (N, T, H) of an LSTM with CS231n's layout: gates i, f, o, g, row vectors."""
    H = Wh.shape[0]
    h = c = np.zeros((x.shape[0], H))
    hs = []
    for t in range(x.shape[1]):
        a = x[:, t] @ Wx + h @ Wh + b
        i, f, o = (1 / (1 + np.exp(-a[:, k * H:(k + 1) * H])) for k in range(3))
        c = f * c + i * np.tanh(a[:, 3 * H:])
        h = o * np.tanh(c)
        hs.append(h)
    return np.stack(hs, axis=1)


def lstm_case(rng) -> Case:
    import torch

    case, D, H = Case(), 3, 4
    Wx, Wh = rng.normal(size=(D, 4 * H)) * 0.6, rng.normal(size=(H, 4 * H)) * 0.6
    b = rng.normal(size=4 * H) * 0.5
    case.call("state", LOOPS, "lstm_from_cs231n", Wx, Wh, b)
    x = rng.normal(size=(2, 5, D))

    def check(out):  # parity: torch's LSTM with the loaded weights gives the original's states
        state = out["state"]
        shapes = {"weight_ih_l0": (4 * H, D), "weight_hh_l0": (4 * H, H), "bias_ih_l0": (4 * H,),
                  "bias_hh_l0": (4 * H,)}
        expect(isinstance(state, dict) and set(state) == set(shapes),
               f"expected a state dict with {sorted(shapes)}")
        lstm = torch.nn.LSTM(D, H, batch_first=True).double()
        lstm.load_state_dict({k: torch.from_numpy(array(state[k], k, s)) for k, s in
                              shapes.items()})
        with torch.no_grad():
            got = lstm(torch.from_numpy(x))[0].numpy()
        expect(relative(got, lstm_cs231n(x, Wx, Wh, b)) < 1e-9, "torch's LSTM with these "
               "weights does not reproduce the CS231n LSTM's states")
    case.check = check
    return case


def final_states_case(rng) -> Case:
    case, (N, T, D, H) = Case(), (3, 5, 2, 4)  # N != T: swapped axes cannot keep the shape
    p, x = rnn_params(rng, D, H), rng.normal(size=(N, T, D))
    case.call("h", LOOPS, "final_states", p, x)

    def check(out):
        got = array(out["h"], f"final states of a batch of {N} sequences of {T} steps", (N, H))
        expect(relative(got, run_rnn(p, x)[:, -1]) < 1e-9, "the final states are wrong")
    case.check = check
    return case


def clipping_reference(p, x, y, lr, max_norm):
    import torch

    t = {k: torch.tensor(v, requires_grad=True) for k, v in p.items()}
    xs, h, outs = torch.from_numpy(x), torch.zeros(x.shape[0], p["weight_hh_l0"].shape[0],
                                                   dtype=torch.float64), []
    for s in range(x.shape[1]):
        h = torch.tanh(xs[:, s] @ t["weight_ih_l0"].T + t["bias_ih_l0"]
                       + h @ t["weight_hh_l0"].T + t["bias_hh_l0"])
        outs.append(h @ t["head_weight"].T + t["head_bias"])
    ((torch.cat(outs, 1) - torch.from_numpy(y)) ** 2).mean().backward()
    grads = {k: v.grad.numpy() for k, v in t.items()}
    norm = float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))
    scale = min(1.0, max_norm / (norm + 1e-6))
    return {k: p[k] - lr * scale * g for k, g in grads.items()}, norm


def clipping_case(rng) -> Case:
    case, (N, T, D, H) = Case(), (3, 6, 3, 5)
    p = rnn_params(rng, D, H, head=True)
    x, y = rng.normal(size=(N, T, D)), rng.normal(size=(N, T)) * 20  # gradients far past the
    lr, max_norm = 0.1, 1.0                                           # clipping threshold
    case.call("step", LOOPS, "clipped_sgd_step", p, x, y, lr, max_norm)

    def check(out):
        want, norm = clipping_reference(p, x, y, lr, max_norm)
        expect(isinstance(out["step"], (tuple, list)) and len(out["step"]) == 2,
               "expected (new params, norm)")
        new, got_norm = out["step"]
        expect(isinstance(new, dict) and set(new) == set(want), f"expected {sorted(want)}")
        step = np.sqrt(sum(np.sum((array(new[k], k, p[k].shape) - p[k]) ** 2) for k in p))
        expect(step <= lr * max_norm * (1 + 1e-6), f"the update's norm {step:.4g} exceeds "
               f"lr * max_norm = {lr * max_norm:.4g}: the step used unclipped gradients")
        for k in want:
            expect(relative(array(new[k], k), want[k]) < 1e-8, f"the new {k} is wrong")
        expect(abs(float(array(got_norm, "norm")) - norm) < 1e-8 * norm,
               "the norm returned is not the gradients' norm before clipping")
    case.check = check
    return case


def bidirectional_case(rng) -> Case:
    case, (N, T, D, H) = Case(), (3, 6, 2, 4)
    p, x = rnn_params(rng, D, H, reverse=True), rng.normal(size=(N, T, D))
    case.call("summary", LOOPS, "bidirectional_summary", p, x)

    def check(out):  # each half is its direction's state after reading all T tokens
        got = array(out["summary"], "summary", (N, 2 * H))
        forward = run_rnn(p, x)[:, -1]
        backward = run_rnn(p, x[:, ::-1], "_reverse")[:, -1]
        expect(relative(got[:, :H], forward) < 1e-9, "the forward half is wrong")
        expect(relative(got[:, H:], backward) < 1e-9, "the backward half is not the backward "
               "direction's state after the whole sequence (it has read one token)")
    case.check = check
    return case


CASES: dict[str, Callable[[np.random.Generator], Case]] = {
    "test_embedding_backward_repeated_words": embedding_backward_case,
    "test_rnn_backward_gradient_check": rnn_backward_case,
    "test_softmax_large_scores": softmax_case,
    "test_sequence_loss_ignores_padding": sequence_loss_case,
    "test_tbptt_memory_stays_flat": tbptt_case,
    "test_independent_sequences": encode_each_case,
    "test_lstm_weights_match_torch": lstm_case,
    "test_final_states_batch_first": final_states_case,
    "test_clipping_bounds_the_update": clipping_case,
    "test_bidirectional_summary": bidirectional_case,
}

# verdicts.py registers CASES in its JUDGED: importing its helpers last (CASES defined first)
# lets either module be imported first
from minirnn.assignments.verdicts import (  # noqa: E402
    Case,
    array,
    big_backward,
    big_inputs,
    check_gradients,
    expect,
    numeric_gradient,
    relative,
    scaled,
    sequence,
    with_big,
)
