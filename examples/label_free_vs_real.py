"""Label-free against fully supervised, on your data, in one command (the paper's Table 3).

Trains the same U-Net twice -- once on healthy livers with synthetic tumours only ("synt",
label-free), once on scans with annotated real tumours ("real", fully supervised) -- predicts
the same held-out scans with both, evaluates both against the real annotations and prints a
Table-3-style comparison (DSC and NSD with 95 % CIs, case-level sensitivity, a paired test).

Usage::

    # your data: healthy scans with liver masks, and LiTS-style scans with tumour labels
    python examples/label_free_vs_real.py --healthy HEALTHY_DIR --real LITS_DIR \\
        --profile paper -o comparison/

    # a few minutes on a CPU with ../shared/data (no real tumours there: see below)
    python examples/label_free_vs_real.py --profile smoke -o /tmp/comparison

Folders are anything ``synthtumor prepare`` reads (``images/`` + ``labels/``, or one folder per
case with ``ct.nii.gz`` and ``liver.nii.gz``). ``--real-liver-values`` / ``--real-tumor-values``
and ``--healthy-liver-values`` map their label values (defaults: LiTS 1/2, and 1 for masks).

Without ``--real`` (the smoke run on ../shared/data, whose livers hold no tumour), the "real" arm
trains and both arms are tested on *stand-ins*: copies of the healthy scans with synthetic
tumours written to disk as ground truth. That checks the whole pipeline, not the paper's claim;
the output says so.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path
from typing import Any

from synthtumor.reference.config import apply_overrides, profile_config
from synthtumor.reference.evaluate import compare_folders, comparison_markdown, evaluate_folder
from synthtumor.reference.predict import predict_files
from synthtumor.reference.prepare import (
    fold_split,
    link_part,
    load_datalist,
    make_demo_dataset,
    prepare_dataset,
    write_text_atomic,
)
from synthtumor.reference.train import train

STAND_IN_NOTICE = (
    "NOTE: no scans with real tumours were given. The 'real' arm was trained, and both arms "
    "were tested, on stand-ins: healthy scans with synthetic tumours written to disk as ground "
    "truth. This run checks the pipeline; it does not test the paper's claim. Pass --real with "
    "annotated tumour scans (e.g. LiTS) for the real comparison."
)


def default_data_dir() -> Path:
    """``$SYNTHTUMOR_DATA`` or ``../shared/data`` beside the repository."""
    configured = os.environ.get("SYNTHTUMOR_DATA")
    return Path(configured) if configured else Path(__file__).resolve().parents[2] / "shared/data"


def shared_data_scans(data_dir: Path) -> list[tuple[str, Path, Path]]:
    """The two scans of ../shared/data as (name, ct, liver) triples."""
    names = {"abd": "abdomen-3mm", "pv": "portal-venous-slab"}
    scans = []
    for short, folder in names.items():
        ct, liver = data_dir / folder / "ct.nii.gz", data_dir / folder / "liver.nii.gz"
        if not ct.is_file() or not liver.is_file():
            raise FileNotFoundError(f"{ct} or {liver} is missing (set SYNTHTUMOR_DATA)")
        scans.append((short, ct, liver))
    return scans


def prepare_data(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    """Datalists of the healthy pool and of the tumour scans (real or stand-ins)."""
    if args.healthy is None and args.real is None:
        scans = shared_data_scans(Path(args.data))
        make_demo_dataset(scans, out / "cases/healthy", overwrite=args.force)
        make_demo_dataset(
            scans,
            out / "cases/tumor_standins",
            synthetic_tumors=True,
            tumor_size=None,
            seed=args.seed + 1,
            overwrite=args.force,
        )
        healthy_source, real_source = out / "cases/healthy", out / "cases/tumor_standins"
        stand_ins, real_folds = True, 2  # 4 stand-ins: 2 to test, 1 to train, 1 to validate
    elif args.healthy is not None and args.real is not None:
        healthy_source, real_source, stand_ins = Path(args.healthy), Path(args.real), False
        real_folds = args.folds
    else:
        raise SystemExit("give both --healthy and --real, or neither (the smoke stand-ins)")
    healthy = prepare_dataset(
        healthy_source,
        out / "prepared/healthy",
        liver_values=args.healthy_liver_values,
        tumor_values=(),
        with_test=False,
        validation_fraction=args.validation_fraction,
        seed=args.seed,
        overwrite=args.force,
    )
    real = prepare_dataset(
        real_source,
        out / "prepared/real",
        liver_values=args.real_liver_values,
        tumor_values=args.real_tumor_values,
        n_folds=real_folds,
        validation_fraction=args.validation_fraction,
        seed=args.seed,
        overwrite=args.force,
    )
    return {"healthy": healthy, "real": real, "stand_ins": stand_ins}


def arm_config(args: argparse.Namespace, mode: str, datalist: Path, fold: int) -> Any:
    """The config of one arm: the profile, its mode and data, then the user's --set."""
    overrides = [
        f"name=unet_{mode}",
        f"mode={mode}",
        f"seed={args.seed}",
        f"data.datalist={datalist}",
        f"data.fold={fold}",
    ]
    if args.epochs:
        overrides.append(f"train.max_epochs={args.epochs}")
    return apply_overrides(profile_config(args.profile), overrides + list(args.overrides))


def _pct(interval: Any) -> str:
    estimate, low, high = interval["mean"], interval["ci_low"], interval["ci_high"]
    if estimate is None:
        return "n/a"
    if low is None or high is None or math.isclose(low, high):
        return f"{100 * estimate:.2f}"
    return f"{100 * estimate:.2f} [{100 * low:.2f}–{100 * high:.2f}]"


def table3(rows: list[dict[str, Any]], comparison: str, stand_ins: bool) -> str:
    """The Table-3-style Markdown comparison."""
    lines = [
        "| tumors | method | architecture | labeled / unlabeled CTs | DSC (%) [95% CI] | "
        "NSD (%) [95% CI] | Sensitivity (%) |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        summary = row["summary"]
        metrics = summary["metrics"]
        sensitivity = summary["case_level_detection"]["sensitivity"]["value"]
        lines.append(
            f"| {row['tumors']} | {row['method']} | U-Net | {row['counts']} | "
            f"{_pct(metrics['tumor_dsc_tumor_cases'])} | "
            f"{_pct(metrics['tumor_nsd_tumor_cases'])} | "
            f"{'n/a' if sensitivity is None else f'{100 * sensitivity:.1f}'} |"
        )
    text = "\n".join(lines) + "\n\n" + comparison.strip() + "\n"
    if stand_ins:
        text += "\n" + STAND_IN_NOTICE + "\n"
    else:
        text += (
            "\nPaper (LiTS, 5-fold): label-free 59.77 / 61.29, fully-supervised 57.51 / 58.04.\n"
        )
    return text


def run_comparison(args: argparse.Namespace) -> str:
    """Prepare, train both arms, predict and evaluate the same test scans; return the table."""
    out = Path(args.output)
    data = prepare_data(args, out)
    real_split = fold_split(load_datalist(data["real"]), args.fold)
    healthy_split = fold_split(load_datalist(data["healthy"]), 0)
    test_entries = real_split["test"]
    reference = out / "reference"
    link_part(data["real"], reference, fold=args.fold, part="test", overwrite=args.force)
    n_healthy, n_real = len(healthy_split["train"]), len(real_split["train"])
    arms = [
        ("synt", "label-free", "synthetic", data["healthy"], 0, f"0 / {n_healthy}"),
        ("real", "fully-supervised", "real", data["real"], args.fold, f"{n_real} / 0"),
    ]
    rows = []
    for tumors, method, mode, datalist, fold, counts in arms:
        config = arm_config(args, mode, datalist, fold)
        run = train(config, out / "runs" / mode, overwrite=args.force)
        predict_files(
            run.best_checkpoint,
            [e["image"] for e in test_entries],
            out / "predictions" / mode,
            names=[e["case"] for e in test_entries],
            overwrite=args.force,
        )
        evaluate_folder(
            out / "predictions" / mode,
            reference,
            out / "reports" / mode,
            overwrite=args.force,
            n_resamples=args.bootstrap,
        )
        summary = json.loads((out / "reports" / mode / "summary.json").read_text())
        rows.append({"tumors": tumors, "method": method, "counts": counts, "summary": summary})
    try:
        comparison = compare_folders(
            out / "predictions" / "synthetic",
            out / "predictions" / "real",
            reference,
            name_a="label-free",
            name_b="fully-supervised",
            out_file=out / "reports" / "paired_comparison.md",
            overwrite=args.force,
        )
        paired = comparison_markdown(comparison, name_a="label-free", name_b="fully-supervised")
    except ValueError as error:  # e.g. fewer than 2 test scans
        paired = f"(no paired test: {error})"
    text = table3(rows, "Paired comparison on the same test scans:\n\n" + paired, data["stand_ins"])
    write_text_atomic(out / "table3.md", text, overwrite=args.force)
    return text


def build_parser() -> argparse.ArgumentParser:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--healthy", help="healthy scans with liver masks (folder or CSV)")
    parser.add_argument("--real", help="scans with annotated tumours, e.g. LiTS (folder or CSV)")
    parser.add_argument("--data", default=str(default_data_dir()), help="../shared/data")
    parser.add_argument("--profile", choices=("smoke", "paper"), default="smoke")
    parser.add_argument("-o", "--output", required=True)
    parser.add_argument("--fold", type=int, default=0, help="test fold of the real scans")
    parser.add_argument("--folds", type=int, default=5, help="folds of the real scans")
    parser.add_argument("--validation-fraction", type=float, default=0.2)
    parser.add_argument("--epochs", type=int, default=0, help="override train.max_epochs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bootstrap", type=int, default=2000, help="bootstrap resamples")
    parser.add_argument("--healthy-liver-values", type=_values, default=(1,))
    parser.add_argument("--real-liver-values", type=_values, default=(1,))
    parser.add_argument("--real-tumor-values", type=_values, default=(2,))
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="K=V")
    parser.add_argument("--force", action="store_true", help="replace earlier outputs")
    return parser


def _values(text: str) -> tuple[int, ...]:
    return tuple(int(v) for v in text.split(",") if v.strip())


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print the table."""
    args = build_parser().parse_args(argv)
    print(run_comparison(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
