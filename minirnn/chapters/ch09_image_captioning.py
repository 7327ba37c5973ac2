"""Chapter 9: Image captioning. Where should the image enter a captioning decoder?

A frozen CNN (``ShapesEncoder``, pretrained to name each grid cell's shape) gives the image
vector v. A recurrent decoder writes the caption, with v as its initial state ("h0"), as its
first input ("first_input"), concatenated to every input ("every_step"), or, fourth, replaced
by a step-dependent attention context over the CNN's regions ("attention").

Two caption tasks:

    two_shapes   chapter 2's shapes: "a red circle left of a blue square"  (7 or 8 words)
    scene        k objects in reading order: "red circle blue square green triangle" (2k words)

Scoring reuses ``minirnn.metrics.sequence_scores`` (exact caption, per-token accuracy) and adds
accuracy by caption position, free-running (the model reads its own words) and teacher-forced
(it reads the true words): the gap between the two is exposure bias.
`experiments/captioning.py` runs the grid; the tests rerun it small.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from minirnn.data import TorchRandom, to_torch
from minirnn.data.shapes import (
    COLOURS,
    GRID,
    SHAPES,
    SIZE,
    ShapesData,
    caption_vocab,
    draw_shape,
    make_shapes,
    shape_mask,
)
from minirnn.data.tokens import IGNORE_INDEX, Vocab, pad_batch
from minirnn.metrics import majority_per_position, sequence_scores
from minirnn.torch import decode
from minirnn.torch.attention import AttentionCaptioner
from minirnn.torch.models import CaptioningModel, ShapesEncoder, pretrain_encoder
from minirnn.torch.train import RandomBatches, Trainer, seed_everything

CONDITIONS = ("h0", "first_input", "every_step", "attention")
CELLS = ("rnn", "lstm")
TASKS = ("two_shapes", "scene")


# ------------------------------------------------------------------------------------- data


def make_scenes(n: int, objects: int = 3, seed: int = 0) -> tuple[ShapesData, Vocab]:
    """``n`` images of ``objects`` coloured shapes in distinct cells of the 3x3 grid, captioned
    "COLOUR SHAPE" per object in reading order (row by row, left to right): 2 * objects words,
    one correct caption per image. Drawn like ``make_shapes``, with the same vocabulary."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if not 1 <= objects <= GRID * GRID:
        raise ValueError(f"objects must be in [1, {GRID * GRID}], got {objects}")
    g = TorchRandom(seed)  # torch.Generator's draws, in NumPy (as make_shapes)
    colour_names = list(COLOURS)
    masks = {s: shape_mask(s) for s in SHAPES}
    vocab = caption_vocab()
    images = np.zeros((n, 3, SIZE, SIZE), dtype=np.float32)
    cells = np.zeros((n, GRID * GRID), dtype=np.int64)
    captions, ids = [], []
    for i in range(n):
        where = sorted(g.randperm(GRID * GRID)[:objects].tolist())
        colours = g.randint(len(COLOURS), size=(objects,)).tolist()
        shapes = g.randint(len(SHAPES), size=(objects,)).tolist()
        words = []
        for k in range(objects):
            cells[i, where[k]] = draw_shape(images[i], where[k], colours[k], shapes[k], masks)
            words += [colour_names[colours[k]], SHAPES[shapes[k]]]
        captions.append(" ".join(words))
        ids.append(vocab.encode(words))
    captions_in, _ = pad_batch([[Vocab.BOS] + c for c in ids], Vocab.PAD)
    captions_out, _ = pad_batch([c + [Vocab.EOS] for c in ids], IGNORE_INDEX)
    return to_torch(ShapesData(images, captions_in, captions_out, cells, captions)), vocab


@dataclass
class CaptionTask:
    """Train and held-out test images with their captions, and the shared vocabulary."""

    name: str
    train: ShapesData
    test: ShapesData
    vocab: Vocab


def caption_task(name: str, n_train: int = 3000, n_test: int = 500, objects: int = 3
                 ) -> CaptionTask:
    """``name`` "two_shapes" (chapter 2's captions) or "scene" (``objects`` objects); train
    images from seed 0, test images from seed 1 (held out)."""
    if name not in TASKS:
        raise ValueError(f"name must be one of {TASKS}, got {name!r}")
    if name == "two_shapes":
        train, vocab = to_torch(make_shapes(n_train, seed=0))
        test, _ = to_torch(make_shapes(n_test, seed=1))
    else:
        train, vocab = make_scenes(n_train, objects, seed=0)
        test, _ = make_scenes(n_test, objects, seed=1)
    return CaptionTask(name, train, test, vocab)


def caption_ids(captions_out: torch.Tensor) -> list[list[int]]:
    """Target rows (N, T) to id lists without padding and ``<eos>``."""
    return [[t for t in row if t not in (IGNORE_INDEX, Vocab.EOS)]
            for row in captions_out.tolist()]


def encoder_cell_accuracy(encoder: ShapesEncoder, data: ShapesData) -> float:
    """How often the frozen CNN names a grid cell's content (empty, or colour and shape)."""
    with torch.no_grad():
        return (encoder(data.images).argmax(-1) == data.cells).float().mean().item()


# ------------------------------------------------------------------------------- models


class StandardisedEncoder(ShapesEncoder):
    """The frozen CNN with its image vector v standardised feature by feature (mean 0, std 1
    over the training images). The raw v is a ReLU output with mean about 3 and values up to
    about 60; through ``tanh`` (the h0 condition) its projection saturates, which hides the image
    from h0 and blocks the gradient. Standardising gives every condition the same well-scaled
    input. ``forward`` (the cell classifier) still reads the raw features."""

    def __init__(self, feature_size: int = 128) -> None:
        super().__init__(feature_size)
        self.register_buffer("v_mean", torch.zeros(feature_size))
        self.register_buffer("v_std", torch.ones(feature_size))

    @classmethod
    def fit(cls, encoder: ShapesEncoder, images: torch.Tensor) -> StandardisedEncoder:
        """Copy a pretrained encoder and standardise on images (N, 3, 32, 32)."""
        out = cls(encoder.feature_size)
        out.load_state_dict(encoder.state_dict(), strict=False)
        with torch.no_grad():
            v = encoder.features(images)
            out.v_mean.copy_(v.mean(0))
            out.v_std.copy_(v.std(0) + 1e-3)
        out.eval()
        for p in out.parameters():
            p.requires_grad_(False)
        return out

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return (super().features(images) - self.v_mean) / self.v_std

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        logits = self.classify(super().features(images))
        return logits.view(-1, self.num_cells, self.num_classes)


def build_captioner(condition: str, cell: str, vocab_size: int, encoder: ShapesEncoder,
                    hidden_size: int = 32, embed_size: int = 16) -> nn.Module:
    """A fresh decoder on the frozen encoder (call ``seed_everything`` first to fix it)."""
    if condition not in CONDITIONS:
        raise ValueError(f"condition must be one of {CONDITIONS}, got {condition!r}")
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {CELLS}, got {cell!r}")
    # torch.nn's layers and cells: the same maths as minirnn's, and fast on a CPU
    if condition == "attention":
        return AttentionCaptioner(vocab_size, encoder, hidden_size=hidden_size,
                                  embed_size=embed_size, attention_size=hidden_size, cell=cell,
                                  backend="torch")
    return CaptioningModel(vocab_size, encoder, hidden_size=hidden_size, embed_size=embed_size,
                           cell=cell, condition=condition, backend="torch")


def decoder_start(model: nn.Module, images: torch.Tensor):
    """The decoding state before ``<bos>``, batch on dim 1, for either kind of captioner."""
    if isinstance(model, AttentionCaptioner):
        return model.start(images)
    p, state = model.start(images)
    return state, p[None]


@torch.no_grad()
def greedy_captions(model: nn.Module, images: torch.Tensor, max_len: int = 12
                    ) -> list[list[int]]:
    """Free-running greedy captions of a batch of images (N, 3, 32, 32): N id lists without
    ``<eos>``. Batched; the same ids as ``CaptioningModel.caption`` gives one image at a time."""
    model.eval()
    start = torch.full((images.shape[0],), Vocab.BOS, dtype=torch.long)
    ids = decode.greedy(model.step, start, decoder_start(model, images), max_len, eos=Vocab.EOS)
    return [decode.until_eos(row, Vocab.EOS) for row in ids.tolist()]


@torch.no_grad()
def beam_caption(model: nn.Module, image: torch.Tensor, beam_width: int, max_len: int = 12
                 ) -> tuple[list[int], float]:
    """Beam search for one image (3, 32, 32): (ids without ``<eos>``, log-probability of the
    ids followed by ``<eos>``)."""
    model.eval()
    start = torch.tensor([Vocab.BOS])
    ids, score = decode.beam_search(model.step, start, decoder_start(model, image[None]),
                                    max_len, beam_width, eos=Vocab.EOS)
    return decode.until_eos(ids, Vocab.EOS), score


@torch.no_grad()
def caption_log_prob(model: nn.Module, image: torch.Tensor, ids: list[int], eos: bool = True
                     ) -> float:
    """log P(ids, ``<eos>`` | image) under the model (without the ``<eos>`` term if ``eos`` is
    False, as for a caption cut at the maximum length); image (3, 32, 32)."""
    model.eval()
    return decode.sequence_log_prob(model.step, torch.tensor([Vocab.BOS]),
                                    decoder_start(model, image[None]), [*ids, Vocab.EOS][
                                        : len(ids) + eos])


# ------------------------------------------------------------------------------- scoring


def position_accuracy(predicted: list[list[int]], targets: list[list[int]]) -> list[float]:
    """Accuracy at each caption position 0..L, where position len(target) is ``<eos>``: the
    prediction (with its ``<eos>``) must hold the target's token there; a missing token is
    wrong. Each position is averaged over the targets that reach it."""
    if len(predicted) != len(targets):
        raise ValueError(f"predicted has {len(predicted)} captions, targets {len(targets)}")
    length = max(map(len, targets)) + 1
    right, count = [0] * length, [0] * length
    for p, t in zip(predicted, targets):
        p, t = [*p, Vocab.EOS], [*t, Vocab.EOS]
        for i, token in enumerate(t):
            count[i] += 1
            right[i] += i < len(p) and p[i] == token
    return [r / c for r, c in zip(right, count)]


@torch.no_grad()
def teacher_forced_position_accuracy(model: nn.Module, data: ShapesData) -> list[float]:
    """Accuracy at each position when the decoder reads the true previous words: the argmax of
    the logits against captions_out (N, T), positions as in ``position_accuracy``."""
    model.eval()
    predicted = model(data.images, data.captions_in).argmax(-1)
    target = data.captions_out
    valid = target != IGNORE_INDEX
    right = ((predicted == target) & valid).sum(0).double()  # float64: r / c as Python divides
    return (right / valid.sum(0).clamp(min=1)).tolist()


def blind_scores(train: ShapesData, test: ShapesData) -> dict[str, float]:
    """The input-blind baseline: the most frequent training word at each position."""
    train_targets, targets = caption_ids(train.captions_out), caption_ids(test.captions_out)
    blind = majority_per_position(train_targets, max(map(len, train_targets)))
    return sequence_scores([blind] * len(targets), targets)


@torch.no_grad()
def mean_test_loss(model: nn.Module, data: ShapesData) -> float:
    """Teacher-forced cross-entropy (nats per token) on data."""
    model.eval()
    logits = model(data.images, data.captions_in)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), data.captions_out.reshape(-1),
                           ignore_index=IGNORE_INDEX).item()


def evaluate_captioner(model: nn.Module, data: ShapesData) -> dict:
    """Exact-caption rate, token accuracy, accuracy by position free-running and teacher-forced,
    and the teacher-forced test loss, on held-out data."""
    targets = caption_ids(data.captions_out)
    predicted = greedy_captions(model, data.images, max_len=max(map(len, targets)) + 4)
    return {**sequence_scores(predicted, targets),
            "by_position": position_accuracy(predicted, targets),
            "teacher_forced_by_position": teacher_forced_position_accuracy(model, data),
            "test_loss": mean_test_loss(model, data)}


# ------------------------------------------------------------------------------- training


def pretrain(task: CaptionTask, steps: int = 400, seed: int = 0) -> StandardisedEncoder:
    """The frozen CNN for a task: trained to classify every grid cell of the training images,
    its image vector then standardised on them."""
    encoder = pretrain_encoder(task.train.images, task.train.cells, steps=steps, seed=seed)
    return StandardisedEncoder.fit(encoder, task.train.images)


def train_captioner(task: CaptionTask, encoder: ShapesEncoder, condition: str, cell: str,
                    seed: int = 0, steps: int = 1500, hidden_size: int = 32,
                    embed_size: int = 16, lr: float = 3e-3, batch_size: int = 64
                    ) -> tuple[nn.Module, list[float]]:
    """Build and train one decoder with teacher forcing (Adam, gradient norm clipped at 5);
    returns the model and its training losses."""
    seed_everything(seed)
    model = build_captioner(condition, cell, len(task.vocab), encoder, hidden_size, embed_size)
    data = task.train
    batches = RandomBatches(data.images, data.captions_in, data.captions_out,
                            batch_size=batch_size, seed=seed)
    trainer = Trainer(model, batches, lr=lr, clip_norm=5.0, progress=False)
    history = trainer.fit(steps)
    model.eval()
    return model, history["loss"]


def run_grid(task: CaptionTask, encoder: ShapesEncoder, conditions=CONDITIONS, cells=CELLS,
             seeds=(0, 1, 2), steps: int = 1500, hidden_size: int = 32,
             log=lambda line: print(line, flush=True)
             ) -> tuple[list[dict], dict[str, nn.Module]]:
    """Train and evaluate every (condition, cell, seed): one dict of results per run, and the
    first seed's models by "cell/condition"."""
    runs, kept = [], {}
    for cell in cells:
        for condition in conditions:
            for seed in seeds:
                start = time.perf_counter()
                model, losses = train_captioner(task, encoder, condition, cell, seed, steps,
                                                hidden_size)
                result = evaluate_captioner(model, task.test)
                if seed == seeds[0]:
                    kept[f"{cell}/{condition}"] = model
                tail = losses[-50:]
                runs.append({"task": task.name, "condition": condition, "cell": cell,
                             "seed": seed, "steps": steps, "hidden_size": hidden_size,
                             "final_train_loss": sum(tail) / len(tail), **result,
                             "seconds": round(time.perf_counter() - start, 1)})
                log(f"{task.name} {cell:4s} {condition:11s} seed {seed}: exact "
                    f"{result['exact']:.3f} token {result['token_accuracy']:.3f} "
                    f"({runs[-1]['seconds']:.0f} s)")
    return runs, kept


def summarise(runs: list[dict], key: str = "exact") -> dict[tuple[str, str, str], list[float]]:
    """{(task, cell, condition): [the key's value for each seed]}."""
    table: dict[tuple[str, str, str], list[float]] = {}
    for r in runs:
        table.setdefault((r["task"], r["cell"], r["condition"]), []).append(r[key])
    return table


def decoder_weights(model: nn.Module) -> dict[str, torch.Tensor]:
    """A captioner's state dict without the frozen encoder (stored once per task)."""
    return {k: v for k, v in model.state_dict().items() if not k.startswith("encoder.")}


def load_captioners(weights: dict, vocab_size: int, hidden_size: int = 32,
                    embed_size: int = 16) -> tuple[ShapesEncoder, dict[str, nn.Module]]:
    """Rebuild the frozen encoder and every "cell/condition" decoder stored by
    experiments/captioning.py (``weights`` as ``torch.load`` returns it)."""
    encoder = StandardisedEncoder() if "v_mean" in weights["encoder"] else ShapesEncoder()
    encoder.load_state_dict(weights["encoder"])
    encoder.eval()
    models = {}
    for key, state in weights.items():
        if key == "encoder":
            continue
        cell, condition = key.split("/")
        model = build_captioner(condition, cell, vocab_size, encoder, hidden_size, embed_size)
        full = {f"encoder.{k}": v for k, v in weights["encoder"].items()} | state
        model.load_state_dict(full)  # strict: every parameter must be there
        models[key] = model.eval()
    return encoder, models


@torch.no_grad()
def h0_saturation(model: CaptioningModel, images: torch.Tensor, threshold: float = 0.99
                  ) -> float:
    """Fraction of the h0 condition's initial-state units with |tanh| above ``threshold``:
    saturated units pass (almost) no gradient back to the projection of v."""
    if model.condition != "h0":
        raise ValueError(f"model must use condition='h0', got {model.condition!r}")
    h0 = torch.tanh(model.project(model.image_vector(images)))
    return (h0.abs() > threshold).float().mean().item()
