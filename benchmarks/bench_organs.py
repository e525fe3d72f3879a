"""Speed of ``synthesize`` per organ preset against the liver preset of the same size.

Run from the repository root::

    python benchmarks/bench_organs.py                 # 9 seeds per organ and size
    python benchmarks/bench_organs.py --repeats 3     # shorter
    python benchmarks/bench_organs.py --pinned        # BLAS pinned to one thread

All on the real ``abdomen-3mm`` scan (int32, 3 mm) with its TotalSegmentator organ map, passed
as the map itself (``organ_label``: the pancreas 7, both kidneys 2 and 3, the liver 5), so every
organ pays the same map handling. For each size, the organs' calls are interleaved seed by seed
(so that other load on the machine hits them alike) and the table gives the median seconds per
call and per tumour, and ``x liver``, the organ's median per call over the liver's; the target
is at most 1.2. The liver runs the paper's mode (its default); the organ presets run the
realistic mode's machinery, whose own cost is 1.2-1.4x the paper's (docs/performance.md).
By default it runs in the environment it is given, as users run it; ``--pinned`` pins BLAS to
one thread before NumPy is imported.
"""

from __future__ import annotations

import os
import sys

if "--pinned" in sys.argv:  # before NumPy is imported, or it has no effect
    for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_name] = "1"

import argparse
import statistics
import time
import warnings
from pathlib import Path

import nibabel as nib
import numpy as np

from synthtumor import LiverTooSmallError, TumorConfig, synthesize

DATA = Path(
    os.environ.get("SYNTHTUMOR_DATA", Path(__file__).resolve().parents[1].parent / "shared/data")
)
ORGANS = {"liver": 5, "pancreas": 7, "kidney": (2, 3)}
TARGET = 1.2


def _call(ct, classes, organ: str, size: str, seed: int) -> tuple[float, int]:
    """Seconds of one call and its number of tumours."""
    config = TumorConfig(tumor_label=200, phase="portal")
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the unenhanced liver's vessel-avoidance warning
        _, _, params = synthesize(
            ct,
            classes,
            spacing=(3.0, 3.0, 3.0),
            organ=organ,
            organ_label=ORGANS[organ],
            size=size,
            config=config,
            rng=seed,
        )
    return time.perf_counter() - started, len(params.tumors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=9, help="seeds per organ and size")
    parser.add_argument("--pinned", action="store_true", help="BLAS pinned to one thread")
    parser.add_argument("--sizes", nargs="*", default=["tiny", "small", "medium", "large"])
    arguments = parser.parse_args()
    folder = DATA / "abdomen-3mm"
    ct = np.asarray(nib.load(folder / "ct.nii.gz").dataobj)
    classes = np.asarray(nib.load(folder / "organs.nii.gz").dataobj)
    for organ in ORGANS:  # warm-up: imports, caches
        _call(ct, classes, organ, "small", 0)

    threads = "BLAS pinned to one thread" if arguments.pinned else "default environment"
    print(f"abdomen-3mm, {arguments.repeats} seeds, {threads}; target x liver <= {TARGET}")
    print(f"{'size':<8}{'organ':<10}{'s/call':>9}{'s/tumour':>10}{'x liver':>9}")
    worst = 0.0
    for size in arguments.sizes:
        seconds: dict[str, list[float]] = {organ: [] for organ in ORGANS}
        tumors: dict[str, list[int]] = {organ: [] for organ in ORGANS}
        refused: set[str] = set()
        for seed in range(1, arguments.repeats + 1):
            order = list(ORGANS) if seed % 2 else list(reversed(ORGANS))
            for organ in order:
                if organ in refused:
                    continue
                try:
                    elapsed, count = _call(ct, classes, organ, size, seed)
                except LiverTooSmallError:
                    refused.add(organ)
                    continue
                seconds[organ].append(elapsed)
                tumors[organ].append(count)
        liver = statistics.median(seconds["liver"])
        for organ in ORGANS:
            if organ in refused:
                print(f"{size:<8}{organ:<10}{'organ too small for this size':>28}")
                continue
            per_call = statistics.median(seconds[organ])
            per_tumor = statistics.median(
                s / max(n, 1) for s, n in zip(seconds[organ], tumors[organ], strict=True)
            )
            ratio = per_call / liver
            if organ != "liver":
                worst = max(worst, ratio)
            print(f"{size:<8}{organ:<10}{per_call:>9.3f}{per_tumor:>10.3f}{ratio:>9.2f}")
    verdict = "within" if worst <= TARGET else "OVER"
    print(f"worst organ / liver: {worst:.2f} ({verdict} the {TARGET}x target)")


if __name__ == "__main__":
    main()
