"""The checks of one case of ``synthtumor prepare``, and its record in the datalist.

:func:`header_problems` compares a scan's and a mask's headers (shape, affine) without reading
voxels, so every case's problems are listed before anything is written; :func:`map_case` then
reads both files in full (a truncated file fails here, not in training), maps the labels to
0/1/2, checks that a liver is left, and writes the mapped label map on the scan's grid. The
result is a :class:`CaseRecord`, the case's entry in the datalist.

The headers are read with nibabel here, not with :func:`synthtumor.reference.scans.check_same_grid`,
since ``prepare`` lists every problem of a case (with its own tolerance) instead of raising on
the first; the voxels are read with :func:`synthtumor.io.read_volume`, which names a truncated
or corrupt file in a ValueError.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np

from synthtumor._arrays import triple
from synthtumor.io import AFFINE_ATOL, UNREADABLE, read_volume
from synthtumor.reference.case_discovery import CaseFiles
from synthtumor.reference.label_mapping import LabelMapping, map_labels
from synthtumor.reference.writers import write_nifti_atomic

__all__ = ["CaseRecord", "header_problems", "map_case"]

_FAR_TUMOR_FRACTION = 0.5
"""A larger fraction of 'tumour' voxels away from the liver suggests wrong ``tumor_values``."""


@dataclass(frozen=True)
class CaseRecord:
    """A checked case as recorded in the datalist."""

    case: str
    image: str
    label: str
    source_label: str
    has_tumor: bool
    shape: tuple[int, int, int]
    spacing: tuple[float, float, float]
    liver_voxels: int
    tumor_voxels: int
    fold: int = -1

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (the datalist entry)."""
        return {
            "case": self.case,
            "image": self.image,
            "label": self.label,
            "source_label": self.source_label,
            "has_tumor": self.has_tumor,
            "fold": self.fold,
            "shape": list(self.shape),
            "spacing": list(self.spacing),
            "liver_voxels": self.liver_voxels,
            "tumor_voxels": self.tumor_voxels,
        }


def header_problems(case: CaseFiles, tolerance: float = AFFINE_ATOL) -> list[str]:
    """Shape and affine agreement of a scan and its mask, from the headers alone.

    Returns
    -------
    list of str
        One line per problem, each starting with the case name; empty when the files exist,
        are 3-D NIfTI volumes and share shape and affine (within `tolerance`, in mm).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     folder = pathlib.Path(tmp)
    ...     nib.save(nib.Nifti1Image(np.zeros((4, 4, 4), np.int16), np.eye(4)), folder / "ct.nii")
    ...     nib.save(nib.Nifti1Image(np.zeros((4, 4, 3), np.uint8), np.eye(4)), folder / "m.nii")
    ...     header_problems(CaseFiles("a", folder / "ct.nii", folder / "m.nii"))
    ['a: label shape (4, 4, 3) differs from image shape (4, 4, 4)']
    """
    problems = []
    for role, path in (("image", case.image), ("label", case.label)):
        if not path.is_file():
            problems.append(f"{case.case}: {role} file {path} does not exist")
    if problems:
        return problems
    try:
        image = nib.load(case.image)
        label = nib.load(case.label)
    except UNREADABLE as error:
        return [f"{case.case}: could not be read as NIfTI ({' '.join(str(error).split())})"]
    if not isinstance(image, nib.Nifti1Image) or not isinstance(label, nib.Nifti1Image):
        return [f"{case.case}: image and label must be NIfTI volumes"]
    return _grid_problems(case.case, image, label, tolerance)


def _grid_problems(
    case: str, image: nib.Nifti1Image, label: nib.Nifti1Image, tolerance: float
) -> list[str]:
    problems = []
    if len(image.shape) != 3:
        problems.append(f"{case}: image must be 3-D, got shape {image.shape}")
    if label.shape != image.shape:
        problems.append(f"{case}: label shape {label.shape} differs from image shape {image.shape}")
    elif not np.allclose(image.affine, label.affine, rtol=0.0, atol=tolerance):
        problems.append(
            f"{case}: label affine differs from image affine (tolerance {tolerance}):\n"
            f"image\n{image.affine}\nlabel\n{label.affine}"
        )
    return problems


def map_case(
    case: CaseFiles,
    mapping: LabelMapping,
    staging: Path,
    labels_dir: Path,
    *,
    stacklevel: int = 2,
) -> CaseRecord:
    """Read a case in full, map its labels and write them to ``staging/<case>.nii.gz``.

    The mapped map is uint8, on the scan's affine with the source label map's header. The record
    names ``labels_dir/<case>.nii.gz``, where the caller moves the file once every case passed.
    A warning (`stacklevel` as for :func:`warnings.warn`, counted from this function's caller
    at 2) says when most 'tumour' voxels lie away from the liver.

    Raises
    ------
    ValueError
        A file cannot be read in full, the labels are not integers, or no liver voxel is left
        after mapping.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> labels = np.zeros((6, 6, 6), np.uint8)
    >>> labels[1:5, 1:5, 1:5], labels[2, 2, 2] = 5, 7
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     folder = pathlib.Path(tmp)
    ...     nib.save(nib.Nifti1Image(np.zeros((6, 6, 6), np.int16), np.eye(4)), folder / "ct.nii")
    ...     nib.save(nib.Nifti1Image(labels, np.eye(4)), folder / "organs.nii")
    ...     case = CaseFiles("a", folder / "ct.nii", folder / "organs.nii")
    ...     record = map_case(case, LabelMapping((5,), (7,)), folder, folder / "labels")
    ...     written = np.asanyarray(nib.load(folder / "a.nii.gz").dataobj)
    >>> record.liver_voxels, record.tumor_voxels, record.has_tumor, np.unique(written).tolist()
    (64, 1, True, [0, 1, 2])
    """
    image, _ = read_volume(case.image, "image")
    label, label_data = read_volume(case.label, "label")
    mapped = map_labels(label_data, mapping)
    liver_voxels = int(np.count_nonzero(mapped))
    tumor_voxels = int(np.count_nonzero(mapped == 2))
    if liver_voxels == 0:
        values = np.unique(label_data)[:20].tolist()
        raise ValueError(
            f"no liver voxel after mapping liver values {list(mapping.liver_values)}; the label "
            f"map holds {values} (set --liver-values)"
        )
    far = _tumor_far_from_liver(mapped)
    if far > _FAR_TUMOR_FRACTION:
        warnings.warn(
            f"{case.case}: {far:.0%} of the 'tumor' voxels are not next to the liver; are "
            f"--tumor-values {list(mapping.tumor_values)} right?",
            stacklevel=stacklevel,
        )
    write_nifti_atomic(staging / f"{case.case}.nii.gz", mapped, image.affine, header=label.header)
    return CaseRecord(
        case=case.case,
        image=str(case.image.resolve()),
        label=str((labels_dir / f"{case.case}.nii.gz").resolve()),
        source_label=str(case.label.resolve()),
        has_tumor=tumor_voxels > 0,
        shape=triple(int(n) for n in image.shape[:3]),
        spacing=triple(float(z) for z in image.header.get_zooms()[:3]),
        liver_voxels=liver_voxels,
        tumor_voxels=tumor_voxels,
    )


def _tumor_far_from_liver(mapped: np.ndarray) -> float:
    """Fraction of tumour voxels with no liver-or-tumour voxel within 2 voxels' dilation."""
    from scipy import ndimage

    tumor = mapped == 2
    if not tumor.any():
        return 0.0
    liver = ndimage.binary_dilation(mapped == 1, iterations=2)
    components, _ = ndimage.label(tumor)
    touching = np.unique(components[liver & tumor])
    far = ~np.isin(components, touching) & tumor
    return float(far.sum() / tumor.sum())
