"""Two-process DistributedDataParallel training on the CPU (gloo), launched with torchrun."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import monai  # noqa: F401  (the [reference] extra: fail, never skip, when missing)
import pytest

from synthtumor.reference.prepare import make_demo_dataset, prepare_dataset
from synthtumor.reference.train import load_checkpoint


@pytest.fixture(scope="module")
def datalist(tmp_path_factory, shared_data) -> Path:
    root = tmp_path_factory.mktemp("ddp")
    scans = [
        (name, shared_data / name / "ct.nii.gz", shared_data / name / "liver.nii.gz")
        for name in ("abdomen-3mm", "portal-venous-slab")
    ]
    make_demo_dataset(scans, root / "cases", variants=("original", "mirrored"))
    return prepare_dataset(root / "cases", root / "prepared", n_folds=4, seed=0)


@pytest.mark.slow
def test_torchrun_two_processes_gloo(datalist, tmp_path):
    run_dir = tmp_path / "run"
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        "-m",
        "synthtumor.reference.train",
        "--set",
        "profile=smoke",
        "--set",
        f"data.datalist={datalist}",
        "--set",
        "train.max_epochs=2",
        "--set",
        "train.val_every=2",
        "--set",
        "data.spacing_mm=4,4,4",  # 1/8 of the smoke profile's voxels: the same code, faster
        "-o",
        str(run_dir),
        "--device",
        "cpu",
    ]
    # TMPDIR: torchrun's log folders (torchelastic_*) are left behind; keep them in tmp_path.
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "TMPDIR": str(tmp_path)}
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=600, env=environment, check=False
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]

    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["world_size"] == 2
    assert summary["device"] == "cpu"
    assert summary["amp"] is False
    # 2 training scans shared by 2 processes: 1 scan (one step) per process and epoch.
    assert summary["iterations"] == 2
    with (run_dir / "iterations.csv").open(newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert [int(r["iteration"]) for r in rows] == [1, 2]  # rank 0 logs, once per step
    with (run_dir / "epochs.csv").open(newline="") as stream:
        epochs = list(csv.DictReader(stream))
    assert epochs[-1]["val_liver_dice"] != ""
    checkpoint = load_checkpoint(run_dir / "last.pt")
    assert checkpoint["world_size"] == 2
    assert checkpoint["epoch"] == 2
    assert not any(key.startswith("module.") for key in checkpoint["model"])
    assert result.stderr.count("[synthtumor train] done") == 1  # only rank 0 reports
