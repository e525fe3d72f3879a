"""Mass effect (paper eq. 5): its radial scale, the test of whether it shows, and the warp.

Eq. 5 pushes tissue away from a tumour's centre: a voxel at normalised distance gamma takes
its content from ``gamma' = (1 - (1 - gamma / gamma_max)^2 I / 100) gamma``. Two thresholds
decide what is computed, both in voxels of the finest axis and both about speed, not looks:

- :data:`PUSH_SKIP_VOXELS` (the visibility test, :func:`pushes_visibly`): a tumour whose push
  moves nothing outside it by this much is not warped at all;
- :data:`MOVE_MIN_VOXELS`: within a tumour that is warped, voxels that would move by less than
  this keep their value.

:func:`push_tissue` applies the warp to a scan and its label around one tumour:
:func:`warp_linear` resamples the scan trilinearly, :func:`warp_nearest` the label.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from synthtumor._arrays import Box, box_slices, cast_like, triple
from synthtumor._validation import check_finite
from synthtumor.params import TumorParams, TumorSpec
from synthtumor.shape import offsets_mm

__all__ = [
    "MOVE_MIN_VOXELS",
    "PUSH_SKIP_VOXELS",
    "MassEffect",
    "mass_effect",
    "push_tissue",
    "pushes_visibly",
    "radial_scale",
    "radial_scale_at",
    "warp_linear",
    "warp_nearest",
]

PUSH_SKIP_VOXELS = 0.2
"""Mass-effect pushes that move nothing outside the tumour by this many voxels are skipped."""

Point = tuple[int, int, int]

MOVE_MIN_VOXELS = 0.01
"""Voxels of a warped box that would move by less than this many voxels keep their value."""


class MassEffect(NamedTuple):
    """The local scaling warp of one tumour (paper eq. 5), on its box.

    Attributes
    ----------
    flat_index : numpy.ndarray
        Flat (C-order) box indices of the voxels that move (gamma < gamma_max).
    scale : numpy.ndarray
        ``gamma' / gamma`` of those voxels: each takes its content from the point
        ``centre + scale * (voxel - centre)``.
    gamma : numpy.ndarray
        Their normalised distance gamma to the centre (in semi-axes).
    """

    flat_index: np.ndarray
    scale: np.ndarray
    gamma: np.ndarray

    def source(self, shape: tuple[int, ...], center_in_box: tuple[int, ...]) -> np.ndarray:
        """``(3, n)`` float32 box-index coordinates each moving voxel samples from."""
        plane = shape[1] * shape[2]
        first, rest = np.divmod(self.flat_index, plane)
        index = (first, *np.divmod(rest, shape[2]))
        source = np.empty((3, self.flat_index.size), dtype=np.float32)
        for axis in range(3):
            np.subtract(index[axis], center_in_box[axis], out=source[axis], casting="unsafe")
            source[axis] *= self.scale
            source[axis] += np.float32(center_in_box[axis])
        return source


def radial_scale(
    axes_mm: tuple[np.ndarray, np.ndarray, np.ndarray],
    semi_axes_mm: tuple[float, float, float],
    *,
    radius_factor: float,
    intensity: float,
) -> np.ndarray:
    """``gamma' / gamma`` of eq. 5 at every voxel of a box (1 outside gamma_max), float32.

    Examples
    --------
    >>> from synthtumor.shape import offsets_mm
    >>> axes = offsets_mm((0, 0, 0), (9, 9, 9), (4, 4, 4), (1.0, 1.0, 1.0))
    >>> scale = radial_scale(axes, (3.0, 3.0, 3.0), radius_factor=1.3, intensity=30.0)
    >>> round(float(scale[4, 4, 5]), 3), float(scale[0, 0, 0])
    (0.834, 1.0)
    """
    squared = [
        np.square(axis * np.float32(1.0 / (semi * radius_factor)))
        for axis, semi in zip(axes_mm, semi_axes_mm, strict=True)
    ]
    scale = squared[0] + squared[1] + squared[2]
    np.sqrt(scale, out=scale)
    np.subtract(np.float32(1.0), scale, out=scale)
    np.maximum(scale, np.float32(0.0), out=scale)
    np.square(scale, out=scale)
    scale *= np.float32(-intensity / 100.0)
    scale += np.float32(1.0)
    return scale


def mass_effect(
    axes_mm: tuple[np.ndarray, np.ndarray, np.ndarray],
    semi_axes_mm: tuple[float, float, float],
    *,
    radius_factor: float,
    intensity: float,
) -> MassEffect:
    """The local scaling warp of paper eq. 5 on a tumour's box.

    A voxel at normalised distance gamma from the centre takes its content from the distance
    ``gamma' = (1 - (1 - gamma / gamma_max)^2 * I / 100) * gamma`` inside ``gamma < gamma_max``:
    tissue is pushed outward, most strongly near the centre, and nothing moves at gamma_max.
    Distances are in units of the ellipsoid's semi-axes, so ``gamma_max = radius_factor``
    follows the tumour's own shape (for a sphere of radius r this is the paper's
    ``gamma_max = 1.3 r``).

    Parameters
    ----------
    axes_mm : three arrays
        Voxel offsets from the centre per axis (see :func:`synthtumor.shape.offsets_mm`).
    semi_axes_mm : tuple of 3 float
        The ellipsoid's semi-axes.
    radius_factor : float
        gamma_max in units of the semi-axes (1.3 in the paper).
    intensity : float
        I in [0, 100] (30 in the paper).

    Returns
    -------
    MassEffect

    Examples
    --------
    >>> from synthtumor.shape import offsets_mm
    >>> axes = offsets_mm((0, 0, 0), (9, 9, 9), (4, 4, 4), (1.0, 1.0, 1.0))
    >>> warp = mass_effect(axes, (3.0, 3.0, 3.0), radius_factor=1.3, intensity=30.0)
    >>> warp.flat_index.size, round(float(warp.scale.min()), 2)
    (251, 0.7)
    """
    squared = [
        np.square(axis * np.float32(1.0 / semi))
        for axis, semi in zip(axes_mm, semi_axes_mm, strict=False)
    ]
    gamma_squared = squared[0] + squared[1]
    gamma_squared = gamma_squared + squared[2]
    flat_index = np.flatnonzero(gamma_squared < np.float32(radius_factor**2))
    gamma = np.sqrt(gamma_squared.ravel()[flat_index])
    scale = 1.0 - np.square(1.0 - gamma / np.float32(radius_factor)) * np.float32(intensity / 100)
    return MassEffect(flat_index, scale.astype(np.float32), gamma)


def warp_linear(values: np.ndarray, source: np.ndarray) -> np.ndarray:
    """Trilinear float32 samples of a C-contiguous 3-D array at ``(3, n)`` `source` coordinates.

    Coordinates are clipped to the array, so the values are those of
    ``scipy.ndimage.map_coordinates(values, source, order=1, mode="nearest")`` up to float32
    rounding (``tests/test_mass_effect.py``). On the mass effect's boxes it is 1.1-2 times
    faster than that call for small and medium tumours and about as fast for large ones
    (``benchmarks/bench_warp.py``); SciPy interpolates in float64, so switching would change
    the output in its last bits.

    Examples
    --------
    >>> values = np.arange(8, dtype=np.float32).reshape(2, 2, 2)
    >>> warp_linear(values, np.array([[0.5], [0.5], [0.5]]))
    array([3.5], dtype=float32)
    """
    shape = values.shape
    base = np.floor(source).astype(np.intp)
    for axis in range(3):
        np.clip(base[axis], 0, max(shape[axis] - 2, 0), out=base[axis])
    fraction = np.clip(source - base, 0.0, 1.0).astype(np.float32, copy=False)
    stride_0 = shape[1] * shape[2] if shape[0] > 1 else 0
    stride_1 = shape[2] if shape[1] > 1 else 0
    stride_2 = 1 if shape[2] > 1 else 0
    # Native-width indices: NumPy converts narrower ones on every gather.
    corner = base[0] * (shape[1] * shape[2])
    corner += base[1] * shape[2]
    corner += base[2]
    flat = np.ascontiguousarray(values, dtype=np.float32).ravel()
    result: np.ndarray | None = None
    for step_0, weight_0 in ((0, 1.0 - fraction[0]), (stride_0, fraction[0])):
        plane = None
        for step_1, weight_1 in ((0, 1.0 - fraction[1]), (stride_1, fraction[1])):
            row = corner + (step_0 + step_1)
            low = flat.take(row)
            line = low + (flat.take(row + stride_2) - low) * fraction[2]
            line *= weight_1
            plane = line if plane is None else plane + line
        plane *= weight_0
        result = plane if result is None else result + plane
    assert result is not None  # the loop ran twice
    return result


def warp_nearest(values: np.ndarray, source: np.ndarray) -> np.ndarray:
    """Nearest-neighbour samples of a C-contiguous label map at in-bounds `source` coordinates.

    Examples
    --------
    >>> labels = np.arange(8, dtype=np.uint8).reshape(2, 2, 2)
    >>> warp_nearest(labels, np.array([[0.6], [0.2], [0.9]]))
    array([5], dtype=uint8)
    """
    index = np.floor(source + np.float32(0.5)).astype(np.intp)
    flat = index[0] * (values.shape[1] * values.shape[2])
    flat += index[1] * values.shape[2]
    flat += index[2]
    sampled: np.ndarray = values.ravel().take(flat)
    return sampled


def radial_scale_at(gamma: float, *, radius_factor: float, intensity: float) -> float:
    """``gamma' / gamma`` of eq. 5 at one normalised distance `gamma` (1 from gamma_max on).

    Examples
    --------
    >>> radial_scale_at(1.0, radius_factor=1.3, intensity=30.0) < 1.0
    True
    >>> radial_scale_at(1.3, radius_factor=1.3, intensity=30.0)
    1.0
    """
    gap = max(0.0, 1.0 - gamma / radius_factor)
    return 1.0 - intensity / 100.0 * gap**2


def pushes_visibly(spec: TumorSpec, spacing: tuple[float, float, float]) -> bool:
    """Whether the mass effect moves anything outside the tumour by ``PUSH_SKIP_VOXELS`` or more.

    Eq. 5 moves tissue at normalised distance gamma by ``gamma (1 - gamma/gamma_max)^2 I/100``
    semi-axes. Outside the tumour (gamma >= 1) that peaks at gamma = max(1, gamma_max / 3): with
    the paper's values, 1.6 % of the largest semi-axis. At 1 mm every tiny and small tumour
    (semi-axes up to 10 mm) pushes by less than a fifth of a voxel (0.16 mm at most), and the
    warp (and its cost) is skipped; inside, the texture covers it. Medium and large tumours push.
    """
    factor = spec.mass_effect_radius_factor
    if spec.mass_effect_intensity <= 0 or factor <= 1.0:
        return False
    gamma = max(1.0, factor / 3.0)
    shift_mm = gamma * (1.0 - gamma / factor) ** 2 * spec.mass_effect_intensity / 100.0
    return shift_mm * max(spec.semi_axes_mm) >= PUSH_SKIP_VOXELS * min(spacing)


def push_tissue(
    output: np.ndarray,
    label: np.ndarray,
    spec: TumorSpec,
    params: TumorParams,
    protected: np.ndarray | None = None,
) -> None:
    """Mass effect (eq. 5) on the scan and label around the tumour, in place.

    Voxels where `protected` is True (other organs) are not moved into, nor is anything pulled
    out of them: they keep their value. With ``params.push == "organ"`` only the organ's own
    voxels move, so its outline stays.
    """
    lower, upper = _push_box(spec, params.spacing, output.shape)
    box = box_slices(lower, upper)
    box_shape = tuple(b - a for a, b in zip(lower, upper, strict=True))
    center_in_box = tuple(c - a for c, a in zip(spec.center_voxel, lower, strict=True))
    warp = mass_effect(
        offsets_mm(lower, upper, spec.center_voxel, params.spacing),
        spec.semi_axes_mm,
        radius_factor=spec.mass_effect_radius_factor,
        intensity=spec.mass_effect_intensity,
    )
    moving = _moves_enough(warp, spec, params.spacing)
    if protected is not None:
        moving &= ~protected[box].ravel()[warp.flat_index]
    if params.push == "organ":
        moving &= label[box].ravel()[warp.flat_index] != params.background_label
    warp = _subset(warp, moving)
    if warp.flat_index.size == 0:
        return
    source = warp.source(box_shape, center_in_box)
    if protected is not None:
        pulled = ~protected[box][_nearest_index(source, box_shape)]
        if not pulled.all():
            warp, source = _subset(warp, pulled), source[:, pulled]
            if warp.flat_index.size == 0:
                return
    _warp_image(output, box, warp, source, spec)
    _warp_label(label, box, warp, source)


def _push_box(
    spec: TumorSpec, spacing: tuple[float, float, float], shape: tuple[int, ...]
) -> tuple[Point, Point]:
    """The voxel box ``(lower, upper)`` of gamma < gamma_max, clipped to the volume."""
    reach = [
        math.ceil(spec.mass_effect_radius_factor * semi / voxel_mm)
        for semi, voxel_mm in zip(spec.semi_axes_mm, spacing, strict=True)
    ]
    lower = triple(max(c - r, 0) for c, r in zip(spec.center_voxel, reach, strict=True))
    upper = triple(
        min(c + r + 1, n) for c, r, n in zip(spec.center_voxel, reach, shape, strict=True)
    )
    return lower, upper


def _moves_enough(
    warp: MassEffect, spec: TumorSpec, spacing: tuple[float, float, float]
) -> np.ndarray:
    """Which of the warp's voxels move by at least :data:`MOVE_MIN_VOXELS` (a bound on it)."""
    largest_shift_mm = (1.0 - warp.scale) * warp.gamma * max(spec.semi_axes_mm)
    moving: np.ndarray = largest_shift_mm >= MOVE_MIN_VOXELS * min(spacing)
    return moving


def _subset(warp: MassEffect, keep: np.ndarray) -> MassEffect:
    return MassEffect(warp.flat_index[keep], warp.scale[keep], warp.gamma[keep])


def _nearest_index(source: np.ndarray, box_shape: tuple[int, ...]) -> tuple[np.ndarray, ...]:
    """The box voxel nearest each `source` point, clipped to the box."""
    return tuple(
        np.clip(np.rint(axis), 0, n - 1).astype(np.intp)
        for axis, n in zip(source, box_shape, strict=True)
    )


def _warp_image(
    output: np.ndarray, box: Box, warp: MassEffect, source: np.ndarray, spec: TumorSpec
) -> None:
    # Contiguous copies of the box make the scattered reads and writes flat and cheap.
    image_box = np.array(output[box])
    moved = warp_linear(image_box, source)
    check_finite(moved, name="image", where=f"around the tumour at {spec.center_voxel}")
    image_box.ravel()[warp.flat_index] = cast_like(moved, output.dtype)
    output[box] = image_box


def _warp_label(label: np.ndarray, box: Box, warp: MassEffect, source: np.ndarray) -> None:
    """The label moves only where the moving region holds more than one class."""
    label_box = np.array(label[box])
    labels_in_region = label_box.ravel()[warp.flat_index]
    if labels_in_region.min() != labels_in_region.max():
        label_box.ravel()[warp.flat_index] = warp_nearest(label_box, source)
        label[box] = label_box
