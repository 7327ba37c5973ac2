"""Graded tests of A6: a bidirectional layer over ragged batches (NumPy) and a drop-in GRU module
(PyTorch).

The NumPy layer runs on the given diagonal cell (minirnn.numpy.diagonal); its outputs are
compared with a loop over each sequence written out here, its gradients with centred-difference
numeric gradients. The GRU module's state dict is loaded into torch.nn.GRU, and both run on the
same padded or packed input. Run them with ``python -m pytest tests -q`` from the assignment
folder.
"""

import numpy as np
import torch
from torch.nn.utils.rnn import pack_padded_sequence

from minirnn.numpy.bidirectional import (
    bidirectional_backward,
    bidirectional_forward,
    reverse_index,
)
from minirnn.numpy.gradcheck import eval_numerical_gradient_array
from minirnn.torch.cells import gru_step
from minirnn.torch.rnn import GRU

LENGTHS = np.array([4, 6, 1, 5])  # unsorted, one full, one of a single step


def relative(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, f"shape {a.shape} where {b.shape} was expected"
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def inputs(seed, N=4, T=6, D=3, H=5):
    """[x, h0 (2, N, H), Wx, u, b (forward direction), Wx, u, b (backward direction)]."""
    rng = np.random.default_rng(seed)
    out = [rng.normal(size=(N, T, D)), rng.normal(size=(2, N, H)) * 0.5]
    for _ in range(2):
        out += [rng.normal(size=(D, H)) * 0.5, rng.uniform(-0.9, 0.9, size=H),
                rng.normal(size=H) * 0.1]
    return out


def expected(x, h0, Wx_f, u_f, b_f, Wx_b, u_b, b_b, lengths):
    """Each sequence alone: the forward direction over x[n, :L], the backward one over
    x[n, L-1], ..., x[n, 0]; zeros at the padding."""
    N, T, _ = x.shape
    H = u_f.shape[0]
    out = np.zeros((N, T, 2 * H))
    for n in range(N):
        L = int(lengths[n])
        h = h0[0, n]
        for t in range(L):
            h = np.tanh(x[n, t] @ Wx_f + u_f * h + b_f)
            out[n, t, :H] = h
        h = h0[1, n]
        for t in reversed(range(L)):
            h = np.tanh(x[n, t] @ Wx_b + u_b * h + b_b)
            out[n, t, H:] = h
    return out


def run(x, h0, Wx_f, u_f, b_f, Wx_b, u_b, b_b, lengths):
    return bidirectional_forward(x, h0, (Wx_f, u_f, b_f), (Wx_b, u_b, b_b), cell="diagonal",
                                 lengths=lengths)


def test_reverse_index():
    index = reverse_index(np.array([3, 1, 4]), 3, 4)
    assert index.tolist() == [[2, 1, 0, 3], [0, 1, 2, 3], [3, 2, 1, 0]]
    assert reverse_index(None, 2, 3).tolist() == [[2, 1, 0], [2, 1, 0]]


def test_bidirectional_forward():
    args = inputs(0)
    h, _ = run(*args, LENGTHS)
    assert h.shape == (4, 6, 10)
    padded = np.arange(6)[None, :] >= LENGTHS[:, None]
    assert np.all(h[padded] == 0), "padded steps must output zeros"
    assert relative(h, expected(*args, LENGTHS)) < 1e-10
    full = np.full(4, 6)
    assert relative(run(*args, None)[0], expected(*args, full)) < 1e-10


def test_bidirectional_backward():
    args = inputs(1, N=3, T=5, D=3, H=4)
    lengths = np.array([5, 2, 3])
    dh = np.random.default_rng(2).normal(size=(3, 5, 8))
    _, cache = run(*args, lengths)
    dx, dh0, dfwd, dbwd = bidirectional_backward(dh, cache)
    got = [dx, dh0, *dfwd, *dbwd]
    assert len(got) == len(args), "expected dx, dh0 and three gradients per direction"
    for k, (grad, value) in enumerate(zip(got, args)):
        numeric = eval_numerical_gradient_array(lambda _: run(*args, lengths)[0], value, dh)
        assert relative(grad, numeric) < 1e-6, f"gradient {k} is wrong"
    assert np.all(dx[np.arange(5)[None, :] >= lengths[:, None]] == 0), \
        "padded steps must get zero gradient"


def torch_pair(layers, bidirectional, seed):
    torch.manual_seed(seed)
    mine = GRU(3, 5, num_layers=layers, batch_first=True, bidirectional=bidirectional,
               dtype=torch.float64)
    theirs = torch.nn.GRU(3, 5, num_layers=layers, batch_first=True,
                          bidirectional=bidirectional, dtype=torch.float64)
    theirs.load_state_dict(mine.state_dict())  # strict: the same names and shapes
    return mine, theirs


def test_gru_module_matches_torch():
    x = torch.from_numpy(np.random.default_rng(3).normal(size=(4, 6, 3)))
    for bidirectional in (False, True):
        mine, theirs = torch_pair(1, bidirectional, 4)
        (out, h_n), (want, want_h) = mine(x), theirs(x)
        assert torch.allclose(out, want, atol=1e-10) and torch.allclose(h_n, want_h, atol=1e-10)
    # one step with its gates, torch's gate order r, z, n
    w_ih, w_hh, b_ih, b_hh = (getattr(mine, f"{k}_l0").detach().numpy()
                              for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
    xs, h = x[:, 0].numpy(), np.random.default_rng(10).normal(size=(4, 5))
    gx, gh = xs @ w_ih.T + b_ih, h @ w_hh.T + b_hh
    r = 1 / (1 + np.exp(-(gx[:, :5] + gh[:, :5])))
    z = 1 / (1 + np.exp(-(gx[:, 5:10] + gh[:, 5:10])))
    n = np.tanh(gx[:, 10:] + r * gh[:, 10:])
    with torch.no_grad():
        h_next, gates = gru_step(x[:, 0], torch.from_numpy(h),
                                 *(getattr(mine, f"{k}_l0") for k in
                                   ("weight_ih", "weight_hh", "bias_ih", "bias_hh")),
                                 return_gates=True)
    for got, want in zip((h_next, *gates), ((1 - z) * n + z * h, r, z, n)):
        assert relative(got.numpy(), want) < 1e-10


def test_gru_module_packed():
    x = torch.from_numpy(np.random.default_rng(5).normal(size=(4, 6, 3)))
    packed = pack_padded_sequence(x, torch.from_numpy(LENGTHS), batch_first=True,
                                  enforce_sorted=False)
    for layers, bidirectional in ((1, False), (2, True)):
        mine, theirs = torch_pair(layers, bidirectional, 6)
        (out, h_n), (want, want_h) = mine(packed), theirs(packed)
        assert torch.allclose(out.data, want.data, atol=1e-10), "packed outputs differ"
        assert torch.equal(out.batch_sizes, want.batch_sizes)
        assert torch.allclose(h_n, want_h, atol=1e-10), "h_n: each sequence's own last step"


def test_gru_module_gradients():
    x = torch.from_numpy(np.random.default_rng(7).normal(size=(4, 6, 3)))
    weights = torch.from_numpy(np.random.default_rng(8).normal(size=(int(LENGTHS.sum()), 10)))
    mine, theirs = torch_pair(2, True, 9)
    grads = []
    for model in (mine, theirs):
        xg = x.clone().requires_grad_(True)
        packed = pack_padded_sequence(xg, torch.from_numpy(LENGTHS), batch_first=True,
                                      enforce_sorted=False)
        out, h_n = model(packed)
        ((out.data * weights).sum() + h_n.sum()).backward()
        grads.append({"dx": xg.grad, **{k: p.grad for k, p in model.named_parameters()}})
    for k, g in grads[1].items():
        assert torch.allclose(grads[0][k], g, atol=1e-10), f"the gradient of {k} differs"
