"""Orchestration: ``sample`` draws a synthesis, ``apply`` renders it, ``synthesize`` does both."""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from synthtumor._arrays import triple
from synthtumor._threads import single_blas_thread
from synthtumor._validation import (
    SEED_BOUND,
    LiverTooSmallError,
    as_binary_mask,
    as_spacing,
    as_volume,
    check_bool,
    check_finite,
    check_rng,
)
from synthtumor.appearance import draw_appearance
from synthtumor.collision import VesselMap, choose_centers
from synthtumor.config import SIZE_NAMES, TumorConfig, Value, draw
from synthtumor.duct import duct_path, render_duct
from synthtumor.liver_sampling import LiverSampler, count_voxels
from synthtumor.liver_stats import LiverStatistics
from synthtumor.liver_stats import liver_statistics as _estimate_statistics
from synthtumor.organ_location import BoxSampler, DeepSampler
from synthtumor.organ_map import OrganMap, read_organ_map
from synthtumor.organs import ORGAN_PRESETS, OrganPreset, organ_config, resolve_organ
from synthtumor.params import TumorParams, TumorSpec
from synthtumor.patterns import pattern_sizes, satellite_candidates
from synthtumor.phase import resolve_phase
from synthtumor.render import render_tumor, tumor_box

__all__ = [
    "SynthesisResult",
    "UnenhancedScanWarning",
    "apply",
    "liver_statistics",
    "sample",
    "synthesize",
    "tumor_box",
]

Drawn = dict[str, Any]
"""One tumour's drawn numbers, by :class:`TumorSpec` field name, before it is placed."""

RngLike = np.random.Generator | int | np.random.SeedSequence | None

_MIN_LIVER_TO_TUMOR_VOLUME = 2.0
LIVER = ORGAN_PRESETS["liver"]


class SynthesisResult(NamedTuple):
    """What :func:`synthesize` returns: unpack as ``image, label, params = synthesize(...)``."""

    image: np.ndarray
    label: np.ndarray
    params: TumorParams


def _sphere_volume_mm3(radius_mm: float) -> float:
    return 4.0 / 3.0 * math.pi * radius_mm**3


def _needed_liver_voxels(
    size: str | None, config: TumorConfig, spacing: tuple[float, float, float], ratio: float
) -> int:
    """Organ voxels enough for the largest tumour `size` may draw (see :func:`_choose_size`)."""
    names = config.sizes_in(size) if size in SIZE_NAMES else config.sizes_in("mix")
    largest = max((config.preset(name).max_radius_mm for name in names), default=0.0)
    needed_mm3 = _sphere_volume_mm3(largest) * ratio
    return max(math.ceil(needed_mm3 / math.prod(spacing)), 1)


def _choose_size(
    size: str | None,
    config: TumorConfig,
    liver_volume_mm3: float,
    rng: np.random.Generator,
    organ: OrganPreset,
) -> str:
    """The preset to draw: `size`, or one drawn with the configured probabilities."""
    ratio = organ.min_organ_to_tumor_volume

    def fits(name: str) -> bool:
        largest = max(config.preset(s).max_radius_mm for s in config.sizes_in(name))
        return _sphere_volume_mm3(largest) * ratio <= liver_volume_mm3

    def too_small(name: str) -> LiverTooSmallError:
        largest = max(config.preset(s).max_radius_mm for s in config.sizes_in(name))
        needed = _sphere_volume_mm3(largest) * ratio
        return LiverTooSmallError(
            f"liver_mask holds {liver_volume_mm3 / 1000:.2f} mL of {organ.name}, too small for "
            f"size {name!r} (a tumour of radius {largest:g} mm needs at least "
            f"{needed / 1000:.2f} mL of {organ.name})"
        )

    if size is not None:
        if size not in SIZE_NAMES:
            raise ValueError(f"size must be one of {SIZE_NAMES} or None, got {size!r}")
        if size == "tiny" and not config.tiny_tumors:
            raise ValueError("size='tiny' was asked for but config.tiny_tumors is False")
        if not fits(size):
            raise too_small(size)
        return size
    names = list(SIZE_NAMES)
    weights = np.array(config.size_probabilities, dtype=float)
    if not config.tiny_tumors:
        weights[names.index("tiny")] = 0.0
    candidates = [(n, w) for n, w in zip(names, weights, strict=True) if w > 0]
    fitting = [(n, w) for n, w in candidates if fits(n)]
    if not fitting:
        raise too_small(min((n for n, _ in candidates), key=names.index))
    probabilities = np.array([w for _, w in fitting]) / sum(w for _, w in fitting)
    return fitting[int(rng.choice(len(fitting), p=probabilities))][0]


def _draw_optional(value: Value | None, rng: np.random.Generator) -> float | None:
    """:func:`draw`, with None (the lesion type's value, realistic mode) passed through."""
    return None if value is None else draw(value, rng)


def _draw_lesion(
    config: TumorConfig,
    stats: LiverStatistics,
    phase: str,
    drawn: Drawn,
    rng: np.random.Generator,
) -> Drawn:
    """The realistic mode's numbers of one tumour: its lesion type's, unless overridden."""
    lesion = draw_appearance(
        config.lesion_types,
        phase,
        parenchyma_mean_hu=stats.parenchyma_mean_hu,
        parenchyma_std_hu=stats.parenchyma_std_hu,
        capsule_share=config.capsule_share,
        rng=rng,
    )

    def unless_set(field: str, value: float) -> float:
        return value if getattr(config, field) is None else drawn[field]

    return {
        "lesion": lesion.lesion,
        "texture_mean_hu": unless_set("texture_mean_hu", lesion.mean_hu),
        "texture_std_hu": unless_set("texture_std_hu", lesion.texture_std_hu),
        "edge_blur_mm": unless_set("edge_blur_mm", lesion.transition_mm),
        "capsule_contrast_hu": unless_set("capsule_contrast_hu", lesion.capsule_hu),
        "periphery_hu": lesion.periphery_hu,
        "fill": lesion.fill,
    }


def _draw_texture_mean(
    config: TumorConfig, stats: LiverStatistics, rng: np.random.Generator
) -> float | None:
    if config.texture_mean_hu is not None:
        return draw(config.texture_mean_hu, rng)
    if config.appearance == "realistic":
        return None
    high = stats.parenchyma_mean_hu - 10.0
    return float(rng.uniform(min(30.0, high), high))


def _draw_tumor(
    size: str,
    config: TumorConfig,
    stats: LiverStatistics,
    rng: np.random.Generator,
    *,
    phase: str | None = None,
) -> Drawn:
    """Every random number of one tumour except its location.

    Every number is drawn whether or not its stage is on, and a stage that is off has its
    strength set to zero afterwards: switching one stage off changes nothing else. The
    realistic mode draws the paper's numbers first, in the paper's order, then the lesion's.
    """
    preset = config.preset(size)
    radius_mm = draw(preset.radius_mm, rng)
    low, high = config.semi_axis_factor
    semi_axes = tuple(float(rng.uniform(low * radius_mm, high * radius_mm)) for _ in range(3))
    drawn = {
        "size": size,
        "radius_mm": radius_mm,
        "semi_axes_mm": semi_axes,
        "deformation_mm": draw(preset.deformation_mm, rng),
        "edge_blur_mm": _draw_optional(config.edge_blur_mm, rng),
        "texture_mean_hu": _draw_texture_mean(config, stats, rng),
        "texture_std_hu": (
            stats.parenchyma_std_hu
            if config.texture_std_hu is None
            else draw(config.texture_std_hu, rng)
        ),
        "texture_scale": draw(config.texture_scale, rng),
        "texture_blur_mm": draw(config.texture_blur_mm, rng),
        "mass_effect_radius_factor": draw(config.mass_effect_radius_factor, rng),
        "mass_effect_intensity": draw(config.mass_effect_intensity, rng),
        "capsule_blur_mm": draw(config.capsule_blur_mm, rng),
        "capsule_contrast_hu": _draw_optional(config.capsule_contrast_hu, rng),
        "seed": int(rng.integers(0, SEED_BOUND)),
    }
    if config.appearance == "realistic":
        assert phase is not None
        drawn.update(_draw_lesion(config, stats, phase, drawn, rng))
    switched_off = {
        "deformation_mm": not config.elastic_deformation,
        "edge_blur_mm": not config.edge_blur,
        "mass_effect_intensity": not config.mass_effect,
        "capsule_contrast_hu": not config.capsule,
    }
    for name, off in switched_off.items():
        if off:
            drawn[name] = 0.0
    return drawn


@single_blas_thread
def sample(
    image: np.ndarray,
    liver_mask: np.ndarray,
    *,
    spacing: tuple[float, float, float],
    organ: str | OrganPreset = "liver",
    organ_label: int | tuple[int, ...] | None = None,
    size: str | None = None,
    config: TumorConfig | None = None,
    statistics: LiverStatistics | None = None,
    rng: RngLike = None,
) -> TumorParams:
    """Draw every random choice of a synthesis, without touching the image.

    Parameters
    ----------
    image : numpy.ndarray
        3-D CT in Hounsfield units, any real dtype.
    liver_mask : numpy.ndarray
        3-D binary mask of the organ (bool or 0/1) of the same shape; with `organ_label`, an
        integer class map holding it.
    spacing : tuple of 3 float
        Voxel spacing in mm, in array-axis order.
    organ : str or OrganPreset
        The organ whose tumours are drawn: "liver" (default, the paper's), "pancreas",
        "kidney" (:data:`synthtumor.organs.ORGAN_PRESETS`) or a user's own
        :class:`~synthtumor.organs.OrganPreset`. See ``docs/organs.md``.
    organ_label : int or tuple of int or None
        None (default): `liver_mask` is a binary mask. A value (or several, e.g. ``(2, 3)``
        for both kidneys): `liver_mask` is an organ map and the organ is where it holds them.
    size : {"tiny", "small", "medium", "large", "mix"} or None
        Table 6 preset; None draws one with ``config.size_probabilities`` among the sizes the
        liver can hold.
    config : TumorConfig or None
        Hyper-parameters; None uses the paper's.
    statistics : LiverStatistics or None
        The whole scan's liver statistics from :func:`liver_statistics`, for an `image` that
        is a crop of that scan: they are used instead of measuring `image`, and the sizes
        are fitted to their ``liver_volume_mm3``. None (default): `image` is measured.
    rng : numpy.random.Generator or int or None
        Seed or generator; the same seed gives the same params.

    Returns
    -------
    TumorParams

    Raises
    ------
    LiverTooSmallError
        The liver cannot hold the size asked for (a ValueError).
    ValueError, TypeError
        Bad input, named.

    Examples
    --------
    >>> from synthtumor.phantom import make_phantom
    >>> phantom = make_phantom(rng=0)
    >>> params = sample(phantom.image, phantom.liver_mask, spacing=phantom.spacing,
    ...                 size="medium", rng=0)
    >>> params.size, 2 <= len(params.tumors) <= 5
    ('medium', True)
    """
    organ = resolve_organ(organ)
    config = organ_config(_check_config(config), organ)
    statistics = _check_statistics(statistics)
    image = as_volume(image)
    mask = _organ_mask(liver_mask, organ_label, image.shape, config).organ
    return _sample_checked(
        image, mask, as_spacing(spacing), size, config, rng, statistics, organ=organ
    )


def _organ_mask(
    liver_mask: object,
    organ_label: int | tuple[int, ...] | None,
    shape: tuple[int, ...],
    config: TumorConfig | TumorParams,
) -> OrganMap | _BinaryMask:
    """The organ's boolean mask, from a binary mask or (with `organ_label`) an organ map."""
    if organ_label is None:
        return _BinaryMask(as_binary_mask(liver_mask, shape=shape))
    return read_organ_map(
        liver_mask,
        organ_label,
        shape=shape,
        background_label=config.background_label,
        tumor_label=config.tumor_label,
    )


class _BinaryMask(NamedTuple):
    """A binary organ mask (beside :class:`OrganMap`, an organ map)."""

    organ: np.ndarray


def _sample_checked(
    image: np.ndarray,
    mask: np.ndarray,
    spacing: tuple[float, float, float],
    size: str | None,
    config: TumorConfig,
    rng: RngLike,
    statistics: LiverStatistics | None = None,
    *,
    organ: OrganPreset | None = None,
) -> TumorParams:
    """:func:`sample` on arguments already checked (`mask` boolean, `config` the organ's).

    With `statistics` (a crop of a measured scan) nothing is measured here and the random
    stream skips the measurement's draws; without, the stream is what it has always been.
    """
    rng = check_rng(rng)
    organ = resolve_organ("liver") if organ is None else organ

    # Counting stops once the liver is known to hold the largest tumour `size` may ask for
    # (with whole-scan statistics, once the crop is known to hold some liver).
    needed = _needed_liver_voxels(size, config, spacing, organ.min_organ_to_tumor_volume)
    if statistics is not None and statistics.liver_volume_mm3 is not None:
        needed = 1
    liver_voxels = count_voxels(mask, at_least=needed)
    if liver_voxels == 0:
        raise ValueError("liver_mask is empty: there is no liver voxel to place a tumour in")
    liver_volume_mm3 = liver_voxels * math.prod(spacing)
    # The liver keeps the paper mode's random stream; other organs draw in their own box.
    sampler = LiverSampler(mask, rng) if organ == LIVER else BoxSampler(mask, rng)
    if statistics is None:
        stats = _measure(image, mask, spacing, config, sampler, rng)
    else:
        stats = statistics
        if statistics.liver_volume_mm3 is not None:
            liver_volume_mm3 = statistics.liver_volume_mm3
    chosen = _choose_size(size, config, liver_volume_mm3, rng, organ)
    phase = _resolve_phase(config, image, mask, spacing, organ)
    vessel_check = _vessel_check(config, phase)
    built: list[VesselMap | None] = []

    def vessel_map() -> VesselMap | None:
        """The vessel map, built once, when first asked for (None without the eq. 2 check)."""
        if not built:
            built.append(
                None
                if vessel_check != "eq2"
                else VesselMap(
                    image,
                    mask,
                    spacing=spacing,
                    threshold_hu=stats.vessel_threshold_hu,
                    smoothing_mm=stats.vessel_smoothing_mm,
                    liver_voxels=sampler.estimated_liver_voxels(),
                )
            )
        return built[0]

    # Measuring drew liver voxels, whose hit rate sizes the vessel map's budget; with given
    # statistics the candidates drawn next give that rate instead of a count of the whole mask.
    if statistics is None:
        vessel_map()
    placer: LiverSampler | DeepSampler = sampler
    if organ.center_tries > 1:
        placer = DeepSampler(sampler, mask, spacing=spacing, tries=organ.center_tries)
    tumors = _place_tumors(
        chosen, config, stats, phase, spacing, placer, vessel_map, vessel_check, mask, rng
    )
    tumors = _organ_growth(tumors, organ, mask, spacing, rng)
    return TumorParams(
        shape=triple(int(n) for n in image.shape),
        spacing=spacing,
        size=chosen,
        tumors=tuple(tumors),
        liver_mean_hu=stats.liver_mean_hu,
        parenchyma_mean_hu=stats.parenchyma_mean_hu,
        parenchyma_std_hu=stats.parenchyma_std_hu,
        vessel_threshold_hu=stats.vessel_threshold_hu,
        vessel_smoothing_mm=stats.vessel_smoothing_mm,
        label_threshold=config.label_threshold,
        background_label=config.background_label,
        organ_label=config.organ_label,
        tumor_label=config.tumor_label,
        appearance=config.appearance,
        phase=phase,
        pattern=config.pattern,
        noise_lowpass_mm=config.noise_lowpass_mm if config.appearance == "realistic" else 0.0,
        vessel_check=vessel_check,
        capsule_band=(float(config.capsule_band[0]), float(config.capsule_band[1])),
        push="organ" if organ.push == "organ" else "surroundings",
        scanner_blur=config.appearance == "realistic" and config.scanner_blur,
    )


def _resolve_phase(
    config: TumorConfig,
    image: np.ndarray,
    mask: np.ndarray,
    spacing: tuple[float, float, float],
    organ: OrganPreset,
) -> str | None:
    """The contrast phase the realistic mode draws for (estimated for "auto"); None: paper."""
    if config.appearance != "realistic":
        return None
    if config.phase == "auto" and organ.name != "liver":
        raise ValueError(
            f"config.phase='auto' estimates the phase from the liver, but the organ is "
            f"{organ.name!r}: give the scan's phase (e.g. TumorConfig(phase='portal'))"
        )
    return resolve_phase(config.phase, image, mask, spacing)


def _organ_growth(
    tumors: list[TumorSpec],
    organ: OrganPreset,
    mask: np.ndarray,
    spacing: tuple[float, float, float],
    rng: np.random.Generator,
) -> list[TumorSpec]:
    """Each tumour's growth rule: exophytic, and its upstream duct (drawn with the organ's
    shares); what the mass effect pushes is the organ's, for all (``TumorParams.push``).

    Nothing is drawn for an organ without exophytic tumours or ducts, so the liver's stream is
    the paper mode's.
    """
    grown = []
    for spec in tumors:
        changes: dict[str, Any] = {}
        if organ.exophytic_share > 0:
            changes["exophytic"] = bool(rng.random() < organ.exophytic_share)
        if organ.duct_dilation_share > 0:
            dilated = rng.random() < organ.duct_dilation_share
            radius_mm, fluid_hu = float(rng.uniform(1.5, 3.0)), float(rng.uniform(0.0, 20.0))
            if dilated:
                changes.update(
                    duct_path=duct_path(mask, spec.center_voxel, spacing),
                    duct_radius_mm=radius_mm,
                    duct_hu=fluid_hu,
                )
        grown.append(dataclasses.replace(spec, **changes) if changes else spec)
    return grown


class UnenhancedScanWarning(UserWarning):
    """Vessel avoidance was skipped: the scan has no contrast, so eq. 2 cannot find vessels."""


def _vessel_check(config: TumorConfig, phase: str | None) -> str:
    """How tumour centres avoid vessels: "eq2", "off", or "unenhanced" (skipped, warned).

    Eq. 2 takes vessels as liver voxels brighter than the liver; without contrast, blood is
    no brighter than the parenchyma and the threshold finds only noise (on the unenhanced
    abdomen-3mm scan two thirds of the tumours then fell back to the least-bad centre). The
    realistic mode knows the phase, and skips the check on a non-contrast scan.
    """
    if not config.vessel_avoidance:
        return "off"
    if phase == "non_contrast":
        warnings.warn(
            "vessel avoidance skipped: the scan is non-contrast (phase 'non_contrast'), where "
            "vessels are no brighter than the liver and eq. 2 finds only noise; params record "
            "vessel_check='unenhanced'",
            UnenhancedScanWarning,
            stacklevel=5,
        )
        return "unenhanced"
    return "eq2"


def _collision_half(drawn: Drawn, spacing: tuple[float, float, float]) -> tuple[int, int, int]:
    """Half-size in voxels of the cube that must be vessel-free around a tumour's centre."""
    return triple(
        math.ceil(max(drawn["radius_mm"], semi) / voxel_mm)
        for semi, voxel_mm in zip(drawn["semi_axes_mm"], spacing, strict=True)
    )


def _place_tumors(
    chosen: str,
    config: TumorConfig,
    stats: LiverStatistics,
    phase: str | None,
    spacing: tuple[float, float, float],
    sampler: LiverSampler | DeepSampler,
    vessel_map: Callable[[], VesselMap | None],
    vessel_check: str,
    mask: np.ndarray,
    rng: np.random.Generator,
) -> list[TumorSpec]:
    """Draw every tumour's numbers and candidate centres, then check them all together."""
    tries = config.max_location_tries if vessel_check == "eq2" else 1

    def draw_one(size: str) -> Drawn:
        return _draw_tumor(size, config, stats, rng, phase=phase)

    def locate(drawn_tumors: list[Drawn], candidates: list[np.ndarray]) -> list[TumorSpec]:
        centers = choose_centers(
            candidates,
            [_collision_half(drawn, spacing) for drawn in drawn_tumors],
            vessels=vessel_map(),
            max_tries=config.max_location_tries,
            fallback=config.location_fallback,
        )
        return [
            TumorSpec(center_voxel=center, vessel_free=vessel_free, **drawn)
            for drawn, (center, vessel_free) in zip(drawn_tumors, centers, strict=True)
        ]

    drawn_tumors, candidates = [], []
    if config.pattern is None:
        # Table 6: per size, its count, then each tumour's numbers and candidates, in the
        # order the random stream has always had.
        for single_size in config.sizes_in(chosen):
            for _ in range(config.preset(single_size).draw_count(rng)):
                drawn_tumors.append(draw_one(single_size))
                candidates.append(sampler.take(tries))
        return locate(drawn_tumors, candidates)
    main_size, other_sizes = pattern_sizes(config.pattern, chosen, config, rng)
    if config.pattern != "satellite":
        for single_size in [main_size, *other_sizes] if main_size else other_sizes:
            drawn_tumors.append(draw_one(single_size))
            candidates.append(sampler.take(tries))
        return locate(drawn_tumors, candidates)
    # Satellite: the main lesion, irregular (its deformation at the top of its range), is
    # placed first; its satellites are then looked for in a shell around it.
    main = draw_one(main_size)
    deformation = config.preset(main_size).deformation_mm
    if config.elastic_deformation:
        main["deformation_mm"] = float(
            max(deformation) if isinstance(deformation, tuple) else deformation
        )
    (main_spec,) = locate([main], [sampler.take(tries)])
    satellites = [draw_one(single_size) for single_size in other_sizes]
    satellite_tries = []
    for _ in satellites:
        near = satellite_candidates(
            mask,
            main_spec.center_voxel,
            max(main_spec.semi_axes_mm),
            spacing=spacing,
            count=tries,
            rng=rng,
        )
        if len(near) < tries:
            near = np.concatenate([near, sampler.take(tries - len(near))])
        satellite_tries.append(near)
    return [main_spec, *locate(satellites, satellite_tries)]


def _measure(
    image: np.ndarray,
    mask: np.ndarray,
    spacing: tuple[float, float, float],
    config: TumorConfig,
    sampler: LiverSampler,
    rng: np.random.Generator,
) -> LiverStatistics:
    """The liver's statistics with b and sigma_a drawn from `config` (patches from `sampler`)."""
    return _estimate_statistics(
        image,
        mask,
        spacing=spacing,
        threshold_offset_hu=draw(config.vessel_threshold_offset_hu, rng),
        vessel_smoothing_mm=(
            None if config.vessel_smoothing_mm is None else draw(config.vessel_smoothing_mm, rng)
        ),
        patches=config.stats_patches,
        sampler=sampler,
    )


@single_blas_thread
def liver_statistics(
    image: np.ndarray,
    liver_mask: np.ndarray,
    *,
    spacing: tuple[float, float, float],
    config: TumorConfig | None = None,
    rng: RngLike = None,
) -> LiverStatistics:
    """Measure a whole scan's liver once, for synthesis on crops of it.

    What :func:`sample` would measure (the liver's mean, the parenchyma's mean and std, the
    vessel threshold T and smoothing sigma_a, with b and sigma_a drawn from `config`, from
    ``config.stats_patches`` random patches), plus the whole liver's volume, to which the sizes
    are then fitted. Pass the result as ``statistics=`` to :func:`sample` or
    :func:`synthesize` with a crop of this scan (same spacing). The same `rng` gives the same
    statistics as ``sample(image, liver_mask, rng=rng)`` measures.

    Parameters
    ----------
    image : numpy.ndarray
        3-D CT in Hounsfield units, any real dtype: the whole scan, at the spacing the crops
        will have.
    liver_mask : numpy.ndarray
        3-D binary liver mask (bool or 0/1) of the same shape.
    spacing : tuple of 3 float
        Voxel spacing in mm, in array-axis order.
    config : TumorConfig or None
        Hyper-parameters (``vessel_threshold_offset_hu``, ``vessel_smoothing_mm``,
        ``stats_patches``); None uses the paper's.
    rng : numpy.random.Generator or int or None
        Seed or generator of the patch positions (and of b and sigma_a when they are ranges).

    Returns
    -------
    LiverStatistics
        Plain numbers: picklable, with a JSON round trip (``to_dict``, ``to_json``).

    Raises
    ------
    ValueError, TypeError
        Bad input (an empty liver included), named.

    Examples
    --------
    >>> import numpy as np
    >>> from synthtumor import synthesize
    >>> from synthtumor.phantom import make_phantom
    >>> phantom = make_phantom(rng=0)
    >>> stats = liver_statistics(phantom.image, phantom.liver_mask, spacing=phantom.spacing, rng=0)
    >>> crop = (slice(16, 80), slice(16, 80), slice(8, 56))
    >>> image, label, params = synthesize(phantom.image[crop], phantom.liver_mask[crop],
    ...                                   spacing=phantom.spacing, statistics=stats, rng=1)
    >>> label.shape == image.shape, params.parenchyma_mean_hu == stats.parenchyma_mean_hu
    (True, True)
    """
    config = _check_config(config)
    image = as_volume(image)
    mask = as_binary_mask(liver_mask, shape=image.shape)
    spacing = as_spacing(spacing)
    rng = check_rng(rng)
    liver_voxels = count_voxels(mask)
    if liver_voxels == 0:
        raise ValueError("liver_mask is empty: there is no liver to measure")
    stats = _measure(image, mask, spacing, config, LiverSampler(mask, rng), rng)
    return dataclasses.replace(stats, liver_volume_mm3=liver_voxels * math.prod(spacing))


def _check_statistics(statistics: object) -> LiverStatistics | None:
    if statistics is None or isinstance(statistics, LiverStatistics):
        return statistics
    raise TypeError(
        "statistics must be a LiverStatistics (from synthtumor.liver_statistics, or "
        f"LiverStatistics.from_dict) or None, got {type(statistics).__name__}"
    )


def _check_config(config: TumorConfig | None) -> TumorConfig:
    if config is None:
        return TumorConfig()
    if not isinstance(config, TumorConfig):
        raise TypeError(f"config must be a TumorConfig or None, got {type(config).__name__}")
    return config


def _initial_label(mask: np.ndarray, params: TumorParams) -> np.ndarray:
    if params.background_label == 0 and params.organ_label == 1:
        label = np.empty(mask.shape, dtype=np.uint8)
        np.copyto(label, mask.view(np.uint8) if mask.dtype == bool else mask, casting="unsafe")
        return label
    return np.where(mask, np.uint8(params.organ_label), np.uint8(params.background_label))


@single_blas_thread
def apply(
    image: np.ndarray,
    liver_mask: np.ndarray,
    params: TumorParams,
    *,
    organ_label: int | tuple[int, ...] | None = None,
    blocked: np.ndarray | None = None,
    inplace: bool = False,
    protected: np.ndarray | None = None,
) -> SynthesisResult:
    """Render drawn tumours into a scan (deterministic).

    Parameters
    ----------
    image : numpy.ndarray
        3-D CT in HU, the one `params` were drawn for (same shape).
    liver_mask : numpy.ndarray
        Its binary organ mask, or with `organ_label` its organ map.
    params : TumorParams
        From :func:`sample` (or a JSON file of one).
    organ_label : int or tuple of int or None
        As in :func:`sample`: with a value, the label returned is the organ map with the
        tumour voxels set to ``params.tumor_label``, every other voxel as it was.
    blocked : numpy.ndarray or None
        With a binary `liver_mask`: a boolean array of the scan's shape marking the voxels an
        exophytic tumour may not reach (other organs), for a caller that keeps its own organ
        map (the adapters). None: nothing beyond the organ is known. With `organ_label` the
        map's other classes are blocked anyway.
    inplace : bool
        False (default): return new arrays, inputs untouched. True, for pipelines that own
        their data: write the tumours into `image` and the label into `liver_mask`, which must
        then be writeable NumPy arrays and `liver_mask` an integer array holding 0/1; no
        full-volume copy is made. Both are returned.
    protected : numpy.ndarray or None
        Boolean mask (same shape) of voxels outside the liver that must keep their values in
        the image and the label: the mass effect does not push the liver into them, so no
        tumour reaches them (other organs of a label map; see
        :func:`synthtumor.label_map.synthesize_label_map`). None (default): the liver may
        bulge into any voxel outside it, as in the paper.

    Returns
    -------
    SynthesisResult
        ``(image, label, params)``: the image in the input's dtype (integers rounded and
        clipped), the uint8 label map (background, liver, tumour) and `params`.

    Examples
    --------
    >>> from synthtumor import sample
    >>> from synthtumor.phantom import make_phantom
    >>> phantom = make_phantom(rng=0)
    >>> params = sample(phantom.image, phantom.liver_mask, spacing=phantom.spacing, rng=3)
    >>> image, label, _ = apply(phantom.image, phantom.liver_mask, params)
    >>> image.dtype == phantom.image.dtype, bool((label == 2).any())
    (True, True)
    """
    if not isinstance(params, TumorParams):
        raise TypeError(f"params must be a TumorParams, got {type(params).__name__}")
    inplace = check_bool(inplace, name="inplace")
    image = as_volume(image)
    organ_mask = _organ_mask(liver_mask, organ_label, image.shape, params)
    if protected is not None:
        protected = as_binary_mask(protected, shape=image.shape, name="protected")
        if np.any(protected & organ_mask.organ):
            raise ValueError("protected must not overlap liver_mask: the tumours grow in the liver")
    if blocked is not None:
        if organ_label is not None:
            raise ValueError("give blocked with a binary liver_mask only (organ_label blocks)")
        blocked = as_binary_mask(blocked, shape=image.shape, name="blocked")
        return _apply_checked(
            image,
            liver_mask,
            organ_mask.organ,
            params,
            inplace=inplace,
            protected=protected,
            blocked=lambda box: blocked[box],
        )
    return _apply_to(image, liver_mask, organ_mask, params, inplace=inplace, protected=protected)


def _apply_to(
    image: np.ndarray,
    liver_mask: np.ndarray,
    organ_mask: OrganMap | _BinaryMask,
    params: TumorParams,
    *,
    inplace: bool,
    protected: np.ndarray | None = None,
) -> SynthesisResult:
    """:func:`apply` on a checked organ mask; an organ map gets its tumours written in.

    In an organ map the other classes are protected (the label write-back rule of
    :mod:`synthtumor.label_map`): the mass effect pushes nothing into them.
    """
    if isinstance(organ_mask, _BinaryMask):
        return _apply_checked(
            image, liver_mask, organ_mask.organ, params, inplace=inplace, protected=protected
        )
    if inplace:
        raise ValueError("inplace=True needs a binary liver_mask, not an organ map (organ_label)")
    others = organ_mask.other_classes()
    result = _apply_checked(
        image,
        organ_mask.organ,
        organ_mask.organ,
        params,
        inplace=False,
        protected=others if protected is None else protected | others,
        blocked=organ_mask.blocked,
    )
    return SynthesisResult(result.image, organ_mask.with_tumors(result.label, params), params)


def _apply_checked(
    image: np.ndarray,
    liver_mask: np.ndarray,
    mask: np.ndarray,
    params: TumorParams,
    *,
    inplace: bool,
    protected: np.ndarray | None = None,
    blocked: Callable[[tuple[slice, ...]], np.ndarray] | None = None,
) -> SynthesisResult:
    """:func:`apply` on arguments already checked (`mask` is `liver_mask` as booleans).

    `blocked` marks the voxels no exophytic tumour may reach (the organ map's other classes).
    """
    if tuple(image.shape) != tuple(params.shape):
        raise ValueError(
            f"image has shape {image.shape} but params were drawn for shape {params.shape}"
        )
    if inplace:
        # Nothing may be written before every tumour's box is known to be finite.
        for spec in params.tumors:
            lower, upper = tumor_box(spec, params)
            box = tuple(slice(a, b) for a, b in zip(lower, upper, strict=True))
            check_finite(image[box], name="image", where=f"in the tumour box {lower}-{upper}")
        output, label = _inplace_targets(image, liver_mask, params)
    else:
        output = image.copy()
        label = _initial_label(mask, params)
    for spec in params.tumors:
        render_tumor(output, label, spec, params, protected, blocked=blocked)
    for spec in params.tumors:  # after every tumour: the duct runs in the organ, not in them
        render_duct(output, label, spec, params)
    return SynthesisResult(output, label, params)


def _inplace_targets(
    image: np.ndarray, liver_mask: object, params: TumorParams
) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(image, np.ndarray) or not image.flags.writeable:
        raise ValueError("inplace=True needs image to be a writeable numpy array")
    if (
        not isinstance(liver_mask, np.ndarray)
        or not np.issubdtype(liver_mask.dtype, np.integer)
        or not liver_mask.flags.writeable
    ):
        raise ValueError(
            "inplace=True needs liver_mask to be a writeable integer numpy array holding 0/1 "
            "(e.g. uint8), which receives the label map"
        )
    if params.background_label != 0 or params.organ_label != 1:
        liver = liver_mask != 0
        liver_mask[...] = params.background_label
        liver_mask[liver] = params.organ_label
    return image, liver_mask


@single_blas_thread
def synthesize(
    image: np.ndarray,
    liver_mask: np.ndarray,
    *,
    spacing: tuple[float, float, float],
    organ: str | OrganPreset = "liver",
    organ_label: int | tuple[int, ...] | None = None,
    size: str | None = None,
    config: TumorConfig | None = None,
    statistics: LiverStatistics | None = None,
    rng: RngLike = None,
    inplace: bool = False,
) -> SynthesisResult:
    """Put synthetic tumours into a CT scan (the liver's by default), with the matching label.

    The whole method of Hu et al. (CVPR 2023): vessel-aware location, Gaussian texture with
    cubic up-scaling, a deformed and blurred ellipsoid, blending, mass effect and capsule, with
    the size presets of Table 6. Equivalent to ``apply(image, liver_mask, sample(...))``.

    Parameters
    ----------
    image : numpy.ndarray
        3-D CT in Hounsfield units, any real dtype; never modified unless `inplace`.
    liver_mask : numpy.ndarray
        3-D binary mask of the organ (bool or 0/1) of the same shape; with `organ_label`, an
        integer organ map holding it (e.g. TotalSegmentator's).
    spacing : tuple of 3 float
        Voxel spacing in mm, array-axis order (e.g. ``nib.load(path).header.get_zooms()``).
    organ : str or OrganPreset
        "liver" (default), "pancreas", "kidney" or a user's :class:`~synthtumor.organs.OrganPreset`
        (see :func:`sample` and ``docs/organs.md``).
    organ_label : int or tuple of int or None
        None (default): `liver_mask` is binary, and the label returned is 0 background,
        1 organ, 2 tumour. A value, or several (``(2, 3)``: both kidneys as one organ):
        `liver_mask` is an organ map; the label returned is that map with the tumour voxels
        set to ``config.tumor_label`` (which must not be one of its classes) and every other
        voxel untouched.
    size : {"tiny", "small", "medium", "large", "mix"} or None
        Table 6 preset; None draws one (probability 0.2 each by default).
    config : TumorConfig or None
        Hyper-parameters and stage switches; None uses the paper's.
    statistics : LiverStatistics or None
        The whole scan's statistics from :func:`liver_statistics` when `image` is a crop of
        it (see :func:`sample`): the cost then follows the crop, not the scan.
    rng : numpy.random.Generator or int or None
        Seed or generator: the same seed gives the same output.
    inplace : bool
        Write into `image` and `liver_mask` instead of copying (see :func:`apply`).

    Returns
    -------
    SynthesisResult
        ``(image, label, params)``: new image (input dtype), uint8 label map (0 background,
        1 liver, 2 tumour by default) and the drawn :class:`TumorParams`.

    Examples
    --------
    >>> import numpy as np
    >>> from synthtumor import synthesize
    >>> from synthtumor.phantom import make_phantom
    >>> phantom = make_phantom(rng=0)
    >>> image, label, params = synthesize(phantom.image, phantom.liver_mask,
    ...                                   spacing=phantom.spacing, size="small", rng=7)
    >>> sorted(np.unique(label).tolist())
    [0, 1, 2]
    >>> bool(np.array_equal(label == 2, (label == 2) & phantom.liver_mask))
    True
    """
    # Checked once here: the mask check reads the whole mask, which costs on big volumes.
    inplace = check_bool(inplace, name="inplace")
    organ = resolve_organ(organ)
    config = organ_config(_check_config(config), organ)
    statistics = _check_statistics(statistics)
    image = as_volume(image)
    organ_mask = _organ_mask(liver_mask, organ_label, image.shape, config)
    if inplace and organ_label is not None:
        raise ValueError("inplace=True needs a binary liver_mask, not an organ map (organ_label)")
    params = _sample_checked(
        image, organ_mask.organ, as_spacing(spacing), size, config, rng, statistics, organ=organ
    )
    return _apply_to(image, liver_mask, organ_mask, params, inplace=inplace)
