"""Drawing one tumour of a :class:`~synthtumor.TumorParams` into a crop, with torch ops.

The twin of :func:`synthtumor.render.render_tumor` (paper mode): the same box, the same random
fields (drawn by the NumPy helpers from the tumour's seed, then moved to the device) and the
same stages, computed on the crop's device. Two choices differ from the NumPy renderer, which
saves work on a CPU and would cost synchronisations on a GPU: the tumour is drawn on the whole
box its texture field covers (fixed by the params) instead of the footprint found by a scan of
the mask, and the mass effect warps the whole box, keeping the old values where nothing moves.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from synthtumor._arrays import triple
from synthtumor.mass_effect import MOVE_MIN_VOXELS, pushes_visibly
from synthtumor.params import TumorParams, TumorSpec, edge_sigmas_mm
from synthtumor.render import _subdivisions, _texture_half_voxels
from synthtumor.shape import _control_weights, elastic_controls, offsets_mm
from synthtumor.texture import texture_factors
from synthtumor.torch._ops import (
    apply_separable,
    average_subdivisions,
    gaussian_blur,
    to_device,
    warp_linear,
)

__all__ = ["render_tumor"]

Axes = tuple[torch.Tensor, torch.Tensor, torch.Tensor]
Point = tuple[int, int, int]
Corners = tuple[Point, Point]


def render_tumor(
    output: torch.Tensor, label: torch.Tensor, spec: TumorSpec, params: TumorParams
) -> None:
    """Draw one tumour into the 3-D tensors `output` (scan) and `label`, in place.

    Mass effect first (eq. 5, on the scan and label around the tumour), then the deformed,
    blurred ellipsoid drawn in the warped frame, blended (eq. 4) with its texture (eq. 3) and
    given its capsule (eq. 6-8), as :func:`synthtumor.render.render_tumor` does.
    """
    spacing = params.spacing
    texture_seed, deformation_seed = np.random.SeedSequence(spec.seed).spawn(2)
    controls = None
    if spec.deformation_mm > 0:
        controls = elastic_controls(
            spec.deformation_mm, rng=np.random.default_rng(deformation_seed)
        )
    if pushes_visibly(spec, spacing):
        _push_tissue(output, label, spec, params)
    half = _texture_half_voxels(spec, params)
    corners = _clipped(spec.center_voxel, half, tuple(output.shape))
    box = tuple(slice(a, b) for a, b in zip(*corners, strict=True))
    weight, capsule = _weight_and_capsule(spec, params, corners, controls, output.device)
    liver = (label[box] != params.background_label).to(torch.float32)
    weight = weight * liver
    texture = _texture(spec, spacing, corners, half, np.random.default_rng(texture_seed), output)
    image_box = output[box].to(torch.float32)
    rendered = image_box + (texture - image_box) * weight
    if capsule is not None:
        rendered = rendered + capsule * liver
    output[box] = cast_like(rendered, output.dtype)
    tumor = torch.tensor(params.tumor_label, dtype=label.dtype, device=label.device)
    label[box] = torch.where(weight >= params.label_threshold, tumor, label[box])


def _clipped(center: tuple[int, ...], half: tuple[int, ...], shape: tuple[int, ...]) -> Corners:
    """The box ``center - half ... center + half`` (inclusive), clipped to `shape`."""
    lower = [max(c - h, 0) for c, h in zip(center, half, strict=True)]
    upper = [min(c + h + 1, n) for c, h, n in zip(center, half, shape, strict=True)]
    return (lower[0], lower[1], lower[2]), (upper[0], upper[1], upper[2])


def _axes(spec: TumorSpec, spacing, corners: Corners, subdivisions, device) -> tuple:
    """The box's offsets in mm per axis, as NumPy arrays and as broadcastable tensors."""
    lower, upper = corners
    axes = offsets_mm(lower, upper, spec.center_voxel, spacing, subdivisions=subdivisions)
    tensors = (to_device(axes[0], device), to_device(axes[1], device), to_device(axes[2], device))
    return axes, tensors


def _weight_and_capsule(
    spec: TumorSpec, params: TumorParams, corners: Corners, controls: np.ndarray | None, device
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """t'' and the capsule's added HU on the box, computed on the shape grid, in voxels."""
    spacing = params.spacing
    subdivisions = _subdivisions(spacing)
    grid_mm = tuple(s / k for s, k in zip(spacing, subdivisions, strict=True))
    axes_np, axes = _axes(spec, spacing, corners, subdivisions, device)
    displacement = None
    if controls is not None:
        weights = [to_device(w, device) for w in _control_weights(axes_np, spec.semi_axes_mm)]
        displacement = apply_separable(to_device(controls, device), weights)
    scale = _radial_scale(spec, axes) if pushes_visibly(spec, spacing) else None
    mask = (_squared_radius(spec, axes, displacement, scale) <= 1.0).to(torch.float32)
    sigmas = edge_sigmas_mm(spec, params.scanner_blur_mm)
    edge = tuple(sigma / voxel_mm for sigma, voxel_mm in zip(sigmas, grid_mm, strict=True))
    weight = gaussian_blur(mask, edge)
    capsule = None
    if spec.capsule_contrast_hu > 0:
        low, high = params.capsule_band
        band = ((weight >= low) & (weight <= high)).to(torch.float32)
        blur = tuple(spec.capsule_blur_mm / voxel_mm for voxel_mm in grid_mm)
        capsule = average_subdivisions(
            gaussian_blur(band, blur) * spec.capsule_contrast_hu, subdivisions
        )
    return average_subdivisions(weight, subdivisions), capsule


def _radial_scale(spec: TumorSpec, axes: Axes) -> torch.Tensor:
    """``gamma' / gamma`` of eq. 5 (1 beyond gamma_max), as :func:`mass_effect.radial_scale`."""
    factor = spec.mass_effect_radius_factor
    squared = _squared_norm(axes, tuple(semi * factor for semi in spec.semi_axes_mm))
    gap = torch.clamp(1.0 - torch.sqrt(squared), min=0.0)
    return 1.0 - spec.mass_effect_intensity / 100.0 * gap**2


def _squared_norm(axes: Axes, lengths: tuple[float, ...]) -> torch.Tensor:
    """``sum_a (x_a / lengths_a)^2`` over the box (the axes broadcast to its shape)."""
    first, second, third = (
        (axis / length) ** 2 for axis, length in zip(axes, lengths, strict=True)
    )
    return first + second + third


def _squared_radius(
    spec: TumorSpec,
    axes: Axes,
    displacement: torch.Tensor | None,
    scale: torch.Tensor | None,
) -> torch.Tensor:
    """``|(s x + u) / a|^2`` of :func:`synthtumor.shape.squared_ellipsoid_radius`."""
    total = torch.zeros((), device=axes[0].device)
    for index, (offset, semi) in enumerate(zip(axes, spec.semi_axes_mm, strict=True)):
        position = offset if scale is None else scale * offset
        if displacement is not None:
            position = position + displacement[index]
        total = total + (position * (1.0 / semi)) ** 2
    return total


def _texture(spec: TumorSpec, spacing, corners: Corners, half, rng, output: torch.Tensor):
    """The tumour's texture on the box, cut from its field (see ``render._tumor_texture``)."""
    field_shape = triple(2 * h + 1 for h in half)
    window = triple(
        slice(a - (center - h), b - (center - h))
        for a, b, center, h in zip(*corners, spec.center_voxel, half, strict=True)
    )
    noise, matrices = texture_factors(
        field_shape,
        spacing=spacing,
        scale=spec.texture_scale,
        blur_mm=spec.texture_blur_mm,
        window=window,
        rng=rng,
    )
    device = output.device
    texture = apply_separable(to_device(noise, device), [to_device(m, device) for m in matrices])
    return texture * spec.texture_std_hu + spec.texture_mean_hu


def cast_like(values: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """`values` in `dtype`; integers rounded (half to even) and clipped to the dtype's range."""
    if dtype.is_floating_point:
        return values.to(dtype)
    limits = torch.iinfo(dtype)
    return torch.clamp(torch.round(values), limits.min, limits.max).to(dtype)


def _push_tissue(
    output: torch.Tensor, label: torch.Tensor, spec: TumorSpec, params: TumorParams
) -> None:
    """Mass effect (eq. 5) on the scan and label around the tumour, in place."""
    spacing = params.spacing
    reach = tuple(
        math.ceil(spec.mass_effect_radius_factor * semi / voxel_mm)
        for semi, voxel_mm in zip(spec.semi_axes_mm, spacing, strict=True)
    )
    corners = _clipped(spec.center_voxel, reach, tuple(output.shape))
    box = tuple(slice(a, b) for a, b in zip(*corners, strict=True))
    device = output.device
    _, axes = _axes(spec, spacing, corners, (1, 1, 1), device)
    gamma_squared = _squared_norm(axes, spec.semi_axes_mm)
    gamma = torch.sqrt(gamma_squared)
    factor = spec.mass_effect_radius_factor
    scale = 1.0 - (1.0 - gamma / factor) ** 2 * (spec.mass_effect_intensity / 100.0)
    # As in the NumPy renderer: voxels that move by less than 1 % of a voxel keep their value.
    shift_mm = (1.0 - scale) * gamma * max(spec.semi_axes_mm)
    moving = (gamma_squared < factor**2) & (shift_mm >= MOVE_MIN_VOXELS * min(spacing))
    shape = tuple(b - a for a, b in zip(*corners, strict=True))
    index = torch.stack(
        torch.meshgrid(*(torch.arange(n, device=device) for n in shape), indexing="ij"), dim=-1
    ).to(torch.float32)
    center = torch.tensor(
        [c - a for c, a in zip(spec.center_voxel, corners[0], strict=True)],
        dtype=torch.float32,
        device=device,
    )
    source = center + scale[..., None] * (index - center)
    image_box = output[box]
    moved = cast_like(warp_linear(image_box, source), output.dtype)
    output[box] = torch.where(moving, moved, image_box)
    label_box = label[box]
    # Clamped for safety only: sources lie between the centre and their voxel, inside the box.
    limits = torch.tensor(shape, device=device) - 1
    nearest = torch.minimum(torch.floor(source + 0.5).to(torch.long).clamp(min=0), limits)
    flat = (nearest[..., 0] * shape[1] + nearest[..., 1]) * shape[2] + nearest[..., 2]
    warped = label_box.reshape(-1)[flat.reshape(-1)].reshape(shape)
    # The label moves only where the moving region holds more than one class (as in NumPy).
    classes = label_box.to(torch.int32)
    region_max = torch.where(moving, classes, -1).amax()
    region_min = torch.where(moving, classes, 1 << 30).amin()
    label[box] = torch.where(moving & (region_min != region_max), warped, label_box)
