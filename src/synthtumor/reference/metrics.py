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
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import ndimage

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

RADIUS_BINS_MM: tuple[tuple[float, float], ...] = (
    (0.0, 5.0),
    (5.0, 10.0),
    (10.0, 15.0),
    (15.0, 20.0),
    (20.0, math.inf),
)
"""Half-open radius bins ``[low, high)`` in mm used for lesion-level detection rates."""

RADIUS_BIN_LABELS: tuple[str, ...] = ("0-5", "5-10", "10-15", "15-20", ">=20")
"""Labels of :data:`RADIUS_BINS_MM`, in the same order."""

_CONNECTIVITY_26 = np.ones((3, 3, 3), dtype=bool)


# --------------------------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------------------------


def _as_mask(name: str, array: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """Return ``array`` as a 3-D boolean mask, refusing anything that is not binary."""
    arr = np.asarray(array)
    if arr.ndim != 3:
        raise ValueError(f"{name} must be a 3-D array, got {arr.ndim}-D with shape {arr.shape}")
    if arr.dtype == np.bool_:
        return arr
    if not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"{name} must be a boolean or numeric mask, got dtype {arr.dtype}")
    # A label map passed by mistake (e.g. values 0/1/2) would otherwise be silently binarised.
    if not np.all((arr == 0) | (arr == 1)):
        raise ValueError(f"{name} must be a binary mask (only 0 and 1), e.g. `labels == 2`")
    return arr.astype(bool)


def _as_label_map(name: str, array: npt.ArrayLike) -> np.ndarray:
    """Return ``array`` as a 3-D numeric label map."""
    arr = np.asarray(array)
    if arr.ndim != 3:
        raise ValueError(f"{name} must be a 3-D array, got {arr.ndim}-D with shape {arr.shape}")
    if not (arr.dtype == np.bool_ or np.issubdtype(arr.dtype, np.number)):
        raise ValueError(f"{name} must be a numeric label map, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.floating) and not np.all(arr == np.round(arr)):
        raise ValueError(f"{name} must hold integer labels, found non-integer values")
    return arr


def _check_same_shape(pred_name: str, pred: np.ndarray, ref_name: str, ref: np.ndarray) -> None:
    if pred.shape != ref.shape:
        raise ValueError(
            f"{pred_name} and {ref_name} must have the same shape, "
            f"got {pred_name} {pred.shape} and {ref_name} {ref.shape}"
        )


def _as_spacing(spacing: Sequence[float]) -> tuple[float, float, float]:
    message = f"spacing must be 3 positive finite numbers (mm, array-axis order), got {spacing!r}"
    try:
        values = tuple(float(s) for s in spacing)
    except (TypeError, ValueError):
        raise ValueError(message) from None
    if len(values) != 3 or not all(math.isfinite(v) and v > 0 for v in values):
        raise ValueError(message)
    return values


def _as_tolerance(tolerance_mm: float) -> float:
    tolerance = float(tolerance_mm)
    if not math.isfinite(tolerance) or tolerance < 0:
        raise ValueError(f"tolerance_mm must be a finite number >= 0, got {tolerance_mm!r}")
    return tolerance


def _check_labels(liver_label: int, tumor_label: int) -> None:
    if liver_label == tumor_label:
        raise ValueError(f"liver_label and tumor_label must differ, both are {liver_label!r}")


# --------------------------------------------------------------------------------------------
# Overlap and surface metrics
# --------------------------------------------------------------------------------------------


def dice(pred: npt.ArrayLike, ref: npt.ArrayLike, *, empty_value: float = 1.0) -> float:
    """Dice similarity coefficient ``2|A∩B| / (|A| + |B|)`` of two binary 3-D masks.

    Parameters
    ----------
    pred, ref : array_like
        Boolean (or 0/1) 3-D masks of the same shape.
    empty_value : float, default 1.0
        Score returned when both masks are empty. When only one is empty the score is 0.0.

    Returns
    -------
    float
        DSC in ``[0, 1]`` (or ``empty_value``).

    Raises
    ------
    ValueError
        If an input is not 3-D or not binary, or the shapes differ.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.zeros((4, 4, 4), bool); a[:2] = True
    >>> b = np.zeros((4, 4, 4), bool); b[1:3] = True
    >>> dice(a, b)
    0.5
    >>> dice(np.zeros_like(a), np.zeros_like(b))
    1.0
    >>> dice(a, np.zeros_like(b))
    0.0
    """
    pred_mask = _as_mask("pred", pred)
    ref_mask = _as_mask("ref", ref)
    _check_same_shape("pred", pred_mask, "ref", ref_mask)
    total = int(np.count_nonzero(pred_mask)) + int(np.count_nonzero(ref_mask))
    if total == 0:
        return float(empty_value)
    intersection = int(np.count_nonzero(pred_mask & ref_mask))
    return 2.0 * intersection / total


def _union_crop(
    pred: npt.NDArray[np.bool_], ref: npt.NDArray[np.bool_], margin: int = 1
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Crop both masks to the bounding box of their union plus ``margin`` voxels.

    MONAI crops to the same box itself (and pads where the box leaves the image), so the result
    is unchanged; cropping here first keeps it from converting whole CT volumes to float tensors.
    """
    union = pred | ref
    slices = []
    for axis in range(union.ndim):
        other_axes = tuple(a for a in range(union.ndim) if a != axis)
        present = np.flatnonzero(union.any(axis=other_axes))
        start = max(int(present[0]) - margin, 0)
        stop = min(int(present[-1]) + 1 + margin, union.shape[axis])
        slices.append(slice(start, stop))
    box = tuple(slices)
    return pred[box], ref[box]


def normalized_surface_dice(
    pred: npt.ArrayLike,
    ref: npt.ArrayLike,
    *,
    spacing: Sequence[float],
    tolerance_mm: float = 2.0,
    empty_value: float = 1.0,
) -> float:
    """Normalized surface Dice (NSD) of two binary 3-D masks at a tolerance in millimetres.

    NSD is the fraction of the two boundary surfaces (by area) that lies within ``tolerance_mm``
    of the other boundary. It is computed with :func:`monai.metrics.compute_surface_dice` using
    sub-voxel surface elements (``use_subvoxels=True``, the DeepMind ``surface-distance``
    definition) and Euclidean distances scaled by ``spacing``, so the tolerance is in mm.

    Parameters
    ----------
    pred, ref : array_like
        Boolean (or 0/1) 3-D masks of the same shape.
    spacing : sequence of 3 float
        Voxel size in mm, array-axis order (e.g. ``header.get_zooms()[:3]``).
    tolerance_mm : float, default 2.0
        Acceptable boundary deviation in mm (``>= 0``).
    empty_value : float, default 1.0
        Score when both masks are empty (MONAI would return NaN). When only one is empty the score
        is 0.0 (MONAI agrees, but warns); both cases are decided here without calling MONAI.

    Returns
    -------
    float
        NSD in ``[0, 1]`` (or ``empty_value``).

    Raises
    ------
    ValueError
        If an input is not 3-D or not binary, the shapes differ, ``spacing`` is not 3 positive
        finite numbers or ``tolerance_mm`` is negative.

    Notes
    -----
    Requires ``torch`` and ``monai`` (imported on first call).

    Examples
    --------
    >>> import numpy as np
    >>> ref = np.zeros((12, 12, 12), bool); ref[3:8, 3:8, 3:8] = True
    >>> shifted = np.roll(ref, 1, axis=0)
    >>> normalized_surface_dice(shifted, ref, spacing=(1.0, 1.0, 1.0))
    1.0
    >>> normalized_surface_dice(shifted, ref, spacing=(3.0, 1.0, 1.0)) < 1.0
    True
    """
    pred_mask = _as_mask("pred", pred)
    ref_mask = _as_mask("ref", ref)
    _check_same_shape("pred", pred_mask, "ref", ref_mask)
    spacing_mm = _as_spacing(spacing)
    tolerance = _as_tolerance(tolerance_mm)

    pred_any, ref_any = bool(pred_mask.any()), bool(ref_mask.any())
    if not pred_any and not ref_any:
        return float(empty_value)
    if not (pred_any and ref_any):
        return 0.0

    import torch
    from monai.metrics import compute_surface_dice

    pred_mask, ref_mask = _union_crop(pred_mask, ref_mask)
    # One foreground channel, shape (B=1, C=1, H, W, D). include_background=True says "score this
    # channel"; MONAI only drops channel 0 when C > 1, but being explicit avoids relying on that.
    y_pred = torch.from_numpy(np.ascontiguousarray(pred_mask))[None, None]
    y_ref = torch.from_numpy(np.ascontiguousarray(ref_mask))[None, None]
    with warnings.catch_warnings():
        # MONAI 1.5+ passes a deprecated argument to itself internally; nothing for us to act on.
        warnings.filterwarnings(
            "ignore", message=".*always_return_as_numpy.*", category=FutureWarning
        )
        nsd = compute_surface_dice(
            y_pred,
            y_ref,
            class_thresholds=[tolerance],
            include_background=True,
            distance_metric="euclidean",
            # Plain Python floats: MONAI's prepare_spacing rejects numpy scalar types.
            spacing=list(spacing_mm),
            use_subvoxels=True,
        )
    return float(nsd[0, 0])


# --------------------------------------------------------------------------------------------
# Lesion-level detection
# --------------------------------------------------------------------------------------------


def equivalent_radius_mm(volume_mm3: float) -> float:
    """Radius in mm of the sphere with volume ``volume_mm3``: ``(3V / 4π)^(1/3)``.

    Examples
    --------
    >>> round(equivalent_radius_mm(4 / 3 * 3.141592653589793 * 10**3), 6)
    10.0
    """
    return float((3.0 * float(volume_mm3) / (4.0 * math.pi)) ** (1.0 / 3.0))


def radius_bin_labels(bins: Sequence[tuple[float, float]] = RADIUS_BINS_MM) -> tuple[str, ...]:
    """Labels ``"lo-hi"`` (or ``">=lo"`` for an open-ended bin) of radius bins.

    Examples
    --------
    >>> radius_bin_labels()
    ('0-5', '5-10', '10-15', '15-20', '>=20')
    """
    _check_bins(bins)
    return tuple(f">={lo:g}" if math.isinf(hi) else f"{lo:g}-{hi:g}" for lo, hi in bins)


def radius_bin_label(
    radius_mm: float, bins: Sequence[tuple[float, float]] = RADIUS_BINS_MM
) -> str | None:
    """Label of the half-open bin ``[lo, hi)`` containing ``radius_mm``; None if none does.

    Examples
    --------
    >>> radius_bin_label(3.0), radius_bin_label(10.0), radius_bin_label(25.0)
    ('0-5', '10-15', '>=20')
    """
    for (lo, hi), label in zip(bins, radius_bin_labels(bins), strict=True):
        if lo <= radius_mm < hi:
            return label
    return None


def _check_bins(bins: Sequence[tuple[float, float]]) -> None:
    if len(bins) == 0:
        raise ValueError("bins must contain at least one (low, high) pair")
    for lo, hi in bins:
        if not (lo >= 0 and hi > lo):
            raise ValueError(f"bins must be (low, high) pairs with 0 <= low < high, got {bins!r}")


@dataclass(frozen=True)
class Lesion:
    """One reference lesion (a 26-connected component of the reference tumour mask).

    Attributes
    ----------
    lesion_id : int
        Component label, 1-based, in :func:`scipy.ndimage.label` order (raster order of the
        first voxel).
    n_voxels : int
        Size in voxels.
    volume_mm3 : float
        Volume in mm^3.
    radius_mm : float
        Equivalent-sphere radius in mm.
    overlap_fraction : float
        Fraction of the lesion's voxels covered by predicted tumour.
    detected : bool
        Whether the lesion counts as detected (see :func:`lesion_detection`).
    """

    lesion_id: int
    n_voxels: int
    volume_mm3: float
    radius_mm: float
    overlap_fraction: float
    detected: bool


@dataclass(frozen=True)
class LesionDetection:
    """Result of :func:`lesion_detection` for one case.

    Attributes
    ----------
    lesions : tuple of Lesion
        Every reference lesion, ordered by ``lesion_id``.
    false_positive_radii_mm : tuple of float
        Equivalent radius of each false-positive predicted component: one with less than
        ``min_inside`` of its voxels inside reference tumour (see :func:`lesion_detection`).
    n_predicted : int
        Number of predicted components (26-connected).
    false_positive_volume_mm3 : float
        Predicted tumour volume outside every reference lesion.
    """

    lesions: tuple[Lesion, ...]
    false_positive_radii_mm: tuple[float, ...]
    n_predicted: int = 0
    false_positive_volume_mm3: float = 0.0

    @property
    def n_lesions(self) -> int:
        """Number of reference lesions."""
        return len(self.lesions)

    @property
    def n_detected(self) -> int:
        """Number of detected reference lesions."""
        return sum(lesion.detected for lesion in self.lesions)

    @property
    def n_false_positives(self) -> int:
        """Number of false-positive predicted components."""
        return len(self.false_positive_radii_mm)

    @property
    def precision(self) -> float:
        """Lesion-level precision: true-positive share of the predicted components (NaN if none)."""
        if self.n_predicted == 0:
            return math.nan
        return (self.n_predicted - self.n_false_positives) / self.n_predicted


MIN_INSIDE_FRACTION = 0.5
"""Default share of a predicted component that must lie in reference tumour for it to count as
a true positive: a prediction painting the whole liver is one false positive, however many
lesions it covers."""


def lesion_detection(
    pred: npt.ArrayLike,
    ref: npt.ArrayLike,
    *,
    spacing: Sequence[float],
    overlap_threshold: float = 0.0,
    min_inside: float = MIN_INSIDE_FRACTION,
) -> LesionDetection:
    """Match reference lesions to a predicted tumour mask.

    Reference lesions are the 26-connected components of ``ref``. A reference lesion is
    *detected* when at least one predicted voxel lies inside it and the covered fraction of its
    voxels is ``>= overlap_threshold`` (the default 0.0 means "any voxel"). A predicted
    26-connected component is a *true positive* when it touches a reference lesion and at least
    ``min_inside`` of its voxels lie in reference tumour, else a *false positive*. Both sides
    count, so a prediction that covers the whole liver detects every lesion but is one false
    positive (precision 0): sensitivity alone cannot reward it.

    Parameters
    ----------
    pred, ref : array_like
        Boolean (or 0/1) 3-D tumour masks of the same shape.
    spacing : sequence of 3 float
        Voxel size in mm, array-axis order.
    overlap_threshold : float, default 0.0
        Minimum fraction (in ``[0, 1]``) of a lesion's voxels that must be predicted as tumour.
    min_inside : float, default 0.5
        Minimum fraction (in ``(0, 1]``) of a predicted component's voxels that must lie in
        reference tumour for it to be a true positive (:data:`MIN_INSIDE_FRACTION`).

    Returns
    -------
    LesionDetection

    Raises
    ------
    ValueError
        On non-3-D, non-binary or differently shaped inputs, bad ``spacing`` or an
        ``overlap_threshold`` outside ``[0, 1]``.

    Examples
    --------
    >>> import numpy as np
    >>> ref = np.zeros((10, 10, 10), bool); ref[1:3, 1:3, 1:3] = True; ref[6:9, 6:9, 6:9] = True
    >>> pred = np.zeros_like(ref); pred[7, 7, 7] = True; pred[0, 9, 9] = True
    >>> result = lesion_detection(pred, ref, spacing=(1, 1, 1))
    >>> [lesion.detected for lesion in result.lesions], result.n_false_positives
    ([False, True], 1)
    >>> everything = lesion_detection(np.ones_like(ref), ref, spacing=(1, 1, 1))
    >>> everything.n_detected, everything.n_false_positives, everything.precision
    (2, 1, 0.0)
    """
    pred_mask = _as_mask("pred", pred)
    ref_mask = _as_mask("ref", ref)
    _check_same_shape("pred", pred_mask, "ref", ref_mask)
    spacing_mm = _as_spacing(spacing)
    threshold = float(overlap_threshold)
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"overlap_threshold must be in [0, 1], got {overlap_threshold!r}")
    inside_min = float(min_inside)
    if not 0.0 < inside_min <= 1.0:
        raise ValueError(f"min_inside must be in (0, 1], got {min_inside!r}")
    voxel_mm3 = math.prod(spacing_mm)
    if not (pred_mask.any() or ref_mask.any()):
        return LesionDetection(lesions=(), false_positive_radii_mm=())
    # Components lie inside the union's bounding box; labelling only that box is much faster
    # on whole CT volumes.
    pred_mask, ref_mask = _union_crop(pred_mask, ref_mask, margin=0)

    ref_components, n_ref = ndimage.label(ref_mask, structure=_CONNECTIVITY_26)
    ref_sizes = np.bincount(ref_components.ravel(), minlength=n_ref + 1)
    covered = np.bincount(ref_components[pred_mask], minlength=n_ref + 1)
    lesions = []
    for lesion_id in range(1, n_ref + 1):
        n_voxels = int(ref_sizes[lesion_id])
        fraction = float(covered[lesion_id]) / n_voxels
        volume = n_voxels * voxel_mm3
        lesions.append(
            Lesion(
                lesion_id=lesion_id,
                n_voxels=n_voxels,
                volume_mm3=volume,
                radius_mm=equivalent_radius_mm(volume),
                overlap_fraction=fraction,
                detected=bool(covered[lesion_id] > 0 and fraction >= threshold),
            )
        )

    pred_components, n_pred = ndimage.label(pred_mask, structure=_CONNECTIVITY_26)
    pred_sizes = np.bincount(pred_components.ravel(), minlength=n_pred + 1)
    inside = np.bincount(pred_components[ref_mask], minlength=n_pred + 1)
    false_positive_radii = tuple(
        equivalent_radius_mm(int(pred_sizes[k]) * voxel_mm3)
        for k in range(1, n_pred + 1)
        if inside[k] == 0 or inside[k] < inside_min * pred_sizes[k]
    )
    outside_voxels = int(np.count_nonzero(pred_mask & ~ref_mask))
    return LesionDetection(
        lesions=tuple(lesions),
        false_positive_radii_mm=false_positive_radii,
        n_predicted=n_pred,
        false_positive_volume_mm3=outside_voxels * voxel_mm3,
    )


def detection_rate_by_radius(
    lesions: Iterable[Lesion], bins: Sequence[tuple[float, float]] = RADIUS_BINS_MM
) -> dict[str, tuple[int, int, float]]:
    """Lesion detection rate per radius bin, pooled over all given lesions.

    Parameters
    ----------
    lesions : iterable of Lesion
        Reference lesions, typically from many cases.
    bins : sequence of (low, high)
        Half-open radius bins ``[low, high)`` in mm; lesions outside every bin are not counted.

    Returns
    -------
    dict
        ``label -> (detected, total, rate)`` in bin order; ``rate`` is NaN for an empty bin.

    Examples
    --------
    >>> lesions = [Lesion(1, 100, 100.0, 2.9, 1.0, True), Lesion(2, 9000, 9000.0, 12.9, 0.0, False)]
    >>> rates = detection_rate_by_radius(lesions)
    >>> rates["0-5"], rates["10-15"]
    ((1, 1, 1.0), (0, 1, 0.0))
    """
    labels = radius_bin_labels(bins)
    detected = dict.fromkeys(labels, 0)
    total = dict.fromkeys(labels, 0)
    for lesion in lesions:
        label = radius_bin_label(lesion.radius_mm, bins)
        if label is None:
            continue
        total[label] += 1
        detected[label] += bool(lesion.detected)
    rates = {
        label: detected[label] / total[label] if total[label] else math.nan for label in labels
    }
    return {label: (detected[label], total[label], rates[label]) for label in labels}


# --------------------------------------------------------------------------------------------
# Case-level metrics
# --------------------------------------------------------------------------------------------


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
    pred = _as_label_map("pred_label", pred_label)
    ref = _as_label_map("ref_label", ref_label)
    _check_same_shape("pred_label", pred, "ref_label", ref)
    spacing_mm = _as_spacing(spacing)
    tolerance = _as_tolerance(tolerance_mm)
    _check_labels(liver_label, tumor_label)
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
