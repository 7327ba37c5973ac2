"""Unit tests of minirnn.chapters.ch06_embeddings: each against an independent result."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import minirnn.chapters.ch06_embeddings as emb


def test_matmul_and_lookup_give_the_same_vectors():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(7, 5))
    ids = rng.integers(0, 7, size=(3, 4))
    assert np.array_equal(emb.embed_by_matmul(ids, W), emb.embed_by_lookup(ids, W))
    assert np.array_equal(emb.embed_by_lookup(ids, W)[1, 2], W[ids[1, 2]])
    with pytest.raises(ValueError, match=r"W: expected shape \(V, D\)"):
        emb.embed_by_lookup(ids, W[0])


def test_multiply_adds_formula_matches_torch_flop_counter():
    for n, V, D in [(10, 7, 3), (512, 1000, 64)]:
        assert emb.multiply_adds("matmul", n, V, D) == n * V * D
        assert emb.counted_multiply_adds("matmul", n, V, D) == n * V * D
        assert emb.counted_multiply_adds("lookup", n, V, D) == 0 == emb.multiply_adds(
            "lookup", n, V, D)
    assert emb.one_hot_bytes(10, 7) == 280
    with pytest.raises(ValueError, match="method: expected one of"):
        emb.multiply_adds("gather", 1, 1, 1)


def test_time_embedding_returns_a_positive_number_of_seconds():
    assert emb.time_embedding("lookup", 16, 10, 4, repeats=2) > 0


def test_fancy_index_keeps_only_the_last_gradient_of_a_repeated_id():
    ids = np.array([1, 3, 1])
    dout = np.array([[1.0, 10.0], [2.0, 20.0], [4.0, 40.0]])
    wrong = emb.grad_by_fancy_index(ids, dout, 4)
    right = emb.grad_by_scatter_add(ids, dout, 4)
    assert np.array_equal(wrong[1], [4.0, 40.0])  # the last use of id 1 only
    assert np.array_equal(right[1], [5.0, 50.0])
    assert np.array_equal(right, emb.grad_by_matmul(ids, dout, 4))
    assert np.array_equal(wrong[3], right[3])  # a single use is fine either way
    assert emb.dropped_contributions(ids) == 1


def test_scatter_add_matches_torch_autograd_on_a_batch_with_repeats():
    rng = np.random.default_rng(1)
    ids = rng.integers(0, 5, size=(4, 6))
    dout = rng.normal(size=(4, 6, 3))
    W = torch.zeros(5, 3, dtype=torch.float64, requires_grad=True)
    torch.nn.functional.embedding(torch.tensor(ids), W).backward(torch.tensor(dout))
    assert np.allclose(emb.grad_by_scatter_add(ids, dout, 5), W.grad.numpy())
    with pytest.raises(ValueError, match=r"dout: expected shape \(4, 6\) \+ \(D,\)"):
        emb.grad_by_scatter_add(ids, dout[:, :5], 5)


def test_pca_2d_finds_the_main_direction_and_is_sign_stable():
    rng = np.random.default_rng(2)
    W = np.outer(np.linspace(-3, 3, 20), [1.0, 0.0, 0.0]) + 0.01 * rng.normal(size=(20, 3))
    coords, share = emb.pca_2d(W)
    assert coords.shape == (20, 2) and share[0] > 0.99
    assert np.allclose(np.abs(coords[:, 0]), np.abs(W[:, 0] - W[:, 0].mean()), atol=0.05)
    assert np.abs(coords[:, 0]).argmax() == np.argmax(coords[:, 0])  # largest entry positive
    assert np.allclose(emb.pca_2d(-W)[0], coords)
    with pytest.raises(ValueError, match="D >= 2"):
        emb.pca_2d(W[:, :1])


def test_neighbours_and_neighbour_rate():
    W = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9], [-1.0, 0.0]])
    assert list(emb.cosine_neighbours(W, 0, 2)) == [1, 3]
    assert emb.neighbour_rate(W, np.array([0, 1]), k=1) == 1.0
    assert emb.neighbour_rate(W, np.array([0, 2]), k=1) == 0.0
    with pytest.raises(ValueError, match="k: expected"):
        emb.cosine_neighbours(W, 0, 5)


def test_train_char_embedding_learns_and_checks_its_input():
    ids = torch.tensor([0, 1, 2, 3] * 100)
    E0, _ = emb.train_char_embedding(ids, 4, embed_size=4, hidden_size=8, steps=0)
    E, losses = emb.train_char_embedding(ids, 4, embed_size=4, hidden_size=8, steps=60,
                                         seq_len=8, lr=3e-2)
    assert E.shape == (4, 4) and not np.allclose(E, E0)
    assert losses[-1] < 0.2 * losses[0]  # a cycle of 4 is easy to predict
    with pytest.raises(TypeError, match="ids: expected a LongTensor"):
        emb.train_char_embedding(ids.float(), 4)


def test_input_weights_counts_the_model_and_rejects_bad_sizes():
    assert emb.input_weights(7, 5) == 35
    assert emb.input_weights(7, 5, D=3) == 7 * 3 + 3 * 5
    assert emb.break_even_embedding_size(7, 5) == pytest.approx(35 / 12)
    with pytest.raises(ValueError, match="D: expected a positive integer, got 0"):
        emb.input_weights(7, 5, D=0)
    with pytest.raises(ValueError, match="V: expected a positive integer, got 2.5"):
        emb.input_weights(2.5, 5)
