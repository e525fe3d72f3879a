"""Upstream duct dilation of pancreatic tumours: a fluid-filled tube from the tumour to the tail.

A ductal adenocarcinoma obstructs the main pancreatic duct, which dilates upstream of it (towards
the far end of the gland; over 3 mm across is dilated). :func:`duct_path` draws the duct's
course along the gland: the organ's voxels are sorted by their position along its principal
axis, in slabs of one voxel, from the tumour to the farther end, and the duct passes through the
organ voxel nearest each slab's centroid. :func:`render_duct` draws the tube (its radius, its
fluid HU, its edge blurred by the scanner's PSF) into the scan, inside the organ only, keeping
the scan's noise; the label is left alone (the duct is part of the organ).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from scipy import special

from synthtumor._validation import check_finite
from synthtumor.params import TumorParams, TumorSpec
from synthtumor.postprocess import blend, blend_keeping_noise

__all__ = ["duct_path", "render_duct"]

_EDGE_SIGMA_MM = 0.7  # the duct wall's own blur, before the scanner's


def duct_path(
    organ: np.ndarray, center_voxel: tuple[int, int, int], spacing: tuple[float, float, float]
) -> tuple[tuple[int, int, int], ...]:
    """Organ voxels along the gland from `center_voxel` to its farther end (voxel indices).

    Examples
    --------
    >>> organ = np.zeros((40, 9, 9), bool)
    >>> organ[2:38, 3:6, 3:6] = True
    >>> path = duct_path(organ, (10, 4, 4), (1.0, 1.0, 1.0))
    >>> path[0], path[-1], len(path)
    ((10, 4, 4), (37, 4, 4), 28)
    """
    voxels = np.argwhere(organ)
    points = voxels * np.asarray(spacing)
    centerd = points - points.mean(axis=0)
    axis = np.linalg.svd(centerd, full_matrices=False)[2][0]
    along = centerd @ axis
    start = float((np.asarray(center_voxel) * np.asarray(spacing) - points.mean(axis=0)) @ axis)
    end = along.max() if along.max() - start >= start - along.min() else along.min()
    step = min(spacing)
    slabs = np.floor((along - start) / step * np.sign(end - start)).astype(np.int64)
    path: list[tuple[int, int, int]] = [center_voxel]
    for slab in range(1, int(abs(end - start) // step) + 1):
        members = np.flatnonzero(slabs == slab)
        if members.size == 0:
            continue
        centroid = points[members].mean(axis=0)
        nearest = members[np.argmin(((points[members] - centroid) ** 2).sum(axis=1))]
        i, j, k = (int(v) for v in voxels[nearest])
        path.append((i, j, k))
    return tuple(path)


def render_duct(
    output: np.ndarray, label: np.ndarray, spec: TumorSpec, params: TumorParams
) -> None:
    """Draw `spec`'s dilated duct into `output`, in place, inside the organ (not the tumour)."""
    if spec.duct_radius_mm <= 0 or len(spec.duct_path) < 2:
        return
    spacing = np.asarray(params.spacing)
    path = np.asarray(spec.duct_path)
    sigmas = [math.hypot(_EDGE_SIGMA_MM, s) for s in params.scanner_blur_mm]
    reach = spec.duct_radius_mm + 3.0 * max(sigmas)
    margin = np.ceil(reach / spacing).astype(int)
    lower = np.maximum(path.min(axis=0) - margin, 0)
    upper = np.minimum(path.max(axis=0) + margin + 1, output.shape)
    box = tuple(slice(a, b) for a, b in zip(lower, upper, strict=True))
    organ = label[box] == params.organ_label  # the organ, not the tumours drawn in it
    # Distances are needed in the organ only (the duct is drawn nowhere else).
    inside = np.argwhere(organ) + lower
    distance = _distance_to_path(inside * spacing, path * spacing)
    weight = np.zeros(organ.shape, dtype=np.float32)
    weight[organ] = 0.5 * special.erfc(
        (distance - spec.duct_radius_mm) / (math.sqrt(2) * max(sigmas))
    )
    image_box = np.asarray(output[box], dtype=np.float32)
    check_finite(
        image_box, name="image", where=f"along the duct of the tumour at {spec.center_voxel}"
    )
    fluid = np.full(image_box.shape, spec.duct_hu, dtype=np.float32)
    if params.noise_lowpass_mm > 0:
        x, y, z = (params.noise_lowpass_mm / s for s in params.spacing)
        rendered = blend_keeping_noise(
            image_box, fluid, weight, inside=organ, lowpass_voxels=(x, y, z)
        )
    else:
        rendered = blend(image_box, fluid, weight)
    if np.issubdtype(output.dtype, np.integer):
        limits = np.iinfo(output.dtype)
        rendered = np.clip(np.rint(rendered), limits.min, limits.max)
    output[box] = rendered.astype(output.dtype)


def _distance_to_path(points: np.ndarray, path: np.ndarray) -> np.ndarray:
    """Distance in mm from each point (..., 3) to the polyline through `path` (n, 3)."""
    best = np.full(points.shape[:-1], np.inf)
    for a, b in itertools.pairwise(path):
        segment = b - a
        length2 = float(segment @ segment)
        t = np.zeros(points.shape[:-1]) if length2 == 0 else ((points - a) @ segment) / length2
        nearest = a + np.clip(t, 0.0, 1.0)[..., None] * segment
        np.minimum(best, np.linalg.norm(points - nearest, axis=-1), out=best)
    return best
