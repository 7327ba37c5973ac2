"""Chapter 16's grid: translators (plain, attention, Transformer), the adding problem at T = 100
(LSTM, GRU, stacked LRU, stacked minGRU) and parity, over three seeds.

    OMP_WAIT_POLICY=PASSIVE python experiments/after_recurrence.py             # the whole grid
    OMP_WAIT_POLICY=PASSIVE python experiments/after_recurrence.py --parts parity --fresh

Each finished run is appended to minirnn/results/after_recurrence/runs.json at once, so an
interrupted grid keeps what it finished and a restart skips it (``--fresh`` discards the named
parts' runs first). One thread; each run records its CPU seconds. At the end it prints the
summary. The logic is minirnn.chapters.ch16_after_recurrence.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from minirnn.chapters import ch16_after_recurrence as ch16

OUT = Path(__file__).resolve().parent.parent / "minirnn" / "results" / "after_recurrence"
SEEDS = (0, 1, 2)
PARTS = {
    "translation": (ch16.TRANSLATORS, lambda kind, seed: ch16.run_translator(kind, seed)),
    "adding": (ch16.SEQUENCE_MODELS, lambda kind, seed: ch16.run_adding(kind, seed=seed)),
    "parity": (("gru", "lru", "mingru"), lambda kind, seed: ch16.run_parity(kind, seed=seed)),
}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="+", default=list(PARTS), choices=list(PARTS))
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--fresh", action="store_true", help="discard the named parts' runs")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "runs.json"
    runs = json.loads(path.read_text()) if path.exists() else {}
    for part in args.parts:
        if args.fresh or part not in runs:
            runs[part] = []
    for part in args.parts:
        kinds, run = PARTS[part]
        for seed in args.seeds:
            for kind in kinds:
                if any(r["kind"] == kind and r["seed"] == seed for r in runs[part]):
                    continue
                result = run(kind, seed)
                runs[part].append(result)
                runs[part].sort(key=lambda r: (kinds.index(r["kind"]), r["seed"]))
                path.write_text(json.dumps(runs, indent=1) + "\n")
                print(part, kind, seed, {k: v for k, v in result.items()
                                         if not k.endswith("by_length") and k != "loss_curve"},
                      flush=True)
    print(json.dumps(ch16.summarise(runs), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
