"""``synthtumor realism``: measure lesion appearance (contrast, texture, edge, rim, shape).

Two forms::

    synthtumor realism CT LABEL [--json FILE] [--organ-label 1] [--tumor-label 2] [--force]
    synthtumor realism --compare REAL_DIR SYNTH_DIR -o DIR [--force]

The first prints one row per lesion of a scan (and writes them as JSON with ``--json``); the
second measures every case of two folders (layouts: :mod:`synthtumor.realism.compare`), prints
both distributions side by side and writes ``realism_summary.json`` and
``realism_comparison.png`` into DIR. Outputs are written atomically and never replace an
existing file without ``--force``. The measures are :mod:`synthtumor.realism`, imported when
the command runs.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from synthtumor._renamed import add_label_options
from synthtumor.commands._command import Command

if TYPE_CHECKING:
    from synthtumor.realism.measure import LesionStatistics

__all__ = ["COMMAND", "add_arguments", "handle"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """CT and LABEL, or ``--compare REAL_DIR SYNTH_DIR -o DIR``; the label values."""
    parser.add_argument("ct", nargs="?", type=Path, metavar="CT", help="CT NIfTI file")
    parser.add_argument("label", nargs="?", type=Path, metavar="LABEL", help="label map NIfTI")
    parser.add_argument(
        "--compare",
        nargs=2,
        type=Path,
        metavar=("REAL_DIR", "SYNTH_DIR"),
        help="compare the cases of two folders (needs -o)",
    )
    parser.add_argument(
        "-o", "--output-dir", type=Path, metavar="DIR", help="--compare: folder for the report"
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the records as JSON")
    add_label_options(parser, organ_example="e.g. 7 for a pancreas")
    parser.add_argument("--force", action="store_true", help="overwrite existing outputs")


def handle(args: argparse.Namespace) -> int:
    """Measure one scan's lesions, or compare two folders (``--compare``)."""
    if args.compare is not None:
        return _compare(args)
    if args.ct is None or args.label is None:
        raise ValueError("realism needs CT and LABEL files, or --compare REAL_DIR SYNTH_DIR")
    if args.output_dir is not None:
        raise ValueError("-o/--output-dir is for --compare; use --json FILE for one scan")
    from synthtumor.realism.compare import check_outputs, format_records, load_case
    from synthtumor.realism.measure import lesion_statistics

    if args.json is not None:
        check_outputs([args.json], overwrite=args.force)
        if not args.json.parent.is_dir():
            raise FileNotFoundError(f"--json folder {args.json.parent} does not exist")
    image, label, spacing = load_case(args.ct, args.label)
    records = lesion_statistics(
        image, label, spacing=spacing, organ_label=args.organ_label, tumor_label=args.tumor_label
    )
    print(f"synthtumor: {len(records)} lesion(s) in {args.label} (spacing {spacing} mm)")
    if records:
        print(format_records(records))
    if args.json is not None:
        _write_json(args, records, spacing)
    return 0


def _write_json(
    args: argparse.Namespace, records: list[LesionStatistics], spacing: tuple[float, ...]
) -> None:
    """The records of one scan and their summary, as JSON in ``--json FILE``."""
    from synthtumor.io import atomic_write_text
    from synthtumor.realism.compare import summarise

    summary = {k: v.to_dict() for k, v in summarise(records).items()}
    payload = {
        "ct": str(args.ct),
        "label": str(args.label),
        "spacing": list(spacing),
        "organ_label": args.organ_label,
        "liver_label": args.organ_label,  # the old name, kept for readers of older records
        "tumor_label": args.tumor_label,
        "lesions": [r.to_dict() for r in records],
        "summary": summary,
    }
    text = json.dumps(payload, indent=2, allow_nan=False) + "\n"
    atomic_write_text(args.json, text, overwrite=args.force)
    print(f"synthtumor: wrote {args.json}")


def _compare(args: argparse.Namespace) -> int:
    """``--compare REAL_DIR SYNTH_DIR -o DIR``: both distributions, printed and written."""
    if args.ct is not None:
        raise ValueError("give either CT LABEL or --compare REAL_DIR SYNTH_DIR, not both")
    if args.output_dir is None:
        raise ValueError("--compare needs -o/--output-dir DIR for the report")
    if args.json is not None:
        raise ValueError("--json is for one scan; --compare writes realism_summary.json")
    from synthtumor.realism.compare import (
        COMPARISON_FILES,
        check_outputs,
        compare_folders,
        format_comparison,
        write_comparison,
    )

    check_outputs([args.output_dir / n for n in COMPARISON_FILES], overwrite=args.force)
    real_dir, synthetic_dir = args.compare
    comparison = compare_folders(
        real_dir, synthetic_dir, organ_label=args.organ_label, tumor_label=args.tumor_label
    )
    real, synthetic = comparison.summaries()
    print(
        f"synthtumor: {sum(map(len, comparison.real.values()))} real lesion(s) in "
        f"{len(comparison.real)} case(s), {sum(map(len, comparison.synthetic.values()))} "
        f"synthetic in {len(comparison.synthetic)}; median [IQR] (n):"
    )
    print(format_comparison(real, synthetic))
    written = write_comparison(comparison, args.output_dir, overwrite=args.force)
    print(f"synthtumor: wrote {', '.join(str(p) for p in written)}")
    return 0


COMMAND = Command(
    help="measure lesion appearance (contrast, texture, edge, rim, shape)",
    description="Measure every lesion of CT + LABEL, or compare the lesions of two folders "
    "of cases (--compare REAL_DIR SYNTH_DIR -o DIR). See docs/realism.md.",
    add_arguments=add_arguments,
    handle=handle,
)
