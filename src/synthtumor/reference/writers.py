"""Atomic writers of the reference commands: :mod:`synthtumor.io`'s, creating missing folders.

:func:`write_text_atomic` and :func:`write_nifti_atomic` are :func:`synthtumor.io.atomic_write_text`
and :func:`synthtumor.io.save_nifti` with one addition: the target's parent folders are created
first. Like those, they never leave a partial file and replace an existing file only with
``overwrite=True`` (else :class:`FileExistsError`). They are importable from
:mod:`synthtumor.reference.prepare` too, their first home.
"""

from __future__ import annotations

import os
from pathlib import Path

import nibabel as nib
import numpy as np

from synthtumor.io import atomic_write_text, save_nifti

__all__ = ["write_nifti_atomic", "write_text_atomic"]


def write_text_atomic(path: str | os.PathLike, text: str, *, overwrite: bool = False) -> Path:
    """:func:`synthtumor.io.atomic_write_text`, creating the parent folders first.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = write_text_atomic(pathlib.Path(tmp) / "new" / "a.txt", "hello")
    ...     print(path.read_text())
    ...     try:
    ...         write_text_atomic(path, "again")
    ...     except FileExistsError:
    ...         print("refused")
    hello
    refused
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
    ...     path = write_nifti_atomic(pathlib.Path(tmp) / "new" / "x.nii.gz",
    ...                               np.zeros((2, 3, 4), np.uint8), np.eye(4))
    ...     nib.load(path).shape
    (2, 3, 4)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return save_nifti(path, data, affine=affine, header=header, overwrite=overwrite)
