"""Images of two coloured shapes on a 3x3 grid, with captions from a small grammar:

    caption  := "a" COLOUR SHAPE RELATION "a" COLOUR SHAPE
    RELATION := "left of" | "right of" | "above" | "below"

The relation is horizontal when the two shapes sit in different columns, vertical otherwise.
The shape named first is the one that comes first in reading order (row by row, left to right),
so every image has exactly one correct caption (and "below" never occurs: a shape read first is
never below the other). Generated from a seed, no download.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from minirnn.data.tokens import IGNORE_INDEX, Vocab, pad_batch

COLOURS = {"red": (1.0, 0.1, 0.1), "green": (0.1, 0.9, 0.1), "blue": (0.2, 0.3, 1.0),
           "yellow": (1.0, 0.9, 0.1)}
SHAPES = ("circle", "square", "triangle")
GRID = 3        # cells per side
CELL = 10       # pixels per cell
SIZE = 32       # image side: 3 cells of 10 pixels and a 1-pixel border
RELATION_WORDS = ("left", "right", "of", "above", "below")


def shape_mask(shape: str) -> torch.Tensor:
    """A (8, 8) boolean mask of the shape."""
    r = torch.arange(8, dtype=torch.float32) + 0.5
    yy, xx = torch.meshgrid(r, r, indexing="ij")
    if shape == "circle":
        return (yy - 4) ** 2 + (xx - 4) ** 2 <= 16
    if shape == "square":
        return torch.ones(8, 8, dtype=torch.bool)
    if shape == "triangle":  # apex at the top
        return (xx - 4).abs() <= yy / 2
    raise ValueError(f"shape must be one of {SHAPES}, got {shape!r}")


def caption_vocab() -> Vocab:
    return Vocab(["a", *COLOURS, *SHAPES, *RELATION_WORDS])


@dataclass
class ShapesData:
    """images: (N, 3, 32, 32) floats in [0, 1]; captions_in: (N, T) ``<bos>`` + words;
    captions_out: (N, T) words + ``<eos>`` (padding IGNORE_INDEX); cells: (N, 9) the class of each
    grid cell, 0 for empty or 1 + 3 * colour + shape (the CNN's pretraining target);
    captions: the N caption strings."""

    images: torch.Tensor
    captions_in: torch.Tensor
    captions_out: torch.Tensor
    cells: torch.Tensor
    captions: list[str]

    def __len__(self) -> int:
        return len(self.images)


NUM_CELL_CLASSES = 1 + len(COLOURS) * len(SHAPES)


def draw_shape(image: torch.Tensor, cell: int, colour: int, shape: int,
               masks: dict[str, torch.Tensor]) -> int:
    """Paint shape number ``shape`` in colour number ``colour`` into grid cell ``cell`` (0..8,
    row by row) of ``image`` (3, 32, 32), in place; ``masks`` maps shape names to their (8, 8)
    masks. Returns the cell's class for the CNN's pretraining: 1 + 3 * colour + shape."""
    row, col = divmod(cell, GRID)
    top, left = 1 + row * CELL + 1, 1 + col * CELL + 1
    rgb = torch.tensor(list(COLOURS.values())[colour])[:, None, None]
    patch = image[:, top : top + 8, left : left + 8]
    mask = masks[SHAPES[shape]]
    patch[:, mask] = rgb.expand(3, 8, 8)[:, mask]
    return 1 + colour * len(SHAPES) + shape


def make_shapes(n: int, seed: int = 0) -> tuple[ShapesData, Vocab]:
    """``n`` images with their captions, the same for the same seed."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    g = torch.Generator().manual_seed(seed)
    colour_names = list(COLOURS)
    masks = {s: shape_mask(s) for s in SHAPES}
    vocab = caption_vocab()
    images = torch.zeros(n, 3, SIZE, SIZE)
    cells = torch.zeros(n, GRID * GRID, dtype=torch.long)
    captions, ids = [], []
    for i in range(n):
        # Reading order fixes which shape is named first: one image, one caption.
        where = sorted(torch.randperm(GRID * GRID, generator=g)[:2].tolist())
        colours = torch.randint(len(COLOURS), (2,), generator=g).tolist()
        shapes = torch.randint(len(SHAPES), (2,), generator=g).tolist()
        words = []
        for k in range(2):
            cells[i, where[k]] = draw_shape(images[i], where[k], colours[k], shapes[k], masks)
            words.append(["a", colour_names[colours[k]], SHAPES[shapes[k]]])
        (r0, c0), (r1, c1) = divmod(where[0], GRID), divmod(where[1], GRID)
        if c0 != c1:
            relation = ["left", "of"] if c0 < c1 else ["right", "of"]
        else:
            relation = ["above"] if r0 < r1 else ["below"]
        caption = words[0] + relation + words[1]
        captions.append(" ".join(caption))
        ids.append(vocab.encode(caption))
    captions_in, _ = pad_batch([[Vocab.BOS] + c for c in ids], Vocab.PAD)
    captions_out, _ = pad_batch([c + [Vocab.EOS] for c in ids], IGNORE_INDEX)
    return ShapesData(images, captions_in, captions_out, cells, captions), vocab
