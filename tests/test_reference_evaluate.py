"""Tests of synthtumor.reference.evaluate on tiny synthetic NIfTI cases."""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path

import matplotlib  # noqa: F401  (the [reference] extra: fail, never skip)
import monai  # noqa: F401
import nibabel as nib
import numpy as np
import pytest

from synthtumor.reference import evaluation_report
from synthtumor.reference.evaluate import (
    REPORT_FILES,
    compare_folders,
    evaluate_cases,
    evaluate_folder,
    pair_cases,
    paired_comparison,
    read_per_case_csv,
)

SPACING = (1.5, 1.0, 2.0)
AFFINE = np.diag([*SPACING, 1.0])
N_RESAMPLES = 200


def liver(shape=(16, 16, 12)) -> np.ndarray:
    labels = np.zeros(shape, np.uint8)
    labels[2:14, 2:14, 2:10] = 1
    return labels


def save(path: Path, labels: np.ndarray, affine: np.ndarray = AFFINE) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(labels, affine), path)


@pytest.fixture
def folders(tmp_path):
    """Four cases: perfect hit, missed tumour, false-positive blob on a healthy liver, healthy."""
    pred_dir, ref_dir = tmp_path / "pred", tmp_path / "ref"

    hit = liver()
    hit[4:8, 4:8, 4:7] = 2
    save(ref_dir / "case_hit.nii.gz", hit)
    save(pred_dir / "case_hit.nii.gz", hit)

    missed_ref = liver()
    missed_ref[4:7, 4:7, 3:5] = 2
    missed_ref[10:12, 10:12, 6:8] = 2  # a second lesion
    save(ref_dir / "case_missed.nii.gz", missed_ref)
    save(pred_dir / "case_missed.nii", liver())  # .nii pairs with .nii.gz

    fp_pred = liver()
    fp_pred[9:11, 9:11, 5:7] = 2
    save(ref_dir / "case_fp.nii.gz", liver())
    save(pred_dir / "case_fp.nii.gz", fp_pred)

    save(ref_dir / "case_healthy.nii.gz", liver())
    save(pred_dir / "case_healthy.nii.gz", liver())
    return pred_dir, ref_dir, tmp_path / "report"


def run(folders, **kwargs):
    pred_dir, ref_dir, out_dir = folders
    return evaluate_folder(pred_dir, ref_dir, out_dir, n_resamples=N_RESAMPLES, **kwargs)


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_report_files_and_per_case_rows(folders):
    summary = run(folders)
    out_dir = folders[2]
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(REPORT_FILES)
    assert summary.files == {name: out_dir / name for name in REPORT_FILES}

    rows = {row["case"]: row for row in read_csv(out_dir / "per_case.csv")}
    assert list(rows) == ["case_fp", "case_healthy", "case_hit", "case_missed"]
    header = list(next(iter(rows.values())))
    assert header[:9] == [
        "case",
        "tumor_dsc",
        "tumor_nsd",
        "liver_dsc",
        "tumor_in_reference",
        "tumor_predicted",
        "n_lesions",
        "n_detected",
        "n_false_positives",
    ]
    expected = {
        #               dsc  nsd  in_ref   predicted lesions detected fps
        "case_hit": (1.0, 1.0, "True", "True", 1, 1, 0),
        "case_missed": (0.0, 0.0, "True", "False", 2, 0, 0),
        "case_fp": (0.0, 0.0, "False", "True", 0, 0, 1),
        "case_healthy": (1.0, 1.0, "False", "False", 0, 0, 0),
    }
    for case, (dsc, nsd, in_ref, predicted, n_lesions, n_detected, n_fp) in expected.items():
        row = rows[case]
        assert float(row["tumor_dsc"]) == dsc
        assert float(row["tumor_nsd"]) == pytest.approx(nsd)
        assert float(row["liver_dsc"]) == 1.0
        assert (row["tumor_in_reference"], row["tumor_predicted"]) == (in_ref, predicted)
        assert int(row["n_lesions"]) == n_lesions
        assert int(row["n_detected"]) == n_detected
        assert int(row["n_false_positives"]) == n_fp

    lesions = read_csv(out_dir / "lesions.csv")
    assert [(row["case"], row["detected"]) for row in lesions] == [
        ("case_hit", "True"),
        ("case_missed", "False"),
        ("case_missed", "False"),
    ]
    # Spacing comes from the header: voxel volume 1.5 * 1.0 * 2.0 mm^3.
    voxel_mm3 = math.prod(SPACING)
    assert float(lesions[0]["volume_mm3"]) == pytest.approx(4 * 4 * 3 * voxel_mm3)
    assert int(lesions[0]["n_voxels"]) == 48
    assert lesions[0]["radius_bin"] == "0-5"

    assert (out_dir / "detection_by_radius.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    markdown = (out_dir / "summary.md").read_text()
    assert "Sensitivity" in markdown and "Tumour NSD" in markdown and ">=20" in markdown


def test_summary_json_fields(folders):
    run(folders)
    data = json.loads((folders[2] / "summary.json").read_text())
    assert data["n_cases"] == 4
    assert data["cases"] == ["case_fp", "case_healthy", "case_hit", "case_missed"]
    assert data["settings"]["tolerance_mm"] == 2.0
    for name, mean in [("tumor_dsc", 0.5), ("liver_dsc", 1.0), ("tumor_dsc_tumor_cases", 0.5)]:
        metric = data["metrics"][name]
        assert metric["mean"] == pytest.approx(mean)
        assert metric["ci_low"] <= metric["mean"] <= metric["ci_high"]
    assert data["metrics"]["tumor_nsd"]["n"] == 4
    assert data["metrics"]["tumor_nsd_tumor_cases"]["n"] == 2

    case_level = data["case_level_detection"]
    assert case_level["ci_method"] == "wilson"
    assert (case_level["tp"], case_level["fn"], case_level["tn"], case_level["fp"]) == (1, 1, 1, 1)
    assert case_level["sensitivity"]["value"] == 0.5
    assert case_level["specificity"]["value"] == 0.5
    assert 0.0 < case_level["sensitivity"]["ci_low"] < 0.5 < case_level["sensitivity"]["ci_high"]

    by_radius = data["detection_by_radius"]
    assert list(by_radius) == ["0-5", "5-10", "10-15", "15-20", ">=20"]
    assert by_radius["0-5"] == {"detected": 1, "total": 3, "rate": pytest.approx(1 / 3)}
    assert by_radius["5-10"] == {"detected": 0, "total": 0, "rate": None}  # NaN -> null

    false_positives = data["false_positives"]
    assert false_positives["total"] == 1
    assert false_positives["per_scan"]["mean"] == 0.25
    assert sum(false_positives["by_radius"].values()) == 1


def test_evaluation_is_deterministic(folders, tmp_path):
    pred_dir, ref_dir, out_dir = folders
    run(folders)
    evaluate_folder(pred_dir, ref_dir, tmp_path / "again", n_resamples=N_RESAMPLES)
    first = json.loads((out_dir / "summary.json").read_text())
    second = json.loads((tmp_path / "again" / "summary.json").read_text())
    assert first == second


def test_refuses_to_overwrite_without_flag(folders):
    run(folders)
    out_dir = folders[2]
    before = {name: (out_dir / name).read_bytes() for name in REPORT_FILES}
    with pytest.raises(FileExistsError, match=r"per_case\.csv"):
        run(folders, tolerance_mm=1.0)
    assert {name: (out_dir / name).read_bytes() for name in REPORT_FILES} == before

    run(folders, tolerance_mm=1.0, overwrite=True)
    data = json.loads((out_dir / "summary.json").read_text())
    assert data["settings"]["tolerance_mm"] == 1.0
    assert not list(out_dir.glob(".*.tmp"))


def test_refuses_when_any_single_report_file_exists(folders):
    out_dir = folders[2]
    out_dir.mkdir()
    (out_dir / "summary.md").write_text("keep me")
    with pytest.raises(FileExistsError, match=r"summary\.md"):
        run(folders)
    assert [p.name for p in out_dir.iterdir()] == ["summary.md"]
    assert (out_dir / "summary.md").read_text() == "keep me"


def test_failure_while_rendering_leaves_no_files(folders, monkeypatch):
    def broken_plot(_):
        raise RuntimeError("plot failed")

    monkeypatch.setattr(evaluation_report, "_detection_plot_png", broken_plot)
    with pytest.raises(RuntimeError, match="plot failed"):
        run(folders)
    out_dir = folders[2]
    assert not out_dir.exists() or not list(out_dir.iterdir())


def test_failure_while_writing_leaves_no_partial_file(folders, monkeypatch):
    calls = []

    def failing_publish(source, destination):
        calls.append((Path(source), Path(destination)))
        raise OSError("disk full")

    # The report is published by link (no overwrite) or replace (overwrite): make both fail.
    monkeypatch.setattr(os, "link", failing_publish)
    monkeypatch.setattr(os, "replace", failing_publish)
    with pytest.raises(OSError, match="disk full"):
        run(folders)
    out_dir = folders[2]
    # The temporary file sits next to its target (same file system, so publishing is atomic) ...
    assert calls and all(src.parent == dst.parent == out_dir for src, dst in calls)
    # ... and neither the target nor the temporary file is left behind.
    assert list(out_dir.iterdir()) == []


def test_mismatched_case_names_raise(folders):
    pred_dir, _, out_dir = folders
    (pred_dir / "case_healthy.nii.gz").rename(pred_dir / "case_other.nii.gz")
    with pytest.raises(ValueError, match="no prediction for case_healthy") as error:
        run(folders)
    assert "no reference for case_other" in str(error.value)
    assert not out_dir.exists()


def test_duplicate_and_missing_inputs_raise(folders, tmp_path):
    pred_dir, ref_dir, _ = folders
    save(pred_dir / "case_hit.nii", liver())
    with pytest.raises(ValueError, match="case_hit"):
        pair_cases(pred_dir, ref_dir)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no NIfTI files"):
        pair_cases(empty, ref_dir)
    with pytest.raises(ValueError, match="not a directory"):
        pair_cases(tmp_path / "absent", ref_dir)


def test_mismatched_affine_raises(folders):
    pred_dir, _, out_dir = folders
    shifted = AFFINE.copy()
    shifted[0, 3] = 0.01  # 10 micrometres: far above the 1e-3 tolerance
    save(pred_dir / "case_fp.nii.gz", liver(), shifted)
    with pytest.raises(ValueError, match="case case_fp: prediction and reference affines differ"):
        run(folders)
    assert not out_dir.exists()


def test_affine_within_tolerance_is_accepted(folders):
    pred_dir, _, _ = folders
    nudged = AFFINE.copy()
    nudged[0, 3] = 5e-4
    save(pred_dir / "case_fp.nii.gz", liver(), nudged)
    assert run(folders).n_cases == 4


def test_mismatched_shape_raises(folders):
    pred_dir, _, _ = folders
    save(pred_dir / "case_hit.nii.gz", liver((16, 16, 13)))
    with pytest.raises(ValueError, match="case case_hit: prediction shape"):
        run(folders)


def test_per_case_csv_round_trip_and_paired_comparison(folders):
    pred_dir, ref_dir, out_dir = folders
    run(folders)
    from_csv = read_per_case_csv(out_dir / "per_case.csv")
    records = evaluate_cases(pred_dir, ref_dir)
    assert [r["case"] for r in from_csv] == [r["case"] for r in records]
    for row, record in zip(from_csv, records, strict=True):
        assert row["tumor_dsc"] == record["tumor_dsc"]
        assert row["tumor_in_reference"] is record["tumor_in_reference"]
        assert row["n_lesions"] == record["n_lesions"]

    same = paired_comparison(from_csv, records, metric="tumor_dsc")
    assert same["p_value"] == 1.0 and same["mean_difference"] == 0.0
    with pytest.raises(ValueError, match="different cases"):
        paired_comparison(from_csv[1:], records)


def test_compare_folders_writes_markdown(folders, tmp_path):
    pred_dir, ref_dir, _ = folders
    worse = tmp_path / "worse"
    for path in sorted(pred_dir.iterdir()):
        save(worse / path.name, liver())  # predicts no tumour anywhere
    out_file = tmp_path / "comparison.md"
    results = compare_folders(
        pred_dir, worse, ref_dir, out_file=out_file, method="permutation", name_a="model"
    )
    assert [r["metric"] for r in results] == ["tumor_dsc", "tumor_nsd", "liver_dsc"]
    dsc = results[0]
    # Per case (fp, healthy, hit, missed): model 0, 1, 1, 0 vs no-tumour 1, 1, 0, 0.
    assert (dsc["mean_a"], dsc["mean_b"], dsc["mean_difference"]) == (0.5, 0.5, 0.0)
    assert results[2]["p_value"] == 1.0
    text = out_file.read_text()
    assert text.startswith("| Metric | model | worse |")
    assert "| Tumour DSC |" in text
    with pytest.raises(FileExistsError, match=r"comparison\.md"):
        compare_folders(pred_dir, worse, ref_dir, out_file=out_file)


# --- lesion precision, false positives, the command line --------------------------------------


def two_lesion_reference() -> np.ndarray:
    ref = liver()
    ref[3:6, 3:6, 3:5] = 2
    ref[9:12, 9:12, 6:8] = 2
    return ref


def test_a_model_that_paints_everything_does_not_look_good(tmp_path, capsys):
    from synthtumor.cli import main

    pred_dir, ref_dir = tmp_path / "pred", tmp_path / "ref"
    for index in range(2):
        ref = two_lesion_reference()
        save(ref_dir / f"case{index}.nii.gz", ref)
        save(pred_dir / f"case{index}.nii.gz", np.where(ref > 0, 2, 0).astype(np.uint8))
    assert main(["evaluate", str(pred_dir), str(ref_dir), "-o", str(tmp_path / "report")]) == 0
    headline = capsys.readouterr().out.splitlines()[-1]
    # every lesion is covered and every scan called positive ...
    assert "lesion sensitivity 1.000" in headline and "case sensitivity 1.000" in headline
    # ... but the one predicted lesion per scan is mostly liver: a false positive
    assert "lesion precision 0.000" in headline
    assert "false positives per scan 1.000" in headline
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    lesion_level = summary["lesion_level"]
    assert (lesion_level["lesions"], lesion_level["detected"]) == (4, 4)
    assert (lesion_level["predicted"], lesion_level["false_positives"]) == (2, 2)
    liver_voxels = int(np.count_nonzero(liver()))
    outside_mm3 = (liver_voxels - 2 * 18) * math.prod(SPACING)
    assert summary["false_positives"]["volume_per_scan_mm3"]["mean"] == pytest.approx(outside_mm3)
    markdown = (tmp_path / "report" / "summary.md").read_text()
    assert "| Precision | 0.000 |" in markdown and "0 of 2 predicted lesions true" in markdown


def test_precision_counts_predicted_lesions_not_voxels(tmp_path):
    ref = two_lesion_reference()
    pred = liver()
    pred[3:6, 3:6, 3:5] = 2  # exactly the first lesion
    pred[4:5, 10:11, 7:8] = 2  # a false positive that touches no lesion
    save(tmp_path / "ref" / "a.nii.gz", ref)
    save(tmp_path / "pred" / "a.nii.gz", pred)
    summary = evaluate_folder(
        tmp_path / "pred", tmp_path / "ref", tmp_path / "report", n_resamples=N_RESAMPLES
    )
    assert summary.lesion_counts == {
        "lesions": 2,
        "detected": 1,
        "predicted": 2,
        "false_positives": 1,
    }
    assert summary.lesion_precision.estimate == 0.5
    assert summary.lesion_sensitivity.estimate == 0.5
    assert summary.false_positive_volume_mm3.estimate == pytest.approx(math.prod(SPACING))


def test_min_overlap_and_min_volume_from_the_command_line(tmp_path, capsys):
    from synthtumor.cli import main

    ref = liver()
    ref[4:8, 4:8, 4:6] = 2  # 32 voxels
    pred = liver()
    pred[4:8, 4:8, 4:5] = 2  # half of it
    save(tmp_path / "ref" / "a.nii.gz", ref)
    save(tmp_path / "pred" / "a.nii.gz", pred)
    args = ["evaluate", str(tmp_path / "pred"), str(tmp_path / "ref")]
    assert main([*args, "-o", str(tmp_path / "any")]) == 0
    assert main([*args, "-o", str(tmp_path / "strict"), "--min-overlap", "0.75"]) == 0
    big = 16 * math.prod(SPACING) + 1.0  # just over the predicted volume
    assert main([*args, "-o", str(tmp_path / "big"), "--min-volume", str(big)]) == 0
    any_overlap, strict, big_only = (
        json.loads((tmp_path / name / "summary.json").read_text())
        for name in ("any", "strict", "big")
    )
    assert any_overlap["lesion_level"]["detected"] == 1
    assert strict["lesion_level"]["detected"] == 0
    assert strict["settings"]["overlap_threshold"] == 0.75
    assert any_overlap["case_level_detection"]["tp"] == 1
    assert big_only["case_level_detection"]["fn"] == 1
    assert big_only["settings"]["min_predicted_volume_mm3"] == big
    capsys.readouterr()
    assert main([*args, "-o", str(tmp_path / "bad"), "--min-overlap", "1.5"]) == 2
    assert "--min-overlap" in capsys.readouterr().err


def test_truncated_prediction_is_one_error_line(folders, capsys):
    from synthtumor.cli import main

    pred_dir, ref_dir, out_dir = folders
    path = pred_dir / "case_hit.nii.gz"
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(ValueError, match=r"case_hit\.nii\.gz could not be read"):
        run(folders)
    assert main(["evaluate", str(pred_dir), str(ref_dir), "-o", str(out_dir)]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("synthtumor: error: label map file ")
    assert "case_hit.nii.gz could not be read" in lines[0]
    assert not out_dir.exists()


def test_synthesize_layout_pairs_label_files_and_skips_images(tmp_path):
    out = tmp_path / "synth"
    save(out / "synth_000_image.nii.gz", np.zeros((16, 16, 12), np.int16))
    save(out / "synth_000_label.nii.gz", two_lesion_reference())
    save(tmp_path / "pred" / "synth_000.nii.gz", two_lesion_reference())
    ((case, pred, ref),) = pair_cases(tmp_path / "pred", out)
    assert case == "synth_000" and ref.name == "synth_000_label.nii.gz"
    assert pred.name == "synth_000.nii.gz"
