"""What autograd keeps for the backward pass, measured with saved-tensor hooks.

Chapter 4 shows that the unrolled graph's memory grows by a fixed amount per step, chapter 8
that truncated BPTT's grows with the chunk length k, both with `saved_tensor_bytes`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import torch


class SavedTensors(NamedTuple):
    """What `saved_tensor_bytes` measured: fn's result, how many tensors were saved (with
    repeats) and the bytes of their distinct storages."""

    result: Any
    count: int
    nbytes: int


def saved_tensor_bytes(fn: Callable[[], Any]) -> SavedTensors:
    """Run fn() and measure what autograd saves for the backward pass while it runs.

    Every tensor an operation saves goes through the pack hook; several saved tensors can share
    one storage (a weight saved by every step, views of one buffer), so each storage is counted
    once, at its full size, while the per-step activations are new storages at every step.
    fn should build the graph (e.g. return a loss); nothing is run backward.

    Returns SavedTensors(result, count, nbytes); unpack it as `loss, count, nbytes = ...`.
    """
    if not callable(fn):
        raise TypeError(f"fn: expected a callable that builds the graph, got {type(fn).__name__}")
    count, storages = 0, {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        nonlocal count
        count += 1
        storage = tensor.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        result = fn()
    return SavedTensors(result, count, sum(storages.values()))
