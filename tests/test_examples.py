"""Every notebook in examples/ runs top to bottom (as Jupyter would, from examples/)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))


def _code_cells(notebook: Path) -> list[str]:
    cells = json.loads(notebook.read_text())["cells"]
    return ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "code"]


def test_there_are_notebooks():
    assert NOTEBOOKS, f"no notebooks found in {EXAMPLES}"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_runs(notebook, shared_data, tmp_path, monkeypatch):
    monkeypatch.chdir(EXAMPLES)
    monkeypatch.setenv("SYNTHTUMOR_DATA", str(shared_data))
    monkeypatch.setenv("SYNTHTUMOR_EXAMPLE_OUTPUT", str(tmp_path))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace: dict = {"__name__": "__notebook__"}
    for number, source in enumerate(_code_cells(notebook)):
        code = compile(source, f"{notebook.name}[cell {number}]", "exec")
        exec(code, namespace)


def test_realism_gallery_writes_a_picture_per_scan(shared_data, tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "realism_gallery", EXAMPLES / "realism_gallery.py"
    )
    gallery = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gallery)
    gallery.main(["--data", str(shared_data), "-o", str(tmp_path), "--scans", "abdomen-3mm"])
    (picture,) = tmp_path.glob("*.png")
    assert picture.name == "gallery_abdomen-3mm.png"
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and picture.stat().st_size > 50_000
