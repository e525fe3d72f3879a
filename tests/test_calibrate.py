"""Calibration recovers a known realistic config from scans synthesised with it.

Truth: metastasis at portal phase, ``edge_blur_mm`` 1.5 and ``texture_mean_hu`` 30 HU, medium
tumours, on six 96 x 96 x 64 phantoms of 1.5 x 1.5 x 2 mm. Tolerances: the median fitted edge
blur within 30 % of 1.5 mm, the median fitted mean within 5 HU of 30.
"""

from __future__ import annotations

import tomllib

import numpy as np
import pytest

import synthtumor
from synthtumor.calibrate import calibrate, calibrate_folder
from synthtumor.cli import main
from synthtumor.config import TumorConfig
from synthtumor.io import save_nifti
from synthtumor.phantom import make_phantom
from synthtumor.realism import lesion_statistics

SPACING = (1.5, 1.5, 2.0)
TRUE_EDGE_MM = 1.5
TRUE_MEAN_HU = 30.0


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("calibrate")
    folder = root / "cases"
    folder.mkdir()
    config = TumorConfig.realistic(
        "portal", "metastasis", edge_blur_mm=TRUE_EDGE_MM, texture_mean_hu=TRUE_MEAN_HU
    )
    affine = np.diag([*SPACING, 1.0])
    records = {}
    for k in range(6):
        phantom = make_phantom((96, 96, 64), SPACING, rng=k)
        image, label, _ = synthtumor.synthesize(
            phantom.image, phantom.liver_mask, spacing=SPACING, size="medium", config=config, rng=k
        )
        save_nifti(folder / f"case{k}_image.nii.gz", image.astype(np.int16), affine=affine)
        save_nifti(folder / f"case{k}_label.nii.gz", label.astype(np.uint8), affine=affine)
        records[f"case{k}"] = lesion_statistics(np.rint(image), label, spacing=SPACING)
        if k == 0:
            save_nifti(root / "ct.nii.gz", phantom.image.astype(np.int16), affine=affine)
            save_nifti(root / "liver.nii.gz", phantom.liver_mask.astype(np.uint8), affine=affine)
    return root, records


def test_api_recovers_edge_and_mean(data):
    _, records = data
    fit = calibrate(records, phase="portal", spacing=SPACING)
    assert fit.median["edge_blur_mm"] == pytest.approx(TRUE_EDGE_MM, rel=0.3)
    assert fit.median["texture_mean_hu"] == pytest.approx(TRUE_MEAN_HU, abs=5.0)
    low, high = fit.texture_mean_hu
    assert low <= TRUE_MEAN_HU + 5 and high >= TRUE_MEAN_HU - 5
    assert fit.edge_blur_mm[0] >= 0.1
    assert fit.size_probabilities[2] > 0.5 and sum(fit.size_probabilities) == pytest.approx(1)
    assert "medium" in fit.presets
    config = fit.to_config()
    assert config.appearance == "realistic" and config.phase == "portal"
    assert config.edge_blur_mm == fit.edge_blur_mm


def test_folder_and_cli_write_a_loadable_config(data, capsys):
    root, _ = data
    fit = calibrate_folder(root / "cases", phase="portal")
    # The texture std is fitted by simulation: the truth is the metastasis' heterogeneity,
    # 0.7-1.1 parenchyma stds (the phantoms' parenchyma std is about 15 HU).
    truth = TumorConfig.realistic("portal", "metastasis")
    parenchyma_std = synthtumor.liver_statistics(
        *(lambda p: (p.image, p.liver_mask))(make_phantom((96, 96, 64), SPACING, rng=0)),
        spacing=SPACING,
        rng=0,
    ).parenchyma_std_hu
    assert truth.texture_std_hu is None
    assert 0.4 * parenchyma_std <= fit.median["texture_std_hu"] <= 1.5 * parenchyma_std
    out = root / "tumor.toml"
    assert main(["calibrate", str(root / "cases"), "-o", str(out), "--phase", "portal"]) == 0
    loaded = TumorConfig.from_file(out)
    assert loaded == fit.to_config()
    assert tomllib.loads(out.read_text())["appearance"] == "realistic"
    args = [str(root / "ct.nii.gz"), str(root / "liver.nii.gz"), "-o", str(root / "synth")]
    argv = ["synthesize", *args, "--config", str(out), "--count", "1", "--seed", "0"]
    assert main(argv) == 0


def test_cli_errors_exit_2_with_one_line(data, tmp_path, capsys):
    root, _ = data
    (tmp_path / "empty").mkdir()
    capsys.readouterr()
    assert main(["calibrate", str(tmp_path / "empty"), "-o", str(tmp_path / "t.toml")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "holds no case" in err
    existing = tmp_path / "exists.toml"
    existing.write_text("")
    assert main(["calibrate", str(root / "cases"), "-o", str(existing)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--force" in err


def test_no_lesion_is_an_error():
    with pytest.raises(ValueError, match="no tumour lesion"):
        calibrate({"a": []}, phase="portal", spacing=SPACING)
    with pytest.raises(ValueError, match="phase"):
        calibrate({"a": []}, phase="venous", spacing=SPACING)
