"""Per-case metrics for liver and liver-tumour segmentation.

These reproduce the evaluation of Hu et al., "Label-Free Liver Tumor Segmentation" (CVPR 2023):
tumour Dice similarity coefficient (DSC), tumour normalized surface Dice (NSD) at a 2 mm tolerance,
liver DSC, case-level tumour detection and lesion-level detection binned by the equivalent radius
of each reference lesion.

Conventions
-----------
* Label maps are 3-D integer arrays; ``0`` is background, ``liver_label`` (default 1) liver and
  ``tumor_label`` (default 2) tumour. The *liver region* is liver or tumour. Any other value counts
  as background.
* ``spacing`` is the voxel size in millimetres in array-axis order (what
  ``nibabel``'s ``header.get_zooms()[:3]`` returns).
* Empty-mask policy (DSC and NSD): when prediction and reference are both empty the score is
  ``empty_value`` (default 1.0, perfect agreement on "nothing there"); when exactly one of them is
  empty the score is 0.0.
* Lesions are 26-connected components.

The metrics live in small modules, all importable from here:
:mod:`~synthtumor.reference.overlap` (DSC, NSD), :mod:`~synthtumor.reference.lesions`
(lesion-level detection) and :mod:`~synthtumor.reference.radius_bins` (equivalent radii and
their bins); this module puts them together per case (:func:`case_metrics`) and over cases
(:func:`case_level_detection`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from synthtumor.reference._metric_inputs import (
    as_label_map,
    as_spacing,
    as_tolerance,
    check_labels,
    check_same_shape,
)
from synthtumor.reference.lesions import (
    MIN_INSIDE_FRACTION,
    Lesion,
    LesionDetection,
    detection_rate_by_radius,
    lesion_detection,
)
from synthtumor.reference.overlap import dice, normalized_surface_dice
from synthtumor.reference.radius_bins import (
    RADIUS_BIN_LABELS,
    RADIUS_BINS_MM,
    equivalent_radius_mm,
    radius_bin_label,
    radius_bin_labels,
)

__all__ = [
    "MIN_INSIDE_FRACTION",
    "RADIUS_BINS_MM",
    "RADIUS_BIN_LABELS",
    "Lesion",
    "LesionDetection",
    "case_level_detection",
    "case_metrics",
    "detection_rate_by_radius",
    "dice",
    "equivalent_radius_mm",
    "lesion_detection",
    "normalized_surface_dice",
    "radius_bin_label",
    "radius_bin_labels",
]


def case_metrics(
    pred_label: npt.ArrayLike,
    ref_label: npt.ArrayLike,
    *,
    spacing: Sequence[float],
    liver_label: int = 1,
    tumor_label: int = 2,
    tolerance_mm: float = 2.0,
    overlap_threshold: float = 0.0,
    min_inside: float = MIN_INSIDE_FRACTION,
) -> dict[str, Any]:
    """All per-case metrics of a predicted label map against a reference label map.

    Parameters
    ----------
    pred_label, ref_label : array_like
        3-D integer label maps of the same shape.
    spacing : sequence of 3 float
        Voxel size in mm, array-axis order.
    liver_label, tumor_label : int
        Label values of liver and tumour. The liver region is liver or tumour.
    tolerance_mm : float, default 2.0
        NSD tolerance in mm.
    overlap_threshold, min_inside : float
        Lesion detection criteria, see :func:`lesion_detection`.

    Returns
    -------
    dict
        ``tumor_dsc``, ``tumor_nsd``, ``liver_dsc`` (float, empty policy of :func:`dice`),
        ``tumor_in_reference``, ``tumor_predicted`` (bool),
        ``reference_tumor_volume_mm3``, ``predicted_tumor_volume_mm3``,
        ``false_positive_volume_mm3`` (float), ``n_lesions``, ``n_detected``,
        ``n_predicted_lesions``, ``n_false_positives`` (int),
        ``lesions`` (tuple of :class:`Lesion`) and ``false_positive_radii_mm`` (tuple of float).

    Examples
    --------
    >>> import numpy as np
    >>> ref = np.zeros((12, 12, 12), np.uint8); ref[2:10, 2:10, 2:10] = 1; ref[4:7, 4:7, 4:7] = 2
    >>> record = case_metrics(ref, ref, spacing=(1.0, 1.0, 1.0))
    >>> record["tumor_dsc"], record["tumor_nsd"], record["liver_dsc"], record["n_detected"]
    (1.0, 1.0, 1.0, 1)
    """
    pred = as_label_map("pred_label", pred_label)
    ref = as_label_map("ref_label", ref_label)
    check_same_shape("pred_label", pred, "ref_label", ref)
    spacing_mm = as_spacing(spacing)
    tolerance = as_tolerance(tolerance_mm)
    check_labels(liver_label, tumor_label)
    voxel_mm3 = math.prod(spacing_mm)

    pred_tumor = pred == tumor_label
    ref_tumor = ref == tumor_label
    pred_liver = pred_tumor | (pred == liver_label)
    ref_liver = ref_tumor | (ref == liver_label)
    detection = lesion_detection(
        pred_tumor,
        ref_tumor,
        spacing=spacing_mm,
        overlap_threshold=overlap_threshold,
        min_inside=min_inside,
    )
    n_pred_tumor = int(np.count_nonzero(pred_tumor))
    n_ref_tumor = int(np.count_nonzero(ref_tumor))
    return {
        "tumor_dsc": dice(pred_tumor, ref_tumor),
        "tumor_nsd": normalized_surface_dice(
            pred_tumor, ref_tumor, spacing=spacing_mm, tolerance_mm=tolerance
        ),
        "liver_dsc": dice(pred_liver, ref_liver),
        "tumor_in_reference": n_ref_tumor > 0,
        "tumor_predicted": n_pred_tumor > 0,
        "reference_tumor_volume_mm3": n_ref_tumor * voxel_mm3,
        "predicted_tumor_volume_mm3": n_pred_tumor * voxel_mm3,
        "false_positive_volume_mm3": detection.false_positive_volume_mm3,
        "n_lesions": detection.n_lesions,
        "n_detected": detection.n_detected,
        "n_predicted_lesions": detection.n_predicted,
        "n_false_positives": detection.n_false_positives,
        "lesions": detection.lesions,
        "false_positive_radii_mm": detection.false_positive_radii_mm,
    }


def case_level_detection(
    records: Iterable[Mapping[str, Any]], *, min_predicted_volume_mm3: float = 0.0
) -> dict[str, float | int]:
    """Case-level tumour sensitivity and specificity.

    A case is *positive* when its reference contains tumour (``tumor_in_reference``) and
    *predicted positive* when the predicted tumour volume (``predicted_tumor_volume_mm3``, total
    over the scan) is non-zero and ``>= min_predicted_volume_mm3``.

    Parameters
    ----------
    records : iterable of mapping
        Per-case records as returned by :func:`case_metrics`.
    min_predicted_volume_mm3 : float, default 0.0
        Minimum total predicted tumour volume for a positive call (0 = any voxel).

    Returns
    -------
    dict
        ``sensitivity`` = tp / (tp + fn) and ``specificity`` = tn / (tn + fp) (NaN when the
        denominator is 0) and the counts ``tp``, ``fn``, ``tn``, ``fp``.

    Examples
    --------
    >>> records = [
    ...     {"tumor_in_reference": True, "predicted_tumor_volume_mm3": 50.0},
    ...     {"tumor_in_reference": True, "predicted_tumor_volume_mm3": 0.0},
    ...     {"tumor_in_reference": False, "predicted_tumor_volume_mm3": 0.0},
    ... ]
    >>> case_level_detection(records)
    {'sensitivity': 0.5, 'specificity': 1.0, 'tp': 1, 'fn': 1, 'tn': 1, 'fp': 0}
    """
    minimum = float(min_predicted_volume_mm3)
    if not math.isfinite(minimum) or minimum < 0:
        raise ValueError(
            "min_predicted_volume_mm3 must be a finite number >= 0, "
            f"got {min_predicted_volume_mm3!r}"
        )
    tp = fn = tn = fp = 0
    for record in records:
        volume = float(record["predicted_tumor_volume_mm3"])
        predicted = volume > 0 and volume >= minimum
        if bool(record["tumor_in_reference"]):
            tp += predicted
            fn += not predicted
        else:
            fp += predicted
            tn += not predicted
    return {
        "sensitivity": tp / (tp + fn) if tp + fn else math.nan,
        "specificity": tn / (tn + fp) if tn + fp else math.nan,
        "tp": tp,
        "fn": fn,
        "tn": tn,
        "fp": fp,
    }
