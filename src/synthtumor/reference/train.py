"""``synthtumor train CONFIG -o RUN_DIR``: train a liver and tumour segmentation model.

One process per GPU (or one CPU process); under ``torchrun`` it runs DistributedDataParallel
with a ``DistributedSampler`` (NCCL on GPUs, gloo on the CPU), and only rank 0 logs, validates
and writes checkpoints. Run folder contents:

* ``config.toml`` -- the resolved config (every field), and ``config.json``;
* ``last.pt`` (after every epoch) and ``best.pt`` (best validation score) -- checkpoints with
  the model, optimizer, scheduler, AMP scaler, epoch, iteration, RNG states and the config;
* ``iterations.csv`` -- per iteration: loss, learning rate, seconds;
* ``epochs.csv`` -- per epoch: mean loss, iterations per second, validation tumour and liver
  Dice (on the fold's validation part only; the test part is never read here), best flag;
* ``summary.json`` -- the run's totals.

``python -m synthtumor.reference.train`` is the same command (what ``torchrun`` launches).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime
import hashlib
import io
import json
import math
import os
import random
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from synthtumor.cli_errors import error_message, run_handler
from synthtumor.io import atomic_output, remove_partial_files
from synthtumor.reference.config import (
    TrainingConfig,
    config_from_dict,
    config_to_dict,
    config_to_toml,
    load_config,
)
from synthtumor.reference.prepare import fold_split, load_datalist, write_text_atomic

__all__ = [
    "CHECKPOINT_FORMAT",
    "EPOCH_COLUMNS",
    "ITERATION_COLUMNS",
    "TrainResult",
    "build_parser",
    "load_checkpoint",
    "main",
    "train",
    "training_cases",
]

CHECKPOINT_FORMAT = "synthtumor-checkpoint-v1"
ITERATION_COLUMNS = ("iteration", "epoch", "loss", "lr", "seconds")
EPOCH_COLUMNS = (
    "epoch",
    "iterations",
    "train_loss",
    "lr",
    "iterations_per_second",
    "crops_per_second",
    "val_tumour_dice",
    "val_liver_dice",
    "val_cases",
    "selection_score",
    "is_best",
    "elapsed_seconds",
)
_RUN_FILES = ("config.toml", "last.pt", "best.pt", "iterations.csv", "epochs.csv", "summary.json")


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


# --------------------------------------------------------------------------------------------
# Distributed set-up
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Dist:
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


def _init_distributed(device: str | None) -> _Dist:
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
    return _Dist(rank, local_rank, world_size, torch_device)


def _barrier(dist_info: _Dist) -> None:
    if dist_info.enabled:
        import torch.distributed as dist

        dist.barrier()


def _mean_over_ranks(value: float, dist_info: _Dist) -> float:
    if not dist_info.enabled:
        return value
    import torch
    import torch.distributed as dist

    tensor = torch.tensor([value], dtype=torch.float64, device=dist_info.device)
    dist.all_reduce(tensor)
    return float(tensor.item()) / dist_info.world_size


def _derived_seed(*parts: int) -> int:
    """A 31-bit seed from integers (seed, epoch, rank, ...), independent across parts."""
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0] >> 1)


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------


def training_cases(config: TrainingConfig) -> dict[str, list[dict[str, Any]]]:
    """The training and validation entries of ``config.data.fold``, filtered by mode.

    "synthetic" keeps only the healthy training scans (``has_tumor`` false); "real" and
    "mixed" keep them all. The validation part is kept whole (capped at
    ``validation.max_cases``). The test part is not returned.
    """
    if not config.data.datalist:
        raise ValueError("data.datalist is not set (--set data.datalist=PATH/datalist.json)")
    split = fold_split(load_datalist(config.data.datalist), config.data.fold)
    train = split["train"]
    if config.mode == "synthetic":
        train = [entry for entry in train if not entry.get("has_tumor", False)]
        if not train:
            raise ValueError(
                f"mode 'synthetic' needs healthy training scans, but fold {config.data.fold} "
                "has none (every training scan has tumour labels)"
            )
    if not train:
        raise ValueError(f"fold {config.data.fold} has no training case")
    validation = split["validation"]
    if config.validation.max_cases:
        validation = validation[: config.validation.max_cases]
    return {"train": train, "validation": validation}


def _dataset(items: list[dict[str, Any]], transform: Any, config: TrainingConfig, run_dir: Path):
    from monai.data import CacheDataset, Dataset, PersistentDataset

    if config.data.cache == "memory":
        return CacheDataset(
            items,
            transform,
            num_workers=max(1, config.data.num_workers),
            progress=False,
            copy_cache=True,
        )
    if config.data.cache == "disk":
        # PersistentDataset keys its files by the data items only: keep one folder per
        # pre-processing, so a changed config never reads a stale cache.
        data_settings = json.dumps(config_to_dict(config.data), sort_keys=True).encode()
        folder = run_dir / "cache" / hashlib.sha256(data_settings).hexdigest()[:16]
        # The synthesis reads the spacing from MetaTensor metadata, so keep it; the files are
        # this run's own, hence loading them in full (weights_only=False) is safe.
        return PersistentDataset(
            items, transform, cache_dir=folder, track_meta=True, weights_only=False
        )
    return Dataset(items, transform)


def _validation_items(config: TrainingConfig, entries: list[dict[str, Any]]) -> list[dict]:
    """Pre-processed validation cases, with fixed synthetic tumours in healthy livers."""
    from monai.transforms import Compose

    from synthtumor.reference.transforms import (
        intensity_transform,
        preprocessing_transforms,
        synthesis_transform,
    )

    # Cropped like inference (never with the label), so the score does not see the answer.
    preprocess = Compose(preprocessing_transforms(config, with_label=True, label_crop=False))
    intensity = Compose(intensity_transform(config))
    add_tumours = config.validation.synthetic_tumours and config.mode != "real"
    synthesis = synthesis_transform(config, prob=1.0) if add_tumours else None
    items = []
    for index, entry in enumerate(entries):
        data = preprocess({"image": entry["image"], "label": entry["label"]})
        synthetic = synthesis is not None and not entry.get("has_tumor", False)
        if synthetic:
            seed = _derived_seed(config.validation.seed, index)
            data["image"], data["label"] = synthesis.liver_tumor.synthesize(
                data["image"], data["label"], seed=seed
            )
        data = intensity(data)
        items.append(
            {
                "case": entry["case"],
                "image": data["image"].as_tensor()[None].float(),
                "label": np.asarray(data["label"].as_tensor()[0]).astype(np.uint8),
                "synthetic_tumours": synthetic,
            }
        )
    return items


# --------------------------------------------------------------------------------------------
# Logs
# --------------------------------------------------------------------------------------------


class _CsvLog:
    """An append-only CSV log; on resume rows past the checkpoint are dropped first."""

    def __init__(self, path: Path, columns: Sequence[str], *, keep_until: int | None, key: str):
        self.path = path
        self.columns = tuple(columns)
        rows: list[dict[str, str]] = []
        if keep_until is not None and path.exists():
            with path.open(newline="", encoding="utf-8") as stream:
                rows = [r for r in csv.DictReader(stream) if int(r[key]) <= keep_until]
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=self.columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        write_text_atomic(path, buffer.getvalue(), overwrite=True)
        self._stream = path.open("a", newline="", encoding="utf-8")
        self._writer = csv.DictWriter(self._stream, fieldnames=self.columns, lineterminator="\n")

    def write(self, row: dict[str, Any]) -> None:
        self._writer.writerow({k: _csv_value(row.get(k)) for k in self.columns})
        self._stream.flush()

    def close(self) -> None:
        self._stream.close()


def _csv_value(value: Any) -> Any:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6g}"
    return "" if value is None else value


# --------------------------------------------------------------------------------------------
# Checkpoints
# --------------------------------------------------------------------------------------------


def _rng_state() -> dict[str, Any]:
    import torch

    kind, keys, position, has_gauss, cached = np.random.get_state()  # noqa: NPY002
    state = {
        "python": random.getstate(),
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            "position": int(position),
            "has_gauss": int(has_gauss),
            "cached": float(cached),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    import torch

    random.setstate(_as_tuple(state["python"]))
    numpy = state["numpy"]
    np.random.set_state(  # noqa: NPY002
        (
            numpy["kind"],
            numpy["keys"].numpy().astype(np.uint32),
            numpy["position"],
            numpy["has_gauss"],
            numpy["cached"],
        )
    )
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        with contextlib.suppress(RuntimeError, IndexError):
            torch.cuda.set_rng_state_all(state["cuda"])


def _as_tuple(value: Any) -> Any:
    return tuple(_as_tuple(v) for v in value) if isinstance(value, list | tuple) else value


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read a checkpoint written by :func:`train` (``torch.load(weights_only=True)``).

    Raises
    ------
    ValueError
        The file is not a synthtumor checkpoint.
    """
    import torch

    checkpoint = torch.load(Path(path), map_location="cpu", weights_only=True)
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a synthtumor checkpoint ({CHECKPOINT_FORMAT})")
    return checkpoint


def _save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    import torch

    with atomic_output(path, overwrite=True, suffix=".pt") as temporary:
        torch.save(state, temporary)


# --------------------------------------------------------------------------------------------
# Schedule, validation
# --------------------------------------------------------------------------------------------


def _lr_factor(iteration: int, *, warmup: int, total: int, start: float, floor: float) -> float:
    """Linear warm-up from `start` to 1, then cosine annealing from 1 to `floor`."""
    if iteration < warmup:
        return start + (1.0 - start) * iteration / max(1, warmup)
    progress = min(1.0, (iteration - warmup) / max(1, total - warmup))
    return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


def _validate(model: Any, items: list[dict], config: TrainingConfig, device: Any) -> dict:
    """Tumour Dice (cases whose reference holds tumour) and liver Dice (all cases)."""
    import torch
    from monai.inferers import sliding_window_inference

    from synthtumor.reference.metrics import dice

    tumour_scores, liver_scores = [], []
    use_amp = config.train.amp and device.type == "cuda"
    model.eval()
    with torch.no_grad():
        for item in items:
            with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=use_amp):
                logits = sliding_window_inference(
                    item["image"].to(device),
                    roi_size=config.data.roi_size,
                    sw_batch_size=config.validation.sw_batch_size,
                    predictor=model,
                    overlap=config.validation.overlap,
                    mode=config.inference.blend_mode,
                )
            prediction = torch.argmax(logits, dim=1)[0].cpu().numpy()
            reference = item["label"]
            liver_scores.append(dice(prediction > 0, reference > 0))
            if (reference == 2).any():
                tumour_scores.append(dice(prediction == 2, reference == 2))
    model.train()
    return {
        "val_tumour_dice": float(np.mean(tumour_scores)) if tumour_scores else math.nan,
        "val_liver_dice": float(np.mean(liver_scores)) if liver_scores else math.nan,
        "val_cases": len(items),
    }


def _selection_score(metrics: dict[str, float], metric: str) -> float:
    tumour, liver = metrics["val_tumour_dice"], metrics["val_liver_dice"]
    if metric == "liver_dice" or (metric == "tumour_dice" and math.isnan(tumour)):
        return liver
    if metric == "tumour_dice":
        return tumour
    return float(np.nanmean([tumour, liver]))


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------


def _check_run_dir(run_dir: Path, *, resuming: bool, overwrite: bool) -> None:
    existing = [name for name in _RUN_FILES if (run_dir / name).exists()]
    if existing and not resuming and not overwrite:
        raise FileExistsError(
            f"{run_dir} already holds a run ({', '.join(existing)}); use another folder, "
            "--resume a checkpoint, or --force to start over"
        )


def _check_resume_config(config: TrainingConfig, checkpoint: dict[str, Any]) -> None:
    saved = config_from_dict(checkpoint["config"])
    if saved.model != config.model:
        raise ValueError(
            f"cannot resume: the checkpoint's model {saved.model} differs from the config's "
            f"{config.model}"
        )
    changed = [
        section
        for section, value in config_to_dict(config).items()
        if config_to_dict(saved).get(section) != value
    ]
    if changed:
        warnings.warn(f"resuming with changed config sections: {changed}", stacklevel=3)


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
    import torch
    from monai.data import DataLoader
    from monai.losses import DiceCELoss
    from monai.utils import set_determinism
    from torch.utils.data import DistributedSampler, RandomSampler

    from synthtumor.reference.models import build_model, count_parameters
    from synthtumor.reference.transforms import train_transforms

    run_dir = Path(run_dir)
    _check_run_dir(run_dir, resuming=resume is not None, overwrite=overwrite)
    checkpoint = load_checkpoint(resume) if resume is not None else None
    if checkpoint is not None:
        _check_resume_config(config, checkpoint)
    dist_info = _init_distributed(device)
    set_determinism(seed=_derived_seed(config.seed, dist_info.rank))
    if config.train.deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)

    cases = training_cases(config)
    synthesis = config.mode in ("synthetic", "mixed") and config.synthesis.probability > 0
    train_items = [{"image": e["image"], "label": e["label"]} for e in cases["train"]]
    if dist_info.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        remove_partial_files(run_dir)  # left by a killed run
        write_text_atomic(run_dir / "config.toml", config_to_toml(config), overwrite=True)
        write_text_atomic(
            run_dir / "config.json",
            json.dumps(config_to_dict(config), indent=2) + "\n",
            overwrite=True,
        )
    _barrier(dist_info)
    dataset = _dataset(train_items, train_transforms(config, synthesis=synthesis), config, run_dir)
    generator = torch.Generator()
    if dist_info.enabled:
        sampler = DistributedSampler(
            dataset,
            num_replicas=dist_info.world_size,
            rank=dist_info.rank,
            shuffle=True,
            seed=config.seed,
        )
    else:
        sampler = RandomSampler(dataset, generator=generator)
    loader = DataLoader(
        dataset,
        batch_size=config.train.batch_size,
        sampler=sampler,
        num_workers=config.data.num_workers,
        generator=generator,
        pin_memory=dist_info.device.type == "cuda",
        drop_last=False,
    )
    iterations_per_epoch = len(loader)
    if config.train.max_iterations_per_epoch:
        iterations_per_epoch = min(iterations_per_epoch, config.train.max_iterations_per_epoch)
    total_iterations = iterations_per_epoch * config.train.max_epochs
    warmup_iterations = iterations_per_epoch * config.optim.warmup_epochs

    model = build_model(config.model).to(dist_info.device)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.optim.lr, weight_decay=config.optim.weight_decay
    )
    floor = config.optim.min_lr / config.optim.lr
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda it: _lr_factor(
            it,
            warmup=warmup_iterations,
            total=total_iterations,
            start=config.optim.warmup_start_factor,
            floor=floor,
        ),
    )
    use_amp = config.train.amp and dist_info.device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    loss_function = DiceCELoss(to_onehot_y=True, softmax=True)

    start_epoch, iteration = 0, 0
    best_score, best_epoch = -math.inf, -1
    if checkpoint is not None:
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        scheduler.load_state_dict(checkpoint["scheduler"])
        scaler.load_state_dict(checkpoint["scaler"])
        start_epoch, iteration = int(checkpoint["epoch"]), int(checkpoint["iteration"])
        best_score = float(checkpoint.get("best_score", -math.inf))
        best_epoch = int(checkpoint.get("best_epoch", -1))
        _set_rng_state(checkpoint["rng"][min(dist_info.rank, len(checkpoint["rng"]) - 1)])
    train_model: Any = model
    if dist_info.enabled:
        from torch.nn.parallel import DistributedDataParallel

        device_ids = [dist_info.device.index] if dist_info.device.type == "cuda" else None
        train_model = DistributedDataParallel(model, device_ids=device_ids)

    validation_items = _validation_items(config, cases["validation"]) if dist_info.is_main else []
    keep_until = iteration if checkpoint is not None else None
    logs = (
        (
            _CsvLog(
                run_dir / "iterations.csv",
                ITERATION_COLUMNS,
                keep_until=keep_until,
                key="iteration",
            ),
            _CsvLog(
                run_dir / "epochs.csv",
                EPOCH_COLUMNS,
                keep_until=start_epoch if checkpoint is not None else None,
                key="epoch",
            ),
        )
        if dist_info.is_main
        else None
    )
    if dist_info.is_main:
        print(
            f"[synthtumor train] {config.name}: mode {config.mode}, model {config.model.name} "
            f"({count_parameters(model) / 1e6:.2f} M parameters), {len(train_items)} training / "
            f"{len(validation_items)} validation scans, {dist_info.world_size} process(es) on "
            f"{dist_info.device}, AMP {'on' if use_amp else 'off'}, {iterations_per_epoch} "
            f"iterations per epoch, epochs {start_epoch + 1}-{config.train.max_epochs}",
            file=sys.stderr,
            flush=True,
        )
    progress = _progress_bar(
        total=total_iterations,
        initial=iteration,
        enabled=dist_info.is_main and config.train.progress,
    )
    crops_per_iteration = (
        config.train.batch_size * config.data.samples_per_scan * dist_info.world_size
    )
    started = time.perf_counter()
    speeds: list[float] = []
    try:
        for epoch in range(start_epoch, config.train.max_epochs):
            epoch_seed = _derived_seed(config.seed, epoch, dist_info.rank)
            generator.manual_seed(epoch_seed)
            if config.data.num_workers == 0:
                dataset.transform.set_random_state(seed=epoch_seed)
            if dist_info.enabled:
                sampler.set_epoch(epoch)
            losses = []
            epoch_start = time.perf_counter()
            for batch in _limited(loader, iterations_per_epoch):
                step_start = time.perf_counter()
                images = batch["image"].to(dist_info.device, non_blocking=True)
                labels = batch["label"].to(dist_info.device, non_blocking=True)
                with torch.autocast(
                    device_type=dist_info.device.type, dtype=torch.float16, enabled=use_amp
                ):
                    loss = loss_function(train_model(images), labels)
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                if config.optim.grad_clip_norm > 0:
                    scaler.unscale_(optimizer)
                    torch.nn.utils.clip_grad_norm_(model.parameters(), config.optim.grad_clip_norm)
                scaler.step(optimizer)
                scaler.update()
                lr = optimizer.param_groups[0]["lr"]
                scheduler.step()
                iteration += 1
                loss_value = _mean_over_ranks(float(loss.detach()), dist_info)
                losses.append(loss_value)
                if logs is not None:
                    logs[0].write(
                        {
                            "iteration": iteration,
                            "epoch": epoch + 1,
                            "loss": loss_value,
                            "lr": lr,
                            "seconds": time.perf_counter() - step_start,
                        }
                    )
                progress.update(1)
                progress.set_postfix(epoch=epoch + 1, loss=f"{loss_value:.4f}", refresh=False)
            seconds = time.perf_counter() - epoch_start
            speed = len(losses) / seconds if seconds > 0 else math.nan
            speeds.append(speed)
            last_epoch = epoch + 1 == config.train.max_epochs
            metrics = {"val_tumour_dice": math.nan, "val_liver_dice": math.nan, "val_cases": 0}
            is_best = False
            score = math.nan
            if (
                dist_info.is_main
                and validation_items
                and ((epoch + 1) % config.train.val_every == 0 or last_epoch)
            ):
                metrics = _validate(model, validation_items, config, dist_info.device)
                score = _selection_score(metrics, config.train.selection_metric)
                if not math.isnan(score) and score > best_score:
                    best_score, best_epoch, is_best = score, epoch + 1, True
            if dist_info.is_main:
                state = _checkpoint_state(
                    config,
                    model,
                    optimizer,
                    scheduler,
                    scaler,
                    epoch + 1,
                    iteration,
                    best_score,
                    best_epoch,
                    metrics,
                    dist_info,
                )
                _save_checkpoint(run_dir / "last.pt", state)
                if is_best or (not validation_items and last_epoch):
                    _save_checkpoint(run_dir / "best.pt", state)
                assert logs is not None
                logs[1].write(
                    {
                        "epoch": epoch + 1,
                        "iterations": iteration,
                        "train_loss": float(np.mean(losses)) if losses else math.nan,
                        "lr": optimizer.param_groups[0]["lr"],
                        "iterations_per_second": speed,
                        "crops_per_second": speed * crops_per_iteration,
                        **metrics,
                        "selection_score": score,
                        "is_best": int(is_best),
                        "elapsed_seconds": time.perf_counter() - started,
                    }
                )
            _barrier(dist_info)
    finally:
        progress.close()
        if logs is not None:
            for log in logs:
                log.close()
    mean_speed = float(np.mean(speeds)) if speeds else math.nan
    result = TrainResult(
        run_dir=run_dir,
        last_checkpoint=run_dir / "last.pt",
        best_checkpoint=run_dir / "best.pt",
        best_score=best_score,
        best_epoch=best_epoch,
        epochs=config.train.max_epochs,
        iterations=iteration,
        iterations_per_second=mean_speed,
    )
    if dist_info.is_main:
        summary = {
            "name": config.name,
            "mode": config.mode,
            "model": config.model.name,
            "epochs": result.epochs,
            "iterations": result.iterations,
            "iterations_per_second": mean_speed,
            "crops_per_iteration": crops_per_iteration,
            "world_size": dist_info.world_size,
            "device": str(dist_info.device),
            "amp": use_amp,
            "best_epoch": best_epoch,
            "best_score": best_score if math.isfinite(best_score) else None,
            "selection_metric": config.train.selection_metric,
            "selected_on": "validation" if validation_items else "last epoch (no validation)",
            "training_cases": [e["case"] for e in cases["train"]],
            "validation_cases": [e["case"] for e in cases["validation"]],
            "seconds": time.perf_counter() - started,
        }
        write_text_atomic(
            run_dir / "summary.json", json.dumps(summary, indent=2) + "\n", overwrite=True
        )
        print(
            f"[synthtumor train] done: {iteration} iterations, {mean_speed:.2f} it/s, best "
            f"{config.train.selection_metric} {best_score:.4f} at epoch {best_epoch}",
            file=sys.stderr,
            flush=True,
        )
    _barrier(dist_info)
    return result


def _checkpoint_state(
    config: TrainingConfig,
    model: Any,
    optimizer: Any,
    scheduler: Any,
    scaler: Any,
    epoch: int,
    iteration: int,
    best_score: float,
    best_epoch: int,
    metrics: dict[str, Any],
    dist_info: _Dist,
) -> dict[str, Any]:
    import monai
    import torch

    from synthtumor import __version__

    return {
        "format": CHECKPOINT_FORMAT,
        "config": config_to_dict(config),
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "scaler": scaler.state_dict(),
        "epoch": epoch,
        "iteration": iteration,
        "best_score": best_score,
        "best_epoch": best_epoch,
        "metrics": {k: float(v) for k, v in metrics.items()},
        "rng": [_rng_state()],
        "world_size": dist_info.world_size,
        "versions": {
            "synthtumor": __version__,
            "torch": str(torch.__version__),
            "monai": str(monai.__version__),
        },
    }


def _limited(loader: Any, limit: int) -> Iterator[Any]:
    for index, batch in enumerate(loader):
        if index >= limit:
            break
        yield batch


class _NoProgress:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix(self, **kwargs: Any) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(*, total: int, initial: int, enabled: bool) -> Any:
    if not enabled:
        return _NoProgress()
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, unit="it", dynamic_ncols=True, desc="train")


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """Arguments of ``synthtumor train`` (added to `parser`, or a new one)."""
    parser = parser or argparse.ArgumentParser(
        prog="synthtumor train", description="Train a liver and tumour segmentation model."
    )
    parser.add_argument("config", nargs="?", help="TOML or JSON config (default: paper recipe)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config field, e.g. --set train.max_epochs=10 (repeatable)",
    )
    parser.add_argument("--resume", metavar="CHECKPOINT", help="continue from last.pt / best.pt")
    parser.add_argument("-o", "--output", required=True, metavar="RUN_DIR", help="run folder")
    parser.add_argument("--force", action="store_true", help="start over in a used run folder")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: auto)")
    parser.add_argument(
        "--print-config", action="store_true", help="print the resolved config and exit"
    )
    return parser


def run_from_args(args: argparse.Namespace) -> int:
    """Handler of ``synthtumor train``: 0, or raises (:mod:`synthtumor.cli_errors` maps it)."""
    try:
        config = load_config(args.config, args.overrides)
    except (KeyError, TypeError, ValueError, OSError) as error:
        raise ValueError(f"bad config {args.config}: {error_message(error)}") from None
    if args.print_config:
        print(config_to_toml(config), end="")
        return 0
    try:
        train(
            config,
            args.output,
            resume=args.resume,
            overwrite=args.force,
            device=args.device,
        )
    finally:
        _shutdown_distributed()
    return 0


def _shutdown_distributed() -> None:
    with contextlib.suppress(Exception):
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m synthtumor.reference.train`` (what ``torchrun`` launches)."""
    return run_handler(run_from_args, build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
