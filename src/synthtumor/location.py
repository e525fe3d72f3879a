"""Where tumours go: liver statistics, the vessel mask (paper eq. 1-2) and centre sampling.

Nothing here scans the whole volume. Liver voxels are found by rejection sampling of random
voxel positions, the liver's statistics come from a few random patches, and the vessel mask is
computed lazily, block by block, only where a candidate tumour is checked for collisions.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
from scipy import ndimage

from synthtumor._validation import check_finite
from synthtumor.separable import apply_separable, gaussian_blur, gaussian_matrix

__all__ = [
    "LiverSampler",
    "LiverStatistics",
    "VesselMap",
    "choose_centers",
    "count_voxels",
    "liver_bounding_box",
    "liver_statistics",
    "vessel_mask",
]

_SMOOTHING_TRUNCATE = 2.5
_MAD_TO_STD = 1.4826
_COUNT_SLAB_VOXELS = 2**20


def _smoothing_radius_voxels(smoothing_mm: float, spacing: tuple[float, float, float]) -> list:
    return [math.ceil(_SMOOTHING_TRUNCATE * smoothing_mm / s) for s in spacing]


def vessel_mask(
    image: np.ndarray,
    liver_mask: np.ndarray,
    *,
    spacing: tuple[float, float, float],
    threshold_hu: float,
    smoothing_mm: float,
) -> np.ndarray:
    """Paper eq. 1: liver voxels whose Gaussian-smoothed HU exceeds `threshold_hu`.

    This is the full-array form, for inspection and figures; synthesis itself uses
    :class:`VesselMap`, which computes the same mask only where it is needed.

    Parameters
    ----------
    image : numpy.ndarray
        CT in HU (any real dtype).
    liver_mask : numpy.ndarray
        Boolean liver mask of the same shape.
    spacing : tuple of 3 float
        Voxel spacing in mm.
    threshold_hu : float
        T of eq. 2 (the liver's mean HU + b).
    smoothing_mm : float
        sigma_a in mm.

    Returns
    -------
    numpy.ndarray
        Boolean vessel mask.

    Examples
    --------
    >>> image = np.full((9, 9, 9), 50.0, np.float32); image[4, :, 4] = 300.0
    >>> liver = np.ones((9, 9, 9), bool)
    >>> vessels = vessel_mask(image, liver, spacing=(1.0, 1.0, 1.0), threshold_hu=65.0,
    ...                       smoothing_mm=0.5)
    >>> bool(vessels[4, 3, 4]), bool(vessels[0, 0, 0])
    (True, False)
    """
    sigmas = [smoothing_mm / s for s in spacing]
    smoothed = ndimage.gaussian_filter(
        np.asarray(image, dtype=np.float32), sigmas, mode="nearest", truncate=_SMOOTHING_TRUNCATE
    )
    return (smoothed > threshold_hu) & np.asarray(liver_mask, dtype=bool)


def count_voxels(mask: np.ndarray, *, at_least: int | None = None) -> int:
    """The number of True voxels of a boolean `mask`.

    With `at_least`, counting stops, slab by slab along axis 0, as soon as that many were found,
    and the count so far (``>= at_least``) is returned: enough to know that a liver is big enough
    without reading all of a large mask.

    Examples
    --------
    >>> mask = np.ones((160, 128, 128), bool)
    >>> count_voxels(mask), 1000 <= count_voxels(mask, at_least=1000) < mask.size
    (2621440, True)
    """
    if at_least is None:
        return int(np.count_nonzero(mask))
    rows_per_slab = max(1, _COUNT_SLAB_VOXELS // max(mask[0].size, 1))
    found = 0
    for start in range(0, mask.shape[0], rows_per_slab):
        found += int(np.count_nonzero(mask[start : start + rows_per_slab]))
        if found >= at_least:
            break
    return found


class LiverSampler:
    """Uniformly random liver voxels, drawn by rejection sampling of random positions.

    Candidates are drawn in batches from `rng`; when the liver is so small a part of the
    volume that rejection stalls, the liver's voxel list is built once and sampled directly.
    """

    _BATCH = 4096
    _STALLED_BATCHES = 4

    def __init__(self, liver_mask: np.ndarray, rng: np.random.Generator) -> None:
        self._mask = liver_mask
        self._rng = rng
        self._pool = np.empty((0, 3), dtype=np.intp)
        self._all_voxels: np.ndarray | None = None
        self._draws = 0
        self._hits = 0

    def take(self, count: int) -> np.ndarray:
        """Return `count` random liver voxels as an ``(count, 3)`` integer array."""
        stalled = 0
        while len(self._pool) < count:
            found = self._draw_batch(self._batch_size(count - len(self._pool)))
            stalled = stalled + 1 if len(found) == 0 else 0
            self._pool = np.concatenate([self._pool, found])
            if stalled >= self._STALLED_BATCHES and len(self._pool) < count:
                break
        if len(self._pool) < count:
            self._pool = np.concatenate([self._pool, self._draw_from_list(count)])
        taken, self._pool = self._pool[:count], self._pool[count:]
        return taken

    def _batch_size(self, missing: int) -> int:
        """Enough draws for `missing` hits at the hit rate seen so far (with some slack)."""
        if self._hits == 0:
            return self._BATCH
        rate = self._hits / self._draws
        return int(min(max(1.5 * missing / rate, self._BATCH), 64 * self._BATCH))

    def estimated_liver_voxels(self) -> int:
        """The liver's size in voxels, from the hit rate so far (exact once the list is built)."""
        if self._all_voxels is not None:
            return len(self._all_voxels)
        if self._draws == 0:
            return count_voxels(self._mask)
        return round(self._hits / self._draws * self._mask.size)

    def _draw_batch(self, size: int) -> np.ndarray:
        positions = [self._rng.integers(0, n, size) for n in self._mask.shape]
        hits = self._mask[positions[0], positions[1], positions[2]]
        self._draws += size
        self._hits += int(np.count_nonzero(hits))
        return np.stack(positions, axis=1)[hits].astype(np.intp)

    def _draw_from_list(self, count: int) -> np.ndarray:
        if self._all_voxels is None:
            self._all_voxels = np.argwhere(self._mask)
        if len(self._all_voxels) == 0:
            raise ValueError("liver_mask is empty: there is no liver voxel to place a tumour in")
        return self._all_voxels[self._rng.integers(0, len(self._all_voxels), count)]


def _gather_cubes(volume: np.ndarray, centres: np.ndarray, reach: np.ndarray) -> np.ndarray:
    """The cubes ``centre +- reach`` of `volume`, stacked ``(K, n0, n1, n2)``.

    Cubes inside the volume are read as windows (a block copy per row); a cube crossing its
    border repeats the edge voxels beyond it (as ``mode="nearest"`` filtering does).
    """
    lower = centres - reach
    shape = np.array(volume.shape)
    inside = np.all((lower >= 0) & (centres + reach < shape), axis=1)
    if inside.all():
        windows = np.lib.stride_tricks.sliding_window_view(volume, tuple(2 * reach + 1))
        return windows[lower[:, 0], lower[:, 1], lower[:, 2]]
    cubes = np.empty((len(centres), *(2 * reach + 1)), dtype=volume.dtype)
    if inside.any():
        windows = np.lib.stride_tricks.sliding_window_view(volume, tuple(2 * reach + 1))
        cubes[inside] = windows[lower[inside, 0], lower[inside, 1], lower[inside, 2]]
    for index in np.flatnonzero(~inside):
        cubes[index] = _edge_padded_cube(volume, lower[index], lower[index] + 2 * reach + 1)
    return cubes


def _edge_padded_cube(volume: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """``volume[lower:upper]`` per axis, positions outside the volume clipped to its edge."""
    inner_lower = np.maximum(lower, 0)
    inner_upper = np.minimum(upper, volume.shape)
    cube = volume[tuple(slice(a, b) for a, b in zip(inner_lower, inner_upper, strict=True))]
    for axis, size in enumerate(volume.shape):
        if lower[axis] < 0 or upper[axis] > size:
            positions = np.clip(np.arange(lower[axis], upper[axis]), 0, size - 1)
            cube = np.take(cube, positions - inner_lower[axis], axis=axis)
    return cube


def _core_smoothing_matrix(core: int, halo: int, sigma_voxels: float) -> np.ndarray:
    """``(core, core + 2 halo)`` float32 matrix: a Gaussian along a line, at its core points only.

    `halo` covers the kernel's radius, so the core never sees the line's ends.
    """
    line = gaussian_matrix(core + 2 * halo, sigma_voxels, truncate=_SMOOTHING_TRUNCATE)
    return line[halo : halo + core].astype(np.float32)


def _core_smoothing_matrices(
    cores: np.ndarray, halo: np.ndarray, sigmas: list[float]
) -> list[np.ndarray]:
    """The three matrices that smooth cubes of ``cores + 2 halo`` voxels and keep the cores."""
    return [
        _core_smoothing_matrix(int(core), int(h), sigma)
        for core, h, sigma in zip(cores, halo, sigmas, strict=True)
    ]


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
        from :func:`synthtumor.location.liver_statistics`): the liver mask at hand is measured.
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
    centres = sampler.take(max(patches, 1) * 8)
    centre_values = np.asarray(image[centres[:, 0], centres[:, 1], centres[:, 2]], np.float64)
    check_finite(centre_values, name="image", where="inside the liver")
    liver_mean = float(centre_values.mean())
    threshold = liver_mean + threshold_offset_hu
    if vessel_smoothing_mm is None:
        robust_std = _MAD_TO_STD * float(
            np.median(np.abs(centre_values - np.median(centre_values)))
        )
        smoothing_mm = 0.5 + 0.025 * robust_std
    else:
        smoothing_mm = float(vessel_smoothing_mm)

    core_half = np.full(3, 2)
    halo = np.array(_smoothing_radius_voxels(smoothing_mm, spacing))
    patch_centres = centres[: max(patches, 1)]
    raw = np.asarray(_gather_cubes(image, patch_centres, core_half + halo), dtype=np.float32)
    check_finite(raw, name="image", where="inside the liver")
    sigmas = [smoothing_mm / s for s in spacing]
    smoothed = apply_separable(raw, _core_smoothing_matrices(2 * core_half + 1, halo, sigmas))
    cores = (slice(None), *(slice(h, h + 2 * c + 1) for h, c in zip(halo, core_half, strict=True)))
    core_raw = raw[cores]
    parenchyma = _gather_cubes(liver_mask, patch_centres, core_half) & (smoothed <= threshold)
    values = core_raw[parenchyma].astype(np.float64)
    if values.size < 2:
        values = centre_values
    return LiverStatistics(
        liver_mean_hu=liver_mean,
        parenchyma_mean_hu=float(values.mean()),
        parenchyma_std_hu=float(values.std()),
        vessel_smoothing_mm=smoothing_mm,
        vessel_threshold_hu=threshold,
        spacing=tuple(float(v) for v in spacing),  # type: ignore[arg-type]
    )


# Exact checks start with a batch of _FIRST_BATCH cubes and double it each round, but only where
# a batch of _BUDGET_GATE cubes fits the budget: where it does not, the coarse map wins anyway.
_FIRST_BATCH = 4
_BUDGET_GATE = 8


@dataclass
class _Search:
    """One tumour's exact collision checks, run a batch at a time (see VesselMap.counts_many)."""

    centres: np.ndarray
    half: np.ndarray
    cube_voxels: int = 0
    budget: int = 0
    start: int = 0
    batch: int = _FIRST_BATCH
    spent: int = 0
    examined: list = field(default_factory=list)
    result: np.ndarray | None = None

    def wants_batch(self) -> bool:
        """Whether another exact batch is due: no free centre yet, and budget left.

        Checking starts only where a batch of ``_BUDGET_GATE`` cubes fits the budget, even when
        the first batch is smaller.
        """
        return (
            self.result is None
            and self.start < len(self.centres)
            and self.spent + max(self.batch, _BUDGET_GATE) * self.cube_voxels <= self.budget
        )

    def next_batch(self) -> np.ndarray:
        return self.centres[self.start : self.start + self.batch]

    def record(self, found: np.ndarray) -> None:
        """Take the counts of the batch just checked: stop at its first vessel-free centre."""
        free = np.flatnonzero(found == 0)
        if free.size:
            self.result = np.concatenate([*self.examined, found[: free[0] + 1]])
            return
        self.examined.append(found)
        self.spent += len(found) * self.cube_voxels
        self.start += len(found)
        self.batch *= 2


class VesselMap:
    """Collision counts against the vessel mask of eq. 1, computed only where they are asked for.

    Candidate centres are tested in batches: the cubes (with the smoothing margin) of a few
    candidates are gathered into one stack and smoothed together by three small matrix products
    that compute only the cubes' cores, and the first vessel-free one wins, so the usual early
    success of a small tumour costs a few small cubes. Exact checks go on while the voxels they
    read stay within a budget: a quarter of the liver when every allowed try fits in it, else a
    sixteenth. Past it (medium and large tumours, and small ones in vessel-dense livers), the
    vessel mask of the liver's bounding box is computed once, on 2-voxel blocks, to rank the
    remaining candidates; a candidate it calls vessel-free is confirmed at full resolution.

    Parameters
    ----------
    image, liver_mask : numpy.ndarray
        CT in HU and boolean liver mask.
    spacing : tuple of 3 float
        Voxel spacing in mm.
    threshold_hu, smoothing_mm : float
        T of eq. 2 and sigma_a of eq. 1.
    liver_voxels : int
        Number of liver voxels, or an estimate of it: it only sets the budget.
    """

    def __init__(
        self,
        image: np.ndarray,
        liver_mask: np.ndarray,
        *,
        spacing: tuple[float, float, float],
        threshold_hu: float,
        smoothing_mm: float,
        liver_voxels: int,
    ) -> None:
        self._image = image
        self._liver = liver_mask
        self._threshold = np.float32(threshold_hu)
        self._sigmas = [smoothing_mm / s for s in spacing]
        self._halo = np.array(_smoothing_radius_voxels(smoothing_mm, spacing))
        self._liver_voxels = liver_voxels
        self._spacing = spacing
        # The coarse vessel mask of the liver's box, the box's corner and the block sizes.
        self._coarse: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._matrices: dict[tuple[int, ...], list[np.ndarray]] = {}

    def counts(self, centres: np.ndarray, half_extent: tuple[int, int, int]) -> np.ndarray:
        """Vessel voxels in the cube of each centre, in order, until the first vessel-free one.

        Returns the counts of the centres examined: its last entry is 0 when a vessel-free
        centre was found (always confirmed on the full-resolution mask), and it covers every
        centre otherwise (for big cubes, counts estimated on the coarse mask).
        """
        return self.counts_many([(centres, half_extent)])[0]

    def counts_many(
        self, searches: list[tuple[np.ndarray, tuple[int, int, int]]]
    ) -> list[np.ndarray]:
        """:meth:`counts` for several tumours, each with its own centres and cube.

        The result is the same as calling :meth:`counts` for each; the exact checks of all
        tumours whose cubes have the same largest half-size run together, a batch of each per
        round, so that the per-call cost of gathering and smoothing is paid once per round
        instead of once per tumour.
        """
        states = [_Search(np.asarray(centres), np.asarray(half)) for centres, half in searches]
        for state in states:
            cube_voxels = int(np.prod(2 * (state.half + self._halo) + 1))
            state.cube_voxels = cube_voxels
            # Checking cubes one by one is worth it while it costs less than the coarse map
            # would: small cubes may use every try; bigger ones only a first batch or two.
            if cube_voxels * len(state.centres) <= self._liver_voxels // 4:
                state.budget = self._liver_voxels // 4
            else:
                state.budget = self._liver_voxels // 16
        while True:
            due = [state for state in states if state.wants_batch()]
            if not due:
                break
            groups: dict[int, list[_Search]] = {}
            for state in due:
                groups.setdefault(int(state.half.max()), []).append(state)
            for group in groups.values():
                batches = [state.next_batch() for state in group]
                halves = [state.half for state in group]
                found = self._count_patches_mixed(
                    np.concatenate(batches),
                    np.repeat(halves, [len(batch) for batch in batches], axis=0),
                )
                sizes = np.cumsum([len(batch) for batch in batches])[:-1]
                for state, counts in zip(group, np.split(found, sizes), strict=True):
                    state.record(counts)
        return [self._finish(state) for state in states]

    def _finish(self, state: _Search) -> np.ndarray:
        """The counts of a search whose exact checks are over, ranking the rest coarsely."""
        if state.result is not None:
            return state.result
        rest = state.centres[state.start :]
        if len(rest) == 0:
            return np.concatenate(state.examined)
        estimates = self._coarse_counts(rest, state.half)
        for index in np.flatnonzero(estimates == 0):
            exact = int(self._count_patches(rest[index : index + 1], state.half)[0])
            if exact == 0:
                return np.concatenate([*state.examined, estimates[:index], [0]])
            estimates[index] = exact
        return np.concatenate([*state.examined, estimates])

    def _count_patches(self, centres: np.ndarray, half: np.ndarray) -> np.ndarray:
        """Eq. 1 on the cubes of several centres at once (smoothed with their margins)."""
        return self._count_patches_mixed(centres, np.broadcast_to(half, centres.shape))

    def _count_patches_mixed(self, centres: np.ndarray, halves: np.ndarray) -> np.ndarray:
        """Eq. 1 on cubes of half-sizes `halves` (one row per centre), smoothed together.

        All cubes are gathered and smoothed at the largest half-size; each is then counted
        only within its own half-size.
        """
        half = halves.max(axis=0)
        raw = np.asarray(_gather_cubes(self._image, centres, half + self._halo), dtype=np.float32)
        check_finite(raw, name="image", where="near a tumour location")
        key = tuple(half)
        if key not in self._matrices:
            self._matrices[key] = _core_smoothing_matrices(2 * half + 1, self._halo, self._sigmas)
        vessels = apply_separable(raw, self._matrices[key]) > self._threshold
        vessels &= _gather_cubes(self._liver, centres, half)
        # Per axis, the positions that count: inside the cube's own half-size and the volume.
        counted = []
        for axis, size in enumerate(self._image.shape):
            offsets = np.arange(-half[axis], half[axis] + 1)
            positions = centres[:, axis, None] + offsets
            counted.append(
                (np.abs(offsets) <= halves[:, axis, None]) & (positions >= 0) & (positions < size)
            )
        if not all(flags.all() for flags in counted):
            vessels &= counted[0][:, :, None, None]
            vessels &= counted[1][:, None, :, None]
            vessels &= counted[2][:, None, None, :]
        return np.count_nonzero(vessels, axis=(1, 2, 3))

    def _coarse_counts(self, centres: np.ndarray, half: np.ndarray) -> np.ndarray:
        """Estimated vessel voxels in the cubes, from the vessel mask of the liver at about 2 mm."""
        if self._coarse is None:
            self._coarse = self._coarse_liver_vessels()
        vessels, lower, factors = self._coarse
        low = np.maximum((centres - half - lower) // factors, 0).tolist()
        high = np.maximum(-((lower - centres - half - 1) // factors), 0).tolist()
        counts = [
            np.count_nonzero(vessels[a0:b0, a1:b1, a2:b2])
            for (a0, a1, a2), (b0, b1, b2) in zip(low, high, strict=True)
        ]
        return np.array(counts, dtype=np.int64) * int(np.prod(factors))

    def _coarse_liver_vessels(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Eq. 1 on the liver's bounding box averaged over 2-voxel blocks along fine axes.

        Big tumours collide in almost every real liver, and then only a ranking of the tried
        centres is needed: an eighth of the work gives it. A centre the estimate calls
        vessel-free is confirmed at full resolution before it is accepted.
        """
        bounds_lower, bounds_upper = liver_bounding_box(self._liver)
        lower, upper, factors = [], [], []
        for axis, size in enumerate(self._image.shape):
            low, high = bounds_lower[axis], bounds_upper[axis]
            factor = 2 if self._spacing[axis] < 1.5 and size >= 2 else 1
            high = min(high + (-(high - low)) % factor, size)
            low = max(high - -(-(high - low) // factor) * factor, 0)
            if (high - low) % factor:
                factor = 1
            lower.append(low)
            upper.append(high)
            factors.append(factor)
        box = tuple(slice(a, b) for a, b in zip(lower, upper, strict=True))
        raw = np.asarray(self._image[box], dtype=np.float32)
        coarse = _pairwise_blocks(raw, factors, np.add) * np.float32(1.0 / np.prod(factors))
        if not np.isfinite(coarse).all():  # NaN and inf survive the sums: one check for both
            check_finite(raw, name="image", where="in the liver")
        liver = _pairwise_blocks(self._liver[box], factors, np.logical_or)
        sigmas = [sigma / f for sigma, f in zip(self._sigmas, factors, strict=True)]
        smoothed = gaussian_blur(coarse, sigmas, truncate=_SMOOTHING_TRUNCATE, mode="nearest")
        vessels = (smoothed > self._threshold) & liver
        return vessels, np.array(lower), np.array(factors)


def liver_bounding_box(liver_mask: np.ndarray) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """``(lower, upper)`` of a non-empty mask's bounding box, in two contiguous passes.

    Examples
    --------
    >>> mask = np.zeros((4, 5, 6), bool); mask[1:3, 2, 3:5] = True
    >>> liver_bounding_box(mask)
    ((1, 2, 3), (3, 3, 5))
    """
    rows = np.flatnonzero(liver_mask.reshape(liver_mask.shape[0], -1).any(axis=1))
    if rows.size == 0:
        raise ValueError("liver_mask is empty: it has no bounding box")
    first_row, last_row = int(rows[0]), int(rows[-1]) + 1
    plane = liver_mask[first_row:last_row].any(axis=0)
    lower, upper = [first_row], [last_row]
    for present in (plane.any(axis=1), plane.any(axis=0)):
        index = np.flatnonzero(present)
        lower.append(int(index[0]))
        upper.append(int(index[-1]) + 1)
    return tuple(lower), tuple(upper)


def _pairwise_blocks(values: np.ndarray, factors, combine) -> np.ndarray:
    """Combine 2-voxel blocks along the axes whose factor is 2 (far faster than a 6-D reduce)."""
    for axis, factor in enumerate(factors):
        if factor == 2:
            first = [slice(None)] * 3
            second = [slice(None)] * 3
            first[axis] = slice(0, None, 2)
            second[axis] = slice(1, None, 2)
            values = combine(values[tuple(first)], values[tuple(second)])
    return values


def choose_centers(
    candidates: list[np.ndarray],
    half_extents_voxels: list[tuple[int, int, int]],
    *,
    vessels: VesselMap | None,
    max_tries: int,
    fallback: str = "least_vessels",
) -> list[tuple[tuple[int, int, int], bool | None]]:
    """The centre of each tumour: the first of its candidates whose cube holds no vessel.

    `candidates[i]` are tumour i's random liver voxels, tried in order (the paper's re-selection
    loop, bounded at ``(max_tries, 3)``; one row when `vessels` is None), and
    `half_extents_voxels[i]` its cube's half-size. The collision checks of all tumours run
    together. If all of a tumour's candidates collide, ``fallback="least_vessels"`` keeps the
    one whose cube holds the fewest vessel voxels and ``fallback="raise"`` raises ``ValueError``.

    Returns
    -------
    list of (centre, vessel_free)
        Per tumour, the centre as 3 ints and whether it passed the collision check (None when
        `vessels` is None).
    """
    if vessels is None:
        return [(tuple(int(v) for v in tries[0]), None) for tries in candidates]  # type: ignore[misc]
    chosen = []
    all_counts = vessels.counts_many(list(zip(candidates, half_extents_voxels, strict=True)))
    for tries, counts in zip(candidates, all_counts, strict=True):
        if counts[-1] == 0:
            chosen.append((tuple(int(v) for v in tries[len(counts) - 1]), True))
            continue
        if fallback == "raise":
            raise ValueError(
                f"no vessel-free tumour location found in {max_tries} tries "
                "(max_location_tries); raise max_location_tries, use "
                "location_fallback='least_vessels', or switch vessel_avoidance off"
            )
        chosen.append((tuple(int(v) for v in tries[int(np.argmin(counts))]), False))
    return chosen  # type: ignore[return-value]
