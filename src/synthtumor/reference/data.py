"""Training data: the fold's cases, where synthesis runs, the dataset and the loader.

``synthesis.where`` picks where the synthetic tumours are made:

* ``"volume"``: on the whole (pre-processed) scan, then a crop keeps ``data.roi_size`` of it
  (the paper's code);
* ``"crop"``: ``LiverStatisticsd`` measures each scan's liver once (cached with the scan),
  ``RandLiverTumord`` synthesizes on each crop with those statistics: the cost follows the
  crop, not the scan (``docs/monai.md``, "Synthesis on the crop");
* ``"gpu"``: the loader delivers crops in HU with their statistics and the batch is
  synthesized on the training device (:mod:`synthtumor.reference.device_synthesis`; needs
  ``synthtumor.torch``);
* ``"auto"`` (default): the faster of "volume" and "crop" where both are correct ("volume" in
  the "mixed" mode, where a crop of a scan with real tumours could miss them and get synthetic
  ones, and with the "zscore" scaling, which runs on the whole scan before the crop).

Which is faster depends on how much of a scan the crops of one sample cover: "volume" pays a
scan's synthesis once for ``data.samples_per_scan`` crops, "crop" pays it per crop, and a call's
fixed costs (placement, texture, the tumours' boxes) do not shrink with the crop. Measured with
``benchmarks/bench_training_input.py`` (crops per second per core, volume / crop): 126 / 37 at
3 mm with 8 crops of 32^3 per scan (scan : crops voxel ratio about 3), 21 / 18 at 2 mm with 2 of
48^3 (ratio about 13), 1.2 / 1.6 at 1 mm with 1 of 96^3 (ratio about 27). So "auto" takes
"crop" when the median training scan (at the training spacing, from the headers) holds at least
:data:`CROP_RATIO` times the voxels of one sample's crops, else "volume". "gpu" is never chosen
by "auto" until it is measured on a GPU beside the others.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path
from typing import Any

import numpy as np

from synthtumor.reference.config import TrainingConfig, config_to_dict
from synthtumor.reference.prepare import fold_split, load_datalist
from synthtumor.reference.scans import check_same_grid

__all__ = [
    "CROP_RATIO",
    "GPU_MODULE",
    "build_dataset",
    "resolve_where",
    "scan_voxels",
    "training_cases",
]

GPU_MODULE = "synthtumor.torch"
"""The module that ``synthesis.where = "gpu"`` needs (``synthesize_batch``)."""

CROP_RATIO = 15.0
"""Scan-to-crops voxel ratio above which "auto" synthesizes on the crops (see above)."""


def training_cases(config: TrainingConfig) -> dict[str, list[dict[str, Any]]]:
    """The training and validation entries of ``config.data.fold``, filtered by mode.

    "synthetic" keeps only the healthy training scans (``has_tumor`` false); "real" and
    "mixed" keep them all. The validation part is kept whole (capped at
    ``validation.max_cases``). The test part is not returned. Every returned case's label is
    checked to lie on its image's grid (:func:`~synthtumor.reference.scans.check_same_grid`).
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
    for entry in train + validation:
        check_same_grid(entry["image"], entry["label"])
    return {"train": train, "validation": validation}


def scan_voxels(entries: list[dict[str, Any]], spacing_mm: tuple[float, ...]) -> float:
    """Median voxel count of the scans at `spacing_mm`, from their headers (no voxel read)."""
    import nibabel as nib

    counts = []
    for entry in entries:
        image = nib.load(entry["image"])
        assert isinstance(image, nib.Nifti1Image | nib.Nifti2Image)  # checked by training_cases
        extent = np.asarray(image.shape[:3]) * np.asarray(image.header.get_zooms()[:3])
        counts.append(float(np.prod(extent / np.asarray(spacing_mm))))
    return float(np.median(counts))


def resolve_where(config: TrainingConfig, scan_size: float | None = None) -> str:
    """The ``synthesis.where`` a run uses ("auto" resolved); checks what the choice needs.

    Parameters
    ----------
    config : TrainingConfig
    scan_size : float, optional
        The median training scan's voxel count at the training spacing (:func:`scan_voxels`);
        None: assume scans much larger than the crops.

    Raises
    ------
    ValueError
        "gpu" without ``synthtumor.torch``; "crop" or "gpu" in the "mixed" mode, with the
        "zscore" scaling or with ``data.class_crop_ratios`` (all resolve "auto" to "volume").

    Examples
    --------
    >>> from synthtumor.reference.config import TrainingConfig
    >>> resolve_where(TrainingConfig()), resolve_where(TrainingConfig(mode="mixed"))
    ('crop', 'volume')
    >>> resolve_where(TrainingConfig(), scan_size=3 * 96**3)  # crops cover a third of the scan
    'volume'
    """
    where = config.synthesis.where
    on_crops_ok = (
        config.mode != "mixed"
        and config.data.intensity_scaling == "minmax"
        and config.synthesis.organ == "liver"
        and not config.data.class_crop_ratios
    )
    if where == "auto":
        crops = config.data.samples_per_scan * float(np.prod(config.data.roi_size))
        small_crops = scan_size is None or scan_size >= CROP_RATIO * crops
        return "crop" if on_crops_ok and small_crops else "volume"
    if where != "volume" and config.mode == "mixed":
        raise ValueError(
            f"synthesis.where={where!r} does not go with mode 'mixed' (a crop of a scan with "
            "real tumours may miss them and get synthetic ones); use 'volume'"
        )
    if where != "volume" and config.data.class_crop_ratios:
        raise ValueError(
            f"synthesis.where={where!r} does not go with data.class_crop_ratios (crops centred "
            "on tumours need the tumours before the crop); use 'volume'"
        )
    if where != "volume" and config.data.intensity_scaling != "minmax":
        raise ValueError(
            f"synthesis.where={where!r} needs data.intensity_scaling='minmax' (the 'zscore' "
            "scaling runs on the whole scan, before the crop, and synthesis needs HU)"
        )
    if where != "volume" and config.synthesis.organ != "liver":
        raise ValueError(
            f"synthesis.where={where!r} is for the liver for now (LiverStatisticsd measures "
            f"the liver); use 'volume' with synthesis.organ={config.synthesis.organ!r}"
        )
    if where == "gpu" and config.synthesis.appearance != "paper":
        raise ValueError("synthesis.where='gpu' renders the paper's appearance only")
    if where == "gpu" and importlib.util.find_spec(GPU_MODULE) is None:
        raise ValueError(
            f"synthesis.where='gpu' needs {GPU_MODULE} (synthesize_batch), which is not "
            "installed here; use 'crop' or 'volume'"
        )
    return where


def build_dataset(
    items: list[dict[str, Any]], transform: Any, config: TrainingConfig, run_dir: Path
) -> Any:
    """``CacheDataset``, ``PersistentDataset`` (in the run folder) or ``Dataset``."""
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
        # pre-processing (and synthesis, which may be cached as statistics), so a changed
        # config never reads a stale cache.
        settings = {
            "data": config_to_dict(config.data),
            "synthesis": config_to_dict(config.synthesis),
        }
        digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()
        # The synthesis reads the spacing from MetaTensor metadata, so keep it; the files are
        # this run's own, hence loading them in full (weights_only=False) is safe.
        return PersistentDataset(
            items,
            transform,
            cache_dir=run_dir / "cache" / digest[:16],
            track_meta=True,
            weights_only=False,
        )
    return Dataset(items, transform)


def build_loader(dataset: Any, config: TrainingConfig, dist_info: Any) -> tuple[Any, Any, Any]:
    """The training ``DataLoader``, its sampler and the generator that seeds it per epoch.

    ``data.repeats`` passes over `dataset` make one epoch (the same cached items, not copies).
    """
    import torch
    from monai.data import DataLoader
    from torch.utils.data import ConcatDataset, DistributedSampler, RandomSampler

    if config.data.repeats > 1:
        dataset = ConcatDataset([dataset] * config.data.repeats)
    generator = torch.Generator()
    sampler: Any
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
    return loader, sampler, generator
