"""The robustness benchmark's dimensions and levels, and the drawing of one test tumour.

:func:`training_distributions` gives each dimension's training distribution on a scan,
:func:`level_band` the interval a level and side draw from, :func:`draw_values` one sample's
size, shape, intensity, texture and depth, and :func:`render_test_tumor` puts a tumour with those
values into the scan. The module docstring of :mod:`synthtumor.reference.robustness` describes
the dimensions and levels.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from synthtumor._arrays import triple
from synthtumor.config import TUMOR_SIZES, SizePreset, TumorConfig
from synthtumor.reference.robustness_scans import Scan

__all__ = [
    "DIMENSIONS",
    "LEVELS",
    "SIDES",
    "UNITS",
    "Distribution",
    "draw_values",
    "level_band",
    "liver_depth_mm",
    "render_test_tumor",
    "training_distributions",
]

DIMENSIONS: tuple[str, ...] = ("location", "size", "shape", "intensity", "texture")
"""The five dimensions of Figure 6."""

LEVELS: tuple[str, ...] = ("iid", "2sigma", "3sigma")
"""mu +- sigma (in distribution), mu +- 2 sigma and mu +- 3 sigma."""

SIDES: dict[str, tuple[str, ...]] = {
    "iid": ("both",),
    "2sigma": ("low", "high"),
    "3sigma": ("low", "high"),
}
"""The sides of mu each level draws from."""

UNITS: dict[str, str] = {
    "size": "log2 mm",
    "shape": "ratio",
    "intensity": "HU",
    "texture": "eta",
    "location": "mm",
}
"""The unit of each dimension's values."""

_LEVEL_K = {"iid": 1, "2sigma": 2, "3sigma": 3}
_INTENSITY_SIGMA_FLOOR_HU = 10.0


@dataclass(frozen=True)
class Distribution:
    """The training distribution of one dimension: mean, standard deviation and valid range."""

    mu: float
    sigma: float
    low: float = -math.inf
    high: float = math.inf


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


def _ratio_range(preset: SizePreset) -> float | tuple[float, float]:
    """sigma_e / r of a preset, as a constant or a range."""
    radius = preset.radius_mm if isinstance(preset.radius_mm, tuple) else (preset.radius_mm,) * 2
    deformation = (
        preset.deformation_mm
        if isinstance(preset.deformation_mm, tuple)
        else (preset.deformation_mm,) * 2
    )
    return (deformation[0] / radius[1], deformation[1] / radius[0])


def _intensity(config: TumorConfig, scan: Scan) -> tuple[float, float]:
    """Mean and standard deviation (at least 10 HU) of the tumour's mean HU."""
    from synthtumor import liver_statistics

    if config.texture_mean_hu is None:
        stats = liver_statistics(scan.image, scan.liver, spacing=scan.spacing, rng=0)
        upper = max(30.0, stats.parenchyma_mean_hu - 10.0)
        mean, second = _moments((30.0, upper))
    else:
        mean, second = _moments(config.texture_mean_hu)
    return mean, max(_INTENSITY_SIGMA_FLOOR_HU, math.sqrt(max(0.0, second - mean**2)))


def liver_depth_mm(scan: Scan) -> np.ndarray:
    """Distance of every voxel to the nearest voxel outside the liver, in mm (0 outside).

    Examples
    --------
    >>> liver = np.zeros((7, 3, 3), bool); liver[1:6, 1, 1] = True
    >>> scan = Scan("line", np.zeros(liver.shape), liver, np.diag([2.0, 1.0, 1.0, 1.0]))
    >>> liver_depth_mm(scan)[:, 1, 1].tolist()
    [0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0]
    """
    from scipy import ndimage

    return ndimage.distance_transform_edt(scan.liver, sampling=scan.spacing)


def training_distributions(
    config: TumorConfig, scan: Scan, *, depth_mm: np.ndarray | None = None
) -> dict[str, Distribution]:
    """The training distribution of every dimension for one scan.

    Size and shape average the Table 6 presets equally (the "mix" preset draws from all of
    them); intensity uses the scan's parenchyma mean mu_p (the config's ``texture_mean_hu`` if
    it is set), with sigma at least 10 HU; location is the depth of a uniformly drawn liver
    voxel (`depth_mm`: the depths of the liver's voxels, if already computed).

    Examples
    --------
    >>> from synthtumor.phantom import make_phantom
    >>> phantom = make_phantom(shape=(48, 48, 32), rng=0)
    >>> scan = Scan("phantom", phantom.image, phantom.liver_mask, np.diag([*phantom.spacing, 1]))
    >>> dists = training_distributions(TumorConfig(), scan)
    >>> sorted(dists) == sorted(DIMENSIONS), dists["texture"].low
    (True, 1.0)
    """
    presets = [config.preset(size) for size in TUMOR_SIZES]
    size = _mixture(_moments(_log2_range(p.radius_mm)) for p in presets)
    shape = _mixture(_moments(_ratio_range(p)) for p in presets)
    intensity = _intensity(config, scan)
    texture = _mixture([_moments(config.texture_scale)])
    depths = depth_mm if depth_mm is not None else liver_depth_mm(scan)[scan.liver]
    return {
        "size": Distribution(size[0], size[1], low=0.0),
        "shape": Distribution(shape[0], shape[1], low=0.0),
        "intensity": Distribution(intensity[0], intensity[1]),
        "texture": Distribution(texture[0], texture[1], low=1.0),
        "location": Distribution(
            float(depths.mean()), float(depths.std()), low=0.0, high=float(depths.max())
        ),
    }


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
    if level not in _LEVEL_K or side not in SIDES[level]:
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


def _draw(rng: np.random.Generator, band: tuple[float, float]) -> float:
    return float(rng.uniform(*band)) if band[1] > band[0] else float(band[0])


def draw_values(
    rng: np.random.Generator,
    distributions: Mapping[str, Distribution],
    dimension: str,
    band: tuple[float, float],
) -> dict[str, float]:
    """One sample: every dimension drawn in distribution, then `dimension` from `band`.

    Examples
    --------
    >>> dists = {name: Distribution(1.0, 0.5) for name in DIMENSIONS}
    >>> values = draw_values(np.random.default_rng(0), dists, "size", (4.0, 5.0))
    >>> 4.0 <= values["size"] <= 5.0, 0.5 <= values["texture"] <= 1.5
    (True, True)
    """
    values = {
        name: _draw(
            rng, level_band(distributions[name], "iid", "both") or (distributions[name].mu,) * 2
        )
        for name in DIMENSIONS
    }
    values[dimension] = _draw(rng, band)
    return values


def render_test_tumor(
    scan: Scan,
    depth: np.ndarray,
    values: dict[str, float],
    base: TumorConfig,
    rng: np.random.Generator,
    *,
    place_by_depth: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Render one tumour with the given size, shape, intensity and texture (and depth).

    Returns the image and label map of :func:`synthtumor.apply` (tumour = 2); raises
    :class:`synthtumor.LiverTooSmallError` when the liver cannot hold the tumour.

    Examples
    --------
    >>> from synthtumor.phantom import make_phantom
    >>> phantom = make_phantom(shape=(48, 48, 32), rng=0)
    >>> scan = Scan("phantom", phantom.image, phantom.liver_mask, np.diag([*phantom.spacing, 1]))
    >>> values = {"size": 2.0, "shape": 0.1, "intensity": 40.0, "texture": 1.2, "location": 0.0}
    >>> image, label = render_test_tumor(scan, liver_depth_mm(scan), values, TumorConfig(),
    ...                                  np.random.default_rng(0), place_by_depth=False)
    >>> image.shape == scan.image.shape, bool((label == 2).any())
    (True, True)
    """
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
