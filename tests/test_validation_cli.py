"""Adversarial command-line options: one usage line naming the option, exit 2, nothing written.

The options go through the same checks as the Python API (argparse types from
``synthtumor._validation.options``); a ``--config`` holding ``"capsule": "no"`` is refused like
``TumorConfig(capsule="no")`` instead of keeping the capsule on.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from synthtumor.cli import main

DEMO_CASES = [
    (["--seed", "-1"], r"argument --seed: must be an integer in \[0, 2\*\*53\), got -1"),
    (["--seed", "2.5"], r"argument --seed: must be an integer in \[0, 2\*\*53\), got '2.5'"),
    (["--seed", str(2**53)], r"argument --seed: must be an integer in \[0, 2\*\*53\)"),
    (["--count", "2.5"], r"argument --count: must be an integer, got '2.5'"),
    (["--count", "0"], r"argument --count: must be an integer >= 1, got 0"),
    (["--config", '{"capsule": "no"}'], r"capsule must be True or False, got 'no'"),
    (["--config", '{"capsule": "False"}'], r"capsule must be True or False, got 'False'"),
    (["--config", '{"capsule": 0}'], r"capsule must be True or False, got 0"),
    (["--config", '{"label_threshold": 2}'], r"label_threshold must lie in \(0, 1\), got 2"),
    (["--config", '{"edge_blur_mm": 100}'], r"edge_blur_mm must be finite and in \[0, 10\]"),
    (["--config", '{"max_location_tries": 2.5}'], r"max_location_tries must be an integer"),
    (["--config", '{"organ_label": 2}'], r"organ_label and tumor_label must be distinct"),
    (["--config", '{"texture_mean_hu": NaN}'], r"texture_mean_hu must be finite"),
]


@pytest.mark.parametrize(("options", "message"), DEMO_CASES)
def test_demo_refuses_bad_options(tmp_path: Path, capsys, options, message):
    out = tmp_path / "out"
    assert main(["demo", "-o", str(out), "--no-preview", *options]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) >= 1 and "Traceback" not in err
    assert re.search(message, err), err
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--tolerance-mm", "nan"], r"argument --tolerance-mm: must be > 0 \(a finite number\)"),
        (["--tolerance-mm", "-2"], r"argument --tolerance-mm: must be > 0"),
        (["--tolerance-mm", "two"], r"argument --tolerance-mm: must be a number, got 'two'"),
        (["--tumor-label", "-1"], r"argument --tumor-label: must be an integer >= 0, got -1"),
        (
            ["--organ-label", "1.5"],
            r"argument --organ-label/--liver-label: must be an integer, got '1.5'",
        ),
    ],
)
def test_evaluate_refuses_bad_options(tmp_path: Path, capsys, options, message):
    args = ["evaluate", str(tmp_path), str(tmp_path), "-o", str(tmp_path / "report"), *options]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert re.search(message, err), err
    assert not (tmp_path / "report").exists()


def test_synthesize_refuses_a_non_integer_liver_label(tmp_path: Path, capsys):
    args = ["synthesize", "ct.nii.gz", "liver.nii.gz", "-o", str(tmp_path), "--liver-label", "x"]
    assert main(args) == 2
    assert "argument --liver-label: must be an integer, got 'x'" in capsys.readouterr().err


def test_a_config_with_json_false_switches_the_capsule_off(tmp_path: Path):
    out = tmp_path / "out"
    options = ["--config", '{"capsule": false}', "--size", "small", "--seed", "3"]
    assert main(["demo", "-o", str(out), "--no-preview", *options]) == 0
    params = json.loads((out / "synth_000_params.json").read_text(encoding="utf-8"))
    assert all(tumor["capsule_contrast_hu"] == 0.0 for tumor in params["tumors"])
