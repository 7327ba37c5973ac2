"""Argument checks shared by every layer.

Bad input should fail loudly and early, with a message that names the argument, what was
expected and what arrived, e.g.

    x: expected shape (N, T, D) with D=8 to match Wx (8, 16), got (4, 5, 7)

NumPy itself would often broadcast silently or fail deep inside a matmul with a message
about "operands", so every public function validates its arguments with these helpers.
"""

from __future__ import annotations

import numpy as np


class Shapes:
    """Binds the size letters (N, T, D, H, V, ...) across the arguments of one call.

    The first array that mentions a letter fixes its size; every later array must agree,
    otherwise a ValueError names both arrays. An axis may be a multiple of a letter, such as
    "4H" for the stacked gates of an LSTM: its size must then be divisible by 4.

    >>> s = Shapes()
    >>> x = s.array("x", x, "N, T, D")      # binds N, T, D
    >>> Wx = s.array("Wx", Wx, "D, H")      # checks D, binds H
    """

    def __init__(self) -> None:
        self.sizes: dict[str, tuple[int, str]] = {}  # letter -> (size, "name (shape)")

    def __getitem__(self, letter: str) -> int:
        return self.sizes[letter][0]

    def bind(self, source: str, **sizes: int) -> Shapes:
        """Fix sizes up front, e.g. bind("the cache", N=4, T=5) in a backward pass."""
        for letter, size in sizes.items():
            self.sizes[letter] = (int(size), source)
        return self

    def array(self, name: str, a: object, axes: str, floating: bool = True) -> np.ndarray:
        """Check that `a` is an ndarray whose shape matches `axes` (like "N, T, D")."""
        letters = [ax.strip() for ax in axes.split(",")]
        spec = "(" + ", ".join(letters) + ")"
        if not isinstance(a, np.ndarray):
            raise TypeError(f"{name}: expected a numpy array of shape {spec}, "
                            f"got {type(a).__name__}")
        if floating and not np.issubdtype(a.dtype, np.floating):
            raise TypeError(f"{name}: expected a floating dtype (float32 or float64), "
                            f"got {a.dtype}")
        if a.ndim != len(letters):
            raise ValueError(f"{name}: expected a {len(letters)}-d array of shape {spec}, "
                             f"got shape {a.shape}")
        for axis, size in zip(letters, a.shape):
            mult, letter = _split_multiple(axis)
            if not letter:  # a fixed size, like the 2 directions in (2, N, H)
                if size != mult:
                    raise ValueError(f"{name}: expected shape {spec}, got {a.shape}")
                continue
            if size % mult != 0:
                raise ValueError(f"{name}: expected shape {spec} with the size of axis {axis} "
                                 f"divisible by {mult}, got {a.shape}")
            size //= mult
            if letter in self.sizes and self.sizes[letter][0] != size:
                bound, source = self.sizes[letter]
                raise ValueError(f"{name}: expected shape {spec} with {letter}={bound} "
                                 f"to match {source}, got {a.shape}")
            self.sizes.setdefault(letter, (size, f"{name} {a.shape}"))
        return a


def _split_multiple(axis: str) -> tuple[int, str]:
    """'4H' -> (4, 'H'); 'H' -> (1, 'H')."""
    digits = ""
    while axis and axis[0].isdigit():
        digits, axis = digits + axis[0], axis[1:]
    return (int(digits) if digits else 1), axis


def same_dtype(reference_name: str, reference: np.ndarray, **others: np.ndarray) -> None:
    """Every array in `others` must have the dtype of `reference` (no silent upcasting)."""
    for name, a in others.items():
        if a.dtype != reference.dtype:
            raise TypeError(f"{name}: expected dtype {reference.dtype} to match "
                            f"{reference_name}, got {a.dtype}")


def finite(**arrays: np.ndarray) -> None:
    """No NaN or infinity in any of the arrays."""
    for name, a in arrays.items():
        if not np.isfinite(a).all():
            bad = "NaN" if np.isnan(a).any() else "inf"
            raise ValueError(f"{name}: expected finite values, got {bad} "
                             f"(at index {tuple(int(i) for i in np.argwhere(~np.isfinite(a))[0])})")


def nonlinearity_name(nonlinearity: str) -> str:
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"nonlinearity: expected 'tanh' or 'relu', got {nonlinearity!r}")
    return nonlinearity


def lengths_array(lengths: object, N: int, T: int, source: str = "x") -> np.ndarray | None:
    """Validate `lengths` (N,) integers in [1, T]; None stays None (every sequence has T steps)."""
    if lengths is None:
        return None
    arr = np.asarray(lengths)
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"lengths: expected integers, got dtype {arr.dtype}")
    if arr.shape != (N,):
        raise ValueError(f"lengths: expected shape (N,) with N={N} to match {source}, "
                         f"got {arr.shape}")
    if N and (arr.min() < 1 or arr.max() > T):
        raise ValueError(f"lengths: expected values in [1, T] with T={T}, "
                         f"got range [{arr.min()}, {arr.max()}]")
    return arr.astype(np.int64)


def token_ids(name: str, x: object, V: int, axes: str) -> np.ndarray:
    """Integer token ids in [0, V); shape given by `axes` (like "N, T")."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name}: expected a numpy integer array of shape ({axes}), "
                        f"got {type(x).__name__}")
    if x.dtype == bool or not np.issubdtype(x.dtype, np.integer):
        raise TypeError(f"{name}: expected integer token ids, got dtype {x.dtype}")
    ndim = len(axes.split(","))
    if x.ndim != ndim:
        raise ValueError(f"{name}: expected a {ndim}-d array of shape ({axes}), "
                         f"got shape {x.shape}")
    if x.size and (x.min() < 0 or x.max() >= V):
        raise IndexError(f"{name}: expected token ids in [0, V) with V={V}, "
                         f"got range [{x.min()}, {x.max()}]")
    return x
