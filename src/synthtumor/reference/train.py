"""``synthtumor train CONFIG -o RUN_DIR``: train a liver and tumour segmentation model.

One process per GPU (or one CPU process); under ``torchrun`` it runs DistributedDataParallel
with a ``DistributedSampler`` (NCCL on GPUs, gloo on the CPU), and only rank 0 logs, validates
and writes checkpoints. Run folder contents:

* ``config.toml`` -- the resolved config (every field), and ``config.json``;
* ``last.pt`` (after every epoch) and ``best.pt`` (best validation score) -- checkpoints with
  the model, optimizer, scheduler, AMP scaler, epoch, iteration, RNG states and the config;
* ``iterations.csv`` -- per iteration: loss, learning rate, seconds;
* ``epochs.csv`` -- per epoch: mean loss, iterations per second, validation tumour and liver
  Dice (on the fold's validation part only; the test part is never read here), the metric the
  epoch was scored on (:mod:`~synthtumor.reference.selection`: tumour Dice, falling back to
  liver Dice then the loss while it is 0, as the log says), best flag;
* ``summary.json`` -- the run's totals.

``python -m synthtumor.reference.train`` is the same command (what ``torchrun`` launches).

The parts: :mod:`~synthtumor.reference.data` (cases, where synthesis runs, dataset, loader),
:mod:`~synthtumor.reference.models` (network, optimizer, schedule),
:mod:`~synthtumor.reference.loop` (steps and epochs),
:mod:`~synthtumor.reference.validation`, :mod:`~synthtumor.reference.selection`,
:mod:`~synthtumor.reference.checkpointing`, :mod:`~synthtumor.reference.run_logs` and
:mod:`~synthtumor.reference.distributed`; this module puts them together.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from synthtumor.reference.checkpointing import (
    CHECKPOINT_FORMAT,
    checkpoint_state,
    load_checkpoint,
    save_checkpoint,
)
from synthtumor.reference.config import TrainingConfig
from synthtumor.reference.data import training_cases
from synthtumor.reference.distributed import barrier, derived_seed
from synthtumor.reference.loop import run_epoch
from synthtumor.reference.prepare import write_text_atomic
from synthtumor.reference.run_logs import EPOCH_COLUMNS, ITERATION_COLUMNS
from synthtumor.reference.run_setup import Run, say, set_up

__all__ = [
    "CHECKPOINT_FORMAT",
    "EPOCH_COLUMNS",
    "ITERATION_COLUMNS",
    "TrainResult",
    "load_checkpoint",
    "main",
    "train",
    "training_cases",
]


@dataclass(frozen=True)
class TrainResult:
    """What :func:`train` returns (on every rank; file paths are rank 0's)."""

    run_dir: Path
    last_checkpoint: Path
    best_checkpoint: Path
    best_score: float
    best_epoch: int
    epochs: int
    iterations: int
    iterations_per_second: float
    best_metric: str = ""
    synthesis_where: str = ""


def train(
    config: TrainingConfig,
    run_dir: str | os.PathLike,
    *,
    resume: str | os.PathLike | None = None,
    overwrite: bool = False,
    device: str | None = None,
) -> TrainResult:
    """Train (or resume training) a model as `config` says; see the module docstring.

    Parameters
    ----------
    config : TrainingConfig
        ``config.data.datalist`` must point to a datalist from ``synthtumor prepare``.
    run_dir : path-like
        Output folder; must not hold a run unless resuming or ``overwrite``.
    resume : path-like, optional
        A ``last.pt`` / ``best.pt`` to continue from (model, optimizer, scheduler, scaler,
        epoch, iteration, RNG states). Training continues to ``config.train.max_epochs``;
        log rows after the checkpoint's iteration are dropped.
    overwrite : bool
        Start over in a folder that holds a run.
    device : str, optional
        "cpu", "cuda", "cuda:1"...; default: this process's GPU if there is one, else the CPU.

    Returns
    -------
    TrainResult
    """
    run = set_up(config, Path(run_dir), resume=resume, overwrite=overwrite, device=device)
    started = time.perf_counter()
    speeds: list[float] = []
    try:
        for epoch in range(run.start_epoch, config.train.max_epochs):
            _seed_epoch(run, epoch)
            epoch_start = time.perf_counter()
            losses, run.iteration = run_epoch(
                run.loop,
                run.loader,
                epoch=epoch,
                limit=run.iterations_per_epoch,
                iteration=run.iteration,
            )
            seconds = time.perf_counter() - epoch_start
            speeds.append(len(losses) / seconds if seconds > 0 else math.nan)
            if run.dist_info.is_main:
                _end_epoch(run, epoch, losses, speeds[-1], time.perf_counter() - started)
            barrier(run.dist_info)
    finally:
        for log in (run.loop.progress, run.loop.iteration_log, run.epoch_log):
            if log is not None:
                log.close()
    return _finish(run, speeds, time.perf_counter() - started)


def _seed_epoch(run: Run, epoch: int) -> None:
    epoch_seed = derived_seed(run.config.seed, epoch, run.dist_info.rank)
    run.generator.manual_seed(epoch_seed)
    if run.loop.device_generator is not None:
        run.loop.device_generator.manual_seed(epoch_seed)
    if run.config.data.num_workers == 0:
        run.dataset.transform.set_random_state(seed=epoch_seed)
    if run.dist_info.enabled:
        run.sampler.set_epoch(epoch)


def _end_epoch(run: Run, epoch: int, losses: list[float], speed: float, elapsed: float) -> None:
    """Rank 0: validate when due, select, write checkpoints and the epoch's log row."""
    from synthtumor.reference.validation import validate

    config, selection = run.config, run.selection
    last_epoch = epoch + 1 == config.train.max_epochs
    train_loss = float(np.mean(losses)) if losses else math.nan
    metrics: dict[str, Any] = {"val_tumor_dice": math.nan, "val_liver_dice": math.nan}
    metrics["val_cases"] = 0
    is_best, selected_on, score = False, "", math.nan
    due = (epoch + 1) % config.train.val_every == 0 or last_epoch
    if run.validation_items and due:
        state = run.loop.state
        metrics = validate(state.model, run.validation_items, config, run.dist_info.device)
        is_best = selection.update(metrics, train_loss=train_loss, epoch=epoch + 1)
        selected_on, score = selection.metric, selection.score
        if selection.fallback_note:
            say(f"epoch {epoch + 1}: {selection.fallback_note}")
    state_dict = checkpoint_state(
        config,
        run.loop.state,
        epoch=epoch + 1,
        iteration=run.iteration,
        best=selection.state_dict(),
        metrics=metrics,
        world_size=run.dist_info.world_size,
    )
    save_checkpoint(run.run_dir / "last.pt", state_dict)
    if is_best or (not run.validation_items and last_epoch):
        save_checkpoint(run.run_dir / "best.pt", state_dict)
    crops = config.train.batch_size * config.data.samples_per_scan * run.dist_info.world_size
    run.epoch_log.write(
        {
            "epoch": epoch + 1,
            "iterations": run.iteration,
            "train_loss": train_loss,
            "lr": run.loop.state.optimizer.param_groups[0]["lr"],
            "iterations_per_second": speed,
            "crops_per_second": speed * crops,
            **metrics,
            "selection_metric": selected_on,
            "selection_score": score,
            "is_best": int(is_best),
            "elapsed_seconds": elapsed,
        }
    )


def _finish(run: Run, speeds: list[float], seconds: float) -> TrainResult:
    config, selection = run.config, run.selection
    mean_speed = float(np.mean(speeds)) if speeds else math.nan
    result = TrainResult(
        run_dir=run.run_dir,
        last_checkpoint=run.run_dir / "last.pt",
        best_checkpoint=run.run_dir / "best.pt",
        best_score=selection.best_score,
        best_epoch=selection.best_epoch,
        epochs=config.train.max_epochs,
        iterations=run.iteration,
        iterations_per_second=mean_speed,
        best_metric=selection.best_metric,
        synthesis_where=run.where,
    )
    if run.dist_info.is_main:
        _write_summary(run, result, seconds)
        say(
            f"done: {run.iteration} iterations, {mean_speed:.2f} it/s, best "
            f"{selection.best_metric or config.train.selection_metric} "
            f"{selection.best_score:.4f} at epoch {selection.best_epoch}"
        )
    barrier(run.dist_info)
    return result


def _write_summary(run: Run, result: TrainResult, seconds: float) -> None:
    config, dist_info = run.config, run.dist_info
    summary = {
        "name": config.name,
        "mode": config.mode,
        "model": config.model.name,
        "synthesis_where": run.where,
        "epochs": result.epochs,
        "iterations": result.iterations,
        "iterations_per_second": result.iterations_per_second,
        "crops_per_iteration": config.train.batch_size
        * config.data.samples_per_scan
        * dist_info.world_size,
        "world_size": dist_info.world_size,
        "device": str(dist_info.device),
        "amp": run.loop.use_amp,
        "best_epoch": result.best_epoch,
        "best_score": result.best_score if math.isfinite(result.best_score) else None,
        "selection_metric": config.train.selection_metric,
        "best_selected_on_metric": result.best_metric,
        "selected_on": "validation" if run.validation_items else "last epoch (no validation)",
        "training_cases": [e["case"] for e in run.cases["train"]],
        "validation_cases": [e["case"] for e in run.cases["validation"]],
        "seconds": seconds,
    }
    text = json.dumps(summary, indent=2) + "\n"
    write_text_atomic(run.run_dir / "summary.json", text, overwrite=True)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m synthtumor.reference.train`` (what ``torchrun`` launches): ``synthtumor
    train`` with the same arguments, parser, handler and exit codes."""
    from synthtumor.cli import main as cli_main

    return cli_main(["train", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
