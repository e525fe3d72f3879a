"""Procedural abdominal CT phantom with a vascularised liver.

The phantom is a synthetic CT volume in Hounsfield units (HU): a rounded body section with
subcutaneous fat, an abdominal wall, a lumbar vertebra, aorta and inferior vena cava, kidneys,
a spleen and, in the right upper abdomen, a deformed ellipsoid-like liver with noisy parenchyma
and a tree of contrast-filled vessels. It is the embedded default of the demo, a test fixture for
vessel detection and collision-free tumour placement, and a benchmark input. It is not a real
anatomy.

Geometry is defined in millimetres and sampled at voxel centres ``(index + 0.5) * spacing``, so
the same field of view and seed give the same organs and vessels at any resolution; only the
per-voxel noise depends on the grid.

Array axes follow the DICOM patient (LPS) orientation: axis 0 runs from the patient's right to
left, axis 1 from anterior to posterior and axis 2 from inferior to superior (cranio-caudal).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import SupportsFloat, TypeGuard

import numpy as np
from numpy.typing import DTypeLike
from scipy import ndimage

from synthtumor._arrays import pair, triple

__all__ = ["Phantom", "make_phantom"]

AIR_HU = -1000.0
SUBCUTANEOUS_FAT_HU = -100.0
MUSCLE_HU = 40.0
VISCERA_HU = -20.0  # bowel and mesentery, averaged
RETROPERITONEAL_FAT_HU = -90.0
CANCELLOUS_BONE_HU = 400.0
CORTICAL_BONE_HU = 700.0
INTERVERTEBRAL_DISC_HU = 90.0
CEREBROSPINAL_FLUID_HU = 10.0
KIDNEY_HU = 30.0
SPLEEN_HU = 50.0

DEFAULT_LIVER_EXTENT_MM = (160.0, 120.0, 90.0)

# Largest body section (semi-axes, mm) and its share of the in-plane field of view.
_MAX_BODY_SEMI_AXES_MM = (175.0, 135.0)
_BODY_FOV_FRACTION = (0.48, 0.42)
_BODY_SECTION_EXPONENT = 2.5  # > 2 gives the squarer section of an abdomen
# Layer thicknesses as fractions of the body's antero-posterior semi-axis.
_FAT_FRACTION = 0.09
_MUSCLE_FRACTION = 0.07
_PARASPINAL_FRACTION = 0.18
# Organs scale with the cavity up to adult sizes (semi-axes in mm, array-axis order).
_MAX_VERTEBRA_SEMI_AXES_MM = (24.0, 18.0)
_MAX_KIDNEY_SEMI_AXES_MM = (30.0, 25.0, 58.0)
_MAX_SPLEEN_SEMI_AXES_MM = (30.0, 60.0, 60.0)
# The liver may use this share of the abdominal cavity (in-plane) or field of view (axis 2).
_LIVER_FIT_FRACTION = 0.92
_CRANIAL_MARGIN_FRACTION = 0.04

_LIVER_EXPONENT = 5.0  # superellipsoid exponent: fuller than an ellipsoid, like a real liver
_LEFT_LOBE_TAPER = 0.4  # the left lobe thins to 60 % of the right lobe's height and depth
_LEFT_LOBE_START = 0.1  # where the thinning starts, in normalised left-right position
_LIVER_SURFACE_RADIUS = 1.06  # > 1: the surface bulges against its bounding box
_LIVER_BUMP_MODES = 6

_VESSEL_STEP_MM = 2.0
_VESSEL_TRUNKS = 3  # branches leaving the hilum; the rest branch off earlier vessels
_VESSEL_STOP_LEVEL = -0.06  # stop a vessel this close (in shape units) to the liver surface
_TARGET_CANDIDATES = 24
_TARGETS_PER_BRANCH = 2
_CHILD_RADIUS_RATIO = 0.85  # a branch starts thinner than its parent at the branch point
_VESSEL_WIGGLE = 0.15  # std of the random turn per step, relative to the unit direction
_VESSEL_TAPER_POWER = 0.3

_GRAIN_SIGMA_MM = 1.0
_GRAIN_MAX_SIGMA_VOXELS = 0.7
_GRAIN_MIN_SIGMA_VOXELS = 0.3
_GRAIN_BOX_MARGIN_VOXELS = 4  # keeps the edge effects of smoothing in the air
_SLAB_VOXELS = 1 << 22  # working-set size for slab-wise smoothing of the noise volume


@dataclass(frozen=True, eq=False)
class Phantom:
    """A synthetic abdominal CT volume with its liver and vessel ground truth.

    Attributes
    ----------
    image : numpy.ndarray
        CT intensities in HU, of the requested shape and dtype.
    liver_mask : numpy.ndarray
        Boolean liver mask (parenchyma and intrahepatic vessels).
    vessel_mask : numpy.ndarray
        Boolean mask of the vessels inside the liver; a subset of `liver_mask`.
    spacing : tuple of float
        Voxel spacing in mm, in array-axis order.
    """

    image: np.ndarray
    liver_mask: np.ndarray
    vessel_mask: np.ndarray
    spacing: tuple[float, float, float]

    @property
    def affine(self) -> np.ndarray:
        """A 4 x 4 NIfTI (RAS+) affine for the array's LPS axis order, e.g. for nibabel.

        Axes 0 and 1 point to the patient's left and posterior, so their RAS+ directions are
        negated: ``diag(-spacing[0], -spacing[1], spacing[2], 1)``.
        """
        return np.diag([-self.spacing[0], -self.spacing[1], self.spacing[2], 1.0])


@dataclass(frozen=True)
class _Abdomen:
    """Cross-section geometry of the body in mm, relative to the body centre."""

    center_mm: tuple[float, float]
    body_semi_axes_mm: tuple[float, float]
    subcutaneous_semi_axes_mm: tuple[float, float]
    cavity_semi_axes_mm: tuple[float, float]
    cavity_center_offset_mm: float  # along axis 1; the cavity sits anterior to the paraspinals
    vertebra_center_offset_mm: float
    vertebra_semi_axes_mm: tuple[float, float]

    @property
    def cavity_anterior_mm(self) -> float:
        return self.cavity_center_offset_mm - self.cavity_semi_axes_mm[1]

    @property
    def cavity_posterior_mm(self) -> float:
        return self.cavity_center_offset_mm + self.cavity_semi_axes_mm[1]


@dataclass(frozen=True)
class _LiverShape:
    """Implicit liver surface: a tapered superellipsoid with low-frequency bumps."""

    center_mm: np.ndarray
    semi_axes_mm: np.ndarray
    bump_amplitudes: np.ndarray  # (modes,)
    bump_frequencies: np.ndarray  # (modes, 3), radians per normalised half-extent
    bump_phases: np.ndarray  # (modes, 3)

    def level(
        self, offset0_mm: np.ndarray, offset1_mm: np.ndarray, offset2_mm: np.ndarray
    ) -> np.ndarray:
        """Negative inside the liver, zero on its surface; broadcasts like its inputs.

        Offsets are in mm from the liver box centre. The value is in units of the normalised
        half-extent, so -0.1 lies roughly a tenth of the semi-axis inside the surface.
        """
        dtype = np.result_type(offset0_mm, offset1_mm, offset2_mm, np.float32)
        normalised = [
            np.asarray(offset, dtype=dtype) / dtype.type(semi_axis)
            for offset, semi_axis in zip(
                (offset0_mm, offset1_mm, offset2_mm), self.semi_axes_mm, strict=True
            )
        ]
        u_left, u_posterior, u_superior = normalised
        # Towards the patient's left the lobe keeps its anterior and cranial surfaces but thins.
        thickness = 1 - dtype.type(_LEFT_LOBE_TAPER) * np.clip(
            (u_left - dtype.type(_LEFT_LOBE_START)) / dtype.type(1 - _LEFT_LOBE_START), 0, 1
        )
        u_posterior_tapered = (u_posterior + (1 - thickness)) / thickness
        u_superior_tapered = (u_superior - (1 - thickness)) / thickness
        exponent = dtype.type(_LIVER_EXPONENT)
        superellipsoid_radius = (
            np.abs(u_left) ** exponent
            + np.abs(u_posterior_tapered) ** exponent
            + np.abs(u_superior_tapered) ** exponent
        ) ** (1 / exponent)
        bumps = 0
        for amplitude, frequencies, phases in zip(
            self.bump_amplitudes, self.bump_frequencies, self.bump_phases, strict=True
        ):
            bumps = bumps + dtype.type(amplitude) * (
                np.sin(u_left * dtype.type(frequencies[0]) + dtype.type(phases[0]))
                * np.sin(u_posterior * dtype.type(frequencies[1]) + dtype.type(phases[1]))
                * np.sin(u_superior * dtype.type(frequencies[2]) + dtype.type(phases[2]))
            )
        inside_box = (np.abs(u_left) <= 1) & (np.abs(u_posterior) <= 1) & (np.abs(u_superior) <= 1)
        return np.where(
            inside_box, superellipsoid_radius - (dtype.type(_LIVER_SURFACE_RADIUS) + bumps), np.inf
        )


@dataclass(frozen=True)
class _Centerline:
    points_mm: np.ndarray  # (n, 3), absolute positions
    radii_mm: np.ndarray  # (n,)


def make_phantom(
    shape: tuple[int, int, int] = (160, 160, 96),
    spacing: tuple[float, float, float] = (1.5, 1.5, 2.0),
    *,
    liver_extent_mm: tuple[float, float, float] | None = None,
    parenchyma_hu: float = 60.0,
    noise_hu: float = 15.0,
    vessel_hu: float = 170.0,
    vessel_count: int = 12,
    vessel_radius_mm: tuple[float, float] = (1.5, 4.0),
    dtype: DTypeLike = np.float32,
    rng: int | np.random.Generator | None = None,
) -> Phantom:
    """Build a procedural abdominal CT phantom with a vascularised liver.

    Parameters
    ----------
    shape : tuple of 3 int, default (160, 160, 96)
        Volume shape in voxels. Axis 0 runs from the patient's right to left, axis 1 from
        anterior to posterior and axis 2 from inferior to superior.
    spacing : tuple of 3 float, default (1.5, 1.5, 2.0)
        Voxel size in mm per array axis. Anisotropic spacing is supported; the anatomy is defined
        in mm, so the same field of view gives the same organs at any resolution.
    liver_extent_mm : tuple of 3 float, optional
        Size of the liver's bounding box in mm per axis. It must fit in the abdominal cavity
        (in-plane) and the field of view (axis 2). By default about 160 x 120 x 90 mm, reduced
        where the field of view is too small.
    parenchyma_hu : float, default 60.0
        Mean liver parenchyma intensity in HU.
    noise_hu : float, default 15.0
        Standard deviation of the image noise in HU (white noise lightly smoothed into CT
        grain), added to every tissue in the body. Must be non-negative.
    vessel_hu : float, default 170.0
        Intensity of the contrast-filled vessels (and of the aorta and vena cava) in HU.
    vessel_count : int, default 12
        Number of vessel branches in the liver's vessel tree. Must be non-negative.
    vessel_radius_mm : tuple of 2 float, default (1.5, 4.0)
        Smallest and largest vessel radius in mm. Trunks at the hilum have the largest radius
        and every branch tapers to the smallest.
    dtype : numpy dtype-like, default numpy.float32
        Output dtype of `image`: a float dtype, or a signed integer dtype that can hold
        -1024..3071 (for example ``numpy.int16``), which gives rounded HU.
    rng : int, numpy.random.Generator or None
        Seed or generator for all randomness (liver shape, vessels, noise). The same seed gives
        bit-identical phantoms.

    Returns
    -------
    Phantom
        The image with its liver and intrahepatic vessel masks and the spacing.

    Raises
    ------
    ValueError
        If an argument has the wrong length or an out-of-range value, or the liver does not
        fit in the field of view.
    TypeError
        If an argument is not numeric, or `dtype` is not a numeric dtype.

    Notes
    -----
    Vessels are random walks with momentum from a hilum towards targets spread through the
    liver, rasterised as tapered tubes. Air outside the body is exactly -1000 HU; all other
    tissue carries the noise. The structures outside the liver are simple extruded or
    ellipsoidal shapes meant to give realistic surroundings, not anatomy.

    Examples
    --------
    >>> import numpy as np
    >>> from synthtumor.phantom import make_phantom
    >>> phantom = make_phantom((96, 96, 64), (2.5, 2.5, 3.0), rng=0)
    >>> phantom.image.shape, phantom.image.dtype
    ((96, 96, 64), dtype('float32'))
    >>> bool(phantom.vessel_mask.any()), bool((phantom.vessel_mask & ~phantom.liver_mask).any())
    (True, False)
    >>> parenchyma = phantom.image[phantom.liver_mask & ~phantom.vessel_mask]
    >>> round(float(parenchyma.mean()))
    60
    >>> liver_litres = float(phantom.liver_mask.sum() * np.prod(phantom.spacing)) / 1e6
    >>> 1.2 < liver_litres < 1.8
    True
    >>> bool((make_phantom(rng=1).image == make_phantom(rng=1).image).all())
    True
    """
    shape = _as_shape(shape)
    spacing = _as_positive_finite_triple("spacing", spacing, "numbers in mm")
    parenchyma_hu = _as_finite_float("parenchyma_hu", parenchyma_hu)
    vessel_hu = _as_finite_float("vessel_hu", vessel_hu)
    noise_hu = _as_finite_float("noise_hu", noise_hu)
    if noise_hu < 0:
        raise ValueError(
            f"noise_hu must be a non-negative standard deviation in HU, got {noise_hu}"
        )
    vessel_count = _as_non_negative_int("vessel_count", vessel_count)
    radius_range_mm = _as_radius_range(vessel_radius_mm)
    output_dtype = _as_hu_dtype(dtype)

    field_of_view_mm = triple(size * step for size, step in zip(shape, spacing, strict=True))
    abdomen = _abdomen_geometry(field_of_view_mm)
    max_extent_mm = _max_liver_extent_mm(abdomen, field_of_view_mm)
    if liver_extent_mm is None:
        extent_mm = triple(
            min(default, largest)
            for default, largest in zip(DEFAULT_LIVER_EXTENT_MM, max_extent_mm, strict=True)
        )
    else:
        extent_mm = _as_positive_finite_triple("liver_extent_mm", liver_extent_mm, "numbers in mm")
        if any(size > largest for size, largest in zip(extent_mm, max_extent_mm, strict=True)):
            largest_text = ", ".join(f"{size:.1f}" for size in max_extent_mm)
            raise ValueError(
                f"liver_extent_mm must fit in the abdomen of the field of view, at most "
                f"({largest_text}) mm for shape {shape} and spacing {spacing}, got {extent_mm}"
            )

    generator = np.random.default_rng(rng)
    liver_shape = _random_liver_shape(generator, abdomen, extent_mm, field_of_view_mm)
    centerlines = _vessel_tree(generator, liver_shape, vessel_count, radius_range_mm)

    cross_section_hu, body_section, cavity_section = _cross_section(abdomen, shape, spacing)
    image = np.empty(shape, dtype=np.float32)
    image[...] = cross_section_hu[:, :, None]
    _paint_spine_discs(image, abdomen, shape, spacing)
    _paint_retroperitoneal_organs(
        image, abdomen, liver_shape, cavity_section, vessel_hu, shape, spacing
    )

    liver_box = _box_slices(
        liver_shape.center_mm - liver_shape.semi_axes_mm,
        liver_shape.center_mm + liver_shape.semi_axes_mm,
        spacing,
        _whole_volume(shape),
    )
    liver_mask = np.zeros(shape, dtype=bool)
    vessel_mask = np.zeros(shape, dtype=bool)
    liver_local = _liver_mask_in_box(liver_shape, liver_box, spacing)
    # The liver stays inside the cavity and yields to the great vessels and the spine.
    liver_local &= cavity_section[liver_box[0], liver_box[1], None]
    liver_local &= ~_great_vessels_and_spine_section(abdomen, shape, spacing)[
        liver_box[0], liver_box[1], None
    ]
    vessel_local = _rasterise_tubes(centerlines, liver_box, spacing) & liver_local
    liver_mask[liver_box] = liver_local
    vessel_mask[liver_box] = vessel_local

    image_liver_box = image[liver_box]
    image_liver_box[liver_local] = parenchyma_hu
    image_liver_box[vessel_local] = vessel_hu

    if noise_hu > 0:
        # Noise only where there is tissue: the body's in-plane bounding box, which at large
        # fields of view is a fraction of the volume.
        rows, columns = _section_bounding_slices(body_section, margin=_GRAIN_BOX_MARGIN_VOXELS)
        grain = _ct_grain(
            generator, (rows.stop - rows.start, columns.stop - columns.start, shape[2]), spacing
        )
        grain *= np.float32(noise_hu)
        body_image = image[rows, columns]
        np.add(body_image, grain, out=body_image, where=body_section[rows, columns, None])
        del grain

    return Phantom(
        image=_to_hu_dtype(image, output_dtype),
        liver_mask=liver_mask,
        vessel_mask=vessel_mask,
        spacing=spacing,
    )


# --- argument validation -------------------------------------------------------------------


def _is_real_number(value: object) -> TypeGuard[SupportsFloat]:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _real_numbers(value: object, count: int, message: str) -> tuple:
    """`value` as a tuple of `count` real numbers; `message` is the error's text otherwise."""
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | np.ndarray):
        raise TypeError(message)
    values = tuple(np.asarray(value).tolist()) if isinstance(value, np.ndarray) else tuple(value)
    if len(values) != count:
        raise ValueError(message)
    if not all(_is_real_number(item) for item in values):
        raise TypeError(message)
    return values


def _as_triple(name: str, value: object, what: str) -> tuple:
    return _real_numbers(value, 3, f"{name} must be 3 {what}, got {value!r}")


def _as_shape(shape: object) -> tuple[int, int, int]:
    values = _as_triple("shape", shape, "positive integers")
    if not all(isinstance(size, numbers.Integral) and int(size) > 0 for size in values):
        raise ValueError(f"shape must be 3 positive integers, got {shape!r}")
    return triple(int(size) for size in values)


def _as_positive_finite_triple(name: str, value: object, what: str) -> tuple[float, float, float]:
    values = _as_triple(name, value, f"positive finite {what}")
    if not all(math.isfinite(item) and item > 0 for item in values):
        raise ValueError(f"{name} must be 3 positive finite {what}, got {value!r}")
    return triple(float(item) for item in values)


def _as_finite_float(name: str, value: object) -> float:
    if not _is_real_number(value):
        raise TypeError(f"{name} must be a finite number in HU, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number in HU, got {value!r}")
    return float(value)


def _as_non_negative_int(name: str, value: object) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise TypeError(f"{name} must be a non-negative integer, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def _as_radius_range(value: object) -> tuple[float, float]:
    what = "vessel_radius_mm must be (min, max) radii in mm with 0 < min <= max"
    values = _real_numbers(value, 2, f"{what}, got {value!r}")
    smallest_mm, largest_mm = (float(item) for item in values)
    if not (math.isfinite(largest_mm) and 0 < smallest_mm <= largest_mm):
        raise ValueError(f"{what}, got {value!r}")
    return smallest_mm, largest_mm


def _as_hu_dtype(dtype: DTypeLike) -> np.dtype:
    try:
        resolved = np.dtype(dtype)
    except TypeError as error:
        raise TypeError(
            f"dtype must be a numpy float or signed integer dtype, got {dtype!r}"
        ) from error
    if np.issubdtype(resolved, np.floating):
        return resolved
    if np.issubdtype(resolved, np.signedinteger):
        limits = np.iinfo(resolved)
        if limits.min <= -1024 and limits.max >= 3071:
            return resolved
        raise ValueError(
            f"dtype must hold HU values from -1024 to 3071, got {resolved} "
            f"(range {limits.min}..{limits.max}); use numpy.int16 or wider"
        )
    if np.issubdtype(resolved, np.integer):
        raise ValueError(
            f"dtype must be a float or signed integer dtype (HU are negative), got {resolved}"
        )
    raise TypeError(f"dtype must be a numpy float or signed integer dtype, got {resolved}")


# --- geometry ------------------------------------------------------------------------------


def _abdomen_geometry(field_of_view_mm: tuple[float, float, float]) -> _Abdomen:
    body_semi_axes_mm = pair(
        min(fraction * size, largest)
        for fraction, size, largest in zip(
            _BODY_FOV_FRACTION, field_of_view_mm[:2], _MAX_BODY_SEMI_AXES_MM, strict=True
        )
    )
    fat_mm = _FAT_FRACTION * body_semi_axes_mm[1]
    muscle_mm = _MUSCLE_FRACTION * body_semi_axes_mm[1]
    paraspinal_mm = _PARASPINAL_FRACTION * body_semi_axes_mm[1]
    subcutaneous_semi_axes_mm = pair(semi_axis - fat_mm for semi_axis in body_semi_axes_mm)
    wall_semi_axes_mm = tuple(semi_axis - muscle_mm for semi_axis in subcutaneous_semi_axes_mm)
    cavity_semi_axes_mm = (wall_semi_axes_mm[0], wall_semi_axes_mm[1] - paraspinal_mm / 2)
    cavity_center_offset_mm = -paraspinal_mm / 2
    vertebra_semi_axes_mm = (
        min(0.2 * cavity_semi_axes_mm[0], _MAX_VERTEBRA_SEMI_AXES_MM[0]),
        min(0.15 * cavity_semi_axes_mm[0], _MAX_VERTEBRA_SEMI_AXES_MM[1]),
    )
    # The vertebral body bulges into the retroperitoneum; its arch lies in the paraspinals.
    vertebra_center_offset_mm = (
        cavity_center_offset_mm + cavity_semi_axes_mm[1] - 0.8 * vertebra_semi_axes_mm[1]
    )
    return _Abdomen(
        center_mm=(field_of_view_mm[0] / 2, field_of_view_mm[1] / 2),
        body_semi_axes_mm=body_semi_axes_mm,
        subcutaneous_semi_axes_mm=subcutaneous_semi_axes_mm,
        cavity_semi_axes_mm=cavity_semi_axes_mm,
        cavity_center_offset_mm=cavity_center_offset_mm,
        vertebra_center_offset_mm=vertebra_center_offset_mm,
        vertebra_semi_axes_mm=vertebra_semi_axes_mm,
    )


def _max_liver_extent_mm(
    abdomen: _Abdomen, field_of_view_mm: tuple[float, float, float]
) -> tuple[float, float, float]:
    cavity_width_mm, cavity_depth_mm = (2 * semi_axis for semi_axis in abdomen.cavity_semi_axes_mm)
    cranio_caudal_mm = field_of_view_mm[2] * (1 - 2 * _CRANIAL_MARGIN_FRACTION)
    return (
        _LIVER_FIT_FRACTION * cavity_width_mm,
        _LIVER_FIT_FRACTION * cavity_depth_mm,
        cranio_caudal_mm,
    )


def _random_liver_shape(
    generator: np.random.Generator,
    abdomen: _Abdomen,
    extent_mm: tuple[float, float, float],
    field_of_view_mm: tuple[float, float, float],
) -> _LiverShape:
    semi_axes_mm = np.asarray(extent_mm, dtype=float) / 2
    center_x_mm, center_y_mm = abdomen.center_mm
    # Against the right abdominal wall, the anterior wall and under the diaphragm (top of view).
    right_edge_mm = center_x_mm - abdomen.cavity_semi_axes_mm[0] * (1 - 0.03)
    anterior_edge_mm = (
        center_y_mm + abdomen.cavity_anterior_mm + 0.03 * abdomen.cavity_semi_axes_mm[1]
    )
    cranial_edge_mm = field_of_view_mm[2] * (1 - _CRANIAL_MARGIN_FRACTION)
    center_mm = np.array(
        [
            right_edge_mm + semi_axes_mm[0],
            anterior_edge_mm + semi_axes_mm[1],
            cranial_edge_mm - semi_axes_mm[2],
        ]
    )
    amplitudes = generator.uniform(0.06, 0.12, _LIVER_BUMP_MODES)
    frequencies = generator.uniform(1.0, 3.0, (_LIVER_BUMP_MODES, 3))
    phases = generator.uniform(0.0, 2 * np.pi, (_LIVER_BUMP_MODES, 3))
    return _LiverShape(center_mm, semi_axes_mm, amplitudes, frequencies, phases)


def _voxel_centers_mm(start: int, stop: int, step_mm: float) -> np.ndarray:
    return (np.arange(start, stop, dtype=np.float64) + 0.5) * step_mm


def _whole_volume(shape: tuple[int, int, int]) -> tuple[slice, slice, slice]:
    return triple(slice(0, size) for size in shape)


def _box_slices(
    low_mm: np.ndarray,
    high_mm: np.ndarray,
    spacing: tuple[float, float, float],
    bounds: tuple[slice, slice, slice],
) -> tuple[slice, slice, slice]:
    """Slices of the voxels whose centres lie in ``[low_mm, high_mm]``, clipped to `bounds`.

    A box that misses `bounds` comes back empty (``stop <= start`` on some axis).
    """
    slices = []
    for low, high, step, bound in zip(low_mm, high_mm, spacing, bounds, strict=True):
        start = min(max(math.ceil(low / step - 0.5), bound.start), bound.stop)
        stop = max(min(math.floor(high / step - 0.5) + 1, bound.stop), start)
        slices.append(slice(start, stop))
    return triple(slices)


def _box_offsets_mm(
    box: tuple[slice, slice, slice], spacing: tuple[float, float, float], origin_mm: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Voxel-centre offsets from `origin_mm`, shaped to broadcast over the box."""
    offsets = []
    for axis, (box_slice, step, origin) in enumerate(zip(box, spacing, origin_mm, strict=True)):
        axis_offsets = (_voxel_centers_mm(box_slice.start, box_slice.stop, step) - origin).astype(
            np.float32
        )
        broadcast_shape = [1, 1, 1]
        broadcast_shape[axis] = axis_offsets.size
        offsets.append(axis_offsets.reshape(broadcast_shape))
    return tuple(offsets)


def _liver_mask_in_box(
    liver_shape: _LiverShape, box: tuple[slice, slice, slice], spacing: tuple[float, float, float]
) -> np.ndarray:
    return liver_shape.level(*_box_offsets_mm(box, spacing, liver_shape.center_mm)) <= 0


def _superellipse_inside(
    offset0_mm: np.ndarray, offset1_mm: np.ndarray, semi_axes_mm: tuple[float, float]
) -> np.ndarray:
    return (
        np.abs(offset0_mm / semi_axes_mm[0]) ** _BODY_SECTION_EXPONENT
        + np.abs(offset1_mm / semi_axes_mm[1]) ** _BODY_SECTION_EXPONENT
    ) <= 1


def _ellipse_inside(
    offset0_mm: np.ndarray,
    offset1_mm: np.ndarray,
    center_mm: tuple[float, float],
    semi_axes_mm: tuple[float, float],
) -> np.ndarray:
    return ((offset0_mm - center_mm[0]) / semi_axes_mm[0]) ** 2 + (
        (offset1_mm - center_mm[1]) / semi_axes_mm[1]
    ) ** 2 <= 1


def _section_offsets_mm(
    abdomen: _Abdomen, shape: tuple[int, int, int], spacing: tuple[float, float, float]
) -> tuple[np.ndarray, np.ndarray]:
    offset0_mm = _voxel_centers_mm(0, shape[0], spacing[0])[:, None] - abdomen.center_mm[0]
    offset1_mm = _voxel_centers_mm(0, shape[1], spacing[1])[None, :] - abdomen.center_mm[1]
    return offset0_mm, offset1_mm


def _great_vessel_geometry(abdomen: _Abdomen) -> dict[str, tuple[tuple[float, float], float]]:
    """Centre (mm, relative to the body centre) and radius of the aorta and vena cava."""
    vertebra_width_mm, vertebra_depth_mm = abdomen.vertebra_semi_axes_mm
    vertebra_front_mm = abdomen.vertebra_center_offset_mm - vertebra_depth_mm
    radius_mm = 0.55 * vertebra_width_mm
    return {
        "aorta": ((0.5 * vertebra_width_mm, vertebra_front_mm - 1.05 * radius_mm), radius_mm),
        "vena_cava": ((-1.4 * vertebra_width_mm, vertebra_front_mm - 0.6 * radius_mm), radius_mm),
    }


def _spine_sections(
    abdomen: _Abdomen, offset0_mm: np.ndarray, offset1_mm: np.ndarray
) -> dict[str, np.ndarray]:
    width_mm, depth_mm = abdomen.vertebra_semi_axes_mm
    body_center = (0.0, abdomen.vertebra_center_offset_mm)
    cortex_mm = 0.12 * depth_mm
    canal_radius_mm = 0.55 * depth_mm
    canal_center = (0.0, abdomen.vertebra_center_offset_mm + depth_mm + 0.9 * canal_radius_mm)
    arch_radius_mm = 1.45 * canal_radius_mm
    spinous_depth_mm = 0.9 * depth_mm
    spinous_center = (0.0, canal_center[1] + arch_radius_mm + 0.7 * spinous_depth_mm)
    vertebral_body = _ellipse_inside(offset0_mm, offset1_mm, body_center, (width_mm, depth_mm))
    cancellous = _ellipse_inside(
        offset0_mm, offset1_mm, body_center, (width_mm - cortex_mm, depth_mm - cortex_mm)
    )
    canal = _ellipse_inside(offset0_mm, offset1_mm, canal_center, (canal_radius_mm,) * 2)
    arch = _ellipse_inside(offset0_mm, offset1_mm, canal_center, (arch_radius_mm,) * 2)
    spinous = _ellipse_inside(
        offset0_mm, offset1_mm, spinous_center, (0.2 * width_mm, spinous_depth_mm)
    )
    return {
        "vertebral_body": vertebral_body,
        "cortical": (vertebral_body & ~cancellous) | ((arch | spinous) & ~canal),
        "cancellous": cancellous,
        "canal": canal,
    }


def _great_vessels_and_spine_section(
    abdomen: _Abdomen, shape: tuple[int, int, int], spacing: tuple[float, float, float]
) -> np.ndarray:
    offset0_mm, offset1_mm = _section_offsets_mm(abdomen, shape, spacing)
    spine = _spine_sections(abdomen, offset0_mm, offset1_mm)
    occupied = spine["cortical"] | spine["cancellous"] | spine["canal"]
    for center_mm, radius_mm in _great_vessel_geometry(abdomen).values():
        # A little clearance so the liver does not touch the vessel wall.
        occupied |= _ellipse_inside(offset0_mm, offset1_mm, center_mm, (radius_mm + 1.0,) * 2)
    return occupied


def _cross_section(
    abdomen: _Abdomen, shape: tuple[int, int, int], spacing: tuple[float, float, float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Axial section of the structures extruded along axis 2: HU, body mask, cavity mask."""
    offset0_mm, offset1_mm = _section_offsets_mm(abdomen, shape, spacing)
    body = _superellipse_inside(offset0_mm, offset1_mm, abdomen.body_semi_axes_mm)
    below_fat = _superellipse_inside(offset0_mm, offset1_mm, abdomen.subcutaneous_semi_axes_mm)
    cavity = _superellipse_inside(
        offset0_mm, offset1_mm - abdomen.cavity_center_offset_mm, abdomen.cavity_semi_axes_mm
    )
    section_hu = np.full(shape[:2], AIR_HU, dtype=np.float32)
    section_hu[body] = SUBCUTANEOUS_FAT_HU
    section_hu[below_fat] = MUSCLE_HU
    section_hu[cavity] = VISCERA_HU
    spine = _spine_sections(abdomen, offset0_mm, offset1_mm)
    section_hu[spine["cancellous"]] = CANCELLOUS_BONE_HU
    section_hu[spine["cortical"]] = CORTICAL_BONE_HU
    section_hu[spine["canal"]] = CEREBROSPINAL_FLUID_HU
    return section_hu, body, cavity


def _paint_spine_discs(
    image: np.ndarray,
    abdomen: _Abdomen,
    shape: tuple[int, int, int],
    spacing: tuple[float, float, float],
) -> None:
    """Replace bands of the vertebral body by intervertebral discs every 35 mm along axis 2."""
    level_height_mm = 35.0
    disc_height_mm = 7.0
    cranio_caudal_mm = _voxel_centers_mm(0, shape[2], spacing[2])
    disc_slices = np.flatnonzero(np.mod(cranio_caudal_mm, level_height_mm) < disc_height_mm)
    vertebral_body = _spine_sections(abdomen, *_section_offsets_mm(abdomen, shape, spacing))[
        "vertebral_body"
    ]
    rows, columns = _section_bounding_slices(vertebral_body, margin=0)
    disc_section = vertebral_body[rows, columns]
    vertebra_image = image[rows, columns]
    for slice_index in disc_slices:
        vertebra_image[:, :, slice_index][disc_section] = INTERVERTEBRAL_DISC_HU


def _ellipsoid_in_box(
    center_mm: np.ndarray,
    semi_axes_mm: np.ndarray,
    shape: tuple[int, int, int],
    spacing: tuple[float, float, float],
) -> tuple[tuple[slice, slice, slice], np.ndarray]:
    box = _box_slices(
        center_mm - semi_axes_mm, center_mm + semi_axes_mm, spacing, _whole_volume(shape)
    )
    offsets_mm = _box_offsets_mm(box, spacing, center_mm)
    first, second, third = (
        (offset / np.float32(semi_axis)) ** 2
        for offset, semi_axis in zip(offsets_mm, semi_axes_mm, strict=True)
    )
    inside: np.ndarray = first + second + third <= 1
    return box, inside


def _paint_retroperitoneal_organs(
    image: np.ndarray,
    abdomen: _Abdomen,
    liver_shape: _LiverShape,
    cavity_section: np.ndarray,
    vessel_hu: float,
    shape: tuple[int, int, int],
    spacing: tuple[float, float, float],
) -> None:
    """Paint kidneys in perirenal fat and the spleen, then the aorta and vena cava."""
    cavity_width_mm, cavity_depth_mm = abdomen.cavity_semi_axes_mm
    body_center = np.array([*abdomen.center_mm, 0.0])
    liver_bottom_mm = liver_shape.center_mm[2] - liver_shape.semi_axes_mm[2]
    kidney_semi_axes_mm = np.minimum(
        [0.25 * cavity_width_mm, 0.25 * cavity_depth_mm, 0.55 * cavity_width_mm],
        _MAX_KIDNEY_SEMI_AXES_MM,
    )
    kidney_lateral_mm = abdomen.vertebra_semi_axes_mm[0] + 1.4 * kidney_semi_axes_mm[0]
    kidney_posterior_mm = abdomen.cavity_posterior_mm - 1.2 * kidney_semi_axes_mm[1]
    # The right kidney sits just below the liver, the left one a little higher.
    for side, cranial_shift_mm in ((-1, 0.0), (1, 0.3 * kidney_semi_axes_mm[2])):
        kidney_center = body_center + np.array(
            [side * kidney_lateral_mm, kidney_posterior_mm, liver_bottom_mm + cranial_shift_mm]
        )
        for semi_axes_mm, hu in (
            (kidney_semi_axes_mm + 6.0, RETROPERITONEAL_FAT_HU),
            (kidney_semi_axes_mm, KIDNEY_HU),
        ):
            box, inside = _ellipsoid_in_box(kidney_center, semi_axes_mm, shape, spacing)
            inside &= cavity_section[box[0], box[1], None]
            image[box][inside] = hu
    spleen_semi_axes_mm = np.minimum(
        [0.2 * cavity_width_mm, 0.4 * cavity_depth_mm, 0.5 * liver_shape.semi_axes_mm[2]],
        _MAX_SPLEEN_SEMI_AXES_MM,
    )
    spleen_center = body_center + np.array(
        [
            cavity_width_mm - 1.1 * spleen_semi_axes_mm[0],
            abdomen.cavity_posterior_mm - 1.3 * spleen_semi_axes_mm[1],
            liver_shape.center_mm[2],
        ]
    )
    spleen_box, spleen = _ellipsoid_in_box(spleen_center, spleen_semi_axes_mm, shape, spacing)
    spleen &= cavity_section[spleen_box[0], spleen_box[1], None]
    image[spleen_box][spleen] = SPLEEN_HU
    offset0_mm, offset1_mm = _section_offsets_mm(abdomen, shape, spacing)
    for center_mm, radius_mm in _great_vessel_geometry(abdomen).values():
        image[_ellipse_inside(offset0_mm, offset1_mm, center_mm, (radius_mm, radius_mm))] = (
            vessel_hu
        )


# --- vessels -------------------------------------------------------------------------------


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(vector)
    return vector / norm if norm > 0 else vector


def _point_level(liver_shape: _LiverShape, points_mm: np.ndarray) -> np.ndarray:
    offsets_mm = np.atleast_2d(points_mm) - liver_shape.center_mm
    return liver_shape.level(offsets_mm[:, 0], offsets_mm[:, 1], offsets_mm[:, 2])


def _hilum_mm(liver_shape: _LiverShape) -> np.ndarray | None:
    """A point well inside the liver's inferior, posterior and medial part, where vessels enter."""
    hilum_direction = np.array([0.2, 0.25, -0.3]) * liver_shape.semi_axes_mm
    for scale in np.linspace(1.0, 0.0, 11):
        candidate = liver_shape.center_mm + scale * hilum_direction
        if _point_level(liver_shape, candidate)[0] <= -0.15:
            return candidate
    return None


def _spread_target_mm(
    generator: np.random.Generator, liver_shape: _LiverShape, vessel_points_mm: np.ndarray
) -> np.ndarray | None:
    """Of a few random points inside the liver, the one farthest from the existing vessels."""
    candidates = liver_shape.center_mm + liver_shape.semi_axes_mm * generator.uniform(
        -1.0, 1.0, (_TARGET_CANDIDATES, 3)
    )
    candidates = candidates[_point_level(liver_shape, candidates) <= -0.15]
    if candidates.size == 0:
        return None
    distances_mm = np.linalg.norm(candidates[:, None, :] - vessel_points_mm[None, :, :], axis=-1)
    return candidates[np.argmax(distances_mm.min(axis=1))]


def _walk_through(
    generator: np.random.Generator,
    liver_shape: _LiverShape,
    start_mm: np.ndarray,
    targets_mm: list[np.ndarray],
    max_steps: int,
) -> np.ndarray:
    """A smooth random path past each target in turn that then runs on to near the surface."""
    wiggles = generator.normal(0.0, _VESSEL_WIGGLE, (max_steps, 3))
    pending_targets = list(targets_mm)
    position = start_mm
    direction = _unit(pending_targets[0] - start_mm)
    points = [start_mm]
    for wiggle in wiggles:
        while (
            pending_targets and np.linalg.norm(pending_targets[0] - position) < 2 * _VESSEL_STEP_MM
        ):
            pending_targets.pop(0)
        # Momentum keeps the path smooth; the pull to the next target spreads the tree out.
        # Past the last target the vessel coasts on towards the periphery.
        pull = 0.3 * _unit(pending_targets[0] - position) if pending_targets else 0.0
        direction = _unit(direction + pull + wiggle)
        candidate = position + _VESSEL_STEP_MM * direction
        if _point_level(liver_shape, candidate)[0] > _VESSEL_STOP_LEVEL:
            break
        points.append(candidate)
        position = candidate
    return np.asarray(points)


def _vessel_tree(
    generator: np.random.Generator,
    liver_shape: _LiverShape,
    vessel_count: int,
    radius_range_mm: tuple[float, float],
) -> list[_Centerline]:
    """Centrelines of a vessel tree: trunks from the hilum, then branches off earlier vessels."""
    if vessel_count == 0:
        return []
    hilum = _hilum_mm(liver_shape)
    if hilum is None:
        return []
    smallest_radius_mm, largest_radius_mm = radius_range_mm
    max_steps = int(2 * np.linalg.norm(2 * liver_shape.semi_axes_mm) / _VESSEL_STEP_MM) + 1
    centerlines: list[_Centerline] = []
    vessel_points_mm = hilum[None, :]
    for branch in range(vessel_count):
        if branch < _VESSEL_TRUNKS or not centerlines:
            start_mm, start_radius_mm = hilum, largest_radius_mm
        else:
            lengths = np.array([len(line.points_mm) for line in centerlines], dtype=float)
            parent = centerlines[generator.choice(len(centerlines), p=lengths / lengths.sum())]
            point_count = len(parent.points_mm)
            branch_point = generator.integers(point_count // 5, max(4 * point_count // 5, 1))
            start_mm = parent.points_mm[branch_point]
            start_radius_mm = max(
                smallest_radius_mm, _CHILD_RADIUS_RATIO * parent.radii_mm[branch_point]
            )
        targets_mm: list[np.ndarray] = []
        for _ in range(_TARGETS_PER_BRANCH):
            # Far from the vessels so far and from this branch's start and earlier targets.
            avoid_mm = np.vstack([vessel_points_mm, start_mm, *targets_mm])
            target_mm = _spread_target_mm(generator, liver_shape, avoid_mm)
            if target_mm is not None:
                targets_mm.append(target_mm)
        if not targets_mm:
            continue
        points_mm = _walk_through(generator, liver_shape, start_mm, targets_mm, max_steps)
        if len(points_mm) < 2:
            continue
        # Radius stays near its start value for most of the branch, then thins (area ~ flow).
        remaining = np.linspace(1.0, 0.0, len(points_mm)) ** _VESSEL_TAPER_POWER
        radii_mm = smallest_radius_mm + (start_radius_mm - smallest_radius_mm) * remaining
        centerlines.append(_Centerline(points_mm, radii_mm))
        vessel_points_mm = np.concatenate([vessel_points_mm, points_mm])
    return centerlines


def _rasterise_tubes(
    centerlines: list[_Centerline],
    box: tuple[slice, slice, slice],
    spacing: tuple[float, float, float],
) -> np.ndarray:
    """Voxels of `box` within tapered tubes around the centrelines, segment by segment."""
    tubes = np.zeros(tuple(axis.stop - axis.start for axis in box), dtype=bool)
    box_start = np.array([axis.start for axis in box])
    for line in centerlines:
        for start_mm, end_mm, start_radius_mm, end_radius_mm in zip(
            line.points_mm[:-1],
            line.points_mm[1:],
            line.radii_mm[:-1],
            line.radii_mm[1:],
            strict=True,
        ):
            reach_mm = max(start_radius_mm, end_radius_mm)
            segment_box = _box_slices(
                np.minimum(start_mm, end_mm) - reach_mm,
                np.maximum(start_mm, end_mm) + reach_mm,
                spacing,
                box,
            )
            if any(axis.stop <= axis.start for axis in segment_box):
                continue
            offset0, offset1, offset2 = _box_offsets_mm(segment_box, spacing, start_mm)
            along0, along1, along2 = (end_mm - start_mm).astype(np.float32)
            length_squared = along0**2 + along1**2 + along2**2
            fraction = np.clip(
                (offset0 * along0 + offset1 * along1 + offset2 * along2) / length_squared, 0, 1
            )
            distance_squared = (
                (offset0 - fraction * along0) ** 2
                + (offset1 - fraction * along1) ** 2
                + (offset2 - fraction * along2) ** 2
            )
            radius_mm = start_radius_mm + fraction * np.float32(end_radius_mm - start_radius_mm)
            local = tuple(
                slice(axis.start - origin, axis.stop - origin)
                for axis, origin in zip(segment_box, box_start, strict=True)
            )
            tubes[local] |= distance_squared <= radius_mm**2
    return tubes


# --- noise and output ----------------------------------------------------------------------


def _section_bounding_slices(section: np.ndarray, margin: int) -> tuple[slice, slice]:
    """Row and column slices around the True pixels of a 2-D mask, widened by `margin`."""
    bounds = []
    for axis in (1, 0):
        occupied = np.flatnonzero(section.any(axis=axis))
        if occupied.size == 0:
            bounds.append(slice(0, 0))
            continue
        bounds.append(
            slice(
                max(int(occupied[0]) - margin, 0),
                min(int(occupied[-1]) + 1 + margin, section.shape[1 - axis]),
            )
        )
    return bounds[0], bounds[1]


def _grain_kernel(step_mm: float) -> np.ndarray | None:
    """Gaussian kernel with unit L2 norm, so smoothing white noise keeps its variance."""
    sigma_voxels = min(_GRAIN_MAX_SIGMA_VOXELS, _GRAIN_SIGMA_MM / step_mm)
    if sigma_voxels < _GRAIN_MIN_SIGMA_VOXELS:
        return None
    half_width = math.ceil(3 * sigma_voxels)
    positions = np.arange(-half_width, half_width + 1, dtype=np.float64)
    weights = np.exp(-0.5 * (positions / sigma_voxels) ** 2)
    return weights / np.sqrt(np.sum(weights**2))


def _ct_grain(
    generator: np.random.Generator,
    shape: tuple[int, int, int],
    spacing: tuple[float, float, float],
) -> np.ndarray:
    """Unit-variance, lightly correlated float32 noise, smoothed in slabs to bound memory."""
    grain = generator.standard_normal(shape, dtype=np.float32)
    if grain.size == 0:
        return grain
    kernel0, kernel1, kernel2 = (_grain_kernel(step_mm) for step_mm in spacing)
    slab = max(1, _SLAB_VOXELS // (shape[1] * shape[2]))
    for start in range(0, shape[0], slab):
        block = grain[start : start + slab]
        smoothed = block
        for axis, kernel in ((1, kernel1), (2, kernel2)):
            if kernel is not None:
                smoothed = ndimage.correlate1d(smoothed, kernel, axis=axis, mode="reflect")
        if smoothed is not block:
            block[...] = smoothed
    if kernel0 is not None:
        slab = max(1, _SLAB_VOXELS // (shape[0] * shape[2]))
        for start in range(0, shape[1], slab):
            block = grain[:, start : start + slab]
            block[...] = ndimage.correlate1d(block, kernel0, axis=0, mode="reflect")
    return grain


def _to_hu_dtype(image: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if dtype == image.dtype:
        return image
    if np.issubdtype(dtype, np.floating):
        return image.astype(dtype)
    limits = np.iinfo(dtype)
    np.rint(image, out=image)
    np.clip(image, limits.min, limits.max, out=image)
    return image.astype(dtype)
