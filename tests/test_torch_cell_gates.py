"""minirnn.torch.cells.lstm_step / gru_step with return_gates=True: the gates chapters read."""

from __future__ import annotations

import torch

from minirnn.torch.cells import gru_step, lstm_step


def _weights(gates: int, D: int = 3, H: int = 4, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(*shape, generator=g, dtype=torch.float64)
            for shape in ((gates * H, D), (gates * H, H), (gates * H,), (gates * H,))]


def test_lstm_gates_rebuild_the_step():
    w = _weights(4)
    x, h, c = (torch.randn(2, n, dtype=torch.float64) for n in (3, 4, 4))
    (h1, c1), (i, f, g, o) = lstm_step(x, (h, c), *w, return_gates=True)
    assert all(torch.equal(a, b) for a, b in zip((h1, c1), lstm_step(x, (h, c), *w)))
    pre = x @ w[0].T + w[2] + h @ w[1].T + w[3]
    assert torch.allclose(f, torch.sigmoid(pre[:, 4:8]), atol=1e-14)
    assert torch.allclose(g, torch.tanh(pre[:, 8:12]), atol=1e-14)
    assert torch.allclose(c1, f * c + i * g, atol=1e-14)
    assert torch.allclose(h1, o * torch.tanh(c1), atol=1e-14)


def test_gru_gates_rebuild_the_step():
    w = _weights(3)
    x, h = torch.randn(2, 3, dtype=torch.float64), torch.randn(2, 4, dtype=torch.float64)
    h1, (r, z, n) = gru_step(x, h, *w, return_gates=True)
    assert torch.equal(h1, gru_step(x, h, *w))
    assert torch.allclose(h1, (1 - z) * n + z * h, atol=1e-14)
    pre_z = (x @ w[0].T + w[2] + h @ w[1].T + w[3])[:, 4:8]
    assert torch.allclose(z, torch.sigmoid(pre_z), atol=1e-14)
    assert ((r > 0) & (r < 1)).all() and ((n > -1) & (n < 1)).all()
