"""The config sections of the training input: data and crops, synthetic tumours, augmentation.

They are sections of :class:`~synthtumor.reference.config.TrainingConfig` (``[data]``,
``[synthesis]``, ``[augment]`` of a config file); each checks its own values.

Examples
--------
>>> DataConfig(roi_size=(64, 64, 64)).roi_size
(64, 64, 64)
>>> AugmentConfig(flip_prob=2.0)
Traceback (most recent call last):
...
ValueError: augment.flip_prob must lie in [0, 1], got 2.0
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from synthtumor._validation import check_probability

__all__ = ["AugmentConfig", "DataConfig", "SynthesisConfig"]


def _positive_triple(values: Sequence[float], name: str) -> None:
    if len(values) != 3 or not all(math.isfinite(v) and v > 0 for v in values):
        raise ValueError(f"{name} must be 3 positive finite numbers, got {values!r}")


def check_roi_size(roi_size: tuple[int, ...], name: str) -> None:
    """Refuse a crop or window size that is not 3 integers, (i, j) >= 8 and k >= 1."""
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
        check_roi_size(self.roi_size, "data.roi_size")
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
        check_probability(self.probability, name="synthesis.probability")
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
            check_probability(getattr(self, name), name=f"augment.{name}")
