"""The course's task models, one per input/output architecture of the lecture.

    Classifier          one-to-one      x (N, D)                  -> class (N,)
    CaptioningModel     one-to-many     image (N, 3, 32, 32)      -> words (N, T)
    SequenceClassifier  many-to-one     x (N, T, D) or ids (N, T) -> class (N,) or value (N,)
    Seq2Seq             many-to-many    ids (N, S)                -> ids (N, T), encoder-decoder
    SequenceTagger      synced m-to-m   x (N, T, D) or ids (N, T) -> tag (N, T)
    CharLM              stateful m-to-m ids (N, T)                -> next ids (N, T)

All are batch-first, built on ``recurrent_layer`` (minirnn's RNN/LSTM/GRU by default), and
each has a ``loss`` and a way to decode. States follow torch.nn: ``h`` of shape
(num_layers * directions, N, H), or ``(h, c)`` for an LSTM.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from minirnn.data.tokens import IGNORE_INDEX, Vocab
from minirnn.torch import decode

CELLS = ("rnn", "lstm", "gru")
State = torch.Tensor | tuple[torch.Tensor, torch.Tensor]


def _minirnn_available() -> bool:
    try:
        from minirnn.torch import rnn  # noqa: F401
    except ImportError:
        return False
    return True


def recurrent_layer(
    cell: str,
    input_size: int,
    hidden_size: int,
    num_layers: int = 1,
    bidirectional: bool = False,
    dropout: float = 0.0,
    impl: str = "minirnn",
) -> nn.Module:
    """A batch-first recurrent layer: ``cell`` is "rnn", "lstm" or "gru"; ``impl`` is "minirnn"
    (the course's modules) or "torch" (torch.nn's, which on the CPU run LSTMs through oneDNN's
    fused kernel). Both take and return the same shapes and state dicts."""
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {CELLS}, got {cell!r}")
    if impl == "minirnn":
        if not _minirnn_available():
            raise ValueError("impl='minirnn' needs minirnn.torch.rnn, which is not installed")
        from minirnn.torch import rnn as module
    elif impl == "torch":
        module = nn
    else:
        raise ValueError(f"impl must be 'minirnn' or 'torch', got {impl!r}")
    layer_class = {"rnn": module.RNN, "lstm": module.LSTM, "gru": module.GRU}[cell]
    return layer_class(
        input_size,
        hidden_size,
        num_layers=num_layers,
        batch_first=True,
        dropout=dropout if num_layers > 1 else 0.0,
        bidirectional=bidirectional,
    )


def default_impl() -> str:
    return "minirnn" if _minirnn_available() else "torch"


def run_layer(
    layer: nn.Module, x: torch.Tensor, lengths: torch.Tensor | None = None, state=None
) -> tuple[torch.Tensor, State]:
    """Run a batch-first layer over x (N, T, D); with ``lengths`` (N,) the padding is packed away,
    so each sequence's final state is taken at its own end and a reverse direction starts there."""
    if lengths is None:
        return layer(x, state)
    packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
    out, state = layer(packed, state)
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
    return out, state


def detach_state(state):
    """Cut the graph behind a carried state (truncated BPTT)."""
    if state is None:
        return None
    if isinstance(state, torch.Tensor):
        return state.detach()
    return tuple(detach_state(s) for s in state)


def _check_ids(name: str, ids: torch.Tensor, vocab_size: int, rank: int = 2) -> None:
    if not isinstance(ids, torch.Tensor) or ids.dtype != torch.long:
        got = ids.dtype if isinstance(ids, torch.Tensor) else type(ids).__name__
        raise TypeError(f"{name} must be a LongTensor of token ids, got {got}")
    if ids.dim() != rank:
        raise ValueError(f"{name} must have {rank} dimensions, got shape {tuple(ids.shape)}")
    if ids.numel() and (ids.min() < 0 or ids.max() >= vocab_size):
        raise IndexError(
            f"{name} ids must be in [0, {vocab_size}), got [{int(ids.min())}, {int(ids.max())}]"
        )


def _check_features(name: str, x: torch.Tensor, size: int, rank: int) -> None:
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor")
    if x.dim() != rank or x.shape[-1] != size:
        want = "(N, T, D)" if rank == 3 else "(N, D)"
        raise ValueError(f"{name} must have shape {want} with D={size}, got {tuple(x.shape)}")


def token_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over the targets that are not IGNORE_INDEX; logits (..., V)."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1),
                           ignore_index=IGNORE_INDEX)


# ---------------------------------------------------------------------------------------------
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
        _check_features("x", x, self.input_size, rank=2)
        return self.net(x)

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(self(x), y)

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        return self(x).argmax(-1)


# ---------------------------------------------------------------------------------------------
class _SequenceEncoder(nn.Module):
    """Token ids (N, T) through an embedding, or features (N, T, D) as they are, then a layer."""

    def __init__(self, input_size: int, hidden_size: int, cell: str, vocab_size: int | None,
                 embed_size: int, num_layers: int, bidirectional: bool, impl: str | None) -> None:
        super().__init__()
        self.vocab_size, self.input_size = vocab_size, input_size
        self.embed = nn.Embedding(vocab_size, embed_size) if vocab_size else None
        layer_input = embed_size if vocab_size else input_size
        self.rnn = recurrent_layer(cell, layer_input, hidden_size, num_layers, bidirectional,
                                   impl=impl or default_impl())

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None):
        if self.embed is not None:
            _check_ids("x", x, self.vocab_size)
            x = self.embed(x)
        else:
            _check_features("x", x, self.input_size, rank=3)
        if lengths is not None and (lengths.shape != (x.shape[0],) or lengths.min() < 1
                                    or lengths.max() > x.shape[1]):
            raise ValueError(f"lengths must have shape ({x.shape[0]},) with values in "
                             f"[1, {x.shape[1]}], got {tuple(lengths.shape)}")
        return run_layer(self.rnn, x, lengths)


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
                 impl: str | None = None, device: str | torch.device = "cpu") -> None:
        super().__init__()
        if objective not in ("classify", "regress"):
            raise ValueError(f"objective must be 'classify' or 'regress', got {objective!r}")
        if objective == "regress" and num_classes != 1:
            raise ValueError(f"objective='regress' needs num_classes=1, got {num_classes}")
        self.objective, self.bidirectional = objective, bidirectional
        self.encoder = _SequenceEncoder(input_size, hidden_size, cell, vocab_size, embed_size,
                                        num_layers, bidirectional, impl)
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
                 bidirectional: bool = False, impl: str | None = None,
                 device: str | torch.device = "cpu") -> None:
        super().__init__()
        self.encoder = _SequenceEncoder(input_size, hidden_size, cell, vocab_size, embed_size,
                                        num_layers, bidirectional, impl)
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


# ---------------------------------------------------------------------------------------------
class Seq2Seq(nn.Module):
    """Encoder-decoder: the encoder's final state starts the decoder, which is trained with
    teacher forcing (it reads the true previous target token) and decodes greedily or by beam.

    Token ids follow ``Vocab``: 0 ``<pad>``, 1 ``<bos>``, 2 ``<eos>``.
    """

    def __init__(self, src_vocab_size: int, tgt_vocab_size: int, hidden_size: int = 128,
                 embed_size: int = 32, cell: str = "gru", num_layers: int = 1,
                 impl: str | None = None, device: str | torch.device = "cpu") -> None:
        super().__init__()
        self.tgt_vocab_size = tgt_vocab_size
        self.encoder = _SequenceEncoder(0, hidden_size, cell, src_vocab_size, embed_size,
                                        num_layers, False, impl)
        self.tgt_embed = nn.Embedding(tgt_vocab_size, embed_size)
        self.decoder = recurrent_layer(cell, embed_size, hidden_size, num_layers,
                                       impl=impl or default_impl())
        self.head = nn.Linear(hidden_size, tgt_vocab_size)
        self.to(device)

    def encode(self, src: torch.Tensor, src_lengths: torch.Tensor | None = None) -> State:
        """src (N, S) -> the decoder's initial state."""
        return self.encoder(src, src_lengths)[1]

    def forward(self, src: torch.Tensor, src_lengths: torch.Tensor | None,
                tgt_in: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: tgt_in (N, T) starts with ``<bos>``; returns logits (N, T, V)."""
        _check_ids("tgt_in", tgt_in, self.tgt_vocab_size)
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


# ---------------------------------------------------------------------------------------------
class CharLM(nn.Module):
    """A character language model: embedding, recurrent layer(s), output head. Stateful: pass the
    state a call returns into the next call to carry it across chunks (truncated BPTT)."""

    def __init__(self, vocab_size: int, embed_size: int = 64, hidden_size: int = 256,
                 num_layers: int = 1, cell: str = "lstm", dropout: float = 0.0,
                 impl: str | None = None, device: str | torch.device = "cpu") -> None:
        super().__init__()
        self.vocab_size = vocab_size
        self.config = dict(vocab_size=vocab_size, embed_size=embed_size, hidden_size=hidden_size,
                           num_layers=num_layers, cell=cell, dropout=dropout,
                           impl=impl or default_impl())
        self.embed = nn.Embedding(vocab_size, embed_size)
        self.rnn = recurrent_layer(cell, embed_size, hidden_size, num_layers, dropout=dropout,
                                   impl=self.config["impl"])
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, vocab_size)
        self.to(device)

    def forward(self, x: torch.Tensor, state: State | None = None
                ) -> tuple[torch.Tensor, State]:
        """x (N, T) ids -> logits (N, T, V) and the state after the last step."""
        _check_ids("x", x, self.vocab_size)
        out, state = self.rnn(self.embed(x), state)
        return self.head(self.drop(out)), state

    def loss(self, x: torch.Tensor, y: torch.Tensor, state: State | None = None
             ) -> tuple[torch.Tensor, State]:
        """Mean cross-entropy (nats per character) of targets y (N, T); IGNORE_INDEX is skipped."""
        logits, state = self(x, state)
        return token_cross_entropy(logits, y), state

    def step(self, tokens: torch.Tensor, state: State | None) -> tuple[torch.Tensor, State]:
        """tokens (B,) -> logits (B, V) for the next character, and the next state."""
        logits, state = self(tokens[:, None], state)
        return logits[:, 0], state

    @torch.no_grad()
    def generate(self, prime: torch.Tensor, length: int, temperature: float = 1.0,
                 top_k: int | None = None, generator: torch.Generator | None = None,
                 eos: int | None = None) -> torch.Tensor:
        """Read prime (P,) ids, then sample ``length`` more; returns (length,) ids.
        ``temperature=0`` decodes greedily."""
        _check_ids("prime", prime, self.vocab_size, rank=1)
        if len(prime) == 0:
            raise ValueError("prime must hold at least one id")
        was_training = self.training
        self.eval()
        state = None
        if len(prime) > 1:
            _, state = self(prime[None, :-1], None)
        start = prime[-1:]
        if temperature == 0:
            out = decode.greedy(self.step, start, state, length, eos=eos)
        else:
            out = decode.sample(self.step, start, state, length, temperature=temperature,
                                top_k=top_k, generator=generator, eos=eos)
        self.train(was_training)
        return out[0]


# ---------------------------------------------------------------------------------------------
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

    - ``"h0"``: v, projected, is the initial hidden state (Karpathy & Fei-Fei 2015);
    - ``"first_input"``: v, projected to the word-embedding size, is the input before ``<bos>``
      (Vinyals et al. 2015, Show and Tell);
    - ``"every_step"``: v, projected, is concatenated to the word embedding at every step
      (Mao et al. 2015, m-RNN).
    """

    CONDITIONS = ("h0", "first_input", "every_step")

    def __init__(self, vocab_size: int, encoder: ShapesEncoder, hidden_size: int = 128,
                 embed_size: int = 32, cell: str = "lstm", condition: str = "h0",
                 impl: str | None = None, device: str | torch.device = "cpu") -> None:
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
        self.rnn = recurrent_layer(cell, rnn_input, hidden_size, impl=impl or default_impl())
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
        _check_ids("captions_in", captions_in, self.vocab_size)
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
