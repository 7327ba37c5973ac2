"""Chapter 8: Truncated backpropagation through time. What it keeps and what it costs.

- the bytes autograd holds for the backward pass of a chunk are measured with the library's
  `minirnn.torch.memory.saved_tensor_bytes` (chapter 4 uses it too);
- `gradient_reach`, `reach_share`: which output steps send gradient to the input L steps
  before them when the gradient is cut every k steps, measured by autograd and by formula.
- `delayed_echo_stream`, `train_delayed_echo`: the task y_t = x_{t-L} on random bits, trained
  with truncation length k, and its accuracy.
- `chapter7_gradients`, `truncation_errors`: chapter 7's character model and its local
  gradients, and how far chunked truncation and chapter 7's lag cutoff move its dL/dWh.
- `NoCarry`, `loss_by_position`: train a character model with the state reset at every chunk
  instead of carried, and measure its loss at each position within a chunk.
- `check_truncation_claims`, `check_echo_claims`, `check_carry_claims`: the chapter's claims
  about its measurements, each raising AssertionError when one does not hold.

Batches are batch-first: ids (N, T); "chunk" means the k steps between two gradient cuts.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from minirnn.data.text import CharVocab, TBPTTBatcher, load_corpus
from minirnn.numpy import (
    rnn_forward,
    rnn_states,
    temporal_affine_backward,
    temporal_affine_forward,
    temporal_softmax_loss,
    word_embedding_forward,
)
from minirnn.numpy.lags import chunked_dWh, lag_decomposition, truncation_error
from minirnn.numpy.models import MaskedCharRNN
from minirnn.numpy.train import fit
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


# --------------------------------------------------------------------------- two truncations


def chapter7_gradients(train_steps: int = 0, T: int = 64
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Chapter 7's character model (MaskedCharRNN, E = 32, H = 64, seed 0, on the first
    150,000 characters of the default corpus in chunks of T) and what its backward pass needs
    on the 16 held-out chunks: states (T + 1, 16, H), Wh (H, H) and the local gradients
    dL_t/dh_t (16, T, H). train_steps > 0 first trains it as chapter 7 does (Adam, lr 0.01,
    batch 32)."""
    text = load_corpus()
    vocab = CharVocab.from_text(text)
    ids = vocab.encode(text[:150_000])
    n_chunks = (len(ids) - 1) // T
    inputs = ids[: n_chunks * T].reshape(n_chunks, T)
    targets = ids[1: n_chunks * T + 1].reshape(n_chunks, T)
    model = MaskedCharRNN(V=len(vocab), H=64, E=32, seed=0)
    if train_steps:
        fit(model, inputs[:-16], targets[:-16], steps=train_steps, batch_size=32, lr=0.01, seed=0)
    p = model.params
    emb, _ = word_embedding_forward(inputs[-16:], p["W_embed"])
    _, cache = rnn_forward(emb, np.zeros((16, model.H)), p["Wx"], p["Wh"], p["b"])
    h = rnn_states(cache)[1:].transpose(1, 0, 2)  # (16, T, H)
    scores, affine_cache = temporal_affine_forward(h, p["W_out"], p["b_out"])
    _, dscores = temporal_softmax_loss(scores, targets[-16:])
    return rnn_states(cache), p["Wh"], temporal_affine_backward(dscores, affine_cache)[0]


def truncation_errors(states: np.ndarray, Wh: np.ndarray, dh: np.ndarray, ks: list[int]
                      ) -> dict[str, np.ndarray]:
    """Relative error ||approx - dL/dWh|| / ||dL/dWh|| of two truncations, for each k in ks:
    "chunked" reads the T steps in chunks of k with the gradient cut at every chunk start
    (truncated BPTT), "lag cutoff" drops every lag >= k for every loss (chapter 7).

    states (T + 1, N, H), Wh (H, H), dh (N, T, H); returns two arrays of len(ks).
    """
    T = dh.shape[1]
    if not ks or min(ks) < 1 or max(ks) > T:
        raise ValueError(f"ks: expected chunk lengths in [1, {T}], got {ks}")
    by_lag = lag_decomposition(states, Wh, dh)["by_lag"]
    full = by_lag.sum(axis=0)
    chunked = [np.linalg.norm(chunked_dWh(states, Wh, dh, k) - full) / np.linalg.norm(full)
               for k in ks]
    cutoff = truncation_error(by_lag)
    return {"chunked": np.array(chunked), "lag cutoff": np.array([cutoff[k - 1] for k in ks])}


def check_truncation_claims(ks: list[int], errors: dict[str, np.ndarray], T: int = 64) -> None:
    """The chapter's claims about `truncation_errors`: for every k < T chunked truncation moves
    dL/dWh by more than 1%, and at k = 16 and 20 more than 10 times as far as chapter 7's lag
    cutoff at the same k."""
    chunked, cutoff = errors["chunked"], errors["lag cutoff"]
    for i, k in enumerate(ks):
        if k < T and not chunked[i] > 1e-2:
            raise AssertionError(f"k = {k}: chunked error {chunked[i]:.1e} is not above 1%")
        if k in (16, 20) and not chunked[i] > 10 * cutoff[i]:
            raise AssertionError(f"k = {k}: chunked {chunked[i]:.1e} is not 10x the lag "
                                 f"cutoff's {cutoff[i]:.1e}")


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


# --------------------------------------------------------------------------- the claims


def check_echo_claims(ks: list[int], acc: np.ndarray, late_loss: np.ndarray,
                      steps_to_learn: np.ndarray, lag: int = 8) -> None:
    """The chapter's claims about the delayed echo, trained at equal targets per update.

    ks: the truncation lengths; acc, late_loss (len(ks), seeds): test accuracy and mean training
    loss of the last 100 steps; steps_to_learn (2, seeds): steps until the smoothed loss is
    below 0.1 for k = 9 and k = 16. Raises AssertionError naming the claim that fails.
    """
    for k, a, loss in zip(ks, acc, late_loss):
        if k <= lag and not (np.all(a < 0.6) and np.all(loss > 0.68)):
            raise AssertionError(f"k = {k} <= lag should stay at chance: acc {a}, loss {loss}")
        if k > lag and not (np.all(a > 0.98) and np.all(loss < 0.1)):
            raise AssertionError(f"k = {k} > lag should solve the echo: acc {a}, loss {loss}")
    if not np.all(steps_to_learn[1] < steps_to_learn[0]):
        raise AssertionError(f"k = 16 should learn sooner than k = 9: {steps_to_learn}")


def check_carry_claims(pos: dict[tuple[bool, bool], np.ndarray]) -> None:
    """The chapter's claims about carrying versus resetting the state.

    pos[(trained_carrying, evaluated_carrying)]: (k,) bits per character by position in the
    chunk. Raises AssertionError naming the claim that fails.
    """
    cc, rr, rc = pos[True, True], pos[False, False], pos[False, True]
    claims = {
        "carrying beats resetting by more than 0.1 bits/char": cc.mean() < rr.mean() - 0.1,
        "reset: position 0 over a bit worse than carried": rr[0] > cc[0] + 1.0,
        "reset: position 0 worse than positions 8-15 by 0.8": rr[0] > rr[8:].mean() + 0.8,
        "carried: position 0 within 0.3 of positions 8-15": abs(cc[0] - cc[8:].mean()) < 0.3,
        "reset-trained model gains over 0.05 when evaluated carrying": rc.mean() < rr.mean() - 0.05,
        "carrying at training time alone is worth over 0.03": cc.mean() < rc.mean() - 0.03,
        "carried model, reset at evaluation, is worse at position 0 than the reset-trained":
            pos[True, False][0] > rr[0],
    }
    failed = [name for name, holds in claims.items() if not holds]
    if failed:
        raise AssertionError(f"claims that do not hold: {failed}")
