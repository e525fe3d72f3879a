"""Centre sampling: random liver voxels, the liver's size and its bounding box.

Nothing here scans the whole volume: liver voxels are found by rejection sampling of random
voxel positions, and a liver is counted only as far as a caller needs.
"""

from __future__ import annotations

import numpy as np

from synthtumor._arrays import Voxel, triple

__all__ = ["LiverSampler", "count_voxels", "liver_bounding_box"]

_COUNT_SLAB_VOXELS = 2**20


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
        inside: np.ndarray = np.stack(positions, axis=1)[hits].astype(np.intp)
        return inside

    def _draw_from_list(self, count: int) -> np.ndarray:
        if self._all_voxels is None:
            self._all_voxels = np.argwhere(self._mask)
        if len(self._all_voxels) == 0:
            raise ValueError("liver_mask is empty: there is no liver voxel to place a tumour in")
        return self._all_voxels[self._rng.integers(0, len(self._all_voxels), count)]


def liver_bounding_box(liver_mask: np.ndarray) -> tuple[Voxel, Voxel]:
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
    # np.asarray: numpy's stubs allow a scalar from .any(axis=...) on an array of any rank.
    plane = np.asarray(liver_mask[first_row:last_row].any(axis=0))
    lower, upper = [first_row], [last_row]
    for present in (plane.any(axis=1), plane.any(axis=0)):
        index = np.flatnonzero(present)
        lower.append(int(index[0]))
        upper.append(int(index[-1]) + 1)
    return triple(lower), triple(upper)
