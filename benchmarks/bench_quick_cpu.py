"""Does the quick CPU profile learn the tumours in its time? The learning curve of one run.

Prepares the split of ``configs/quick_data.csv`` from ``$SYNTHTUMOR_DATA`` (default
``../shared/data``), runs ``synthtumor train`` with ``configs/quick_cpu.toml`` (or
``--config``), and prints the validation curve: epoch, minutes, train loss, validation tumour
and liver Dice, and when the tumour Dice first reached the target. The run is the product's
own command in the default environment (the figure a user gets); ``--threads N`` sets torch's
thread count to compare, e.g. on a machine with more cores than the 2 the profile is sized for.

Run from the repository root::

    python benchmarks/bench_quick_cpu.py                       # the full profile, ~30 min
    python benchmarks/bench_quick_cpu.py --set train.max_epochs=20     # a shorter look
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import tempfile
import time
from pathlib import Path

from synthtumor.reference.config import load_config
from synthtumor.reference.prepare import prepare_dataset
from synthtumor.reference.train import train

ROOT = Path(__file__).resolve().parents[1]
TARGET_TUMOR_DICE = 0.5


def quick_datalist(data_dir: Path, work: Path) -> Path:
    """Prepare the fixed split of ``configs/quick_data.csv`` with its scans read from `data_dir`."""
    with (ROOT / "configs" / "quick_data.csv").open(newline="") as stream:
        rows = list(csv.DictReader(stream))
    for row in rows:
        row["image"] = str(data_dir / row["case"] / "ct.nii.gz")
        row["label"] = str(data_dir / row["case"] / "liver.nii.gz")
    table = work / "quick_data.csv"
    with table.open("w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return prepare_dataset(table, work / "prepared")


def _print_curve(epochs_csv: Path, started: float) -> None:
    with epochs_csv.open(newline="") as stream:
        rows = [row for row in csv.DictReader(stream) if row["val_tumor_dice"]]
    print(f"\n{'epoch':>6} {'minutes':>8} {'loss':>7} {'tumour Dice':>12} {'liver Dice':>11}")
    reached = None
    for row in rows:
        tumor = float(row["val_tumor_dice"])
        minutes = float(row["elapsed_seconds"]) / 60
        print(
            f"{row['epoch']:>6} {minutes:8.1f} {float(row['train_loss']):7.3f} "
            f"{tumor:12.3f} {float(row['val_liver_dice']):11.3f}"
        )
        if reached is None and tumor >= TARGET_TUMOR_DICE:
            reached = (row["epoch"], minutes)
    total = (time.perf_counter() - started) / 60
    print(f"\nwall time {total:.1f} min (prepare, caching, training and validation)")
    if reached:
        epoch, minutes = reached
        print(f"tumour Dice >= {TARGET_TUMOR_DICE} first at epoch {epoch} ({minutes:.1f} min)")
    else:
        print(f"tumour Dice never reached {TARGET_TUMOR_DICE}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "quick_cpu.toml")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--keep", type=Path, help="keep the run folder here")
    arguments = parser.parse_args()
    if arguments.threads:
        import torch

        torch.set_num_threads(arguments.threads)
    data_dir = Path(os.environ.get("SYNTHTUMOR_DATA", ROOT.parent / "shared" / "data"))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        datalist = quick_datalist(data_dir, work)
        config = load_config(arguments.config, [f"data.datalist={datalist}", *arguments.set])
        result = train(config, work / "run")
        _print_curve(result.run_dir / "epochs.csv", started)
        print(
            f"{result.iterations} iterations at {result.iterations_per_second:.2f} it/s; best "
            f"{result.best_metric} {result.best_score:.3f} at epoch {result.best_epoch}"
        )
        if arguments.keep:
            shutil.copytree(work / "run", arguments.keep, dirs_exist_ok=False)


if __name__ == "__main__":
    main()
