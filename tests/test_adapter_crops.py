"""The adapters synthesize on crops with the whole scan's statistics (MONAI, TorchIO, PyTorch)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchio as tio
from monai.data import CacheDataset, DataLoader, MetaTensor, PersistentDataset
from monai.transforms import Compose, RandCropByPosNegLabeld, Randomizable

import synthtumor.label_map as label_map
from synthtumor import LiverStatistics, liver_statistics
from synthtumor.adapters.monai import LiverStatisticsd, RandLiverTumord
from synthtumor.adapters.torch import LiverTumorDataset
from synthtumor.adapters.torchio import LiverTumor, MeasureLiver, RandomLiverTumor
from synthtumor.phantom import make_phantom

SPACING = (1.5, 1.5, 2.0)
KEYS = ["image", "label"]
CROP = (48, 48, 32)


@pytest.fixture(scope="module")
def scan():
    return make_phantom((96, 96, 64), SPACING, rng=4)


@pytest.fixture
def seen_statistics(monkeypatch):
    """The `statistics` each call of the core's sample() received from an adapter."""
    seen = []
    original = label_map.sample

    def spy(*args, **kwargs):
        seen.append(kwargs.get("statistics"))
        return original(*args, **kwargs)

    monkeypatch.setattr(label_map, "sample", spy)
    return seen


def _meta_item(scan) -> dict:
    affine = torch.diag(torch.tensor([*SPACING, 1.0], dtype=torch.float64))
    return {
        "image": MetaTensor(scan.image[None].copy(), affine=affine),
        "label": MetaTensor(scan.liver_mask[None].astype(np.uint8), affine=affine),
    }


def _crop_pipeline(**tumor_options) -> list:
    return [
        LiverStatisticsd(KEYS),
        RandCropByPosNegLabeld(
            KEYS, label_key="label", spatial_size=CROP, pos=1, neg=0, num_samples=2
        ),
        RandLiverTumord(KEYS, on_small_liver="ignore", **tumor_options),
    ]


# --- MONAI ---------------------------------------------------------------------------------


def test_liver_statisticsd_is_deterministic_and_stores_plain_numbers(scan):
    item = _meta_item(scan)
    transform = LiverStatisticsd(KEYS)
    assert not isinstance(transform, Randomizable)
    first, again = transform(item), transform(item)
    assert first["liver_statistics"] == again["liver_statistics"]
    stats = LiverStatistics.from_dict(first["liver_statistics"])
    assert stats == liver_statistics(scan.image, scan.liver_mask, spacing=SPACING, rng=0)
    assert all(isinstance(v, int | float | list) for v in first["liver_statistics"].values())
    assert "liver_statistics" not in item  # the input dictionary is not modified
    with pytest.raises(ValueError, match="no organ voxel"):
        transform({**item, "label": item["label"] * 0})


def test_monai_cache_dataset_then_crop_then_tumors(scan, seen_statistics):
    item = _meta_item(scan)
    original_image = item["image"].clone()
    dataset = CacheDataset([item], Compose(_crop_pipeline()), progress=False)
    cached = dataset._cache[0]
    assert "liver_statistics" in cached  # LiverStatisticsd ran once, into the cache
    expected = LiverStatistics.from_dict(cached["liver_statistics"])
    loader = DataLoader(dataset, batch_size=2, num_workers=0)
    tumor_voxels = 0
    for _ in range(2):
        for batch in loader:
            assert tuple(batch["image"].shape) == (2, 1, *CROP)
            tumor_voxels += int((batch["label"] == 2).sum())
            # The statistics survive the crop and MONAI's collation.
            assert torch.allclose(
                batch["liver_statistics"]["parenchyma_mean_hu"].double(),
                torch.tensor(expected.parenchyma_mean_hu, dtype=torch.float64),
            )
    assert tumor_voxels > 0
    assert seen_statistics and all(stats == expected for stats in seen_statistics)
    assert torch.equal(item["image"], original_image)
    assert torch.equal(dataset._cache[0]["image"], original_image)


def test_monai_crop_pipeline_is_reproducible(scan):
    item = _meta_item(scan)
    pipeline = Compose(_crop_pipeline())
    first = pipeline.set_random_state(seed=3)(item)
    again = pipeline.set_random_state(seed=3)(item)
    for a, b in zip(first, again, strict=True):
        assert torch.equal(a["image"], b["image"]) and torch.equal(a["label"], b["label"])


def test_monai_persistent_dataset_with_defaults(scan, tmp_path, seen_statistics):
    """PersistentDataset's defaults (weights_only=True, track_meta=False) drop pixdim on reload:
    the spacing then comes from the statistics."""
    files = [{"image": scan.image[None].copy(), "label": scan.liver_mask[None].astype(np.uint8)}]
    deterministic = Compose([LiverStatisticsd(KEYS, spacing=SPACING)])
    random = _crop_pipeline()[1:]
    dataset = PersistentDataset(files, Compose([*deterministic.transforms, *random]), tmp_path)
    first = dataset[0]
    assert len(list(tmp_path.glob("*.pt"))) == 1
    reread = dataset[0]  # from the cache file this time
    assert all(tuple(crop["image"].shape) == (1, *CROP) for crop in first + reread)
    assert any(int((crop["label"] == 2).sum()) > 0 for crop in first + reread)
    assert len(seen_statistics) == 4 and all(s is not None for s in seen_statistics)
    assert all(s.spacing == SPACING for s in seen_statistics)


def test_monai_without_the_key_measures_the_crop(scan, seen_statistics):
    item = _meta_item(scan)
    pipeline = Compose(_crop_pipeline(statistics_key=None)).set_random_state(seed=0)
    pipeline(item)
    assert seen_statistics == [None, None]


# --- TorchIO -------------------------------------------------------------------------------


def _subject(scan) -> tio.Subject:
    affine = np.diag([*SPACING, 1.0])
    return tio.Subject(
        image=tio.ScalarImage(tensor=torch.from_numpy(scan.image[None].copy()), affine=affine),
        label=tio.LabelMap(
            tensor=torch.from_numpy(scan.liver_mask[None].astype(np.uint8)), affine=affine
        ),
    )


class _TumorPatchSampler(tio.LabelSampler):
    """The pattern of docs/torchio.md: tumours synthesized into each patch as it is drawn."""

    def __init__(self, *args, tumors, **kwargs):
        super().__init__(*args, **kwargs)
        self.tumors = tumors

    def __call__(self, subject, num_patches=None):
        for patch in super().__call__(subject, num_patches):
            yield self.tumors(patch)


def test_torchio_after_a_patch_sampler(scan, seen_statistics):
    subject = _subject(scan)
    original = subject["image"].data.clone()
    measured = MeasureLiver()(subject)
    expected = LiverStatistics.from_dict(measured["liver_statistics"])
    assert "liver_statistics" not in subject
    sampler = _TumorPatchSampler(
        CROP, label_name="label", tumors=RandomLiverTumor(on_small_liver="ignore")
    )
    queue = tio.Queue(
        tio.SubjectsDataset([measured]),
        max_length=4,
        samples_per_volume=2,
        sampler=sampler,
        num_workers=0,
    )
    torch.manual_seed(0)
    batch = next(iter(torch.utils.data.DataLoader(queue, batch_size=2)))
    assert tuple(batch["image"][tio.DATA].shape) == (2, 1, *CROP)
    assert int((batch["label"][tio.DATA] == 2).sum()) > 0
    assert len(seen_statistics) == 2 and all(s == expected for s in seen_statistics)
    assert torch.equal(subject["image"].data, original)


def test_torchio_patch_history_replays(scan):
    measured = MeasureLiver()(_subject(scan))
    patch = next(iter(tio.LabelSampler(CROP, label_name="label")(measured, num_patches=1)))
    torch.manual_seed(1)
    out = RandomLiverTumor(on_small_liver="ignore")(patch)
    # The patch's history starts with the sampler's crop; the tumours replay on the patch.
    (recorded,) = [t for t in out.get_composed_history() if isinstance(t, LiverTumor)]
    assert recorded.statistics_key == "liver_statistics"
    replay = recorded(patch)
    assert torch.equal(replay["image"].data, out["image"].data)
    again = LiverTumor(seed=5, on_small_liver="ignore")
    assert torch.equal(again(patch)["label"].data, again(patch)["label"].data)


# --- PyTorch -------------------------------------------------------------------------------


class _Crops(torch.utils.data.Dataset):
    """Fixed crops of one scan, each with the scan's statistics (measured once)."""

    def __init__(self, scan, *, as_tuples: bool):
        self.image, self.liver = scan.image, scan.liver_mask.astype(np.uint8)
        self.stats = liver_statistics(self.image, self.liver, spacing=SPACING, rng=0)
        centers = np.argwhere(scan.liver_mask)[:: max(1, int(scan.liver_mask.sum()) // 3)][:3]
        self.boxes = [
            tuple(
                slice(
                    min(max(int(c) - n // 2, 0), full - n),
                    min(max(int(c) - n // 2, 0), full - n) + n,
                )
                for c, n, full in zip(center, CROP, self.image.shape, strict=True)
            )
            for center in centers
        ]
        self.as_tuples = as_tuples

    def __len__(self):
        return len(self.boxes)

    def __getitem__(self, index):
        box = self.boxes[index]
        if self.as_tuples:
            return self.image[box], self.liver[box], None, self.stats
        return {
            "image": self.image[box],
            "label": self.liver[box],
            "liver_statistics": self.stats.to_dict(),
        }


@pytest.mark.parametrize("as_tuples", [True, False])
def test_liver_tumor_dataset_on_crops(scan, seen_statistics, as_tuples):
    crops = _Crops(scan, as_tuples=as_tuples)
    dataset = LiverTumorDataset(crops, seed=0, on_small_liver="ignore")
    first = [dataset[i] for i in range(len(dataset))]
    again = [dataset[i] for i in range(len(dataset))]
    image_of = (lambda item: item[0]) if as_tuples else (lambda item: item["image"])
    label_of = (lambda item: item[1]) if as_tuples else (lambda item: item["label"])
    for a, b in zip(first, again, strict=True):
        assert np.array_equal(image_of(a), image_of(b)) and np.array_equal(label_of(a), label_of(b))
        assert image_of(a).shape == CROP
    assert any((label_of(item) == 2).any() for item in first)
    assert seen_statistics and all(s == crops.stats for s in seen_statistics)
    assert np.array_equal(crops.image, scan.image)  # the scan is never written to
