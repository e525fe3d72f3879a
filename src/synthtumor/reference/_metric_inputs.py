"""Input checks of the reference metrics: masks, label maps, spacing, tolerance, and the union crop.

Each check names the argument it refuses (the metrics of :mod:`synthtumor.reference.overlap`,
:mod:`synthtumor.reference.lesions` and :mod:`synthtumor.reference.metrics` share them).

Examples
--------
>>> import numpy as np
>>> as_mask("pred", np.array([[[0, 1]]])).dtype
dtype('bool')
>>> as_mask("pred", np.array([[[0, 2]]]))
Traceback (most recent call last):
...
ValueError: pred must be a binary mask (only 0 and 1), e.g. `labels == 2`
>>> as_spacing([1, 2, 3])
(1.0, 2.0, 3.0)
>>> a = np.zeros((5, 5, 5), bool); a[2, 2, 2] = True
>>> [m.shape for m in union_crop(a, np.zeros_like(a))]
[(3, 3, 3), (3, 3, 3)]
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt


def as_mask(name: str, array: npt.ArrayLike) -> npt.NDArray[np.bool_]:
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


def as_label_map(name: str, array: npt.ArrayLike) -> np.ndarray:
    """Return ``array`` as a 3-D numeric label map."""
    arr = np.asarray(array)
    if arr.ndim != 3:
        raise ValueError(f"{name} must be a 3-D array, got {arr.ndim}-D with shape {arr.shape}")
    if not (arr.dtype == np.bool_ or np.issubdtype(arr.dtype, np.number)):
        raise ValueError(f"{name} must be a numeric label map, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.floating) and not np.all(arr == np.round(arr)):
        raise ValueError(f"{name} must hold integer labels, found non-integer values")
    return arr


def check_same_shape(pred_name: str, pred: np.ndarray, ref_name: str, ref: np.ndarray) -> None:
    """Refuse two arrays of different shapes, naming both."""
    if pred.shape != ref.shape:
        raise ValueError(
            f"{pred_name} and {ref_name} must have the same shape, "
            f"got {pred_name} {pred.shape} and {ref_name} {ref.shape}"
        )


def as_spacing(spacing: Sequence[float]) -> tuple[float, float, float]:
    """``spacing`` as 3 positive finite floats (mm, array-axis order)."""
    message = f"spacing must be 3 positive finite numbers (mm, array-axis order), got {spacing!r}"
    try:
        values = tuple(float(s) for s in spacing)
    except (TypeError, ValueError):
        raise ValueError(message) from None
    if len(values) != 3 or not all(math.isfinite(v) and v > 0 for v in values):
        raise ValueError(message)
    return values


def as_tolerance(tolerance_mm: float) -> float:
    """``tolerance_mm`` as a finite float ``>= 0``."""
    tolerance = float(tolerance_mm)
    if not math.isfinite(tolerance) or tolerance < 0:
        raise ValueError(f"tolerance_mm must be a finite number >= 0, got {tolerance_mm!r}")
    return tolerance


def check_labels(liver_label: int, tumor_label: int) -> None:
    """Refuse the same value for the liver and the tumour label."""
    if liver_label == tumor_label:
        raise ValueError(f"liver_label and tumor_label must differ, both are {liver_label!r}")


def union_crop(
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
