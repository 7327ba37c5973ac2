"""Chapter 8: Truncated backpropagation through time. What it keeps and what it costs.

- the bytes autograd holds for the backward pass of a chunk are measured with the library's
  `minirnn.torch.memory.saved_tensor_bytes` (chapter 4 uses it too);
- `gradient_reach`, `reach_share`: which output steps send gradient to the input L steps
  before them when the gradient is cut every k steps, measured by autograd and by formula.
- `delayed_echo_stream`, `train_delayed_echo`: the task y_t = x_{t-L} on random bits, trained
  with truncation length k, and its accuracy.
- `NoCarry`, `loss_by_position`: train a character model with the state reset at every chunk
  instead of carried, and measure its loss at each position within a chunk.

Batches are batch-first: ids (N, T); "chunk" means the k steps between two gradient cuts.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from minirnn.data.text import TBPTTBatcher
from minirnn.torch import RNN

# --------------------------------------------------------------------------- gradient reach


def reach_share(k: int, lag: int) -> float:
    """Share of output steps t whose input x_{t-lag} lies in the same chunk of k steps as t,
    so that truncated BPTT passes gradient between them: max(0, k - lag) / k."""
    if k < 1 or lag < 0:
        raise ValueError(f"k, lag: expected k >= 1 and lag >= 0, got {k}, {lag}")
    return max(0, k - lag) / k


def gradient_reach(k: int, lag: int, T: int = 48, hidden_size: int = 8, seed: int = 0
                   ) -> np.ndarray:
    """Measure, with autograd, which output steps t of a vanilla RNN send gradient to the input
    at t - lag when the sequence of T steps is processed in chunks of k with the state
    detached in between.

    Returns reached (T,) booleans: reached[t] is True when d(output_t)/d(x_{t-lag}) != 0
    (False for t < lag, which has no such input).
    """
    if T < 1 or k < 1 or lag < 0:
        raise ValueError(f"T, k, lag: expected T >= 1, k >= 1, lag >= 0, got {T}, {k}, {lag}")
    torch.manual_seed(seed)
    # the readable time loop: autograd records every step, and the batched backward below
    # (a vmap over the rows of the Jacobian) runs through it
    rnn = RNN(1, hidden_size, batch_first=True, impl="steps", dtype=torch.float64)
    x = torch.randn(1, T, 1, dtype=torch.float64, requires_grad=True)
    outputs, h = [], None
    for start in range(0, T, k):
        out, h = rnn(x[:, start:start + k], h)
        h = h.detach()  # the truncation: no gradient flows into earlier chunks
        outputs.append(out)
    out = torch.cat(outputs, dim=1)[0].sum(dim=1)  # (T,): one number per output step
    # the Jacobian d out[t] / d x[s] (T, T), all rows in one batched backward pass
    (jac,) = torch.autograd.grad(out, x, grad_outputs=torch.eye(T, dtype=x.dtype),
                                 is_grads_batched=True)
    jac = jac.reshape(T, T)
    reached = np.zeros(T, dtype=bool)
    t = np.arange(lag, T)
    reached[lag:] = (jac[t, t - lag] != 0).numpy()
    return reached


# --------------------------------------------------------------------------- delayed echo


def delayed_echo_stream(n_streams: int, length: int, lag: int, seed: int = 0
                        ) -> tuple[torch.Tensor, torch.Tensor]:
    """Random bits x (n_streams, length) and the target y_t = x_{t-lag}; the first `lag`
    targets, which have no input that far back, are -100 (ignored by the loss)."""
    if lag < 1 or length <= lag:
        raise ValueError(f"lag, length: expected 1 <= lag < length, got {lag}, {length}")
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 2, (n_streams, length), generator=g)
    y = torch.full_like(x, -100)
    y[:, lag:] = x[:, :-lag]
    return x, y


class EchoRNN(nn.Module):
    """Bits in, bits out: embedding (2 -> 4), a vanilla RNN, a linear layer to 2 scores."""

    def __init__(self, hidden_size: int = 32) -> None:
        super().__init__()
        self.embed = nn.Embedding(2, 4)
        self.rnn = RNN(4, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, 2)

    def forward(self, x: torch.Tensor, h: torch.Tensor | None = None):
        """x (N, T) bits -> scores (N, T, 2) and the last state (1, N, H)."""
        out, h = self.rnn(self.embed(x), h)
        return self.head(out), h


def echo_accuracy(model: EchoRNN, lag: int, n: int = 256, length: int = 200,
                  seed: int = 12345) -> float:
    """Accuracy of model on fresh streams, read whole (no truncation at test time), over the
    steps t >= lag."""
    x, y = delayed_echo_stream(n, length, lag, seed=seed)
    with torch.no_grad():
        pred = model(x)[0].argmax(-1)
    return float((pred[:, lag:] == y[:, lag:]).float().mean())


def train_delayed_echo(k: int, lag: int = 8, hidden_size: int = 32, steps: int = 400,
                       batch_size: int = 32, lr: float = 1e-2, seed: int = 0
                       ) -> tuple[EchoRNN, list[float]]:
    """Train an EchoRNN on y_t = x_{t-lag} with truncated BPTT: every step reads the next k
    bits of batch_size endless streams, carries the state forward and cuts the gradient.

    Returns the model and the loss (nats per counted step) of every training step.

    The loop is written out rather than run by `Trainer`: inputs and targets are two streams
    (y is x delayed by `lag`), which a TBPTTBatcher (one stream, the next id as target) cannot
    express.
    """
    if k < 1:
        raise ValueError(f"k: expected k >= 1, got {k}")
    torch.manual_seed(seed)
    model = EchoRNN(hidden_size)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    x, y = delayed_echo_stream(batch_size, steps * k, lag, seed=seed)  # the first lag ignored
    h, losses = None, []
    for i in range(steps):
        xs, ys = x[:, i * k:(i + 1) * k], y[:, i * k:(i + 1) * k]
        scores, h = model(xs, h)
        h = h.detach()
        loss = F.cross_entropy(scores.reshape(-1, 2), ys.reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
    return model, losses


# --------------------------------------------------------------------------- reset vs carry


class NoCarry:
    """The batches of a TBPTTBatcher without its statefulness: next_batch() returns (x, y)
    only, so `Trainer` calls model.loss(x, y) and every chunk starts from a zero state."""

    def __init__(self, batcher: TBPTTBatcher) -> None:
        self.batcher = batcher

    def next_batch(self) -> tuple[np.ndarray, np.ndarray]:  # the Trainer converts them
        x, y, _ = self.batcher.next_batch()
        return x, y


@torch.no_grad()
def loss_by_position(model: nn.Module, ids: torch.Tensor, k: int, carry: bool,
                     streams: int = 32) -> np.ndarray:
    """Bits per character of a CharLM-like model (model(x, state) -> (logits, state)) at each
    position 0..k-1 of a chunk, reading ids (L,) as `streams` parallel streams in chunks of k,
    with the state carried between chunks (carry=True) or reset to zero at each chunk.

    Returns (k,) mean bits per character by position.
    """
    if ids.dim() != 1:
        raise ValueError(f"ids: expected shape (L,), got {tuple(ids.shape)}")
    length = (len(ids) - 1) // streams // k * k
    if length < k:
        raise ValueError(f"ids: {len(ids)} ids are too few for {streams} streams of chunk {k}")
    was_training = model.training
    model.eval()
    rows = torch.arange(streams)[:, None] * length + torch.arange(length + 1)[None]
    data = ids[rows]
    total, state = torch.zeros(k, dtype=torch.float64), None
    for start in range(0, length, k):
        x, y = data[:, start:start + k], data[:, start + 1:start + k + 1]
        logits, next_state = model(x, state if carry else None)
        state = next_state
        nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1),
                              reduction="none").reshape(streams, k)
        total += nll.double().mean(dim=0)
    model.train(was_training)
    return (total / (length // k) / math.log(2)).numpy()
