"""Long-range synthetic tasks with the sequence length as a parameter.

- Adding problem (Hochreiter & Schmidhuber 1997): pairs (value, marker); the target is the sum of
  the two marked values. Predicting the mean sum gives a mean squared error of about 1/6.
- Copy task: remember a few symbols, wait, then write them out after a delimiter.
"""

from __future__ import annotations

import numpy as np

from minirnn.data.rng import TorchRandom
from minirnn.data.tokens import IGNORE_INDEX


def adding_problem(n: int, length: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(x, y)``, float32: x (n, length, 2) with values in [0, 1) and markers in {0, 1},
    one marker in each half of the sequence; y (n,) the sum of the two marked values."""
    if n < 1 or length < 2:
        raise ValueError(f"n must be >= 1 and length >= 2, got {n}, {length}")
    g = TorchRandom(seed)
    values = g.rand(n, length)
    half = length // 2
    first = g.randint(half, size=(n,))
    second = half + g.randint(length - half, size=(n,))
    markers = np.zeros((n, length), dtype=np.float32)
    rows = np.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    y = values[rows, first] + values[rows, second]
    return np.stack([values, markers], axis=-1), y


def copy_task(
    n: int, delay: int, n_symbols: int = 8, copy_len: int = 5, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(x, y)`` of shape (n, copy_len + delay + 1 + copy_len), int64 token ids.

    Ids: 0 blank, 1..n_symbols symbols, n_symbols + 1 the delimiter. The input is copy_len
    symbols, ``delay`` blanks, the delimiter, then blanks; the target is IGNORE_INDEX until the
    delimiter, then the copy_len symbols. Chance accuracy on the copied symbols is 1/n_symbols.
    """
    if n < 1 or delay < 0 or n_symbols < 2 or copy_len < 1:
        raise ValueError(
            f"need n >= 1, delay >= 0, n_symbols >= 2, copy_len >= 1; got {n}, {delay}, "
            f"{n_symbols}, {copy_len}"
        )
    symbols = TorchRandom(seed).randint(1, n_symbols + 1, size=(n, copy_len))
    total = 2 * copy_len + delay + 1
    x = np.zeros((n, total), dtype=np.int64)
    y = np.full((n, total), IGNORE_INDEX, dtype=np.int64)
    x[:, :copy_len] = symbols
    x[:, copy_len + delay] = n_symbols + 1
    y[:, copy_len + delay + 1 :] = symbols
    return x, y
