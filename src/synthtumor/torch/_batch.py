"""``synthesize_batch``: tumours for a batch of crops, sampled in NumPy, rendered in torch."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import NamedTuple

import torch

from synthtumor import (
    LiverStatistics,
    LiverTooSmallError,
    TumorConfig,
    TumorParams,
    TumorSpec,
    sample,
)
from synthtumor._threads import single_blas_thread
from synthtumor._validation import SEED_BOUND, as_spacing
from synthtumor.adapters._common import (
    SmallLiverPolicy,
    check_small_liver_policy,
    pass_through,
)
from synthtumor.torch._render import render_tumor

__all__ = ["BatchResult", "crop_seeds", "render_batch", "synthesize_batch"]


class BatchResult(NamedTuple):
    """What :func:`synthesize_batch` returns: ``images, labels, params = synthesize_batch(...)``.

    Attributes
    ----------
    images : torch.Tensor
        The crops with their tumours: the input's shape, dtype and device.
    labels : torch.Tensor
        uint8 label maps (background, liver, tumour) of the input's shape, on its device.
    params : list of TumorParams or None
        What was drawn for each crop; None for a crop passed through (no liver, or too little).
    """

    images: torch.Tensor
    labels: torch.Tensor
    params: list[TumorParams | None]


@single_blas_thread
def synthesize_batch(
    images: torch.Tensor,
    liver_masks: torch.Tensor,
    *,
    spacing: tuple[float, float, float],
    statistics: LiverStatistics | Sequence[LiverStatistics | None] | None = None,
    size: str | None = None,
    config: TumorConfig | None = None,
    generator: torch.Generator | int | None = None,
    on_small_liver: SmallLiverPolicy = "warn",
) -> BatchResult:
    """Put synthetic liver tumours into a batch of CT crops, rendered on the crops' device.

    Each crop's tumours are drawn by :func:`synthtumor.sample` (NumPy, on the CPU: the draws
    are small) and rendered with torch ops on the device of `images` (CPU or CUDA): texture
    up-scaling and blur, deformed ellipsoid, edge blur, blend (eq. 4), mass effect (eq. 5) and
    capsule (eq. 6-8). The random fields are the NumPy renderer's, so the result matches
    ``synthtumor.apply`` for the same params (labels and HU up to float rounding). Only the
    paper's appearance (``config.appearance == "paper"``) is rendered.

    The NumPy work runs on one BLAS thread, as in the core; torch's own CPU threads are left
    as the caller set them (``torch.set_num_threads``): on a busy CPU one thread is faster.

    Parameters
    ----------
    images : torch.Tensor
        ``(B, 1, D, H, W)`` or ``(B, D, H, W)`` crops in HU, any real dtype; never modified.
    liver_masks : torch.Tensor
        Binary liver masks (bool or 0/1) of the same shape, on the same device.
    spacing : tuple of 3 float
        Voxel spacing in mm of every crop, array-axis order.
    statistics : LiverStatistics or sequence of them or None
        The whole scans' statistics (:func:`synthtumor.liver_statistics`): one for every crop,
        or one (or None) per crop. None measures each crop.
    size : {"tiny", "small", "medium", "large", "mix"} or None
        Table 6 preset; None draws one per crop.
    config : TumorConfig or None
        Hyper-parameters (paper mode); None uses the paper's.
    generator : torch.Generator or int or None
        Source of the crops' seeds (one integer per crop, drawn from it); an int seeds a fresh
        ``torch.Generator``. None draws from torch's global generator.
    on_small_liver : {"warn", "raise", "ignore"}
        A crop with no liver, or too little for the size: pass it through with a
        ``LiverTooSmallWarning`` (default), raise ``LiverTooSmallError``, or pass it silently.

    Returns
    -------
    BatchResult
        ``(images, labels, params)``.

    Raises
    ------
    ValueError, TypeError
        Bad input, named; a config of the realistic mode.

    Examples
    --------
    >>> import torch
    >>> from synthtumor.phantom import make_phantom
    >>> phantom = make_phantom(shape=(64, 64, 48), rng=0)
    >>> images = torch.from_numpy(phantom.image)[None].repeat(2, 1, 1, 1)  # (B, D, H, W)
    >>> masks = torch.from_numpy(phantom.liver_mask)[None].repeat(2, 1, 1, 1)
    >>> out, labels, params = synthesize_batch(images, masks, spacing=phantom.spacing,
    ...                                        size="small", generator=0)
    >>> out.shape == images.shape, labels.dtype, len(params)
    (True, torch.uint8, 2)
    >>> bool((labels == 2).any()), bool(torch.equal(images[0], torch.from_numpy(phantom.image)))
    (True, True)
    """
    config = _paper_config(config)
    policy = check_small_liver_policy(on_small_liver)
    volumes, masks = _crops(images, liver_masks)
    spacing = as_spacing(spacing)
    per_crop = _statistics_per_crop(statistics, len(volumes))
    params = [
        _sample_crop(volume, mask, spacing, stats, size, config, seed, policy)
        for volume, mask, stats, seed in zip(
            volumes, masks, per_crop, crop_seeds(generator, len(volumes)), strict=True
        )
    ]
    return _render(images, volumes, masks, params, (config.background_label, config.organ_label))


@single_blas_thread
def render_batch(
    images: torch.Tensor,
    liver_masks: torch.Tensor,
    params: Sequence[TumorParams | None],
) -> BatchResult:
    """Render drawn params into a batch of crops on their device (deterministic).

    The torch twin of :func:`synthtumor.apply`, one `params` per crop (None: no tumours, the
    label map is the mask as 0 background / 1 liver).

    Examples
    --------
    >>> import numpy as np, torch
    >>> from synthtumor import apply, sample
    >>> from synthtumor.phantom import make_phantom
    >>> phantom = make_phantom(shape=(64, 64, 48), rng=0)
    >>> drawn = sample(phantom.image, phantom.liver_mask, spacing=phantom.spacing,
    ...                size="small", rng=1)
    >>> _, labels, _ = render_batch(torch.from_numpy(phantom.image)[None],
    ...                             torch.from_numpy(phantom.liver_mask)[None], [drawn])
    >>> expected = apply(phantom.image, phantom.liver_mask, drawn).label == 2
    >>> tumor = labels[0].numpy() == 2
    >>> bool((tumor & expected).sum() / (tumor | expected).sum() > 0.98)
    True
    """
    volumes, masks = _crops(images, liver_masks)
    if len(params) != len(volumes):
        raise ValueError(f"params must hold one entry per crop ({len(volumes)}), got {len(params)}")
    for index, drawn in enumerate(params):
        if drawn is not None and not isinstance(drawn, TumorParams):
            raise TypeError(
                f"params[{index}] must be a TumorParams or None, got {type(drawn).__name__}"
            )
        if drawn is not None and tuple(drawn.shape) != tuple(volumes.shape[1:]):
            raise ValueError(
                f"params[{index}] were drawn for shape {drawn.shape}, "
                f"but the crops have shape {tuple(volumes.shape[1:])}"
            )
    if not volumes.dtype.is_floating_point or torch.isfinite(volumes).all():
        return _render(images, volumes, masks, list(params), (0, 1))
    raise ValueError("images must be finite (no NaN or inf)")


def _render(
    images: torch.Tensor,
    volumes: torch.Tensor,
    masks: torch.Tensor,
    params: list[TumorParams | None],
    default_labels: tuple[int, int],
) -> BatchResult:
    for index, drawn in enumerate(params):
        if drawn is not None:
            _check_rendered(drawn, index)
    output = volumes.clone()
    labels = torch.empty(volumes.shape, dtype=torch.uint8, device=volumes.device)
    for index, drawn in enumerate(params):
        background, liver = (
            default_labels if drawn is None else (drawn.background_label, drawn.organ_label)
        )
        labels[index] = torch.where(masks[index], liver, background).to(torch.uint8)
        if drawn is not None:
            for spec in drawn.tumors:
                render_tumor(output[index], labels[index], spec, drawn)
    if images.ndim == 5:
        output, labels = output[:, None], labels[:, None]
    return BatchResult(output, labels, params)


# What the torch renderer reads; any other field must keep its default (the paper's
# behaviour), or the params are refused instead of being rendered without it.
_RENDERED_FIELDS = {
    "TumorParams": {
        "shape", "spacing", "size", "tumors", "liver_mean_hu", "parenchyma_mean_hu",
        "parenchyma_std_hu", "vessel_threshold_hu", "vessel_smoothing_mm", "label_threshold",
        "background_label", "organ_label", "tumor_label", "appearance", "phase", "pattern",
        "vessel_check", "capsule_band",
    },
    "TumorSpec": {
        "size", "center_voxel", "vessel_free", "radius_mm", "semi_axes_mm", "deformation_mm",
        "edge_blur_mm", "texture_mean_hu", "texture_std_hu", "texture_scale", "texture_blur_mm",
        "mass_effect_radius_factor", "mass_effect_intensity", "capsule_blur_mm",
        "capsule_contrast_hu", "seed", "lesion",
    },
}  # fmt: skip


def _check_rendered(params: TumorParams, index: int) -> None:
    """Refuse params that ask for what the torch renderer does not draw (named)."""
    if params.appearance != "paper":
        raise ValueError(
            f"params[{index}] were drawn in the {params.appearance!r} appearance; "
            "synthtumor.torch renders the paper mode only (use synthtumor.apply)"
        )
    _check_rendered_fields(params, f"params[{index}]")
    for number, spec in enumerate(params.tumors):
        _check_rendered_fields(spec, f"params[{index}].tumors[{number}]")


def _check_rendered_fields(drawn: TumorParams | TumorSpec, where: str) -> None:
    rendered = _RENDERED_FIELDS[type(drawn).__name__]
    for field in dataclasses.fields(drawn):
        value = getattr(drawn, field.name)
        if field.name not in rendered and value != field.default:
            raise ValueError(
                f"{where} has {field.name}={value!r}, which synthtumor.torch does not render "
                f"(paper mode only; its default is {field.default!r}): use synthtumor.apply"
            )


def _paper_config(config: object) -> TumorConfig:
    if config is None:
        return TumorConfig()
    if not isinstance(config, TumorConfig):
        raise TypeError(f"config must be a TumorConfig or None, got {type(config).__name__}")
    if config.appearance != "paper":
        raise ValueError(
            f"config.appearance is {config.appearance!r}; synthtumor.torch renders the paper "
            "mode only (appearance='paper'): use synthtumor.synthesize for the realistic mode"
        )
    return config


def _crops(images: object, liver_masks: object) -> tuple[torch.Tensor, torch.Tensor]:
    """`images` and `liver_masks` as ``(B, D, H, W)`` tensors (the mask boolean), checked."""
    for name, value in (("images", images), ("liver_masks", liver_masks)):
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    assert isinstance(images, torch.Tensor) and isinstance(liver_masks, torch.Tensor)
    if images.ndim not in (4, 5) or (images.ndim == 5 and images.shape[1] != 1):
        raise ValueError(
            f"images must be (B, 1, D, H, W) or (B, D, H, W), got shape {tuple(images.shape)}"
        )
    if images.numel() == 0:
        raise ValueError(f"images must not be empty, got shape {tuple(images.shape)}")
    if images.dtype == torch.bool or images.is_complex():
        raise TypeError(f"images must hold real numbers (HU), got dtype {images.dtype}")
    if liver_masks.shape != images.shape:
        raise ValueError(
            f"liver_masks must have the shape of images {tuple(images.shape)}, "
            f"got {tuple(liver_masks.shape)}"
        )
    if liver_masks.device != images.device:
        raise ValueError(
            f"liver_masks must be on the device of images ({images.device}), "
            f"got {liver_masks.device}"
        )
    if liver_masks.dtype != torch.bool and not ((liver_masks == 0) | (liver_masks == 1)).all():
        raise ValueError("liver_masks must be binary (bool, or 0 and 1 only)")
    volumes = images[:, 0] if images.ndim == 5 else images
    masks = liver_masks[:, 0] if liver_masks.ndim == 5 else liver_masks
    return volumes, masks.to(torch.bool)


def _statistics_per_crop(statistics: object, count: int) -> list[LiverStatistics | None]:
    if statistics is None or isinstance(statistics, LiverStatistics):
        return [statistics] * count
    if isinstance(statistics, Sequence) and not isinstance(statistics, str):
        if len(statistics) != count:
            raise ValueError(
                f"statistics must be one LiverStatistics or one per crop ({count}), "
                f"got {len(statistics)}"
            )
        for index, stats in enumerate(statistics):
            if stats is not None and not isinstance(stats, LiverStatistics):
                raise TypeError(
                    f"statistics[{index}] must be a LiverStatistics or None, "
                    f"got {type(stats).__name__}"
                )
        return list(statistics)
    raise TypeError(
        "statistics must be a LiverStatistics, a sequence of them (one per crop) or None, "
        f"got {type(statistics).__name__}"
    )


def crop_seeds(generator: torch.Generator | int | None, count: int) -> list[int]:
    """The seeds :func:`synthesize_batch` draws for `count` crops from `generator`.

    Crop ``b``'s params are ``synthtumor.sample(crop_b, ..., rng=crop_seeds(generator, B)[b])``,
    which replays one crop of a batch with the NumPy core.

    Examples
    --------
    >>> crop_seeds(0, 2) == crop_seeds(0, 2), len(set(crop_seeds(0, 2)))
    (True, 2)
    """
    if isinstance(generator, bool) or not (
        generator is None or isinstance(generator, int | torch.Generator)
    ):
        raise TypeError(
            f"generator must be a torch.Generator, an int or None, got {type(generator).__name__}"
        )
    if isinstance(generator, int):
        generator = torch.Generator().manual_seed(generator)
    device = "cpu" if generator is None else generator.device
    draws = torch.randint(0, SEED_BOUND, (count,), generator=generator, device=device)
    return [int(value) for value in draws.tolist()]


def _sample_crop(
    volume: torch.Tensor,
    mask: torch.Tensor,
    spacing: tuple[float, float, float],
    statistics: LiverStatistics | None,
    size: str | None,
    config: TumorConfig,
    seed: int,
    policy: SmallLiverPolicy,
) -> TumorParams | None:
    """The params of one crop (drawn on the CPU), or None to pass it through."""
    mask_array = mask.detach().cpu().numpy()
    try:
        if not mask_array.any():
            raise LiverTooSmallError("the crop's liver mask holds no liver voxel")
        return sample(
            volume.detach().cpu().numpy(),
            mask_array,
            spacing=spacing,
            size=size,
            config=config,
            statistics=statistics,
            rng=seed,
        )
    except LiverTooSmallError as error:
        pass_through(error, policy, what="crop", stacklevel=3)
        return None
