"""Tumour shape: an ellipsoid, a smooth 3-D elastic deformation and a Gaussian edge blur.

Shapes are computed on a box around the tumour from the voxels' offsets to the centre in mm, so
the same tumour has the same physical size at any spacing.
"""

from __future__ import annotations

import numpy as np

from synthtumor.separable import apply_separable, gaussian_blur

__all__ = [
    "DISPLACEMENT_CLIP",
    "average_subdivisions",
    "blur_mask",
    "deformed_ellipsoid",
    "elastic_controls",
    "elastic_displacement",
    "offsets_mm",
    "squared_ellipsoid_radius",
]

DISPLACEMENT_CLIP = 2.0
"""Control displacements are clipped to this many sigma_e, which bounds the deformation."""

_BLUR_TRUNCATE = 3.0


def offsets_mm(
    lower: tuple[int, int, int],
    upper: tuple[int, int, int],
    center: tuple[int, int, int],
    spacing: tuple[float, float, float],
    *,
    subdivisions: tuple[int, int, int] = (1, 1, 1),
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-axis offsets, in mm, of the voxels ``lower[i]:upper[i]`` from ``center[i]``.

    With ``subdivisions`` k > 1 along an axis, each voxel is split into k equal parts and the
    offsets are those of the parts' centres (k per voxel, in order).

    Returned as three broadcastable float32 arrays of shapes (n0, 1, 1), (1, n1, 1), (1, 1, n2).

    Examples
    --------
    >>> x, y, z = offsets_mm((0, 0, 0), (3, 1, 1), (1, 0, 0), (2.0, 1.0, 1.0))
    >>> x.ravel().tolist(), x.shape
    ([-2.0, 0.0, 2.0], (3, 1, 1))
    >>> offsets_mm((0, 0, 0), (1, 1, 1), (0, 0, 0), (2.0, 1.0, 1.0), subdivisions=(2, 1, 1))[0]
    array([[[-0.5]],
    <BLANKLINE>
           [[ 0.5]]], dtype=float32)
    """
    axes = []
    for axis, (low, high, mid, voxel_mm, parts) in enumerate(
        zip(lower, upper, center, spacing, subdivisions, strict=True)
    ):
        step = 1.0 / parts
        positions = np.arange(low * parts, high * parts, dtype=np.float64) * step
        positions += 0.5 * step - 0.5
        values = ((positions - mid) * voxel_mm).astype(np.float32)
        shape = [1, 1, 1]
        shape[axis] = values.size
        axes.append(values.reshape(shape))
    return axes[0], axes[1], axes[2]


def average_subdivisions(values: np.ndarray, subdivisions: tuple[int, int, int]) -> np.ndarray:
    """Mean over each voxel's ``k0 x k1 x k2`` parts: back from a sub-voxel grid to voxels.

    Examples
    --------
    >>> average_subdivisions(np.arange(8, dtype=np.float32).reshape(2, 2, 2), (2, 2, 2))
    array([[[3.5]]], dtype=float32)
    """
    if subdivisions == (1, 1, 1):
        return values
    n0, n1, n2 = (size // parts for size, parts in zip(values.shape, subdivisions, strict=True))
    k0, k1, k2 = subdivisions
    averaged: np.ndarray = values.reshape(n0, k0, n1, k1, n2, k2).mean(
        axis=(1, 3, 5), dtype=np.float32
    )
    return averaged


# The control points sit at -a, 0, +a with Gaussian weights of width 0.6 a: in units of that
# width the points are fixed.
_CONTROL_WIDTH_FACTOR = 0.6
_CONTROL_POSITIONS = np.array([-1.0, 0.0, 1.0], dtype=np.float32) / np.float32(
    _CONTROL_WIDTH_FACTOR
)


def _control_weights(
    axes_mm: tuple[np.ndarray, np.ndarray, np.ndarray], semi_axes_mm: tuple[float, float, float]
) -> list[np.ndarray]:
    """Per axis, normalised Gaussian weights ``(n, 3)`` of the 3 control points at -a, 0, +a."""
    offsets = [axis.ravel() for axis in axes_mm]
    lengths = [len(axis) for axis in offsets]
    inverse_width = np.repeat(
        [np.float32(1.0 / (_CONTROL_WIDTH_FACTOR * semi)) for semi in semi_axes_mm], lengths
    )
    distance = (np.concatenate(offsets) * inverse_width)[:, None] - _CONTROL_POSITIONS
    weights = np.exp(np.maximum(np.float32(-0.5) * distance**2, np.float32(-60.0)))
    weights /= weights.sum(axis=1, keepdims=True)
    # Products of tiny weights would be denormal floats, which slow matrix products badly.
    weights[weights < 1e-6] = 0.0
    weights /= weights.sum(axis=1, keepdims=True)
    return np.split(weights, np.cumsum(lengths)[:-1])


def elastic_controls(
    deformation_mm: float, *, rng: np.random.Generator | int | None = None
) -> np.ndarray:
    """Random control displacements of the elastic deformation, ``(3, 3, 3, 3)`` float32 mm.

    As in the U-Net paper the deformation is cited from, displacement vectors on a coarse
    3 x 3 x 3 grid are drawn from N(0, sigma_e), here clipped to ``DISPLACEMENT_CLIP * sigma_e``
    so that the box a tumour needs is known in advance. Axis 0 is the displacement component.

    Examples
    --------
    >>> controls = elastic_controls(2.0, rng=0)
    >>> controls.shape, bool(np.abs(controls).max() <= 4.0)
    ((3, 3, 3, 3), True)
    """
    rng = np.random.default_rng(rng)
    controls = rng.normal(0.0, deformation_mm, size=(3, 3, 3, 3)).astype(np.float32)
    limit = np.float32(DISPLACEMENT_CLIP * deformation_mm)
    return np.clip(controls, -limit, limit)


def elastic_displacement(
    axes_mm: tuple[np.ndarray, np.ndarray, np.ndarray],
    semi_axes_mm: tuple[float, float, float],
    controls: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The smooth displacement field of the elastic deformation at a box's voxels, in mm.

    The control vectors sit at -a, 0, +a along each semi-axis a and are interpolated with
    normalised Gaussian weights. The weights are a partition of unity, so no voxel moves further
    than the largest control vector, and the field can be evaluated on any grid (a coarse one to
    find the tumour's extent, then the fine one).

    Parameters
    ----------
    axes_mm : three arrays
        Voxel offsets from the centre per axis, as returned by :func:`offsets_mm`.
    semi_axes_mm : tuple of 3 float
        The ellipsoid's semi-axes (they place the control grid).
    controls : numpy.ndarray
        From :func:`elastic_controls`.

    Returns
    -------
    tuple of 3 numpy.ndarray
        Displacement along each axis in mm, float32, the box's shape.

    Examples
    --------
    >>> axes = offsets_mm((0, 0, 0), (9, 9, 9), (4, 4, 4), (1.0, 1.0, 1.0))
    >>> field = elastic_displacement(axes, (3.0, 3.0, 3.0), elastic_controls(1.0, rng=0))
    >>> field[0].shape, bool(np.abs(field[0]).max() <= 2.0)
    ((9, 9, 9), True)
    """
    fields = apply_separable(controls, _control_weights(axes_mm, semi_axes_mm))
    return fields[0], fields[1], fields[2]


def deformed_ellipsoid(
    axes_mm: tuple[np.ndarray, np.ndarray, np.ndarray],
    semi_axes_mm: tuple[float, float, float],
    displacement_mm: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    *,
    radial_scale: np.ndarray | None = None,
) -> np.ndarray:
    """Binary tumour mask t': the ellipsoid, optionally pulled back through a displacement field.

    A voxel at offset x is inside when ``s(x) * x + u(x)`` lies in the axis-aligned ellipsoid with
    the given semi-axes, where u is the elastic displacement and s the radial scale of the mass
    effect (1 where there is none).

    Returns
    -------
    numpy.ndarray
        float32 0/1 array of the box's shape.

    Examples
    --------
    >>> axes = offsets_mm((0, 0, 0), (5, 5, 5), (2, 2, 2), (1.0, 1.0, 1.0))
    >>> int(deformed_ellipsoid(axes, (1.0, 1.0, 1.0)).sum())
    7
    """
    squared = squared_ellipsoid_radius(
        axes_mm, semi_axes_mm, displacement_mm, radial_scale=radial_scale
    )
    return (squared <= 1.0).astype(np.float32)


def squared_ellipsoid_radius(
    axes_mm: tuple[np.ndarray, np.ndarray, np.ndarray],
    semi_axes_mm: tuple[float, float, float],
    displacement_mm: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    *,
    radial_scale: np.ndarray | None = None,
) -> np.ndarray:
    """The squared normalised radius of :func:`deformed_ellipsoid`'s test (1 on the surface).

    Examples
    --------
    >>> axes = offsets_mm((0, 0, 0), (5, 5, 5), (2, 2, 2), (1.0, 1.0, 1.0))
    >>> float(squared_ellipsoid_radius(axes, (2.0, 2.0, 2.0))[4, 2, 2])
    1.0
    """
    shape = np.broadcast_shapes(*(axis.shape for axis in axes_mm))
    squared_radius = np.empty(shape, dtype=np.float32)
    position = np.empty(shape, dtype=np.float32)
    for axis, (offset, semi_axis) in enumerate(zip(axes_mm, semi_axes_mm, strict=True)):
        if radial_scale is not None:
            np.multiply(radial_scale, offset, out=position)
            if displacement_mm is not None:
                position += displacement_mm[axis]
        elif displacement_mm is not None:
            np.add(displacement_mm[axis], offset, out=position)
        else:
            position[...] = offset
        position *= np.float32(1.0 / semi_axis)
        if axis == 0:
            np.square(position, out=squared_radius)
        else:
            np.square(position, out=position)
            squared_radius += position
    return squared_radius


def blur_mask(
    mask: np.ndarray,
    sigma_mm: float | tuple[float, float, float],
    spacing: tuple[float, float, float],
) -> np.ndarray:
    """Gaussian blur of a mask with a sigma in mm, one for all axes or one per axis (float32).

    Examples
    --------
    >>> mask = np.zeros((7, 7, 7), np.float32); mask[3, 3, 3] = 1
    >>> blurred = blur_mask(mask, 1.0, (1.0, 1.0, 1.0))
    >>> bool(np.isclose(blurred.sum(), 1.0, atol=1e-3)), bool(blurred[3, 3, 3] < 1)
    (True, True)
    """
    per_axis = sigma_mm if isinstance(sigma_mm, tuple) else (sigma_mm,) * 3
    if max(per_axis) <= 0:
        return mask.astype(np.float32, copy=True)
    sigmas = [sigma / voxel_mm for sigma, voxel_mm in zip(per_axis, spacing, strict=True)]
    return gaussian_blur(mask, sigmas, truncate=_BLUR_TRUNCATE, mode="constant")
