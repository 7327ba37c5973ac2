"""Chapter 13: Bidirectional RNNs. What a bidirectional layer sees, and what it must not be used
for.

- `appears_later_task`, `unidirectional_ceiling`: a tagging task whose tag at step t is whether
  the token x_t occurs again after t, and the exact best accuracy any left-to-right model can
  reach on it (the future is independent of the past, so it can only guess by position).
- `train_tagger`, `tag_accuracy`: train a `SequenceTagger` on it (the library's `Trainer`, as
  every training here) and score it.
- `first_token_task`, `LastOutputClassifier`, `train_classifier`: a many-to-one task whose label
  is the first token, and a classifier that reads `output[:, -1]` instead of both final states.
- `BidirectionalLM`, `train_lm`, `loss_by_position`: a "language model" with a bidirectional
  layer, trained to predict x_{t+1}, and its loss at each position of a window.

Batch-first throughout: ids (N, T), tags (N, T), logits (N, T, C).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from minirnn.torch.models import SequenceClassifier, SequenceTagger, recurrent_layer
from minirnn.torch.train import FreshBatches, Trainer, random_windows

# --------------------------------------------------------------------------- tagging task


def appears_later_task(n: int, T: int, V: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """ids (n, T) uniform in [0, V); tags (n, T): 1 where ids[:, t] occurs again at some s > t."""
    if n < 1 or T < 2 or V < 2:
        raise ValueError(f"n, T, V: expected n >= 1, T >= 2, V >= 2, got {n}, {T}, {V}")
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(V, (n, T), generator=g)
    same = ids[:, :, None] == ids[:, None, :]  # same[n, t, s]
    later = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)  # s > t
    tags = (same & later).any(dim=-1).long()
    return ids, tags


def unidirectional_ceiling(T: int, V: int) -> float:
    """The best mean per-step accuracy of any model that sees only x_1..x_t on
    `appears_later_task`: the future tokens are independent of the past, so the tag at t is 1 with
    probability p_t = 1 - (1 - 1/V)^(T-1-t) whatever was read, and the best guess scores
    max(p_t, 1 - p_t)."""
    if T < 2 or V < 2:
        raise ValueError(f"T, V: expected T >= 2 and V >= 2, got {T}, {V}")
    p = 1 - (1 - 1 / V) ** (T - 1 - np.arange(T))
    return float(np.maximum(p, 1 - p).mean())


def train_tagger(bidirectional: bool, T: int = 20, V: int = 6, hidden_size: int = 32,
                 steps: int = 300, batch: int = 64, lr: float = 1e-2, seed: int = 0,
                 cell: str = "gru") -> SequenceTagger:
    """A `SequenceTagger` trained with Adam on fresh batches of `appears_later_task`."""
    torch.manual_seed(seed)
    model = SequenceTagger(0, hidden_size, 2, cell=cell, vocab_size=V, embed_size=16,
                           bidirectional=bidirectional)
    data = FreshBatches(lambda step: appears_later_task(batch, T, V,
                                                        seed=100_000 * (seed + 1) + step))
    Trainer(model, data, optimizer="adam", lr=lr, progress=False).fit(steps)
    return model


def tag_accuracy(model: nn.Module, ids: torch.Tensor, tags: torch.Tensor) -> np.ndarray:
    """Accuracy at each position, shape (T,)."""
    return (model.predict(ids) == tags).float().mean(dim=0).numpy()


# --------------------------------------------------------------------------- many-to-one


def first_token_task(n: int, T: int, V: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """ids (n, T) uniform in [0, V); label (n,) = ids[:, 0], the token read first."""
    if n < 1 or T < 1 or V < 2:
        raise ValueError(f"n, T, V: expected n >= 1, T >= 1, V >= 2, got {n}, {T}, {V}")
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(V, (n, T), generator=g)
    return ids, ids[:, 0].clone()


class LastOutputClassifier(SequenceClassifier):
    """A bidirectional `SequenceClassifier` that classifies from ``output[:, -1]`` (the layer's
    output at the last step, both halves) instead of the two directions' final states. The
    backward half of that output has read only the last token."""

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        if lengths is not None:
            raise ValueError("lengths: LastOutputClassifier reads output[:, -1]; pass no lengths")
        out, _ = self.encoder(x)
        return self.head(out[:, -1])


class MeanPoolClassifier(SequenceClassifier):
    """A bidirectional `SequenceClassifier` that classifies from the mean of ``output`` over
    time (both halves). Every forward half has read the first token; of the backward halves only
    the one at step 1 has."""

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        if lengths is not None:
            raise ValueError("lengths: MeanPoolClassifier averages every step; pass no lengths")
        out, _ = self.encoder(x)
        return self.head(out.mean(dim=1))


def train_classifier(read: str, T: int = 30, V: int = 6, hidden_size: int = 32,
                     steps: int = 200, batch: int = 64, lr: float = 1e-2, seed: int = 0,
                     cell: str = "rnn") -> SequenceClassifier:
    """Train a bidirectional classifier on `first_token_task`; ``read`` is "final_states" (the
    course's `SequenceClassifier`), "last_output" (`LastOutputClassifier`) or "mean_pool"
    (`MeanPoolClassifier`)."""
    kinds = {"final_states": SequenceClassifier, "last_output": LastOutputClassifier,
             "mean_pool": MeanPoolClassifier}
    if read not in kinds:
        raise ValueError(f"read must be one of {tuple(kinds)}, got {read!r}")
    torch.manual_seed(seed)
    model = kinds[read](0, hidden_size, V, cell=cell, vocab_size=V, embed_size=16,
                        bidirectional=True)
    data = FreshBatches(lambda step: first_token_task(batch, T, V,
                                                      seed=100_000 * (seed + 1) + step))
    Trainer(model, data, optimizer="adam", lr=lr, progress=False).fit(steps)
    return model


# --------------------------------------------------------------------------- language model


class BidirectionalLM(nn.Module):
    """Embedding, one recurrent layer (bidirectional or not), head: ids (N, T) -> logits (N, T, V)
    for the *next* character. With ``bidirectional=True`` the backward half at step t has read
    x_{t+1}, the very character it is asked to predict (at every step but the last)."""

    def __init__(self, vocab_size: int, hidden_size: int = 64, bidirectional: bool = True,
                 cell: str = "gru") -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, 32)
        self.rnn = recurrent_layer(cell, 32, hidden_size, bidirectional=bidirectional)
        self.head = nn.Linear(hidden_size * (2 if bidirectional else 1), vocab_size)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(self.embed(ids))
        return self.head(out)

    def loss(self, ids: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Mean next-character cross-entropy (nats) of targets (N, T)."""
        logits = self(ids)
        return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                           targets.reshape(-1))


def _shifted_windows(data: torch.Tensor, n: int, T: int, g: torch.Generator, shift: int
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """n random windows x (n, T) of data and targets y (n, T) = the characters ``shift`` ahead."""
    if shift == 1:
        return random_windows(data, n, T, g)
    if shift < 1:
        raise ValueError(f"shift: expected at least 1, got {shift}")
    starts = torch.randint(len(data) - T - shift + 1, (n,), generator=g)
    rows = starts[:, None] + torch.arange(T)
    return data[rows], data[rows + shift]


def train_lm(data: torch.Tensor, vocab_size: int, bidirectional: bool, T: int = 32,
             steps: int = 300, batch: int = 32, lr: float = 5e-3, seed: int = 0,
             shift: int = 1) -> tuple[BidirectionalLM, list[float]]:
    """Train on random windows of ``data`` (1-D ids) to predict the character ``shift`` ahead
    (1: the next one); returns the model and the training loss (nats per character) at every
    step."""
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    model = BidirectionalLM(vocab_size, bidirectional=bidirectional)
    windows = FreshBatches(lambda step: _shifted_windows(data, batch, T, g, shift))
    losses = Trainer(model, windows, optimizer="adam", lr=lr, progress=False).fit(steps)["loss"]
    return model, losses


@torch.no_grad()
def loss_by_position(model: BidirectionalLM, data: torch.Tensor, T: int = 32, n: int = 256,
                     seed: int = 1, shift: int = 1) -> np.ndarray:
    """Mean loss (nats) of predicting the character ``shift`` ahead at each position of ``n``
    random windows, shape (T,)."""
    g = torch.Generator().manual_seed(seed)
    x, y = _shifted_windows(data, n, T, g, shift)
    logits = model(x)
    loss = nn.functional.cross_entropy(logits.transpose(1, 2), y, reduction="none")
    return loss.mean(dim=0).numpy()


# --------------------------------------------------------------------------- claims


def check_claims(m: dict) -> None:
    """Assert the chapter's claims on its measurements ``m`` (keys as the notebook names them);
    raises AssertionError naming the claim that fails.

    Keys: "ceiling" (`unidirectional_ceiling`), "tagger" {"unidirectional" | "bidirectional":
    (T,) accuracy by position}, "read_acc" {"final_states" | "last_output" | "mean_pool" (the
    lowest over seeds): accuracy}, "packed_err" and "padded_err" (lists per sequence, longest
    first), "fwd_err", "lm_loss" {"unidirectional" | "bidirectional": (T,) loss by position},
    "shift2_loss" (T,).
    """
    def claim(ok: bool, text: str) -> None:
        if not ok:
            raise AssertionError(f"chapter 13 claim fails: {text}")

    claim(round(m["ceiling"], 3) == 0.818, "the left-to-right ceiling is 0.818")
    uni, bidi = m["tagger"]["unidirectional"].mean(), m["tagger"]["bidirectional"].mean()
    claim(abs(uni - m["ceiling"]) < 0.02, "the left-to-right tagger reaches the ceiling")
    claim(bidi >= 0.97, "the bidirectional tagger gets to about 100%")
    acc = m["read_acc"]
    claim(acc["final_states"] >= 0.95, "reading both final states solves first_token_task")
    claim(acc["last_output"] <= acc["final_states"] - 0.2,
          "a classifier reading output[:, -1] trains far worse")
    claim(acc["mean_pool"] >= 0.8 and acc["mean_pool"] > acc["last_output"] + 0.2,
          "mean pooling (its worst seed) learns first_token_task, far above output[:, -1]")
    claim(max(m["packed_err"]) < 1e-3, "with lengths a ragged batch equals each sequence alone")
    claim(m["padded_err"][0] < 1e-3 and min(m["padded_err"][1:]) > 0.05,
          "without lengths the shorter sequences are wrong")
    claim(max(m["fwd_err"]) < 1e-3, "only in the backward half")
    lm_uni, lm_bi = m["lm_loss"]["unidirectional"], m["lm_loss"]["bidirectional"]
    claim(lm_bi[:-1].mean() < 0.3 * lm_uni[:-1].mean(), "the bidirectional LM reads the answer")
    claim(lm_bi[-1] > lm_uni[:-1].mean(), "at the last position it is no better than honest")
    s2 = m["shift2_loss"]
    claim(s2[:-2].mean() < 0.3 * min(s2[-2], s2[-1]),
          "shifted by two, all but the last two positions see their target")
