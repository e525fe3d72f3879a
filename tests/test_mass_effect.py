"""The mass effect (eq. 5) in its one module: the scale's three forms agree, the visibility
test matches eq. 5's largest push outside the tumour, and the hand-written trilinear warp gives
scipy.ndimage.map_coordinates(order=1)'s values."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from synthtumor.mass_effect import (
    PUSH_SKIP_VOXELS,
    mass_effect,
    pushes_visibly,
    radial_scale,
    radial_scale_at,
    warp_linear,
    warp_nearest,
)
from synthtumor.params import TumorSpec
from synthtumor.shape import offsets_mm


def _spec(semi_mm: float, factor: float, intensity: float) -> TumorSpec:
    return TumorSpec(
        "medium", (20, 20, 20), True, semi_mm, (semi_mm,) * 3, 0.0, 0.0, 40.0, 10.0,
        1.3, 0.6, factor, intensity, 0.8, 0.0, 0,
    )  # fmt: skip


@pytest.mark.parametrize("shape", [(6, 7, 8), (1, 5, 4), (5, 1, 1), (2, 2, 2), (9, 3, 11)], ids=str)
def test_warp_linear_equals_map_coordinates_order_1_also_outside_the_array(shape):
    rng = np.random.default_rng(sum(shape))
    values = rng.uniform(-1000.0, 1000.0, shape).astype(np.float32)
    # Points anywhere, a voxel and more beyond every face included: both clamp to the edge.
    source = np.stack([rng.uniform(-1.5, n + 0.5, 400) for n in shape]).astype(np.float32)
    source[:, 0] = 0.0  # the first and the last voxel exactly
    source[:, 1] = [n - 1 for n in shape]
    expected = ndimage.map_coordinates(
        values.astype(np.float64), source.astype(np.float64), order=1, mode="nearest"
    )
    warped = warp_linear(values, source)
    assert warped.dtype == np.float32
    np.testing.assert_allclose(warped, expected, rtol=0, atol=1e-3)  # float32 of 1000 HU
    assert warped[0] == values[0, 0, 0] and warped[1] == values[-1, -1, -1]


def test_warp_linear_on_a_real_mass_effect_matches_map_coordinates():
    shape, center = (21, 21, 21), (10, 10, 10)
    axes = offsets_mm((0, 0, 0), shape, center, (1.0, 0.8, 1.5))
    warp = mass_effect(axes, (6.0, 5.0, 4.0), radius_factor=1.3, intensity=30.0)
    source = warp.source(shape, center)
    values = np.random.default_rng(3).normal(60, 20, shape).astype(np.float32)
    expected = ndimage.map_coordinates(values, source, order=1, mode="nearest")
    np.testing.assert_allclose(warp_linear(values, source), expected, rtol=0, atol=1e-4)
    nearest = ndimage.map_coordinates(values, source, order=0, mode="nearest")
    assert np.abs(expected - nearest).max() > 1.0  # the test tells linear from nearest


def test_warp_nearest_equals_map_coordinates_order_0():
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 3, (7, 6, 5)).astype(np.uint8)
    # Half-way points excluded: there the two round differently (floor(x + 0.5) vs half-even).
    source = np.stack([rng.uniform(0, n - 1, 300) for n in labels.shape]).astype(np.float32)
    source = source[:, np.all(np.abs(source % 1 - 0.5) > 1e-3, axis=0)]
    expected = ndimage.map_coordinates(labels, source, order=0)
    np.testing.assert_array_equal(warp_nearest(labels, source), expected)


@pytest.mark.parametrize(("factor", "intensity"), [(1.3, 30.0), (2.0, 60.0), (4.5, 100.0)])
def test_the_three_forms_of_the_scale_agree(factor, intensity):
    axes = offsets_mm((0, 0, 0), (15, 15, 15), (7, 7, 7), (1.0, 1.0, 1.0))
    semi = (3.0, 2.5, 2.0)
    box = radial_scale(axes, semi, radius_factor=factor, intensity=intensity)
    warp = mass_effect(axes, semi, radius_factor=factor, intensity=intensity)
    np.testing.assert_allclose(box.ravel()[warp.flat_index], warp.scale, rtol=0, atol=1e-6)
    outside = np.ones(box.size, bool)
    outside[warp.flat_index] = False
    assert np.all(box.ravel()[outside] == 1.0)
    for gamma in warp.gamma[::97]:
        scalar = radial_scale_at(float(gamma), radius_factor=factor, intensity=intensity)
        assert scalar == pytest.approx(1 - (1 - gamma / factor) ** 2 * intensity / 100, abs=1e-6)


@pytest.mark.parametrize("spacing_mm", [0.5, 1.0, 2.0])
@pytest.mark.parametrize(("factor", "intensity"), [(1.3, 30.0), (2.0, 60.0), (1.05, 100.0)])
def test_pushes_visibly_is_eq5s_largest_push_outside_the_tumor_against_the_threshold(
    spacing_mm, factor, intensity
):
    """The oracle: eq. 5's shift on a dense grid of gamma in [1, gamma_max]."""
    gamma = np.linspace(1.0, factor, 200_001)
    largest_shift = float(np.max(gamma * (1 - gamma / factor) ** 2 * intensity / 100))
    for semi_mm in np.geomspace(1.0, 80.0, 60):
        visible = largest_shift * semi_mm >= PUSH_SKIP_VOXELS * spacing_mm * (1 + 1e-6)
        hidden = largest_shift * semi_mm < PUSH_SKIP_VOXELS * spacing_mm * (1 - 1e-6)
        if visible or hidden:  # away from the threshold itself
            spacing = (spacing_mm, spacing_mm, spacing_mm)
            assert pushes_visibly(_spec(semi_mm, factor, intensity), spacing) == visible


def test_no_push_without_intensity_or_reach():
    assert not pushes_visibly(_spec(30.0, 1.3, 0.0), (1.0, 1.0, 1.0))
    assert not pushes_visibly(_spec(30.0, 1.0, 30.0), (1.0, 1.0, 1.0))
    assert pushes_visibly(_spec(30.0, 1.3, 30.0), (1.0, 1.0, 1.0))
