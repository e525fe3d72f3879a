"""The healthy scans of the robustness benchmark: :class:`Scan` and :func:`load_scan`.

:func:`load_scan` reads a CT and its liver mask through the one scan loader
(:func:`synthtumor.reference.scans.load_case`) and refuses masks that hold tumour.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from synthtumor._arrays import triple

__all__ = ["Scan", "load_scan"]


@dataclass(frozen=True)
class Scan:
    """A healthy scan: name, CT in HU, binary liver mask and voxel-to-world affine."""

    name: str
    image: np.ndarray
    liver: np.ndarray
    affine: np.ndarray

    @property
    def spacing(self) -> tuple[float, float, float]:
        """Voxel spacing in mm (array-axis order), from the affine.

        Examples
        --------
        >>> empty = np.zeros((2, 2, 2))
        >>> Scan("a", empty, empty > 0, np.diag([0.5, 0.5, 2.0, 1.0])).spacing
        (0.5, 0.5, 2.0)
        """
        columns = np.sqrt((np.asarray(self.affine, dtype=float)[:3, :3] ** 2).sum(axis=0))
        return triple(float(c) for c in columns)


def load_scan(ct: str | os.PathLike, liver: str | os.PathLike, name: str | None = None) -> Scan:
    """Read a CT and its liver mask (any label map: liver is > 0 and != 2) from NIfTI files.

    :func:`synthtumor.reference.scans.load_case` reads them, so the mask must lie on the CT's
    grid (shape and affine).

    Parameters
    ----------
    ct, liver : path-like
        The CT and its label map (``.nii`` or ``.nii.gz``).
    name : str, optional
        The scan's name in the report (default: the CT's file name without its suffix).

    Raises
    ------
    ValueError
        The files are not 3-D NIfTI on one grid, or the label map holds tumour (label 2 beside
        label 1).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from synthtumor.io import save_nifti
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     folder = pathlib.Path(tmp)
    ...     labels = np.zeros((4, 4, 4), np.uint8); labels[1:3, 1:3, 1:3] = 1
    ...     _ = save_nifti(folder / "ct01.nii.gz", np.zeros((4, 4, 4), np.int16), affine=np.eye(4))
    ...     _ = save_nifti(folder / "liver01.nii.gz", labels, affine=np.eye(4))
    ...     scan = load_scan(folder / "ct01.nii.gz", folder / "liver01.nii.gz")
    >>> scan.name, int(scan.liver.sum())
    ('ct01', 8)
    """
    from synthtumor.reference.predict import output_name
    from synthtumor.reference.scans import load_case

    case = load_case(ct, liver)
    labels = case.labels
    assert labels is not None
    if (labels == 2).any() and (labels == 1).any():
        raise ValueError(f"{liver} holds tumour labels (2): the benchmark needs healthy livers")
    return Scan(name or output_name(ct), case.image, labels > 0, case.affine)
