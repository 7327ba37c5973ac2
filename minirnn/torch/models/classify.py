"""Classifying and tagging: one-to-one, many-to-one and synced many-to-many.

    Classifier          one-to-one      x (N, D)                  -> class (N,)
    SequenceClassifier  many-to-one     x (N, T, D) or ids (N, T) -> class (N,) or value (N,)
    SequenceTagger      synced m-to-m   x (N, T, D) or ids (N, T) -> tag (N, T)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from minirnn.torch.models.layers import SequenceEncoder, State, check_features, token_cross_entropy


class Classifier(nn.Module):
    """One-to-one: a two-layer perceptron, x (N, D) -> logits (N, C). The baseline the recurrent
    architectures generalise."""

    def __init__(self, input_size: int, hidden_size: int, num_classes: int,
                 device: str | torch.device = "cpu") -> None:
        super().__init__()
        self.input_size = input_size
        self.net = nn.Sequential(nn.Linear(input_size, hidden_size), nn.Tanh(),
                                 nn.Linear(hidden_size, num_classes))
        self.to(device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_features("x", x, self.input_size, rank=2)
        return self.net(x)

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(self(x), y)

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        return self(x).argmax(-1)


def _final_hidden(state: State, bidirectional: bool) -> torch.Tensor:
    """The last layer's final hidden state (N, H), both directions concatenated (N, 2H)."""
    h = state[0] if isinstance(state, tuple) else state
    return torch.cat([h[-2], h[-1]], dim=-1) if bidirectional else h[-1]


class SequenceClassifier(nn.Module):
    """Many-to-one: read the whole sequence, classify (or regress) from the final hidden state.

    Inputs are features x (N, T, input_size), or token ids (N, T) when ``vocab_size`` is given.
    ``objective="classify"`` gives logits (N, num_classes) and cross-entropy;
    ``objective="regress"`` gives values (N,) (num_classes must be 1) and mean squared error.
    """

    def __init__(self, input_size: int, hidden_size: int, num_classes: int, cell: str = "lstm",
                 vocab_size: int | None = None, embed_size: int = 32, num_layers: int = 1,
                 bidirectional: bool = False, objective: str = "classify",
                 backend: str = "minirnn", device: str | torch.device = "cpu") -> None:
        super().__init__()
        if objective not in ("classify", "regress"):
            raise ValueError(f"objective must be 'classify' or 'regress', got {objective!r}")
        if objective == "regress" and num_classes != 1:
            raise ValueError(f"objective='regress' needs num_classes=1, got {num_classes}")
        self.objective, self.bidirectional = objective, bidirectional
        self.encoder = SequenceEncoder(input_size, hidden_size, cell, vocab_size, embed_size,
                                        num_layers, bidirectional, backend)
        self.head = nn.Linear(hidden_size * (2 if bidirectional else 1), num_classes)
        self.to(device)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        _, state = self.encoder(x, lengths)
        out = self.head(_final_hidden(state, self.bidirectional))
        return out.squeeze(-1) if self.objective == "regress" else out

    def loss(self, x: torch.Tensor, y: torch.Tensor,
             lengths: torch.Tensor | None = None) -> torch.Tensor:
        out = self(x, lengths)
        return F.mse_loss(out, y) if self.objective == "regress" else F.cross_entropy(out, y)

    @torch.no_grad()
    def predict(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        out = self(x, lengths)
        return out if self.objective == "regress" else out.argmax(-1)


class SequenceTagger(nn.Module):
    """Synced many-to-many: one tag per step, x (N, T, D) or ids (N, T) -> logits (N, T, C).
    ``bidirectional=True`` lets each tag see the whole sequence (fine for tagging, never for a
    generator, which would see the future)."""

    def __init__(self, input_size: int, hidden_size: int, num_tags: int, cell: str = "lstm",
                 vocab_size: int | None = None, embed_size: int = 32, num_layers: int = 1,
                 bidirectional: bool = False, backend: str = "minirnn",
                 device: str | torch.device = "cpu") -> None:
        super().__init__()
        self.encoder = SequenceEncoder(input_size, hidden_size, cell, vocab_size, embed_size,
                                        num_layers, bidirectional, backend)
        self.head = nn.Linear(hidden_size * (2 if bidirectional else 1), num_tags)
        self.to(device)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        out, _ = self.encoder(x, lengths)
        return self.head(out)

    def loss(self, x: torch.Tensor, tags: torch.Tensor,
             lengths: torch.Tensor | None = None) -> torch.Tensor:
        """tags (N, T); IGNORE_INDEX marks padding."""
        return token_cross_entropy(self(x, lengths), tags)

    @torch.no_grad()
    def predict(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        return self(x, lengths).argmax(-1)
