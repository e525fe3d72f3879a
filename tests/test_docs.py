"""Every ``python`` and ``toml`` code block of the docs pages and README.md runs as written.

A Python block runs in a fresh namespace (blocks of one page in order, sharing it) in a working
folder holding what the pages name: ``ct.nii.gz`` and ``liver.nii.gz`` (the real abdomen-3mm
scan), ``healthy1/`` (the same pair), an untrained smoke-profile checkpoint at
``runs/unet_synthetic/best.pt``, label maps in ``labels/`` with predictions in
``predictions/``, ``pred_a/`` and ``pred_b/``, the reports ``report_a/`` and ``report_b/`` of the
latter two, and a filled rating sheet ``rater1.csv``. A TOML block must parse and load as a
TumorConfig. A block that cannot run here is fenced as ``text`` (or ``bash``/``console``) with
the reason beside it.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import tomllib
from pathlib import Path

import numpy as np
import pytest

from synthtumor.config_file import config_from_mapping

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = [*sorted(path.relative_to(ROOT).as_posix() for path in DOCS.glob("*.md")), "README.md"]
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
NOT_RUN = {"bash", "console", "text", "json", ""}  # shell sessions, listings, output samples


def blocks(page: str, language: str) -> list[str]:
    text = (ROOT / page).read_text(encoding="utf-8")
    return [body for kind, body in BLOCK.findall(text) if kind == language]


PYTHON_PAGES = [page for page in PAGES if blocks(page, "python")]


def test_every_fence_is_run_or_plainly_not_python():
    """A ``py``/``python3``/``pycon`` fence would slip past the runner; only known kinds exist."""
    for page in PAGES:
        text = (ROOT / page).read_text(encoding="utf-8")
        kinds = {kind for kind, _ in BLOCK.findall(text)}
        assert kinds <= NOT_RUN | {"python", "toml"}, f"{page}: fences {sorted(kinds)}"


def _label_map(shift: int) -> np.ndarray:
    """32 x 32 x 24 voxels: a liver box (1) holding a 6-voxel tumour cube (2), moved by `shift`."""
    labels = np.zeros((32, 32, 24), np.uint8)
    labels[4:28, 4:28, 4:20] = 1
    labels[10 + shift : 16 + shift, 10:16, 8:14] = 2
    return labels


def _write_label_folders(work: Path) -> None:
    from synthtumor.io import save_nifti
    from synthtumor.reference import evaluate_folder

    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    shifts = {"labels": [0, 0, 0, 0], "predictions": [0, 1, 2, 1], "pred_b": [3, 2, 4, 3]}
    shifts["pred_a"] = shifts["predictions"]
    for folder, case_shifts in shifts.items():
        (work / folder).mkdir()
        for case, shift in enumerate(case_shifts):
            save_nifti(work / folder / f"case_{case}.nii.gz", _label_map(shift), affine=affine)
    for arm in "ab":
        evaluate_folder(
            work / f"pred_{arm}", work / "labels", work / f"report_{arm}", n_resamples=50
        )


def _write_checkpoint(path: Path) -> None:
    """An untrained smoke-profile U-Net in the checkpoint format that ``Predictor`` reads."""
    import torch

    from synthtumor.reference.checkpointing import CHECKPOINT_FORMAT
    from synthtumor.reference.config import config_to_dict, profile_config
    from synthtumor.reference.models import build_model

    smoke = profile_config("smoke")
    # 4 mm voxels and one window per 48-voxel cube: inference takes a second on a CPU.
    config = dataclasses.replace(
        smoke,
        data=dataclasses.replace(smoke.data, spacing_mm=(4.0, 4.0, 4.0)),
        inference=dataclasses.replace(smoke.inference, overlap=0.0),
    )
    torch.manual_seed(0)
    model = build_model(config.model)
    path.parent.mkdir(parents=True)
    state = {"format": CHECKPOINT_FORMAT, "config": config_to_dict(config)}
    torch.save({**state, "model": model.state_dict()}, path)


@pytest.fixture(scope="module")
def docs_folder(tmp_path_factory, shared_data) -> Path:
    """The files the pages' blocks name (see the module docstring); read-only for the blocks."""
    work = tmp_path_factory.mktemp("docs_folder")
    scan = shared_data / "abdomen-3mm"
    (work / "healthy1").mkdir()
    for name in ("ct.nii.gz", "liver.nii.gz"):
        (work / name).symlink_to(scan / name)
        (work / "healthy1" / name).symlink_to(scan / name)
    _write_checkpoint(work / "runs" / "unet_synthetic" / "best.pt")
    _write_label_folders(work)
    (work / "rater1.csv").write_text(
        "case,real,synthetic,unsure,comment\ncase_001,x,,,\ncase_002,,x,,\n", encoding="utf-8"
    )
    return work


@pytest.mark.parametrize("page", PYTHON_PAGES)
def test_python_blocks_run(page, docs_folder, monkeypatch, tmp_path):
    work = tmp_path / "work"
    # Links to the shared files, fresh folders: what one page writes, no other page reads.
    shutil.copytree(docs_folder, work, symlinks=True, copy_function=os.symlink)
    monkeypatch.chdir(work)
    namespace: dict = {"__name__": "__docs__"}
    for number, body in enumerate(blocks(page, "python"), start=1):
        exec(compile(body, f"{page} python block {number}", "exec"), namespace)


@pytest.mark.parametrize("page", PAGES)
def test_toml_blocks_load_as_configs(page):
    for body in blocks(page, "toml"):
        config_from_mapping(tomllib.loads(body), where=page)


def test_cli_synopsis_matches_the_parsers(capsys):
    """Each option of the synopsis at the top of cli.md is one its command accepts, and the
    synopsis names every command of ``synthtumor --help``."""
    from synthtumor.cli import main

    synopsis = re.search(r"^```\n(synthtumor .*?)^```", (DOCS / "cli.md").read_text(), re.M | re.S)
    assert synopsis, "cli.md starts without its synopsis block"
    text = synopsis.group(1)
    commands = re.findall(r"^ {4}(\w+)", _help(main, [], capsys), re.M)
    assert commands and all(re.search(rf"\b{name}\b", text) for name in commands), commands
    for command, options in re.findall(
        r"^synthtumor (\w+)\s+(.*?)(?=^synthtumor |\Z)", text, re.M | re.S
    ):
        accepted = _help(main, [command], capsys)
        for option in re.findall(r"--[\w-]+", options):
            assert option in accepted, f"cli.md synopsis: synthtumor {command} has no {option}"


def _help(main, command: list[str], capsys) -> str:
    assert main([*command, "--help"]) == 0
    return capsys.readouterr().out
