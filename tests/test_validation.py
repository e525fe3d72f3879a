"""Bad input gets a clear error that names the argument, never a crash from deep inside."""

from __future__ import annotations

import numpy as np
import pytest

from _volumes import coarse_phantom
from synthtumor import LiverTooSmallError, TumorConfig, apply, sample, synthesize


@pytest.fixture
def scan():
    phantom = coarse_phantom()
    return phantom.image.copy(), phantom.liver_mask.copy(), phantom.spacing


def test_wrong_number_of_dimensions(scan):
    image, liver, spacing = scan
    with pytest.raises(ValueError, match=r"image must be a 3-D array.*got 2-D"):
        synthesize(image[:, :, 0], liver[:, :, 0], spacing=spacing)
    with pytest.raises(ValueError, match=r"liver_mask must be a 3-D array"):
        synthesize(image, liver[None], spacing=spacing)


def test_shape_mismatch(scan):
    image, liver, spacing = scan
    with pytest.raises(ValueError, match=r"liver_mask must have the same shape as image"):
        synthesize(image, liver[:-1], spacing=spacing)


def test_empty_arrays():
    with pytest.raises(ValueError, match="image must not be empty"):
        synthesize(np.zeros((0, 4, 4)), np.zeros((0, 4, 4), bool), spacing=(1, 1, 1))


def test_non_numeric_image(scan):
    _, liver, spacing = scan
    with pytest.raises(TypeError, match="image must be a real-valued array"):
        synthesize(liver, liver, spacing=spacing)
    with pytest.raises(TypeError, match="image must be a real-valued array"):
        synthesize(np.zeros(liver.shape, complex), liver, spacing=spacing)


def test_nan_or_inf_inside_the_liver(scan):
    image, liver, spacing = scan
    image[liver] = np.nan
    with pytest.raises(ValueError, match="image contains NaN or infinite values"):
        synthesize(image, liver, spacing=spacing, rng=0)
    image[liver] = np.inf
    with pytest.raises(ValueError, match="image contains NaN or infinite values"):
        synthesize(image, liver, spacing=spacing, rng=0)


def test_non_binary_mask(scan):
    image, liver, spacing = scan
    labels = liver.astype(np.uint8)
    labels[labels == 1] = 5
    with pytest.raises(ValueError, match=r"liver_mask must be binary.*\[0, 5\]"):
        synthesize(image, labels, spacing=spacing)
    with pytest.raises(ValueError, match="liver_mask must be binary"):
        synthesize(image, liver.astype(np.int32) * -1, spacing=spacing)
    with pytest.raises(ValueError, match="liver_mask must be binary"):
        synthesize(image, liver * 0.5, spacing=spacing)


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.float32])
def test_zero_one_masks_of_any_dtype_are_accepted(scan, dtype):
    image, liver, spacing = scan
    expected = synthesize(image, liver, spacing=spacing, rng=1)
    result = synthesize(image, liver.astype(dtype), spacing=spacing, rng=1)
    assert np.array_equal(result.label, expected.label)


@pytest.mark.parametrize(
    ("spacing", "error", "message"),
    [
        ((1.0, 1.0), ValueError, r"spacing must be 3 positive finite numbers"),
        ((1.0, -1.0, 1.0), ValueError, r"spacing must be 3 positive finite numbers"),
        ((1.0, np.nan, 1.0), ValueError, r"spacing must be 3 positive finite numbers"),
        ((0.0, 1.0, 1.0), ValueError, r"spacing must be 3 positive finite numbers"),
        ("1,1,1", TypeError, r"spacing must be a sequence of 3 positive numbers"),
        (1.0, TypeError, r"spacing must be a sequence of 3 positive numbers"),
    ],
)
def test_bad_spacing(scan, spacing, error, message):
    image, liver, _ = scan
    with pytest.raises(error, match=message):
        synthesize(image, liver, spacing=spacing)


def test_empty_liver(scan):
    image, liver, spacing = scan
    with pytest.raises(ValueError, match="liver_mask is empty"):
        synthesize(image, np.zeros_like(liver), spacing=spacing)


def test_liver_too_small_for_the_size_names_size_and_volume(scan):
    image, _, spacing = scan
    small_liver = np.zeros(image.shape, bool)
    small_liver[40:45, 40:45, 20:24] = True  # 100 voxels of 36 mm^3: 3.6 mL
    with pytest.raises(LiverTooSmallError, match=r"3\.60 mL of liver, too small for size 'large'"):
        synthesize(image, small_liver, spacing=spacing, size="large")
    with pytest.raises(ValueError, match="radius 32 mm needs at least"):
        synthesize(image, small_liver, spacing=spacing, size="mix")
    # Without a size, only the sizes the liver can hold are drawn.
    params = sample(image, small_liver, spacing=spacing, rng=0)
    assert params.size in ("tiny", "small")
    tiny_liver = np.zeros(image.shape, bool)
    tiny_liver[40, 40, 20] = True
    with pytest.raises(LiverTooSmallError, match="too small for size 'tiny'"):
        synthesize(image, tiny_liver, spacing=spacing)


def test_unknown_size_and_config_type(scan):
    image, liver, spacing = scan
    with pytest.raises(ValueError, match=r"size must be one of .*'huge'"):
        synthesize(image, liver, spacing=spacing, size="huge")
    with pytest.raises(TypeError, match="config must be a TumorConfig"):
        synthesize(image, liver, spacing=spacing, config={"capsule": False})


def test_params_for_another_volume_are_refused(scan):
    image, liver, spacing = scan
    params = sample(image, liver, spacing=spacing, rng=0)
    with pytest.raises(ValueError, match="params were drawn for shape"):
        apply(image[:-1], liver[:-1], params)
    with pytest.raises(TypeError, match="params must be a TumorParams"):
        apply(image, liver, params.to_dict())


def test_inplace_validates_before_writing(scan):
    image, liver, spacing = scan
    params = sample(image, liver, spacing=spacing, rng=0)
    poisoned = image.copy()
    last = params.tumors[-1].center_voxel
    poisoned[last] = np.nan
    untouched = poisoned.copy()
    labels = liver.astype(np.uint8)
    with pytest.raises(ValueError, match="NaN"):
        apply(poisoned, labels, params, inplace=True)
    assert np.array_equal(poisoned, untouched, equal_nan=True)
    assert np.array_equal(labels, liver.astype(np.uint8))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"texture_scale": 0.5}, r"texture_scale must be finite and in \[1, 10\]"),
        ({"edge_blur_mm": (1.2, 0.6)}, "edge_blur_mm range must be"),
        ({"edge_blur_mm": (0.6, 1.2, 2.0)}, "edge_blur_mm must be a number or a"),
        (
            {"mass_effect_intensity": 150.0},
            r"mass_effect_intensity must be finite and in \[0, 100\]",
        ),
        ({"capsule_band": (0.7, 0.4)}, "capsule_band must satisfy"),
        ({"size_probabilities": (0, 0, 0, 0, 0)}, "size_probabilities must be 5"),
        ({"max_location_tries": 0}, r"max_location_tries must be an integer in \[1, 1000\]"),
        ({"location_fallback": "skip"}, "location_fallback must be"),
        ({"label_threshold": 1.0}, r"label_threshold must lie in \(0, 1\)"),
        ({"tumor_label": 1}, "background_label, organ_label and tumor_label must be distinct"),
    ],
)
def test_bad_config_values_are_named(changes, message):
    with pytest.raises(ValueError, match=message):
        TumorConfig(**changes)


def test_bad_config_types_are_named():
    with pytest.raises(TypeError, match="texture_blur_mm must be a number"):
        TumorConfig(texture_blur_mm="0.6")
    with pytest.raises(TypeError, match="large must be a SizePreset"):
        TumorConfig(large=32.0)


def test_bounding_box_of_an_empty_mask_is_a_clear_error():
    from synthtumor.location import liver_bounding_box

    with pytest.raises(ValueError, match="liver_mask is empty"):
        liver_bounding_box(np.zeros((3, 4, 5), bool))
    mask = np.zeros((3, 4, 5), bool)
    mask[1, 2:4, 0] = True
    assert liver_bounding_box(mask) == ((1, 2, 0), (2, 4, 1))
