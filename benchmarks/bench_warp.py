"""The mass effect's trilinear warp: the hand-written ``warp_linear`` against SciPy.

Run from the repository root::

    python benchmarks/bench_warp.py               # radii 8, 16, 32 mm at two spacings
    python benchmarks/bench_warp.py --repeats 5   # fewer repeats

For each case the box and the source points are those of the mass effect of one tumour
(eq. 5 at the paper's gamma_max = 1.3 r, I = 30; every voxel with gamma < gamma_max moves), and
``warp_linear`` and ``scipy.ndimage.map_coordinates(order=1, mode="nearest")`` resample the
same float32 box at them, interleaved. The table gives the median ms of each, their ratio and
the largest difference in HU (float32 rounding only). BLAS is pinned to one thread.
"""

from __future__ import annotations

import os

if __name__ == "__main__":
    for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_name] = "1"

import argparse
import functools
import math
import time
from collections.abc import Callable, Mapping

import numpy as np
from scipy import ndimage

from synthtumor.mass_effect import mass_effect, warp_linear
from synthtumor.shape import offsets_mm

RADIUS_FACTOR = 1.3
INTENSITY = 30.0
ROW = "{:>9} {:>12} {:>8} {:>8} {:>9} {:>10} {:>11}"


def _case(radius_mm: float, spacing: tuple[float, float, float]) -> tuple[np.ndarray, np.ndarray]:
    """A scan-like float32 box around one tumour and the points its mass effect samples."""
    h0, h1, h2 = (math.ceil(RADIUS_FACTOR * radius_mm / s) for s in spacing)
    shape = (2 * h0 + 1, 2 * h1 + 1, 2 * h2 + 1)
    axes = offsets_mm((0, 0, 0), shape, (h0, h1, h2), spacing)
    warp = mass_effect(axes, (radius_mm,) * 3, radius_factor=RADIUS_FACTOR, intensity=INTENSITY)
    values = np.random.default_rng(0).normal(60.0, 20.0, shape).astype(np.float32)
    return values, warp.source(shape, (h0, h1, h2))


def _scipy_warp(values: np.ndarray, source: np.ndarray) -> np.ndarray:
    return ndimage.map_coordinates(values, source, order=1, mode="nearest")


def _median_ms(calls: Mapping[str, Callable[[], np.ndarray]], repeats: int) -> dict[str, float]:
    """Median ms of each call, the calls interleaved so that drifts hit them alike."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - start)
    return {name: float(np.median(values)) * 1e3 for name, values in times.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--radii", type=float, nargs="+", default=[8.0, 16.0, 32.0])
    args = parser.parse_args(argv)
    print(ROW.format("radius mm", "spacing mm", "points", "ours ms", "scipy ms", "scipy/ours",
                     "max diff HU"))  # fmt: skip
    for spacing in [(1.0, 1.0, 1.0), (0.7, 0.7, 2.5)]:
        for radius in args.radii:
            values, source = _case(radius, spacing)
            calls = {
                "ours": functools.partial(warp_linear, values, source),
                "scipy": functools.partial(_scipy_warp, values, source),
            }
            ms = _median_ms(calls, args.repeats)
            diff = float(np.abs(calls["ours"]() - calls["scipy"]()).max())
            print(ROW.format(
                f"{radius:g}", "x".join(f"{s:g}" for s in spacing), source.shape[1],
                f"{ms['ours']:.2f}", f"{ms['scipy']:.2f}", f"{ms['scipy'] / ms['ours']:.2f}",
                f"{diff:.1e}",
            ))  # fmt: skip


if __name__ == "__main__":
    main()
