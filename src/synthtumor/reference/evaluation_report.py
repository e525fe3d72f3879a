"""The report files of an evaluation: CSV tables, ``summary.json``, ``summary.md`` and the plot.

:func:`report_contents` renders every file named in :data:`REPORT_FILES` to bytes; nothing is
written here, so a failure while rendering leaves no file behind.
:func:`synthtumor.reference.evaluate.evaluate_folder` first calls :func:`refuse_existing` (so no
report file is replaced without ``overwrite``), then renders and writes the files.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from synthtumor.reference.metrics import radius_bin_label
from synthtumor.reference.reports import csv_text
from synthtumor.reference.stats import ConfidenceInterval
from synthtumor.reference.summary import Summary

__all__ = [
    "LESION_COLUMNS",
    "METRIC_TITLES",
    "PER_CASE_COLUMNS",
    "REPORT_FILES",
    "format_value",
    "refuse_existing",
    "report_contents",
]

REPORT_FILES: tuple[str, ...] = (
    "per_case.csv",
    "lesions.csv",
    "summary.json",
    "summary.md",
    "detection_by_radius.png",
)
"""Files written by :func:`~.evaluate.evaluate_folder` into its output folder."""

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

METRIC_TITLES = {
    "tumor_dsc": "Tumour DSC",
    "tumor_nsd": "Tumour NSD",
    "liver_dsc": "Liver DSC",
    "tumor_dsc_tumor_cases": "Tumour DSC (cases with tumour)",
    "tumor_nsd_tumor_cases": "Tumour NSD (cases with tumour)",
}
"""Titles of the metrics in the Markdown tables."""


def format_value(value: float | None, digits: int = 3) -> str:
    """A number with `digits` decimals, or ``n/a`` for None, NaN and inf.

    Examples
    --------
    >>> format_value(0.12345), format_value(float("nan")), format_value(2.0, 1)
    ('0.123', 'n/a', '2.0')
    """
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def _format_ci(interval: ConfidenceInterval, digits: int = 3) -> str:
    if not (math.isfinite(interval.low) and math.isfinite(interval.high)):
        return "n/a"
    return f"{interval.low:.{digits}f}–{interval.high:.{digits}f}"


def refuse_existing(paths: Iterable[Path], overwrite: bool) -> None:
    """Raise FileExistsError naming the first of `paths` that exists, unless `overwrite`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     taken = pathlib.Path(tmp) / "summary.md"
    ...     _ = taken.write_text("")
    ...     refuse_existing([taken], overwrite=True)  # nothing happens
    ...     refuse_existing([taken], overwrite=False)
    Traceback (most recent call last):
    ...
    FileExistsError: ...summary.md already exists; pass overwrite=True to replace it
    """
    if overwrite:
        return
    for path in paths:
        if path.exists():
            raise FileExistsError(f"{path} already exists; pass overwrite=True to replace it")


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


def report_contents(records: Sequence[Mapping[str, Any]], summary: Summary) -> dict[str, bytes]:
    """Every file of :data:`REPORT_FILES`, rendered: file name -> bytes.

    Parameters
    ----------
    records : sequence of mapping
        The per-case records of :func:`~.evaluate.evaluate_cases`.
    summary : Summary
        Their :func:`~.summary.summarise`.

    Examples
    --------
    >>> import numpy as np
    >>> from synthtumor.reference.metrics import case_metrics
    >>> from synthtumor.reference.summary import summarise
    >>> ref = np.zeros((10, 10, 10), np.uint8); ref[1:9, 1:9, 1:9] = 1; ref[3:6, 3:6, 3:6] = 2
    >>> records = [{"case": "a", **case_metrics(ref, ref, spacing=(1, 1, 1))}]
    >>> contents = report_contents(records, summarise(records, n_resamples=100))
    >>> list(contents) == list(REPORT_FILES)
    True
    >>> print(contents["per_case.csv"].decode().splitlines()[1][:24])
    a,1.0,1.0,1.0,True,True,
    """
    return {
        "per_case.csv": csv_text(PER_CASE_COLUMNS, records).encode(),
        "lesions.csv": csv_text(LESION_COLUMNS, _lesion_rows(records)).encode(),
        "summary.json": (json.dumps(summary.to_dict(), indent=2, allow_nan=False) + "\n").encode(),
        "summary.md": _summary_markdown(summary).encode(),
        "detection_by_radius.png": _detection_plot_png(summary),
    }


def _segmentation_lines(summary: Summary, confidence: str) -> list[str]:
    lines = [
        "## Segmentation",
        "",
        f"| Metric | Mean | {confidence} CI | Cases |",
        "|---|---|---|---|",
    ]
    organ = str(summary.settings.get("organ", "liver"))
    for name, interval in summary.metrics.items():
        title = METRIC_TITLES.get(name, name).replace("Liver", organ.capitalize())
        lines.append(
            f"| {title} | {format_value(interval.estimate)} | "
            f"{_format_ci(interval)} | {summary.metric_counts[name]} |"
        )
    return lines


def _detection_lines(summary: Summary, confidence: str) -> list[str]:
    counts = summary.case_counts
    lines = [
        "## Case-level tumour detection",
        "",
        f"| Measure | Value | {confidence} CI (Wilson) | Counts |",
        "|---|---|---|---|",
        f"| Sensitivity | {format_value(summary.sensitivity.estimate)} | "
        f"{_format_ci(summary.sensitivity)} | TP {counts['tp']}, FN {counts['fn']} |",
        f"| Specificity | {format_value(summary.specificity.estimate)} | "
        f"{_format_ci(summary.specificity)} | TN {counts['tn']}, FP {counts['fp']} |",
        "",
        "## Lesion-level detection by equivalent radius",
        "",
        "| Radius (mm) | Detected | Lesions | Rate | False positives |",
        "|---|---|---|---|---|",
    ]
    for label, (detected, total, rate) in summary.detection_by_radius.items():
        lines.append(
            f"| {label} | {detected} | {total} | {format_value(rate)} | "
            f"{summary.false_positives_by_radius.get(label, 0)} |"
        )
    return lines


def _lesion_level_lines(summary: Summary, confidence: str) -> list[str]:
    settings = summary.settings
    fp = summary.false_positives_per_scan
    fp_volume = summary.false_positive_volume_mm3
    lesions = summary.lesion_counts
    return [
        "## Lesion level (all cases pooled)",
        "",
        f"| Measure | Value | {confidence} CI | Counts |",
        "|---|---|---|---|",
        f"| Sensitivity | {format_value(summary.lesion_sensitivity.estimate)} | "
        f"{_format_ci(summary.lesion_sensitivity)} | {lesions['detected']} of "
        f"{lesions['lesions']} reference lesions detected |",
        f"| Precision | {format_value(summary.lesion_precision.estimate)} | "
        f"{_format_ci(summary.lesion_precision)} | "
        f"{lesions['predicted'] - lesions['false_positives']} of {lesions['predicted']} "
        "predicted lesions true |",
        f"| False positives per scan | {format_value(fp.estimate, 2)} | {_format_ci(fp, 2)} | "
        f"{summary.false_positives_total} in total |",
        f"| False-positive volume per scan (mm³) | {format_value(fp_volume.estimate, 1)} | "
        f"{_format_ci(fp_volume, 1)} | predicted tumour outside every reference lesion |",
        "",
        "A predicted lesion (26-connected component) is true when it touches a reference "
        f"lesion with at least {settings.get('min_inside', 0.5):g} of its voxels in reference "
        "tumour; a reference lesion is detected when predicted tumour covers at least "
        f"{settings.get('overlap_threshold', 0.0):g} of it (0: any voxel).",
        "",
    ]


def _summary_markdown(summary: Summary) -> str:
    """The content of ``summary.md``: segmentation, case- and lesion-level detection tables."""
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
        *_segmentation_lines(summary, confidence),
        "",
        *_detection_lines(summary, confidence),
        "",
        *_lesion_level_lines(summary, confidence),
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
        f"Sensitivity {format_value(summary.lesion_sensitivity.estimate)} (detected/total)"
    )
    counts = [summary.false_positives_by_radius.get(label, 0) for label in labels]
    for bar, count in zip(false_axes.bar(labels, counts, color="tab:red"), counts, strict=True):
        _annotate(false_axes, bar, str(count))
    false_axes.set_ylim(0.0, max(counts, default=0) * 1.15 + 1.0)
    false_axes.set_xlabel("Equivalent radius of the false positive (mm)")
    false_axes.set_ylabel("False positives (all scans)")
    false_axes.set_title(
        f"Precision {format_value(summary.lesion_precision.estimate)}; "
        f"{format_value(summary.false_positives_per_scan.estimate, 2)} false positives per scan"
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
