"""Process-group setup under torchrun (gloo on CPU, NCCL on CUDA) and the few collectives the loop uses."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from typing import Any

import torch
import torch.distributed as dist


@dataclasses.dataclass(frozen=True)
class DistContext:
    """This process's place in the job."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device
    owns_group: bool  # this module created the process group and destroys it

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup(device: str) -> DistContext:
    """Join the torchrun job described by the environment (or run alone) on `device` (auto|cpu|cuda)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local_rank = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("train.device: 'cuda' requested but CUDA is not available")
    use_cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    torch_device = torch.device("cuda", local_rank) if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(torch_device)
    owns_group = world_size > 1 and not dist.is_initialized()
    if owns_group:
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return DistContext(rank, world_size, local_rank, torch_device, owns_group)


def teardown(ctx: DistContext) -> None:
    if ctx.owns_group and dist.is_initialized():
        # Every rank reaches this point before any tears down: a rank that destroys the group while
        # another is still in a collective (a last checkpoint, a gather) makes gloo abort the process.
        dist.barrier()
        dist.destroy_process_group()


def gather_to_all(ctx: DistContext, obj: Any) -> list[Any]:
    """`obj` of every rank, in rank order."""
    if ctx.world_size == 1:
        return [obj]
    gathered: list[Any] = [None] * ctx.world_size
    dist.all_gather_object(gathered, obj)
    return gathered


def from_main(ctx: DistContext, compute: Callable[[], Any]) -> Any:
    """`compute()` run on rank 0 alone and sent to every rank: what all ranks need but one can read."""
    if ctx.world_size == 1:
        return compute()
    box = [compute() if ctx.is_main else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def barrier(ctx: DistContext) -> None:
    if ctx.world_size > 1:
        dist.barrier()
