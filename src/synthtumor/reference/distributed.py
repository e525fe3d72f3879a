"""Process set-up for training: one process per GPU (or one CPU process) under ``torchrun``.

NCCL on GPUs, gloo on the CPU; only rank 0 logs, validates and writes checkpoints.
"""

from __future__ import annotations

import contextlib
import datetime
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Dist", "barrier", "derived_seed", "init_distributed", "mean_over_ranks", "shutdown"]


@dataclass(frozen=True)
class Dist:
    """This process's place in the run: rank, local rank, world size and torch device."""

    rank: int
    local_rank: int
    world_size: int
    device: Any

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(device: str | None) -> Dist:
    """Read torchrun's environment, pick the device and join the process group."""
    import torch
    import torch.distributed as dist

    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device is None or device == "auto":
        device = f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu"
    torch_device = torch.device(device)
    if torch_device.type == "cuda":
        torch.cuda.set_device(torch_device)
    if world_size > 1 and not dist.is_initialized():
        backend = "nccl" if torch_device.type == "cuda" else "gloo"
        # Rank 0 validates alone while the others wait at a barrier: allow for a long one.
        dist.init_process_group(backend=backend, timeout=datetime.timedelta(hours=2))
    if torch_device.type == "cpu":
        # Several processes on one machine share its cores.
        local_world = int(os.environ.get("LOCAL_WORLD_SIZE", str(world_size)))
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // max(1, local_world)))
    return Dist(rank, local_rank, world_size, torch_device)


def barrier(dist_info: Dist) -> None:
    """Wait for every process (a no-op in a single process)."""
    if dist_info.enabled:
        import torch.distributed as dist

        dist.barrier()


def mean_over_ranks(value: float, dist_info: Dist) -> float:
    """The mean of `value` over all processes."""
    if not dist_info.enabled:
        return value
    import torch
    import torch.distributed as dist

    tensor = torch.tensor([value], dtype=torch.float64, device=dist_info.device)
    dist.all_reduce(tensor)
    return float(tensor.item()) / dist_info.world_size


def derived_seed(*parts: int) -> int:
    """A 31-bit seed from integers (seed, epoch, rank, ...), independent across parts.

    Examples
    --------
    >>> derived_seed(0, 1) == derived_seed(0, 1) != derived_seed(0, 2)
    True
    """
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0] >> 1)


def shutdown() -> None:
    """Leave the process group, if one was joined."""
    with contextlib.suppress(Exception):
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()
