"""Chapter 16's grid: translators (plain, attention, Transformer), the adding problem at T = 100
(LSTM, GRU, stacked LRU, stacked minGRU) and parity, over three seeds. The LSTM and GRU adding
runs are the appendix's (`appendix_run`: the same recipe and data).

    OMP_WAIT_POLICY=PASSIVE python experiments/after_recurrence.py             # the whole grid
    OMP_WAIT_POLICY=PASSIVE python experiments/after_recurrence.py --parts parity --fresh

Each finished run is appended to minirnn/results/after_recurrence/<part>.json at once, so an
interrupted grid keeps what it finished and a restart skips it (``--fresh`` discards the named
parts' runs first); one file per part (and per ``--suffix``: ``--seeds 1 --suffix _seed1`` writes
``adding_seed1.json``), so parts and seeds can run in separate processes. One thread;
each run records its CPU seconds (the shipped grid: about 11 minutes of CPU in all, 4.6 for
translation, 4.6 for the LRU and minGRU adding runs, 1.5 for parity; run as seven processes on a
busy 2-core machine). At the end it prints the summary of every part on disk. The logic is
minirnn.chapters.ch16_after_recurrence.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from minirnn.chapters import appendix_long_range
from minirnn.chapters import ch16_after_recurrence as ch16
from minirnn.data import adding_problem, to_torch
from minirnn.torch.adding import solved

OUT = Path(__file__).resolve().parent.parent / "minirnn" / "results" / "after_recurrence"
SEEDS = (0, 1, 2)
PARTS = {
    "translation": (ch16.TRANSLATORS, lambda kind, seed: ch16.run_translator(kind, seed)),
    "adding": (ch16.SEQUENCE_MODELS, lambda kind, seed: (
        appendix_run(kind, seed) if kind in ("lstm", "gru")
        else ch16.run_adding(kind, seed=seed))),
    "parity": (("gru", "lru", "mingru"), lambda kind, seed: ch16.run_parity(kind, seed=seed)),
}


def appendix_run(kind: str, seed: int, T: int = 100) -> dict:
    """The LSTM and GRU rows: the appendix's shipped runs at T = 100, which used this recipe
    (Adam 3e-3, norm clipping at 1, batch 64, 1000 steps, hidden 32, torch.nn's layers) on the
    same batches, test set and initial weights; rerunning them would repeat their numbers. Their
    predict-the-mean MSE is recomputed on that test set, and `solved` applied."""
    (run,) = [r for r in appendix_long_range.load_runs()
              if (r["task"], r["cell"], r["T"], r["seed"]) == ("adding", kind, T, seed)]
    if run["steps"] != 1000 or run["lr"] != 3e-3 or run["batch"] != 64:
        raise ValueError(f"the appendix's {kind} run no longer uses this recipe: {run}")
    _, y = to_torch(adding_problem(1000, T, seed=999_999 - seed))
    baseline = float(torch.mean((y - y.mean()) ** 2))
    params = ch16.parameter_count(ch16.build_sequence_model(kind, seed=seed))
    return {"kind": kind, "T": T, "seed": seed, "steps": run["steps"], "params": params,
            "eval_mse": run["error"], "baseline_mse": baseline,
            "solved": solved(run["error"], baseline), "loss_curve": run["loss_curve"],
            "source": "appendix long_range runs"}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="+", default=list(PARTS), choices=list(PARTS))
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--fresh", action="store_true", help="discard the named parts' runs")
    parser.add_argument("--suffix", default="", help="write <part><suffix>.json (parallel runs)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    OUT.mkdir(parents=True, exist_ok=True)
    for part in args.parts:
        kinds, run = PARTS[part]
        path = OUT / f"{part}{args.suffix}.json"
        runs = [] if args.fresh or not path.exists() else json.loads(path.read_text())
        for seed in args.seeds:
            for kind in kinds:
                if any(r["kind"] == kind and r["seed"] == seed for r in runs):
                    continue
                result = run(kind, seed)
                runs.append(result)
                runs.sort(key=lambda r: (kinds.index(r["kind"]), r["seed"]))
                path.write_text(json.dumps(runs, indent=1) + "\n")
                print(part, kind, seed, {k: v for k, v in result.items()
                                         if not k.endswith("by_length") and k != "loss_curve"},
                      flush=True)
    runs = ch16.load_runs()
    print(json.dumps(ch16.summarise(runs), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
