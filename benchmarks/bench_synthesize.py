"""Speed and memory of ``synthesize`` per size preset, with every stage on.

Run from the repository root::

    python benchmarks/bench_synthesize.py            # the full table (a few minutes)
    python benchmarks/bench_synthesize.py --quick    # fewer repeats, no 512 x 512 x 320 volume

Volumes: (a) a 256 x 256 x 128 float32 phantom at 1 mm whose liver box is about
160 x 120 x 90 voxels (the setting of shared/design/REFERENCE.md), (b) a 512 x 512 x 320 float32
phantom at 1 mm, (c) the real ``abdomen-3mm`` scan (int32, 3 mm). For each, the same run times one
``ct.copy()`` of the volume as the unit, so that machines can be compared. Single-threaded by
default (BLAS pinned to one thread before NumPy is imported), as the targets are stated.
"""

from __future__ import annotations

import argparse
import os
import sys


def _pin_threads(threads: int) -> None:
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(threads)


if __name__ == "__main__":
    _early = argparse.ArgumentParser(add_help=False)
    _early.add_argument("--threads", type=int, default=1)
    _pin_threads(_early.parse_known_args()[0].threads)

import gc  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from synthtumor import SIZE_NAMES, TumorConfig, synthesize  # noqa: E402
from synthtumor.phantom import make_phantom  # noqa: E402

DATA = Path(
    os.environ.get("SYNTHTUMOR_DATA", Path(__file__).resolve().parents[1].parent / "shared/data")
)

# Median ms per call of the paper's released code, measured here with four stages off
# (shared/design/REFERENCE.md), on the 256 x 256 x 128 volume.
RELEASED_MS = {"tiny": 57, "small": 64, "medium": 71, "large": 203, "mix": 259}
TARGET_MS = {"tiny": 15, "small": 25, "medium": 50, "large": 120, "mix": 150}


def _time_copy(image: np.ndarray, repeats: int = 7) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        copy = image.copy()
        times.append(time.perf_counter() - start)
        del copy
    return statistics.median(times)


def _time_calls(image, liver, spacing, size, seeds, *, inplace: bool) -> list[float]:
    """Seconds per call; with `inplace`, on a working copy restored (untimed) before each call."""
    times = []
    work_image = image.copy() if inplace else image
    work_label = liver.astype(np.uint8) if inplace else liver
    for seed in seeds:
        if inplace:
            np.copyto(work_image, image)
            np.copyto(work_label, liver, casting="unsafe")
        gc.disable()
        start = time.perf_counter()
        synthesize(work_image, work_label, spacing=spacing, size=size, rng=seed, inplace=inplace)
        times.append(time.perf_counter() - start)
        gc.enable()
    return times


def _peak_extra_memory(image, liver, spacing, size) -> tuple[float, float]:
    """Peak traced allocation during one call, and what stays allocated after it (bytes)."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    result = synthesize(image, liver, spacing=spacing, size=size, rng=123)
    peak = tracemalloc.get_traced_memory()[1] - before
    del result
    gc.collect()
    kept = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return peak, kept


def _import_and_config_seconds() -> tuple[float, float]:
    def run(code: str) -> float:
        times = []
        for _ in range(3):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True)
            times.append(time.perf_counter() - start)
        return min(times)

    import_seconds = run("import synthtumor") - run("import numpy, scipy.ndimage")
    start = time.perf_counter()
    for _ in range(1000):
        TumorConfig()
    return import_seconds, (time.perf_counter() - start) / 1000


def _volumes(quick: bool):
    phantom = make_phantom((256, 256, 128), (1.0, 1.0, 1.0), rng=0)
    yield "(a) phantom 256x256x128 @1mm", phantom.image, phantom.liver_mask, phantom.spacing
    del phantom
    if not quick:
        phantom = make_phantom((512, 512, 320), (1.0, 1.0, 1.0), rng=0)
        yield "(b) phantom 512x512x320 @1mm", phantom.image, phantom.liver_mask, phantom.spacing
        del phantom
    import nibabel as nib

    folder = DATA / "abdomen-3mm"
    if not folder.is_dir():
        sys.exit(f"real data not found in {folder}: set SYNTHTUMOR_DATA")
    ct = nib.load(folder / "ct.nii.gz")
    liver = np.asanyarray(nib.load(folder / "liver.nii.gz").dataobj).astype(bool)
    spacing = tuple(float(z) for z in ct.header.get_zooms()[:3])
    yield "(c) abdomen-3mm 122x101x112 @3mm", np.asanyarray(ct.dataobj), liver, spacing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats; skip volume (b)")
    parser.add_argument("--repeats", type=int, default=None, help="seeds per preset")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    parser.add_argument("--sizes", nargs="*", default=list(SIZE_NAMES))
    arguments = parser.parse_args()
    repeats = arguments.repeats or (8 if arguments.quick else 25)

    import_seconds, config_seconds = _import_and_config_seconds()
    print(f"import synthtumor (beyond numpy/scipy): {import_seconds * 1e3:.0f} ms")
    print(f"TumorConfig() build: {config_seconds * 1e6:.1f} us")
    print(f"threads: {arguments.threads}; repeats per preset: {repeats}; all stages on\n")

    header = (
        f"{'volume':34s} {'size':6s} {'median ms':>9s} {'p10-p90 ms':>13s} {'x copy':>7s} "
        f"{'target':>6s} {'released':>8s} {'peak MiB':>8s} {'kept B':>7s} {'inplace ms':>10s}"
    )
    print(header)
    print("-" * len(header))
    for name, image, liver, spacing in _volumes(arguments.quick):
        copy_seconds = _time_copy(image)
        print(f"{name:34s} {'copy':6s} {copy_seconds * 1e3:9.1f} {'':>13s} {1.0:7.2f}")
        for size in arguments.sizes:
            seeds = range(repeats)
            synthesize(image, liver, spacing=spacing, size=size, rng=10_000)  # warm-up
            times = np.array(_time_calls(image, liver, spacing, size, seeds, inplace=False)) * 1e3
            inplace = np.array(_time_calls(image, liver, spacing, size, seeds, inplace=True)) * 1e3
            peak, kept = _peak_extra_memory(image, liver, spacing, size)
            is_reference_volume = name.startswith("(a)")
            target = f"{TARGET_MS[size]}" if is_reference_volume else ""
            released = f"{RELEASED_MS[size]}" if is_reference_volume else ""
            median = float(np.median(times))
            spread = f"{np.percentile(times, 10):.0f}-{np.percentile(times, 90):.0f}"
            print(
                f"{name:34s} {size:6s} {median:9.1f} {spread:>13s} "
                f"{median / (copy_seconds * 1e3):7.2f} {target:>6s} {released:>8s} "
                f"{peak / 2**20:8.1f} {kept:7d} {np.median(inplace):10.1f}"
            )
    print(
        "\nx copy: median / one ct.copy() of the same volume. target: the issue's single-thread "
        "target on (a). released: the paper's code on (a), four stages off (REFERENCE.md). "
        "peak MiB: peak extra allocation of one call (the output image and label included). "
        "kept B: bytes still allocated after the call once its result is dropped. inplace: "
        "the same calls with inplace=True (no copy of the volume)."
    )


if __name__ == "__main__":
    main()
