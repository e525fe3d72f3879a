"""``synthtumor robustness MODEL CT:LIVER... -o OUT_DIR`` (alias ``benchmark``).

The benchmark (paper section 5.5) is :func:`synthtumor.reference.robustness.run_benchmark`,
imported (with torch and MONAI) when the command runs.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from synthtumor.commands._command import Command

if TYPE_CHECKING:
    from synthtumor.reference.robustness import Scan

__all__ = ["COMMAND", "add_arguments", "handle"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """MODEL, the healthy scans (pairs or a datalist part), the dimensions and repeats."""
    parser.add_argument("model", help="checkpoint from synthtumor train (best.pt)")
    parser.add_argument(
        "scans",
        nargs="*",
        metavar="CT:LIVER",
        help="healthy scans as ct.nii.gz:liver.nii.gz pairs",
    )
    parser.add_argument("--datalist", help="take the healthy scans of a datalist part instead")
    parser.add_argument("--fold", type=int, default=0)
    parser.add_argument("--part", choices=("train", "validation", "test"), default="test")
    parser.add_argument("-o", "--output", required=True, metavar="OUT_DIR")
    parser.add_argument(
        "--dimensions",
        default="location,size,shape,intensity,texture",
        help="comma-separated dimensions (default all five)",
    )
    parser.add_argument(
        "--repeats", type=int, default=2, help="synthetic tumours per scan, level and side"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default=None)
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="K=V")
    parser.add_argument("--force", action="store_true", help="replace existing outputs")


def handle(args: argparse.Namespace) -> int:
    """Read the healthy scans, run the benchmark with the model, print its summary table."""
    from synthtumor.reference.robustness import run_benchmark, summary_markdown

    scans = _scans_from_args(args)
    from synthtumor.reference.predict import Predictor

    predictor = Predictor.from_checkpoint(args.model, device=args.device, overrides=args.overrides)
    result = run_benchmark(
        predictor,
        scans,
        args.output,
        dimensions=[d.strip() for d in args.dimensions.split(",") if d.strip()],
        repeats=args.repeats,
        seed=args.seed,
        overwrite=args.force,
        progress=True,
    )
    print(summary_markdown(result))
    return 0


def _scans_from_args(args: argparse.Namespace) -> list[Scan]:
    """The ``CT:LIVER`` pairs, then the scans without tumour of the ``--datalist`` part."""
    from synthtumor.reference.robustness import load_scan

    scans: list[Scan] = []
    for pair in args.scans:
        if ":" not in pair:
            raise ValueError(f"expected CT:LIVER, got {pair!r}")
        ct, liver = pair.split(":", 1)
        scans.append(load_scan(ct, liver))
    if args.datalist:
        from synthtumor.reference.prepare import fold_split, load_datalist

        for entry in fold_split(load_datalist(args.datalist), args.fold)[args.part]:
            if not entry.get("has_tumor", False):
                scans.append(load_scan(entry["image"], entry["label"], name=entry["case"]))
    if not scans:
        raise ValueError("no healthy scan given (CT:LIVER pairs or --datalist)")
    return scans


COMMAND = Command(
    help="controllable robustness benchmark with synthetic test tumours (paper 5.5)",
    description=(
        "Synthesize test tumours in healthy scans, varying one of location, size, shape, "
        "intensity and texture at a time (mu +- sigma, 2 sigma, 3 sigma of the training "
        "distribution), segment them with the model and report tumour DSC per dimension and "
        "level (robustness.csv, robustness.md, samples.csv)."
    ),
    add_arguments=add_arguments,
    handle=handle,
    aliases=("benchmark",),
)
