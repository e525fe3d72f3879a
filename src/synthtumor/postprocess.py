"""Blending (paper eq. 4): the tumour's texture into the scan, on the box around one tumour.

The mass effect (eq. 5) lives in :mod:`synthtumor.mass_effect` and the capsule (eq. 6-8) in
:mod:`synthtumor.capsule`; their names are re-exported here, where they used to live.
"""

from __future__ import annotations

import numpy as np

from synthtumor.capsule import capsule_increment
from synthtumor.mass_effect import (
    MassEffect,
    mass_effect,
    radial_scale,
    warp_linear,
    warp_nearest,
)
from synthtumor.separable import coarse_gaussian_blur

__all__ = [
    "MassEffect",
    "blend",
    "blend_keeping_noise",
    "capsule_increment",
    "local_mean",
    "mass_effect",
    "radial_scale",
    "warp_linear",
    "warp_nearest",
]

_LOWPASS_TRUNCATE = 3.0


def blend(image: np.ndarray, texture: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Paper eq. 4: ``f' = (1 - t'') f + t'' T''``, as a new float32 array.

    Examples
    --------
    >>> blend(np.zeros(3, np.float32), np.full(3, 10, np.float32), np.array([0, .5, 1], np.float32))
    array([ 0.,  5., 10.], dtype=float32)
    """
    blended: np.ndarray = texture - image
    blended *= weight
    blended += image
    return blended


def blend_keeping_noise(
    image: np.ndarray,
    lesion_hu: np.ndarray,
    weight: np.ndarray,
    *,
    inside: np.ndarray,
    lowpass_voxels: tuple[float, float, float],
) -> np.ndarray:
    """The realistic mode's blend: the lesion replaces the scan's local mean, not its noise.

    ``f' = f + t'' (T - G f)``, where ``G f`` is the scan's mean smoothed by a Gaussian of
    `lowpass_voxels` over the voxels `inside` the organ only (a normalised convolution, so that
    fat beyond the liver's surface does not pull it down). Detail finer than the low-pass,
    the scanner's noise grain first of all, survives inside the tumour as it does outside.
    The low-pass is wide, so it is computed on a coarser grid and interpolated back
    (:func:`synthtumor.separable.coarse_gaussian_blur`).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> scan = (60 + 10 * rng.standard_normal((20, 20, 20))).astype(np.float32)
    >>> out = blend_keeping_noise(scan, np.full(scan.shape, 20, np.float32),
    ...                           np.ones(scan.shape, np.float32),
    ...                           inside=np.ones(scan.shape, bool), lowpass_voxels=(2, 2, 2))
    >>> bool(abs(out.mean() - 20) < 1), bool(8 < out.std() < 11)
    (True, True)
    """
    mean = local_mean(image, inside=inside, sigmas_voxels=lowpass_voxels)
    blended: np.ndarray = lesion_hu - mean
    blended *= weight
    blended += image
    return blended


def local_mean(
    image: np.ndarray, *, inside: np.ndarray, sigmas_voxels: tuple[float, float, float]
) -> np.ndarray:
    """Gaussian-weighted mean of `image` over the voxels `inside` an organ, at every voxel.

    A normalised convolution ``G (f m) / G m`` with ``m`` the `inside` mask (``G f`` where the
    whole box is inside), computed with :func:`synthtumor.separable.coarse_gaussian_blur`.

    Examples
    --------
    >>> image = np.full((12, 12, 12), 50.0, np.float32); image[:, :, 6:] = -100.0
    >>> inside = np.zeros(image.shape, bool); inside[:, :, :6] = True
    >>> mean = local_mean(image, inside=inside, sigmas_voxels=(3.0, 3.0, 3.0))
    >>> bool(np.allclose(mean[:, :, :6], 50.0, atol=1e-3))
    True
    """
    sigmas = list(sigmas_voxels)
    if inside.all():  # deep in the organ the normalisation is 1: one blur is enough
        return coarse_gaussian_blur(image, sigmas, truncate=_LOWPASS_TRUNCATE)
    weighted_and_weight = np.empty((2, *image.shape), dtype=np.float32)
    np.multiply(image, inside, out=weighted_and_weight[0])
    weighted_and_weight[1] = inside
    blurred = coarse_gaussian_blur(weighted_and_weight, sigmas, truncate=_LOWPASS_TRUNCATE)
    mean: np.ndarray = blurred[0]
    norm: np.ndarray = blurred[1]
    np.maximum(norm, np.float32(1e-3), out=norm)
    mean /= norm
    return mean
