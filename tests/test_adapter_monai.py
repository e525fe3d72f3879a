"""Tests for the MONAI adapter (synthtumor.adapters.monai)."""

from __future__ import annotations

import importlib
import math
import sys
import warnings

import numpy as np
import pytest
import torch
from monai.data import CacheDataset, DataLoader, Dataset, MetaTensor, PersistentDataset
from monai.transforms import (
    Compose,
    CropForegroundd,
    EnsureChannelFirstd,
    EnsureTyped,
    LoadImaged,
    Orientationd,
    RandCropByPosNegLabeld,
    RandFlipd,
    ScaleIntensityRanged,
    Spacingd,
    SpatialPadd,
)
from monai.utils import set_determinism
from scipy import ndimage

from synthtumor import LiverTooSmallError
from synthtumor.adapters.monai import (
    LiverStatisticsd,
    LiverTooSmallWarning,
    RandLiverTumor,
    RandLiverTumorD,
    RandLiverTumord,
    RandLiverTumorDict,
)
from synthtumor.phantom import Phantom, make_phantom

SPACING = (1.5, 1.5, 2.0)
KEYS = ["image", "label"]


@pytest.fixture(scope="module")
def small_phantom() -> Phantom:
    return make_phantom(shape=(64, 64, 48), spacing=SPACING, rng=0)


def _affine(spacing: tuple[float, float, float]) -> torch.Tensor:
    affine = torch.diag(torch.tensor([*spacing, 1.0], dtype=torch.float64))
    affine[:3, 3] = torch.tensor([-40.0, 12.0, 7.5], dtype=torch.float64)
    return affine


def _meta_sample(phantom: Phantom) -> dict[str, MetaTensor]:
    affine = _affine(phantom.spacing)
    return {
        "image": MetaTensor(phantom.image[None].copy(), affine=affine),
        "label": MetaTensor(phantom.liver_mask[None].astype(np.float32), affine=affine),
    }


def _as_array(value: object) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.as_subclass(torch.Tensor).detach().cpu().numpy()
    return np.asarray(value)


def _assert_consistent(before: dict, after: dict, spacing, *, tumor_label: int = 2) -> None:
    """Tumour voxels are where the image changed; the label changed only to tumour."""
    image_before, image_after = _as_array(before["image"])[0], _as_array(after["image"])[0]
    label_before, label_after = _as_array(before["label"])[0], _as_array(after["label"])[0]
    tumor = label_after == tumor_label
    assert tumor.any()
    relabelled = label_after != label_before
    assert np.array_equal(relabelled, tumor & (label_before != tumor_label))
    changed = image_after != image_before
    assert changed[tumor].mean() > 0.9  # integer scans may round a voxel back to its value
    # Everything the synthesis changed lies near a tumour (mass effect reaches 1.3 radii).
    distance_mm = ndimage.distance_transform_edt(~tumor, sampling=spacing)
    assert distance_mm[changed].max() < 30.0


# --- construction ----------------------------------------------------------------------------


def test_missing_framework_names_the_extra(monkeypatch):
    for name in [name for name in sys.modules if name.split(".")[0] == "monai"]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.delitem(sys.modules, "synthtumor.adapters.monai")
    with pytest.raises(ImportError, match=r"pip install synthtumor\[monai\]"):
        importlib.import_module("synthtumor.adapters.monai")


def test_aliases_are_the_dictionary_transform():
    assert RandLiverTumorD is RandLiverTumord
    assert RandLiverTumorDict is RandLiverTumord


@pytest.mark.parametrize("prob", [-0.1, 1.5, math.nan])
def test_prob_outside_unit_interval_raises(prob):
    with pytest.raises(ValueError, match="prob"):
        RandLiverTumord(KEYS, prob=prob)
    with pytest.raises(ValueError, match="prob"):
        RandLiverTumor(prob)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="keys"):
        RandLiverTumord(["image", "label", "extra"])
    with pytest.raises(ValueError, match="image_key"):
        RandLiverTumord(["ct", "seg"], image_key="image")
    with pytest.raises(ValueError, match="on_small_liver"):
        RandLiverTumord(KEYS, on_small_liver="skip")
    with pytest.raises(ValueError, match="tumor_label"):
        RandLiverTumord(KEYS, organ_label=2, tumor_label=2)
    with pytest.raises(ValueError, match="size"):
        RandLiverTumord(KEYS, size="huge")


def test_keys_default_to_image_key_and_label_key(small_phantom):
    sample = _meta_sample(small_phantom)
    data = {"ct": sample["image"], "seg": sample["label"]}
    out = RandLiverTumord(image_key="ct", label_key="seg").set_random_state(0)(data)
    assert (out["seg"] == 2).any()


# --- types, metadata and the caller's data ---------------------------------------------------


@pytest.mark.parametrize("container", ["numpy", "tensor", "metatensor"])
@pytest.mark.parametrize("image_dtype", [np.float32, np.int16])
def test_types_dtypes_and_affine_are_kept(small_phantom, container, image_dtype):
    image = small_phantom.image[None].astype(image_dtype)
    label = small_phantom.liver_mask[None].astype(np.uint8)
    affine = _affine(small_phantom.spacing)
    if container == "numpy":
        data, spacing = {"image": image, "label": label}, small_phantom.spacing
    elif container == "tensor":
        data = {"image": torch.from_numpy(image), "label": torch.from_numpy(label)}
        spacing = small_phantom.spacing
    else:
        data = {
            "image": MetaTensor(image, affine=affine),
            "label": MetaTensor(label, affine=affine),
        }
        spacing = None
    transform = RandLiverTumord(KEYS, spacing=spacing).set_random_state(1)
    out = transform(data)
    for key in KEYS:
        assert type(out[key]) is type(data[key])
        assert out[key].dtype == data[key].dtype
        assert out[key].shape == data[key].shape
        assert out[key] is not data[key]
    if container == "metatensor":
        for key in KEYS:
            assert torch.equal(out[key].affine, affine)
            assert out[key].meta.keys() >= data[key].meta.keys()
    _assert_consistent(data, out, small_phantom.spacing)


def test_callers_tensors_are_not_modified(small_phantom):
    data = _meta_sample(small_phantom)
    originals = {key: value.clone() for key, value in data.items()}
    out = RandLiverTumord(KEYS).set_random_state(2)(data)
    assert set(data) == set(KEYS)
    for key in KEYS:
        assert torch.equal(data[key], originals[key])
        assert torch.equal(data[key].affine, originals[key].affine)
        assert out[key].data_ptr() != data[key].data_ptr()


def test_spacing_comes_from_pixdim_or_argument(small_phantom):
    data = _meta_sample(small_phantom)
    from_pixdim = RandLiverTumord(KEYS).set_random_state(3)(data)
    given = RandLiverTumord(KEYS, spacing=small_phantom.spacing).set_random_state(3)(data)
    assert torch.equal(from_pixdim["image"], given["image"])
    coarser = RandLiverTumord(KEYS, spacing=(3.0, 3.0, 4.0)).set_random_state(3)(data)
    assert not torch.equal(from_pixdim["image"], coarser["image"])


def test_unknown_spacing_raises(small_phantom):
    data = {"image": small_phantom.image[None], "label": small_phantom.liver_mask[None]}
    with pytest.raises(ValueError, match="spacing"):
        RandLiverTumord(KEYS)(data)


def test_channel_last_or_missing_channel_is_refused(small_phantom):
    data = {"image": small_phantom.image, "label": small_phantom.liver_mask}
    with pytest.raises(ValueError, match="EnsureChannelFirstd"):
        RandLiverTumord(KEYS, spacing=SPACING)(data)


# --- labels ----------------------------------------------------------------------------------


def test_other_organs_keep_their_labels(small_phantom):
    data = _meta_sample(small_phantom)
    organs = data["label"].clone()
    organs[0, :8] = 7  # an "organ" outside the liver
    organs[organs == 1] = 5  # TotalSegmentator's liver value
    data["label"] = organs
    out = RandLiverTumord(KEYS, organ_label=5, tumor_label=9).set_random_state(4)(data)
    tumor = out["label"] == 9
    assert tumor.any()
    assert torch.equal(out["label"][~tumor], organs[~tumor])
    assert set(torch.unique(out["label"]).tolist()) <= {0, 5, 7, 9}


def test_scan_with_real_tumor_passes_through(small_phantom):
    data = _meta_sample(small_phantom)
    data["label"][0, 30:33, 30:33, 20:23] = 2
    out = RandLiverTumord(KEYS).set_random_state(5)(data)
    _assert_passed_through(out, data)
    forced = RandLiverTumord(KEYS, skip_if_tumor_present=False).set_random_state(5)(data)
    assert not torch.equal(forced["image"], data["image"])


def test_binary_bool_mask_becomes_uint8_label(small_phantom):
    data = {"image": small_phantom.image[None], "label": small_phantom.liver_mask[None]}
    out = RandLiverTumord(KEYS, spacing=SPACING).set_random_state(6)(data)
    assert out["label"].dtype == np.uint8
    assert set(np.unique(out["label"]).tolist()) == {0, 1, 2}


@pytest.mark.parametrize("liver", ["tiny", "absent"])
def test_small_or_absent_liver_passes_through_with_a_warning(small_phantom, liver):
    data = _meta_sample(small_phantom)
    data["label"] = torch.zeros_like(data["label"])
    if liver == "tiny":
        data["label"][0, 30:33, 30:33, 20:23] = 1
    with pytest.warns(LiverTooSmallWarning, match="passing the sample through"):
        out = RandLiverTumord(KEYS).set_random_state(7)(data)
    _assert_passed_through(out, data)
    with pytest.raises(LiverTooSmallError):
        RandLiverTumord(KEYS, on_small_liver="raise").set_random_state(7)(data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        RandLiverTumord(KEYS, on_small_liver="ignore").set_random_state(7)(data)


def test_other_errors_are_not_swallowed(small_phantom):
    data = _meta_sample(small_phantom)
    data["image"][0, 32, 32, 24] = math.nan
    with pytest.raises(ValueError, match="NaN"):
        RandLiverTumord(KEYS).set_random_state(8)(data)


# --- randomness ------------------------------------------------------------------------------


def test_prob_zero_changes_nothing(small_phantom):
    data = _meta_sample(small_phantom)
    out = RandLiverTumord(KEYS, prob=0.0).set_random_state(9)(data)
    _assert_passed_through(out, data)


def test_missing_keys(small_phantom):
    data = {"image": _meta_sample(small_phantom)["image"]}
    with pytest.raises(KeyError, match="label"):
        RandLiverTumord(KEYS)(data)
    out = RandLiverTumord(KEYS, allow_missing_keys=True)(data)
    assert out["image"] is data["image"] and "label" not in out


def test_compose_seeding_reproduces_and_calls_differ(small_phantom):
    data = _meta_sample(small_phantom)
    pipeline = Compose([RandLiverTumord(KEYS), RandFlipd(KEYS, prob=0.5, spatial_axis=0)])
    pipeline.set_random_state(10)
    first = [pipeline(data)["image"] for _ in range(2)]
    pipeline.set_random_state(10)
    second = [pipeline(data)["image"] for _ in range(2)]
    assert all(torch.equal(a, b) for a, b in zip(first, second, strict=True))
    assert not torch.equal(first[0], first[1])
    pipeline.set_random_state(11)
    assert not torch.equal(pipeline(data)["image"], first[0])


def test_array_transform_matches_the_dictionary_transform(small_phantom):
    data = _meta_sample(small_phantom)
    image, label = RandLiverTumor(prob=1.0).set_random_state(12)(data["image"], data["label"])
    assert isinstance(image, MetaTensor) and isinstance(label, MetaTensor)
    _assert_consistent(data, {"image": image, "label": label}, small_phantom.spacing)
    dictionary = RandLiverTumord(KEYS)
    dictionary.randomize()
    seed = dictionary._seed
    by_seed = RandLiverTumor().synthesize(data["image"], data["label"], seed=seed)
    dictionary_out = dictionary.liver_tumor.synthesize(data["image"], data["label"], seed=seed)
    assert torch.equal(by_seed[0], dictionary_out[0])


def _epoch_images(loader: DataLoader) -> list[torch.Tensor]:
    return [image for batch in loader for image in batch["image"]]


@pytest.mark.parametrize("num_workers", [0, 2])
def test_dataloader_is_reproducible_with_set_determinism(small_phantom, num_workers):
    items = [_meta_sample(small_phantom) for _ in range(4)]
    transform = Compose([RandLiverTumord(KEYS, size="small")])
    runs = []
    try:
        for _ in range(2):
            set_determinism(seed=0)
            loader = DataLoader(Dataset(items, transform), batch_size=2, num_workers=num_workers)
            runs.append([_epoch_images(loader), _epoch_images(loader)])
    finally:
        set_determinism(seed=None)
    (first_epoch, second_epoch), (again_first, again_second) = runs
    for a, b in zip(first_epoch + second_epoch, again_first + again_second, strict=True):
        assert torch.equal(a, b)
    # The same scan gets different tumours in every sample and every epoch.
    assert not torch.equal(first_epoch[0], first_epoch[1])
    assert not torch.equal(first_epoch[0], first_epoch[2])  # another batch (another worker)
    assert not torch.equal(first_epoch[0], second_epoch[0])


def test_cache_dataset_caches_before_the_transform_and_epochs_differ(small_phantom):
    items = [_meta_sample(small_phantom)]
    pristine = items[0]["image"].clone()
    transform = Compose([ScaleIntensityRanged("label", 0, 1, 0, 1), RandLiverTumord(KEYS)])
    transform.set_random_state(13)
    dataset = CacheDataset(items, transform, progress=False)
    epochs = [dataset[0] for _ in range(2)]
    assert (epochs[0]["label"] == 2).any() and (epochs[1]["label"] == 2).any()
    assert not torch.equal(epochs[0]["image"], epochs[1]["image"])
    assert torch.equal(dataset._cache[0]["image"], pristine)
    assert not (dataset._cache[0]["label"] == 2).any()


def _assert_passed_through(out: dict, data: dict) -> None:
    """The sample's arrays come back untouched; the image as a view carrying the empty record."""
    assert out["label"] is data["label"]
    assert out["image"].data_ptr() == data["image"].data_ptr()
    assert torch.equal(out["image"].affine, data["image"].affine)
    assert (
        out["synthtumor"]["params"] == "" and out["image"].meta["synthtumor"] is out["synthtumor"]
    )
    assert "synthtumor" not in data["image"].meta


# --- a real scan -----------------------------------------------------------------------------


def test_end_to_end_pipeline_on_the_real_slab(shared_data):
    folder = shared_data / "portal-venous-slab"
    pipeline = Compose(
        [
            LoadImaged(KEYS),
            EnsureChannelFirstd(KEYS),
            Orientationd(KEYS, axcodes="RAS", labels=None),
            Spacingd(KEYS, pixdim=(1.0, 1.0, 1.0), mode=("bilinear", "nearest")),
            CropForegroundd(KEYS, source_key="label", margin=8),
            RandLiverTumord(KEYS, prob=1.0),
            ScaleIntensityRanged("image", a_min=-21, a_max=189, b_min=0, b_max=1, clip=True),
            SpatialPadd(KEYS, spatial_size=(96, 96, 96)),
            RandCropByPosNegLabeld(
                KEYS, label_key="label", spatial_size=(96, 96, 96), pos=1, neg=1, num_samples=2
            ),
        ]
    ).set_random_state(0)
    crops = pipeline({"image": str(folder / "ct.nii.gz"), "label": str(folder / "liver.nii.gz")})
    assert len(crops) == 2
    labels_seen = set()
    for crop in crops:
        assert crop["image"].shape == (1, 96, 96, 96)
        assert float(crop["image"].min()) >= 0.0 and float(crop["image"].max()) <= 1.0
        assert np.allclose(crop["image"].pixdim, 1.0)
        labels_seen |= set(torch.unique(crop["label"]).tolist())
    assert labels_seen <= {0.0, 1.0, 2.0}


# --- seeding under torch's plain DataLoader, the recorded draw, PersistentDataset -----------


def _plain_loader_images(items: list, seed: int) -> list[torch.Tensor]:
    torch.manual_seed(seed)
    dataset = Dataset(items, Compose([RandLiverTumord(KEYS, size="small")]).set_random_state(0))
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=1, num_workers=2, collate_fn=lambda batch: batch
    )
    return [sample["image"] for batch in loader for sample in batch]


def test_plain_torch_dataloader_workers_draw_differently_and_repeat(small_phantom):
    items = [_meta_sample(small_phantom) for _ in range(4)]
    first = _plain_loader_images(items, seed=3)
    again = _plain_loader_images(items, seed=3)
    # Samples 0 and 1 are the first draw of worker 0 and of worker 1.
    assert not torch.equal(first[0], first[1])
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))


def test_the_draw_is_recorded_and_survives_collation(small_phantom):
    from synthtumor import TumorParams

    items = [_meta_sample(small_phantom) for _ in range(4)]
    transform = Compose([RandLiverTumord(KEYS, prob=0.5, size="small")]).set_random_state(1)
    batches = list(DataLoader(Dataset(items, transform), batch_size=4))
    (batch,) = batches
    records = batch["synthtumor"]
    applied = [bool(p) for p in records["params"]]
    assert any(applied) and not all(applied)  # prob 0.5 on 4 samples, this seed: both kinds
    assert records["params"] == batch["image"].meta["synthtumor"]["params"]
    for index, params in enumerate(records["params"]):
        has_tumor = bool((batch["label"][index] == 2).any())
        assert has_tumor == bool(params)
        if params:
            assert TumorParams.from_json(params).shape == small_phantom.image.shape


def test_persistent_dataset_without_statistics_names_the_fix(small_phantom, tmp_path):
    items = [{"image": small_phantom.image[None].copy(), "label": small_phantom.liver_mask[None]}]
    dataset = PersistentDataset(
        items, Compose([EnsureTyped(KEYS), RandLiverTumord(KEYS, size="small")]), tmp_path
    )
    dataset[0]  # computed: EnsureTyped's MetaTensor has a pixdim
    with pytest.raises(RuntimeError) as caught:
        dataset[0]  # reloaded from the cache as plain tensors
    assert "LiverStatisticsd" in str(caught.value.__cause__)


def test_persistent_dataset_with_defaults_and_workers_reads_its_cache(small_phantom, tmp_path):
    # Two scans (two cache files): MONAI returns a computed item as a MetaTensor and a
    # reloaded one as a plain tensor, which would not collate in one batch.
    items = [
        {"image": small_phantom.image[None] + offset, "label": small_phantom.liver_mask[None]}
        for offset in (0, 1)
    ]
    transform = Compose(
        [
            EnsureTyped(KEYS),
            LiverStatisticsd(KEYS, spacing=SPACING),
            RandLiverTumord(KEYS, size="small"),
        ]
    )
    dataset = PersistentDataset(items, transform, tmp_path)
    set_determinism(seed=0)
    try:
        epochs = [list(DataLoader(dataset, batch_size=2, num_workers=2)) for _ in range(2)]
    finally:
        set_determinism(seed=None)
    cached = sorted(tmp_path.glob("*.pt"))
    written = [path.stat().st_mtime_ns for path in cached]
    assert len(cached) == 2
    for epoch in epochs:
        (batch,) = epoch
        assert bool((batch["label"] == 2).any())
    assert not torch.equal(epochs[0][0]["image"], epochs[1][0]["image"])
    list(DataLoader(dataset, batch_size=2, num_workers=0))
    assert [path.stat().st_mtime_ns for path in cached] == written


@pytest.mark.parametrize("bulge_into_background", [False, True])
def test_an_organ_against_the_liver_keeps_its_voxels(bulge_into_background):
    """The tumour sits against the organ (seed 0, see tests/test_label_map.py): without the
    rule its bulge took organ voxels."""
    phantom = make_phantom(shape=(64, 64, 48), rng=0)
    labels = phantom.liver_mask.astype(np.uint8)
    center = int(np.argwhere(phantom.liver_mask).mean(axis=0)[0])
    organ = np.zeros_like(phantom.liver_mask)
    organ[center:] = True
    labels[organ & ~phantom.liver_mask] = 7
    transform = RandLiverTumor(
        spacing=phantom.spacing, size="medium", bulge_into_background=bulge_into_background
    )
    image, label = transform.synthesize(phantom.image[None], labels[None], seed=0)
    organ_voxels = labels[None] == 7
    assert (label == 2).sum() > 100
    assert np.array_equal(label == 7, organ_voxels)
    assert np.array_equal(image[organ_voxels], phantom.image[None][organ_voxels])


def test_bulge_option_must_be_a_bool():
    with pytest.raises(TypeError, match="bulge_into_background must be True or False"):
        RandLiverTumord(KEYS, bulge_into_background="no")


def test_dataloader_is_reproducible_with_a_seeded_generator(small_phantom):
    """The docs' second way of seeding MONAI's DataLoader, which reseeds the transforms from
    torch's generator whatever set_random_state said."""
    items = [_meta_sample(small_phantom) for _ in range(4)]
    runs = []
    for _ in range(2):
        transform = Compose([RandLiverTumord(KEYS, size="small")])
        loader = DataLoader(
            Dataset(items, transform),
            batch_size=2,
            num_workers=2,
            generator=torch.Generator().manual_seed(5),
        )
        runs.append(_epoch_images(loader))
    assert all(torch.equal(a, b) for a, b in zip(*runs, strict=True))
    assert not torch.equal(runs[0][0], runs[0][2])  # the two workers differ
