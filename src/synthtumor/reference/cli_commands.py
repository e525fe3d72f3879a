"""Subcommands of the reference pipeline for the ``synthtumor`` command line.

Each ``add_*_parser(subparsers)`` adds one subcommand to an argparse subparsers action and sets
``handler``, a function of the parsed arguments that returns 0 and raises on bad input; the exit
code and the one-line message come from :func:`synthtumor.cli_errors.run_handler`. They import
torch and MONAI only when their command runs.

* ``prepare``     -- scans and masks -> 0/1/2 label maps and a datalist with k folds
* ``train``       -- train a model from a config (``torchrun`` for several GPUs)
* ``predict``     -- segment scans with a trained model
* ``robustness``  -- the controllable robustness benchmark (paper section 5.5; alias
  ``benchmark``)
* ``turing``      -- Visual Turing Test material and scoring (paper section 5.1)

Examples
--------
>>> import argparse
>>> parser = argparse.ArgumentParser(prog="synthtumor")
>>> subparsers = parser.add_subparsers()
>>> _ = add_prepare_parser(subparsers)
>>> args = parser.parse_args(["prepare", "data", "-o", "out", "--liver-values", "5"])
>>> args.liver_values, args.tumor_values, args.folds
((5,), None, 5)
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

__all__ = [
    "add_benchmark_parser",
    "add_predict_parser",
    "add_prepare_parser",
    "add_robustness_parser",
    "add_train_parser",
    "add_turing_parser",
    "parse_label_values",
]


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


# --------------------------------------------------------------------------------------------
# prepare
# --------------------------------------------------------------------------------------------


def add_prepare_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``synthtumor prepare SOURCE -o OUT_DIR``."""
    parser = subparsers.add_parser(
        "prepare",
        help="check CT scans and masks, write 0/1/2 label maps and a k-fold datalist",
        description=(
            "Pair CT scans with their masks (a folder with images/ and labels/, a folder per "
            "case holding ct.nii.gz and liver.nii.gz, or a CSV with image,label[,case][,split] "
            "columns), check shapes and affines, map label values to 0 background / 1 liver / "
            "2 tumour, flag scans with tumours, and write OUT_DIR/labels/*.nii.gz and "
            "OUT_DIR/datalist.json with k folds (training, validation and test parts)."
        ),
    )
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
    parser.set_defaults(handler=_run_prepare)
    return parser


def _run_prepare(args: argparse.Namespace) -> int:
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


# --------------------------------------------------------------------------------------------
# train, predict
# --------------------------------------------------------------------------------------------


def add_train_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``synthtumor train CONFIG [--set k=v ...] [--resume PATH] -o RUN_DIR``."""
    parser = subparsers.add_parser(
        "train",
        help="train a liver and tumour segmentation model (torchrun for several GPUs)",
        description=(
            "Train from a TOML/JSON config (configs/*.toml); every field can be overridden with "
            "--set section.field=value. Several GPUs: torchrun --nproc_per_node N -m "
            "synthtumor.reference.train CONFIG -o RUN_DIR."
        ),
    )
    from synthtumor.reference.train import build_parser

    build_parser(parser)
    parser.set_defaults(handler=_run_train)
    return parser


def _run_train(args: argparse.Namespace) -> int:
    from synthtumor.reference.train import run_from_args

    return run_from_args(args)


def add_predict_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``synthtumor predict MODEL CT... -o OUT_DIR``."""
    parser = subparsers.add_parser(
        "predict",
        help="segment liver and tumours in CT scans with a trained model",
        description=(
            "Sliding-window inference (overlap 0.75, Gaussian), back to each scan's grid and "
            "affine, the paper's post-processing; writes OUT_DIR/<case>.nii.gz (uint8)."
        ),
    )
    from synthtumor.reference.predict import build_parser

    build_parser(parser)
    parser.set_defaults(handler=_run_predict)
    return parser


def _run_predict(args: argparse.Namespace) -> int:
    from synthtumor.reference.predict import run_from_args

    return run_from_args(args)


# --------------------------------------------------------------------------------------------
# robustness, turing
# --------------------------------------------------------------------------------------------


def add_robustness_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``synthtumor robustness MODEL CT:LIVER... -o OUT_DIR`` (alias ``benchmark``)."""
    parser = subparsers.add_parser(
        "robustness",
        aliases=["benchmark"],
        help="controllable robustness benchmark with synthetic test tumours (paper 5.5)",
        description=(
            "Synthesize test tumours in healthy scans, varying one of location, size, shape, "
            "intensity and texture at a time (mu +- sigma, 2 sigma, 3 sigma of the training "
            "distribution), segment them with the model and report tumour DSC per dimension and "
            "level (robustness.csv, robustness.md, samples.csv)."
        ),
    )
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
    parser.set_defaults(handler=_run_robustness)
    return parser


add_benchmark_parser = add_robustness_parser
"""Alias of :func:`add_robustness_parser` (``synthtumor robustness``, alias ``benchmark``);
register one of the two."""


def _run_robustness(args: argparse.Namespace) -> int:
    from synthtumor.reference.robustness import run_from_args

    return run_from_args(args)


def add_turing_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``synthtumor turing build|score``."""
    parser = subparsers.add_parser(
        "turing",
        help="Visual Turing Test: build a blinded case set, or score a filled rating sheet",
        description="Visual Turing Test material (paper section 5.1, Table 2).",
    )
    actions = parser.add_subparsers(dest="turing_action", required=True)
    build = actions.add_parser(
        "build",
        help="blinded cases from real-tumour scans and healthy scans with synthetic tumours",
    )
    build.add_argument(
        "--real", nargs="*", default=[], metavar="CT", help="CT scans with real tumours"
    )
    build.add_argument(
        "--healthy",
        nargs="*",
        default=[],
        metavar="CT:LIVER",
        help="healthy scans as ct.nii.gz:liver.nii.gz pairs (synthetic tumours are added)",
    )
    build.add_argument("-o", "--output", required=True, metavar="OUT_DIR")
    build.add_argument("--seed", type=int, default=0)
    build.add_argument("--size", default=None, help="tumour size preset (default: drawn)")
    build.add_argument("--force", action="store_true")
    build.set_defaults(handler=_run_turing_build)
    score = actions.add_parser("score", help="score a filled rating sheet against the key")
    score.add_argument("ratings", help="filled rating_sheet.csv")
    score.add_argument("key", help="answer_key.csv")
    score.add_argument("-o", "--output", help="write the scores as JSON and Markdown here")
    score.add_argument("--force", action="store_true")
    score.set_defaults(handler=_run_turing_score)
    return parser


def _run_turing_build(args: argparse.Namespace) -> int:
    from synthtumor.reference.visual_turing import run_build

    return run_build(args)


def _run_turing_score(args: argparse.Namespace) -> int:
    from synthtumor.reference.visual_turing import run_score

    return run_score(args)
