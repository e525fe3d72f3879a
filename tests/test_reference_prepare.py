"""Tests of ``synthtumor prepare`` (synthtumor.reference.prepare and its CLI handler)."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from synthtumor.cli import main
from synthtumor.reference.prepare import (
    LabelMapping,
    find_cases,
    fold_split,
    link_part,
    load_datalist,
    make_folds,
    map_labels,
    prepare_dataset,
    read_csv_cases,
)

AFFINE = np.diag([1.5, 1.5, 2.0, 1.0])
SHAPE = (12, 10, 8)


def save(path: Path, data: np.ndarray, affine: np.ndarray = AFFINE) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(data, affine), path)
    return path


def ct() -> np.ndarray:
    return np.full(SHAPE, 40, np.int16)


def label(*, tumor: bool = False, liver_value: int = 1, tumor_value: int = 2) -> np.ndarray:
    labels = np.zeros(SHAPE, np.uint8)
    labels[2:10, 2:8, 2:6] = liver_value
    if tumor:
        labels[4:6, 4:6, 3:5] = tumor_value
    return labels


def images_labels_folder(root: Path, n: int, tumor_cases: int = 0) -> Path:
    for i in range(n):
        save(root / "images" / f"case{i:02d}_0000.nii.gz", ct())
        save(root / "labels" / f"case{i:02d}.nii.gz", label(tumor=i < tumor_cases))
    return root


def digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def run_cli(argv: list[str]) -> int:
    return main(argv)


# --- layouts --------------------------------------------------------------------------------


def test_images_labels_layout_strips_nnunet_channel_suffix(tmp_path):
    images_labels_folder(tmp_path, 3)
    cases = find_cases(tmp_path)
    assert [c.case for c in cases] == ["case00", "case01", "case02"]
    assert cases[0].image.name == "case00_0000.nii.gz"


def test_case_folder_layout_and_label_name_choice(tmp_path):
    for name in ("a", "b"):
        save(tmp_path / name / "ct.nii.gz", ct())
        save(tmp_path / name / "liver.nii.gz", label())
        save(tmp_path / name / "organs.nii.gz", label(liver_value=5))
    assert [c.label.name for c in find_cases(tmp_path)] == ["liver.nii.gz"] * 2
    organs = find_cases(tmp_path, label_names=["organs"])
    assert [c.label.name for c in organs] == ["organs.nii.gz"] * 2


def test_missing_partner_is_reported(tmp_path):
    images_labels_folder(tmp_path, 2)
    (tmp_path / "labels" / "case01.nii.gz").unlink()
    with pytest.raises(ValueError, match="case01"):
        find_cases(tmp_path)
    (tmp_path / "images" / "case01_0000.nii.gz").unlink()
    (tmp_path / "images").rename(tmp_path / "scans")
    with pytest.raises(ValueError, match="no cases found"):
        find_cases(tmp_path)


def test_csv_with_fixed_split(tmp_path):
    data = tmp_path / "data"
    rows = []
    for i, split in enumerate(["train", "train", "val", "test"]):
        save(data / f"s{i}.nii.gz", ct())
        save(data / f"m{i}.nii.gz", label(tumor=i == 3))
        rows.append({"image": f"data/s{i}.nii.gz", "label": f"data/m{i}.nii.gz", "split": split})
    table = tmp_path / "cases.csv"
    with table.open("w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=["image", "label", "split"])
        writer.writeheader()
        writer.writerows(rows)
    assert [c.split for c in read_csv_cases(table)] == ["train", "train", "validation", "test"]
    datalist = load_datalist(prepare_dataset(table, tmp_path / "out"))
    assert datalist["folds"]["n_folds"] == 1
    split = fold_split(datalist, 0)
    assert [e["case"] for e in split["train"]] == ["s0", "s1"]
    assert [e["case"] for e in split["validation"]] == ["s2"]
    assert [(e["case"], e["has_tumor"]) for e in split["test"]] == [("s3", True)]


# --- mapping and checks ---------------------------------------------------------------------


def test_map_labels_totalsegmentator_and_lits():
    organs = np.array([0, 1, 2, 5, 5, 6])
    np.testing.assert_array_equal(
        map_labels(organs, LabelMapping(liver_values=(5,), tumor_values=())), [0, 0, 0, 1, 1, 0]
    )
    lits = np.array([0.0, 1.0, 2.0])
    np.testing.assert_array_equal(map_labels(lits, LabelMapping()), [0, 1, 2])
    with pytest.raises(ValueError, match="both liver and tumour"):
        LabelMapping(liver_values=(1,), tumor_values=(1,))
    with pytest.raises(ValueError, match="non-integer"):
        map_labels(np.array([0.5]), LabelMapping())


def test_prepare_writes_mapped_labels_and_flags_tumors(tmp_path):
    source = images_labels_folder(tmp_path / "src", 6, tumor_cases=2)
    before = digest(source)
    path = prepare_dataset(source, tmp_path / "out", n_folds=3, seed=1)
    assert digest(source) == before  # inputs untouched
    datalist = load_datalist(path)
    assert datalist["numTraining"] == 6 and datalist["numWithTumor"] == 2
    assert datalist["label_mapping"] == {"liver_values": [1], "tumor_values": [2]}
    assert datalist["labels"] == {"0": "background", "1": "liver", "2": "tumor"}
    for entry in datalist["training"]:
        mapped = nib.load(entry["label"])
        assert mapped.get_data_dtype() == np.uint8
        np.testing.assert_array_equal(mapped.affine, AFFINE)
        values = set(np.unique(np.asanyarray(mapped.dataobj)).tolist())
        assert values == ({0, 1, 2} if entry["has_tumor"] else {0, 1})
        assert entry["has_tumor"] == (entry["tumor_voxels"] > 0)
        assert entry["shape"] == list(SHAPE) and entry["spacing"] == [1.5, 1.5, 2.0]
    # No temporary or staging files are left behind.
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["datalist.json", "labels"]
    assert len(list((tmp_path / "out" / "labels").iterdir())) == 6


def test_totalsegmentator_class_map_needs_liver_values(tmp_path, shared_data):
    source = tmp_path / "src"
    organs = shared_data / "abdomen-3mm" / "organs.nii.gz"
    (source / "abdomen").mkdir(parents=True)
    (source / "abdomen" / "ct.nii.gz").symlink_to(shared_data / "abdomen-3mm" / "ct.nii.gz")
    (source / "abdomen" / "organs.nii.gz").symlink_to(organs)
    path = prepare_dataset(
        source, tmp_path / "out", liver_values=(5,), label_names=["organs"], with_test=False
    )
    entry = load_datalist(path)["training"][0]
    assert entry["has_tumor"] is False  # value 2 (a kidney) is not taken for tumour
    reference = np.asanyarray(nib.load(shared_data / "abdomen-3mm" / "liver.nii.gz").dataobj)
    np.testing.assert_array_equal(np.asanyarray(nib.load(entry["label"]).dataobj), reference)
    with pytest.raises(ValueError, match="no liver voxel"):
        prepare_dataset(
            source, tmp_path / "out1", liver_values=(42,), label_names=["organs"], with_test=False
        )


def test_shape_and_affine_mismatches_are_listed(tmp_path):
    source = images_labels_folder(tmp_path / "src", 5)
    save(source / "labels" / "case01.nii.gz", label()[:-1])
    shifted = AFFINE.copy()
    shifted[0, 3] = 0.5
    save(source / "labels" / "case02.nii.gz", label(), affine=shifted)
    with pytest.raises(ValueError, match="2 case") as error:
        prepare_dataset(source, tmp_path / "out", n_folds=2)
    message = str(error.value)
    assert "case01: label shape" in message and "case02: label affine" in message
    assert not (tmp_path / "out" / "datalist.json").exists()
    assert not list((tmp_path / "out" / "labels").glob("*.nii.gz"))
    with pytest.warns(UserWarning, match="leaving out 2 case"):
        path = prepare_dataset(source, tmp_path / "out", n_folds=3, skip_invalid=True)
    assert [e["case"] for e in load_datalist(path)["training"]] == ["case00", "case03", "case04"]


def test_no_overwrite_without_force(tmp_path):
    source = images_labels_folder(tmp_path / "src", 4)
    path = prepare_dataset(source, tmp_path / "out", n_folds=2)
    first = path.read_bytes()
    with pytest.raises(FileExistsError, match="--force"):
        prepare_dataset(source, tmp_path / "out", n_folds=2, seed=5)
    assert path.read_bytes() == first
    prepare_dataset(source, tmp_path / "out", n_folds=2, seed=5, overwrite=True)
    assert json.loads(path.read_text())["folds"]["seed"] == 5


# --- folds ----------------------------------------------------------------------------------


def test_folds_partition_cases_with_disjoint_parts():
    cases = [f"c{i:02d}" for i in range(23)]
    has_tumor = [i % 3 == 0 for i in range(23)]
    folds = make_folds(cases, has_tumor, n_folds=5, seed=7, validation_fraction=0.2)
    assert len(folds) == 5
    assert sorted(c for f in folds for c in f["test"]) == cases
    for fold in folds:
        parts = [set(fold[p]) for p in ("train", "validation", "test")]
        assert set.union(*parts) == set(cases)
        assert sum(len(p) for p in parts) == len(cases)
        assert len(fold["validation"]) == round(0.2 * (23 - len(fold["test"])))
        tumor_in_test = sum(has_tumor[cases.index(c)] for c in fold["test"])
        assert tumor_in_test in (1, 2)  # 8 tumour cases spread over 5 folds
    assert make_folds(cases, has_tumor, n_folds=5, seed=7) == folds
    assert make_folds(cases, has_tumor, n_folds=5, seed=8) != folds


def test_folds_without_test_and_too_few_cases():
    (only,) = make_folds(list("abcde"), [False] * 5, with_test=False, validation_fraction=0.4)
    assert only["test"] == [] and len(only["validation"]) == 2 and len(only["train"]) == 3
    with pytest.raises(ValueError, match="too few"):
        make_folds(list("abc"), [False] * 3, n_folds=5)
    with pytest.raises(ValueError, match="leaves 1 case"):
        make_folds(list("ab"), [False] * 2, n_folds=2)


def test_link_part_gathers_the_test_references(tmp_path):
    source = images_labels_folder(tmp_path / "src", 5)
    path = prepare_dataset(source, tmp_path / "out", n_folds=5)
    test_cases = [e["case"] for e in fold_split(load_datalist(path), 2)["test"]]
    linked = link_part(path, tmp_path / "ref", fold=2, part="test")
    assert [p.name for p in linked] == [f"{c}.nii.gz" for c in test_cases]
    assert nib.load(linked[0]).shape == SHAPE
    with pytest.raises(FileExistsError):
        link_part(path, tmp_path / "ref", fold=2, part="test")


# --- command line ---------------------------------------------------------------------------


def test_cli_prepare(tmp_path, capsys):
    source = images_labels_folder(tmp_path / "src", 5, tumor_cases=1)
    out = tmp_path / "out"
    assert run_cli(["prepare", str(source), "-o", str(out), "--folds", "5"]) == 0
    assert "5 case(s), 1 with tumour, 5 fold(s)" in capsys.readouterr().out
    assert run_cli(["prepare", str(source), "-o", str(out)]) == 2
    error = capsys.readouterr().err.splitlines()
    assert len(error) == 1 and error[0].startswith("synthtumor: error: outputs exist")
    assert "--force" in error[0]
    code = run_cli(
        ["prepare", str(source), "-o", str(out), "--force", "--no-test", "--tumor-values", "none"]
    )
    assert code == 0
    datalist = load_datalist(out / "datalist.json")
    assert datalist["numWithTumor"] == 0  # tumour value 2 not mapped: it is background now
    assert datalist["folds"]["splits"][0]["test"] == []


# --- any number of scans; unreadable files -----------------------------------------------------


def test_few_scans_get_fewer_folds_with_one_warning_line(tmp_path, capsys):
    source = images_labels_folder(tmp_path / "src", 3)
    out = tmp_path / "out"
    assert run_cli(["prepare", str(source), "-o", str(out)]) == 0  # --folds 5 by default
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        "synthtumor: warning: 3 cases cannot fill 5 folds with training, validation and test "
        "parts; using 3 folds (pass --folds 3 to silence this)"
    ]
    assert "3 case(s), 0 with tumour, 3 fold(s)" in captured.out
    splits = load_datalist(out / "datalist.json")["folds"]["splits"]
    assert sorted(case for split in splits for case in split["test"]) == [
        "case00",
        "case01",
        "case02",
    ]
    for split in splits:
        assert [len(split[part]) for part in ("train", "validation", "test")] == [1, 1, 1]
    assert run_cli(["prepare", str(source), "-o", str(out), "--folds", "3", "--force"]) == 0
    assert capsys.readouterr().err == ""


def test_too_few_scans_for_a_test_part_is_one_error_naming_no_test(tmp_path, capsys):
    source = images_labels_folder(tmp_path / "src", 2)
    assert run_cli(["prepare", str(source), "-o", str(tmp_path / "out")]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("synthtumor: error: 2 case(s) are too few") and "--no-test" in line
    assert not (tmp_path / "out" / "datalist.json").exists()
    assert run_cli(["prepare", str(source), "-o", str(tmp_path / "pool"), "--no-test"]) == 0


@pytest.mark.parametrize("role", ["images", "labels"])
def test_truncated_scan_is_an_error_not_a_datalist_entry(tmp_path, capsys, role):
    source = images_labels_folder(tmp_path / "src", 4)
    name = "case02_0000.nii.gz" if role == "images" else "case02.nii.gz"
    path = source / role / name
    path.write_bytes(path.read_bytes()[:-30])  # the end of the gzip stream is lost
    with pytest.raises(ValueError, match="case02") as error:
        prepare_dataset(source, tmp_path / "out", n_folds=2)
    assert name in str(error.value) and "could not be read" in str(error.value)
    assert not (tmp_path / "out" / "datalist.json").exists()
    assert run_cli(["prepare", str(source), "-o", str(tmp_path / "out"), "--folds", "2"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("synthtumor: error: 1 case(s) failed the checks") and name in line
    with pytest.warns(UserWarning, match="leaving out 1 case"):
        path = prepare_dataset(source, tmp_path / "out", n_folds=3, skip_invalid=True)
    assert "case02" not in [e["case"] for e in load_datalist(path)["training"]]


def test_garbage_file_named_nii_gz_is_an_error(tmp_path):
    source = images_labels_folder(tmp_path / "src", 4)
    (source / "labels" / "case01.nii.gz").write_text("not an image\n")
    with pytest.raises(ValueError, match="case01: could not be read"):
        prepare_dataset(source, tmp_path / "out", n_folds=2)


def test_stale_staging_folder_of_a_killed_run_is_removed(tmp_path):
    source = images_labels_folder(tmp_path / "src", 4)
    stale = tmp_path / "out" / "labels" / ".staging-killed"
    stale.mkdir(parents=True)
    (stale / "case00.nii.gz").write_bytes(b"half")
    half_datalist = tmp_path / "out" / ".datalist.json.0123456789ab.partial.tmp"
    half_datalist.write_text("{")
    prepare_dataset(source, tmp_path / "out", n_folds=2)
    assert not stale.exists() and not half_datalist.exists()
    assert not list((tmp_path / "out").rglob(".*"))


def test_readme_chain_prepares_the_shared_data(tmp_path, shared_data, capsys):
    """``synthtumor prepare DATA/ -o prepared/`` as the README writes it, on the 3 shared scans."""
    out = tmp_path / "prepared"
    assert run_cli(["prepare", str(shared_data), "-o", str(out)]) == 0
    captured = capsys.readouterr()
    assert "using 3 folds" in captured.err
    datalist = load_datalist(out / "datalist.json")
    cases = ["abdomen-3mm", "chaos-ct3", "portal-venous-slab"]
    assert [entry["case"] for entry in datalist["training"]] == cases
    for entry in datalist["training"]:
        assert entry["source_label"].endswith("liver.nii.gz") and not entry["has_tumor"]
    test_part = [fold_split(datalist, fold)["test"] for fold in range(3)]
    assert sorted(entries[0]["case"] for entries in test_part) == cases


def test_output_under_a_regular_file_is_one_error_line(tmp_path, capsys):
    source = images_labels_folder(tmp_path / "src", 3)
    blocker = tmp_path / "notes.txt"
    blocker.write_text("")
    assert run_cli(["prepare", str(source), "-o", str(blocker / "out"), "--folds", "3"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line == (
        f"synthtumor: error: output folder {blocker / 'out'} lies under {blocker}, which is not "
        "a folder"
    )
