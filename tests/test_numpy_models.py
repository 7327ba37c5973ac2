"""CharRNN and CaptioningRNN in pure NumPy: gradients, overfitting, sampling."""

from __future__ import annotations

import numpy as np
import pytest

from minirnn.numpy import (
    Adam,
    CaptioningRNN,
    CharRNN,
    clip_grad_norm,
    eval_numerical_gradient,
)

SENTENCE = "the quick brown fox jumps over the lazy dog."
CHARS = sorted(set(SENTENCE))
CHAR_TO_IDX = {c: i for i, c in enumerate(CHARS)}

WORDS = "<NULL> <START> <END> a cat dog sits runs on the mat grass red big".split()
WORD_TO_IDX = {w: i for i, w in enumerate(WORDS)}
CAPTIONS = ["a cat sits on the mat", "a big dog runs", "the red cat runs on grass", "a dog sits"]


def sentence_batch() -> tuple[np.ndarray, np.ndarray]:
    ids = np.array([[CHAR_TO_IDX[c] for c in SENTENCE]])
    return ids[:, :-1], ids[:, 1:]


def caption_batch(T: int = 8) -> np.ndarray:
    captions = np.full((len(CAPTIONS), T), WORD_TO_IDX["<NULL>"])
    for n, text in enumerate(CAPTIONS):
        ids = [WORD_TO_IDX["<START>"], *(WORD_TO_IDX[w] for w in text.split()),
               WORD_TO_IDX["<END>"]]
        captions[n, : len(ids)] = ids
    return captions


def numeric_check(loss_fn, params: dict, grads: dict) -> float:  # noqa: ANN001
    """Largest normwise relative error ||a - b|| / (||a|| + ||b||) over the parameters.

    Normwise, not elementwise: a whole model's loss is a sum of many terms, so the rounding
    error of a central difference (~1e-16 |loss| / h) swamps gradient entries near 1e-5 even
    though the backward pass is exact (every layer is checked elementwise on its own)."""
    worst = 0.0
    for name, p in params.items():
        numeric = eval_numerical_gradient(lambda _: loss_fn(), p)
        diff = np.linalg.norm(grads[name] - numeric)
        worst = max(worst, diff / max(1e-12, np.linalg.norm(grads[name]) + np.linalg.norm(numeric)))
    return worst


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_char_rnn_gradients(cell: str) -> None:
    model = CharRNN(6, hidden_size=4, embed_size=3, cell=cell, seed=2, dtype=np.float64)
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 6, (2, 4)), rng.integers(0, 6, (2, 4))
    _, grads = model.loss(x, y)
    assert set(grads) == set(model.params)
    assert numeric_check(lambda: model.loss(x, y)[0], model.params, grads) < 1e-7


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_captioning_rnn_gradients(cell: str) -> None:
    model = CaptioningRNN(WORD_TO_IDX, input_dim=5, wordvec_dim=3, hidden_dim=4,
                          cell_type=cell, seed=1, dtype=np.float64)
    features = np.random.default_rng(0).standard_normal((4, 5))
    captions = caption_batch()
    _, grads = model.loss(features, captions)
    assert set(grads) == set(model.params)
    assert numeric_check(lambda: model.loss(features, captions)[0], model.params, grads) < 1e-7


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_char_rnn_overfits_one_sentence(cell: str) -> None:
    x, y = sentence_batch()
    T = x.shape[1]
    model = CharRNN(len(CHARS), hidden_size=64, cell=cell, seed=0)
    opt = Adam(lr=1e-2)
    first, _ = model.loss(x, y)
    assert first / T == pytest.approx(np.log(len(CHARS)), rel=0.2)  # starts near ln V
    for _ in range(400):  # train a little past the target so that greedy decoding is exact
        loss, grads = model.loss(x, y)
        if loss / T < 0.02:
            break
        clip_grad_norm(grads, 5.0)
        opt.step(model.params, grads)
    assert loss / T < 0.05  # loss per character
    # greedy sampling from the first character reproduces the sentence
    text = "".join(CHARS[i] for i in model.sample(x[0, 0], T, temperature=0))
    assert SENTENCE[0] + text == SENTENCE


def test_char_rnn_sampling_temperature() -> None:
    x, y = sentence_batch()
    model = CharRNN(len(CHARS), hidden_size=32, cell="gru", seed=0)
    opt = Adam(lr=1e-2)
    for _ in range(100):
        _, grads = model.loss(x, y)
        opt.step(model.params, grads)
    greedy = model.sample([CHAR_TO_IDX["t"], CHAR_TO_IDX["h"]], 20, temperature=0)
    assert len(greedy) == 20
    a = model.sample(0, 30, temperature=1.0, rng=np.random.default_rng(5))
    b = model.sample(0, 30, temperature=1.0, rng=np.random.default_rng(5))
    assert a == b  # same generator state, same text
    hot = model.sample(0, 200, temperature=5.0, rng=np.random.default_rng(0))
    cold = model.sample(0, 200, temperature=0.1, rng=np.random.default_rng(0))
    assert len(set(hot)) > len(set(cold))  # a high temperature spreads over more characters


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_captioning_rnn_overfits_and_samples_the_captions(cell: str) -> None:
    captions = caption_batch()
    features = np.random.default_rng(0).standard_normal((4, 20)).astype(np.float32)
    model = CaptioningRNN(WORD_TO_IDX, input_dim=20, wordvec_dim=16, hidden_dim=32,
                          cell_type=cell, seed=0)
    opt = Adam(lr=1e-2)
    words_per_caption = (captions[:, 1:] != WORD_TO_IDX["<NULL>"]).sum(axis=1).mean()
    for _ in range(600):  # a little past the target, so that greedy decoding is exact
        loss, grads = model.loss(features, captions)
        if loss / words_per_caption < 0.02:
            break
        opt.step(model.params, grads)
    assert loss / words_per_caption < 0.05
    sampled = model.sample(features, max_length=10)
    assert sampled.shape == (4, 10)
    assert model.decode(sampled) == CAPTIONS
    # after <END>, the rest of each row is <NULL>
    for row in sampled:
        end = list(row).index(WORD_TO_IDX["<END>"])
        assert np.all(row[end + 1 :] == WORD_TO_IDX["<NULL>"])


def test_captioning_null_padding_is_masked() -> None:
    """Changing what the model would predict after <END> (padding targets) changes nothing."""
    model = CaptioningRNN(WORD_TO_IDX, input_dim=5, wordvec_dim=3, hidden_dim=4, seed=2)
    features = np.random.default_rng(1).standard_normal((4, 5)).astype(np.float32)
    short = caption_batch(T=8)
    longer = np.concatenate([short, np.zeros((4, 3), dtype=short.dtype)], axis=1)
    loss_short, _ = model.loss(features, short)
    loss_long, _ = model.loss(features, longer)
    assert loss_short == pytest.approx(loss_long, rel=1e-6)
