"""Whole-scan liver statistics, and synthesis on a crop that uses them."""

from __future__ import annotations

import dataclasses
import json
import pickle

import numpy as np
import pytest
import torch

from _volumes import coarse_phantom, liver_box
from synthtumor import LiverStatistics, LiverTooSmallError, liver_statistics, sample, synthesize
from synthtumor.phantom import make_phantom


@pytest.fixture(scope="module")
def scan():
    return make_phantom((112, 112, 80), (1.5, 1.5, 2.0), rng=2)


@pytest.fixture(scope="module")
def stats(scan):
    return liver_statistics(scan.image, scan.liver_mask, spacing=scan.spacing, rng=0)


def _crop_around_liver(scan, size=(48, 48, 32)):
    """A crop whose centre lies in the liver (as RandCropByPosNegLabeld's positive crops)."""
    box = liver_box(scan.liver_mask)
    center = [(s.start + s.stop) // 2 for s in box]
    lower = [
        min(max(c - n // 2, 0), full - n)
        for c, n, full in zip(center, size, scan.image.shape, strict=True)
    ]
    return tuple(slice(a, a + n) for a, n in zip(lower, size, strict=True))


def test_statistics_hold_the_whole_liver(scan, stats):
    voxels = int(scan.liver_mask.sum())
    assert stats.liver_volume_mm3 == pytest.approx(voxels * np.prod(scan.spacing))
    assert stats.spacing == scan.spacing
    assert stats.parenchyma_mean_hu == pytest.approx(60.0, abs=3.0)
    assert stats.vessel_threshold_hu == pytest.approx(stats.liver_mean_hu + 15.0)


def test_statistics_are_what_sample_measures_with_the_same_seed(scan, stats):
    params = sample(scan.image, scan.liver_mask, spacing=scan.spacing, size="small", rng=0)
    for name in (
        "liver_mean_hu",
        "parenchyma_mean_hu",
        "parenchyma_std_hu",
        "vessel_threshold_hu",
        "vessel_smoothing_mm",
    ):
        assert getattr(params, name) == getattr(stats, name)


def test_statistics_round_trip_json_pickle_and_framework_scalars(stats):
    assert LiverStatistics.from_json(stats.to_json()) == stats
    assert LiverStatistics.from_dict(json.loads(json.dumps(stats.to_dict()))) == stats
    assert pickle.loads(pickle.dumps(stats)) == stats
    data = stats.to_dict()
    assert all(isinstance(v, int | float | list) for v in data.values())
    as_numpy = {k: np.asarray(v) for k, v in data.items()}
    assert LiverStatistics.from_dict(as_numpy) == stats
    as_torch = {k: torch.as_tensor(v, dtype=torch.float64) for k, v in data.items()}
    assert LiverStatistics.from_dict(as_torch) == stats
    older = {k: v for k, v in data.items() if k not in ("liver_volume_mm3", "spacing")}
    assert LiverStatistics.from_dict(older).liver_volume_mm3 is None


def test_statistics_refuse_bad_dictionaries(stats):
    with pytest.raises(ValueError, match="unknown"):
        LiverStatistics.from_dict({**stats.to_dict(), "extra": 1.0})
    with pytest.raises(ValueError, match="missing"):
        LiverStatistics.from_dict({"liver_mean_hu": 1.0})
    with pytest.raises(TypeError, match="mapping"):
        LiverStatistics.from_dict([1, 2])
    with pytest.raises(ValueError, match="parenchyma_mean_hu"):
        dataclasses.replace(stats, parenchyma_mean_hu=float("nan"))
    with pytest.raises(ValueError, match="liver_volume_mm3"):
        dataclasses.replace(stats, liver_volume_mm3=0.0)
    with pytest.raises(ValueError, match="spacing"):
        dataclasses.replace(stats, spacing=(1.0, -1.0, 1.0))


def test_liver_statistics_refuses_bad_input(scan):
    with pytest.raises(ValueError, match="liver_mask is empty"):
        liver_statistics(scan.image, np.zeros(scan.image.shape, bool), spacing=scan.spacing)
    with pytest.raises(ValueError, match="spacing"):
        liver_statistics(scan.image, scan.liver_mask, spacing=(1.0, 1.0))
    with pytest.raises(TypeError, match="config"):
        liver_statistics(scan.image, scan.liver_mask, spacing=scan.spacing, config={})


def test_synthesis_on_a_crop_uses_the_given_statistics(scan, stats):
    crop = _crop_around_liver(scan)
    for mean in (90.0, 180.0):
        given = dataclasses.replace(stats, parenchyma_mean_hu=mean, parenchyma_std_hu=7.0)
        for seed in range(4):
            params = sample(
                scan.image[crop],
                scan.liver_mask[crop],
                spacing=scan.spacing,
                statistics=given,
                rng=seed,
            )
            assert params.parenchyma_mean_hu == mean
            assert params.vessel_threshold_hu == stats.vessel_threshold_hu
            assert params.shape == scan.image[crop].shape
            for spec in params.tumors:
                assert 30.0 <= spec.texture_mean_hu <= mean - 10.0
                assert spec.texture_std_hu == 7.0
    # Without statistics the crop is measured: its own parenchyma, not the numbers given.
    measured = sample(scan.image[crop], scan.liver_mask[crop], spacing=scan.spacing, rng=0)
    assert measured.parenchyma_mean_hu == pytest.approx(60.0, abs=5.0)


def test_sizes_are_fitted_to_the_whole_liver(scan, stats):
    """A crop holding a sliver of liver still gets a large tumour, cut at the crop's border."""
    tip = np.argwhere(scan.liver_mask)[0]  # the liver's first voxel along axis 0: its edge
    crop = tuple(slice(max(int(v) - 10, 0), int(v) + 10) for v in tip)
    liver = scan.liver_mask[crop]
    assert 0 < liver.sum() * np.prod(scan.spacing) < 100_000  # well under the 274 mL needed
    with pytest.raises(LiverTooSmallError, match="large"):
        sample(scan.image[crop], liver, spacing=scan.spacing, size="large", rng=0)
    whole = dataclasses.replace(stats, liver_volume_mm3=2.0e6)
    _, label, params = synthesize(
        scan.image[crop], liver, spacing=scan.spacing, size="large", statistics=whole, rng=0
    )
    assert params.size == "large" and label.shape == liver.shape
    tumor = label == params.tumor_label
    # Mostly in the liver: the mass effect may bulge a large tumour out of the liver's tip.
    assert tumor.any() and (tumor & liver).sum() >= 0.75 * tumor.sum()


def test_crop_synthesis_is_deterministic_and_leaves_its_inputs_alone(scan, stats):
    crop = _crop_around_liver(scan)
    image, liver = scan.image[crop].copy(), scan.liver_mask[crop].copy()
    before = image.copy(), liver.copy(), stats.to_dict()
    first = synthesize(image, liver, spacing=scan.spacing, statistics=stats, rng=11)
    again = synthesize(image, liver, spacing=scan.spacing, statistics=stats, rng=11)
    other = synthesize(image, liver, spacing=scan.spacing, statistics=stats, rng=12)
    assert np.array_equal(first.image, again.image) and np.array_equal(first.label, again.label)
    assert first.params == again.params != other.params
    assert (first.label == 2).any()
    assert np.array_equal(image, before[0]) and np.array_equal(liver, before[1])
    assert stats.to_dict() == before[2]


def test_statistics_of_the_whole_scan_given_back_to_it(scan, stats):
    """On the whole scan, given statistics replace the measurement and nothing else."""
    params = sample(
        scan.image, scan.liver_mask, spacing=scan.spacing, statistics=stats, size="mix", rng=3
    )
    assert params.parenchyma_std_hu == stats.parenchyma_std_hu
    assert {spec.size for spec in params.tumors} == {"tiny", "small", "medium", "large"}


def test_bad_statistics_and_empty_crops_are_refused(scan, stats):
    phantom = coarse_phantom()
    with pytest.raises(TypeError, match="statistics"):
        synthesize(
            phantom.image, phantom.liver_mask, spacing=phantom.spacing, statistics=stats.to_dict()
        )
    empty = np.zeros((16, 16, 16), bool)
    with pytest.raises(ValueError, match="liver_mask is empty"):
        synthesize(np.zeros(empty.shape, np.float32), empty, spacing=scan.spacing, statistics=stats)


def test_crop_synthesis_runs_under_errstate_raise(scan, stats):
    crop = _crop_around_liver(scan)
    with np.errstate(all="raise"):
        synthesize(
            scan.image[crop], scan.liver_mask[crop], spacing=scan.spacing, statistics=stats, rng=2
        )
