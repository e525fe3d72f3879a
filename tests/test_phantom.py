"""Tests for the procedural abdominal CT phantom (synthtumor.phantom)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy import ndimage

from synthtumor.phantom import Phantom, make_phantom

DEFAULT_SHAPE = (160, 160, 96)
DEFAULT_SPACING = (1.5, 1.5, 2.0)
# The default field of view (240 x 240 x 192 mm) at a coarser, faster grid.
COARSE_SHAPE = (96, 96, 64)
COARSE_SPACING = (2.5, 2.5, 3.0)


@pytest.fixture(scope="module")
def default_phantom() -> Phantom:
    return make_phantom(rng=0)


def _liver_box_mm(phantom: Phantom) -> np.ndarray:
    indices = np.nonzero(phantom.liver_mask)
    return np.array(
        [
            (axis.max() - axis.min() + 1) * step
            for axis, step in zip(indices, phantom.spacing, strict=True)
        ]
    )


def _volume_mm3(mask: np.ndarray, spacing: tuple[float, float, float]) -> float:
    return float(mask.sum()) * math.prod(spacing)


# --- determinism ---------------------------------------------------------------------------


def test_same_seed_gives_bit_identical_phantoms() -> None:
    first = make_phantom(COARSE_SHAPE, COARSE_SPACING, rng=7)
    second = make_phantom(COARSE_SHAPE, COARSE_SPACING, rng=7)
    assert first.image.tobytes() == second.image.tobytes()
    assert np.array_equal(first.liver_mask, second.liver_mask)
    assert np.array_equal(first.vessel_mask, second.vessel_mask)


def test_generator_and_seed_give_the_same_phantom() -> None:
    from_seed = make_phantom(COARSE_SHAPE, COARSE_SPACING, rng=3)
    from_generator = make_phantom(COARSE_SHAPE, COARSE_SPACING, rng=np.random.default_rng(3))
    assert from_seed.image.tobytes() == from_generator.image.tobytes()


def test_global_random_state_is_neither_used_nor_changed() -> None:
    # The legacy global generator is exercised on purpose: make_phantom must not touch it.
    saved_state = np.random.get_state()  # noqa: NPY002
    try:
        np.random.seed(1)  # noqa: NPY002
        state_before = np.random.get_state()[1].copy()  # noqa: NPY002
        first = make_phantom(COARSE_SHAPE, COARSE_SPACING, rng=5)
        assert np.array_equal(np.random.get_state()[1], state_before)  # noqa: NPY002
        np.random.seed(2)  # noqa: NPY002
        second = make_phantom(COARSE_SHAPE, COARSE_SPACING, rng=5)
    finally:
        np.random.set_state(saved_state)  # noqa: NPY002
    assert first.image.tobytes() == second.image.tobytes()


def test_different_seeds_give_different_phantoms(default_phantom: Phantom) -> None:
    other = make_phantom(rng=1)
    assert not np.array_equal(default_phantom.image, other.image)
    assert not np.array_equal(default_phantom.liver_mask, other.liver_mask)
    assert not np.array_equal(default_phantom.vessel_mask, other.vessel_mask)


# --- shapes and dtypes ---------------------------------------------------------------------


def test_default_shapes_dtypes_and_spacing(default_phantom: Phantom) -> None:
    assert default_phantom.image.shape == DEFAULT_SHAPE
    assert default_phantom.image.dtype == np.float32
    assert default_phantom.liver_mask.shape == DEFAULT_SHAPE
    assert default_phantom.liver_mask.dtype == np.bool_
    assert default_phantom.vessel_mask.shape == DEFAULT_SHAPE
    assert default_phantom.vessel_mask.dtype == np.bool_
    assert default_phantom.spacing == DEFAULT_SPACING
    assert all(isinstance(step, float) for step in default_phantom.spacing)


def test_int16_dtype_gives_the_rounded_float_image() -> None:
    shape, spacing = (64, 64, 40), (3.75, 3.75, 4.8)
    as_float = make_phantom(shape, spacing, rng=4)
    as_int16 = make_phantom(shape, spacing, dtype=np.int16, rng=4)
    assert as_int16.image.dtype == np.int16
    assert np.array_equal(as_int16.image, np.rint(as_float.image).astype(np.int16))
    assert np.array_equal(as_int16.liver_mask, as_float.liver_mask)


def test_float64_dtype_is_honoured() -> None:
    phantom = make_phantom((48, 48, 32), (5.0, 5.0, 6.0), dtype=np.float64, rng=0)
    assert phantom.image.dtype == np.float64


def test_phantom_is_frozen(default_phantom: Phantom) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        default_phantom.spacing = (1.0, 1.0, 1.0)  # type: ignore[misc]


def test_affine_negates_the_in_plane_axes_for_ras(default_phantom: Phantom) -> None:
    assert np.array_equal(default_phantom.affine, np.diag([-1.5, -1.5, 2.0, 1.0]))


# --- intensities ---------------------------------------------------------------------------


def test_parenchyma_and_vessel_intensities(default_phantom: Phantom) -> None:
    image = default_phantom.image
    parenchyma = image[default_phantom.liver_mask & ~default_phantom.vessel_mask]
    vessels = image[default_phantom.vessel_mask]
    assert abs(parenchyma.mean() - 60.0) < 2.0
    assert abs(parenchyma.std() - 15.0) < 0.35 * 15.0
    assert abs(vessels.mean() - 170.0) < 5.0


@pytest.mark.parametrize(
    ("parenchyma_hu", "noise_hu", "vessel_hu"), [(100.0, 30.0, 250.0), (40.0, 5.0, 120.0)]
)
def test_intensity_parameters_are_honoured(
    parenchyma_hu: float, noise_hu: float, vessel_hu: float
) -> None:
    phantom = make_phantom(
        COARSE_SHAPE,
        COARSE_SPACING,
        parenchyma_hu=parenchyma_hu,
        noise_hu=noise_hu,
        vessel_hu=vessel_hu,
        rng=2,
    )
    parenchyma = phantom.image[phantom.liver_mask & ~phantom.vessel_mask]
    assert abs(parenchyma.mean() - parenchyma_hu) < 2.0
    assert abs(parenchyma.std() - noise_hu) < 0.35 * noise_hu
    assert abs(phantom.image[phantom.vessel_mask].mean() - vessel_hu) < 5.0


def test_zero_noise_gives_flat_parenchyma_and_vessels() -> None:
    phantom = make_phantom(COARSE_SHAPE, COARSE_SPACING, noise_hu=0.0, rng=0)
    assert np.all(phantom.image[phantom.liver_mask & ~phantom.vessel_mask] == 60.0)
    assert np.all(phantom.image[phantom.vessel_mask] == 170.0)


def test_noise_is_lightly_correlated_grain(default_phantom: Phantom) -> None:
    parenchyma = default_phantom.liver_mask & ~default_phantom.vessel_mask
    neighbours = parenchyma[1:] & parenchyma[:-1]
    image = default_phantom.image
    correlation = np.corrcoef(image[1:][neighbours], image[:-1][neighbours])[0, 1]
    # White noise would give ~0, heavy smoothing ~1.
    assert 0.2 < correlation < 0.8


def test_air_outside_the_body_is_exactly_minus_1000(default_phantom: Phantom) -> None:
    image = default_phantom.image
    for border in (image[0], image[-1], image[:, 0], image[:, -1]):
        assert np.all(border == -1000.0)
    # Corners of every slice are outside the rounded body section.
    assert np.all(image[:5, :5, :] == -1000.0)
    int16_phantom = make_phantom((64, 64, 40), (3.75, 3.75, 4.8), dtype=np.int16, rng=0)
    assert np.all(int16_phantom.image[0] == -1000)


def test_body_contains_fat_and_soft_tissue(default_phantom: Phantom) -> None:
    body = default_phantom.image[default_phantom.image > -1000.0]
    assert np.mean((body > -150) & (body < -50)) > 0.05  # subcutaneous and visceral fat
    assert np.mean((body > 0) & (body < 100)) > 0.2  # muscle and organs


def test_bone_is_present_posterior_and_medial(default_phantom: Phantom) -> None:
    bone = default_phantom.image > 300.0
    assert bone.sum() > 1000
    assert default_phantom.image.max() >= 600.0
    rows, columns, _ = np.nonzero(bone)
    center_row, center_column = DEFAULT_SHAPE[0] / 2, DEFAULT_SHAPE[1] / 2
    assert np.all(np.abs(rows - center_row) < 0.15 * DEFAULT_SHAPE[0])  # midline
    assert np.all(columns > center_column)  # posterior half


# --- liver and vessels ---------------------------------------------------------------------


def test_vessels_lie_inside_the_liver(default_phantom: Phantom) -> None:
    assert default_phantom.vessel_mask.any()
    assert not np.any(default_phantom.vessel_mask & ~default_phantom.liver_mask)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_vessel_fraction_of_the_liver_is_plausible(seed: int) -> None:
    phantom = make_phantom(rng=seed)
    fraction = phantom.vessel_mask.sum() / phantom.liver_mask.sum()
    assert 0.02 <= fraction <= 0.15


def test_no_vessels_when_vessel_count_is_zero() -> None:
    phantom = make_phantom(vessel_count=0, rng=0)
    assert phantom.liver_mask.any()
    assert not phantom.vessel_mask.any()
    assert phantom.image[phantom.liver_mask].max() < 60.0 + 8 * 15.0


def test_more_vessel_branches_give_more_vessel_volume() -> None:
    few = make_phantom(COARSE_SHAPE, COARSE_SPACING, vessel_count=3, rng=0)
    many = make_phantom(COARSE_SHAPE, COARSE_SPACING, vessel_count=24, rng=0)
    assert many.vessel_mask.sum() > 1.5 * few.vessel_mask.sum()


def test_vessel_radius_range_controls_vessel_volume() -> None:
    thin = make_phantom(COARSE_SHAPE, COARSE_SPACING, vessel_radius_mm=(1.0, 2.0), rng=0)
    thick = make_phantom(COARSE_SHAPE, COARSE_SPACING, vessel_radius_mm=(3.0, 5.0), rng=0)
    assert thick.vessel_mask.sum() > 4 * thin.vessel_mask.sum()


def test_smoothed_threshold_vessel_detection_finds_the_vessels(default_phantom: Phantom) -> None:
    # The detector of Hu et al. (CVPR 2023): smooth, threshold at liver mean + 15 HU in the liver.
    image, liver, vessels = (
        default_phantom.image,
        default_phantom.liver_mask,
        default_phantom.vessel_mask,
    )
    smoothed = ndimage.gaussian_filter(image, sigma=[1.5 / step for step in DEFAULT_SPACING])
    detected = liver & (smoothed > image[liver].mean() + 15.0)
    assert (detected & vessels).sum() / vessels.sum() > 0.9
    near_vessels = ndimage.binary_dilation(vessels, iterations=3)
    assert (detected & near_vessels).sum() / detected.sum() > 0.95


def test_liver_has_room_for_tumors_away_from_vessels() -> None:
    phantom = make_phantom(COARSE_SHAPE, COARSE_SPACING, rng=0)
    distance_to_vessel = ndimage.distance_transform_edt(~phantom.vessel_mask, COARSE_SPACING)
    depth_in_liver = ndimage.distance_transform_edt(phantom.liver_mask, COARSE_SPACING)
    clearance_mm = np.minimum(distance_to_vessel, depth_in_liver)
    assert np.mean(clearance_mm[phantom.liver_mask] >= 10.0) > 0.05


def test_default_liver_volume_is_realistic(default_phantom: Phantom) -> None:
    litres = _volume_mm3(default_phantom.liver_mask, DEFAULT_SPACING) / 1e6
    assert 1.2 <= litres <= 1.8


def test_liver_is_in_the_right_upper_abdomen(default_phantom: Phantom) -> None:
    rows, _, slices = np.nonzero(default_phantom.liver_mask)
    assert rows.mean() < 0.5 * DEFAULT_SHAPE[0]  # axis 0 runs from the patient's right
    assert slices.mean() > 0.5 * DEFAULT_SHAPE[2]  # axis 2 runs towards the head


def test_liver_is_not_a_plain_ellipsoid(default_phantom: Phantom) -> None:
    box_mm = _liver_box_mm(default_phantom)
    ellipsoid_mm3 = math.pi / 6 * math.prod(box_mm)
    volume_mm3 = _volume_mm3(default_phantom.liver_mask, DEFAULT_SPACING)
    assert abs(volume_mm3 / ellipsoid_mm3 - 1) > 0.1


def test_liver_box_at_1mm_is_about_160_by_120_by_90_voxels() -> None:
    phantom = make_phantom((256, 256, 128), (1.0, 1.0, 1.0), rng=0)
    box_voxels = _liver_box_mm(phantom)  # 1 mm voxels
    assert np.all(np.abs(box_voxels / np.array([160.0, 120.0, 90.0]) - 1) <= 0.15)


def test_explicit_liver_extent_sets_the_liver_box() -> None:
    extent_mm = np.array([120.0, 90.0, 70.0])
    phantom = make_phantom(liver_extent_mm=tuple(extent_mm), rng=0)
    assert np.all(np.abs(_liver_box_mm(phantom) / extent_mm - 1) <= 0.15)
    box_volume_mm3 = math.prod(extent_mm)
    assert 0.6 < _volume_mm3(phantom.liver_mask, DEFAULT_SPACING) / box_volume_mm3 < 1.0


# --- resolution independence ---------------------------------------------------------------


def test_anatomy_scales_with_spacing() -> None:
    fine = make_phantom((192, 192, 96), (1.0, 1.0, 1.0), rng=0)
    coarse = make_phantom((96, 96, 48), (2.0, 2.0, 2.0), rng=0)
    fine_liver = _volume_mm3(fine.liver_mask, fine.spacing)
    coarse_liver = _volume_mm3(coarse.liver_mask, coarse.spacing)
    assert abs(fine_liver / coarse_liver - 1) < 0.1
    fine_vessels = _volume_mm3(fine.vessel_mask, fine.spacing)
    coarse_vessels = _volume_mm3(coarse.vessel_mask, coarse.spacing)
    assert abs(fine_vessels / coarse_vessels - 1) < 0.25
    assert np.all(np.abs(_liver_box_mm(fine) - _liver_box_mm(coarse)) <= 2 * 2.0)


def test_anisotropic_spacing_works() -> None:
    shape, spacing = (200, 200, 32), (0.8, 0.8, 4.0)
    phantom = make_phantom(shape, spacing, rng=0)
    assert phantom.image.shape == shape
    assert phantom.spacing == spacing
    assert phantom.vessel_mask.any()
    assert not np.any(phantom.vessel_mask & ~phantom.liver_mask)
    litres = _volume_mm3(phantom.liver_mask, spacing) / 1e6
    assert 0.3 < litres < 1.8
    parenchyma = phantom.image[phantom.liver_mask & ~phantom.vessel_mask]
    assert abs(parenchyma.mean() - 60.0) < 2.0


def test_small_field_of_view_shrinks_the_default_liver_to_fit() -> None:
    phantom = make_phantom((64, 64, 32), (2.0, 2.0, 2.0), rng=0)
    box_mm = _liver_box_mm(phantom)
    assert np.all(box_mm <= np.array([128.0, 128.0, 64.0]))
    assert phantom.liver_mask.any()


# --- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"shape": (160, 160)}, ValueError, r"shape must be 3 positive integers"),
        ({"shape": (160, 0, 96)}, ValueError, r"shape must be 3 positive integers"),
        ({"shape": (160.5, 160, 96)}, ValueError, r"shape must be 3 positive integers"),
        ({"shape": "big"}, TypeError, r"shape must be 3"),
        ({"shape": (160, None, 96)}, TypeError, r"shape must be 3"),
        (
            {"spacing": (1.0, -1.0, 1.0)},
            ValueError,
            r"spacing must be 3 positive finite numbers in mm, got \(1\.0, -1\.0, 1\.0\)",
        ),
        ({"spacing": (1.0, math.nan, 1.0)}, ValueError, r"spacing must be 3 positive finite"),
        ({"spacing": (1.0, 1.0)}, ValueError, r"spacing must be 3 positive finite"),
        ({"spacing": (1.0, "a", 1.0)}, TypeError, r"spacing must be 3 positive finite"),
        ({"liver_extent_mm": (400.0, 120.0, 90.0)}, ValueError, r"liver_extent_mm must fit"),
        ({"liver_extent_mm": (160.0, 120.0, 500.0)}, ValueError, r"liver_extent_mm must fit"),
        ({"liver_extent_mm": (0.0, 120.0, 90.0)}, ValueError, r"liver_extent_mm must be 3"),
        ({"noise_hu": -1.0}, ValueError, r"noise_hu must be a non-negative"),
        ({"noise_hu": "loud"}, TypeError, r"noise_hu must be a finite number"),
        ({"parenchyma_hu": math.inf}, ValueError, r"parenchyma_hu must be a finite number"),
        ({"vessel_hu": None}, TypeError, r"vessel_hu must be a finite number"),
        ({"vessel_count": -1}, ValueError, r"vessel_count must be a non-negative integer"),
        ({"vessel_count": 2.5}, TypeError, r"vessel_count must be a non-negative integer"),
        ({"vessel_radius_mm": (4.0, 1.5)}, ValueError, r"vessel_radius_mm must be \(min, max\)"),
        ({"vessel_radius_mm": (0.0, 1.5)}, ValueError, r"vessel_radius_mm must be \(min, max\)"),
        ({"vessel_radius_mm": (1.5,)}, ValueError, r"vessel_radius_mm must be \(min, max\)"),
        ({"vessel_radius_mm": 2.0}, TypeError, r"vessel_radius_mm must be \(min, max\)"),
        ({"dtype": np.uint8}, ValueError, r"dtype must be a float or signed integer"),
        ({"dtype": np.int8}, ValueError, r"dtype must hold HU values"),
        ({"dtype": bool}, TypeError, r"dtype must be a numpy float or signed integer"),
    ],
)
def test_invalid_arguments_are_rejected_with_a_message_naming_them(
    arguments: dict, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        make_phantom(**arguments)
