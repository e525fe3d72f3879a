"""The training configuration: nested frozen dataclasses, loadable from TOML or JSON.

The defaults are the paper's recipe (Hu et al., CVPR 2023, section 4 "Implementation", and the
released training code described in ``shared/design/REFERENCE.md``): 1 mm isotropic spacing, RAS,
synthetic tumours with probability 0.9 on healthy scans, the window [-21, 189] HU then scaling,
96^3 positive/negative crops, flips, rot90 and intensity jitter, DiceCE loss, AdamW with
lr 2e-4, linear warm-up then cosine annealing, batch 2, 4,000 epochs, and sliding-window
inference with overlap 0.75 and Gaussian weighting.

A config file is TOML (``.toml``, read with :mod:`tomllib`) or JSON (``.json``) with one table
per section; a top-level ``profile`` key picks the built-in starting point ("paper" or "smoke")
that the file's tables override. Any field can be overridden on the command line with
``--set section.field=value``; values are parsed and type-checked against the dataclass fields.

Examples
--------
>>> config = TrainingConfig()
>>> config.model.name, config.data.spacing_mm, config.optim.lr
('unet', (1.0, 1.0, 1.0), 0.0002)
>>> smoke = apply_overrides(profile_config("smoke"), ["train.batch_size=1", "optim.lr=1e-3"])
>>> smoke.model.name, smoke.train.batch_size, smoke.optim.lr, smoke.data.spacing_mm
('unet', 1, 0.001, (2.0, 2.0, 2.0))
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import tomllib
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, Literal

from synthtumor._renamed import (
    RENAMED_FIELDS,
    accepts_renamed,
    renamed_keys,
    renamed_value,
    warn_renamed,
)

__all__ = [
    "PROFILES",
    "SWIN_FEATURE_SIZES",
    "AugmentConfig",
    "DataConfig",
    "InferenceConfig",
    "ModelConfig",
    "OptimConfig",
    "SynthesisConfig",
    "TrainLoopConfig",
    "TrainingConfig",
    "ValidationConfig",
    "apply_overrides",
    "config_from_dict",
    "config_to_dict",
    "config_to_toml",
    "load_config",
    "profile_config",
]

Mode = Literal["synthetic", "real", "mixed"]

SWIN_FEATURE_SIZES: dict[str, int] = {"tiny": 12, "small": 24, "base": 48}
"""Swin UNETR feature size per variant, as in the paper (Figure 4: 4.0M, 15.7M, 62.1M)."""


def _positive_triple(values: Sequence[float], name: str) -> None:
    if len(values) != 3 or not all(math.isfinite(v) and v > 0 for v in values):
        raise ValueError(f"{name} must be 3 positive finite numbers, got {values!r}")


def _probability(value: float, name: str) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must lie in [0, 1], got {value!r}")


def _check_roi_size(roi_size: tuple[int, ...], name: str) -> None:
    # Any number of slices (>= 1) for a slice-wise 2-D model; TrainingConfig checks that the
    # model can down-sample the patch.
    if len(roi_size) != 3 or min(roi_size[:2]) < 8 or roi_size[2] < 1:
        raise ValueError(f"{name} must be 3 integers, (i, j) >= 8 and k >= 1, got {roi_size!r}")


@dataclass(frozen=True)
class DataConfig:
    """Data, pre-processing and training crops.

    Parameters
    ----------
    datalist : str
        Path of the datalist JSON written by ``synthtumor prepare`` (relative paths are taken
        from the working directory). Required for training.
    fold : int
        Which fold of the datalist to train on (its training and validation parts; its test
        part is never read during training).
    spacing_mm : (float, float, float)
        Target voxel spacing after resampling, in mm. Paper: 1 mm isotropic.
    orientation : str
        Axis codes the scans are reoriented to. Paper: "RAS".
    window_hu : (float, float)
        Intensity window in HU. Paper: (-21, 189).
    intensity_scaling : {"minmax", "zscore"}
        After clipping to the window: "minmax" maps it to [0, 1] (the released code);
        "zscore" subtracts the mean and divides by the standard deviation of the windowed scan
        (the paper's text).
    foreground_crop : {"body", "liver", "none"}
        Crop each scan before caching: "body" (default) to the box of voxels above -500 HU,
        "liver" to the liver's box, both with ``foreground_margin_mm``; "none" keeps the whole
        scan. "body" only drops air around the patient, which makes every training sample
        cheaper (synthesis, cropping); inference crops the same way and pads back. "liver"
        reads the label, so it applies to training only (validation and inference crop to
        the body): the model then sees little outside the liver's box.
    foreground_margin_mm : float
        Margin around the foreground box.
    roi_size : (int, int, int)
        Training crop size in voxels. Paper: 96^3.
    pos_neg_ratio : (float, float)
        Relative frequency of crops centred on foreground (liver or tumour) and background.
    class_crop_ratios : () or (float, float, float)
        When set, crops are centred on a voxel of class background, liver or tumour with
        these relative frequencies (MONAI ``RandCropByLabelClassesd``; a class a sample lacks
        is skipped), instead of ``pos_neg_ratio``. Tumour-centred crops show the model more
        tumour, which it needs most when tumours are a fraction of a percent of the liver
        crops. Needs the tumours before the crop: ``synthesis.where = "volume"``; the
        indices are found per sample, after synthesis (``precompute_crop_indices`` does not
        apply).
    samples_per_scan : int
        Crops drawn from one scan each time it is loaded.
    precompute_crop_indices : bool
        Compute the foreground/background voxel indices once and cache them (faster crops,
        more memory: one int64 per voxel of each cached scan).
    cache : {"memory", "disk", "none"}
        Cache the deterministic pre-processing in memory (``CacheDataset``), on disk in the run
        folder (``PersistentDataset``) or not at all. With "memory" and DDP every process holds
        every training scan.
    num_workers : int
        DataLoader worker processes per training process.
    repeats : int
        Passes over the training scans per epoch (an epoch of a few scans is then long enough
        that the per-epoch work, a checkpoint and maybe a validation, stays a small share).
    """

    datalist: str = ""
    fold: int = 0
    spacing_mm: tuple[float, float, float] = (1.0, 1.0, 1.0)
    orientation: str = "RAS"
    window_hu: tuple[float, float] = (-21.0, 189.0)
    intensity_scaling: Literal["minmax", "zscore"] = "minmax"
    foreground_crop: Literal["body", "liver", "none"] = "body"
    foreground_margin_mm: float = 16.0
    roi_size: tuple[int, int, int] = (96, 96, 96)
    pos_neg_ratio: tuple[float, float] = (1.0, 1.0)
    class_crop_ratios: tuple[float, ...] = ()
    samples_per_scan: int = 1
    precompute_crop_indices: bool = False
    cache: Literal["memory", "disk", "none"] = "memory"
    num_workers: int = 4
    repeats: int = 1

    def __post_init__(self) -> None:
        _positive_triple(self.spacing_mm, "data.spacing_mm")
        _check_roi_size(self.roi_size, "data.roi_size")
        if not self.window_hu[0] < self.window_hu[1]:
            raise ValueError(f"data.window_hu must be (low, high), got {self.window_hu!r}")
        if len(self.orientation) != 3:
            raise ValueError(f"data.orientation must be 3 axis codes, got {self.orientation!r}")
        if self.fold < 0 or self.samples_per_scan < 1 or self.num_workers < 0 or self.repeats < 1:
            raise ValueError(
                "data.fold and data.num_workers must be >= 0, samples_per_scan and repeats >= 1"
            )
        if min(self.pos_neg_ratio) < 0 or sum(self.pos_neg_ratio) <= 0:
            raise ValueError(f"data.pos_neg_ratio must be >= 0, got {self.pos_neg_ratio!r}")
        ratios = self.class_crop_ratios
        if ratios and (len(ratios) != 3 or min(ratios) < 0 or sum(ratios) <= 0):
            raise ValueError(
                "data.class_crop_ratios must be empty or 3 numbers >= 0 (background, liver, "
                f"tumour) with a positive sum, got {ratios!r}"
            )
        if self.foreground_margin_mm < 0:
            raise ValueError("data.foreground_margin_mm must be >= 0")


@dataclass(frozen=True)
class SynthesisConfig:
    """Synthetic tumours during training (``synthtumor.adapters.monai.RandLiverTumord``).

    Parameters
    ----------
    probability : float
        Probability of inserting tumours into a healthy training scan. Paper: 0.9.
    size : str
        A Table 6 preset ("tiny", "small", "medium", "large", "mix") or "random" to draw one
        with ``size_probabilities`` (paper).
    size_probabilities : 5 floats
        Probabilities of tiny, small, medium, large and mix.
    vessel_avoidance, mass_effect, capsule, elastic_deformation, edge_blur, tiny_tumors : bool
        Stage switches of :class:`synthtumor.TumorConfig` (all on by default; the released code
        trained without vessel avoidance, mass effect and capsule).
    on_small_liver : {"warn", "raise", "ignore"}
        What the transform does when a liver is too small for the drawn size (or absent):
        pass the sample through with a warning, raise, or pass it through silently.
    appearance : {"paper", "realistic"}
        The tumours' appearance mode (``docs/realism.md``). Default "paper".
    phase : {"non_contrast", "arterial", "portal", "delayed", "auto"}
        Realistic mode: the training scans' contrast phase ("auto": estimated per scan).
    lesion_types : str
        Realistic mode: a lesion type, or shares as ``"hcc=0.7,metastasis=0.3"``.
    pattern : {"none", "solitary", "multifocal", "satellite"}
        Clinical pattern ("none": Table 6's counts).
    config_file : str
        A TumorConfig file (TOML or JSON, e.g. from ``synthtumor calibrate``); when set it
        is the whole synthesis config and the fields above but `probability`, `size` and
        `on_small_liver` are not used.
    where : {"auto", "volume", "crop", "gpu"}
        Where the tumours are made (:mod:`synthtumor.reference.data`): on the whole scan
        before the crop ("volume", the paper's code), on each crop with the scan's cached
        liver statistics ("crop"), or on the training device after the loader ("gpu", needs
        ``synthtumor.torch``). "auto": the fastest that is correct here ("crop"; "volume" in
        the "mixed" mode and with the "zscore" scaling).
    organ : str
        The organ preset ("liver", "pancreas", "kidney"; ``docs/organs.md``), the organ being
        label 1 of the training labels. Default "liver".
    """

    probability: float = 0.9
    size: Literal["random", "tiny", "small", "medium", "large", "mix"] = "random"
    size_probabilities: tuple[float, float, float, float, float] = (0.2, 0.2, 0.2, 0.2, 0.2)
    vessel_avoidance: bool = True
    mass_effect: bool = True
    capsule: bool = True
    elastic_deformation: bool = True
    edge_blur: bool = True
    tiny_tumors: bool = True
    on_small_liver: Literal["warn", "raise", "ignore"] = "warn"
    appearance: Literal["paper", "realistic"] = "paper"
    phase: Literal["non_contrast", "arterial", "portal", "delayed", "auto"] = "portal"
    lesion_types: str = "metastasis"
    pattern: Literal["none", "solitary", "multifocal", "satellite"] = "none"
    config_file: str = ""
    where: Literal["auto", "volume", "crop", "gpu"] = "auto"
    organ: str = "liver"

    def __post_init__(self) -> None:
        from synthtumor.appearance import parse_lesion_shares
        from synthtumor.organs import ORGAN_NAMES

        if self.organ not in ORGAN_NAMES:
            raise ValueError(f"synthesis.organ must be one of {ORGAN_NAMES}, got {self.organ!r}")

        parse_lesion_shares(self.lesion_types, name="synthesis.lesion_types")
        _probability(self.probability, "synthesis.probability")
        if min(self.size_probabilities) < 0 or sum(self.size_probabilities) <= 0:
            raise ValueError("synthesis.size_probabilities must be >= 0 with a positive sum")

    def tumor_config(self, *, liver_label: int = 1, tumor_label: int = 2) -> Any:
        """The :class:`synthtumor.TumorConfig` these switches stand for."""
        from synthtumor.appearance import parse_lesion_shares
        from synthtumor.config import TumorConfig

        if self.config_file:
            return TumorConfig.from_file(self.config_file).replace(
                organ_label=liver_label, tumor_label=tumor_label
            )
        base = (
            TumorConfig.realistic(self.phase, parse_lesion_shares(self.lesion_types))
            if self.appearance == "realistic"
            else TumorConfig()
        )
        return base.replace(
            pattern=None if self.pattern == "none" else self.pattern,
            size_probabilities=self.size_probabilities,
            vessel_avoidance=self.vessel_avoidance,
            mass_effect=self.mass_effect,
            capsule=self.capsule,
            elastic_deformation=self.elastic_deformation,
            edge_blur=self.edge_blur,
            tiny_tumors=self.tiny_tumors,
            organ_label=liver_label,
            tumor_label=tumor_label,
        )

    @property
    def preset(self) -> str | None:
        """The size preset to pass to the transform (None = draw one)."""
        return None if self.size == "random" else self.size


@dataclass(frozen=True)
class AugmentConfig:
    """Random augmentation of training crops (the released code's values)."""

    flip_prob: float = 0.1
    rot90_prob: float = 0.1
    intensity_scale_prob: float = 0.1
    intensity_scale_factor: float = 0.1
    intensity_shift_prob: float = 0.1
    intensity_shift_offset: float = 0.1

    def __post_init__(self) -> None:
        for name in ("flip_prob", "rot90_prob", "intensity_scale_prob", "intensity_shift_prob"):
            _probability(getattr(self, name), f"augment.{name}")


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
_RENAMED_VALUES: dict[str, dict[str, str]] = {_SELECTION: {"tumour_dice": "tumor_dice"}}
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
        metric = renamed_value(self.selection_metric, _RENAMED_VALUES[_SELECTION], name=_SELECTION)
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
        _check_roi_size(self.roi_size, "inference.roi_size")
        if not 0 <= self.overlap < 1 or self.sw_batch_size < 1:
            raise ValueError("inference.overlap must lie in [0, 1) and sw_batch_size be >= 1")


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


# --------------------------------------------------------------------------------------------
# Profiles
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Conversion with type checks
# --------------------------------------------------------------------------------------------


def config_to_dict(config: Any) -> dict[str, Any]:
    """Plain nested dict of a config (tuples become lists), ready for JSON or TOML."""

    def plain(value: Any) -> Any:
        if is_dataclass(value):
            return {f.name: plain(getattr(value, f.name)) for f in fields(value)}
        if isinstance(value, tuple | list):
            return [plain(v) for v in value]
        return value

    return plain(config)


_SCALARS: dict[Any, tuple[tuple[type, ...], str]] = {
    bool: ((bool,), "true or false"),
    int: ((int,), "an integer"),
    float: ((int, float), "a number"),
    str: ((str,), "a string"),
}


def _coerce(value: Any, kind: Any, where: str) -> Any:
    """Check `value` against the annotation `kind`; lists become tuples, ints floats."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is Literal:
        if value not in args:
            raise ValueError(f"{where} must be one of {list(args)}, got {value!r}")
        return value
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise TypeError(f"{where} must be a list, got {value!r}")
        kinds = [args[0]] * len(value) if args[-1] is Ellipsis else list(args)
        if len(value) != len(kinds):
            raise ValueError(f"{where} must have {len(kinds)} entries, got {len(value)}: {value!r}")
        return tuple(
            _coerce(v, k, f"{where}[{i}]")
            for i, (v, k) in enumerate(zip(value, kinds, strict=True))
        )
    accepted, name = _SCALARS[kind]
    if not isinstance(value, accepted) or (kind is not bool and isinstance(value, bool)):
        raise TypeError(f"{where} must be {name}, got {value!r}")
    return float(typing.cast(float, value)) if kind is float else value


def _build(cls: type, data: Mapping[str, Any], where: str) -> Any:
    if not isinstance(data, Mapping):
        raise TypeError(f"{where or 'config'} must be a table, got {data!r}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        prefix = f"{where}." if where else ""
        raise KeyError(
            f"unknown config key(s) {[prefix + k for k in unknown]}; "
            f"{where or 'the top level'} has {sorted(known)}"
        )
    kwargs = {}
    for name, value in data.items():
        kind = hints[name]
        key = f"{where}.{name}" if where else name
        if is_dataclass(kind):
            kwargs[name] = _build(typing.cast(type, kind), value, key)
        else:
            kwargs[name] = _coerce(value, kind, key)
    return cls(**kwargs)


def _merge(base: dict[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _current_names(cls: type, data: Any, where: str) -> Any:
    """`data` with the old names of fields and values replaced by the new ones (they warn).

    Done before the profile's defaults are merged in, which hold the new names only.
    """
    if not isinstance(data, Mapping):
        return data  # _build says what is wrong
    prefix = f"{where}." if where else ""
    current = renamed_keys(data, getattr(cls, RENAMED_FIELDS, {}), prefix=prefix)
    hints = typing.get_type_hints(cls)
    for name, value in current.items():
        kind, key = hints.get(name), prefix + name
        if kind is not None and is_dataclass(kind):
            current[name] = _current_names(typing.cast(type, kind), value, key)
        elif key in _RENAMED_VALUES:
            current[name] = renamed_value(value, _RENAMED_VALUES[key], name=key)
    return current


def config_from_dict(data: Mapping[str, Any]) -> TrainingConfig:
    """Build a config from a (possibly partial) nested dict, starting from its ``profile``.

    Unknown keys raise :class:`KeyError`; values of the wrong type :class:`TypeError`; values
    out of range :class:`ValueError`. The old spellings of renamed keys and values (a config
    an older version wrote: ``validation.synthetic_tumours``,
    ``inference.tumour_max_distance_mm``, ``train.selection_metric = "tumour_dice"``) still
    load, with a DeprecationWarning each.

    Examples
    --------
    >>> config_from_dict({"profile": "smoke", "train": {"max_epochs": 3}}).train.max_epochs
    3
    >>> config_from_dict({"train": {"max_epochs": "3"}})
    Traceback (most recent call last):
    ...
    TypeError: train.max_epochs must be an integer, got '3'
    """
    profile = data.get("profile", "paper")
    if not isinstance(profile, str):
        raise TypeError(f"profile must be a string, got {profile!r}")
    base = config_to_dict(profile_config(profile))
    return _build(TrainingConfig, _merge(base, _current_names(TrainingConfig, data, "")), "")


def load_config(
    path: str | os.PathLike | None = None, overrides: Sequence[str] = ()
) -> TrainingConfig:
    """Read a TOML or JSON config file and apply ``key=value`` overrides.

    Parameters
    ----------
    path : path-like or None
        ``.toml`` or ``.json`` file; None starts from the "paper" profile (or the profile an
        override names with ``profile=...``).
    overrides : sequence of str
        ``section.field=value`` strings (see :func:`apply_overrides`).
    """
    data: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        text = path.read_text(encoding="utf-8")
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        elif path.suffix.lower() == ".toml":
            data = tomllib.loads(text)
        else:
            raise ValueError(f"config file must end in .toml or .json, got {path}")
    profile_overrides = [o for o in overrides if o.split("=", 1)[0].strip() == "profile"]
    for override in profile_overrides:
        data["profile"] = override.split("=", 1)[1].strip()
    config = config_from_dict(data)
    rest = [o for o in overrides if o not in profile_overrides]
    return apply_overrides(config, rest)


def _parse_value(text: str, kind: Any) -> Any:
    """A command-line value as TOML (``64,64,64`` and ``(64, 64, 64)`` as lists); strings
    and anything that is not TOML stay text, for :func:`_coerce` to judge."""
    text = text.strip()
    args = typing.get_args(kind)
    if kind is str or (
        typing.get_origin(kind) is Literal and all(isinstance(a, str) for a in args)
    ):
        return text.strip("\"'")
    if typing.get_origin(kind) is tuple:
        text = "[" + (text[1:-1] if text[:1] in "[(" and text[-1:] in "])" else text) + "]"
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text


def apply_overrides(config: TrainingConfig, overrides: Sequence[str]) -> TrainingConfig:
    """Apply ``section.field=value`` overrides, type-checked against the dataclasses.

    Values are TOML (``train.amp=false``, ``optim.lr=1e-3``); tuples also take
    comma-separated values (``data.roi_size=64,64,64``); string fields take the text as is.
    The old spellings of renamed keys and values work as in :func:`config_from_dict`.

    Examples
    --------
    >>> apply_overrides(TrainingConfig(), ["data.roi_size=64,64,64"]).data.roi_size
    (64, 64, 64)
    >>> apply_overrides(TrainingConfig(), ["optim.lr=fast"])
    Traceback (most recent call last):
    ...
    TypeError: optim.lr must be a number, got 'fast'
    """
    data = config_to_dict(config)
    for override in overrides:
        if "=" not in override:
            raise ValueError(f"override must look like section.field=value, got {override!r}")
        key, text = (part.strip() for part in override.split("=", 1))
        path = key.split(".")
        cls: Any = TrainingConfig
        target = data
        for depth in range(len(path)):
            hints = typing.get_type_hints(cls)
            name = _current_name(cls, path, depth)
            if name not in hints:
                where = ".".join(path[:depth]) or "the top level"
                raise KeyError(f"unknown config key {key!r}: {where} has {sorted(hints)}")
            kind = hints[name]
            if depth == len(path) - 1:
                if is_dataclass(kind):
                    raise KeyError(f"{key!r} is a section; set one of its fields")
                value = _parse_value(text, kind)
                full = ".".join(path)
                target[name] = renamed_value(value, _RENAMED_VALUES.get(full, {}), name=full)
            else:
                if not is_dataclass(kind):
                    raise KeyError(f"{'.'.join(path[: depth + 1])!r} is not a section")
                cls, target = kind, target[name]
    return _build(TrainingConfig, data, "")


def _current_name(cls: Any, path: list[str], depth: int) -> str:
    """``path[depth]``, the new name of a renamed field (with a warning); `path` is updated."""
    name = path[depth]
    new = getattr(cls, RENAMED_FIELDS, {}).get(name)
    if new is None:
        return name
    old_key = ".".join(path[: depth + 1])
    path[depth] = new
    warn_renamed(old_key, ".".join(path[: depth + 1]))
    return new


def config_to_toml(config: TrainingConfig) -> str:
    """TOML text of a config (the format :func:`load_config` reads).

    Examples
    --------
    >>> text = config_to_toml(profile_config("smoke"))
    >>> config_from_dict(tomllib.loads(text)) == profile_config("smoke")
    True
    """

    from synthtumor.config_file import toml_text

    return toml_text(config_to_dict(config))
