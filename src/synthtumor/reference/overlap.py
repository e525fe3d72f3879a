"""Overlap and surface metrics of two binary masks: Dice (DSC) and normalized surface Dice (NSD).

The empty-mask policy of :mod:`synthtumor.reference.metrics` holds: both masks empty scores
``empty_value`` (default 1.0), exactly one empty scores 0.0.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from synthtumor.reference._metric_inputs import (
    as_mask,
    as_spacing,
    as_tolerance,
    check_same_shape,
    union_crop,
)

__all__ = ["dice", "normalized_surface_dice"]


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
    pred_mask = as_mask("pred", pred)
    ref_mask = as_mask("ref", ref)
    check_same_shape("pred", pred_mask, "ref", ref_mask)
    total = int(np.count_nonzero(pred_mask)) + int(np.count_nonzero(ref_mask))
    if total == 0:
        return float(empty_value)
    intersection = int(np.count_nonzero(pred_mask & ref_mask))
    return 2.0 * intersection / total


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
    pred_mask = as_mask("pred", pred)
    ref_mask = as_mask("ref", ref)
    check_same_shape("pred", pred_mask, "ref", ref_mask)
    spacing_mm = as_spacing(spacing)
    tolerance = as_tolerance(tolerance_mm)

    pred_any, ref_any = bool(pred_mask.any()), bool(ref_mask.any())
    if not pred_any and not ref_any:
        return float(empty_value)
    if not (pred_any and ref_any):
        return 0.0

    import torch
    from monai.metrics import compute_surface_dice

    pred_mask, ref_mask = union_crop(pred_mask, ref_mask)
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
