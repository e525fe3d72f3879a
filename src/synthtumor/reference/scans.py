"""One scan loader for the reference commands (train, predict, evaluate, robustness).

:func:`load_case` reads a NIfTI scan and, optionally, a label map that must lie on the same
grid (shape and affine, within :data:`synthtumor.io.AFFINE_ATOL`); :func:`check_same_grid` does
the same check from the headers alone, without reading voxels (what training does for every
case of its datalist before MONAI loads them). :func:`read_label_map` reads a label map on its
own (all of its data, so a truncated file fails there) and checks that it holds integers.

``synthtumor prepare`` checks grids its own way on purpose
(:func:`synthtumor.reference.case_checks.header_problems`): it lists every problem of a case,
with a tolerance the user may set, where these raise on the first.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np

from synthtumor._arrays import triple
from synthtumor.io import AFFINE_ATOL, integer_labels, is_nifti_path, read_volume

__all__ = ["LoadedCase", "check_same_grid", "load_case", "read_label_map"]


@dataclass(frozen=True)
class LoadedCase:
    """A scan as read by :func:`load_case`.

    Attributes
    ----------
    image : numpy.ndarray
        The 3-D scan (HU for CT), stored values scaled as nibabel does.
    labels : numpy.ndarray or None
        The 3-D label map on the same grid, or None when none was asked for.
    affine : numpy.ndarray
        The scan's 4 x 4 voxel-to-world affine.
    header : nibabel.nifti1.Nifti1Header
        The scan's header (for writing outputs on its grid).
    """

    image: np.ndarray
    labels: np.ndarray | None
    affine: np.ndarray
    header: nib.nifti1.Nifti1Header

    @property
    def spacing(self) -> tuple[float, float, float]:
        """Voxel spacing in mm (array-axis order), from the affine's columns."""
        columns = np.sqrt((self.affine[:3, :3] ** 2).sum(axis=0))
        return (float(columns[0]), float(columns[1]), float(columns[2]))


def _open(path: str | os.PathLike, role: str) -> nib.Nifti1Image:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{role} file not found: {path}")
    if not is_nifti_path(path):
        raise ValueError(f"{role} file {path} is not NIfTI: expected a .nii or .nii.gz file")
    image = nib.load(path)
    if not isinstance(image, nib.Nifti1Image | nib.Nifti2Image):
        raise ValueError(f"{role} file {path} is not NIfTI (read as {type(image).__name__})")
    if len(image.shape) != 3:
        raise ValueError(f"{role} file {path}: expected a 3-D volume, got shape {image.shape}")
    return image


def _check_grid(image: nib.Nifti1Image, labels: nib.Nifti1Image, where: str) -> None:
    if tuple(labels.shape) != tuple(image.shape):
        raise ValueError(f"{where}: label shape {labels.shape} differs from image {image.shape}")
    if not np.allclose(image.affine, labels.affine, rtol=0.0, atol=AFFINE_ATOL):
        raise ValueError(
            f"{where}: label affine differs from image affine (tolerance {AFFINE_ATOL} mm):\n"
            f"image\n{image.affine}\nlabel\n{labels.affine}"
        )


def check_same_grid(image_path: str | os.PathLike, label_path: str | os.PathLike) -> None:
    """Raise ValueError unless a scan and its label map share shape and affine (headers only).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from synthtumor.io import save_nifti
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     folder = pathlib.Path(tmp)
    ...     _ = save_nifti(folder / "ct.nii.gz", np.zeros((4, 4, 4), np.int16), affine=np.eye(4))
    ...     _ = save_nifti(folder / "lab.nii.gz", np.zeros((4, 4, 4), np.uint8),
    ...                    affine=np.diag([2.0, 1, 1, 1]))
    ...     check_same_grid(folder / "ct.nii.gz", folder / "lab.nii.gz")
    Traceback (most recent call last):
    ...
    ValueError: ...: label affine differs from image affine (tolerance 0.001 mm):
    ...
    """
    _check_grid(_open(image_path, "image"), _open(label_path, "label"), str(label_path))


def load_case(
    image_path: str | os.PathLike, label_path: str | os.PathLike | None = None
) -> LoadedCase:
    """Read a scan, and its label map on the same grid when `label_path` is given.

    Raises
    ------
    FileNotFoundError
        A file does not exist.
    ValueError
        A file is not a 3-D NIfTI, or the label map's shape or affine differs from the scan's.
    """
    image = _open(image_path, "image")
    labels = None
    if label_path is not None:
        label_image = _open(label_path, "label")
        _check_grid(image, label_image, str(label_path))
        labels = np.asanyarray(label_image.dataobj)
    return LoadedCase(
        image=np.asanyarray(image.dataobj),
        labels=labels,
        affine=np.asarray(image.affine, dtype=float),
        header=image.header,
    )


def read_label_map(
    path: str | os.PathLike, *, role: str = "label map"
) -> tuple[np.ndarray, np.ndarray, tuple[float, float, float]]:
    """Read a 3-D integer label map with its affine and voxel spacing.

    Parameters
    ----------
    path : path-like
        A ``.nii`` or ``.nii.gz`` file.
    role : str, default "label map"
        What the file is, for the error messages of :func:`synthtumor.io.read_volume`.

    Returns
    -------
    labels : numpy.ndarray
        The 3-D labels: the stored integer type, or int32 for labels stored as floats (each
        within 1e-3 of an integer, rounded).
    affine : numpy.ndarray
        The 4 x 4 voxel-to-world affine (float).
    spacing : tuple of float
        Voxel spacing in mm from the header (``get_zooms()[:3]``).

    Raises
    ------
    FileNotFoundError
        `path` does not exist.
    ValueError
        `path` is not a readable 3-D NIfTI file (truncated, corrupt, wrong suffix or number of
        axes), or holds non-integer values; the message names `path`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from synthtumor.io import save_nifti
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = pathlib.Path(tmp) / "label.nii.gz"
    ...     _ = save_nifti(path, np.full((4, 4, 4), 2.0, np.float32),
    ...                    affine=np.diag([0.5, 0.5, 2.5, 1.0]))
    ...     labels, affine, spacing = read_label_map(path)
    ...     half = pathlib.Path(tmp) / "half.nii.gz"
    ...     _ = save_nifti(half, np.full((4, 4, 4), 0.5, np.float32), affine=np.eye(4))
    ...     read_label_map(half)
    Traceback (most recent call last):
    ...
    ValueError: ...half.nii.gz must hold integer labels, found non-integer values
    >>> labels.dtype, int(labels.max()), spacing
    (dtype('int32'), 2, (0.5, 0.5, 2.5))
    """
    image, data = read_volume(path, role)
    data = integer_labels(data, str(path))
    spacing = triple(float(z) for z in image.header.get_zooms()[:3])
    return data, np.asarray(image.affine, dtype=float), spacing
