"""Cubes around centers, and their Gaussian smoothing computed at the cores only.

Shared by the liver statistics and the collision search: both smooth small cubes of the scan
(sigma_a of eq. 1) around a few liver voxels, and read only the cubes' cores.
"""

from __future__ import annotations

import math

import numpy as np

from synthtumor.separable import gaussian_matrix

SMOOTHING_TRUNCATE = 2.5
"""The vessel smoothing's Gaussian is cut at this many sigma_a (weights beyond are < 0.5 %)."""


def smoothing_radius_voxels(smoothing_mm: float, spacing: tuple[float, float, float]) -> list[int]:
    """Per axis, the voxels the vessel smoothing reaches: the margin a cube's core needs."""
    return [math.ceil(SMOOTHING_TRUNCATE * smoothing_mm / s) for s in spacing]


def gather_cubes(volume: np.ndarray, centers: np.ndarray, reach: np.ndarray) -> np.ndarray:
    """The cubes ``center +- reach`` of `volume`, stacked ``(K, n0, n1, n2)``.

    Cubes inside the volume are read as windows (a block copy per row); a cube crossing its
    border repeats the edge voxels beyond it (as ``mode="nearest"`` filtering does).
    """
    lower = centers - reach
    shape = np.array(volume.shape)
    inside = np.all((lower >= 0) & (centers + reach < shape), axis=1)
    if inside.all():
        windows = np.lib.stride_tricks.sliding_window_view(volume, tuple(2 * reach + 1))
        cubes: np.ndarray = windows[lower[:, 0], lower[:, 1], lower[:, 2]]
        return cubes
    cubes = np.empty((len(centers), *(2 * reach + 1)), dtype=volume.dtype)
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
    line = gaussian_matrix(core + 2 * halo, sigma_voxels, truncate=SMOOTHING_TRUNCATE)
    return line[halo : halo + core].astype(np.float32)


def core_smoothing_matrices(
    cores: np.ndarray, halo: np.ndarray, sigmas: list[float]
) -> list[np.ndarray]:
    """The three matrices that smooth cubes of ``cores + 2 halo`` voxels and keep the cores."""
    return [
        _core_smoothing_matrix(int(core), int(h), sigma)
        for core, h, sigma in zip(cores, halo, sigmas, strict=True)
    ]
