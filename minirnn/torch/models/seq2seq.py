"""Seq2Seq, many-to-many through an encoder and a decoder: ids (N, S) -> ids (N, T)."""

from __future__ import annotations

import torch
from torch import nn

from minirnn.data.tokens import Vocab
from minirnn.torch import decode
from minirnn.torch.models.layers import (
    SequenceEncoder,
    State,
    check_ids,
    recurrent_layer,
    token_cross_entropy,
)


class Seq2Seq(nn.Module):
    """Encoder-decoder: the encoder's final state starts the decoder, which is trained with
    teacher forcing (it reads the true previous target token) and decodes greedily or by beam.

    Token ids follow ``Vocab``: 0 ``<pad>``, 1 ``<bos>``, 2 ``<eos>``.
    """

    def __init__(self, src_vocab_size: int, tgt_vocab_size: int, hidden_size: int = 128,
                 embed_size: int = 32, cell: str = "gru", num_layers: int = 1,
                 backend: str = "minirnn", device: str | torch.device = "cpu") -> None:
        super().__init__()
        self.tgt_vocab_size = tgt_vocab_size
        self.encoder = SequenceEncoder(0, hidden_size, cell, src_vocab_size, embed_size,
                                        num_layers, False, backend)
        self.tgt_embed = nn.Embedding(tgt_vocab_size, embed_size)
        self.decoder = recurrent_layer(cell, embed_size, hidden_size, num_layers,
                                       backend=backend)
        self.head = nn.Linear(hidden_size, tgt_vocab_size)
        self.to(device)

    def encode(self, src: torch.Tensor, src_lengths: torch.Tensor | None = None) -> State:
        """src (N, S) -> the decoder's initial state."""
        return self.encoder(src, src_lengths)[1]

    def forward(self, src: torch.Tensor, src_lengths: torch.Tensor | None,
                tgt_in: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: tgt_in (N, T) starts with ``<bos>``; returns logits (N, T, V)."""
        check_ids("tgt_in", tgt_in, self.tgt_vocab_size)
        out, _ = self.decoder(self.tgt_embed(tgt_in), self.encode(src, src_lengths))
        return self.head(out)

    def loss(self, src: torch.Tensor, src_lengths: torch.Tensor | None, tgt_in: torch.Tensor,
             tgt_out: torch.Tensor) -> torch.Tensor:
        return token_cross_entropy(self(src, src_lengths, tgt_in), tgt_out)

    def step(self, tokens: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """One decoder step: tokens (B,) -> logits (B, V), next state."""
        out, state = self.decoder(self.tgt_embed(tokens[:, None]), state)
        return self.head(out[:, 0]), state

    @torch.no_grad()
    def translate(self, src: torch.Tensor, src_lengths: torch.Tensor | None = None,
                  max_len: int = 40, beam_width: int = 1) -> list[list[int]]:
        """Decode each source sequence; returns N lists of target ids without ``<eos>``."""
        state = self.encode(src, src_lengths)
        results = []
        for i in range(src.shape[0]):
            one = decode.select_state(state, torch.tensor([i], device=src.device))
            start = torch.tensor([Vocab.BOS], device=src.device)
            results.append(decode.decode_one(self.step, start, one, max_len, beam_width,
                                             Vocab.EOS))
        return results
