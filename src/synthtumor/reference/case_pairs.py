"""Find the cases of a prediction folder and a reference folder and pair them by name.

:func:`pair_cases` is what :func:`synthtumor.reference.evaluate.evaluate_cases` evaluates: one
``(case, prediction, reference)`` triple per case, after checking that both folders hold the
same cases, each once.
"""

from __future__ import annotations

import os
from pathlib import Path

from synthtumor.reference.case_discovery import nifti_files

__all__ = ["IMAGE_SUFFIX", "LABEL_SUFFIX", "pair_cases"]

LABEL_SUFFIX = "_label"
"""A file ``X_label.nii.gz`` is the label map of case ``X`` (the layout of ``synthesize``)."""
IMAGE_SUFFIX = "_image"
"""A file ``X_image.nii.gz`` beside ``X_label.nii.gz`` is the CT of case ``X`` and is skipped."""


def _list_cases(folder: Path, role: str) -> dict[str, Path]:
    """Case name -> label map path of a folder (``X_label`` is case ``X``; its CT is skipped)."""
    if not folder.is_dir():
        raise ValueError(f"{role} folder {folder} is not a directory")
    stems = nifti_files(folder)
    labelled = {stem.removesuffix(LABEL_SUFFIX) for stem in stems if stem.endswith(LABEL_SUFFIX)}
    cases: dict[str, Path] = {}
    for stem, path in stems.items():
        if stem.endswith(IMAGE_SUFFIX) and stem.removesuffix(IMAGE_SUFFIX) in labelled:
            continue  # the CT beside its label map
        name = stem.removesuffix(LABEL_SUFFIX) if stem.endswith(LABEL_SUFFIX) else stem
        if name in cases:
            raise ValueError(
                f"case {name!r} appears twice in {folder}: {cases[name].name}, {path.name}"
            )
        cases[name] = path
    if not cases:
        raise ValueError(f"no NIfTI files (*.nii.gz, *.nii) in {role} folder {folder}")
    return cases


def pair_cases(
    pred_dir: str | os.PathLike, ref_dir: str | os.PathLike
) -> list[tuple[str, Path, Path]]:
    """Pair prediction and reference NIfTI files by case name.

    The case name is the file name without ``.nii.gz`` / ``.nii`` (so ``a.nii`` pairs with
    ``a.nii.gz``) and without a final ``_label``: the output folder of ``synthtumor
    synthesize`` (``synth_000_label.nii.gz`` beside ``synth_000_image.nii.gz``, which is
    skipped) pairs with the predictions ``synthtumor predict`` writes for its images
    (``synth_000.nii.gz``). Hidden files (such as the temporary files of an interrupted
    writer) and other files are ignored.

    Returns
    -------
    list of (case, pred_path, ref_path)
        Sorted by case name.

    Raises
    ------
    ValueError
        If a folder is missing or holds no NIfTI file, a case appears twice in one folder, or
        some case is present in only one folder (all such cases are listed).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     root = pathlib.Path(tmp)
    ...     for folder in ("pred", "ref"):
    ...         (root / folder).mkdir()
    ...         (root / folder / "case01.nii.gz").touch()
    ...     [case for case, _, _ in pair_cases(root / "pred", root / "ref")]
    ['case01']
    """
    predictions = _list_cases(Path(pred_dir), "prediction")
    references = _list_cases(Path(ref_dir), "reference")
    missing_prediction = sorted(references.keys() - predictions.keys())
    missing_reference = sorted(predictions.keys() - references.keys())
    if missing_prediction or missing_reference:
        problems = []
        if missing_prediction:
            problems.append(f"no prediction for {', '.join(missing_prediction)}")
        if missing_reference:
            problems.append(f"no reference for {', '.join(missing_reference)}")
        raise ValueError(f"{pred_dir} and {ref_dir} hold different cases: " + "; ".join(problems))
    return [(case, predictions[case], references[case]) for case in sorted(references)]
