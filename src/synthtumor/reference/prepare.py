"""``synthtumor prepare``: CT scans and masks -> mapped label maps and a checked datalist.

:func:`prepare_dataset` runs the steps, each in its own module:

* finding the cases (:mod:`~synthtumor.reference.case_discovery`): an ``images/`` +
  ``labels/`` folder (also ``imagesTr``/``labelsTr``; an nnU-Net channel suffix ``_0000`` on
  image names is dropped), one folder per case (``ROOT/X/ct.nii.gz`` with
  ``ROOT/X/liver.nii.gz``; ``--label-name organs`` picks ``organs.nii.gz``), or a CSV file with
  columns ``image,label`` and optional ``case`` and ``split`` (train/validation/test; with a
  ``split`` column that fixed split is used instead of k folds);
* mapping the labels (:mod:`~synthtumor.reference.label_mapping`): voxels whose value is in
  ``liver_values`` become 1 (liver), those in ``tumor_values`` become 2 (tumour), everything
  else 0. TotalSegmentator's "total" task has the liver at 5 (``liver_values=(5,)``, no tumour
  class); LiTS has liver 1 and tumour 2 (the default);
* checking every case (:mod:`~synthtumor.reference.case_checks`), then splitting the cases into
  folds (:mod:`~synthtumor.reference.folds`) and writing the datalist
  (:mod:`~synthtumor.reference.datalist`).

Outputs (in ``out_dir``): the mapped label maps ``labels/X.nii.gz`` (uint8, written on the
image's grid and affine; the scans themselves are never copied or modified) and
``datalist.json``, a Decathlon-style datalist whose ``training`` list holds every case with
absolute paths, its fold and its ``has_tumor`` flag, and whose ``folds`` section holds the
training, validation and test parts of each fold. The mapping is applied once, here, so training
and evaluation read 0/1/2 label maps directly. All files are written atomically and existing
outputs are only replaced with ``overwrite=True`` (``--force``).

The public names of those modules (and :func:`make_demo_dataset`, :func:`write_text_atomic`,
:func:`write_nifti_atomic`) are importable from here too.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from synthtumor.io import AFFINE_ATOL, remove_partial_files
from synthtumor.io import NIFTI_SUFFIXES as NIFTI_SUFFIXES
from synthtumor.reference.case_checks import CaseRecord, header_problems, map_case
from synthtumor.reference.case_discovery import (
    IMAGE_NAMES,
    LABEL_NAMES,
    CaseFiles,
    case_name,
    find_cases,
    read_csv_cases,
)
from synthtumor.reference.datalist import DATALIST_VERSION, link_part, load_datalist, make_datalist
from synthtumor.reference.demo_data import make_demo_dataset
from synthtumor.reference.folds import feasible_folds, fixed_split, fold_split, make_folds
from synthtumor.reference.label_mapping import LabelMapping, map_labels, mapping_from_values
from synthtumor.reference.writers import write_nifti_atomic, write_text_atomic

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

AFFINE_TOLERANCE = AFFINE_ATOL
"""The old name of :data:`synthtumor.io.AFFINE_ATOL` (mm), the default `affine_tolerance`."""

_STAGING_PREFIX = ".staging-"


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
    affine_tolerance: float = AFFINE_ATOL,
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
        Largest absolute difference (mm) allowed between the image and label affines.
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

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import nibabel as nib, numpy as np
    >>> labels = np.zeros((8, 8, 8), np.uint8)
    >>> labels[2:6, 2:6, 2:6], labels[3, 3, 3] = 1, 2
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     root = pathlib.Path(tmp)
    ...     for case in ("a", "b", "c"):
    ...         (root / "src" / case).mkdir(parents=True)
    ...         ct = nib.Nifti1Image(np.zeros((8, 8, 8), np.int16), np.eye(4))
    ...         nib.save(ct, root / "src" / case / "ct.nii.gz")
    ...         nib.save(nib.Nifti1Image(labels, np.eye(4)), root / "src" / case / "label.nii.gz")
    ...     datalist = load_datalist(prepare_dataset(root / "src", root / "out", n_folds=3))
    >>> datalist["numTraining"], datalist["numWithTumor"], datalist["folds"]["n_folds"]
    (3, 3, 3)
    """
    source, out_dir = Path(source), Path(out_dir)
    mapping = mapping_from_values(liver_values, tumor_values)
    cases = _read_cases(source, image_names, label_names)
    labels_dir = out_dir / "labels"
    datalist_path = out_dir / "datalist.json"
    _refuse_existing([datalist_path, *(labels_dir / f"{c.case}.nii.gz" for c in cases)], overwrite)
    problems = {c.case: found for c in cases if (found := header_problems(c, affine_tolerance))}
    labels_dir.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(out_dir, labels_dir)
    staging = Path(tempfile.mkdtemp(dir=labels_dir, prefix=_STAGING_PREFIX))
    try:
        records, failed = _map_cases(cases, set(problems), mapping, staging, labels_dir)
        problems.update(failed)
        _report(problems, skip_invalid)
        if not records:
            raise ValueError("no valid case left")
        folds = _folds(cases, records, n_folds, seed, validation_fraction, with_test)
        datalist = make_datalist(
            records,
            folds,
            mapping,
            source=source,
            name=name,
            seed=seed,
            validation_fraction=validation_fraction,
            with_test=with_test,
        )
        for record in records:
            os.replace(staging / f"{record.case}.nii.gz", labels_dir / f"{record.case}.nii.gz")
        write_text_atomic(datalist_path, json.dumps(datalist, indent=2) + "\n", overwrite=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return datalist_path


def _read_cases(
    source: Path, image_names: Sequence[str], label_names: Sequence[str]
) -> list[CaseFiles]:
    if source.is_file() and source.suffix.lower() == ".csv":
        return read_csv_cases(source)
    return find_cases(source, image_names=image_names, label_names=label_names)


def _refuse_existing(targets: Sequence[Path], overwrite: bool) -> None:
    existing = [str(p) for p in targets if p.exists()]
    if existing and not overwrite:
        raise FileExistsError(
            f"outputs exist ({', '.join(existing[:3])}{' ...' if len(existing) > 3 else ''}); "
            "pass overwrite=True (--force) to replace them"
        )


def _remove_leftovers(out_dir: Path, labels_dir: Path) -> None:
    """What a killed run left: a half-written datalist, staging folders of label maps."""
    remove_partial_files(out_dir)
    for stale in labels_dir.glob(f"{_STAGING_PREFIX}*"):
        shutil.rmtree(stale, ignore_errors=True)


def _map_cases(
    cases: Sequence[CaseFiles],
    skipped: set[str],
    mapping: LabelMapping,
    staging: Path,
    labels_dir: Path,
) -> tuple[list[CaseRecord], dict[str, list[str]]]:
    """The records of the cases not in `skipped` that map, and the problems of those that fail."""
    records = []
    failed: dict[str, list[str]] = {}
    for case in cases:
        if case.case in skipped:
            continue
        try:
            # stacklevel 4: a warning names the caller of prepare_dataset.
            records.append(map_case(case, mapping, staging, labels_dir, stacklevel=4))
        except ValueError as error:
            failed[case.case] = [f"{case.case}: {error}"]
    return records, failed


def _report(problems: dict[str, list[str]], skip_invalid: bool) -> None:
    """Raise the cases' problems, or with `skip_invalid` warn that those cases are left out."""
    if not problems:
        return
    message = "\n".join(line for lines in problems.values() for line in lines)
    if not skip_invalid:
        raise ValueError(f"{len(problems)} case(s) failed the checks:\n{message}")
    warnings.warn(f"leaving out {len(problems)} case(s):\n{message}", stacklevel=3)


def _folds(
    cases: Sequence[CaseFiles],
    records: Sequence[CaseRecord],
    n_folds: int,
    seed: int,
    validation_fraction: float,
    with_test: bool,
) -> list[dict[str, Any]]:
    """A CSV's fixed split of the kept cases, else k folds of the records."""
    kept = {r.case for r in records}
    if any(c.split is not None for c in cases):
        return fixed_split([c for c in cases if c.case in kept])
    if with_test:
        n_folds = feasible_folds(len(records), n_folds, stacklevel=4)
    return make_folds(
        [r.case for r in records],
        [r.has_tumor for r in records],
        n_folds=n_folds,
        seed=seed,
        validation_fraction=validation_fraction,
        with_test=with_test,
    )
