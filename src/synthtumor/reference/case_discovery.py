"""Finding the cases of ``synthtumor prepare``: scans paired with their masks by case name.

Input layouts:

* **images/labels folders**: ``ROOT/images/X.nii.gz`` with ``ROOT/labels/X.nii.gz`` (also
  ``imagesTr``/``labelsTr`` as in the Medical Segmentation Decathlon; an nnU-Net channel suffix
  ``_0000`` on image names is dropped). The case name is ``X``.
* **one folder per case**: ``ROOT/X/ct.nii.gz`` with ``ROOT/X/liver.nii.gz``. The image is the
  first of ``image_names`` found (default :data:`IMAGE_NAMES`) and the mask the first of
  ``label_names`` (default :data:`LABEL_NAMES`). The case name is ``X``.
* **a CSV file** with columns ``image,label`` and optional ``case`` and ``split``
  (train/validation/test); relative paths are taken from the CSV's folder.

Only files are paired here; :mod:`synthtumor.reference.case_checks` reads and checks them.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from synthtumor.io import NIFTI_SUFFIXES

__all__ = [
    "IMAGE_NAMES",
    "LABEL_NAMES",
    "CaseFiles",
    "case_name",
    "find_cases",
    "nifti_files",
    "read_csv_cases",
]

IMAGE_NAMES = ("ct", "image", "img", "imaging")
"""Image file names (without suffix) tried in the one-folder-per-case layout, in order."""

LABEL_NAMES = ("label", "seg", "segmentation", "liver", "mask")
"""Mask file names (without suffix) tried in the one-folder-per-case layout, in order."""

_SPLIT_ALIASES = {
    "train": "train",
    "training": "train",
    "val": "validation",
    "valid": "validation",
    "validation": "validation",
    "test": "test",
    "testing": "test",
}


@dataclass(frozen=True)
class CaseFiles:
    """One scan and its mask, before checking.

    Attributes
    ----------
    case : str
        Case name (used for output file names).
    image, label : Path
        CT scan and label map (or liver mask).
    split : str or None
        A fixed split ("train", "validation", "test") from a CSV, or None.
    """

    case: str
    image: Path
    label: Path
    split: str | None = None


def case_name(path: str | os.PathLike) -> str | None:
    """The case name of a NIfTI file: its name without ``.nii.gz``/``.nii``, else None.

    Examples
    --------
    >>> case_name("images/liver_003_0000.nii.gz"), case_name("notes.txt")
    ('liver_003_0000', None)
    """
    name = Path(path).name
    for suffix in NIFTI_SUFFIXES:
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return None


def find_cases(
    root: str | os.PathLike,
    *,
    image_names: Sequence[str] = IMAGE_NAMES,
    label_names: Sequence[str] = LABEL_NAMES,
) -> list[CaseFiles]:
    """Pair scans and masks in a folder (see the module docstring for the layouts).

    Raises
    ------
    ValueError
        No case found, a scan without a mask (or the reverse), or a duplicate case name.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     root = pathlib.Path(tmp)
    ...     for folder in ("images", "labels"):
    ...         (root / folder).mkdir()
    ...     _ = (root / "images" / "liver_7_0000.nii.gz").write_bytes(b"")
    ...     _ = (root / "labels" / "liver_7.nii.gz").write_bytes(b"")
    ...     [(case.case, case.image.name) for case in find_cases(root)]
    [('liver_7', 'liver_7_0000.nii.gz')]
    """
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"{root} is not a folder")
    images_dir = _subfolder(root, ("images", "imagesTr"))
    labels_dir = _subfolder(root, ("labels", "labelsTr"))
    if images_dir is not None and labels_dir is not None:
        cases = _paired_folders(images_dir, labels_dir)
    else:
        cases = _case_folders(root, image_names, label_names)
    if not cases:
        raise ValueError(
            f"no cases found in {root}: expected images/ + labels/ folders, or one folder per "
            f"case holding one of {list(image_names)} and one of {list(label_names)} (.nii.gz)"
        )
    return cases


def _subfolder(root: Path, names: Sequence[str]) -> Path | None:
    return next((root / n for n in names if (root / n).is_dir()), None)


def _paired_folders(images_dir: Path, labels_dir: Path) -> list[CaseFiles]:
    """The images/ + labels/ layout: files paired by name (less an image's ``_0000``)."""
    images = {(n[:-5] if n.endswith("_0000") else n): p for n, p in nifti_files(images_dir).items()}
    labels = nifti_files(labels_dir)
    unpaired = sorted(images.keys() ^ labels.keys())
    if unpaired:
        raise ValueError(f"{images_dir} and {labels_dir} do not pair up: no partner for {unpaired}")
    return [CaseFiles(name, images[name], labels[name]) for name in sorted(images)]


def nifti_files(folder: Path) -> dict[str, Path]:
    """Case name -> path of the visible NIfTI files of `folder` (one file per case).

    Raises
    ------
    ValueError
        Two files of `folder` have the same case name (``a.nii`` and ``a.nii.gz``).
    """
    files: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        name = case_name(path)
        if name is None or path.name.startswith(".") or not path.is_file():
            continue
        if name in files:
            raise ValueError(
                f"case {name!r} appears twice in {folder}: {files[name].name}, {path.name}"
            )
        files[name] = path
    return files


def _case_folders(
    root: Path, image_names: Sequence[str], label_names: Sequence[str]
) -> list[CaseFiles]:
    """The one-folder-per-case layout; folders holding neither file are passed over."""
    cases = []
    problems = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and p.name[0] != "."):
        image = _first_existing(folder, image_names)
        label = _first_existing(folder, label_names)
        if image is None and label is None:
            continue
        if image is None or label is None:
            missing = "image" if image is None else "label"
            wanted = image_names if image is None else label_names
            problems.append(f"{folder.name}: no {missing} file named one of {list(wanted)}")
            continue
        cases.append(CaseFiles(folder.name, image, label))
    if problems:
        raise ValueError("incomplete case folders in " + f"{root}:\n  " + "\n  ".join(problems))
    return cases


def _first_existing(folder: Path, names: Sequence[str]) -> Path | None:
    for name in names:
        for suffix in NIFTI_SUFFIXES:
            candidate = folder / f"{name}{suffix}"
            if candidate.is_file():
                return candidate
    return None


def read_csv_cases(path: str | os.PathLike) -> list[CaseFiles]:
    """Read cases from a CSV with columns ``image,label`` and optional ``case``, ``split``.

    Relative paths are taken from the CSV's folder; the case name defaults to the image's file
    name without its NIfTI suffix.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     table = pathlib.Path(tmp) / "cases.csv"
    ...     _ = table.write_text("image,label,split\\ns1.nii.gz,m1.nii.gz,val\\n")
    ...     [(case.case, case.label.name, case.split) for case in read_csv_cases(table)]
    [('s1', 'm1.nii.gz', 'validation')]
    """
    path = Path(path)
    rows = _csv_rows(path)
    cases = [_csv_case(path, number, row) for number, row in enumerate(rows, start=2)]
    if not cases:
        raise ValueError(f"{path} lists no cases")
    names = [c.case for c in cases]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"{path} lists these case names more than once: {duplicates}")
    return cases


def _csv_rows(path: Path) -> list[dict[str, str]]:
    """The CSV's rows, column names lower-cased and cells stripped."""
    with path.open(newline="", encoding="utf-8") as stream:
        reader = csv.DictReader(stream)
        columns = {c.strip().lower() for c in reader.fieldnames or ()}
        if not {"image", "label"} <= columns:
            raise ValueError(f"{path} must have columns image,label[,case][,split], got {columns}")
        return [{k.strip().lower(): (v or "").strip() for k, v in row.items()} for row in reader]


def _csv_case(path: Path, number: int, row: dict[str, str]) -> CaseFiles:
    """The case of line `number` of the CSV file `path`."""
    image = (path.parent / row["image"]).resolve()
    label = (path.parent / row["label"]).resolve()
    name = row.get("case") or case_name(image)
    if not name:
        raise ValueError(f"{path}, line {number}: cannot name the case of {row['image']!r}")
    split = row.get("split") or None
    if split is not None:
        if split.lower() not in _SPLIT_ALIASES:
            raise ValueError(
                f"{path}, line {number}: split must be train, validation or test, got {split!r}"
            )
        split = _SPLIT_ALIASES[split.lower()]
    return CaseFiles(name, image, label, split)
