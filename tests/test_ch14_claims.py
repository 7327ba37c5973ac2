"""Chapter 14's claims, each asserted in its direction on a small fixed seed."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import minirnn.chapters.ch14_gru as gru
from minirnn.convert import from_torch
from minirnn.data import CharVocab, load_corpus, split_text, to_torch
from minirnn.numpy import gru_forward
from minirnn.results.runs import errors_by_length, load_runs


def _weights(D: int = 5, H: int = 7, seed: int = 0):
    torch.manual_seed(seed)
    module = torch.nn.GRU(D, H, batch_first=True).double()
    return module, from_torch(module)[0]


def test_numpy_gru_matches_torch_nn_gru():
    module, (Wx, Wh, bx, bh) = _weights()
    x = np.random.default_rng(0).normal(size=(3, 12, 5))
    h0 = np.random.default_rng(1).normal(size=(3, 7))
    ours, _ = gru_forward(x, h0, Wx, Wh, bx, bh)
    with torch.no_grad():
        theirs, _ = module(torch.from_numpy(x), torch.from_numpy(h0)[None])
    assert np.abs(ours - theirs.numpy()).max() < 1e-12


def test_gru_cell_torch_convention_is_torch_nn_gru_cell():
    module, (Wx, Wh, bx, bh) = _weights()
    cell = torch.nn.GRUCell(5, 7).double()
    cell.load_state_dict({k[:-3]: v for k, v in module.state_dict().items()})
    x, h = torch.randn(4, 5, dtype=torch.float64), torch.randn(4, 7, dtype=torch.float64)
    w = [torch.from_numpy(p) for p in (Wx, Wh, bx, bh)]
    assert torch.allclose(gru.gru_cell(x, h, *w), cell(x, h), atol=1e-14)
    assert not torch.allclose(gru.gru_cell(x, h, *w, reset="cho"), cell(x, h), atol=1e-3)


def test_flipped_update_gate_converts_exactly():
    _, params = _weights()
    w = [torch.from_numpy(p) for p in params]
    x, h = torch.randn(4, 5, dtype=torch.float64), torch.randn(4, 7, dtype=torch.float64)
    flipped = gru.gru_cell(x, h, *gru.flip_update_gate(*w), flipped=True)
    assert torch.allclose(gru.gru_cell(x, h, *w), flipped, atol=1e-14)
    assert not torch.allclose(gru.gru_cell(x, h, *w, flipped=True), flipped, atol=1e-3)


def test_cho_reset_jacobian_is_full_and_torch_is_diagonal():
    _, params = _weights()
    w = [torch.from_numpy(p) for p in params]
    x, h = torch.randn(1, 5, dtype=torch.float64), torch.randn(1, 7, dtype=torch.float64)
    assert gru.offdiagonal_share(gru.reset_jacobian(x, h, *w, reset="torch")) == 0.0
    assert gru.offdiagonal_share(gru.reset_jacobian(x, h, *w, reset="cho")) > 0.5


def test_cho_and_torch_agree_when_the_hidden_matrix_is_diagonal():
    # the exception that proves the rule: H = 1 and b_hn = 0
    _, (Wx, Wh, bx, bh) = _weights(D=3, H=1)
    w = [torch.from_numpy(p) for p in (Wx, Wh, bx, bh)]
    w[3] = w[3].clone()
    w[3][2] = 0.0
    x, h = torch.randn(6, 3, dtype=torch.float64), torch.randn(6, 1, dtype=torch.float64)
    assert torch.allclose(gru.gru_cell(x, h, *w), gru.gru_cell(x, h, *w, reset="cho"))


@pytest.mark.parametrize("D,H", [(1, 1), (16, 32), (300, 512)])
def test_gru_has_exactly_three_quarters_of_the_lstm_parameters_and_macs(D, H):
    n_lstm = gru.param_count(torch.nn.LSTM(D, H))
    n_gru = gru.param_count(torch.nn.GRU(D, H))
    assert 4 * n_gru == 3 * n_lstm
    assert 4 * gru.matmul_macs_per_step("gru", D, H) == 3 * gru.matmul_macs_per_step("lstm", D, H)


def test_charlm_gru_and_lstm_stay_within_a_band():
    text = load_corpus()[:300_000]
    train_text, val_text = split_text(text)
    vocab = CharVocab.from_text(text)
    tr, va = to_torch((vocab.encode(train_text), vocab.encode(val_text)))
    bits = {cell: gru.train_charlm_bits(cell, tr, va, len(vocab), hidden_size=32, T=16,
                                        steps=100, n_val=64)[0] for cell in ("lstm", "gru")}
    assert all(b < np.log2(len(vocab)) for b in bits.values())  # both learned something
    assert abs(bits["gru"] - bits["lstm"]) < 0.4


def test_adding_results_gru_solves_every_length_the_lstm_solves():
    runs = load_runs("long_range")
    lstm = errors_by_length(runs, "adding", "lstm")
    gru_errors = errors_by_length(runs, "adding", "gru")
    for T, errors in lstm.items():
        solved_lstm = sum(e < 0.01 for e in errors) / len(errors)
        solved_gru = sum(e < 0.01 for e in gru_errors[T]) / len(gru_errors[T])
        assert solved_gru >= solved_lstm
