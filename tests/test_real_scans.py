"""The generator on the two real CT scans of ../shared/data (3 mm plain, 0.98 mm contrast)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from scipy import ndimage

from synthtumor import SIZE_NAMES, TumorConfig, synthesize

SCANS = ["abdomen-3mm", "portal-venous-slab"]


@lru_cache(maxsize=2)
def _load(folder: Path):
    ct = nib.load(folder / "ct.nii.gz")
    liver = nib.load(folder / "liver.nii.gz")
    spacing = tuple(float(z) for z in ct.header.get_zooms()[:3])
    return np.asanyarray(ct.dataobj), np.asanyarray(liver.dataobj), spacing


@pytest.fixture(params=SCANS)
def scan(request, shared_data):
    return _load(shared_data / request.param)


@pytest.mark.parametrize("size", SIZE_NAMES)
def test_every_preset_runs_and_puts_tumors_in_the_liver(scan, size):
    image, liver, spacing = scan
    before = image.copy()
    result, label, params = synthesize(image, liver, spacing=spacing, size=size, rng=2)
    assert np.array_equal(image, before)
    assert result.dtype == image.dtype and result.shape == image.shape
    tumor = label == params.tumor_label
    assert tumor.any() and len(params.tumors) >= 1
    # Inside the liver as the mass effect leaves it: eq. 5 moves tissue by at most
    # (gamma_max / 3) (2/3)^2 (I / 100) semi-axes, the liver's edge included, and the pushes of
    # neighbouring tumours add up.
    assert not (tumor & (label == params.background_label)).any()
    push_mm = sum(
        spec.mass_effect_radius_factor
        / 3
        * 4
        / 9
        * spec.mass_effect_intensity
        / 100
        * max(spec.semi_axes_mm)
        for spec in params.tumors
    )
    reach = int(np.ceil(push_mm / min(spacing))) + 1
    assert not (tumor & ~ndimage.binary_dilation(liver.astype(bool), iterations=reach)).any()
    assert params.parenchyma_std_hu > 0


@pytest.mark.parametrize("size", SIZE_NAMES)
def test_tumors_are_darker_than_the_liver_as_table_1_prescribes(scan, size):
    image, liver, spacing = scan
    liver = liver.astype(bool)
    liver_mean = float(image[liver].mean())
    # The capsule brightens the rim by design (eq. 8); the texture itself must be darker.
    config = TumorConfig(capsule=False)
    result, label, params = synthesize(
        image, liver, spacing=spacing, size=size, config=config, rng=3
    )
    tumor = label == params.tumor_label
    assert float(result[tumor].mean()) < liver_mean - 5.0
    for spec in params.tumors:
        assert spec.texture_mean_hu <= params.parenchyma_mean_hu - 10.0 + 1e-9
    assert params.parenchyma_mean_hu == pytest.approx(liver_mean, abs=12.0)


def test_liver_statistics_match_the_published_values(shared_data):
    """data/README.md gives liver HU 44.5 +- 16.2 and 89.3 +- 21.7; the parenchyma is close."""
    expected = {"abdomen-3mm": (44.5, 16.2), "portal-venous-slab": (89.3, 21.7)}
    for name, (mean, std) in expected.items():
        image, liver, spacing = _load(shared_data / name)
        params = synthesize(image, liver, spacing=spacing, size="tiny", rng=0).params
        assert params.liver_mean_hu == pytest.approx(mean, abs=3.0)
        assert params.parenchyma_mean_hu == pytest.approx(mean, abs=5.0)
        assert params.parenchyma_std_hu < std + 1.0


def test_integer_ct_stays_integer_and_in_range(scan):
    image, liver, spacing = scan
    result, _, _ = synthesize(image, liver, spacing=spacing, size="mix", rng=4)
    assert np.issubdtype(result.dtype, np.integer)
    limits = np.iinfo(result.dtype)
    assert result.min() >= limits.min and result.max() <= limits.max
