"""The liver's statistics (mu_p, sigma_p, the vessel threshold T of eq. 2), from random patches.

Only a few random cubes of the liver are read: their smoothed values give the vessel threshold,
and the non-vessel voxels of their cores the parenchyma's mean and spread.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from synthtumor._arrays import triple
from synthtumor._cubes import core_smoothing_matrices, gather_cubes, smoothing_radius_voxels
from synthtumor._validation import check_finite
from synthtumor.liver_sampling import LiverSampler
from synthtumor.separable import apply_separable

__all__ = ["LiverStatistics", "liver_statistics"]

_MAD_TO_STD = 1.4826
_STATISTICS_FORMAT_VERSION = 1


@dataclass(frozen=True)
class LiverStatistics:
    """The liver's intensities and size, as the generator uses them.

    Measured once per scan with :func:`synthtumor.liver_statistics`, they let
    ``synthesize(crop, crop_liver_mask, spacing=..., statistics=stats)`` work on a crop of that
    scan as if it saw the whole liver. Plain numbers only: picklable, and
    :meth:`to_dict` / :meth:`from_dict` (JSON types) and :meth:`to_json` / :meth:`from_json`
    round-trip exactly.

    Attributes
    ----------
    liver_mean_hu : float
        Mean HU of the liver, vessels included (the mean of eq. 2).
    parenchyma_mean_hu, parenchyma_std_hu : float
        mu_p and sigma_p: the liver without vessels.
    vessel_smoothing_mm : float
        sigma_a used for the vessel mask.
    vessel_threshold_hu : float
        T of eq. 2.
    liver_volume_mm3 : float or None
        Volume of the whole liver in mm^3: the size presets are fitted to it. None (statistics
        from :func:`synthtumor.liver_stats.liver_statistics`): the liver mask at hand is measured.
    spacing : tuple of 3 float or None
        The voxel spacing in mm they were measured at. The core does not read it; the adapters
        use it for data that carries no spacing of its own.

    Examples
    --------
    >>> stats = LiverStatistics(60.0, 58.0, 14.0, 0.85, 75.0, liver_volume_mm3=1.5e6,
    ...                         spacing=(1.0, 1.0, 1.0))
    >>> LiverStatistics.from_json(stats.to_json()) == stats
    True
    """

    liver_mean_hu: float
    parenchyma_mean_hu: float
    parenchyma_std_hu: float
    vessel_smoothing_mm: float
    vessel_threshold_hu: float
    liver_volume_mm3: float | None = None
    spacing: tuple[float, float, float] | None = None

    def __post_init__(self) -> None:
        for name in _STATISTICS_NUMBERS:
            value = getattr(self, name)
            if value is None and name in _STATISTICS_OPTIONAL:
                continue
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float | np.floating | np.integer)
                or not math.isfinite(value)
            ):
                raise ValueError(f"LiverStatistics.{name} must be a finite number, got {value!r}")
            object.__setattr__(self, name, float(value))
        if self.parenchyma_std_hu < 0 or self.vessel_smoothing_mm < 0:
            raise ValueError(
                "LiverStatistics.parenchyma_std_hu and vessel_smoothing_mm must be >= 0, got "
                f"{self.parenchyma_std_hu!r} and {self.vessel_smoothing_mm!r}"
            )
        if self.liver_volume_mm3 is not None and self.liver_volume_mm3 <= 0:
            raise ValueError(
                f"LiverStatistics.liver_volume_mm3 must be positive, got {self.liver_volume_mm3!r}"
            )
        if self.spacing is not None:
            values = tuple(np.ravel(np.asarray(self.spacing, dtype=float)).tolist())
            if len(values) != 3 or not all(math.isfinite(v) and v > 0 for v in values):
                raise ValueError(
                    f"LiverStatistics.spacing must be 3 positive numbers in mm, got "
                    f"{self.spacing!r}"
                )
            object.__setattr__(self, "spacing", values)

    def to_dict(self) -> dict[str, Any]:
        """A plain dictionary of JSON types (floats, a list, None), with a format version."""
        data: dict[str, Any] = {"format_version": _STATISTICS_FORMAT_VERSION}
        for item in fields(self):
            value = getattr(self, item.name)
            data[item.name] = list(value) if isinstance(value, tuple) else value
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LiverStatistics:
        """Rebuild statistics from :meth:`to_dict`'s output, checking the field names.

        Numbers may come back as NumPy or 0-d torch scalars (``.item()`` is used), as after a
        framework's collation or caching.
        """
        if not isinstance(data, Mapping):
            raise TypeError(f"data must be a mapping, got {type(data).__name__}")
        data = dict(data)
        version = data.pop("format_version", _STATISTICS_FORMAT_VERSION)
        if _plain(version) != _STATISTICS_FORMAT_VERSION:
            raise ValueError(f"unsupported LiverStatistics format_version {version!r}")
        names = {item.name for item in fields(cls)}
        unknown = set(data) - names
        missing = names - set(data) - set(_STATISTICS_OPTIONAL) - {"spacing"}
        if unknown or missing:
            raise ValueError(
                f"LiverStatistics fields do not match: unknown {sorted(map(str, unknown))}, "
                f"missing {sorted(missing)}"
            )
        return cls(**{key: _plain(value) for key, value in data.items()})

    def to_json(self, **kwargs: Any) -> str:
        """JSON text; keyword arguments go to :func:`json.dumps` (e.g. ``indent=2``)."""
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_json(cls, text: str) -> LiverStatistics:
        """Rebuild statistics from :meth:`to_json`'s output."""
        return cls.from_dict(json.loads(text))


_STATISTICS_NUMBERS = (
    "liver_mean_hu",
    "parenchyma_mean_hu",
    "parenchyma_std_hu",
    "vessel_smoothing_mm",
    "vessel_threshold_hu",
    "liver_volume_mm3",
)
_STATISTICS_OPTIONAL = ("liver_volume_mm3",)


def _plain(value: Any) -> Any:
    """A Python number or list from NumPy / torch scalars and arrays (anything with tolist)."""
    if hasattr(value, "tolist") and not isinstance(value, list | tuple):
        value = value.tolist()
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def liver_statistics(
    image: np.ndarray,
    liver_mask: np.ndarray,
    *,
    spacing: tuple[float, float, float],
    threshold_offset_hu: float = 15.0,
    vessel_smoothing_mm: float | None = None,
    patches: int = 32,
    rng: np.random.Generator | int | None = None,
    sampler: LiverSampler | None = None,
) -> LiverStatistics:
    """Estimate the liver's mean and the parenchyma's mean and std from random patches.

    The paper defines sigma_a from sigma_p (Table 1) and sigma_p from the liver without its
    vessels, which need sigma_a: the circle is cut by taking sigma_a from a robust estimate of
    the liver's spread (median absolute deviation, which vessels barely move) when
    `vessel_smoothing_mm` is None. `patches` cubes of 5 voxels (plus the smoothing margin) around
    random liver voxels are smoothed, thresholded at T = liver mean + b, and the non-vessel
    liver voxels of their cores give mu_p and sigma_p.

    Parameters
    ----------
    image, liver_mask : numpy.ndarray
        CT in HU and boolean liver mask.
    spacing : tuple of 3 float
        Voxel spacing in mm.
    threshold_offset_hu : float
        b of eq. 2.
    vessel_smoothing_mm : float or None
        sigma_a; None uses ``0.5 + 0.025 * sigma_p`` (Table 1).
    patches : int
        Number of random patches.
    rng : numpy.random.Generator or int or None
        Source of the patch positions (ignored when `sampler` is given).
    sampler : LiverSampler or None
        Share a sampler (and its random stream) with the caller.

    Returns
    -------
    LiverStatistics

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> image = rng.normal(60.0, 10.0, (40, 40, 40)).astype(np.float32)
    >>> stats = liver_statistics(image, np.ones(image.shape, bool), spacing=(1.0, 1.0, 1.0), rng=1)
    >>> bool(abs(stats.parenchyma_mean_hu - 60.0) < 2.0), bool(8 < stats.parenchyma_std_hu < 12)
    (True, True)
    """
    sampler = sampler or LiverSampler(liver_mask, np.random.default_rng(rng))
    centers = sampler.take(max(patches, 1) * 8)
    center_values = np.asarray(image[centers[:, 0], centers[:, 1], centers[:, 2]], np.float64)
    check_finite(center_values, name="image", where="inside the liver")
    liver_mean = float(center_values.mean())
    threshold = liver_mean + threshold_offset_hu
    if vessel_smoothing_mm is None:
        robust_std = _MAD_TO_STD * float(
            np.median(np.abs(center_values - np.median(center_values)))
        )
        smoothing_mm = 0.5 + 0.025 * robust_std
    else:
        smoothing_mm = float(vessel_smoothing_mm)

    core_half = np.full(3, 2)
    halo = np.array(smoothing_radius_voxels(smoothing_mm, spacing))
    patch_centers = centers[: max(patches, 1)]
    raw = np.asarray(gather_cubes(image, patch_centers, core_half + halo), dtype=np.float32)
    check_finite(raw, name="image", where="inside the liver")
    sigmas = [smoothing_mm / s for s in spacing]
    smoothed = apply_separable(raw, core_smoothing_matrices(2 * core_half + 1, halo, sigmas))
    cores = (slice(None), *(slice(h, h + 2 * c + 1) for h, c in zip(halo, core_half, strict=True)))
    core_raw = raw[cores]
    parenchyma = gather_cubes(liver_mask, patch_centers, core_half) & (smoothed <= threshold)
    values = core_raw[parenchyma].astype(np.float64)
    if values.size < 2:
        values = center_values
    return LiverStatistics(
        liver_mean_hu=liver_mean,
        parenchyma_mean_hu=float(values.mean()),
        parenchyma_std_hu=float(values.std()),
        vessel_smoothing_mm=smoothing_mm,
        vessel_threshold_hu=threshold,
        spacing=triple(float(v) for v in spacing),
    )
