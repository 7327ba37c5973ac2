"""Chapter 5's claims, each asserted in its direction on a small fixed seed."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import minirnn.chapters.ch05_char_language_model as clm
from minirnn.data import CharVocab, TBPTTBatcher, load_corpus, split_text, to_torch
from minirnn.torch.models import CharLM
from minirnn.torch.train import Trainer, evaluate_charlm


def test_hello_rnn_goes_below_the_memoryless_floor_and_wh_zero_stops_at_it():
    _, x, y = clm.hello_example()
    floor = clm.memoryless_floor_nats(x, y)
    assert np.isclose(floor, 2 * np.log(2)) and floor < 4 * np.log(4)
    rnn, rnn_losses = clm.train_hello(H=3, steps=300, memory=True, seed=0)
    _, flat_losses = clm.train_hello(H=3, steps=300, memory=False, seed=0)
    assert rnn_losses[-1] < 0.1 * floor
    assert floor <= flat_losses[-1] < floor + 0.02
    out = rnn.forward(x, y)
    assert out["probs"][2, 2] > 0.95 and out["probs"][3, 3] > 0.95  # l then l, l then o
    assert np.abs(out["h"][2] - out["h"][3]).max() > 0.5


@pytest.fixture(scope="module")
def charlm():
    """The chapter's character model, trained in its stages (0, 25, 100, 250, 600 steps), with
    the validation bits per character after each."""
    text = load_corpus()
    train_text, val_text = split_text(text, 0.1)
    vocab = CharVocab.from_text(text)
    train_ids, val_ids = vocab.encode(train_text), vocab.encode(val_text)[:40_000]
    torch.manual_seed(0)
    model = CharLM(len(vocab), embed_size=32, hidden_size=128, cell="rnn")
    trainer = Trainer(model, TBPTTBatcher(train_ids, batch_size=32, seq_len=64), lr=3e-3,
                      clip_norm=1.0)
    curve = []
    for stage_end in (0, 25, 100, 250, 600):
        trainer.fit(steps=stage_end - trainer.step_count)
        curve.append(evaluate_charlm(model, val_ids))
    V = len(vocab)
    baselines = {"uniform": np.log2(V), "unigram": clm.unigram_bits(train_ids, val_ids, V),
                 "bigram": clm.bigram_bits(train_ids, val_ids, V)}
    return model, vocab, train_ids, val_ids, curve, baselines


def test_charlm_goes_below_the_bigram_baseline_stage_by_stage(charlm):
    *_, curve, baselines = charlm
    clm.check_bpc_claims(curve, baselines)


def test_bpc_claims_fail_when_the_margin_moves_past_the_prose(charlm):
    # the prose: "more than 0.5 bits per character below the bigram baseline"
    *_, curve, baselines = charlm
    moved = curve[:-1] + [baselines["bigram"] - 0.49]
    with pytest.raises(AssertionError, match="more than 0.5 below the bigram"):
        clm.check_bpc_claims(moved, baselines)


def test_trigram_model_sits_between_bigram_and_rnn_with_few_unseen_trigrams(charlm):
    _, vocab, train_ids, val_ids, curve, baselines = charlm
    trigram = clm.trigram_bits(train_ids, val_ids, len(vocab))
    assert round(trigram, 2) == 3.05  # counted, not trained: the same on every machine
    assert curve[-1] + 0.15 < trigram < baselines["bigram"] - 0.5
    assert 0.01 < clm.unseen_share(train_ids, val_ids, 3) < 0.05  # the prose: 2.2%


def test_greedy_is_not_always_the_most_likely_pair(charlm):
    model, _, _, val_ids, _, _ = charlm
    pairs = clm.greedy_and_best_pairs(model, to_torch(val_ids[:200 * 64].reshape(200, 64)))
    differs = pairs["best"] > pairs["greedy"] + 1e-9
    assert np.all(pairs["best"] >= pairs["greedy"] - 1e-12)
    assert 0.05 < differs.mean() < 0.5


def test_hello_test_time_loop_writes_hello():
    _, x, y = clm.hello_example()
    model, _ = clm.train_hello(H=3, steps=300, memory=True, seed=0)
    picks, probs = model.generate(0, 4, temperature=0.0)
    assert list(picks) == list(y) and probs[np.arange(4), picks].min() > 0.95


def test_charlm_beats_bigram_which_beats_unigram_and_decoders_differ(charlm):
    model, vocab, train_ids, val_ids, curve, baselines = charlm
    before, after = curve[0], curve[-1]
    V = len(vocab)
    unigram = clm.unigram_bits(train_ids, val_ids, V)
    bigram = clm.bigram_bits(train_ids, val_ids, V)
    assert np.log2(V) > unigram > bigram + 0.8
    assert before > np.log2(V) - 0.1
    assert after < bigram - 0.3

    # temperature: entropy rises with it
    with torch.no_grad():
        logits, _ = model.eval()(to_torch(vocab.encode("values of the "))[None])
    scores = logits[0, -1].double().numpy()
    ent = [clm.entropy_bits(scores, t) for t in np.geomspace(0.1, 10, 20)]
    assert all(a < b for a, b in zip(ent, ent[1:]))

    # greedy loops and takes the top character; top-k stays in the top k
    prompt = to_torch(vocab.encode("Parameters"))
    greedy = model.generate(prompt, 400, temperature=0.0)
    topk = model.generate(prompt, 400, top_k=5, generator=torch.Generator().manual_seed(3))
    full = model.generate(prompt, 400, generator=torch.Generator().manual_seed(3))
    g_ranks, g_bits = clm.token_ranks_and_bits(model, prompt, greedy)
    k_ranks, k_bits = clm.token_ranks_and_bits(model, prompt, topk)
    _, s_bits = clm.token_ranks_and_bits(model, prompt, full)
    assert clm.tail_period(greedy.numpy()) > 0 and g_ranks.max() == 0
    assert k_ranks.max() < 5
    assert clm.distinct_ngram_fraction(greedy.numpy()) < clm.distinct_ngram_fraction(full.numpy())
    assert g_bits < k_bits < s_bits

    # colder sampling: text more likely by the model's own measure
    own = [clm.token_ranks_and_bits(model, prompt, model.generate(
        prompt, 300, temperature=t, generator=torch.Generator().manual_seed(2)))[1]
        for t in (0.3, 0.7, 1.0, 1.5)]
    assert all(a < b for a, b in zip(own, own[1:]))
