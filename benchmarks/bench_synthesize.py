"""Speed and memory of ``synthesize`` per size preset, with every stage on.

Run from the repository root::

    python benchmarks/bench_synthesize.py            # the full table (a few minutes)
    python benchmarks/bench_synthesize.py --quick    # fewer repeats, no 512 x 512 x 320 volume

Volumes: (a) a 256 x 256 x 128 float32 phantom at 1 mm whose liver box is about
160 x 120 x 90 voxels (the setting of shared/design/REFERENCE.md), (b) a 512 x 512 x 320 float32
phantom at 1 mm, (c) the real ``abdomen-3mm`` scan (int32, 3 mm). For each, the same run times one
``ct.copy()`` of the volume as the unit, so that machines can be compared. Single-threaded by
default (BLAS pinned to one thread before NumPy is imported), as the targets are stated.

The last three columns compare threads in the same run: two subprocesses time the same seeds
alternately (ABBA order, so that other load on the machine hits both alike), one with the BLAS
thread variables (``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS``) set to 1,
one with them unset, as a user's environment usually is. ``x 1-thr`` is default / pinned: the
core limits its BLAS work to one thread per call, so it should stay near 1.
``--no-default-env`` skips them; ``--threads default`` runs the main table unpinned.
"""

from __future__ import annotations

import argparse
import os
import sys

_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _pin_threads(threads: str) -> None:
    """Pin BLAS threads (before NumPy is imported); "default" leaves the environment alone."""
    if threads == "default":
        return
    for name in _THREAD_VARIABLES:
        os.environ[name] = str(int(threads))


if __name__ == "__main__":
    _early = argparse.ArgumentParser(add_help=False)
    _early.add_argument("--threads", default="1")
    _pin_threads(_early.parse_known_args()[0].threads)

import gc  # noqa: E402
import json  # noqa: E402
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


def _serve(arguments: argparse.Namespace) -> None:
    """Worker of the thread comparison: times one call per request line ``volume|size|seed``."""
    volumes = {
        name: (image, liver, spacing) for name, image, liver, spacing in _volumes(arguments.quick)
    }
    print(json.dumps({"ready": _blas_threads()}), flush=True)
    for line in sys.stdin:
        name, size, seed = line.rstrip("\n").split("|")
        image, liver, spacing = volumes[name]
        times = _time_calls(image, liver, spacing, size, [int(seed)], inplace=False)
        print(json.dumps(times[0] * 1e3), flush=True)


class _Worker:
    """A benchmark subprocess with the BLAS thread variables set to `threads` or unset."""

    def __init__(self, arguments: argparse.Namespace, threads: str | None) -> None:
        env = {key: value for key, value in os.environ.items() if key not in _THREAD_VARIABLES}
        if threads is not None:
            env.update({name: threads for name in _THREAD_VARIABLES})
        command = [sys.executable, __file__, "--threads", "default", "--serve"]
        if arguments.quick:
            command.append("--quick")
        self.process = subprocess.Popen(
            command, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.blas_threads = json.loads(self.process.stdout.readline())["ready"]

    def time(self, name: str, size: str, seed: int) -> float:
        self.process.stdin.write(f"{name}|{size}|{seed}\n")
        self.process.stdin.flush()
        return float(json.loads(self.process.stdout.readline()))

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait()


def _thread_comparison(arguments: argparse.Namespace, repeats: int) -> dict:
    """Median ms per (volume, size) with BLAS pinned to 1 thread and with the default env.

    Two long-lived subprocesses (environment variables are read when NumPy is imported) run
    the same seeds alternately, in ABBA order, so that load on the machine hits both alike.
    """
    pinned, default = _Worker(arguments, "1"), _Worker(arguments, None)
    print(
        f"thread comparison: pinned worker's BLAS {pinned.blas_threads} thread(s), default "
        f"worker's {default.blas_threads} (outside calls)"
    )
    results = {}
    try:
        for name, *_ in _volumes(arguments.quick):
            for size in arguments.sizes:
                pinned.time(name, size, 10_000)  # warm-up
                default.time(name, size, 10_000)
                times: dict[str, list[float]] = {"pinned": [], "default": []}
                for seed in range(repeats):
                    order = [("pinned", pinned), ("default", default)]
                    for key, worker in order if seed % 2 == 0 else order[::-1]:
                        times[key].append(worker.time(name, size, seed))
                results[f"{name}|{size}"] = {
                    key: float(np.median(values)) for key, values in times.items()
                }
    finally:
        pinned.close()
        default.close()
    return results


def _blas_threads() -> str:
    from threadpoolctl import threadpool_info

    counts = {info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"}
    return ",".join(str(n) for n in sorted(counts)) or "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats; skip volume (b)")
    parser.add_argument("--repeats", type=int, default=None, help="seeds per preset")
    parser.add_argument(
        "--threads", default="1", help="BLAS threads (default 1; 'default': leave the env)"
    )
    parser.add_argument("--sizes", nargs="*", default=list(SIZE_NAMES))
    parser.add_argument(
        "--no-default-env", action="store_true", help="skip the default-environment column"
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    repeats = arguments.repeats or (8 if arguments.quick else 25)
    if arguments.serve:
        _serve(arguments)
        return
    compared = {} if arguments.no_default_env else _thread_comparison(arguments, repeats)

    import_seconds, config_seconds = _import_and_config_seconds()
    print(f"import synthtumor (beyond numpy/scipy): {import_seconds * 1e3:.0f} ms")
    print(f"TumorConfig() build: {config_seconds * 1e6:.1f} us")
    print(
        f"threads: {arguments.threads} (BLAS libraries report {_blas_threads()} outside a call); "
        f"repeats per preset: {repeats}; all stages on\n"
    )

    header = (
        f"{'volume':34s} {'size':6s} {'median ms':>9s} {'p10-p90 ms':>13s} {'x copy':>7s} "
        f"{'target':>6s} {'released':>8s} {'peak MiB':>8s} {'kept B':>7s} {'inplace ms':>10s} "
        f"{'1-thr ms':>10s} {'default env ms':>14s} {'x 1-thr':>7s}"
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
            pair = compared.get(f"{name}|{size}")
            unpinned_text = (
                f"{pair['pinned']:10.1f} {pair['default']:14.1f} "
                f"{pair['default'] / pair['pinned']:7.2f}"
                if pair
                else ""
            )
            print(
                f"{name:34s} {size:6s} {median:9.1f} {spread:>13s} "
                f"{median / (copy_seconds * 1e3):7.2f} {target:>6s} {released:>8s} "
                f"{peak / 2**20:8.1f} {kept:7d} {np.median(inplace):10.1f} {unpinned_text}"
            )
    print(
        "\nx copy: median / one ct.copy() of the same volume. target: the issue's single-thread "
        "target on (a). released: the paper's code on (a), four stages off (REFERENCE.md). "
        "peak MiB: peak extra allocation of one call (the output image and label included). "
        "kept B: bytes still allocated after the call once its result is dropped. inplace: "
        "the same calls with inplace=True (no copy of the volume). 1-thr ms, default env ms: "
        "the same calls in two subprocesses run alternately, one with the BLAS thread variables "
        "set to 1, one with them unset; x 1-thr: default / 1-thr."
    )


if __name__ == "__main__":
    main()
