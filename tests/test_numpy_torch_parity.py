"""minirnn.numpy against torch.nn in float64: outputs and every gradient, after copying the
weights of a torch module in. Covers RNN (tanh, relu), LSTM and GRU; N = 1 and T = 1;
bidirectional and two-layer stacks; ragged batches against pack_padded_sequence; and
property-based tests over random shapes and lengths."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from minirnn.convert import from_torch, grads_from_torch
from minirnn.numpy import (
    bidirectional_backward,
    bidirectional_forward,
    gru_backward,
    gru_forward,
    gru_step_backward,
    gru_step_forward,
    last_hidden,
    lstm_backward,
    lstm_forward,
    lstm_step_backward,
    lstm_step_forward,
    multilayer_backward,
    multilayer_forward,
    rel_error,
    rnn_backward,
    rnn_forward,
    rnn_step_backward,
    rnn_step_forward,
)

TOL = 1e-8
CELLS = ["rnn_tanh", "rnn_relu", "lstm", "gru"]
SINGLE_LAYER = {
    "rnn_tanh": (lambda x, h0, p, lengths: rnn_forward(x, h0, *p, lengths=lengths), rnn_backward),
    "rnn_relu": (lambda x, h0, p, lengths: rnn_forward(x, h0, *p, "relu", lengths=lengths),
                 rnn_backward),
    "lstm": (lambda x, h0, p, lengths: lstm_forward(x, h0, *p, lengths=lengths), lstm_backward),
    "gru": (lambda x, h0, p, lengths: gru_forward(x, h0, *p, lengths=lengths), gru_backward),
}


def make_module(cell: str, D: int, H: int, num_layers: int = 1,
                bidirectional: bool = False, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    kind = {"rnn_tanh": "RNN", "rnn_relu": "RNN", "lstm": "LSTM", "gru": "GRU"}[cell]
    extra = {"nonlinearity": cell[4:]} if kind == "RNN" else {}
    return getattr(torch.nn, kind)(D, H, num_layers=num_layers, bidirectional=bidirectional,
                                   batch_first=True, dtype=torch.float64, **extra)


def torch_reference(module: torch.nn.Module, x: np.ndarray, h0: np.ndarray, dh: np.ndarray,
                    lengths: np.ndarray | None) -> dict:
    """Run the torch module (packed when lengths are given); return outputs and gradients."""
    module.zero_grad()
    xt = torch.tensor(x, requires_grad=True)
    h0t = torch.tensor(h0, requires_grad=True)
    state = (h0t, torch.zeros_like(h0t)) if isinstance(module, torch.nn.LSTM) else h0t
    if lengths is None:
        out, _ = module(xt, state)
    else:
        packed = pack_padded_sequence(xt, torch.tensor(lengths), batch_first=True,
                                      enforce_sorted=False)
        out, _ = module(packed, state)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
    (out * torch.tensor(dh)).sum().backward()
    return dict(h=out.detach().numpy(), dx=xt.grad.numpy(), dh0=h0t.grad.numpy())


def check_against_torch(cell: str, N: int, T: int, D: int, H: int, num_layers: int = 1,
                        bidirectional: bool = False, lengths: list[int] | None = None,
                        seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    module = make_module(cell, D, H, num_layers, bidirectional, seed)
    dirs = 2 if bidirectional else 1
    x = rng.standard_normal((N, T, D))
    h0 = rng.standard_normal((num_layers * dirs, N, H)) * 0.5
    lengths_arr = None if lengths is None else np.array(lengths)
    params = from_torch(module)

    if num_layers == 1 and not bidirectional:  # the single-layer functions themselves
        forward, backward = SINGLE_LAYER[cell]
        h, cache = forward(x, h0[0], params[0], lengths_arr)
        dh = rng.standard_normal(h.shape)
        dx, dh0, *dp = backward(dh, cache)
        dh0, dparams = dh0[None], [tuple(dp)]
    else:
        h, cache = multilayer_forward(x, h0, params, cell=cell, bidirectional=bidirectional,
                                      lengths=lengths_arr)
        dh = rng.standard_normal(h.shape)
        dx, dh0, dparams = multilayer_backward(dh, cache)

    ref = torch_reference(module, x, h0, dh, lengths_arr)
    assert h.shape == ref["h"].shape
    assert rel_error(h, ref["h"]) < TOL
    assert rel_error(dx, ref["dx"]) < TOL
    assert rel_error(dh0, ref["dh0"]) < TOL
    for ours, theirs in zip(dparams, grads_from_torch(module), strict=True):
        for a, b in zip(ours, theirs, strict=True):
            assert rel_error(a, b) < TOL


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("N, T, D, H", [(1, 1, 3, 4), (1, 6, 3, 4), (4, 1, 2, 5), (3, 7, 4, 5)])
def test_single_layer_matches_torch(cell: str, N: int, T: int, D: int, H: int) -> None:
    check_against_torch(cell, N, T, D, H)


@pytest.mark.parametrize("cell", CELLS)
def test_ragged_batch_matches_pack_padded_sequence(cell: str) -> None:
    check_against_torch(cell, N=4, T=6, D=3, H=5, lengths=[6, 2, 4, 1])


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("num_layers, bidirectional", [(1, True), (2, False), (2, True)])
@pytest.mark.parametrize("lengths", [None, [5, 3, 1]])
def test_bidirectional_and_stacked_match_torch(cell: str, num_layers: int, bidirectional: bool,
                                               lengths: list[int] | None) -> None:
    check_against_torch(cell, N=3, T=5, D=4, H=3, num_layers=num_layers,
                        bidirectional=bidirectional, lengths=lengths)


def test_bidirectional_layer_matches_torch_directly() -> None:
    """bidirectional_forward/backward (not through multilayer) against a 1-layer torch GRU."""
    rng = np.random.default_rng(3)
    module = make_module("gru", 3, 4, bidirectional=True, seed=3)
    x, h0 = rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 2, 4))
    fwd, bwd = from_torch(module)
    h, cache = bidirectional_forward(x, h0, fwd, bwd, cell="gru", lengths=[4, 2])
    dh = rng.standard_normal(h.shape)
    dx, dh0, dfwd, dbwd = bidirectional_backward(dh, cache)
    ref = torch_reference(module, x, h0, dh, np.array([4, 2]))
    assert rel_error(h, ref["h"]) < TOL
    assert rel_error(dx, ref["dx"]) < TOL
    assert rel_error(dh0, ref["dh0"]) < TOL
    for ours, theirs in zip((dfwd, dbwd), grads_from_torch(module), strict=True):
        for a, b in zip(ours, theirs, strict=True):
            assert rel_error(a, b) < TOL


@pytest.mark.parametrize("cell", ["rnn_tanh", "rnn_relu", "lstm", "gru"])
def test_step_functions_match_torch_cells(cell: str) -> None:
    """One step against torch.nn.RNNCell / LSTMCell / GRUCell, forward and backward."""
    rng = np.random.default_rng(1)
    N, D, H = 3, 4, 5
    torch.manual_seed(1)
    kind = {"rnn_tanh": "RNNCell", "rnn_relu": "RNNCell", "lstm": "LSTMCell", "gru": "GRUCell"}
    extra = {"nonlinearity": cell[4:]} if cell.startswith("rnn") else {}
    module = getattr(torch.nn, kind[cell])(D, H, dtype=torch.float64, **extra)
    Wx, Wh, *biases = from_torch(module)  # GRU (bx, bh); RNN and LSTM b = bias_ih + bias_hh
    x, h, c = (rng.standard_normal((N, k)) for k in (D, H, H))
    dnext_h, dnext_c = rng.standard_normal((N, H)), rng.standard_normal((N, H))

    xt, ht, ct = (torch.tensor(a, requires_grad=True) for a in (x, h, c))
    if cell == "lstm":
        next_h, next_c, cache = lstm_step_forward(x, h, c, Wx, Wh, *biases)
        dx, dh, dc, dWx, dWh, db = lstm_step_backward(dnext_h, dnext_c, cache)
        th, tc = module(xt, (ht, ct))
        ((th * torch.tensor(dnext_h)).sum() + (tc * torch.tensor(dnext_c)).sum()).backward()
        assert rel_error(next_c, tc.detach().numpy()) < TOL
        assert rel_error(dc, ct.grad.numpy()) < TOL
        dbs = (db,)
    else:
        if cell == "gru":
            next_h, cache = gru_step_forward(x, h, Wx, Wh, *biases)
            dx, dh, dWx, dWh, *dbs = gru_step_backward(dnext_h, cache)
        else:
            next_h, cache = rnn_step_forward(x, h, Wx, Wh, *biases, cell[4:])
            dx, dh, dWx, dWh, db = rnn_step_backward(dnext_h, cache)
            dbs = [db]
        th = module(xt, ht)
        (th * torch.tensor(dnext_h)).sum().backward()
    assert rel_error(next_h, th.detach().numpy()) < TOL
    assert rel_error(dx, xt.grad.numpy()) < TOL
    assert rel_error(dh, ht.grad.numpy()) < TOL
    dWx_torch, dWh_torch, *torch_dbs = grads_from_torch(module)
    assert rel_error(dWx, dWx_torch) < TOL
    assert rel_error(dWh, dWh_torch) < TOL
    for a, b in zip(dbs, torch_dbs, strict=True):
        assert rel_error(a, b) < TOL


def test_last_hidden_is_torchs_final_state() -> None:
    rng = np.random.default_rng(2)
    module = make_module("lstm", 3, 4, seed=2)
    x = rng.standard_normal((3, 5, 3))
    h0 = np.zeros((3, 4))
    lengths = np.array([2, 5, 3])
    h, _ = lstm_forward(x, h0, *from_torch(module)[0], lengths=lengths)
    packed = pack_padded_sequence(torch.tensor(x), torch.tensor(lengths), batch_first=True,
                                  enforce_sorted=False)
    _, (h_n, _) = module(packed)
    assert rel_error(last_hidden(h, lengths), h_n[0].detach().numpy()) < TOL


# ---------------------------------------------------------------------------------------------
# Property-based: random shapes and lengths against float64 torch autograd
# ---------------------------------------------------------------------------------------------


@st.composite
def cases(draw: st.DrawFn) -> dict:
    N = draw(st.integers(1, 4))
    T = draw(st.integers(1, 6))
    ragged = draw(st.booleans())
    lengths = draw(st.lists(st.integers(1, T), min_size=N, max_size=N)) if ragged else None
    return dict(cell=draw(st.sampled_from(CELLS)), N=N, T=T, D=draw(st.integers(1, 5)),
                H=draw(st.integers(1, 5)), lengths=lengths, seed=draw(st.integers(0, 1000)))


@settings(max_examples=25, deadline=None, derandomize=True)
@given(case=cases())
def test_property_single_layer_matches_torch(case: dict) -> None:
    check_against_torch(**case)


@settings(max_examples=15, deadline=None, derandomize=True)
@given(case=cases(), num_layers=st.integers(1, 2), bidirectional=st.booleans())
def test_property_stacks_match_torch(case: dict, num_layers: int, bidirectional: bool) -> None:
    check_against_torch(num_layers=num_layers, bidirectional=bidirectional, **case)
