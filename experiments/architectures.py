"""Train chapter 2's five models (one per input/output architecture) and store their weights.

    python experiments/architectures.py                 # all five, full size (a few minutes)
    python experiments/architectures.py seq2seq synced  # some of them

Writes minirnn/results/architectures/<task>.pt (the state dict, a few hundred KB each) and
results.json (test score, input-blind baseline, steps, seconds). The chapter notebook loads the
weights and evaluates them; tests/test_ch02_claims.py reruns every task small. The one-frame
baselines of the video tasks train in seconds, so the notebook trains those itself.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

# Idle OpenMP threads sleep instead of spinning (spinning makes a busy machine many times slower).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

from minirnn.chapters.ch02_five_architectures import ARCHITECTURES, STEPS, run_task  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "minirnn" / "results" / "architectures"


def main(argv: list[str]) -> int:
    names = argv[1:] or list(ARCHITECTURES)
    unknown = sorted(set(names) - set(ARCHITECTURES))
    if unknown:
        print(f"unknown task(s) {unknown}; choose from {ARCHITECTURES}")
        return 2
    torch.set_num_threads(1)  # the models are small: one thread is as fast, and reproducible
    OUT.mkdir(parents=True, exist_ok=True)
    results_file = OUT / "results.json"
    results = json.loads(results_file.read_text()) if results_file.exists() else {}
    for name in names:
        start = time.perf_counter()
        run = run_task(name)
        seconds = time.perf_counter() - start
        torch.save(run.model.state_dict(), OUT / f"{name}.pt")
        results[name] = {**run.results, "steps": STEPS[name], "seconds": round(seconds, 1),
                         "final_train_loss": round(sum(run.history["loss"][-20:]) / 20, 4)}
        print(f"{name}: {run.results}  ({seconds:.0f} s)", flush=True)
    results_file.write_text(json.dumps(dict(sorted(results.items())), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
