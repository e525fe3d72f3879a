"""One run of ``synthesize`` or ``demo``: output checks, seed, run record, then the cases.

The record is written first as ``synthtumor_run.incomplete.json`` (what ``--resume`` reads) and
last as ``synthtumor_run.json``; ``--force`` first removes every file of an earlier run.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import synthtumor
from synthtumor.cli_errors import EXIT_OK
from synthtumor.commands._cases import (
    CaseFiles,
    Volume,
    case_files,
    draw_case,
    write_cases,
    written_cases,
)
from synthtumor.commands._command import PROG
from synthtumor.commands._synthesis_options import config_from_args
from synthtumor.config import TumorConfig
from synthtumor.run_folder import (
    INCOMPLETE_RECORD,
    RUN_RECORD,
    check_output_folder,
    check_resumable,
    clear_previous_run,
    read_incomplete_record,
)

__all__ = ["check_output", "produce", "run_seed"]


def check_output(args: argparse.Namespace, extra: Iterable[Path] = ()) -> None:
    """The output checks of ``synthesize`` and ``demo`` (``--resume`` expects earlier files)."""
    replace = args.force or args.resume
    check_output_folder(args.output_dir, _planned_outputs(args, extra), force=replace)


def _planned_outputs(args: argparse.Namespace, extra: Iterable[Path] = ()) -> list[Path]:
    """Every file the run will write, checked before any work."""
    case_paths = [path for files in case_files(args.output_dir, args) for path in files.paths()]
    return [*extra, *case_paths, args.output_dir / RUN_RECORD]


def run_seed(args: argparse.Namespace, default: Callable[[], int]) -> int:
    """--seed; with --resume and no --seed the interrupted run's; else `default()`."""
    if args.seed is not None:
        return int(args.seed)
    if args.resume:
        recorded = read_incomplete_record(args.output_dir).get("seed")
        if isinstance(recorded, int):
            return recorded
    return default()


def produce(
    volume: Volume,
    args: argparse.Namespace,
    *,
    command: str,
    seed: int,
    inputs: dict[str, Any],
    started: float,
    before_cases: Callable[[], None] = lambda: None,
    extra: str = "",
) -> int:
    """Everything after the inputs are read: draw case 0, then write cases and run record.

    `before_cases` runs once the folder is ready, before the first case is written (``demo``
    writes its phantom there); `extra` goes into the summary line.
    """
    folder: Path = args.output_dir
    config, overrides = config_from_args(args)
    cases = case_files(folder, args)
    record = _run_record(
        command,
        inputs=inputs,
        seed=seed,
        args=args,
        config=config,
        overrides=overrides,
        cases=cases,
    )
    if args.resume:
        check_resumable(read_incomplete_record(folder), record)
    first = draw_case(volume, 0, seed=seed, size=args.size, config=config)
    done = _open_folder(folder, args, cases)
    _write_run_record(folder / INCOMPLETE_RECORD, record, force=True)
    before_cases()
    replace = args.force or args.resume
    write_cases(
        volume, cases, first, seed=seed, size=args.size, config=config, force=replace, done=done
    )
    _write_run_record(folder / RUN_RECORD, record, force=replace)
    (folder / INCOMPLETE_RECORD).unlink()
    seconds = time.perf_counter() - started
    if done:
        extra += f" ({len(done)} of the cases kept from the interrupted run)"
    line = _summary_line(cases, args.output_dir, seed=seed, seconds=seconds, extra=extra)
    print(f"{PROG}: {line}")
    return EXIT_OK


def _open_folder(folder: Path, args: argparse.Namespace, cases: list[CaseFiles]) -> frozenset[int]:
    """Create `folder` and clear what a killed run left (and with ``--force`` every file of an
    earlier run); return the indices of the cases ``--resume`` keeps."""
    from synthtumor.io import remove_partial_files

    folder.mkdir(parents=True, exist_ok=True)
    remove_partial_files(folder)  # left by a killed run
    if args.force:
        clear_previous_run(folder, keep=())
    return written_cases(cases) if args.resume else frozenset()


def _write_run_record(path: Path, record: dict[str, Any], *, force: bool) -> None:
    from synthtumor.io import atomic_write_text

    atomic_write_text(path, json.dumps(record, indent=2, default=str) + "\n", overwrite=force)


def _run_record(
    command: str,
    *,
    inputs: dict[str, Any],
    seed: int,
    args: argparse.Namespace,
    config: TumorConfig,
    overrides: dict[str, Any],
    cases: list[CaseFiles],
) -> dict[str, Any]:
    """The run record: version, command, inputs, seed, options, config and every case's files."""
    return {
        "synthtumor_version": synthtumor.__version__,
        "command": command,
        "inputs": inputs,
        "seed": seed,
        "seed_scheme": "case i: numpy.random.SeedSequence(seed).spawn(count)[i]",
        "count": args.count,
        "size": args.size,
        "preview": args.preview,
        "config_overrides": dict(overrides),
        "config": dataclasses.asdict(config),
        "cases": [
            {"index": i, **{k: p.name for k, p in vars(files).items() if p is not None}}
            for i, files in enumerate(cases)
        ],
    }


def _summary_line(
    cases: list[CaseFiles], folder: Path, *, seed: int, seconds: float, extra: str = ""
) -> str:
    """``wrote 2 cases (synth_000..synth_001: image, label, params, preview) and ... to DIR``."""
    names = [files.image.name.removesuffix("_image.nii.gz") for files in cases]
    span = names[0] if len(names) == 1 else f"{names[0]}..{names[-1]}"
    kinds = ", ".join(["image", "label", "params"] + (["preview"] if cases[0].preview else []))
    plural = "case" if len(cases) == 1 else "cases"
    return (
        f"wrote {len(cases)} {plural} ({span}: {kinds}){extra} and {RUN_RECORD} to {folder} "
        f"[seed {seed}, {seconds:.1f} s]"
    )
