"""The robustness benchmark's result, its summary per dimension and level, and its report files.

:class:`BenchmarkResult` holds the samples of a run; :func:`summarise_samples` reduces them to
mean tumour DSC per dimension, level and side, :func:`summary_markdown` renders the
Figure-6-style tables, and :func:`write_report` writes :data:`REPORT_FILES`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from synthtumor.io import atomic_write_text
from synthtumor.reference.reports import csv_text
from synthtumor.reference.robustness_levels import SIDES, UNITS, Distribution

__all__ = [
    "REPORT_FILES",
    "SAMPLE_COLUMNS",
    "SUMMARY_COLUMNS",
    "BenchmarkResult",
    "report_targets",
    "summarise_samples",
    "summary_markdown",
    "write_report",
]

SAMPLE_COLUMNS: tuple[str, ...] = (
    "case",
    "dimension",
    "level",
    "side",
    "repeat",
    "value",
    "unit",
    "mu",
    "sigma",
    "radius_mm",
    "deformation_mm",
    "texture_mean_hu",
    "texture_scale",
    "depth_mm",
    "tumor_voxels",
    "dsc",
    "skipped",
)
"""Columns of ``samples.csv``: one synthetic test tumour each."""

SUMMARY_COLUMNS: tuple[str, ...] = (
    "dimension",
    "level",
    "side",
    "mean_dsc",
    "std_dsc",
    "n",
    "n_skipped",
)
"""Columns of ``robustness.csv``."""

REPORT_FILES: tuple[str, ...] = (
    "samples.csv",
    "robustness.csv",
    "robustness.md",
    "distributions.json",
)
"""Files written into the output folder of a benchmark run."""

_LEVEL_TITLES = {"iid": "μ ± σ (i.i.d.)", "2sigma": "μ ± 2σ", "3sigma": "μ ± 3σ"}


@dataclass
class BenchmarkResult:
    """Samples and summary of a benchmark run."""

    samples: list[dict[str, Any]]
    summary: list[dict[str, Any]]
    distributions: dict[str, dict[str, Distribution]]
    files: dict[str, Path] = field(default_factory=dict)


def _summary_row(
    samples: Sequence[dict[str, Any]], dimension: str, level: str, side: str
) -> dict[str, Any]:
    chosen = [
        s
        for s in samples
        if s["dimension"] == dimension
        and s["level"] == level
        and (side == "both" or s["side"] == side)
    ]
    scores = [s["dsc"] for s in chosen if not math.isnan(s["dsc"])]
    return {
        "dimension": dimension,
        "level": level,
        "side": side,
        "mean_dsc": float(np.mean(scores)) if scores else math.nan,
        "std_dsc": float(np.std(scores)) if scores else math.nan,
        "n": len(scores),
        "n_skipped": len(chosen) - len(scores),
    }


def summarise_samples(
    samples: Sequence[dict[str, Any]], dimensions: Sequence[str], levels: Sequence[str]
) -> list[dict[str, Any]]:
    """Mean and standard deviation of the DSC per dimension, level and side (and both sides).

    Examples
    --------
    >>> samples = [{"dimension": "size", "level": "2sigma", "side": side, "dsc": dsc}
    ...            for side, dsc in (("low", 0.5), ("high", 0.7), ("high", float("nan")))]
    >>> [(row["side"], row["mean_dsc"], row["n"], row["n_skipped"])
    ...  for row in summarise_samples(samples, ["size"], ["2sigma"])]
    [('low', 0.5, 1, 0), ('high', 0.7, 1, 1), ('both', 0.6, 2, 1)]
    """
    return [
        _summary_row(samples, dimension, level, side)
        for dimension in dimensions
        for level in levels
        for side in ((*SIDES[level], "both") if level != "iid" else ("both",))
    ]


def _cell(row: dict[str, Any] | None) -> str:
    if row is None:
        return ""
    if row["n"] == 0:
        return f"n/a ({row['n_skipped']} skipped)" if row["n_skipped"] else "n/a"
    skipped = f", {row['n_skipped']} skipped" if row["n_skipped"] else ""
    return f"{100 * row['mean_dsc']:.1f} (n={row['n']}{skipped})"


_Index = dict[tuple[str, str, str], dict[str, Any]]


def _by_level_lines(index: _Index, dimensions: Sequence[str], levels: Sequence[str]) -> list[str]:
    lines = [
        "| dimension | " + " | ".join(_LEVEL_TITLES[level] for level in levels) + " |",
        "|---|" + "---|" * len(levels),
    ]
    for dimension in dimensions:
        cells = [_cell(index.get((dimension, level, "both"))) for level in levels]
        lines.append(f"| {dimension} | " + " | ".join(cells) + " |")
    return lines


def _by_side_lines(index: _Index, dimensions: Sequence[str], levels: Sequence[str]) -> list[str]:
    lines = ["| dimension | level | low (μ − kσ side) | high (μ + kσ side) |", "|---|---|---|---|"]
    for dimension in dimensions:
        for level in levels:
            if level == "iid":
                continue
            low, high = index.get((dimension, level, "low")), index.get((dimension, level, "high"))
            lines.append(f"| {dimension} | {_LEVEL_TITLES[level]} | {_cell(low)} | {_cell(high)} |")
    return lines


def _distribution_lines(result: BenchmarkResult, dimensions: Sequence[str]) -> list[str]:
    lines = ["| scan | dimension | unit | μ | σ |", "|---|---|---|---|---|"]
    for name, dists in result.distributions.items():
        for dimension in dimensions:
            d = dists[dimension]
            lines.append(
                f"| {name} | {dimension} | {UNITS[dimension]} | {d.mu:.3f} | {d.sigma:.3f} |"
            )
    return lines


def summary_markdown(result: BenchmarkResult) -> str:
    """Figure-6-style Markdown tables: tumour DSC (%) per dimension and level.

    Examples
    --------
    >>> samples = [{"dimension": "size", "level": "iid", "side": "both", "dsc": 0.8}]
    >>> result = BenchmarkResult(samples, summarise_samples(samples, ["size"], ["iid"]),
    ...                          {"scan01": {"size": Distribution(2.5, 0.6)}})
    >>> print(summary_markdown(result).splitlines()[6])
    | size | 80.0 (n=1) |
    """
    index = {(r["dimension"], r["level"], r["side"]): r for r in result.summary}
    dimensions = list(dict.fromkeys(r["dimension"] for r in result.summary))
    levels = list(dict.fromkeys(r["level"] for r in result.summary))
    lines = [
        "# Controllable robustness benchmark",
        "",
        "Tumour DSC (%) on synthetic test tumours, one dimension varied at a time; mean over "
        "samples (both sides of μ), n = samples scored, skipped = tumours the liver could not "
        "hold or bands outside the valid range.",
        "",
        *_by_level_lines(index, dimensions, levels),
        "",
        "## By side",
        "",
        *_by_side_lines(index, dimensions, levels),
        "",
        "## Training distributions (per scan)",
        "",
        *_distribution_lines(result, dimensions),
    ]
    return "\n".join(lines) + "\n"


def report_targets(out_dir: str | os.PathLike | None) -> dict[str, Path]:
    """Report file name -> path in `out_dir` (empty without one).

    Examples
    --------
    >>> list(report_targets("out")), report_targets(None)
    (['samples.csv', 'robustness.csv', 'robustness.md', 'distributions.json'], {})
    """
    if out_dir is None:
        return {}
    return {name: Path(out_dir) / name for name in REPORT_FILES}


def write_report(
    result: BenchmarkResult, targets: dict[str, Path], *, overwrite: bool
) -> dict[str, Path]:
    """Write the report files of `result` to `targets` (atomically, creating folders).

    Parameters
    ----------
    result : BenchmarkResult
        What to write.
    targets : dict of str to Path
        Path of every name of :data:`REPORT_FILES` (see :func:`report_targets`).
    overwrite : bool
        Replace existing files (otherwise one raises :class:`FileExistsError`).

    Examples
    --------
    >>> import tempfile
    >>> result = BenchmarkResult([], [], {})
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     files = write_report(result, report_targets(tmp), overwrite=False)
    ...     files["robustness.csv"].read_text()
    'dimension,level,side,mean_dsc,std_dsc,n,n_skipped\\n'
    """
    distributions = {
        name: {dim: dataclasses.asdict(d) for dim, d in dists.items()}
        for name, dists in result.distributions.items()
    }
    contents = {
        "samples.csv": csv_text(SAMPLE_COLUMNS, result.samples, blank_nan=True),
        "robustness.csv": csv_text(SUMMARY_COLUMNS, result.summary, blank_nan=True),
        "robustness.md": summary_markdown(result),
        "distributions.json": json.dumps(distributions, indent=2, default=str) + "\n",
    }
    for name, text in contents.items():
        targets[name].parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(targets[name], text, overwrite=overwrite)
    return targets
