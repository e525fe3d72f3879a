"""Evaluate a folder of predicted label maps against a folder of reference label maps.

:func:`evaluate_folder` pairs NIfTI files by case name (:func:`~.case_pairs.pair_cases`), computes
:func:`~.metrics.case_metrics` for every case (:func:`evaluate_cases`), summarises them
(:func:`~.summary.summarise`) and writes the report files named in :data:`REPORT_FILES`
(:mod:`~.evaluation_report`). :func:`compare_folders` evaluates two prediction sets on the same
cases and compares them with :func:`~.comparison.paired_comparison`.

Every report file is written atomically (temporary file in the same folder, then
:func:`os.replace`) after all report contents have been computed, and existing report files are
only replaced with ``overwrite=True``.

Every public name this module had before those parts were split off stays importable from here
(and in ``__all__``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal, TypedDict

import numpy as np

from synthtumor.io import AFFINE_ATOL, atomic_write_bytes, remove_partial_files
from synthtumor.reference.case_pairs import IMAGE_SUFFIX as IMAGE_SUFFIX
from synthtumor.reference.case_pairs import LABEL_SUFFIX as LABEL_SUFFIX
from synthtumor.reference.case_pairs import pair_cases
from synthtumor.reference.comparison import (
    comparison_markdown,
    paired_comparison,
    read_per_case_csv,
)
from synthtumor.reference.evaluation_report import (
    LESION_COLUMNS,
    PER_CASE_COLUMNS,
    REPORT_FILES,
    refuse_existing,
    report_contents,
)
from synthtumor.reference.metrics import MIN_INSIDE_FRACTION, case_metrics
from synthtumor.reference.scans import read_label_map
from synthtumor.reference.stats import RngLike
from synthtumor.reference.summary import Summary, summarise

__all__ = [
    "LESION_COLUMNS",
    "PER_CASE_COLUMNS",
    "REPORT_FILES",
    "Summary",
    "compare_folders",
    "comparison_markdown",
    "evaluate_cases",
    "evaluate_folder",
    "pair_cases",
    "paired_comparison",
    "read_per_case_csv",
    "summarise",
]


class _CaseOptions(TypedDict):
    """The keyword options of :func:`evaluate_cases`."""

    liver_label: int
    tumor_label: int
    tolerance_mm: float
    overlap_threshold: float


def _check_same_grid(
    case: str, pred: np.ndarray, pred_affine: np.ndarray, ref: np.ndarray, ref_affine: np.ndarray
) -> None:
    """Raise ValueError naming `case` unless prediction and reference share shape and affine."""
    if pred.shape != ref.shape:
        raise ValueError(
            f"case {case}: prediction shape {pred.shape} differs from reference shape {ref.shape}"
        )
    if not np.allclose(pred_affine, ref_affine, rtol=0.0, atol=AFFINE_ATOL):
        raise ValueError(
            f"case {case}: prediction and reference affines differ (tolerance "
            f"{AFFINE_ATOL}):\nprediction\n{pred_affine}\nreference\n{ref_affine}"
        )


def evaluate_cases(
    pred_dir: str | os.PathLike,
    ref_dir: str | os.PathLike,
    *,
    liver_label: int = 1,
    tumor_label: int = 2,
    tolerance_mm: float = 2.0,
    overlap_threshold: float = 0.0,
) -> list[dict[str, Any]]:
    """Per-case metric records for every case of two folders (nothing is written).

    The voxel spacing is read from the reference header (``get_zooms()[:3]``, mm). Prediction and
    reference must have the same shape and affines equal within 1e-3 (absolute).

    Returns
    -------
    list of dict
        ``{"case": name, **case_metrics(...)}`` per case, sorted by case name.

    Raises
    ------
    ValueError
        See :func:`pair_cases`; also on a shape or affine mismatch (naming the case) and on files
        that are not 3-D integer label maps.
    """
    records = []
    for case, pred_path, ref_path in pair_cases(pred_dir, ref_dir):
        pred, pred_affine, _ = read_label_map(pred_path)
        ref, ref_affine, spacing = read_label_map(ref_path)
        _check_same_grid(case, pred, pred_affine, ref, ref_affine)
        metrics = case_metrics(
            pred,
            ref,
            spacing=spacing,
            liver_label=liver_label,
            tumor_label=tumor_label,
            tolerance_mm=tolerance_mm,
            overlap_threshold=overlap_threshold,
        )
        records.append({"case": case, **metrics})
    return records


def evaluate_folder(
    pred_dir: str | os.PathLike,
    ref_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    organ_label: int | None = None,
    tumor_label: int = 2,
    organ: str = "liver",
    liver_label: int | None = None,
    tolerance_mm: float = 2.0,
    overwrite: bool = False,
    n_resamples: int = 10_000,
    rng: RngLike = 0,
    confidence: float = 0.95,
    overlap_threshold: float = 0.0,
    min_predicted_volume_mm3: float = 0.0,
) -> Summary:
    """Evaluate predicted label maps against references and write a report folder.

    Parameters
    ----------
    pred_dir, ref_dir : path-like
        Folders of ``*.nii.gz`` / ``*.nii`` label maps, paired by case name (see
        :func:`pair_cases`).
    out_dir : path-like
        Report folder (created if missing). Receives :data:`REPORT_FILES`: ``per_case.csv``,
        ``lesions.csv``, ``summary.json``, ``summary.md`` and ``detection_by_radius.png``.
    organ_label, tumor_label : int
        Label values (default 1 and 2); the organ region is organ or tumour.
    organ : str, default "liver"
        The organ's name, used in the report ("Pancreas DSC"; its metric keeps the key
        ``liver_dsc``).
    liver_label : int or None
        The old name of `organ_label` (deprecated: it warns).
    tolerance_mm : float, default 2.0
        NSD tolerance in mm.
    overwrite : bool, default False
        Replace existing report files. Otherwise any existing report file raises
        :class:`FileExistsError` before anything is computed or written.
    n_resamples : int, default 10_000
        Bootstrap resamples for the CIs of means.
    rng : int, Generator or None, default 0
        Seed of the bootstrap.
    confidence : float, default 0.95
        Confidence level of all intervals.
    overlap_threshold : float, default 0.0
        Lesion detection criterion (0 = any overlapping voxel), see
        :func:`~.metrics.lesion_detection`.
    min_predicted_volume_mm3 : float, default 0.0
        Minimum predicted tumour volume for a case to count as predicted positive.

    The summary reports lesion-level sensitivity, precision and false positives per scan side
    by side (see :class:`Summary`), in ``summary.md`` and in the plot.

    Returns
    -------
    Summary
        With ``files`` mapping each report file name to its path.

    Raises
    ------
    ValueError
        Unpaired or duplicate cases, shape or affine mismatches (naming the case), bad arguments.
    FileExistsError
        A report file exists and ``overwrite`` is False.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import nibabel as nib, numpy as np
    >>> labels = np.zeros((10, 10, 10), np.uint8); labels[1:9, 1:9, 1:9] = 1
    >>> labels[3:6, 3:6, 3:6] = 2
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     root = pathlib.Path(tmp)
    ...     for folder in ("pred", "ref"):
    ...         (root / folder).mkdir()
    ...         nib.save(nib.Nifti1Image(labels, np.eye(4)), root / folder / "case01.nii.gz")
    ...     summary = evaluate_folder(root / "pred", root / "ref", root / "report", n_resamples=100)
    ...     sorted(path.name for path in (root / "report").iterdir())
    ['detection_by_radius.png', 'lesions.csv', 'per_case.csv', 'summary.json', 'summary.md']
    >>> summary.metrics["tumor_dsc"].estimate
    1.0
    """
    from synthtumor.organ_map import renamed_label

    liver_label = renamed_label(organ_label, liver_label)
    out_path = Path(out_dir)
    targets = {name: out_path / name for name in REPORT_FILES}
    refuse_existing(targets.values(), overwrite)

    records = evaluate_cases(
        pred_dir,
        ref_dir,
        liver_label=liver_label,
        tumor_label=tumor_label,
        tolerance_mm=tolerance_mm,
        overlap_threshold=overlap_threshold,
    )
    summary = summarise(
        records,
        confidence=confidence,
        n_resamples=n_resamples,
        rng=rng,
        min_predicted_volume_mm3=min_predicted_volume_mm3,
        settings={
            "pred_dir": str(pred_dir),
            "ref_dir": str(ref_dir),
            "liver_label": liver_label,
            "organ": organ,
            "tumor_label": tumor_label,
            "tolerance_mm": tolerance_mm,
            "overlap_threshold": overlap_threshold,
            "min_inside": MIN_INSIDE_FRACTION,
        },
    )
    # Render everything before touching the disk so a failure leaves no report files behind.
    contents = report_contents(records, summary)
    out_path.mkdir(parents=True, exist_ok=True)
    remove_partial_files(out_path)  # left by a killed run
    for name, data in contents.items():
        atomic_write_bytes(targets[name], data, overwrite=overwrite)
    return replace(summary, files=targets)


def compare_folders(
    pred_a: str | os.PathLike,
    pred_b: str | os.PathLike,
    ref_dir: str | os.PathLike,
    *,
    out_file: str | os.PathLike | None = None,
    metrics: Sequence[str] = ("tumor_dsc", "tumor_nsd", "liver_dsc"),
    method: Literal["wilcoxon", "permutation", "t"] = "wilcoxon",
    name_a: str | None = None,
    name_b: str | None = None,
    liver_label: int = 1,
    tumor_label: int = 2,
    tolerance_mm: float = 2.0,
    overlap_threshold: float = 0.0,
    rng: RngLike = 0,
    overwrite: bool = False,
) -> list[dict[str, Any]]:
    """Evaluate two prediction folders against one reference folder and test them pairwise.

    Both folders must hold exactly the reference cases. Each metric in ``metrics`` is compared
    with :func:`paired_comparison`; with ``out_file`` the Markdown table of
    :func:`comparison_markdown` is written there atomically (refusing to replace an existing
    file unless ``overwrite=True``).

    Returns
    -------
    list of dict
        One :func:`paired_comparison` result per metric.
    """
    target = Path(out_file) if out_file is not None else None
    if target is not None:
        refuse_existing([target], overwrite)
    options: _CaseOptions = {
        "liver_label": liver_label,
        "tumor_label": tumor_label,
        "tolerance_mm": tolerance_mm,
        "overlap_threshold": overlap_threshold,
    }
    records_a = evaluate_cases(pred_a, ref_dir, **options)
    records_b = evaluate_cases(pred_b, ref_dir, **options)
    generator = np.random.default_rng(rng)
    results = [
        paired_comparison(records_a, records_b, metric=metric, method=method, rng=generator)
        for metric in metrics
    ]
    if target is not None:
        title_a = name_a or Path(pred_a).name
        title_b = name_b or Path(pred_b).name
        text = comparison_markdown(results, name_a=title_a, name_b=title_b)
        atomic_write_bytes(target, text.encode(), overwrite=overwrite)
    return results
