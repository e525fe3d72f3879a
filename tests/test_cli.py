"""Tests of the ``synthtumor`` command line (in-process through ``main`` and as a subprocess)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

import synthtumor
from synthtumor import TumorParams, synthesize
from synthtumor.cli import RUN_RECORD, case_seed, main
from synthtumor.phantom import make_phantom

PREFIX = "synthtumor: error: "
CASE_FILES = ("image.nii.gz", "label.nii.gz", "params.json", "preview.png")
AFFINE = np.diag([1.0, 1.0, 1.0, 1.0])


def case_paths(folder: Path, index: int) -> dict[str, Path]:
    return {kind: folder / f"synth_{index:03d}_{kind}" for kind in CASE_FILES}


def load(path: Path) -> tuple[np.ndarray, nib.Nifti1Image]:
    image = nib.load(path)
    return np.asanyarray(image.dataobj), image


def assert_tumors_in_liver(label: np.ndarray, liver: np.ndarray) -> None:
    """Tumours lie in the liver; the mass effect may push the liver's edge out by a voxel or two."""
    tumor = label == 2
    assert tumor.sum() > 20
    assert np.all(label[tumor] != 0)
    assert np.all(ndimage.binary_dilation(liver, iterations=2)[tumor])
    assert np.mean(liver[tumor]) > 0.95
    assert np.all(ndimage.binary_dilation(liver, iterations=2)[label != 0])


def error_line(capsys: pytest.CaptureFixture[str]) -> str:
    """The single stderr line of a failed run (beside the progress bar of a multi-case run)."""
    lines = stderr_lines(capsys)
    assert len(lines) == 1, lines
    assert lines[0].startswith(PREFIX)
    assert "Traceback" not in lines[0]
    return lines[0]


def _progress(line: str) -> bool:
    return not line.strip() or "case/s" in line


def stderr_lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    """stderr without the progress bar."""
    return [line for line in capsys.readouterr().err.splitlines() if not _progress(line)]


# --- small inputs written with plain nibabel -------------------------------------------------


def write(path: Path, data: np.ndarray, affine: np.ndarray = AFFINE) -> Path:
    nib.save(nib.Nifti1Image(data, affine), path)
    return path


@pytest.fixture
def small_scan(tmp_path: Path) -> tuple[Path, Path]:
    """A 48 mm cube CT (1 mm voxels, int16) with a 30 mm cube liver."""
    ct = np.full((48, 48, 48), 60, dtype=np.int16)
    mask = np.zeros(ct.shape, dtype=np.uint8)
    mask[9:39, 9:39, 9:39] = 1
    return write(tmp_path / "ct.nii.gz", ct), write(tmp_path / "liver.nii.gz", mask)


# --- general ---------------------------------------------------------------------------------


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"synthtumor {synthtumor.__version__}"


def test_no_command_prints_help_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "synthesize" in capsys.readouterr().err


def test_usage_error_returns_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["synthesize", str(tmp_path / "ct.nii.gz")]) == 2
    assert "required" in capsys.readouterr().err
    assert main(["demo", "-o", str(tmp_path / "out"), "--count", "0"]) == 2
    assert main(["demo", "-o", str(tmp_path / "out"), "--size", "huge"]) == 2
    assert not (tmp_path / "out").exists()


def test_python_m_synthtumor_runs_as_a_program(tmp_path: Path) -> None:
    helped = subprocess.run(
        [sys.executable, "-m", "synthtumor", "--help"], capture_output=True, text=True, check=False
    )
    assert helped.returncode == 0, helped.stderr
    assert helped.stdout.startswith("usage: synthtumor")
    for name in ("synthesize", "demo", "evaluate"):
        assert name in helped.stdout
    out = tmp_path / "demo"
    ran = subprocess.run(
        [sys.executable, "-m", "synthtumor", "demo", "-o", str(out), "--no-preview"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith("synthtumor: wrote 1 case")
    assert (out / "synth_000_label.nii.gz").is_file()
    failed = subprocess.run(
        [sys.executable, "-m", "synthtumor", "demo", "-o", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert failed.returncode == 2
    assert failed.stderr.startswith(PREFIX) and failed.stderr.count("\n") == 1


# --- demo ------------------------------------------------------------------------------------


def test_demo_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo"
    assert main(["demo", "-o", str(out), "--seed", "4", "--size", "medium"]) == 0
    summary = capsys.readouterr().out
    assert str(out) in summary and "seed 4" in summary

    phantom_ct, phantom_ct_image = load(out / "phantom_ct.nii.gz")
    phantom_liver, _ = load(out / "phantom_liver.nii.gz")
    expected = make_phantom(rng=4, dtype=np.int16)
    np.testing.assert_array_equal(phantom_ct, expected.image)
    np.testing.assert_array_equal(phantom_liver, expected.liver_mask)
    np.testing.assert_allclose(phantom_ct_image.affine, expected.affine)

    files = case_paths(out, 0)
    image, _ = load(files["image.nii.gz"])
    label, label_image = load(files["label.nii.gz"])
    assert image.dtype == np.int16 and label.dtype == np.uint8
    assert label_image.get_data_dtype() == np.uint8
    assert_tumors_in_liver(label, expected.liver_mask)
    assert set(np.unique(label).tolist()) == {0, 1, 2}

    text = files["params.json"].read_text()
    params = TumorParams.from_json(text)
    assert params.size == "medium" and params.tumors
    assert TumorParams.from_json(params.to_json(indent=2)) == params
    assert params.shape == image.shape

    with Image.open(files["preview.png"]) as preview:
        assert preview.mode == "RGB" and len(preview.getbands()) == 3
        pixels = np.asarray(preview)
    assert (pixels == (255, 0, 0)).all(axis=2).sum() > 20

    # The case is exactly synthesize() on the phantom with the case seed.
    again = synthesize(
        expected.image,
        expected.liver_mask,
        spacing=expected.spacing,
        size="medium",
        rng=np.random.default_rng(np.random.SeedSequence(4).spawn(1)[0]),
    )
    np.testing.assert_array_equal(again.image, image)
    np.testing.assert_array_equal(again.label, label)
    assert again.params == params

    record = json.loads((out / RUN_RECORD).read_text())
    assert record["seed"] == 4 and record["count"] == 1 and record["command"] == "demo"


def test_demo_refuses_to_overwrite_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "demo"
    out.mkdir()
    existing = out / "synth_001_params.json"
    existing.write_text("keep me\n")
    assert main(["demo", "-o", str(out), "--count", "2"]) == 2
    line = error_line(capsys)
    assert "synth_001_params.json" in line and "--force" in line
    assert sorted(p.name for p in out.iterdir()) == ["synth_001_params.json"]
    assert existing.read_text() == "keep me\n"

    assert main(["demo", "-o", str(out), "--count", "2", "--no-preview", "--force"]) == 0
    assert TumorParams.from_json(existing.read_text()).tumors
    assert not list(out.glob(".*"))  # no temporary files left


def test_stage_switches_reach_the_config(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    flags = ["--no-mass-effect", "--no-capsule", "--no-elastic", "--no-edge-blur"]
    code = main(["demo", "-o", str(out), "--size", "small", "--no-preview", *flags])
    assert code == 0
    params = TumorParams.from_json(case_paths(out, 0)["params.json"].read_text())
    label, _ = load(case_paths(out, 0)["label.nii.gz"])
    liver, _ = load(out / "phantom_liver.nii.gz")
    np.testing.assert_array_equal(label != 0, liver == 1)  # no mass effect: the liver stays
    assert (label == 2).any()
    for spec in params.tumors:
        assert spec.mass_effect_intensity == 0.0
        assert spec.capsule_contrast_hu == 0.0
        assert spec.deformation_mm == 0.0
        assert spec.edge_blur_mm == 0.0
    config = json.loads((out / RUN_RECORD).read_text())["config"]
    assert config["vessel_avoidance"] is True and config["mass_effect"] is False


def test_config_overrides_from_inline_json_and_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inline = '{"capsule_contrast_hu": 77.0, "texture_scale": [1.2, 1.3]}'
    out = tmp_path / "inline"
    assert main(["demo", "-o", str(out), "--size", "tiny", "--no-preview", "--config", inline]) == 0
    params = TumorParams.from_json(case_paths(out, 0)["params.json"].read_text())
    assert all(spec.capsule_contrast_hu == 77.0 for spec in params.tumors)
    assert all(1.2 <= spec.texture_scale <= 1.3 for spec in params.tumors)

    config_file = tmp_path / "config.json"
    config_file.write_text(
        json.dumps({"small": {"radius_mm": 6.0, "deformation_mm": 1.0, "count": 2}})
    )
    out = tmp_path / "file"
    assert (
        main(
            [
                "demo",
                "-o",
                str(out),
                "--size",
                "small",
                "--no-preview",
                "--config",
                str(config_file),
            ]
        )
        == 0
    )
    params = TumorParams.from_json(case_paths(out, 0)["params.json"].read_text())
    assert [spec.radius_mm for spec in params.tumors] == [6.0, 6.0]

    for bad, words in (
        ('{"capsule_contrast": 1}', "unknown TumorConfig field(s) capsule_contrast"),
        ("{not json", "not valid JSON"),
        (str(tmp_path / "absent.json"), "absent.json"),
        ('{"mass_effect_intensity": 500}', "mass_effect_intensity"),
    ):
        assert main(["demo", "-o", str(tmp_path / "bad"), "--config", bad]) == 2
        assert words in error_line(capsys)
    assert not (tmp_path / "bad").exists()


# --- synthesize on the real scan -------------------------------------------------------------


def test_synthesize_real_scan_two_cases(
    tmp_path: Path, shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = shared_data / "abdomen-3mm"
    ct_path, liver_path = folder / "ct.nii.gz", folder / "liver.nii.gz"
    out = tmp_path / "out"
    code = main(
        [
            "synthesize",
            str(ct_path),
            str(liver_path),
            "-o",
            str(out),
            "--count",
            "2",
            "--seed",
            "11",
        ]
    )
    assert code == 0
    captured = capsys.readouterr()
    assert "wrote 2 cases" in captured.out and str(out) in captured.out
    assert "synthtumor" in captured.err  # the progress bar

    ct, ct_image = load(ct_path)
    liver, _ = load(liver_path)
    header = ct_image.header
    labels = []
    for index in range(2):
        files = case_paths(out, index)
        assert all(path.is_file() for path in files.values())
        image, written = load(files["image.nii.gz"])
        label, label_image = load(files["label.nii.gz"])
        assert image.shape == ct.shape and label.shape == ct.shape
        assert image.dtype == ct.dtype == np.int32
        assert label.dtype == np.uint8
        for nifti in (written, label_image):
            np.testing.assert_allclose(nifti.affine, ct_image.affine, atol=1e-5)
            assert nifti.header.get_zooms()[:3] == header.get_zooms()[:3]
            assert int(nifti.header["sform_code"]) == int(header["sform_code"])
            assert int(nifti.header["qform_code"]) == int(header["qform_code"])
        assert_tumors_in_liver(label, liver == 1)
        assert not np.array_equal(image, ct)

        # Re-running the case seed alone reproduces the case.
        params = TumorParams.from_json(files["params.json"].read_text())
        rng = np.random.default_rng(np.random.SeedSequence(11).spawn(2)[index])
        again = synthesize(ct, liver, spacing=(3.0, 3.0, 3.0), rng=rng)
        np.testing.assert_array_equal(again.image, image)
        np.testing.assert_array_equal(again.label, label)
        assert again.params == params
        labels.append(label)
    assert not np.array_equal(labels[0], labels[1])
    assert (
        case_paths(out, 0)["params.json"].read_text()
        != case_paths(out, 1)["params.json"].read_text()
    )


def test_case_seed_does_not_depend_on_the_count() -> None:
    for count in (2, 5):
        child = np.random.SeedSequence(11).spawn(count)[1]
        assert case_seed(11, 1).generate_state(4).tolist() == child.generate_state(4).tolist()
    assert (
        case_seed(11, 0).generate_state(4).tolist() != case_seed(11, 1).generate_state(4).tolist()
    )


def test_synthesize_with_the_deprecated_liver_label_from_an_organ_map(
    tmp_path: Path, shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--liver-label V`` keeps its meaning (the organ written as 1 of a 0/1/2 label), warns."""
    folder = shared_data / "abdomen-3mm"
    organs = folder / "organs.nii.gz"
    out = tmp_path / "out"
    args = ["synthesize", str(folder / "ct.nii.gz"), str(organs), "-o", str(out)]
    assert main([*args, "--size", "small", "--no-preview"]) == 2
    assert "--organ-label" in error_line(capsys)
    assert not out.exists()
    assert (
        main([*args, "--size", "small", "--no-preview", "--liver-label", "5", "--seed", "3"]) == 0
    )
    warning = capsys.readouterr().err
    assert "synthtumor: warning: --liver-label is deprecated; use --organ-label" in warning
    label, _ = load(case_paths(out, 0)["label.nii.gz"])
    organ_map, _ = load(organs)
    assert np.all(organ_map[label > 0] == 5)
    assert set(np.unique(label).tolist()) == {0, 1, 2}
    record = json.loads((out / RUN_RECORD).read_text())
    assert record["inputs"]["liver_label"] == 5 and record["seed"] == 3


def test_synthesize_without_seed_records_the_drawn_seed(
    tmp_path: Path, small_scan: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    ct, liver = small_scan
    out = tmp_path / "out"
    assert main(["synthesize", str(ct), str(liver), "-o", str(out), "--size", "tiny"]) == 0
    seed = json.loads((out / RUN_RECORD).read_text())["seed"]
    assert f"seed {seed}" in capsys.readouterr().out
    again = tmp_path / "again"
    code = main(
        ["synthesize", str(ct), str(liver), "-o", str(again), "--size", "tiny", "--seed", str(seed)]
    )
    assert code == 0
    for kind in ("image.nii.gz", "label.nii.gz"):
        first, _ = load(case_paths(out, 0)[kind])
        second, _ = load(case_paths(again, 0)[kind])
        np.testing.assert_array_equal(first, second)


# --- bad input: exit code 2 and one line naming the problem ----------------------------------


def bad_inputs(tmp_path: Path) -> dict[str, tuple[Path, Path, list[str], list[str]]]:
    """name -> (ct, liver, extra CLI args, words the error line must contain)."""
    ct = np.full((24, 24, 24), 60, dtype=np.int16)
    mask = np.zeros(ct.shape, dtype=np.uint8)
    mask[4:20, 4:20, 4:20] = 1
    good_ct = write(tmp_path / "ct.nii.gz", ct)
    good_mask = write(tmp_path / "liver.nii.gz", mask)
    text = tmp_path / "text.nii.gz"
    text.write_text("not an image\n")
    shifted = AFFINE.copy()
    shifted[0, 3] = 4.0
    organs = mask * 5
    organs[0, 0, 0] = 3
    tiny_liver = np.zeros(ct.shape, dtype=np.uint8)
    tiny_liver[10:12, 10:12, 10:12] = 1
    return {
        "missing file": (tmp_path / "absent.nii.gz", good_mask, [], ["not found", "absent.nii.gz"]),
        "not nifti suffix": (
            write(tmp_path / "copy.nii.gz", ct).rename(tmp_path / "ct.img"),
            good_mask,
            [],
            ["ct.img", "not NIfTI"],
        ),
        "text file named .nii.gz": (text, good_mask, [], ["text.nii.gz", "could not be read"]),
        "2-D image": (
            write(tmp_path / "flat.nii.gz", ct[:, :, 0]),
            good_mask,
            [],
            ["flat.nii.gz", "3-D"],
        ),
        "shape mismatch": (
            good_ct,
            write(tmp_path / "short.nii.gz", mask[:-2]),
            [],
            ["different shapes", "(24, 24, 24)", "(22, 24, 24)", "short.nii.gz"],
        ),
        "affine mismatch": (
            good_ct,
            write(tmp_path / "moved.nii.gz", mask, shifted),
            [],
            ["different affines", "ct.nii.gz", "moved.nii.gz"],
        ),
        "empty mask": (good_ct, write(tmp_path / "empty.nii.gz", mask * 0), [], ["empty"]),
        "non-binary mask": (
            good_ct,
            write(tmp_path / "organs.nii.gz", organs),
            [],
            ["not binary", "[0, 3, 5]", "--organ-label"],
        ),
        "liver too small": (
            good_ct,
            write(tmp_path / "tiny.nii.gz", tiny_liver),
            ["--size", "large"],
            ["too small", "large"],
        ),
    }


BAD_INPUT_NAMES = [
    "missing file",
    "not nifti suffix",
    "text file named .nii.gz",
    "2-D image",
    "shape mismatch",
    "affine mismatch",
    "empty mask",
    "non-binary mask",
    "liver too small",
]


@pytest.mark.parametrize("name", BAD_INPUT_NAMES)
def test_bad_input_gives_one_line_and_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    ct, liver, extra, words = bad_inputs(tmp_path)[name]
    out = tmp_path / "out"
    assert main(["synthesize", str(ct), str(liver), "-o", str(out), *extra]) == 2
    line = error_line(capsys)
    for word in words:
        assert word in line, (word, line)
    assert not out.exists()  # nothing written, not even the folder


def test_output_folder_that_is_a_file(
    tmp_path: Path, small_scan: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    ct, liver = small_scan
    blocker = tmp_path / "out"
    blocker.write_text("")
    assert main(["synthesize", str(ct), str(liver), "-o", str(blocker)]) == 2
    assert "not a folder" in error_line(capsys)


def test_unexpected_errors_keep_their_traceback(
    tmp_path: Path, small_scan: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    ct, liver = small_scan

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(synthtumor, "apply", broken)
    with pytest.raises(RuntimeError, match="bug"):
        main(["synthesize", str(ct), str(liver), "-o", str(tmp_path / "out")])


# --- evaluate --------------------------------------------------------------------------------


def test_evaluate_writes_a_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    demo = tmp_path / "demo"
    assert main(["demo", "-o", str(demo), "--count", "2", "--size", "small", "--no-preview"]) == 0
    pred, ref = tmp_path / "pred", tmp_path / "ref"
    pred.mkdir()
    ref.mkdir()
    for index in range(2):
        label = case_paths(demo, index)["label.nii.gz"]
        shutil.copy(label, pred / f"case{index}.nii.gz")
        shutil.copy(label, ref / f"case{index}.nii.gz")
    capsys.readouterr()
    report = tmp_path / "report"
    assert main(["evaluate", str(pred), str(ref), "-o", str(report)]) == 0
    out = capsys.readouterr().out
    assert str(report / "summary.md") in out
    assert "evaluated 2 case(s)" in out and "tumour DSC 1.000" in out
    assert (report / "summary.md").is_file() and (report / "per_case.csv").is_file()

    assert main(["evaluate", str(pred), str(ref), "-o", str(report)]) == 2
    assert "already exists" in error_line(capsys)
    assert main(["evaluate", str(pred), str(ref), "-o", str(report), "--force"]) == 0

    (pred / "case1.nii.gz").unlink()
    assert main(["evaluate", str(pred), str(ref), "-o", str(tmp_path / "r2")]) == 2
    assert "case1" in error_line(capsys)


# --- one error path: OS errors, signals, partial files -------------------------------------


def synthesize_args(scan: tuple[Path, Path], out: Path, *extra: str) -> list[str]:
    ct, liver = scan
    fixed = ["--size", "tiny", "--seed", "3", "--no-preview"]
    return ["synthesize", str(ct), str(liver), "-o", str(out), *fixed, *extra]


def hidden_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob(".*"))


def test_output_under_a_regular_file_is_one_line(
    tmp_path: Path, small_scan: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "notes.txt"
    blocker.write_text("")
    assert main(synthesize_args(small_scan, blocker / "out")) == 2
    assert "notes.txt, which is not a folder" in error_line(capsys)
    pred = tmp_path / "pred"
    pred.mkdir()
    write(pred / "a.nii.gz", np.zeros((4, 4, 4), np.uint8))
    assert main(["evaluate", str(pred), str(pred), "-o", str(blocker / "report")]) == 2
    assert "notes.txt, which is not a folder" in error_line(capsys)
    assert blocker.read_text() == ""


def test_read_only_folder_is_one_line(
    tmp_path: Path,
    small_scan: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import os

    import synthtumor.io
    import synthtumor.run_folder

    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access
    # root ignores permission bits, so the refusal of the OS is simulated: first the check
    # before any work, then a write that the OS refuses after the check passed.
    monkeypatch.setattr(
        synthtumor.run_folder.os,
        "access",
        lambda path, mode: Path(path) != locked and real_access(path, mode),
    )
    assert main(synthesize_args(small_scan, locked / "out")) == 2
    assert f"output folder {locked} is not writable" in error_line(capsys)
    assert list(locked.iterdir()) == []
    monkeypatch.setattr(synthtumor.run_folder.os, "access", real_access)

    real_open = os.open

    def refuse(path: str, *args: object) -> int:
        if Path(path).parent == locked / "out" and Path(path).name.startswith(".synth"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args)

    monkeypatch.setattr(synthtumor.io.os, "open", refuse)
    assert main(synthesize_args(small_scan, locked / "out")) == 2
    target = locked / "out" / "synthtumor_run.incomplete.json"  # the first file written
    assert error_line(capsys) == f"{PREFIX}{target}: Permission denied"


def test_full_disk_is_one_line_leaves_no_partial_file_and_resume_completes(
    tmp_path: Path,
    small_scan: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import errno

    import synthtumor.io

    real_save = synthtumor.io.nib.save
    saved: list[str] = []

    def fill_disk(image: object, path: Path) -> None:
        if len(saved) == 2:  # case 0 is written; the disk fills during case 1's image
            Path(path).write_bytes(b"\x1f\x8b half a file")
            raise OSError(errno.ENOSPC, "No space left on device")  # as write() raises it
        saved.append(str(path))
        real_save(image, path)

    out = tmp_path / "out"
    monkeypatch.setattr(synthtumor.io.nib, "save", fill_disk)
    assert main(synthesize_args(small_scan, out, "--count", "3")) == 2
    line = error_line(capsys)
    assert line == f"{PREFIX}{case_paths(out, 1)['image.nii.gz']}: No space left on device"
    assert hidden_files(out) == []  # the half-written temporary file is gone
    assert not (out / RUN_RECORD).exists()
    assert (out / "synthtumor_run.incomplete.json").is_file()
    assert case_paths(out, 0)["label.nii.gz"].is_file()
    assert not case_paths(out, 1)["image.nii.gz"].exists()
    # Without --resume or --force the interrupted run is not overwritten.
    monkeypatch.setattr(synthtumor.io.nib, "save", real_save)
    assert main(synthesize_args(small_scan, out, "--count", "3")) == 2
    assert "--resume" in error_line(capsys)

    # Space freed: --resume (no seed given: the recorded one) finishes the same run.
    ct, liver = small_scan
    resume = ["synthesize", str(ct), str(liver), "-o", str(out), "--size", "tiny"]
    assert main([*resume, "--no-preview", "--count", "3", "--resume"]) == 0
    assert "(1 of the cases kept from the interrupted run)" in capsys.readouterr().out
    fresh = tmp_path / "fresh"
    assert main(synthesize_args(small_scan, fresh, "--count", "3")) == 0
    for index in range(3):
        for kind in ("image.nii.gz", "label.nii.gz"):
            np.testing.assert_array_equal(
                load(case_paths(out, index)[kind])[0], load(case_paths(fresh, index)[kind])[0]
            )
        params = case_paths(out, index)["params.json"].read_text()
        assert params == case_paths(fresh, index)["params.json"].read_text()
    assert not (out / "synthtumor_run.incomplete.json").exists()
    recorded = json.loads((out / RUN_RECORD).read_text())
    assert recorded == json.loads((fresh / RUN_RECORD).read_text()) | {"inputs": recorded["inputs"]}


def test_resume_refuses_another_run_and_a_complete_one(
    tmp_path: Path,
    small_scan: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "out"
    real_apply = synthtumor.apply
    calls: list[int] = []

    def interrupted(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_apply(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(synthtumor, "apply", interrupted)
    assert main(synthesize_args(small_scan, out, "--count", "2")) == 130
    assert stderr_lines(capsys) == ["synthtumor: interrupted"]
    assert hidden_files(out) == []
    monkeypatch.setattr(synthtumor, "apply", real_apply)

    assert main(synthesize_args(small_scan, out, "--count", "4", "--resume")) == 2
    assert "differs from the interrupted run in count" in error_line(capsys)
    assert main(synthesize_args(small_scan, out, "--count", "2", "--resume")) == 0
    capsys.readouterr()
    assert main(synthesize_args(small_scan, out, "--count", "2", "--resume")) == 2
    assert "nothing to resume" in (line := error_line(capsys)) and "run is complete" in line
    assert main(synthesize_args(small_scan, out, "--force", "--resume")) == 2  # usage error


def test_sigterm_removes_the_file_being_written(
    tmp_path: Path,
    small_scan: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import os
    import signal

    import synthtumor.io

    real_fsync = synthtumor.io._fsync

    def terminated_while_writing(path: Path) -> None:
        assert path.exists()  # the temporary file is on disk when the signal comes
        os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(synthtumor.io, "_fsync", terminated_while_writing)
    out = tmp_path / "out"
    assert main(synthesize_args(small_scan, out)) == 143
    assert stderr_lines(capsys) == ["synthtumor: terminated"]
    assert hidden_files(out) == [] and not case_paths(out, 0)["image.nii.gz"].exists()
    assert signal.getsignal(signal.SIGTERM) is not None  # the handler is restored after
    monkeypatch.setattr(synthtumor.io, "_fsync", real_fsync)


def test_partial_files_of_a_killed_run_are_cleaned_by_the_next(
    tmp_path: Path, small_scan: tuple[Path, Path]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    left = out / ".synth_000_image.nii.gz.0123456789ab.partial.nii.gz"  # what SIGKILL leaves
    left.write_bytes(b"\x1f\x8b truncated")
    mine = out / ".keep_me"
    mine.write_text("not ours")
    assert main(synthesize_args(small_scan, out)) == 0
    assert hidden_files(out) == [".keep_me"]
    # evaluate skips such files when pairing and cleans them from its report folder
    (out / left.name).write_bytes(b"\x1f\x8b truncated")
    report = tmp_path / "report"
    report.mkdir()
    (report / ".summary.md.0123456789ab.partial.tmp").write_text("half")
    assert main(["evaluate", str(out), str(out), "-o", str(report)]) == 0
    assert hidden_files(report) == []


def test_force_with_a_smaller_count_replaces_the_whole_run(
    tmp_path: Path, small_scan: tuple[Path, Path]
) -> None:
    out = tmp_path / "out"
    assert main(synthesize_args(small_scan, out, "--count", "3")) == 0
    assert main(synthesize_args(small_scan, out, "--count", "1", "--force")) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "synth_000_image.nii.gz",
        "synth_000_label.nii.gz",
        "synth_000_params.json",
        RUN_RECORD,
    ]
    assert json.loads((out / RUN_RECORD).read_text())["count"] == 1


def test_synthesize_output_pairs_with_evaluate(
    tmp_path: Path, small_scan: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    from synthtumor.reference.predict import output_name

    out = tmp_path / "synth"
    assert main(synthesize_args(small_scan, out, "--count", "2")) == 0
    pred = tmp_path / "pred"
    pred.mkdir()
    for index in range(2):
        image = case_paths(out, index)["image.nii.gz"]
        # a perfect model, named as `synthtumor predict` names its output for this image
        shutil.copy(case_paths(out, index)["label.nii.gz"], pred / f"{output_name(image)}.nii.gz")
    capsys.readouterr()
    assert main(["evaluate", str(pred), str(out), "-o", str(tmp_path / "report")]) == 0
    out_text = capsys.readouterr().out
    assert "evaluated 2 case(s)" in out_text and "tumour DSC 1.000" in out_text
    cases = json.loads((tmp_path / "report" / "summary.json").read_text())["cases"]
    assert cases == ["synth_000", "synth_001"]
