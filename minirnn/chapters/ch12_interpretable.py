"""Chapter 12: looking for interpretable LSTM cells in a character model.

A cell "tracks" a feature of the text when its cell state c_t correlates with an indicator of
that feature. With many cells some will correlate by chance, so a cell is chosen on one half of
the held-out text and its correlation is reported on the other half, and the same selection is
made on an untrained network as the baseline.

- `inside_parentheses`, `inside_backticks`: per-character indicators of readable structure;
- `train_char_lstm`: a character LSTM (embedding, torch.nn.LSTM, linear head) trained with Adam on
  random chunks;
- `cell_states`: the cell state c_t at every character, (T, H);
- `select_and_test`: pick the cell with the largest |correlation| on the selection half, report
  its correlation (sign chosen on the selection half) on the test half.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def inside_parentheses(text: str) -> np.ndarray:
    """(len(text),) bool: True at characters read while at least one '(' is open.

    The opening '(' itself counts as inside, the closing ')' as outside; depth never goes below 0.
    """
    if not isinstance(text, str):
        raise TypeError(f"text: expected str, got {type(text).__name__}")
    out, depth = np.zeros(len(text), dtype=bool), 0
    for n, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(depth - 1, 0)
        out[n] = depth > 0
    return out


def inside_backticks(text: str) -> np.ndarray:
    """(len(text),) bool: True between an opening backtick (included) and its closing one."""
    if not isinstance(text, str):
        raise TypeError(f"text: expected str, got {type(text).__name__}")
    out, inside = np.zeros(len(text), dtype=bool), False
    for n, ch in enumerate(text):
        if ch == "`":
            inside = not inside
            out[n] = True
        else:
            out[n] = inside
    return out


class CharLSTM(nn.Module):
    """ids (N, T) -> logits (N, T, V): embedding (V, E), torch.nn.LSTM (E -> H), linear head."""

    def __init__(self, vocab_size: int, embed_size: int = 32, hidden_size: int = 128,
                 seed: int = 0) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.embed = nn.Embedding(vocab_size, embed_size)
        self.lstm = nn.LSTM(embed_size, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(self.embed(ids))
        return self.head(out)


def train_char_lstm(ids: torch.Tensor, vocab_size: int, steps: int, hidden_size: int = 128,
                    chunk: int = 128, batch_size: int = 32, lr: float = 3e-3,
                    seed: int = 0) -> tuple[CharLSTM, list[float]]:
    """Train a CharLSTM on random chunks of ids (1-D long tensor). Returns (model, losses)."""
    if ids.ndim != 1 or len(ids) <= chunk + 1:
        raise ValueError(f"ids: expected a 1-D tensor longer than chunk + 1 = {chunk + 1}, got "
                         f"shape {tuple(ids.shape)}")
    model = CharLSTM(vocab_size, hidden_size=hidden_size, seed=seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    g = torch.Generator().manual_seed(seed)
    losses = []
    for _ in range(steps):
        starts = torch.randint(0, len(ids) - chunk - 1, (batch_size,), generator=g)
        x = torch.stack([ids[s:s + chunk] for s in starts])
        y = torch.stack([ids[s + 1:s + chunk + 1] for s in starts])
        loss = nn.functional.cross_entropy(model(x).reshape(-1, vocab_size), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(float(loss.detach()))
    return model, losses


@torch.no_grad()
def cell_states(model: CharLSTM, ids: torch.Tensor) -> np.ndarray:
    """Run the model's LSTM over ids (T,) from a zero state; return every cell state c_t (T, H).

    torch.nn.LSTM returns only h_t per step, so the step is written out (gates i, f, g, o)."""
    if ids.ndim != 1:
        raise ValueError(f"ids: expected shape (T,), got {tuple(ids.shape)}")
    lstm = model.lstm
    H = lstm.hidden_size
    Wx, Wh = lstm.weight_ih_l0.T, lstm.weight_hh_l0.T
    drive = model.embed(ids) @ Wx + lstm.bias_ih_l0 + lstm.bias_hh_l0  # (T, 4H)
    h, c = torch.zeros(H), torch.zeros(H)
    out = torch.empty(len(ids), H)
    for t in range(len(ids)):
        a = drive[t] + h @ Wh
        i, f = torch.sigmoid(a[:H]), torch.sigmoid(a[H:2 * H])
        g, o = torch.tanh(a[2 * H:3 * H]), torch.sigmoid(a[3 * H:])
        c = f * c + i * g
        h = o * torch.tanh(c)
        out[t] = c
    return out.numpy()


def _correlations(acts: np.ndarray, label: np.ndarray) -> np.ndarray:
    a = acts - acts.mean(axis=0)
    y = label.astype(float) - label.mean()
    denom = np.sqrt((a ** 2).sum(axis=0) * (y ** 2).sum()) + 1e-12
    return (a * y[:, None]).sum(axis=0) / denom


def select_and_test(acts: np.ndarray, label: np.ndarray) -> dict[str, float]:
    """Choose a cell on the first half, test it on the second.

    acts: (T, H) cell states; label: (T,) bool indicator. Returns {"unit": the cell with the
    largest |Pearson correlation| on acts[:T//2], "select_corr": that correlation made positive,
    "test_corr": the same cell's correlation on acts[T//2:], with the sign from the selection}.
    """
    if acts.ndim != 2 or label.shape != acts.shape[:1]:
        raise ValueError(f"acts and label: expected shapes (T, H) and (T,), got {acts.shape} and "
                         f"{label.shape}")
    half = len(label) // 2
    select = _correlations(acts[:half], label[:half])
    unit = int(np.argmax(np.abs(select)))
    sign = np.sign(select[unit])
    test = _correlations(acts[half:, [unit]], label[half:])[0]
    return {"unit": unit, "select_corr": float(abs(select[unit])), "test_corr": float(sign * test)}
