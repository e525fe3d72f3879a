"""Tests of the controllable robustness benchmark with dummy predictors (no training)."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from synthtumor import TumorConfig
from synthtumor.cli import build_parser
from synthtumor.phantom import make_phantom
from synthtumor.reference.robustness import (
    DIMENSIONS,
    SAMPLE_COLUMNS,
    SUMMARY_COLUMNS,
    Distribution,
    Scan,
    level_band,
    load_scan,
    run_benchmark,
    summary_markdown,
    training_distributions,
)


@pytest.fixture(scope="module")
def scan() -> Scan:
    phantom = make_phantom(shape=(80, 80, 56), rng=0)
    return Scan("phantom", phantom.image, phantom.liver_mask, np.diag([*phantom.spacing, 1.0]))


class Oracle:
    """Returns the truth of the last synthesized tumour (captured from ``synthtumor.apply``)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        import synthtumor

        self.truth: np.ndarray | None = None
        original = synthtumor.apply

        def capturing_apply(*args, **kwargs):
            result = original(*args, **kwargs)
            self.truth = result.label
            return result

        monkeypatch.setattr(synthtumor, "apply", capturing_apply)

    def __call__(self, image: np.ndarray, affine: np.ndarray) -> np.ndarray:
        assert self.truth is not None and self.truth.shape == image.shape
        return self.truth


def blind_model(image: np.ndarray, affine: np.ndarray) -> np.ndarray:
    return np.zeros(image.shape, np.uint8)


def test_level_bands_are_the_sigma_shells():
    distribution = Distribution(mu=3.5, sigma=1.0, low=0.0)
    assert level_band(distribution, "iid", "both") == (2.5, 4.5)
    assert level_band(distribution, "2sigma", "low") == (1.5, 2.5)
    assert level_band(distribution, "2sigma", "high") == (4.5, 5.5)
    assert level_band(distribution, "3sigma", "low") == (0.5, 1.5)
    assert level_band(distribution, "3sigma", "high") == (5.5, 6.5)
    assert level_band(Distribution(1.3, 0.5, low=1.0), "3sigma", "low") is None
    with pytest.raises(ValueError):
        level_band(distribution, "iid", "low")


def test_training_distributions_follow_the_config(scan):
    dists = training_distributions(TumorConfig(), scan)
    assert set(dists) == set(DIMENSIONS)
    # Radii 4, 8, 16, 32 mm: log2 = 2..5, mean 3.5, sd sqrt(1.25).
    assert dists["size"].mu == pytest.approx(3.5)
    assert dists["size"].sigma == pytest.approx(math.sqrt(1.25))
    assert dists["texture"].mu == pytest.approx(1.3)
    assert dists["texture"].sigma == pytest.approx(0.4 / math.sqrt(12))
    assert dists["intensity"].sigma >= 10.0
    assert 0 < dists["location"].mu < dists["location"].high
    narrow = training_distributions(TumorConfig(texture_scale=1.2, texture_mean_hu=50.0), scan)
    assert narrow["texture"].sigma == 0.0 and narrow["intensity"].mu == 50.0


def test_benchmark_with_an_oracle_and_a_blind_model(scan, tmp_path, monkeypatch):
    oracle = run_benchmark(
        Oracle(monkeypatch),
        [scan],
        tmp_path / "oracle",
        dimensions=("size", "intensity", "location"),
        repeats=1,
        seed=3,
    )
    scored = [s for s in oracle.samples if not math.isnan(s["dsc"])]
    assert len(oracle.samples) == 3 * 5
    assert scored and all(s["dsc"] == 1.0 for s in scored)
    skipped = [s for s in oracle.samples if s["skipped"]]
    # The phantom's liver cannot hold tumours of mu + 3 sigma radius (about 100 mm).
    assert any(
        s["dimension"] == "size" and s["level"] == "3sigma" and s["side"] == "high" for s in skipped
    )
    for sample in oracle.samples:
        if sample["dimension"] == "size" and "value" in sample:
            assert sample["radius_mm"] == pytest.approx(2.0 ** sample["value"])
    locations = [s for s in scored if s["dimension"] == "location"]
    assert all(s["depth_mm"] >= 0 for s in locations)

    for name in ("samples.csv", "robustness.csv", "robustness.md", "distributions.json"):
        assert (tmp_path / "oracle" / name).is_file()
    with (tmp_path / "oracle" / "robustness.csv").open(newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert tuple(rows[0]) == SUMMARY_COLUMNS
    assert {(r["dimension"], r["level"], r["side"]) for r in rows} >= {
        ("size", "iid", "both"),
        ("size", "2sigma", "low"),
        ("size", "3sigma", "both"),
    }
    with (tmp_path / "oracle" / "samples.csv").open(newline="") as stream:
        assert tuple(next(csv.reader(stream))) == SAMPLE_COLUMNS
    markdown = (tmp_path / "oracle" / "robustness.md").read_text()
    assert "μ ± 2σ" in markdown and "| size |" in markdown
    with pytest.raises(FileExistsError):
        run_benchmark(blind_model, [scan], tmp_path / "oracle", dimensions=("size",), repeats=1)

    blind_result = run_benchmark(blind_model, [scan], dimensions=("texture",), repeats=1, seed=3)
    assert {s["dsc"] for s in blind_result.samples if not s["skipped"]} == {0.0}
    assert "0.0 (n=" in summary_markdown(blind_result)


def test_same_seed_same_tumors(scan):
    def record(image, affine):
        seen.append(float(image.astype(np.float64).sum()))
        return np.zeros(image.shape, np.uint8)

    seen: list[float] = []
    run_benchmark(record, [scan], dimensions=("shape",), levels=("iid",), repeats=2, seed=5)
    first = list(seen)
    seen.clear()
    run_benchmark(record, [scan], dimensions=("shape",), levels=("iid",), repeats=2, seed=5)
    assert seen == first and first[0] != first[1]


def test_wrong_shape_and_arguments_are_refused(scan):
    with pytest.raises(ValueError, match="unknown"):
        run_benchmark(lambda i, a: i, [scan], dimensions=("colour",))
    with pytest.raises(ValueError, match="shape"):
        run_benchmark(
            lambda image, affine: np.zeros((2, 2, 2), np.uint8),
            [scan],
            dimensions=("texture",),
            levels=("iid",),
            repeats=1,
        )


def test_load_scan_and_cli_parser(shared_data):
    folder = shared_data / "abdomen-3mm"
    loaded = load_scan(folder / "ct.nii.gz", folder / "liver.nii.gz")
    assert loaded.name == "abdomen-3mm" and loaded.spacing == (3.0, 3.0, 3.0)
    assert loaded.liver.dtype == bool and loaded.liver.any()
    args = build_parser().parse_args(["robustness", "best.pt", "a.nii.gz:b.nii.gz", "-o", "out"])
    assert args.repeats == 2 and args.dimensions.split(",") == list(DIMENSIONS)
    from synthtumor.cli_errors import run_handler

    # The scan files do not exist: a clean error; handlers raise, one place maps the code.
    assert run_handler(args.handler, args) == 2


def test_load_scan_checks_the_grid_like_every_reference_command(tmp_path):
    from synthtumor.io import save_nifti
    from synthtumor.reference.scans import load_case

    phantom = make_phantom((40, 40, 24), (2.0, 2.0, 3.0), dtype=np.int16, rng=0)
    ct = save_nifti(tmp_path / "ct.nii.gz", phantom.image, affine=phantom.affine)
    liver = phantom.liver_mask.astype(np.uint8)
    same = save_nifti(tmp_path / "same.nii.gz", liver, affine=phantom.affine)
    shifted_affine = phantom.affine.copy()
    shifted_affine[0, 3] += 0.5  # half a millimetre off: another grid
    shifted = save_nifti(tmp_path / "shifted.nii.gz", liver, affine=shifted_affine)
    assert load_scan(ct, same).liver.sum() == liver.sum()
    with pytest.raises(ValueError, match="label affine differs from image affine"):
        load_scan(ct, shifted)
    case = load_case(ct)  # predict's reading: the scan alone
    assert case.labels is None and case.spacing == pytest.approx((2.0, 2.0, 3.0))
    np.testing.assert_array_equal(case.image, phantom.image)
    with pytest.raises(FileNotFoundError, match="image file not found"):
        load_case(tmp_path / "missing.nii.gz")
    tumor = liver.copy()
    tumor[liver.nonzero()[0][0], liver.nonzero()[1][0], liver.nonzero()[2][0]] = 2
    labelled = save_nifti(tmp_path / "tumor.nii.gz", tumor, affine=phantom.affine)
    with pytest.raises(ValueError, match="healthy livers"):
        load_scan(ct, labelled)
