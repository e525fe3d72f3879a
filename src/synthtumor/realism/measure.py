"""Per-lesion appearance measures: what a tumour looks like, in physical units.

:func:`lesion_statistics` turns a CT and its label map into one :class:`LesionStatistics` per
lesion (3-D connected component of the tumour label, full 26-connectivity). Every measure is
taken on a box around the lesion, padded by :data:`PAD_MM`; the only whole-volume work is the
labelling of the tumour mask and the liver's outer boundary, both done once per call.

Distances to the lesion surface
-------------------------------
The surface of a voxel mask lies half-way between the last lesion voxel centres and the first
outside ones. The distance of an outside voxel to it is the mean of its Euclidean distances (mm,
with the voxel spacing) to the nearest lesion voxel and to the nearest outer boundary voxel
(outside, sharing a face with the lesion); inside, the same with the roles swapped. The
*signed distance* ``d`` is negative inside the lesion and positive outside; the voxels next to
the surface along axis ``a`` sit at ``+-spacing[a] / 2``, and far from the surface ``d`` is the
distance to the smooth surface the mask was sampled from, without the half-voxel bias of a plain
distance transform.

Regions (``d`` in mm; "liver" is ``label == liver_label``, which never holds another lesion):

- shell: liver voxels with ``3 < d <= 10``, the reference parenchyma;
- core: lesion voxels with ``d < -3``;
- rim band: liver voxels with ``0 < d <= 2``;
- edge profile: liver and lesion voxels with ``-6 <= d <= 6``, in 0.5 mm bins;
- capsule profile: liver and lesion voxels with ``-3 <= d <= 3``, in 1 mm bins.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage, optimize, spatial, special
from skimage import measure as skmeasure

from synthtumor._validation import as_spacing, as_volume, check_finite
from synthtumor.organ_map import renamed_label

__all__ = [
    "CAPSULE_BIN_MM",
    "CAPSULE_RANGE_MM",
    "CORE_DEPTH_MM",
    "EDGE_BIN_MM",
    "EDGE_RANGE_MM",
    "ERF_10_90",
    "MIN_BIN_VOXELS",
    "MIN_TEXTURE_VOXELS",
    "NUMERIC_FIELDS",
    "ORGAN_MARGIN_MM",
    "PAD_MM",
    "RIM_MM",
    "SHELL_MM",
    "LesionStatistics",
    "lesion_statistics",
]

SHELL_MM: tuple[float, float] = (3.0, 10.0)
"""Distances (mm) outside the lesion surface of the reference liver shell, ``(low, high]``."""
CORE_DEPTH_MM = 3.0
"""Lesion voxels deeper than this (mm) form the core."""
RIM_MM = 2.0
ORGAN_MARGIN_MM = 4.0
"""Edge and capsule profiles use only voxels this far from tissue outside liver and lesion."""
"""Width (mm) of the band just outside the surface whose mean gives ``rim_hu``."""
EDGE_RANGE_MM = 6.0
"""The edge profile spans signed distances ``-6 .. +6`` mm."""
EDGE_BIN_MM = 0.5
"""Bin width (mm) of the edge profile."""
CAPSULE_RANGE_MM = 3.0
"""The capsule profile spans signed distances ``-3 .. +3`` mm."""
CAPSULE_BIN_MM = 1.0
"""Bin width (mm) of the capsule profile."""
PAD_MM = 12.0
"""Padding (mm) of the box around each lesion: the shell and the profiles fit inside."""
MIN_BIN_VOXELS = 10
"""A profile bin with fewer voxels is left out."""
MIN_TEXTURE_VOXELS = 20
"""Fewest core voxels for ``std_ratio`` and ``correlation_length_mm`` (else NaN)."""
ERF_10_90 = float(2.0 * math.sqrt(2.0) * special.erfinv(0.8))
"""10-90 % width of an error-function edge in units of its sigma (2 x 1.2816 = 2.563)."""

_INV_E = math.exp(-1.0)
_MIN_PAIR_FRACTION = 0.1  # autocorrelation lags need this share of the zero-lag pairs


@dataclass(frozen=True)
class LesionStatistics:
    """Appearance of one lesion (a connected component of the tumour label).

    All lengths are in mm, intensities in HU. A measure that cannot be taken (no liver shell,
    no core, a failed fit) is NaN. Exact definitions: module docstring of
    :mod:`synthtumor.realism.measure` and ``docs/realism.md``.

    Attributes
    ----------
    index : int
        Component number (1-based, in scan order of :func:`scipy.ndimage.label`).
    position : tuple of 3 float
        Centroid in voxel indices (array-axis order).
    n_voxels : int
        Voxels in the lesion.
    volume_ml : float
        Lesion volume (voxel count x voxel volume), in millilitres.
    radius_mm : float
        Radius of the sphere of the same volume.
    mean_hu : float
        Mean HU of the lesion.
    liver_mean_hu, liver_std_hu : float
        Mean and standard deviation of the liver shell 3-10 mm outside the surface.
    contrast_hu : float
        ``mean_hu - liver_mean_hu`` (negative: hypodense).
    core_contrast_hu : float
        Mean of the core (deeper than 3 mm) minus ``liver_mean_hu``; NaN without a core.
    std_ratio : float
        Standard deviation of the core over ``liver_std_hu``; NaN when the core has fewer than
        :data:`MIN_TEXTURE_VOXELS` voxels.
    correlation_length_mm : float
        Lag at which the normalised autocorrelation of the mean-subtracted core falls to 1/e,
        averaged over the axes where it does (see :func:`lesion_statistics`).
    edge_width_mm : float
        10-90 % width of an error function fitted to the edge profile (2.563 sigma).
    edge_reliable : bool
        Whether the fit converged and is well determined (see :func:`lesion_statistics`).
    rim_hu : float
        Mean of the 0-2 mm band outside the surface minus ``liver_mean_hu`` (a bright ring is
        positive).
    capsule_hu : float
        Brightest 1 mm bin of the capsule profile minus the brighter plateau (core mean, or
        ``liver_mean_hu``).
    sphericity : float
        ``pi^(1/3) (6 V)^(2/3) / A`` of the marching-cubes surface (1 for a sphere).
    axis_ratio : float
        Shortest over longest principal axis of the lesion's voxels (1 for a sphere).
    surface_distance_mm : float
        Smallest distance from the lesion's surface to the outer surface of the liver (liver
        and tumour labels together); 0 when they touch, NaN when the organ has no outside
        voxel in the volume.
    """

    index: int
    position: tuple[float, float, float]
    n_voxels: int
    volume_ml: float
    radius_mm: float
    mean_hu: float
    liver_mean_hu: float
    liver_std_hu: float
    contrast_hu: float
    core_contrast_hu: float
    std_ratio: float
    correlation_length_mm: float
    edge_width_mm: float
    edge_reliable: bool
    rim_hu: float
    capsule_hu: float
    sphericity: float
    axis_ratio: float
    surface_distance_mm: float

    def to_dict(self) -> dict[str, Any]:
        """The record as a JSON-ready dict (NaN becomes None).

        Examples
        --------
        >>> import numpy as np
        >>> image = np.full((20, 20, 20), 60.0)
        >>> label = np.ones((20, 20, 20), np.uint8)
        >>> label[8:12, 8:12, 8:12] = 2
        >>> record = lesion_statistics(image, label, spacing=(1.0, 1.0, 1.0))[0]
        >>> record.to_dict()["n_voxels"], record.to_dict()["core_contrast_hu"]
        (64, None)
        """
        out: dict[str, Any] = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, float) and not math.isfinite(value):
                value = None
            out[field.name] = list(value) if isinstance(value, tuple) else value
        return out


NUMERIC_FIELDS: tuple[str, ...] = tuple(
    field.name
    for field in dataclasses.fields(LesionStatistics)
    if field.name not in ("index", "position", "edge_reliable")
)
"""The fields of :class:`LesionStatistics` that hold one number each (summarised by
:func:`synthtumor.realism.summarise`)."""


def lesion_statistics(
    image: np.ndarray,
    label: np.ndarray,
    *,
    spacing: tuple[float, float, float],
    organ_label: int | None = None,
    tumor_label: int = 2,
    liver_label: int | None = None,
) -> list[LesionStatistics]:
    """Measure every lesion of a label map: size, contrast, texture, edge, rim and shape.

    Parameters
    ----------
    image : numpy.ndarray
        3-D CT in Hounsfield units, any real dtype, finite.
    label : numpy.ndarray
        3-D integer label map of the same shape (e.g. 0 background, 1 liver, 2 tumour).
    spacing : tuple of 3 float
        Voxel spacing in mm, array-axis order.
    organ_label, tumor_label : int
        Values of the organ (default 1: the liver, or any organ of ``docs/organs.md``) and of
        the tumours in `label`.
    liver_label : int or None
        The old name of `organ_label` (deprecated: it warns).

    Returns
    -------
    list of LesionStatistics
        One record per 3-D connected component (26-connectivity) of ``label == tumor_label``,
        in the order of :func:`scipy.ndimage.label`; empty when there is no tumour.

    Notes
    -----
    Signed distances ``d`` to the lesion surface and the regions built from them are defined in
    the module docstring. On top of those:

    - *Edge*: the mean HU of each 0.5 mm bin of ``d`` in ``[-6, 6]`` (liver and lesion voxels
      at least :data:`ORGAN_MARGIN_MM` from tissue outside them, so that only the lesion's
      border with the liver counts, not a face where the organ's outline cuts it; bins of
      fewer than :data:`MIN_BIN_VOXELS` voxels left out) is fitted, weighted by the
      bin counts, with ``a + b * Phi((d - c) / s)`` (``Phi`` the normal CDF) by
      :func:`scipy.optimize.curve_fit`; ``edge_width_mm = 2.563 s``. ``edge_reliable`` requires
      a converged fit with finite covariance, at least 6 bins, ``|b|`` above twice its standard
      error, the standard error of ``s`` below half of ``s``, and the 10-90 % band
      ``c +- 1.28 s`` strictly inside the range of the bins (a bin beyond each end) with at
      least 2 bins inside it: an edge that falls between two bins (sharper than the grid can
      show, typically below about one voxel) is not reliable, and its width is only an upper
      bound.
    - *Texture*: ``std_ratio`` and ``correlation_length_mm`` use the core, so that the edge's
      own ramp and any capsule do not count as texture. The autocorrelation of the
      mean-subtracted core (zero outside it) along axis ``a`` at lag ``k`` is the sum of
      products of values ``k`` voxels apart divided by the number of such pairs (1-D FFTs,
      zero-padded), normalised by lag 0; lags with fewer than 10 % of the lag-0 pairs are not
      used. The 1/e crossing is interpolated linearly in ``(lag^2, log rho)`` (exact for a
      Gaussian autocorrelation), converted to mm with ``spacing[a]``, and the result is the
      mean over the axes where a crossing is found (NaN if none). Gaussian-filtered white noise
      of kernel sigma ``w`` has a Gaussian autocorrelation of sigma ``w sqrt(2)``, so its
      length is ``2 w``.
    - *Shape*: ``sphericity`` uses the enclosed volume and the area of the
      :func:`skimage.measure.marching_cubes` surface (level 0.5, with `spacing`) of the mask
      smoothed by a Gaussian of 0.5 voxel (to soften the staircase), so it never exceeds 1;
      ``axis_ratio`` is
      ``sqrt(lambda_min / lambda_max)`` of the covariance of the voxel centres in mm plus
      ``spacing^2 / 12`` per axis (the voxels' own extent).
    - *Surface distance*: between the nearest pair of a lesion boundary voxel and a non-organ
      voxel touching the organ (organ = liver and tumour labels), less half a voxel at each
      end along the pair's direction. The edge of the array does not count as organ surface.

    Raises
    ------
    ValueError, TypeError
        Bad `image`, `label`, `spacing`, `organ_label` or `tumor_label` (the message names it).

    Examples
    --------
    A 10 mm sphere of 20 HU in a 60 HU liver:

    >>> import numpy as np
    >>> grid = np.indices((48, 48, 48)).astype(float) - 23.5
    >>> inside = np.sqrt((grid**2).sum(axis=0)) < 10
    >>> label = np.where(inside, 2, 1).astype(np.uint8)
    >>> image = np.where(inside, 20.0, 60.0)
    >>> [record] = lesion_statistics(image, label, spacing=(1.0, 1.0, 1.0))
    >>> round(record.radius_mm, 1), round(record.contrast_hu, 1), round(record.rim_hu, 1)
    (10.0, -40.0, 0.0)
    >>> record.sphericity > 0.9, round(record.axis_ratio, 2)
    (True, 1.0)
    """
    image = as_volume(image, name="image")
    label = _as_label_map(label, shape=image.shape)
    spacing = as_spacing(spacing)
    liver_label = _as_label_value(renamed_label(organ_label, liver_label), name="organ_label")
    tumor_label = _as_label_value(tumor_label, name="tumor_label")
    if liver_label == tumor_label:
        raise ValueError(f"organ_label and tumor_label must differ, both are {liver_label}")
    check_finite(image, name="image", where="(NaN or inf HU values)")

    tumor = label == tumor_label
    components, count = ndimage.label(tumor, structure=np.ones((3, 3, 3), dtype=bool))
    if count == 0:
        return []
    organ_tree = _organ_outside_tree(label, liver_label, tumor_label, spacing)
    sp = np.asarray(spacing, dtype=float)
    pad = [math.ceil(PAD_MM / s) for s in spacing]
    records = []
    for index, found in enumerate(ndimage.find_objects(components), start=1):
        if found is None:  # pragma: no cover - labels are consecutive
            continue
        box = tuple(
            slice(max(0, s.start - p), min(n, s.stop + p))
            for s, p, n in zip(found, pad, image.shape, strict=True)
        )
        records.append(
            _measure_lesion(
                image[box].astype(np.float64),
                components[box] == index,
                label[box] == liver_label,
                offset=tuple(s.start for s in box),
                index=index,
                spacing=sp,
                organ_tree=organ_tree,
            )
        )
    return records


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


def _as_label_map(label: object, *, shape: tuple[int, ...]) -> np.ndarray:
    array = np.asarray(label)
    if not (
        array.dtype == bool
        or np.issubdtype(array.dtype, np.integer)
        or np.issubdtype(array.dtype, np.floating)
    ):
        raise TypeError(f"label must be an integer label map, got dtype {array.dtype}")
    if array.ndim != 3:
        raise ValueError(
            f"label must be a 3-D array (i, j, k), got {array.ndim}-D with shape {array.shape}"
        )
    if array.shape != tuple(shape):
        raise ValueError(
            f"label must have the same shape as image {tuple(shape)}, got {array.shape}"
        )
    if np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all() or not np.array_equal(array, np.round(array)):
            raise ValueError("label must hold integer values, found non-integer or NaN values")
    return array


def _as_label_value(value: object, *, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an integer label value, got {value!r}")
    return int(value)


# --------------------------------------------------------------------------------------------
# One lesion
# --------------------------------------------------------------------------------------------


def _measure_lesion(
    values: np.ndarray,
    lesion: np.ndarray,
    liver: np.ndarray,
    *,
    offset: tuple[int, ...],
    index: int,
    spacing: np.ndarray,
    organ_tree: tuple[spatial.cKDTree, np.ndarray] | None,
) -> LesionStatistics:
    distance = _signed_distance(lesion, spacing)
    liver = liver & ~lesion
    n_voxels = int(lesion.sum())
    voxel_ml = float(np.prod(spacing)) / 1000.0
    volume_ml = n_voxels * voxel_ml
    radius_mm = (3.0 * volume_ml * 1000.0 / (4.0 * math.pi)) ** (1.0 / 3.0)

    lesion_values = values[lesion]
    mean_hu = float(lesion_values.mean())
    shell = liver & (distance > SHELL_MM[0]) & (distance <= SHELL_MM[1])
    shell_values = values[shell]
    liver_mean, liver_std = _mean_std(shell_values)
    core = lesion & (distance < -CORE_DEPTH_MM)
    core_values = values[core]
    core_mean, core_std = _mean_std(core_values)
    rim_mean, _ = _mean_std(values[liver & (distance > 0) & (distance <= RIM_MM)])

    texture_ok = core_values.size >= MIN_TEXTURE_VOXELS
    std_ratio = _ratio(core_std, liver_std) if texture_ok else math.nan
    correlation = _correlation_length(values, core, spacing) if texture_ok else math.nan

    # Where the organ's outline cuts the lesion, its HU stop sharply at the outline: that
    # face is no edge of the lesion against the liver, and is kept out of the profiles.
    tissue = liver | lesion
    away_from_outline = ndimage.distance_transform_edt(tissue, sampling=spacing) > ORGAN_MARGIN_MM
    border = tissue & away_from_outline
    edge_width, edge_reliable = _edge_width(values, border, distance)
    capsule = _capsule(values, border, distance, plateaus=(core_mean, liver_mean))

    coords = np.nonzero(lesion)
    position = tuple(float(c.mean() + o) for c, o in zip(coords, offset, strict=True))
    return LesionStatistics(
        index=index,
        position=position,  # type: ignore[arg-type]
        n_voxels=n_voxels,
        volume_ml=volume_ml,
        radius_mm=radius_mm,
        mean_hu=mean_hu,
        liver_mean_hu=liver_mean,
        liver_std_hu=liver_std,
        contrast_hu=mean_hu - liver_mean,
        core_contrast_hu=core_mean - liver_mean,
        std_ratio=std_ratio,
        correlation_length_mm=correlation,
        edge_width_mm=edge_width,
        edge_reliable=edge_reliable,
        rim_hu=rim_mean - liver_mean,
        capsule_hu=capsule,
        sphericity=_sphericity(lesion, spacing),
        axis_ratio=_axis_ratio(coords, spacing),
        surface_distance_mm=_surface_distance(lesion, offset, spacing, organ_tree),
    )


def _mean_std(values: np.ndarray) -> tuple[float, float]:
    if values.size == 0:
        return math.nan, math.nan
    return float(values.mean()), float(values.std())


def _ratio(numerator: float, denominator: float) -> float:
    if not (math.isfinite(numerator) and math.isfinite(denominator)) or denominator <= 0:
        return math.nan
    return numerator / denominator


# --------------------------------------------------------------------------------------------
# Distances
# --------------------------------------------------------------------------------------------


def _distance_to(features: np.ndarray, spacing: np.ndarray) -> np.ndarray:
    """Euclidean distance (mm) from every voxel centre to the nearest `features` voxel centre."""
    if not features.any():
        return np.full(features.shape, np.inf)
    return ndimage.distance_transform_edt(~features, sampling=spacing)


def _signed_distance(lesion: np.ndarray, spacing: np.ndarray) -> np.ndarray:
    """Signed distance (mm) to the lesion surface: negative inside, positive outside.

    Outside, the mean of the distances to the nearest lesion voxel and to the nearest outer
    boundary voxel (outside, face-adjacent to the lesion); inside, the same with the roles
    swapped. Half-way between the two voxel layers that the surface separates, this is unbiased
    next to the surface (``+-spacing[a] / 2`` for the first layer) and far from it.
    """
    cross = ndimage.generate_binary_structure(3, 1)
    outer = ndimage.binary_dilation(lesion, cross) & ~lesion
    inner = lesion & ~ndimage.binary_erosion(lesion, cross, border_value=1)
    outside = 0.5 * (_distance_to(lesion, spacing) + _distance_to(outer, spacing))
    inside = 0.5 * (_distance_to(~lesion, spacing) + _distance_to(inner, spacing))
    return np.where(lesion, -inside, outside)


def _organ_outside_tree(
    label: np.ndarray, liver_label: int, tumor_label: int, spacing: tuple[float, float, float]
) -> tuple[spatial.cKDTree, np.ndarray] | None:
    """KD-tree (mm) of the non-organ voxels that touch the organ, with their indices."""
    organ = (label == liver_label) | (label == tumor_label)
    found = ndimage.find_objects(organ.astype(np.int8))[0]
    if found is None:  # pragma: no cover - a tumour voxel is always there
        return None
    box = tuple(
        slice(max(0, s.start - 1), min(n, s.stop + 1))
        for s, n in zip(found, label.shape, strict=True)
    )
    local = organ[box]
    outside = ndimage.binary_dilation(local, structure=np.ones((3, 3, 3), dtype=bool)) & ~local
    indices = np.argwhere(outside) + np.array([s.start for s in box])
    if indices.size == 0:
        return None
    return spatial.cKDTree(indices * np.asarray(spacing)), indices


def _surface_distance(
    lesion: np.ndarray,
    offset: tuple[int, ...],
    spacing: np.ndarray,
    organ_tree: tuple[spatial.cKDTree, np.ndarray] | None,
) -> float:
    if organ_tree is None:
        return math.nan
    tree, outside = organ_tree
    boundary = lesion & ~ndimage.binary_erosion(
        lesion, structure=np.ones((3, 3, 3), dtype=bool), border_value=0
    )
    points = np.argwhere(boundary) + np.asarray(offset)
    lengths, nearest = tree.query(points * spacing)
    best = int(np.argmin(lengths))
    vector = np.abs(outside[nearest[best]] - points[best]) * spacing
    length = float(lengths[best])
    if length == 0:  # pragma: no cover - a lesion voxel is never outside the organ
        return 0.0
    # Half a voxel at each end along the pair's direction: the faces between the voxels.
    fraction = min(float(s / v) for s, v in zip(spacing, vector, strict=True) if v > 0)
    return max(0.0, length * (1.0 - min(fraction, 1.0)))


# --------------------------------------------------------------------------------------------
# Profiles: edge and capsule
# --------------------------------------------------------------------------------------------


def _profile(
    values: np.ndarray, region: np.ndarray, distance: np.ndarray, *, half_range: float, step: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean distance, mean HU, count) of each populated bin of `distance` in the range."""
    inside = region & (np.abs(distance) <= half_range)
    d = distance[inside]
    v = values[inside]
    n_bins = round(2 * half_range / step)
    bins = np.clip(((d + half_range) / step).astype(np.int64), 0, n_bins - 1)
    counts = np.bincount(bins, minlength=n_bins)
    keep = counts >= MIN_BIN_VOXELS
    safe = np.maximum(counts, 1)
    mean_d = np.bincount(bins, weights=d, minlength=n_bins) / safe
    mean_v = np.bincount(bins, weights=v, minlength=n_bins) / safe
    return mean_d[keep], mean_v[keep], counts[keep]


def _erf_step(d: np.ndarray, low: float, step: float, center: float, sigma: float) -> np.ndarray:
    return low + step * special.ndtr((d - center) / sigma)


def _edge_width(values: np.ndarray, tissue: np.ndarray, distance: np.ndarray) -> tuple[float, bool]:
    d, v, n = _profile(values, tissue, distance, half_range=EDGE_RANGE_MM, step=EDGE_BIN_MM)
    if d.size < 5:
        return math.nan, False
    inner = v[d < -0.5 * EDGE_RANGE_MM]
    outer = v[d > 0.5 * EDGE_RANGE_MM]
    low = float(inner.mean()) if inner.size else float(v[0])
    high = float(outer.mean()) if outer.size else float(v[-1])
    p0 = (low, high - low, 0.0, 1.0)
    bounds = ([-np.inf, -np.inf, -EDGE_RANGE_MM, 0.05], [np.inf, np.inf, EDGE_RANGE_MM, 12.0])
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("error", optimize.OptimizeWarning)
            params, covariance = optimize.curve_fit(
                _erf_step, d, v, p0=p0, sigma=1.0 / np.sqrt(n), bounds=bounds, maxfev=2000
            )
    except (RuntimeError, ValueError, FloatingPointError, optimize.OptimizeWarning):
        return math.nan, False
    _, step, center, sigma = (float(p) for p in params)
    width = ERF_10_90 * sigma
    errors = np.sqrt(np.abs(np.diag(covariance))) if np.isfinite(covariance).all() else None
    reliable = (
        errors is not None
        and d.size >= 6
        and abs(step) > 2.0 * float(errors[1])
        and float(errors[3]) < 0.5 * sigma
        and float(d.min()) < center - 0.5 * width
        and float(d.max()) > center + 0.5 * width
        and int(np.count_nonzero(np.abs(d - center) < 0.5 * width)) >= 2
    )
    return width, bool(reliable)


def _capsule(
    values: np.ndarray,
    tissue: np.ndarray,
    distance: np.ndarray,
    *,
    plateaus: tuple[float, float],
) -> float:
    _, v, _ = _profile(values, tissue, distance, half_range=CAPSULE_RANGE_MM, step=CAPSULE_BIN_MM)
    levels = [p for p in plateaus if math.isfinite(p)]
    if v.size == 0 or not levels:
        return math.nan
    return float(v.max()) - max(levels)


# --------------------------------------------------------------------------------------------
# Texture
# --------------------------------------------------------------------------------------------


def _correlation_length(values: np.ndarray, region: np.ndarray, spacing: np.ndarray) -> float:
    box = ndimage.find_objects(region.astype(np.int8))[0]
    mask = region[box].astype(np.float64)
    local = values[box]
    mean = float(local[region[box]].mean())
    field = np.where(region[box], local - mean, 0.0)
    lengths = []
    for axis, step in enumerate(spacing):
        products = _lag_sums(field, axis)
        pairs = _lag_sums(mask, axis)
        usable = pairs >= max(_MIN_PAIR_FRACTION * pairs[0], 2.0)
        with np.errstate(all="ignore"):
            covariance = np.where(usable, products / np.where(usable, pairs, 1.0), np.nan)
        if not covariance[0] > 0:
            continue
        rho = covariance / covariance[0]
        length = _inverse_e_crossing(rho, usable)
        if math.isfinite(length):
            lengths.append(length * float(step))
    return float(np.mean(lengths)) if lengths else math.nan


def _lag_sums(field: np.ndarray, axis: int) -> np.ndarray:
    """Sum over the volume of ``field[x] * field[x + k e_axis]`` for lags ``k >= 0``."""
    n = field.shape[axis]
    size = 1 << math.ceil(math.log2(max(2 * n, 2)))
    spectrum = np.fft.rfft(field, n=size, axis=axis)
    power = (spectrum.real**2 + spectrum.imag**2).sum(axis=tuple(a for a in range(3) if a != axis))
    return np.fft.irfft(power, n=size)[:n]


def _inverse_e_crossing(rho: np.ndarray, usable: np.ndarray) -> float:
    """Lag (voxels) where `rho` first falls to 1/e, interpolated in (lag^2, log rho)."""
    for k in range(1, rho.size):
        if not usable[k]:
            return math.nan
        if rho[k] <= _INV_E:
            previous, current = float(rho[k - 1]), float(rho[k])
            if current > 0:
                t = (math.log(previous) + 1.0) / (math.log(previous) - math.log(current))
                return math.sqrt((k - 1) ** 2 + t * (k**2 - (k - 1) ** 2))
            t = (previous - _INV_E) / (previous - current)
            return (k - 1) + t
    return math.nan


# --------------------------------------------------------------------------------------------
# Shape
# --------------------------------------------------------------------------------------------


def _sphericity(lesion: np.ndarray, spacing: np.ndarray) -> float:
    box = ndimage.find_objects(lesion.astype(np.int8))[0]
    padded = np.pad(lesion[box].astype(np.float32), 2)
    smooth = ndimage.gaussian_filter(padded, 0.5)
    level = 0.5 if float(smooth.max()) > 0.5 else 0.5 * float(smooth.max())
    verts, faces, _, _ = skmeasure.marching_cubes(smooth, level=level, spacing=tuple(spacing))
    area = float(skmeasure.mesh_surface_area(verts, faces))
    corners = verts[faces]
    triple = np.einsum("ij,ij->i", corners[:, 0], np.cross(corners[:, 1], corners[:, 2]))
    volume = abs(float(triple.sum())) / 6.0
    if area <= 0 or volume <= 0:
        return math.nan
    return math.pi ** (1.0 / 3.0) * (6.0 * volume) ** (2.0 / 3.0) / area


def _axis_ratio(coords: tuple[np.ndarray, ...], spacing: np.ndarray) -> float:
    points = np.stack(coords, axis=1) * spacing
    centerd = points - points.mean(axis=0)
    covariance = centerd.T @ centerd / len(points) + np.diag(spacing**2 / 12.0)
    eigenvalues = np.linalg.eigvalsh(covariance)
    return float(math.sqrt(max(eigenvalues[0], 0.0) / eigenvalues[-1]))
