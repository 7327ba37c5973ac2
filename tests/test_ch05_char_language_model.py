"""Unit tests of minirnn.chapters.ch05_char_language_model, each against an independent result."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import minirnn.chapters.ch05_char_language_model as clm
from minirnn.numpy import eval_numerical_gradient, rel_error


def test_hello_example_is_the_lecture_layout():
    chars, x, y = clm.hello_example()
    assert chars == "helo"
    assert "".join(chars[i] for i in x) == "hell" and "".join(chars[i] for i in y) == "ello"


def test_memoryless_floor_by_hand():
    _, x, y = clm.hello_example()
    assert np.isclose(clm.memoryless_floor_nats(x, y), 2 * np.log(2))
    # a deterministic successor for every input: floor 0
    assert clm.memoryless_floor_nats(np.array([0, 1, 2]), np.array([1, 2, 0])) == 0.0
    # after 0 comes 1, 1, 2: -2 ln(2/3) - ln(1/3)
    expected = -2 * np.log(2 / 3) - np.log(1 / 3)
    assert np.isclose(clm.memoryless_floor_nats(np.array([0, 0, 0]), np.array([1, 1, 2])),
                      expected)
    with pytest.raises(ValueError, match="y: expected shape"):
        clm.memoryless_floor_nats(np.array([0, 1]), np.array([1]))


def test_hello_rnn_forward_matches_its_loss_and_gradients_check():
    _, x, y = clm.hello_example()
    model = clm.HelloRNN(V=4, H=3, seed=1)
    out = model.forward(x, y)
    assert out["probs"].shape == (4, 4) and np.allclose(out["probs"].sum(axis=1), 1)
    assert np.isclose(out["loss"], model.loss(x, y)[0])
    _, grads = model.loss(x, y)
    for name, p in model.params.items():
        numeric = eval_numerical_gradient(lambda _: model.loss(x, y)[0], p)
        assert rel_error(grads[name], numeric) < 1e-6, name


def test_memoryless_hello_keeps_wh_at_zero():
    model, losses = clm.train_hello(H=3, steps=50, memory=False, seed=0)
    assert np.all(model.params["Wh"] == 0)
    assert losses[-1] < losses[0]


def test_baselines_against_hand_counts():
    train = np.array([0, 1, 0, 1, 0, 2])
    # unigram counts + 0.5: [3.5, 2.5, 1.5] / 7.5
    assert np.isclose(clm.unigram_bits(train, np.array([0]), 3, alpha=0.5), -np.log2(3.5 / 7.5))
    # bigram: after 0 come 1, 1, 2 -> (2.5 for 1) / (3 + 1.5)
    assert np.isclose(clm.bigram_bits(train, np.array([0, 1]), 3, alpha=0.5),
                      -np.log2(2.5 / 4.5))
    with pytest.raises(IndexError, match=r"eval_ids: expected ids in \[0, 3\)"):
        clm.unigram_bits(train, np.array([3]), 3)


def test_entropy_and_softmax_t():
    assert np.isclose(clm.entropy_bits(np.zeros(8)), 3.0)
    logits = np.array([2.0, 1.0, 0.0])
    assert clm.entropy_bits(logits, 0.5) < clm.entropy_bits(logits, 1.0) < clm.entropy_bits(
        logits, 2.0)
    assert np.array_equal(clm.softmax_t(logits, 0), [1.0, 0.0, 0.0])
    assert np.allclose(clm.softmax_t(logits, 1.0), np.exp(logits) / np.exp(logits).sum())
    with pytest.raises(ValueError, match="temperature"):
        clm.entropy_bits(logits, 0.0)


def test_distinct_ngrams_and_tail_period():
    assert clm.distinct_ngram_fraction(np.array([1, 2, 3, 4, 5]), 2) == 1.0
    assert clm.distinct_ngram_fraction(np.array([1, 1, 1, 1, 1]), 2) == 0.25
    assert clm.tail_period(np.array([5, 4, 1, 2, 1, 2, 1, 2])) == 2
    assert clm.tail_period(np.array([1, 2, 3, 4, 5, 6])) == 0
    assert clm.tail_period(np.array([3, 7, 7, 7])) == 1
    with pytest.raises(ValueError, match="n: expected"):
        clm.distinct_ngram_fraction(np.array([1, 2]), 3)


class _Bigram(torch.nn.Module):
    """A fixed bigram table as a model(x) -> (logits, state)."""

    def __init__(self, table: torch.Tensor) -> None:
        super().__init__()
        self.table = table

    def forward(self, x, state=None):
        return self.table[x], state


def test_token_ranks_and_bits_on_a_known_table():
    table = torch.log(torch.tensor([[0.1, 0.6, 0.3], [0.5, 0.25, 0.25], [1 / 3, 1 / 3, 1 / 3]]))
    ranks, bits = clm.token_ranks_and_bits(_Bigram(table), torch.tensor([0]),
                                           torch.tensor([2, 0]))
    assert list(ranks) == [1, 0]  # after 0, id 2 is second; after 2 (uniform) id 0 ties at top
    assert np.isclose(bits, -(np.log2(0.3) + np.log2(1 / 3)) / 2)


def test_remaining_bad_inputs_name_the_argument():
    with pytest.raises(ValueError, match="x: expected a 1-D integer array"):
        clm.memoryless_floor_nats(np.array([[0, 1]]), np.array([[1, 2]]))
    with pytest.raises(IndexError, match=r"x: expected ids in \[0, 4\)"):
        clm.HelloRNN().forward(np.array([0, 4]), np.array([1, 2]))
    with pytest.raises(ValueError, match="temperature: expected a number >= 0"):
        clm.softmax_t(np.zeros(3), -1.0)
    with pytest.raises(ValueError, match=r"prime, ids: expected shapes \(P,\)"):
        clm.token_ranks_and_bits(_Bigram(torch.zeros(3, 3)), torch.tensor([], dtype=torch.long),
                                 torch.tensor([0]))


def _trigram_by_dicts(train, ev, V, alpha):
    counts, context = {}, {}
    for a, b, c in zip(train[:-2], train[1:-1], train[2:]):
        counts[a, b, c] = counts.get((a, b, c), 0) + 1
        context[a, b] = context.get((a, b), 0) + 1
    p = [(counts.get((a, b, c), 0) + alpha) / (context.get((a, b), 0) + alpha * V)
         for a, b, c in zip(ev[:-2], ev[1:-1], ev[2:])]
    return float(-np.log2(p).mean())


def test_trigram_bits_by_hand_and_against_a_dictionary_count():
    train = np.array([0, 1, 2, 0, 1, 2, 0, 1, 0])
    # after (0, 1): 2 twice, 0 once -> p(2) = (2 + 0.5) / (3 + 1.5)
    assert np.isclose(clm.trigram_bits(train, np.array([0, 1, 2]), 3), -np.log2(2.5 / 4.5))
    # an unseen context (2, 2): uniform 1/3
    assert np.isclose(clm.trigram_bits(train, np.array([2, 2, 1]), 3), np.log2(3))
    rng = np.random.default_rng(0)
    tr, ev = rng.integers(0, 7, 500), rng.integers(0, 7, 200)
    assert np.isclose(clm.trigram_bits(tr, ev, 7, 0.3), _trigram_by_dicts(tr, ev, 7, 0.3))


def test_unseen_share_counts_repeats():
    train = np.array([0, 1, 2, 3])
    assert clm.unseen_share(train, np.array([0, 1, 2, 0, 1, 2]), 3) == 0.5  # 012, 120, 201, 012
    assert clm.unseen_share(train, train, 2) == 0.0
    with pytest.raises(ValueError, match="n: expected"):
        clm.unseen_share(train, np.array([0, 1]), 3)


def test_hello_generate_feeds_back_its_picks():
    model = clm.HelloRNN(V=4, H=3, seed=2)
    ids, probs = model.generate(0, 5, temperature=0.0)
    # the same loop by hand: forward over the fed sequence, the last step's probabilities
    fed = np.r_[0, ids[:-1]]
    out = model.forward(fed, np.zeros(5, dtype=int))
    assert np.allclose(probs, out["probs"]) and np.array_equal(ids, out["probs"].argmax(1))
    sampled, _ = model.generate(0, 5, temperature=1.0, rng=np.random.default_rng(0))
    again, _ = model.generate(0, 5, temperature=1.0, rng=np.random.default_rng(0))
    assert np.array_equal(sampled, again)
    with pytest.raises(ValueError, match="rng: expected"):
        model.generate(0, 3, temperature=1.0)
    with pytest.raises(IndexError, match="start: expected an id"):
        model.generate(4, 3, temperature=0.0)


def test_greedy_and_best_pairs_on_a_table_where_greedy_is_not_best():
    # after 0: 1 is likeliest (0.4) but is followed by a flat row; 2 (0.35) is followed by a
    # certain 0, so the best pair is (2, 0) with 0.35 * 0.98 against 0.4 * 0.34 for greedy
    table = torch.log(torch.tensor([[0.25, 0.4, 0.35], [0.33, 0.34, 0.33],
                                    [0.98, 0.01, 0.01]]))
    out = clm.greedy_and_best_pairs(_Bigram(table), torch.tensor([[0]]))
    assert list(out["greedy_ids"][0]) == [1, 1] and list(out["best_ids"][0]) == [2, 0]
    assert np.isclose(out["greedy"][0], np.log(0.4 * 0.34))
    assert np.isclose(out["best"][0], np.log(0.35 * 0.98))
    with pytest.raises(ValueError, match="contexts: expected shape"):
        clm.greedy_and_best_pairs(_Bigram(table), torch.tensor([0]))


def test_check_bpc_claims_names_what_fails():
    baselines = {"uniform": 7.0, "unigram": 5.0, "bigram": 3.9}
    clm.check_bpc_claims([7.0, 5.1, 3.8, 3.3, 2.8], baselines)
    with pytest.raises(AssertionError, match="more than 0.5 below the bigram"):
        clm.check_bpc_claims([7.0, 5.1, 3.8, 3.6, 3.5], baselines)
