"""A6's graded questions, judged in the grader (see verdicts.py for the scheme).

NumPy part: the student's reverse_index, bidirectional_forward and bidirectional_backward run
on the given diagonal cell (minirnn.numpy.diagonal) over ragged batches; the expected outputs
come from a loop over each sequence written out here (the backward direction reads
x[n, L-1], ..., x[n, 0] with L = lengths[n]), gradients from centred differences of that loop,
and the backward's caches from the grader's reference forward pass. A large case on top.

PyTorch part: the child builds the student's GRU module (``gru_module`` in _child.py, torch's
own GRU out of reach there) and returns its state dict, outputs and gradients; the grader loads
the state dict into ``torch.nn.GRU`` and compares.

Imported by verdicts.py (JUDGED), after the helpers it takes from there: import verdicts first.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from minirnn.assignments.verdicts import (
    Case,
    array,
    big_backward,
    check_gradients,
    expect,
    relative,
    scaled,
)
from minirnn.numpy import bidirectional as reference

BI = "minirnn.numpy.bidirectional"
LABELS = ("dx", "dh0", "dWx (forward)", "du (forward)", "db (forward)",
          "dWx (backward)", "du (backward)", "db (backward)")


def ragged(rng, N, T) -> np.ndarray:
    """(N,) lengths in [1, T], unsorted, one of them T and one shorter than T."""
    lengths = rng.integers(1, T + 1, size=N)
    lengths[rng.integers(N)] = T
    lengths[rng.integers(N)] = rng.integers(1, T)
    return lengths.astype(np.int64)


def diagonal_inputs(rng, N, T, D, H) -> list[np.ndarray]:
    """[x, h0 (2, N, H), Wx, u, b of the forward direction, Wx, u, b of the backward one]."""
    out = [rng.normal(size=(N, T, D)), rng.normal(size=(2, N, H)) * 0.5]
    for _ in range(2):
        out += [rng.normal(size=(D, H)) / np.sqrt(D), rng.uniform(-0.9, 0.9, size=H),
                rng.normal(size=H) * 0.1]
    return out


def expected(x, h0, Wx_f, u_f, b_f, Wx_b, u_b, b_b, lengths) -> np.ndarray:
    """(N, T, 2H) written out per sequence: each direction over its own real steps only."""
    N, T, _ = x.shape
    H = u_f.shape[0]
    out = np.zeros((N, T, 2 * H))
    for n in range(N):
        L = int(lengths[n])
        for steps, (Wx, u, b), half in ((range(L), (Wx_f, u_f, b_f), 0),
                                        (reversed(range(L)), (Wx_b, u_b, b_b), 1)):
            h = h0[half, n]
            for t in steps:
                h = np.tanh(x[n, t] @ Wx + u * h + b)
                out[n, t, half * H:(half + 1) * H] = h
    return out


def leaves(tree) -> list:
    """The arrays of (dx, dh0, (dWx, du, db), (dWx, du, db)) in order; anything else as it is."""
    if isinstance(tree, (tuple, list)):
        return [leaf for item in tree for leaf in leaves(item)]
    return [tree]


def reverse_index_case(rng) -> Case:
    case, N, T = Case(), 5, 7
    lengths = ragged(rng, N, T)
    case.call("ragged", BI, "reverse_index", lengths, N, T)
    case.call("full", BI, "reverse_index", None, 3, 4)

    def check(out):
        got = array(out["ragged"], "reverse_index(lengths, N, T)", (N, T))
        for n, L in enumerate(lengths):
            want = [*range(L - 1, -1, -1), *range(L, T)]
            expect(got[n].tolist() == want, f"row {n} (length {L}) is {got[n].tolist()}, "
                                            f"expected {want}")
        got = array(out["full"], "reverse_index(None, 3, 4)", (3, 4))
        expect(bool(np.all(got == [3, 2, 1, 0])), "without lengths every row is T-1, ..., 0")
    case.check = check
    return case


def bidirectional_forward_case(rng) -> Case:
    case, (N, T, D, H) = Case(), (4, 6, 3, 5)
    x = diagonal_inputs(rng, N, T, D, H)
    lengths = ragged(rng, N, T)
    weights = {"forward_params": tuple(x[2:5]), "backward_params": tuple(x[5:8])}
    case.call("ragged", BI, "bidirectional_forward", x[0], x[1], **weights, cell="diagonal",
              lengths=lengths, select=0)
    case.call("full", BI, "bidirectional_forward", x[0], x[1], **weights, cell="diagonal",
              select=0)

    def check(out):
        got = array(out["full"], "h (no lengths)", (N, T, 2 * H))
        want = expected(*x, np.full(N, T))
        expect(relative(got[..., :H], want[..., :H]) < 1e-10, "the forward half is wrong")
        expect(relative(got, want) < 1e-10, "the backward half is wrong (without lengths)")
        got = array(out["ragged"], "h (ragged)", (N, T, 2 * H))
        padded = np.arange(T)[None, :] >= lengths[:, None]
        expect(bool(np.all(got[padded] == 0)), "padded steps must output zeros")
        want = expected(*x, lengths)
        expect(relative(got, want) < 1e-10, "with lengths, the backward direction must start "
                                            "at each sequence's own last step")
    case.check = check
    return case


def bidirectional_backward_case(rng) -> Case:
    case, (N, T, D, H) = Case(), (3, 5, 3, 4)
    x = diagonal_inputs(rng, N, T, D, H)
    lengths = ragged(rng, N, T)
    upstream = rng.normal(size=(N, T, 2 * H))
    _, cache = reference.bidirectional_forward(x[0], x[1], tuple(x[2:5]), tuple(x[5:8]),
                                               cell="diagonal", lengths=lengths)
    case.call("grads", BI, "bidirectional_backward", upstream, cache)
    big = diagonal_inputs(rng, 32, 32, 64, 64)
    big_lengths = ragged(rng, 32, 32)
    big_up = rng.normal(size=(32, 32, 128))
    big_cache = reference.bidirectional_forward(big[0], big[1], tuple(big[2:5]),
                                                tuple(big[5:8]), cell="diagonal",
                                                lengths=big_lengths)[1]
    big_check = big_backward(case, rng, "big", BI, "bidirectional_backward", big, [big_up],
                             big_cache, lambda: expected(*big, big_lengths), LABELS)

    def check(out):
        out = {**out, "grads": leaves(out["grads"])}
        check_gradients(out, "grads", LABELS, lambda: expected(*x, lengths), x, upstream, 1e-6)
        dx = array(out["grads"][0], "dx", x[0].shape)
        padded = np.arange(T)[None, :] >= lengths[:, None]
        expect(bool(np.all(dx[padded] == 0)), "padded steps must get zero gradient")
        big_check({**out, "big": leaves(out["big"])})
    case.check = check
    return case


# -- the GRU module ------------------------------------------------------------------------------
def gru_inputs(rng, layers, bidirectional, packed, grads, N=4, T=6, D=3, H=5) -> dict:
    K = 2 if bidirectional else 1
    lengths = ragged(rng, N, T)
    x = rng.normal(size=(N, T, D))
    if packed:
        x[np.arange(T)[None, :] >= lengths[:, None]] = 0.0
    rows = int(lengths.sum()) if packed else None
    return {"x": x, "h0": rng.normal(size=(layers * K, N, H)) * 0.5, "hidden": H,
            "layers": layers, "bidirectional": bidirectional, "packed": packed,
            "lengths": lengths, "seed": int(rng.integers(1 << 30)), "grads": grads,
            "w_out": rng.normal(size=(rows, K * H) if packed else (N, T, K * H)),
            "w_h": rng.normal(size=(layers * K, N, H))}


def torch_gru(inputs: dict, state: dict):
    """torch.nn.GRU with the student's state dict (it must load strictly), run on the same
    input, with the same loss: (output, h_n, parameter gradients, dx), all NumPy."""
    import torch
    from torch.nn.utils.rnn import pack_padded_sequence

    K = 2 if inputs["bidirectional"] else 1
    H, D = inputs["hidden"], inputs["x"].shape[2]
    model = torch.nn.GRU(D, H, num_layers=inputs["layers"], batch_first=True,
                         bidirectional=bool(inputs["bidirectional"]), dtype=torch.float64)
    expect(isinstance(state, dict) and set(state) == set(model.state_dict()),
           f"the state dict's names are not torch.nn.GRU's: {sorted(state)[:6]}")
    for name, value in model.state_dict().items():
        array(state[name], f"state[{name!r}]", tuple(value.shape))
    model.load_state_dict({k: torch.from_numpy(np.array(v, dtype=np.float64))
                           for k, v in state.items()})
    x = torch.from_numpy(inputs["x"].copy()).requires_grad_(True)
    data = (pack_padded_sequence(x, torch.from_numpy(inputs["lengths"]), batch_first=True,
                                 enforce_sorted=False) if inputs["packed"] else x)
    output, h_n = model(data, torch.from_numpy(inputs["h0"]))
    output = output.data if inputs["packed"] else output
    expect(output.shape[-1] == K * H, "unexpected output width")
    loss = ((output * torch.from_numpy(inputs["w_out"])).sum()
            + (h_n * torch.from_numpy(inputs["w_h"])).sum())
    loss.backward()
    grads = {k: p.grad.numpy() for k, p in model.named_parameters()}
    return output.detach().numpy(), h_n.detach().numpy(), grads, x.grad.numpy()


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def check_step(got, inputs: dict, state: dict) -> None:
    """One GRU step with its gates, torch's equations (gate order r, z, n) written out here."""
    x, h = inputs["step_x"], inputs["step_h"]
    H = h.shape[1]
    w_ih, w_hh, b_ih, b_hh = (np.asarray(state[f"{k}_l0"], dtype=np.float64) for k in
                              ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
    gx, gh = x @ w_ih.T + b_ih, h @ w_hh.T + b_hh
    r = sigmoid(gx[:, :H] + gh[:, :H])
    z = sigmoid(gx[:, H:2 * H] + gh[:, H:2 * H])
    n = np.tanh(gx[:, 2 * H:] + r * gh[:, 2 * H:])
    expect(isinstance(got, (list, tuple)) and len(got) == 2 and len(got[1]) == 3,
           "gru_step(..., return_gates=True) must return (h_next, (r, z, n))")
    for label, mine, want in (("h_next", got[0], (1 - z) * n + z * h), ("r", got[1][0], r),
                              ("z", got[1][1], z), ("n", got[1][2], n)):
        expect(relative(array(mine, f"gru_step: {label}", want.shape), want) < 1e-10,
               f"gru_step: {label} differs from the GRU's equations")


def gru_case(rng, settings: list[tuple[int, bool, bool]], grads: bool,
             step: bool = False) -> Case:
    """One program call per (layers, bidirectional, packed) setting; with `step`, the first
    call also runs one gru_step with its gates."""
    case = Case()
    runs = {f"gru{k}": gru_inputs(rng, layers, bi, packed, grads)
            for k, (layers, bi, packed) in enumerate(settings)}
    if step:
        runs["gru0"].update(step_x=rng.normal(size=(3, 3)), step_h=rng.normal(size=(3, 5)))
    for name, inputs in runs.items():
        case.program(name, "gru_module", **inputs)

    def check(out):
        for name, inputs in runs.items():
            layers, bi, packed = inputs["layers"], inputs["bidirectional"], inputs["packed"]
            label = (f"{layers} layer{'s' if layers > 1 else ''}"
                     + (", bidirectional" if bi else "") + (", packed" if packed else ""))
            got = out[name]
            expect(isinstance(got, dict) and "state" in got, f"{label}: no state dict returned")
            output, h_n, want_grads, dx = torch_gru(inputs, got["state"])
            if "step_x" in inputs:
                check_step(got.get("step"), inputs, got["state"])
            expect(relative(array(got["output"], f"{label}: output", output.shape), output)
                   < 1e-8, f"{label}: the output differs from torch.nn.GRU's with the same "
                           f"state dict")
            expect(relative(array(got["h_n"], f"{label}: h_n", h_n.shape), h_n) < 1e-8,
                   f"{label}: h_n differs from torch.nn.GRU's (each sequence's own last step)")
            if grads:
                expect(isinstance(got.get("grads"), dict), f"{label}: no gradients returned")
                for k, g in want_grads.items():
                    mine = array(got["grads"].get(k), f"{label}: gradient of {k}", g.shape)
                    expect(scaled(mine, g) < 1e-8, f"{label}: the gradient of {k} differs "
                                                   f"from torch.nn.GRU's")
                expect(scaled(array(got.get("dx"), f"{label}: dx", dx.shape), dx) < 1e-8,
                       f"{label}: the input's gradient differs from torch.nn.GRU's")
    case.check = check
    return case


CASES: dict[str, Callable[[np.random.Generator], Case]] = {
    "test_reverse_index": reverse_index_case,
    "test_bidirectional_forward": bidirectional_forward_case,
    "test_bidirectional_backward": bidirectional_backward_case,
    "test_gru_module_matches_torch": lambda rng: gru_case(
        rng, [(1, False, False), (1, True, False)], grads=False, step=True),
    "test_gru_module_packed": lambda rng: gru_case(
        rng, [(1, False, True), (2, True, True)], grads=False),
    "test_gru_module_gradients": lambda rng: gru_case(rng, [(2, True, True)], grads=True),
}
