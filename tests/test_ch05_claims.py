"""Chapter 5's claims, each asserted in its direction on a small fixed seed."""

from __future__ import annotations

import numpy as np
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


def _trained_charlm(steps: int):
    text = load_corpus()
    train_text, val_text = split_text(text, 0.1)
    vocab = CharVocab.from_text(text)
    train_ids, val_ids = vocab.encode(train_text), vocab.encode(val_text)[:40_000]
    torch.manual_seed(0)
    model = CharLM(len(vocab), embed_size=32, hidden_size=128, cell="rnn")
    trainer = Trainer(model, TBPTTBatcher(train_ids, batch_size=32, seq_len=64), lr=3e-3,
                      clip_norm=1.0)
    before = evaluate_charlm(model, val_ids)
    trainer.fit(steps=steps)
    return model, vocab, train_ids, val_ids, before, evaluate_charlm(model, val_ids)


def test_charlm_beats_bigram_which_beats_unigram_and_decoders_differ():
    model, vocab, train_ids, val_ids, before, after = _trained_charlm(steps=250)
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
