"""Realism report of synthetic tumours on the shared real scans.

For every scan, size and seed, ``synthesize(ct, liver, spacing=..., size=size, config=config,
rng=seed)`` draws tumours; :func:`synthtumor.realism.lesion_statistics` measures each lesion;
the table prints, per scan and size, the number of lesions and the median of the main measures
(``edge_mm`` over reliable fits only, with their count; ``edge_all`` over every fit). Run
from the repository root::

    python benchmarks/realism_report.py                       # seeds 0-9, medium and large
    python benchmarks/realism_report.py --seeds 0-2 --sizes small --scans chaos-ct3
    python benchmarks/realism_report.py --config mymodule:REALISTIC   # another TumorConfig
    python benchmarks/realism_report.py --config configs/synthesis/realistic_portal.toml

Real tumours measured for the issue: edge 10-90 % 2.3-6.3 mm, rim -9..+4 HU, std ratio
0.6-1.1.
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

import synthtumor
from synthtumor.io import load_scan
from synthtumor.realism import lesion_statistics, summarise

DATA = Path(
    os.environ.get("SYNTHTUMOR_DATA", Path(__file__).resolve().parents[1].parent / "shared/data")
)
SCANS = ("abdomen-3mm", "chaos-ct3", "portal-venous-slab")
COLUMNS = (
    ("edge_width_mm", "edge_mm"),
    ("rim_hu", "rim_hu"),
    ("capsule_hu", "capsule"),
    ("std_ratio", "std_ratio"),
    ("contrast_hu", "contrast"),
    ("core_contrast_hu", "core"),
    ("correlation_length_mm", "corr_mm"),
    ("sphericity", "spher"),
)


def _seeds(text: str) -> list[int]:
    seeds: list[int] = []
    for part in text.split(","):
        if "-" in part:
            low, high = (int(x) for x in part.split("-", 1))
            seeds.extend(range(low, high + 1))
        else:
            seeds.append(int(part))
    if not seeds or min(seeds) < 0:
        raise argparse.ArgumentTypeError(f"seeds must be non-negative integers, got {text!r}")
    return seeds


def _config(text: str | None) -> synthtumor.TumorConfig | None:
    if not text:
        return None
    if text.endswith((".toml", ".json")):
        return synthtumor.TumorConfig.from_file(text)
    module_name, _, attribute = text.partition(":")
    if not attribute:
        raise SystemExit(f"--config must be module:attribute, got {text!r}")
    value = getattr(importlib.import_module(module_name), attribute)
    config = value() if callable(value) and not isinstance(value, synthtumor.TumorConfig) else value
    if not isinstance(config, synthtumor.TumorConfig):
        raise SystemExit(f"--config {text} is a {type(config).__name__}, not a TumorConfig")
    return config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=_seeds, default=list(range(10)), help="e.g. 0-9 or 1,4")
    parser.add_argument("--sizes", nargs="+", default=["medium", "large"])
    parser.add_argument("--scans", nargs="+", default=list(SCANS), choices=SCANS)
    parser.add_argument(
        "--config",
        default=None,
        metavar="MODULE:ATTRIBUTE",
        help="a TumorConfig (or a function returning one); default: the paper's",
    )
    args = parser.parse_args(argv)
    config = _config(args.config)
    started = time.perf_counter()
    header = ["scan", "size", "lesions", *(short for _, short in COLUMNS), "reliable", "edge_all"]
    rows = [header]
    for scan_name in args.scans:
        folder = DATA / scan_name
        scan = load_scan(folder / "ct.nii.gz", folder / "liver.nii.gz")
        for size in args.sizes:
            records = []
            for seed in args.seeds:
                image, label, _ = synthtumor.synthesize(
                    scan.image,
                    scan.liver_mask,
                    spacing=scan.spacing,
                    size=size,
                    config=config,
                    rng=seed,
                )
                records.extend(lesion_statistics(image, label, spacing=scan.spacing))
            summary = summarise(records)
            cells = [scan_name, size, str(len(records))]
            for field, _ in COLUMNS:
                median = summary[field].median
                cells.append("n/a" if not math.isfinite(median) else f"{median:.2f}")
            cells.append(f"{summary['edge_width_mm'].n}/{len(records)}")
            every_edge = summarise(records, reliable_edges_only=False)["edge_width_mm"].median
            cells.append("n/a" if not math.isfinite(every_edge) else f"{every_edge:.2f}")
            rows.append(cells)
            print(f"  measured {scan_name} {size}: {len(records)} lesions", file=sys.stderr)
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        print("  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)))
    print(
        f"(medians over lesions; edge_mm over reliable fits; seeds {args.seeds[0]}.."
        f"{args.seeds[-1]}; config {args.config or 'paper (default)'}; "
        f"{time.perf_counter() - started:.0f} s; numpy {np.__version__})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
