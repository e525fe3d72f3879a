"""Contrast phase of a CT scan, estimated from the scan and its liver mask.

:func:`estimate_phase` measures three intensities and applies a documented rule:

- ``liver_hu``: the parenchyma, a 10-90 % trimmed mean of the liver interior;
- ``vessel_hu``: the liver's own vessels, the 99.5th percentile of the liver interior (mask holes
  filled, so that vessels a segmenter cut out count) after a 2 mm Gaussian in-plane smoothing;
- ``aorta_hu``: the aorta, found without a mask as a round, homogeneous, bright blob of 12-40 mm
  that recurs at the same place in several axial slices near the liver (NaN when none is found,
  as in an unenhanced scan, where blood and soft tissue share 30-60 HU).

The rule, its literature values and the values measured on the shared scans are in
``docs/phase.md``. :func:`resolve_phase` turns a ``phase=`` argument (one of :data:`PHASES` or
``"auto"``) into a phase name.

Only a subsample of axial slices is read (at most 12 for the liver, 8 for the aorta), cropped to
the liver's in-plane box (grown by 30 mm for the aorta) and, for the aorta, block-averaged to
about 1.5 mm pixels, so the cost is a few tens of milliseconds on a 512 x 512 x 78 scan.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from synthtumor._validation import as_binary_mask, as_spacing, as_volume

__all__ = [
    "PHASES",
    "PHASE_CHOICES",
    "PhaseEstimate",
    "estimate_phase",
    "resolve_phase",
]

PHASES: tuple[str, ...] = ("non_contrast", "arterial", "portal", "delayed")
"""The contrast phases :func:`estimate_phase` can return."""

PHASE_CHOICES: tuple[str, ...] = (*PHASES, "auto")
"""The values a ``phase=`` argument accepts: a phase, or ``"auto"`` to estimate it."""

# Liver statistics.
_LIVER_SLICES = 12
_LIVER_EROSION_MM = 4.0  # keeps partial volume with fat and neighbours out of the statistics
_VESSEL_SMOOTHING_MM = 2.0
_VESSEL_PERCENTILE = 99.5
_TRIM_PERCENTILES = (10.0, 90.0)
# Vessels count as enhanced when their percentile lies this far above the parenchyma, and
# further than the parenchyma's own smoothed noise explains (2.6 sigma is its 99.5th percentile).
_VESSEL_ENHANCED_MIN_HU = 20.0
_VESSEL_NOISE_FACTOR = 2.6
# Aorta search.
_AORTA_SLICES = 8
_AORTA_MARGIN_MM = 30.0
_AORTA_PIXEL_MM = 1.5
_AORTA_SMOOTHING_MM = 1.0
_AORTA_OPENING_MM = 3.0  # opening radius: cuts bridges and protrusions thinner than 6 mm
_AORTA_THRESHOLDS_HU = (110.0, 140.0, 170.0, 200.0, 250.0)
_AORTA_DIAMETER_MM = (12.0, 40.0)
_AORTA_MIN_CIRCULARITY = 0.6
_AORTA_MAX_HU = 650.0
_AORTA_MAX_CORE_STD_HU = 20.0  # blood is homogeneous; cancellous bone and cortex are not
_AORTA_TRACK_MM = 15.0
_BONE_HU = 500.0  # smoothed HU above which a pixel is taken for cortical bone
_BONE_MARGIN_MM = 2.0
_RING_MM = 6.0
_MAX_RING_BONE_SHARE = 0.5
_AORTA_MIN_SUPPORT = 0.3  # share of the searched slices in which the aorta must be found
# Phase rule (HU); see the module docstring and docs/phase.md.
_ARTERIAL_MIN_AORTA_HU = 200.0
_ARTERIAL_MIN_AORTA_OVER_LIVER_HU = 120.0
_ARTERIAL_MIN_AORTA_OVER_VESSELS_HU = 50.0
_DELAYED_MAX_AORTA_OVER_LIVER_HU = 35.0
_DELAYED_MAX_VESSELS_OVER_LIVER_HU = 35.0
_ENHANCED_LIVER_MIN_HU = 80.0  # unenhanced liver lies at 40-65 HU
_PORTAL_MIN_LIVER_HU = 85.0  # without an aorta: liver enhanced this far means portal phase


@dataclass(frozen=True)
class PhaseEstimate:
    """The contrast phase of a scan and the intensities it was decided from.

    Attributes
    ----------
    phase : str
        One of :data:`PHASES`: ``"non_contrast"``, ``"arterial"``, ``"portal"``, ``"delayed"``.
    liver_hu : float
        Robust parenchyma mean in HU (10-90 % trimmed mean of the eroded liver).
    vessel_hu : float
        HU of the liver's vessels: the 99.5th percentile of the liver interior smoothed by a
        2 mm Gaussian. Without contrast it is the parenchyma's own bright noise tail.
    aorta_hu : float
        Median HU of the aorta's core over the slices where it was found; NaN if not found.
    vessels_enhanced : bool
        Whether the vessels are brighter than the parenchyma (beyond its noise), the
        precondition of the paper's eq. 2 vessel threshold (liver mean + b).
    reason : str
        One sentence saying why this phase was chosen.
    """

    phase: str
    liver_hu: float
    vessel_hu: float
    aorta_hu: float
    vessels_enhanced: bool
    reason: str

    @property
    def aorta_found(self) -> bool:
        """Whether an aorta was found (``aorta_hu`` is not NaN)."""
        return not math.isnan(self.aorta_hu)


def estimate_phase(
    image: np.ndarray,
    liver_mask: np.ndarray,
    *,
    spacing: tuple[float, float, float],
    axial_axis: int = 2,
) -> PhaseEstimate:
    """Estimate the contrast phase of a CT scan from its liver and aorta intensities.

    Parameters
    ----------
    image : numpy.ndarray
        3-D CT volume in Hounsfield units, any real dtype.
    liver_mask : numpy.ndarray
        Boolean or 0/1 liver mask of the same shape; must not be empty.
    spacing : tuple of 3 float
        Voxel size in mm, in array-axis order.
    axial_axis : int, default 2
        The array axis that runs cranio-caudally (slices along it are axial). NIfTI volumes in
        RAS or LPS orientation, as nibabel and the DICOM converters write them, have it last;
        pass another axis for volumes stored differently. The aorta search works slice by
        slice along this axis; the liver statistics do not depend on it much.

    Returns
    -------
    PhaseEstimate
        The phase, the measured HU and a one-sentence reason.

    Raises
    ------
    ValueError
        If `image` is not 3-D or holds NaN/inf in the sampled slices, `liver_mask` has another
        shape, is not binary or is empty, `spacing` is not 3 positive numbers, or `axial_axis`
        is not 0, 1 or 2 (or -3..-1).
    TypeError
        If `image` is not real-valued or `spacing` or `axial_axis` is not numeric.

    Notes
    -----
    With ``L = liver_hu``, ``V = vessel_hu`` and ``A = aorta_hu`` (HU), the rule is:

    ==============  ========================================================================
    phase           condition, checked in this order
    ==============  ========================================================================
    arterial        aorta found, ``A >= 200``, ``A - L >= 120`` and ``A - V >= 50``: a bright
                    aorta, a barely enhanced liver and vessels far darker than the aorta
    delayed         aorta found, ``A - L < 35`` and ``V - L < 35``: blood and liver close
    portal          aorta found otherwise
    non_contrast    no aorta, vessels not enhanced and ``L < 80``
    delayed         no aorta, vessels not enhanced and ``L >= 80`` (an enhanced liver whose
                    blood has equilibrated; low confidence)
    portal          no aorta, vessels enhanced and ``L >= 85``
    arterial        no aorta, vessels enhanced and ``L < 85`` (low confidence)
    ==============  ========================================================================

    The vessels count as enhanced when ``V - L`` exceeds both 20 HU and 2.6 times the
    parenchyma's smoothed noise (estimated from the lower quartile, so that vessels do not
    inflate it). The aorta is looked for in up to 8 axial slices spread over the liver's
    extent, in the liver's in-plane box grown by 30 mm, block-averaged to about 1.5 mm pixels
    and smoothed by a 1 mm Gaussian; a 3 mm grey opening cuts thin bridges, and cortical bone
    (smoothed above 500 HU) with 2 mm round it is removed. At 110, 140, 170, 200 and 250 HU,
    holes filled, a component is a candidate when its equivalent diameter is 12-40 mm, it fills
    at least 0.6 of its circumscribed circle, its centre lies outside the liver mask, less
    than half of a ring 2-6 mm outside it is bone, and its core (the central half of its
    diameter) has a median of at most 650 HU and a standard deviation of at most 20 HU: blood
    is homogeneous, while cancellous bone is textured and enclosed by cortex. Candidates
    within 15 mm of each other in successive slices form a track; the aorta is the track
    found in most slices (at least 30 % of those searched and at least 2), ties going to the
    wider one. The portal vein and the vena cava,
    narrower and mostly within or beside the liver mask, rarely form a longer track.
    In an unenhanced scan the aorta (about 40 HU) passes no threshold and ``aorta_hu`` is NaN.

    The thresholds follow general literature ranges (docs/phase.md), checked on three real
    scans and on phantoms; scans with unusual injection protocols, a fatty or iron-loaded
    liver, or oral contrast in round bowel loops next to the aorta may be misread.

    Examples
    --------
    >>> import numpy as np
    >>> from synthtumor.phase import estimate_phase
    >>> rng = np.random.default_rng(0)
    >>> i, j, k = np.meshgrid(*(np.arange(64.0),) * 2, np.arange(24.0), indexing="ij")
    >>> body = (i - 32) ** 2 / 30**2 + (j - 32) ** 2 / 26**2 < 1
    >>> liver = (i - 20) ** 2 / 12**2 + (j - 30) ** 2 / 14**2 < 1
    >>> aorta = (i - 40) ** 2 + (j - 38) ** 2 < 5**2
    >>> image = np.where(body, 40.0, -1000.0) + rng.normal(0, 5, i.shape)
    >>> image[liver] = 120.0 + rng.normal(0, 5, int(liver.sum()))
    >>> image[aorta] = 170.0
    >>> image[((i - 20) ** 2 + (j - 30) ** 2 < 2.5**2)] = 180.0   # a portal vein branch
    >>> estimate = estimate_phase(image, liver, spacing=(2.0, 2.0, 2.0))
    >>> estimate.phase, estimate.vessels_enhanced, round(estimate.aorta_hu)
    ('portal', True, 170)
    """
    volume = as_volume(image, name="image")
    mask = as_binary_mask(liver_mask, shape=volume.shape, name="liver_mask")
    voxel = as_spacing(spacing, name="spacing")
    axis = _as_axis(axial_axis)
    # Views with the axial axis last; no copy.
    volume = np.moveaxis(volume, axis, 2)
    mask = np.moveaxis(mask, axis, 2)
    # moveaxis keeps the other two axes in their order.
    in_plane = tuple(voxel[a] for a in range(3) if a != axis)
    assert len(in_plane) == 2

    slices = _liver_slices(mask)
    if slices.size == 0:
        raise ValueError("liver_mask must contain at least one liver voxel, got an empty mask")
    liver_hu, vessel_hu, noise_hu, boxes = _liver_statistics(volume, mask, slices, in_plane)
    aorta_hu = _find_aorta(volume, mask, slices, boxes, in_plane)
    margin = max(_VESSEL_ENHANCED_MIN_HU, _VESSEL_NOISE_FACTOR * noise_hu)
    vessels_enhanced = bool(vessel_hu - liver_hu > margin)
    phase, reason = _decide(liver_hu, vessel_hu, aorta_hu, vessels_enhanced, margin)
    return PhaseEstimate(
        phase=phase,
        liver_hu=liver_hu,
        vessel_hu=vessel_hu,
        aorta_hu=aorta_hu,
        vessels_enhanced=vessels_enhanced,
        reason=reason,
    )


def resolve_phase(
    phase: str,
    image: np.ndarray | None = None,
    liver_mask: np.ndarray | None = None,
    spacing: tuple[float, float, float] | None = None,
    *,
    axial_axis: int = 2,
) -> str:
    """Return the phase name for a ``phase=`` argument, estimating it for ``"auto"``.

    Parameters
    ----------
    phase : str
        One of :data:`PHASE_CHOICES`: ``"non_contrast"``, ``"arterial"``, ``"portal"``,
        ``"delayed"`` or ``"auto"``.
    image, liver_mask, spacing
        The scan, its liver mask and its spacing in mm; needed only for ``"auto"``.
    axial_axis : int, default 2
        Passed to :func:`estimate_phase` for ``"auto"``.

    Returns
    -------
    str
        A phase name from :data:`PHASES`.

    Raises
    ------
    ValueError
        If `phase` is not one of the choices (the message lists them), or it is ``"auto"``
        and `image`, `liver_mask` or `spacing` is missing; and as :func:`estimate_phase`.
    TypeError
        If `phase` is not a string.

    Examples
    --------
    >>> from synthtumor.phase import resolve_phase
    >>> resolve_phase("arterial")
    'arterial'
    >>> resolve_phase("venous")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: phase must be one of 'non_contrast', 'arterial', ..., 'auto'; got 'venous'
    """
    if not isinstance(phase, str):
        raise TypeError(
            f"phase must be a string, one of {_choices_text()}; got {type(phase).__name__}"
        )
    if phase not in PHASE_CHOICES:
        raise ValueError(f"phase must be one of {_choices_text()}; got {phase!r}")
    if phase != "auto":
        return phase
    missing = [
        name
        for name, value in (("image", image), ("liver_mask", liver_mask), ("spacing", spacing))
        if value is None
    ]
    if missing:
        raise ValueError(
            f"phase='auto' estimates the phase from the scan: pass {', '.join(missing)}"
        )
    assert image is not None and liver_mask is not None and spacing is not None
    return estimate_phase(image, liver_mask, spacing=spacing, axial_axis=axial_axis).phase


def _choices_text() -> str:
    return ", ".join(repr(choice) for choice in PHASE_CHOICES)


def _as_axis(axial_axis: object) -> int:
    if isinstance(axial_axis, bool) or not isinstance(axial_axis, numbers.Integral):
        raise TypeError(f"axial_axis must be an integer array axis (0, 1 or 2), got {axial_axis!r}")
    value = int(axial_axis)
    if not -3 <= value <= 2:
        raise ValueError(f"axial_axis must be 0, 1 or 2 (or -3..-1), got {value}")
    return value % 3


def _liver_slices(mask: np.ndarray) -> np.ndarray:
    """Indices of the axial slices holding liver, from a strided look (full look if none)."""
    present = mask[::4, ::4, :].any(axis=(0, 1))
    if not present.any():
        present = mask.any(axis=(0, 1))
    return np.flatnonzero(present)


def _spread(indices: np.ndarray, count: int) -> np.ndarray:
    """Up to `count` entries of `indices`, evenly spread, first and last included."""
    if indices.size <= count:
        return indices
    picks = np.linspace(0, indices.size - 1, count).round().astype(int)
    spread: np.ndarray = indices[np.unique(picks)]
    return spread


def _box(mask_slice: np.ndarray, pad: tuple[int, int]) -> tuple[slice, slice] | None:
    rows = np.flatnonzero(mask_slice.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask_slice.any(axis=0))
    return (
        slice(max(int(rows[0]) - pad[0], 0), min(int(rows[-1]) + 1 + pad[0], mask_slice.shape[0])),
        slice(max(int(cols[0]) - pad[1], 0), min(int(cols[-1]) + 1 + pad[1], mask_slice.shape[1])),
    )


def _liver_statistics(
    volume: np.ndarray,
    mask: np.ndarray,
    slices: np.ndarray,
    in_plane: tuple[float, float],
) -> tuple[float, float, float, dict[int, tuple[slice, slice]]]:
    """Parenchyma trimmed mean, vessel percentile, smoothed noise, and each slice's liver box."""
    sigma = (_VESSEL_SMOOTHING_MM / in_plane[0], _VESSEL_SMOOTHING_MM / in_plane[1])
    radius = (
        max(1, round(_LIVER_EROSION_MM / in_plane[0])),
        max(1, round(_LIVER_EROSION_MM / in_plane[1])),
    )
    pad = (math.ceil(3 * sigma[0]) + 1, math.ceil(3 * sigma[1]) + 1)
    raw_values: list[np.ndarray] = []
    smooth_values: list[np.ndarray] = []
    boxes: dict[int, tuple[slice, slice]] = {}
    fallback: list[np.ndarray] = []
    for k in _spread(slices, _LIVER_SLICES):
        mask_slice = mask[:, :, k]
        box = _box(mask_slice, pad)
        if box is None:
            continue
        boxes[int(k)] = box
        crop = np.asarray(volume[box[0], box[1], k], dtype=np.float32)
        _check_finite(crop, int(k))
        liver = _fill_holes(mask_slice[box])
        fallback.append(crop[mask_slice[box]])
        interior = ndimage.minimum_filter(
            liver.view(np.uint8), size=(2 * radius[0] + 1, 2 * radius[1] + 1)
        ).view(bool)
        if not interior.any():
            continue
        smooth = ndimage.gaussian_filter(crop, sigma, mode="nearest")
        raw_values.append(crop[interior & mask_slice[box]])
        smooth_values.append(smooth[interior])
    raw = np.concatenate(raw_values) if raw_values else np.empty(0, np.float32)
    if raw.size < 20:  # a thin liver: no interior survives the erosion; use it all
        raw = np.concatenate(fallback)
        smoothed = raw
    else:
        smoothed = np.concatenate(smooth_values)
    low, high = np.percentile(raw, _TRIM_PERCENTILES)
    kept = raw[(raw >= low) & (raw <= high)]
    liver_hu = float(kept.mean()) if kept.size else float(np.median(raw))
    q25, q50, vessel = np.percentile(smoothed, [25.0, 50.0, _VESSEL_PERCENTILE])
    noise = float(q50 - q25) / 0.6745  # lower quartile: vessels do not widen it
    return liver_hu, float(vessel), noise, boxes


def _check_finite(block: np.ndarray, k: int) -> None:
    if not np.isfinite(block).all():
        raise ValueError(
            f"image contains NaN or infinite values (in axial slice {k} near the liver)"
        )


def _find_aorta(
    volume: np.ndarray,
    mask: np.ndarray,
    slices: np.ndarray,
    boxes: dict[int, tuple[slice, slice]],
    in_plane: tuple[float, float],
) -> float:
    """Median core HU of the aorta track over the searched slices, or NaN if none is found."""
    factor = (
        max(1, round(_AORTA_PIXEL_MM / in_plane[0])),
        max(1, round(_AORTA_PIXEL_MM / in_plane[1])),
    )
    pixel = (in_plane[0] * factor[0], in_plane[1] * factor[1])
    grow = (
        math.ceil(_AORTA_MARGIN_MM / in_plane[0]),
        math.ceil(_AORTA_MARGIN_MM / in_plane[1]),
    )
    searched = [int(k) for k in _spread(np.asarray(sorted(boxes), dtype=int), _AORTA_SLICES)]
    detections: list[tuple[int, float, float, float, float]] = []  # slice, x, y, d, core HU
    for k in searched:
        box = boxes[k]
        shape = mask.shape[:2]
        rows = slice(max(box[0].start - grow[0], 0), min(box[0].stop + grow[0], shape[0]))
        cols = slice(max(box[1].start - grow[1], 0), min(box[1].stop + grow[1], shape[1]))
        # Whole blocks only.
        rows = slice(rows.start, rows.start + (rows.stop - rows.start) // factor[0] * factor[0])
        cols = slice(cols.start, cols.start + (cols.stop - cols.start) // factor[1] * factor[1])
        if rows.stop - rows.start < factor[0] * 4 or cols.stop - cols.start < factor[1] * 4:
            continue
        crop = np.asarray(volume[rows, cols, k], dtype=np.float32)
        _check_finite(crop, k)
        small = _block_mean(crop, factor)
        liver = _block_mean(mask[rows, cols, k].astype(np.float32), factor) >= 0.5
        liver = _fill_holes(liver)
        smooth = ndimage.gaussian_filter(
            small, (_AORTA_SMOOTHING_MM / pixel[0], _AORTA_SMOOTHING_MM / pixel[1]), mode="nearest"
        )
        for x, y, diameter, core in _slice_candidates(smooth, liver, pixel):
            detections.append((k, x, y, diameter, core))
    return _track(detections, len(searched))


def _disc(radius_mm: float, pixel: tuple[float, float]) -> np.ndarray:
    """A disc footprint of `radius_mm` on a grid of `pixel` mm (at least the centre pixel)."""
    radius = (radius_mm / pixel[0], radius_mm / pixel[1])
    reach = (int(radius[0]), int(radius[1]))
    rows, cols = np.ogrid[-reach[0] : reach[0] + 1, -reach[1] : reach[1] + 1]
    return (rows / max(radius[0], 1.0)) ** 2 + (cols / max(radius[1], 1.0)) ** 2 <= 1


def _enclosed_by_bone(
    blob: np.ndarray, box: tuple[slice, slice], bone: np.ndarray, pixel: tuple[float, float]
) -> bool:
    """Whether most of a ring 2-6 mm outside `blob` (placed at `box`) is bone."""
    pad = (math.ceil(_RING_MM / pixel[0]), math.ceil(_RING_MM / pixel[1]))
    rows = slice(max(box[0].start - pad[0], 0), min(box[0].stop + pad[0], bone.shape[0]))
    cols = slice(max(box[1].start - pad[1], 0), min(box[1].stop + pad[1], bone.shape[1]))
    inside = np.zeros((rows.stop - rows.start, cols.stop - cols.start), dtype=bool)
    inside[
        box[0].start - rows.start : box[0].stop - rows.start,
        box[1].start - cols.start : box[1].stop - cols.start,
    ] = blob
    ring = ndimage.binary_dilation(inside, structure=_disc(_RING_MM, pixel)) & ~inside
    if not ring.any():
        return False
    return bool(bone[rows, cols][ring].mean() > _MAX_RING_BONE_SHARE)


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    """2-D hole filling by labelling the background (faster than iterated dilation)."""
    labels, count = ndimage.label(~mask)
    if count == 0:
        return mask
    border = np.zeros(count + 1, dtype=bool)
    for edge in (labels[0], labels[-1], labels[:, 0], labels[:, -1]):
        border[edge] = True
    border[0] = True
    return np.asarray(mask | ~border[labels])


def _block_mean(array: np.ndarray, factor: tuple[int, int]) -> np.ndarray:
    if factor == (1, 1):
        return array
    rows, cols = array.shape[0] // factor[0], array.shape[1] // factor[1]
    blocks = array.reshape(rows, factor[0], cols, factor[1])
    total = blocks[:, 0, :, :].sum(axis=-1, dtype=np.float32)
    for offset in range(1, factor[0]):
        total += blocks[:, offset, :, :].sum(axis=-1, dtype=np.float32)
    return np.asarray(total * np.float32(1.0 / (factor[0] * factor[1])))


def _slice_candidates(
    smooth: np.ndarray, liver: np.ndarray, pixel: tuple[float, float]
) -> list[tuple[float, float, float, float]]:
    """Round homogeneous bright blobs in one slice: (x mm, y mm, diameter mm, core HU).

    Each place is reported once, at the lowest threshold where it passes (its fullest extent).
    """
    pixel_area = pixel[0] * pixel[1]
    area_range = (
        math.pi / 4 * _AORTA_DIAMETER_MM[0] ** 2 / pixel_area,
        math.pi / 4 * _AORTA_DIAMETER_MM[1] ** 2 / pixel_area,
    )
    disc = _disc(_AORTA_OPENING_MM, pixel)
    # A flat opening commutes with thresholding, so one grey opening serves every threshold:
    # it cuts bridges to touching structures (the vertebra, the crus) and thin protrusions.
    opened = ndimage.grey_opening(smooth, footprint=disc, mode="nearest")
    # Cortical bone and 2 mm round it never belong to a blob: the aorta abuts the vertebra.
    bone = smooth > _BONE_HU
    bone_zone = ndimage.maximum_filter(bone, footprint=_disc(_BONE_MARGIN_MM, pixel))
    found: list[tuple[float, float, float, float]] = []
    for threshold in _AORTA_THRESHOLDS_HU:
        labels, count = ndimage.label((opened > threshold) & ~bone_zone)
        if count == 0:
            continue
        sizes = np.bincount(labels.ravel(), minlength=count + 1)
        sizes[0] = 0
        # Holes are filled below (a calcified wall round a darker lumen is one blob), so a
        # ring may start smaller than the aorta's area.
        chosen = np.flatnonzero((sizes >= area_range[0] / 4) & (sizes <= area_range[1]))
        objects = ndimage.find_objects(labels)
        for label in chosen:
            box = objects[label - 1]
            assert box is not None
            height = (box[0].stop - box[0].start) * pixel[0]
            width = (box[1].stop - box[1].start) * pixel[1]
            if min(height, width) < 0.8 * _AORTA_DIAMETER_MM[0]:
                continue
            blob = _fill_holes(labels[box] == label)
            area = int(blob.sum())
            if not area_range[0] <= area <= area_range[1]:
                continue
            rows, cols = np.nonzero(blob)
            rows = rows + box[0].start
            cols = cols + box[1].start
            x = float(rows.mean()) * pixel[0]
            y = float(cols.mean()) * pixel[1]
            if any(math.hypot(x - fx, y - fy) < fd / 2 for fx, fy, fd, _ in found):
                continue
            if liver[round(x / pixel[0]), round(y / pixel[1])]:
                continue
            area_mm2 = float(area) * pixel_area
            distance = np.hypot(rows * pixel[0] - x, cols * pixel[1] - y)
            reach = float(distance.max()) + 0.5 * math.sqrt(pixel_area)
            if area_mm2 < _AORTA_MIN_CIRCULARITY * math.pi * reach * reach:
                continue
            diameter = 2.0 * math.sqrt(area_mm2 / math.pi)
            core = smooth[rows, cols][distance <= diameter / 4]
            if core.size == 0:
                core = smooth[rows, cols]
            # Cancellous bone is enclosed by cortex; the aorta touches bone on one side only.
            if _enclosed_by_bone(blob, box, bone, pixel):
                continue
            core_hu = float(np.median(core))
            if core_hu > _AORTA_MAX_HU or float(core.std()) > _AORTA_MAX_CORE_STD_HU:
                continue
            found.append((x, y, diameter, core_hu))
    return found


def _track(detections: list[tuple[int, float, float, float, float]], searched: int) -> float:
    """Link detections across slices; the aorta is the longest track (ties: the widest)."""
    tracks: list[list[tuple[int, float, float, float, float]]] = []
    for detection in sorted(detections):
        k, x, y = detection[:3]
        best = None
        for track in tracks:
            last = track[-1]
            if last[0] != k and math.hypot(last[1] - x, last[2] - y) <= _AORTA_TRACK_MM:
                best = track
                break
        if best is None:
            tracks.append([detection])
        else:
            best.append(detection)
    needed = max(2, math.ceil(_AORTA_MIN_SUPPORT * searched))
    scored = [
        (len({d[0] for d in track}), float(np.median([d[3] for d in track])), track)
        for track in tracks
    ]
    scored = [entry for entry in scored if entry[0] >= needed]
    if not scored:
        return math.nan
    _support, _, track = max(scored, key=lambda entry: (entry[0], entry[1]))
    return float(np.median([d[4] for d in track]))


def _decide(
    liver: float, vessel: float, aorta: float, enhanced: bool, margin: float
) -> tuple[str, str]:
    """The phase rule of :func:`estimate_phase` (its Notes), with a one-sentence reason."""
    values = f"liver {liver:.0f} HU, vessels {vessel:.0f} HU"
    if not math.isnan(aorta):
        values += f", aorta {aorta:.0f} HU"
        if (
            aorta >= _ARTERIAL_MIN_AORTA_HU
            and aorta - liver >= _ARTERIAL_MIN_AORTA_OVER_LIVER_HU
            and aorta - vessel >= _ARTERIAL_MIN_AORTA_OVER_VESSELS_HU
        ):
            return "arterial", (
                f"The aorta is bright and far above a barely enhanced liver and its vessels "
                f"({values}), as in the late arterial phase."
            )
        if (
            aorta - liver < _DELAYED_MAX_AORTA_OVER_LIVER_HU
            and vessel - liver < _DELAYED_MAX_VESSELS_OVER_LIVER_HU
        ):
            return "delayed", (
                f"Aorta and liver vessels lie within 35 HU of an enhanced liver ({values}), "
                f"as at equilibrium in the delayed phase."
            )
        return "portal", (
            f"The liver is enhanced and its vessels are about as bright as the aorta "
            f"({values}), as in the portal venous phase."
        )
    if not enhanced:
        if liver < _ENHANCED_LIVER_MIN_HU:
            return "non_contrast", (
                f"No enhanced aorta was found and the liver vessels are no brighter than the "
                f"parenchyma's noise allows (+{margin:.0f} HU; {values}), as without contrast."
            )
        return "delayed", (
            f"No aorta was found and the vessels are not brighter than the liver, but the liver "
            f"is enhanced ({values}), as at equilibrium; low confidence."
        )
    if liver >= _PORTAL_MIN_LIVER_HU:
        return "portal", (
            f"No aorta was found, but the liver and its vessels are enhanced ({values}), as in "
            f"the portal venous phase."
        )
    return "arterial", (
        f"No aorta was found; the vessels are enhanced but the liver barely ({values}), as in "
        f"the arterial phase; low confidence."
    )
