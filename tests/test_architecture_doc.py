"""docs/architecture.md cannot go stale silently.

Every ``synthtumor...`` name on the page imports, every ``src/...`` path exists, the equation
table covers every equation and table of the paper's section 3 and each of its functions lives
in the file its row links, and the layers the page describes hold in the imports.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "architecture.md"
TEXT = PAGE.read_text(encoding="utf-8")
NAME = re.compile(r"`(synthtumor(?:\.\w+)+)`")
SOURCE_PATH = re.compile(r"\bsrc/[\w/]+\.py\b")
LINKED_SOURCE = re.compile(r"\]\(\.\./(src/[\w/]+\.py)\)")
EQUATION_TABLE = "## Where each paper equation lives"
PAPER_ITEMS = [f"eq. {n}" for n in range(1, 9)] + ["Table 1", "Table 4", "Table 6"]
FRAMEWORKS = {"torch", "monai", "torchio", "nibabel", "matplotlib"}
# Modules below the public API, as the page's layer table names them.
CORE = [
    "config", "config_file", "params", "separable", "_validation", "_threads", "location",
    "organ_location", "texture", "shape", "postprocess", "render", "appearance", "organs",
    "organ_map", "patterns", "duct", "phase", "synthesize", "label_map",
]  # fmt: skip
HOSTS = (
    "synthtumor.cli",
    "synthtumor.commands",
    "synthtumor.adapters",
    "synthtumor.torch",
    "synthtumor.reference",
)


def resolve(dotted: str) -> tuple[object, Path]:
    """The object a dotted name names, and the file that defines it (or its owner)."""
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:split]))
        except ModuleNotFoundError as error:
            if error.name is None or not ".".join(parts[:split]).startswith(error.name):
                raise
            continue
        break
    defined_in = Path(inspect.getsourcefile(obj))  # type: ignore[arg-type]
    for attribute in parts[split:]:
        assert hasattr(obj, attribute), f"{dotted}: {obj!r} has no attribute {attribute!r}"
        obj = getattr(obj, attribute)
        try:
            defined_in = Path(inspect.getsourcefile(inspect.unwrap(obj)))  # type: ignore[arg-type]
        except TypeError:  # a plain value (a constant, a field's default): its owner's file
            pass
    return obj, defined_in


def equation_rows() -> list[str]:
    section = TEXT.split(EQUATION_TABLE, 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    return rows[2:]  # past the header and the |---| line


@pytest.mark.parametrize("dotted", sorted(set(NAME.findall(TEXT))))
def test_every_name_on_the_page_imports(dotted):
    resolve(dotted)


@pytest.mark.parametrize("path", sorted(set(SOURCE_PATH.findall(TEXT))))
def test_every_source_path_on_the_page_exists(path):
    assert (ROOT / path).is_file(), f"docs/architecture.md names {path}, which does not exist"


def test_the_page_has_names_and_paths_to_check():
    assert len(set(NAME.findall(TEXT))) > 50
    assert len(set(SOURCE_PATH.findall(TEXT))) > 10


def test_the_equation_table_covers_every_equation_and_table_of_section_3():
    papers = [row.split("|")[1] for row in equation_rows()]
    for item in PAPER_ITEMS:
        pattern = rf"\b{re.escape(item)}(?!\d)"
        assert any(re.search(pattern, paper) for paper in papers), f"no row for {item}"


@pytest.mark.parametrize("row", equation_rows(), ids=lambda row: row.split("|")[1].strip())
def test_each_equation_row_links_the_file_that_defines_its_functions(row):
    names, files = NAME.findall(row), LINKED_SOURCE.findall(row)
    assert names and files, f"row needs a synthtumor name and a linked source file: {row}"
    linked = {(ROOT / path).resolve() for path in files}
    for dotted in names:
        _, defined_in = resolve(dotted)
        assert defined_in.resolve() in linked, (
            f"{dotted} is defined in {defined_in.relative_to(ROOT)}, "
            f"but its row links {sorted(files)}"
        )


def imported_modules(path: Path) -> set[str]:
    """Every module a source file imports, at the top or inside functions."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def core_files() -> list[Path]:
    package = ROOT / "src" / "synthtumor"
    files = []
    for name in CORE:
        files += sorted((package / name).glob("*.py")) or [package / f"{name}.py"]
    return files


@pytest.mark.parametrize("path", core_files(), ids=lambda path: path.stem)
def test_the_core_imports_no_framework_and_no_host(path):
    imports = imported_modules(path)
    frameworks = {module for module in imports if module.split(".")[0] in FRAMEWORKS}
    hosts = {module for module in imports if module.startswith(HOSTS)}
    assert not frameworks | hosts, f"{path.name} imports {sorted(frameworks | hosts)}"


@pytest.mark.parametrize(
    "path", [p for p in core_files() if p.stem not in ("synthesize", "label_map")]
)
def test_only_the_orchestration_calls_synthesize(path):
    assert "synthtumor.synthesize" not in imported_modules(path)
