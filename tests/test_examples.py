"""Every example in examples/ runs: the notebooks top to bottom (as Jupyter would, from
examples/, with their stored outputs up to date), and each script through its ``main()`` with
small inputs."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from _notebooks import code_cells, load, run_cells

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))
# Each script and the test that runs it (organ_previews.py: tests/test_organs.py).
SCRIPT_TESTS = {
    "label_free_vs_real.py": "test_examples.py::test_label_free_vs_real_script_writes_table3",
    "monai_pipeline.py": "test_examples.py::test_monai_pipeline_crops_and_saves_a_scan",
    "organ_previews.py": (
        "test_organs.py::test_the_preview_script_writes_a_small_picture_per_lesion"
    ),
    "realism_gallery.py": "test_examples.py::test_realism_gallery_writes_a_picture_per_scan",
}


def _script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(Path(name).stem, EXAMPLES / name)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_there_are_notebooks():
    assert NOTEBOOKS, f"no notebooks found in {EXAMPLES}"


def test_every_script_has_a_test():
    assert sorted(path.name for path in EXAMPLES.glob("*.py")) == sorted(SCRIPT_TESTS)
    tests = Path(__file__).parent
    for test in SCRIPT_TESTS.values():
        file, name = test.split("::")
        assert f"def {name}(" in (tests / file).read_text(encoding="utf-8"), test


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_runs_and_its_stored_outputs_match(notebook, shared_data, tmp_path, monkeypatch):
    monkeypatch.chdir(EXAMPLES)
    monkeypatch.setenv("SYNTHTUMOR_DATA", str(shared_data))
    monkeypatch.setenv("SYNTHTUMOR_EXAMPLE_OUTPUT", str(tmp_path))
    monkeypatch.setenv("SYNTHTUMOR_EXAMPLE_FAST", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    fresh = run_cells(notebook)
    stored = [cell.get("outputs", []) for cell in code_cells(load(notebook))]
    assert len(fresh) == len(stored)
    for number, (new, old) in enumerate(zip(fresh, stored, strict=True)):
        kinds = [output["output_type"] for output in new]
        assert kinds == [output["output_type"] for output in old], (
            f"{notebook.name} cell {number}: stored outputs are stale "
            "(refresh them with `python tests/_notebooks.py examples/*.ipynb`)"
        )
    assert any(stored), f"{notebook.name} is stored without outputs"


def test_realism_gallery_writes_a_picture_per_scan(shared_data, tmp_path):
    gallery = _script("realism_gallery.py")
    gallery.main(["--data", str(shared_data), "-o", str(tmp_path), "--scans", "abdomen-3mm"])
    (picture,) = tmp_path.glob("*.png")
    assert picture.name == "gallery_abdomen-3mm.png"
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and picture.stat().st_size > 50_000


def test_monai_pipeline_crops_and_saves_a_scan(shared_data, tmp_path, capsys):
    pipeline = _script("monai_pipeline.py")
    small = ["--epochs", "1", "--spacing", "3", "--patch", "32", "--workers", "0"]
    pipeline.main(["--data", str(shared_data), "--out", str(tmp_path), *small])
    printed = capsys.readouterr().out
    assert "epoch 0: crops (4, 1, 32, 32, 32)" in printed and "epoch 1" not in printed
    saved = sorted(path.name for path in tmp_path.rglob("*.nii.gz"))
    assert saved == ["ct_tumor.nii.gz", "liver_tumor.nii.gz"]


def test_label_free_vs_real_script_writes_table3(shared_data, tmp_path, capsys):
    script = _script("label_free_vs_real.py")
    tiny = ["train.max_iterations_per_epoch=1", "train.val_every=1", "data.spacing_mm=4,4,4"]
    overrides = [item for override in tiny for item in ("--set", override)]
    arguments = ["--data", str(shared_data), "-o", str(tmp_path), "--epochs", "1"]
    assert script.main([*arguments, "--bootstrap", "20", *overrides]) == 0
    table = (tmp_path / "table3.md").read_text(encoding="utf-8")
    assert capsys.readouterr().out.strip() == table.strip()
    assert "| synt | label-free | U-Net | 0 / " in table
    assert "| real | fully-supervised | U-Net | 1 / 0 |" in table
    assert script.STAND_IN_NOTICE in table
