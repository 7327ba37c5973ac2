"""Complete models built from the layers, in pure NumPy.

- CharRNN: a character-level language model (embedding -> RNN/LSTM/GRU -> affine -> softmax),
  trained with `loss` and sampled with a temperature.
- CaptioningRNN: an image-captioning decoder: image features projected to the initial hidden
  state h0, word embeddings in, a vocabulary distribution out at every step; NULL padding is
  masked out of the loss; greedy sampling.
- MaskedCharRNN: embedding -> vanilla RNN -> scores for right-padded batches, with `lengths`,
  a loss mask and a choice of reduction (chapter 4; chapters 7 and 10 train it too).
- rnn_lm_loss: the smallest language model as one function of its parameters (vanilla RNN,
  per-step scores, summed softmax loss), with the gradients of every input (chapters 5, 7).

All keep their weights in `model.params` (name -> array) and return gradients under the
same names, ready for an optimizer from minirnn.numpy.optim.
"""

from __future__ import annotations

import numpy as np

from minirnn.numpy import checks
from minirnn.numpy.gru import gru_backward, gru_forward, gru_step_forward
from minirnn.numpy.layers import (
    temporal_affine_backward,
    temporal_affine_forward,
    temporal_softmax_loss,
    word_embedding_backward,
    word_embedding_forward,
)
from minirnn.numpy.losses import (
    IGNORE_INDEX,
    length_mask,
    per_step_losses,
    token_weights,
    weighted_softmax_loss,
)
from minirnn.numpy.lstm import lstm_backward, lstm_forward, lstm_step_forward
from minirnn.numpy.rnn import rnn_backward, rnn_forward, rnn_step_forward

GATES = {"rnn": 1, "lstm": 4, "gru": 3}  # how many H-wide blocks the cell's weights stack
CELL_PARAMS = {"rnn": ("Wx", "Wh", "b"), "lstm": ("Wx", "Wh", "b"), "gru": ("Wx", "Wh", "bx", "bh")}
SEQUENCE = {
    "rnn": (rnn_forward, rnn_backward),
    "lstm": (lstm_forward, lstm_backward),
    "gru": (gru_forward, gru_backward),
}


def _check_cell(cell: str) -> str:
    if cell not in GATES:
        raise ValueError(f"cell: expected one of {sorted(GATES)}, got {cell!r}")
    return cell


def _init_cell(params: dict, cell: str, D: int, H: int, rng: np.random.Generator,
               dtype: np.dtype) -> None:
    """Recurrent weights scaled by 1/sqrt(fan-in), so pre-activations start near unit size."""
    G = GATES[cell]
    params["Wx"] = (rng.standard_normal((D, G * H)) / np.sqrt(D)).astype(dtype)
    params["Wh"] = (rng.standard_normal((H, G * H)) / np.sqrt(H)).astype(dtype)
    for name in CELL_PARAMS[cell][2:]:
        params[name] = np.zeros(G * H, dtype=dtype)


def _cell_step(cell: str, params: dict, x: np.ndarray, state: tuple) -> tuple:
    """One step of the cell for sampling; state is (h,) or (h, c) for an LSTM."""
    weights = [params[k] for k in CELL_PARAMS[cell]]
    if cell == "rnn":
        return (rnn_step_forward(x, state[0], *weights)[0],)
    if cell == "gru":
        return (gru_step_forward(x, state[0], *weights)[0],)
    next_h, next_c, _ = lstm_step_forward(x, state[0], state[1], *weights)
    return next_h, next_c


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


class CharRNN:
    """A character-level language model.

    Parameters (in `self.params`): W_embed (V, E), the cell's Wx (E, G*H), Wh (H, G*H) and
    biases (b, or bx and bh for a GRU), W_out (H, V), b_out (V,). G is 1 for "rnn", 4 for
    "lstm", 3 for "gru".
    """

    def __init__(self, vocab_size: int, hidden_size: int = 64, embed_size: int | None = None,
                 cell: str = "lstm", seed: int = 0, dtype: type = np.float32) -> None:
        self.cell = _check_cell(cell)
        self.V, self.H = int(vocab_size), int(hidden_size)
        self.E = int(embed_size or hidden_size)
        self.dtype = np.dtype(dtype)
        rng = np.random.default_rng(seed)
        self.params: dict[str, np.ndarray] = {
            "W_embed": (rng.standard_normal((self.V, self.E)) * 0.1).astype(self.dtype),
        }
        _init_cell(self.params, cell, self.E, self.H, rng, self.dtype)
        self.params["W_out"] = (rng.standard_normal((self.H, self.V)) / np.sqrt(self.H)).astype(
            self.dtype)
        self.params["b_out"] = np.zeros(self.V, dtype=self.dtype)

    def loss(self, x: np.ndarray, y: np.ndarray,
             h0: np.ndarray | None = None) -> tuple[float, dict[str, np.ndarray]]:
        """Loss and gradients on a batch.

        Inputs:
        - x: (N, T) input token ids in [0, V).
        - y: (N, T) target token ids (usually x shifted by one).
        - h0: optional (N, H) initial hidden state (zeros by default).

        Returns (loss, grads): cross-entropy summed over T and averaged over N (divide by T
        for a loss per character), and grads with the keys of self.params.
        """
        p = self.params
        checks.token_ids("x", x, self.V, "N, T")
        checks.token_ids("y", y, self.V, "N, T")
        if y.shape != x.shape:
            raise ValueError(f"y: expected shape {x.shape} to match x, got {y.shape}")
        N = x.shape[0]
        h0 = np.zeros((N, self.H), dtype=self.dtype) if h0 is None else h0
        forward, backward = SEQUENCE[self.cell]
        cell_weights = [p[k] for k in CELL_PARAMS[self.cell]]

        emb, emb_cache = word_embedding_forward(x, p["W_embed"])
        h, rnn_cache = forward(emb, h0, *cell_weights)
        scores, out_cache = temporal_affine_forward(h, p["W_out"], p["b_out"])
        loss, dscores = temporal_softmax_loss(scores, y)

        grads: dict[str, np.ndarray] = {}
        dh, grads["W_out"], grads["b_out"] = temporal_affine_backward(dscores, out_cache)
        demb, _dh0, *dcell = backward(dh, rnn_cache)
        grads.update(zip(CELL_PARAMS[self.cell], dcell))
        grads["W_embed"] = word_embedding_backward(demb, emb_cache)
        return loss, grads

    def sample(self, start: int | list[int], length: int, temperature: float = 1.0,
               rng: np.random.Generator | None = None) -> list[int]:
        """Generate `length` token ids after feeding the prompt `start` (an id or a list).

        temperature divides the logits: below 1 sharpens the distribution, above 1 flattens it,
        0 picks the most likely token every time (greedy).
        """
        if temperature < 0:
            raise ValueError(f"temperature: expected a number >= 0, got {temperature}")
        prompt = [start] if isinstance(start, (int, np.integer)) else list(start)
        if not prompt:
            raise ValueError("start: expected at least one token id, got an empty list")
        checks.token_ids("start", np.array(prompt), self.V, "T")
        rng = rng if rng is not None else np.random.default_rng()
        p = self.params
        h = np.zeros((1, self.H), dtype=self.dtype)
        state = (h, np.zeros_like(h)) if self.cell == "lstm" else (h,)

        out: list[int] = []
        token = prompt[0]
        for t in range(len(prompt) - 1 + length):
            x = p["W_embed"][[token]]  # (1, E)
            state = _cell_step(self.cell, p, x, state)
            if t + 1 < len(prompt):  # still reading the prompt
                token = prompt[t + 1]
                continue
            logits = (state[0] @ p["W_out"] + p["b_out"])[0].astype(np.float64)
            if temperature == 0:
                token = int(np.argmax(logits))
            else:
                token = int(rng.choice(self.V, p=_softmax(logits / temperature)))
            out.append(token)
        return out


class CaptioningRNN:
    """An image-captioning decoder (the image enters once, as the initial hidden state).

    Parameters: W_proj (F, H), b_proj (H,) map image features to h0; W_embed (V, W) word
    vectors; the cell's weights; W_vocab (H, V), b_vocab (V,) scores over the vocabulary.
    word_to_idx must contain "<NULL>" (padding), "<START>" and "<END>".
    """

    def __init__(self, word_to_idx: dict[str, int], input_dim: int = 512,
                 wordvec_dim: int = 128, hidden_dim: int = 128, cell_type: str = "rnn",
                 seed: int = 0, dtype: type = np.float32) -> None:
        self.cell = _check_cell(cell_type)
        for token in ("<NULL>", "<START>", "<END>"):
            if token not in word_to_idx:
                raise ValueError(f"word_to_idx: expected the special token {token}, "
                                 f"got keys {sorted(word_to_idx)[:10]}...")
        self.word_to_idx = dict(word_to_idx)
        self.idx_to_word = {i: w for w, i in word_to_idx.items()}
        self.null, self.start, self.end = (word_to_idx[t] for t in ("<NULL>", "<START>", "<END>"))
        self.V, self.F, self.H = len(word_to_idx), int(input_dim), int(hidden_dim)
        self.dtype = np.dtype(dtype)
        rng = np.random.default_rng(seed)
        self.params: dict[str, np.ndarray] = {
            "W_proj": (rng.standard_normal((self.F, self.H)) / np.sqrt(self.F)).astype(dtype),
            "b_proj": np.zeros(self.H, dtype=dtype),
            "W_embed": (rng.standard_normal((self.V, wordvec_dim)) * 0.1).astype(dtype),
        }
        _init_cell(self.params, self.cell, wordvec_dim, self.H, rng, self.dtype)
        self.params["W_vocab"] = (rng.standard_normal((self.H, self.V)) / np.sqrt(self.H)).astype(
            dtype)
        self.params["b_vocab"] = np.zeros(self.V, dtype=dtype)

    def _check_features(self, features: object) -> np.ndarray:
        s = checks.Shapes().bind("the model's input_dim", F=self.F)
        features = s.array("features", features, "N, F")
        checks.same_dtype("W_proj", self.params["W_proj"], features=features)
        return features

    def loss(self, features: np.ndarray,
             captions: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
        """Loss and gradients on a batch.

        Inputs:
        - features: (N, F) image features.
        - captions: (N, T + 1) token ids, each starting with <START>, padded with <NULL>.
          The model reads captions[:, :-1] and predicts captions[:, 1:]; <NULL> targets are
          masked out.

        Returns (loss, grads): cross-entropy summed over steps and averaged over N, and grads
        with the keys of self.params.
        """
        p = self.params
        features = self._check_features(features)
        checks.token_ids("captions", captions, self.V, "N, T")
        if captions.shape[0] != features.shape[0] or captions.shape[1] < 2:
            raise ValueError(f"captions: expected shape (N, T + 1) with N={features.shape[0]} "
                             f"and T >= 1, got {captions.shape}")
        words_in, words_out = captions[:, :-1], captions[:, 1:]
        mask = words_out != self.null
        forward, backward = SEQUENCE[self.cell]
        cell_weights = [p[k] for k in CELL_PARAMS[self.cell]]

        h0 = features @ p["W_proj"] + p["b_proj"]  # (N, H): the image enters here, once
        emb, emb_cache = word_embedding_forward(words_in, p["W_embed"])
        h, rnn_cache = forward(emb, h0, *cell_weights)
        scores, out_cache = temporal_affine_forward(h, p["W_vocab"], p["b_vocab"])
        loss, dscores = temporal_softmax_loss(scores, words_out, mask)

        grads: dict[str, np.ndarray] = {}
        dh, grads["W_vocab"], grads["b_vocab"] = temporal_affine_backward(dscores, out_cache)
        demb, dh0, *dcell = backward(dh, rnn_cache)
        grads.update(zip(CELL_PARAMS[self.cell], dcell))
        grads["W_embed"] = word_embedding_backward(demb, emb_cache)
        grads["W_proj"] = features.T @ dh0
        grads["b_proj"] = dh0.sum(axis=0)
        return loss, grads

    def sample(self, features: np.ndarray, max_length: int = 30) -> np.ndarray:
        """Greedy captions: at each step feed back the most likely word.

        Inputs:
        - features: (N, F) image features.
        - max_length: number of words to generate.

        Returns captions (N, max_length) of token ids (no <START>); after a caption's <END>
        the rest of its row is <NULL>.
        """
        p = self.params
        features = self._check_features(features)
        N = features.shape[0]
        h = features @ p["W_proj"] + p["b_proj"]
        state = (h, np.zeros_like(h)) if self.cell == "lstm" else (h,)
        captions = np.full((N, max_length), self.null, dtype=np.int64)
        words = np.full(N, self.start, dtype=np.int64)
        finished = np.zeros(N, dtype=bool)
        for t in range(max_length):
            state = _cell_step(self.cell, p, p["W_embed"][words], state)
            words = np.argmax(state[0] @ p["W_vocab"] + p["b_vocab"], axis=1)
            captions[:, t] = np.where(finished, self.null, words)
            finished |= words == self.end
        return captions

    def decode(self, captions: np.ndarray) -> list[str]:
        """Token ids (N, T) -> strings, stopping at <END> and skipping <NULL>/<START>."""
        texts = []
        for row in np.atleast_2d(captions):
            words = []
            for idx in row:
                if idx == self.end:
                    break
                if idx not in (self.null, self.start):
                    words.append(self.idx_to_word[int(idx)])
            texts.append(" ".join(words))
        return texts


class MaskedCharRNN:
    """Embedding -> vanilla RNN -> per-step scores, for right-padded batches.

    Parameters: W_embed (V, E), Wx (E, H), Wh (H, H), b (H,), W_out (H, V), b_out (V,).
    Inputs x (N, T) are token ids; targets y (N, T) are ids, or IGNORE_INDEX at padded steps.
    A padded batch must be right-padded: sequence n is real for t < lengths[n], where
    lengths[n] is the number of its targets that are not IGNORE_INDEX.
    """

    def __init__(self, V: int, H: int, E: int | None = None, seed: int = 0,
                 out_scale: float = 1.0):
        rng = np.random.default_rng(seed)
        E = E or H
        self.V, self.H, self.E = V, H, E
        self.params = {
            "W_embed": rng.normal(0.0, 1.0, (V, E)),
            "Wx": rng.normal(0.0, 1.0 / np.sqrt(E), (E, H)),
            "Wh": rng.normal(0.0, 1.0 / np.sqrt(H), (H, H)),
            "b": np.zeros(H),
            "W_out": rng.normal(0.0, out_scale / np.sqrt(H), (H, V)),
            "b_out": np.zeros(V),
        }

    def _lengths(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        if y.shape != x.shape:
            raise ValueError(f"y: expected shape {x.shape} to match x, got {y.shape}")
        mask = y != IGNORE_INDEX
        lengths = mask.sum(axis=1)
        if not np.array_equal(mask, length_mask(lengths, x.shape[1])):
            raise ValueError("y: expected right padding (IGNORE_INDEX only after the last "
                             "real target of each row)")
        return lengths

    def forward(self, x: np.ndarray, y: np.ndarray, use_lengths: bool = True):
        """Scores (N, T, V) and the caches; the RNN stops at each row's length if use_lengths."""
        p = self.params
        lengths = self._lengths(x, y) if use_lengths else None
        emb, emb_cache = word_embedding_forward(x, p["W_embed"])
        h0 = np.zeros((x.shape[0], self.H))
        h, rnn_cache = rnn_forward(emb, h0, p["Wx"], p["Wh"], p["b"], lengths=lengths)
        scores, out_cache = temporal_affine_forward(h, p["W_out"], p["b_out"])
        return scores, h, (emb_cache, rnn_cache, out_cache)

    def step_losses(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Per-step cross-entropy (N, T), 0 at padded steps."""
        return per_step_losses(self.forward(x, y)[0], y)

    def loss(self, x: np.ndarray, y: np.ndarray, reduction: str = "sum",
             use_lengths: bool = True, mask: np.ndarray | None = None):
        """Scalar loss and gradients (a dict like params).

        reduction: see `token_weights`; "sum" is the course's convention. mask: (N, T) boolean,
        default y != IGNORE_INDEX. use_lengths=False runs the RNN over the padding as if it
        were real input (the mask then still decides which steps count).
        """
        scores, _, (emb_cache, rnn_cache, out_cache) = self.forward(x, y, use_lengths)
        mask = (y != IGNORE_INDEX) if mask is None else mask
        loss, dscores = weighted_softmax_loss(scores, y, token_weights(mask, reduction))
        dh, dW_out, db_out = temporal_affine_backward(dscores, out_cache)
        demb, _, dWx, dWh, db = rnn_backward(dh, rnn_cache)
        dW_embed = word_embedding_backward(demb, emb_cache)
        return loss, {"W_embed": dW_embed, "Wx": dWx, "Wh": dWh, "b": db,
                      "W_out": dW_out, "b_out": db_out}

    def final_states(self, x: np.ndarray, y: np.ndarray, use_lengths: bool = True) -> np.ndarray:
        """Each row's state (N, H) after its last real step (after step T if not use_lengths)."""
        _, h, _ = self.forward(x, y, use_lengths)
        last = self._lengths(x, y) - 1 if use_lengths else np.full(len(x), x.shape[1] - 1)
        return h[np.arange(len(x)), last]


def rnn_lm_loss(params: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray,
                h0: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
    """Loss and gradients of RNN + per-step scores + softmax loss (summed over T, mean over N).

    Inputs: params with Wx (D, H), Wh (H, H), b (H,), Wy (H, V), by (V,); x (N, T, D) floats;
    y (N, T) targets in [0, V); h0 (N, H). Returns (loss, grads) where grads has a key for
    each parameter and for "x" and "h0".
    """
    p = params
    h, rnn_cache = rnn_forward(x, h0, p["Wx"], p["Wh"], p["b"])
    scores, affine_cache = temporal_affine_forward(h, p["Wy"], p["by"])
    loss, dscores = temporal_softmax_loss(scores, y)
    dh, dWy, dby = temporal_affine_backward(dscores, affine_cache)
    dx, dh0, dWx, dWh, db = rnn_backward(dh, rnn_cache)
    return loss, {"Wx": dWx, "Wh": dWh, "b": db, "Wy": dWy, "by": dby, "x": dx, "h0": dh0}
