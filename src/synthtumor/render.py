"""Drawing one tumour into a scan: the stages of the paper run on the box around the tumour."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from synthtumor._arrays import Box, Spacing, Voxel, box_slices, cast_like, triple
from synthtumor._validation import check_finite
from synthtumor.capsule import capsule_increment
from synthtumor.mass_effect import (
    push_tissue,
    pushes_visibly,
    radial_scale,
    radial_scale_at,
)
from synthtumor.params import (
    TumorParams,
    TumorSpec,
    blur_reach_mm,
    edge_sigmas_mm,
    tumor_half_extent_mm,
)
from synthtumor.postprocess import blend, blend_keeping_noise
from synthtumor.shape import (
    DISPLACEMENT_CLIP,
    average_subdivisions,
    blur_mask,
    elastic_controls,
    elastic_displacement,
    offsets_mm,
    squared_ellipsoid_radius,
)
from synthtumor.texture import gaussian_texture

__all__ = ["render_tumor", "tumor_box"]

Blocked = Callable[[Box], np.ndarray]
Axes = tuple[np.ndarray, np.ndarray, np.ndarray]
Extent = tuple[Voxel, Voxel]
"""A voxel box as its ``(lower, upper)`` corners."""

SHAPE_GRID_MM = 1.0
"""Tumour shapes are drawn on a grid no coarser than this, then averaged into the voxels."""

_COARSE_STRIDE = 2
_COARSE_FROM_VOXELS = 24
# Boxes up to this many shape-grid points get their mask at full resolution straight away
# (cheaper than a coarse scan followed by the fine mask on the extent it finds).
_FINE_SCAN_POINTS = 32**3


def tumor_box(spec: TumorSpec, params: TumorParams) -> Extent:
    """The ``(lower, upper)`` voxel box outside which a tumour of `params` changes nothing.

    The box is clipped to ``params.shape``; it depends on the tumour's numbers and on what its
    tumours share (the spacing, the scanner's blur).

    Parameters
    ----------
    spec : TumorSpec
        One of ``params.tumors`` (or a variant of one).
    params : TumorParams
        The params it belongs to.

    Returns
    -------
    tuple of 2 tuples of 3 int
        The box's lower corner (inclusive) and upper corner (exclusive), in voxel indices.

    Examples
    --------
    >>> from synthtumor.params import TumorParams, TumorSpec
    >>> spec = TumorSpec("tiny", (50, 50, 50), True, 4.0, (4.0, 4.0, 4.0), 0.0, 0.0, 40.0, 10.0,
    ...                  1.3, 0.6, 1.3, 0.0, 0.8, 0.0, 0)
    >>> params = TumorParams((100, 100, 100), (1.0, 1.0, 1.0), "tiny", (spec,), 100.0, 100.0,
    ...                      15.0, 115.0, 0.9)
    >>> tumor_box(spec, params)
    ((42, 42, 42), (59, 59, 59))
    >>> from dataclasses import replace
    >>> tumor_box(spec, replace(params, scanner_blur=True))  # the PSF widens the edge
    ((41, 41, 41), (60, 60, 60))
    """
    if not isinstance(params, TumorParams):
        raise TypeError(
            f"params must be the TumorParams the tumour belongs to, got {type(params).__name__} "
            "(tumor_box(spec, spacing, shape) became tumor_box(spec, params) with format 4)"
        )
    lower, upper = [], []
    for center, half_voxels, size in zip(
        spec.center_voxel, _half_box_voxels(spec, params), params.shape, strict=True
    ):
        lower.append(max(center - half_voxels, 0))
        upper.append(min(center + half_voxels + 1, size))
    return triple(lower), triple(upper)


def _half_box_voxels(
    spec: TumorSpec, params: TumorParams, *, always_capsule: bool = False
) -> tuple[int, ...]:
    """Half-size in voxels of the tumour's box before it is clipped to the volume."""
    half_extent = tumor_half_extent_mm(spec, params.scanner_blur_mm, always_capsule=always_capsule)
    return tuple(
        math.ceil(half_mm / voxel_mm) + 1
        for half_mm, voxel_mm in zip(half_extent, params.spacing, strict=True)
    )


def _texture_half_voxels(spec: TumorSpec, params: TumorParams) -> tuple[int, ...]:
    """Half-size in voxels of a box certain to hold the tumour's footprint, from the params.

    The deformed ellipsoid reaches ``semi + DISPLACEMENT_CLIP * sigma_e``; drawn in the mass
    effect's warped frame it reaches further, by at most ``1 / s`` where ``s`` is eq. 5's radial
    scale at that reach (the scale grows with the distance, so this bounds it); then the blurs
    reach 3 sigma and the footprint search adds up to 4 voxels of rounding and sampling gap.
    The capsule's reach counts whether or not the tumour has one, so that its texture does not
    depend on that.
    """
    spacing = params.spacing
    box = _half_box_voxels(spec, params, always_capsule=True)
    scale_at_edge = 1.0
    if pushes_visibly(spec, spacing):
        reach = min(
            1.0 + DISPLACEMENT_CLIP * spec.deformation_mm / semi for semi in spec.semi_axes_mm
        )
        scale_at_edge = radial_scale_at(
            reach,
            radius_factor=spec.mass_effect_radius_factor,
            intensity=spec.mass_effect_intensity,
        )
        if scale_at_edge <= 0.0:
            return box
    return tuple(
        min(
            math.ceil(
                ((semi + DISPLACEMENT_CLIP * spec.deformation_mm) / scale_at_edge + blur_mm)
                / voxel_mm
            )
            + 4,
            half,
        )
        for semi, voxel_mm, half, blur_mm in zip(
            spec.semi_axes_mm,
            spacing,
            box,
            blur_reach_mm(spec, params.scanner_blur_mm, always_capsule=True),
            strict=True,
        )
    )


def _tumor_texture(
    spec: TumorSpec, params: TumorParams, extent: Extent, rng: np.random.Generator
) -> np.ndarray:
    """The tumour's texture on `extent`, cut from a field anchored on the tumour itself.

    The random field covers a box around the tumour's centre whose size follows from the params
    alone (:func:`_texture_half_voxels`), so its value at a voxel depends only on the params:
    not on how far the footprint search reached, nor on whether the volume's border cuts it.
    """
    half = _texture_half_voxels(spec, params)
    field_shape = triple(2 * h + 1 for h in half)
    window = triple(
        slice(a - (center - h), b - (center - h))
        for a, b, center, h in zip(*extent, spec.center_voxel, half, strict=True)
    )
    return gaussian_texture(
        field_shape,
        spacing=params.spacing,
        mean_hu=spec.texture_mean_hu,
        std_hu=spec.texture_std_hu,
        scale=spec.texture_scale,
        blur_mm=spec.texture_blur_mm,
        window=window,
        rng=rng,
    )


def _subdivisions(spacing: Spacing) -> Voxel:
    """Parts per voxel that bring each axis to at most ``SHAPE_GRID_MM``."""
    return triple(max(1, math.ceil(voxel_mm / SHAPE_GRID_MM - 1e-6)) for voxel_mm in spacing)


def _box_axes(
    spec: TumorSpec, spacing: Spacing, lower: Voxel, upper: Voxel, subdivisions: Voxel = (1, 1, 1)
) -> Axes:
    return offsets_mm(lower, upper, spec.center_voxel, spacing, subdivisions=subdivisions)


def _tumor_mask(
    spec: TumorSpec, axes: Axes, controls: np.ndarray | None, spacing: Spacing
) -> np.ndarray:
    """t' on the grid of `axes`: deformed ellipsoid in the mass effect's warped frame."""
    return (_squared_radius(spec, axes, controls, spacing) <= 1.0).astype(np.float32)


def _squared_radius(
    spec: TumorSpec, axes: Axes, controls: np.ndarray | None, spacing: Spacing
) -> np.ndarray:
    """The deformed ellipsoid's squared normalised radius on `axes` (1 on the tumour's edge)."""
    displacement = (
        None if controls is None else elastic_displacement(axes, spec.semi_axes_mm, controls)
    )
    scale = None
    if pushes_visibly(spec, spacing):
        scale = radial_scale(
            axes,
            spec.semi_axes_mm,
            radius_factor=spec.mass_effect_radius_factor,
            intensity=spec.mass_effect_intensity,
        )
    return squared_ellipsoid_radius(axes, spec.semi_axes_mm, displacement, radial_scale=scale)


def _tumor_extent(
    spec: TumorSpec, params: TumorParams, lower: Voxel, upper: Voxel, controls: np.ndarray | None
) -> tuple[Voxel, Voxel, np.ndarray | None] | None:
    """Where the blurred tumour and its capsule can be non-zero: ``(lower, upper, mask)``.

    `mask` is t' on the shape grid of that extent when it was computed on the way, else None.
    A small box gets its mask computed at full resolution and cropped. A large box is first
    scanned on a grid of every second shape-grid point, and the fine mask is built later only on
    what that scan found, grown by the stride and the blur reach. None when the tumour is empty.
    """
    spacing = params.spacing
    subdivisions = _subdivisions(spacing)
    grid_sizes = [(b - a) * k for a, b, k in zip(lower, upper, subdivisions, strict=True)]
    if math.prod(grid_sizes) <= _FINE_SCAN_POINTS:
        axes = _box_axes(spec, spacing, lower, upper, subdivisions)
        mask = _tumor_mask(spec, axes, controls, spacing)
        bounds = _reach_of(spec, params, subdivisions, mask, axes, (1, 1, 1), lower, upper)
        if bounds is None:
            return None
        extent_lower, extent_upper = bounds
        crop = tuple(
            slice((a - low) * k, (b - low) * k)
            for a, b, low, k in zip(extent_lower, extent_upper, lower, subdivisions, strict=True)
        )
        return extent_lower, extent_upper, mask[crop]
    strides = triple(_COARSE_STRIDE if n >= _COARSE_FROM_VOXELS else 1 for n in grid_sizes)
    axes = _box_axes(spec, spacing, lower, upper, subdivisions)
    # The coarse samples are placed relative to the centre, not the box's corner, so that the
    # extent found does not depend on how far the box reaches.
    coarse_axes = triple(
        axis[
            tuple(
                slice(int(np.argmin(np.abs(axis.ravel()))) % stride, None, stride)
                if a == i
                else slice(None)
                for a in range(3)
            )
        ]
        for i, (axis, stride) in enumerate(zip(axes, strides, strict=True))
    )
    coarse = _tumor_mask(spec, coarse_axes, controls, spacing)
    bounds = _reach_of(spec, params, subdivisions, coarse, coarse_axes, strides, lower, upper)
    return None if bounds is None else (*bounds, None)


def _reach_of(
    spec: TumorSpec,
    params: TumorParams,
    subdivisions: Voxel,
    mask: np.ndarray,
    axes: Axes,
    strides: Voxel,
    lower: Voxel,
    upper: Voxel,
) -> Extent | None:
    """The voxel box around a mask's samples, grown by the blur reach and the sampling gap.

    `mask` holds samples at the offsets `axes`, every `strides` shape-grid points; the box is
    clipped to ``lower:upper``. None when the mask is empty.
    """
    spacing = params.spacing
    reach_mm = blur_reach_mm(spec, params.scanner_blur_mm)
    extent_lower, extent_upper = [], []
    for axis in range(3):
        others = tuple(a for a in range(3) if a != axis)
        present = np.flatnonzero(mask.any(axis=others))
        if present.size == 0:
            return None
        first_mm = float(axes[axis].ravel()[present[0]])
        last_mm = float(axes[axis].ravel()[present[-1]])
        # One sampling step more covers both the gap between samples and the blur kernels'
        # rounding to whole grid points.
        step_mm = strides[axis] * spacing[axis] / subdivisions[axis]
        reach_voxels = (reach_mm[axis] + step_mm) / spacing[axis]
        center = spec.center_voxel[axis]
        low = math.floor(center + first_mm / spacing[axis] - reach_voxels)
        high = math.ceil(center + last_mm / spacing[axis] + reach_voxels) + 1
        extent_lower.append(max(low, lower[axis]))
        extent_upper.append(min(high, upper[axis]))
    return triple(extent_lower), triple(extent_upper)


def _tumor_weight_and_capsule(
    spec: TumorSpec,
    params: TumorParams,
    extent: Extent,
    controls: np.ndarray | None,
    mask: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """t'' and the capsule's added HU on the extent, in the scan's voxels.

    Both are computed on a grid of at most ``SHAPE_GRID_MM`` (the resolution the paper's sigmas
    were tuned at) and averaged into the scan's voxels, so that on a coarse scan the soft edge
    and the thin capsule show as partial volume instead of vanishing between voxel centres.
    `mask` is t' on that grid when already known.
    """
    spacing = params.spacing
    subdivisions = _subdivisions(spacing)
    grid_mm = triple(s / k for s, k in zip(spacing, subdivisions, strict=True))
    if mask is None:
        axes = _box_axes(spec, spacing, *extent, subdivisions)
        mask = _tumor_mask(spec, axes, controls, spacing)
    weight = blur_mask(mask, edge_sigmas_mm(spec, params.scanner_blur_mm), grid_mm)
    capsule = None
    if spec.capsule_contrast_hu > 0:
        capsule = capsule_increment(
            weight,
            band=params.capsule_band,
            blur_mm=spec.capsule_blur_mm,
            contrast_hu=spec.capsule_contrast_hu,
            spacing=grid_mm,
        )
        capsule = average_subdivisions(capsule, subdivisions)
    return average_subdivisions(weight, subdivisions), capsule


def _enhancing_periphery(
    spec: TumorSpec,
    spacing: Spacing,
    extent: Extent,
    controls: np.ndarray | None,
    texture: np.ndarray,
) -> np.ndarray | None:
    """The extra HU of an enhancing periphery (haemangioma); None for a lesion without one.

    The periphery covers the outer `fill` share of the deformed ellipsoid's normalised radius
    (so it follows the tumour's real edge), ramping in over a tenth of it; it is nodular:
    modulated by the tumour's own texture, so that brighter texture reads as brighter nodules.
    """
    if spec.periphery_hu == 0 or spec.fill <= 0:
        return None
    squared = _squared_radius(spec, _box_axes(spec, spacing, *extent), controls, spacing)
    depth = np.sqrt(squared) - np.float32(1.0 - spec.fill)
    ramp = np.clip(depth / np.float32(0.1), 0.0, 1.0)
    if spec.texture_std_hu > 0:
        nodules = np.clip(
            0.5 + (texture - spec.texture_mean_hu) / (2.0 * spec.texture_std_hu), 0.0, 1.0
        )
        ramp *= nodules
    periphery: np.ndarray = (ramp * np.float32(spec.periphery_hu)).astype(np.float32)
    return periphery


def _growth_region(
    label_box: np.ndarray, spec: TumorSpec, params: TumorParams, box: Box, blocked: Blocked | None
) -> np.ndarray:
    """Where the tumour may be drawn on its box: the organ, or beyond it when exophytic.

    An exophytic tumour may reach anything but `blocked` (the other classes of an organ map);
    with a binary mask nothing is known beyond the organ, so its whole box is open.
    """
    if not spec.exophytic:
        organ: np.ndarray = label_box != params.background_label
        return organ
    if blocked is None:
        return np.ones(label_box.shape, dtype=bool)
    return ~blocked(box)


def render_tumor(
    output: np.ndarray,
    label: np.ndarray,
    spec: TumorSpec,
    params: TumorParams,
    protected: np.ndarray | None = None,
    *,
    blocked: Blocked | None = None,
) -> None:
    """Draw one tumour into the working arrays `output` (scan) and `label`, in place.

    `protected` (boolean, the scan's shape, or None) marks voxels that must keep their value in
    both arrays: the mass effect does not push the liver into them, and since `label` holds
    background there, the tumour is not drawn there either, unless it is exophytic.
    `blocked` (optional) gives, on a box, the voxels an exophytic tumour may not reach (the other
    classes of an organ map); an exophytic tumour grows into everything else.

    The paper blends the tumour into the scan (eq. 4) and then warps image and label (eq. 5).
    Here the surrounding scan and label are warped first, and the tumour is then drawn directly
    in the warped frame: its mask is built there and blurred, which differs from blurring before
    warping by the warp's local stretch (under 10 % of sigma_c at the tumour's edge for the
    paper's I = 30), and its texture is drawn there, so the warp does not also coarsen the
    texture's grain towards the centre. Everything happens on boxes around the tumour.
    """
    spacing = params.spacing
    lower, upper = tumor_box(spec, params)
    texture_seed, deformation_seed = np.random.SeedSequence(spec.seed).spawn(2)
    controls = (
        elastic_controls(spec.deformation_mm, rng=np.random.default_rng(deformation_seed))
        if spec.deformation_mm > 0
        else None
    )
    footprint = _tumor_extent(spec, params, lower, upper, controls)
    if pushes_visibly(spec, spacing):
        push_tissue(output, label, spec, params, protected)
    if footprint is None:
        return
    extent_lower, extent_upper, mask = footprint
    extent = (extent_lower, extent_upper)
    box = box_slices(extent_lower, extent_upper)
    weight, capsule = _tumor_weight_and_capsule(spec, params, extent, controls, mask)
    liver = _growth_region(label[box], spec, params, box, blocked)
    weight *= liver
    image_box = np.asarray(output[box], dtype=np.float32)
    check_finite(image_box, name="image", where=f"around the tumour at {spec.center_voxel}")
    texture = _tumor_texture(spec, params, extent, np.random.default_rng(texture_seed))
    if params.noise_lowpass_mm > 0:
        periphery = _enhancing_periphery(spec, spacing, extent, controls, texture)
        if periphery is not None:
            texture += periphery
        rendered = blend_keeping_noise(
            image_box,
            texture,
            weight,
            inside=liver,
            lowpass_voxels=triple(params.noise_lowpass_mm / s for s in spacing),
        )
    else:
        rendered = blend(image_box, texture, weight)
    if capsule is not None:
        capsule *= liver
        rendered += capsule
    output[box] = cast_like(rendered, output.dtype)
    label[box][weight >= params.label_threshold] = params.tumor_label
