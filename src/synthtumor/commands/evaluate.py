"""``synthtumor evaluate PRED_DIR GT_DIR -o REPORT_DIR``: score predicted label maps.

The scoring is :func:`synthtumor.reference.evaluate.evaluate_folder` (the ``reference`` extra);
this module reads the options and prints the headline numbers.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from synthtumor._renamed import add_label_options
from synthtumor._validation.options import real_option
from synthtumor.cli_errors import EXIT_OK
from synthtumor.commands._command import PROG, Command
from synthtumor.run_folder import check_writable_folder

__all__ = ["COMMAND", "add_arguments", "handle"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """PRED_DIR, GT_DIR, the report folder, the label values and the scoring thresholds."""
    parser.add_argument("pred_dir", type=Path, metavar="PRED_DIR", help="predicted label maps")
    parser.add_argument("gt_dir", type=Path, metavar="GT_DIR", help="reference label maps")
    parser.add_argument(
        "-o",
        "--output-dir",
        required=True,
        type=Path,
        metavar="REPORT_DIR",
        help="report folder (created if missing)",
    )
    add_label_options(parser)
    parser.add_argument(
        "--organ", default="liver", metavar="NAME", help="the organ's name in the report"
    )
    parser.add_argument(
        "--tolerance-mm",
        type=real_option(low=0.0, low_open=True),
        default=2.0,
        metavar="MM",
        help="NSD tolerance in mm (default: 2)",
    )
    parser.add_argument(
        "--min-overlap",
        type=_fraction,
        default=0.0,
        metavar="F",
        help="share of a reference lesion that predicted tumour must cover for it to count as "
        "detected (default: 0, any voxel)",
    )
    parser.add_argument(
        "--min-volume",
        type=_non_negative_float,
        default=0.0,
        metavar="MM3",
        help="predicted tumour volume (mm³) from which a scan counts as predicted positive "
        "(default: 0, any voxel)",
    )
    parser.add_argument("--force", action="store_true", help="overwrite existing report files")


def _fraction(text: str) -> float:
    """``--min-overlap``: a number in [0, 1]."""
    value = _non_negative_float(text)
    if value > 1.0:
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1], got {text!r}")
    return value


def _non_negative_float(text: str) -> float:
    """``--min-volume``: a finite number >= 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not (value >= 0.0 and np.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text!r}")
    return value


def handle(args: argparse.Namespace) -> int:
    """Score the pairs, write the report, print where it is and the headline numbers."""
    try:
        from synthtumor.reference.evaluate import evaluate_folder
    except ImportError as error:
        raise ValueError(
            f"evaluate needs the reference extra ({error}); "
            "install it with: pip install 'synthtumor[reference]'"
        ) from None
    check_writable_folder(args.output_dir)
    summary = evaluate_folder(
        args.pred_dir,
        args.gt_dir,
        args.output_dir,
        organ_label=args.organ_label,
        tumor_label=args.tumor_label,
        organ=args.organ,
        tolerance_mm=args.tolerance_mm,
        overwrite=args.force,
        overlap_threshold=args.min_overlap,
        min_predicted_volume_mm3=args.min_volume,
    )
    markdown = summary.files.get("summary.md", args.output_dir / "summary.md")
    print(f"{PROG}: evaluated {summary.n_cases} case(s); summary: {markdown}")
    print(_headline(summary))
    return EXIT_OK


def _headline(summary: Any) -> str:
    """One line of the main numbers, each ``estimate [low, high]``: overlap, then lesion-level
    sensitivity beside precision and false positives (so painting the liver cannot look good),
    then case-level detection."""

    def interval(ci: Any) -> str:
        if ci.estimate is None or not np.isfinite(ci.estimate):  # NaN: no case to average
            return "n/a"
        if not (np.isfinite(ci.low) and np.isfinite(ci.high)):  # one case: no interval
            return f"{ci.estimate:.3f}"
        return f"{ci.estimate:.3f} [{ci.low:.3f}, {ci.high:.3f}]"

    parts = [
        f"tumour DSC {interval(summary.metrics['tumor_dsc'])}",
        f"tumour NSD {interval(summary.metrics['tumor_nsd'])}",
        f"liver DSC {interval(summary.metrics['liver_dsc'])}",
        f"lesion sensitivity {interval(summary.lesion_sensitivity)}",
        f"lesion precision {interval(summary.lesion_precision)}",
        f"false positives per scan {interval(summary.false_positives_per_scan)}",
        f"case sensitivity {interval(summary.sensitivity)}",
        f"case specificity {interval(summary.specificity)}",
    ]
    return "; ".join(parts)


COMMAND = Command(
    help="score predicted label maps against references",
    description="Pair PRED_DIR and GT_DIR NIfTI label maps by file name and write a report "
    "(per_case.csv, lesions.csv, summary.json, summary.md, detection_by_radius.png).",
    add_arguments=add_arguments,
    handle=handle,
)
