"""Chapter 6: Embeddings. An embedding as a one-hot product or a lookup, its cost, its
backward pass as a scatter-add, and what a character model learns in it.

- `embed_by_matmul` / `embed_by_lookup`: the same vectors, by a (n, V) @ (V, D) product or by
  indexing rows.
- `input_weights`, `break_even_embedding_size`: the input weights an embedding saves, and up
  to which embedding size it saves any.
- `multiply_adds`, `counted_multiply_adds`, `one_hot_bytes`, `time_embedding`: the cost of each,
  by formula, by torch's FLOP counter, in bytes, and in seconds.
- `grad_by_fancy_index` (the bug), `grad_by_scatter_add`, `grad_by_matmul`: the backward pass.
- `train_char_embedding`, `pca_2d`, `neighbour_rate`: an embedding learned on text and a look
  inside it.

Token ids are integer arrays of any shape (n stands for their total number), W is (V, D).
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from minirnn.numpy.layers import one_hot
from minirnn.torch.models import CharLM
from minirnn.torch.train import Trainer

METHODS = ("matmul", "lookup")


def _check_ids(ids: np.ndarray, V: int) -> np.ndarray:
    ids = np.asarray(ids)
    if not np.issubdtype(ids.dtype, np.integer):
        raise TypeError(f"ids: expected an integer array, got dtype {ids.dtype}")
    if ids.size and (ids.min() < 0 or ids.max() >= V):
        raise IndexError(f"ids: expected ids in [0, {V}), got [{ids.min()}, {ids.max()}]")
    return ids


def _check_method(method: str) -> str:
    if method not in METHODS:
        raise ValueError(f"method: expected one of {METHODS}, got {method!r}")
    return method


def embed_by_matmul(ids: np.ndarray, W: np.ndarray) -> np.ndarray:
    """One-hot rows times W: ids of shape S, W (V, D) -> vectors of shape S + (D,)."""
    if W.ndim != 2:
        raise ValueError(f"W: expected shape (V, D), got {W.shape}")
    return one_hot(ids, W.shape[0], W.dtype) @ W


def embed_by_lookup(ids: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Rows of W picked by id: ids of shape S, W (V, D) -> vectors of shape S + (D,)."""
    if W.ndim != 2:
        raise ValueError(f"W: expected shape (V, D), got {W.shape}")
    return W[_check_ids(ids, W.shape[0])]


# --------------------------------------------------------------------------- parameters


def input_weights(V: int, H: int, D: int | None = None) -> int:
    """Weights between the tokens and an RNN's H units, counted on a real `CharLM`.

    D None: one-hot inputs, W_x (V, H), i.e. a CharLM whose embedding is the identity, so only
    W_x counts (V H). D given: an embedding E (V, D) and W_x' (D, H), V D + D H. Biases are
    the same either way and left out.
    """
    for name, value in (("V", V), ("H", H)) + ((("D", D),) if D is not None else ()):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name}: expected a positive integer, got {value!r}")
    model = CharLM(V, embed_size=V if D is None else D, hidden_size=H, cell="rnn")
    wx = model.rnn.weight_ih_l0.numel()
    return wx if D is None else model.embed.weight.numel() + wx


def break_even_embedding_size(V: int, H: int) -> float:
    """The D below which an embedding costs fewer input weights than one-hot inputs.

    V D + D H < V H  <=>  D < V H / (V + H): for V = 126 and H = 128, about 63.5.
    """
    return V * H / (V + H)


# --------------------------------------------------------------------------- cost


def multiply_adds(method: str, n_tokens: int, V: int, D: int) -> int:
    """Multiply-adds to embed n_tokens ids: n V D for the one-hot product, 0 for a lookup
    (which copies n D numbers and computes nothing)."""
    return n_tokens * V * D if _check_method(method) == "matmul" else 0


def one_hot_bytes(n_tokens: int, V: int, itemsize: int = 4) -> int:
    """Bytes of the (n, V) one-hot matrix the product needs and the lookup does not."""
    return n_tokens * V * itemsize


def _torch_embed(method: str, ids: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
    if method == "matmul":
        return torch.nn.functional.one_hot(ids, W.shape[0]).to(W.dtype) @ W
    return torch.nn.functional.embedding(ids, W)


def counted_multiply_adds(method: str, n_tokens: int, V: int, D: int) -> int:
    """Multiply-adds of the torch version of `method`, counted by torch's FlopCounterMode
    (which counts 2 FLOPs per multiply-add of a matrix product)."""
    _check_method(method)
    ids = torch.zeros(n_tokens, dtype=torch.long)
    W = torch.zeros(V, D)
    with FlopCounterMode(display=False) as counter:
        _torch_embed(method, ids, W)
    return counter.get_total_flops() // 2


def time_embedding(method: str, n_tokens: int, V: int, D: int, repeats: int = 5,
                   seed: int = 0) -> float:
    """Best-of-`repeats` seconds for the torch version of `method` on random ids (float32)."""
    _check_method(method)
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(V, (n_tokens,), generator=g)
    W = torch.randn(V, D, generator=g)
    best = float("inf")
    with torch.no_grad():
        for _ in range(repeats):
            start = time.perf_counter()
            _torch_embed(method, ids, W)
            best = min(best, time.perf_counter() - start)
    return best


# --------------------------------------------------------------------------- backward


def _check_dout(ids: np.ndarray, dout: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ids, dout = np.asarray(ids), np.asarray(dout)
    if dout.shape[:-1] != ids.shape:
        raise ValueError(f"dout: expected shape {ids.shape} + (D,), got {dout.shape}")
    return ids.reshape(-1), dout.reshape(-1, dout.shape[-1])


def grad_by_fancy_index(ids: np.ndarray, dout: np.ndarray, V: int) -> np.ndarray:
    """The tempting, WRONG backward: `dW[ids] += dout`. NumPy buffers the fancy-indexed update,
    so an id that occurs several times receives only one of its gradients. Kept to show it."""
    flat_ids, flat_dout = _check_dout(_check_ids(ids, V), dout)
    dW = np.zeros((V, flat_dout.shape[1]), dtype=flat_dout.dtype)
    dW[flat_ids] += flat_dout
    return dW


def grad_by_scatter_add(ids: np.ndarray, dout: np.ndarray, V: int) -> np.ndarray:
    """The right backward: `np.add.at` adds every row of dout into row ids[i] of dW (V, D)."""
    flat_ids, flat_dout = _check_dout(_check_ids(ids, V), dout)
    dW = np.zeros((V, flat_dout.shape[1]), dtype=flat_dout.dtype)
    np.add.at(dW, flat_ids, flat_dout)
    return dW


def grad_by_matmul(ids: np.ndarray, dout: np.ndarray, V: int) -> np.ndarray:
    """The backward of the one-hot product, one_hot.T @ dout: correct by construction."""
    flat_ids, flat_dout = _check_dout(_check_ids(ids, V), dout)
    return one_hot(flat_ids, V, flat_dout.dtype).T @ flat_dout


def dropped_contributions(ids: np.ndarray) -> int:
    """How many per-token gradients `grad_by_fancy_index` loses: tokens minus distinct ids."""
    ids = np.asarray(ids)
    return int(ids.size - np.unique(ids).size)


# --------------------------------------------------------------------------- learned


class RandomWindows:
    """Batches of batch_size windows of seq_len + 1 ids, each starting at a random position of
    ids (L,): next_batch() returns inputs x and next-character targets y, both (N, seq_len)."""

    def __init__(self, ids: torch.Tensor, batch_size: int, seq_len: int, seed: int = 0) -> None:
        self.ids, self.batch_size = ids, batch_size
        self.generator = torch.Generator().manual_seed(seed)
        self.offsets = torch.arange(seq_len + 1)

    def next_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        last_start = len(self.ids) - len(self.offsets)
        starts = torch.randint(last_start, (self.batch_size,), generator=self.generator)
        window = self.ids[starts[:, None] + self.offsets]
        return window[:, :-1], window[:, 1:]


def train_char_embedding(ids: torch.Tensor, vocab_size: int, embed_size: int = 16,
                         hidden_size: int = 128, steps: int = 600, batch_size: int = 32,
                         seq_len: int = 32, lr: float = 3e-3, seed: int = 0
                         ) -> tuple[np.ndarray, list[float]]:
    """Train a character model (embedding -> tanh RNN -> linear, a `CharLM`) on random windows
    of `ids` with Adam, and return its embedding table (V, embed_size) and the loss per step
    in nats per character.

    ids: (L,) LongTensor of character ids in [0, vocab_size).
    """
    if not isinstance(ids, torch.Tensor) or ids.dim() != 1 or ids.dtype != torch.long:
        raise TypeError("ids: expected a LongTensor of shape (L,)")
    if len(ids) <= seq_len + 1:
        raise ValueError(f"ids: expected more than {seq_len + 1} ids, got {len(ids)}")
    torch.manual_seed(seed)
    model = CharLM(vocab_size, embed_size=embed_size, hidden_size=hidden_size, cell="rnn")
    windows = RandomWindows(ids, batch_size, seq_len, seed=seed)
    history = Trainer(model, windows, lr=lr, clip_norm=1.0, progress=False).fit(steps)
    return model.embed.weight.detach().numpy().copy(), history["loss"]


def pca_2d(W: np.ndarray, unit_rows: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Project the rows of W (V, D) on their two main directions of variation.

    unit_rows=True first scales every row to length 1, so that the picture shows directions
    (what cosine similarity compares) rather than lengths.
    Returns coords (V, 2) and the share of the variance each direction explains (2,).
    """
    if W.ndim != 2 or W.shape[1] < 2:
        raise ValueError(f"W: expected shape (V, D) with D >= 2, got {W.shape}")
    if unit_rows:
        W = W / np.linalg.norm(W, axis=1, keepdims=True)
    centred = W - W.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    coords = centred @ vt[:2].T
    # fix each axis's sign (SVD may flip it) so the plot is the same on every machine
    coords *= np.where(coords[np.abs(coords).argmax(axis=0), [0, 1]] < 0, -1, 1)
    return coords, (s[:2] ** 2) / (s**2).sum()


def cosine_neighbours(W: np.ndarray, i: int, k: int, among: np.ndarray | None = None
                      ) -> np.ndarray:
    """Ids of the k rows of W most similar to row i by cosine similarity (i itself excluded),
    most similar first, searched among the ids `among` (all rows by default)."""
    among = np.arange(W.shape[0]) if among is None else np.asarray(among)
    among = among[among != i]
    if not 1 <= k <= len(among):
        raise ValueError(f"k: expected 1 <= k <= {len(among)}, got {k}")
    unit = W / np.linalg.norm(W, axis=1, keepdims=True)
    sims = unit[among] @ unit[i]
    return among[np.argsort(-sims, kind="stable")[:k]]


def neighbour_rate(W: np.ndarray, group: np.ndarray, k: int = 3,
                   among: np.ndarray | None = None) -> float:
    """Mean share of each group member's k nearest neighbours (cosine) that are in the group.

    By chance it is about (len(group) - 1) / (len(among) - 1).
    """
    group = np.asarray(group)
    hits = [np.isin(cosine_neighbours(W, int(i), k, among), group).mean() for i in group]
    return float(np.mean(hits))


# --------------------------------------------------------------------------- claims


def check_claims(dropped_share: float, final_bits: float, rate_init: float, rate_learned: float,
                 chance: float, break_even: float) -> None:
    """Assert the chapter's claims on its measurements; raises AssertionError naming the claim.

    dropped_share: share of per-token gradients `dW[ids] += dout` loses on the text batch;
    final_bits: training loss at the end (bits per character); rate_init, rate_learned: digits
    among a digit's 3 nearest neighbours before and after training; chance: that rate for
    random rows; break_even: `break_even_embedding_size(126, 128)`.
    """
    def claim(ok: bool, text: str) -> None:
        if not ok:
            raise AssertionError(f"chapter 6 claim fails: {text}")

    claim(63 < break_even < 64 and round(break_even, 1) == 63.5,
          "an embedding saves input weights only below D = 63.5 for V = 126, H = 128")
    claim(dropped_share > 0.95, "dW[ids] += dout drops over 95% of the per-token gradients")
    claim(final_bits < 3.0, "the character model trains below 3 bits per character")
    claim(rate_init < 0.3, "before training, a digit's neighbours are near chance")
    claim(rate_learned > 0.5 > 3 * chance, "after training, most of a digit's neighbours are "
          "digits, over three times chance")
