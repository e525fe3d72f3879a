"""Synthetic liver tumours in a MONAI training pipeline, on the real scans.

Loads the CT scans and liver masks in ``$SYNTHTUMOR_DATA`` (default ``../shared/data`` beside
the repository), orients them to RAS, resamples them to 1 mm, puts fresh tumours into each
sample with ``RandLiverTumord``, windows the intensities to [-21, 189] HU and crops 96^3
patches around positive and negative voxels, for two epochs. With ``--out DIR`` it also saves
one synthesized scan and its label as NIfTI for viewing.

    python examples/monai_pipeline.py [--out DIR]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="save one synthesized scan here (NIfTI)")
    args = parser.parse_args()
    files = [
        {"image": str(DATA / name / "ct.nii.gz"), "label": str(DATA / name / "liver.nii.gz")}
        for name in ("abdomen-3mm", "portal-venous-slab")
    ]
    prepare = [
        LoadImaged(KEYS),
        EnsureChannelFirstd(KEYS),
        Orientationd(KEYS, axcodes="RAS", labels=None),
        # Only to keep the example fast: a box around the liver (margin in native voxels).
        CropForegroundd(KEYS, source_key="label", margin=24),
        Spacingd(KEYS, pixdim=(1.0, 1.0, 1.0), mode=("bilinear", "nearest")),
    ]
    synthesize = RandLiverTumord(KEYS, prob=0.9)  # after resampling: HU at the final spacing
    if args.out:
        save = SaveImaged(KEYS, output_dir=args.out, output_postfix="tumour", resample=False)
        sample = Compose([*prepare, synthesize]).set_random_state(0)(files[0])
        save(sample)
        print(f"saved a synthesized scan and its label under {args.out}")
    train_transforms = Compose(
        [
            *prepare,
            synthesize,
            ScaleIntensityRanged("image", a_min=-21, a_max=189, b_min=0.0, b_max=1.0, clip=True),
            SpatialPadd(KEYS, spatial_size=(96, 96, 96)),
            RandCropByPosNegLabeld(
                KEYS, label_key="label", spatial_size=(96, 96, 96), pos=1, neg=1, num_samples=2
            ),
            RandFlipd(KEYS, prob=0.1, spatial_axis=0),
        ]
    )
    set_determinism(seed=0)
    dataset = CacheDataset(files, train_transforms, progress=False)  # caches up to Spacingd
    loader = DataLoader(dataset, batch_size=2, shuffle=True, num_workers=2)
    for epoch in range(2):
        start = time.perf_counter()
        for batch in loader:
            tumour_voxels = (batch["label"] == 2).flatten(1).sum(1).tolist()
            print(
                f"epoch {epoch}: crops {tuple(batch['image'].shape)}, tumour voxels per crop "
                f"{tumour_voxels}"
            )
        print(f"epoch {epoch} took {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
