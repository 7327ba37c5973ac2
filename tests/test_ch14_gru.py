"""Unit tests of minirnn.chapters.ch14_gru: counts, argument errors, the library cell inside."""

from __future__ import annotations

import pytest
import torch

import minirnn.chapters.ch14_gru as gru


def test_macs_formula():
    assert gru.matmul_macs_per_step("rnn", 3, 4, N=2) == 2 * (3 + 4) * 4
    assert gru.matmul_macs_per_step("lstm", 3, 4) == 4 * 7 * 4


def test_offdiagonal_share():
    assert gru.offdiagonal_share(torch.eye(3)) == 0.0
    assert gru.offdiagonal_share(torch.ones(2, 2)) == pytest.approx(2**0.5 / 2)


def test_argument_errors():
    x, h = torch.zeros(2, 3), torch.zeros(2, 4)
    Wx, Wh, b = torch.zeros(3, 12), torch.zeros(4, 12), torch.zeros(12)
    with pytest.raises(ValueError, match="reset must be"):
        gru.gru_cell(x, h, Wx, Wh, b, b, reset="after")
    with pytest.raises(ValueError, match=r"expected \(N, D\), \(N, H\), \(D, 3H\)"):
        gru.gru_cell(x, h, Wx[:, :9], Wh, b, b)
    with pytest.raises(ValueError, match="one example"):
        gru.reset_jacobian(x, h, Wx, Wh, b, b, reset="torch")
    with pytest.raises(ValueError, match="reset must be"):
        gru.reset_jacobian(x[:1], h[:1], Wx, Wh, b, b, reset="before")
    with pytest.raises(ValueError, match="cell must be"):
        gru.matmul_macs_per_step("tcn", 1, 1)
    with pytest.raises(ValueError, match="1-D ids"):
        gru.train_charlm_bits("gru", torch.zeros(2, 5, dtype=torch.long),
                              torch.zeros(5, dtype=torch.long), 3)


def test_torch_convention_is_the_library_cell_and_flipped_uses_its_gates():
    from minirnn.torch.cells import gru_step

    g = torch.Generator().manual_seed(0)
    x, h = torch.randn(3, 2, generator=g), torch.randn(3, 4, generator=g)
    Wx, Wh = torch.randn(2, 12, generator=g), torch.randn(4, 12, generator=g)
    bx, bh = torch.randn(12, generator=g), torch.randn(12, generator=g)
    assert torch.equal(gru.gru_cell(x, h, Wx, Wh, bx, bh), gru_step(x, h, Wx.T, Wh.T, bx, bh))
    _, (_, z, n) = gru_step(x, h, Wx.T, Wh.T, bx, bh, return_gates=True)
    assert torch.allclose(gru.gru_cell(x, h, Wx, Wh, bx, bh, flipped=True), (1 - z) * h + z * n)
