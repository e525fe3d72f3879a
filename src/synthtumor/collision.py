"""Collision search: the vessel mask (paper eq. 1-2) and vessel-free tumour centers.

:func:`choose_centers` is the entry point: it picks, per tumour, the first of its candidate
centers whose cube holds no vessel. The mask is computed lazily by :class:`VesselMap`, cube by
cube, only where a candidate is checked, under a budget of voxels read; past it a coarse mask of
the liver's bounding box ranks the remaining candidates. :func:`vessel_mask` is the whole-array
form of eq. 1, for inspection, figures and as the test oracle of the lazy one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from synthtumor._arrays import Voxel, triple
from synthtumor._cubes import (
    SMOOTHING_TRUNCATE,
    core_smoothing_matrices,
    gather_cubes,
    smoothing_radius_voxels,
)
from synthtumor._validation import check_finite
from synthtumor.liver_sampling import liver_bounding_box
from synthtumor.separable import apply_separable, gaussian_blur

__all__ = ["VesselMap", "choose_centers", "vessel_mask"]


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
        np.asarray(image, dtype=np.float32), sigmas, mode="nearest", truncate=SMOOTHING_TRUNCATE
    )
    vessels: np.ndarray = (smoothed > threshold_hu) & np.asarray(liver_mask, dtype=bool)
    return vessels


# Exact checks start with a batch of _FIRST_BATCH cubes and double it each round, but only where
# a batch of _BUDGET_GATE cubes fits the budget: where it does not, the coarse map wins anyway.
_FIRST_BATCH = 4
_BUDGET_GATE = 8


@dataclass
class _Search:
    """One tumour's exact collision checks, run a batch at a time (see VesselMap.counts_many)."""

    centers: np.ndarray
    half: np.ndarray
    cube_voxels: int = 0
    budget: int = 0
    start: int = 0
    batch: int = _FIRST_BATCH
    spent: int = 0
    examined: list[np.ndarray] = field(default_factory=list)
    result: np.ndarray | None = None

    def wants_batch(self) -> bool:
        """Whether another exact batch is due: no free center yet, and budget left.

        Checking starts only where a batch of ``_BUDGET_GATE`` cubes fits the budget, even when
        the first batch is smaller.
        """
        return (
            self.result is None
            and self.start < len(self.centers)
            and self.spent + max(self.batch, _BUDGET_GATE) * self.cube_voxels <= self.budget
        )

    def next_batch(self) -> np.ndarray:
        return self.centers[self.start : self.start + self.batch]

    def record(self, found: np.ndarray) -> None:
        """Take the counts of the batch just checked: stop at its first vessel-free center."""
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

    Candidate centers are tested in batches: the cubes (with the smoothing margin) of a few
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
        self._halo = np.array(smoothing_radius_voxels(smoothing_mm, spacing))
        self._liver_voxels = liver_voxels
        self._spacing = spacing
        # The coarse vessel mask of the liver's box, the box's corner and the block sizes.
        self._coarse: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._matrices: dict[tuple[int, ...], list[np.ndarray]] = {}

    def counts(self, centers: np.ndarray, half_extent: tuple[int, int, int]) -> np.ndarray:
        """Vessel voxels in the cube of each center, in order, until the first vessel-free one.

        Returns the counts of the centers examined: its last entry is 0 when a vessel-free
        center was found (always confirmed on the full-resolution mask), and it covers every
        center otherwise (for big cubes, counts estimated on the coarse mask).
        """
        return self.counts_many([(centers, half_extent)])[0]

    def counts_many(
        self, searches: list[tuple[np.ndarray, tuple[int, int, int]]]
    ) -> list[np.ndarray]:
        """:meth:`counts` for several tumours, each with its own centers and cube.

        The result is the same as calling :meth:`counts` for each; the exact checks of all
        tumours whose cubes have the same largest half-size run together, a batch of each per
        round, so that the per-call cost of gathering and smoothing is paid once per round
        instead of once per tumour.
        """
        states = [_Search(np.asarray(centers), np.asarray(half)) for centers, half in searches]
        for state in states:
            cube_voxels = int(np.prod(2 * (state.half + self._halo) + 1))
            state.cube_voxels = cube_voxels
            # Checking cubes one by one is worth it while it costs less than the coarse map
            # would: small cubes may use every try; bigger ones only a first batch or two.
            if cube_voxels * len(state.centers) <= self._liver_voxels // 4:
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
        rest = state.centers[state.start :]
        if len(rest) == 0:
            return np.concatenate(state.examined)
        estimates = self._coarse_counts(rest, state.half)
        for index in np.flatnonzero(estimates == 0):
            exact = int(self._count_patches(rest[index : index + 1], state.half)[0])
            if exact == 0:
                return np.concatenate([*state.examined, estimates[:index], [0]])
            estimates[index] = exact
        return np.concatenate([*state.examined, estimates])

    def _count_patches(self, centers: np.ndarray, half: np.ndarray) -> np.ndarray:
        """Eq. 1 on the cubes of several centers at once (smoothed with their margins)."""
        return self._count_patches_mixed(centers, np.broadcast_to(half, centers.shape))

    def _count_patches_mixed(self, centers: np.ndarray, halves: np.ndarray) -> np.ndarray:
        """Eq. 1 on cubes of half-sizes `halves` (one row per center), smoothed together.

        All cubes are gathered and smoothed at the largest half-size; each is then counted
        only within its own half-size.
        """
        half = halves.max(axis=0)
        raw = np.asarray(gather_cubes(self._image, centers, half + self._halo), dtype=np.float32)
        check_finite(raw, name="image", where="near a tumour location")
        key = tuple(half)
        if key not in self._matrices:
            self._matrices[key] = core_smoothing_matrices(2 * half + 1, self._halo, self._sigmas)
        vessels = apply_separable(raw, self._matrices[key]) > self._threshold
        vessels &= gather_cubes(self._liver, centers, half)
        # Per axis, the positions that count: inside the cube's own half-size and the volume.
        counted = []
        for axis, size in enumerate(self._image.shape):
            offsets = np.arange(-half[axis], half[axis] + 1)
            positions = centers[:, axis, None] + offsets
            counted.append(
                (np.abs(offsets) <= halves[:, axis, None]) & (positions >= 0) & (positions < size)
            )
        if not all(flags.all() for flags in counted):
            vessels &= counted[0][:, :, None, None]
            vessels &= counted[1][:, None, :, None]
            vessels &= counted[2][:, None, None, :]
        counts: np.ndarray = np.count_nonzero(vessels, axis=(1, 2, 3))
        return counts

    def _coarse_counts(self, centers: np.ndarray, half: np.ndarray) -> np.ndarray:
        """Estimated vessel voxels in the cubes, from the vessel mask of the liver at about 2 mm."""
        if self._coarse is None:
            self._coarse = self._coarse_liver_vessels()
        vessels, lower, factors = self._coarse
        low = np.maximum((centers - half - lower) // factors, 0).tolist()
        high = np.maximum(-((lower - centers - half - 1) // factors), 0).tolist()
        counts = [
            np.count_nonzero(vessels[a0:b0, a1:b1, a2:b2])
            for (a0, a1, a2), (b0, b1, b2) in zip(low, high, strict=True)
        ]
        return np.array(counts, dtype=np.int64) * int(np.prod(factors))

    def _coarse_liver_vessels(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Eq. 1 on the liver's bounding box averaged over 2-voxel blocks along fine axes.

        Big tumours collide in almost every real liver, and then only a ranking of the tried
        centers is needed: an eighth of the work gives it. A center the estimate calls
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
        smoothed = gaussian_blur(coarse, sigmas, truncate=SMOOTHING_TRUNCATE, mode="nearest")
        vessels = (smoothed > self._threshold) & liver
        return vessels, np.array(lower), np.array(factors)


def _pairwise_blocks(
    values: np.ndarray,
    factors: Sequence[int],
    combine: Callable[[np.ndarray, np.ndarray], np.ndarray],
) -> np.ndarray:
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
    """The center of each tumour: the first of its candidates whose cube holds no vessel.

    `candidates[i]` are tumour i's random liver voxels, tried in order (the paper's re-selection
    loop, bounded at ``(max_tries, 3)``; one row when `vessels` is None), and
    `half_extents_voxels[i]` its cube's half-size. The collision checks of all tumours run
    together. If all of a tumour's candidates collide, ``fallback="least_vessels"`` keeps the
    one whose cube holds the fewest vessel voxels and ``fallback="raise"`` raises ``ValueError``.

    Returns
    -------
    list of (center, vessel_free)
        Per tumour, the center as 3 ints and whether it passed the collision check (None when
        `vessels` is None).
    """
    if vessels is None:
        return [(_voxel(tries[0]), None) for tries in candidates]
    chosen: list[tuple[Voxel, bool | None]] = []
    all_counts = vessels.counts_many(list(zip(candidates, half_extents_voxels, strict=True)))
    for tries, counts in zip(candidates, all_counts, strict=True):
        if counts[-1] == 0:
            chosen.append((_voxel(tries[len(counts) - 1]), True))
            continue
        if fallback == "raise":
            raise ValueError(
                f"no vessel-free tumour location found in {max_tries} tries "
                "(max_location_tries); raise max_location_tries, use "
                "location_fallback='least_vessels', or switch vessel_avoidance off"
            )
        chosen.append((_voxel(tries[int(np.argmin(counts))]), False))
    return chosen


def _voxel(row: np.ndarray) -> Voxel:
    return triple(int(v) for v in row)
