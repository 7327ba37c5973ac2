"""Chapter 15's initialisation measurement: does training keep what the initialisation gave?

Run from the repository root:

    OMP_WAIT_POLICY=PASSIVE python experiments/frontiers_init.py

Trains a 64-unit RNN with an orthogonal W_h (tanh) and the IRNN (ReLU, W_h = I, zero biases) on
the adding problem of length 50 for 300 Adam steps, seeds 0, 1, 2, with
minirnn.chapters.ch15_frontiers.train_init_adding, and writes
minirnn/results/frontiers/init_training.json: per run the median spectral norm of
d h_50 / d h_0 on 8 held-out sequences and the median number of directions that carry at least a
tenth of a gradient, before and after training, and the held-out and predict-the-mean MSE.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from minirnn.chapters.ch15_frontiers import train_init_adding

OUT = Path(__file__).resolve().parent.parent / "minirnn" / "results" / "frontiers"
INITS, SEEDS = ("orthogonal", "identity_relu"), (0, 1, 2)
SETTINGS = {"T": 50, "H": 64, "steps": 300, "batch_size": 32, "lr": 1e-3, "n_jacobian": 8}


def main() -> None:
    torch.set_num_threads(1)
    OUT.mkdir(parents=True, exist_ok=True)
    runs = []
    for init in INITS:
        for seed in SEEDS:
            start = time.time()
            r = train_init_adding(init, seed=seed, **SETTINGS)
            runs.append({"init": init, "seed": seed, **r})
            print(f"{init:>13} seed={seed}: norm {r['norm_before']:.3g} -> {r['norm_after']:.3g}, "
                  f"carrying {r['carrying_before']:.0f} -> {r['carrying_after']:.0f}, held-out "
                  f"MSE {r['eval_mse']:.4f} (mean {r['baseline_mse']:.4f}) in "
                  f"{time.time() - start:.1f} s")
    (OUT / "init_training.json").write_text(
        json.dumps({"settings": SETTINGS, "runs": runs}, indent=1) + "\n")
    print("wrote", OUT / "init_training.json")


if __name__ == "__main__":
    main()
