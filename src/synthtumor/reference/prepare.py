"""``synthtumor prepare``: CT scans and masks -> mapped label maps and a checked datalist.

Input layouts (scans and masks are paired by case name):

* **images/labels folders**: ``ROOT/images/X.nii.gz`` with ``ROOT/labels/X.nii.gz`` (also
  ``imagesTr``/``labelsTr`` as in the Medical Segmentation Decathlon; an nnU-Net channel suffix
  ``_0000`` on image names is dropped). The case name is ``X``.
* **one folder per case**: ``ROOT/X/ct.nii.gz`` with ``ROOT/X/liver.nii.gz``. The image is the
  first of ``image_names`` found (default ``ct``, ``image``, ``img``, ``imaging``) and the mask
  the first of ``label_names`` (default ``label``, ``seg``, ``segmentation``, ``liver``,
  ``mask``); ``--label-name organs`` picks ``organs.nii.gz``. The case name is ``X``.
* **a CSV file** with columns ``image,label`` and optional ``case`` and ``split``
  (train/validation/test); relative paths are taken from the CSV's folder. With a ``split``
  column that fixed split is used instead of k folds.

Label mapping: voxels whose value is in ``liver_values`` become 1 (liver), those in
``tumor_values`` become 2 (tumour), everything else 0. TotalSegmentator's "total" task has the
liver at 5 (``liver_values=(5,)``, no tumour class); LiTS has liver 1 and tumour 2 (the
default).

Outputs (in ``out_dir``): the mapped label maps ``labels/X.nii.gz`` (uint8, written on the
image's grid and affine; the scans themselves are never copied or modified) and
``datalist.json``, a Decathlon-style datalist whose ``training`` list holds every case with
absolute paths, its fold and its ``has_tumor`` flag, and whose ``folds`` section holds the
training, validation and test parts of each fold. The mapping is applied once, here, so training
and evaluation read 0/1/2 label maps directly. All files are written atomically and existing
outputs are only replaced with ``overwrite=True`` (``--force``).
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np

from synthtumor._arrays import triple
from synthtumor._renamed import SPELLING, renamed_keywords
from synthtumor._validation import as_spacing
from synthtumor.io import (
    UNREADABLE,
    _open_nifti,
    atomic_write_text,
    read_volume,
    remove_partial_files,
    save_nifti,
)

__all__ = [
    "DATALIST_VERSION",
    "CaseFiles",
    "CaseRecord",
    "LabelMapping",
    "case_name",
    "find_cases",
    "fold_split",
    "link_part",
    "load_datalist",
    "make_demo_dataset",
    "make_folds",
    "map_labels",
    "prepare_dataset",
    "read_csv_cases",
    "write_nifti_atomic",
    "write_text_atomic",
]

DATALIST_VERSION = 1
NIFTI_SUFFIXES = (".nii.gz", ".nii")
IMAGE_NAMES = ("ct", "image", "img", "imaging")
LABEL_NAMES = ("label", "seg", "segmentation", "liver", "mask")
AFFINE_TOLERANCE = 1e-3
_STAGING_PREFIX = ".staging-"
_SPLIT_ALIASES = {
    "train": "train",
    "training": "train",
    "val": "validation",
    "valid": "validation",
    "validation": "validation",
    "test": "test",
    "testing": "test",
}


# --------------------------------------------------------------------------------------------
# Atomic writes
# --------------------------------------------------------------------------------------------


def write_text_atomic(path: str | os.PathLike, text: str, *, overwrite: bool = False) -> Path:
    """:func:`synthtumor.io.atomic_write_text`, creating the parent folders first.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = write_text_atomic(pathlib.Path(tmp) / "new" / "a.txt", "hello")
    ...     path.read_text()
    'hello'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(path, text, overwrite=overwrite)


def write_nifti_atomic(
    path: str | os.PathLike,
    data: np.ndarray,
    affine: np.ndarray,
    *,
    header: nib.Nifti1Header | None = None,
    overwrite: bool = False,
) -> Path:
    """:func:`synthtumor.io.save_nifti` (``data``'s dtype, exactly ``affine``), creating folders.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = write_nifti_atomic(pathlib.Path(tmp) / "x.nii.gz",
    ...                               np.zeros((2, 3, 4), np.uint8), np.eye(4))
    ...     nib.load(path).shape
    (2, 3, 4)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return save_nifti(path, data, affine=affine, header=header, overwrite=overwrite)


# --------------------------------------------------------------------------------------------
# Finding cases
# --------------------------------------------------------------------------------------------


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


def _nifti_files(folder: Path) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        name = case_name(path)
        if name is None or path.name.startswith(".") or not path.is_file():
            continue
        if name in files:
            raise ValueError(f"case {name!r} appears twice in {folder}")
        files[name] = path
    return files


def _first_existing(folder: Path, names: Sequence[str]) -> Path | None:
    for name in names:
        for suffix in NIFTI_SUFFIXES:
            candidate = folder / f"{name}{suffix}"
            if candidate.is_file():
                return candidate
    return None


def _subfolder(root: Path, names: Sequence[str]) -> Path | None:
    return next((root / n for n in names if (root / n).is_dir()), None)


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
    """
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"{root} is not a folder")
    images_dir = _subfolder(root, ("images", "imagesTr"))
    labels_dir = _subfolder(root, ("labels", "labelsTr"))
    if images_dir is not None and labels_dir is not None:
        images = {
            (n[:-5] if n.endswith("_0000") else n): p for n, p in _nifti_files(images_dir).items()
        }
        labels = _nifti_files(labels_dir)
        unpaired = sorted(images.keys() ^ labels.keys())
        if unpaired:
            raise ValueError(
                f"{images_dir} and {labels_dir} do not pair up: no partner for {unpaired}"
            )
        cases = [CaseFiles(name, images[name], labels[name]) for name in sorted(images)]
    else:
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
    if not cases:
        raise ValueError(
            f"no cases found in {root}: expected images/ + labels/ folders, or one folder per "
            f"case holding one of {list(image_names)} and one of {list(label_names)} (.nii.gz)"
        )
    return cases


def read_csv_cases(path: str | os.PathLike) -> list[CaseFiles]:
    """Read cases from a CSV with columns ``image,label`` and optional ``case``, ``split``.

    Relative paths are taken from the CSV's folder; the case name defaults to the image's file
    name without its NIfTI suffix.
    """
    path = Path(path)
    with path.open(newline="", encoding="utf-8") as stream:
        reader = csv.DictReader(stream)
        columns = {c.strip().lower() for c in reader.fieldnames or ()}
        if not {"image", "label"} <= columns:
            raise ValueError(f"{path} must have columns image,label[,case][,split], got {columns}")
        rows = [{k.strip().lower(): (v or "").strip() for k, v in row.items()} for row in reader]
    cases = []
    for number, row in enumerate(rows, start=2):
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
        cases.append(CaseFiles(name, image, label, split))
    if not cases:
        raise ValueError(f"{path} lists no cases")
    names = [c.case for c in cases]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"{path} lists these case names more than once: {duplicates}")
    return cases


# --------------------------------------------------------------------------------------------
# Label mapping and checks
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelMapping:
    """Which source label values are liver (-> 1) and tumour (-> 2); all others become 0.

    Examples
    --------
    >>> LabelMapping(liver_values=(5,), tumor_values=()).liver_values
    (5,)
    """

    liver_values: tuple[int, ...] = (1,)
    tumor_values: tuple[int, ...] = (2,)

    def __post_init__(self) -> None:
        if not self.liver_values:
            raise ValueError("liver_values must name at least one label value")
        overlap = set(self.liver_values) & set(self.tumor_values)
        if overlap:
            raise ValueError(f"values {sorted(overlap)} are both liver and tumour values")


def map_labels(labels: np.ndarray, mapping: LabelMapping) -> np.ndarray:
    """Map a source label map to uint8 0 (background) / 1 (liver) / 2 (tumour).

    Examples
    --------
    >>> map_labels(np.array([0, 5, 3, 7]), LabelMapping(liver_values=(5,), tumor_values=(7,)))
    array([0, 1, 0, 2], dtype=uint8)
    """
    labels = np.asarray(labels)
    if np.issubdtype(labels.dtype, np.floating):
        rounded = np.rint(labels)
        if not np.allclose(labels, rounded, rtol=0.0, atol=1e-3):
            raise ValueError("label map holds non-integer values")
        labels = rounded.astype(np.int64)
    mapped = np.zeros(labels.shape, dtype=np.uint8)
    mapped[np.isin(labels, mapping.liver_values)] = 1
    mapped[np.isin(labels, mapping.tumor_values)] = 2
    return mapped


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


def _header_problems(case: CaseFiles, tolerance: float) -> list[str]:
    """Shape and affine agreement of a scan and its mask, from the headers alone."""
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
    if len(image.shape) != 3:
        problems.append(f"{case.case}: image must be 3-D, got shape {image.shape}")
    if label.shape != image.shape:
        problems.append(
            f"{case.case}: label shape {label.shape} differs from image shape {image.shape}"
        )
    elif not np.allclose(image.affine, label.affine, rtol=0.0, atol=tolerance):
        problems.append(
            f"{case.case}: label affine differs from image affine (tolerance {tolerance}):\n"
            f"image\n{image.affine}\nlabel\n{label.affine}"
        )
    return problems


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


# --------------------------------------------------------------------------------------------
# Folds
# --------------------------------------------------------------------------------------------


def make_folds(
    cases: Sequence[str],
    has_tumor: Sequence[bool],
    *,
    n_folds: int = 5,
    seed: int = 0,
    validation_fraction: float = 0.2,
    with_test: bool = True,
) -> list[dict[str, Any]]:
    """Split cases into k folds, each with training, validation and test parts.

    Cases with and without tumour are shuffled separately (seeded) and dealt in turn to the
    folds, so both kinds spread evenly. Fold k's test part is the cases dealt to k; of the
    other cases a seeded ``validation_fraction`` (at least one) is the validation part and the
    rest the training part. With ``with_test=False`` there is one split of training and
    validation only (for a pool of training scans such as healthy livers).

    Returns
    -------
    list of dict
        One ``{"fold": k, "train": [...], "validation": [...], "test": [...]}`` per fold, names
        sorted within each part.

    Examples
    --------
    >>> folds = make_folds(list("abcdef"), [False] * 6, n_folds=3, seed=0)
    >>> [len(f["test"]) for f in folds], [len(f["validation"]) for f in folds]
    ([2, 2, 2], [1, 1, 1])
    >>> sorted(sum((f["test"] for f in folds), []))
    ['a', 'b', 'c', 'd', 'e', 'f']
    """
    cases = list(cases)
    if len(set(cases)) != len(cases):
        raise ValueError("case names must be unique")
    if len(has_tumor) != len(cases):
        raise ValueError("has_tumor must have one entry per case")
    if not 0.0 <= validation_fraction < 1.0:
        raise ValueError(f"validation_fraction must lie in [0, 1), got {validation_fraction}")
    rng = np.random.default_rng(seed)
    if not with_test:
        order = [cases[i] for i in rng.permutation(len(cases))]
        n_val = _validation_count(len(order), validation_fraction)
        return [_split(0, order[n_val:], order[:n_val], [])]
    if n_folds < 2:
        raise ValueError(f"n_folds must be >= 2 (or with_test=False), got {n_folds}")
    if len(cases) < n_folds:
        raise ValueError(
            f"{len(cases)} cases are too few for {n_folds} folds with training, validation and "
            "test parts; use fewer folds"
        )
    dealt: list[str] = []
    for flag in (True, False):
        group = sorted(c for c, t in zip(cases, has_tumor, strict=True) if bool(t) == flag)
        dealt.extend(group[i] for i in rng.permutation(len(group)))
    fold_of = {case: i % n_folds for i, case in enumerate(dealt)}
    folds = []
    for fold in range(n_folds):
        test = [c for c in dealt if fold_of[c] == fold]
        rest = sorted(c for c in dealt if fold_of[c] != fold)
        if len(rest) < 2:
            raise ValueError(f"fold {fold} leaves {len(rest)} case(s) for training and validation")
        fold_rng = np.random.default_rng([seed, fold])
        rest = [rest[i] for i in fold_rng.permutation(len(rest))]
        n_val = _validation_count(len(rest), validation_fraction)
        folds.append(_split(fold, rest[n_val:], rest[:n_val], test))
    return folds


def _feasible_folds(n_cases: int, n_folds: int) -> int:
    """`n_folds`, or (with a warning) the nearest number of folds that `n_cases` can fill.

    Each fold needs a test case and two others for training and validation; fewer folds are
    preferred to more.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _feasible_folds(3, 5), _feasible_folds(10, 5), _feasible_folds(3, 2), len(caught)
    (3, 5, 3, 2)
    """
    if n_folds < 2:
        raise ValueError(f"n_folds must be >= 2 (or with_test=False), got {n_folds}")
    feasible = [k for k in range(2, n_cases + 1) if n_cases - math.ceil(n_cases / k) >= 2]
    if not feasible:
        raise ValueError(
            f"{n_cases} case(s) are too few for folds with training, validation and test parts "
            "(3 needed); pass --no-test (with_test=False) for a pool of training scans"
        )
    if n_folds in feasible:
        return n_folds
    fewer = [k for k in feasible if k < n_folds]
    chosen = fewer[-1] if fewer else feasible[0]
    warnings.warn(
        f"{n_cases} cases cannot fill {n_folds} folds with training, validation and test parts; "
        f"using {chosen} folds (pass --folds {chosen} to silence this)",
        stacklevel=3,
    )
    return chosen


def _validation_count(n: int, fraction: float) -> int:
    if fraction == 0.0 or n < 2:
        return 0
    return min(n - 1, max(1, round(fraction * n)))


def _split(fold: int, train: list[str], validation: list[str], test: list[str]) -> dict[str, Any]:
    return {
        "fold": fold,
        "train": sorted(train),
        "validation": sorted(validation),
        "test": sorted(test),
    }


def _fixed_split(cases: Sequence[CaseFiles]) -> list[dict[str, Any]]:
    parts: dict[str, list[str]] = {"train": [], "validation": [], "test": []}
    for case in cases:
        if case.split is None:
            raise ValueError(f"case {case.case} has no split while others have one")
        parts[case.split].append(case.case)
    if not parts["train"]:
        raise ValueError("the fixed split has no training case")
    return [_split(0, parts["train"], parts["validation"], parts["test"])]


# --------------------------------------------------------------------------------------------
# Preparing a dataset
# --------------------------------------------------------------------------------------------


def prepare_dataset(
    source: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    liver_values: Sequence[int] = (1,),
    tumor_values: Sequence[int] | None = None,
    n_folds: int = 5,
    seed: int = 0,
    validation_fraction: float = 0.2,
    with_test: bool = True,
    image_names: Sequence[str] = IMAGE_NAMES,
    label_names: Sequence[str] = LABEL_NAMES,
    skip_invalid: bool = False,
    affine_tolerance: float = AFFINE_TOLERANCE,
    overwrite: bool = False,
    name: str | None = None,
) -> Path:
    """Check scans and masks, write 0/1/2 label maps and a datalist with k-fold splits.

    Parameters
    ----------
    source : path-like
        A folder in one of the accepted layouts, or a CSV file (see the module docstring).
    out_dir : path-like
        Receives ``labels/<case>.nii.gz`` and ``datalist.json``.
    liver_values, tumor_values : sequence of int
        Source label values mapped to liver (1) and tumour (2). ``tumor_values=None`` means
        ``(2,)`` when ``liver_values`` is the default ``(1,)`` (LiTS-style), else none (e.g.
        ``liver_values=(5,)`` for a TotalSegmentator class map, where 2 is a kidney).
    n_folds, seed, validation_fraction, with_test
        See :func:`make_folds`. A CSV with a ``split`` column uses that split instead.
    image_names, label_names : sequence of str
        File names (without suffix) tried in the one-folder-per-case layout.
    skip_invalid : bool
        Leave out (with a warning) cases that fail the checks instead of raising.
    affine_tolerance : float
        Largest absolute difference allowed between the image and label affines.
    overwrite : bool
        Replace existing outputs.
    name : str, optional
        Dataset name recorded in the datalist.

    Returns
    -------
    Path
        The datalist file.

    Raises
    ------
    ValueError
        A case fails a check (shape or affine mismatch, not 3-D, non-integer labels, empty liver
        after mapping) and ``skip_invalid`` is False; all failing cases are listed.
    FileExistsError
        An output exists and ``overwrite`` is False (checked before anything is written).
    """
    source = Path(source)
    out_dir = Path(out_dir)
    liver_values = tuple(int(v) for v in liver_values)
    if tumor_values is None:
        tumor_values = (2,) if liver_values == (1,) else ()
    mapping = LabelMapping(liver_values, tuple(int(v) for v in tumor_values))
    if source.is_file() and source.suffix.lower() == ".csv":
        cases = read_csv_cases(source)
    else:
        cases = find_cases(source, image_names=image_names, label_names=label_names)

    labels_dir = out_dir / "labels"
    datalist_path = out_dir / "datalist.json"
    targets = [datalist_path, *(labels_dir / f"{c.case}.nii.gz" for c in cases)]
    existing = [str(p) for p in targets if p.exists()]
    if existing and not overwrite:
        raise FileExistsError(
            f"outputs exist ({', '.join(existing[:3])}{' ...' if len(existing) > 3 else ''}); "
            "pass overwrite=True (--force) to replace them"
        )

    problems: dict[str, list[str]] = {}
    for case in cases:
        found = _header_problems(case, affine_tolerance)
        if found:
            problems[case.case] = found
    labels_dir.mkdir(parents=True, exist_ok=True)
    remove_partial_files(out_dir)  # a datalist half-written by a killed run
    for stale in labels_dir.glob(f"{_STAGING_PREFIX}*"):  # left by a killed run
        shutil.rmtree(stale, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(dir=labels_dir, prefix=_STAGING_PREFIX))
    try:
        records = []
        for case in cases:
            if case.case in problems:
                continue
            try:
                records.append(_map_case(case, mapping, staging, labels_dir))
            except ValueError as error:
                problems[case.case] = [f"{case.case}: {error}"]
        if problems:
            message = "\n".join(line for lines in problems.values() for line in lines)
            if not skip_invalid:
                raise ValueError(f"{len(problems)} case(s) failed the checks:\n{message}")
            warnings.warn(f"leaving out {len(problems)} case(s):\n{message}", stacklevel=2)
        if not records:
            raise ValueError("no valid case left")
        kept = {r.case for r in records}
        if any(c.split is not None for c in cases):
            folds = _fixed_split([c for c in cases if c.case in kept])
        else:
            folds = make_folds(
                [r.case for r in records],
                [r.has_tumor for r in records],
                n_folds=_feasible_folds(len(records), n_folds) if with_test else n_folds,
                seed=seed,
                validation_fraction=validation_fraction,
                with_test=with_test,
            )
        fold_of = {case: split["fold"] for split in folds for case in split["test"]}
        entries = [{**record.to_dict(), "fold": fold_of.get(record.case, -1)} for record in records]
        datalist = _datalist(
            entries, folds, mapping, source, name, seed, validation_fraction, with_test
        )
        for record in records:
            os.replace(staging / f"{record.case}.nii.gz", labels_dir / f"{record.case}.nii.gz")
        write_text_atomic(datalist_path, json.dumps(datalist, indent=2) + "\n", overwrite=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return datalist_path


def _map_case(
    case: CaseFiles, mapping: LabelMapping, staging: Path, labels_dir: Path
) -> CaseRecord:
    # Reading the CT's data too: a truncated scan fails here, not in training.
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
    if far > 0.5:
        warnings.warn(
            f"{case.case}: {far:.0%} of the 'tumor' voxels are not next to the liver; are "
            f"--tumor-values {list(mapping.tumor_values)} right?",
            stacklevel=3,
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


def _datalist(
    entries: list[dict[str, Any]],
    folds: list[dict[str, Any]],
    mapping: LabelMapping,
    source: Path,
    name: str | None,
    seed: int,
    validation_fraction: float,
    with_test: bool,
) -> dict[str, Any]:
    return {
        "name": name or source.stem,
        "description": "synthtumor prepare: CT scans with 0/1/2 label maps and k-fold splits",
        "tensorImageSize": "3D",
        "modality": {"0": "CT"},
        "labels": {"0": "background", "1": "liver", "2": "tumor"},
        "synthtumor_datalist_version": DATALIST_VERSION,
        "source": str(source.resolve()),
        "label_mapping": {
            "liver_values": list(mapping.liver_values),
            "tumor_values": list(mapping.tumor_values),
        },
        "numTraining": len(entries),
        "numWithTumor": sum(bool(e["has_tumor"]) for e in entries),
        "training": entries,
        "folds": {
            "n_folds": len(folds),
            "seed": seed,
            "validation_fraction": validation_fraction,
            "with_test": with_test,
            "splits": folds,
        },
    }


# --------------------------------------------------------------------------------------------
# Reading a datalist
# --------------------------------------------------------------------------------------------


def load_datalist(path: str | os.PathLike) -> dict[str, Any]:
    """Read and check a datalist written by :func:`prepare_dataset`.

    Relative image and label paths are taken from the datalist's folder. The label names of
    an older version's datalist (``"2": "tumour"``) come back spelled as now (``"tumor"``).
    """
    path = Path(path)
    datalist = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(datalist, dict) or "training" not in datalist or "folds" not in datalist:
        raise ValueError(f"{path} is not a synthtumor datalist (no 'training' or 'folds')")
    labels = datalist.get("labels")
    if isinstance(labels, dict):
        datalist["labels"] = {value: SPELLING.get(name, name) for value, name in labels.items()}
    for entry in datalist["training"]:
        for key in ("image", "label"):
            if not Path(entry[key]).is_absolute():
                entry[key] = str((path.parent / entry[key]).resolve())
    return datalist


def fold_split(datalist: dict[str, Any], fold: int) -> dict[str, list[dict[str, Any]]]:
    """The training, validation and test entries of one fold.

    Examples
    --------
    >>> datalist = {"training": [{"case": c} for c in "abc"],
    ...             "folds": {"splits": [{"fold": 0, "train": ["a"], "validation": ["b"],
    ...                                   "test": ["c"]}]}}
    >>> {part: [e["case"] for e in entries] for part, entries in fold_split(datalist, 0).items()}
    {'train': ['a'], 'validation': ['b'], 'test': ['c']}
    """
    splits = datalist["folds"]["splits"]
    chosen = [s for s in splits if s["fold"] == fold]
    if not chosen:
        raise ValueError(f"fold {fold} is not in the datalist (it has {len(splits)} fold(s))")
    entries = {entry["case"]: entry for entry in datalist["training"]}
    return {part: [entries[c] for c in chosen[0][part]] for part in ("train", "validation", "test")}


def link_part(
    datalist_path: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    fold: int = 0,
    part: str = "test",
    key: str = "label",
    copy: bool = False,
    overwrite: bool = False,
) -> list[Path]:
    """Gather the label maps (or images) of one fold's part into a folder, as ``<case>.nii.gz``.

    Gives ``evaluate_folder`` a reference folder holding exactly the cases that were predicted.
    Files are symbolic links unless ``copy`` (or where links are not supported).

    Returns
    -------
    list of Path
        The created files.
    """
    entries = fold_split(load_datalist(datalist_path), fold)[part]
    if not entries:
        raise ValueError(f"fold {fold} has no {part} case")
    out_dir = Path(out_dir)
    targets = [out_dir / f"{entry['case']}.nii.gz" for entry in entries]
    existing = [str(t) for t in targets if t.exists() or t.is_symlink()]
    if existing and not overwrite:
        raise FileExistsError(f"outputs exist: {existing[:3]}; pass overwrite=True to replace")
    out_dir.mkdir(parents=True, exist_ok=True)
    for entry, target in zip(entries, targets, strict=True):
        source = Path(entry[key])
        if not source.name.lower().endswith(".nii.gz"):
            raise ValueError(f"{source} is not a .nii.gz file")
        target.unlink(missing_ok=True)
        if copy:
            shutil.copyfile(source, target)
        else:
            try:
                target.symlink_to(source.resolve())
            except OSError:
                shutil.copyfile(source, target)
    return targets


# --------------------------------------------------------------------------------------------
# A demo dataset from a few scans (smoke runs and examples)
# --------------------------------------------------------------------------------------------


@renamed_keywords({"synthetic_tumours": "synthetic_tumors", "tumour_size": "tumor_size"})
def make_demo_dataset(
    scans: Iterable[tuple[str, str | os.PathLike, str | os.PathLike]],
    out_dir: str | os.PathLike,
    *,
    variants: Sequence[str] = ("original", "mirrored"),
    synthetic_tumors: bool = False,
    tumor_size: str | None = "small",
    seed: int = 0,
    overwrite: bool = False,
) -> list[CaseFiles]:
    """Write a small ``images/`` + ``labels/`` dataset of variants of a few scans.

    For smoke tests and demonstrations only: the variants (the scan as it is, or mirrored along
    its first axis) are not independent patients. With ``synthetic_tumors=True`` each variant
    gets synthetic tumours (drawn with `seed`) written into the image and the label, a stand-in
    for scans with real tumours when none are at hand.

    Parameters
    ----------
    scans : iterable of (name, ct_path, liver_mask_path)
        Source scans with binary (0/1) liver masks.
    out_dir : path-like
        Receives ``images/<case>.nii.gz`` and ``labels/<case>.nii.gz`` (0/1/2 labels).
    variants : sequence of {"original", "mirrored"}
        Which variants to write per scan; the case name is ``<name>_<variant>``.
    synthetic_tumors, tumor_size, seed
        Insert tumours with :func:`synthtumor.synthesize` (size preset `tumor_size`). The old
        spellings ``synthetic_tumours`` and ``tumour_size`` still work, with a
        DeprecationWarning.
    overwrite : bool
        Replace existing files.

    Returns
    -------
    list of CaseFiles
    """
    from synthtumor import synthesize

    out_dir = Path(out_dir)
    cases = []
    seeds = np.random.SeedSequence(seed).spawn(64)
    index = 0
    for name, ct_path, liver_path in scans:
        ct_image = _open_nifti(Path(ct_path), "CT")
        ct = np.asanyarray(ct_image.dataobj)
        liver_image = _open_nifti(Path(liver_path), "liver mask")
        liver = (np.asanyarray(liver_image.dataobj) > 0).astype(np.uint8)
        spacing = as_spacing(ct_image.header.get_zooms()[:3])
        for variant in variants:
            if variant == "original":
                image, mask = ct, liver
            elif variant == "mirrored":
                image, mask = np.ascontiguousarray(ct[::-1]), np.ascontiguousarray(liver[::-1])
            else:
                raise ValueError(f"variant must be 'original' or 'mirrored', got {variant!r}")
            label = mask
            if synthetic_tumors:
                rng = np.random.default_rng(seeds[index % len(seeds)])
                image, label, _ = synthesize(image, mask, spacing=spacing, size=tumor_size, rng=rng)
            index += 1
            case = f"{name}_{variant}"
            image_path = write_nifti_atomic(
                out_dir / "images" / f"{case}.nii.gz",
                np.asarray(image),
                ct_image.affine,
                header=ct_image.header,
                overwrite=overwrite,
            )
            label_path = write_nifti_atomic(
                out_dir / "labels" / f"{case}.nii.gz",
                np.asarray(label, dtype=np.uint8),
                ct_image.affine,
                header=ct_image.header,
                overwrite=overwrite,
            )
            cases.append(CaseFiles(case, image_path, label_path))
    return cases
