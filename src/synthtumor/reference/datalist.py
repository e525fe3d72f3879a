"""The datalist of ``synthtumor prepare``: its contents, reading it back, and one fold's files.

``datalist.json`` is a Decathlon-style datalist whose ``training`` list holds every case (a
:class:`~synthtumor.reference.case_checks.CaseRecord`: absolute paths, its test fold and its
``has_tumor`` flag) and whose ``folds`` section holds the training, validation and test parts of
each fold (:mod:`synthtumor.reference.folds`). :func:`make_datalist` builds it,
:func:`load_datalist` reads and checks it, and :func:`link_part` gathers the files of one
fold's part into a folder.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from synthtumor._renamed import SPELLING
from synthtumor.reference.case_checks import CaseRecord
from synthtumor.reference.folds import fold_split
from synthtumor.reference.label_mapping import LabelMapping

__all__ = ["DATALIST_VERSION", "link_part", "load_datalist", "make_datalist"]

DATALIST_VERSION = 1
"""Version of the datalist format, recorded as ``synthtumor_datalist_version``."""


def make_datalist(
    records: Sequence[CaseRecord],
    folds: list[dict[str, Any]],
    mapping: LabelMapping,
    *,
    source: Path,
    name: str | None,
    seed: int,
    validation_fraction: float,
    with_test: bool,
) -> dict[str, Any]:
    """The datalist of checked cases and their folds (``name`` defaults to `source`'s stem).

    Each entry's ``fold`` is the fold whose test part holds the case, else -1.

    Examples
    --------
    >>> record = CaseRecord("a", "/d/a.nii.gz", "/p/a.nii.gz", "/d/m.nii.gz", False,
    ...                     (4, 4, 4), (1.0, 1.0, 1.0), 10, 0)
    >>> folds = [{"fold": 0, "train": [], "validation": [], "test": ["a"]}]
    >>> datalist = make_datalist([record], folds, LabelMapping(), source=Path("/d/cases.csv"),
    ...                          name=None, seed=0, validation_fraction=0.2, with_test=True)
    >>> datalist["name"], datalist["training"][0]["fold"], datalist["folds"]["n_folds"]
    ('cases', 0, 1)
    """
    fold_of = {case: split["fold"] for split in folds for case in split["test"]}
    entries = [{**record.to_dict(), "fold": fold_of.get(record.case, -1)} for record in records]
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


def load_datalist(path: str | os.PathLike) -> dict[str, Any]:
    """Read and check a datalist written by :func:`synthtumor.reference.prepare.prepare_dataset`.

    Relative image and label paths are taken from the datalist's folder. The label names of
    an older version's datalist (``"2": "tumour"``) come back spelled as now (``"tumor"``).

    Raises
    ------
    ValueError
        The file holds no ``training`` or ``folds`` section.

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = pathlib.Path(tmp) / "datalist.json"
    ...     entry = {"case": "a", "image": "images/a.nii.gz", "label": "/p/a.nii.gz"}
    ...     _ = path.write_text(json.dumps({"training": [entry], "folds": {}}))
    ...     loaded = load_datalist(path)["training"][0]
    ...     loaded["image"] == str(pathlib.Path(tmp).resolve() / "images" / "a.nii.gz")
    True
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

    Raises
    ------
    ValueError
        The part holds no case, or a file to gather is not ``.nii.gz``.
    FileExistsError
        A target exists and `overwrite` is False (checked before anything is written).
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
        _place(Path(entry[key]), target, copy=copy)
    return targets


def _place(source: Path, target: Path, *, copy: bool) -> None:
    """`target` as a link to `source` (a copy with `copy`, or where links fail)."""
    if not source.name.lower().endswith(".nii.gz"):
        raise ValueError(f"{source} is not a .nii.gz file")
    target.unlink(missing_ok=True)
    if copy:
        shutil.copyfile(source, target)
        return
    try:
        target.symlink_to(source.resolve())
    except OSError:
        shutil.copyfile(source, target)
