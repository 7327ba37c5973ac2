"""Moving digits: scikit-learn's 8x8 handwritten digits bouncing across a 16x16 canvas.

Each video has one label (its digit: many-to-one) and one label per frame (the digit's horizontal
position, left / centre / right: synced many-to-many). Generated from a seed, no download.
"""

from __future__ import annotations

import numpy as np

from minirnn.data.rng import TorchRandom

CANVAS = 16
DIGIT = 8
POSITION_BINS = 3  # x of the digit's left edge, 0..8, in three bins: 0-2, 3-5, 6-8


def moving_digits(
    n: int, frames: int = 10, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(videos, digit, position)``: videos (n, frames, 16, 16) float32 in [0, 1],
    digit (n,) in 0..9, position (n, frames) in 0..2, both int64."""
    from sklearn.datasets import load_digits

    if n < 1 or frames < 1:
        raise ValueError(f"n and frames must be >= 1, got {n}, {frames}")
    digits = load_digits()
    images = digits.images.astype(np.float32) / 16.0  # (1797, 8, 8)
    labels = digits.target.astype(np.int64)
    g = TorchRandom(seed)
    pick = g.randint(len(images), size=(n,))
    limit = CANVAS - DIGIT  # largest top-left coordinate
    x = g.randint(limit + 1, size=(n,))
    y = g.randint(limit + 1, size=(n,))
    speed = np.array([-2, -1, 1, 2])
    vx = speed[g.randint(4, size=(n,))]
    vy = speed[g.randint(4, size=(n,))]
    videos = np.zeros((n, frames, CANVAS, CANVAS), dtype=np.float32)
    position = np.zeros((n, frames), dtype=np.int64)
    for t in range(frames):
        for i in range(n):
            xi, yi = int(x[i]), int(y[i])
            videos[i, t, yi : yi + DIGIT, xi : xi + DIGIT] = images[pick[i]]
        position[:, t] = x // 3
        # move, bouncing off the walls
        x, y = x + vx, y + vy
        for pos, vel in ((x, vx), (y, vy)):
            low, high = pos < 0, pos > limit
            pos[low], pos[high] = -pos[low], 2 * limit - pos[high]
            vel[low | high] = -vel[low | high]
    return videos, labels[pick], position
