"""Chapter 11's grids: the clipping rules at equal step lengths, a threshold sweep, the shadow
Adam on the exploding runs, and norm clipping on a short-lag and a long-lag task; five seeds.

Run from the repository root:

    OMP_WAIT_POLICY=PASSIVE python experiments/clipping.py
    OMP_WAIT_POLICY=PASSIVE python experiments/clipping.py --default-lags   # only that part

Writes minirnn/results/clipping/results.json (a summary per run, no curves; a few kB). The
training code is minirnn.chapters.ch11_gradient_clipping.train_adding (a tanh RNN of 32 units,
W_hh orthogonal, plain SGD at lr 0.2, 1600 steps of 32 sequences, T = 20). About 10 minutes on
one core. The last part, `--default-lags`, trains the long-lag task from torch's default W_hh
(rho about 0.6, the vanishing regime of chapter 10) for seeds 0-2 and adds "lags_default" to the
existing file (about 1.5 minutes).
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

from minirnn.chapters import ch11_gradient_clipping as clipping
from minirnn.data import to_torch
from minirnn.torch.adding import AddingRegressor

OUT = Path(__file__).resolve().parent.parent / "minirnn" / "results" / "clipping"
SEEDS = (0, 1, 2, 3, 4)
P = sum(p.numel() for p in AddingRegressor("rnn", 32).parameters())  # 1185 parameters
ROOT_P = math.sqrt(P)
# name: (rule, threshold). The first four are two pairs at equal maximum step length:
# 1 (norm at 1, value at 1/sqrt(P)) and sqrt(P) (value at 1, norm at sqrt(P)).
CONFIGS = {"none": ("none", 1.0), "norm 1": ("norm", 1.0), "value 1/sqrt(P)": ("value", 1 / ROOT_P),
           "value 1": ("value", 1.0), "norm sqrt(P)": ("norm", ROOT_P),
           "norm 0.1": ("norm", 0.1), "norm 10": ("norm", 10.0),
           "tensor_norm 1": ("tensor_norm", 1.0)}
T_LAG = 60
WINDOWS = {"short": (T_LAG - 10, T_LAG), "long": (0, 10)}  # lags 0-9 and 50-59


def _r(x: float) -> float:
    return float(f"{x:.6g}") if math.isfinite(x) else float("nan")


def _summary(r: dict) -> dict:
    finite = np.isfinite(r["loss"])
    clipped = r["clipped_norm"][finite]
    return {"finite_steps": int(finite.sum()), "eval_mse": _r(r["eval_mse"]),
            "baseline_mse": _r(r["baseline_mse"]),
            "last100": _r(float(np.mean(r["loss"][finite][-100:]))),
            "raw_median": _r(float(np.median(r["grad_norm"][finite]))),
            "raw_max": _r(float(np.max(r["grad_norm"][finite]))),
            "clipped_median": _r(float(np.median(clipped))),
            "clipped_max": _r(float(clipped.max()))}


def _lag_run(name: str, seed: int, init: str) -> dict:
    window = WINDOWS[name]
    r = clipping.train_adding("norm", T=T_LAG, window=window, seed=seed, cosines=False, init=init)
    x, y = to_torch(clipping.adding_problem_window(256, T_LAG, window, seed=20_000 + seed))
    share = clipping.lag_shares(r["model"], x, y)["share"]
    return {"task": name, "window": list(window), "seed": seed, "init": init, **_summary(r),
            "share_lag_50_up": _r(float(np.linalg.norm(share[50:]))),
            "share_lag_0_9": _r(float(np.linalg.norm(share[:10])))}


def default_lags() -> None:
    torch.set_num_threads(1)
    path = OUT / "results.json"
    results = json.loads(path.read_text())
    for r in results["lags"]:  # written before the init was recorded: all orthogonal
        r.setdefault("init", "orthogonal")
    results["lags_default"] = []
    for seed in (0, 1, 2):
        start = time.time()
        results["lags_default"].append(_lag_run("long", seed, "default"))
        print(results["lags_default"][-1], f"({time.time() - start:.1f} s)", flush=True)
    path.write_text(json.dumps(results, indent=1) + "\n")
    print("wrote", path)


def main() -> None:
    torch.set_num_threads(1)
    OUT.mkdir(parents=True, exist_ok=True)
    runs, spikes, lags = [], [], []
    for seed in SEEDS:
        for name, (rule, tau) in CONFIGS.items():
            start = time.time()
            r = clipping.train_adding(rule, threshold=tau, seed=seed, cosines=False,
                                      shadow_adam=(name == "none"))
            runs.append({"config": name, "rule": rule, "threshold": _r(tau), "seed": seed,
                         **_summary(r)})
            print(f"seed {seed} {name:>16}: {runs[-1]} ({time.time() - start:.1f} s)", flush=True)
            if name == "none":
                n = int(np.isfinite(r["loss"]).sum())
                adam = r["adam_step"][:n]
                limit = np.array([clipping.adam_spike_bound(t) for t in range(1, n + 1)])
                bound = np.array([clipping.adam_step_bound(t) for t in range(1, n + 1)])
                grew = np.r_[False, r["grad_norm"][1:n] > 10 * np.maximum.accumulate(
                    r["grad_norm"][:n])[:-1]]  # a spike: 10 times every earlier norm
                spikes.append({"seed": seed, "steps": n, "sgd_max_step": _r(0.2 * float(
                    np.max(r["grad_norm"][:n]))), "adam_max_step": _r(float(adam.max())),
                    "within_bound": bool(np.all(adam <= bound * (1 + 1e-9))),
                    "spike_steps": int(grew.sum()),
                    "spike_ratio_min": _r(float((adam[grew] / limit[grew]).min())),
                    "spike_ratio_max": _r(float((adam[grew] / limit[grew]).max()))})
                print("   shadow Adam:", spikes[-1], flush=True)
        for name in WINDOWS:
            start = time.time()
            lags.append(_lag_run(name, seed, "orthogonal"))
            print(f"seed {seed} lag {name}: {lags[-1]} ({time.time() - start:.1f} s)", flush=True)
    settings = {"hidden_size": 32, "T": 20, "steps": 1600, "lr": 0.2, "batch_size": 32,
                "optimizer": "sgd", "P": P, "T_lag": T_LAG}
    (OUT / "results.json").write_text(json.dumps(
        {"settings": settings, "runs": runs, "spikes": spikes, "lags": lags}, indent=1) + "\n")
    print("wrote", OUT / "results.json")


if __name__ == "__main__":
    default_lags() if "--default-lags" in sys.argv else main()
