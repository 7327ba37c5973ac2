"""Ragged batches: padded steps neither change the state nor receive gradient.

Checked as properties, for both implementations, without torch.nn: each sequence run alone
gives the same numbers as its row in a padded batch; garbage in the padding changes nothing.
"""

from __future__ import annotations

import pytest
import torch

import minirnn.torch as mt
from minirnn.torch.packing import batch_sizes_of, reverse_padded

DTYPE = torch.float64
D, H, T = 3, 4, 7
LENGTHS = torch.tensor([2, 7, 4, 1, 7, 5])


@pytest.fixture(autouse=True)
def _seed():
    """Every test starts from the same global RNG state (dropout, unseeded randn)."""
    torch.manual_seed(0)


def make(mode: str, impl: str) -> torch.nn.Module:
    torch.manual_seed(0)
    cls = {"LSTM": mt.LSTM, "GRU": mt.GRU, "RNN": mt.RNN}[mode]
    return cls(D, H, num_layers=2, bidirectional=True, batch_first=True, impl=impl, dtype=DTYPE)


def finals(states) -> list[torch.Tensor]:
    return list(states) if isinstance(states, tuple) else [states]


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("impl", ["fused", "steps"])
def test_each_row_equals_its_sequence_alone(mode, impl):
    model = make(mode, impl)
    x = torch.randn(len(LENGTHS), T, D, dtype=DTYPE, generator=torch.Generator().manual_seed(1))
    out, states = model(x, lengths=LENGTHS)
    for b, length in enumerate(LENGTHS.tolist()):
        alone, alone_states = model(x[b : b + 1, :length])
        assert torch.allclose(out[b, :length], alone[0], atol=1e-12, rtol=0)
        assert torch.count_nonzero(out[b, length:]) == 0  # outputs past the end are zero
        for s, s_alone in zip(finals(states), finals(alone_states)):
            assert torch.allclose(s[:, b], s_alone[:, 0], atol=1e-12, rtol=0)


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("impl", ["fused", "steps"])
def test_padding_content_changes_nothing(mode, impl):
    model = make(mode, impl)
    g = torch.Generator().manual_seed(2)
    x = torch.randn(len(LENGTHS), T, D, dtype=DTYPE, generator=g)
    padded = torch.arange(T).unsqueeze(0) >= LENGTHS.unsqueeze(1)  # (N, T)
    noisy = x.clone()
    noisy[padded] = torch.nan  # padding that would poison any computation touching it
    results = []
    for inp in (x, noisy):
        inp = inp.clone().requires_grad_()
        model.zero_grad()
        out, states = model(inp, lengths=LENGTHS)
        loss = (out**2).sum() + sum((s**3).sum() for s in finals(states))
        loss.backward()
        results.append([out, *finals(states), inp.grad, *(p.grad for p in model.parameters())])
        assert inp.grad[padded].abs().max() == 0  # no gradient into padded steps
    for a, b in zip(*results):
        assert torch.isfinite(b).all()
        assert torch.equal(a, b)


@pytest.mark.parametrize("impl", ["fused", "steps"])
def test_lengths_all_full_equals_no_lengths(impl):
    model = make("LSTM", impl)
    x = torch.randn(3, T, D, dtype=DTYPE)
    a, (ha, ca) = model(x)
    b, (hb, cb) = model(x, lengths=[T, T, T])
    assert torch.equal(a, b) and torch.equal(ha, hb) and torch.equal(ca, cb)


def test_reverse_padded_reverses_within_each_length():
    x = torch.arange(4 * 2).view(4, 2).float().unsqueeze(2)  # (T=4, N=2, 1)
    out = reverse_padded(x, torch.tensor([4, 2]))[..., 0]
    assert out[:, 0].tolist() == [6.0, 4.0, 2.0, 0.0]
    assert out[:, 1].tolist() == [3.0, 1.0, 5.0, 7.0]  # first two reversed, padding in place


def test_batch_sizes_counts_running_sequences():
    assert batch_sizes_of(torch.tensor([5, 3, 3, 1]), 5) == [4, 3, 3, 1, 1]


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_sorted_packed_sequence_matches_torch_nn(mode):
    """A PackedSequence made with enforce_sorted=True has no sorted_indices: handled too."""
    from torch.nn.utils.rnn import pack_padded_sequence

    ours = make(mode, "fused")
    ref = getattr(torch.nn, mode)(D, H, num_layers=2, bidirectional=True, batch_first=True,
                                  dtype=DTYPE)
    ref.load_state_dict(ours.state_dict())
    lengths = LENGTHS.sort(descending=True).values
    x = torch.randn(len(lengths), T, D, dtype=DTYPE)
    packed = pack_padded_sequence(x, lengths, batch_first=True)
    assert packed.sorted_indices is None
    (a, sa), (b, sb) = ours(packed), ref(packed)
    assert torch.allclose(a.data, b.data, atol=1e-12, rtol=0)
    for u, v in zip(finals(sa), finals(sb)):
        assert torch.allclose(u, v, atol=1e-12, rtol=0)


@pytest.mark.parametrize("ragged", [False, True])
def test_fused_functions_pass_gradcheck(ragged):
    """Numeric gradients of each fused Function, on a small well-conditioned case."""
    from minirnn.torch.fused import GRUFunction, LSTMFunction, RNNFunction

    g = torch.Generator().manual_seed(0)
    steps, batch, d, h = 4, 3, 2, 3

    def rand(*shape):
        return (0.5 * torch.randn(*shape, generator=g, dtype=DTYPE)).requires_grad_()

    batch_sizes = [3, 3, 2, 1] if ragged else None
    last = torch.tensor([3, 2, 1]) if ragged else None
    x, h0, c0 = rand(steps, batch, d), rand(batch, h), rand(batch, h)
    cases = [
        (LSTMFunction, [x, h0, c0, rand(4 * h, d), rand(4 * h, h), rand(4 * h), rand(4 * h)],
         [batch_sizes, last]),
        (GRUFunction, [x, h0, rand(3 * h, d), rand(3 * h, h), rand(3 * h), rand(3 * h)],
         [batch_sizes, last]),
        (RNNFunction, [x, h0, rand(h, d), rand(h, h), rand(h), rand(h)],
         [batch_sizes, last, False]),
        (RNNFunction, [x, h0, rand(h, d), rand(h, h), rand(h), rand(h)],
         [batch_sizes, last, True]),
    ]
    for fn, tensors, rest in cases:
        assert torch.autograd.gradcheck(lambda *t, fn=fn, rest=rest: fn.apply(*t, *rest), tensors)
