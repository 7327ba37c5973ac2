"""Data-parallel training on several processes with DistributedDataParallel (gloo, on the CPU).

``torchrun`` starts the processes and tells each its rank through the environment:

    GLOO_SOCKET_IFNAME=lo torchrun --standalone --nproc_per_node=2 \\
        -m minirnn charlm train --steps 200 --out run

Every process builds the same model (same seed; DDP also copies rank 0's parameters to the others
at the start), reads its own share of the text streams, and after each backward pass DDP averages
the gradients over the processes, so every optimizer step is the same everywhere and the
parameters stay equal.

Only rank 0 touches the run folder: it checks and locks it, writes the checkpoints, and at the end
writes every rank's final parameters to ``OUT/ranks/rank{r}.pt`` (gathered from the ranks) so that
their equality can be checked. Decisions to stop or save are taken together: ``agree`` (an
all-reduce after every step) for signals and a diverging loss, ``agreed_clock`` for a time
budget. A signal that reaches one process stops all of them after the same step, so none is left
waiting in a collective operation that the others have left; periodic saves are step-based.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from minirnn.torch.checkpoint import save_checkpoint


def world_from_env() -> tuple[int, int]:
    """(rank, world_size) as torchrun sets them; (0, 1) for a plain run."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


def init(backend: str = "gloo") -> tuple[int, int]:
    """Join the process group when started by torchrun; returns (rank, world_size)."""
    rank, world_size = world_from_env()
    if world_size > 1 and not dist.is_initialized():
        os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")  # the loopback: no network needed
        dist.init_process_group(backend)
    return rank, world_size


def wrap(model: nn.Module) -> nn.Module:
    """The model wrapped in DistributedDataParallel (the model itself for a single process)."""
    if not dist.is_initialized():
        return model
    return DistributedDataParallel(model)


def agree(*flags: int) -> list[int]:
    """The largest value of each flag over all processes (the flags themselves for one process).
    Every process calls it at the same step, so they all take the same decision there."""
    if not dist.is_initialized():
        return list(flags)
    values = torch.tensor(flags, dtype=torch.int64)
    dist.all_reduce(values, op=dist.ReduceOp.MAX)
    return values.tolist()


def agreed_clock() -> Callable[[], float]:
    """A clock (seconds) that reads the same on every process: the latest of their wall clocks.
    Every process must call it at the same points, as the training loop does once a step."""
    if not dist.is_initialized():
        return time.perf_counter

    def clock() -> float:
        now = torch.tensor(time.time(), dtype=torch.float64)
        dist.all_reduce(now, op=dist.ReduceOp.MAX)
        return float(now)

    return clock


def gather_objects(value) -> list:
    """Every process's ``value`` (picklable; tensors are sent on the CPU), in rank order."""
    if not dist.is_initialized():
        return [value]
    if isinstance(value, torch.Tensor):
        value = value.cpu()
    elif isinstance(value, list | tuple):
        value = [v.cpu() if isinstance(v, torch.Tensor) else v for v in value]
    gathered = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, value)
    return gathered


def share_from_rank0(value):
    """Rank 0's ``value`` (any picklable value), on every process."""
    if not dist.is_initialized():
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def save_rank_parameters(out: str | Path, rank: int, model: nn.Module) -> Path | None:
    """Every rank's parameters, gathered on rank 0, which writes them to ``OUT/ranks/rank{r}.pt``
    (only rank 0 writes into the run folder). Every process must call it. Returns rank 0's file
    on rank 0, None on the others."""
    gathered = gather_objects({name: p.detach().cpu() for name, p in model.named_parameters()})
    if rank > 0:
        return None
    for r, rank_params in enumerate(gathered):
        save_checkpoint(Path(out) / "ranks" / f"rank{r}.pt", rank_params)
    return Path(out) / "ranks" / "rank0.pt"


def finish() -> None:
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def all_equal(model: nn.Module) -> bool:
    """Whether every process holds the same parameters (checked by broadcasting rank 0's)."""
    if not dist.is_initialized():
        return True
    same = torch.tensor(1)
    for p in model.parameters():
        reference = p.detach().clone()
        dist.broadcast(reference, src=0)
        same &= torch.tensor(int(torch.equal(reference, p.detach())))
    dist.all_reduce(same, op=dist.ReduceOp.MIN)
    return bool(same)
