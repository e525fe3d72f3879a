"""Separable linear filters on small boxes as three matrix products.

A Gaussian blur (or any separable linear map) of a tumour's box is one small matrix per axis.
Applied as three matrix products it is several times faster than ``scipy.ndimage`` on the
boxes a tumour needs (tens of voxels a side), where the filters' per-call set-up dominates.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from scipy import ndimage

__all__ = [
    "apply_separable",
    "block_mean",
    "coarse_gaussian_blur",
    "coarse_steps",
    "gaussian_blur",
    "gaussian_matrix",
    "gaussian_weights",
]

_MODES = ("constant", "nearest")
_LARGEST_MATRIX = 160
"""Beyond this many voxels a side, SciPy's banded filter beats dense matrix products."""


def gaussian_weights(sigma_voxels: float, truncate: float) -> np.ndarray:
    """The kernel of ``scipy.ndimage.gaussian_filter1d`` (float64, sums to 1).

    Examples
    --------
    >>> gaussian_weights(1.0, 2.0).round(3).tolist()
    [0.054, 0.244, 0.403, 0.244, 0.054]
    >>> gaussian_weights(0.0, 3.0).tolist()
    [1.0]
    """
    if sigma_voxels <= 0:
        return np.ones(1)
    radius = int(truncate * sigma_voxels + 0.5)
    offsets = np.arange(-radius, radius + 1)
    weights = np.exp(-0.5 * (offsets / sigma_voxels) ** 2)
    kernel: np.ndarray = weights / weights.sum()
    return kernel


def gaussian_matrix(
    n: int, sigma_voxels: float, *, truncate: float, mode: str = "constant"
) -> np.ndarray:
    """``(n, n)`` float64 matrix ``G`` with ``G @ x == gaussian_filter1d(x, sigma, mode=mode)``.

    Parameters
    ----------
    n : int
        Length of the line.
    sigma_voxels : float
        Standard deviation in voxels; 0 gives the identity.
    truncate : float
        Kernel radius in standard deviations, as in SciPy.
    mode : {"constant", "nearest"}
        What lies beyond the line's ends: zeros, or copies of the end voxels.

    Examples
    --------
    >>> from scipy import ndimage
    >>> line = np.arange(6.0) ** 2
    >>> matrix = gaussian_matrix(6, 1.2, truncate=3.0, mode="nearest")
    >>> expected = ndimage.gaussian_filter1d(line, 1.2, mode="nearest", truncate=3.0)
    >>> bool(np.allclose(matrix @ line, expected))
    True
    """
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {_MODES}, got {mode!r}")
    weights = gaussian_weights(sigma_voxels, truncate)
    radius = len(weights) // 2
    # Row i reads columns i - radius ... i + radius: a band cut from one long, padded kernel.
    padded = np.zeros(2 * n + 2 * radius - 1)
    padded[n - 1 : n + 2 * radius] = weights
    rows = np.arange(n)[:, None]
    matrix: np.ndarray = padded[(n - 1 + radius) + np.arange(n)[None, :] - rows]
    if mode == "nearest" and radius > 0:
        # Weights that fall beyond an end read the end voxel: row i (counted from that end)
        # gets the radius - i outermost weights.
        cumulative = np.cumsum(weights)
        reach = min(radius, n)
        from_end = np.arange(reach)
        matrix[:reach, 0] += cumulative[radius - 1 - from_end]
        matrix[n - reach :, -1] += cumulative[radius - 1 - from_end[::-1]]
    return matrix


def apply_separable(volume: np.ndarray, matrices: list[np.ndarray]) -> np.ndarray:
    """`volume` with ``matrices[a]`` (shape ``(m_a, n_a)``) applied along its axis ``a``.

    `volume` is ``(n0, n1, n2)`` or a stack ``(..., n0, n1, n2)`` of such boxes. Returns a new
    array of shape ``(..., m0, m1, m2)`` in the dtype the products give (float32 for float32
    inputs). Each product computes only the points the next one needs, so a rectangular matrix
    (fewer outputs than inputs) also saves work.

    Examples
    --------
    >>> volume = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    >>> mean_over_last = np.full((1, 4), 0.25, np.float32)
    >>> identities = [np.eye(2, dtype=np.float32), np.eye(3, dtype=np.float32)]
    >>> apply_separable(volume, [*identities, mean_over_last])[:, :, 0].tolist()
    [[1.5, 5.5, 9.5], [13.5, 17.5, 21.5]]
    """
    *batch, n0, n1, n2 = volume.shape
    first, middle, last = matrices
    result = volume.reshape(-1, n1, n2) @ last.T
    result = np.matmul(middle, result)
    result = first @ result.reshape(-1, n0, middle.shape[0] * last.shape[0])
    applied: np.ndarray = result.reshape(*batch, first.shape[0], middle.shape[0], last.shape[0])
    return applied


def gaussian_blur(
    volume: np.ndarray, sigmas_voxels: list[float], *, truncate: float, mode: str = "constant"
) -> np.ndarray:
    """``scipy.ndimage.gaussian_filter`` of a float32 box, as matrix products when it is small.

    Returns a new float32 array (up to float32 rounding, the same numbers as SciPy's).

    Examples
    --------
    >>> from scipy import ndimage
    >>> box = np.zeros((9, 10, 11), np.float32); box[4, 5, 5] = 1.0
    >>> blurred = gaussian_blur(box, [1.0, 1.5, 0.7], truncate=3.0)
    >>> expected = ndimage.gaussian_filter(box, [1.0, 1.5, 0.7], mode="constant", truncate=3.0)
    >>> bool(np.allclose(blurred, expected, atol=1e-7))
    True
    """
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {_MODES}, got {mode!r}")
    volume = np.asarray(volume, dtype=np.float32)
    if max(volume.shape) > _LARGEST_MATRIX:
        blurred: np.ndarray = ndimage.gaussian_filter(
            volume, sigmas_voxels, mode=mode, truncate=truncate
        )
        return blurred
    matrices = [
        _float32_gaussian_matrix(n, float(sigma), float(truncate), mode)
        for n, sigma in zip(volume.shape, sigmas_voxels, strict=True)
    ]
    return apply_separable(volume, matrices)


@functools.lru_cache(maxsize=1024)
def _float32_gaussian_matrix(n: int, sigma: float, truncate: float, mode: str) -> np.ndarray:
    """:func:`gaussian_matrix` as float32, built once per argument set (read-only)."""
    matrix = gaussian_matrix(n, sigma, truncate=truncate, mode=mode).astype(np.float32)
    matrix.flags.writeable = False
    return matrix


_COARSE_FROM_VOXELS = 32**3
COARSE_SIGMA_PER_STEP = 1.5
""":func:`coarse_gaussian_blur` takes a coarse grid step of k voxels from a sigma of 1.5 k."""


def coarse_steps(sigmas_voxels: list[float] | tuple[float, ...]) -> tuple[int, ...]:
    """Per axis, the coarse grid step (in voxels) :func:`coarse_gaussian_blur` works on.

    A step of k voxels is taken where sigma is at least ``COARSE_SIGMA_PER_STEP * k``: the
    coarse Gaussian that is left after the block mean and the interpolation (see there) then
    keeps a sigma of at least 1.4 coarse voxels, well sampled.

    Examples
    --------
    >>> coarse_steps([3.0, 4.4, 1.2])
    (2, 2, 1)
    """
    return tuple(
        max(1, math.floor(sigma / COARSE_SIGMA_PER_STEP + 1e-9)) for sigma in sigmas_voxels
    )


def block_mean(volume: np.ndarray, steps: tuple[int, ...]) -> np.ndarray:
    """Mean over blocks of ``steps`` voxels along the last three axes (float32).

    Where an axis is not a multiple of its step, its last block is the mean of the voxels that
    remain. `volume` may be a stack ``(..., n0, n1, n2)``.

    Examples
    --------
    >>> block_mean(np.arange(5, dtype=np.float32).reshape(1, 1, 5), (1, 1, 2)).tolist()
    [[[0.5, 2.5, 4.0]]]
    """
    result = np.asarray(volume, dtype=np.float32)
    for axis, step in zip(range(-3, 0), steps, strict=True):
        if step > 1:
            result = _block_mean_along(result, step, axis)
    return result


def _block_mean_along(volume: np.ndarray, step: int, axis: int) -> np.ndarray:
    n = volume.shape[axis]
    full = n // step

    def part(index: slice) -> tuple[slice, ...]:
        return (slice(None),) * (volume.ndim + axis) + (index,)

    shape = list(volume.shape)
    shape[axis] = -(-n // step)
    result = np.empty(shape, dtype=np.float32)
    head = result[part(slice(0, full))]
    np.copyto(head, volume[part(slice(0, full * step, step))])
    for offset in range(1, step):
        head += volume[part(slice(offset, full * step, step))]
    head *= np.float32(1.0 / step)
    if full < shape[axis]:
        tail = volume[part(slice(full * step, n))]
        result[part(slice(full, full + 1))] = tail.mean(axis=axis, keepdims=True, dtype=np.float32)
    return result


def coarse_gaussian_blur(
    volume: np.ndarray, sigmas_voxels: list[float] | tuple[float, ...], *, truncate: float
) -> np.ndarray:
    """A wide Gaussian low-pass of a float32 box (or stack of boxes), computed on a coarse grid.

    Along an axis of step k > 1 (:func:`coarse_steps`), the box is averaged over blocks of k
    voxels, blurred there by a Gaussian and interpolated linearly back onto the voxels, as one
    ``(n, n / k)`` matrix per axis. The coarse Gaussian's sigma is what is left of `sigmas_voxels`
    once the variances of the block mean, ``(k**2 - 1) / 12``, and of the interpolation (its mean
    over the voxels of a block) are taken off, so the whole filter has the asked-for variance.
    Axes of step 1 get the exact Gaussian, and so do boxes under ``32**3`` voxels, where the
    exact products are the cheaper. Ends are padded with the end values
    (``mode="nearest"``). The result is a smooth approximation of
    ``scipy.ndimage.gaussian_filter(volume, sigmas_voxels, mode="nearest")`` (its error is
    measured in ``tests/test_separable.py``) for about a quarter of the cost of the exact one.

    Examples
    --------
    >>> from scipy import ndimage
    >>> rng = np.random.default_rng(0)
    >>> box = ndimage.gaussian_filter(rng.standard_normal((40, 40, 40)), 2.0).astype(np.float32)
    >>> fast = coarse_gaussian_blur(box, [3.0, 3.0, 3.0], truncate=3.0)
    >>> exact = ndimage.gaussian_filter(box, 3.0, mode="nearest", truncate=3.0)
    >>> interior = (slice(9, -9),) * 3  # 3 sigma from the ends, which are padded differently
    >>> error = fast[interior] - exact[interior]
    >>> bool(np.sqrt(np.mean(error**2)) < 0.02 * exact[interior].std())
    True
    """
    volume = np.asarray(volume, dtype=np.float32)
    box = volume.shape[-3:]
    steps = tuple(
        step if n >= 2 * step and math.prod(box) >= _COARSE_FROM_VOXELS else 1
        for n, step in zip(box, coarse_steps(sigmas_voxels), strict=True)
    )
    matrices = [
        _coarse_blur_matrix(n, float(sigma), step, float(truncate))
        for n, sigma, step in zip(box, sigmas_voxels, steps, strict=True)
    ]
    return apply_separable(block_mean(volume, steps), matrices)


@functools.lru_cache(maxsize=256)
def _coarse_blur_matrix(n: int, sigma: float, step: int, truncate: float) -> np.ndarray:
    """``(n, ceil(n / step))`` float32: Gaussian on the block grid, then linear interpolation."""
    if step == 1:
        return _float32_gaussian_matrix(n, sigma, truncate, "nearest")
    full = n // step
    n_coarse = -(-n // step)
    centers = np.arange(n_coarse) * step + (step - 1) / 2.0
    if n_coarse > full:  # the last, partial block
        centers[-1] = (full * step + n - 1) / 2.0
    within = np.abs(np.arange(step) - (step - 1) / 2.0)
    interpolation_variance = float(np.mean(within * (step - within)))
    box_variance = (step**2 - 1) / 12.0
    coarse_sigma = math.sqrt(max(sigma**2 - box_variance - interpolation_variance, 0.0)) / step
    blur = gaussian_matrix(n_coarse, coarse_sigma, truncate=truncate, mode="nearest")
    interpolation = _linear_interpolation_matrix(np.arange(n, dtype=float), centers)
    matrix: np.ndarray = (interpolation @ blur).astype(np.float32)
    matrix.flags.writeable = False
    return matrix


def _linear_interpolation_matrix(points: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    """``(len(points), len(nodes))``: linear interpolation between increasing `nodes`, clamped."""
    clamped = np.clip(points, nodes[0], nodes[-1])
    right = np.clip(np.searchsorted(nodes, clamped, side="right"), 1, len(nodes) - 1)
    left = right - 1
    fraction = (clamped - nodes[left]) / (nodes[right] - nodes[left])
    matrix = np.zeros((len(points), len(nodes)))
    rows = np.arange(len(points))
    matrix[rows, left] = 1.0 - fraction
    matrix[rows, right] += fraction
    return matrix
