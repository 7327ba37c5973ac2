"""What the bug gallery's checks measure: bytes autograd keeps alive for backward passes."""

from __future__ import annotations

import weakref

import torch


class LiveSavedBytes:
    """Bytes of the tensors saved for backward (since entering) that are still alive.

    Inside ``with LiveSavedBytes() as meter:`` every tensor an operation saves goes through a
    pack hook that keeps a weak reference to it; ``meter.alive()`` sums the distinct storages
    whose tensors are still referenced (by a graph that was kept, or by the caller), and
    ``meter.record()`` appends that sum to ``meter.history``: called once per truncated-BPTT
    chunk, a flat history means each chunk's graph was freed, a rising one that every earlier
    chunk's graph is still held.
    """

    def __init__(self) -> None:
        self._refs: list[tuple[weakref.ref, int, int]] = []
        self.history: list[int] = []
        self._hooks = None

    def _pack(self, tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        self._refs.append((weakref.ref(tensor), storage.data_ptr(), storage.nbytes()))
        return tensor

    def alive(self) -> int:
        self._refs = [r for r in self._refs if r[0]() is not None]
        return sum(dict((ptr, size) for _, ptr, size in self._refs).values())

    def record(self) -> None:
        self.history.append(self.alive())

    def __enter__(self) -> LiveSavedBytes:
        self._hooks = torch.autograd.graph.saved_tensors_hooks(self._pack, lambda t: t)
        self._hooks.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._hooks.__exit__(*exc)
