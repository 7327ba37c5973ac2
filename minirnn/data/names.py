"""First names from the US census lists shipped by the ``names`` package, for a name generator.

makemore's setup: each name is a sequence of characters between start/end markers ``.``; the
model reads ``.emma`` and predicts ``emma.``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from minirnn.data.rng import TorchRandom
from minirnn.data.text import CharVocab
from minirnn.data.tokens import IGNORE_INDEX

MARKER = "."  # start and end of a name


def load_names() -> list[str]:
    """The distinct first names (female and male lists), lower case, sorted: about 5,000."""
    import names  # the census files live next to its module

    folder = Path(names.__file__).parent
    found: set[str] = set()
    for file in ("dist.female.first", "dist.male.first"):
        for line in (folder / file).read_text(encoding="ascii").splitlines():
            if line.strip():
                found.add(line.split()[0].lower())
    return sorted(found)


def names_vocab() -> CharVocab:
    """``.`` then ``a``..``z``: 27 characters."""
    return CharVocab(MARKER + "abcdefghijklmnopqrstuvwxyz")


def encode_names(names: list[str], vocab: CharVocab) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and targets, both int64 of shape (N, T_max + 1) where T_max is the longest name.

    x[i] = ``.name`` padded with ``.``; y[i] = ``name.`` padded with IGNORE_INDEX (-100).
    """
    if not names:
        raise ValueError("names must not be empty")
    width = max(len(n) for n in names) + 1
    marker = vocab.index[MARKER]
    x = np.full((len(names), width), marker, dtype=np.int64)
    y = np.full((len(names), width), IGNORE_INDEX, dtype=np.int64)
    for i, name in enumerate(names):
        ids = vocab.encode(name)
        x[i, 1 : len(ids) + 1] = ids
        y[i, : len(ids)] = ids
        y[i, len(ids)] = marker
    return x, y


def names_split(
    val_fraction: float = 0.1, seed: int = 0
) -> tuple[list[str], list[str]]:
    """(train, validation) lists of names, shuffled with ``seed``."""
    all_names = load_names()
    order = TorchRandom(seed).randperm(len(all_names))
    n_val = int(len(all_names) * val_fraction)
    shuffled = [all_names[i] for i in order.tolist()]
    return shuffled[n_val:], shuffled[:n_val]
