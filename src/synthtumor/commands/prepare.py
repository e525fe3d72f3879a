"""``synthtumor prepare SOURCE -o OUT_DIR``: 0/1/2 label maps and a k-fold datalist.

The work is :func:`synthtumor.reference.prepare.prepare_dataset`, imported when the command runs.

Examples
--------
>>> import argparse
>>> parser = argparse.ArgumentParser(prog="synthtumor prepare")
>>> add_arguments(parser)
>>> args = parser.parse_args(["data", "-o", "out", "--liver-values", "5"])
>>> args.liver_values, args.tumor_values, args.folds
((5,), None, 5)
"""

from __future__ import annotations

import argparse
from pathlib import Path

from synthtumor.commands._command import Command

__all__ = ["COMMAND", "add_arguments", "handle", "parse_label_values"]


def parse_label_values(text: str) -> tuple[int, ...]:
    """Parse ``"5"``, ``"1,6"`` or ``"none"`` into a tuple of label values.

    Examples
    --------
    >>> parse_label_values("1, 6"), parse_label_values("none")
    ((1, 6), ())
    """
    if text.strip().lower() in ("", "none"):
        return ()
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected integers separated by commas, or 'none', got {text!r}"
        ) from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """SOURCE, the output folder, the label values, the folds and the case-folder file names."""
    parser.add_argument("source", help="data folder or CSV file")
    parser.add_argument("-o", "--output", required=True, metavar="OUT_DIR")
    parser.add_argument(
        "--liver-values",
        type=parse_label_values,
        default=(1,),
        metavar="V[,V...]",
        help="source label values of the liver (default 1; TotalSegmentator: 5)",
    )
    parser.add_argument(
        "--tumor-values",
        type=parse_label_values,
        default=None,
        metavar="V[,V...]|none",
        help="source label values of tumours (default 2 when --liver-values is 1, else none)",
    )
    parser.add_argument(
        "--folds",
        type=int,
        default=5,
        help="number of folds (default 5; fewer, with a warning, when there are too few scans)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the split (default 0)")
    parser.add_argument(
        "--validation-fraction",
        type=float,
        default=0.2,
        help="share of each fold's non-test cases used for validation (default 0.2)",
    )
    parser.add_argument(
        "--no-test",
        action="store_true",
        help="one split of training and validation only (a pool of training scans)",
    )
    parser.add_argument(
        "--image-name", action="append", metavar="NAME", help="image file name in case folders"
    )
    parser.add_argument(
        "--label-name", action="append", metavar="NAME", help="mask file name in case folders"
    )
    parser.add_argument("--name", help="dataset name recorded in the datalist")
    parser.add_argument(
        "--skip-invalid", action="store_true", help="leave out failing cases with a warning"
    )
    parser.add_argument("--force", action="store_true", help="replace existing outputs")


def handle(args: argparse.Namespace) -> int:
    """Prepare the dataset and print its counts and where the datalist is."""
    import json

    from synthtumor.reference.prepare import IMAGE_NAMES, LABEL_NAMES, prepare_dataset
    from synthtumor.run_folder import check_writable_folder

    check_writable_folder(Path(args.output))
    path = prepare_dataset(
        args.source,
        args.output,
        liver_values=args.liver_values,
        tumor_values=args.tumor_values,
        n_folds=args.folds,
        seed=args.seed,
        validation_fraction=args.validation_fraction,
        with_test=not args.no_test,
        image_names=args.image_name or IMAGE_NAMES,
        label_names=args.label_name or LABEL_NAMES,
        skip_invalid=args.skip_invalid,
        overwrite=args.force,
        name=args.name,
    )
    datalist = json.loads(path.read_text(encoding="utf-8"))
    print(
        f"[synthtumor prepare] {datalist['numTraining']} case(s), "
        f"{datalist['numWithTumor']} with tumour, {datalist['folds']['n_folds']} fold(s) -> {path}"
    )
    return 0


COMMAND = Command(
    help="check CT scans and masks, write 0/1/2 label maps and a k-fold datalist",
    description=(
        "Pair CT scans with their masks (a folder with images/ and labels/, a folder per "
        "case holding ct.nii.gz and liver.nii.gz, or a CSV with image,label[,case][,split] "
        "columns), check shapes and affines, map label values to 0 background / 1 liver / "
        "2 tumour, flag scans with tumours, and write OUT_DIR/labels/*.nii.gz and "
        "OUT_DIR/datalist.json with k folds (training, validation and test parts)."
    ),
    add_arguments=add_arguments,
    handle=handle,
)
