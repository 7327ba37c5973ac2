"""Ragged batches: the helpers that turn a PackedSequence or padded input plus lengths into one
time-major padded tensor whose columns are sorted by length (longest first), and back.

Sorted columns make "the sequences still running at step t" a prefix ``[:batch_sizes[t]]`` of
the batch, which is the layout ``PackedSequence`` itself uses.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn.utils.rnn import PackedSequence

from minirnn.torch.errors import ShapeError


def check_lengths(lengths: object, batch: int, steps: int) -> Tensor:
    """Validate ``lengths`` for a padded batch and return it as a CPU int64 tensor.

    lengths: (N,) integers with 1 <= lengths[b] <= T. batch = N, steps = T.
    """
    if not isinstance(lengths, Tensor):
        try:
            lengths = torch.as_tensor(lengths)
        except (TypeError, ValueError, RuntimeError) as err:
            raise TypeError(
                f"lengths must be a 1-D integer tensor or sequence, got {type(lengths).__name__}"
            ) from err
    if lengths.dtype.is_floating_point or lengths.dtype.is_complex or lengths.dtype == torch.bool:
        raise TypeError(f"lengths must hold integers, got dtype {lengths.dtype}")
    if tuple(lengths.shape) != (batch,):
        raise ShapeError(
            f"lengths must have shape ({batch},) (one length per sequence), "
            f"got {tuple(lengths.shape)}"
        )
    lengths = lengths.detach().to("cpu", torch.int64)
    if batch > 0:
        low, high = int(lengths.min()), int(lengths.max())
        if low < 1:
            raise ValueError(f"lengths must be positive, got a length of {low}")
        if high > steps:
            raise ShapeError(
                f"lengths must be at most the sequence length {steps}, got a length of {high}"
            )
    return lengths


def step_mask(sorted_lengths: Tensor, steps: int, device: torch.device) -> Tensor:
    """(T, N) bool: True where step t is inside sequence n."""
    t = torch.arange(steps).unsqueeze(1)  # (T, 1)
    return (t < sorted_lengths.unsqueeze(0)).to(device)


def batch_sizes_of(sorted_lengths: Tensor, steps: int) -> list[int]:
    """How many sequences are still running at each step: a list of T ints (non-increasing)."""
    counts = torch.bincount(sorted_lengths, minlength=steps + 1)  # sequences of each length
    still_running = counts.flip(0).cumsum(0).flip(0)  # sequences with length >= k
    return still_running[1 : steps + 1].tolist()


def packed_to_padded(packed: PackedSequence) -> tuple[Tensor, Tensor, Tensor]:
    """PackedSequence -> (x (T, N, D) time-major in sorted order, lengths (N,), mask (T, N)).

    Packed data lists step 0 of every sequence, then step 1 of those still running, ...; that
    is exactly the row-major order of the True entries of the (T, N) step mask.
    """
    # BEGIN SOLUTION
    batch_sizes = packed.batch_sizes  # (T,) on the CPU
    steps, batch = len(batch_sizes), int(batch_sizes[0])
    data = packed.data
    mask = torch.arange(batch).unsqueeze(0) < batch_sizes.unsqueeze(1)  # (T, N)
    lengths = mask.sum(0)
    mask = mask.to(data.device)
    x = data.new_zeros(steps, batch, *data.shape[1:])
    x[mask] = data
    return x, lengths, mask
    # END SOLUTION


def padded_to_packed(y: Tensor, mask: Tensor, like: PackedSequence) -> PackedSequence:
    """Inverse of ``packed_to_padded``: keep the steps inside each sequence, in packed order."""
    # BEGIN SOLUTION
    return PackedSequence(y[mask], like.batch_sizes, like.sorted_indices, like.unsorted_indices)
    # END SOLUTION


def reverse_padded(x: Tensor, lengths: Tensor | None) -> Tensor:
    """Reverse each sequence of a time-major batch within its own length.

    x: (T, N, ...); lengths: (N,) or None (all T). Steps past a sequence's end stay where they
    are, so the reverse direction starts at each sequence's own last step.
    """
    # BEGIN SOLUTION
    if lengths is None:  # nothing is padded: a plain flip
        return x.flip(0)
    time = torch.arange(x.shape[0]).unsqueeze(1)  # (T, 1)
    index = torch.where(time < lengths, lengths - 1 - time, time).to(x.device)  # (T, N)
    index = index.view(*index.shape, *([1] * (x.dim() - 2))).expand_as(x)
    return x.gather(0, index)
    # END SOLUTION
