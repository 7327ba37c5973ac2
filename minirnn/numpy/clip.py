"""Gradient clipping, in place, over a dict (or list) of gradient arrays.

Norm clipping (Pascanu, Mikolov & Bengio 2013) rescales all gradients together, keeping their
direction; value clipping (min-char-rnn's [-5, 5]) clips each entry on its own.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def _arrays(grads: dict[str, np.ndarray] | Iterable[np.ndarray]) -> list[np.ndarray]:
    arrays = list(grads.values()) if isinstance(grads, dict) else list(grads)
    for k, g in enumerate(arrays):
        if not isinstance(g, np.ndarray) or not np.issubdtype(g.dtype, np.floating):
            raise TypeError(f"grads: expected floating numpy arrays, got "
                            f"{getattr(g, 'dtype', type(g).__name__)} at position {k}")
    return arrays


def clip_grad_norm(grads: dict[str, np.ndarray] | Iterable[np.ndarray],
                   max_norm: float) -> float:
    """Scale all gradients in place so that their joint L2 norm is at most max_norm.

    Returns the total norm before clipping (as torch.nn.utils.clip_grad_norm_ does): the L2
    norm of all entries of all arrays together. When it exceeds max_norm every array is
    multiplied, in place, by max_norm / (total + 1e-6), torch's factor; otherwise nothing
    changes.
    """
    if not max_norm > 0:
        raise ValueError(f"max_norm: expected a positive number, got {max_norm}")
    arrays = _arrays(grads)
    # BEGIN SOLUTION
    total = float(np.sqrt(sum(float(np.sum(np.square(g, dtype=np.float64))) for g in arrays)))
    if total > max_norm:
        scale = max_norm / (total + 1e-6)  # torch's 1e-6 keeps the result just under max_norm
        for g in arrays:
            g *= scale  # in place: the caller's arrays change, as torch's .grad tensors do
    return total
    # END SOLUTION


def clip_grad_value(grads: dict[str, np.ndarray] | Iterable[np.ndarray], clip: float) -> None:
    """Clip every gradient entry in place to [-clip, clip] (torch.nn.utils.clip_grad_value_);
    returns None."""
    if not clip > 0:
        raise ValueError(f"clip: expected a positive number, got {clip}")
    arrays = _arrays(grads)
    # BEGIN SOLUTION
    for g in arrays:
        np.clip(g, -clip, clip, out=g)  # out=g: in place
    # END SOLUTION
