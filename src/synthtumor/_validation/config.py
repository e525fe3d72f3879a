"""Checks of every field of a ``TumorConfig`` and its ``SizePreset`` s, with their bounds.

Called from their ``__post_init__``; the choices (appearance, phase, pattern, lesion types) are
checked there, next to the modes they select.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from synthtumor._validation.scalars import (
    MAX_ABS_HU,
    MAX_BLUR_MM,
    MAX_DEFORMATION_PER_RADIUS,
    MAX_LOCATION_TRIES,
    MAX_MASS_EFFECT_RADIUS_FACTOR,
    MAX_NOISE_LOWPASS_MM,
    MAX_RADIUS_MM,
    MAX_SEMI_AXIS_FACTOR,
    MAX_STATS_PATCHES,
    MAX_TEXTURE_SCALE,
    MIN_RADIUS_MM,
    MIN_SEMI_AXIS_FACTOR,
    check_bool,
    check_choice,
    check_int,
    check_label_threshold,
    check_labels,
    check_pair,
    check_real,
    check_value,
)

__all__ = ["check_size_preset", "check_tumor_config"]


def check_size_preset(preset: Any) -> None:
    """Radius and deformation of a ``SizePreset`` (its count is checked by the preset)."""
    check_value(preset.radius_mm, "radius_mm", minimum=MIN_RADIUS_MM, maximum=MAX_RADIUS_MM)
    check_value(preset.deformation_mm, "deformation_mm")
    radius, deformation = preset.radius_mm, preset.deformation_mm
    smallest_radius = min(radius) if isinstance(radius, tuple) else radius
    largest = max(deformation) if isinstance(deformation, tuple) else deformation
    if largest > MAX_DEFORMATION_PER_RADIUS * smallest_radius:
        raise ValueError(
            f"deformation_mm must be at most {MAX_DEFORMATION_PER_RADIUS:g} x radius_mm "
            f"(the smallest radius, {smallest_radius:g} mm), got {deformation!r}"
        )


def check_tumor_config(config: Any) -> None:
    """Every numeric, integer and boolean field of a ``TumorConfig``."""
    _check_ranges(config)
    _check_counts_and_labels(config)
    for name in _SWITCHES:
        check_bool(getattr(config, name), name=name)


_SWITCHES = (
    "tiny_tumors",
    "elastic_deformation",
    "edge_blur",
    "vessel_avoidance",
    "mass_effect",
    "capsule",
    "scanner_blur",
)
"""The boolean fields: True or False only (``capsule="False"`` would switch nothing off)."""

_RANGES: dict[str, tuple[float, float]] = {
    "vessel_smoothing_mm": (0.0, MAX_BLUR_MM),
    "vessel_threshold_offset_hu": (0.0, MAX_ABS_HU),
    "texture_mean_hu": (-MAX_ABS_HU, MAX_ABS_HU),
    "texture_scale": (1.0, MAX_TEXTURE_SCALE),
    "texture_blur_mm": (0.0, MAX_BLUR_MM),
    "edge_blur_mm": (0.0, MAX_BLUR_MM),
    "mass_effect_radius_factor": (0.0, MAX_MASS_EFFECT_RADIUS_FACTOR),
    "mass_effect_intensity": (0.0, 100.0),
    "capsule_blur_mm": (0.0, MAX_BLUR_MM),
    "capsule_contrast_hu": (0.0, MAX_ABS_HU),
    "texture_std_hu": (0.0, MAX_ABS_HU),
}
"""``(minimum, maximum)`` of each constant-or-range field (None, where allowed, is checked
elsewhere); the maxima are documented in docs/robustness.md."""


def _check_ranges(config: Any) -> None:
    """The constant-or-range fields, pairs and plain numbers: type, finiteness and bounds."""
    for name, (minimum, maximum) in _RANGES.items():
        if getattr(config, name) is not None:
            check_value(getattr(config, name), name, minimum=minimum, maximum=maximum)
    check_pair(
        config.semi_axis_factor,
        "semi_axis_factor",
        low=MIN_SEMI_AXIS_FACTOR,
        high=MAX_SEMI_AXIS_FACTOR,
    )
    check_pair(config.capsule_band, "capsule_band", low=0.0, high=1.0)
    check_real(config.capsule_share, name="capsule_share", low=0.0, high=1.0)
    check_real(
        config.noise_lowpass_mm,
        name="noise_lowpass_mm",
        low=0.0,
        high=MAX_NOISE_LOWPASS_MM,
        low_open=True,
    )
    probabilities = config.size_probabilities
    if (
        not isinstance(probabilities, tuple | list | np.ndarray)
        or len(probabilities) != 5
        or not all(isinstance(p, numbers.Real) and not isinstance(p, bool) for p in probabilities)
    ):
        raise TypeError(
            "size_probabilities must be a tuple of 5 numbers (tiny, small, medium, large, mix), "
            f"got {probabilities!r}"
        )
    if not all(math.isfinite(p) and p >= 0 for p in probabilities) or sum(probabilities) <= 0:
        raise ValueError(
            "size_probabilities must be 5 non-negative numbers (tiny, small, medium, large, "
            f"mix) with a positive sum, got {probabilities!r}"
        )


def _check_counts_and_labels(config: Any) -> None:
    """The integer fields, the location fallback, the label threshold and the label values."""
    check_int(
        config.max_location_tries,
        name="max_location_tries",
        minimum=1,
        maximum=MAX_LOCATION_TRIES,
    )
    check_choice(config.location_fallback, ("least_vessels", "raise"), name="location_fallback")
    check_int(config.stats_patches, name="stats_patches", minimum=1, maximum=MAX_STATS_PATCHES)
    check_label_threshold(config.label_threshold)
    check_labels(
        {
            "background_label": config.background_label,
            "organ_label": config.organ_label,
            "tumor_label": config.tumor_label,
        },
        maximum=255,
    )
