"""``python -m minirnn``: the course's command line.

    python -m minirnn charlm train [--text FILE] [--cell lstm|gru|rnn] [--time-budget S | --steps N]
                                   [--device auto|cpu|cuda] --out DIR     (or --resume DIR)
    python -m minirnn charlm sample DIR [--prime TEXT] [--temperature T] [--top-k K]
                                        [--length N] [--seed S]
    python -m minirnn charlm eval DIR [--text FILE]
    python -m minirnn assignments build [--out DIR] [--solution] [NAME ...]
    python -m minirnn assignments grade DIR [--json FILE] [--time-limit S]

Each group of subcommands registers itself in one small function (``add_charlm_commands``);
another group is one more such function and one more line in ``build_parser``. Errors a user can
cause (a bad file, a prime outside the vocabulary, a damaged checkpoint) print one line and exit
with status 2, not a traceback.

A run folder holds one file, ``checkpoint.pt``: the model's ``config`` (with the run's training
settings), the vocabulary and the trainer's state. torch is imported only by the charlm
commands, so ``assignments build`` and the grading of a NumPy assignment run without it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from minirnn.data.text import (
    CharVocab,
    TBPTTBatcher,
    TextFileError,
    load_corpus,
    load_text,
    split_text,
)

if TYPE_CHECKING:
    import torch

    from minirnn.torch.models import CharLM
    from minirnn.torch.train import Trainer

CELLS = ("rnn", "lstm", "gru")  # minirnn.torch.models.CELLS, without importing torch for --help


class CLIError(ValueError):
    """A mistake in what the user asked for; printed as one line."""


CHECKPOINT = "checkpoint.pt"


def user_errors() -> tuple[type[Exception], ...]:
    """The errors a user can cause, printed as one line. CheckpointError lives beside torch, so it
    is among them once a charlm command has imported it (only then can it be raised)."""
    checkpoint = sys.modules.get("minirnn.torch.checkpoint")
    return (CLIError, TextFileError) + ((checkpoint.CheckpointError,) if checkpoint else ())


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}")
    return value


def non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def pick_device(name: str) -> torch.device:
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise CLIError("--device cuda was asked for, but no CUDA device is available")
    return torch.device(name)


# -- charlm ------------------------------------------------------------------------------------
def read_text(path: str | None) -> str:
    """The training text: the file, or the default corpus."""
    return load_corpus() if path is None else load_text(path)


def load_run(folder: str, device: torch.device | None = None) -> tuple[dict, CharLM, CharVocab]:
    """(checkpoint, model, vocabulary) of a run folder written by ``charlm train``. Folders of
    older versions, with a ``vocab.json`` beside the checkpoint and ``impl`` for ``backend``,
    load too: the checkpoint has always held the vocabulary."""
    from minirnn.torch.checkpoint import CheckpointError, load_checkpoint
    from minirnn.torch.models import CharLM

    path = Path(folder) / CHECKPOINT
    if not Path(folder).is_dir():
        raise CheckpointError(f"run folder {folder!r} does not exist")
    ckpt = load_checkpoint(path)
    try:
        vocab = CharVocab(ckpt["vocab"])
        model = CharLM.from_config(ckpt["config"])
        model.load_state_dict(ckpt["trainer"]["model"])
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"checkpoint {str(path)!r} is damaged: {first[:200]}") from None
    return ckpt, model.to(device or "cpu"), vocab


def charlm_train(args: argparse.Namespace) -> int:
    from minirnn.torch import distributed
    from minirnn.torch.models import CharLM
    from minirnn.torch.train import Trainer, seed_everything

    rank, world_size = distributed.world_from_env()
    if world_size > 1:  # started by torchrun: data-parallel training
        if args.time_budget is not None or args.resume or args.device == "cuda":
            raise CLIError("under torchrun, give --steps (ranks must agree on the number of "
                           "steps), on the CPU, without --resume")
        args.device = "cpu"
        distributed.init()
    device = pick_device(args.device)
    if args.resume:
        ckpt, model, vocab = load_run(args.resume, device)
        config = dict(ckpt["config"], **model.config)  # written by an older version: impl goes
        config.pop("impl", None)
        out = Path(args.out or args.resume)
        text_path = args.text if args.text is not None else config["text"]
    else:
        if args.out is None:
            raise CLIError("give --out DIR (where the run is written) or --resume DIR")
        out, text_path = Path(args.out), args.text
        config = None
    text = read_text(text_path)
    train_text, _ = split_text(text)
    if config is None:
        seed_everything(args.seed)
        vocab = CharVocab.from_text(text)
        model = CharLM(len(vocab), embed_size=args.embed_size, hidden_size=args.hidden_size,
                       num_layers=args.layers, cell=args.cell, dropout=args.dropout,
                       backend=args.backend, device=device)
        # the model's own config (CharLM.from_config rebuilds it) and the run's settings
        config = dict(model.config, batch_size=args.batch_size, seq_len=args.seq_len, lr=args.lr,
                      seed=args.seed)
    elif vocab.unknown_chars(train_text):
        raise CLIError(f"the text has characters the run's vocabulary lacks: "
                       f"{''.join(vocab.unknown_chars(train_text)[:10])!r}")
    batcher = TBPTTBatcher(vocab.encode(train_text), config["batch_size"], config["seq_len"],
                           rank=rank, world_size=world_size)
    trainer = Trainer(distributed.wrap(model), batcher, optimizer="adam", lr=config["lr"],
                      schedule="cosine", clip_norm=1.0,
                      progress=args.progress if rank == 0 else False,
                      log_every=0 if args.progress or rank > 0 else 100)
    if args.resume:
        trainer.load_state_dict(ckpt["trainer"])
    steps = args.steps
    if args.time_budget is None and steps is None:
        steps = 1000
    remaining = None if steps is None else max(steps - trainer.step_count, 0)
    if args.stop_at is not None and remaining is not None:
        remaining = min(remaining, max(args.stop_at - trainer.step_count, 0))
    started = trainer.step_count
    interrupted = False
    try:
        trainer.fit(steps=remaining, time_budget=args.time_budget, total_steps=steps)
    except KeyboardInterrupt:  # keep what was learned: the checkpoint is written below
        interrupted = True
    config["text"] = None if text_path is None else str(Path(text_path).resolve())
    if world_size > 1:
        distributed.save_rank_parameters(out, rank, model)
        equal = distributed.all_equal(model)
        distributed.finish()
        if rank > 0:
            return 0
        print(f"{world_size} processes; parameters equal on every rank: {equal}")
    save_run(out, config, vocab, trainer)
    recent = trainer.history["loss"][-50:]
    mean = sum(recent) / max(len(recent), 1)
    print(f"trained {trainer.step_count - started} steps (total {trainer.step_count}); "
          f"train loss {mean:.3f} nats/char; wrote {out / CHECKPOINT}"
          + (" (interrupted)" if interrupted else ""))
    return 130 if interrupted else 0


def save_run(out: Path, config: dict, vocab: CharVocab, trainer: Trainer) -> None:
    """Write the run's one file: config, vocabulary and trainer state."""
    from minirnn.torch.checkpoint import save_checkpoint

    out.mkdir(parents=True, exist_ok=True)
    save_checkpoint(out / CHECKPOINT, {"config": config, "vocab": vocab.chars,
                                       "trainer": trainer.state_dict()})


def charlm_sample(args: argparse.Namespace) -> int:
    import torch

    from minirnn.data import to_torch

    _, model, vocab = load_run(args.dir)
    if args.prime is None:  # a new line if the text has them, else its first character
        args.prime = "\n" if "\n" in vocab else vocab.chars[0]
    missing = vocab.unknown_chars(args.prime)
    if missing:
        raise CLIError(f"--prime has characters outside the vocabulary: {''.join(missing)!r}")
    if not args.prime:
        raise CLIError("--prime must not be empty")
    generator = torch.Generator().manual_seed(args.seed)
    ids = model.generate(to_torch(vocab.encode(args.prime)), args.length,
                         temperature=args.temperature,
                         top_k=args.top_k, generator=generator)
    print(args.prime + vocab.decode(ids))
    return 0


def charlm_eval(args: argparse.Namespace) -> int:
    from minirnn.torch.train import evaluate_charlm

    ckpt, model, vocab = load_run(args.dir)
    text_path = args.text if args.text is not None else ckpt["config"]["text"]
    _, held_out = split_text(read_text(text_path))
    missing = vocab.unknown_chars(held_out)
    if missing:
        raise CLIError(f"the held-out text has characters outside the vocabulary: "
                       f"{''.join(missing[:10])!r}")
    start = time.perf_counter()
    bpc = evaluate_charlm(model, vocab.encode(held_out))
    where = "the default corpus" if text_path is None else text_path
    print(f"bits per character: {bpc:.4f} on the held-out last 10% of {where} "
          f"({len(held_out)} characters, {time.perf_counter() - start:.1f} s)")
    return 0


def add_charlm_commands(groups: argparse._SubParsersAction) -> None:
    charlm = groups.add_parser("charlm", help="character language model: train, sample, eval")
    commands = charlm.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train on the default corpus or a UTF-8 file")
    train.add_argument("--text", help="UTF-8 text file (default: the shipped NumPy corpus)")
    train.add_argument("--cell", choices=CELLS, default="lstm")
    budget = train.add_mutually_exclusive_group()
    budget.add_argument("--time-budget", type=positive_float, metavar="SECONDS")
    budget.add_argument("--steps", type=positive_int, help="total steps of the run (default 1000)")
    train.add_argument("--stop-at", type=positive_int, metavar="STEP",
                       help="stop (and save) at this step, as if interrupted; --resume continues")
    train.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    train.add_argument("--out", help="folder for the run's checkpoint")
    train.add_argument("--resume", metavar="DIR", help="continue the run saved in DIR")
    train.add_argument("--hidden-size", type=positive_int, default=256)
    train.add_argument("--embed-size", type=positive_int, default=64)
    train.add_argument("--layers", type=positive_int, default=1)
    train.add_argument("--dropout", type=float, default=0.0)
    train.add_argument("--batch-size", type=positive_int, default=32)
    train.add_argument("--seq-len", type=positive_int, default=64)
    train.add_argument("--lr", type=positive_float, default=1e-2)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--backend", choices=("minirnn", "torch"), default="minirnn",
                       help="recurrent layer: minirnn.torch's (the default; its fused path) or "
                            "torch.nn's (oneDNN/cuDNN kernels, somewhat faster)")
    train.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                       help="progress bar (default: only on a terminal)")
    train.set_defaults(func=charlm_train)

    sample = commands.add_parser("sample", help="generate text from a trained run")
    sample.add_argument("dir")
    sample.add_argument("--prime", help="text to start from (default: a new line)")
    sample.add_argument("--temperature", type=non_negative_float, default=1.0,
                        help="softmax temperature; 0 picks the most likely character (greedy)")
    sample.add_argument("--top-k", type=positive_int)
    sample.add_argument("--length", type=positive_int, default=300)
    sample.add_argument("--seed", type=int, default=0)
    sample.set_defaults(func=charlm_sample)

    evaluate = commands.add_parser("eval", help="bits per character on the held-out 10%%")
    evaluate.add_argument("dir")
    evaluate.add_argument("--text", help="evaluate on the last 10%% of this file instead")
    evaluate.set_defaults(func=charlm_eval)


# -- assignments -------------------------------------------------------------------------------
def assignments_build(args: argparse.Namespace) -> int:
    from minirnn.assignments import build, catalog

    try:
        chosen = [catalog.get(name) for name in args.names] or list(catalog.ASSIGNMENTS.values())
    except ValueError as err:
        raise CLIError(str(err)) from None
    for a in chosen:
        try:
            folder, archive = build.build(a, args.out, solution=args.solution)
        except build.MarkerError as err:
            raise CLIError(str(err)) from None
        print(f"{a.name}: {folder} and {archive} ({a.points} points)")
    return 0


def assignments_grade(args: argparse.Namespace) -> int:
    from minirnn.assignments import grade

    try:
        result = grade.grade(args.dir, limit=args.time_limit)
    except grade.GradeError as err:
        raise CLIError(str(err)) from None
    print(grade.report(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0


def add_assignment_commands(groups: argparse._SubParsersAction) -> None:
    group = groups.add_parser("assignments", help="build the student assignments, grade them")
    commands = group.add_subparsers(dest="command", required=True)

    build = commands.add_parser("build", help="write each assignment's student folder and zip")
    build.add_argument("names", nargs="*", metavar="NAME", help="assignments (default: all)")
    build.add_argument("--out", default="assignments_out",
                       help="output folder (default %(default)s)")
    build.add_argument("--solution", action="store_true",
                       help="keep the solutions (the reference folder, for checking the grader)")
    build.set_defaults(func=assignments_build)

    grade = commands.add_parser("grade", help="run the graded tests on a student folder")
    grade.add_argument("dir", help="a student folder written by 'assignments build'")
    grade.add_argument("--json", metavar="FILE", help="also write the result as JSON")
    grade.add_argument("--time-limit", type=positive_float, default=20.0, metavar="SECONDS",
                       help="per graded test (default 20)")
    grade.set_defaults(func=assignments_grade)


# -- the parser --------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="minirnn", description="The minirnn course's tools.")
    groups = parser.add_subparsers(dest="group", required=True)
    add_charlm_commands(groups)
    add_assignment_commands(groups)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except user_errors() as err:  # evaluated when an error is raised, after the imports
        print(f"minirnn: error: {err}", file=sys.stderr)
        return 2
