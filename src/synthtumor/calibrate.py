"""Calibrate the realistic mode to a user's annotated liver tumours.

:func:`calibrate` turns realism records (:func:`synthtumor.realism.lesion_statistics`, one list
per case) into a :class:`Calibration` of fitted values; :meth:`Calibration.to_config` gives the
:class:`~synthtumor.config.TumorConfig` (realistic mode) that ``synthtumor calibrate DATA -o
tumor.toml`` writes. What is fitted, and how (``docs/realism.md``, "Calibration"):

- ``texture_mean_hu`` (absolute HU): 10th-90th percentile of each lesion's core mean,
  ``liver_mean_hu + core_contrast_hu`` (``contrast_hu`` where a lesion has no core). It is
  absolute, so it suits scans whose liver is at the level of the calibration set's.
- ``texture_std_hu``: :func:`calibrate` alone takes the 10th-90th percentile of
  ``sqrt(max(std_ratio^2 - 1, 0)) * liver_std_hu``, which reads low (the lesion replaces the
  liver's detail coarser than the noise low-pass, so a lesion of zero own texture already
  measures a ratio below 1). :func:`calibrate_folder`, which has the scans, fits it by
  simulation instead (:func:`texture_std_by_simulation`): it draws lesions with the fitted
  config into a calibration scan at trial texture stds, measures their ``std_ratio`` the same
  way, and interpolates the measured ratios' 10th-90th percentiles on that curve.
- ``edge_blur_mm``: 10th-90th percentile over reliable edges of
  ``sqrt(max((w / 2.563)^2 - psf^2 - EDGE_EXTRA_MM^2, 0))``, clipped to >= 0.1 mm, with ``w`` the
  measured 10-90 % edge width, ``psf`` the RMS over axes of
  :func:`~synthtumor.appearance.scanner_blur_mm` and :data:`EDGE_EXTRA_MM` the broadening the
  report measures on the package's own tumours beyond those two (outline, deformation).
- sizes: each lesion goes to the preset nearest in log radius (boundaries the geometric means of
  4, 8, 16, 32 mm); a preset with lesions gets ``radius_mm`` = their 10th-90th percentile and
  ``count`` = the range of per-case counts; ``size_probabilities`` = share of cases whose most
  frequent preset it is (``mix`` 0). Deformations stay the paper's.
- sphericity and axis ratio are reported (median), not fitted: the deformations stay the
  paper's. Sphericity is no handle on them: medium lesions drawn into 1.5 x 1.5 x 2 mm phantoms
  measure a median sphericity of 0.857, 0.845 and 0.754 with sigma_e at 0, 1 and 3 times the
  paper's (``simulated_medians``), a change smaller than its spread between lesions, because
  voxelisation and the cut by the liver's outline dominate it.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from synthtumor._arrays import triple
from synthtumor.config import TUMOR_SIZES, SizePreset, TumorConfig, Value
from synthtumor.phase import PHASE_CHOICES, PHASES
from synthtumor.realism.measure import ERF_10_90, LesionStatistics

__all__ = [
    "EDGE_EXTRA_MM",
    "TEXTURE_TRIALS",
    "Calibration",
    "calibrate",
    "calibrate_folder",
    "simulated_medians",
    "texture_std_by_simulation",
]

EDGE_EXTRA_MM = 1.0

TEXTURE_TRIALS = (0.0, 0.4, 0.8, 1.2, 1.6, 2.4)
"""Trial texture stds of :func:`texture_std_by_simulation`, in parenchyma stds."""

SIMULATION_CASES = 3
"""How many calibration scans :func:`calibrate_folder` draws its texture trials into."""
"""Gaussian sigma (mm) the realism report adds to an inserted tumour's edge beyond its
transition blur and the scanner PSF (the outline at t'' = 0.3 and the elastic deformation),
measured on phantoms of 1.5 x 1.5 x 2 mm with small and medium tumours (edge_blur_mm 0.3-2.5)."""

MIN_EDGE_BLUR_MM = 0.1
_QUANTILES = (10.0, 90.0)
_PRESET_RADII = {"tiny": 4.0, "small": 8.0, "medium": 16.0, "large": 32.0}


@dataclass(frozen=True)
class Calibration:
    """Values fitted by :func:`calibrate`; ranges are (10th, 90th) percentiles, None if unfitted.

    ``median`` holds the median of each fitted quantity (and of sphericity and axis ratio),
    ``n`` the number of lesions (and reliable edges) used.
    """

    phase: str
    lesion: str
    texture_mean_hu: tuple[float, float] | None
    texture_std_hu: tuple[float, float] | None
    edge_blur_mm: tuple[float, float] | None
    presets: dict[str, SizePreset]
    size_probabilities: tuple[float, float, float, float, float]
    median: dict[str, float] = field(default_factory=dict)
    n: dict[str, int] = field(default_factory=dict)

    def to_config(self) -> TumorConfig:
        """The realistic-mode :class:`TumorConfig` with the fitted values (others: defaults)."""
        overrides: dict[str, Any] = dict(self.presets)
        overrides["size_probabilities"] = self.size_probabilities
        for name in ("texture_mean_hu", "texture_std_hu", "edge_blur_mm"):
            value = getattr(self, name)
            if value is not None:
                overrides[name] = value
        return TumorConfig.realistic(self.phase, self.lesion, **overrides)

    def summary(self) -> str:
        """A few lines describing the fit."""
        lines = [f"phase {self.phase}, lesion {self.lesion}, {self.n.get('lesions', 0)} lesion(s)"]
        for name in ("texture_mean_hu", "texture_std_hu", "edge_blur_mm"):
            value = getattr(self, name)
            text = "not fitted (no usable lesion)" if value is None else _range_text(value)
            lines.append(f"  {name}: {text} (median {self.median.get(name, math.nan):.2f})")
        for name, preset in self.presets.items():
            lines.append(f"  {name}: radius_mm {preset.radius_mm}, count {preset.count}")
        lines.append(f"  size_probabilities: {list(self.size_probabilities)}")
        lines.append(
            f"  sphericity median {self.median.get('sphericity', math.nan):.2f}, axis ratio "
            f"median {self.median.get('axis_ratio', math.nan):.2f} (reported, not fitted)"
        )
        return "\n".join(lines)


def _range_text(value: tuple[float, float]) -> str:
    return f"[{value[0]:.2f}, {value[1]:.2f}]"


def _percentiles(values: Sequence[float], *, minimum: float | None = None) -> Value | None:
    finite = np.asarray([v for v in values if math.isfinite(v)], dtype=float)
    if finite.size == 0:
        return None
    low, high = (float(round(v, 3)) for v in np.percentile(finite, _QUANTILES))
    if minimum is not None:
        low, high = max(low, minimum), max(high, minimum)
    return (low, high)


def _median(values: Sequence[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.median(finite)) if finite else math.nan


def _psf_rms_mm(spacing: Sequence[float]) -> float:
    from synthtumor.appearance import scanner_blur_mm

    sigmas = scanner_blur_mm(tuple(float(s) for s in spacing))  # type: ignore[arg-type]
    return math.sqrt(sum(s * s for s in sigmas) / 3.0)


def edge_blur_from_width(width_mm: float, spacing: Sequence[float]) -> float:
    """Invert a measured 10-90 % edge width to the realistic mode's ``edge_blur_mm``.

    Examples
    --------
    >>> round(edge_blur_from_width(5.3, (1.5, 1.5, 2.0)), 2)
    1.6
    """
    sigma = width_mm / ERF_10_90
    inner = sigma**2 - _psf_rms_mm(spacing) ** 2 - EDGE_EXTRA_MM**2
    return max(math.sqrt(max(inner, 0.0)), MIN_EDGE_BLUR_MM)


def _dominant_size(counts: Counter[str]) -> str:
    """The size with the most lesions in one case (ties: the smaller size)."""
    return max(TUMOR_SIZES, key=lambda name: (counts[name], -TUMOR_SIZES.index(name)))


def _preset_of(radius_mm: float) -> str:
    names = list(_PRESET_RADII)
    for name, upper in itertools.pairwise(names):
        if radius_mm < math.sqrt(_PRESET_RADII[name] * _PRESET_RADII[upper]):
            return name
    return names[-1]


def calibrate(
    records_by_case: Mapping[str, Sequence[LesionStatistics]],
    *,
    phase: str | Mapping[str, str] = "portal",
    spacing: Sequence[float] | Mapping[str, Sequence[float]],
    lesion: str = "metastasis",
) -> Calibration:
    """Fit the realistic mode's distributions to measured lesions (module docstring: how).

    Parameters
    ----------
    records_by_case : mapping of case name to list of LesionStatistics
        The realism records of each annotated case.
    phase : str or mapping of case name to str
        The phase of the scans (one of :data:`~synthtumor.phase.PHASES`); a mapping per case
        (as ``"auto"`` estimates) gives the most frequent one.
    spacing : 3 floats, or mapping of case name to 3 floats
        Voxel size in mm (for the scanner PSF removed from the edge width).
    lesion : str
        Lesion type written to the config (its capsule, periphery and fill apply).

    Raises
    ------
    ValueError
        No case, no lesion, or an unknown phase.
    """
    if not records_by_case:
        raise ValueError("calibrate needs at least one case")
    if isinstance(phase, Mapping):
        counts = Counter(phase[c] for c in records_by_case)
        phase = counts.most_common(1)[0][0]
    if phase not in PHASES:
        raise ValueError(f"phase must be one of {PHASES}; got {phase!r}")
    records = [(c, r) for c, rs in records_by_case.items() for r in rs]
    if not records:
        raise ValueError(f"no tumour lesion in {len(records_by_case)} case(s); check --tumor-label")

    def spacing_of(case: str) -> Sequence[float]:
        return spacing[case] if isinstance(spacing, Mapping) else spacing

    means = [
        r.liver_mean_hu
        + (r.core_contrast_hu if math.isfinite(r.core_contrast_hu) else r.contrast_hu)
        for _, r in records
    ]
    stds = [
        math.sqrt(max(r.std_ratio**2 - 1.0, 0.0)) * r.liver_std_hu
        if math.isfinite(r.std_ratio) and math.isfinite(r.liver_std_hu)
        else math.nan
        for _, r in records
    ]
    edges = [
        edge_blur_from_width(r.edge_width_mm, spacing_of(c))
        for c, r in records
        if r.edge_reliable and math.isfinite(r.edge_width_mm)
    ]

    per_case: dict[str, Counter[str]] = {c: Counter() for c in records_by_case}
    radii: dict[str, list[float]] = {name: [] for name in TUMOR_SIZES}
    for case, r in records:
        name = _preset_of(r.radius_mm)
        per_case[case][name] += 1
        radii[name].append(r.radius_mm)
    defaults = TumorConfig()
    presets: dict[str, SizePreset] = {}
    for name in TUMOR_SIZES:
        if not radii[name]:
            continue
        case_counts = [per_case[c][name] for c in per_case if per_case[c][name]]
        radius = _percentiles(radii[name], minimum=0.5)
        presets[name] = SizePreset(
            radius_mm=radius,  # type: ignore[arg-type]
            deformation_mm=getattr(defaults, name).deformation_mm,
            count=(min(case_counts), max(case_counts)),
        )
    dominant = Counter(_dominant_size(per_case[c]) for c in per_case if per_case[c])
    total = sum(dominant.values())
    probabilities = (*tuple(round(dominant[n] / total, 6) for n in TUMOR_SIZES), 0.0)

    return Calibration(
        phase=phase,
        lesion=lesion,
        texture_mean_hu=_percentiles(means),  # type: ignore[arg-type]
        texture_std_hu=_percentiles(stds, minimum=0.0),  # type: ignore[arg-type]
        edge_blur_mm=_percentiles(edges, minimum=MIN_EDGE_BLUR_MM),  # type: ignore[arg-type]
        presets=presets,
        size_probabilities=probabilities,  # type: ignore[arg-type]
        median={
            "texture_mean_hu": _median(means),
            "texture_std_hu": _median(stds),
            "edge_blur_mm": _median(edges),
            "sphericity": _median([r.sphericity for _, r in records]),
            "axis_ratio": _median([r.axis_ratio for _, r in records]),
        },
        n={"cases": len(records_by_case), "lesions": len(records), "reliable_edges": len(edges)},
    )


def calibrate_folder(
    folder: str | os.PathLike,
    *,
    phase: str = "auto",
    lesion: str = "metastasis",
    organ_label: int | None = None,
    tumor_label: int = 2,
    liver_label: int | None = None,
) -> Calibration:
    """Measure every case of `folder` (layouts of :func:`synthtumor.realism.find_cases`) and
    :func:`calibrate`; ``phase="auto"`` estimates each case's phase from its liver and aorta.

    `organ_label` (default 1) is the organ's value in the labels; `liver_label` its deprecated
    name. ``phase="auto"`` needs the organ to be the liver.
    """
    from synthtumor.organ_map import renamed_label

    liver_label = renamed_label(organ_label, liver_label)
    from synthtumor.phase import estimate_phase
    from synthtumor.realism.compare import find_cases, load_case
    from synthtumor.realism.measure import lesion_statistics

    if phase not in PHASE_CHOICES:
        raise ValueError(f"phase must be one of {PHASE_CHOICES}; got {phase!r}")
    records: dict[str, list[LesionStatistics]] = {}
    spacings: dict[str, tuple[float, float, float]] = {}
    phases: dict[str, str] = {}
    # The first few scans, kept for the texture trials.
    scans: list[tuple[np.ndarray, np.ndarray, tuple[float, float, float]]] = []
    for case in find_cases(Path(folder), name="calibration folder"):
        image, label, spacing = load_case(case.image, case.label)
        if len(scans) < SIMULATION_CASES:
            scans.append((image, label == liver_label, spacing))
        records[case.name] = lesion_statistics(
            image, label, spacing=spacing, organ_label=liver_label, tumor_label=tumor_label
        )
        spacings[case.name] = spacing
        if phase == "auto":
            organ = (label == liver_label) | (label == tumor_label)
            phases[case.name] = estimate_phase(image, organ, spacing=spacing).phase
    fit = calibrate(
        records, phase=phases if phase == "auto" else phase, spacing=spacings, lesion=lesion
    )
    ratios = [r.std_ratio for rs in records.values() for r in rs if math.isfinite(r.std_ratio)]
    if not ratios:
        return fit
    stds = texture_std_by_simulation(
        scans,
        config=fit.to_config(),
        target_ratios=tuple(float(q) for q in np.percentile(ratios, [10, 50, 90])),
    )
    return dataclasses.replace(
        fit,
        texture_std_hu=(stds[0], stds[2]),
        median={**fit.median, "texture_std_hu": stds[1]},
    )


def texture_std_by_simulation(
    scans: Sequence[tuple[np.ndarray, np.ndarray, Sequence[float]]],
    *,
    config: TumorConfig,
    target_ratios: Sequence[float],
    seeds: Sequence[int] = (0, 1),
) -> tuple[float, ...]:
    """The texture stds (HU) at which `config`'s lesions measure each of `target_ratios`.

    `scans` are ``(image, liver_mask, spacing)`` of calibration scans. For each trial of
    :data:`TEXTURE_TRIALS` (times the first scan's parenchyma std), solitary medium lesions are
    drawn into each scan (one per seed) and their ``std_ratio`` measured; the targets are
    interpolated on the median ratio per trial (made non-decreasing), clipped to the trials'
    range.

    Examples
    --------
    >>> from synthtumor.phantom import make_phantom
    >>> phantom = make_phantom((80, 80, 48), (3.0, 3.0, 4.0), rng=0)
    >>> config = TumorConfig.realistic("portal", "metastasis")
    >>> low, high = texture_std_by_simulation(
    ...     [(phantom.image, phantom.liver_mask, phantom.spacing)], config=config,
    ...     target_ratios=(0.8, 1.2), seeds=(0,))
    >>> 0.0 <= low <= high
    True
    """
    from synthtumor.synthesize import liver_statistics

    if not scans:
        raise ValueError("texture_std_by_simulation needs at least one scan")
    first_image, first_mask, first_spacing = scans[0]
    parenchyma_std = liver_statistics(
        first_image,
        np.asarray(first_mask, bool),
        spacing=triple(first_spacing),
        rng=0,
    ).parenchyma_std_hu
    trial_stds = [trial * parenchyma_std for trial in TEXTURE_TRIALS]
    trials = [config.replace(texture_std_hu=std, pattern="solitary") for std in trial_stds]
    measured = simulated_medians(scans, trials, "std_ratio", seeds=seeds)
    curve = np.maximum.accumulate(np.nan_to_num(np.asarray(measured), nan=0.0))
    return tuple(float(np.interp(target, curve, trial_stds)) for target in target_ratios)


def simulated_medians(
    scans: Sequence[tuple[np.ndarray, np.ndarray, Sequence[float]]],
    configs: Sequence[TumorConfig],
    field_name: str,
    *,
    seeds: Sequence[int] = (0, 1),
) -> list[float]:
    """Per config, the median realism measure `field_name` of medium lesions drawn with it.

    One synthesis per scan and seed; NaN measures are left out (NaN when none is left).
    """
    from synthtumor.realism.measure import lesion_statistics
    from synthtumor.synthesize import synthesize

    medians = []
    for config in configs:
        values: list[float] = []
        for (image, mask, spacing), seed in itertools.product(scans, seeds):
            synthetic, label, _ = synthesize(
                image,
                np.asarray(mask, bool),
                spacing=tuple(spacing),  # type: ignore[arg-type]
                size="medium",
                config=config,
                rng=seed,
            )
            records = lesion_statistics(synthetic, label, spacing=tuple(spacing))
            values += [v for r in records if math.isfinite(v := getattr(r, field_name))]
        medians.append(float(np.median(values)) if values else math.nan)
    return medians
