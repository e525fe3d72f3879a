"""Checks of every field of a drawn synthesis (``TumorSpec`` and ``TumorParams``).

:func:`synthtumor.apply` renders whatever params it is given, and params come from files; so
each field is checked where the params are built (their ``__post_init__``), with the same
bounds as the :class:`~synthtumor.TumorConfig` that draws them. An error names the field (as
``tumors[i].field`` for a tumour's) and what was expected.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from synthtumor._validation.arrays import as_spacing
from synthtumor._validation.scalars import (
    MAX_ABS_HU,
    MAX_BLUR_MM,
    MAX_DEFORMATION_PER_RADIUS,
    MAX_MASS_EFFECT_RADIUS_FACTOR,
    MAX_NOISE_LOWPASS_MM,
    MAX_RADIUS_MM,
    MAX_SEMI_AXIS_MM,
    MAX_TEXTURE_SCALE,
    MIN_RADIUS_MM,
    MIN_SEMI_AXIS_MM,
    check_bool,
    check_choice,
    check_int,
    check_label_threshold,
    check_labels,
    check_pair,
    check_real,
    check_seed,
)

__all__ = ["PUSHED", "VESSEL_CHECKS", "check_tumor_params", "check_tumor_spec"]

VESSEL_CHECKS = ("eq2", "off", "unenhanced")
"""Values of ``TumorParams.vessel_check``."""

PUSHED = ("surroundings", "organ")
"""Values of ``TumorParams.push``: what the tumours' mass effect moves."""

Check = Callable[[object, str], object]


def _real(low: float, high: float, *, low_open: bool = False) -> Check:
    return lambda value, name: check_real(value, name=name, low=low, high=high, low_open=low_open)


def _triple(low: float, high: float, *, low_open: bool = False) -> Check:
    def check(value: object, name: str) -> None:
        if not isinstance(value, tuple) or len(value) != 3:
            raise TypeError(f"{name} must be 3 numbers, got {value!r}")
        for axis, item in enumerate(value):
            check_real(item, name=f"{name}[{axis}]", low=low, high=high, low_open=low_open)

    return check


def _center(value: object, name: str) -> None:
    if not isinstance(value, tuple) or len(value) != 3:
        raise TypeError(f"{name} must be 3 integer voxel indices, got {value!r}")
    for axis, item in enumerate(value):
        check_int(item, name=f"{name}[{axis}]", minimum=0)


def _optional_bool(value: object, name: str) -> None:
    if value is not None:
        check_bool(value, name=name)


def _size(value: object, name: str) -> None:
    from synthtumor.config import TUMOR_SIZES

    check_choice(value, TUMOR_SIZES, name=name)


def _lesion(value: object, name: str) -> None:
    from synthtumor.appearance import LESION_NAMES

    check_choice(value, LESION_NAMES, name=name, allow_none=True)


_HU = _real(-MAX_ABS_HU, MAX_ABS_HU)
_HU_STD = _real(0.0, MAX_ABS_HU)
_BLUR = _real(0.0, MAX_BLUR_MM)

_SPEC_FIELDS: dict[str, Check] = {
    "size": _size,
    "center_voxel": _center,
    "vessel_free": _optional_bool,
    "radius_mm": _real(MIN_RADIUS_MM, MAX_RADIUS_MM),
    "semi_axes_mm": _triple(MIN_SEMI_AXIS_MM, MAX_SEMI_AXIS_MM),
    "deformation_mm": _real(0.0, MAX_DEFORMATION_PER_RADIUS * MAX_RADIUS_MM),
    "edge_blur_mm": _BLUR,
    "texture_mean_hu": _HU,
    "texture_std_hu": _HU_STD,
    "texture_scale": _real(1.0, MAX_TEXTURE_SCALE),
    "texture_blur_mm": _BLUR,
    "mass_effect_radius_factor": _real(0.0, MAX_MASS_EFFECT_RADIUS_FACTOR),
    "mass_effect_intensity": _real(0.0, 100.0),
    "capsule_blur_mm": _BLUR,
    "capsule_contrast_hu": _HU,
    "seed": lambda value, name: check_seed(value, name=name),
    "lesion": _lesion,
    "periphery_hu": _HU,
    "fill": _real(0.0, 1.0),
}


def check_tumor_spec(spec: Any, *, where: str = "") -> None:
    """Check every field of a ``TumorSpec``; `where` prefixes the field names (``tumors[0].``)."""
    for field, check in _SPEC_FIELDS.items():
        check(getattr(spec, field), f"{where}{field}")
    if spec.deformation_mm > MAX_DEFORMATION_PER_RADIUS * spec.radius_mm:
        raise ValueError(
            f"{where}deformation_mm must be at most {MAX_DEFORMATION_PER_RADIUS:g} x radius_mm "
            f"({spec.radius_mm:g} mm), got {spec.deformation_mm!r}"
        )


def _shape(value: object, name: str) -> None:
    if not isinstance(value, tuple) or len(value) != 3:
        raise TypeError(f"{name} must be 3 positive integers, got {value!r}")
    for axis, item in enumerate(value):
        check_int(item, name=f"{name}[{axis}]", minimum=1)


def _choices(kind: str, *, allow_none: bool = False) -> Check:
    def check(value: object, name: str) -> None:
        from synthtumor.config import APPEARANCES, PATTERNS, SIZE_NAMES
        from synthtumor.phase import PHASES

        options = {
            "size": SIZE_NAMES,
            "appearance": APPEARANCES,
            "phase": PHASES,
            "pattern": PATTERNS,
            "vessel_check": VESSEL_CHECKS,
            "push": PUSHED,
        }[kind]
        check_choice(value, options, name=name, allow_none=allow_none)

    return check


def _spacing(value: object, name: str) -> None:
    if not isinstance(value, tuple):
        raise TypeError(f"{name} must be 3 positive numbers in mm, got {value!r}")
    as_spacing(value, name=name)


_PARAMS_FIELDS: dict[str, Check] = {
    "shape": _shape,
    "spacing": _spacing,
    "size": _choices("size"),
    "liver_mean_hu": _HU,
    "parenchyma_mean_hu": _HU,
    "parenchyma_std_hu": _HU_STD,
    "vessel_threshold_hu": _HU,
    "vessel_smoothing_mm": _BLUR,
    "label_threshold": lambda value, name: check_label_threshold(value, name=name),
    "appearance": _choices("appearance"),
    "phase": _choices("phase", allow_none=True),
    "pattern": _choices("pattern", allow_none=True),
    "noise_lowpass_mm": _real(0.0, MAX_NOISE_LOWPASS_MM),
    "vessel_check": _choices("vessel_check"),
    "capsule_band": lambda value, name: check_pair(value, name, low=0.0, high=1.0),
    "push": _choices("push"),
    "scanner_blur": lambda value, name: check_bool(value, name=name),
}


def check_tumor_params(params: Any) -> None:
    """Check every field of a ``TumorParams`` and of its tumours (centres inside `shape`)."""
    from synthtumor.params import TumorSpec

    for field, check in _PARAMS_FIELDS.items():
        check(getattr(params, field), field)
    check_labels(
        {
            "background_label": params.background_label,
            "organ_label": params.organ_label,
            "tumor_label": params.tumor_label,
        },
        maximum=255,
    )
    if not isinstance(params.tumors, tuple):
        raise TypeError(f"tumors must be a tuple of TumorSpec, got {type(params.tumors).__name__}")
    for index, spec in enumerate(params.tumors):
        if not isinstance(spec, TumorSpec):
            raise TypeError(f"tumors[{index}] must be a TumorSpec, got {type(spec).__name__}")
        outside = [c >= n for c, n in zip(spec.center_voxel, params.shape, strict=True)]
        if any(outside):
            raise ValueError(
                f"tumors[{index}].center_voxel {spec.center_voxel} lies outside the volume's "
                f"shape {params.shape}"
            )
