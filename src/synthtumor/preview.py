"""A quick-look picture of a synthesis: three orthogonal slices through the largest tumour.

:func:`preview_png` returns (and optionally writes) an RGB image with an axial, a coronal and a
sagittal panel side by side, the CT in a grey window, the tumour outlined in red and the liver in
green. Each panel is resampled to square pixels of the finest voxel spacing (finer still for a
small volume, so that its longest side spans at least 256 pixels), so a scan with 5 mm slices is
not squashed.

Orientation
-----------
Array axes are ``(i, j, k)``, with ``k`` the cranio-caudal axis. Without an affine the panels
show the array as it is:

- axial: the ``(i, j)`` plane at the focus ``k``; ``i`` runs left to right, ``j`` top to bottom;
- coronal: the ``(i, k)`` plane at the focus ``j``; ``i`` left to right, ``k`` increasing upwards;
- sagittal: the ``(j, k)`` plane at the focus ``i``; ``j`` left to right, ``k`` increasing upwards.

For an array in LPS order (``i`` towards the patient's left, ``j`` posterior, ``k`` superior, as
:mod:`synthtumor.phantom` builds it) these are the usual radiological views: patient's right on
the picture's left, anterior up in the axial panel, superior up in the others. Pass the scan's
NIfTI ``affine`` and the volume is first flipped and transposed (no resampling) into that LPS
order, so any stored orientation gives the radiological views.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from synthtumor._arrays import triple
from synthtumor._validation import as_spacing, as_volume
from synthtumor.io import atomic_write_bytes
from synthtumor.params import TumorParams

__all__ = ["LIVER_COLOUR", "TUMOR_COLOUR", "preview_png"]

TUMOR_COLOUR: tuple[int, int, int] = (255, 0, 0)
"""RGB colour of the tumour outline (red)."""

LIVER_COLOUR: tuple[int, int, int] = (0, 255, 0)
"""RGB colour of the liver outline (green)."""

_MARGIN_PIXELS = 6
_MIN_PANEL_PIXELS = 256  # a small volume is enlarged until its longest side has this many
_LPS_AXCODES = ("L", "P", "S")


def preview_png(
    image: np.ndarray,
    label: np.ndarray,
    params: TumorParams | None = None,
    *,
    spacing: tuple[float, float, float],
    path: str | os.PathLike | None = None,
    overwrite: bool = False,
    window: tuple[float, float] = (-160, 240),
    affine: np.ndarray | None = None,
    tumor_label: int | None = None,
) -> np.ndarray:
    """Draw axial, coronal and sagittal slices through the largest tumour as an RGB picture.

    Parameters
    ----------
    image : numpy.ndarray
        3-D CT in HU.
    label : numpy.ndarray
        Label map of the same shape (background, liver, tumour), e.g. from
        :func:`synthtumor.synthesize`.
    params : TumorParams or None
        The synthesis' parameters: they give the label values, and the focus when `label` holds
        no tumour voxel.
    spacing : tuple of 3 float
        Voxel spacing in mm, array-axis order.
    path : path-like or None
        Where to write the PNG (atomically). None: only return the picture.
    overwrite : bool, default False
        Replace an existing `path`; otherwise raise :class:`FileExistsError`.
    window : (float, float), default (-160, 240)
        HU mapped to black and white (a liver window).
    affine : numpy.ndarray or None
        The scan's 4 x 4 NIfTI affine. Given, the panels follow radiological orientation
        whatever the array order; None shows the array axes as they are (see the module notes).
    tumor_label : int or None
        Tumour value in `label`; None takes ``params.tumor_label``, or 2 without params.

    Returns
    -------
    numpy.ndarray
        ``(height, width, 3)`` uint8 RGB picture.

    Notes
    -----
    The focus is the voxel of the largest connected tumour component (``label == tumor_label``,
    6-connected) nearest its centroid; without tumour voxels the centre of the first tumour in
    `params`; without either the liver's centre (label not background). The liver outline is
    the border of every non-background voxel; outlines are not drawn along the volume's edge.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from synthtumor import synthesize
    >>> from synthtumor.phantom import make_phantom
    >>> phantom = make_phantom(rng=0)
    >>> image, label, params = synthesize(phantom.image, phantom.liver_mask,
    ...                                   spacing=phantom.spacing, size="medium", rng=1)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     picture = preview_png(image, label, params, spacing=phantom.spacing,
    ...                           path=pathlib.Path(tmp) / "preview.png")
    ...     written = (pathlib.Path(tmp) / "preview.png").exists()
    >>> picture.dtype, picture.shape[2], written
    (dtype('uint8'), 3, True)
    >>> bool((picture == TUMOR_COLOUR).all(axis=2).any())
    True
    """
    image, label, spacing_mm, window = _checked_inputs(image, label, params, spacing, window)
    tumor_value = _tumor_value(params, tumor_label)
    background = params.background_label if params is not None else 0
    orient = _Reorientation.from_affine(affine, image.shape)
    image, label = orient.array(image), orient.array(label)
    spacing_mm = orient.spacing(spacing_mm)
    hint = None
    if params is not None and params.tumors:
        hint = orient.voxel(params.tumors[0].center_voxel)
    focus = _focus_voxel(label, tumor_value, background, hint)
    pixel_mm = _pixel_size_mm(image.shape, spacing_mm)
    panels = [
        _render_panel(
            image[view.slicer(focus)],
            label[view.slicer(focus)],
            view,
            spacing_mm,
            pixel_mm,
            window,
            tumor_value,
            background,
        )
        for view in _VIEWS
    ]
    picture = _side_by_side(panels, _MARGIN_PIXELS)
    if path is not None:
        atomic_write_bytes(_png_path(path), _png_bytes(picture), overwrite=overwrite)
    return picture


def _pixel_size_mm(shape: tuple[int, ...], spacing_mm: tuple[float, float, float]) -> float:
    """The finest voxel spacing, made finer for small volumes so panels are readable."""
    largest_extent_mm = max(n * step for n, step in zip(shape, spacing_mm, strict=True))
    return min(min(spacing_mm), largest_extent_mm / _MIN_PANEL_PIXELS)


def _checked_inputs(
    image: np.ndarray,
    label: np.ndarray,
    params: TumorParams | None,
    spacing: tuple[float, float, float],
    window: tuple[float, float],
) -> tuple[np.ndarray, np.ndarray, tuple[float, float, float], tuple[float, float]]:
    image = as_volume(image)
    label = np.asarray(label)
    if label.shape != image.shape:
        raise ValueError(f"label must have the image's shape {image.shape}, got {label.shape}")
    if params is not None and not isinstance(params, TumorParams):
        raise TypeError(f"params must be a TumorParams or None, got {type(params).__name__}")
    if params is not None and tuple(params.shape) != image.shape:
        raise ValueError(f"params were drawn for shape {params.shape}, image is {image.shape}")
    low, high = (float(value) for value in window)
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise ValueError(f"window must be (low, high) HU with low < high, got {window!r}")
    return image, label, as_spacing(spacing), (low, high)


def _tumor_value(params: TumorParams | None, tumor_label: int | None) -> int:
    if tumor_label is not None:
        return int(tumor_label)
    return params.tumor_label if params is not None else 2


@dataclass(frozen=True)
class _Reorientation:
    """Flips and a transpose that bring array axes to LPS order (identity without an affine)."""

    transform: np.ndarray  # nibabel orientation: per input axis, (output axis, flip)
    shape: tuple[int, ...]

    @classmethod
    def from_affine(cls, affine: np.ndarray | None, shape: tuple[int, ...]) -> _Reorientation:
        if affine is None:
            return cls(np.array([[0, 1], [1, 1], [2, 1]]), tuple(shape))
        from nibabel import orientations

        affine = np.asarray(affine, dtype=float)
        if affine.shape != (4, 4) or not np.isfinite(affine).all():
            raise ValueError(f"affine must be a finite 4 x 4 array, got shape {affine.shape}")
        start = orientations.io_orientation(affine)
        if np.isnan(start).any():
            raise ValueError("affine is degenerate: its voxel axes do not span 3-D space")
        end = orientations.axcodes2ornt(_LPS_AXCODES)
        return cls(orientations.ornt_transform(start, end).astype(int), tuple(shape))

    def array(self, array: np.ndarray) -> np.ndarray:
        for axis, (_, flip) in enumerate(self.transform):
            if flip == -1:
                array = np.flip(array, axis)
        order = np.argsort(self.transform[:, 0])
        return array.transpose(order)

    def spacing(self, spacing: tuple[float, float, float]) -> tuple[float, float, float]:
        result = [0.0, 0.0, 0.0]
        for axis, (target, _) in enumerate(self.transform):
            result[target] = spacing[axis]
        return result[0], result[1], result[2]

    def voxel(self, voxel: tuple[int, int, int]) -> tuple[int, int, int]:
        result = [0, 0, 0]
        for axis, (target, flip) in enumerate(self.transform):
            index = int(voxel[axis])
            result[target] = self.shape[axis] - 1 - index if flip == -1 else index
        return result[0], result[1], result[2]


def _focus_voxel(
    label: np.ndarray,
    tumor_value: int,
    background: int,
    hint: tuple[int, int, int] | None,
) -> tuple[int, int, int]:
    """The voxel the three slices go through (see :func:`preview_png`, Notes)."""
    tumor = label == tumor_value
    if tumor.any():
        components, count = ndimage.label(tumor)
        sizes = np.bincount(components.ravel(), minlength=count + 1)
        sizes[0] = 0
        largest = int(np.argmax(sizes))
        box = ndimage.find_objects(components, max_label=largest)[largest - 1]
        return _central_voxel(components[box] == largest, box)
    if hint is not None:
        return triple(int(np.clip(v, 0, n - 1)) for v, n in zip(hint, label.shape, strict=True))
    liver = label != background
    if liver.any():
        return _central_voxel(liver, tuple(slice(0, n) for n in label.shape))
    return triple(n // 2 for n in label.shape)


def _central_voxel(mask: np.ndarray, box: tuple[slice, ...]) -> tuple[int, int, int]:
    """The voxel of `mask` nearest its centroid (inside a curved mask, unlike the centroid)."""
    coordinates = np.argwhere(mask)
    centroid = coordinates.mean(axis=0)
    nearest = coordinates[np.argmin(((coordinates - centroid) ** 2).sum(axis=1))]
    return triple(int(v) + s.start for v, s in zip(nearest, box, strict=True))


@dataclass(frozen=True)
class _View:
    """One panel: the fixed axis, and how the 2-D slice maps to picture rows and columns."""

    name: str
    fixed_axis: int
    row_axis: int  # array axis shown along picture rows
    column_axis: int
    up_increasing: bool  # True: row axis index grows upwards (superior up)

    def slicer(self, focus: tuple[int, int, int]) -> tuple[slice | int, ...]:
        index: list[slice | int] = [slice(None)] * 3
        index[self.fixed_axis] = focus[self.fixed_axis]
        return tuple(index)

    def to_picture(self, plane: np.ndarray) -> np.ndarray:
        """A 2-D slice (remaining array axes in order) as picture rows x columns."""
        remaining = [axis for axis in range(3) if axis != self.fixed_axis]
        if remaining.index(self.row_axis) == 1:
            plane = plane.T
        return plane[::-1] if self.up_increasing else plane


_VIEWS: tuple[_View, ...] = (
    _View("axial", fixed_axis=2, row_axis=1, column_axis=0, up_increasing=False),
    _View("coronal", fixed_axis=1, row_axis=2, column_axis=0, up_increasing=True),
    _View("sagittal", fixed_axis=0, row_axis=2, column_axis=1, up_increasing=True),
)


def _render_panel(
    image_plane: np.ndarray,
    label_plane: np.ndarray,
    view: _View,
    spacing_mm: tuple[float, float, float],
    pixel_mm: float,
    window: tuple[float, float],
    tumor_value: int,
    background: int,
) -> np.ndarray:
    """One RGB panel with square pixels of `pixel_mm`."""
    zoom = (spacing_mm[view.row_axis] / pixel_mm, spacing_mm[view.column_axis] / pixel_mm)
    picture_plane = view.to_picture(image_plane)
    resample = _resampler(picture_plane.shape, zoom)
    low, high = window
    grey = resample(picture_plane.astype(np.float32))
    grey = np.clip((grey - np.float32(low)) / np.float32(high - low), 0.0, 1.0)
    rgb = np.repeat(np.rint(grey * 255).astype(np.uint8)[..., None], 3, axis=2)
    liver = resample(view.to_picture(label_plane != background).astype(np.float32)) >= 0.5
    tumor = resample(view.to_picture(label_plane == tumor_value).astype(np.float32)) >= 0.5
    rgb[_outline(liver, width=1)] = LIVER_COLOUR
    rgb[_outline(tumor, width=max(1, round(max(rgb.shape[:2]) / 256)))] = TUMOR_COLOUR
    return rgb


def _resampler(
    shape: tuple[int, ...], zoom: tuple[float, float]
) -> Callable[[np.ndarray], np.ndarray]:
    """Linear resampling of a 2-D float plane by `zoom`, pixel areas aligned (grid mode)."""
    if all(abs(factor - 1.0) < 1e-6 for factor in zoom):
        return lambda plane: plane
    output = tuple(max(1, round(n * factor)) for n, factor in zip(shape, zoom, strict=True))
    exact = tuple(out / n for out, n in zip(output, shape, strict=True))
    return lambda plane: ndimage.zoom(plane, exact, order=1, mode="nearest", grid_mode=True)


def _outline(mask: np.ndarray, *, width: int) -> np.ndarray:
    """The inner border of `mask`, `width` pixels wide; no border along the picture's edge."""
    if not mask.any():
        return mask
    eroded = ndimage.binary_erosion(mask, iterations=width, border_value=1)
    return mask & ~eroded


def _side_by_side(panels: list[np.ndarray], margin: int) -> np.ndarray:
    """Panels left to right, vertically centred, `margin` black pixels around and between."""
    height = max(panel.shape[0] for panel in panels) + 2 * margin
    width = sum(panel.shape[1] for panel in panels) + margin * (len(panels) + 1)
    picture = np.zeros((height, width, 3), dtype=np.uint8)
    column = margin
    for panel in panels:
        top = (height - panel.shape[0]) // 2
        picture[top : top + panel.shape[0], column : column + panel.shape[1]] = panel
        column += panel.shape[1] + margin
    return picture


def _png_path(path: str | os.PathLike) -> str | os.PathLike:
    if not os.fspath(path).lower().endswith(".png"):
        raise ValueError(f"preview path {path} must end in .png")
    return path


def _png_bytes(picture: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="PNG")
    return buffer.getvalue()
