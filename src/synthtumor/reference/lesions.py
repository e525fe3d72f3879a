"""Lesion-level detection: reference lesions matched to a predicted mask; rates by radius bin.

Lesions are 26-connected components; a lesion's size is its equivalent-sphere radius
(:func:`~synthtumor.reference.radius_bins.equivalent_radius_mm`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from synthtumor.reference._metric_inputs import as_mask, as_spacing, check_same_shape, union_crop
from synthtumor.reference.radius_bins import (
    RADIUS_BINS_MM,
    equivalent_radius_mm,
    radius_bin_label,
    radius_bin_labels,
)

__all__ = [
    "MIN_INSIDE_FRACTION",
    "Lesion",
    "LesionDetection",
    "detection_rate_by_radius",
    "lesion_detection",
]

_CONNECTIVITY_26 = np.ones((3, 3, 3), dtype=bool)


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
    pred_mask = as_mask("pred", pred)
    ref_mask = as_mask("ref", ref)
    check_same_shape("pred", pred_mask, "ref", ref_mask)
    spacing_mm = as_spacing(spacing)
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
    pred_mask, ref_mask = union_crop(pred_mask, ref_mask, margin=0)
    lesions = _reference_lesions(pred_mask, ref_mask, voxel_mm3, threshold)
    n_pred, false_positive_radii = _false_positives(pred_mask, ref_mask, voxel_mm3, inside_min)
    outside_voxels = int(np.count_nonzero(pred_mask & ~ref_mask))
    return LesionDetection(
        lesions=lesions,
        false_positive_radii_mm=false_positive_radii,
        n_predicted=n_pred,
        false_positive_volume_mm3=outside_voxels * voxel_mm3,
    )


def _reference_lesions(
    pred_mask: npt.NDArray[np.bool_],
    ref_mask: npt.NDArray[np.bool_],
    voxel_mm3: float,
    threshold: float,
) -> tuple[Lesion, ...]:
    """Every reference lesion with its coverage by `pred_mask`, in ``lesion_id`` order."""
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
    return tuple(lesions)


def _false_positives(
    pred_mask: npt.NDArray[np.bool_],
    ref_mask: npt.NDArray[np.bool_],
    voxel_mm3: float,
    inside_min: float,
) -> tuple[int, tuple[float, ...]]:
    """The number of predicted components and the radii of the false-positive ones."""
    pred_components, n_pred = ndimage.label(pred_mask, structure=_CONNECTIVITY_26)
    pred_sizes = np.bincount(pred_components.ravel(), minlength=n_pred + 1)
    inside = np.bincount(pred_components[ref_mask], minlength=n_pred + 1)
    radii = tuple(
        equivalent_radius_mm(int(pred_sizes[k]) * voxel_mm3)
        for k in range(1, n_pred + 1)
        if inside[k] == 0 or inside[k] < inside_min * pred_sizes[k]
    )
    return n_pred, radii


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
