"""Tests for the TorchIO adapter (synthtumor.adapters.torchio)."""

from __future__ import annotations

import importlib
import math
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
import torchio as tio
from scipy import ndimage

from synthtumor import LiverTooSmallError, TumorConfig, TumorParams
from synthtumor.adapters.torchio import (
    LiverTooSmallWarning,
    LiverTumor,
    RandomLiverTumor,
)
from synthtumor.phantom import Phantom, make_phantom

SPACING = (1.5, 1.5, 2.0)


@pytest.fixture(scope="module")
def small_phantom() -> Phantom:
    return make_phantom(shape=(64, 64, 48), spacing=SPACING, rng=0)


def _affine(spacing: tuple[float, float, float]) -> np.ndarray:
    affine = np.diag([*spacing, 1.0])
    affine[:3, 3] = (-40.0, 12.0, 7.5)
    return affine


def _subject(
    phantom: Phantom, *, image_dtype=np.float32, image_key: str = "image", label_key: str = "label"
) -> tio.Subject:
    affine = _affine(phantom.spacing)
    image = torch.from_numpy(phantom.image[None].astype(image_dtype))
    label = torch.from_numpy(phantom.liver_mask[None].astype(np.uint8))
    return tio.Subject(
        {
            image_key: tio.ScalarImage(tensor=image, affine=affine),
            label_key: tio.LabelMap(tensor=label, affine=affine),
        }
    )


def _assert_consistent(before: tio.Subject, after: tio.Subject, *, tumor_label: int = 2) -> None:
    """Tumour voxels are where the image changed; the label changed only to tumour."""
    image_before, image_after = before["image"].numpy()[0], after["image"].numpy()[0]
    label_before, label_after = before["label"].numpy()[0], after["label"].numpy()[0]
    tumor = label_after == tumor_label
    assert tumor.any()
    assert np.array_equal(label_after != label_before, tumor & (label_before != tumor_label))
    changed = image_after != image_before
    assert changed[tumor].mean() > 0.9  # integer scans may round a voxel back to its value
    distance_mm = ndimage.distance_transform_edt(~tumor, sampling=before["image"].spacing)
    assert distance_mm[changed].max() < 30.0


# --- construction ----------------------------------------------------------------------------


def test_missing_framework_names_the_extra(monkeypatch):
    for name in [name for name in sys.modules if name.split(".")[0] == "torchio"]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.delitem(sys.modules, "synthtumor.adapters.torchio")
    with pytest.raises(ImportError, match=r"pip install synthtumor\[torchio\]"):
        importlib.import_module("synthtumor.adapters.torchio")


@pytest.mark.parametrize("p", [-0.1, 1.5, math.nan])
def test_probability_outside_unit_interval_raises(p):
    with pytest.raises(ValueError, match=r"[Pp]robability"):
        RandomLiverTumor(p=p)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="seed"):
        LiverTumor(seed=-1)
    with pytest.raises(ValueError, match="on_small_liver"):
        RandomLiverTumor(on_small_liver="skip")
    with pytest.raises(TypeError, match="image_key"):
        RandomLiverTumor(image_key=3)
    with pytest.raises(TypeError, match="config"):
        RandomLiverTumor(config={"capsule": False})


def test_missing_image_is_named(small_phantom):
    with pytest.raises(KeyError, match="label_key='seg'"):
        LiverTumor(seed=0, label_key="seg")(_subject(small_phantom))


# --- types, metadata and the caller's data ---------------------------------------------------


@pytest.mark.parametrize("image_dtype", [np.float32, np.int16])
def test_types_dtypes_and_affine_are_kept_and_input_untouched(small_phantom, image_dtype):
    subject = _subject(small_phantom, image_dtype=image_dtype)
    tensors = {name: subject[name].data for name in ("image", "label")}
    copies = {name: tensor.clone() for name, tensor in tensors.items()}
    torch.manual_seed(0)
    out = RandomLiverTumor()(subject)
    for name in ("image", "label"):
        assert type(out[name]) is type(subject[name])
        assert out[name].data.dtype == copies[name].dtype
        assert out[name].data.shape == copies[name].shape
        assert np.array_equal(out[name].affine, _affine(SPACING))
        assert subject[name].data is tensors[name]
        assert torch.equal(tensors[name], copies[name])
    _assert_consistent(subject, out)


def test_custom_keys_and_label_values(small_phantom):
    subject = _subject(small_phantom, image_key="ct", label_key="organs")
    organs = subject["organs"].data.clone()
    organs[0, :8] = 7
    organs[organs == 1] = 5
    subject["organs"].set_data(organs)
    out = LiverTumor(seed=1, image_key="ct", label_key="organs", organ_label=5, tumor_label=9)(
        subject
    )
    tumor = out["organs"].data == 9
    assert tumor.any()
    assert torch.equal(out["organs"].data[~tumor], organs[~tumor])


def test_the_history_replays_an_organ_label(small_phantom):
    subject = _subject(small_phantom)
    organs = subject["label"].data.clone()
    organs[organs == 1] = 5
    subject["label"].set_data(organs)
    out = RandomLiverTumor(organ_label=5, tumor_label=9)(subject)
    history = out.get_composed_history()
    assert history[0].organ_label == 5
    replay = history(subject)
    assert (out["label"].data == 9).any()
    assert torch.equal(replay["label"].data, out["label"].data)


def test_real_tumor_passes_through(small_phantom):
    subject = _subject(small_phantom)
    label = subject["label"].data.clone()
    label[0, 30:33, 30:33, 20:23] = 2
    subject["label"].set_data(label)
    out = LiverTumor(seed=2)(subject)
    assert torch.equal(out["image"].data, subject["image"].data)
    assert torch.equal(out["label"].data, label)


def test_small_liver_passes_through_with_a_warning(small_phantom):
    subject = _subject(small_phantom)
    label = torch.zeros_like(subject["label"].data)
    label[0, 30:33, 30:33, 20:23] = 1
    subject["label"].set_data(label)
    with pytest.warns(LiverTooSmallWarning):
        out = LiverTumor(seed=3)(subject)
    assert torch.equal(out["image"].data, subject["image"].data)
    with pytest.raises(LiverTooSmallError):
        LiverTumor(seed=3, on_small_liver="raise")(subject)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LiverTumor(seed=3, on_small_liver="ignore")(subject)


def test_p_zero_changes_nothing(small_phantom):
    subject = _subject(small_phantom)
    out = RandomLiverTumor(p=0.0)(subject)
    assert torch.equal(out["image"].data, subject["image"].data)
    assert torch.equal(out["label"].data, subject["label"].data)
    assert not out.get_applied_transforms()


# --- randomness and replay -------------------------------------------------------------------


def test_manual_seed_reproduces_and_calls_differ(small_phantom):
    subject = _subject(small_phantom)
    transform = tio.Compose([RandomLiverTumor(size="small"), tio.RandomFlip(axes=(0,))])
    runs = []
    for _ in range(2):
        torch.manual_seed(42)
        runs.append([transform(subject)["image"].data for _ in range(2)])
    assert all(torch.equal(a, b) for a, b in zip(*runs, strict=True))
    assert not torch.equal(runs[0][0], runs[0][1])


def test_history_replays_exactly(small_phantom):
    subject = _subject(small_phantom)
    config = TumorConfig().replace(capsule=False)
    pipeline = tio.Compose(
        [RandomLiverTumor(config=config), tio.RandomFlip(axes=(0, 1)), tio.Clamp(-21, 189)]
    )
    torch.manual_seed(7)
    out = pipeline(subject)
    history = out.get_composed_history()
    assert type(history[0]).__name__ == "LiverTumor"
    assert history[0].config == config
    for _ in range(2):
        replay = history(subject)
        for name in ("image", "label"):
            assert torch.equal(replay[name].data, out[name].data)


def _epoch(loader: tio.SubjectsLoader) -> list[torch.Tensor]:
    return [image for batch in loader for image in batch["image"][tio.DATA]]


@pytest.mark.parametrize("num_workers", [0, 2])
def test_subjects_loader_is_reproducible_with_manual_seed(small_phantom, num_workers):
    dataset = tio.SubjectsDataset([_subject(small_phantom)] * 4, transform=RandomLiverTumor())
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        loader = tio.SubjectsLoader(dataset, batch_size=2, num_workers=num_workers)
        runs.append(_epoch(loader) + _epoch(loader))
    assert all(torch.equal(a, b) for a, b in zip(*runs, strict=True))
    first_epoch, second_epoch = runs[0][:4], runs[0][4:]
    assert not torch.equal(first_epoch[0], first_epoch[1])
    assert not torch.equal(first_epoch[0], first_epoch[2])
    assert not torch.equal(first_epoch[0], second_epoch[0])


def test_queue_with_a_label_sampler(small_phantom):
    dataset = tio.SubjectsDataset([_subject(small_phantom)] * 2, transform=RandomLiverTumor())
    sampler = tio.LabelSampler(patch_size=24, label_name="label", label_probabilities={2: 1})
    runs = []
    for _ in range(2):
        torch.manual_seed(3)
        queue = tio.Queue(
            dataset, max_length=8, samples_per_volume=4, sampler=sampler, num_workers=2
        )
        loader = tio.SubjectsLoader(queue, batch_size=4, num_workers=0)
        runs.append([batch for batch in loader])
    patches = torch.cat([batch["label"][tio.DATA] for batch in runs[0]])
    assert patches.shape == (8, 1, 24, 24, 24)
    assert all((patch == 2).any() for patch in patches)  # every patch centred on a tumour
    again = torch.cat([batch["image"][tio.DATA] for batch in runs[1]])
    assert torch.equal(torch.cat([batch["image"][tio.DATA] for batch in runs[0]]), again)


# --- a real scan -----------------------------------------------------------------------------


def test_end_to_end_pipeline_on_the_real_slab(shared_data):
    folder = shared_data / "portal-venous-slab"
    subject = tio.Subject(
        image=tio.ScalarImage(folder / "ct.nii.gz"), label=tio.LabelMap(folder / "liver.nii.gz")
    )
    preprocess = tio.Compose(
        [
            tio.ToCanonical(),
            tio.CropOrPad((192, 192, 20), mask_name="label"),
            tio.Resample(1.0),
            RandomLiverTumor(p=1.0),
            tio.Clamp(-21, 189),
            tio.RescaleIntensity(out_min_max=(0, 1), in_min_max=(-21, 189)),
            tio.CropOrPad((160, 160, 96), mask_name="label"),  # the slab is 40 mm thick
        ]
    )
    dataset = tio.SubjectsDataset([subject], transform=preprocess)
    sampler = tio.LabelSampler(96, label_name="label", label_probabilities={0: 1, 1: 1, 2: 1})
    torch.manual_seed(0)
    queue = tio.Queue(dataset, max_length=4, samples_per_volume=4, sampler=sampler)
    patches = [queue[i] for i in range(4)]
    for patch in patches:
        assert patch["image"].shape == (1, 96, 96, 96)
        assert patch["image"].spacing == pytest.approx((1.0, 1.0, 1.0))
        assert patch["image"].orientation == ("R", "A", "S")
        assert 0.0 <= float(patch["image"].data.min()) <= float(patch["image"].data.max()) <= 1.0
    labels = set().union(*(set(patch["label"].data.unique().tolist()) for patch in patches))
    assert 2 in labels and labels <= {0, 1, 2}


def test_include_and_exclude_are_checked_and_passed_on(small_phantom):
    with pytest.raises(ValueError, match="image_key='image'"):
        RandomLiverTumor(include=["label"])
    with pytest.raises(ValueError, match="label_key='label'"):
        LiverTumor(0, exclude=["label"])
    subject = _subject(small_phantom)
    torch.manual_seed(0)
    out = RandomLiverTumor(include=["image", "label"], label_keys=["label"])(subject)
    (name, arguments), *_ = out.applied_transforms
    assert name == "LiverTumor" and arguments["include"] == ["image", "label"]
    assert arguments["label_keys"] == ["label"]


def test_no_import_of_torchio_transforms_augmentation():
    """TorchIO 2 removes that module: the adapter must import without it. Checked in a fresh
    interpreter (a second import here would register a second LiverTumor class with TorchIO)."""
    code = (
        "import sys, torchio\n"
        "from torchio.transforms.augmentation.random_transform import RandomTransform\n"
        "sys.modules['torchio.transforms.augmentation'] = None\n"
        "from synthtumor.adapters.torchio import RandomLiverTumor\n"
        "assert issubclass(RandomLiverTumor, RandomTransform)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env=os.environ.copy())


def test_the_draw_survives_a_queue_and_the_loader(small_phantom):
    subjects = tio.SubjectsDataset(
        [_subject(small_phantom) for _ in range(2)], transform=RandomLiverTumor(size="small")
    )
    torch.manual_seed(0)
    queue = tio.Queue(
        subjects, max_length=4, samples_per_volume=2, sampler=tio.UniformSampler(32), num_workers=0
    )
    patch = queue[0]
    assert patch["synthtumor"]["seed"] == patch.applied_transforms[0][1]["seed"]
    batch = next(iter(tio.SubjectsLoader(queue, batch_size=2)))
    params = [TumorParams.from_json(text) for text in batch["synthtumor"]["params"]]
    assert all(p.shape == small_phantom.image.shape for p in params)


def test_bulge_option_must_be_a_bool():
    with pytest.raises(TypeError, match="bulge_into_background must be True or False"):
        RandomLiverTumor(bulge_into_background="False")
