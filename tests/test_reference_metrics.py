"""Tests of synthtumor.reference.metrics and synthtumor.reference.stats."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import stats as scipy_stats

from synthtumor.reference.metrics import (
    RADIUS_BIN_LABELS,
    RADIUS_BINS_MM,
    Lesion,
    case_level_detection,
    case_metrics,
    detection_rate_by_radius,
    dice,
    equivalent_radius_mm,
    lesion_detection,
    normalized_surface_dice,
    radius_bin_label,
    radius_bin_labels,
)
from synthtumor.reference.stats import bootstrap_ci, paired_test, wilson_interval

ISO = (1.0, 1.0, 1.0)


def cube(shape=(20, 20, 20), start=(5, 5, 5), size=6) -> np.ndarray:
    mask = np.zeros(shape, dtype=bool)
    mask[tuple(slice(s, s + size) for s in start)] = True
    return mask


def ball(shape, center, radius_vox) -> np.ndarray:
    grid = np.indices(shape, dtype=float)
    distance2 = sum((g - c) ** 2 for g, c in zip(grid, center, strict=True))
    return distance2 <= radius_vox**2


@pytest.fixture(scope="module")
def monai():
    import monai  # the [reference] extra: a missing install must fail, not skip

    return monai


# --------------------------------------------------------------------------------------------
# dice
# --------------------------------------------------------------------------------------------


def test_dice_identical_disjoint_and_partial():
    a = cube()
    assert dice(a, a) == 1.0
    assert dice(a, np.roll(a, 10, axis=0)) == 0.0
    # 2x2x2 block vs a 2x2x1 slab inside it: |A|=8, |B|=4, |A∩B|=4 -> 8/12
    block = np.zeros((4, 4, 4), bool)
    block[:2, :2, :2] = True
    slab = np.zeros_like(block)
    slab[:2, :2, 0] = True
    assert dice(block, slab) == pytest.approx(2 / 3)
    # 3 of 8 overlapping voxels of two 8-voxel masks -> 6/16
    other = np.zeros_like(block)
    other.flat[np.flatnonzero(block)[:3]] = True
    other[3, 3, :] = True
    other[3, 2, 3] = True
    assert other.sum() == 8
    assert dice(block, other) == pytest.approx(6 / 16)
    assert dice(block.astype(np.uint8), other.astype(np.float32)) == pytest.approx(6 / 16)


def test_dice_empty_policy():
    empty = np.zeros((3, 3, 3), bool)
    full = cube((3, 3, 3), (0, 0, 0), 2)
    assert dice(empty, empty) == 1.0
    assert dice(empty, empty, empty_value=0.25) == 0.25
    assert dice(empty, full) == 0.0
    assert dice(full, empty) == 0.0


def test_dice_validation():
    a = cube()
    with pytest.raises(ValueError, match="same shape"):
        dice(a, a[:-1])
    with pytest.raises(ValueError, match="pred must be a 3-D"):
        dice(a[0], a[0])
    with pytest.raises(ValueError, match="ref must be a binary mask"):
        dice(a, a.astype(np.uint8) * 2)


# --------------------------------------------------------------------------------------------
# normalized surface dice
# --------------------------------------------------------------------------------------------


def test_nsd_identical_and_within_tolerance(monai):
    ref = cube()
    assert normalized_surface_dice(ref, ref, spacing=ISO) == pytest.approx(1.0)
    for axis in range(3):
        shifted = np.roll(ref, 1, axis=axis)
        assert normalized_surface_dice(shifted, ref, spacing=ISO) == pytest.approx(1.0)


def test_nsd_beyond_tolerance_and_tolerance_monotonic(monai):
    ref = cube()
    shifted = np.roll(ref, 4, axis=0)
    nsd = normalized_surface_dice(shifted, ref, spacing=ISO)
    assert 0.0 < nsd < 1.0
    tighter = normalized_surface_dice(shifted, ref, spacing=ISO, tolerance_mm=1.0)
    looser = normalized_surface_dice(shifted, ref, spacing=ISO, tolerance_mm=4.0)
    assert tighter < nsd < looser
    assert looser == pytest.approx(1.0)


def test_nsd_tolerance_is_in_millimetres(monai):
    ref = cube()
    shifted = np.roll(ref, 3, axis=1)
    at_1mm = normalized_surface_dice(shifted, ref, spacing=ISO, tolerance_mm=2.0)
    at_2mm = normalized_surface_dice(shifted, ref, spacing=(2.0, 2.0, 2.0), tolerance_mm=4.0)
    assert at_2mm == pytest.approx(at_1mm, abs=1e-5)
    assert normalized_surface_dice(shifted, ref, spacing=(2.0, 2.0, 2.0)) < at_1mm


def test_nsd_anisotropic_spacing(monai):
    ref = cube()
    spacing = (3.0, 1.0, 1.0)
    # One voxel along the 3 mm axis moves the surface 3 mm > 2 mm tolerance ...
    along_coarse = normalized_surface_dice(np.roll(ref, 1, axis=0), ref, spacing=spacing)
    assert 0.0 < along_coarse < 1.0
    # ... while one voxel along a 1 mm axis stays within it.
    along_fine = normalized_surface_dice(np.roll(ref, 1, axis=1), ref, spacing=spacing)
    assert along_fine == pytest.approx(1.0)


def test_nsd_uses_subvoxel_surfaces(monai):
    # A one-voxel-thick plate shifted by one voxel along a 3 mm axis. With sub-voxel surfaces
    # (between voxels) both plates share the face between them (distance 0) and their outer faces
    # are 3 mm apart, so by symmetry exactly half of the surface area is within 2 mm. Edge-voxel
    # surfaces (use_subvoxels=False) would put every surface point 3 mm away and give 0.
    ref = np.zeros((14, 14, 12), bool)
    ref[2:12, 2:12, 5] = True
    pred = np.roll(ref, 1, axis=2)
    assert normalized_surface_dice(pred, ref, spacing=(1.0, 1.0, 3.0)) == pytest.approx(0.5)


def test_nsd_mask_touching_border_matches_padded(monai):
    ref = cube((10, 10, 10), (0, 0, 0), 5)
    pred = cube((10, 10, 10), (0, 0, 0), 4)
    padded = normalized_surface_dice(np.pad(pred, 3), np.pad(ref, 3), spacing=ISO, tolerance_mm=0.5)
    assert normalized_surface_dice(pred, ref, spacing=ISO, tolerance_mm=0.5) == pytest.approx(
        padded
    )
    assert padded < 1.0


def test_nsd_empty_policy_without_warnings():
    empty = np.zeros((8, 8, 8), bool)
    full = cube((8, 8, 8), (2, 2, 2), 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert normalized_surface_dice(empty, empty, spacing=ISO) == 1.0
        assert normalized_surface_dice(empty, empty, spacing=ISO, empty_value=0.0) == 0.0
        assert normalized_surface_dice(empty, full, spacing=ISO) == 0.0
        assert normalized_surface_dice(full, empty, spacing=ISO) == 0.0


def test_nsd_leaks_no_monai_warnings(monai):
    ref = cube()
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        warnings.simplefilter("error", UserWarning)
        normalized_surface_dice(np.roll(ref, 3, axis=2), ref, spacing=ISO)


@pytest.mark.parametrize(
    "spacing",
    [
        (1.0, 1.0),
        (1.0, 1.0, 1.0, 1.0),
        (1.0, 0.0, 1.0),
        (1.0, -1.0, 1.0),
        (1.0, math.nan, 1.0),
        (math.inf, 1.0, 1.0),
        ("a", 1.0, 1.0),
        1.0,
    ],
)
def test_nsd_rejects_bad_spacing(spacing):
    a = cube()
    with pytest.raises(ValueError, match="spacing"):
        normalized_surface_dice(a, a, spacing=spacing)


def test_nsd_rejects_bad_tolerance_and_shapes():
    a = cube()
    with pytest.raises(ValueError, match="tolerance_mm"):
        normalized_surface_dice(a, a, spacing=ISO, tolerance_mm=-1.0)
    with pytest.raises(ValueError, match="same shape"):
        normalized_surface_dice(a, a[:, :-1], spacing=ISO)
    with pytest.raises(ValueError, match="ref must be a 3-D"):
        normalized_surface_dice(a, a[None], spacing=ISO)


# --------------------------------------------------------------------------------------------
# lesion detection
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_lesions():
    """Reference with 3 mm and 12 mm spheres; prediction hits only the big one plus an FP."""
    shape = (40, 40, 64)
    big = ball(shape, (20, 20, 20), 12)
    small = ball(shape, (20, 20, 52), 3)
    ref = big | small
    pred = ball(shape, (20, 20, 20), 4)  # inside the big lesion only
    pred[1:4, 1:4, 58:61] = True  # 27-voxel blob touching no lesion
    return pred, ref


def test_lesion_radii_detection_and_false_positives(two_lesions):
    pred, ref = two_lesions
    result = lesion_detection(pred, ref, spacing=ISO)
    small, big = sorted(result.lesions, key=lambda lesion: lesion.radius_mm)
    assert small.radius_mm == pytest.approx(3.0, rel=0.1)
    assert big.radius_mm == pytest.approx(12.0, rel=0.1)
    assert small.volume_mm3 == small.n_voxels
    assert (small.detected, big.detected) == (False, True)
    assert small.overlap_fraction == 0.0
    assert big.overlap_fraction == pytest.approx(ball((9, 9, 9), (4, 4, 4), 4).sum() / big.n_voxels)
    assert result.n_lesions == 2 and result.n_detected == 1
    assert result.n_false_positives == 1
    assert result.false_positive_radii_mm[0] == pytest.approx(equivalent_radius_mm(27.0))

    rates = detection_rate_by_radius(result.lesions)
    assert list(rates) == list(RADIUS_BIN_LABELS)
    assert rates["0-5"] == (0, 1, 0.0)
    assert rates["10-15"] == (1, 1, 1.0)
    for label in ("5-10", "15-20", ">=20"):
        detected, total, rate = rates[label]
        assert (detected, total) == (0, 0) and math.isnan(rate)


def test_lesion_overlap_threshold(two_lesions):
    pred, ref = two_lesions
    strict = lesion_detection(pred, ref, spacing=ISO, overlap_threshold=0.5)
    assert not any(lesion.detected for lesion in strict.lesions)
    # The prediction inside the big lesion still touches it, so it is not a false positive.
    assert strict.n_false_positives == 1
    generous = lesion_detection(pred, ref, spacing=ISO, overlap_threshold=0.01)
    assert generous.n_detected == 1
    with pytest.raises(ValueError, match="overlap_threshold"):
        lesion_detection(pred, ref, spacing=ISO, overlap_threshold=1.5)


def test_lesions_are_26_connected_and_use_spacing():
    ref = np.zeros((6, 6, 6), bool)
    ref[1, 1, 1] = ref[2, 2, 2] = True  # corner neighbours: one lesion
    ref[4:6, 4:6, 4:6] = True
    result = lesion_detection(np.zeros_like(ref), ref, spacing=(1.0, 2.0, 3.0))
    assert [lesion.n_voxels for lesion in result.lesions] == [2, 8]
    assert [lesion.volume_mm3 for lesion in result.lesions] == [12.0, 48.0]
    assert result.n_detected == 0 and result.n_false_positives == 0


def test_radius_bins():
    assert radius_bin_labels(RADIUS_BINS_MM) == RADIUS_BIN_LABELS
    assert radius_bin_label(4.999) == "0-5"
    assert radius_bin_label(5.0) == "5-10"  # bins are half-open [low, high)
    assert radius_bin_label(20.0) == ">=20"
    assert radius_bin_label(1e6) == ">=20"
    bins = ((0.0, 10.0), (10.0, 20.0))
    lesions = [
        Lesion(1, 1, 1.0, 2.0, 1.0, True),
        Lesion(2, 1, 1.0, 9.0, 0.0, False),
        Lesion(3, 1, 1.0, 15.0, 1.0, True),
        Lesion(4, 1, 1.0, 25.0, 1.0, True),  # outside every bin: not counted
    ]
    assert detection_rate_by_radius(lesions, bins) == {"0-10": (1, 2, 0.5), "10-20": (1, 1, 1.0)}
    with pytest.raises(ValueError, match="bins"):
        radius_bin_labels(((5.0, 1.0),))


# --------------------------------------------------------------------------------------------
# case metrics and case-level detection
# --------------------------------------------------------------------------------------------


def liver_with_tumor(liver_label=1, tumor_label=2) -> np.ndarray:
    labels = np.zeros((16, 16, 16), np.int16)
    labels[2:14, 2:14, 2:14] = liver_label
    labels[5:9, 5:9, 5:9] = tumor_label
    return labels


def test_case_metrics_liver_region_includes_tumor(monai):
    ref = liver_with_tumor()
    missed = np.where(ref == 2, 1, ref)  # tumour predicted as liver
    record = case_metrics(missed, ref, spacing=(1.0, 1.0, 2.0))
    assert record["liver_dsc"] == 1.0
    assert record["tumor_dsc"] == 0.0
    assert record["tumor_nsd"] == 0.0
    assert record["tumor_in_reference"] is True
    assert record["tumor_predicted"] is False
    assert record["reference_tumor_volume_mm3"] == 64 * 2.0
    assert record["predicted_tumor_volume_mm3"] == 0.0
    assert (record["n_lesions"], record["n_detected"], record["n_false_positives"]) == (1, 0, 0)

    perfect = case_metrics(ref, ref, spacing=(1.0, 1.0, 2.0))
    assert perfect["tumor_dsc"] == perfect["tumor_nsd"] == perfect["liver_dsc"] == 1.0
    assert perfect["n_detected"] == 1


def test_case_metrics_custom_labels_and_healthy_case(monai):
    ref = liver_with_tumor(liver_label=3, tumor_label=7)
    record = case_metrics(ref, ref, spacing=ISO, liver_label=3, tumor_label=7)
    assert record["tumor_dsc"] == 1.0 and record["n_lesions"] == 1
    healthy = np.where(ref == 7, 3, ref)
    record = case_metrics(healthy, healthy, spacing=ISO, liver_label=3, tumor_label=7)
    assert record["tumor_dsc"] == 1.0 and record["tumor_nsd"] == 1.0  # both empty
    assert record["tumor_in_reference"] is False and record["n_lesions"] == 0


def test_case_metrics_validation():
    ref = liver_with_tumor()
    with pytest.raises(ValueError, match="liver_label and tumor_label"):
        case_metrics(ref, ref, spacing=ISO, liver_label=2, tumor_label=2)
    with pytest.raises(ValueError, match="pred_label and ref_label must have the same shape"):
        case_metrics(ref[1:], ref, spacing=ISO)
    with pytest.raises(ValueError, match="ref_label must be a 3-D"):
        case_metrics(ref, ref[0], spacing=ISO)
    with pytest.raises(ValueError, match="spacing"):
        case_metrics(ref, ref, spacing=(1.0, 1.0))
    with pytest.raises(ValueError, match="tolerance_mm"):
        case_metrics(ref, ref, spacing=ISO, tolerance_mm=-0.1)
    with pytest.raises(ValueError, match="integer labels"):
        case_metrics(ref + 0.5, ref, spacing=ISO)


def test_case_level_detection_counts():
    def record(tumor, volume):
        return {"tumor_in_reference": tumor, "predicted_tumor_volume_mm3": volume}

    records = [
        record(True, 100.0),  # tp
        record(True, 5.0),  # tp, or fn with a 10 mm^3 minimum
        record(True, 0.0),  # fn
        record(False, 0.0),  # tn
        record(False, 8.0),  # fp, or tn with a 10 mm^3 minimum
    ]
    assert case_level_detection(records) == {
        "sensitivity": 2 / 3,
        "specificity": 0.5,
        "tp": 2,
        "fn": 1,
        "tn": 1,
        "fp": 1,
    }
    strict = case_level_detection(records, min_predicted_volume_mm3=10.0)
    assert (strict["tp"], strict["fn"], strict["tn"], strict["fp"]) == (1, 2, 2, 0)
    only_healthy = case_level_detection([record(False, 0.0)])
    assert math.isnan(only_healthy["sensitivity"]) and only_healthy["specificity"] == 1.0
    with pytest.raises(ValueError, match="min_predicted_volume_mm3"):
        case_level_detection(records, min_predicted_volume_mm3=-1.0)


# --------------------------------------------------------------------------------------------
# stats
# --------------------------------------------------------------------------------------------


def test_bootstrap_ci_contains_mean_narrows_and_is_deterministic():
    rng = np.random.default_rng(123)
    small = rng.normal(0.7, 0.1, size=20)
    large = rng.normal(0.7, 0.1, size=2000)
    estimate, low, high = bootstrap_ci(small, n_resamples=2000, rng=0)
    assert estimate == pytest.approx(small.mean())
    assert low < estimate < high
    _, low_large, high_large = bootstrap_ci(large, n_resamples=2000, rng=0)
    assert high_large - low_large < (high - low) / 3
    # The percentile interval of a mean is close to mean ± 1.96 standard errors.
    half_width = 1.96 * large.std(ddof=1) / math.sqrt(large.size)
    assert (high_large - low_large) / 2 == pytest.approx(half_width, rel=0.15)

    assert bootstrap_ci(small, n_resamples=500, rng=7) == bootstrap_ci(
        small, n_resamples=500, rng=7
    )
    assert bootstrap_ci(small, n_resamples=500, rng=7) != bootstrap_ci(
        small, n_resamples=500, rng=8
    )


def test_bootstrap_ci_nan_handling_and_options():
    values = np.array([0.2, 0.4, 0.9, 0.5, 0.7])
    with_nan = np.insert(values, 2, np.nan)
    assert bootstrap_ci(with_nan, n_resamples=300, rng=1) == bootstrap_ci(
        values, n_resamples=300, rng=1
    )
    assert all(math.isnan(x) for x in bootstrap_ci([math.nan, math.nan]))
    single = bootstrap_ci([0.3, math.nan])
    assert single.estimate == 0.3 and math.isnan(single.low) and math.isnan(single.high)
    narrow = bootstrap_ci(values, confidence=0.5, n_resamples=2000, rng=0)
    wide = bootstrap_ci(values, confidence=0.99, n_resamples=2000, rng=0)
    assert wide.low < narrow.low < narrow.high < wide.high
    median = bootstrap_ci(values, statistic=np.median, n_resamples=300, rng=0)
    assert median.estimate == 0.5
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_ci(values, confidence=1.0)
    with pytest.raises(ValueError, match="n_resamples"):
        bootstrap_ci(values, n_resamples=0)


def test_wilson_interval_matches_scipy():
    for successes, total in [(0, 5), (3, 10), (10, 10), (45, 50)]:
        expected = scipy_stats.binomtest(successes, total).proportion_ci(0.95, method="wilson")
        estimate, low, high = wilson_interval(successes, total)
        assert estimate == successes / total
        assert (low, high) == pytest.approx((expected.low, expected.high), abs=1e-9)
    assert all(math.isnan(x) for x in wilson_interval(0, 0))
    with pytest.raises(ValueError, match="successes"):
        wilson_interval(3, 2)


@pytest.mark.parametrize("method", ["wilcoxon", "permutation", "t"])
def test_paired_test_identical_and_shifted(method):
    rng = np.random.default_rng(5)
    b = rng.uniform(0.5, 0.8, size=20)
    same = paired_test(b, b.copy(), method=method, rng=0)
    assert same["p_value"] == 1.0 and same["mean_difference"] == 0.0 and same["n"] == 20
    a = b + 0.1 + rng.normal(0.0, 0.02, size=20)
    shifted = paired_test(a, b, method=method, rng=0)
    assert shifted["p_value"] < 1e-3
    assert shifted["mean_difference"] == pytest.approx(float(np.mean(a - b)))
    # No real difference: noise only, so the p-value must not be small.
    noise = paired_test(b + rng.normal(0.0, 0.02, size=20), b, method=method, rng=0)
    assert noise["p_value"] > 0.01


def test_paired_test_matches_scipy_and_exact_permutation():
    a = np.array([0.81, 0.72, 0.93, 0.64, 0.85, 0.70, 0.55, 0.90])
    b = a - np.array([0.05, 0.10, -0.02, 0.07, 0.03, 0.04, 0.08, 0.01])
    assert paired_test(a, b, method="t")["p_value"] == pytest.approx(
        scipy_stats.ttest_rel(a, b).pvalue
    )
    assert paired_test(a, b)["p_value"] == pytest.approx(scipy_stats.wilcoxon(a - b).pvalue)
    exact = paired_test(a, b, method="permutation")
    # Brute force over all 2**8 sign patterns.
    d = a - b
    signs = np.array(np.meshgrid(*[[-1, 1]] * d.size)).reshape(d.size, -1).T
    null = np.abs((signs * d).mean(axis=1))
    assert exact["p_value"] == pytest.approx(np.mean(null >= abs(d.mean()) - 1e-12))
    # Monte Carlo path (2**8 > 100 resamples) is deterministic per seed and close to exact.
    sampled = paired_test(a, b, method="permutation", n_resamples=100, rng=3)
    assert sampled == paired_test(a, b, method="permutation", n_resamples=100, rng=3)
    assert sampled["p_value"] >= 1 / 101


def test_paired_test_validation():
    with pytest.raises(ValueError, match="equal lengths"):
        paired_test([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="at least 2"):
        paired_test([1.0], [2.0])
    with pytest.raises(ValueError, match="at least 2"):
        paired_test([1.0, math.nan], [2.0, 3.0])
    with pytest.raises(ValueError, match="method"):
        paired_test([1.0, 2.0], [2.0, 3.0], method="sign")  # type: ignore[arg-type]


# Numbers of the hand-written implementations that scipy.stats replaced (same inputs, seeds).
_CASES = [0.61, 0.72, 0.55, 0.8, 0.9, 0.67, 0.74, 0.58, 0.83, 0.7]


def test_bootstrap_ci_gives_the_hand_written_numbers():
    # The old vectorised resampling drew default_rng(seed).integers(0, n, (resamples, n)), as
    # scipy.stats.bootstrap does, so the intervals agree exactly.
    assert tuple(bootstrap_ci(_CASES, n_resamples=2000, rng=0)) == pytest.approx(
        (0.71, 0.645, 0.776), abs=1e-12
    )
    assert tuple(bootstrap_ci(_CASES, n_resamples=2000, rng=0, statistic=np.median)) == (
        pytest.approx((0.71, 0.61, 0.8), abs=1e-12)
    )
    assert tuple(bootstrap_ci(_CASES, confidence=0.9, n_resamples=500, rng=5)) == (
        pytest.approx((0.71, 0.65395, 0.766), abs=1e-12)
    )


def test_wilson_interval_gives_the_hand_written_numbers():
    old = {
        (0, 5): (0.0, 0.43448246478317476),
        (7, 10): (0.39677814746114537, 0.8922087325936989),
        (10, 10): (0.7224672001371107, 0.9999999999999999),
        (1, 3): (0.06149194472039621, 0.7923403991979522),
    }
    for (successes, total), bounds in old.items():
        assert tuple(wilson_interval(successes, total))[1:] == pytest.approx(bounds, abs=1e-12)


def test_exact_sign_flip_gives_the_hand_written_p_value():
    a = np.array([0.8, 0.75, 0.9, 0.6, 0.85, 0.7, 0.95, 0.65, 0.72, 0.81])
    b = a - np.array([0.1, -0.05, 0.02, 0.03, -0.01, 0.04, 0.0, 0.06, -0.02, 0.05])
    assert paired_test(a, b, method="permutation")["p_value"] == 0.16796875  # 172 / 1024
    # The random path draws other sign patterns than the old code: same estimator, other
    # numbers, within Monte Carlo error of the exact value (sd about 0.017 at 500 draws).
    sampled = paired_test(a, b, method="permutation", n_resamples=500, rng=3)["p_value"]
    assert sampled != 0.16796875 and abs(sampled - 0.16796875) < 0.05
