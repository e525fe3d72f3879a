"""Properties every synthesis must have, checked over many seeds, sizes, dtypes and spacings."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _volumes import COARSE_SPACING, coarse_phantom, phantom_at
from synthtumor import SIZE_NAMES, TumorConfig, apply, sample, synthesize, tumor_box

FAST = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
seeds = st.integers(min_value=0, max_value=2**32 - 1)
sizes = st.sampled_from(SIZE_NAMES)
dtypes = st.sampled_from(["float32", "float64", "int16", "int32"])


@FAST
@given(seed=seeds, size=sizes)
def test_same_seed_gives_identical_output(seed, size):
    phantom = coarse_phantom()
    first = synthesize(
        phantom.image, phantom.liver_mask, spacing=phantom.spacing, size=size, rng=seed
    )
    second = synthesize(
        phantom.image, phantom.liver_mask, spacing=phantom.spacing, size=size, rng=seed
    )
    assert np.array_equal(first.image, second.image)
    assert np.array_equal(first.label, second.label)
    assert first.params == second.params


def test_different_seeds_give_different_tumors():
    phantom = coarse_phantom()
    labels = [
        synthesize(phantom.image, phantom.liver_mask, spacing=phantom.spacing, rng=seed).label
        for seed in range(3)
    ]
    assert not np.array_equal(labels[0], labels[1])
    assert not np.array_equal(labels[1], labels[2])


@FAST
@given(seed=seeds, size=sizes, dtype=dtypes)
def test_shape_and_dtype_kept_and_inputs_unchanged(seed, size, dtype):
    phantom = coarse_phantom(dtype)
    image_before = phantom.image.copy()
    mask_before = phantom.liver_mask.copy()
    image, label, _ = synthesize(
        phantom.image, phantom.liver_mask, spacing=phantom.spacing, size=size, rng=seed
    )
    assert image.shape == phantom.image.shape and image.dtype == phantom.image.dtype
    assert label.shape == phantom.image.shape and label.dtype == np.uint8
    assert image is not phantom.image
    assert np.array_equal(phantom.image, image_before)
    assert np.array_equal(phantom.liver_mask, mask_before)


@FAST
@given(seed=seeds, size=sizes)
def test_tumors_lie_inside_the_liver(seed, size):
    phantom = coarse_phantom()
    config = TumorConfig(mass_effect=False)
    _, label, params = synthesize(
        phantom.image,
        phantom.liver_mask,
        spacing=phantom.spacing,
        size=size,
        config=config,
        rng=seed,
    )
    tumor = label == params.tumor_label
    assert tumor.any()
    assert not (tumor & ~phantom.liver_mask).any()
    assert np.array_equal(label != 0, phantom.liver_mask)


@FAST
@given(seed=seeds, size=sizes)
def test_with_mass_effect_tumors_lie_inside_the_pushed_liver(seed, size):
    phantom = coarse_phantom()
    _, label, params = synthesize(
        phantom.image, phantom.liver_mask, spacing=phantom.spacing, size=size, rng=seed
    )
    tumor = label == params.tumor_label
    assert tumor.any()
    assert not (tumor & (label == params.background_label)).any()
    # The mass effect moves tissue by at most 0.058 r (eq. 5 with I = 30): the liver bulges, but
    # only by a few voxels, never further than the push can reach.
    from scipy import ndimage

    bulge = ndimage.binary_dilation(phantom.liver_mask, iterations=2)
    assert not (tumor & ~bulge).any()


@FAST
@given(seed=seeds, size=sizes, dtype=dtypes)
def test_nothing_changes_outside_the_tumor_boxes(seed, size, dtype):
    phantom = coarse_phantom(dtype)
    image, label, params = synthesize(
        phantom.image, phantom.liver_mask, spacing=phantom.spacing, size=size, rng=seed
    )
    touched = np.zeros(phantom.image.shape, dtype=bool)
    for spec in params.tumors:
        lower, upper = tumor_box(spec, params)
        touched[tuple(slice(a, b) for a, b in zip(lower, upper, strict=True))] = True
    assert np.array_equal(image[~touched], phantom.image[~touched])
    assert np.array_equal(label[~touched], phantom.liver_mask[~touched].astype(np.uint8))
    assert (image != phantom.image).any()


@FAST
@given(seed=seeds, size=sizes)
def test_apply_of_sample_equals_synthesize(seed, size):
    phantom = coarse_phantom()
    arguments = {"spacing": phantom.spacing, "size": size}
    params = sample(phantom.image, phantom.liver_mask, rng=seed, **arguments)
    applied = apply(phantom.image, phantom.liver_mask, params)
    direct = synthesize(phantom.image, phantom.liver_mask, rng=seed, **arguments)
    assert np.array_equal(applied.image, direct.image)
    assert np.array_equal(applied.label, direct.label)
    assert applied.params == direct.params


@FAST
@given(seed=seeds, size=sizes)
def test_runs_clean_under_floating_point_errors_raised(seed, size):
    phantom = coarse_phantom()
    with np.errstate(all="raise"):
        synthesize(phantom.image, phantom.liver_mask, spacing=phantom.spacing, size=size, rng=seed)


@pytest.mark.parametrize("factor", [0.5, 2.0])
def test_tumor_extent_in_voxels_scales_with_one_over_spacing(factor):
    """The same tumour drawn at a finer/coarser spacing covers proportionally more/fewer voxels."""
    coarse = phantom_at(COARSE_SPACING)
    spacing = tuple(s * factor for s in COARSE_SPACING)
    other = phantom_at(spacing)
    config = TumorConfig(mass_effect=False, elastic_deformation=False, capsule=False)
    params = sample(
        coarse.image, coarse.liver_mask, spacing=coarse.spacing, size="large", config=config, rng=5
    )
    spec = params.tumors[0]
    ratio = np.array(other.image.shape) / np.array(coarse.image.shape)
    center = tuple(round(c * r) for c, r in zip(spec.center_voxel, ratio, strict=True))
    moved = spec.__class__(**{**spec.__dict__, "center_voxel": center})
    scaled = params.__class__(
        **{**params.__dict__, "shape": other.image.shape, "spacing": spacing, "tumors": (moved,)}
    )
    single = params.__class__(**{**params.__dict__, "tumors": (spec,)})
    coarse_label = apply(coarse.image, coarse.liver_mask, single).label == 2
    other_label = apply(other.image, other.liver_mask, scaled).label == 2
    for axis in range(3):
        others = tuple(a for a in range(3) if a != axis)
        coarse_extent = np.ptp(np.flatnonzero(coarse_label.any(axis=others))) + 1
        other_extent = np.ptp(np.flatnonzero(other_label.any(axis=others))) + 1
        assert other_extent / coarse_extent == pytest.approx(1 / factor, rel=0.2)
    volume_mm3 = coarse_label.sum() * np.prod(coarse.spacing)
    other_volume_mm3 = other_label.sum() * np.prod(spacing)
    assert other_volume_mm3 == pytest.approx(volume_mm3, rel=0.25)


def test_anisotropic_spacing_works():
    phantom = phantom_at((0.75, 0.75, 6.0))
    for size in SIZE_NAMES:
        _, label, params = synthesize(
            phantom.image, phantom.liver_mask, spacing=phantom.spacing, size=size, rng=1
        )
        assert (label == params.tumor_label).any()


def test_inplace_writes_into_the_callers_arrays_and_matches_the_copy():
    phantom = coarse_phantom("int16")
    image = phantom.image.copy()
    label = phantom.liver_mask.astype(np.uint8)
    expected = synthesize(phantom.image, phantom.liver_mask, spacing=phantom.spacing, rng=11)
    result = synthesize(image, label, spacing=phantom.spacing, rng=11, inplace=True)
    assert result.image is image and result.label is label
    assert np.array_equal(image, expected.image)
    assert np.array_equal(label, expected.label)


def test_inplace_refuses_a_boolean_mask_it_cannot_write_labels_into():
    phantom = coarse_phantom()
    with pytest.raises(ValueError, match="liver_mask to be a writeable integer"):
        synthesize(
            phantom.image.copy(), phantom.liver_mask, spacing=phantom.spacing, rng=0, inplace=True
        )


def test_same_seed_same_output_in_another_process():
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys, hashlib; sys.path.insert(0, 'tests');"
        "from _volumes import coarse_phantom; from synthtumor import synthesize;"
        "p = coarse_phantom();"
        "r = synthesize(p.image, p.liver_mask, spacing=p.spacing, size='mix', rng=42);"
        "print(hashlib.sha256(r.image.tobytes() + r.label.tobytes()).hexdigest())"
    )
    root = Path(__file__).resolve().parents[1]
    other = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    import hashlib

    phantom = coarse_phantom()
    here = synthesize(
        phantom.image, phantom.liver_mask, spacing=phantom.spacing, size="mix", rng=42
    )
    digest = hashlib.sha256(here.image.tobytes() + here.label.tobytes()).hexdigest()
    assert other.stdout.strip() == digest
