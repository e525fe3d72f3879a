"""The cases ``synthesize`` and ``demo`` write: their files, their seeds, drawing and writing.

Output layout (flat files in the output folder)::

    synth_000_image.nii.gz    CT with tumours, input dtype, affine and header
    synth_000_label.nii.gz    uint8 label map: 0 background, 1 liver, 2 tumour
    synth_000_params.json     TumorParams (replay with synthtumor.apply)
    synth_000_preview.png     axial / coronal / sagittal quick look (unless --no-preview)
    synth_001_...             one group per case (--count)
    synthtumor_run.json       the run: inputs, seed, options, config and files (written last;
                              synthtumor_run.incomplete.json while the run is under way)
    phantom_ct.nii.gz, phantom_liver.nii.gz    demo only: the phantom itself

Case ``i`` is drawn with ``numpy.random.SeedSequence(seed).spawn(count)[i]``
(:func:`case_seed`), which does not depend on ``count``: any case can be reproduced alone.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import synthtumor
from synthtumor.commands._command import PROG
from synthtumor.config import TumorConfig
from synthtumor.run_folder import CASE_PREFIX

__all__ = [
    "CaseFiles",
    "Volume",
    "case_files",
    "case_name",
    "case_seed",
    "draw_case",
    "write_cases",
    "written_cases",
]


def case_seed(seed: int, index: int) -> np.random.SeedSequence:
    """The seed of case `index` of a run: ``SeedSequence(seed).spawn(count)[index]``.

    It depends on neither `count` nor the other cases, so one case can be reproduced alone.

    Examples
    --------
    >>> import numpy as np
    >>> children = np.random.SeedSequence(7).spawn(3)
    >>> case_seed(7, 2).generate_state(2).tolist() == children[2].generate_state(2).tolist()
    True
    """
    return np.random.SeedSequence(seed, spawn_key=(index,))


@dataclass(frozen=True)
class CaseFiles:
    """The files of one synthetic case."""

    image: Path
    label: Path
    params: Path
    preview: Path | None

    @classmethod
    def at(cls, folder: Path, index: int, *, count: int, preview: bool) -> CaseFiles:
        """The files of case `index` of `count` in `folder` (a preview PNG if `preview`)."""
        stem = folder / case_name(index, count)
        return cls(
            image=Path(f"{stem}_image.nii.gz"),
            label=Path(f"{stem}_label.nii.gz"),
            params=Path(f"{stem}_params.json"),
            preview=Path(f"{stem}_preview.png") if preview else None,
        )

    def paths(self) -> list[Path]:
        """Every file of the case, in the order they are written."""
        return [p for p in (self.image, self.label, self.params, self.preview) if p is not None]


def case_files(folder: Path, args: argparse.Namespace) -> list[CaseFiles]:
    """The files of every case of the run (``--count``, ``--no-preview``)."""
    return [
        CaseFiles.at(folder, index, count=args.count, preview=args.preview)
        for index in range(args.count)
    ]


def case_name(index: int, count: int) -> str:
    """``synth_007``: the index zero-padded to 3 digits, or more when `count` needs them.

    Examples
    --------
    >>> case_name(7, 10), case_name(7, 5000)
    ('synth_007', 'synth_0007')
    """
    width = max(3, len(str(max(count - 1, 0))))
    return f"{CASE_PREFIX}_{index:0{width}d}"


@dataclass(frozen=True)
class Volume:
    """What the cases are drawn from: a scan read from disk, or the phantom."""

    image: np.ndarray
    liver_mask: np.ndarray
    spacing: tuple[float, float, float]
    affine: np.ndarray
    header: Any  # nibabel.Nifti1Header or None
    organ: str = "liver"
    organ_label: tuple[int, ...] | None = None  # set: liver_mask is the organ map itself


def draw_case(
    volume: Volume, index: int, *, seed: int, size: str | None, config: TumorConfig
) -> synthtumor.TumorParams:
    """The params of case `index`, drawn with :func:`case_seed` (case 0 is drawn before anything
    is written: a liver too small fails with nothing on disk)."""
    return synthtumor.sample(
        volume.image,
        volume.liver_mask,
        spacing=volume.spacing,
        organ=volume.organ,
        organ_label=volume.organ_label,
        size=size,
        config=config,
        rng=np.random.default_rng(case_seed(seed, index)),
    )


def write_cases(
    volume: Volume,
    cases: list[CaseFiles],
    first: synthtumor.TumorParams,
    *,
    seed: int,
    size: str | None,
    config: TumorConfig,
    force: bool,
    done: frozenset[int] = frozenset(),
) -> None:
    """Draw, render and write every case not in `done`; case 0's params `first` are drawn.

    ``apply(sample(rng))`` is exactly ``synthesize(rng)``, so each case equals
    ``synthesize(..., rng=default_rng(case_seed(seed, index)))``.
    """
    for index, files in enumerate(_progress(cases)):
        if index in done:
            continue
        params = first
        if index > 0:
            params = draw_case(volume, index, seed=seed, size=size, config=config)
        result = synthtumor.apply(
            volume.image, volume.liver_mask, params, organ_label=volume.organ_label
        )
        _write_case(volume, files, result, force=force)


def _write_case(
    volume: Volume, files: CaseFiles, result: synthtumor.SynthesisResult, *, force: bool
) -> None:
    """The image, label, params and preview of one case, each written atomically."""
    from synthtumor.io import atomic_write_text, save_nifti
    from synthtumor.preview import preview_png

    save_nifti(
        files.image, result.image, affine=volume.affine, header=volume.header, overwrite=force
    )
    save_nifti(
        files.label, result.label, affine=volume.affine, header=volume.header, overwrite=force
    )
    atomic_write_text(files.params, result.params.to_json(indent=2) + "\n", overwrite=force)
    if files.preview is not None:
        preview_png(
            result.image,
            result.label,
            result.params,
            spacing=volume.spacing,
            affine=volume.affine,
            path=files.preview,
            overwrite=force,
        )


def _progress(cases: list[CaseFiles]) -> Iterable[CaseFiles]:
    """`cases` with a tqdm bar on stderr when there are several (and tqdm is installed)."""
    if len(cases) <= 1:
        return cases
    try:
        from tqdm import tqdm
    except ImportError:
        return cases
    bar: Iterable[CaseFiles] = tqdm(cases, desc=PROG, unit="case", file=sys.stderr)
    return bar


def written_cases(cases: list[CaseFiles]) -> frozenset[int]:
    """Indices of the cases whose files all exist (each file is written atomically)."""
    return frozenset(
        index for index, files in enumerate(cases) if all(p.is_file() for p in files.paths())
    )
