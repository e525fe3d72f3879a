"""Tests for the plain PyTorch adapter (synthtumor.adapters.torch)."""

from __future__ import annotations

import importlib
import math
import sys
import warnings

import nibabel as nib
import numpy as np
import pytest
import torch
from scipy import ndimage
from torch.utils.data import DataLoader, Dataset, SequentialSampler

from synthtumor import LiverTooSmallError, TumorParams
from synthtumor.adapters.torch import LiverTooSmallWarning, LiverTumorDataset
from synthtumor.phantom import Phantom, make_phantom

SPACING = (1.5, 1.5, 2.0)


@pytest.fixture(scope="module")
def small_phantom() -> Phantom:
    return make_phantom(shape=(64, 64, 48), spacing=SPACING, rng=0)


class Scans(Dataset):
    """`count` copies of one scan, as (image, mask, spacing) tensors."""

    def __init__(self, phantom: Phantom, count: int) -> None:
        self.image = torch.from_numpy(phantom.image)
        self.mask = torch.from_numpy(phantom.liver_mask.astype(np.uint8))
        self.spacing = phantom.spacing
        self.count = count

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int):
        return self.image, self.mask, self.spacing


def _images(dataset: Dataset, **loader_options) -> list[torch.Tensor]:
    loader = DataLoader(dataset, batch_size=None, **loader_options)
    return [image for image, _, _ in loader]


def _assert_consistent(image_before, image_after, label_before, label_after, spacing) -> None:
    """Tumour voxels are where the image changed; the label changed only to tumour."""
    image_before, image_after = np.asarray(image_before), np.asarray(image_after)
    label_before, label_after = np.asarray(label_before), np.asarray(label_after)
    tumor = label_after == 2
    assert tumor.any()
    assert np.array_equal(label_after != label_before, tumor & (label_before != 2))
    changed = image_after != image_before
    assert changed[tumor].mean() > 0.9
    distance_mm = ndimage.distance_transform_edt(~tumor, sampling=spacing)
    assert distance_mm[changed].max() < 30.0


# --- construction ----------------------------------------------------------------------------


def test_missing_framework_names_the_extra(monkeypatch):
    for name in [name for name in sys.modules if name.split(".")[0] == "torch"]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.delitem(sys.modules, "synthtumor.adapters.torch")
    with pytest.raises(ImportError, match=r"pip install synthtumor\[torch\]"):
        importlib.import_module("synthtumor.adapters.torch")


@pytest.mark.parametrize("prob", [-0.1, 1.5, math.nan])
def test_prob_outside_unit_interval_raises(small_phantom, prob):
    with pytest.raises(ValueError, match="prob"):
        LiverTumorDataset(Scans(small_phantom, 1), prob=prob)


def test_bad_arguments_are_named(small_phantom):
    scans = Scans(small_phantom, 1)
    with pytest.raises(ValueError, match="seed"):
        LiverTumorDataset(scans, seed=-1)
    with pytest.raises(ValueError, match="epoch"):
        LiverTumorDataset(scans).set_epoch(-2)
    with pytest.raises(ValueError, match="spacing"):
        LiverTumorDataset(scans, spacing=(1.0, 0.0, 1.0))
    with pytest.raises(TypeError, match="map-style"):
        LiverTumorDataset(42)


# --- sample formats, types and the caller's data ---------------------------------------------


@pytest.mark.parametrize("layout", ["3d", "channel_first"])
@pytest.mark.parametrize("container", ["numpy", "tensor"])
def test_tuple_samples_keep_types_dtypes_and_shapes(small_phantom, layout, container):
    image = small_phantom.image.astype(np.int16)
    mask = small_phantom.liver_mask
    if layout == "channel_first":
        image, mask = image[None], mask[None]
    if container == "tensor":
        image, mask = torch.from_numpy(image), torch.from_numpy(mask)
    image_copy, mask_copy = image.clone() if container == "tensor" else image.copy(), mask * 1
    new_image, new_label = LiverTumorDataset([(image, mask)], spacing=SPACING, seed=1)[0]
    assert type(new_image) is type(image) and type(new_label) is type(mask)
    assert new_image.shape == image.shape and new_label.shape == mask.shape
    assert new_image.dtype == image.dtype
    assert str(new_label.dtype).endswith("uint8")  # a boolean mask becomes a label map
    assert (image == image_copy).all() and (mask * 1 == mask_copy).all()
    _assert_consistent(
        small_phantom.image.astype(np.int16),
        np.asarray(new_image).reshape(small_phantom.image.shape),
        small_phantom.liver_mask,
        np.asarray(new_label).reshape(small_phantom.image.shape),
        SPACING,
    )


def test_the_old_name_liver_label_still_works_and_warns(small_phantom):
    organs = small_phantom.liver_mask.astype(np.int16) * 5
    sample = {"image": small_phantom.image, "label": organs, "spacing": SPACING}
    with pytest.warns(DeprecationWarning, match="liver_label is deprecated; use organ_label"):
        old = LiverTumorDataset([sample], liver_label=5, tumor_label=9, seed=2)
    new = LiverTumorDataset([sample], organ_label=5, tumor_label=9, seed=2)
    assert old.organ_label == 5
    with pytest.warns(DeprecationWarning, match="liver_label is deprecated"):
        assert old.liver_label == 5
    assert (new[0]["label"] == 9).any()
    np.testing.assert_array_equal(old[0]["label"], new[0]["label"])
    with pytest.raises(TypeError, match="not both"):
        LiverTumorDataset([sample], organ_label=5, liver_label=5)


def test_dictionary_samples_and_other_organs(small_phantom):
    organs = small_phantom.liver_mask.astype(np.int16) * 5
    organs[:8] = 7
    sample = {"ct": small_phantom.image, "seg": organs, "spacing": SPACING, "id": "case-0"}
    dataset = LiverTumorDataset(
        [sample], image_key="ct", label_key="seg", organ_label=5, tumor_label=9, seed=2
    )
    out = dataset[0]
    assert out.keys() == {*sample.keys(), "synthtumor"} and out["id"] == "case-0"
    assert TumorParams.from_json(out["synthtumor"]["params"]).shape == organs.shape
    assert out["seg"].dtype == np.int16
    tumor = out["seg"] == 9
    assert tumor.any()
    assert np.array_equal(out["seg"][~tumor], organs[~tumor])
    assert sample["seg"] is organs and not (organs == 9).any()


def test_spacing_from_sample_or_argument(small_phantom):
    with_spacing = LiverTumorDataset(Scans(small_phantom, 1), seed=3)[0][0]
    pairs = [(small_phantom.image, small_phantom.liver_mask)]
    given = LiverTumorDataset(pairs, spacing=SPACING, seed=3)[0][0]
    assert np.array_equal(with_spacing.numpy(), given)
    with pytest.raises(ValueError, match="spacing"):
        LiverTumorDataset(pairs, seed=3)[0]


def test_tumor_label_must_fit_the_label_dtype(small_phantom):
    item = (small_phantom.image, small_phantom.liver_mask.astype(np.int8), SPACING)
    with pytest.raises(ValueError, match="int8"):
        LiverTumorDataset([item], tumor_label=200)[0]


def test_unsupported_sample_is_refused(small_phantom):
    with pytest.raises(TypeError, match="yield"):
        LiverTumorDataset([small_phantom.image], spacing=SPACING)[0]


def test_real_tumor_passes_through(small_phantom):
    label = small_phantom.liver_mask.astype(np.uint8)
    label[30:33, 30:33, 20:23] = 2
    item = (small_phantom.image, label, SPACING)
    assert LiverTumorDataset([item])[0] is item


def test_small_liver_passes_through_with_a_warning(small_phantom):
    label = np.zeros(small_phantom.image.shape, np.uint8)
    label[30:33, 30:33, 20:23] = 1
    item = (small_phantom.image, label, SPACING)
    with pytest.warns(LiverTooSmallWarning):
        assert LiverTumorDataset([item])[0] is item
    with pytest.raises(LiverTooSmallError):
        LiverTumorDataset([item], on_small_liver="raise")[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LiverTumorDataset([item], on_small_liver="ignore")[0]


# --- randomness ------------------------------------------------------------------------------


def test_prob_zero_changes_nothing_and_prob_mixes(small_phantom):
    scans = Scans(small_phantom, 12)
    untouched = LiverTumorDataset(scans, prob=0.0)
    assert all(untouched[i][0] is scans.image for i in range(len(scans)))
    half = LiverTumorDataset(scans, prob=0.5, size="tiny")
    applied = [half[i][0] is not scans.image for i in range(len(scans))]
    assert 0 < sum(applied) < len(applied)


def test_samples_differ_across_indices_and_epochs_and_repeat_per_epoch(small_phantom):
    dataset = LiverTumorDataset(Scans(small_phantom, 2), seed=4, size="small")
    first = [dataset[i][0] for i in range(2)]
    assert not torch.equal(first[0], first[1])
    assert torch.equal(dataset[0][0], first[0])
    dataset.set_epoch(1)
    assert dataset.epoch == 1
    assert not torch.equal(dataset[0][0], first[0])
    assert not torch.equal(dataset[0][0], LiverTumorDataset(Scans(small_phantom, 2), seed=5)[0][0])


def test_same_samples_for_any_number_of_workers_and_order(small_phantom):
    dataset = LiverTumorDataset(Scans(small_phantom, 4), seed=6, size="small")
    dataset.set_epoch(3)
    in_process = _images(dataset, num_workers=0)
    with_workers = _images(dataset, num_workers=2)
    reversed_order = _images(dataset, sampler=list(reversed(range(4))), num_workers=2)[::-1]
    for a, b, c in zip(in_process, with_workers, reversed_order, strict=True):
        assert torch.equal(a, b) and torch.equal(a, c)


def test_set_epoch_reaches_persistent_workers(small_phantom):
    dataset = LiverTumorDataset(Scans(small_phantom, 2), seed=7, size="tiny")
    loader = DataLoader(
        dataset,
        batch_size=None,
        num_workers=2,
        persistent_workers=True,
        sampler=SequentialSampler(dataset),
    )
    epochs = []
    for epoch in range(2):
        dataset.set_epoch(epoch)
        epochs.append([image for image, _, _ in loader])
    for epoch, images in enumerate(epochs):
        dataset.set_epoch(epoch)
        assert all(torch.equal(image, dataset[i][0]) for i, image in enumerate(images))
    assert not torch.equal(epochs[0][0], epochs[1][0])


# --- a real scan -----------------------------------------------------------------------------


class SlabDataset(Dataset):
    """The real slab, RAS-oriented, cropped around the liver and resampled to 1 mm."""

    def __init__(self, folder) -> None:
        ct = nib.as_closest_canonical(nib.load(folder / "ct.nii.gz"))
        liver = nib.as_closest_canonical(nib.load(folder / "liver.nii.gz"))
        image = np.asarray(ct.dataobj, dtype=np.float32)
        label = np.asarray(liver.dataobj, dtype=np.uint8)
        box = ndimage.find_objects(label)[0]
        zoom = np.array(ct.header.get_zooms()[:3], dtype=float)
        self.image = ndimage.zoom(image[box], zoom, order=1)
        self.label = ndimage.zoom(label[box], zoom, order=0)

    def __len__(self) -> int:
        return 2

    def __getitem__(self, index: int):
        return {"image": self.image, "label": self.label, "spacing": (1.0, 1.0, 1.0)}


def _window_and_crop(sample: dict, rng: np.random.Generator, size: int = 96) -> dict:
    image = (np.clip(sample["image"], -21, 189) + 21) / 210
    pad = [(0, max(size - n, 0)) for n in image.shape]
    image, label = np.pad(image, pad), np.pad(sample["label"], pad)
    centers = np.argwhere(label > 0) if rng.random() < 0.5 else np.argwhere(label == 0)
    center = centers[rng.integers(len(centers))]
    start = [min(max(c - size // 2, 0), n - size) for c, n in zip(center, image.shape, strict=True)]
    box = tuple(slice(s, s + size) for s in start)
    return {"image": image[box], "label": label[box]}


def test_end_to_end_pipeline_on_the_real_slab(shared_data):
    dataset = LiverTumorDataset(SlabDataset(shared_data / "portal-venous-slab"), seed=0)
    rng = np.random.default_rng(0)
    crops = [_window_and_crop(dataset[i], rng) for i in range(len(dataset))]
    for crop in crops:
        assert crop["image"].shape == (96, 96, 96)
        assert 0.0 <= crop["image"].min() <= crop["image"].max() <= 1.0
        assert set(np.unique(crop["label"]).tolist()) <= {0, 1, 2}
    assert not np.array_equal(dataset[0]["image"], dataset[1]["image"])
    assert all((dataset[i]["label"] == 2).any() for i in range(len(dataset)))


def test_metatensor_keeps_type_affine_and_gives_its_pixdim(small_phantom):
    from monai.data import MetaTensor

    affine = torch.diag(torch.tensor([*SPACING, 1.0], dtype=torch.float64))
    image = MetaTensor(small_phantom.image.copy(), affine=affine)
    label = MetaTensor(small_phantom.liver_mask.astype(np.uint8), affine=affine)
    dataset = LiverTumorDataset([{"image": image, "label": label}], seed=0, size="small")
    out = dataset[0]
    assert type(out["image"]) is MetaTensor and type(out["label"]) is MetaTensor
    assert torch.equal(out["image"].affine, affine) and torch.equal(out["label"].affine, affine)
    assert bool((out["label"] == 2).any())
    assert out["image"].meta["synthtumor"] == out["synthtumor"]
    assert "synthtumor" not in image.meta  # the caller's MetaTensor is untouched
    # The spacing came from pixdim: the params say so.
    assert TumorParams.from_json(out["synthtumor"]["params"]).spacing == SPACING


def test_bulge_option_must_be_a_bool(small_phantom):
    with pytest.raises(TypeError, match="bulge_into_background must be True or False"):
        LiverTumorDataset([], bulge_into_background=1)
