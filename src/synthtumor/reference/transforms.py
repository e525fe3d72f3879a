"""MONAI transform pipelines built from a :class:`~synthtumor.reference.config.TrainingConfig`.

Training (paper recipe)::

    LoadImaged -> EnsureChannelFirstd -> Orientationd(RAS) -> Spacingd(1 mm)
      [-> CropForegroundd] -> SpatialPadd(roi) [-> FgBgToIndicesd]          (cached)
      -> RandLiverTumord(p=0.9, healthy scans only) -> RandCropByPosNegLabeld(96^3)
      -> window [-21, 189] + scaling -> RandFlipd x3 -> RandRotate90d
      -> RandScaleIntensityd -> RandShiftIntensityd

With ``synthesis.where = "volume"`` synthesis runs on the whole scan in HU at the training
spacing, before cropping, as in the paper's code; with "crop" ``LiverStatisticsd`` joins the
cached prefix and ``RandLiverTumord`` runs on each crop, before the window; with "gpu" the
loader stops before the intensity steps (the batch is synthesized, windowed and jittered on the
device, :mod:`synthtumor.reference.device_synthesis`). The "minmax" window is voxel-wise,
so it is applied to the crops (the same result as on the whole scan, cheaper); "zscore"
needs the whole scan's statistics and is applied before cropping. Validation and inference
use the deterministic part and the intensity scaling; inference adds
:func:`inverse_to_native` (``Invertd``) to go back to the scan's grid.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from synthtumor.reference.config import DataConfig, TrainingConfig

__all__ = [
    "BG_INDICES_KEY",
    "FG_INDICES_KEY",
    "inference_transforms",
    "intensity_transform",
    "inverse_to_native",
    "preprocessing_transforms",
    "synthesis_transform",
    "train_transforms",
]

STATISTICS_KEY = "liver_statistics"

FG_INDICES_KEY = "label_fg_indices"
BG_INDICES_KEY = "label_bg_indices"
_BODY_THRESHOLD_HU = -500.0
_PAD_HU = -1024.0
_AXIS_LABELS = (("L", "R"), ("P", "A"), ("I", "S"))


def _above_body_threshold(image: Any) -> Any:
    """Voxels of the body (above -500 HU): the foreground of ``foreground_crop="body"``."""
    return image > _BODY_THRESHOLD_HU


def _margin_voxels(data: DataConfig) -> list[int]:
    return [math.ceil(data.foreground_margin_mm / s) for s in data.spacing_mm]


def preprocessing_transforms(
    config: TrainingConfig,
    *,
    with_label: bool = True,
    pad_to_roi: bool = False,
    load: bool = True,
    label_crop: bool = True,
) -> list[Any]:
    """The deterministic part: load, channel first, orientation, spacing, foreground crop.

    Parameters
    ----------
    config : TrainingConfig
    with_label : bool
        Also load and resample ``"label"`` (nearest neighbour). Without a label the "liver"
        foreground crop falls back to "body".
    pad_to_roi : bool
        Pad to at least ``data.roi_size`` (image with -1024 HU, label with 0).
    load : bool
        Start with ``LoadImaged`` and ``EnsureChannelFirstd`` (file paths in); False for
        channel-first ``MetaTensor`` inputs.
    label_crop : bool
        Allow the "liver" foreground crop, which reads the label. False (validation, inference)
        crops to the body instead, so what the model is scored on does not depend on the label.
    """
    from monai.transforms import (
        CropForegroundd,
        EnsureChannelFirstd,
        LoadImaged,
        Orientationd,
        Spacingd,
        SpatialPadd,
    )

    data = config.data
    keys = ["image", "label"] if with_label else ["image"]
    modes = ["bilinear", "nearest"] if with_label else ["bilinear"]
    transforms: list[Any] = []
    if load:
        transforms += [
            LoadImaged(keys=keys, image_only=True, dtype=np.float32),
            EnsureChannelFirstd(keys=keys),
        ]
    transforms += [
        Orientationd(keys=keys, axcodes=data.orientation, labels=_AXIS_LABELS),
        Spacingd(keys=keys, pixdim=data.spacing_mm, mode=modes),
    ]
    crop = data.foreground_crop
    if crop == "liver" and not (with_label and label_crop):
        crop = "body"
    if crop == "liver":
        transforms.append(
            CropForegroundd(
                keys=keys, source_key="label", margin=_margin_voxels(data), allow_smaller=True
            )
        )
    elif crop == "body":
        transforms.append(
            CropForegroundd(
                keys=keys,
                source_key="image",
                select_fn=_above_body_threshold,
                margin=_margin_voxels(data),
                allow_smaller=True,
            )
        )
    if pad_to_roi:
        transforms.append(SpatialPadd(keys=["image"], spatial_size=data.roi_size, value=_PAD_HU))
        if with_label:
            transforms.append(SpatialPadd(keys=["label"], spatial_size=data.roi_size, value=0))
    return transforms


def intensity_transform(config: TrainingConfig) -> list[Any]:
    """Clip to ``data.window_hu`` then scale to [0, 1] ("minmax") or z-score ("zscore")."""
    from monai.transforms import NormalizeIntensityd, ScaleIntensityRanged

    low, high = config.data.window_hu
    if config.data.intensity_scaling == "minmax":
        return [
            ScaleIntensityRanged(
                keys=["image"], a_min=low, a_max=high, b_min=0.0, b_max=1.0, clip=True
            )
        ]
    return [
        ScaleIntensityRanged(
            keys=["image"], a_min=low, a_max=high, b_min=low, b_max=high, clip=True
        ),
        NormalizeIntensityd(keys=["image"]),
    ]


def synthesis_transform(
    config: TrainingConfig, *, prob: float | None = None, on_crops: bool = False
) -> Any:
    """``RandLiverTumord`` as the config asks (tumours only in scans without real tumours).

    `on_crops`: it reads the scan's ``LiverStatisticsd`` output and passes crops without liver
    through silently (negative crops hold none by design).
    """
    from synthtumor.adapters.monai import RandLiverTumord

    synthesis = config.synthesis
    return RandLiverTumord(
        keys=["image", "label"],
        organ_label=1,
        tumor_label=2,
        prob=synthesis.probability if prob is None else prob,
        size=synthesis.preset,
        config=synthesis.tumor_config(),
        skip_if_tumor_present=True,
        on_small_liver="ignore" if on_crops else synthesis.on_small_liver,
        statistics_key=STATISTICS_KEY if on_crops else None,
        organ=synthesis.organ,
    )


def statistics_transform(config: TrainingConfig) -> Any:
    """``LiverStatisticsd``: the liver measured once per scan, for synthesis on crops."""
    from synthtumor.adapters.monai import LiverStatisticsd

    return LiverStatisticsd(
        keys=["image", "label"],
        config=config.synthesis.tumor_config(),
        statistics_key=STATISTICS_KEY,
    )


def _crop_transform(data: DataConfig, *, precomputed: bool) -> Any:
    """``data.samples_per_scan`` crops, by label class or by foreground and background."""
    from monai.transforms import RandCropByLabelClassesd, RandCropByPosNegLabeld

    keys = ["image", "label"]
    if data.class_crop_ratios:
        return RandCropByLabelClassesd(
            keys=keys,
            label_key="label",
            spatial_size=data.roi_size,
            ratios=list(data.class_crop_ratios),
            num_classes=len(data.class_crop_ratios),
            num_samples=data.samples_per_scan,
            warn=False,  # a scan without tumour (synthesis skipped) is expected
        )
    return RandCropByPosNegLabeld(
        keys=keys,
        label_key="label",
        spatial_size=data.roi_size,
        pos=data.pos_neg_ratio[0],
        neg=data.pos_neg_ratio[1],
        num_samples=data.samples_per_scan,
        fg_indices_key=FG_INDICES_KEY if precomputed else None,
        bg_indices_key=BG_INDICES_KEY if precomputed else None,
    )


def train_transforms(config: TrainingConfig, *, synthesis: bool, where: str = "volume") -> Any:
    """The training pipeline (a ``Compose``); `synthesis` adds ``RandLiverTumord``.

    `where` ("volume", "crop" or "gpu", see :mod:`synthtumor.reference.data`) places it. The
    deterministic prefix ends right before the first random transform, so ``CacheDataset``
    caches it (with the liver statistics for "crop" and "gpu").
    """
    import torch
    from monai.transforms import (
        Compose,
        DeleteItemsd,
        EnsureTyped,
        FgBgToIndicesd,
        RandFlipd,
        RandRotate90d,
        RandScaleIntensityd,
        RandShiftIntensityd,
    )

    data, augment = config.data, config.augment
    keys = ["image", "label"]
    transforms = preprocessing_transforms(config, with_label=True, pad_to_roi=True)
    precomputed = data.precompute_crop_indices and not data.class_crop_ratios
    if precomputed:
        # Synthetic tumours lie inside the liver, so the foreground (label > 0) they leave is
        # the cached one, up to the odd voxel moved by the mass effect.
        transforms.append(FgBgToIndicesd(keys="label", fg_postfix="_fg_indices"))
    on_crops = synthesis and where in ("crop", "gpu")
    if on_crops:
        transforms.append(statistics_transform(config))
    if synthesis and where == "volume":
        transforms.append(synthesis_transform(config))
    whole_scan_scaling = data.intensity_scaling != "minmax"
    if whole_scan_scaling:
        transforms += intensity_transform(config)
    transforms.append(_crop_transform(data, precomputed=precomputed))
    if precomputed:
        transforms.append(DeleteItemsd(keys=[FG_INDICES_KEY, BG_INDICES_KEY]))
    if synthesis and where == "crop":
        transforms += [synthesis_transform(config, on_crops=True), DeleteItemsd(STATISTICS_KEY)]
    spatial = [
        RandFlipd(keys=keys, prob=augment.flip_prob, spatial_axis=0),
        RandFlipd(keys=keys, prob=augment.flip_prob, spatial_axis=1),
        RandFlipd(keys=keys, prob=augment.flip_prob, spatial_axis=2),
        RandRotate90d(keys=keys, prob=augment.rot90_prob, max_k=3),
    ]
    to_tensors = EnsureTyped(keys=keys, dtype=(torch.float32, torch.uint8), track_meta=False)
    if synthesis and where == "gpu":
        # HU crops and their statistics go to the device; see device_synthesis.
        return Compose([*transforms, *spatial, to_tensors])
    if not whole_scan_scaling:
        # Voxel-wise windowing: on the crops it costs a fraction of a whole-scan pass.
        transforms += intensity_transform(config)
    transforms += [
        *spatial,
        RandScaleIntensityd(
            keys="image", factors=augment.intensity_scale_factor, prob=augment.intensity_scale_prob
        ),
        RandShiftIntensityd(
            keys="image",
            offsets=augment.intensity_shift_offset,
            prob=augment.intensity_shift_prob,
        ),
        to_tensors,
    ]
    return Compose(transforms)


def inference_transforms(config: TrainingConfig, *, with_label: bool = False) -> Any:
    """Deterministic pre-processing for validation and inference (a ``Compose``)."""
    from monai.transforms import Compose

    return Compose(
        preprocessing_transforms(config, with_label=with_label) + intensity_transform(config)
    )


def inverse_to_native(preprocessing: Any, *, keys: Sequence[str] = ("pred",)) -> Any:
    """``Invertd`` that takes a prediction back through `preprocessing` to the scan's grid.

    Probabilities are interpolated linearly (``nearest_interp=False``); take the argmax after.
    """
    from monai.transforms import Invertd

    return Invertd(
        keys=list(keys),
        transform=preprocessing,
        orig_keys="image",
        nearest_interp=False,
        to_tensor=True,
    )
