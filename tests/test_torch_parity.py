"""minirnn.torch against torch.nn, in float64: outputs, final states and every gradient.

The matrix: RNN tanh/relu, LSTM, GRU x 1 and 2 layers x uni/bidirectional x batch_first both
ways x (equal lengths, PackedSequence, padded + lengths=) x (fused, steps) implementations.
"""

from __future__ import annotations

import itertools

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import minirnn.torch as mt

DTYPE = torch.float64
TOL = 1e-8
D, H, T, N = 4, 3, 6, 5
LENGTHS = torch.tensor([3, 6, 1, 6, 2])  # unsorted, with ties, one of length 1


@pytest.fixture(autouse=True)
def _seed():
    """Every test starts from the same global RNG state (dropout, unseeded randn)."""
    torch.manual_seed(0)


def rel_error(a: torch.Tensor, b: torch.Tensor) -> float:
    """max |a - b| / max(|a|, |b|); 0 when both are zero."""
    assert a.shape == b.shape, (a.shape, b.shape)
    scale = max(a.abs().max().item(), b.abs().max().item())
    return 0.0 if scale == 0 else (a - b).abs().max().item() / scale


def make_pair(mode: str, layers: int = 1, bidirectional: bool = False, batch_first: bool = False,
              impl: str = "fused", device: str = "cpu", **kw):
    """(ours, torch.nn's) with the same float64 weights (torch.nn's initialisation, loaded)."""
    common = dict(num_layers=layers, bidirectional=bidirectional, batch_first=batch_first,
                  dtype=DTYPE, **kw)
    if mode == "LSTM":
        ref, ours = torch.nn.LSTM(D, H, **common), mt.LSTM(D, H, impl=impl, **common)
    elif mode == "GRU":
        ref, ours = torch.nn.GRU(D, H, **common), mt.GRU(D, H, impl=impl, **common)
    else:
        nl = "tanh" if mode == "RNN_TANH" else "relu"
        ref = torch.nn.RNN(D, H, nonlinearity=nl, **common)
        ours = mt.RNN(D, H, nonlinearity=nl, impl=impl, **common)
    ours.load_state_dict(ref.state_dict())
    return ours.to(device), ref.to(device)


def inputs(mode: str, layers: int, bidirectional: bool, batch_first: bool, seed: int = 0,
           device: str = "cpu"):
    g = torch.Generator().manual_seed(seed)
    k = layers * (2 if bidirectional else 1)
    shape = (N, T, D) if batch_first else (T, N, D)
    x = torch.randn(shape, generator=g, dtype=DTYPE).to(device).requires_grad_()
    h0 = torch.randn(k, N, H, generator=g, dtype=DTYPE).to(device).requires_grad_()
    c0 = torch.randn(k, N, H, generator=g, dtype=DTYPE).to(device).requires_grad_()
    hx = (h0, c0) if mode == "LSTM" else h0
    leaves = [x, h0, c0] if mode == "LSTM" else [x, h0]
    return x, hx, leaves


def run(module, x, hx, leaves, kind: str, batch_first: bool, use_lengths_kw: bool):
    """Forward + backward of a random linear loss; returns [output, states..., grads...]."""
    if kind == "plain":
        out, states = module(x, hx)
    elif kind == "lengths" and use_lengths_kw:
        out, states = module(x, hx, lengths=LENGTHS)
    else:  # packed, or torch.nn's way of handling lengths
        packed = pack_padded_sequence(x, LENGTHS, batch_first=batch_first, enforce_sorted=False)
        out, states = module(packed, hx)
        if kind == "packed":
            assert isinstance(out, torch.nn.utils.rnn.PackedSequence)
            assert torch.equal(out.batch_sizes, packed.batch_sizes)
            assert torch.equal(out.sorted_indices, packed.sorted_indices)
        out, _ = pad_packed_sequence(out, batch_first=batch_first, total_length=T)
    states = states if isinstance(states, tuple) else (states,)
    g = torch.Generator().manual_seed(1)
    loss = (out * torch.randn(out.shape, generator=g, dtype=DTYPE).to(out.device)).sum()
    for s in states:
        loss = loss + (s * torch.randn(s.shape, generator=g, dtype=DTYPE).to(s.device)).sum()
    grads = torch.autograd.grad(loss, leaves + list(module.parameters()))
    return [out.detach(), *(s.detach() for s in states), *grads]


MODES = ["RNN_TANH", "RNN_RELU", "LSTM", "GRU"]
MATRIX = list(itertools.product(MODES, [1, 2], [False, True], [False, True],
                                ["plain", "packed", "lengths"], ["fused", "steps"]))


@pytest.mark.parametrize("mode,layers,bidirectional,batch_first,kind,impl", MATRIX)
def test_matches_torch_nn(mode, layers, bidirectional, batch_first, kind, impl, device="cpu"):
    """(tests/test_torch_cuda.py runs this same check with device="cuda".)"""
    ours, ref = make_pair(mode, layers, bidirectional, batch_first, impl, device)
    x, hx, leaves = inputs(mode, layers, bidirectional, batch_first, device=device)
    got = run(ours, x, hx, leaves, kind, batch_first, use_lengths_kw=True)
    want = run(ref, x, hx, leaves, kind, batch_first, use_lengths_kw=False)
    names = ["output", *(["h_n", "c_n"] if mode == "LSTM" else ["h_n"]),
             *(["d input", "d h_0", "d c_0"] if mode == "LSTM" else ["d input", "d h_0"]),
             *(f"d {name}" for name, _ in ours.named_parameters())]
    assert len(got) == len(want) == len(names)
    for name, a, b in zip(names, got, want):
        assert rel_error(a, b) < TOL, f"{name}: relative error {rel_error(a, b):.2e}"
    if kind != "plain":  # padded steps receive no gradient
        grad_x = got[len(names) - len(list(ours.parameters())) - len(leaves)]
        steps = torch.arange(T).unsqueeze(1)
        padded = steps >= LENGTHS.unsqueeze(0)  # (T, N)
        if batch_first:
            padded = padded.t()
        padded = padded.to(grad_x.device)
        assert grad_x[padded].abs().max() == 0


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", ["plain", "lengths"])
def test_fused_equals_steps(mode, kind, device="cpu"):
    """The fast path and the readable loop give the same outputs and gradients."""
    fused, _ = make_pair(mode, 2, True, True, "fused", device)
    steps = make_pair(mode, 2, True, True, "steps", device)[0]
    steps.load_state_dict(fused.state_dict())
    x, hx, leaves = inputs(mode, 2, True, True, seed=5, device=device)
    got = run(fused, x, hx, leaves, kind, True, use_lengths_kw=True)
    want = run(steps, x, hx, leaves, kind, True, use_lengths_kw=True)
    for a, b in zip(got, want):
        assert rel_error(a, b) < TOL


@pytest.mark.parametrize("mode", MODES)
def test_bias_false_and_no_state(mode):
    """bias=False and hx=None (zeros), both implementations, against torch.nn."""
    for impl in ("fused", "steps"):
        ours, ref = make_pair(mode, 2, False, False, impl, bias=False)
        assert [n for n, _ in ours.named_parameters()] == [n for n, _ in ref.named_parameters()]
        x = torch.randn(T, N, D, dtype=DTYPE, generator=torch.Generator().manual_seed(2))
        x.requires_grad_()
        got = run(ours, x, None, [x], "plain", False, True)
        want = run(ref, x, None, [x], "plain", False, False)
        for a, b in zip(got, want):
            assert rel_error(a, b) < TOL


@pytest.mark.parametrize("mode", MODES)
def test_unbatched_input(mode):
    """(T, D) input and (L*K, H) states, as torch.nn accepts them."""
    for impl in ("fused", "steps"):
        ours, ref = make_pair(mode, 2, True, True, impl)
        x = torch.randn(T, D, dtype=DTYPE, generator=torch.Generator().manual_seed(3))
        h0 = torch.randn(4, H, dtype=DTYPE, generator=torch.Generator().manual_seed(4))
        hx = (h0, h0 * 0.5) if mode == "LSTM" else h0
        (a, sa), (b, sb) = ours(x, hx), ref(x, hx)
        assert a.shape == b.shape == (T, 2 * H)
        assert rel_error(a, b) < TOL
        for u, v in zip(sa if mode == "LSTM" else (sa,), sb if mode == "LSTM" else (sb,)):
            assert u.shape == v.shape == (4, H)
            assert rel_error(u, v) < TOL


@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN_TANH"])
def test_dropout_matches_torch_nn_with_the_same_seed(mode):
    """Dropout between layers (training only) draws the same mask as torch.nn's."""
    ours, ref = make_pair(mode, 3, True, False, "fused", dropout=0.5)
    x = torch.randn(T, N, D, dtype=DTYPE)
    torch.manual_seed(11)
    a = ours(x)[0]
    torch.manual_seed(11)
    b = ref(x)[0]
    assert rel_error(a, b) < TOL
    ours.eval()
    ref.eval()
    assert rel_error(ours(x)[0], ref(x)[0]) < TOL
    ours.train()
    torch.manual_seed(12)
    c = ours(x)[0]
    assert rel_error(a, c) > 1e-3  # a different seed gives a different mask


@pytest.mark.parametrize("mode", MODES)
def test_state_dict_loads_both_ways(mode):
    """torch.nn -> ours and ours -> torch.nn give identical modules; names and shapes match."""
    torch.manual_seed(0)
    ours, ref = make_pair(mode, 2, True, False)
    assert list(ours.state_dict()) == list(ref.state_dict())
    for (name, p), (_, q) in zip(ours.state_dict().items(), ref.state_dict().items()):
        assert p.shape == q.shape and torch.equal(p, q), name
    fresh_ref = make_pair(mode, 2, True, False)[1]
    torch.manual_seed(1)
    fresh_ours = make_pair(mode, 2, True, False)[0]
    fresh_ours.reset_parameters()  # different numbers from ``ours``
    fresh_ref.load_state_dict(fresh_ours.state_dict())
    x = torch.randn(T, N, D, dtype=DTYPE)
    assert rel_error(fresh_ref(x)[0], fresh_ours(x)[0]) < TOL
    assert not torch.equal(fresh_ours.weight_ih_l0, ours.weight_ih_l0)


@pytest.mark.parametrize("mode", MODES)
def test_initialisation_is_uniform_within_one_over_sqrt_h(mode):
    torch.manual_seed(0)
    hidden = 64
    cls = {"LSTM": mt.LSTM, "GRU": mt.GRU}.get(mode, mt.RNN)
    module = cls(8, hidden, num_layers=2)
    bound = 1 / hidden**0.5
    values = torch.cat([p.detach().flatten() for p in module.parameters()])
    assert values.abs().max() <= bound
    assert values.abs().max() > 0.95 * bound  # fills the interval, not a narrower one
    assert abs(values.mean().item()) < 0.05 * bound


@pytest.mark.parametrize(
    "name,kw",
    [("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu"}), ("LSTMCell", {}), ("GRUCell", {})],
)
def test_cells_match_torch_nn_cells(name, kw):
    ref = getattr(torch.nn, name)(D, H, dtype=DTYPE, **kw)
    ours = getattr(mt, name)(D, H, dtype=DTYPE, **kw)
    ours.load_state_dict(ref.state_dict())
    g = torch.Generator().manual_seed(7)
    x = torch.randn(N, D, dtype=DTYPE, generator=g).requires_grad_()
    h = torch.randn(N, H, dtype=DTYPE, generator=g).requires_grad_()
    c = torch.randn(N, H, dtype=DTYPE, generator=g).requires_grad_()
    hx, leaves = ((h, c), [x, h, c]) if name == "LSTMCell" else (h, [x, h])

    def outputs(cell):
        out = cell(x, hx)
        out = out if isinstance(out, tuple) else (out,)
        loss = sum((o * (k + 1.5)).sin().sum() for k, o in enumerate(out))
        return [*out, *torch.autograd.grad(loss, leaves + list(cell.parameters()))]

    for a, b in zip(outputs(ours), outputs(ref)):
        assert rel_error(a, b) < TOL
    # unbatched and default state
    a, b = ours(x[0]), ref(x[0])
    for u, v in zip(a if isinstance(a, tuple) else (a,), b if isinstance(b, tuple) else (b,)):
        assert u.shape == (H,) and rel_error(u, v) < TOL


def test_impl_switch_and_drop_in_helpers():
    lstm = mt.LSTM(D, H)
    assert lstm.impl == "fused"
    out, _ = lstm(torch.randn(T, N, D, requires_grad=True))
    assert type(out.grad_fn).__name__ == "LSTMFunctionBackward"  # the fast path is the default
    lstm.impl = "steps"
    assert "impl='steps'" in repr(lstm)
    lstm.flatten_parameters()  # no-op, exists for code written for cuDNN
    assert len(lstm.all_weights) == 1 and len(lstm.all_weights[0]) == 4
    with pytest.raises(ValueError, match="impl"):
        lstm.impl = "cudnn"
    with pytest.raises(ValueError, match="impl"):
        mt.GRU(D, H, impl="fast")


def test_positional_arguments_follow_torch_nn():
    """Positional order as torch.nn's: (D, H, num_layers, [nonlinearity,] bias, batch_first,
    dropout, bidirectional)."""
    for ours, ref in [
        (mt.LSTM(D, H, 2, False, True, 0.25, True),
         torch.nn.LSTM(D, H, 2, False, True, 0.25, True)),
        (mt.GRU(D, H, 2, False, True, 0.25, True), torch.nn.GRU(D, H, 2, False, True, 0.25, True)),
        (mt.RNN(D, H, 2, "relu", False, True, 0.25, True),
         torch.nn.RNN(D, H, 2, "relu", False, True, 0.25, True)),
    ]:
        for attr in ("num_layers", "bias", "batch_first", "dropout", "bidirectional"):
            assert getattr(ours, attr) == getattr(ref, attr), attr
        assert list(ours.state_dict()) == list(ref.state_dict())


def test_double_backward_needs_the_steps_implementation():
    """The fused backward is first-order only and says so; the readable loop supports it."""
    x = torch.randn(T, N, D, dtype=DTYPE, requires_grad=True)
    for impl in ("fused", "steps"):
        model = mt.LSTM(D, H, impl=impl, dtype=DTYPE)
        out, _ = model(x)
        (grad_x,) = torch.autograd.grad(out.pow(2).sum(), x, create_graph=True)
        if impl == "fused":
            with pytest.raises(RuntimeError, match="once_differentiable|double backward"):
                grad_x.sum().backward()
        else:
            (second,) = torch.autograd.grad(grad_x.sum(), x)
            assert second.abs().sum() > 0


@pytest.mark.parametrize("mode", MODES)
def test_single_step_matches_torch_nn(mode):
    """T = 1 (the sampling case) takes the readable step under impl="fused": same numbers."""
    ours, ref = make_pair(mode, 2, True, False, "fused")
    g = torch.Generator().manual_seed(9)
    x = torch.randn(1, N, D, dtype=DTYPE, generator=g).requires_grad_()
    got = run(ours, x, None, [x], "plain", False, True)
    want = run(ref, x, None, [x], "plain", False, False)
    for a, b in zip(got, want):
        assert rel_error(a, b) < TOL
