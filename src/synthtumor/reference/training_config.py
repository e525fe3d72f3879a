"""The whole training config: its sections, and the check across them.

The check across sections: the training crops and the inference windows must be sizes the
model can down-sample.

Examples
--------
>>> TrainingConfig().replace(seed=3).seed
3
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from synthtumor.reference.config_input import AugmentConfig, DataConfig, SynthesisConfig
from synthtumor.reference.config_network import (
    InferenceConfig,
    ModelConfig,
    OptimConfig,
    TrainLoopConfig,
    ValidationConfig,
)

__all__ = ["TrainingConfig"]

Mode = Literal["synthetic", "real", "mixed"]


@dataclass(frozen=True)
class TrainingConfig:
    """Everything one training run needs; the defaults are the paper's U-Net, synthetic only.

    Parameters
    ----------
    name : str
        Run name, recorded in logs and checkpoints.
    profile : str
        The built-in profile this config started from ("paper" or "smoke").
    mode : {"synthetic", "real", "mixed"}
        "synthetic": train on the healthy scans only, with synthetic tumours (label-free).
        "real": train on every training scan with its own labels, no synthesis.
        "mixed": every training scan; healthy ones get synthetic tumours, scans with real
        tumours keep them.
    seed : int
        Seeds everything (MONAI ``set_determinism``, data loader workers, synthesis).
    """

    name: str = "unet_synthetic"
    profile: str = "paper"
    mode: Mode = "synthetic"
    seed: int = 0
    data: DataConfig = field(default_factory=DataConfig)
    synthesis: SynthesisConfig = field(default_factory=SynthesisConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainLoopConfig = field(default_factory=TrainLoopConfig)
    validation: ValidationConfig = field(default_factory=ValidationConfig)
    inference: InferenceConfig = field(default_factory=InferenceConfig)

    def __post_init__(self) -> None:
        divisor = self.model.divisor
        for name, size in (
            ("data.roi_size", self.data.roi_size),
            ("inference.roi_size", self.inference.roi_size),
        ):
            # A slice-wise 2-D network down-samples the slices only, not their number.
            downsampled = size[:2] if self.model.spatial_dims == 2 else size
            if any(s % divisor for s in downsampled):
                raise ValueError(
                    f"{name} {size!r} must be a multiple of {divisor} for model {self.model.name!r}"
                )

    def replace(self, **changes: Any) -> TrainingConfig:
        """A copy with some top-level fields changed."""
        return dataclasses.replace(self, **changes)
