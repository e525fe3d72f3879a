"""Throughput of a realistic MONAI training pipeline, with and without tumour synthesis.

The pipeline of the paper's training recipe on the real scans in ``$SYNTHTUMOR_DATA`` (default
``../shared/data`` beside the repository), cycling through them::

    LoadImaged -> EnsureChannelFirstd -> Orientationd(RAS) -> Spacingd(1 mm)
        -> [RandLiverTumord] -> ScaleIntensityRanged(-21, 189) -> SpatialPadd(96)
        -> RandCropByPosNegLabeld(96^3) -> RandFlipd x 3

Both variants run in the same process, interleaved, for every number of workers, and in three
settings: "uncached" runs the whole pipeline for every sample (``monai.data.Dataset``);
"cached" runs only the random part, as ``CacheDataset`` does, so the synthesis is a larger
share of the work; "crop" is the cached pipeline of docs/monai.md "Synthesis on the crop":
``LiverStatisticsd`` is cached with the scan and ``RandLiverTumord`` runs after the crop::

    ... -> Spacingd(1 mm) -> LiverStatisticsd                     (cached)
        -> SpatialPadd(96) -> RandCropByPosNegLabeld(96^3) -> [RandLiverTumord]
        -> ScaleIntensityRanged(-21, 189) -> RandFlipd x 3

The table gives samples per second (median over the repeats) and the
relative cost of synthesis, ``1 - with / without``.

Run from the repository root::

    python benchmarks/bench_loader.py            # 8 samples per measurement, 3 repeats
    python benchmarks/bench_loader.py --settings crop --workers 2 --samples 16 --repeats 5
    python benchmarks/bench_loader.py --quick    # 4 samples, 1 repeat
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch
from monai.data import DataLoader, Dataset
from monai.transforms import (
    Compose,
    EnsureChannelFirstd,
    LoadImaged,
    Orientationd,
    RandCropByPosNegLabeld,
    RandFlipd,
    ScaleIntensityRanged,
    Spacingd,
    SpatialPadd,
)
from monai.utils import set_determinism

from synthtumor.adapters.monai import LiverStatisticsd, RandLiverTumord

KEYS = ["image", "label"]
SCANS = ("abdomen-3mm", "portal-venous-slab")
DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
PATCH = (96, 96, 96)


def data_dir() -> Path:
    folder = Path(os.environ.get("SYNTHTUMOR_DATA", DEFAULT_DATA))
    if not all((folder / scan / "ct.nii.gz").is_file() for scan in SCANS):
        sys.exit(f"real scans not found in {folder}; set SYNTHTUMOR_DATA to the data folder")
    return folder


def preprocessing() -> list:
    """The deterministic part: load, orient, resample (what CacheDataset would cache)."""
    return [
        LoadImaged(KEYS),
        EnsureChannelFirstd(KEYS),
        Orientationd(KEYS, axcodes="RAS", labels=None),
        Spacingd(KEYS, pixdim=(1.0, 1.0, 1.0), mode=("bilinear", "nearest")),
    ]


def augmentation(with_synthesis: bool, *, on_crop: bool = False) -> list:
    """The random part: synthesis (optional; before the crop, or after it), window, pad, crop,
    flips."""
    # A negative crop may hold no liver: it goes through unchanged, silently.
    synthesis = [RandLiverTumord(KEYS, prob=1.0, on_small_liver="ignore")] if with_synthesis else []
    window = ScaleIntensityRanged("image", a_min=-21, a_max=189, b_min=0.0, b_max=1.0, clip=True)
    crop = [
        SpatialPadd(KEYS, spatial_size=PATCH),
        RandCropByPosNegLabeld(
            KEYS, label_key="label", spatial_size=PATCH, pos=1, neg=1, num_samples=1
        ),
    ]
    flips = [RandFlipd(KEYS, prob=0.1, spatial_axis=axis) for axis in range(3)]
    if on_crop:
        return [*crop, *synthesis, window, *flips]
    return [*synthesis, window, *crop, *flips]


def samples_per_second(dataset: Dataset, num_workers: int) -> float:
    loader = DataLoader(dataset, batch_size=1, num_workers=num_workers)
    start = time.perf_counter()
    count = sum(len(batch["image"]) for batch in loader)
    return count / (time.perf_counter() - start)


def measure(setting: str, items: list, num_workers: int, repeats: int) -> dict[bool, list[float]]:
    rates: dict[bool, list[float]] = {False: [], True: []}
    for repeat in range(repeats):
        # Alternate the order so that a slow spell on a shared machine hits both variants.
        for with_synthesis in (False, True) if repeat % 2 == 0 else (True, False):
            steps = augmentation(with_synthesis, on_crop=setting == "crop")
            if setting == "uncached":
                steps = preprocessing() + steps
            dataset = Dataset(items, Compose(steps))
            rates[with_synthesis].append(samples_per_second(dataset, num_workers))
    return rates


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="4 samples, 1 repeat")
    parser.add_argument("--samples", type=int, default=8, help="samples per measurement")
    parser.add_argument("--repeats", type=int, default=3, help="measurements per variant")
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    parser.add_argument(
        "--settings",
        nargs="+",
        default=["uncached", "cached", "crop"],
        choices=["uncached", "cached", "crop"],
    )
    args = parser.parse_args(argv)
    samples, repeats = (4, 1) if args.quick else (args.samples, args.repeats)

    folder = data_dir()
    files = [
        {"image": str(folder / scan / "ct.nii.gz"), "label": str(folder / scan / "liver.nii.gz")}
        for scan in SCANS
    ]
    files = [files[i % len(files)] for i in range(samples)]
    cached: dict[str, list] = {}
    for setting in {"cached", "crop"} & set(args.settings):
        steps = preprocessing() + ([LiverStatisticsd(KEYS)] if setting == "crop" else [])
        prepare = Compose(steps)
        resampled = [prepare(item) for item in files[: len(SCANS)]]
        cached[setting] = [resampled[i % len(resampled)] for i in range(samples)]

    set_determinism(seed=0)
    print(
        f"MONAI pipeline on {', '.join(SCANS)} (cycled), {samples} samples per measurement, "
        f"median of {repeats}; torch threads {torch.get_num_threads()}, CPUs {os.cpu_count()}"
    )
    header = f"{'setting':<9} {'workers':>7} {'without':>10} {'with':>10} {'synthesis cost':>15}"
    print(header + "\n" + "-" * len(header))
    for setting in args.settings:
        items = files if setting == "uncached" else cached[setting]
        for num_workers in args.workers:
            rates = measure(setting, items, num_workers, repeats)
            without, with_ = (statistics.median(rates[flag]) for flag in (False, True))
            print(
                f"{setting:<9} {num_workers:>7} {without:>10.2f} {with_:>10.2f} "
                f"{1 - with_ / without:>14.1%}",
                flush=True,
            )
    print("(samples/s; synthesis cost = 1 - with / without)")


if __name__ == "__main__":
    main()
