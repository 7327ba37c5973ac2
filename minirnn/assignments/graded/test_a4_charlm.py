"""Graded tests of A4: the character language model's machinery in PyTorch.

Truncated-BPTT batches that continue where the last batch stopped (chapter 8), sampling with
temperature and top-k (chapter 5), and beam search (chapter 9) on a hand-built model whose best
sequence greedy decoding misses. Run them with ``python -m pytest tests -q`` from the folder.
"""

import math

import numpy as np
import torch

from minirnn.data.text import TBPTTBatcher
from minirnn.torch.decode import beam_search, filter_top_k, greedy, sample

torch.set_num_threads(1)


def test_tbptt_batches_continue_their_streams():
    ids = np.arange(101)  # int64 ids, as CharVocab.encode gives them
    batcher = TBPTTBatcher(ids, batch_size=4, seq_len=5)
    assert batcher.batches_per_epoch == 5
    seen = []
    for k in range(6):
        x, y, new_epoch = batcher.next_batch()
        assert x.shape == y.shape == (4, 5)
        assert new_epoch == (k % 5 == 0)
        assert np.array_equal(y, x + 1)  # targets: the next character
        seen.append(x)
    for b in range(4):  # row b reads stream b, which starts at 25 b, without gaps
        assert np.array_equal(np.concatenate([s[b] for s in seen[:5]]),
                              np.arange(25 * b, 25 * b + 25))
    assert np.array_equal(seen[5], seen[0])  # the epoch wraps to the start
    # two processes read disjoint streams of the same text
    first = TBPTTBatcher(ids, 2, 5, rank=0, world_size=2).next_batch()[0]
    second = TBPTTBatcher(ids, 2, 5, rank=1, world_size=2).next_batch()[0]
    assert np.array_equal(np.concatenate([first, second]), seen[0])


def test_filter_top_k():
    logits = torch.tensor([[0.5, 3.0, -1.0, 2.0], [1.0, 0.0, 4.0, -2.0]])
    kept = filter_top_k(logits, 2)
    inf = float("-inf")
    assert torch.equal(kept, torch.tensor([[inf, 3.0, inf, 2.0], [1.0, inf, 4.0, inf]]))
    assert torch.equal(filter_top_k(logits, None), logits)
    assert torch.equal(filter_top_k(logits, 4), logits)


def constant_step(logits):
    def step(tokens, state):
        return logits.expand(tokens.shape[0], -1), state
    return step


def test_sampling_follows_softmax_over_temperature():
    logits = torch.tensor([[2.0, 1.0, 0.0, -1.0]])
    start = torch.zeros(4000, dtype=torch.long)
    for temperature in (1.0, 0.5, 2.0):
        g = torch.Generator().manual_seed(0)
        ids = sample(constant_step(logits), start, None, 1, temperature=temperature,
                     generator=g)
        assert ids.shape == (4000, 1)
        freq = torch.bincount(ids[:, 0], minlength=4).double() / 4000
        want = torch.softmax(logits[0].double() / temperature, dim=0)
        assert torch.allclose(freq, want, atol=0.03), (temperature, freq, want)


def test_sampling_with_top_k():
    logits = torch.tensor([[2.0, 1.0, 0.0, -1.0, 1.5]])
    g = torch.Generator().manual_seed(1)
    ids = sample(constant_step(logits), torch.zeros(3000, dtype=torch.long), None, 2,
                 temperature=1.0, top_k=2, generator=g)
    assert set(ids.flatten().tolist()) == {0, 4}
    freq = float((ids == 0).double().mean())
    assert abs(freq - 1 / (1 + math.exp(-0.5))) < 0.03


def tree_step(tokens, state):
    """A model over tokens {0, 1, 2}: after 0 (the start), 1 has p 0.6 and 2 has p 0.4; after 1
    every token is equally likely; after 2, token 0 has p 0.9. Greedy goes 1 then anything
    (0.6 * 1/3 = 0.2); the best pair is 2, 0 (0.4 * 0.9 = 0.36)."""
    table = torch.log(torch.tensor([[0.0001, 0.6, 0.3999], [1 / 3, 1 / 3, 1 / 3],
                                    [0.9, 0.05, 0.05]]))
    return table[tokens], state


def test_beam_search_finds_what_greedy_misses():
    start = torch.zeros(1, dtype=torch.long)
    greedy_ids = greedy(tree_step, start, None, 2)[0].tolist()
    assert greedy_ids[0] == 1
    ids, log_prob = beam_search(tree_step, start, None, 2, beam_width=1)
    assert ids == greedy_ids
    ids, log_prob = beam_search(tree_step, start, None, 2, beam_width=2)
    assert ids == [2, 0]
    assert abs(log_prob - math.log(0.3999 * 0.9)) < 1e-5
    # with an end token: a finished beam only repeats it, at no cost
    ids, log_prob = beam_search(tree_step, start, None, 4, beam_width=3, eos=0)
    assert ids == [2, 0, 0, 0] and abs(log_prob - math.log(0.3999 * 0.9)) < 1e-5
