"""Chapter 2: Five architectures. Diagrams of the input/output patterns, and one trained model
per pattern, each on a course dataset.

    one_to_one   digit images (N, 64)            -> digit (N,)           Classifier
    one_to_many  shape images (N, 3, 32, 32)     -> caption (N, T)       CaptioningModel
    many_to_one  digit videos (N, T, 256)        -> heading (N,)         SequenceClassifier
    seq2seq      German number words (N, S)      -> English words (N, T) Seq2Seq
    synced       digit videos (N, T, 256)        -> position per frame   SequenceTagger

The diagrams: each architecture is a layout, which time steps have an input box (bottom row),
a hidden box (middle row) and an output box (top row). `architecture_layout` computes it and
`draw_architecture` draws it, so a test can check the layout without looking at pixels.

The experiment: `run_task(name)` makes the data, builds the model, trains it and evaluates it
against a baseline that does not look at the input (the majority answer, per position for
sequences), so "beats chance" is measured, not assumed. The two video tasks also get a baseline
that sees one frame only (`run_one_frame`): every frame shows the whole digit, so only a label
that needs time (the heading, which way the digit moves) shows what the recurrence adds. The
videos are split by digit image: no test video draws an image any training video draws.
`experiments/architectures.py` runs all five at full size and stores the weights the chapter
loads; the tests run them small.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import torch
from torch import nn

from minirnn.data import bitmap_split, digit_videos, make_shapes, number_translation, to_torch
from minirnn.data.tokens import IGNORE_INDEX, Vocab
from minirnn.metrics import majority_per_position, sequence_scores
from minirnn.torch.decode import until_eos
from minirnn.torch.models import (
    CaptioningModel,
    Classifier,
    Seq2Seq,
    SequenceClassifier,
    SequenceTagger,
    ShapesEncoder,
    pretrain_encoder,
)
from minirnn.torch.train import RandomBatches, Trainer, seed_everything

ARCHITECTURES = ("one_to_one", "one_to_many", "many_to_one", "seq2seq", "synced")

# ------------------------------------------------------------------------------- diagrams

TITLES = {
    "one_to_one": "one-to-one",
    "one_to_many": "one-to-many",
    "many_to_one": "many-to-one",
    "seq2seq": "many-to-many (seq2seq)",
    "synced": "many-to-many (synced)",
}

# Colours for input, hidden and output boxes (the usual red / green / blue of RNN diagrams).
COLOURS = {"input": "#f4b6b6", "hidden": "#b9e4b0", "output": "#b4cdf0"}


@dataclass(frozen=True)
class Layout:
    """Time steps (columns) that carry an input, a hidden state and an output box."""

    kind: str
    inputs: tuple[int, ...]
    hidden: tuple[int, ...]
    outputs: tuple[int, ...]


def architecture_layout(kind: str, n_in: int = 3, n_out: int = 3) -> Layout:
    """The boxes of one architecture.

    Inputs:
    - kind: one of ARCHITECTURES.
    - n_in: number of input steps (ignored by one_to_one and one_to_many, which read one).
    - n_out: number of output steps (ignored by one_to_one and many_to_one, which write one).

    Returns a Layout whose tuples list the columns (0, 1, ...) holding each kind of box.
    """
    if kind not in ARCHITECTURES:
        raise ValueError(f"kind: expected one of {ARCHITECTURES}, got {kind!r}")
    if n_in < 1 or n_out < 1:
        raise ValueError(f"n_in, n_out: expected at least 1 each, got {n_in}, {n_out}")
    if kind == "one_to_one":
        return Layout(kind, (0,), (0,), (0,))
    if kind == "one_to_many":
        steps = tuple(range(n_out))
        return Layout(kind, (0,), steps, steps)
    if kind == "many_to_one":
        steps = tuple(range(n_in))
        return Layout(kind, steps, steps, (n_in - 1,))
    if kind == "synced":
        steps = tuple(range(n_in))
        return Layout(kind, steps, steps, steps)
    # seq2seq: the encoder reads n_in steps, then the decoder writes n_out steps.
    return Layout(
        kind,
        tuple(range(n_in)),
        tuple(range(n_in + n_out)),
        tuple(range(n_in, n_in + n_out)),
    )


def draw_architecture(ax, kind: str, n_in: int = 3, n_out: int = 3) -> Layout:
    """Draw one architecture into a matplotlib Axes and return its layout."""
    from matplotlib.patches import FancyBboxPatch

    layout = architecture_layout(kind, n_in, n_out)
    rows = {"input": 0.0, "hidden": 1.2, "output": 2.4}
    size = 0.7

    def box(col: int, row: str) -> None:
        ax.add_patch(FancyBboxPatch(
            (col - size / 2, rows[row] - size / 2), size, size,
            boxstyle="round,pad=0.02", facecolor=COLOURS[row], edgecolor="black", linewidth=1,
        ))

    def arrow(x0: float, y0: float, x1: float, y1: float) -> None:
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                    arrowprops={"arrowstyle": "->", "linewidth": 1.2})

    for col in layout.inputs:
        box(col, "input")
        arrow(col, rows["input"] + size / 2, col, rows["hidden"] - size / 2)
    for col in layout.hidden:
        box(col, "hidden")
        if col + 1 in layout.hidden:  # the recurrence: the state passes to the next step
            arrow(col + size / 2, rows["hidden"], col + 1 - size / 2, rows["hidden"])
    for col in layout.outputs:
        box(col, "output")
        arrow(col, rows["hidden"] + size / 2, col, rows["output"] - size / 2)
    if kind == "seq2seq":  # mark where reading ends and writing begins
        boundary = len(layout.inputs) - 0.5
        ax.axvline(boundary, color="gray", linestyle=":", linewidth=1)
        ax.text(boundary - 0.1, -0.75, "encoder", ha="right", fontsize=8)
        ax.text(boundary + 0.1, -0.75, "decoder", ha="left", fontsize=8)

    width = max(layout.hidden) + 1
    ax.set_xlim(-0.7, width - 0.3)
    ax.set_ylim(-1.0, 3.0)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(TITLES[kind], fontsize=10)
    return layout


# ------------------------------------------------------------------------------- the experiment

# Training steps (minibatches) at full size and for the quick rerun in the tests.
STEPS = {"one_to_one": 400, "one_to_many": 2500, "many_to_one": 600, "seq2seq": 5000,
         "synced": 300}
QUICK_STEPS = {"one_to_one": 150, "one_to_many": 1500, "many_to_one": 250, "seq2seq": 400,
               "synced": 100}
ENCODER_STEPS = {"full": 400, "quick": 200}  # pretraining the captioning CNN
N_HEADINGS = 4  # left-up, left-down, right-up, right-down
# The recurrent cell of each sequence model (the one-to-one model has none).
CELLS = {"one_to_many": "lstm", "many_to_one": "gru", "seq2seq": "gru", "synced": "gru"}


@dataclass
class TaskData:
    """Train and test tensors of one task; `train` is what RandomBatches samples from."""

    name: str
    train: tuple[torch.Tensor, ...]
    test: tuple[torch.Tensor, ...]
    info: dict = field(default_factory=dict)  # vocabularies and sizes the model needs


def _digits(quick: bool) -> TaskData:
    from sklearn.datasets import load_digits

    digits = load_digits()  # 1797 images of 8x8 pixels, values 0..16
    x = torch.tensor(digits.data, dtype=torch.float32) / 16.0
    y = torch.tensor(digits.target, dtype=torch.long)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    train, test = order[:1400], order[1400:]
    if quick:
        train = train[:700]
    return TaskData("one_to_one", (x[train], y[train]), (x[test], y[test]))


def _videos(name: str, quick: bool, label: str | None = None) -> TaskData:
    """Videos split by digit image; many_to_one's label is the heading at the last frame,
    synced's the position at every frame (`label` asks for another: "digit", or for synced
    "heading", the heading at every frame)."""
    n_train = 800 if quick else 2000
    train_bitmaps, test_bitmaps = bitmap_split(seed=0)
    train = to_torch(digit_videos(n_train, frames=10, seed=0, bitmaps=train_bitmaps))
    test = to_torch(digit_videos(500, frames=10, seed=1, bitmaps=test_bitmaps))
    label = label or ("heading" if name == "many_to_one" else "position")
    allowed = ("heading", "digit") if name == "many_to_one" else ("position", "heading")
    if label not in allowed:
        raise ValueError(f"label: expected one of {allowed} for {name}, got {label!r}")

    def target(v):  # the many-to-one model answers the heading at the last frame only
        last = label == "heading" and name == "many_to_one"
        return v.heading[:, -1] if last else getattr(v, label)

    frames, test_frames = train.videos.flatten(2), test.videos.flatten(2)  # (N, T, 16 * 16)
    return TaskData(name, (frames, target(train)), (test_frames, target(test)),
                    {"label": label, "train_bitmaps": train.bitmap, "test_bitmaps": test.bitmap,
                     "test_position": test.position})


def _translation(quick: bool) -> TaskData:
    splits, src_vocab, tgt_vocab = to_torch(number_translation(seed=0))
    tr, te = splits["train"], splits["test"]
    return TaskData(
        "seq2seq",
        (tr.src, tr.src_lengths, tr.tgt_in, tr.tgt_out),
        (te.src, te.src_lengths, te.tgt_in, te.tgt_out),
        {"src_vocab": src_vocab, "tgt_vocab": tgt_vocab},
    )


def _shapes(quick: bool) -> TaskData:
    train, vocab = to_torch(make_shapes(1500 if quick else 3000, seed=0))
    test, _ = to_torch(make_shapes(300, seed=1))
    return TaskData(
        "one_to_many",
        (train.images, train.captions_in, train.captions_out),
        (test.images, test.captions_in, test.captions_out),
        {"vocab": vocab, "cells": train.cells, "captions": test.captions},
    )


def task_data(name: str, quick: bool = False, label: str | None = None) -> TaskData:
    """The train and test data of one task (the same for every call); `label` picks a video
    task's other label (many_to_one: "heading" or "digit"; synced: "position" or "heading")."""
    if name not in ARCHITECTURES:
        raise ValueError(f"name: expected one of {ARCHITECTURES}, got {name!r}")
    if name == "one_to_one":
        return _digits(quick)
    if name in ("many_to_one", "synced"):
        return _videos(name, quick, label)
    if name == "seq2seq":
        return _translation(quick)
    return _shapes(quick)


def build_model(data: TaskData, encoder: ShapesEncoder | None = None) -> nn.Module:
    """The task's model, freshly initialised (call `seed_everything` first to fix it)."""
    name = data.name
    if name == "one_to_one":
        return Classifier(64, 64, 10)
    if name == "many_to_one":
        return SequenceClassifier(256, 64, 10 if data.info["label"] == "digit" else N_HEADINGS,
                                  cell=CELLS[name])
    if name == "synced":
        return SequenceTagger(256, 32, 3 if data.info["label"] == "position" else N_HEADINGS,
                              cell=CELLS[name])
    if name == "seq2seq":
        return Seq2Seq(len(data.info["src_vocab"]), len(data.info["tgt_vocab"]),
                       hidden_size=128, cell=CELLS[name])
    if encoder is None:
        raise ValueError("encoder: one_to_many needs the pretrained ShapesEncoder, got None")
    return CaptioningModel(len(data.info["vocab"]), encoder, hidden_size=128, cell=CELLS[name],
                           condition="h0")


# ------------------------------------------------------------------------------- evaluation


def _strip(rows: torch.Tensor) -> list[list[int]]:
    """Target rows (N, T) to lists of ids without padding and <eos>."""
    return [[t for t in row if t != IGNORE_INDEX and t != Vocab.EOS] for row in rows.tolist()]


def evaluate(model: nn.Module, data: TaskData) -> dict[str, float]:
    """Test metrics of a trained model and of the input-blind baseline.

    Returns {"metric": name, "score": ..., "baseline": ...} plus the exact-match rate for
    sequence outputs. The score is accuracy for classes and tags, token accuracy for words."""
    model.eval()
    name = data.name
    with torch.no_grad():
        if name in ("one_to_one", "many_to_one", "synced"):
            x, y = data.test
            score = (model.predict(x) == y).float().mean().item()
            majority = Counter(data.train[1].flatten().tolist()).most_common(1)[0][0]
            baseline = (y == majority).float().mean().item()
            return {"metric": "accuracy", "score": score, "baseline": baseline}
        if name == "seq2seq":
            src, src_lengths, _, tgt_out = data.test
            predicted = model.translate(src, src_lengths)
        else:
            images, _, tgt_out = data.test
            predicted = model.caption(images)
    targets, train_targets = _strip(tgt_out), _strip(data.train[-1])
    blind = majority_per_position(train_targets, max(map(len, train_targets)))
    blind = until_eos(blind, Vocab.EOS)
    scores = sequence_scores(predicted, targets)
    base = sequence_scores([blind] * len(targets), targets)
    return {"metric": "token accuracy", "score": scores["token_accuracy"],
            "baseline": base["token_accuracy"], "exact": scores["exact"],
            "baseline_exact": base["exact"]}


def beats_chance(score: float, baseline: float) -> bool:
    """The course's "clear margin": twice the baseline, or half-way from it to perfect."""
    return score >= min(2 * baseline, (1 + baseline) / 2)


# ------------------------------------------------------------------------------- training


@dataclass
class TaskRun:
    name: str
    model: nn.Module
    data: TaskData
    history: dict[str, list[float]]
    results: dict[str, float]


def run_task(name: str, quick: bool = False, steps: int | None = None, seed: int = 0,
             lr: float = 3e-3, batch_size: int = 64, label: str | None = None) -> TaskRun:
    """Make the data, build, train (Adam, gradients clipped to norm 5) and evaluate one task's
    model; `label` as in `task_data`."""
    data = task_data(name, quick, label)
    seed_everything(seed)
    encoder = None
    if name == "one_to_many":
        encoder = pretrain_encoder(data.train[0], data.info["cells"],
                                   steps=ENCODER_STEPS["quick" if quick else "full"], seed=seed)
    seed_everything(seed)
    model = build_model(data, encoder)
    batches = RandomBatches(*data.train, batch_size=batch_size, seed=seed)
    trainer = Trainer(model, batches, lr=lr, clip_norm=5.0, progress=False)
    history = trainer.fit(steps or (QUICK_STEPS if quick else STEPS)[name])
    return TaskRun(name, model, data, history, evaluate(model, data))


def load_trained(name: str, state_dict: dict) -> tuple[nn.Module, TaskData]:
    """Rebuild a task's model from stored weights (as written by experiments/architectures.py)."""
    data = task_data(name)
    encoder = ShapesEncoder() if name == "one_to_many" else None
    model = build_model(data, encoder)
    model.load_state_dict(state_dict)
    model.eval()
    return model, data


# ------------------------------------------------------------------------------- one frame only


class OneFrame(nn.Module):
    """The per-frame baseline: a `Classifier` that sees one frame, never the sequence.

    With `frame` an index, x (N, T, D) -> logits (N, C) from x[:, frame] alone (a many-to-one
    stand-in); with `frame=None`, each frame is classified on its own: (N, T, D) -> (N, T, C)."""

    def __init__(self, input_size: int, hidden_size: int, num_classes: int,
                 frame: int | None = -1) -> None:
        super().__init__()
        self.frame = frame
        self.net = Classifier(input_size, hidden_size, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 3:
            raise ValueError(f"x: expected (N, T, D), got shape {tuple(x.shape)}")
        return self.net(x[:, self.frame]) if self.frame is not None else self.net(
            x.flatten(0, 1)).unflatten(0, x.shape[:2])

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        scores = self(x)
        return nn.functional.cross_entropy(scores.flatten(0, -2), y.flatten())

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        return self(x).argmax(-1)


def run_one_frame(name: str, quick: bool = False, label: str | None = None, seed: int = 0,
                  lr: float = 3e-3, batch_size: int = 64) -> TaskRun:
    """Train and evaluate the one-frame baseline of a video task, with the task's own steps,
    optimizer and data (`label` as in the task data: "digit" asks which digit)."""
    if name not in ("many_to_one", "synced"):
        raise ValueError(f"name: expected 'many_to_one' or 'synced', got {name!r}")
    data = task_data(name, quick, label)
    n_classes = int(data.train[1].max()) + 1
    seed_everything(seed)
    model = OneFrame(256, 64, n_classes, frame=-1 if name == "many_to_one" else None)
    batches = RandomBatches(*data.train, batch_size=batch_size, seed=seed)
    history = Trainer(model, batches, lr=lr, clip_norm=5.0, progress=False).fit(
        (QUICK_STEPS if quick else STEPS)[name])
    return TaskRun(name, model, data, history, evaluate(model, data))


# ------------------------------------------------------------------------------- the claims

# What the chapter's prose says, as (lowest, highest) values that print with its rounding.
CLAIMED_EXACT = {"seq2seq": (0.895, 0.905), "one_to_many": (0.375, 0.385)}


def check_claims(results: dict[str, dict], one_frame: dict[str, float],
                 gru_digit: float) -> None:
    """Raise AssertionError unless the results say what the chapter says.

    results: `evaluate`'s output for each architecture; one_frame: the one-frame baseline's
    accuracy on "many_to_one" (heading), "synced" (position) and "digit"; gru_digit: the
    many-to-one GRU's accuracy when its label is the digit."""
    for kind, r in results.items():
        if not beats_chance(r["score"], r["baseline"]):
            raise AssertionError(f"{kind}: {r['score']:.3f} does not beat {r['baseline']:.3f}")
    for kind, (low, high) in CLAIMED_EXACT.items():
        if not low <= results[kind]["exact"] < high:
            raise AssertionError(f"{kind}: exact match {results[kind]['exact']:.3f} "
                                 f"outside [{low}, {high})")
    # the heading needs time: the GRU beats a model that sees only the last frame by far
    gru, last = results["many_to_one"]["score"], one_frame["many_to_one"]
    if not gru >= last + 0.3:
        raise AssertionError(f"heading: GRU {gru:.3f} not 0.3 above one frame {last:.3f}")
    # the position does not: one frame does as well as the synced GRU, within 0.02
    if not one_frame["synced"] >= results["synced"]["score"] - 0.02:
        raise AssertionError(f"position: one frame {one_frame['synced']:.3f} far below the GRU "
                             f"{results['synced']['score']:.3f}")
    # the digit: ten views of it beat one (by at least 0.3), though no order is needed
    if not gru_digit >= one_frame["digit"] + 0.3:
        raise AssertionError(f"digit: GRU {gru_digit:.3f} not 0.3 above one frame "
                             f"{one_frame['digit']:.3f}")
