"""Chapter 9's grid: where the image enters a captioning decoder.

    python experiments/captioning.py                # every task and cell, one after another
    python experiments/captioning.py scene rnn      # one task (two_shapes, scene), one cell
    python experiments/captioning.py scene rnn --keep-all DIR   # also every seed's weights

The four (task, cell) pairs are independent: run them as four processes to use more cores.

For each task (chapter 2's two-shape captions, and 3-object scenes), pretrain and freeze the
CNN, then train a decoder for every condition (h0, first_input, every_step, attention), cell
(vanilla RNN, LSTM) and seed (0, 1, 2), 32 hidden units and 32-wide word embeddings (so v
enters every condition through 32 units), 1500 Adam steps, and evaluate it on 500 held-out
images, none pixel-identical to a training image. For the vanilla RNN it also reruns h0 and
first_input with 16-wide embeddings (the first input's image projection then has 16 units
against h0's 32): the width ablation. Writes minirnn/results/captioning/<task>_<cell>.json
(the train/test overlap, every run's scores, accuracy by position free-running, aligned and
teacher-forced, errors per caption, scores on the held-out images with unseen captions, the
ablation, beam-search statistics for seed 0) and <task>_<cell>.pt (the frozen CNN and the
seed-0 decoders' weights, which the chapter loads).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch
from threadpoolctl import threadpool_limits

from minirnn.chapters.ch09_image_captioning import (
    CELLS,
    CONDITIONS,
    EMBED,
    TASKS,
    beam_caption,
    blind_scores,
    caption_ids,
    caption_log_prob,
    caption_task,
    decoder_weights,
    encoder_cell_accuracy,
    greedy_captions,
    pretrain,
    run_grid,
)

OUT = Path(__file__).resolve().parent.parent / "minirnn" / "results" / "captioning"
SEEDS = (0, 1, 2)
STEPS = 1500
HIDDEN = 32
ABLATION_EMBED = 16  # the width the first input's projection had before the widths were equal
ABLATION_CONDITIONS = ("h0", "first_input")
BEAM_IMAGES = 200
BEAM_WIDTHS = (1, 2, 3, 5)


def beam_statistics(model, images: torch.Tensor, targets: list[list[int]]) -> dict:
    """Mean log-probability and exact rate of beam search at each width, against greedy."""
    greedy = greedy_captions(model, images)
    greedy_lp = [caption_log_prob(model, im, ids, eos=len(ids) < 12)  # 12: the max length
                 for im, ids in zip(images, greedy)]
    out = {"greedy_mean_log_prob": sum(greedy_lp) / len(greedy_lp),
           "greedy_exact": sum(g == t for g, t in zip(greedy, targets)) / len(targets)}
    for width in BEAM_WIDTHS:
        found = [beam_caption(model, im, width) for im in images]
        lps = [lp for _, lp in found]
        out[f"beam{width}"] = {
            "mean_log_prob": sum(lps) / len(lps),
            "exact": sum(ids == t for (ids, _), t in zip(found, targets)) / len(targets),
            "same_as_greedy": sum(ids == g for (ids, _), g in zip(found, greedy)) / len(greedy),
            "lower_than_greedy": sum(lp < g - 1e-6 for lp, g in zip(lps, greedy_lp)) / len(lps),
        }
    return out


def run(name: str, cell: str, keep_all: Path | None = None) -> None:
    start = time.perf_counter()
    task = caption_task(name, n_train=3000, n_test=500)
    encoder = pretrain(task)
    keep = None
    if keep_all is not None:
        keep_all.mkdir(parents=True, exist_ok=True)
        torch.save(encoder.state_dict(), keep_all / f"{name}_encoder.pt")

        def keep(cell, condition, seed, model, embed=EMBED):
            torch.save(decoder_weights(model),
                       keep_all / f"{name}_{cell}_{condition}_{seed}_e{embed}.pt")
    runs, models = run_grid(task, encoder, CONDITIONS, (cell,), SEEDS, steps=STEPS,
                            hidden_size=HIDDEN, keep=keep)
    ablation = []
    if cell == "rnn":
        ablation, _ = run_grid(task, encoder, ABLATION_CONDITIONS, (cell,), SEEDS, steps=STEPS,
                               hidden_size=HIDDEN, embed_size=ABLATION_EMBED,
                               keep=keep and (lambda *a: keep(*a, embed=ABLATION_EMBED)))
    images = task.test.images[:BEAM_IMAGES]
    targets = caption_ids(task.test.captions_out)[:BEAM_IMAGES]
    weights, beams = {"encoder": encoder.state_dict()}, {}
    for condition in CONDITIONS:
        key = f"{cell}/{condition}"
        weights[key] = decoder_weights(models[key])
        beams[key] = beam_statistics(models[key], images, targets)
        print(f"{name} {key} beam: {beams[key]}", flush=True)
    result = {"task": name, "cell": cell, "steps": STEPS, "hidden_size": HIDDEN,
              "embed_size": EMBED, "seeds": list(SEEDS),
              "n_train": len(task.train), "n_test": len(task.test), "overlap": task.overlap,
              "encoder_cell_accuracy": encoder_cell_accuracy(encoder, task.test),
              "blind": blind_scores(task.train, task.test), "runs": runs,
              "width_ablation": ablation, "beam": beams,
              "seconds": round(time.perf_counter() - start)}
    stem = f"{name}_{cell}"
    (OUT / f"{stem}.json").write_text(json.dumps(result, indent=1) + "\n")
    torch.save(weights, OUT / f"{stem}.pt")
    print(f"wrote {OUT / stem}.json and {stem}.pt ({result['seconds']} s)", flush=True)


def main(argv: list[str]) -> int:
    args = list(argv[1:])
    keep_all = None
    if "--keep-all" in args:
        at = args.index("--keep-all")
        if at + 1 >= len(args):
            print("--keep-all needs a folder")
            return 2
        keep_all = Path(args.pop(at + 1))
        args.pop(at)
    names = [a for a in args if a in TASKS] or list(TASKS)
    cells = [a for a in args if a in CELLS] or list(CELLS)
    unknown = sorted(set(args) - set(TASKS) - set(CELLS))
    if unknown:
        print(f"unknown argument(s) {unknown}; choose tasks from {TASKS}, cells from {CELLS}")
        return 2
    torch.set_num_threads(1)
    OUT.mkdir(parents=True, exist_ok=True)
    with threadpool_limits(1):
        for name in names:
            for cell in cells:
                run(name, cell, keep_all)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
