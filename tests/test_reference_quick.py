"""The quick CPU profile's parts: the slice-wise 2-D U-Net, validation variants, and a shortened
run of ``configs/quick_cpu.toml`` on ../shared/data that checks the plumbing (the full run is a
benchmark, ``benchmarks/bench_quick_cpu.py``, not a test)."""

from __future__ import annotations

import csv
import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from monai.networks.nets import UNet

from synthtumor.reference.config import ModelConfig, apply_overrides, load_config
from synthtumor.reference.models import build_model
from synthtumor.reference.prepare import load_datalist
from synthtumor.reference.slice_model import SliceWise
from synthtumor.reference.train import train
from synthtumor.reference.validation import validation_items

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def test_slice_wise_applies_the_2d_network_to_each_axial_slice():
    torch.manual_seed(0)
    network = UNet(2, 1, 3, channels=(4, 8), strides=(2,), num_res_units=1).eval()
    patches = torch.randn(2, 1, 16, 12, 3)
    with torch.no_grad():
        out = SliceWise(network)(patches)
        one_by_one = torch.stack(
            [network(patches[..., k]) for k in range(patches.shape[-1])], dim=-1
        )
    assert out.shape == (2, 3, 16, 12, 3)
    torch.testing.assert_close(out, one_by_one, rtol=1e-5, atol=1e-6)


def test_slice_wise_names_the_shape_it_needs():
    with pytest.raises(ValueError, match=r"patches must be \(batch, channels, i, j, k\)"):
        SliceWise(torch.nn.Identity())(torch.zeros(1, 1, 8, 8))


def test_spatial_dims_2_builds_a_2d_unet_run_slice_wise():
    model = build_model(ModelConfig(channels=(4, 8), strides=(2,), spatial_dims=2))
    assert isinstance(model, SliceWise)
    assert isinstance(model.network, UNet) and model.network.dimensions == 2
    assert model(torch.zeros(1, 1, 8, 8, 1)).shape == (1, 3, 8, 8, 1)


def test_model_dimensions_are_checked_against_the_patches():
    with pytest.raises(ValueError, match="spatial_dims=2 is for the U-Net"):
        ModelConfig(name="swin_unetr", spatial_dims=2)
    with pytest.raises(ValueError, match=r"model\.spatial_dims must be 2 or 3"):
        ModelConfig(spatial_dims=1)  # type: ignore[arg-type]
    base = load_config(None, ["model.channels=4,8,16", "model.strides=2,2"])
    # A 2-D model down-samples the slices, not their number: 3 slices are fine for it ...
    apply_overrides(base, ["model.spatial_dims=2", "data.roi_size=32,32,3"])
    # ... and not for the 3-D model of the same widths.
    with pytest.raises(ValueError, match=r"data.roi_size \(32, 32, 3\) must be a multiple of 4"):
        apply_overrides(base, ["data.roi_size=32,32,3"])
    with pytest.raises(ValueError, match=r"data.roi_size must be 3 integers, \(i, j\) >= 8"):
        apply_overrides(base, ["data.roi_size=4,32,32"])


def _bench_quick_cpu():
    """``benchmarks/bench_quick_cpu.py`` as a module: its datalist is the one tested here."""
    path = CONFIGS.parent / "benchmarks" / "bench_quick_cpu.py"
    spec = importlib.util.spec_from_file_location("bench_quick_cpu", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def quick_datalist(shared_data, tmp_path_factory) -> Path:
    """``configs/quick_data.csv``'s split, pointing at ``shared_data`` (as the benchmark does)."""
    return _bench_quick_cpu().quick_datalist(shared_data, tmp_path_factory.mktemp("quick"))


def _quick_config(datalist: Path, *extra: str):
    return load_config(
        CONFIGS / "quick_cpu.toml",
        [
            f"data.datalist={datalist}",
            "data.spacing_mm=4,4,6",  # the profile's grid, coarser: the same code, 1/8 voxels
            "data.roi_size=64,64,2",
            "data.samples_per_scan=2",
            "data.repeats=1",
            *extra,
        ],
    )


def test_validation_variants_are_new_tumors_in_the_same_scan(quick_datalist):
    single = _quick_config(quick_datalist, "validation.synthetic_variants=1")
    several = _quick_config(quick_datalist, "validation.synthetic_variants=3")
    entries = [
        e for e in load_datalist(quick_datalist)["training"] if e["case"] == "portal-venous-slab"
    ]
    one = validation_items(single, entries)
    three = validation_items(several, entries)
    assert [item["case"] for item in three] == [
        "portal-venous-slab",
        "portal-venous-slab#1",
        "portal-venous-slab#2",
    ]
    # Variant 0 is the single version, voxel for voxel; the others hold other tumours.
    np.testing.assert_array_equal(three[0]["label"], one[0]["label"])
    torch.testing.assert_close(three[0]["image"], one[0]["image"], rtol=0, atol=0)
    tumors = [item["label"] == 2 for item in three]
    assert all(t.any() for t in tumors)
    assert not np.array_equal(tumors[0], tumors[1])
    assert not np.array_equal(tumors[1], tumors[2])


@pytest.mark.slow
def test_quick_cpu_profile_runs_shortened(quick_datalist, tmp_path):
    config = _quick_config(
        quick_datalist,
        "train.max_epochs=2",
        "train.val_every=1",
        "train.max_iterations_per_epoch=2",
        "data.repeats=2",  # 2 scans x 2 repeats / batch 2: 2 steps per epoch
        "validation.synthetic_variants=2",
    )
    assert config.model.spatial_dims == 2
    result = train(config, tmp_path / "run")
    assert result.epochs == 2 and result.iterations == 4
    assert result.synthesis_where == "volume"
    with (tmp_path / "run" / "epochs.csv").open(newline="") as stream:
        epochs = list(csv.DictReader(stream))
    # Validated every epoch on both variants of the held-out scan, with a tumour metric.
    assert [int(row["val_cases"]) for row in epochs] == [2, 2]
    assert all(math.isfinite(float(row["val_tumor_dice"])) for row in epochs)
    assert result.best_checkpoint.is_file()


def test_class_crop_ratios_center_crops_on_the_class_asked_for():
    from monai.transforms import Compose

    from synthtumor.reference.transforms import _crop_transform

    config = load_config(
        None, ["model.spatial_dims=2", "data.roi_size=16,16,1", "data.class_crop_ratios=0,0,1"]
    )
    label = np.zeros((1, 40, 40, 6), dtype=np.uint8)
    label[0, 5:35, 5:35, :] = 1
    label[0, 30:33, 8:11, 2:4] = 2  # a small tumour near the liver's edge
    image = torch.arange(label.size, dtype=torch.float32).reshape(label.shape)
    crops = Compose([_crop_transform(config.data, precomputed=False)])
    crops.set_random_state(seed=0)
    for _ in range(10):
        (crop,) = crops({"image": image, "label": torch.as_tensor(label)})
        # The crop's centre voxel (8, 8, 0) is a tumour voxel, each time.
        assert int(crop["label"][0, 8, 8, 0]) == 2


def test_class_crop_ratios_need_the_tumors_before_the_crop():
    from synthtumor.reference.data import resolve_where

    with pytest.raises(ValueError, match=r"data\.class_crop_ratios must be empty or 3 numbers"):
        load_config(None, ["data.class_crop_ratios=1,1"])
    config = load_config(None, ["data.class_crop_ratios=1,2,3"])
    assert resolve_where(config) == "volume"  # "auto" picks "crop" without the ratios
    assert resolve_where(load_config(None, [])) == "crop"
    with pytest.raises(ValueError, match=r"does not go with data\.class_crop_ratios"):
        resolve_where(load_config(None, ["data.class_crop_ratios=1,2,3", "synthesis.where=crop"]))
