"""Evaluate a folder of predicted label maps against a folder of reference label maps.

:func:`evaluate_folder` pairs NIfTI files by case name, computes :func:`~.metrics.case_metrics`
for every case and writes the report files named in :data:`REPORT_FILES`. :func:`compare_folders`
and :func:`paired_comparison` compare two prediction sets on the same cases.

Every report file is written atomically (temporary file in the same folder, then
:func:`os.replace`) after all report contents have been computed, and existing report files are
only replaced with ``overwrite=True``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, TypedDict

import numpy as np

from synthtumor._arrays import triple
from synthtumor._renamed import SPELLING, renamed_value, respelled
from synthtumor.io import atomic_write_bytes, read_volume, remove_partial_files
from synthtumor.reference.metrics import (
    MIN_INSIDE_FRACTION,
    RADIUS_BINS_MM,
    case_level_detection,
    case_metrics,
    detection_rate_by_radius,
    radius_bin_label,
    radius_bin_labels,
)
from synthtumor.reference.reports import csv_text
from synthtumor.reference.stats import (
    ConfidenceInterval,
    RngLike,
    bootstrap_ci,
    paired_test,
    wilson_interval,
)

__all__ = [
    "LESION_COLUMNS",
    "PER_CASE_COLUMNS",
    "REPORT_FILES",
    "Summary",
    "compare_folders",
    "comparison_markdown",
    "evaluate_cases",
    "evaluate_folder",
    "pair_cases",
    "paired_comparison",
    "read_per_case_csv",
    "summarise",
]

REPORT_FILES: tuple[str, ...] = (
    "per_case.csv",
    "lesions.csv",
    "summary.json",
    "summary.md",
    "detection_by_radius.png",
)
"""Files written by :func:`evaluate_folder` into its output folder."""

PER_CASE_COLUMNS: tuple[str, ...] = (
    "case",
    "tumor_dsc",
    "tumor_nsd",
    "liver_dsc",
    "tumor_in_reference",
    "tumor_predicted",
    "n_lesions",
    "n_detected",
    "n_false_positives",
    "reference_tumor_volume_mm3",
    "predicted_tumor_volume_mm3",
    "n_predicted_lesions",
    "false_positive_volume_mm3",
)
"""Columns of ``per_case.csv``."""

LESION_COLUMNS: tuple[str, ...] = (
    "case",
    "lesion_id",
    "radius_mm",
    "radius_bin",
    "volume_mm3",
    "n_voxels",
    "overlap_fraction",
    "detected",
)
"""Columns of ``lesions.csv`` (one row per reference lesion)."""

_METRIC_TITLES = {
    "tumor_dsc": "Tumour DSC",
    "tumor_nsd": "Tumour NSD",
    "liver_dsc": "Liver DSC",
    "tumor_dsc_tumor_cases": "Tumour DSC (cases with tumour)",
    "tumor_nsd_tumor_cases": "Tumour NSD (cases with tumour)",
}
_NIFTI_SUFFIXES = (".nii.gz", ".nii")
_AFFINE_ATOL = 1e-3


# --------------------------------------------------------------------------------------------
# Reading cases
# --------------------------------------------------------------------------------------------


LABEL_SUFFIX = "_label"
"""A file ``X_label.nii.gz`` is the label map of case ``X`` (the layout of ``synthesize``)."""
IMAGE_SUFFIX = "_image"
"""A file ``X_image.nii.gz`` beside ``X_label.nii.gz`` is the CT of case ``X`` and is skipped."""


def _case_name(path: Path) -> str | None:
    lower = path.name.lower()
    for suffix in _NIFTI_SUFFIXES:
        if lower.endswith(suffix) and len(lower) > len(suffix):
            return path.name[: -len(suffix)]
    return None


def _nifti_stems(folder: Path) -> dict[str, Path]:
    """File name without suffix -> path, for the visible NIfTI files of `folder`."""
    stems: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        name = _case_name(path)
        if name is None or path.name.startswith(".") or not path.is_file():
            continue
        if name in stems:
            raise ValueError(
                f"case {name!r} appears twice in {folder}: {stems[name].name}, {path.name}"
            )
        stems[name] = path
    return stems


def _list_cases(folder: Path, role: str) -> dict[str, Path]:
    if not folder.is_dir():
        raise ValueError(f"{role} folder {folder} is not a directory")
    stems = _nifti_stems(folder)
    labelled = {stem.removesuffix(LABEL_SUFFIX) for stem in stems if stem.endswith(LABEL_SUFFIX)}
    cases: dict[str, Path] = {}
    for stem, path in stems.items():
        if stem.endswith(IMAGE_SUFFIX) and stem.removesuffix(IMAGE_SUFFIX) in labelled:
            continue  # the CT beside its label map
        name = stem.removesuffix(LABEL_SUFFIX) if stem.endswith(LABEL_SUFFIX) else stem
        if name in cases:
            raise ValueError(
                f"case {name!r} appears twice in {folder}: {cases[name].name}, {path.name}"
            )
        cases[name] = path
    if not cases:
        raise ValueError(f"no NIfTI files (*.nii.gz, *.nii) in {role} folder {folder}")
    return cases


def pair_cases(
    pred_dir: str | os.PathLike, ref_dir: str | os.PathLike
) -> list[tuple[str, Path, Path]]:
    """Pair prediction and reference NIfTI files by case name.

    The case name is the file name without ``.nii.gz`` / ``.nii`` (so ``a.nii`` pairs with
    ``a.nii.gz``) and without a final ``_label``: the output folder of ``synthtumor
    synthesize`` (``synth_000_label.nii.gz`` beside ``synth_000_image.nii.gz``, which is
    skipped) pairs with the predictions ``synthtumor predict`` writes for its images
    (``synth_000.nii.gz``). Hidden files (such as the temporary files of an interrupted
    writer) and other files are ignored.

    Returns
    -------
    list of (case, pred_path, ref_path)
        Sorted by case name.

    Raises
    ------
    ValueError
        If a folder is missing or holds no NIfTI file, a case appears twice in one folder, or
        some case is present in only one folder (all such cases are listed).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     root = pathlib.Path(tmp)
    ...     for folder in ("pred", "ref"):
    ...         (root / folder).mkdir()
    ...         (root / folder / "case01.nii.gz").touch()
    ...     [case for case, _, _ in pair_cases(root / "pred", root / "ref")]
    ['case01']
    """
    predictions = _list_cases(Path(pred_dir), "prediction")
    references = _list_cases(Path(ref_dir), "reference")
    missing_prediction = sorted(references.keys() - predictions.keys())
    missing_reference = sorted(predictions.keys() - references.keys())
    if missing_prediction or missing_reference:
        problems = []
        if missing_prediction:
            problems.append(f"no prediction for {', '.join(missing_prediction)}")
        if missing_reference:
            problems.append(f"no reference for {', '.join(missing_reference)}")
        raise ValueError(f"{pred_dir} and {ref_dir} hold different cases: " + "; ".join(problems))
    return [(case, predictions[case], references[case]) for case in sorted(references)]


def _load_label_map(path: Path) -> tuple[np.ndarray, np.ndarray, tuple[float, float, float]]:
    """Read a 3-D label map; return (labels, affine, spacing in mm).

    A truncated, corrupt or non-NIfTI file raises :class:`ValueError` naming it.
    """
    image, data = read_volume(path, "label map")
    if np.issubdtype(data.dtype, np.floating):
        rounded = np.rint(data)
        if not np.allclose(data, rounded, rtol=0.0, atol=1e-3):
            raise ValueError(f"{path} must hold integer labels, found non-integer values")
        data = rounded.astype(np.int32)
    spacing = triple(float(z) for z in image.header.get_zooms()[:3])
    return data, np.asarray(image.affine, dtype=float), spacing


class _CaseOptions(TypedDict):
    """The keyword options of :func:`evaluate_cases`."""

    liver_label: int
    tumor_label: int
    tolerance_mm: float
    overlap_threshold: float


def evaluate_cases(
    pred_dir: str | os.PathLike,
    ref_dir: str | os.PathLike,
    *,
    liver_label: int = 1,
    tumor_label: int = 2,
    tolerance_mm: float = 2.0,
    overlap_threshold: float = 0.0,
) -> list[dict[str, Any]]:
    """Per-case metric records for every case of two folders (nothing is written).

    The voxel spacing is read from the reference header (``get_zooms()[:3]``, mm). Prediction and
    reference must have the same shape and affines equal within 1e-3 (absolute).

    Returns
    -------
    list of dict
        ``{"case": name, **case_metrics(...)}`` per case, sorted by case name.

    Raises
    ------
    ValueError
        See :func:`pair_cases`; also on a shape or affine mismatch (naming the case) and on files
        that are not 3-D integer label maps.
    """
    records = []
    for case, pred_path, ref_path in pair_cases(pred_dir, ref_dir):
        pred, pred_affine, _ = _load_label_map(pred_path)
        ref, ref_affine, spacing = _load_label_map(ref_path)
        if pred.shape != ref.shape:
            raise ValueError(
                f"case {case}: prediction shape {pred.shape} differs from reference shape "
                f"{ref.shape}"
            )
        if not np.allclose(pred_affine, ref_affine, rtol=0.0, atol=_AFFINE_ATOL):
            raise ValueError(
                f"case {case}: prediction and reference affines differ (tolerance "
                f"{_AFFINE_ATOL}):\nprediction\n{pred_affine}\nreference\n{ref_affine}"
            )
        metrics = case_metrics(
            pred,
            ref,
            spacing=spacing,
            liver_label=liver_label,
            tumor_label=tumor_label,
            tolerance_mm=tolerance_mm,
            overlap_threshold=overlap_threshold,
        )
        records.append({"case": case, **metrics})
    return records


# --------------------------------------------------------------------------------------------
# Summary
# --------------------------------------------------------------------------------------------


def _json_safe(value: Any) -> Any:
    """Convert to JSON-ready builtins; NaN and inf become None (JSON has no NaN)."""
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    return value


def _interval_dict(interval: ConfidenceInterval, n: int) -> dict[str, Any]:
    return {"mean": interval.estimate, "ci_low": interval.low, "ci_high": interval.high, "n": n}


@dataclass(frozen=True)
class Summary:
    """Aggregate results of an evaluation.

    Attributes
    ----------
    n_cases : int
        Number of evaluated cases.
    metrics : dict of str to ConfidenceInterval
        Mean and 95 % (``confidence``) percentile-bootstrap CI over cases of ``tumor_dsc``,
        ``tumor_nsd``, ``liver_dsc`` (all cases, with the empty-mask policy) and of
        ``tumor_dsc_tumor_cases``, ``tumor_nsd_tumor_cases`` (only cases whose reference has
        tumour, where the empty policy plays no part).
    metric_counts : dict of str to int
        Number of cases behind each entry of ``metrics``.
    sensitivity, specificity : ConfidenceInterval
        Case-level tumour detection with Wilson score intervals.
    case_counts : dict of str to int
        ``tp``, ``fn``, ``tn``, ``fp`` of case-level detection.
    detection_by_radius : dict
        ``bin label -> (detected, total, rate)`` over all reference lesions.
    false_positives_total : int
        Predicted tumour components touching no reference lesion, over all cases.
    false_positives_per_scan : ConfidenceInterval
        Mean false positives per scan with percentile-bootstrap CI.
    false_positives_by_radius : dict of str to int
        False positives per radius bin.
    lesion_sensitivity, lesion_precision : ConfidenceInterval
        Lesion level, pooled over cases with Wilson intervals: detected share of the reference
        lesions, and true-positive share of the predicted components (see
        :func:`~.metrics.lesion_detection`; a prediction painting the whole liver has
        sensitivity 1 and precision 0).
    lesion_counts : dict of str to int
        ``lesions``, ``detected``, ``predicted`` and ``false_positives``, over all cases.
    false_positive_volume_mm3 : ConfidenceInterval
        Mean predicted tumour volume per scan outside every reference lesion, bootstrap CI.
    settings : dict
        Parameters of the evaluation.
    per_case : tuple of dict
        The per-case records (see :func:`evaluate_cases`).
    files : dict of str to Path
        Report files written (empty when not written).
    """

    n_cases: int
    metrics: dict[str, ConfidenceInterval]
    metric_counts: dict[str, int]
    sensitivity: ConfidenceInterval
    specificity: ConfidenceInterval
    case_counts: dict[str, int]
    detection_by_radius: dict[str, tuple[int, int, float]]
    false_positives_total: int
    false_positives_per_scan: ConfidenceInterval
    false_positives_by_radius: dict[str, int]
    lesion_sensitivity: ConfidenceInterval
    lesion_precision: ConfidenceInterval
    lesion_counts: dict[str, int]
    false_positive_volume_mm3: ConfidenceInterval
    settings: dict[str, Any]
    per_case: tuple[dict[str, Any], ...] = ()
    files: dict[str, Path] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (the content of ``summary.json``); NaN becomes None."""
        case_level = {
            "ci_method": "wilson",
            "sensitivity": {
                "value": self.sensitivity.estimate,
                "ci_low": self.sensitivity.low,
                "ci_high": self.sensitivity.high,
            },
            "specificity": {
                "value": self.specificity.estimate,
                "ci_low": self.specificity.low,
                "ci_high": self.specificity.high,
            },
            **self.case_counts,
        }
        return _json_safe(
            {
                "n_cases": self.n_cases,
                "cases": [record["case"] for record in self.per_case],
                "settings": self.settings,
                "metrics": {
                    name: _interval_dict(interval, self.metric_counts[name])
                    for name, interval in self.metrics.items()
                },
                "case_level_detection": case_level,
                "detection_by_radius": {
                    label: {"detected": detected, "total": total, "rate": rate}
                    for label, (detected, total, rate) in self.detection_by_radius.items()
                },
                "false_positives": {
                    "total": self.false_positives_total,
                    "per_scan": _interval_dict(self.false_positives_per_scan, self.n_cases),
                    "by_radius": self.false_positives_by_radius,
                    "volume_per_scan_mm3": _interval_dict(
                        self.false_positive_volume_mm3, self.n_cases
                    ),
                },
                "lesion_level": {
                    "ci_method": "wilson",
                    "sensitivity": _interval_dict(
                        self.lesion_sensitivity, self.lesion_counts["lesions"]
                    ),
                    "precision": _interval_dict(
                        self.lesion_precision, self.lesion_counts["predicted"]
                    ),
                    **self.lesion_counts,
                },
            }
        )


def summarise(
    records: Sequence[Mapping[str, Any]],
    *,
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    rng: RngLike = 0,
    min_predicted_volume_mm3: float = 0.0,
    bins: Sequence[tuple[float, float]] = RADIUS_BINS_MM,
    settings: Mapping[str, Any] | None = None,
) -> Summary:
    """Aggregate per-case records (from :func:`evaluate_cases`) into a :class:`Summary`.

    Means get percentile-bootstrap CIs over cases (:func:`~.stats.bootstrap_ci`, one generator
    seeded with ``rng`` and used in a fixed order, so the result is reproducible); case-level
    sensitivity and specificity get Wilson score intervals (:func:`~.stats.wilson_interval`).

    Examples
    --------
    >>> import numpy as np
    >>> from synthtumor.reference.metrics import case_metrics
    >>> ref = np.zeros((10, 10, 10), np.uint8); ref[1:9, 1:9, 1:9] = 1; ref[3:6, 3:6, 3:6] = 2
    >>> records = [{"case": "a", **case_metrics(ref, ref, spacing=(1, 1, 1))}]
    >>> summary = summarise(records, n_resamples=100)
    >>> summary.metrics["tumor_dsc"].estimate, summary.sensitivity.estimate
    (1.0, 1.0)
    """
    if not records:
        raise ValueError("records is empty: nothing to summarise")
    generator = np.random.default_rng(rng)

    def bootstrap(values: Iterable[float]) -> tuple[ConfidenceInterval, int]:
        array = np.asarray(list(values), dtype=float)
        interval = bootstrap_ci(
            array, confidence=confidence, n_resamples=n_resamples, rng=generator
        )
        return interval, int(np.count_nonzero(~np.isnan(array)))

    tumor_cases = [record for record in records if record["tumor_in_reference"]]
    metric_values = {
        "tumor_dsc": [record["tumor_dsc"] for record in records],
        "tumor_nsd": [record["tumor_nsd"] for record in records],
        "liver_dsc": [record["liver_dsc"] for record in records],
        "tumor_dsc_tumor_cases": [record["tumor_dsc"] for record in tumor_cases],
        "tumor_nsd_tumor_cases": [record["tumor_nsd"] for record in tumor_cases],
    }
    metrics: dict[str, ConfidenceInterval] = {}
    metric_counts: dict[str, int] = {}
    for name, values in metric_values.items():
        metrics[name], metric_counts[name] = bootstrap(values)

    detection = case_level_detection(records, min_predicted_volume_mm3=min_predicted_volume_mm3)
    tp, fn, tn, fp = (int(detection[key]) for key in ("tp", "fn", "tn", "fp"))
    fp_counts, _ = bootstrap(record["n_false_positives"] for record in records)
    fp_volume, _ = bootstrap(record["false_positive_volume_mm3"] for record in records)
    lesion_counts = {
        "lesions": sum(int(record["n_lesions"]) for record in records),
        "detected": sum(int(record["n_detected"]) for record in records),
        "predicted": sum(int(record["n_predicted_lesions"]) for record in records),
        "false_positives": sum(int(record["n_false_positives"]) for record in records),
    }
    true_predictions = lesion_counts["predicted"] - lesion_counts["false_positives"]

    fp_by_radius = dict.fromkeys(radius_bin_labels(bins), 0)
    for record in records:
        for radius in record["false_positive_radii_mm"]:
            label = radius_bin_label(radius, bins)
            if label is not None:
                fp_by_radius[label] += 1

    return Summary(
        n_cases=len(records),
        metrics=metrics,
        metric_counts=metric_counts,
        sensitivity=wilson_interval(tp, tp + fn, confidence=confidence),
        specificity=wilson_interval(tn, tn + fp, confidence=confidence),
        case_counts={"tp": tp, "fn": fn, "tn": tn, "fp": fp},
        detection_by_radius=detection_rate_by_radius(
            (lesion for record in records for lesion in record["lesions"]), bins
        ),
        false_positives_total=sum(int(record["n_false_positives"]) for record in records),
        false_positives_per_scan=fp_counts,
        false_positives_by_radius=fp_by_radius,
        lesion_sensitivity=wilson_interval(
            lesion_counts["detected"], lesion_counts["lesions"], confidence=confidence
        ),
        lesion_precision=wilson_interval(
            true_predictions, lesion_counts["predicted"], confidence=confidence
        ),
        lesion_counts=lesion_counts,
        false_positive_volume_mm3=fp_volume,
        settings={
            "confidence": confidence,
            "n_resamples": n_resamples,
            "rng": rng if isinstance(rng, int | None) else repr(rng),
            "min_predicted_volume_mm3": min_predicted_volume_mm3,
            "radius_bins_mm": [list(b) for b in bins],
            "mean_ci_method": "percentile bootstrap over cases",
            "proportion_ci_method": "wilson",
            **(settings or {}),
        },
        per_case=tuple(dict(record) for record in records),
    )


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------


def _format(value: float, digits: int = 3) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def _format_ci(interval: ConfidenceInterval, digits: int = 3) -> str:
    if not (math.isfinite(interval.low) and math.isfinite(interval.high)):
        return "n/a"
    return f"{interval.low:.{digits}f}–{interval.high:.{digits}f}"


def _lesion_rows(records: Iterable[Mapping[str, Any]]) -> Iterable[dict[str, Any]]:
    for record in records:
        for lesion in record["lesions"]:
            yield {
                "case": record["case"],
                "lesion_id": lesion.lesion_id,
                "radius_mm": lesion.radius_mm,
                "radius_bin": radius_bin_label(lesion.radius_mm) or "",
                "volume_mm3": lesion.volume_mm3,
                "n_voxels": lesion.n_voxels,
                "overlap_fraction": lesion.overlap_fraction,
                "detected": lesion.detected,
            }


def _summary_markdown(summary: Summary) -> str:
    settings = summary.settings
    confidence = f"{100 * settings['confidence']:g} %"
    n_tumor = summary.case_counts["tp"] + summary.case_counts["fn"]
    lines = [
        "# Evaluation summary",
        "",
        f"Cases: {summary.n_cases} ({n_tumor} with tumour in the reference). "
        f"NSD tolerance: {settings.get('tolerance_mm', 'n/a')} mm.",
        f"{confidence} CIs: percentile bootstrap over cases ({settings['n_resamples']} "
        f"resamples, seed {settings['rng']}) for means; Wilson score interval for sensitivity "
        "and specificity.",
        "DSC and NSD are 1 when prediction and reference are both empty and 0 when only one is.",
        "",
        "## Segmentation",
        "",
        f"| Metric | Mean | {confidence} CI | Cases |",
        "|---|---|---|---|",
    ]
    organ = str(settings.get("organ", "liver"))
    for name, interval in summary.metrics.items():
        title = _METRIC_TITLES.get(name, name).replace("Liver", organ.capitalize())
        lines.append(
            f"| {title} | {_format(interval.estimate)} | "
            f"{_format_ci(interval)} | {summary.metric_counts[name]} |"
        )
    counts = summary.case_counts
    lines += [
        "",
        "## Case-level tumour detection",
        "",
        f"| Measure | Value | {confidence} CI (Wilson) | Counts |",
        "|---|---|---|---|",
        f"| Sensitivity | {_format(summary.sensitivity.estimate)} | "
        f"{_format_ci(summary.sensitivity)} | TP {counts['tp']}, FN {counts['fn']} |",
        f"| Specificity | {_format(summary.specificity.estimate)} | "
        f"{_format_ci(summary.specificity)} | TN {counts['tn']}, FP {counts['fp']} |",
        "",
        "## Lesion-level detection by equivalent radius",
        "",
        "| Radius (mm) | Detected | Lesions | Rate | False positives |",
        "|---|---|---|---|---|",
    ]
    for label, (detected, total, rate) in summary.detection_by_radius.items():
        lines.append(
            f"| {label} | {detected} | {total} | {_format(rate)} | "
            f"{summary.false_positives_by_radius.get(label, 0)} |"
        )
    fp = summary.false_positives_per_scan
    fp_volume = summary.false_positive_volume_mm3
    lesions = summary.lesion_counts
    lines += [
        "",
        "## Lesion level (all cases pooled)",
        "",
        f"| Measure | Value | {confidence} CI | Counts |",
        "|---|---|---|---|",
        f"| Sensitivity | {_format(summary.lesion_sensitivity.estimate)} | "
        f"{_format_ci(summary.lesion_sensitivity)} | {lesions['detected']} of "
        f"{lesions['lesions']} reference lesions detected |",
        f"| Precision | {_format(summary.lesion_precision.estimate)} | "
        f"{_format_ci(summary.lesion_precision)} | "
        f"{lesions['predicted'] - lesions['false_positives']} of {lesions['predicted']} "
        "predicted lesions true |",
        f"| False positives per scan | {_format(fp.estimate, 2)} | {_format_ci(fp, 2)} | "
        f"{summary.false_positives_total} in total |",
        f"| False-positive volume per scan (mm³) | {_format(fp_volume.estimate, 1)} | "
        f"{_format_ci(fp_volume, 1)} | predicted tumour outside every reference lesion |",
        "",
        "A predicted lesion (26-connected component) is true when it touches a reference "
        f"lesion with at least {settings.get('min_inside', 0.5):g} of its voxels in reference "
        "tumour; a reference lesion is detected when predicted tumour covers at least "
        f"{settings.get('overlap_threshold', 0.0):g} of it (0: any voxel).",
        "",
    ]
    return "\n".join(lines)


def _detection_plot_png(summary: Summary) -> bytes:
    """Detection rate and false positives per radius bin, with sensitivity beside precision.

    Uses a bare ``Figure`` + ``FigureCanvasAgg`` rather than pyplot so the global matplotlib
    backend of the calling program is left alone.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10.0, 4.0), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    detection_axes, false_axes = figure.subplots(1, 2)
    detection = summary.detection_by_radius
    labels = list(detection)
    rates = [0.0 if math.isnan(rate) else rate for _, _, rate in detection.values()]
    bars = detection_axes.bar(labels, rates, color="tab:blue")
    for bar, (detected, total, _) in zip(bars, detection.values(), strict=True):
        _annotate(detection_axes, bar, f"{detected}/{total}" if total else "no lesions")
    detection_axes.set_ylim(0.0, 1.15)
    detection_axes.set_xlabel("Equivalent lesion radius (mm)")
    detection_axes.set_ylabel("Detection rate")
    detection_axes.set_title(
        f"Sensitivity {_format(summary.lesion_sensitivity.estimate)} (detected/total)"
    )
    counts = [summary.false_positives_by_radius.get(label, 0) for label in labels]
    for bar, count in zip(false_axes.bar(labels, counts, color="tab:red"), counts, strict=True):
        _annotate(false_axes, bar, str(count))
    false_axes.set_ylim(0.0, max(counts, default=0) * 1.15 + 1.0)
    false_axes.set_xlabel("Equivalent radius of the false positive (mm)")
    false_axes.set_ylabel("False positives (all scans)")
    false_axes.set_title(
        f"Precision {_format(summary.lesion_precision.estimate)}; "
        f"{_format(summary.false_positives_per_scan.estimate, 2)} false positives per scan"
    )
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _annotate(axes: Any, bar: Any, text: str) -> None:
    axes.annotate(
        text,
        (bar.get_x() + bar.get_width() / 2.0, bar.get_height()),
        xytext=(0, 3),
        textcoords="offset points",
        ha="center",
        va="bottom",
    )


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def _refuse_existing(paths: Iterable[Path], overwrite: bool) -> None:
    if overwrite:
        return
    for path in paths:
        if path.exists():
            raise FileExistsError(f"{path} already exists; pass overwrite=True to replace it")


def evaluate_folder(
    pred_dir: str | os.PathLike,
    ref_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    organ_label: int | None = None,
    tumor_label: int = 2,
    organ: str = "liver",
    liver_label: int | None = None,
    tolerance_mm: float = 2.0,
    overwrite: bool = False,
    n_resamples: int = 10_000,
    rng: RngLike = 0,
    confidence: float = 0.95,
    overlap_threshold: float = 0.0,
    min_predicted_volume_mm3: float = 0.0,
) -> Summary:
    """Evaluate predicted label maps against references and write a report folder.

    Parameters
    ----------
    pred_dir, ref_dir : path-like
        Folders of ``*.nii.gz`` / ``*.nii`` label maps, paired by case name (see
        :func:`pair_cases`).
    out_dir : path-like
        Report folder (created if missing). Receives :data:`REPORT_FILES`: ``per_case.csv``,
        ``lesions.csv``, ``summary.json``, ``summary.md`` and ``detection_by_radius.png``.
    organ_label, tumor_label : int
        Label values (default 1 and 2); the organ region is organ or tumour.
    organ : str, default "liver"
        The organ's name, used in the report ("Pancreas DSC"; its metric keeps the key
        ``liver_dsc``).
    liver_label : int or None
        The old name of `organ_label` (deprecated: it warns).
    tolerance_mm : float, default 2.0
        NSD tolerance in mm.
    overwrite : bool, default False
        Replace existing report files. Otherwise any existing report file raises
        :class:`FileExistsError` before anything is computed or written.
    n_resamples : int, default 10_000
        Bootstrap resamples for the CIs of means.
    rng : int, Generator or None, default 0
        Seed of the bootstrap.
    confidence : float, default 0.95
        Confidence level of all intervals.
    overlap_threshold : float, default 0.0
        Lesion detection criterion (0 = any overlapping voxel), see
        :func:`~.metrics.lesion_detection`.
    min_predicted_volume_mm3 : float, default 0.0
        Minimum predicted tumour volume for a case to count as predicted positive.

    The summary reports lesion-level sensitivity, precision and false positives per scan side
    by side (see :class:`Summary`), in ``summary.md`` and in the plot.

    Returns
    -------
    Summary
        With ``files`` mapping each report file name to its path.

    Raises
    ------
    ValueError
        Unpaired or duplicate cases, shape or affine mismatches (naming the case), bad arguments.
    FileExistsError
        A report file exists and ``overwrite`` is False.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import nibabel as nib, numpy as np
    >>> labels = np.zeros((10, 10, 10), np.uint8); labels[1:9, 1:9, 1:9] = 1
    >>> labels[3:6, 3:6, 3:6] = 2
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     root = pathlib.Path(tmp)
    ...     for folder in ("pred", "ref"):
    ...         (root / folder).mkdir()
    ...         nib.save(nib.Nifti1Image(labels, np.eye(4)), root / folder / "case01.nii.gz")
    ...     summary = evaluate_folder(root / "pred", root / "ref", root / "report", n_resamples=100)
    ...     sorted(path.name for path in (root / "report").iterdir())
    ['detection_by_radius.png', 'lesions.csv', 'per_case.csv', 'summary.json', 'summary.md']
    >>> summary.metrics["tumor_dsc"].estimate
    1.0
    """
    from synthtumor.organ_map import renamed_label

    liver_label = renamed_label(organ_label, liver_label)
    out_path = Path(out_dir)
    targets = {name: out_path / name for name in REPORT_FILES}
    _refuse_existing(targets.values(), overwrite)

    records = evaluate_cases(
        pred_dir,
        ref_dir,
        liver_label=liver_label,
        tumor_label=tumor_label,
        tolerance_mm=tolerance_mm,
        overlap_threshold=overlap_threshold,
    )
    summary = summarise(
        records,
        confidence=confidence,
        n_resamples=n_resamples,
        rng=rng,
        min_predicted_volume_mm3=min_predicted_volume_mm3,
        settings={
            "pred_dir": str(pred_dir),
            "ref_dir": str(ref_dir),
            "liver_label": liver_label,
            "organ": organ,
            "tumor_label": tumor_label,
            "tolerance_mm": tolerance_mm,
            "overlap_threshold": overlap_threshold,
            "min_inside": MIN_INSIDE_FRACTION,
        },
    )
    # Render everything before touching the disk so a failure leaves no report files behind.
    contents = {
        "per_case.csv": csv_text(PER_CASE_COLUMNS, records).encode(),
        "lesions.csv": csv_text(LESION_COLUMNS, _lesion_rows(records)).encode(),
        "summary.json": (json.dumps(summary.to_dict(), indent=2, allow_nan=False) + "\n").encode(),
        "summary.md": _summary_markdown(summary).encode(),
        "detection_by_radius.png": _detection_plot_png(summary),
    }
    out_path.mkdir(parents=True, exist_ok=True)
    remove_partial_files(out_path)  # left by a killed run
    for name, data in contents.items():
        atomic_write_bytes(targets[name], data, overwrite=overwrite)
    return replace(summary, files=targets)


def read_per_case_csv(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Read a ``per_case.csv`` written by :func:`evaluate_folder` back into typed records.

    The columns of an older version's file (``tumour_dsc``, ...) come back under their
    current names (``tumor_dsc``, ...).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = pathlib.Path(tmp) / "per_case.csv"
    ...     _ = path.write_text("case,tumor_dsc,tumor_in_reference,n_lesions\\na,0.5,True,2\\n")
    ...     read_per_case_csv(path)
    [{'case': 'a', 'tumor_dsc': 0.5, 'tumor_in_reference': True, 'n_lesions': 2}]
    """
    boolean_columns = {"tumor_in_reference", "tumor_predicted"}
    integer_columns = {"n_lesions", "n_detected", "n_false_positives", "n_predicted_lesions"}
    records = []
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            record: dict[str, Any] = {}
            for column, text in respelled(row).items():
                if column == "case":
                    record[column] = text
                elif column in boolean_columns:
                    record[column] = text.strip().lower() in ("true", "1")
                elif column in integer_columns:
                    record[column] = int(text)
                else:
                    record[column] = float(text)
            records.append(record)
    return records


# --------------------------------------------------------------------------------------------
# Comparing two prediction sets
# --------------------------------------------------------------------------------------------


def paired_comparison(
    per_case_a: Iterable[Mapping[str, Any]],
    per_case_b: Iterable[Mapping[str, Any]],
    *,
    metric: str = "tumor_dsc",
    method: Literal["wilcoxon", "permutation", "t"] = "wilcoxon",
    rng: RngLike = 0,
    n_resamples: int = 10_000,
) -> dict[str, Any]:
    """Paired test of one metric between two prediction sets, matched by case name.

    Parameters
    ----------
    per_case_a, per_case_b : iterable of mapping
        Per-case records with ``"case"`` and ``metric`` keys (from :func:`evaluate_cases` or
        :func:`read_per_case_csv`). Both must cover the same cases.
    metric : str, default "tumor_dsc"
        Record key to compare (an old spelling such as "tumour_dsc" still works, with a
        DeprecationWarning).
    method, rng, n_resamples
        Passed to :func:`~.stats.paired_test`.

    Returns
    -------
    dict
        ``metric``, ``mean_a``, ``mean_b`` (over the pairs used) and the keys of
        :func:`~.stats.paired_test`.

    Examples
    --------
    >>> a = [{"case": f"c{i}", "tumor_dsc": 0.8 + 0.01 * i} for i in range(8)]
    >>> b = [{"case": f"c{i}", "tumor_dsc": 0.6 + 0.01 * i} for i in range(8)]
    >>> result = paired_comparison(a, b, method="permutation")
    >>> round(result["mean_difference"], 3), result["p_value"] < 0.05
    (0.2, True)
    """
    metric = renamed_value(metric, SPELLING, name="metric")
    values_a = {record["case"]: float(record[metric]) for record in per_case_a}
    values_b = {record["case"]: float(record[metric]) for record in per_case_b}
    if values_a.keys() != values_b.keys():
        only_a = sorted(values_a.keys() - values_b.keys())
        only_b = sorted(values_b.keys() - values_a.keys())
        raise ValueError(
            f"the two prediction sets cover different cases: only in a: {only_a}, "
            f"only in b: {only_b}"
        )
    cases = sorted(values_a)
    a = np.array([values_a[case] for case in cases])
    b = np.array([values_b[case] for case in cases])
    result = paired_test(a, b, method=method, rng=rng, n_resamples=n_resamples)
    complete = ~(np.isnan(a) | np.isnan(b))
    return {
        "metric": metric,
        "mean_a": float(a[complete].mean()),
        "mean_b": float(b[complete].mean()),
        **result,
    }


def comparison_markdown(
    results: Iterable[Mapping[str, Any]], *, name_a: str = "A", name_b: str = "B"
) -> str:
    """Markdown table of :func:`paired_comparison` results, one row per metric.

    Examples
    --------
    >>> row = {"metric": "tumor_dsc", "mean_a": 0.8, "mean_b": 0.7, "mean_difference": 0.1,
    ...        "method": "wilcoxon", "statistic": 0.0, "p_value": 0.0078, "n": 8}
    >>> print(comparison_markdown([row]).splitlines()[2])
    | Tumour DSC | 0.800 | 0.700 | +0.100 | wilcoxon | 0.000 | 0.0078 | 8 |
    """
    lines = [
        f"| Metric | {name_a} | {name_b} | Mean difference ({name_a} − {name_b}) | Test | "
        "Statistic | p-value | Cases |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in results:
        difference = row["mean_difference"]
        lines.append(
            f"| {_METRIC_TITLES.get(row['metric'], row['metric'])} | {_format(row['mean_a'])} | "
            f"{_format(row['mean_b'])} | {difference:+.3f} | {row['method']} | "
            f"{_format(row['statistic'])} | {row['p_value']:.2g} | {row['n']} |"
        )
    return "\n".join(lines) + "\n"


def compare_folders(
    pred_a: str | os.PathLike,
    pred_b: str | os.PathLike,
    ref_dir: str | os.PathLike,
    *,
    out_file: str | os.PathLike | None = None,
    metrics: Sequence[str] = ("tumor_dsc", "tumor_nsd", "liver_dsc"),
    method: Literal["wilcoxon", "permutation", "t"] = "wilcoxon",
    name_a: str | None = None,
    name_b: str | None = None,
    liver_label: int = 1,
    tumor_label: int = 2,
    tolerance_mm: float = 2.0,
    overlap_threshold: float = 0.0,
    rng: RngLike = 0,
    overwrite: bool = False,
) -> list[dict[str, Any]]:
    """Evaluate two prediction folders against one reference folder and test them pairwise.

    Both folders must hold exactly the reference cases. Each metric in ``metrics`` is compared
    with :func:`paired_comparison`; with ``out_file`` the Markdown table of
    :func:`comparison_markdown` is written there atomically (refusing to replace an existing
    file unless ``overwrite=True``).

    Returns
    -------
    list of dict
        One :func:`paired_comparison` result per metric.
    """
    target = Path(out_file) if out_file is not None else None
    if target is not None:
        _refuse_existing([target], overwrite)
    options: _CaseOptions = {
        "liver_label": liver_label,
        "tumor_label": tumor_label,
        "tolerance_mm": tolerance_mm,
        "overlap_threshold": overlap_threshold,
    }
    records_a = evaluate_cases(pred_a, ref_dir, **options)
    records_b = evaluate_cases(pred_b, ref_dir, **options)
    generator = np.random.default_rng(rng)
    results = [
        paired_comparison(records_a, records_b, metric=metric, method=method, rng=generator)
        for metric in metrics
    ]
    if target is not None:
        title_a = name_a or Path(pred_a).name
        title_b = name_b or Path(pred_b).name
        text = comparison_markdown(results, name_a=title_a, name_b=title_b)
        atomic_write_bytes(target, text.encode(), overwrite=overwrite)
    return results
