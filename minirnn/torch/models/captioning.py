"""Image captioning, one-to-many: images (N, 3, 32, 32) -> words (N, T).

ShapesEncoder is the small CNN (pretrained by ``pretrain_encoder``, then frozen); CaptioningModel
is the recurrent decoder, with the three places the image vector can enter. Assignment A3 cuts
``CaptioningModel.start`` and ``CaptioningModel._inputs`` out of this file.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from minirnn.data.tokens import Vocab
from minirnn.torch import decode
from minirnn.torch.models.layers import State, check_ids, recurrent_layer, token_cross_entropy


class ShapesEncoder(nn.Module):
    """A small CNN for the 32x32 shapes images. ``feature_map`` (N, 32, 4, 4) keeps the spatial
    layout (for an attention decoder); ``features`` (N, feature_size) is the penultimate layer,
    the image vector v; ``forward`` classifies every grid cell, (N, 9, 13), its pretraining task."""

    def __init__(self, feature_size: int = 128, num_cells: int = 9, num_classes: int = 13
                 ) -> None:
        super().__init__()
        self.feature_size, self.num_cells, self.num_classes = feature_size, num_cells, num_classes
        # stride-2 convolutions halve the image three times: 32 -> 16 -> 8 -> 4 (cheap on a CPU)
        self.conv = nn.Sequential(
            nn.Conv2d(3, 16, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(32, 32, 3, stride=2, padding=1), nn.ReLU(),
        )
        self.fc = nn.Linear(32 * 4 * 4, feature_size)
        self.classify = nn.Linear(feature_size, num_cells * num_classes)

    def feature_map(self, images: torch.Tensor) -> torch.Tensor:
        if images.dim() != 4 or images.shape[1:] != (3, 32, 32):
            raise ValueError(f"images must have shape (N, 3, 32, 32), got {tuple(images.shape)}")
        return self.conv(images)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.fc(self.feature_map(images).flatten(1)))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        logits = self.classify(self.features(images))
        return logits.view(-1, self.num_cells, self.num_classes)

    def loss(self, images: torch.Tensor, cells: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(self(images).reshape(-1, self.num_classes), cells.reshape(-1))


class CaptioningModel(nn.Module):
    """One-to-many: a frozen CNN gives the image vector v (N, F); a recurrent decoder writes the
    caption. Where v enters is ``condition``:

    - ``"h0"``: v, projected, is the initial hidden state (close to Karpathy & Fei-Fei 2015, who
      add the projected image as a bias to the first step's pre-activation);
    - ``"first_input"``: v, projected to the word-embedding size, is the input before ``<bos>``
      (Vinyals et al. 2015, Show and Tell);
    - ``"every_step"``: v, projected, is concatenated to the word embedding at every step
      (Donahue et al. 2015, LRCN; m-RNN, Mao et al. 2015, instead joins v, the word and the
      recurrent state in a multimodal layer after the recurrence).

    h0 projects v to ``hidden_size`` units, the other two to ``embed_size``: pass
    ``embed_size == hidden_size`` to give every condition the image through equally many units.
    """

    CONDITIONS = ("h0", "first_input", "every_step")

    def __init__(self, vocab_size: int, encoder: ShapesEncoder, hidden_size: int = 128,
                 embed_size: int = 32, cell: str = "lstm", condition: str = "h0",
                 backend: str = "minirnn", device: str | torch.device = "cpu") -> None:
        super().__init__()
        if condition not in self.CONDITIONS:
            raise ValueError(f"condition must be one of {self.CONDITIONS}, got {condition!r}")
        self.vocab_size, self.condition, self.cell = vocab_size, condition, cell
        self.encoder = encoder
        for p in self.encoder.parameters():  # pretrained and frozen
            p.requires_grad_(False)
        feature_size = encoder.feature_size
        self.embed = nn.Embedding(vocab_size, embed_size)
        project_to = hidden_size if condition == "h0" else embed_size
        self.project = nn.Linear(feature_size, project_to)
        rnn_input = embed_size * (2 if condition == "every_step" else 1)
        self.rnn = recurrent_layer(cell, rnn_input, hidden_size, backend=backend)
        self.head = nn.Linear(hidden_size, vocab_size)
        self.to(device)

    def train(self, mode: bool = True) -> CaptioningModel:
        super().train(mode)
        self.encoder.eval()  # frozen: always in evaluation mode
        return self

    def image_vector(self, images: torch.Tensor) -> torch.Tensor:
        """v (N, F) from images (N, 3, 32, 32), without gradient into the frozen CNN."""
        with torch.no_grad():
            return self.encoder.features(images)

    def image_regions(self, images: torch.Tensor) -> torch.Tensor:
        """The CNN's spatial feature map as 16 region vectors, (N, 16, C): what an attention
        decoder (Xu et al. 2015) would attend over instead of the single vector v."""
        with torch.no_grad():
            return self.encoder.feature_map(images).flatten(2).transpose(1, 2)

    def start(self, images: torch.Tensor) -> tuple[torch.Tensor | None, State | None]:
        """(projected v, initial state): the decoder before the first word."""
        # BEGIN SOLUTION
        p = self.project(self.image_vector(images))
        if self.condition == "h0":
            h0 = torch.tanh(p)[None]
            state = (h0, torch.zeros_like(h0)) if self.cell == "lstm" else h0
            return p, state
        if self.condition == "first_input":
            _, state = self.rnn(p[:, None], None)
            return p, state
        return p, None
        # END SOLUTION

    def _inputs(self, p: torch.Tensor, words: torch.Tensor) -> torch.Tensor:
        x = self.embed(words)
        # BEGIN SOLUTION
        if self.condition == "every_step":
            x = torch.cat([x, p[:, None].expand(-1, x.shape[1], -1)], dim=-1)
        # END SOLUTION
        return x

    def forward(self, images: torch.Tensor, captions_in: torch.Tensor) -> torch.Tensor:
        """captions_in (N, T) starting with ``<bos>`` -> logits (N, T, V)."""
        check_ids("captions_in", captions_in, self.vocab_size)
        p, state = self.start(images)
        out, _ = self.rnn(self._inputs(p, captions_in), state)
        return self.head(out)

    def loss(self, images: torch.Tensor, captions_in: torch.Tensor,
             captions_out: torch.Tensor) -> torch.Tensor:
        return token_cross_entropy(self(images, captions_in), captions_out)

    def step(self, tokens: torch.Tensor, state) -> tuple[torch.Tensor, tuple]:
        """Decoding step; the state is (rnn state, p[None]) so its dim 1 is the batch."""
        rnn_state, p = state
        out, rnn_state = self.rnn(self._inputs(p[0], tokens[:, None]), rnn_state)
        return self.head(out[:, 0]), (rnn_state, p)

    @torch.no_grad()
    def caption(self, images: torch.Tensor, max_len: int = 12, beam_width: int = 1
                ) -> list[list[int]]:
        """Word ids of a caption for each image (without ``<eos>``)."""
        self.eval()
        p, state = self.start(images)
        results = []
        for i in range(images.shape[0]):
            idx = torch.tensor([i], device=images.device)
            one = (decode.select_state(state, idx), p[idx][None])
            start = torch.tensor([Vocab.BOS], device=images.device)
            results.append(decode.decode_one(self.step, start, one, max_len, beam_width,
                                             Vocab.EOS))
        return results


def pretrain_encoder(images: torch.Tensor, cells: torch.Tensor, steps: int = 300,
                     batch_size: int = 64, lr: float = 3e-3, seed: int = 0) -> ShapesEncoder:
    """Train a ShapesEncoder to name every grid cell's shape, then freeze it.
    images (N, 3, 32, 32), cells (N, 9)."""
    torch.manual_seed(seed)
    encoder = ShapesEncoder()
    optimizer = torch.optim.Adam(encoder.parameters(), lr=lr)
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        idx = torch.randint(len(images), (batch_size,), generator=g)
        loss = encoder.loss(images[idx], cells[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    encoder.eval()
    for p in encoder.parameters():
        p.requires_grad_(False)
    return encoder
