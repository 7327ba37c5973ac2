"""Attention, small enough to read in one go: an attention captioner (Xu et al. 2015, "soft"
attention) and a seq2seq translator with additive attention (`AttentionSeq2Seq`, Bahdanau et al.
2015, chapter 16).

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

from minirnn.data.tokens import Vocab
from minirnn.torch import cells
from minirnn.torch.decode import until_eos
from minirnn.torch.models import ShapesEncoder, token_cross_entropy

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
        return token_cross_entropy(self(images, captions_in), captions_out)



class AttentionSeq2Seq(nn.Module):
    """Encoder-decoder with additive attention (Bahdanau et al. 2015): ids (N, S) -> ids (N, T).

    The encoder is a GRU over the source; its states hbar_1..hbar_S are the memory the decoder
    reads. Before each target token the decoder scores every source position against its own
    state h_{t-1} (``s`` in the code):

        e_tj    = tanh(hbar_j U + h_{t-1} W) w      one score per source position   (S,)
        alpha_t = softmax(e_t) over real positions  padding gets weight 0           (S,)
        v_t     = sum_j alpha_tj hbar_j             the context                     (H,)

    and its GRU cell reads [embedding of the previous token, v_t]; the next token's scores are
    read from [h_t, v_t]. Without attention (`minirnn.torch.models.Seq2Seq`) all the decoder
    knows of the source is the encoder's last state. Token ids follow ``Vocab``: 0 ``<pad>``,
    1 ``<bos>``, 2 ``<eos>``. States keep the batch on dim 0 here: (h (N, H), memory (N, S, H),
    mask (N, S)).
    """

    def __init__(self, src_vocab_size: int, tgt_vocab_size: int, hidden_size: int = 64,
                 embed_size: int = 32, attention_size: int | None = None) -> None:
        super().__init__()
        attention_size = attention_size or hidden_size
        self.src_vocab_size, self.tgt_vocab_size = src_vocab_size, tgt_vocab_size
        self.hidden_size = hidden_size
        self.src_embed = nn.Embedding(src_vocab_size, embed_size)
        self.encoder = nn.GRU(embed_size, hidden_size, batch_first=True)
        self.key = nn.Linear(hidden_size, attention_size)                 # o_j U (+ bias)
        self.query = nn.Linear(hidden_size, attention_size, bias=False)   # s_{t-1} W
        self.score = nn.Linear(attention_size, 1, bias=False)            # w
        self.tgt_embed = nn.Embedding(tgt_vocab_size, embed_size)
        self.cell = nn.GRUCell(embed_size + hidden_size, hidden_size)
        self.head = nn.Linear(2 * hidden_size, tgt_vocab_size)

    def start(self, src: torch.Tensor, src_lengths: torch.Tensor
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Encode src (N, S) of lengths (N,): the decoder's first state s_0 (the encoder's state
        at each sequence's own end), the memory (N, S, H) and the mask of real positions."""
        if not isinstance(src, torch.Tensor) or src.dtype != torch.long or src.dim() != 2:
            raise TypeError(f"src: expected a LongTensor (N, S) of token ids, got "
                            f"{getattr(src, 'dtype', type(src).__name__)}")
        if src_lengths is None or src_lengths.shape != src.shape[:1]:
            raise ValueError(f"src_lengths: expected shape ({src.shape[0]},), got "
                             f"{None if src_lengths is None else tuple(src_lengths.shape)}")
        packed = nn.utils.rnn.pack_padded_sequence(self.src_embed(src), src_lengths.cpu(),
                                                   batch_first=True, enforce_sorted=False)
        out, h = self.encoder(packed)
        memory, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True,
                                                     total_length=src.shape[1])
        mask = torch.arange(src.shape[1], device=src.device)[None] < src_lengths[:, None]
        return h[0], memory, mask

    def attend(self, s: torch.Tensor, memory: torch.Tensor, mask: torch.Tensor
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """s (N, H), memory (N, S, H), mask (N, S) -> context c (N, H) and alpha (N, S)."""
        e = self.score(torch.tanh(self.key(memory) + self.query(s)[:, None])).squeeze(-1)
        alpha = F.softmax(e.masked_fill(~mask, float("-inf")), dim=-1)
        return (alpha[:, :, None] * memory).sum(1), alpha

    def step(self, tokens: torch.Tensor, state: tuple[torch.Tensor, ...]
             ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...], torch.Tensor]:
        """One decoder step: tokens (N,) -> logits (N, V), next state, alpha (N, S)."""
        s, memory, mask = state
        context, alpha = self.attend(s, memory, mask)
        s = self.cell(torch.cat([self.tgt_embed(tokens), context], -1), s)
        logits = self.head(torch.cat([s, context], -1))
        return logits, (s, memory, mask), alpha

    def forward(self, src: torch.Tensor, src_lengths: torch.Tensor, tgt_in: torch.Tensor
                ) -> torch.Tensor:
        """Teacher forcing: tgt_in (N, T) starts with ``<bos>``; returns logits (N, T, V)."""
        state = self.start(src, src_lengths)
        logits = []
        for t in range(tgt_in.shape[1]):
            out, state, _ = self.step(tgt_in[:, t], state)
            logits.append(out)
        return torch.stack(logits, 1)

    def loss(self, src: torch.Tensor, src_lengths: torch.Tensor, tgt_in: torch.Tensor,
             tgt_out: torch.Tensor) -> torch.Tensor:
        return token_cross_entropy(self(src, src_lengths, tgt_in), tgt_out)

    @torch.no_grad()
    def attention_weights(self, src: torch.Tensor, src_lengths: torch.Tensor,
                          tgt_in: torch.Tensor) -> torch.Tensor:
        """alpha (N, T, S): where the decoder looked before each token of tgt_in (N, T)."""
        state = self.start(src, src_lengths)
        alphas = []
        for t in range(tgt_in.shape[1]):
            _, state, alpha = self.step(tgt_in[:, t], state)
            alphas.append(alpha)
        return torch.stack(alphas, 1)

    @torch.no_grad()
    def translate(self, src: torch.Tensor, src_lengths: torch.Tensor, max_len: int = 40
                  ) -> list[list[int]]:
        """Greedy decoding of a whole batch; N lists of target ids without ``<eos>``."""
        state = self.start(src, src_lengths)
        tokens = torch.full((src.shape[0],), Vocab.BOS, dtype=torch.long, device=src.device)
        out = []
        for _ in range(max_len):
            logits, state, _ = self.step(tokens, state)
            tokens = logits.argmax(-1)
            out.append(tokens)
        return [until_eos(row, Vocab.EOS) for row in torch.stack(out, 1).tolist()]
