"""Chapter 12's adding-problem comparison: vanilla RNN vs LSTM at T = 10 and 50, three seeds,
and the checks that answer "is it the size, or the initialisation?".

Run from the repository root:

    OMP_WAIT_POLICY=PASSIVE python experiments/lstm_adding.py

Writes minirnn/results/lstm_adding/results.json (loss curves every 10 steps, held-out and
predict-the-mean errors per run) and lstm_T50_seed0.pt (the trained LSTM of T = 50, seed 0, a
state dict of a few kB) for the chapter's "after training" Jacobian measurement. The training
code is minirnn.chapters.ch12_lstm.train_adding (1000 Adam steps, lr 1e-2, batches of 32,
global-norm clipping at 1; "solved" is minirnn.torch.adding.solved).

The runs, each over seeds 0, 1, 2 (a run already in results.json is kept, not rerun):

- "rnn" and "lstm", 32 units, T = 10 and 50 (the LSTM's forget bias starts at 1);
- "rnn64": a vanilla RNN of 64 units, about the LSTM's parameter count (4,417 against 4,641),
  T = 50;
- "rnn_orth": a vanilla RNN of 32 units with an orthogonal W_hh, T = 50;
- "lstm" at T = 100 (forget bias 1), which chapter 14 quotes.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from minirnn.chapters.ch12_lstm import train_adding

OUT = Path(__file__).resolve().parent.parent / "minirnn" / "results" / "lstm_adding"
SEEDS, STEPS = (0, 1, 2), 1000
# name -> (cell, hidden_size, init, lengths)
CONFIGS = {
    "rnn": ("rnn", 32, "default", (10, 50)),
    "lstm": ("lstm", 32, "default", (10, 50, 100)),
    "rnn64": ("rnn", 64, "default", (50,)),
    "rnn_orth": ("rnn", 32, "orthogonal", (50,)),
}


def param_count(cell: str, hidden_size: int) -> int:
    """Parameters of the AddingRegressor (torch's two biases per gate block, readout)."""
    blocks = 4 if cell == "lstm" else 1
    return blocks * (2 * hidden_size + hidden_size ** 2 + 2 * hidden_size) + hidden_size + 1


def main() -> None:
    torch.set_num_threads(1)
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "results.json"
    old = json.loads(path.read_text())["runs"] if path.exists() else []
    for r in old:
        r.setdefault("name", r["cell"])
    done = {(r["name"], r["T"], r["seed"]): r for r in old}
    runs = []
    for name, (cell, H, init, lengths) in CONFIGS.items():
        for T in lengths:
            for seed in SEEDS:
                if (name, T, seed) in done:
                    runs.append(done[name, T, seed])
                    continue
                start = time.time()
                r = train_adding(cell, T, steps=STEPS, seed=seed, hidden_size=H, init=init)
                runs.append({"name": name, "cell": cell, "hidden_size": H, "init": init,
                             "params": param_count(cell, H), "T": T, "seed": seed,
                             "eval_mse": r["eval_mse"], "baseline_mse": r["baseline_mse"],
                             "solved": bool(r["solved"]),
                             "loss_every_10": r["loss"][::10].round(6).tolist()})
                print(f"{name:>8} T={T:<3} seed={seed}: held-out MSE {r['eval_mse']:.4f} "
                      f"(mean {r['baseline_mse']:.4f}) in {time.time() - start:.1f} s", flush=True)
                if name == "lstm" and T == 50 and seed == 0:
                    torch.save(r["model"].state_dict(), OUT / "lstm_T50_seed0.pt")
                    print("wrote", OUT / "lstm_T50_seed0.pt")
                path.write_text(json.dumps({"settings": SETTINGS, "runs": runs + [
                    v for k, v in done.items() if v not in runs]}, indent=1))
    for r in runs:  # the runs made before sizes were recorded: 32 units, torch's default init
        r.setdefault("hidden_size", 32)
        r.setdefault("init", "default")
        r.setdefault("params", param_count(r["cell"], r["hidden_size"]))
    path.write_text(json.dumps({"settings": SETTINGS, "runs": runs}, indent=1))
    print("wrote", path)


SETTINGS = {"steps": STEPS, "lr": 1e-2, "batch_size": 32, "clip_norm": 1.0, "optimizer": "adam",
            "lstm_forget_bias": 1.0, "solved_if": "minirnn.torch.adding.solved: eval_mse < "
            "SOLVED_FRACTION (0.1) * baseline_mse"}


if __name__ == "__main__":
    main()
