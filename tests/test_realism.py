"""The realism measures recover known truths from drawn phantoms; the CLI and docs run.

Phantoms: a "liver" of 60 HU filling the box, a lesion of 20 HU (contrast -40), white Gaussian
noise of known std in each, and an edge that is the error function of the distance to the
lesion's smooth surface (a Gaussian blur of sigma ``s`` of a sphere of radius much larger than
``s``), sampled at voxel centres. The label is the voxel-centre voxelisation of the lesion.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage, special

import synthtumor
from synthtumor.cli import main
from synthtumor.io import load_scan, save_nifti
from synthtumor.realism import (
    NUMERIC_FIELDS,
    find_cases,
    lesion_statistics,
    summarise,
)
from synthtumor.realism.measure import ERF_10_90

LIVER_HU, LESION_HU = 60.0, 20.0
DOCS = Path(__file__).resolve().parents[1] / "docs" / "realism.md"


def _grid(spacing, extent_mm=60.0):
    counts = [round(extent_mm / s) for s in spacing]
    axes = [(np.arange(n) + 0.5) * s - n * s / 2 for n, s in zip(counts, spacing, strict=True)]
    return np.meshgrid(*axes, indexing="ij")


def _phantom(
    spacing=(1.0, 1.0, 1.0),
    *,
    radius=10.0,
    semi_axes=None,
    sigma=0.0,
    lesion_noise=0.0,
    liver_noise=0.0,
    ring_hu=0.0,
    ring_mm=2.0,
    extent_mm=60.0,
    seed=0,
):
    x, y, z = _grid(spacing, extent_mm)
    a = semi_axes or (radius, radius, radius)
    # Distance to the surface (exact for a sphere; for an ellipsoid only its sign is used).
    level = np.sqrt((x / a[0]) ** 2 + (y / a[1]) ** 2 + (z / a[2]) ** 2)
    distance = (level - 1.0) * min(a)
    inside = distance < 0
    if sigma > 0:
        image = LIVER_HU + (LESION_HU - LIVER_HU) * special.ndtr(-distance / sigma)
    else:
        image = np.where(inside, LESION_HU, LIVER_HU)
    image = image + np.where((distance >= 0) & (distance < ring_mm), ring_hu, 0.0)
    rng = np.random.default_rng(seed)
    noise = rng.normal(size=image.shape)
    image = image + noise * np.where(inside, lesion_noise, liver_noise)
    label = np.where(inside, 2, 1).astype(np.uint8)
    return image, label


def _one(image, label, spacing):
    records = lesion_statistics(image, label, spacing=spacing)
    assert len(records) == 1
    return records[0]


# --------------------------------------------------------------------------------------------
# Known truths
# --------------------------------------------------------------------------------------------


def test_sharp_sphere_contrast_noise_and_shape():
    spacing = (1.0, 1.0, 1.0)
    image, label = _phantom(spacing, lesion_noise=5.0, liver_noise=10.0)
    r = _one(image, label, spacing)
    assert r.radius_mm == pytest.approx(10.0, abs=0.2)
    assert r.volume_ml == pytest.approx(4 / 3 * math.pi * 1e3 / 1e3, rel=0.03)
    assert r.contrast_hu == pytest.approx(-40.0, abs=2.0)
    assert r.core_contrast_hu == pytest.approx(-40.0, abs=2.0)
    assert r.std_ratio == pytest.approx(0.5, abs=0.05)
    assert r.liver_std_hu == pytest.approx(10.0, rel=0.05)
    assert r.rim_hu == pytest.approx(0.0, abs=3.0)
    assert r.capsule_hu == pytest.approx(0.0, abs=3.0)
    assert r.sphericity > 0.9
    assert r.axis_ratio == pytest.approx(1.0, abs=0.03)
    assert r.position == pytest.approx((29.5, 29.5, 29.5), abs=0.1)
    # The volume is all liver or lesion: no organ surface to measure to.
    assert math.isnan(r.surface_distance_mm)


@pytest.mark.parametrize("sigma", [1.0, 1.5, 2.5])
def test_edge_width_of_a_blurred_sphere(sigma):
    spacing = (1.0, 1.0, 1.0)
    image, label = _phantom(spacing, sigma=sigma, lesion_noise=5.0, liver_noise=10.0)
    r = _one(image, label, spacing)
    # The voxel labels place the surface only to +-half a voxel (uniform): that adds
    # spacing / sqrt(12) in quadrature to the edge's sigma.
    assert r.edge_reliable
    expected = ERF_10_90 * math.sqrt(sigma**2 + 1.0 / 12)
    assert r.edge_width_mm == pytest.approx(expected, rel=0.15)
    # The blur does not reach the core (3 mm deep) by more than Phi(-3/sigma) of the step.
    assert r.core_contrast_hu == pytest.approx(-40.0, abs=40 * special.ndtr(-3 / sigma) + 1.5)


def test_edge_width_with_partial_volume():
    """Voxels that average the scene (partial volume): sigma_total^2 = sigma^2 + h^2 / 12."""
    sigma, h, k = 1.0, 1.0, 3  # k x k x k sub-samples per voxel
    fine, fine_label = _phantom((h / k,) * 3, sigma=sigma, extent_mm=48.0)
    shape = tuple(n // k for n in fine.shape)
    image = fine.reshape(shape[0], k, shape[1], k, shape[2], k).mean(axis=(1, 3, 5))
    label = (fine_label == 2).reshape(shape[0], k, shape[1], k, shape[2], k).mean(
        axis=(1, 3, 5)
    ) > 0.5
    label = np.where(label, 2, 1).astype(np.uint8)
    r = _one(image, label, (h, h, h))
    expected = ERF_10_90 * math.sqrt(sigma**2 + h**2 / 12)
    assert r.edge_reliable
    assert r.edge_width_mm == pytest.approx(expected, rel=0.15)


def test_anisotropic_spacing_recovers_the_same_physical_edge():
    sigma = 1.5
    widths = []
    for spacing in [(1.0, 1.0, 1.0), (0.8, 0.8, 2.5)]:
        image, label = _phantom(spacing, sigma=sigma, lesion_noise=5.0, liver_noise=10.0)
        r = _one(image, label, spacing)
        assert r.edge_reliable
        assert r.edge_width_mm == pytest.approx(ERF_10_90 * sigma, rel=0.15)
        assert r.radius_mm == pytest.approx(10.0, abs=0.3)
        assert r.core_contrast_hu == pytest.approx(-40.0, abs=2.0)
        widths.append(r.edge_width_mm)
    assert widths[1] == pytest.approx(widths[0], rel=0.15)


def test_no_contrast_gives_an_unreliable_edge():
    spacing = (1.0, 1.0, 1.0)
    image, label = _phantom(spacing, lesion_noise=10.0, liver_noise=10.0)
    image = np.where(label == 2, image + (LIVER_HU - LESION_HU), image)
    r = _one(image, label, spacing)
    assert r.contrast_hu == pytest.approx(0.0, abs=2.0)
    assert not r.edge_reliable


@pytest.mark.parametrize("ring", [20.0, 0.0])
def test_bright_ring_shows_in_rim_and_capsule(ring):
    spacing = (1.0, 1.0, 1.0)
    image, label = _phantom(spacing, ring_hu=ring, ring_mm=2.0, liver_noise=10.0)
    r = _one(image, label, spacing)
    tolerance = 5.0 if ring else 3.0
    assert r.rim_hu == pytest.approx(ring, abs=tolerance)
    assert r.capsule_hu == pytest.approx(ring, abs=tolerance)


def test_ellipsoid_is_less_spherical_with_axis_ratio_one_half():
    spacing = (1.0, 1.0, 1.0)
    sphere = _one(*_phantom(spacing, radius=9.0), spacing)
    image, label = _phantom(spacing, semi_axes=(18.0, 9.0, 9.0), extent_mm=64.0)
    ellipsoid = _one(image, label, spacing)
    assert ellipsoid.axis_ratio == pytest.approx(0.5, abs=0.03)
    # A 2:1 prolate spheroid has sphericity 0.93 against 1 for a sphere.
    assert ellipsoid.sphericity < sphere.sphericity - 0.03
    assert 0.85 < ellipsoid.sphericity / sphere.sphericity < 0.97


def test_correlation_length_of_smoothed_noise():
    # Gaussian-filtered white noise (kernel sigma w) has a Gaussian autocorrelation of sigma
    # w sqrt(2): it falls to 1/e at a lag of 2 w.
    spacing, w = (1.0, 1.0, 1.0), 1.5
    image, label = _phantom(spacing, radius=16.0, extent_mm=64.0)
    rng = np.random.default_rng(1)
    texture = ndimage.gaussian_filter(rng.normal(size=image.shape), w)
    texture *= 8.0 / texture.std()
    image = np.where(label == 2, image + texture, image)
    r = _one(image, label, spacing)
    assert r.correlation_length_mm == pytest.approx(2 * w, rel=0.2)
    white = _one(*_phantom(spacing, radius=16.0, extent_mm=64.0, lesion_noise=8.0), spacing)
    assert white.correlation_length_mm < 1.0  # below one voxel: uncorrelated


def test_two_lesions_and_the_distance_to_the_liver_surface():
    spacing = (1.0, 1.0, 1.0)
    x, y, z = _grid(spacing, 80.0)
    liver = np.sqrt(x**2 + y**2 + z**2) < 35
    deep = np.sqrt((x + 8) ** 2 + y**2 + z**2) < 8
    shallow = np.sqrt((x - 22) ** 2 + y**2 + z**2) < 6
    label = np.where(liver, 1, 0).astype(np.uint8)
    label[deep | shallow] = 2
    image = np.where(liver, LIVER_HU, -100.0)
    image[deep | shallow] = LESION_HU
    records = lesion_statistics(image, label, spacing=spacing)
    assert len(records) == 2
    by_x = sorted(records, key=lambda r: r.position[0])
    # Liver surface at 35 mm from the centre: 35 - 8 - 8 = 19 mm and 35 - 22 - 6 = 7 mm.
    assert by_x[0].surface_distance_mm == pytest.approx(19.0, abs=1.0)
    assert by_x[1].surface_distance_mm == pytest.approx(7.0, abs=1.0)
    assert by_x[0].radius_mm == pytest.approx(8.0, abs=0.2)
    assert by_x[1].radius_mm == pytest.approx(6.0, abs=0.2)


def test_edge_cases_run_clean_under_errstate_raise():
    spacing = (0.8, 0.8, 2.5)
    label = np.zeros((40, 40, 12), np.uint8)
    label[5:35, 5:35, 2:10] = 1
    image = np.where(label == 1, LIVER_HU, -50.0)
    label[20, 20, 6] = 2  # a single voxel
    label[0:4, 0:4, 0:3] = 2  # at the border of the array, outside the liver
    label[10:16, 25:31, 4:8] = 2  # a small block
    image = np.where(label == 2, LESION_HU, image)
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        records = lesion_statistics(image.astype(np.int16), label, spacing=spacing)
        summary = summarise(records)
    assert len(records) == 3
    for r in records:
        assert r.volume_ml > 0 and 0 < r.axis_ratio <= 1
        assert math.isnan(r.sphericity) or 0 < r.sphericity <= 1
    assert summary["volume_ml"].n == 3
    assert lesion_statistics(image, np.minimum(label, 1), spacing=spacing) == []


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"image": np.zeros((4, 4))}, ValueError, "image must be a 3-D"),
        ({"label": np.zeros((4, 4, 5))}, ValueError, "label must have the same shape"),
        ({"label": np.full((4, 4, 4), 0.5)}, ValueError, "label must hold integer"),
        ({"spacing": (1.0, -1.0, 1.0)}, ValueError, "spacing"),
        ({"spacing": "1mm"}, TypeError, "spacing"),
        ({"tumor_label": 1}, ValueError, "organ_label and tumor_label"),
        ({"organ_label": 1.5}, TypeError, "organ_label"),
        ({"image": np.full((4, 4, 4), np.nan)}, ValueError, "image contains NaN"),
    ],
)
def test_bad_input_names_the_argument(kwargs, error, match):
    arguments = {"image": np.zeros((4, 4, 4)), "label": np.ones((4, 4, 4), np.uint8)}
    arguments |= {"spacing": (1.0, 1.0, 1.0)}
    arguments |= kwargs
    image, label = arguments.pop("image"), arguments.pop("label")
    with pytest.raises(error, match=match):
        lesion_statistics(image, label, **arguments)


def test_summarise_medians_and_quartiles():
    spacing = (1.0, 1.0, 1.0)
    image, label = _phantom(spacing, sigma=1.0, liver_noise=5.0)
    [r] = lesion_statistics(image, label, spacing=spacing)
    summary = summarise([r, r, r])
    assert set(NUMERIC_FIELDS) <= set(summary)
    assert summary["radius_mm"].median == pytest.approx(r.radius_mm)
    assert summary["radius_mm"].q1 == summary["radius_mm"].q3 == pytest.approx(r.radius_mm)
    assert summary["edge_reliable_fraction"].median == 1.0
    assert summarise([])["radius_mm"].n == 0


# --------------------------------------------------------------------------------------------
# On the package's own tumours and on a real scan
# --------------------------------------------------------------------------------------------


def test_one_record_per_component_of_a_synthesized_label(phantom):
    image, label, _ = synthtumor.synthesize(
        phantom.image, phantom.liver_mask, spacing=phantom.spacing, size="medium", rng=0
    )
    _, count = ndimage.label(label == 2, structure=np.ones((3, 3, 3)))
    records = lesion_statistics(image, label, spacing=phantom.spacing)
    assert len(records) == count > 0
    for r in records:
        assert r.contrast_hu < 0 and 0.3 < r.sphericity <= 1 and 0 < r.axis_ratio <= 1
        assert r.surface_distance_mm >= 0


def test_sane_values_on_a_real_scan(shared_data):
    scan = load_scan(
        shared_data / "portal-venous-slab" / "ct.nii.gz",
        shared_data / "portal-venous-slab" / "liver.nii.gz",
    )
    image, label, params = synthtumor.synthesize(
        scan.image, scan.liver_mask, spacing=scan.spacing, size="medium", rng=0
    )
    records = lesion_statistics(image, label, spacing=scan.spacing)
    assert 1 <= len(records) <= len(params.tumors)
    for r in records:
        assert 5.0 < r.radius_mm < 40.0
        assert -150.0 < r.contrast_hu < 0.0
        assert 0.3 < r.std_ratio < 3.0
        assert 0.5 < r.correlation_length_mm < 10.0
        assert 0.3 < r.edge_width_mm < 12.0
        assert 0.3 < r.sphericity <= 1.0 and 0.1 < r.axis_ratio <= 1.0
        assert r.surface_distance_mm >= 0


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------


def _write_case(folder: Path, image_name: str, label_name: str, *, seed: int) -> None:
    image, label = _phantom((1.5, 1.5, 2.0), radius=8.0, sigma=1.0, liver_noise=8.0, seed=seed)
    folder.mkdir(parents=True, exist_ok=True)
    affine = np.diag([1.5, 1.5, 2.0, 1.0])
    save_nifti(folder / image_name, image.astype(np.int16), affine=affine)
    save_nifti(folder / label_name, label, affine=affine)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("realism")
    _write_case(root / "real" / "case_a", "ct.nii.gz", "label.nii.gz", seed=1)
    _write_case(root / "real" / "case_b", "ct.nii.gz", "label.nii.gz", seed=2)
    assert main(["demo", "-o", str(root / "synth"), "--size", "small", "--no-preview"]) == 0
    return root


def test_cli_prints_the_table_and_writes_json(folders, tmp_path, capsys):
    case = folders / "real" / "case_a"
    out = tmp_path / "records.json"
    argv = ["realism", str(case / "ct.nii.gz"), str(case / "label.nii.gz"), "--json", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "1 lesion(s)" in printed and "edge_mm" in printed
    data = json.loads(out.read_text())
    assert len(data["lesions"]) == 1 and data["spacing"] == [1.5, 1.5, 2.0]
    assert data["lesions"][0]["radius_mm"] == pytest.approx(8.0, abs=0.5)
    assert main(argv) == 2  # refuses to overwrite
    assert "already exists" in capsys.readouterr().err
    assert main([*argv, "--force"]) == 0


def test_cli_compare_writes_plot_and_summary(folders, tmp_path, capsys):
    out = tmp_path / "report"
    argv = ["realism", "--compare", str(folders / "real"), str(folders / "synth"), "-o", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert re.search(r"edge_width_mm\s+\S+ \[\S+, \S+\] \(2\)", printed)
    assert [case.name for case in find_cases(folders / "synth")] == ["synth_000"]
    summary = json.loads((out / "realism_summary.json").read_text())
    assert summary["summary"]["real"]["radius_mm"]["n"] == 2
    assert set(summary["cases"]["real"]) == {"case_a", "case_b"}
    assert summary["cases"]["synthetic"]["synth_000"]
    assert (out / "realism_comparison.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--force" in err[0]
    assert main([*argv, "--force"]) == 0


@pytest.mark.parametrize(
    "argv",
    [
        ["realism", "missing_ct.nii.gz", "missing_label.nii.gz"],
        ["realism", "--compare", "no_such_dir", "no_such_dir_2", "-o", "out"],
        ["realism"],
        ["realism", "--compare", ".", "."],
    ],
)
def test_cli_bad_input_exits_2_with_one_line(argv, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("synthtumor: error:")


def test_cli_compare_refuses_a_folder_without_cases(folders, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    argv = ["realism", "--compare", str(folders / "real"), str(empty), "-o", str(tmp_path / "o")]
    assert main(argv) == 2
    assert "holds no case" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


# --------------------------------------------------------------------------------------------
# Docs
# --------------------------------------------------------------------------------------------


def test_docs_python_blocks_run(shared_data, monkeypatch, tmp_path):
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text(), flags=re.DOTALL)
    assert blocks, f"no python block in {DOCS}"
    monkeypatch.setenv("SYNTHTUMOR_DATA", str(shared_data))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__docs__"}
    for number, block in enumerate(blocks):
        exec(compile(block, f"{DOCS.name}[block {number}]", "exec"), namespace)
