"""The training loop: one optimisation step, one epoch over the loader."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from synthtumor.reference.checkpointing import TrainingState
from synthtumor.reference.config import TrainingConfig
from synthtumor.reference.distributed import Dist, mean_over_ranks

__all__ = ["Loop", "run_epoch"]


@dataclass
class Loop:
    """What every step needs: the model being trained (DDP-wrapped or not) and its state.

    ``device_generator`` is set for ``synthesis.where = "gpu"``: the batch is then
    synthesized on the device before the step (:mod:`~synthtumor.reference.device_synthesis`).
    """

    config: TrainingConfig
    state: TrainingState
    train_model: Any
    loss_function: Any
    dist_info: Dist
    use_amp: bool
    iteration_log: Any = None
    progress: Any = None
    device_generator: Any = None


def _inputs(loop: Loop, batch: dict[str, Any]) -> tuple[Any, Any]:
    device = loop.dist_info.device
    if loop.device_generator is not None:
        from synthtumor.reference.device_synthesis import prepare_batch

        return prepare_batch(batch, loop.config, device, loop.device_generator)
    return (
        batch["image"].to(device, non_blocking=True),
        batch["label"].to(device, non_blocking=True),
    )


def train_step(loop: Loop, images: Any, labels: Any) -> tuple[float, float]:
    """One optimisation step; returns the loss (mean over ranks) and the step's learning rate."""
    import torch

    state, config = loop.state, loop.config
    device_type = loop.dist_info.device.type
    with torch.autocast(device_type=device_type, dtype=torch.float16, enabled=loop.use_amp):
        loss = loop.loss_function(loop.train_model(images), labels)
    state.optimizer.zero_grad(set_to_none=True)
    state.scaler.scale(loss).backward()
    if config.optim.grad_clip_norm > 0:
        state.scaler.unscale_(state.optimizer)
        torch.nn.utils.clip_grad_norm_(state.model.parameters(), config.optim.grad_clip_norm)
    state.scaler.step(state.optimizer)
    state.scaler.update()
    lr = state.optimizer.param_groups[0]["lr"]
    state.scheduler.step()
    return mean_over_ranks(float(loss.detach()), loop.dist_info), lr


def run_epoch(
    loop: Loop, loader: Any, *, epoch: int, limit: int, iteration: int
) -> tuple[list[float], int]:
    """Up to `limit` steps over `loader`; returns the losses and the iteration count after."""
    losses = []
    for batch in _limited(loader, limit):
        step_start = time.perf_counter()
        images, labels = _inputs(loop, batch)
        loss, lr = train_step(loop, images, labels)
        iteration += 1
        losses.append(loss)
        if loop.iteration_log is not None:
            loop.iteration_log.write(
                {
                    "iteration": iteration,
                    "epoch": epoch + 1,
                    "loss": loss,
                    "lr": lr,
                    "seconds": time.perf_counter() - step_start,
                }
            )
        if loop.progress is not None:
            loop.progress.update(1)
            loop.progress.set_postfix(epoch=epoch + 1, loss=f"{loss:.4f}", refresh=False)
    return losses, iteration


def _limited(loader: Any, limit: int) -> Iterator[Any]:
    for index, batch in enumerate(loader):
        if index >= limit:
            break
        yield batch
