"""The built-in starting points of a training config: "paper" (the defaults) and "smoke".

A config file's ``profile`` key (or ``--set profile=...``) picks one; the file's tables override it.
"""

from __future__ import annotations

from typing import Any

from synthtumor.reference.config_input import DataConfig
from synthtumor.reference.config_network import (
    InferenceConfig,
    ModelConfig,
    OptimConfig,
    TrainLoopConfig,
    ValidationConfig,
)
from synthtumor.reference.training_config import TrainingConfig

__all__ = ["PROFILES", "profile_config"]


def _smoke() -> TrainingConfig:
    return TrainingConfig(
        name="smoke",
        profile="smoke",
        data=DataConfig(
            spacing_mm=(2.0, 2.0, 2.0),
            roi_size=(48, 48, 48),
            foreground_crop="body",
            foreground_margin_mm=24.0,
            samples_per_scan=2,
            precompute_crop_indices=True,
            num_workers=0,
        ),
        model=ModelConfig(channels=(8, 16, 32, 64), strides=(2, 2, 2), num_res_units=1),
        optim=OptimConfig(lr=2e-3, warmup_epochs=1),
        train=TrainLoopConfig(max_epochs=20, batch_size=1, val_every=5, progress=False),
        validation=ValidationConfig(overlap=0.25, sw_batch_size=8),
        inference=InferenceConfig(roi_size=(48, 48, 48), overlap=0.25, sw_batch_size=8),
    )


PROFILES: dict[str, Any] = {"paper": TrainingConfig, "smoke": _smoke}
"""Built-in starting points: "paper" (the defaults) and "smoke" (a CPU run of a few minutes)."""


def profile_config(name: str) -> TrainingConfig:
    """The built-in config of a profile.

    Examples
    --------
    >>> profile_config("smoke").data.roi_size
    (48, 48, 48)
    """
    if name not in PROFILES:
        raise ValueError(f"profile must be one of {sorted(PROFILES)}, got {name!r}")
    return PROFILES[name]()
