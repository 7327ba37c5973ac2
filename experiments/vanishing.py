"""Chapter 10's character RNNs over seeds: spectrum, saturation and the top Lyapunov exponent.

Run from the repository root:

    OMP_WAIT_POLICY=PASSIVE python experiments/vanishing.py

For seeds 0, 1, 2 the chapter's character RNN (64 tanh units, embeddings of 32, the first
150,000 characters of the corpus in chunks of 64, Adam at lr 0.01, batches of 32) is measured
at initialisation, after 300 steps and after 600 more (a second `fit` call, so Adam's moments
restart at step 300). Each measurement: sigma_max and rho of W_h, the median tanh' and the
share below 0.1 along 3,000 characters the model never trained on, and the running estimate of
the top Lyapunov exponent over those 3,000 steps. Writes minirnn/results/vanishing/results.json
(a few kB). About 7 minutes on one core.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from minirnn.chapters import ch10_vanishing_exploding as gradients
from minirnn.data.text import load_corpus
from minirnn.numpy import word_embedding_forward
from minirnn.numpy.models import MaskedCharRNN
from minirnn.numpy.train import fit

OUT = Path(__file__).resolve().parent.parent / "minirnn" / "results" / "vanishing"
SEEDS, STAGES, LONG = (0, 1, 2), (0, 300, 900), 3000
AT = (60, 300, 1000, 2000, 3000)  # where the running estimate is reported


def measure(model: MaskedCharRNN, long_ids: np.ndarray) -> dict:
    p = model.params
    emb, _ = word_embedding_forward(long_ids[None], p["W_embed"])
    drive = emb[0] @ p["Wx"] + p["b"]
    running = gradients.top_lyapunov(p["Wh"], drive)
    deriv = gradients.jacobian_norms(p["Wh"], drive[:LONG])["deriv"]
    s = gradients.spectrum(p["Wh"])
    return {"sigma_max": round(s["sigma_max"], 4), "rho": round(s["rho"], 4),
            "median_deriv": round(float(np.median(deriv)), 4),
            "share_deriv_below_0.1": round(float(np.mean(deriv < 0.1)), 4),
            "lambda": round(float(running[-1]), 4),
            "running": {str(k): round(float(running[k - 1]), 4) for k in AT}}


def main() -> None:
    threadpool_limits(1)
    x, y, vocab = gradients.char_windows(150_000, 64)
    long_ids = vocab.encode(load_corpus()[150_000:150_000 + LONG])  # never trained on
    runs = []
    for seed in SEEDS:
        model = MaskedCharRNN(V=len(vocab), H=64, E=32, seed=seed)
        done = 0
        for stage in STAGES:
            start = time.time()
            fit(model, x[:-16], y[:-16], steps=stage - done, batch_size=32, lr=0.01,
                seed=seed if done == 0 else seed + 1000)  # stage 300: the chapter's run
            done = stage
            runs.append({"seed": seed, "steps": stage, **measure(model, long_ids)})
            print(runs[-1], f"({time.time() - start:.1f} s)", flush=True)
    settings = {"H": 64, "E": 32, "lr": 0.01, "batch_size": 32, "chunk": 64,
                "train_chars": 150_000, "held_out_chars": LONG,
                "fit_seed": "seed for the first 300 steps, seed + 1000 for the next 600"}
    (OUT / "results.json").write_text(json.dumps({"settings": settings, "runs": runs},
                                                 indent=1) + "\n")
    print("wrote", OUT / "results.json")


if __name__ == "__main__":
    main()
