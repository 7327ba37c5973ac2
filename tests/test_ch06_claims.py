"""Chapter 6's claims, each asserted in its direction on a small fixed seed."""

from __future__ import annotations

import numpy as np
import pytest

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


def test_embedding_saves_input_weights_only_below_the_break_even_size():
    V, H = 126, 128
    limit = emb.break_even_embedding_size(V, H)
    one_hot_count = emb.input_weights(V, H)  # counted on a real CharLM
    assert emb.input_weights(V, H, D=16) < one_hot_count
    assert emb.input_weights(V, H, D=63) < one_hot_count < emb.input_weights(V, H, D=64)
    assert 63 < limit < 64
    assert emb.input_weights(V, H, D=100) > one_hot_count  # D < H is not enough


def _measured():
    return dict(dropped_share=1980 / 2048, final_bits=2.68, rate_init=0.17, rate_learned=0.63,
                chance=0.113, break_even=emb.break_even_embedding_size(126, 128))


@pytest.mark.parametrize("key, value, claim", [
    ("break_even", 128.0, "below D = 63.5"),
    ("dropped_share", 0.94, "over 95%"),
    ("final_bits", 3.01, "below 3 bits"),
    ("rate_init", 0.31, "near chance"),
    ("rate_learned", 0.49, "most of a digit's neighbours"),
])
def test_claims_check_fails_when_a_result_moves_past_the_prose(key, value, claim):
    emb.check_claims(**_measured())
    with pytest.raises(AssertionError, match=claim):
        emb.check_claims(**{**_measured(), key: value})


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
    batch = ids.numpy()[np.random.default_rng(1).integers(0, len(ids) - 64, 32)[:, None]
                        + np.arange(64)]
    emb.check_claims(dropped_share=emb.dropped_contributions(batch) / batch.size,
                     final_bits=np.mean(losses[-50:]) / np.log(2),
                     rate_init=emb.neighbour_rate(E0, digits, k=3, among=common),
                     rate_learned=emb.neighbour_rate(E, digits, k=3, among=common),
                     chance=chance, break_even=emb.break_even_embedding_size(126, 128))
