"""Where organ presets look for tumour centres: in the organ's box, deep inside a thin organ.

:class:`BoxSampler` draws organ voxels by rejection inside the organ's bounding box only: the
pancreas is a thousandth of an abdominal scan, so drawing over the whole scan would cost most
of a synthesis. A tumour centred near the outline of a thin organ (the pancreas is 15-25 mm
thick) is mostly clipped away by it: :class:`DeepSampler` draws several candidate centres per
tumour and keeps the one farthest from the organ's outline.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from synthtumor.liver_sampling import LiverSampler, liver_bounding_box

__all__ = ["BoxSampler", "DeepSampler"]


class BoxSampler(LiverSampler):
    """A :class:`~synthtumor.location.LiverSampler` working on the organ's bounding box."""

    def __init__(self, mask: np.ndarray, rng: np.random.Generator) -> None:
        lower, upper = liver_bounding_box(mask)
        box = tuple(slice(a, b) for a, b in zip(lower, upper, strict=True))
        super().__init__(np.ascontiguousarray(mask[box]), rng)
        self._lower = np.asarray(lower, dtype=np.intp)

    def take(self, count: int) -> np.ndarray:
        """`count` random organ voxels as a ``(count, 3)`` integer array (scan indices)."""
        return super().take(count) + self._lower


class DeepSampler:
    """A :class:`~synthtumor.location.LiverSampler` that keeps the deepest of `tries` voxels.

    The depth (distance in mm to the nearest voxel outside the organ) is computed once, on the
    organ's bounding box only.
    """

    def __init__(
        self,
        sampler: LiverSampler,
        mask: np.ndarray,
        *,
        spacing: tuple[float, float, float],
        tries: int,
    ) -> None:
        self._sampler = sampler
        self._mask = mask
        self._spacing = spacing
        self._tries = tries
        self._depth: tuple[np.ndarray, np.ndarray] | None = None

    def take(self, count: int) -> np.ndarray:
        """`count` organ voxels, each the deepest of `tries` uniformly drawn ones."""
        candidates = self._sampler.take(count * self._tries).reshape(count, self._tries, 3)
        depth = self._depth_at(candidates.reshape(-1, 3)).reshape(count, self._tries)
        deepest: np.ndarray = candidates[np.arange(count), np.argmax(depth, axis=1)]
        return deepest

    def estimated_liver_voxels(self) -> int:
        """As :meth:`LiverSampler.estimated_liver_voxels`."""
        return self._sampler.estimated_liver_voxels()

    def _depth_at(self, voxels: np.ndarray) -> np.ndarray:
        if self._depth is None:
            lower, upper = liver_bounding_box(self._mask)
            box = tuple(slice(a, b) for a, b in zip(lower, upper, strict=True))
            crop = np.pad(self._mask[box], 1)  # the box's border counts as outside
            depth = ndimage.distance_transform_edt(crop, sampling=self._spacing)[1:-1, 1:-1, 1:-1]
            self._depth = (np.asarray(lower), depth)
        corner, depth = self._depth
        local = voxels - corner
        depth_mm: np.ndarray = depth[local[:, 0], local[:, 1], local[:, 2]]
        return depth_mm
