"""Chapter 14: The GRU. Its conventions, its size and its cost against the LSTM.

- `gru_cell`: one GRU step in torch with a choice of convention: the reset gate after the matrix
  (torch, ``reset="torch"``) or before it (Cho et al. 2014, ``reset="cho"``), and the update
  gate as torch writes it or flipped (Chung et al. 2014, minGRU: ``flipped=True``).
- `flip_update_gate`: the weights that turn a torch-convention GRU into the flipped convention.
- `reset_jacobian`: d(candidate pre-activation)/d(reset gate), diagonal for torch, full for Cho.
- `param_count`, `matmul_macs_per_step`: exact sizes and multiply-adds of RNN, GRU and LSTM.
- `train_charlm_bits`: train a `CharLM` of a given cell (the library's `Trainer` on
  `random_windows`) and return its held-out bits per char.

Shapes follow the notation page: x (N, D), h (N, H), Wx (D, 3H), Wh (H, 3H), bx and bh (3H,),
gate blocks in the order r, z, n.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from minirnn.torch.cells import gru_step
from minirnn.torch.models import CharLM
from minirnn.torch.train import FreshBatches, Trainer, random_windows

RESETS = ("torch", "cho")


def _check(x: torch.Tensor, h: torch.Tensor, Wx: torch.Tensor, Wh: torch.Tensor,
           bx: torch.Tensor, bh: torch.Tensor) -> int:
    H = h.shape[-1]
    if (x.dim() != 2 or h.dim() != 2 or Wx.shape != (x.shape[1], 3 * H) or Wh.shape != (H, 3 * H)
            or bx.shape != (3 * H,) or bh.shape != (3 * H,)):
        raise ValueError(f"x, h, Wx, Wh, bx, bh: expected (N, D), (N, H), (D, 3H), (H, 3H), (3H,),"
                         f" (3H,); got {tuple(x.shape)}, {tuple(h.shape)}, {tuple(Wx.shape)}, "
                         f"{tuple(Wh.shape)}, {tuple(bx.shape)}, {tuple(bh.shape)}")
    return H


def gru_cell(x: torch.Tensor, h: torch.Tensor, Wx: torch.Tensor, Wh: torch.Tensor,
             bx: torch.Tensor, bh: torch.Tensor, reset: str = "torch", flipped: bool = False
             ) -> torch.Tensor:
    """One GRU step -> next h (N, H).

    reset="torch": n = tanh(x Wx_n + bx_n + r * (h Wh_n + bh_n))
    reset="cho":   n = tanh(x Wx_n + bx_n + (r * h) Wh_n + bh_n)
    flipped=False: h' = (1 - z) n + z h;   flipped=True: h' = (1 - z) h + z n.

    The torch convention is the library's `gru_step` (weights transposed to torch's layout);
    the flipped update reuses its gates. Cho's reset placement is written out here: it is a
    teaching variant that no library cell implements.
    """
    if reset not in RESETS:
        raise ValueError(f"reset must be one of {RESETS}, got {reset!r}")
    H = _check(x, h, Wx, Wh, bx, bh)
    if reset == "torch":
        h_next, (_, z, n) = gru_step(x, h, Wx.T, Wh.T, bx, bh, return_gates=True)
        return (1 - z) * h + z * n if flipped else h_next
    gx = x @ Wx + bx
    gh = h @ Wh[:, : 2 * H] + bh[: 2 * H]
    r = torch.sigmoid(gx[:, :H] + gh[:, :H])
    z = torch.sigmoid(gx[:, H : 2 * H] + gh[:, H:])
    n = torch.tanh(gx[:, 2 * H :] + (r * h) @ Wh[:, 2 * H :] + bh[2 * H :])
    return (1 - z) * h + z * n if flipped else (1 - z) * n + z * h


def flip_update_gate(Wx: torch.Tensor, Wh: torch.Tensor, bx: torch.Tensor, bh: torch.Tensor
                     ) -> tuple[torch.Tensor, ...]:
    """Negate the z block of every weight and bias: sigmoid(-a) = 1 - sigmoid(a), so the flipped
    convention with these weights computes exactly the torch convention with the originals."""
    H = Wh.shape[0]
    out = []
    for p in (Wx, Wh, bx, bh):
        q = p.clone()
        q[..., H : 2 * H] = -q[..., H : 2 * H]
        out.append(q)
    return tuple(out)


def reset_jacobian(x: torch.Tensor, h: torch.Tensor, Wx: torch.Tensor, Wh: torch.Tensor,
                   bx: torch.Tensor, bh: torch.Tensor, reset: str) -> torch.Tensor:
    """d(pre-activation of n)/d(r) for one example (x (1, D), h (1, H)) -> (H, H), entry [j, i] =
    d pre_n_j / d r_i. Torch's is diagonal (r_i scales only unit i's term); Cho's is
    diag(h) Wh_n read columnwise, a full matrix."""
    H = _check(x, h, Wx, Wh, bx, bh)
    if x.shape[0] != 1:
        raise ValueError(f"x: expected one example (1, D), got {tuple(x.shape)}")
    r0 = torch.sigmoid(x @ Wx[:, :H] + bx[:H] + h @ Wh[:, :H] + bh[:H])

    def pre_n(r: torch.Tensor) -> torch.Tensor:
        if reset == "torch":
            return x @ Wx[:, 2 * H :] + bx[2 * H :] + r * (h @ Wh[:, 2 * H :] + bh[2 * H :])
        if reset == "cho":
            return x @ Wx[:, 2 * H :] + bx[2 * H :] + (r * h) @ Wh[:, 2 * H :] + bh[2 * H :]
        raise ValueError(f"reset must be one of {RESETS}, got {reset!r}")

    return torch.autograd.functional.jacobian(pre_n, r0)[0, :, 0, :]


def offdiagonal_share(J: torch.Tensor) -> float:
    """Frobenius norm of J's off-diagonal part over J's norm (0 for a diagonal matrix)."""
    off = J - torch.diag(torch.diagonal(J))
    return float(off.norm() / J.norm())


def param_count(module: nn.Module) -> int:
    """Number of scalar parameters."""
    return sum(p.numel() for p in module.parameters())


def matmul_macs_per_step(cell: str, D: int, H: int, N: int = 1) -> int:
    """Multiply-adds of the matrix products in one step for N sequences: the gate blocks times
    (D + H) * H each (1 block for "rnn", 3 for "gru", 4 for "lstm"). Elementwise work is O(H)
    and left out."""
    blocks = {"rnn": 1, "gru": 3, "lstm": 4}
    if cell not in blocks:
        raise ValueError(f"cell must be one of {tuple(blocks)}, got {cell!r}")
    return N * blocks[cell] * (D + H) * H


def train_charlm_bits(cell: str, train_ids: torch.Tensor, val_ids: torch.Tensor,
                      vocab_size: int, hidden_size: int = 128, steps: int = 300, T: int = 64,
                      batch: int = 32, lr: float = 6e-3, seed: int = 0,
                      n_val: int = 128) -> tuple[float, list[float]]:
    """Train a one-layer `CharLM` (``cell`` "lstm" or "gru") with Adam and gradient-norm clipping
    at 1 on random windows of ``train_ids`` (1-D ids); return its mean loss on ``n_val`` random
    windows of ``val_ids`` in bits per character, and the training loss per step (nats)."""
    if train_ids.dim() != 1 or val_ids.dim() != 1:
        raise ValueError(f"train_ids, val_ids: expected 1-D ids, got {tuple(train_ids.shape)}, "
                         f"{tuple(val_ids.shape)}")
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    model = CharLM(vocab_size, embed_size=32, hidden_size=hidden_size, cell=cell)
    data = FreshBatches(lambda step: random_windows(train_ids, batch, T, g))
    curve = Trainer(model, data, optimizer="adam", lr=lr, clip_norm=1.0, progress=False
                    ).fit(steps)["loss"]
    model.eval()
    with torch.no_grad():
        x, y = random_windows(val_ids, n_val, T, torch.Generator().manual_seed(seed + 12345))
        val, _ = model.loss(x, y)
    return float(val) / math.log(2), curve
