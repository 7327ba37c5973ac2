"""The pieces every task model shares: the recurrent layer (the course's or torch.nn's), running
it over ragged batches, input checks, and the token loss.

``backend`` picks whose recurrent layer a model is built on: "minirnn" (``minirnn.torch``'s RNN,
LSTM, GRU; the default) or "torch" (torch.nn's, which on the CPU run LSTMs through oneDNN's fused
kernel). It is not the layer's own ``impl="fused"|"steps"`` (how minirnn's layer loops over time).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from minirnn.data.tokens import IGNORE_INDEX
from minirnn.torch import rnn

CELLS = ("rnn", "lstm", "gru")
BACKENDS = ("minirnn", "torch")
State = torch.Tensor | tuple[torch.Tensor, torch.Tensor]


def recurrent_layer(
    cell: str,
    input_size: int,
    hidden_size: int,
    num_layers: int = 1,
    bidirectional: bool = False,
    dropout: float = 0.0,
    backend: str = "minirnn",
) -> nn.Module:
    """A batch-first recurrent layer: ``cell`` is "rnn", "lstm" or "gru"; ``backend`` is "minirnn"
    (the course's modules) or "torch" (torch.nn's). Both take and return the same shapes and
    state dicts."""
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {CELLS}, got {cell!r}")
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    module = rnn if backend == "minirnn" else nn
    layer_class = {"rnn": module.RNN, "lstm": module.LSTM, "gru": module.GRU}[cell]
    return layer_class(
        input_size,
        hidden_size,
        num_layers=num_layers,
        batch_first=True,
        dropout=dropout if num_layers > 1 else 0.0,
        bidirectional=bidirectional,
    )


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


TO_TORCH_HINT = " (minirnn.data gives NumPy arrays: convert them with minirnn.data.to_torch)"


def check_ids(name: str, ids: torch.Tensor, vocab_size: int, rank: int = 2) -> None:
    """TypeError, ValueError or IndexError naming ``name`` unless ids is a LongTensor of
    ``rank`` dimensions with values in [0, vocab_size)."""
    if not isinstance(ids, torch.Tensor) or ids.dtype != torch.long:
        got = ids.dtype if isinstance(ids, torch.Tensor) else type(ids).__name__
        hint = TO_TORCH_HINT if type(ids).__module__ == "numpy" else ""
        raise TypeError(f"{name} must be a LongTensor of token ids, got {got}{hint}")
    if ids.dim() != rank:
        raise ValueError(f"{name} must have {rank} dimensions, got shape {tuple(ids.shape)}")
    if ids.numel() and (ids.min() < 0 or ids.max() >= vocab_size):
        raise IndexError(
            f"{name} ids must be in [0, {vocab_size}), got [{int(ids.min())}, {int(ids.max())}]"
        )


def check_features(name: str, x: torch.Tensor, size: int, rank: int) -> None:
    """TypeError or ValueError naming ``name`` unless x is a floating-point tensor of shape
    (N, T, size) (rank 3) or (N, size) (rank 2)."""
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        hint = TO_TORCH_HINT if type(x).__module__ == "numpy" else ""
        raise TypeError(f"{name} must be a floating-point tensor, got {type(x).__name__}{hint}")
    if x.dim() != rank or x.shape[-1] != size:
        want = "(N, T, D)" if rank == 3 else "(N, D)"
        raise ValueError(f"{name} must have shape {want} with D={size}, got {tuple(x.shape)}")


def token_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over the targets that are not IGNORE_INDEX; logits (..., V)."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1),
                           ignore_index=IGNORE_INDEX)


class SequenceEncoder(nn.Module):
    """Token ids (N, T) through an embedding, or features (N, T, D) as they are, then a layer."""

    def __init__(self, input_size: int, hidden_size: int, cell: str, vocab_size: int | None,
                 embed_size: int, num_layers: int, bidirectional: bool, backend: str) -> None:
        super().__init__()
        self.vocab_size, self.input_size = vocab_size, input_size
        self.embed = nn.Embedding(vocab_size, embed_size) if vocab_size else None
        layer_input = embed_size if vocab_size else input_size
        self.rnn = recurrent_layer(cell, layer_input, hidden_size, num_layers, bidirectional,
                                   backend=backend)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None):
        if self.embed is not None:
            check_ids("x", x, self.vocab_size)
            x = self.embed(x)
        else:
            check_features("x", x, self.input_size, rank=3)
        if lengths is not None and (lengths.shape != (x.shape[0],) or lengths.min() < 1
                                    or lengths.max() > x.shape[1]):
            raise ValueError(f"lengths must have shape ({x.shape[0]},) with values in "
                             f"[1, {x.shape[1]}], got {tuple(lengths.shape)}")
        return run_layer(self.rnn, x, lengths)
