"""``python -m minirnn``: the course's command line.

    python -m minirnn charlm train [--text FILE] [--cell lstm|gru|rnn] [--time-budget S | --steps N]
                                   [--save-every N] [--device auto|cpu|cuda]
                                   --out DIR [--force]  |  --resume DIR [--text FILE]
    python -m minirnn charlm sample DIR [--prime TEXT] [--temperature T] [--top-k K]
                                        [--length N] [--seed S]
    python -m minirnn charlm eval DIR [--text FILE]
    python -m minirnn assignments build [--out DIR] [--solution] [NAME ...]
    python -m minirnn assignments grade DIR [--assignment NAME] [--json FILE] [--time-limit S]
                                        [--seed N] [--jobs N] [--sandbox auto|bwrap|none]
    python -m minirnn assignments grade SUBMISSIONS --gradebook OUT --assignment NAME
    python -m minirnn assignments gradescope NAME OUT [--time-limit S] [--visibility V]
    python -m minirnn assignments nbgrader NAME COURSE_DIR

Each group of subcommands registers itself in one small function (``add_charlm_commands``);
another group is one more such function and one more line in ``build_parser``. Errors a user can
cause (a bad flag, a bad file, a prime outside the vocabulary, a damaged checkpoint, a text too
short, a model too large) print one line and exit with status 2, not a traceback.

A run folder holds one file, ``checkpoint.pt``: the model's ``config`` (with the run's training
settings), the vocabulary and the trainer's state. A training never loses a run: it refuses a
folder holding another run's checkpoint (unless ``--force``), checks that the folder can be
written and locks it before the first step, saves every ``--save-every`` steps and on Ctrl-C or
SIGTERM (between two steps, so ``--resume`` continues exactly), and never saves a model that has
diverged. torch is imported only by the charlm commands, so ``assignments build`` and the grading
of a NumPy assignment run without it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

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
MIN_TEMPERATURE = 1e-3  # below it, logits / T overflows float32: the sampling would give NaN
# A loss above this (nats per character) means the run diverged: guessing uniformly costs ln V,
# about 5 for a text's vocabulary; a loss of 1000 needs logits in the thousands (--lr too large).
DIVERGED_LOSS = 1e3


def user_errors() -> tuple[type[Exception], ...]:
    """The errors a user can cause, printed as one line. CheckpointError lives beside torch, so it
    is among them once a charlm command has imported it (only then can it be raised)."""
    checkpoint = sys.modules.get("minirnn.torch.checkpoint")
    return (CLIError, TextFileError) + ((checkpoint.CheckpointError,) if checkpoint else ())


class Parser(argparse.ArgumentParser):
    """argparse's parser with its errors on one line (the usage is one ``--help`` away)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())} (see --help)\n")


# argparse types: each error names what was expected and what was given ("argument --lr: ...")
def number(kind: type, text: str):
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected {'an integer' if kind is int else 'a number'}, got {text!r}") from None


def positive_int(text: str) -> int:
    value = number(int, text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def non_negative_int(text: str) -> int:
    value = number(int, text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {value}")
    return value


def positive_float(text: str) -> float:
    value = number(float, text)
    if not 0 < value < float("inf"):  # also refuses nan and inf
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text}")
    return value


def probability(text: str) -> float:
    value = number(float, text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text}")
    return value


def seed(text: str) -> int:
    value = number(int, text)
    if not 0 <= value < 2**64:  # what torch's generators take
        raise argparse.ArgumentTypeError(f"expected an integer in [0, 2**64 - 1], got {text}")
    return value


def temperature(text: str) -> float:
    value = number(float, text)
    if value != 0 and not MIN_TEMPERATURE <= value < float("inf"):
        raise argparse.ArgumentTypeError(
            f"expected 0 (greedy) or a finite number >= {MIN_TEMPERATURE}, got {text}")
    return value


def pick_device(name: str) -> torch.device:
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise CLIError("--device cuda was asked for, but no CUDA device is available")
    return torch.device(name)


def note(message: str) -> None:
    print(f"minirnn: note: {message}", file=sys.stderr, flush=True)


# -- charlm: text and sizes ----------------------------------------------------------------------
def read_text(path: str | None) -> str:
    """The text: the file the user named, or the default corpus. A path stored in a checkpoint is
    never read (a checkpoint from elsewhere could name any file on this machine)."""
    return load_corpus() if path is None else load_text(path)


def text_sha256(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def split_length(n: int) -> int:
    """The length of split_text's training part of an n-character text (its rounding)."""
    return int(round(n * 0.9))


def shortest_text(train_chars: int, held_out_chars: int = 2) -> int:
    """The fewest characters whose split has >= train_chars and >= held_out_chars characters."""
    n = max(4, int(train_chars / 0.9) - 2)
    while split_length(n) < train_chars or n - split_length(n) < held_out_chars:
        n += 1
    return n


def training_part(text: str, batch_size: int, seq_len: int, world_size: int = 1) -> str:
    """The first 90% of the text, checked to be long enough for the batcher's streams."""
    streams = batch_size * world_size
    need = shortest_text(streams * seq_len + 1)  # every input character needs its next one
    if len(text) < need:
        ranks = f" x {world_size} processes" if world_size > 1 else ""
        raise CLIError(f"the text is too short: {len(text):,} characters, and --batch-size "
                       f"{batch_size}{ranks} with --seq-len {seq_len} needs at least {need:,} "
                       f"(the first 90% is read as {streams} streams of {seq_len} characters or "
                       "more); give a longer --text or smaller --batch-size/--seq-len")
    return split_text(text)[0]


def held_out_part(text: str) -> str:
    need = shortest_text(2)
    if len(text) < need:
        raise CLIError(f"the text is too short to evaluate: {len(text)} characters, and eval "
                       f"needs at least {need} (it reads the last 10%, at least 2 characters)")
    return split_text(text)[1]


def check_vocabulary(vocab: CharVocab, text: str, what: str) -> None:
    """Refuse a text with characters outside the vocabulary. The message says how many and
    where, not which: it never repeats the content of a file."""
    missing = vocab.unknown_chars(text)
    if missing:
        first = min(text.index(c) for c in missing)
        raise CLIError(f"{what} has {len(missing)} distinct characters outside the run's "
                       f"vocabulary (the first at character {first:,})")


def memory_of(device: torch.device) -> int | None:
    """Bytes of memory of the device (the machine's RAM for the CPU), None if unknown."""
    import os

    import torch

    if device.type == "cuda":
        return torch.cuda.get_device_properties(device).total_memory
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):  # not on Windows
        return None


def check_fits(config: dict, batch_size: int, seq_len: int, device: torch.device,
               processes: int = 1) -> None:
    """Refuse, before allocating anything, a model whose training needs more memory than the
    device has. The parameters are counted exactly on torch's meta device (no memory); training
    holds them four times (weights, gradients, Adam's two moments), plus the activations."""
    import torch

    from minirnn.torch.models import CharLM

    with torch.device("meta"):
        params = sum(p.numel() for p in CharLM.from_config(config, device="meta").parameters())
    gates = {"rnn": 1, "gru": 3, "lstm": 4}.get(config["cell"], 4)
    per_step = (config["num_layers"] * config["hidden_size"] * (gates + 2)
                + config["embed_size"] + 2 * config["vocab_size"])
    need = 4 * (4 * params + 2 * batch_size * seq_len * per_step)  # float32 bytes
    if device.type == "cpu":
        need *= processes  # the processes of torchrun share the machine
    have = memory_of(device)
    if have is not None and need > have:
        raise CLIError(f"the model does not fit: training it needs about {need / 1e9:,.1f} GB "
                       f"({params:,} parameters), and the {device.type} has "
                       f"{have / 1e9:,.1f} GB; choose smaller --hidden-size, --embed-size, "
                       "--layers, --batch-size or --seq-len")


# -- charlm: run folders -----------------------------------------------------------------------
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
    with damaged(path):
        vocab = CharVocab(ckpt["vocab"])
        model = CharLM.from_config(ckpt["config"])
        model.load_state_dict(ckpt["trainer"]["model"])
        if len(vocab) != model.vocab_size:
            raise ValueError(f"its vocabulary has {len(vocab)} characters, its model "
                             f"{model.vocab_size} outputs")
        if not all(bool(p.isfinite().all()) for p in model.parameters()):
            raise ValueError("its parameters are not finite (the run diverged)")
    return ckpt, model.to(device or "cpu"), vocab


@contextlib.contextmanager
def damaged(path: Path, part: str = "") -> Iterator[None]:
    """Turn an error in reading a checkpoint's contents into one CheckpointError line."""
    from minirnn.torch.checkpoint import CheckpointError

    try:
        yield
    except (CLIError, TextFileError, CheckpointError):
        raise
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError, AttributeError) as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        if isinstance(err, KeyError):
            reason = f"no entry {reason}"
        raise CheckpointError(f"checkpoint {str(path)!r} is damaged: {part}{reason[:200]}"
                              ) from None


def open_run_folder(out: Path, resume: str | None, force: bool):
    """Check that ``out`` can take this run, lock it and return the lock (an open file): refuse a
    file, a folder that cannot be written and a folder holding another run's checkpoint, all
    before the first step. Leftovers of a write killed midway are removed (under the lock)."""
    from minirnn.torch.checkpoint import lock_folder, remove_partial_writes

    if out.exists() and not out.is_dir():
        raise CLIError(f"--out: expected a folder, got the file {str(out)!r}")
    same_run = resume is not None and Path(resume).resolve() == out.resolve()
    if (out / CHECKPOINT).exists() and not same_run and not force:
        raise CLIError(f"--out {str(out)!r} holds a checkpoint already: continue that run with "
                       f"--resume {str(out)!r}, replace it with --force, or choose another --out")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise CLIError(f"--out: cannot create the folder {str(out)!r}: "
                       f"{err.strerror or err}") from None
    try:
        lock = lock_folder(out)  # creating the lock file proves the folder can be written
    except OSError as err:
        raise CLIError(f"--out: cannot write in the folder {str(out)!r}: "
                       f"{err.strerror or err}") from None
    for leftover in remove_partial_writes(out / CHECKPOINT):
        note(f"removed {leftover.name}, left by a save that was killed midway")
    return lock


def save_run(out: Path, config: dict, vocab: CharVocab, trainer_state: dict) -> None:
    """Write the run's one file: config, vocabulary and trainer state (atomically: a kill during
    the write leaves the previous checkpoint whole)."""
    from minirnn.torch.checkpoint import save_checkpoint

    try:
        save_checkpoint(out / CHECKPOINT, {"config": config, "vocab": vocab.chars,
                                           "trainer": trainer_state})
    except OSError as err:
        raise CLIError(f"cannot write {str(out / CHECKPOINT)!r}: {err.strerror or err}; "
                       "the previous checkpoint, if any, is whole") from None


class Stopper:
    """While training, SIGINT (Ctrl-C) and SIGTERM only set a flag, read between two steps: the
    step in progress ends, the run is saved whole and ``--resume`` continues exactly. A second
    Ctrl-C quits at once (KeyboardInterrupt; the last checkpoint stays whole, saves are atomic)."""

    def __init__(self) -> None:
        self.signum = 0
        self._before: dict = {}

    def _handle(self, signum: int, frame) -> None:
        import os
        import signal

        if self.signum == signal.SIGINT and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signum = self.signum or signum
        # os.write, not print: a handler may run in the middle of a print
        os.write(2, f"minirnn: {signal.Signals(signum).name}: stopping after this step and "
                    "saving the run\n".encode())

    def __enter__(self) -> Stopper:
        import signal

        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                self._before[signum] = signal.signal(signum, self._handle)
            except ValueError:  # not the main thread: signals keep their handlers
                pass
        return self

    def __exit__(self, *exc) -> None:
        import signal

        for signum, handler in self._before.items():
            signal.signal(signum, handler)


# -- charlm: the commands ------------------------------------------------------------------------
# Flags of the run: these defaults are filled in for a new run; on --resume the run's own values
# hold, and a flag given there must match (FIXED_ON_RESUME) or is applied from that step on.
RUN_DEFAULTS = dict(cell="lstm", hidden_size=256, embed_size=64, layers=1, dropout=0.0,
                    backend="minirnn", batch_size=32, seq_len=64, seed=0, lr=1e-2)
FIXED_ON_RESUME = ("cell", "hidden_size", "embed_size", "layers", "backend", "batch_size",
                   "seq_len", "seed")
CONFIG_KEY = {"layers": "num_layers"}


def resumed_config(config: dict, args: argparse.Namespace, step: int) -> tuple[dict, list[str]]:
    """The run's config, with --lr, --dropout and --steps applied from ``step`` on, and notes
    that say so; the flags that fix the model's shape or the data order must match the run's."""
    config, notes = dict(config), []
    if "impl" in config and "backend" not in config:  # written before backend was named so
        config["backend"] = config.pop("impl")
    for name in (*RUN_DEFAULTS, "steps"):
        key = CONFIG_KEY.get(name, name)
        given, run_value = getattr(args, name), config.get(key)
        if given is None or given == run_value:
            continue
        flag = "--" + name.replace("_", "-")
        if name in FIXED_ON_RESUME:
            raise CLIError(f"{flag} cannot change on --resume: the run has {run_value!r}, got "
                           f"{given!r} (start a new run for another value)")
        notes.append(f"{flag} changes from {run_value} to {given} at step {step}")
        config[key] = given
    return config, notes


def charlm_train(args: argparse.Namespace) -> int:
    from minirnn.torch import distributed
    from minirnn.torch.checkpoint import CheckpointError

    if args.out == "" or args.resume == "":
        raise CLIError(f"{'--out' if args.out == '' else '--resume'}: expected a folder, got ''")
    if args.resume is None and args.out is None:
        raise CLIError("give --out DIR (where the run is written) or --resume DIR")
    rank, world_size = distributed.world_from_env()
    if world_size > 1:  # started by torchrun: data-parallel training
        if args.device == "cuda":
            raise CLIError("under torchrun, train on the CPU (--device cpu or auto): gloo")
        args.device = "cpu"
        distributed.init()
    device = pick_device(args.device)
    out = Path(args.out if args.out is not None else args.resume)

    if args.resume:
        ckpt, _, vocab = load_run(args.resume)
        with damaged(Path(args.resume) / CHECKPOINT):
            trainer_state = ckpt["trainer"]
            config = ckpt["config"]
            for key in ("batch_size", "seq_len"):  # the model's own are checked by load_run
                if not (isinstance(config[key], int) and config[key] >= 1):
                    raise ValueError(f"config {key} is {config[key]!r}")
            if not (isinstance(config["lr"], float) and 0 < config["lr"] < float("inf")):
                raise ValueError(f"config lr is {config['lr']!r}")
            config, notes = resumed_config(config, args, int(trainer_state["step"]))
            trained_on = config.get("text")
            run_processes = config.get("world_size", 1)
        if run_processes != world_size:  # each process reads its own streams of the text
            raise CLIError(f"the run was trained by {run_processes} process(es), this is "
                           f"{world_size}: resume it with as many (torchrun --nproc_per_node)")
        if args.text is None and trained_on is not None:
            raise CLIError(f"the run was trained on {str(trained_on)[:200]!r}: give --text FILE "
                           "(a path stored in a checkpoint is never read)")
    else:
        notes = []
        config = {name: getattr(args, name) for name in RUN_DEFAULTS}
        config = {k: RUN_DEFAULTS[k] if v is None else v for k, v in config.items()}
        config["num_layers"] = config.pop("layers")
    text = read_text(args.text)
    train_text = training_part(text, config["batch_size"], config["seq_len"], world_size)
    if args.resume:
        check_vocabulary(vocab, train_text, "the text")
        if config.get("text_sha256", text_sha256(text)) != text_sha256(text):
            notes.append("the text differs from the one the run was trained on")
    else:
        vocab = CharVocab.from_text(text)
        config["vocab_size"] = len(vocab)
        check_fits(config, config["batch_size"], config["seq_len"], device, world_size)
    config["text"] = None if args.text is None else str(Path(args.text).resolve())
    config["text_sha256"] = text_sha256(text)
    config["world_size"] = world_size
    steps = args.steps if args.steps is not None else config.get("steps")
    if steps is None and args.time_budget is None:
        steps = 1000
    config["steps"] = steps

    lock, error = None, None
    if rank == 0:  # only rank 0 touches the folder; the others learn whether it could
        try:
            lock = open_run_folder(out, args.resume, args.force)
        except (CLIError, CheckpointError) as err:
            error = str(err)
    error = distributed.share_from_rank0(error)
    if error:
        raise CLIError(error)
    try:
        return train_in(out, config, vocab, train_text, args, steps, device, rank, world_size,
                        trainer_state if args.resume else None, notes)
    finally:
        if lock is not None:
            lock.close()


def train_in(out: Path, config: dict, vocab: CharVocab, train_text: str,
             args: argparse.Namespace, steps: int | None, device: torch.device, rank: int,
             world_size: int, resume_state: dict | None, notes: list[str]) -> int:
    """Train and save into the locked folder ``out``: every ``--save-every`` steps, at the end,
    and when a signal stops the run. Returns the exit status (128 + the signal's number if one
    stopped it)."""
    import signal

    import torch

    from minirnn.torch import distributed
    from minirnn.torch.models import CharLM, token_cross_entropy
    from minirnn.torch.train import Trainer, seed_everything

    if resume_state is None:
        seed_everything(config["seed"])
    model = CharLM.from_config(config, device=device)
    batcher = TBPTTBatcher(vocab.encode(train_text), config["batch_size"], config["seq_len"],
                           rank=rank, world_size=world_size)
    trainer = Trainer(distributed.wrap(model), batcher, optimizer="adam", lr=config["lr"],
                      schedule="cosine", clip_norm=1.0,
                      progress=args.progress if rank == 0 else False,
                      log_every=0 if args.progress or rank > 0 else 100,
                      log=lambda line: print(line, flush=True))
    if resume_state is not None:
        if world_size > 1:  # every rank carries its own state: saved as rank_states
            resume_state = dict(resume_state, carried_state=resume_state["rank_states"][rank])
        with damaged(Path(args.resume) / CHECKPOINT, "trainer section: "), torch.no_grad():
            trainer.load_state_dict(resume_state)
            model.eval()  # one step on the carried state: does it fit the model and batch?
            model(torch.zeros(config["batch_size"], 1, dtype=torch.long, device=device),
                  trainer.state)
            model.train()
        trainer.base_lr = config["lr"]  # a new --lr applies from here on
    for line in notes if rank == 0 else ():  # once nothing more can be refused
        note(line)
    started, saved_at, stopped_by = trainer.step_count, None, 0

    def diverged(what: str) -> CLIError:
        kept = (f"{str(out / CHECKPOINT)!r} was left as it was" if (out / CHECKPOINT).exists()
                else "nothing was saved")
        return CLIError(f"training diverged at step {trainer.step_count}: {what}; {kept} "
                        "(try a smaller --lr)")

    # a model is saved only if its loss on the start of the text is sane: the step that makes
    # the parameters huge or NaN has a sane loss itself (it is computed before the update)
    probe = torch.from_numpy(vocab.encode(train_text[: config["seq_len"] + 1])).to(device)

    @torch.no_grad()
    def probe_loss() -> float:
        model.eval()  # no dropout: no random numbers drawn, the run stays exact
        logits, _ = model(probe[None, :-1])
        model.train()
        return float(token_cross_entropy(logits, probe[None, 1:]))

    def save() -> None:
        nonlocal saved_at
        # the parameters are equal on every rank, so every rank takes this decision alike
        loss = probe_loss()
        if not loss <= DIVERGED_LOSS:
            raise diverged(f"the model's loss is {loss}")
        state = trainer.state_dict()
        if world_size > 1:  # gathered on every rank, at the same step: a collective operation
            state["rank_states"] = distributed.gather_objects(state["carried_state"])
        if rank == 0:
            save_run(out, config, vocab, state)
        saved_at = trainer.step_count

    def after_step(trainer: Trainer) -> bool:
        nonlocal stopped_by
        loss = trainer.history["loss"][-1]
        # agreed by all ranks (a MAX all-reduce): a signal to any one stops all at this step
        signum, bad_loss = distributed.agree(stopper.signum, int(not loss <= DIVERGED_LOSS))
        if bad_loss:
            raise diverged(f"the loss is {loss}")
        if signum:
            stopped_by = signum
            return True
        if args.stop_at is not None and trainer.step_count >= args.stop_at:
            return True
        if args.save_every and trainer.step_count % args.save_every == 0:
            save()
        return False

    with Stopper() as stopper:  # also around the saves: a Ctrl-C there waits for them
        remaining = None if steps is None else max(steps - trainer.step_count, 0)
        if args.stop_at is None or trainer.step_count < args.stop_at:
            trainer.fit(steps=remaining, time_budget=args.time_budget, total_steps=steps,
                        after_step=after_step, clock=distributed.agreed_clock())
        if saved_at != trainer.step_count:
            save()
        if world_size > 1:
            distributed.save_rank_parameters(out, rank, model)
            equal = distributed.all_equal(model)
            distributed.finish()
            if rank > 0:
                return 128 + stopped_by if stopped_by else 0
            print(f"{world_size} processes; parameters equal on every rank: {equal}")
    recent = trainer.history["loss"][-50:]
    mean = sum(recent) / max(len(recent), 1)
    how = ""
    if stopped_by:
        how = f" (stopped by {signal.Signals(stopped_by).name}: --resume {str(out)!r} continues)"
    print(f"trained {trainer.step_count - started} steps (total {trainer.step_count}); "
          f"train loss {mean:.3f} nats/char; wrote {out / CHECKPOINT}{how}", flush=True)
    return 128 + stopped_by if stopped_by else 0


def charlm_sample(args: argparse.Namespace) -> int:
    import torch

    from minirnn.data import to_torch

    _, model, vocab = load_run(args.dir)
    if args.prime is None:  # a new line if the text has them, else its first character
        args.prime = "\n" if "\n" in vocab else vocab.chars[0]
    if not args.prime:
        raise CLIError("--prime: expected at least one character, got ''")
    missing = vocab.unknown_chars(args.prime)
    if missing:
        raise CLIError(f"--prime has characters outside the vocabulary: {''.join(missing)!r}")
    generator = torch.Generator().manual_seed(args.seed)
    try:
        ids = model.generate(to_torch(vocab.encode(args.prime)), args.length,
                             temperature=args.temperature, top_k=args.top_k, generator=generator)
    except RuntimeError as err:  # torch.multinomial's "probability tensor contains inf, nan..."
        if "probability tensor" not in str(err):
            raise
        raise CLIError(f"the model of {args.dir!r} gives non-finite probabilities (its run "
                       "diverged: train it again with a smaller --lr)") from None
    print(args.prime + vocab.decode(ids))
    return 0


def charlm_eval(args: argparse.Namespace) -> int:
    from minirnn.torch.train import evaluate_charlm

    ckpt, model, vocab = load_run(args.dir)
    with damaged(Path(args.dir) / CHECKPOINT):
        trained_on = ckpt["config"].get("text")
    if args.text is None and trained_on is not None:
        raise CLIError(f"the run was trained on {str(trained_on)[:200]!r}: give --text FILE "
                       "(a path stored in a checkpoint is never read)")
    held_out = held_out_part(read_text(args.text))
    check_vocabulary(vocab, held_out, "the held-out text")
    start = time.perf_counter()
    bpc = evaluate_charlm(model, vocab.encode(held_out))
    if not math.isfinite(bpc) or bpc > DIVERGED_LOSS:
        raise CLIError(f"the model of {args.dir!r} gives a loss of {bpc} bits per character "
                       "(its run diverged: train it again with a smaller --lr)")
    where = "the default corpus" if args.text is None else args.text
    print(f"bits per character: {bpc:.4f} on the held-out last 10% of {where} "
          f"({len(held_out)} characters, {time.perf_counter() - start:.1f} s)")
    return 0


def add_charlm_commands(groups: argparse._SubParsersAction) -> None:
    charlm = groups.add_parser("charlm", help="character language model: train, sample, eval")
    commands = charlm.add_subparsers(dest="command", required=True)

    train = commands.add_parser(
        "train", help="train on the default corpus or a UTF-8 file",
        description="Train a character model into --out, or continue the run in --resume. On "
                    "--resume the run's sizes, cell, backend, batch size, sequence length and "
                    "seed hold (another value is an error); --lr, --dropout and --steps apply "
                    "from that step on. The run is saved every --save-every steps, at the end, "
                    "and on Ctrl-C or SIGTERM.")
    train.add_argument("--text", help="UTF-8 text file (default: the shipped NumPy corpus)")
    budget = train.add_mutually_exclusive_group()
    budget.add_argument("--time-budget", type=positive_float, metavar="SECONDS")
    budget.add_argument("--steps", type=positive_int, help="total steps of the run (default 1000)")
    train.add_argument("--stop-at", type=positive_int, metavar="STEP",
                       help="stop (and save) at this step, as if interrupted; --resume continues")
    train.add_argument("--save-every", type=non_negative_int, default=500, metavar="STEPS",
                       help="save the run every STEPS steps (default %(default)s; 0: only at "
                            "the end); it is also saved on Ctrl-C and SIGTERM")
    train.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    train.add_argument("--out", help="folder for the run (a new one, or one without a checkpoint)")
    train.add_argument("--resume", metavar="DIR", help="continue the run saved in DIR")
    train.add_argument("--force", action="store_true",
                       help="replace the checkpoint of another run in --out")
    # default None: on --resume, a flag that was given is told apart from one that was not
    run_flags = [("--cell", dict(choices=CELLS)), ("--hidden-size", dict(type=positive_int)),
                 ("--embed-size", dict(type=positive_int)), ("--layers", dict(type=positive_int)),
                 ("--dropout", dict(type=probability)),
                 ("--backend", dict(choices=("minirnn", "torch"))),
                 ("--batch-size", dict(type=positive_int)), ("--seq-len", dict(type=positive_int)),
                 ("--lr", dict(type=positive_float)), ("--seed", dict(type=seed))]
    for flag, kwargs in run_flags:
        default = RUN_DEFAULTS[flag[2:].replace("-", "_")]
        train.add_argument(flag, help=f"default {default}" + (
            "; minirnn.torch's layer or torch.nn's (oneDNN/cuDNN kernels, somewhat faster)"
            if flag == "--backend" else ""), **kwargs)
    train.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                       help="progress bar (default: only on a terminal)")
    train.set_defaults(func=charlm_train)

    sample = commands.add_parser("sample", help="generate text from a trained run")
    sample.add_argument("dir")
    sample.add_argument("--prime", help="text to start from (default: a new line)")
    sample.add_argument("--temperature", type=temperature, default=1.0,
                        help="softmax temperature; 0 picks the most likely character (greedy)")
    sample.add_argument("--top-k", type=positive_int)
    sample.add_argument("--length", type=positive_int, default=300)
    sample.add_argument("--seed", type=seed, default=0)
    sample.set_defaults(func=charlm_sample)

    evaluate = commands.add_parser("eval", help="bits per character on the held-out 10%%")
    evaluate.add_argument("dir")
    evaluate.add_argument("--text", help="evaluate on the last 10%% of this file (needed when "
                                         "the run was trained on a file)")
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

    if args.gradebook:
        if not args.assignment:
            raise CLIError("--gradebook needs --assignment NAME")
        try:
            summary = grade.grade_class(args.dir, args.gradebook, args.assignment,
                                        args.time_limit, jobs=args.jobs, sandbox=args.sandbox)
        except (grade.GradeError, ValueError) as err:
            raise CLIError(str(err)) from None
        print(json.dumps(summary, indent=1))
        return 0
    try:
        result = grade.grade(args.dir, limit=args.time_limit, assignment=args.assignment,
                             seed=args.seed, jobs=args.jobs, sandbox=args.sandbox)
    except grade.GradeError as err:
        raise CLIError(str(err)) from None
    print(grade.report(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0


def assignments_gradescope(args: argparse.Namespace) -> int:
    from minirnn.assignments import catalog, gradescope

    try:
        path = gradescope.write_bundle(catalog.get(args.name), args.out, args.time_limit,
                                       args.visibility)
    except ValueError as err:
        raise CLIError(str(err)) from None
    print(f"{args.name}: {path} (upload it as the assignment's autograder on Gradescope)")
    return 0


def assignments_nbgrader(args: argparse.Namespace) -> int:
    from minirnn.assignments import catalog, nbgrader_course

    try:
        folder = nbgrader_course.write_source(catalog.get(args.name), args.course)
    except ValueError as err:
        raise CLIError(str(err)) from None
    print(f"{args.name}: {folder} (then, in {args.course}: nbgrader generate_assignment "
          f"{args.name})")
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
    grade.add_argument("dir", help="a student folder written by 'assignments build' (with "
                                   "--gradebook: a folder of them, one subfolder or zip each)")
    grade.add_argument("--gradebook", metavar="OUT",
                       help="grade a class: write OUT/gradebook.csv, OUT/<student>.json and "
                            "OUT/summary.json")
    grade.add_argument("--json", metavar="FILE", help="also write the result as JSON")
    grade.add_argument("--assignment", metavar="NAME",
                       help="the assignment (default: the folder's assignment.json, checked "
                            "against the catalog)")
    grade.add_argument("--time-limit", type=positive_float, default=20.0, metavar="SECONDS",
                       help="CPU seconds per graded test (default 20)")
    grade.add_argument("--seed", type=int, metavar="N",
                       help="reproduce a grade: the seed its report records (default: derived "
                            "from MINIRNN_GRADE_SECRET and the submission)")
    grade.add_argument("--sandbox", choices=("auto", "bwrap", "none"), default="auto",
                       help="bwrap: bubblewrap around each test (no network, no files outside "
                            "the scratch folder, no process left behind); auto: bwrap where it "
                            "works (default)")
    grade.add_argument("--jobs", type=int, default=2, metavar="N",
                       help="graded tests run at once (default 2)")
    grade.set_defaults(func=assignments_grade)

    scope = commands.add_parser("gradescope", help="write a Gradescope autograder zip")
    scope.add_argument("name", metavar="NAME", help="the assignment")
    scope.add_argument("out", metavar="OUT",
                       help="the zip to write, or a folder for NAME_gradescope.zip")
    scope.add_argument("--time-limit", type=positive_float, metavar="SECONDS",
                       help="CPU seconds per graded test (default: the grader's)")
    scope.add_argument("--visibility", default="visible",
                       choices=("visible", "hidden", "after_due_date", "after_published"),
                       help="when students see the test results (default %(default)s)")
    scope.set_defaults(func=assignments_gradescope)

    course = commands.add_parser("nbgrader", help="write an nbgrader course's source/NAME/")
    course.add_argument("name", metavar="NAME", help="the assignment")
    course.add_argument("course", metavar="COURSE_DIR",
                        help="the nbgrader course directory (nbgrader_config.py is written "
                             "there if it has none)")
    course.set_defaults(func=assignments_nbgrader)


# -- the parser --------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="minirnn", description="The minirnn course's tools.")
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
    except KeyboardInterrupt:  # outside training, or a second Ctrl-C: checkpoints are atomic
        print("minirnn: interrupted; a run folder keeps its last whole checkpoint",
              file=sys.stderr)
        return 130
