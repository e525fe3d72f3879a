"""Location helpers: the lazy collision check counts exactly the vessel voxels of the full eq. 1
mask, and liver voxels are counted only as far as needed."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synthtumor import vessel_mask
from synthtumor.location import VesselMap, choose_centers, count_voxels
from synthtumor.phantom import Phantom, make_phantom


def _exact_counts(vessels: np.ndarray, centers: np.ndarray, half) -> list[int]:
    counts = []
    for center in centers:
        cube = tuple(
            slice(max(c - h, 0), c + h + 1) for c, h in zip(center.tolist(), half, strict=True)
        )
        counts.append(int(vessels[cube].sum()))
    return counts


def _vessels_of(
    phantom: Phantom, smoothing_mm: float, liver_voxels: int | None = None
) -> tuple[VesselMap, np.ndarray]:
    """A fresh lazy VesselMap of a phantom and the full eq. 1 mask it must agree with.

    `liver_voxels` overrides the liver's size, which sets the budget of exact checks.
    """
    image, liver, spacing = phantom.image, phantom.liver_mask, phantom.spacing
    threshold = float(image[liver].mean()) + 15.0
    vessel_map = VesselMap(
        image,
        liver,
        spacing=spacing,
        threshold_hu=threshold,
        smoothing_mm=smoothing_mm,
        liver_voxels=int(liver.sum()) if liver_voxels is None else liver_voxels,
    )
    full = vessel_mask(
        image, liver, spacing=spacing, threshold_hu=threshold, smoothing_mm=smoothing_mm
    )
    return vessel_map, full


@pytest.fixture(scope="module")
def anisotropic():
    return make_phantom((70, 64, 30), (1.2, 1.2, 2.5), vessel_count=20, rng=4)


@pytest.fixture(scope="module")
def dense():
    """Dense vessels at 1 mm: small cubes are checked exactly, bigger ones go coarse."""
    return make_phantom((120, 120, 90), (1.0, 1.0, 1.0), vessel_count=30, rng=3)


@pytest.mark.parametrize("half", [(2, 2, 1), (5, 4, 2), (9, 9, 4)])
def test_cube_counts_equal_the_full_mask_also_across_the_border(anisotropic, half):
    vessel_map, vessels = _vessels_of(anisotropic, 0.9)
    rng = np.random.default_rng(0)
    # Centres anywhere, the corners included, so that many cubes cross the volume's border.
    centers = np.stack([rng.integers(0, n, 40) for n in anisotropic.image.shape], axis=1)
    centers[:3] = [(0, 0, 0), (69, 63, 29), (35, 0, 29)]
    counts = vessel_map._count_patches(centers, np.array(half))
    assert counts.tolist() == _exact_counts(vessels, centers, half)
    assert counts.sum() > 0


def test_cubes_larger_than_the_volume_are_counted_too():
    vessel_map, vessels = _vessels_of(make_phantom((12, 40, 40), (2.0, 2.0, 2.0), rng=1), 1.0)
    centers = np.array([(6, 20, 20), (1, 5, 35)])
    half = (8, 8, 8)
    counts = vessel_map._count_patches(centers, np.array(half))
    assert counts.tolist() == _exact_counts(vessels, centers, half)


@pytest.mark.parametrize(("half", "coarse"), [((3, 3, 3), False), ((8, 8, 8), True)])
def test_a_center_called_vessel_free_has_no_vessel_in_its_cube(dense, half, coarse):
    vessel_map, vessels = _vessels_of(dense, 0.9)
    rng = np.random.default_rng(1)
    inside = np.argwhere(dense.liver_mask)
    found_free = 0
    for _ in range(6):
        centers = inside[rng.integers(0, len(inside), 30)]
        counts = vessel_map.counts(centers, half)
        exact = _exact_counts(vessels, centers[: len(counts)], half)
        if counts[-1] == 0:
            found_free += 1
            assert exact[-1] == 0
        if not coarse:  # exact counts throughout: every centre passed over does collide
            assert counts[:-1].tolist() == exact[:-1]
            assert all(count > 0 for count in exact[:-1])
    assert found_free >= 1
    assert (vessel_map._coarse is not None) == coarse


def test_checking_many_tumors_together_gives_each_its_own_result(dense):
    inside = np.argwhere(dense.liver_mask)
    rng = np.random.default_rng(7)
    # Cubes of several sizes: some share a largest half-size and run in one batch.
    halves = [(4, 5, 4), (5, 4, 5), (5, 5, 5), (3, 3, 4), (8, 9, 8), (4, 4, 4)]
    searches = [(inside[rng.integers(0, len(inside), 30)], half) for half in halves]
    together = _vessels_of(dense, 0.9)[0].counts_many(searches)
    one_by_one = [_vessels_of(dense, 0.9)[0].counts(*search) for search in searches]
    assert len(together) == len(searches)
    for joint, alone in zip(together, one_by_one, strict=True):
        assert joint.tolist() == alone.tolist()
    # With a budget that keeps every check exact, the joint counts are the full mask's.
    exact_map, vessels = _vessels_of(dense, 0.9, liver_voxels=10**9)
    for (centers, half), counts in zip(searches, exact_map.counts_many(searches), strict=True):
        assert counts.tolist() == _exact_counts(vessels, centers[: len(counts)], half)
    assert exact_map._coarse is None
    assert any(counts[-1] == 0 for counts in together)
    assert any(len(counts) > 4 for counts in together)  # some needed more than one batch


@settings(max_examples=40, deadline=None)
@given(
    rows=st.integers(1, 300),
    fill=st.floats(0.0, 1.0),
    at_least=st.integers(1, 3_000_000),
    seed=st.integers(0, 1000),
)
def test_count_voxels_is_exact_below_the_limit_and_at_least_the_limit_above(
    rows, fill, at_least, seed
):
    mask = np.random.default_rng(seed).random((rows, 90, 90)) < fill
    total = int(mask.sum())
    counted = count_voxels(mask, at_least=at_least)
    if total < at_least:
        assert counted == total
    else:
        assert at_least <= counted <= total
    assert count_voxels(mask) == total


# --- choose_centers, the collision search's entry point, against the full eq. 1 mask ----------


def _candidates(phantom: Phantom, seed: int, tumors: int, tries: int) -> list[np.ndarray]:
    inside = np.argwhere(phantom.liver_mask)
    rng = np.random.default_rng(seed)
    return [inside[rng.integers(0, len(inside), tries)] for _ in range(tumors)]


@pytest.mark.parametrize("liver_voxels", [None, 10**9])
def test_choose_centers_takes_the_first_candidate_the_full_mask_calls_free(dense, liver_voxels):
    """With the default budget (coarse ranking past it) and with every check exact."""
    vessel_map, vessels = _vessels_of(dense, 0.9, liver_voxels=liver_voxels)
    halves = [(2, 2, 2), (3, 3, 3), (4, 3, 4), (6, 6, 6), (9, 9, 9), (16, 16, 16)]
    candidates = _candidates(dense, 11, len(halves), 30)
    chosen = choose_centers(candidates, halves, vessels=vessel_map, max_tries=30)
    free_seen = collided_seen = 0
    for tries, half, (center, vessel_free) in zip(candidates, halves, chosen, strict=True):
        exact = _exact_counts(vessels, tries, half)
        index = [tuple(row) for row in tries.tolist()].index(center)
        if vessel_free:
            free_seen += 1
            assert exact[index] == 0
            if liver_voxels is not None:  # exact throughout: no earlier candidate was free
                assert all(count > 0 for count in exact[:index])
        else:
            collided_seen += 1
            if liver_voxels is not None:
                assert min(exact) > 0 and exact[index] == min(exact)
    assert free_seen >= 1 and collided_seen >= 1


def test_choose_centers_without_a_vessel_map_takes_the_first_candidate(dense):
    candidates = _candidates(dense, 2, 3, 1)
    chosen = choose_centers(candidates, [(3, 3, 3)] * 3, vessels=None, max_tries=1)
    assert chosen == [(tuple(tries[0].tolist()), None) for tries in candidates]


def test_choose_centers_raises_when_asked_and_every_candidate_collides(dense):
    vessel_map, vessels = _vessels_of(dense, 0.9, liver_voxels=10**9)
    half = (12, 12, 12)
    tries = _candidates(dense, 5, 1, 8)[0]
    assert min(_exact_counts(vessels, tries, half)) > 0  # the premise: all collide
    with pytest.raises(ValueError, match="max_location_tries"):
        choose_centers([tries], [half], vessels=vessel_map, max_tries=8, fallback="raise")
