"""Chapter 14's character-model comparison: GRU against LSTM at equal parameter counts, three
seeds, scored on held-out text after 150 and 450 Adam steps.

Run from the repository root:

    OMP_WAIT_POLICY=PASSIVE python experiments/gru_charlm.py

Writes minirnn/results/gru_charlm/results.json. The training code is
minirnn.chapters.ch14_gru.train_charlm_bits: a one-layer `CharLM` (embeddings of 32; the LSTM
with 64 units, the GRU with `matched_hidden_size` units, 74, so that both models have about
37,400 parameters), Adam at 6e-3, windows of 32 characters, batches of 32, global-norm clipping
at 1; held-out bits per character on 128 windows of the validation text. Six runs, a few
minutes on one core.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from minirnn.chapters.ch14_gru import matched_hidden_size, param_count, train_charlm_bits
from minirnn.data import CharVocab, load_corpus, split_text, to_torch
from minirnn.torch.models import CharLM

OUT = Path(__file__).resolve().parent.parent / "minirnn" / "results" / "gru_charlm"
SEEDS, STEPS, EVAL_AT, LSTM_HIDDEN, T = (0, 1, 2), 450, (150,), 64, 32


def main() -> None:
    torch.set_num_threads(1)
    text = load_corpus()
    train_text, val_text = split_text(text)
    vocab = CharVocab.from_text(text)
    train_ids, val_ids = to_torch((vocab.encode(train_text), vocab.encode(val_text)))
    V = len(vocab)
    sizes = {"lstm": LSTM_HIDDEN, "gru": matched_hidden_size(V, LSTM_HIDDEN)}
    runs = []
    for seed in SEEDS:
        for cell, H in sizes.items():
            start = time.time()
            _, curve, scores = train_charlm_bits(cell, train_ids, val_ids, V, hidden_size=H, T=T,
                                                 steps=STEPS, seed=seed, eval_at=EVAL_AT)
            params = param_count(CharLM(V, embed_size=32, hidden_size=H, cell=cell))
            runs.append({"cell": cell, "hidden_size": H, "params": params, "seed": seed,
                         "bits": {str(k): v for k, v in scores.items()},
                         "loss_every_10": [round(x, 5) for x in curve[::10]]})
            print(f"seed {seed} {cell} H={H} ({params} params): " + ", ".join(
                f"{v:.3f} bits after {k}" for k, v in scores.items())
                + f" ({time.time() - start:.0f} s)", flush=True)
    settings = {"steps": STEPS, "eval_at": list(EVAL_AT), "T": T, "batch": 32, "lr": 6e-3,
                "embed_size": 32, "clip_norm": 1.0, "n_val": 128, "vocab_size": V}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results.json").write_text(json.dumps({"settings": settings, "runs": runs}, indent=1))
    print("wrote", OUT / "results.json")


if __name__ == "__main__":
    main()
