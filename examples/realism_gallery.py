"""Gallery of the realistic mode: every lesion type at every contrast phase, on real scans.

For each scan, one picture: a row per lesion type, a column per phase, and in each cell an axial
crop through the tumour's centre twice, plain and with the label outlined. The paper's mode is
shown in a last row for comparison. Run from the repository root:

    python examples/realism_gallery.py --data ../shared/data -o docs/images/realism

(``--scans`` picks some of the scans, ``--seed`` another draw). Each scan takes a few seconds.
"""

from __future__ import annotations

import argparse
import os
import warnings
from pathlib import Path

import numpy as np

from synthtumor import TumorConfig, UnenhancedScanWarning, synthesize
from synthtumor.appearance import LESION_NAMES, PHASES
from synthtumor.io import load_scan

SCANS = ("chaos-ct3", "portal-venous-slab", "abdomen-3mm")
CROP_MM = 90.0
WINDOW_HALF_WIDTH_HU = 160.0  # the window is centred on the liver's median HU


def axial_crop(volume: np.ndarray, center: tuple[int, int, int], spacing) -> np.ndarray:
    """The axial slice (third axis) through `centre`, CROP_MM wide, transposed for display."""
    half = [round(CROP_MM / 2 / s) for s in spacing[:2]]
    lower = [max(c - h, 0) for c, h in zip(center[:2], half, strict=True)]
    upper = [min(c + h + 1, n) for c, h, n in zip(center[:2], half, volume.shape[:2], strict=True)]
    return volume[lower[0] : upper[0], lower[1] : upper[1], center[2]].T


def render_cell(ct, liver, spacing, config: TumorConfig, seed: int):
    """(plain crop, label crop, pixel aspect, liver HU) of one solitary medium tumour."""
    with warnings.catch_warnings():
        # The gallery draws every phase on every scan, the non-contrast one included, where
        # the realistic mode skips vessel avoidance and says so.
        warnings.simplefilter("ignore", UnenhancedScanWarning)
        image, label, params = synthesize(
            ct,
            liver,
            spacing=spacing,
            size="medium",
            config=config.replace(pattern="solitary"),
            rng=seed,
        )
    center = params.tumors[0].center_voxel
    return (
        axial_crop(image, center, spacing),
        axial_crop(label == params.tumor_label, center, spacing),
        spacing[1] / spacing[0],
        float(np.median(ct[liver])),
    )


def gallery(scan: str, data: Path, output: Path, seed: int) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ct, liver, spacing, _, _ = load_scan(data / scan / "ct.nii.gz", data / scan / "liver.nii.gz")
    rows = [(lesion, phase) for lesion in LESION_NAMES for phase in PHASES]
    figure, axes = plt.subplots(
        len(LESION_NAMES) + 1, 2 * len(PHASES), figsize=(2 * len(PHASES) * 1.3, 6.8)
    )
    for index, (lesion, phase) in enumerate(rows):
        config = TumorConfig.realistic(phase, lesion, capsule_share=1.0)
        cells = render_cell(ct, liver, spacing, config, seed)
        _draw(axes[index // len(PHASES), 2 * (index % len(PHASES)) :], cells)
        if index < len(PHASES):
            axes[0, 2 * index].set_title(phase.replace("_", "-"), fontsize=8, loc="left")
    paper = render_cell(ct, liver, spacing, TumorConfig(), seed)
    _draw(axes[-1, :2], paper)
    for axis in axes[-1, 2:]:
        axis.set_visible(False)
    for row, name in enumerate([*LESION_NAMES, "paper mode"]):
        axes[row, 0].set_ylabel(name, fontsize=8)
    for axis in axes.flat:
        axis.set_xticks([])
        axis.set_yticks([])
    figure.suptitle(f"{scan}: realistic mode (plain | outlined), medium, seed {seed}", fontsize=9)
    figure.tight_layout()
    output.mkdir(parents=True, exist_ok=True)
    path = output / f"gallery_{scan}.png"
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path


def _draw(pair, cells) -> None:
    plain, outline, aspect, liver_hu = cells
    low, high = liver_hu - WINDOW_HALF_WIDTH_HU, liver_hu + WINDOW_HALF_WIDTH_HU
    for axis, outlined in zip(pair[:2], (False, True), strict=True):
        axis.imshow(plain, cmap="gray", vmin=low, vmax=high, aspect=aspect)
        if outlined:
            axis.contour(outline, levels=[0.5], colors="red", linewidths=0.6)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=Path(os.environ.get("SYNTHTUMOR_DATA", "../shared/data"))
    )
    parser.add_argument("-o", "--output", type=Path, default=Path("docs/images/realism"))
    parser.add_argument("--scans", nargs="+", choices=SCANS, default=list(SCANS))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for scan in args.scans:
        print(gallery(scan, args.data, args.output, args.seed))


if __name__ == "__main__":
    main()
