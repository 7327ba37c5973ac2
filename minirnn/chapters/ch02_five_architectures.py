"""Chapter 2's experiment: one model per input/output architecture, each on a course dataset.

    one_to_one   digit images (N, 64)            -> digit (N,)           Classifier
    one_to_many  shape images (N, 3, 32, 32)     -> caption (N, T)       CaptioningModel
    many_to_one  digit videos (N, T, 256)        -> digit (N,)           SequenceClassifier
    seq2seq      German number words (N, S)      -> English words (N, T) Seq2Seq
    synced       digit videos (N, T, 256)        -> position per frame   SequenceTagger

`run_task(name)` makes the data, builds the model, trains it and evaluates it against a
baseline that does not look at the input (the majority answer, per position for sequences),
so "beats chance" is measured, not assumed. `experiments/architectures.py` runs all five at
full size and stores the weights the chapter loads; the tests run them small.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import torch
from torch import nn

from minirnn.data import make_shapes, moving_digits, number_translation, to_torch
from minirnn.data.tokens import IGNORE_INDEX, Vocab
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

TASKS = ("one_to_one", "one_to_many", "many_to_one", "seq2seq", "synced")

# Training steps (minibatches) at full size and for the quick rerun in the tests.
STEPS = {"one_to_one": 400, "one_to_many": 2500, "many_to_one": 600, "seq2seq": 5000,
         "synced": 300}
QUICK_STEPS = {"one_to_one": 150, "one_to_many": 1500, "many_to_one": 250, "seq2seq": 400,
               "synced": 100}
ENCODER_STEPS = {"full": 400, "quick": 200}  # pretraining the captioning CNN


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


def _videos(name: str, quick: bool) -> TaskData:
    n_train = 800 if quick else 2000
    videos, digit, position = to_torch(moving_digits(n_train, frames=10, seed=0))
    test_videos, test_digit, test_position = to_torch(moving_digits(500, frames=10, seed=1))
    frames, test_frames = videos.flatten(2), test_videos.flatten(2)  # (N, T, 16 * 16)
    if name == "many_to_one":
        return TaskData(name, (frames, digit), (test_frames, test_digit))
    return TaskData(name, (frames, position), (test_frames, test_position))


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


def task_data(name: str, quick: bool = False) -> TaskData:
    """The train and test data of one task (the same for every call)."""
    if name not in TASKS:
        raise ValueError(f"name: expected one of {TASKS}, got {name!r}")
    if name == "one_to_one":
        return _digits(quick)
    if name in ("many_to_one", "synced"):
        return _videos(name, quick)
    if name == "seq2seq":
        return _translation(quick)
    return _shapes(quick)


def build_model(data: TaskData, encoder: ShapesEncoder | None = None) -> nn.Module:
    """The task's model, freshly initialised (call `seed_everything` first to fix it)."""
    name = data.name
    if name == "one_to_one":
        return Classifier(64, 64, 10)
    if name == "many_to_one":
        return SequenceClassifier(256, 64, 10, cell="gru")
    if name == "synced":
        return SequenceTagger(256, 32, 3, cell="gru")
    if name == "seq2seq":
        return Seq2Seq(len(data.info["src_vocab"]), len(data.info["tgt_vocab"]),
                       hidden_size=128, cell="gru")
    if encoder is None:
        raise ValueError("encoder: one_to_many needs the pretrained ShapesEncoder, got None")
    return CaptioningModel(len(data.info["vocab"]), encoder, hidden_size=128, cell="lstm",
                           condition="h0")


# ------------------------------------------------------------------------------- evaluation


def _strip(rows: torch.Tensor) -> list[list[int]]:
    """Target rows (N, T) to lists of ids without padding and <eos>."""
    return [[t for t in row if t != IGNORE_INDEX and t != Vocab.EOS] for row in rows.tolist()]


def sequence_scores(predicted: list[list[int]], targets: list[list[int]]) -> dict[str, float]:
    """Exact-match rate and per-token accuracy of predicted sequences against targets.

    Token accuracy compares position by position over each target's length: a missing token
    counts as wrong, and so does a token after the target's end (it is added to the count)."""
    exact = sum(p == t for p, t in zip(predicted, targets)) / len(targets)
    right = sum(sum(a == b for a, b in zip(p, t)) for p, t in zip(predicted, targets))
    total = sum(max(len(p), len(t)) for p, t in zip(predicted, targets))
    return {"exact": exact, "token_accuracy": right / total}


def majority_per_position(train_targets: list[list[int]], length: int) -> list[int]:
    """The most frequent training token at each position 0..length-1: a blind decoder."""
    guess = []
    for pos in range(length):
        counts = Counter(t[pos] for t in train_targets if len(t) > pos)
        guess.append(counts.most_common(1)[0][0] if counts else Vocab.EOS)
    return guess


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
             lr: float = 3e-3, batch_size: int = 64) -> TaskRun:
    """Make the data, build, train (Adam) and evaluate one task's model."""
    data = task_data(name, quick)
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
