"""Images of two coloured shapes on a 3x3 grid, with captions from a small grammar:

    caption  := "a" COLOUR SHAPE RELATION "a" COLOUR SHAPE
    RELATION := "left of" | "right of" | "above" | "below"

The relation is horizontal when the two shapes sit in different columns, vertical otherwise.
The shape named first is the one that comes first in reading order (row by row, left to right),
so every image has exactly one correct caption (and "below" never occurs: a shape read first is
never below the other). ``make_scenes`` draws k objects instead and captions them
"COLOUR SHAPE ..." in reading order. Generated from a seed, no download.

The spaces are small (5,184 two-shape images, 432 two-shape captions), so two draws overlap:
``seen_images`` and ``seen_captions`` find the repeats of a training set in a test set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minirnn.data.rng import TorchRandom
from minirnn.data.tokens import IGNORE_INDEX, Vocab, pad_batch

COLOURS = {"red": (1.0, 0.1, 0.1), "green": (0.1, 0.9, 0.1), "blue": (0.2, 0.3, 1.0),
           "yellow": (1.0, 0.9, 0.1)}
SHAPES = ("circle", "square", "triangle")
GRID = 3        # cells per side
CELL = 10       # pixels per cell
SIZE = 32       # image side: 3 cells of 10 pixels and a 1-pixel border
RELATION_WORDS = ("left", "right", "of", "above", "below")


def shape_mask(shape: str) -> np.ndarray:
    """A (8, 8) boolean mask of the shape."""
    r = np.arange(8, dtype=np.float32) + 0.5
    yy, xx = np.meshgrid(r, r, indexing="ij")
    if shape == "circle":
        return (yy - 4) ** 2 + (xx - 4) ** 2 <= 16
    if shape == "square":
        return np.ones((8, 8), dtype=bool)
    if shape == "triangle":  # apex at the top
        return np.abs(xx - 4) <= yy / 2
    raise ValueError(f"shape must be one of {SHAPES}, got {shape!r}")


def caption_vocab() -> Vocab:
    return Vocab(["a", *COLOURS, *SHAPES, *RELATION_WORDS])


@dataclass
class ShapesData:
    """images: (N, 3, 32, 32) float32 in [0, 1]; captions_in: (N, T) ``<bos>`` + words;
    captions_out: (N, T) words + ``<eos>`` (padding IGNORE_INDEX); cells: (N, 9) the class of each
    grid cell, 0 for empty or 1 + 3 * colour + shape (the CNN's pretraining target);
    captions: the N caption strings. Ids are int64; ``to_torch(data)`` gives tensors."""

    images: np.ndarray
    captions_in: np.ndarray
    captions_out: np.ndarray
    cells: np.ndarray
    captions: list[str]

    def __len__(self) -> int:
        return len(self.images)


NUM_CELL_CLASSES = 1 + len(COLOURS) * len(SHAPES)


def draw_shape(image: np.ndarray, cell: int, colour: int, shape: int,
               masks: dict[str, np.ndarray]) -> int:
    """Paint shape number ``shape`` in colour number ``colour`` into grid cell ``cell`` (0..8,
    row by row) of ``image`` (3, 32, 32), in place; ``masks`` maps shape names to their (8, 8)
    masks. Returns the cell's class for the CNN's pretraining: 1 + 3 * colour + shape."""
    row, col = divmod(cell, GRID)
    top, left = 1 + row * CELL + 1, 1 + col * CELL + 1
    rgb = np.array(list(COLOURS.values())[colour], dtype=np.float32)
    patch = image[:, top : top + 8, left : left + 8]
    patch[:, masks[SHAPES[shape]]] = rgb[:, None]
    return 1 + colour * len(SHAPES) + shape


def _draw(n: int, objects: int, seed: int, words_for) -> tuple[ShapesData, Vocab]:
    """The loop both generators share: for each of ``n`` images draw ``objects`` distinct cells
    (kept in reading order), a colour and a shape for each, paint them, and caption the image
    with ``words_for(where, colour_names, shape_names)``, a list of words."""
    g = TorchRandom(seed)  # torch.Generator's draws, in NumPy
    colour_names = list(COLOURS)
    masks = {s: shape_mask(s) for s in SHAPES}
    vocab = caption_vocab()
    images = np.zeros((n, 3, SIZE, SIZE), dtype=np.float32)
    cells = np.zeros((n, GRID * GRID), dtype=np.int64)
    captions, ids = [], []
    for i in range(n):
        # Reading order fixes which shape is named first: one image, one caption.
        where = sorted(g.randperm(GRID * GRID)[:objects].tolist())
        colours = g.randint(len(COLOURS), size=(objects,)).tolist()
        shapes = g.randint(len(SHAPES), size=(objects,)).tolist()
        for k in range(objects):
            cells[i, where[k]] = draw_shape(images[i], where[k], colours[k], shapes[k], masks)
        words = words_for(where, [colour_names[c] for c in colours], [SHAPES[s] for s in shapes])
        captions.append(" ".join(words))
        ids.append(vocab.encode(words))
    captions_in, _ = pad_batch([[Vocab.BOS] + c for c in ids], Vocab.PAD)
    captions_out, _ = pad_batch([c + [Vocab.EOS] for c in ids], IGNORE_INDEX)
    return ShapesData(images, captions_in, captions_out, cells, captions), vocab


def _two_shape_caption(where: list[int], colours: list[str], shapes: list[str]) -> list[str]:
    """ "a COLOUR SHAPE RELATION a COLOUR SHAPE", the first shape in reading order first."""
    (r0, c0), (r1, c1) = divmod(where[0], GRID), divmod(where[1], GRID)
    if c0 != c1:
        relation = ["left", "of"] if c0 < c1 else ["right", "of"]
    else:
        relation = ["above"] if r0 < r1 else ["below"]
    return ["a", colours[0], shapes[0], *relation, "a", colours[1], shapes[1]]


def _scene_caption(where: list[int], colours: list[str], shapes: list[str]) -> list[str]:
    """ "COLOUR SHAPE" for each object, in reading order."""
    return [w for colour, shape in zip(colours, shapes) for w in (colour, shape)]


def make_shapes(n: int, seed: int = 0) -> tuple[ShapesData, Vocab]:
    """``n`` images of two shapes with their captions, the same for the same seed."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    return _draw(n, 2, seed, _two_shape_caption)


def make_scenes(n: int, objects: int = 3, seed: int = 0) -> tuple[ShapesData, Vocab]:
    """``n`` images of ``objects`` coloured shapes in distinct cells of the 3x3 grid, captioned
    "COLOUR SHAPE" per object in reading order (row by row, left to right): 2 * objects words,
    one correct caption per image, the same vocabulary as ``make_shapes``."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if not 1 <= objects <= GRID * GRID:
        raise ValueError(f"objects must be in [1, {GRID * GRID}], got {objects}")
    return _draw(n, objects, seed, _scene_caption)


def subset(data: ShapesData, index) -> ShapesData:
    """The images, captions and cells of ``data`` at ``index`` (a list or array of rows)."""
    index = np.asarray(index, dtype=np.int64)
    return ShapesData(data.images[index], data.captions_in[index], data.captions_out[index],
                      data.cells[index], [data.captions[i] for i in index.tolist()])


def seen_images(data: ShapesData, train: ShapesData) -> np.ndarray:
    """(N,) booleans: which images of ``data`` are pixel-identical to some training image."""
    keys = {np.asarray(im).tobytes() for im in train.images}
    return np.array([np.asarray(im).tobytes() in keys for im in data.images], dtype=bool)


def seen_captions(data: ShapesData, train: ShapesData) -> np.ndarray:
    """(N,) booleans: which captions of ``data`` occur among the training captions."""
    known = set(train.captions)
    return np.array([c in known for c in data.captions], dtype=bool)
