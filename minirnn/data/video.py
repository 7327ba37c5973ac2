"""Moving digits: scikit-learn's 8x8 handwritten digits bouncing across a 16x16 canvas.

Every frame shows the whole digit, so one frame already tells which digit it is and where it is.
What no single frame tells is how it moves: ``heading`` (which of the four diagonal directions
the digit travels in at each frame) needs two frames or more. Labels per video:

- ``digit`` (n,): which digit (one frame is enough);
- ``position`` (n, frames): left / centre / right third of the canvas (one frame is enough);
- ``heading`` (n, frames): 0 left-up, 1 left-down, 2 right-up, 3 right-down (needs time).

``bitmap_split`` divides the 1797 digit images into train and test sets, so that test videos can
be drawn from images that no training video shows. Generated from a seed, no download.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minirnn.data.rng import TorchRandom

CANVAS = 16
DIGIT = 8
POSITION_BINS = 3  # x of the digit's left edge, 0..8, in three bins: 0-2, 3-5, 6-8
HEADINGS = ("left-up", "left-down", "right-up", "right-down")  # 2 * (vx > 0) + (vy > 0)
N_BITMAPS = 1797  # scikit-learn's digits


@dataclass(frozen=True)
class DigitVideos:
    """Videos and their labels; see the module docstring for the label meanings.

    videos (n, frames, 16, 16) float32 in [0, 1]; digit (n,), position (n, frames),
    heading (n, frames) and bitmap (n,) int64, bitmap naming the scikit-learn image each video
    draws."""

    videos: np.ndarray
    digit: np.ndarray
    position: np.ndarray
    heading: np.ndarray
    bitmap: np.ndarray


def bitmap_split(n_test: int = 397, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Disjoint (train, test) index arrays into the 1797 digit images, a seeded permutation."""
    if not 0 < n_test < N_BITMAPS:
        raise ValueError(f"n_test: expected 1..{N_BITMAPS - 1}, got {n_test}")
    order = TorchRandom(seed).randperm(N_BITMAPS)
    return np.sort(order[n_test:]), np.sort(order[:n_test])


def digit_videos(n: int, frames: int = 10, seed: int = 0,
                 bitmaps: np.ndarray | None = None) -> DigitVideos:
    """``n`` videos of ``frames`` frames; each draws one image from ``bitmaps`` (indices into the
    1797 digits; all of them if None). The same seed and bitmaps give the same videos."""
    from sklearn.datasets import load_digits

    if n < 1 or frames < 1:
        raise ValueError(f"n and frames must be >= 1, got {n}, {frames}")
    digits = load_digits()
    images = digits.images.astype(np.float32) / 16.0  # (1797, 8, 8)
    labels = digits.target.astype(np.int64)
    if bitmaps is None:
        bitmaps = np.arange(len(images))
    bitmaps = np.asarray(bitmaps, dtype=np.int64)
    if bitmaps.ndim != 1 or len(bitmaps) == 0 or bitmaps.min() < 0 or bitmaps.max() >= len(images):
        raise ValueError(f"bitmaps: expected a non-empty 1-D array of indices in "
                         f"0..{len(images) - 1}, got shape {bitmaps.shape}")
    g = TorchRandom(seed)
    pick = bitmaps[g.randint(len(bitmaps), size=(n,))]
    limit = CANVAS - DIGIT  # largest top-left coordinate
    x = g.randint(limit + 1, size=(n,))
    y = g.randint(limit + 1, size=(n,))
    speed = np.array([-2, -1, 1, 2])
    vx = speed[g.randint(4, size=(n,))]
    vy = speed[g.randint(4, size=(n,))]
    videos = np.zeros((n, frames, CANVAS, CANVAS), dtype=np.float32)
    position = np.zeros((n, frames), dtype=np.int64)
    heading = np.zeros((n, frames), dtype=np.int64)
    for t in range(frames):
        for i in range(n):
            xi, yi = int(x[i]), int(y[i])
            videos[i, t, yi : yi + DIGIT, xi : xi + DIGIT] = images[pick[i]]
        position[:, t] = x // 3
        heading[:, t] = 2 * (vx > 0) + (vy > 0)  # its velocity now, after any bounce
        # move, bouncing off the walls
        x, y = x + vx, y + vy
        for pos, vel in ((x, vx), (y, vy)):
            low, high = pos < 0, pos > limit
            pos[low], pos[high] = -pos[low], 2 * limit - pos[high]
            vel[low | high] = -vel[low | high]
    return DigitVideos(videos, labels[pick], position, heading, pick)


def moving_digits(
    n: int, frames: int = 10, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(videos, digit, position)``: videos (n, frames, 16, 16) float32 in [0, 1],
    digit (n,) in 0..9, position (n, frames) in 0..2, both int64 (``digit_videos`` has more)."""
    v = digit_videos(n, frames, seed)
    return v.videos, v.digit, v.position
