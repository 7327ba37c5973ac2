"""Chapter 12's interpretable cells: a character LSTM on the NumPy docstrings corpus.

Run from the repository root:

    OMP_WAIT_POLICY=PASSIVE python experiments/interpretable_cells.py [--steps 8000]

Trains minirnn.chapters.ch12_lstm.char_lstm (a CharLM: 128 cells, embeddings of 32, chunks of 128
characters, Adam 3e-3) on the first 90% of the corpus, then reads 20,000 held-out characters and,
for two readable features (inside parentheses, inside backticks), chooses the cell whose state
correlates most with the feature on the first half and reports its correlation on the second
half, for the trained network and for the same network untrained. Writes
minirnn/results/interpretable_cells/results.json with those numbers, the training loss, and
the chosen cells' states on a 300-character excerpt for the chapter's heatmap.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from minirnn.chapters import ch12_lstm as interpretable
from minirnn.data import CharVocab, load_corpus, to_torch

OUT = Path(__file__).resolve().parent.parent / "minirnn" / "results" / "interpretable_cells"
FEATURES = {"inside parentheses": interpretable.inside_parentheses,
            "inside backticks": interpretable.inside_backticks}


def run(steps: int, held_out_chars: int = 20_000, hidden_size: int = 128, seed: int = 0,
        excerpt: tuple[int, int] = (0, 300)) -> dict:
    """Train, select and test; returns the results dictionary (also used by the tests)."""
    torch.set_num_threads(1)
    text = load_corpus()
    vocab = CharVocab.from_text(text)
    split = int(0.9 * len(text))
    train_ids = to_torch(vocab.encode(text[:split]))
    held_text = text[split:split + held_out_chars]
    held_ids = to_torch(vocab.encode(held_text))
    untrained = interpretable.char_lstm(len(vocab), hidden_size, seed)
    start = time.time()
    model, losses = interpretable.train_char_lstm(train_ids, len(vocab), steps,
                                                  hidden_size=hidden_size, seed=seed)
    minutes = (time.time() - start) / 60
    acts = {"trained": interpretable.cell_states(model, held_ids),
            "untrained": interpretable.cell_states(untrained, held_ids)}
    results = {"settings": {"steps": steps, "hidden_size": hidden_size, "chunk": 128,
                            "batch_size": 32, "lr": 3e-3, "seed": seed,
                            "held_out_chars": held_out_chars, "train_minutes": round(minutes, 1)},
               "loss_every_10": np.round(losses[::10], 4).tolist(), "features": {}}
    a, b = excerpt
    # the excerpt is taken from the test half, where the chosen cells were not selected
    a, b = len(held_text) // 2 + a, len(held_text) // 2 + b
    results["excerpt"] = held_text[a:b]
    for name, feature in FEATURES.items():
        label = feature(held_text)
        entry = {"fraction_inside": float(label.mean())}
        for net, states in acts.items():
            chosen = interpretable.select_and_test(states, label)
            chosen["excerpt_states"] = np.round(states[a:b, chosen["unit"]], 4).tolist()
            entry[net] = chosen
        results["features"][name] = entry
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=8000)
    args = parser.parse_args()
    results = run(args.steps)
    OUT.mkdir(parents=True, exist_ok=True)
    for name, entry in results["features"].items():
        for net in ("trained", "untrained"):
            e = entry[net]
            print(f"{name:>19} {net:>9}: cell {e['unit']:>3}, correlation {e['select_corr']:.3f} "
                  f"(selection half), {e['test_corr']:.3f} (test half)")
    print(f"final training loss {np.mean(results['loss_every_10'][-10:]):.3f} nats/char")
    (OUT / "results.json").write_text(json.dumps(results, indent=1))
    print("wrote", OUT / "results.json")


if __name__ == "__main__":
    main()
