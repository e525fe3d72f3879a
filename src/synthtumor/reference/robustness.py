"""The controllable robustness benchmark of the paper (section 5.5, Figure 6).

Synthetic test tumours are put into healthy scans, varying one dimension at a time while the
others stay inside their training distribution, and any segmentation model is scored on them
(tumour DSC per dimension and level). Each dimension is a quantity of
:class:`synthtumor.TumorConfig` whose training distribution (mean mu and standard deviation
sigma) follows from the config:

* size -- log2 of the tumour radius (``SizePreset.radius_mm``); training: the four Table 6
  sizes, equally likely.
* shape -- elastic deformation relative to the radius (``SizePreset.deformation_mm`` / radius);
  training: the presets' sigma_e / r.
* intensity -- the tumour's mean HU (``texture_mean_hu``); training: U(30, mu_p - 10) with mu_p
  the scan's parenchyma mean (sigma at least 10 HU).
* texture -- the grain scale eta (``texture_scale``); training: U(1.1, 1.5).
* location -- depth of the tumour centre below the liver surface, in mm; training: uniform over
  the liver's voxels.

Levels: "iid" draws the varied quantity from [mu - sigma, mu + sigma]; "2sigma" from
[mu - 2 sigma, mu - sigma] ("low" side) or [mu + sigma, mu + 2 sigma] ("high" side); "3sigma" from
the next band out. Bands are clipped to what the generator accepts (radius >= 1 mm, eta >= 1,
depth within the liver); a sample the liver cannot hold (a radius too large for it) is skipped
and counted. Each sample holds one tumour; its DSC is that of the model's tumour class against
the synthetic tumour's label.

The model is any callable ``model(image, affine) -> label map`` (0 background, 1 liver,
2 tumour, the image's shape), e.g. :class:`synthtumor.reference.predict.Predictor`.

Examples
--------
>>> import numpy as np
>>> from synthtumor.phantom import make_phantom
>>> phantom = make_phantom(shape=(64, 64, 48), rng=0)
>>> scan = Scan("phantom", phantom.image, phantom.liver_mask, np.diag([*phantom.spacing, 1.0]))
>>> def oracle_of_nothing(image, affine):  # predicts liver everywhere, never tumour
...     return np.ones(image.shape, np.uint8)
>>> result = run_benchmark(oracle_of_nothing, [scan], dimensions=("texture",), repeats=1)
>>> sorted({(row["level"], row["side"]) for row in result.samples})
[('2sigma', 'high'), ('2sigma', 'low'), ('3sigma', 'high'), ('3sigma', 'low'), ('iid', 'both')]
>>> {row["dsc"] for row in result.samples}
{0.0}
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from synthtumor._arrays import triple
from synthtumor.config import TUMOR_SIZES, SizePreset, TumorConfig
from synthtumor.reference.prepare import write_text_atomic
from synthtumor.reference.reports import csv_text

__all__ = [
    "DIMENSIONS",
    "LEVELS",
    "SAMPLE_COLUMNS",
    "SUMMARY_COLUMNS",
    "BenchmarkResult",
    "Distribution",
    "Scan",
    "level_band",
    "load_scan",
    "run_benchmark",
    "summary_markdown",
    "training_distributions",
]

DIMENSIONS: tuple[str, ...] = ("location", "size", "shape", "intensity", "texture")
"""The five dimensions of Figure 6."""

LEVELS: tuple[str, ...] = ("iid", "2sigma", "3sigma")
"""mu +- sigma (in distribution), mu +- 2 sigma and mu +- 3 sigma."""

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

_SIDES = {"iid": ("both",), "2sigma": ("low", "high"), "3sigma": ("low", "high")}
_LEVEL_K = {"iid": 1, "2sigma": 2, "3sigma": 3}
_UNITS = {
    "size": "log2 mm",
    "shape": "ratio",
    "intensity": "HU",
    "texture": "eta",
    "location": "mm",
}
_INTENSITY_SIGMA_FLOOR_HU = 10.0

Model = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Distribution:
    """The training distribution of one dimension: mean, standard deviation and valid range."""

    mu: float
    sigma: float
    low: float = -math.inf
    high: float = math.inf


@dataclass(frozen=True)
class Scan:
    """A healthy scan: name, CT in HU, binary liver mask and voxel-to-world affine."""

    name: str
    image: np.ndarray
    liver: np.ndarray
    affine: np.ndarray

    @property
    def spacing(self) -> tuple[float, float, float]:
        """Voxel spacing in mm (array-axis order), from the affine."""
        columns = np.sqrt((np.asarray(self.affine, dtype=float)[:3, :3] ** 2).sum(axis=0))
        return triple(float(c) for c in columns)


def load_scan(ct: str | os.PathLike, liver: str | os.PathLike, name: str | None = None) -> Scan:
    """Read a CT and its liver mask (any label map: liver is > 0 and != 2) from NIfTI files.

    :func:`synthtumor.reference.scans.load_case` reads them, so the mask must lie on the CT's
    grid (shape and affine).
    """
    from synthtumor.reference.predict import output_name
    from synthtumor.reference.scans import load_case

    case = load_case(ct, liver)
    labels = case.labels
    assert labels is not None
    if (labels == 2).any() and (labels == 1).any():
        raise ValueError(f"{liver} holds tumour labels (2): the benchmark needs healthy livers")
    return Scan(name or output_name(ct), case.image, labels > 0, case.affine)


# --------------------------------------------------------------------------------------------
# Distributions
# --------------------------------------------------------------------------------------------


def _moments(value: float | tuple[float, float]) -> tuple[float, float]:
    """Mean and second moment of a constant or a uniform range."""
    if isinstance(value, tuple):
        low, high = value
        mean = (low + high) / 2
        return mean, mean**2 + (high - low) ** 2 / 12
    return float(value), float(value) ** 2


def _mixture(moments: Iterable[tuple[float, float]]) -> tuple[float, float]:
    pairs = list(moments)
    mean = float(np.mean([m for m, _ in pairs]))
    second = float(np.mean([s for _, s in pairs]))
    return mean, math.sqrt(max(0.0, second - mean**2))


def _log2_range(value: float | tuple[float, float]) -> float | tuple[float, float]:
    if isinstance(value, tuple):
        return (math.log2(value[0]), math.log2(value[1]))
    return math.log2(value)


def training_distributions(
    config: TumorConfig, scan: Scan, *, depth_mm: np.ndarray | None = None
) -> dict[str, Distribution]:
    """The training distribution of every dimension for one scan.

    Size and shape average the Table 6 presets equally (the "mix" preset draws from all of
    them); intensity uses the scan's parenchyma mean mu_p (the config's ``texture_mean_hu`` if
    it is set), with sigma at least 10 HU; location is the depth of a uniformly drawn liver
    voxel.
    """
    from synthtumor import liver_statistics

    presets = [config.preset(size) for size in TUMOR_SIZES]
    size = _mixture(_moments(_log2_range(p.radius_mm)) for p in presets)
    shape = _mixture(_moments(_ratio_range(p)) for p in presets)
    if config.texture_mean_hu is None:
        stats = liver_statistics(scan.image, scan.liver, spacing=scan.spacing, rng=0)
        upper = max(30.0, stats.parenchyma_mean_hu - 10.0)
        intensity = _moments((30.0, upper))
    else:
        intensity = _moments(config.texture_mean_hu)
    intensity_sigma = max(
        _INTENSITY_SIGMA_FLOOR_HU, math.sqrt(max(0.0, intensity[1] - intensity[0] ** 2))
    )
    texture = _mixture([_moments(config.texture_scale)])
    depths = depth_mm if depth_mm is not None else _liver_depth_mm(scan)[scan.liver]
    return {
        "size": Distribution(size[0], size[1], low=0.0),
        "shape": Distribution(shape[0], shape[1], low=0.0),
        "intensity": Distribution(intensity[0], intensity_sigma),
        "texture": Distribution(texture[0], texture[1], low=1.0),
        "location": Distribution(
            float(depths.mean()), float(depths.std()), low=0.0, high=float(depths.max())
        ),
    }


def _ratio_range(preset: SizePreset) -> float | tuple[float, float]:
    """sigma_e / r of a preset, as a constant or a range."""
    radius = preset.radius_mm if isinstance(preset.radius_mm, tuple) else (preset.radius_mm,) * 2
    deformation = (
        preset.deformation_mm
        if isinstance(preset.deformation_mm, tuple)
        else (preset.deformation_mm,) * 2
    )
    return (deformation[0] / radius[1], deformation[1] / radius[0])


def _liver_depth_mm(scan: Scan) -> np.ndarray:
    from scipy import ndimage

    return ndimage.distance_transform_edt(scan.liver, sampling=scan.spacing)


def level_band(distribution: Distribution, level: str, side: str) -> tuple[float, float] | None:
    """The interval a level and side draw from, clipped to the valid range (None if empty).

    Examples
    --------
    >>> level_band(Distribution(10.0, 2.0), "iid", "both")
    (8.0, 12.0)
    >>> level_band(Distribution(10.0, 2.0, low=5.0), "3sigma", "low")
    (5.0, 6.0)
    >>> level_band(Distribution(10.0, 2.0, low=7.0), "3sigma", "low") is None
    True
    """
    if level not in _LEVEL_K or side not in _SIDES[level]:
        raise ValueError(f"no level {level!r} with side {side!r}")
    k, mu, sigma = _LEVEL_K[level], distribution.mu, distribution.sigma
    if level == "iid":
        low, high = mu - sigma, mu + sigma
    elif side == "low":
        low, high = mu - k * sigma, mu - (k - 1) * sigma
    else:
        low, high = mu + (k - 1) * sigma, mu + k * sigma
    low, high = max(low, distribution.low), min(high, distribution.high)
    return (low, high) if low < high or (low == high and sigma == 0) else None


# --------------------------------------------------------------------------------------------
# The benchmark
# --------------------------------------------------------------------------------------------


@dataclass
class BenchmarkResult:
    """Samples and summary of a benchmark run."""

    samples: list[dict[str, Any]]
    summary: list[dict[str, Any]]
    distributions: dict[str, dict[str, Distribution]]
    files: dict[str, Path] = field(default_factory=dict)


def _draw(rng: np.random.Generator, band: tuple[float, float]) -> float:
    return float(rng.uniform(*band)) if band[1] > band[0] else float(band[0])


def _test_tumor(
    scan: Scan,
    depth: np.ndarray,
    values: dict[str, float],
    base: TumorConfig,
    rng: np.random.Generator,
    *,
    place_by_depth: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Render one tumour with the given size, shape, intensity and texture (and depth)."""
    from synthtumor import apply, sample

    radius = 2.0 ** values["size"]
    preset = SizePreset(radius_mm=radius, deformation_mm=values["shape"] * radius, count=1)
    config = base.replace(
        medium=preset,
        texture_mean_hu=values["intensity"],
        texture_scale=values["texture"],
        organ_label=1,
        tumor_label=2,
        background_label=0,
    )
    params = sample(
        scan.image, scan.liver, spacing=scan.spacing, size="medium", config=config, rng=rng
    )
    if place_by_depth:
        center = _voxel_at_depth(depth, scan.liver, values["location"], scan.spacing, rng)
        spec = dataclasses.replace(params.tumors[0], center_voxel=center)
        params = dataclasses.replace(params, tumors=(spec,))
    image, label, _ = apply(scan.image, scan.liver, params)
    return image, label


def _voxel_at_depth(
    depth: np.ndarray,
    liver: np.ndarray,
    target_mm: float,
    spacing: Sequence[float],
    rng: np.random.Generator,
) -> tuple[int, int, int]:
    """A random liver voxel whose depth is within half a voxel of the target (else the nearest)."""
    tolerance = 0.5 * max(spacing)
    candidates = np.flatnonzero(liver & (np.abs(depth - target_mm) <= tolerance))
    if candidates.size == 0:
        inside = np.flatnonzero(liver)
        candidates = inside[[int(np.argmin(np.abs(depth.ravel()[inside] - target_mm)))]]
    index = int(candidates[rng.integers(candidates.size)])
    return triple(int(i) for i in np.unravel_index(index, liver.shape))


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
        Healthy scans (see :func:`load_scan`).
    out_dir : path-like, optional
        Receives ``samples.csv``, ``robustness.csv``, ``robustness.md`` and
        ``distributions.json`` (atomic writes; existing files need ``overwrite``).
    dimensions, levels : sequences of str
        Subsets of :data:`DIMENSIONS` and :data:`LEVELS`.
    repeats : int
        Test tumours per scan, dimension, level and side.
    seed : int
        Seeds every draw (sample ``i`` uses ``SeedSequence([seed, scan, dimension, level, side,
        repeat])``).
    config : TumorConfig, optional
        The generator config the model was trained with (default: the paper's); its stage
        switches are used for the test tumours and its ranges define the distributions.

    Returns
    -------
    BenchmarkResult
    """
    from synthtumor import LiverTooSmallError
    from synthtumor.reference.metrics import dice

    unknown = sorted(set(dimensions) - set(DIMENSIONS)) + sorted(set(levels) - set(LEVELS))
    if unknown:
        raise ValueError(f"unknown dimensions or levels {unknown}; use {DIMENSIONS}, {LEVELS}")
    if repeats < 1 or not scans:
        raise ValueError("need repeats >= 1 and at least one scan")
    base = config or TumorConfig()
    targets = _targets(out_dir)
    if targets and not overwrite:
        existing = [str(p) for p in targets.values() if p.exists()]
        if existing:
            raise FileExistsError(f"outputs exist: {existing}; pass overwrite=True (--force)")
    samples: list[dict[str, Any]] = []
    distributions: dict[str, dict[str, Distribution]] = {}
    for scan_index, scan in enumerate(scans):
        depth = _liver_depth_mm(scan)
        dists = training_distributions(base, scan, depth_mm=depth[scan.liver])
        distributions[scan.name] = dists
        for dim_index, dimension in enumerate(dimensions):
            for level_index, level in enumerate(levels):
                for side_index, side in enumerate(_SIDES[level]):
                    band = level_band(dists[dimension], level, side)
                    for repeat in range(repeats):
                        rng = np.random.default_rng(
                            [seed, scan_index, dim_index, level_index, side_index, repeat]
                        )
                        row: dict[str, Any] = {
                            "case": scan.name,
                            "dimension": dimension,
                            "level": level,
                            "side": side,
                            "repeat": repeat,
                            "unit": _UNITS[dimension],
                            "mu": dists[dimension].mu,
                            "sigma": dists[dimension].sigma,
                            "dsc": math.nan,
                            "skipped": "",
                        }
                        if band is None:
                            row["skipped"] = "band outside the valid range"
                            samples.append(row)
                            continue
                        values = {
                            name: _draw(
                                rng, level_band(dists[name], "iid", "both") or (dists[name].mu,) * 2
                            )
                            for name in DIMENSIONS
                        }
                        values[dimension] = _draw(rng, band)
                        row.update(
                            value=values[dimension],
                            radius_mm=2.0 ** values["size"],
                            deformation_mm=values["shape"] * 2.0 ** values["size"],
                            texture_mean_hu=values["intensity"],
                            texture_scale=values["texture"],
                            depth_mm=values["location"] if dimension == "location" else math.nan,
                        )
                        try:
                            image, label = _test_tumor(
                                scan,
                                depth,
                                values,
                                base,
                                rng,
                                place_by_depth=dimension == "location",
                            )
                        except LiverTooSmallError as error:
                            row["skipped"] = f"liver too small: {error}"
                            samples.append(row)
                            continue
                        truth = label == 2
                        row["tumor_voxels"] = int(truth.sum())
                        if not truth.any():
                            row["skipped"] = "no tumour voxel inside the liver"
                            samples.append(row)
                            continue
                        prediction = np.asarray(model(image, scan.affine))
                        if prediction.shape != image.shape:
                            raise ValueError(
                                f"model returned shape {prediction.shape} for an image of shape "
                                f"{image.shape}"
                            )
                        row["dsc"] = dice(prediction == 2, truth)
                        samples.append(row)
                        if progress:
                            print(
                                f"[synthtumor robustness] {scan.name} {dimension} {level} {side} "
                                f"#{repeat}: DSC {row['dsc']:.3f}",
                                file=sys.stderr,
                                flush=True,
                            )
    result = BenchmarkResult(samples, _summarise(samples, dimensions, levels), distributions)
    if targets:
        result.files = _write(result, targets, overwrite=overwrite)
    return result


def _targets(out_dir: str | os.PathLike | None) -> dict[str, Path]:
    if out_dir is None:
        return {}
    out = Path(out_dir)
    names = ("samples.csv", "robustness.csv", "robustness.md", "distributions.json")
    return {name: out / name for name in names}


def _summarise(
    samples: list[dict[str, Any]], dimensions: Sequence[str], levels: Sequence[str]
) -> list[dict[str, Any]]:
    rows = []
    for dimension in dimensions:
        for level in levels:
            for side in (*_SIDES[level], "both") if level != "iid" else ("both",):
                chosen = [
                    s
                    for s in samples
                    if s["dimension"] == dimension
                    and s["level"] == level
                    and (side == "both" or s["side"] == side)
                ]
                scores = [s["dsc"] for s in chosen if not math.isnan(s["dsc"])]
                rows.append(
                    {
                        "dimension": dimension,
                        "level": level,
                        "side": side,
                        "mean_dsc": float(np.mean(scores)) if scores else math.nan,
                        "std_dsc": float(np.std(scores)) if scores else math.nan,
                        "n": len(scores),
                        "n_skipped": len(chosen) - len(scores),
                    }
                )
    return rows


def _cell(row: dict[str, Any] | None) -> str:
    if row is None:
        return ""
    if row["n"] == 0:
        return f"n/a ({row['n_skipped']} skipped)" if row["n_skipped"] else "n/a"
    skipped = f", {row['n_skipped']} skipped" if row["n_skipped"] else ""
    return f"{100 * row['mean_dsc']:.1f} (n={row['n']}{skipped})"


def summary_markdown(result: BenchmarkResult) -> str:
    """Figure-6-style Markdown tables: tumour DSC (%) per dimension and level."""
    index = {(r["dimension"], r["level"], r["side"]): r for r in result.summary}
    dimensions = list(dict.fromkeys(r["dimension"] for r in result.summary))
    levels = list(dict.fromkeys(r["level"] for r in result.summary))
    titles = {"iid": "μ ± σ (i.i.d.)", "2sigma": "μ ± 2σ", "3sigma": "μ ± 3σ"}
    lines = [
        "# Controllable robustness benchmark",
        "",
        "Tumour DSC (%) on synthetic test tumours, one dimension varied at a time; mean over "
        "samples (both sides of μ), n = samples scored, skipped = tumours the liver could not "
        "hold or bands outside the valid range.",
        "",
        "| dimension | " + " | ".join(titles[level] for level in levels) + " |",
        "|---|" + "---|" * len(levels),
    ]
    for dimension in dimensions:
        cells = [_cell(index.get((dimension, level, "both"))) for level in levels]
        lines.append(f"| {dimension} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## By side",
        "",
        "| dimension | level | low (μ − kσ side) | high (μ + kσ side) |",
    ]
    lines.append("|---|---|---|---|")
    for dimension in dimensions:
        for level in levels:
            if level == "iid":
                continue
            low, high = index.get((dimension, level, "low")), index.get((dimension, level, "high"))
            lines.append(f"| {dimension} | {titles[level]} | {_cell(low)} | {_cell(high)} |")
    lines += ["", "## Training distributions (per scan)", ""]
    lines.append("| scan | dimension | unit | μ | σ |")
    lines.append("|---|---|---|---|---|")
    for name, dists in result.distributions.items():
        for dimension in dimensions:
            d = dists[dimension]
            lines.append(
                f"| {name} | {dimension} | {_UNITS[dimension]} | {d.mu:.3f} | {d.sigma:.3f} |"
            )
    return "\n".join(lines) + "\n"


def _write(
    result: BenchmarkResult, targets: dict[str, Path], *, overwrite: bool
) -> dict[str, Path]:
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
        write_text_atomic(targets[name], text, overwrite=overwrite)
    return targets
