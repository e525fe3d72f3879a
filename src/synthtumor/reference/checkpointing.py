"""Training checkpoints: what they hold, writing and reading them, resuming from one.

A checkpoint (``last.pt`` after every epoch, ``best.pt`` at the best validation score) holds
the model, optimizer, scheduler, AMP scaler, epoch, iteration, RNG states, the best score so
far and the config; :func:`load_checkpoint` reads it with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import contextlib
import os
import random
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from synthtumor.io import atomic_output
from synthtumor.reference.config import TrainingConfig, config_from_dict, config_to_dict

__all__ = [
    "CHECKPOINT_FORMAT",
    "RUN_FILES",
    "TrainingState",
    "check_resume_config",
    "check_run_dir",
    "checkpoint_state",
    "load_checkpoint",
    "save_checkpoint",
    "set_rng_state",
]

CHECKPOINT_FORMAT = "synthtumor-checkpoint-v1"
RUN_FILES = ("config.toml", "last.pt", "best.pt", "iterations.csv", "epochs.csv", "summary.json")


@dataclass(frozen=True)
class TrainingState:
    """The parts of a run that a checkpoint saves (torch objects) and the run's counters."""

    model: Any
    optimizer: Any
    scheduler: Any
    scaler: Any


def rng_state() -> dict[str, Any]:
    """Python, NumPy (legacy global, which MONAI seeds), torch and CUDA RNG states."""
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


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` saved."""
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
    """Read a checkpoint written by :func:`synthtumor.reference.train.train`.

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


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write a checkpoint atomically (a reader never sees a partial file)."""
    import torch

    with atomic_output(path, overwrite=True, suffix=".pt") as temporary:
        torch.save(state, temporary)


def checkpoint_state(
    config: TrainingConfig,
    state: TrainingState,
    *,
    epoch: int,
    iteration: int,
    best: dict[str, Any],
    metrics: dict[str, Any],
    world_size: int,
) -> dict[str, Any]:
    """Everything :func:`load_checkpoint` returns; `best` is ``Selection.state_dict()``."""
    import monai
    import torch

    from synthtumor import __version__

    return {
        "format": CHECKPOINT_FORMAT,
        "config": config_to_dict(config),
        "model": state.model.state_dict(),
        "optimizer": state.optimizer.state_dict(),
        "scheduler": state.scheduler.state_dict(),
        "scaler": state.scaler.state_dict(),
        "epoch": epoch,
        "iteration": iteration,
        **best,
        "metrics": {k: float(v) for k, v in metrics.items()},
        "rng": [rng_state()],
        "world_size": world_size,
        "versions": {
            "synthtumor": __version__,
            "torch": str(torch.__version__),
            "monai": str(monai.__version__),
        },
    }


def restore(state: TrainingState, checkpoint: dict[str, Any], rank: int) -> tuple[int, int]:
    """Load a checkpoint into `state` and the RNGs; returns its (epoch, iteration)."""
    state.model.load_state_dict(checkpoint["model"])
    state.optimizer.load_state_dict(checkpoint["optimizer"])
    state.scheduler.load_state_dict(checkpoint["scheduler"])
    state.scaler.load_state_dict(checkpoint["scaler"])
    set_rng_state(checkpoint["rng"][min(rank, len(checkpoint["rng"]) - 1)])
    return int(checkpoint["epoch"]), int(checkpoint["iteration"])


def check_run_dir(run_dir: Path, *, resuming: bool, overwrite: bool) -> None:
    """Refuse a folder that holds a run unless resuming or asked to overwrite."""
    existing = [name for name in RUN_FILES if (run_dir / name).exists()]
    if existing and not resuming and not overwrite:
        raise FileExistsError(
            f"{run_dir} already holds a run ({', '.join(existing)}); use another folder, "
            "--resume a checkpoint, or --force to start over"
        )


def check_resume_config(config: TrainingConfig, checkpoint: dict[str, Any]) -> None:
    """The model must match the checkpoint's; other changed sections only warn."""
    saved = config_from_dict(checkpoint["config"])
    if saved.model != config.model:
        raise ValueError(
            f"cannot resume: the checkpoint's model {saved.model} differs from the config's "
            f"{config.model}"
        )
    saved_sections = config_to_dict(saved)
    changed = [
        section
        for section, value in config_to_dict(config).items()
        if saved_sections.get(section) != value
    ]
    if changed:
        warnings.warn(f"resuming with changed config sections: {changed}", stacklevel=3)
