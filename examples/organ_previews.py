"""Previews of each organ preset's tumours on the shared abdomen-3mm scan and its organ map.

One small picture per lesion of each organ: a column per contrast phase, each an axial crop
through the tumour's centre, plain and with the label outlined. The scan is unenhanced, so only
the first column shows the lesion as it would look in this scan; the others show the lesion's
values at that phase drawn against this scan's organ (what the preset does on a scan of that
phase). Run from the repository root:

    python examples/organ_previews.py --data ../shared/data -o docs/images/organs

It takes a few seconds.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import nibabel as nib
import numpy as np

from synthtumor import TumorConfig, synthesize
from synthtumor.organs import ORGAN_PRESETS

# (picture name, organ preset, lesion, organ map values, size)
PREVIEWS = (
    ("pancreas_pdac", "pancreas", "pdac", (7,), "medium"),
    ("kidney_rcc", "kidney", "rcc", (2, 3), "large"),
    ("kidney_cyst", "kidney", "cyst", (2, 3), "medium"),
)
PHASES = ("non_contrast", "arterial", "portal")
TUMOR_LABEL = 200
CROP_MM = 120.0


def render(ct, classes, spacing, organ, lesion, labels, size, phase, seed):
    """(plain crop, tumour crop, organ median HU) of one tumour of `organ` at `phase`."""
    preset = ORGAN_PRESETS[organ].replace(lesion_types=((lesion, 1.0),))
    image, label, _ = synthesize(
        ct,
        classes,
        spacing=spacing,
        organ=preset,
        organ_label=labels,
        size=size,
        config=TumorConfig(phase=phase, tumor_label=TUMOR_LABEL),
        rng=seed,
    )
    tumor = label == TUMOR_LABEL
    # The axial slice with the most tumour voxels, centred on the tumour there.
    k = int(np.argmax(tumor.sum(axis=(0, 1))))
    i, j = (int(np.median(axis)) for axis in np.nonzero(tumor[:, :, k]))
    half = round(CROP_MM / 2 / spacing[0])
    box = (slice(max(i - half, 0), i + half + 1), slice(max(j - half, 0), j + half + 1), k)
    organ_hu = float(np.median(ct[np.isin(classes, labels)]))
    return image[box].T, tumor[box].T, organ_hu


def preview(data: Path, output: Path, seed: int) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = data / "abdomen-3mm"
    ct_file = nib.load(folder / "ct.nii.gz")
    ct = np.asarray(ct_file.dataobj)
    classes = np.asarray(nib.load(folder / "organs.nii.gz").dataobj)
    spacing = tuple(float(s) for s in ct_file.header.get_zooms()[:3])
    output.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, organ, lesion, labels, size in PREVIEWS:
        figure, axes = plt.subplots(1, 2 * len(PHASES), figsize=(2 * len(PHASES) * 1.2, 1.6))
        for column, phase in enumerate(PHASES):
            plain, tumor, organ_hu = render(
                ct, classes, spacing, organ, lesion, labels, size, phase, seed
            )
            for axis, outlined in zip(
                axes[2 * column : 2 * column + 2], (False, True), strict=True
            ):
                axis.imshow(plain, cmap="gray", vmin=organ_hu - 160, vmax=organ_hu + 160)
                if outlined:
                    axis.contour(tumor, levels=[0.5], colors="red", linewidths=0.6)
                axis.set_xticks([])
                axis.set_yticks([])
            axes[2 * column].set_title(phase.replace("_", "-"), fontsize=7, loc="left")
        figure.suptitle(f"{organ}: {lesion} ({size}), abdomen-3mm, seed {seed}", fontsize=8)
        figure.tight_layout()
        path = output / f"{name}.png"
        figure.savefig(path, dpi=80)
        plt.close(figure)
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=Path(os.environ.get("SYNTHTUMOR_DATA", "../shared/data"))
    )
    parser.add_argument("-o", "--output", type=Path, default=Path("docs/images/organs"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for path in preview(args.data, args.output, args.seed):
        print(path)


if __name__ == "__main__":
    main()
