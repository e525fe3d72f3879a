"""``synthtumor synthesize CT LIVER -o OUT_DIR``: synthetic tumours in one CT scan.

Writes ``--count`` cases drawn from the CT and its organ mask (layout: :mod:`._cases`).
"""

from __future__ import annotations

import argparse
import secrets
import time
from pathlib import Path

import numpy as np

from synthtumor._renamed import warn_old_option
from synthtumor.commands._cases import Volume
from synthtumor.commands._command import Command
from synthtumor.commands._run import check_output, produce, run_seed
from synthtumor.commands._synthesis_options import (
    add_synthesis_options,
    config_from_args,
    non_negative_int,
)

__all__ = ["COMMAND", "add_arguments", "handle"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """CT, LIVER, the organ options and the options shared with ``demo``."""
    parser.add_argument("ct", type=Path, metavar="CT", help="CT scan (.nii or .nii.gz) in HU")
    parser.add_argument("liver", type=Path, metavar="LIVER", help="liver mask on the CT's grid")
    parser.add_argument(
        "--liver-label",
        type=non_negative_int,
        default=None,
        metavar="V",
        help="deprecated: the organ's value in a multi-label LIVER map, written out as a 0/1/2 "
        "label (default: LIVER must be 0/1); use --organ-label, which keeps the map's other "
        "classes",
    )
    _add_organ_options(parser)
    add_synthesis_options(parser, default_seed=None)


def _add_organ_options(parser: argparse.ArgumentParser) -> None:
    from synthtumor.organs import ORGAN_NAMES

    parser.add_argument(
        "--organ",
        choices=ORGAN_NAMES,
        default="liver",
        help="the organ whose tumours are drawn (default: liver; see docs/organs.md)",
    )
    parser.add_argument(
        "--organ-label",
        type=_organ_label_values,
        default=None,
        metavar="V[,V]",
        help="the organ's value(s) in a multi-class LIVER map, e.g. 7 (TotalSegmentator's "
        "pancreas) or 2,3 (both kidneys); the label written is that map with the tumours in, "
        "every other class kept",
    )
    parser.add_argument(
        "--tumor-label",
        type=int,
        default=None,
        metavar="V",
        help="the tumours' value in the label written (default: 2; with --organ-label it must "
        "not be a class of the map)",
    )


def _organ_label_values(text: str) -> tuple[int, ...]:
    """``--organ-label``: one integer, or several separated by commas."""
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an integer or integers separated by commas, got {text!r}"
        ) from None


def handle(args: argparse.Namespace) -> int:
    """Check the options and outputs, read CT and mask, write the cases and the run record."""
    started = time.perf_counter()
    config_from_args(args)  # a bad --config fails before the inputs are read
    check_output(args)
    seed = run_seed(args, lambda: secrets.randbits(32))
    if args.organ_label is not None and args.liver_label is not None:
        raise ValueError("give --organ-label or --liver-label, not both")
    if args.liver_label is not None:
        warn_old_option(
            "use --organ-label, which writes the map with its other classes kept "
            "(--liver-label writes the organ as 1 of a 0/1/2 label)"
        )
    inputs = {
        "ct": str(args.ct.resolve()),
        "liver": str(args.liver.resolve()),
        "liver_label": args.liver_label,
        "organ": args.organ,
        "organ_label": args.organ_label,
    }
    volume = _read_volume(args)
    return produce(volume, args, command="synthesize", seed=seed, inputs=inputs, started=started)


def _read_volume(args: argparse.Namespace) -> Volume:
    """CT and mask; with ``--organ-label`` the mask is the whole organ map, its values checked."""
    from synthtumor.io import load_organ_map, load_scan

    mask = None
    if args.organ_label is not None:
        mask = load_organ_map(args.liver)
        missing = sorted(set(args.organ_label) - set(np.unique(mask).tolist()))
        if missing:
            raise ValueError(f"--organ-label {missing[0]} is not a class of {args.liver}")
    first_label = args.liver_label if args.organ_label is None else args.organ_label[0]
    scan = load_scan(args.ct, args.liver, organ_label=first_label)
    mask = scan.liver_mask if mask is None else mask
    return Volume(
        scan.image, mask, scan.spacing, scan.affine, scan.header, args.organ, args.organ_label
    )


COMMAND = Command(
    help="put synthetic tumours into a CT scan",
    description="Write --count synthetic cases (image, label, params, preview) drawn from "
    "one CT and its liver mask.",
    add_arguments=add_arguments,
    handle=handle,
)
