"""Every ``python`` and ``toml`` code block of the docs pages listed here runs as written.

A Python block runs in a fresh namespace (blocks of one page in order, sharing it); a TOML block
must parse and load as a TumorConfig. A page joins the list once its blocks run; a block that
cannot run here is fenced as ``text`` with the reason beside it.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from synthtumor.config_file import config_from_mapping

DOCS = Path(__file__).resolve().parents[1] / "docs"
RUN_PAGES = [
    "architecture.md",
    "cli.md",
    "configuration.md",
    "gpu.md",
    "monai.md",
    "organs.md",
    "pytorch.md",
    "torchio.md",
]
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks(page: str, language: str) -> list[str]:
    text = (DOCS / page).read_text(encoding="utf-8")
    return [body for kind, body in BLOCK.findall(text) if kind == language]


@pytest.mark.parametrize("page", RUN_PAGES)
def test_python_blocks_run(page, monkeypatch, tmp_path, capsys):
    found = blocks(page, "python")
    assert found, f"{page} has no python block"
    monkeypatch.chdir(tmp_path)  # a block that writes files writes them here
    namespace: dict = {}
    for number, body in enumerate(found, start=1):
        exec(compile(body, f"{page} python block {number}", "exec"), namespace)


@pytest.mark.parametrize("page", RUN_PAGES)
def test_toml_blocks_load_as_configs(page):
    for body in blocks(page, "toml"):
        config_from_mapping(tomllib.loads(body), where=page)
