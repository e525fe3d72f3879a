"""Tests of the Visual Turing Test material: building a blinded set and scoring ratings."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from synthtumor.cli import build_parser
from synthtumor.reference.visual_turing import (
    ANSWER_KEY_COLUMNS,
    RATING_COLUMNS,
    build_turing_set,
    read_answer_key,
    read_ratings,
    score_markdown,
    score_ratings,
)


def table2(real_called_real, real_called_synt, synt_called_real, synt_called_synt, unsure):
    """Key and ratings reproducing one rater of the paper's Table 2."""
    n_real = real_called_real + real_called_synt + unsure[0]
    n_synt = synt_called_real + synt_called_synt + unsure[1]
    key = {f"r{i}": "real" for i in range(n_real)} | {f"s{i}": "synthetic" for i in range(n_synt)}
    marks = ["real"] * real_called_real + ["synthetic"] * real_called_synt + ["unsure"] * unsure[0]
    ratings = {f"r{i}": mark for i, mark in enumerate(marks)}
    marks = ["real"] * synt_called_real + ["synthetic"] * synt_called_synt + ["unsure"] * unsure[1]
    ratings |= {f"s{i}": mark for i, mark in enumerate(marks)}
    return key, ratings


@pytest.mark.parametrize(
    ("counts", "expected", "n_unsure"),
    [
        # Junior professional: 26.5 %, 27.6 %, 25.0 %, one unsure.
        ((5, 15, 21, 8, (0, 1)), (26.5, 27.6, 25.0), 1),
        # Senior professional: 71.0 %, 63.2 %, 83.3 %, 19 unsure.
        ((10, 2, 7, 12, (8, 11)), (71.0, 63.2, 83.3), 19),
    ],
)
def test_scores_reproduce_table_2(counts, expected, n_unsure):
    key, ratings = table2(*counts)
    score = score_ratings(ratings, key)
    measured = (score.accuracy, score.sensitivity, score.specificity)
    assert [round(100 * m, 1) for m in measured] == list(expected)
    assert score.unsure == n_unsure and score.definite == 50 - n_unsure
    for name, (low, high) in score.intervals.items():
        assert low <= getattr(score, name) <= high
    markdown = score_markdown(score)
    assert f"Accuracy: {expected[0]:.1f} %" in markdown


def test_unrated_and_mismatched_cases():
    key = {"a": "real", "b": "synthetic"}
    score = score_ratings({"a": None, "b": "synthetic"}, key)
    assert (score.unrated, score.tp, score.definite) == (1, 1, 1)
    assert math.isnan(score.specificity)
    assert score.to_dict()["specificity"] is None
    with pytest.raises(ValueError, match="do not match"):
        score_ratings({"a": "real"}, key)


def test_read_ratings_marks_and_rating_column(tmp_path):
    sheet = tmp_path / "sheet.csv"
    sheet.write_text("case,real,synthetic,unsure,comment\nc1,x,,,\nc2,,1,,looks odd\nc3,,,,\n")
    assert read_ratings(sheet) == {"c1": "real", "c2": "synthetic", "c3": None}
    sheet.write_text("case,real,synthetic,unsure\nc1,x,x,\n")
    with pytest.raises(ValueError, match="c1 is marked real and synthetic"):
        read_ratings(sheet)
    sheet.write_text("case,rating\nc1,Unsure\nc2,real\n")
    assert read_ratings(sheet) == {"c1": "unsure", "c2": "real"}
    sheet.write_text("case,rating\nc1,maybe\n")
    with pytest.raises(ValueError, match="rating must be one of"):
        read_ratings(sheet)


def test_build_blinded_set_and_score_it_from_the_cli(tmp_path, shared_data, capsys):
    abdomen, slab = shared_data / "abdomen-3mm", shared_data / "portal-venous-slab"
    real = tmp_path / "real_ct.nii.gz"  # stand-in "real tumour" scan: a plain copy
    nib.save(nib.load(abdomen / "ct.nii.gz"), real)
    out = tmp_path / "turing"
    result = build_turing_set(
        [real],
        [
            (abdomen / "ct.nii.gz", abdomen / "liver.nii.gz"),
            (slab / "ct.nii.gz", slab / "liver.nii.gz"),
        ],
        out,
        seed=4,
        size="small",
    )
    assert result.cases == ("case_001", "case_002", "case_003")
    files = sorted(p.name for p in result.cases_dir.iterdir())
    assert files == [
        "INSTRUCTIONS.txt",
        "case_001.nii.gz",
        "case_002.nii.gz",
        "case_003.nii.gz",
        "rating_sheet.csv",
    ]
    assert not (result.cases_dir / "answer_key.csv").exists()  # the key stays apart
    key = read_answer_key(result.answer_key)
    assert sorted(key.values()) == ["real", "synthetic", "synthetic"]
    with result.answer_key.open(newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert tuple(rows[0]) == ANSWER_KEY_COLUMNS
    for row in rows:
        image = nib.load(result.cases_dir / f"{row['case']}.nii.gz")
        assert image.get_data_dtype() == np.int16  # every case saved alike
        assert image.header["descrip"].item() in (b"", "")
        if row["truth"] == "synthetic":
            assert row["size"] == "small" and int(row["n_tumors"]) >= 3
            assert (out / "synthesis" / f"{row['case']}.json").is_file()
            ct_path = Path(row["source"].split(":")[0])
            source = nib.load(ct_path)
            assert image.shape == source.shape
            np.testing.assert_allclose(image.affine, source.affine, atol=1e-5)
            assert not np.array_equal(np.asanyarray(image.dataobj), np.asanyarray(source.dataobj))
        else:
            np.testing.assert_array_equal(
                np.asanyarray(image.dataobj), np.asanyarray(nib.load(real).dataobj)
            )
    with result.rating_sheet.open(newline="") as stream:
        sheet = list(csv.DictReader(stream))
    assert tuple(sheet[0]) == RATING_COLUMNS and [r["case"] for r in sheet] == list(result.cases)
    assert all(not r["real"] and not r["synthetic"] and not r["unsure"] for r in sheet)
    with pytest.raises(FileExistsError):
        build_turing_set([real], [], out)

    # A rater who calls everything real; scored through the CLI handlers.
    filled = tmp_path / "rater.csv"
    filled.write_text(
        "case,real,synthetic,unsure,comment\n" + "".join(f"{c},x,,,\n" for c in result.cases)
    )
    args = build_parser().parse_args(
        ["turing", "score", str(filled), str(result.answer_key), "-o", str(tmp_path / "score")]
    )
    assert args.handler(args) == 0
    report = json.loads((tmp_path / "score" / "turing_score.json").read_text())
    assert report["counts"] == {
        "tp": 0,
        "fn": 2,
        "tn": 1,
        "fp": 0,
        "unsure_real": 0,
        "unsure_synthetic": 0,
        "unrated": 0,
    }
    assert report["sensitivity"] == 0.0 and report["specificity"] == 1.0
    assert "Sensitivity (synthetic recognised): 0.0 %" in capsys.readouterr().out
    from synthtumor.cli import main

    assert main(["turing", "build", "-o", str(out), "--healthy", "no-colon"]) == 2
    assert capsys.readouterr().err == (
        "synthtumor: error: healthy scans are CT:LIVER pairs, got 'no-colon'\n"
    )
