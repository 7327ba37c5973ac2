"""Data-parallel training on several processes with DistributedDataParallel (gloo, on the CPU).

``torchrun`` starts the processes and tells each its rank through the environment:

    GLOO_SOCKET_IFNAME=lo torchrun --standalone --nproc_per_node=2 \\
        -m minirnn charlm train --steps 200 --out run

Every process builds the same model (same seed; DDP also copies rank 0's parameters to the others
at the start), reads its own share of the text streams, and after each backward pass DDP averages
the gradients over the processes, so every optimizer step is the same everywhere and the
parameters stay equal. Each rank writes its final parameters to ``OUT/ranks/rank{r}.pt`` so that
this can be checked.
"""

from __future__ import annotations

import os
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


def save_rank_parameters(out: str | Path, rank: int, model: nn.Module) -> Path:
    path = Path(out) / "ranks" / f"rank{rank}.pt"
    save_checkpoint(path, {name: p.detach().cpu() for name, p in model.named_parameters()})
    return path


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
