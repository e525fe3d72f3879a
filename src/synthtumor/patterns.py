"""Clinical patterns of liver tumours (paper section 3.2): solitary, multifocal, satellite.

The paper's Table 6 draws N tumours of a size anywhere in the liver. Real livers show patterns:
one lesion (solitary); many small ones scattered through the liver (multifocal, as metastases
often are); or a large, irregular lesion with a cluster of small ones around it (satellite
nodules, typical of HCC). ``TumorConfig(pattern=...)`` asks for one, in either appearance mode.
This module decides the sizes of a pattern and where satellites may go; ``synthesize.sample``
draws their numbers and checks their locations as for any tumour.
"""

from __future__ import annotations

import numpy as np

from synthtumor.config import TumorConfig

__all__ = [
    "MULTIFOCAL_COUNT",
    "SATELLITE_COUNT",
    "SATELLITE_DISTANCE",
    "pattern_sizes",
    "satellite_candidates",
]

MULTIFOCAL_COUNT = (5, 15)
"""Number of lesions of a multifocal pattern, drawn uniformly (inclusive)."""

SATELLITE_COUNT = (3, 8)
"""Number of satellite nodules around the main lesion, drawn uniformly (inclusive)."""

SATELLITE_DISTANCE = (1.2, 2.5)
"""Distance of a satellite's centre from the main lesion's centre, in main lesion radii."""


def _small_sizes(chosen: str, config: TumorConfig) -> tuple[str, ...]:
    if chosen in ("tiny", "small"):
        return (chosen,)
    return ("tiny", "small") if config.tiny_tumors else ("small",)


def pattern_sizes(
    pattern: str, chosen: str, config: TumorConfig, rng: np.random.Generator
) -> tuple[str, list[str]]:
    """The main lesion's size (or "" for none) and the other lesions' sizes of a pattern.

    - ``"solitary"``: one lesion of `chosen` (for "mix", one of its sizes, drawn uniformly).
    - ``"multifocal"``: 5-15 lesions, each tiny or small (only `chosen` if that is one of
      them), no main lesion.
    - ``"satellite"``: a main lesion of `chosen` ("large" for "mix"; medium or large: a tiny
      or small main lesion is taken as medium) and 3-8 tiny or small satellites.

    Examples
    --------
    >>> main, others = pattern_sizes("satellite", "large", TumorConfig(), np.random.default_rng(0))
    >>> main, 3 <= len(others) <= 8, set(others) <= {"tiny", "small"}
    ('large', True, True)
    """
    if pattern == "solitary":
        names = config.sizes_in(chosen)
        return names[int(rng.integers(len(names)))], []
    small = _small_sizes(chosen, config)
    if pattern == "multifocal":
        count = int(rng.integers(MULTIFOCAL_COUNT[0], MULTIFOCAL_COUNT[1], endpoint=True))
        return "", [small[int(rng.integers(len(small)))] for _ in range(count)]
    if pattern == "satellite":
        main = chosen if chosen in ("medium", "large") else "large" if chosen == "mix" else "medium"
        count = int(rng.integers(SATELLITE_COUNT[0], SATELLITE_COUNT[1], endpoint=True))
        satellite = _small_sizes("mix", config)
        return main, [satellite[int(rng.integers(len(satellite)))] for _ in range(count)]
    raise ValueError(f"pattern must be 'solitary', 'multifocal' or 'satellite', got {pattern!r}")


def satellite_candidates(
    liver_mask: np.ndarray,
    center_voxel: tuple[int, int, int],
    main_radius_mm: float,
    *,
    spacing: tuple[float, float, float],
    count: int,
    rng: np.random.Generator,
    rounds: int = 8,
) -> np.ndarray:
    """Up to `count` liver voxels at 1.2-2.5 main radii from the main lesion's centre.

    Directions are uniform on the sphere and distances uniform in that shell (in mm, so the
    shell is round on any spacing); draws outside the volume or the liver are rejected, for at
    most `rounds` batches. Fewer than `count` rows come back where the liver around the main
    lesion is too thin; the caller tops them up from the whole liver.

    Examples
    --------
    >>> mask = np.ones((40, 40, 40), bool)
    >>> found = satellite_candidates(mask, (20, 20, 20), 6.0, spacing=(1.0, 1.0, 1.0),
    ...                              count=10, rng=np.random.default_rng(0))
    >>> distances = np.linalg.norm(found - 20, axis=1)
    >>> found.shape, bool(distances.min() >= 7.2 - 1), bool(distances.max() <= 15 + 1)
    ((10, 3), True, True)
    """
    center = np.asarray(center_voxel, dtype=float)
    spacing_array = np.asarray(spacing, dtype=float)
    found: list[np.ndarray] = []
    have = 0
    for _ in range(rounds):
        if have >= count:
            break
        batch = 4 * count
        direction = rng.standard_normal((batch, 3))
        direction /= np.maximum(np.linalg.norm(direction, axis=1, keepdims=True), 1e-12)
        low, high = SATELLITE_DISTANCE
        distance_mm = rng.uniform(low * main_radius_mm, high * main_radius_mm, batch)
        voxels = np.rint(center + direction * distance_mm[:, None] / spacing_array).astype(np.intp)
        inside = np.all((voxels >= 0) & (voxels < np.asarray(liver_mask.shape)), axis=1)
        voxels = voxels[inside]
        voxels = voxels[liver_mask[voxels[:, 0], voxels[:, 1], voxels[:, 2]]]
        found.append(voxels)
        have += len(voxels)
    if not found:
        return np.empty((0, 3), dtype=np.intp)
    return np.concatenate(found)[:count]
