"""A small Transformer encoder-decoder (Vaswani et al. 2017) for the course's seq2seq task:
ids (N, S) -> ids (N, T), the interface of ``minirnn.torch.models.Seq2Seq``.

No recurrence: every position attends to every other one in a layer, so a layer processes all
positions at once, and order enters only through a sinusoidal position code added to the
embeddings. The encoder's layers read the source (self-attention); the decoder's layers read the
target so far (self-attention, masked so position t sees positions <= t) and the encoder's output
(cross-attention). The layers are torch.nn's, pre-norm, without dropout.

Sequential steps (the length of the longest chain of computations that must wait for each
other, counted in layer applications; `sequential_steps`):

    training (teacher forcing)   L_enc + L_dec          every target position at once
    generation                   L_enc + T_out * L_dec  one token at a time, each needs the last

while a recurrent encoder-decoder needs T_in + T_out steps for both.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from minirnn.data.tokens import Vocab
from minirnn.torch.decode import until_eos
from minirnn.torch.models.layers import token_cross_entropy


def sinusoidal_positions(length: int, d_model: int) -> torch.Tensor:
    """(length, d_model): sin and cos of position / 10000^(2i / d_model), Vaswani et al.'s code.
    Defined for any length, so positions longer than any seen in training still get one."""
    if length < 1 or d_model < 2 or d_model % 2:
        raise ValueError(f"length, d_model: expected length >= 1 and an even d_model >= 2, got "
                         f"{length}, {d_model}")
    position = torch.arange(length, dtype=torch.float32)[:, None]
    frequency = torch.exp(-math.log(10000.0) * torch.arange(0, d_model, 2) / d_model)
    table = torch.zeros(length, d_model)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency)
    return table


class TransformerSeq2Seq(nn.Module):
    """Encoder-decoder Transformer: ``num_layers`` encoder and decoder layers of width
    ``d_model``, ``heads`` attention heads, feed-forward width ``ff_size``. Token ids follow
    ``Vocab``: 0 ``<pad>``, 1 ``<bos>``, 2 ``<eos>``."""

    def __init__(self, src_vocab_size: int, tgt_vocab_size: int, d_model: int = 48,
                 heads: int = 4, num_layers: int = 1, ff_size: int = 96) -> None:
        super().__init__()
        if d_model % heads:
            raise ValueError(f"d_model: expected a multiple of heads={heads}, got {d_model}")
        self.src_vocab_size, self.tgt_vocab_size = src_vocab_size, tgt_vocab_size
        self.d_model, self.num_layers = d_model, num_layers
        self.src_embed = nn.Embedding(src_vocab_size, d_model)
        self.tgt_embed = nn.Embedding(tgt_vocab_size, d_model)
        self.encoder = nn.TransformerEncoder(
            nn.TransformerEncoderLayer(d_model, heads, ff_size, dropout=0.0, batch_first=True,
                                       norm_first=True),
            num_layers, norm=nn.LayerNorm(d_model), enable_nested_tensor=False)
        self.decoder = nn.TransformerDecoder(
            nn.TransformerDecoderLayer(d_model, heads, ff_size, dropout=0.0, batch_first=True,
                                       norm_first=True),
            num_layers, norm=nn.LayerNorm(d_model))
        self.head = nn.Linear(d_model, tgt_vocab_size)

    def _embed(self, embed: nn.Embedding, ids: torch.Tensor) -> torch.Tensor:
        positions = sinusoidal_positions(ids.shape[1], self.d_model).to(ids.device)
        return embed(ids) * math.sqrt(self.d_model) + positions

    def encode(self, src: torch.Tensor, src_lengths: torch.Tensor
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """src (N, S), lengths (N,) -> memory (N, S, d_model) and the padding mask (N, S)."""
        if not isinstance(src, torch.Tensor) or src.dtype != torch.long or src.dim() != 2:
            raise TypeError(f"src: expected a LongTensor (N, S) of token ids, got "
                            f"{getattr(src, 'dtype', type(src).__name__)}")
        if src_lengths is None or src_lengths.shape != src.shape[:1]:
            raise ValueError(f"src_lengths: expected shape ({src.shape[0]},), got "
                             f"{None if src_lengths is None else tuple(src_lengths.shape)}")
        padding = torch.arange(src.shape[1], device=src.device)[None] >= src_lengths[:, None]
        memory = self.encoder(self._embed(self.src_embed, src), src_key_padding_mask=padding)
        return memory, padding

    def decode(self, tgt_in: torch.Tensor, memory: torch.Tensor, padding: torch.Tensor
               ) -> torch.Tensor:
        """tgt_in (N, T) -> logits (N, T, V); position t sees tgt_in[:, :t + 1] only."""
        T = tgt_in.shape[1]
        causal = torch.triu(torch.ones(T, T, dtype=torch.bool, device=tgt_in.device), 1)
        out = self.decoder(self._embed(self.tgt_embed, tgt_in), memory, tgt_mask=causal,
                           memory_key_padding_mask=padding)
        return self.head(out)

    def forward(self, src: torch.Tensor, src_lengths: torch.Tensor, tgt_in: torch.Tensor
                ) -> torch.Tensor:
        """Teacher forcing: tgt_in (N, T) starts with ``<bos>``; logits (N, T, V), all at once."""
        return self.decode(tgt_in, *self.encode(src, src_lengths))

    def loss(self, src: torch.Tensor, src_lengths: torch.Tensor, tgt_in: torch.Tensor,
             tgt_out: torch.Tensor) -> torch.Tensor:
        return token_cross_entropy(self(src, src_lengths, tgt_in), tgt_out)

    @torch.no_grad()
    def translate(self, src: torch.Tensor, src_lengths: torch.Tensor, max_len: int = 40
                  ) -> list[list[int]]:
        """Greedy decoding of a batch, one token per step (each step reruns the decoder on the
        prefix); N lists of target ids without ``<eos>``."""
        memory, padding = self.encode(src, src_lengths)
        prefix = torch.full((src.shape[0], 1), Vocab.BOS, dtype=torch.long, device=src.device)
        for _ in range(max_len):
            nxt = self.decode(prefix, memory, padding)[:, -1].argmax(-1)
            prefix = torch.cat([prefix, nxt[:, None]], 1)
        return [until_eos(row, Vocab.EOS) for row in prefix[:, 1:].tolist()]


MODES = ("train", "generate")


def sequential_steps(kind: str, T_in: int, T_out: int, mode: str, num_layers: int = 1) -> int:
    """The number of steps that must run one after another for one sequence pair.

    kind "rnn" (a recurrent encoder-decoder, with or without attention, one layer each):
    T_in + T_out in either mode (each state needs the previous one). kind "transformer":
    L_enc + L_dec in training (teacher forcing: every position at once), L_enc + T_out * L_dec
    in generation (each token is fed back), with L = ``num_layers``."""
    if kind not in ("rnn", "transformer"):
        raise ValueError(f"kind: expected 'rnn' or 'transformer', got {kind!r}")
    if mode not in MODES:
        raise ValueError(f"mode: expected one of {MODES}, got {mode!r}")
    if T_in < 1 or T_out < 1 or num_layers < 1:
        raise ValueError(f"T_in, T_out, num_layers: expected >= 1, got {T_in}, {T_out}, "
                         f"{num_layers}")
    if kind == "rnn":
        return T_in + T_out
    return num_layers + (num_layers if mode == "train" else T_out * num_layers)
