"""The config sections of the network and its use: model, optimiser, loop, validation, inference.

They are sections of :class:`~synthtumor.reference.config.TrainingConfig` (``[model]``,
``[optim]``, ``[train]``, ``[validation]``, ``[inference]`` of a config file); each checks its
own values.

Examples
--------
>>> ModelConfig(name="swin_unetr", swin_variant="tiny").swin_feature_size
12
>>> TrainLoopConfig(max_epochs=0)
Traceback (most recent call last):
...
ValueError: train.max_epochs, train.batch_size and train.val_every must be >= 1
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from synthtumor._renamed import accepts_renamed, renamed_value
from synthtumor.reference.config_input import check_roi_size

__all__ = [
    "SWIN_FEATURE_SIZES",
    "InferenceConfig",
    "ModelConfig",
    "OptimConfig",
    "TrainLoopConfig",
    "ValidationConfig",
]

SWIN_FEATURE_SIZES: dict[str, int] = {"tiny": 12, "small": 24, "base": 48}
"""Swin UNETR feature size per variant, as in the paper (Figure 4: 4.0M, 15.7M, 62.1M)."""


@dataclass(frozen=True)
class ModelConfig:
    """The segmentation network (3 output classes: background, liver, tumour).

    Parameters
    ----------
    name : {"unet", "swin_unetr"}
        MONAI ``UNet`` (the paper's U-Net) or ``SwinUNETR``.
    channels, strides, num_res_units, dropout
        U-Net: paper (16, 32, 64, 128, 256), strides 2, 2 residual units.
    swin_variant : {"tiny", "small", "base"}
        Swin UNETR size: feature size 12, 24 or 48 (unless ``feature_size`` > 0).
    feature_size : int
        Swin UNETR feature size; 0 takes it from ``swin_variant``.
    use_checkpoint : bool
        Gradient checkpointing in Swin UNETR (less memory, slower).
    spatial_dims : {3, 2}
        3: a 3-D network (the paper's). 2: a 2-D U-Net applied to each slice of the last
        (axial) axis of the 3-D patches (:class:`~synthtumor.reference.slice_model.SliceWise`):
        the data, the synthesis and the sliding window stay 3-D, and the patches may be any
        depth (``roi_size`` ``(i, j, k)`` holds k slices).
    """

    name: Literal["unet", "swin_unetr"] = "unet"
    channels: tuple[int, ...] = (16, 32, 64, 128, 256)
    strides: tuple[int, ...] = (2, 2, 2, 2)
    num_res_units: int = 2
    dropout: float = 0.0
    swin_variant: Literal["tiny", "small", "base"] = "base"
    feature_size: int = 0
    use_checkpoint: bool = False
    spatial_dims: Literal[2, 3] = 3

    def __post_init__(self) -> None:
        if self.spatial_dims not in (2, 3):
            raise ValueError(f"model.spatial_dims must be 2 or 3, got {self.spatial_dims!r}")
        if self.spatial_dims == 2 and self.name != "unet":
            raise ValueError(f"model.spatial_dims=2 is for the U-Net, got model.name={self.name!r}")
        if len(self.strides) != len(self.channels) - 1 or len(self.channels) < 2:
            raise ValueError(
                "model.strides must have one entry less than model.channels, got "
                f"channels={self.channels!r}, strides={self.strides!r}"
            )
        if self.feature_size < 0 or (self.feature_size and self.feature_size % 12):
            raise ValueError(
                f"model.feature_size must be 0 or a multiple of 12, got {self.feature_size}"
            )

    @property
    def swin_feature_size(self) -> int:
        """The Swin UNETR feature size that will be built."""
        return self.feature_size or SWIN_FEATURE_SIZES[self.swin_variant]

    @property
    def divisor(self) -> int:
        """Input sizes must be multiples of this (the network's total down-sampling)."""
        if self.name == "swin_unetr":
            return 32
        return int(math.prod(self.strides))


@dataclass(frozen=True)
class OptimConfig:
    """AdamW with linear warm-up then cosine annealing (per iteration)."""

    lr: float = 2e-4
    weight_decay: float = 1e-5
    warmup_epochs: int = 50
    warmup_start_factor: float = 0.01
    min_lr: float = 0.0
    grad_clip_norm: float = 0.0

    def __post_init__(self) -> None:
        if not self.lr > 0 or self.weight_decay < 0 or self.warmup_epochs < 0 or self.min_lr < 0:
            raise ValueError("optim.lr must be > 0; weight_decay, warmup_epochs, min_lr >= 0")
        if not 0 < self.warmup_start_factor <= 1:
            raise ValueError("optim.warmup_start_factor must lie in (0, 1]")


_SELECTION = "train.selection_metric"
RENAMED_VALUES: dict[str, dict[str, str]] = {_SELECTION: {"tumour_dice": "tumor_dice"}}
"""Old values of choice fields -> new, by ``section.field`` (they warn)."""


@dataclass(frozen=True)
class TrainLoopConfig:
    """The training loop.

    Parameters
    ----------
    max_epochs : int
        Epochs (passes over the training scans). Paper: 4,000.
    batch_size : int
        Crops per optimisation step per process (per GPU). Paper: 2.
    max_iterations_per_epoch : int
        Cap on optimisation steps per epoch (0: a full pass).
    val_every : int
        Validate every this many epochs (and after the last).
    amp : bool
        Mixed precision (float16 autocast and GradScaler) on CUDA; ignored on the CPU.
    selection_metric : {"tumor_dice", "liver_dice", "mean_dice"}
        Validation metric that picks ``best.pt``. "tumor_dice" falls back to "liver_dice"
        when no validation case holds a tumour. The old spelling "tumour_dice" still works,
        with a DeprecationWarning.
    progress : bool
        Show a tqdm progress bar (rank 0 only).
    deterministic : bool
        Also ask PyTorch for deterministic algorithms (slower). Seeding is always done.
    """

    max_epochs: int = 4000
    batch_size: int = 2
    max_iterations_per_epoch: int = 0
    val_every: int = 100
    amp: bool = True
    selection_metric: Literal["tumor_dice", "liver_dice", "mean_dice"] = "tumor_dice"
    progress: bool = True
    deterministic: bool = False

    def __post_init__(self) -> None:
        metric = renamed_value(self.selection_metric, RENAMED_VALUES[_SELECTION], name=_SELECTION)
        object.__setattr__(self, "selection_metric", metric)
        if self.max_epochs < 1 or self.batch_size < 1 or self.val_every < 1:
            raise ValueError("train.max_epochs, train.batch_size and train.val_every must be >= 1")
        if self.max_iterations_per_epoch < 0:
            raise ValueError("train.max_iterations_per_epoch must be >= 0")


@accepts_renamed({"synthetic_tumours": "synthetic_tumors"})
@dataclass(frozen=True)
class ValidationConfig:
    """Validation during training (on the fold's validation part only, never its test part).

    Parameters
    ----------
    synthetic_tumors : bool
        Put synthetic tumours, with a fixed seed per case, into healthy validation scans, so a
        label-free run has a tumour metric to select on. Scans with real tumours are kept.
        ``synthetic_tumours``, the old spelling, still works (with a DeprecationWarning).
    seed : int
        Seed of those fixed validation tumours.
    synthetic_variants : int
        Versions of each healthy validation scan, each with its own fixed tumours (variant 0
        is the one a single version gets); the tumour Dice is their mean, which one draw of
        one or two tumours makes noisy.
    overlap, sw_batch_size
        Sliding-window settings for validation (cheaper than inference by default).
    max_cases : int
        Validate on at most this many cases (0: all).
    """

    synthetic_tumors: bool = True
    seed: int = 12345
    synthetic_variants: int = 1
    overlap: float = 0.5
    sw_batch_size: int = 4
    max_cases: int = 0

    def __post_init__(self) -> None:
        if self.synthetic_variants < 1:
            raise ValueError(
                f"validation.synthetic_variants must be >= 1, got {self.synthetic_variants}"
            )
        if not 0 <= self.overlap < 1 or self.sw_batch_size < 1 or self.max_cases < 0:
            raise ValueError("validation.overlap in [0, 1), sw_batch_size >= 1, max_cases >= 0")


@accepts_renamed({"tumour_max_distance_mm": "tumor_max_distance_mm"})
@dataclass(frozen=True)
class InferenceConfig:
    """Sliding-window inference and the paper's post-processing.

    Parameters
    ----------
    roi_size : (int, int, int)
        Window size (paper: 96^3, the training crop).
    overlap : float
        Window overlap. Paper: 0.75.
    blend_mode : {"gaussian", "constant"}
        Window weighting. Paper: Gaussian.
    sw_batch_size : int
        Windows per forward pass.
    keep_largest_liver : bool
        Keep only the largest connected component of liver-or-tumour.
    tumor_max_distance_mm : float
        Tumour voxels farther than this from the kept liver are removed (negative: keep all).
        ``tumour_max_distance_mm``, the old spelling, still works (with a DeprecationWarning).
    """

    roi_size: tuple[int, int, int] = (96, 96, 96)
    overlap: float = 0.75
    blend_mode: Literal["gaussian", "constant"] = "gaussian"
    sw_batch_size: int = 4
    keep_largest_liver: bool = True
    tumor_max_distance_mm: float = 5.0

    def __post_init__(self) -> None:
        check_roi_size(self.roi_size, "inference.roi_size")
        if not 0 <= self.overlap < 1 or self.sw_batch_size < 1:
            raise ValueError("inference.overlap must lie in [0, 1) and sw_batch_size be >= 1")
