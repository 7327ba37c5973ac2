"""Chapter 1's claims, each asserted in its direction on a small fixed seed."""

from __future__ import annotations

import numpy as np
import pytest

import minirnn.chapters.ch01_why_recurrence as toy
from minirnn.numpy.classifiers import FlatMLP, ManyToOneRNN
from minirnn.numpy.layers import one_hot
from minirnn.numpy.train import accuracy, count_params, fit


def test_one_set_of_rnn_weights_reads_every_length():
    rnn = ManyToOneRNN(V=6, H=8, seed=0)
    before = {k: v.copy() for k, v in rnn.params.items()}
    rng = np.random.default_rng(0)
    for T in (1, 7, 40):
        h = rnn.hidden_states(rng.integers(0, 6, size=(3, T)))
        assert h.shape == (3, T, 8)
    assert all(np.array_equal(before[k], rnn.params[k]) for k in before)
    assert count_params(rnn) == 6 * 8 + 8 * 8 + 8 + 8 * 2 + 2


def test_flat_mlp_parameters_grow_with_length_and_it_rejects_other_lengths():
    counts = [count_params(FlatMLP(T=T, V=6, H=8)) for T in (5, 10, 20)]
    assert counts[1] - counts[0] == counts[2] - counts[1] - 5 * 6 * 8 == 5 * 6 * 8
    mlp = FlatMLP(T=10, V=6, H=8)
    with pytest.raises(ValueError, match=r"tokens: expected shape \(N, 10\).*got \(2, 11\)"):
        mlp.predict(np.zeros((2, 11), dtype=np.int64))


def test_order_task_twins_have_same_counts_and_opposite_labels():
    tokens, labels = toy.order_task(n_pairs=50, T=8, seed=0)
    counts = one_hot(tokens, 6).sum(axis=1)
    assert np.array_equal(counts[0::2], counts[1::2])
    assert np.array_equal(labels[0::2], 1 - labels[1::2])
    assert np.all((tokens == 0).sum(axis=1) == 1) and np.all((tokens == 1).sum(axis=1) == 1)


def test_bag_of_tokens_is_exactly_at_chance_on_order_and_rnn_is_not():
    train = toy.order_task(n_pairs=1000, T=10, seed=1)
    test = toy.order_task(n_pairs=500, T=10, seed=2)
    bag, rnn = toy.BagOfTokens(V=6), ManyToOneRNN(V=6, H=16)
    fit(bag, *train, steps=400, seed=0)
    fit(rnn, *train, steps=400, seed=0)
    assert accuracy(bag, *test) == 0.5
    assert accuracy(rnn, *test) >= 0.95


def test_rnn_remembers_the_first_bit_and_a_one_step_model_cannot():
    train = toy.first_token_task(n=2000, T=20, seed=3)
    test = toy.first_token_task(n=1000, T=20, seed=4)
    last, rnn = toy.LastStepOnly(V=2, H=16), ManyToOneRNN(V=2, H=16)
    fit(last, *train, steps=600, seed=0)
    fit(rnn, *train, steps=600, seed=0)
    assert accuracy(last, *test) <= 0.6
    assert accuracy(rnn, *test) >= 0.95
    # The memory is in the state: two inputs differing only in bit 1 stay apart to the end.
    pair = np.array([test[0][0], test[0][0]])
    pair[:, 0] = [0, 1]
    h = rnn.hidden_states(pair)
    gap = np.linalg.norm(h[0] - h[1], axis=1)
    assert gap[-1] > 0.1 * gap[0]


def test_models_reject_bad_tokens():
    rnn = ManyToOneRNN(V=2, H=4)
    with pytest.raises(IndexError, match=r"tokens: expected ids in \[0, 2\)"):
        rnn.predict(np.array([[0, 2]]))
    with pytest.raises(TypeError, match="tokens: expected an integer array"):
        rnn.predict(np.array([[0.0, 1.0]]))
