"""Chapter 1's claims, each asserted in its direction on a small fixed seed."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import minirnn.chapters.ch01_why_recurrence as toy
from minirnn.numpy.classifiers import FlatMLP, ManyToOneRNN
from minirnn.numpy.layers import one_hot
from minirnn.numpy.train import count_params


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


@pytest.fixture(scope="module")
def measured():
    """The chapter's four experiments, as the notebook runs them."""
    return {
        "order_one": toy.length_experiment("order", several=False)[1],
        "order_several": toy.length_experiment("order", several=True)[1],
        "memory_one": toy.length_experiment("memory", several=False)[1],
        "memory_several": [toy.length_experiment("memory", several=True, seed=s)[1]
                           for s in (0, 1, 2)],
    }


def test_chapter_claims_hold(measured):
    toy.check_claims(**measured)


@pytest.mark.parametrize("where, value, claim", [
    (("order_one", "flat MLP (10 steps)", 10), 0.94, "solve order at T = 10"),
    (("order_several", "RNN (H=16)", 80), 0.94, "reads every length"),
    (("order_several", "flat MLP (20 steps)", 40), 0.71, "fails at T = 40"),
    (("memory_one", "flat MLP (20 steps)", 5), 0.94, "at every length"),
    (("memory_one", "RNN (H=16)", 5), 0.06, "fails at T = 5"),
    (("memory_one", "RNN (H=16)", 40), 0.94, "right from 10 to 80"),
])
def test_claims_check_fails_when_a_result_moves_past_the_prose(measured, where, value, claim):
    shifted = copy.deepcopy(measured)
    key, name, T = where
    shifted[key][name][T] = value
    with pytest.raises(AssertionError, match=claim):
        toy.check_claims(**shifted)


def test_claims_check_fails_if_all_three_memory_seeds_succeed(measured):
    shifted = copy.deepcopy(measured)
    for run in shifted["memory_several"]:
        run["RNN (H=16)"] = dict.fromkeys(run["RNN (H=16)"], 1.0)
    with pytest.raises(AssertionError, match="2 seeds of 3"):
        toy.check_claims(**shifted)


def test_rnn_remembers_the_first_bit_in_its_state():
    models, accs, _ = toy.length_experiment("memory", several=False)
    pair = np.array([toy.first_token_task(n=1, T=20, seed=4)[0][0]] * 2)
    pair[:, 0] = [0, 1]
    gap = np.linalg.norm(np.diff(models["RNN (H=16)"].hidden_states(pair), axis=0)[0], axis=1)
    assert gap[-1] > gap[0] > 0  # identical inputs after step 1, yet the states stay apart


def test_window_mlp_cuts_and_pads_and_fit_lengths_mixes_lengths():
    tokens = np.array([[1, 2, 3, 4]])
    assert np.array_equal(toy.to_window(tokens, 2, fill=0), [[1, 2]])
    assert np.array_equal(toy.to_window(tokens, 6, fill=5), [[1, 2, 3, 4, 5, 5]])
    mlp = toy.WindowMLP(T=6, V=6, H=4, fill=5)
    assert np.array_equal(mlp.features(tokens), FlatMLP(T=6, V=6, H=4).features(
        toy.to_window(tokens, 6, 5)))
    with pytest.raises(ValueError, match=r"fill: expected a token id in \[0, 6\), got 6"):
        toy.WindowMLP(T=6, V=6, H=4, fill=6)
    # an RNN trained on lengths 3 and 7 sees both: its loss falls on each
    data = [toy.order_task(100, T, seed=T) for T in (3, 7)]
    rnn = ManyToOneRNN(V=6, H=8)
    before = [rnn.loss(*d)[0] for d in data]
    toy.fit_lengths(rnn, data, steps=150)
    assert all(rnn.loss(*d)[0] < b for d, b in zip(data, before))
    with pytest.raises(ValueError, match="datasets: expected at least one"):
        toy.fit_lengths(rnn, [], steps=1)
    with pytest.raises(ValueError, match="task: expected one of"):
        toy.length_experiment("copy", several=False)


def test_models_reject_bad_tokens():
    rnn = ManyToOneRNN(V=2, H=4)
    with pytest.raises(IndexError, match=r"tokens: expected ids in \[0, 2\)"):
        rnn.predict(np.array([[0, 2]]))
    with pytest.raises(TypeError, match="tokens: expected an integer array"):
        rnn.predict(np.array([[0.0, 1.0]]))
