"""Aggregate per-case evaluation records into a :class:`Summary` with confidence intervals.

:func:`summarise` turns the records of :func:`synthtumor.reference.evaluate.evaluate_cases` into
means with percentile-bootstrap CIs over cases and detection rates with Wilson intervals;
:meth:`Summary.to_dict` is the content of ``summary.json``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from synthtumor.reference.metrics import (
    RADIUS_BINS_MM,
    case_level_detection,
    detection_rate_by_radius,
    radius_bin_label,
    radius_bin_labels,
)
from synthtumor.reference.stats import (
    ConfidenceInterval,
    RngLike,
    bootstrap_ci,
    wilson_interval,
)

__all__ = ["Summary", "summarise"]


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


def _proportion_dict(interval: ConfidenceInterval) -> dict[str, Any]:
    return {"value": interval.estimate, "ci_low": interval.low, "ci_high": interval.high}


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
        The per-case records (see :func:`~.evaluate.evaluate_cases`).
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
        return _json_safe(
            {
                "n_cases": self.n_cases,
                "cases": [record["case"] for record in self.per_case],
                "settings": self.settings,
                "metrics": {
                    name: _interval_dict(interval, self.metric_counts[name])
                    for name, interval in self.metrics.items()
                },
                "case_level_detection": {
                    "ci_method": "wilson",
                    "sensitivity": _proportion_dict(self.sensitivity),
                    "specificity": _proportion_dict(self.specificity),
                    **self.case_counts,
                },
                "detection_by_radius": {
                    label: {"detected": detected, "total": total, "rate": rate}
                    for label, (detected, total, rate) in self.detection_by_radius.items()
                },
                "false_positives": self._false_positives_dict(),
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

    def _false_positives_dict(self) -> dict[str, Any]:
        return {
            "total": self.false_positives_total,
            "per_scan": _interval_dict(self.false_positives_per_scan, self.n_cases),
            "by_radius": self.false_positives_by_radius,
            "volume_per_scan_mm3": _interval_dict(self.false_positive_volume_mm3, self.n_cases),
        }


def _metric_values(records: Sequence[Mapping[str, Any]]) -> dict[str, list[float]]:
    """The values behind each entry of :attr:`Summary.metrics`, in the report's order."""
    tumor_cases = [record for record in records if record["tumor_in_reference"]]
    return {
        "tumor_dsc": [record["tumor_dsc"] for record in records],
        "tumor_nsd": [record["tumor_nsd"] for record in records],
        "liver_dsc": [record["liver_dsc"] for record in records],
        "tumor_dsc_tumor_cases": [record["tumor_dsc"] for record in tumor_cases],
        "tumor_nsd_tumor_cases": [record["tumor_nsd"] for record in tumor_cases],
    }


def _lesion_counts(records: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    return {
        "lesions": sum(int(record["n_lesions"]) for record in records),
        "detected": sum(int(record["n_detected"]) for record in records),
        "predicted": sum(int(record["n_predicted_lesions"]) for record in records),
        "false_positives": sum(int(record["n_false_positives"]) for record in records),
    }


def _false_positives_by_radius(
    records: Sequence[Mapping[str, Any]], bins: Sequence[tuple[float, float]]
) -> dict[str, int]:
    counts = dict.fromkeys(radius_bin_labels(bins), 0)
    for record in records:
        for radius in record["false_positive_radii_mm"]:
            label = radius_bin_label(radius, bins)
            if label is not None:
                counts[label] += 1
    return counts


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
    """Aggregate per-case records (from :func:`~.evaluate.evaluate_cases`) into a :class:`Summary`.

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

    # The generator is drawn from in this order: metrics, false positives, their volume.
    intervals = {name: bootstrap(values) for name, values in _metric_values(records).items()}
    fp_counts, _ = bootstrap(record["n_false_positives"] for record in records)
    fp_volume, _ = bootstrap(record["false_positive_volume_mm3"] for record in records)
    detection = case_level_detection(records, min_predicted_volume_mm3=min_predicted_volume_mm3)
    tp, fn, tn, fp = (int(detection[key]) for key in ("tp", "fn", "tn", "fp"))
    lesion_counts = _lesion_counts(records)
    true_predictions = lesion_counts["predicted"] - lesion_counts["false_positives"]

    return Summary(
        n_cases=len(records),
        metrics={name: interval for name, (interval, _) in intervals.items()},
        metric_counts={name: count for name, (_, count) in intervals.items()},
        sensitivity=wilson_interval(tp, tp + fn, confidence=confidence),
        specificity=wilson_interval(tn, tn + fp, confidence=confidence),
        case_counts={"tp": tp, "fn": fn, "tn": tn, "fp": fp},
        detection_by_radius=detection_rate_by_radius(
            (lesion for record in records for lesion in record["lesions"]), bins
        ),
        false_positives_total=lesion_counts["false_positives"],
        false_positives_per_scan=fp_counts,
        false_positives_by_radius=_false_positives_by_radius(records, bins),
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
