"""Synthetic liver tumours in a MONAI training pipeline, on the real scans.

Loads the CT scans and liver masks in ``$SYNTHTUMOR_DATA`` (default ``../shared/data`` beside
the repository), orients them to RAS, resamples them to 1 mm, puts fresh tumours into each
sample with ``RandLiverTumord``, windows the intensities to [-21, 189] HU and crops 96^3
patches around positive and negative voxels, for two epochs. With ``--out DIR`` it also saves
one synthesized scan and its label as NIfTI for viewing.

    python examples/monai_pipeline.py [--out DIR] [--epochs 2] [--spacing 1.0] [--patch 96]

``--spacing 3 --patch 32 --epochs 1 --workers 0`` runs in seconds (the test suite does).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from monai.data import CacheDataset, DataLoader
from monai.transforms import (
    Compose,
    CropForegroundd,
    EnsureChannelFirstd,
    LoadImaged,
    Orientationd,
    RandCropByPosNegLabeld,
    RandFlipd,
    SaveImaged,
    ScaleIntensityRanged,
    Spacingd,
    SpatialPadd,
)
from monai.utils import set_determinism

from synthtumor.adapters.monai import RandLiverTumord

KEYS = ["image", "label"]
DATA = Path(os.environ.get("SYNTHTUMOR_DATA", Path(__file__).resolve().parents[2] / "shared/data"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="save one synthesized scan here (NIfTI)")
    parser.add_argument("--data", type=Path, default=DATA, help="folder of the real scans")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--spacing", type=float, default=1.0, help="voxel size (mm)")
    parser.add_argument("--patch", type=int, default=96, help="crop edge (voxels)")
    parser.add_argument("--workers", type=int, default=2, help="data loader workers")
    args = parser.parse_args(argv)
    patch = (args.patch,) * 3
    files = [
        {
            "image": str(args.data / name / "ct.nii.gz"),
            "label": str(args.data / name / "liver.nii.gz"),
        }
        for name in ("abdomen-3mm", "portal-venous-slab")
    ]
    prepare = [
        LoadImaged(KEYS),
        EnsureChannelFirstd(KEYS),
        Orientationd(KEYS, axcodes="RAS", labels=None),
        # Only to keep the example fast: a box around the liver (margin in native voxels).
        CropForegroundd(KEYS, source_key="label", margin=24),
        Spacingd(KEYS, pixdim=(args.spacing,) * 3, mode=("bilinear", "nearest")),
    ]
    synthesize = RandLiverTumord(KEYS, prob=0.9)  # after resampling: HU at the final spacing
    if args.out:
        save = SaveImaged(KEYS, output_dir=args.out, output_postfix="tumor", resample=False)
        sample = Compose([*prepare, synthesize]).set_random_state(0)(files[0])
        save(sample)
        print(f"saved a synthesized scan and its label under {args.out}")
    train_transforms = Compose(
        [
            *prepare,
            synthesize,
            ScaleIntensityRanged("image", a_min=-21, a_max=189, b_min=0.0, b_max=1.0, clip=True),
            SpatialPadd(KEYS, spatial_size=patch),
            RandCropByPosNegLabeld(
                KEYS, label_key="label", spatial_size=patch, pos=1, neg=1, num_samples=2
            ),
            RandFlipd(KEYS, prob=0.1, spatial_axis=0),
        ]
    )
    set_determinism(seed=0)
    dataset = CacheDataset(files, train_transforms, progress=False)  # caches up to Spacingd
    loader = DataLoader(dataset, batch_size=2, shuffle=True, num_workers=args.workers)
    for epoch in range(args.epochs):
        start = time.perf_counter()
        for batch in loader:
            tumor_voxels = (batch["label"] == 2).flatten(1).sum(1).tolist()
            print(
                f"epoch {epoch}: crops {tuple(batch['image'].shape)}, tumour voxels per crop "
                f"{tumor_voxels}"
            )
        print(f"epoch {epoch} took {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
