"""One scan loader for the reference commands (train, predict, robustness).

:func:`load_case` reads a NIfTI scan and, optionally, a label map that must lie on the same
grid (shape and affine, within :data:`synthtumor.io.AFFINE_ATOL`); :func:`check_same_grid` does
the same check from the headers alone, without reading voxels (what training does for every
case of its datalist before MONAI loads them).

``reference/evaluate.py`` (``_load_label_map`` and its own affine tolerance) and
``reference/prepare.py`` (``_header_problems``) still carry their own copies of this check;
they should call :func:`check_same_grid` / :func:`load_case` once their rework lands.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np

from synthtumor.io import AFFINE_ATOL, is_nifti_path

__all__ = ["LoadedCase", "check_same_grid", "load_case"]


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
