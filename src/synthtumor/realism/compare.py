"""Distributions of lesion measures, and real-versus-synthetic comparisons of case folders.

Case folders (:func:`find_cases`) may hold either layout, or both:

- flat pairs ``<name>_image.nii.gz`` + ``<name>_label.nii.gz`` (what ``synthtumor synthesize``
  and ``demo`` write: ``synth_000_image.nii.gz``, ``synth_000_label.nii.gz``, ...);
- one subfolder per case holding ``ct.nii.gz`` + ``label.nii.gz`` (the case is the subfolder's
  name).

``.nii`` works wherever ``.nii.gz`` does. Files starting with a dot (unfinished atomic writes)
are skipped.
"""

from __future__ import annotations

import io
import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from synthtumor.io import AFFINE_ATOL, atomic_write_bytes, atomic_write_text, integer_labels
from synthtumor.io import _open_nifti as open_nifti
from synthtumor.io import _read_array as read_array
from synthtumor.io import _read_ct as read_ct
from synthtumor.io import _spacing as header_spacing
from synthtumor.io import _volume_shape as volume_shape
from synthtumor.organ_map import renamed_label
from synthtumor.realism.measure import NUMERIC_FIELDS, LesionStatistics, lesion_statistics

__all__ = [
    "COMPARISON_FILES",
    "Case",
    "Comparison",
    "FieldSummary",
    "compare_folders",
    "find_cases",
    "format_comparison",
    "format_records",
    "load_case",
    "measure_case",
    "summarise",
    "write_comparison",
]

COMPARISON_FILES = ("realism_summary.json", "realism_comparison.png")
"""What :func:`write_comparison` writes into its folder."""

_IMAGE_SUFFIX = "_image"
_LABEL_SUFFIX = "_label"
_SUBFOLDER_FILES = ("ct", "label")
_TABLE_FIELDS = (
    "volume_ml",
    "radius_mm",
    "contrast_hu",
    "core_contrast_hu",
    "std_ratio",
    "correlation_length_mm",
    "edge_width_mm",
    "rim_hu",
    "capsule_hu",
    "sphericity",
    "axis_ratio",
    "surface_distance_mm",
)


@dataclass(frozen=True)
class FieldSummary:
    """Median and quartiles of one measure over lesions (NaN values left out).

    Attributes
    ----------
    n : int
        Lesions with a finite value.
    median, q1, q3 : float
        Median, 25th and 75th percentiles; NaN when ``n == 0``.
    """

    n: int
    median: float
    q1: float
    q3: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (NaN becomes None)."""
        return {
            "n": self.n,
            **{k: _json_number(getattr(self, k)) for k in ("median", "q1", "q3")},
        }

    def text(self, digits: int = 2) -> str:
        """``median [q1, q3]``, or ``n/a``.

        Examples
        --------
        >>> FieldSummary(3, 1.0, 0.5, 2.25).text()
        '1.00 [0.50, 2.25]'
        """
        if self.n == 0:
            return "n/a"
        return f"{self.median:.{digits}f} [{self.q1:.{digits}f}, {self.q3:.{digits}f}]"


def summarise(
    records: Iterable[LesionStatistics], *, reliable_edges_only: bool = True
) -> dict[str, FieldSummary]:
    """Median and quartiles of every numeric measure over `records`.

    Parameters
    ----------
    records : iterable of LesionStatistics
        From :func:`~synthtumor.realism.lesion_statistics`, any number of scans together.
    reliable_edges_only : bool, default True
        Summarise ``edge_width_mm`` over the records with ``edge_reliable`` only.

    Returns
    -------
    dict of str to FieldSummary
        One entry per name of :data:`~synthtumor.realism.NUMERIC_FIELDS`, plus
        ``edge_reliable_fraction`` (its ``median`` is the share of reliable edges).

    Examples
    --------
    >>> import numpy as np
    >>> from synthtumor.realism import lesion_statistics
    >>> image = np.full((40, 40, 40), 60.0)
    >>> label = np.ones((40, 40, 40), np.uint8)
    >>> label[5:11, 5:11, 5:11] = 2
    >>> label[20:30, 20:30, 20:30] = 2
    >>> summary = summarise(lesion_statistics(image, label, spacing=(1.0, 1.0, 1.0)))
    >>> summary["volume_ml"].n, summary["volume_ml"].text(3)
    (2, '0.608 [0.412, 0.804]')
    """
    records = list(records)
    out = {}
    for name in NUMERIC_FIELDS:
        chosen = (
            [r for r in records if r.edge_reliable]
            if name == "edge_width_mm" and reliable_edges_only
            else records
        )
        out[name] = _summary([float(getattr(r, name)) for r in chosen])
    fraction = float(np.mean([r.edge_reliable for r in records])) if records else math.nan
    out["edge_reliable_fraction"] = FieldSummary(len(records), fraction, fraction, fraction)
    return out


def _summary(values: Sequence[float]) -> FieldSummary:
    finite = np.asarray([v for v in values if math.isfinite(v)], dtype=float)
    if finite.size == 0:
        return FieldSummary(0, math.nan, math.nan, math.nan)
    q1, median, q3 = (float(q) for q in np.percentile(finite, [25, 50, 75]))
    return FieldSummary(int(finite.size), median, q1, q3)


def _json_number(value: float) -> float | None:
    return value if math.isfinite(value) else None


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------


_SHORT_NAMES = {
    "volume_ml": "vol_ml",
    "radius_mm": "r_mm",
    "contrast_hu": "contrast",
    "core_contrast_hu": "core",
    "std_ratio": "std_ratio",
    "correlation_length_mm": "corr_mm",
    "edge_width_mm": "edge_mm",
    "rim_hu": "rim",
    "capsule_hu": "capsule",
    "sphericity": "spher",
    "axis_ratio": "axes",
    "surface_distance_mm": "surf_mm",
}


def format_records(records: Sequence[LesionStatistics]) -> str:
    """A plain-text table, one row per lesion.

    Columns: lesion number, centroid (voxels), then ``volume_ml``, ``radius_mm``,
    ``contrast_hu``, ``core_contrast_hu``, ``std_ratio``, ``correlation_length_mm``,
    ``edge_width_mm`` (``ok``: ``edge_reliable``), ``rim_hu``, ``capsule_hu``, ``sphericity``,
    ``axis_ratio`` and ``surface_distance_mm``, under short names.

    Examples
    --------
    >>> import numpy as np
    >>> from synthtumor.realism import lesion_statistics
    >>> image = np.full((30, 30, 30), 60.0)
    >>> image[10:20, 10:20, 10:20] = 20.0
    >>> label = np.ones((30, 30, 30), np.uint8)
    >>> label[10:20, 10:20, 10:20] = 2
    >>> print(format_records(lesion_statistics(image, label, spacing=(1.0, 1.0, 1.0))))
    ... # doctest: +NORMALIZE_WHITESPACE +ELLIPSIS
    lesion position vol_ml r_mm contrast core std_ratio corr_mm edge_mm edge rim capsule
    spher axes surf_mm
    1 (14.5, 14.5, 14.5) 1.00 6.20 -40.00 -40.00 nan nan ... - 0.00 0.00 0.86 1.00 nan

    (A step edge has no measurable width: its fit lands near 0.2 mm, the profile's bin, and is
    marked unreliable, ``-``.)
    """
    names = [_SHORT_NAMES[name] for name in _TABLE_FIELDS]
    header = ["lesion", "position", *names[:7], "edge", *names[7:]]
    rows = [header]
    for r in records:
        row = [str(r.index), "(" + ", ".join(f"{p:.1f}" for p in r.position) + ")"]
        for name in _TABLE_FIELDS:
            row.append(f"{float(getattr(r, name)):.2f}")
            if name == "edge_width_mm":
                row.append("ok" if r.edge_reliable else "-")
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join(
        " ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def format_comparison(
    real: Mapping[str, FieldSummary], synthetic: Mapping[str, FieldSummary]
) -> str:
    """Two summaries side by side: ``median [q1, q3] (n)`` per measure.

    Examples
    --------
    >>> a = {"rim_hu": FieldSummary(4, 1.0, 0.0, 2.0)}
    >>> b = {"rim_hu": FieldSummary(9, 18.0, 12.0, 21.0)}
    >>> print(format_comparison(a, b))  # doctest: +NORMALIZE_WHITESPACE
    measure     real                  synthetic
    rim_hu      1.00 [0.00, 2.00] (4) 18.00 [12.00, 21.00] (9)
    """
    names = [n for n in real if n in synthetic]
    rows = [["measure", "real", "synthetic"]]
    for name in names:
        rows.append([name] + [f"{s[name].text()} ({s[name].n})" for s in (real, synthetic)])
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(
        " ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


# --------------------------------------------------------------------------------------------
# Cases on disk
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One case of a folder: its name, CT file and label-map file."""

    name: str
    image: Path
    label: Path


def find_cases(folder: str | os.PathLike, *, name: str = "folder") -> list[Case]:
    """The cases of a folder, sorted by name (layouts in the module docstring).

    Raises
    ------
    FileNotFoundError
        `folder` does not exist.
    ValueError
        It is not a folder, holds no case, or an image has no label (or the reverse).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     root = pathlib.Path(tmp)
    ...     for f in ["synth_000_image.nii.gz", "synth_000_label.nii.gz", "a/ct.nii.gz",
    ...               "a/label.nii.gz", "synth_000_params.json"]:
    ...         (root / f).parent.mkdir(exist_ok=True)
    ...         _ = (root / f).write_bytes(b"")
    ...     [case.name for case in find_cases(root)]
    ['a', 'synth_000']
    """
    folder = Path(folder)
    if not folder.exists():
        raise FileNotFoundError(f"{name} not found: {folder}")
    if not folder.is_dir():
        raise ValueError(f"{name} {folder} is not a folder")
    cases: dict[str, Case] = {}
    images, labels = _flat_pairs(folder)
    unmatched = sorted(set(images) ^ set(labels))
    if unmatched:
        missing = [
            f"{n}{_IMAGE_SUFFIX if n in labels else _LABEL_SUFFIX}.nii.gz" for n in unmatched
        ]
        raise ValueError(f"{name} {folder}: missing {', '.join(missing)}")
    for case in sorted(images):
        cases[case] = Case(case, images[case], labels[case])
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        found = {stem: _nifti_file(sub, stem) for stem in _SUBFOLDER_FILES}
        if all(path is None for path in found.values()):
            continue
        absent = [f"{stem}.nii.gz" for stem, path in found.items() if path is None]
        if absent:
            raise ValueError(f"{name} {folder}: case folder {sub.name} has no {absent[0]}")
        if sub.name in cases:
            raise ValueError(f"{name} {folder}: case {sub.name} is given twice")
        cases[sub.name] = Case(sub.name, found["ct"], found["label"])  # type: ignore[arg-type]
    if not cases:
        raise ValueError(
            f"{name} {folder} holds no case: expected <name>_image.nii.gz + "
            f"<name>_label.nii.gz pairs or subfolders with ct.nii.gz + label.nii.gz"
        )
    return [cases[key] for key in sorted(cases)]


def _flat_pairs(folder: Path) -> tuple[dict[str, Path], dict[str, Path]]:
    images: dict[str, Path] = {}
    labels: dict[str, Path] = {}
    for path in folder.iterdir():
        if path.name.startswith(".") or not path.is_file():
            continue
        stem = _nifti_stem(path.name)
        if stem is None:
            continue
        for suffix, into in ((_IMAGE_SUFFIX, images), (_LABEL_SUFFIX, labels)):
            if stem.endswith(suffix) and len(stem) > len(suffix):
                into[stem[: -len(suffix)]] = path
    return images, labels


def _nifti_stem(filename: str) -> str | None:
    lower = filename.lower()
    for ending in (".nii.gz", ".nii"):
        if lower.endswith(ending):
            return filename[: -len(ending)]
    return None


def _nifti_file(folder: Path, stem: str) -> Path | None:
    for ending in (".nii.gz", ".nii"):
        if (folder / f"{stem}{ending}").is_file():
            return folder / f"{stem}{ending}"
    return None


def load_case(
    image_path: str | os.PathLike, label_path: str | os.PathLike
) -> tuple[np.ndarray, np.ndarray, tuple[float, float, float]]:
    """Read a CT and its label map (same grid); spacing from the CT's header.

    Returns
    -------
    (image, label, spacing)
        The CT in its stored dtype, the integer label map, the spacing in mm.
    """
    image_path, label_path = Path(image_path), Path(label_path)
    ct = open_nifti(image_path, "CT")
    seg = open_nifti(label_path, "label map")
    shape = volume_shape(ct, image_path, "CT")
    if volume_shape(seg, label_path, "label map") != shape:
        raise ValueError(
            f"CT {image_path} and label map {label_path} have different shapes: "
            f"{shape} and {tuple(seg.shape)}"
        )
    if not np.allclose(ct.affine, seg.affine, rtol=0.0, atol=AFFINE_ATOL):
        raise ValueError(f"CT {image_path} and label map {label_path} have different affines")
    image = read_ct(ct, image_path).reshape(shape)
    label = read_array(seg, label_path, "label map").reshape(shape)
    label = integer_labels(label, f"label map {label_path}")
    return image, label, header_spacing(ct, image_path)


def measure_case(
    image_path: str | os.PathLike,
    label_path: str | os.PathLike,
    *,
    organ_label: int | None = None,
    tumor_label: int = 2,
    liver_label: int | None = None,
) -> list[LesionStatistics]:
    """:func:`~synthtumor.realism.lesion_statistics` of a CT and label map read from NIfTI.

    `liver_label` is the deprecated name of `organ_label` (default 1).
    """
    organ_label = renamed_label(organ_label, liver_label)
    image, label, spacing = load_case(image_path, label_path)
    return lesion_statistics(
        image, label, spacing=spacing, organ_label=organ_label, tumor_label=tumor_label
    )


# --------------------------------------------------------------------------------------------
# Real versus synthetic
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """The lesions of two folders, case by case."""

    real: dict[str, list[LesionStatistics]]
    synthetic: dict[str, list[LesionStatistics]]

    def summaries(self) -> tuple[dict[str, FieldSummary], dict[str, FieldSummary]]:
        """(:func:`summarise` of the real lesions, of the synthetic ones)."""
        return tuple(  # type: ignore[return-value]
            summarise(r for records in side.values() for r in records)
            for side in (self.real, self.synthetic)
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: both summaries and every lesion record by case."""
        real, synthetic = self.summaries()
        return {
            "summary": {
                "real": {k: v.to_dict() for k, v in real.items()},
                "synthetic": {k: v.to_dict() for k, v in synthetic.items()},
            },
            "cases": {
                side: {case: [r.to_dict() for r in records] for case, records in data.items()}
                for side, data in (("real", self.real), ("synthetic", self.synthetic))
            },
        }


def compare_folders(
    real_dir: str | os.PathLike,
    synthetic_dir: str | os.PathLike,
    *,
    organ_label: int | None = None,
    tumor_label: int = 2,
    liver_label: int | None = None,
) -> Comparison:
    """Measure every case of a folder of real tumours and of a folder of synthetic ones.

    `liver_label` is the deprecated name of `organ_label` (default 1).
    """
    organ_label = renamed_label(organ_label, liver_label)
    sides = []
    for folder, name in ((real_dir, "REAL_DIR"), (synthetic_dir, "SYNTH_DIR")):
        cases = find_cases(folder, name=name)
        sides.append(
            {
                case.name: measure_case(
                    case.image, case.label, organ_label=organ_label, tumor_label=tumor_label
                )
                for case in cases
            }
        )
    return Comparison(real=sides[0], synthetic=sides[1])


def write_comparison(
    comparison: Comparison, folder: str | os.PathLike, *, overwrite: bool = False
) -> list[Path]:
    """Write :data:`COMPARISON_FILES` (JSON summary, box-plot PNG) atomically into `folder`.

    Raises
    ------
    FileExistsError
        An output file exists and `overwrite` is False (nothing is written then).
    """
    folder = Path(folder)
    targets = [folder / name for name in COMPARISON_FILES]
    check_outputs(targets, overwrite=overwrite)
    folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps(comparison.to_dict(), indent=2, allow_nan=False) + "\n"
    png = _comparison_plot(comparison)
    atomic_write_text(targets[0], text, overwrite=overwrite)
    atomic_write_bytes(targets[1], png, overwrite=overwrite)
    return targets


def check_outputs(targets: Sequence[Path], *, overwrite: bool) -> None:
    """Refuse a target folder that is a file, or existing targets without `overwrite`."""
    for target in targets:
        if target.parent.exists() and not target.parent.is_dir():
            raise ValueError(f"output folder {target.parent} exists and is not a folder")
    existing = [path for path in targets if path.exists()]
    if existing and not overwrite:
        raise FileExistsError(
            f"output file {existing[0]} already exists; pass --force to overwrite"
        )


def _comparison_plot(comparison: Comparison) -> bytes:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    real = [r for records in comparison.real.values() for r in records]
    synthetic = [r for records in comparison.synthetic.values() for r in records]
    columns = 4
    rows = math.ceil(len(_TABLE_FIELDS) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.6 * rows))
    for axis, name in zip(axes.ravel(), _TABLE_FIELDS, strict=False):
        data = []
        for records in (real, synthetic):
            chosen = [r for r in records if r.edge_reliable or name != "edge_width_mm"]
            values = [float(getattr(r, name)) for r in chosen]
            data.append([v for v in values if math.isfinite(v)] or [math.nan])
        axis.boxplot(data, showfliers=True)
        axis.set_xticks([1, 2], [f"real ({_count(data[0])})", f"synthetic ({_count(data[1])})"])
        axis.set_title(name, fontsize=9)
        axis.tick_params(labelsize=8)
    for axis in axes.ravel()[len(_TABLE_FIELDS) :]:
        axis.set_visible(False)
    figure.suptitle("synthtumor realism: real vs synthetic lesions", fontsize=10)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return buffer.getvalue()


def _count(values: list[float]) -> int:
    return sum(1 for v in values if math.isfinite(v))
