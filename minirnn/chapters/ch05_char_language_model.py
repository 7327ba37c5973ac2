"""Chapter 5: A character-level language model. The lecture's 'hello' example
as a tiny NumPy RNN, the floor a model without memory cannot go below, count-based baselines
in bits per character, and two measures of generated text.

- `hello_example`, `HelloRNN`, `train_hello`: the four-step example, worked exactly, and
  `HelloRNN.generate`, the test-time loop (feed a character, sample, feed the sample back).
- `memoryless_floor_nats`: the lowest total loss of any model that sees only the current input.
- `unigram_bits`, `bigram_bits`, `trigram_bits`: baselines a language model must beat;
  `unseen_share`: how many of a text's n-grams a training text never shows.
- `entropy_bits`, `distinct_ngram_fraction`, `tail_period`: what temperature and decoding do;
  `greedy_and_best_pairs`: greedy's next two characters against the most likely two.
- `check_bpc_claims`: the chapter's claims about bits per character, raising AssertionError.

Ids are integer arrays; V is the vocabulary size; losses are natural-log (nats) unless the
name says bits.
"""

from __future__ import annotations

import numpy as np
import torch

from minirnn.numpy import Adam, rnn_forward, temporal_affine_forward
from minirnn.numpy.layers import one_hot
from minirnn.numpy.models import rnn_lm_loss


def hello_example() -> tuple[str, np.ndarray, np.ndarray]:
    """The lecture's training example: the vocabulary "helo", inputs h e l l, targets e l l o.

    Returns (chars, x, y): the vocabulary as a string and x, y of shape (4,) int64.
    """
    chars = "helo"
    word = [chars.index(c) for c in "hello"]
    return chars, np.array(word[:-1]), np.array(word[1:])


def _check_ids(name: str, ids: np.ndarray, V: int | None = None) -> np.ndarray:
    ids = np.asarray(ids)
    if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"{name}: expected a 1-D integer array, got {ids.dtype} {ids.shape}")
    if V is not None and ids.size and (ids.min() < 0 or ids.max() >= V):
        raise IndexError(f"{name}: expected ids in [0, {V}), got [{ids.min()}, {ids.max()}]")
    return ids


def memoryless_floor_nats(x: np.ndarray, y: np.ndarray) -> float:
    """Lowest total loss (nats, summed over steps) of any model whose prediction at step t
    depends on x[t] only. The best such model predicts, after input a, the frequencies of the
    targets that follow a, so the floor is sum_t -ln(count(x_t, y_t) / count(x_t)).

    x, y: (T,) input and target ids.
    """
    x, y = _check_ids("x", x), _check_ids("y", y)
    if x.shape != y.shape:
        raise ValueError(f"y: expected shape {x.shape} to match x, got {y.shape}")
    pairs = {}
    for a, b in zip(x.tolist(), y.tolist()):
        pairs[(a, b)] = pairs.get((a, b), 0) + 1
    inputs = {a: int((x == a).sum()) for a in set(x.tolist())}
    return float(-sum(np.log(pairs[(a, b)] / inputs[a]) for a, b in zip(x.tolist(), y.tolist())))


# --------------------------------------------------------------------------- the tiny RNN


class HelloRNN:
    """A vanilla RNN over one-hot inputs, as the lecture draws it:
    h_t = tanh(x_t Wx + h_{t-1} Wh + b), s_t = h_t Wy + by (row vectors, h_0 = 0).

    params: Wx (V, H), Wh (H, H), b (H,), Wy (H, V), by (V,), float64.
    memory=False keeps Wh at zero for ever: the same model without memory.
    """

    def __init__(self, V: int = 4, H: int = 3, memory: bool = True, seed: int = 0,
                 scale: float = 0.5) -> None:
        rng = np.random.default_rng(seed)
        self.V, self.H, self.memory = V, H, memory
        self.params = {
            "Wx": rng.normal(size=(V, H)) * scale,
            "Wh": rng.normal(size=(H, H)) * scale * memory,
            "b": np.zeros(H),
            "Wy": rng.normal(size=(H, V)) * scale,
            "by": np.zeros(V),
        }

    def forward(self, x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
        """Every intermediate of one sequence: x, y (T,) ids -> a dict with one_hot (T, V),
        h (T, H), scores (T, V), probs (T, V), step_loss (T,) in nats, loss (the sum)."""
        x, y = _check_ids("x", x, self.V), _check_ids("y", y, self.V)
        p = self.params
        inputs = one_hot(x, self.V)  # (T, V)
        h, _ = rnn_forward(inputs[None], np.zeros((1, self.H)), p["Wx"], p["Wh"], p["b"])
        scores, _ = temporal_affine_forward(h, p["Wy"], p["by"])
        shifted = scores[0] - scores[0].max(axis=1, keepdims=True)
        probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
        step_loss = -np.log(probs[np.arange(len(y)), y])
        return {"one_hot": inputs, "h": h[0], "scores": scores[0], "probs": probs,
                "step_loss": step_loss, "loss": float(step_loss.sum())}

    def loss(self, x: np.ndarray, y: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
        """Total loss over the T steps (nats) and gradients with the keys of params."""
        inputs = one_hot(_check_ids("x", x, self.V), self.V)[None]  # (1, T, V)
        loss, grads = rnn_lm_loss(self.params, inputs, _check_ids("y", y, self.V)[None],
                                  np.zeros((1, self.H)))
        grads = {name: grads[name] for name in self.params}  # not those of x and h0
        if not self.memory:
            grads["Wh"][:] = 0.0
        return loss, grads

    def generate(self, start: int, length: int, temperature: float = 1.0,
                 rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The test-time loop: feed `start`, turn the scores into probabilities, pick the next
        character (sampled, or the most likely for temperature 0), feed it back as the next
        input, carrying the state. Returns ids (length,) and the model's probabilities p_t
        (length, V) at each step (at temperature 1, whatever the temperature of the picks)."""
        if not 0 <= start < self.V:
            raise IndexError(f"start: expected an id in [0, {self.V}), got {start}")
        if temperature > 0 and rng is None:
            raise ValueError("rng: expected a np.random.Generator to sample with, got None")
        p, h = self.params, np.zeros((1, self.H))
        ids, probs, current = [], [], start
        for _ in range(length):
            h, _ = rnn_forward(one_hot(np.array([current]), self.V)[None], h, p["Wx"], p["Wh"],
                               p["b"])
            h = h[:, -1]  # (1, H): the state carried to the next step
            scores = h[0] @ p["Wy"] + p["by"]  # (V,)
            if temperature == 0:
                current = int(np.argmax(scores))
            else:
                current = int(rng.choice(self.V, p=softmax_t(scores, temperature)))
            ids.append(current)
            probs.append(softmax_t(scores, 1.0))
        return np.array(ids), np.array(probs)


def train_hello(H: int = 3, steps: int = 300, lr: float = 0.05, memory: bool = True,
                seed: int = 0) -> tuple[HelloRNN, list[float]]:
    """Fit a HelloRNN to the 'hello' example with Adam; returns the model and the total loss
    (nats over the 4 steps) before each step."""
    _, x, y = hello_example()
    model = HelloRNN(V=4, H=H, memory=memory, seed=seed)
    opt = Adam(lr=lr)
    losses = []
    for _ in range(steps):
        loss, grads = model.loss(x, y)
        opt.step(model.params, grads)
        losses.append(loss)
    return model, losses


# --------------------------------------------------------------------------- baselines


def unigram_bits(train_ids: np.ndarray, eval_ids: np.ndarray, V: int,
                 alpha: float = 0.5) -> float:
    """Bits per character on eval_ids of character frequencies counted on train_ids (each count
    plus alpha, so an unseen character does not cost infinitely many bits)."""
    train_ids, eval_ids = _check_ids("train_ids", train_ids, V), _check_ids("eval_ids", eval_ids, V)
    counts = np.bincount(train_ids, minlength=V) + alpha
    return float(-np.log2(counts[eval_ids] / counts.sum()).mean())


def bigram_bits(train_ids: np.ndarray, eval_ids: np.ndarray, V: int,
                alpha: float = 0.5) -> float:
    """Bits per character on eval_ids[1:] of next-character frequencies given the current
    character, counted on train_ids (plus alpha per pair)."""
    train_ids, eval_ids = _check_ids("train_ids", train_ids, V), _check_ids("eval_ids", eval_ids, V)
    counts = np.full((V, V), alpha)
    np.add.at(counts, (train_ids[:-1], train_ids[1:]), 1.0)
    probs = counts / counts.sum(axis=1, keepdims=True)
    return float(-np.log2(probs[eval_ids[:-1], eval_ids[1:]]).mean())


def trigram_bits(train_ids: np.ndarray, eval_ids: np.ndarray, V: int,
                 alpha: float = 0.5) -> float:
    """Bits per character on eval_ids[2:] of next-character frequencies given the two
    characters before, counted on train_ids (plus alpha for each of the V next characters)."""
    train_ids, eval_ids = _check_ids("train_ids", train_ids, V), _check_ids("eval_ids", eval_ids, V)
    # a pair (a, b) as the number a * V + b; only the trigrams seen are stored, not V^3 counts
    tri = (train_ids[:-2] * V + train_ids[1:-1]) * V + train_ids[2:]
    seen, counts = np.unique(tri, return_counts=True)
    pair_seen, pair_counts = np.unique(tri // V, return_counts=True)

    def lookup(keys: np.ndarray, table: np.ndarray, values: np.ndarray) -> np.ndarray:
        pos = np.clip(np.searchsorted(table, keys), 0, len(table) - 1)
        return np.where(table[pos] == keys, values[pos], 0)

    ev = (eval_ids[:-2] * V + eval_ids[1:-1]) * V + eval_ids[2:]
    p = (lookup(ev, seen, counts) + alpha) / (lookup(ev // V, pair_seen, pair_counts) + alpha * V)
    return float(-np.log2(p).mean())


def unseen_share(train_ids: np.ndarray, eval_ids: np.ndarray, n: int = 3) -> float:
    """Share of the n-grams of eval_ids (counted with repeats) that never occur in train_ids."""
    train_ids, eval_ids = _check_ids("train_ids", train_ids), _check_ids("eval_ids", eval_ids)
    if not 1 <= n <= len(eval_ids):
        raise ValueError(f"n: expected 1 <= n <= {len(eval_ids)}, got {n}")
    seen = {tuple(train_ids[i:i + n].tolist()) for i in range(len(train_ids) - n + 1)}
    grams = [tuple(eval_ids[i:i + n].tolist()) for i in range(len(eval_ids) - n + 1)]
    return sum(g not in seen for g in grams) / len(grams)


def check_bpc_claims(curve: list[float], baselines: dict[str, float]) -> None:
    """The chapter's claims about the character model's validation bits per character after
    each training stage (curve[0] untrained, curve[1] after 25 steps, curve[-1] after 600)
    against the uniform, unigram and bigram baselines. Raises AssertionError naming the claims
    that do not hold."""
    claims = {
        "the baselines order uniform > unigram > bigram + 0.8":
            baselines["uniform"] > baselines["unigram"] > baselines["bigram"] + 0.8,
        "untrained: no better than a uniform guess": curve[0] > baselines["uniform"] - 0.1,
        "25 steps: within 0.3 of the unigram model": abs(curve[1] - baselines["unigram"]) < 0.3,
        "trained: more than 0.5 below the bigram model": curve[-1] < baselines["bigram"] - 0.5,
        "every stage improves": all(b < a for a, b in zip(curve, curve[1:])),
    }
    failed = [name for name, holds in claims.items() if not holds]
    if failed:
        raise AssertionError(f"claims that do not hold: {failed}")


# --------------------------------------------------------------------------- generation


def entropy_bits(logits: np.ndarray, temperature: float = 1.0) -> float:
    """Entropy in bits of softmax(logits / temperature) for logits (V,)."""
    if temperature <= 0:
        raise ValueError(f"temperature: expected a number > 0, got {temperature}")
    z = np.asarray(logits, dtype=np.float64) / temperature
    p = np.exp(z - z.max())
    p /= p.sum()
    nz = p[p > 0]
    return float(-(nz * np.log2(nz)).sum())


def softmax_t(logits: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(logits / temperature) of logits (..., V); temperature 0 puts all mass on the
    largest logit."""
    z = np.asarray(logits, dtype=np.float64)
    if temperature < 0:
        raise ValueError(f"temperature: expected a number >= 0, got {temperature}")
    if temperature == 0:
        return (z == z.max(axis=-1, keepdims=True)).astype(np.float64) / (
            z == z.max(axis=-1, keepdims=True)).sum(axis=-1, keepdims=True)
    z = z / temperature
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def distinct_ngram_fraction(ids: np.ndarray, n: int = 4) -> float:
    """Distinct n-grams divided by all n-grams of ids (T,): 1 for text that never repeats a
    stretch of n characters, small for text that loops."""
    ids = _check_ids("ids", ids)
    if not 1 <= n <= len(ids):
        raise ValueError(f"n: expected 1 <= n <= {len(ids)}, got {n}")
    grams = {tuple(ids[i:i + n].tolist()) for i in range(len(ids) - n + 1)}
    return len(grams) / (len(ids) - n + 1)


def tail_period(ids: np.ndarray, repeats: int = 3) -> int:
    """The smallest p such that the last repeats * p ids are one block of p repeated, or 0 if
    there is none: a positive value means the generator is stuck in a loop of length p."""
    ids = _check_ids("ids", ids)
    for p in range(1, len(ids) // repeats + 1):
        tail = ids[len(ids) - repeats * p:]
        if np.array_equal(tail[p:], tail[:-p]):
            return p
    return 0


def token_ranks_and_bits(model, prime: torch.Tensor, ids: torch.Tensor
                         ) -> tuple[np.ndarray, float]:
    """Read prime (P,) then ids (L,) with a `CharLM`-like model (called as model(x) ->
    (logits, state)); return the rank of each id among the model's predictions at its step
    (0 = the most likely) and the model's mean loss on ids in bits per character."""
    if prime.dim() != 1 or ids.dim() != 1 or len(prime) < 1:
        raise ValueError(f"prime, ids: expected shapes (P,) with P >= 1 and (L,), got "
                         f"{tuple(prime.shape)} and {tuple(ids.shape)}")
    seq = torch.cat([prime, ids])
    was_training = model.training
    model.eval()
    with torch.no_grad():
        logits, _ = model(seq[None, :-1])
    model.train(was_training)
    logits = logits[0, len(prime) - 1:].double()  # the predictions of ids
    chosen = logits.gather(1, ids[:, None])
    ranks = (logits > chosen).sum(dim=1).numpy()
    bits = float(-torch.log_softmax(logits, dim=1).gather(1, ids[:, None]).mean()) / np.log(2)
    return ranks, bits


@torch.no_grad()
def greedy_and_best_pairs(model, contexts: torch.Tensor) -> dict[str, np.ndarray]:
    """For each context, the model's log-probability (nats) of the two characters greedy
    decoding picks next, and of the most likely two characters, found by trying all V * V.

    model: a `CharLM`-like model (model(x, state) -> (logits, state)); contexts (B, P) ids.
    Returns {"greedy": (B,), "best": (B,), "greedy_ids": (B, 2), "best_ids": (B, 2)}.
    """
    if contexts.dim() != 2 or contexts.shape[1] < 1:
        raise ValueError(f"contexts: expected shape (B, P) with P >= 1, got "
                         f"{tuple(contexts.shape)}")
    was_training = model.training
    model.eval()
    logits, state = model(contexts)
    first = torch.log_softmax(logits[:, -1].double(), dim=-1)  # (B, V)
    B, V = first.shape
    # every context followed by every first character: B * V rows, the state repeated V times
    if state is None:  # a model without state, such as a bigram table
        repeated = None
    elif isinstance(state, tuple):
        repeated = tuple(s.repeat_interleave(V, dim=1) for s in state)
    else:
        repeated = state.repeat_interleave(V, dim=1)
    second_logits, _ = model(torch.arange(V).repeat(B)[:, None], repeated)
    second = torch.log_softmax(second_logits[:, 0].double(), dim=-1).reshape(B, V, V)
    model.train(was_training)
    total = first[:, :, None] + second  # (B, V, V): log p(c1) + log p(c2 | c1)
    best = total.reshape(B, -1).max(dim=1)
    g1 = first.argmax(dim=1)
    g2 = second[torch.arange(B), g1].argmax(dim=1)
    return {"greedy": total[torch.arange(B), g1, g2].numpy(), "best": best.values.numpy(),
            "greedy_ids": torch.stack([g1, g2], 1).numpy(),
            "best_ids": torch.stack([best.indices // V, best.indices % V], 1).numpy()}
