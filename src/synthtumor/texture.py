"""Tumour texture: Gaussian noise, cubic up-scaling by eta and Gaussian blur (paper eq. 3).

The texture of a box is ``T'' = G_b * zoom_eta(N(mu_t, sigma_p))``. Zooming with a cubic spline
and blurring with a Gaussian are both linear and separable, so each axis is one small matrix and
the whole texture is three matrix products on a coarse noise grid: the same numbers as
``scipy.ndimage.zoom(order=3)`` followed by ``gaussian_filter``, without either pass over a
full-resolution volume. Axes of equal spacing share the matrix of the longest one, so a box is
textured as the corner of a cube with its longest side (the same random field, cut).

The random field is a function of the box's shape, the spacing and the draws only. A caller that
needs only part of it passes ``window``: the product then computes just those rows, and the
values are those of the whole field cut to the window. This is what keeps a tumour's texture
independent of how tightly its footprint was found (see :func:`synthtumor.render.render_tumor`).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from synthtumor.separable import apply_separable, gaussian_matrix

__all__ = [
    "gaussian_blur_matrix",
    "gaussian_texture",
    "standard_normal",
    "texture_factors",
    "upscale_matrix",
]

_BLUR_TRUNCATE = 3.0


def upscale_matrix(n_out: int, step: float) -> np.ndarray:
    """Matrix of the cubic-spline interpolation from a coarse grid onto `n_out` points.

    Output point ``i`` sits at coarse coordinate ``1 + i * step`` (one coarse sample of margin on
    each side), so ``step = spacing_mm / eta`` is the coarse-grid distance between output voxels.

    Returns
    -------
    numpy.ndarray
        Shape ``(n_out, n_coarse)``, float64; rows sum to 1 (constants are reproduced).

    Examples
    --------
    >>> matrix = upscale_matrix(5, 0.5)
    >>> matrix.shape
    (5, 6)
    >>> bool(np.allclose(matrix.sum(axis=1), 1.0))
    True
    """
    n_coarse = math.floor((n_out - 1) * step) + 4
    coefficients = ndimage.spline_filter1d(np.eye(n_coarse), order=3, axis=0, mode="mirror")
    positions = 1.0 + np.arange(n_out) * step
    first_column = np.floor(positions).astype(int) - 1
    fraction = positions - first_column - 1.0
    weights = np.vander(fraction, 4, increasing=True) @ _CUBIC_BSPLINE_POLYNOMIALS
    basis = np.zeros((n_out, n_coarse))
    flat_index = (np.arange(n_out) * n_coarse + first_column)[:, None] + np.arange(4)
    basis.ravel()[flat_index] = weights
    upscaled: np.ndarray = basis @ coefficients
    return upscaled


# The cubic B-spline's weights on the 4 samples around a point a fraction f past the second
# one, as polynomials in f: row p holds the coefficients of f**p.
_CUBIC_BSPLINE_POLYNOMIALS = (
    np.array(
        [[1.0, 4.0, 1.0, 0.0], [-3.0, 0.0, 3.0, 0.0], [3.0, -6.0, 3.0, 0.0], [-1.0, 3.0, -3.0, 1.0]]
    )
    / 6.0
)


def gaussian_blur_matrix(n: int, sigma_voxels: float) -> np.ndarray:
    """Matrix ``G`` with ``G @ x == gaussian_filter1d(x, sigma_voxels, mode="nearest")``.

    Examples
    --------
    >>> blur = gaussian_blur_matrix(4, 0.0)
    >>> bool(np.array_equal(blur, np.eye(4)))
    True
    """
    return gaussian_matrix(n, sigma_voxels, truncate=_BLUR_TRUNCATE, mode="nearest")


def _flush_tiny(matrix: np.ndarray) -> np.ndarray:
    """float32 copy with negligible weights set to 0.

    The spline prefilter's weights decay geometrically; below float32's normal range they would
    be denormal numbers, which make matrix products many times slower.
    """
    matrix = np.where(np.abs(matrix) < 1e-6, 0.0, matrix)
    return matrix.astype(np.float32)


def standard_normal(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """float32 N(0, 1) samples by the Box-Muller transform of float32 uniforms.

    About 2.5 times faster than ``Generator.standard_normal`` for the noise grids of tumour
    boxes. The tails stop at ``sqrt(-2 ln 2**-24)`` = 5.77 sigma (the radius's uniform is
    drawn in float32, so ``1 - u`` is at least 2**-24), which changes the distribution by less
    than one sample in 10**8. ``tests/test_texture_noise.py`` checks it against
    ``Generator.standard_normal`` and the cut.

    Examples
    --------
    >>> samples = standard_normal(np.random.default_rng(0), (100, 100))
    >>> samples.shape, samples.dtype
    ((100, 100), dtype('float32'))
    >>> bool(abs(samples.mean()) < 0.05), bool(abs(samples.std() - 1.0) < 0.05)
    (True, True)
    """
    count = math.prod(shape)
    pairs = (count + 1) // 2
    uniform = rng.random((2, pairs), dtype=np.float32)
    radius = np.log1p(-uniform[0])  # log(1 - u), with 1 - u in (0, 1]
    radius *= np.float32(-2.0)
    np.sqrt(radius, out=radius)
    angle = uniform[1]
    angle *= np.float32(2.0 * np.pi)
    samples = np.empty((2, pairs), dtype=np.float32)
    np.cos(angle, out=samples[0])
    np.sin(angle, out=samples[1])
    samples *= radius
    return samples.reshape(-1)[:count].reshape(shape)


def gaussian_texture(
    shape: tuple[int, int, int],
    *,
    spacing: tuple[float, float, float],
    mean_hu: float,
    std_hu: float,
    scale: float,
    blur_mm: float,
    window: tuple[slice, slice, slice] | None = None,
    rng: np.random.Generator | int | None = None,
) -> np.ndarray:
    """Gaussian tumour texture of a box (paper eq. 3), float32 HU.

    Noise ``N(mean_hu, std_hu)`` is drawn on a grid of ``scale`` mm (eta), up-scaled to the box's
    voxels with cubic splines and blurred by a Gaussian of ``blur_mm`` (sigma_b).

    Parameters
    ----------
    shape : tuple of 3 int
        Box shape in voxels.
    spacing : tuple of 3 float
        Voxel spacing in mm.
    mean_hu, std_hu : float
        mu_t and sigma_p of the paper (the noise before up-scaling).
    scale : float
        eta >= 1, the up-scaling factor: the noise grid's spacing in mm.
    blur_mm : float
        sigma_b in mm.
    window : tuple of 3 slice, optional
        Part of the box to compute (steps of 1, within `shape`). The result equals the whole
        box's texture cut to `window`, for the same `rng`. Default: the whole box.
    rng : numpy.random.Generator or int or None
        Source of the noise.

    Returns
    -------
    numpy.ndarray
        float32 array of `shape`, or of the window's shape.

    Examples
    --------
    >>> texture = gaussian_texture((24, 24, 24), spacing=(1.0, 1.0, 1.0), mean_hu=40.0,
    ...                            std_hu=15.0, scale=1.3, blur_mm=0.6, rng=0)
    >>> texture.shape, texture.dtype
    ((24, 24, 24), dtype('float32'))
    >>> bool(abs(texture.mean() - 40.0) < 3.0)
    True
    >>> corner = (slice(0, 5), slice(3, 9), slice(20, 24))
    >>> part = gaussian_texture((24, 24, 24), spacing=(1.0, 1.0, 1.0), mean_hu=40.0,
    ...                         std_hu=15.0, scale=1.3, blur_mm=0.6, window=corner, rng=0)
    >>> bool(np.allclose(part, texture[corner], atol=1e-4))
    True
    """
    noise, axis_matrices = texture_factors(
        shape, spacing=spacing, scale=scale, blur_mm=blur_mm, window=window, rng=rng
    )
    texture = apply_separable(noise, axis_matrices)
    texture *= np.float32(std_hu)
    texture += np.float32(mean_hu)
    return texture


def texture_factors(
    shape: tuple[int, int, int],
    *,
    spacing: tuple[float, float, float],
    scale: float,
    blur_mm: float,
    window: tuple[slice, slice, slice] | None = None,
    rng: np.random.Generator | int | None = None,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """The coarse noise and the per-axis matrices whose product is :func:`gaussian_texture`.

    ``gaussian_texture(...) == mean_hu + std_hu * apply_separable(noise, matrices)`` for the
    same arguments: the random draws and the deterministic up-scaling and blur, apart, so that
    another backend (``synthtumor.torch``) applies the same matrices to the same noise.

    Returns
    -------
    noise : numpy.ndarray
        float32 N(0, 1) samples on the coarse grid.
    matrices : list of 3 numpy.ndarray
        float32, ``(window length, coarse length)`` per axis.

    Examples
    --------
    >>> from synthtumor.separable import apply_separable
    >>> noise, matrices = texture_factors((8, 8, 8), spacing=(1.0, 1.0, 1.0), scale=1.3,
    ...                                   blur_mm=0.6, rng=0)
    >>> texture = gaussian_texture((8, 8, 8), spacing=(1.0, 1.0, 1.0), mean_hu=40.0,
    ...                            std_hu=15.0, scale=1.3, blur_mm=0.6, rng=0)
    >>> bool(np.allclose(40.0 + 15.0 * apply_separable(noise, matrices), texture, atol=1e-4))
    True
    """
    if scale < 1.0:
        raise ValueError(f"scale (eta) must be >= 1, got {scale}")
    rng = np.random.default_rng(rng)
    # Axes of equal spacing share one matrix, built for the longest of them: a shorter axis
    # takes its first rows, i.e. the texture of a longer box cut to this one's length.
    longest: dict[float, int] = {}
    for n, voxel_mm in zip(shape, spacing, strict=True):
        longest[voxel_mm] = max(n, longest.get(voxel_mm, 0))
    built = {
        voxel_mm: _flush_tiny(
            gaussian_blur_matrix(n, blur_mm / voxel_mm) @ upscale_matrix(n, voxel_mm / scale)
        )
        for voxel_mm, n in longest.items()
    }
    rows = _window_rows(shape, window)
    axis_matrices = [
        built[voxel_mm][:n][part] for n, voxel_mm, part in zip(shape, spacing, rows, strict=True)
    ]
    coarse_shape = tuple(matrix.shape[1] for matrix in axis_matrices)
    return standard_normal(rng, coarse_shape), axis_matrices


def _window_rows(
    shape: tuple[int, int, int], window: tuple[slice, slice, slice] | None
) -> tuple[slice, slice, slice]:
    if window is None:
        return (slice(None), slice(None), slice(None))
    expected = f"window must be 3 slices of step 1 with 0 <= start < stop <= {shape}"
    if len(window) != 3:
        raise ValueError(f"{expected}, got {window!r}")
    for part, n in zip(window, shape, strict=True):
        start, stop = part.start, part.stop
        bounded = start is not None and stop is not None and 0 <= start < stop <= n
        if part.step not in (None, 1) or not bounded:
            raise ValueError(f"{expected}, got {window!r}")
    return window[0], window[1], window[2]
