"""The output folder of a ``synthesize`` or ``demo`` run: checks, replacing and resuming runs.

A run folder holds the case files ``synth_<index>_<kind>``, the run record :data:`RUN_RECORD`
(written last: its presence means every case was written) and, while the run is under way,
:data:`INCOMPLETE_RECORD` (the same record, written first, so that ``--resume`` knows what was
asked for). One run per folder: ``--force`` removes every file of an earlier run, ``--resume``
continues the run an :data:`INCOMPLETE_RECORD` describes.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "CASE_PREFIX",
    "INCOMPLETE_RECORD",
    "RUN_RECORD",
    "check_output_folder",
    "check_resumable",
    "check_writable_folder",
    "clear_previous_run",
    "previous_run_files",
    "read_incomplete_record",
]

CASE_PREFIX = "synth"
"""Output files are named ``synth_<index>_<kind>``, index zero-padded to at least 3 digits."""
RUN_RECORD = "synthtumor_run.json"
"""File recording a ``synthesize`` or ``demo`` run (written last, after every case)."""
INCOMPLETE_RECORD = "synthtumor_run.incomplete.json"
"""The run record while the run is under way (removed once :data:`RUN_RECORD` is written)."""

_CASE_FILE = re.compile(
    rf"^{CASE_PREFIX}_\d{{3,}}_(image\.nii\.gz|label\.nii\.gz|params\.json|preview\.png)$"
)


def previous_run_files(folder: Path) -> list[Path]:
    """The case files and run records of any earlier run in `folder` (sorted)."""
    if not folder.is_dir():
        return []
    records = (RUN_RECORD, INCOMPLETE_RECORD)
    return sorted(
        path
        for path in folder.iterdir()
        if path.is_file() and (_CASE_FILE.match(path.name) or path.name in records)
    )


def check_output_folder(folder: Path, targets: Iterable[Path], *, force: bool) -> None:
    """Refuse, before any work, an output folder that cannot hold the run.

    The folder (or, when missing, the nearest folder above it) must be a writable folder, and
    without `force` it must hold none of `targets` and no file of an earlier run.
    """
    check_writable_folder(folder)
    if force:
        return
    existing = sorted({*(path for path in targets if path.exists()), *previous_run_files(folder)})
    if existing:
        more = f" (and {len(existing) - 1} more output files)" if len(existing) > 1 else ""
        raise FileExistsError(
            f"output file {existing[0]} already exists{more}; pass --force to replace the "
            "earlier run, or --resume to continue it"
        )


def check_writable_folder(folder: Path) -> None:
    """Refuse an output folder that is a file, lies under a file, or cannot be written.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     blocker = pathlib.Path(tmp) / "notes.txt"
    ...     _ = blocker.write_text("")
    ...     try:
    ...         check_writable_folder(blocker / "out")
    ...     except ValueError as error:
    ...         print(str(error).replace(tmp, "TMP"))
    output folder TMP/notes.txt/out lies under TMP/notes.txt, which is not a folder
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"output folder {folder} exists and is not a folder")
    existing_parent = _nearest_existing(folder)
    if not existing_parent.is_dir():
        raise ValueError(
            f"output folder {folder} lies under {existing_parent}, which is not a folder"
        )
    if not os.access(existing_parent, os.W_OK | os.X_OK):
        raise ValueError(f"output folder {existing_parent} is not writable")


def _nearest_existing(folder: Path) -> Path:
    path = folder.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def clear_previous_run(folder: Path, keep: Iterable[Path]) -> list[Path]:
    """Delete every file of an earlier run in `folder` except `keep` (``--force``)."""
    kept = {Path(path).absolute() for path in keep}
    removed = []
    for path in previous_run_files(folder):
        if path.absolute() not in kept:
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def read_incomplete_record(folder: Path) -> dict[str, Any]:
    """The record of the interrupted run in `folder`, for ``--resume``."""
    path = folder / INCOMPLETE_RECORD
    if not path.is_file():
        done = " (its run is complete)" if (folder / RUN_RECORD).is_file() else ""
        raise ValueError(f"nothing to resume in {folder}: no {INCOMPLETE_RECORD}{done}")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} is not a run record: {error}") from None
    if not isinstance(record, dict):
        raise ValueError(f"{path} is not a run record")
    return record


def check_resumable(recorded: Mapping[str, Any], planned: Mapping[str, Any]) -> None:
    """Refuse to resume when the command line asks for another run than the one recorded."""
    planned = json.loads(json.dumps(planned, default=str))  # as it would read back
    derived = {"cases"}  # follows from count and preview
    differing = sorted(
        key for key in {*recorded, *planned} - derived if recorded.get(key) != planned.get(key)
    )
    if differing:
        raise ValueError(
            f"--resume: this command differs from the interrupted run in {', '.join(differing)}; "
            "give the same inputs and options (the seed is taken from the record)"
        )
