"""An attention captioner (Xu et al. 2015, "soft" attention), small enough to read in one go.

The other captioners see one image vector v, the same at every step. This one keeps the CNN's
spatial feature map as R = 16 region vectors phi_1..phi_R (one per cell of its 4x4 grid) and, before
each word, computes a step-dependent context (chapter 9's notation; a row-vector convention)

    beta_ti  = tanh(phi_i W_phi + b_phi + h_{t-1} W_q) w_beta   one score per region     (R,)
    alpha_t  = softmax(beta_t)                                  where to look, sums to 1 (R,)
    v_t      = sum_i alpha_ti phi_i                             the context              (C,)

and feeds [embedding of the previous word, v_t] to the recurrent cell. As in Xu et al., the
initial state comes from the mean region vector. States keep the batch on dim 1, as torch.nn's
``h`` of shape (1, N, H) does, so ``minirnn.torch.decode`` can drive ``step``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from minirnn.data.tokens import IGNORE_INDEX
from minirnn.torch import cells
from minirnn.torch.models import ShapesEncoder

CELL_CLASSES = {"minirnn": {"rnn": cells.RNNCell, "lstm": cells.LSTMCell},
                "torch": {"rnn": nn.RNNCell, "lstm": nn.LSTMCell}}


class AttentionCaptioner(nn.Module):
    """Caption images (N, 3, 32, 32) with a decoder that attends over the frozen CNN's regions.

    ``cell`` is "rnn" (tanh) or "lstm", from ``backend`` "minirnn" or "torch". ``forward`` gives
    logits (N, T, V) for teacher forcing;
    ``step`` and ``start`` serve the decoders; ``attention_weights`` returns alpha (N, T, R).
    """

    CELLS = ("rnn", "lstm")

    def __init__(self, vocab_size: int, encoder: ShapesEncoder, hidden_size: int = 32,
                 embed_size: int = 16, attention_size: int = 32, cell: str = "lstm",
                 backend: str = "minirnn") -> None:
        super().__init__()
        if cell not in self.CELLS:
            raise ValueError(f"cell must be one of {self.CELLS}, got {cell!r}")
        if backend not in CELL_CLASSES:
            raise ValueError(f"backend must be one of {tuple(CELL_CLASSES)}, got {backend!r}")
        self.vocab_size, self.cell_type, self.hidden_size = vocab_size, cell, hidden_size
        self.encoder = encoder
        for p in self.encoder.parameters():  # pretrained and frozen
            p.requires_grad_(False)
        channels = encoder.conv[-2].out_channels  # C = 32: the last convolution's channels
        self.channels = channels
        self.init_h = nn.Linear(channels, hidden_size)
        self.init_c = nn.Linear(channels, hidden_size) if cell == "lstm" else None
        self.key = nn.Linear(channels, attention_size)                 # phi_i W_phi + b_phi
        self.query = nn.Linear(hidden_size, attention_size, bias=False)  # h_{t-1} W_q
        self.score = nn.Linear(attention_size, 1, bias=False)          # w_beta
        self.embed = nn.Embedding(vocab_size, embed_size)
        self.cell = CELL_CLASSES[backend][cell](embed_size + channels, hidden_size)
        self.head = nn.Linear(hidden_size, vocab_size)

    def train(self, mode: bool = True) -> AttentionCaptioner:
        super().train(mode)
        self.encoder.eval()  # frozen: always in evaluation mode
        return self

    def regions(self, images: torch.Tensor) -> torch.Tensor:
        """The CNN's feature map as region vectors: images (N, 3, 32, 32) -> (N, R=16, C=32)."""
        with torch.no_grad():
            return self.encoder.feature_map(images).flatten(2).transpose(1, 2)

    def attend(self, h: torch.Tensor, regions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """h (N, H), regions (N, R, C) -> context v_t (N, C) and weights alpha (N, R)."""
        beta = self.score(torch.tanh(self.key(regions) + self.query(h)[:, None])).squeeze(-1)
        alpha = F.softmax(beta, dim=-1)
        return (alpha[:, :, None] * regions).sum(1), alpha

    def start(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The state before the first word: (h, regions) or (h, c, regions), each with the batch
        on dim 1: h and c (1, N, H), regions (1, N, R, C)."""
        regions = self.regions(images)
        mean = regions.mean(1)
        h = torch.tanh(self.init_h(mean))[None]
        if self.init_c is None:
            return h, regions[None]
        return h, torch.tanh(self.init_c(mean))[None], regions[None]

    def _advance(self, tokens: torch.Tensor, state: tuple[torch.Tensor, ...]
                 ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...], torch.Tensor]:
        """One step: tokens (N,) -> logits (N, V), next state, alpha (N, R)."""
        regions = state[-1][0]
        h = state[0][0]
        context, alpha = self.attend(h, regions)
        x = torch.cat([self.embed(tokens), context], dim=-1)
        if self.init_c is None:
            h = self.cell(x, h)
            new_state = (h[None], state[-1])
        else:
            h, c = self.cell(x, (h, state[1][0]))
            new_state = (h[None], c[None], state[-1])
        return self.head(h), new_state, alpha

    def step(self, tokens: torch.Tensor, state: tuple[torch.Tensor, ...]
             ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """Decoding step for ``minirnn.torch.decode``: tokens (B,) -> logits (B, V), state."""
        logits, state, _ = self._advance(tokens, state)
        return logits, state

    def _run(self, images: torch.Tensor, captions_in: torch.Tensor
             ) -> tuple[torch.Tensor, torch.Tensor]:
        if not isinstance(captions_in, torch.Tensor) or captions_in.dtype != torch.long:
            raise TypeError("captions_in must be a LongTensor of token ids")
        if captions_in.dim() != 2 or captions_in.shape[0] != images.shape[0]:
            raise ValueError(f"captions_in must have shape (N={images.shape[0]}, T), "
                             f"got {tuple(captions_in.shape)}")
        state = self.start(images)
        logits, alphas = [], []
        for t in range(captions_in.shape[1]):
            out, state, alpha = self._advance(captions_in[:, t], state)
            logits.append(out)
            alphas.append(alpha)
        return torch.stack(logits, 1), torch.stack(alphas, 1)

    def forward(self, images: torch.Tensor, captions_in: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: captions_in (N, T) starting with ``<bos>`` -> logits (N, T, V)."""
        return self._run(images, captions_in)[0]

    def attention_weights(self, images: torch.Tensor, captions_in: torch.Tensor
                          ) -> torch.Tensor:
        """alpha (N, T, R): where the decoder looked before each word of captions_in (N, T)."""
        with torch.no_grad():
            return self._run(images, captions_in)[1]

    def loss(self, images: torch.Tensor, captions_in: torch.Tensor,
             captions_out: torch.Tensor) -> torch.Tensor:
        logits = self(images, captions_in)
        return F.cross_entropy(logits.reshape(-1, self.vocab_size), captions_out.reshape(-1),
                               ignore_index=IGNORE_INDEX)

