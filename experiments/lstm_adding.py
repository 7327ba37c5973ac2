"""Chapter 12's adding-problem comparison: vanilla RNN vs LSTM at T = 10 and 50, three seeds.

Run from the repository root:

    OMP_WAIT_POLICY=PASSIVE python experiments/lstm_adding.py

Writes minirnn/results/lstm_adding/results.json (loss curves every 10 steps, held-out and
predict-the-mean errors per run) and lstm_T50_seed0.pt (the trained LSTM of T = 50, seed 0, a
state dict of a few kB) for the chapter's "after training" Jacobian measurement. The training
code is minirnn.chapters.ch12_lstm.train_adding (32 units, 1000 Adam steps, lr 1e-2,
batches of 32, global-norm clipping at 1).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from minirnn.chapters.ch12_lstm import train_adding

OUT = Path(__file__).resolve().parent.parent / "minirnn" / "results" / "lstm_adding"
CELLS, LENGTHS, SEEDS, STEPS = ("rnn", "lstm"), (10, 50), (0, 1, 2), 1000


def main() -> None:
    torch.set_num_threads(1)
    OUT.mkdir(parents=True, exist_ok=True)
    runs = []
    for cell in CELLS:
        for T in LENGTHS:
            for seed in SEEDS:
                start = time.time()
                r = train_adding(cell, T, steps=STEPS, seed=seed)
                runs.append({"cell": cell, "T": T, "seed": seed, "eval_mse": r["eval_mse"],
                             "baseline_mse": r["baseline_mse"], "solved": bool(r["solved"]),
                             "loss_every_10": r["loss"][::10].round(6).tolist()})
                print(f"{cell:>4} T={T:<3} seed={seed}: held-out MSE {r['eval_mse']:.4f} "
                      f"(mean {r['baseline_mse']:.4f}) in {time.time() - start:.1f} s")
                if cell == "lstm" and T == 50 and seed == 0:
                    torch.save(r["model"].state_dict(), OUT / "lstm_T50_seed0.pt")
                    print("wrote", OUT / "lstm_T50_seed0.pt")
    settings = {"hidden_size": 32, "steps": STEPS, "lr": 1e-2, "batch_size": 32,
                "clip_norm": 1.0, "optimizer": "adam", "solved_if": "eval_mse < baseline / 10"}
    (OUT / "results.json").write_text(json.dumps({"settings": settings, "runs": runs}, indent=1))
    print("wrote", OUT / "results.json")


if __name__ == "__main__":
    main()
