"""A small demo dataset from a few scans, for smoke runs and examples.

:func:`make_demo_dataset` writes variants of a few CT scans (as they are, or mirrored), with
synthetic tumours if asked, as an ``images/`` + ``labels/`` folder that ``synthtumor prepare``
reads. The variants are not independent patients: the data serve to try the pipeline, never to
measure it. The scans are read with :func:`synthtumor.reference.scans.load_case`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from synthtumor._renamed import renamed_keywords
from synthtumor._validation import as_spacing
from synthtumor.reference.case_discovery import CaseFiles
from synthtumor.reference.scans import LoadedCase, load_case
from synthtumor.reference.writers import write_nifti_atomic

__all__ = ["make_demo_dataset"]

_SEEDS = 64
"""Tumour seeds spawned from `seed`; the variants take them in turn."""


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
        Source scans with binary (0/1) liver masks on the same grid.
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

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from synthtumor.io import save_nifti
    >>> from synthtumor.phantom import make_phantom
    >>> phantom = make_phantom((48, 48, 24), (3.0, 3.0, 4.0), dtype=np.int16, rng=0)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     folder = pathlib.Path(tmp)
    ...     ct = save_nifti(folder / "ct.nii.gz", phantom.image, affine=phantom.affine)
    ...     liver = save_nifti(folder / "liver.nii.gz", phantom.liver_mask, affine=phantom.affine)
    ...     cases = make_demo_dataset([("ph", ct, liver)], folder / "demo")
    ...     [(case.case, case.image.parent.name, case.label.parent.name) for case in cases]
    [('ph_original', 'images', 'labels'), ('ph_mirrored', 'images', 'labels')]
    """
    out_dir = Path(out_dir)
    cases = []
    seeds = np.random.SeedSequence(seed).spawn(_SEEDS)
    index = 0
    for name, ct_path, liver_path in scans:
        scan = load_case(ct_path, liver_path)
        liver = (np.asanyarray(scan.labels) > 0).astype(np.uint8)
        for variant in variants:
            image, label = _variant(scan.image, liver, variant)
            if synthetic_tumors:
                rng = np.random.default_rng(seeds[index % len(seeds)])
                image, label = _with_tumors(scan, image, label, tumor_size, rng)
            index += 1
            cases.append(_write_case(out_dir, f"{name}_{variant}", scan, image, label, overwrite))
    return cases


def _variant(ct: np.ndarray, liver: np.ndarray, variant: str) -> tuple[np.ndarray, np.ndarray]:
    """The image and liver mask of one variant: as they are, or mirrored along the first axis."""
    if variant == "original":
        return ct, liver
    if variant == "mirrored":
        return np.ascontiguousarray(ct[::-1]), np.ascontiguousarray(liver[::-1])
    raise ValueError(f"variant must be 'original' or 'mirrored', got {variant!r}")


def _with_tumors(
    scan: LoadedCase,
    image: np.ndarray,
    mask: np.ndarray,
    tumor_size: str | None,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """`image` and its 0/1/2 label map with synthetic tumours inserted."""
    from synthtumor import synthesize

    spacing = as_spacing(scan.header.get_zooms()[:3])
    image, label, _ = synthesize(image, mask, spacing=spacing, size=tumor_size, rng=rng)
    return image, label


def _write_case(
    out_dir: Path,
    case: str,
    scan: LoadedCase,
    image: np.ndarray,
    label: np.ndarray,
    overwrite: bool,
) -> CaseFiles:
    """Write ``images/<case>.nii.gz`` and ``labels/<case>.nii.gz`` on `scan`'s grid."""
    paths = []
    for folder, data in (("images", np.asarray(image)), ("labels", np.asarray(label, np.uint8))):
        target = out_dir / folder / f"{case}.nii.gz"
        paths.append(
            write_nifti_atomic(target, data, scan.affine, header=scan.header, overwrite=overwrite)
        )
    return CaseFiles(case, paths[0], paths[1])
