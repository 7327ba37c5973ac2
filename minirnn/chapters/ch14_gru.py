"""Chapter 14: The GRU. Its conventions, its size and its cost against the LSTM.

- `gru_cell`: one GRU step in torch with a choice of convention: the reset gate after the matrix
  (torch, ``reset="torch"``) or before it (Cho et al. 2014, ``reset="cho"``), and the update
  gate as torch writes it or flipped (Chung et al. 2014, minGRU: ``flipped=True``).
- `flip_update_gate`: the weights that turn a torch-convention GRU into the flipped convention.
- `reset_jacobian`: d(candidate pre-activation)/d(reset gate), diagonal for torch, full for Cho.
- `param_count`, `matmul_macs_per_step`: exact sizes and multiply-adds of RNN, GRU and LSTM.
- `train_charlm_bits`: train a `CharLM` of a given cell (the library's `Trainer` on
  `random_windows`) and return its held-out bits per char; ``eval_at`` also scores it at earlier
  steps of the same run.
- `matched_hidden_size`: the GRU width whose `CharLM` has the LSTM `CharLM`'s parameter count.
- `solved_by_length`: which adding runs of the long-range benchmark are solved, by the course's
  one standard.
- `check_claims`: the chapter's claims on its measurements, raising when one fails.

Shapes follow the notation page: x (N, D), h (N, H), Wx (D, 3H), Wh (H, 3H), bx and bh (3H,),
gate blocks in the order r, z, n.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from minirnn.torch.adding import solved
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
                      batch: int = 32, lr: float = 6e-3, seed: int = 0, n_val: int = 128,
                      eval_at: tuple[int, ...] = ()) -> tuple[float, list[float]] | tuple[
                          float, list[float], dict[int, float]]:
    """Train a one-layer `CharLM` (``cell`` "lstm" or "gru") with Adam and gradient-norm clipping
    at 1 on random windows of ``train_ids`` (1-D ids); return its mean loss on ``n_val`` random
    windows of ``val_ids`` in bits per character, and the training loss per step (nats).

    With ``eval_at`` (steps below ``steps``) a third item is returned: {step: held-out bits per
    character after that many steps of the same run} (the last entry is ``steps``)."""
    if train_ids.dim() != 1 or val_ids.dim() != 1:
        raise ValueError(f"train_ids, val_ids: expected 1-D ids, got {tuple(train_ids.shape)}, "
                         f"{tuple(val_ids.shape)}")
    if any(not 0 < k < steps for k in eval_at):
        raise ValueError(f"eval_at: expected steps between 1 and {steps - 1}, got {eval_at}")
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    model = CharLM(vocab_size, embed_size=32, hidden_size=hidden_size, cell=cell)
    data = FreshBatches(lambda step: random_windows(train_ids, batch, T, g))
    trainer = Trainer(model, data, optimizer="adam", lr=lr, clip_norm=1.0, progress=False)
    x, y = random_windows(val_ids, n_val, T, torch.Generator().manual_seed(seed + 12345))

    def held_out() -> float:
        model.eval()
        with torch.no_grad():
            val, _ = model.loss(x, y)
        model.train()
        return float(val) / math.log(2)

    scores = {}
    for stage_end in (*sorted(eval_at), steps):
        trainer.fit(stage_end - trainer.step_count)
        scores[stage_end] = held_out()
    curve = list(trainer.history["loss"])
    if eval_at:
        return scores[steps], curve, scores
    return scores[steps], curve


def matched_hidden_size(vocab_size: int, lstm_hidden: int, embed_size: int = 32) -> int:
    """The GRU width H whose `CharLM` has the parameter count closest to the LSTM `CharLM` of
    ``lstm_hidden`` units (same embeddings and head)."""
    def count(cell: str, H: int) -> int:
        return param_count(CharLM(vocab_size, embed_size=embed_size, hidden_size=H, cell=cell))

    target = count("lstm", lstm_hidden)
    return min(range(lstm_hidden, 2 * lstm_hidden), key=lambda H: abs(count("gru", H) - target))


# ------------------------------------------------------------------------ claims


def solved_by_length(runs: list[dict], cell: str) -> dict[int, list[bool]]:
    """{T: [solved, per seed ascending]} for one cell's adding runs of the long-range benchmark,
    by the course's standard (`minirnn.torch.adding.solved` on each run's held-out error and
    predict-the-mean baseline)."""
    out: dict[int, list[tuple[int, bool]]] = {}
    for r in runs:
        if r["task"] == "adding" and r["cell"] == cell:
            out.setdefault(r["T"], []).append((r["seed"], solved(r["error"], r["baseline"])))
    return {T: [s for _, s in sorted(pairs)] for T, pairs in sorted(out.items())}


def check_claims(m: dict) -> None:
    """Assert the chapter's claims on its measurements ``m``; raises AssertionError naming the
    claim that fails.

    Keys: "numpy_err" (max |numpy - torch| of the GRU), "flip_err", "offdiag" {"torch", "cho"},
    "param_ratio" (GRU / LSTM parameters, several sizes), "charlm" {"lstm" | "gru": {steps:
    [held-out bits per seed]}} (equal parameter counts, seeds paired by position), "adding"
    {"lstm" | "gru": `solved_by_length`}, "lstm_bias1_T100" [(held-out MSE, baseline) per seed]
    of chapter 12's bias-1 LSTM.
    """
    def claim(ok: bool, text: str) -> None:
        if not ok:
            raise AssertionError(f"chapter 14 claim fails: {text}")

    claim(m["numpy_err"] < 1e-12, "the NumPy GRU matches torch.nn.GRU to 1e-12")
    claim(m["flip_err"] < 1e-14, "the flipped convention converts exactly")
    claim(m["offdiag"]["torch"] == 0.0 and m["offdiag"]["cho"] > 0.5,
          "torch's reset Jacobian is diagonal, Cho's is full")
    claim(all(r == 0.75 for r in m["param_ratio"]), "a GRU has 3/4 of an LSTM's parameters")
    bits = m["charlm"]
    claim(all(len(bits[c][k]) >= 3 for c in ("lstm", "gru") for k in bits["lstm"]),
          "the character models ran 3 seeds")
    for steps in bits["lstm"]:
        gaps = np.array(bits["lstm"][steps]) - np.array(bits["gru"][steps])
        claim(bool(np.all(gaps > 0)), f"after {steps} steps the GRU is ahead in every seed")
    last = max(bits["lstm"])
    gaps = np.array(bits["lstm"][last]) - np.array(bits["gru"][last])
    spread = max(np.ptp(bits[c][last]) for c in ("lstm", "gru"))
    claim(round(float(gaps.min()), 2) == 0.18 and round(float(gaps.max()), 2) == 0.34,
          f"after {last} steps the GRU is ahead by 0.18 to 0.34 bits")
    claim(gaps.min() > spread and round(float(spread), 2) == 0.11,
          "by more than the spread between seeds of either cell (0.11 bits)")
    lstm, gru = m["adding"]["lstm"], m["adding"]["gru"]
    claim(all(all(v) for v in gru.values()) and max(gru) == 200,
          "the GRU solves the adding problem at every length up to 200 in every seed")
    claim(all(all(v) for T, v in lstm.items() if T <= 30)
          and not any(any(v) for T, v in lstm.items() if T >= 100),
          "the LSTM solves T <= 30 and no seed from 100")
    claim(all(sum(gru[T]) >= sum(lstm[T]) for T in lstm),
          "the GRU solves every length the LSTM solves")
    bias1 = m["lstm_bias1_T100"]
    claim(len(bias1) >= 3 and all(not solved(e, b) and e > 0.9 * b for e, b in bias1),
          "chapter 12's bias-1 LSTM stays at the predict-the-mean error at T = 100")
