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
