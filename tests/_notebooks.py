"""Run a notebook's code cells as Jupyter would, and store what they print and draw.

Jupyter is not a dependency, so the notebooks are read and written as plain nbformat-4 JSON.
:func:`run_cells` executes the code cells in order in one namespace (the working directory is
the caller's) and returns each cell's outputs in nbformat's shape: the text printed to stdout as
a ``stream`` output, then every open matplotlib figure as a ``display_data`` PNG (drawn at a low
resolution, to keep the files small). A cell's last expression is not echoed; cells print.

Refresh the stored outputs after changing a notebook (from the repository root; it runs each
notebook from examples/, with its outputs in a temporary folder that is removed afterwards)::

    python tests/_notebooks.py examples/*.ipynb
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

FIGURE_DPI = 40


def load(notebook: Path) -> dict[str, Any]:
    return json.loads(notebook.read_text(encoding="utf-8"))


def code_cells(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [cell for cell in document["cells"] if cell["cell_type"] == "code"]


def _figures() -> list[dict[str, Any]]:
    """The open matplotlib figures as display_data outputs; closes them."""
    if "matplotlib.pyplot" not in sys.modules:
        return []
    import matplotlib.pyplot as plt

    outputs = []
    for number in plt.get_fignums():
        buffer = io.BytesIO()
        plt.figure(number).savefig(buffer, format="png", dpi=FIGURE_DPI, bbox_inches="tight")
        png = base64.b64encode(buffer.getvalue()).decode("ascii")
        outputs.append(
            {
                "output_type": "display_data",
                "data": {"image/png": png, "text/plain": ["<Figure>"]},
                "metadata": {},
            }
        )
    plt.close("all")
    return outputs


def run_cells(notebook: Path) -> list[list[dict[str, Any]]]:
    """Execute the code cells of `notebook` in order; the outputs of each cell."""
    namespace: dict[str, Any] = {"__name__": "__notebook__"}
    outputs = []
    for number, cell in enumerate(code_cells(load(notebook))):
        code = compile("".join(cell["source"]), f"{notebook.name}[cell {number}]", "exec")
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(code, namespace)
        cell_outputs = []
        if printed.getvalue():
            text = printed.getvalue().splitlines(keepends=True)
            cell_outputs.append({"output_type": "stream", "name": "stdout", "text": text})
        outputs.append(cell_outputs + _figures())
    return outputs


def store_outputs(notebook: Path) -> None:
    """Run `notebook` from its folder and rewrite it with the fresh outputs."""
    document = load(notebook)
    with tempfile.TemporaryDirectory() as scratch, contextlib.chdir(notebook.parent):
        os.environ["SYNTHTUMOR_EXAMPLE_OUTPUT"] = scratch
        outputs = run_cells(Path(notebook.name))
    for count, (cell, cell_outputs) in enumerate(
        zip(code_cells(document), outputs, strict=True), start=1
    ):
        cell["execution_count"] = count
        cell["outputs"] = cell_outputs
    text = json.dumps(document, indent=1, ensure_ascii=False) + "\n"
    notebook.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    os.environ.setdefault("MPLBACKEND", "Agg")
    for path in sys.argv[1:]:
        store_outputs(Path(path).resolve())
        print("stored outputs of", path)
