"""Running the robustness benchmark: draw every test tumour, score the model on it.

:func:`run_benchmark` walks scans x dimensions x levels x sides x repeats, seeding each sample
on its own, and hands the samples to :mod:`~.robustness_report` for the summary and the report
files.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from synthtumor.config import TumorConfig
from synthtumor.reference.robustness_levels import (
    DIMENSIONS,
    LEVELS,
    SIDES,
    UNITS,
    Distribution,
    draw_values,
    level_band,
    liver_depth_mm,
    render_test_tumor,
    training_distributions,
)
from synthtumor.reference.robustness_report import (
    BenchmarkResult,
    report_targets,
    summarise_samples,
    write_report,
)
from synthtumor.reference.robustness_scans import Scan

__all__ = ["Model", "run_benchmark"]

Model = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""``model(image, affine) -> label map`` with the image's shape (2 = tumour)."""


def _check_arguments(
    dimensions: Sequence[str], levels: Sequence[str], repeats: int, scans: Sequence[Scan]
) -> None:
    unknown = sorted(set(dimensions) - set(DIMENSIONS)) + sorted(set(levels) - set(LEVELS))
    if unknown:
        raise ValueError(f"unknown dimensions or levels {unknown}; use {DIMENSIONS}, {LEVELS}")
    if repeats < 1 or not scans:
        raise ValueError("need repeats >= 1 and at least one scan")


def _refuse_existing(targets: Mapping[str, Path], overwrite: bool) -> None:
    if targets and not overwrite:
        existing = [str(p) for p in targets.values() if p.exists()]
        if existing:
            raise FileExistsError(f"outputs exist: {existing}; pass overwrite=True (--force)")


def _plan(
    dimensions: Sequence[str], levels: Sequence[str], repeats: int
) -> Iterator[tuple[str, str, str, int, tuple[int, int, int, int]]]:
    """(dimension, level, side, repeat, seed indices) of every sample of one scan, in order."""
    for dim_index, dimension in enumerate(dimensions):
        for level_index, level in enumerate(levels):
            for side_index, side in enumerate(SIDES[level]):
                for repeat in range(repeats):
                    indices = (dim_index, level_index, side_index, repeat)
                    yield dimension, level, side, repeat, indices


def _new_row(
    scan: Scan, distribution: Distribution, dimension: str, level: str, side: str, repeat: int
) -> dict[str, Any]:
    return {
        "case": scan.name,
        "dimension": dimension,
        "level": level,
        "side": side,
        "repeat": repeat,
        "unit": UNITS[dimension],
        "mu": distribution.mu,
        "sigma": distribution.sigma,
        "dsc": math.nan,
        "skipped": "",
    }


def _drawn_columns(values: Mapping[str, float], dimension: str) -> dict[str, float]:
    """The columns of ``samples.csv`` that describe the drawn tumour."""
    return {
        "value": values[dimension],
        "radius_mm": 2.0 ** values["size"],
        "deformation_mm": values["shape"] * 2.0 ** values["size"],
        "texture_mean_hu": values["intensity"],
        "texture_scale": values["texture"],
        "depth_mm": values["location"] if dimension == "location" else math.nan,
    }


def _score(model: Model, image: np.ndarray, truth: np.ndarray, affine: np.ndarray) -> float:
    from synthtumor.reference.metrics import dice

    prediction = np.asarray(model(image, affine))
    if prediction.shape != image.shape:
        raise ValueError(
            f"model returned shape {prediction.shape} for an image of shape {image.shape}"
        )
    return dice(prediction == 2, truth)


def _fill_sample(
    row: dict[str, Any],
    model: Model,
    scan: Scan,
    depth: np.ndarray,
    values: dict[str, float],
    base: TumorConfig,
    rng: np.random.Generator,
) -> None:
    """Render the drawn tumour and score `model` on it, or record why the sample is skipped."""
    from synthtumor import LiverTooSmallError

    try:
        image, label = render_test_tumor(
            scan, depth, values, base, rng, place_by_depth=row["dimension"] == "location"
        )
    except LiverTooSmallError as error:
        row["skipped"] = f"liver too small: {error}"
        return
    truth = label == 2
    row["tumor_voxels"] = int(truth.sum())
    if not truth.any():
        row["skipped"] = "no tumour voxel inside the liver"
        return
    row["dsc"] = _score(model, image, truth, scan.affine)


def _scan_samples(
    model: Model,
    scan: Scan,
    scan_index: int,
    depth: np.ndarray,
    dists: Mapping[str, Distribution],
    *,
    plan: Sequence[tuple[str, str, str, int, tuple[int, int, int, int]]],
    base: TumorConfig,
    seed: int,
    progress: bool,
) -> list[dict[str, Any]]:
    """Every sample of one scan (`depth`: its :func:`~.robustness_levels.liver_depth_mm`)."""
    rows = []
    for dimension, level, side, repeat, indices in plan:
        band = level_band(dists[dimension], level, side)
        rng = np.random.default_rng([seed, scan_index, *indices])
        row = _new_row(scan, dists[dimension], dimension, level, side, repeat)
        rows.append(row)
        if band is None:
            row["skipped"] = "band outside the valid range"
            continue
        values = draw_values(rng, dists, dimension, band)
        row.update(_drawn_columns(values, dimension))
        _fill_sample(row, model, scan, depth, values, base, rng)
        if progress and not row["skipped"]:
            print(
                f"[synthtumor robustness] {scan.name} {dimension} {level} {side} "
                f"#{repeat}: DSC {row['dsc']:.3f}",
                file=sys.stderr,
                flush=True,
            )
    return rows


def run_benchmark(
    model: Model,
    scans: Sequence[Scan],
    out_dir: str | os.PathLike | None = None,
    *,
    dimensions: Sequence[str] = DIMENSIONS,
    levels: Sequence[str] = LEVELS,
    repeats: int = 2,
    seed: int = 0,
    config: TumorConfig | None = None,
    overwrite: bool = False,
    progress: bool = False,
) -> BenchmarkResult:
    """Run the benchmark and (with `out_dir`) write its tables.

    Parameters
    ----------
    model : callable
        ``model(image, affine) -> label map`` with the image's shape (2 = tumour).
    scans : sequence of Scan
        Healthy scans (see :func:`~.robustness_scans.load_scan`).
    out_dir : path-like, optional
        Receives ``samples.csv``, ``robustness.csv``, ``robustness.md`` and
        ``distributions.json`` (atomic writes; existing files need ``overwrite``).
    dimensions, levels : sequences of str
        Subsets of :data:`~.robustness_levels.DIMENSIONS` and :data:`~.robustness_levels.LEVELS`.
    repeats : int
        Test tumours per scan, dimension, level and side.
    seed : int
        Seeds every draw (sample ``i`` uses ``SeedSequence([seed, scan, dimension, level, side,
        repeat])``).
    config : TumorConfig, optional
        The generator config the model was trained with (default: the paper's); its stage
        switches are used for the test tumours and its ranges define the distributions.
    overwrite : bool, default False
        Replace existing report files.
    progress : bool, default False
        Print one line per scored sample to stderr.

    Returns
    -------
    BenchmarkResult

    Notes
    -----
    The module docstring of :mod:`synthtumor.reference.robustness` runs a small example.
    """
    _check_arguments(dimensions, levels, repeats, scans)
    base = config or TumorConfig()
    targets = report_targets(out_dir)
    _refuse_existing(targets, overwrite)
    plan = list(_plan(dimensions, levels, repeats))
    samples: list[dict[str, Any]] = []
    distributions: dict[str, dict[str, Distribution]] = {}
    for scan_index, scan in enumerate(scans):
        depth = liver_depth_mm(scan)
        dists = training_distributions(base, scan, depth_mm=depth[scan.liver])
        distributions[scan.name] = dists
        samples += _scan_samples(
            model,
            scan,
            scan_index,
            depth,
            dists,
            plan=plan,
            base=base,
            seed=seed,
            progress=progress,
        )
    result = BenchmarkResult(samples, summarise_samples(samples, dimensions, levels), distributions)
    if targets:
        result.files = write_report(result, targets, overwrite=overwrite)
    return result
