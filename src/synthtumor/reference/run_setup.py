"""Setting up a training run: checks, seeding, data, model, resumed state, logs.

:func:`set_up` returns a :class:`Run` that :func:`synthtumor.reference.train.train` drives.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthtumor.io import remove_partial_files
from synthtumor.reference.checkpointing import (
    check_resume_config,
    check_run_dir,
    load_checkpoint,
    restore,
)
from synthtumor.reference.config import TrainingConfig, config_to_dict, config_to_toml
from synthtumor.reference.data import training_cases
from synthtumor.reference.distributed import Dist, barrier, derived_seed
from synthtumor.reference.loop import Loop
from synthtumor.reference.prepare import write_text_atomic
from synthtumor.reference.run_logs import EPOCH_COLUMNS, ITERATION_COLUMNS, CsvLog
from synthtumor.reference.selection import Selection

__all__ = ["Run", "say", "set_up"]


@dataclass
class Run:
    """One training run's pieces, built by :func:`set_up`."""

    config: TrainingConfig
    run_dir: Path
    dist_info: Dist
    cases: dict[str, list[dict[str, Any]]]
    where: str
    dataset: Any
    loader: Any
    sampler: Any
    generator: Any
    loop: Loop
    selection: Selection
    validation_items: list[dict]
    iterations_per_epoch: int
    start_epoch: int
    iteration: int
    epoch_log: Any = None


def set_up(
    config: TrainingConfig,
    run_dir: Path,
    *,
    resume: str | os.PathLike | None,
    overwrite: bool,
    device: str | None,
) -> Run:
    """Checks, seeding, the run folder, data, model, checkpoint to resume and logs."""
    import torch
    from monai.losses import DiceCELoss
    from monai.utils import set_determinism

    from synthtumor.reference.data import build_dataset, build_loader, resolve_where, scan_voxels
    from synthtumor.reference.distributed import init_distributed
    from synthtumor.reference.models import build_training_state
    from synthtumor.reference.run_logs import progress_bar
    from synthtumor.reference.transforms import train_transforms
    from synthtumor.reference.validation import validation_items

    check_run_dir(run_dir, resuming=resume is not None, overwrite=overwrite)
    checkpoint = load_checkpoint(resume) if resume is not None else None
    if checkpoint is not None:
        check_resume_config(config, checkpoint)
    dist_info = init_distributed(device)
    set_determinism(seed=derived_seed(config.seed, dist_info.rank))
    if config.train.deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
    cases = training_cases(config)
    where = resolve_where(config, scan_voxels(cases["train"], config.data.spacing_mm))
    if dist_info.is_main:
        _write_config(config, run_dir)
    barrier(dist_info)

    synthesis = config.mode in ("synthetic", "mixed") and config.synthesis.probability > 0
    items = [{"image": e["image"], "label": e["label"]} for e in cases["train"]]
    transform = train_transforms(config, synthesis=synthesis, where=where)
    dataset = build_dataset(items, transform, config, run_dir)
    loader, sampler, generator = build_loader(dataset, config, dist_info)
    per_epoch = len(loader)
    if config.train.max_iterations_per_epoch:
        per_epoch = min(per_epoch, config.train.max_iterations_per_epoch)
    total = per_epoch * config.train.max_epochs
    use_amp = config.train.amp and dist_info.device.type == "cuda"
    state = build_training_state(
        config.model,
        config.optim,
        device=dist_info.device,
        warmup=per_epoch * config.optim.warmup_epochs,
        total=total,
        use_amp=use_amp,
    )
    selection = Selection(config.train.selection_metric)
    start_epoch, iteration = 0, 0
    if checkpoint is not None:
        start_epoch, iteration = restore(state, checkpoint, dist_info.rank)
        selection.load_state_dict(checkpoint)
    loop = Loop(
        config=config,
        state=state,
        train_model=_parallel(state.model, dist_info),
        loss_function=DiceCELoss(to_onehot_y=True, softmax=True),
        dist_info=dist_info,
        use_amp=use_amp,
        device_generator=(
            torch.Generator(device=dist_info.device) if synthesis and where == "gpu" else None
        ),
    )
    run = Run(
        config,
        run_dir,
        dist_info,
        cases,
        where,
        dataset,
        loader,
        sampler,
        generator,
        loop,
        selection,
        validation_items(config, cases["validation"]) if dist_info.is_main else [],
        per_epoch,
        start_epoch,
        iteration,
    )
    if dist_info.is_main:
        _open_logs(run, resumed=checkpoint is not None)
        run.loop.progress = progress_bar(
            total=total, initial=iteration, enabled=config.train.progress
        )
        _announce(run)
    return run


def _parallel(model: Any, dist_info: Dist) -> Any:
    if not dist_info.enabled:
        return model
    from torch.nn.parallel import DistributedDataParallel

    device_ids = [dist_info.device.index] if dist_info.device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=device_ids)


def _write_config(config: TrainingConfig, run_dir: Path) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    remove_partial_files(run_dir)  # left by a killed run
    write_text_atomic(run_dir / "config.toml", config_to_toml(config), overwrite=True)
    text = json.dumps(config_to_dict(config), indent=2) + "\n"
    write_text_atomic(run_dir / "config.json", text, overwrite=True)


def _open_logs(run: Run, *, resumed: bool) -> None:
    run.loop.iteration_log = CsvLog(
        run.run_dir / "iterations.csv",
        ITERATION_COLUMNS,
        keep_until=run.iteration if resumed else None,
        key="iteration",
    )
    run.epoch_log = CsvLog(
        run.run_dir / "epochs.csv",
        EPOCH_COLUMNS,
        keep_until=run.start_epoch if resumed else None,
        key="epoch",
    )


def _announce(run: Run) -> None:
    from synthtumor.reference.models import count_parameters

    config, dist_info = run.config, run.dist_info
    say(
        f"{config.name}: mode {config.mode}, synthesis on the {run.where}, model "
        f"{config.model.name} ({count_parameters(run.loop.state.model) / 1e6:.2f} M parameters), "
        f"{len(run.cases['train'])} training / {len(run.validation_items)} validation scans, "
        f"{dist_info.world_size} process(es) on {dist_info.device}, AMP "
        f"{'on' if run.loop.use_amp else 'off'}, {run.iterations_per_epoch} iterations per "
        f"epoch, epochs {run.start_epoch + 1}-{config.train.max_epochs}"
    )


def say(message: str) -> None:
    """A line of the run's log (standard error)."""
    print(f"[synthtumor train] {message}", file=sys.stderr, flush=True)
