"""Chapter 6's claims, each asserted in its direction on a small fixed seed."""

from __future__ import annotations

import numpy as np

import minirnn.chapters.ch06_embeddings as emb
from minirnn.data import CharVocab, load_corpus, to_torch
from minirnn.numpy import rnn_forward, word_embedding_backward, word_embedding_forward
from minirnn.numpy.layers import one_hot


def test_one_hot_product_equals_lookup_and_embedding_factorises_wx():
    rng = np.random.default_rng(0)
    E = rng.normal(size=(6, 3))
    ids = np.array([[2, 0, 5], [2, 2, 1]])
    out, _ = word_embedding_forward(ids, E)
    assert np.array_equal(emb.embed_by_matmul(ids, E), out)
    Wx, Wh = rng.normal(size=(3, 5)), rng.normal(size=(5, 5)) * 0.3
    h0, b = np.zeros((2, 5)), np.zeros(5)
    a, _ = rnn_forward(emb.embed_by_lookup(ids, E), h0, Wx, Wh, b)
    c, _ = rnn_forward(one_hot(ids, 6), h0, E @ Wx, Wh, b)
    assert np.allclose(a, c)
    assert 126 * 16 + 16 * 128 < 126 * 128  # fewer input weights with D = 16, H = 128


def test_product_cost_grows_with_vocabulary_and_lookup_costs_nothing():
    counts = [emb.counted_multiply_adds("matmul", 512, V, 64) for V in (64, 256, 1024)]
    assert counts[1] == 4 * counts[0] and counts[2] == 4 * counts[1]
    assert all(emb.counted_multiply_adds("lookup", 512, V, 64) == 0 for V in (64, 16384))


def test_fancy_index_backward_loses_most_gradients_on_a_text_batch():
    vocab_text = load_corpus()
    vocab = CharVocab.from_text(vocab_text)
    ids = vocab.encode(vocab_text)
    starts = np.random.default_rng(1).integers(0, len(ids) - 64, size=32)
    batch = ids[starts[:, None] + np.arange(64)]
    assert emb.dropped_contributions(batch) / batch.size > 0.95
    rng = np.random.default_rng(0)
    dout = rng.normal(size=batch.shape + (4,))
    right = emb.grad_by_scatter_add(batch, dout, len(vocab))
    _, cache = word_embedding_forward(batch, rng.normal(size=(len(vocab), 4)))
    assert np.allclose(right, word_embedding_backward(dout, cache))
    assert not np.allclose(right, emb.grad_by_fancy_index(batch, dout, len(vocab)))


def test_learned_embedding_groups_the_digits():
    text = load_corpus()
    vocab = CharVocab.from_text(text)
    ids = to_torch(vocab.encode(text))
    common = np.flatnonzero(np.bincount(ids.numpy(), minlength=len(vocab)) >= 200)
    digits = np.array([vocab.index[c] for c in "0123456789"])
    E0, _ = emb.train_char_embedding(ids, len(vocab), steps=0, seed=0)
    E, losses = emb.train_char_embedding(ids, len(vocab), steps=800, seed=0)
    chance = (len(digits) - 1) / (len(common) - 1)
    assert np.mean(losses[-50:]) / np.log(2) < 3.0
    assert emb.neighbour_rate(E0, digits, k=3, among=common) < 0.3
    assert emb.neighbour_rate(E, digits, k=3, among=common) > 0.5 > 3 * chance
