"""End-to-end smoke run of the reference pipeline on ../shared/data (CPU, about a minute).

prepare -> train with synthetic tumours -> resume -> predict -> evaluate, with the "smoke"
profile. The two real scans are turned into four healthy cases (each scan as it is and mirrored)
plus one case with synthetic tumours written to disk, a stand-in for a scan with real tumours
(these livers hold none), so fold 0 has training, validation and a tumour-bearing test part.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
from pathlib import Path

import monai  # noqa: F401  (the [reference] extra: fail, never skip, when missing)
import nibabel as nib
import numpy as np
import pytest

from synthtumor.cli import build_parser
from synthtumor.reference.config import apply_overrides, config_to_dict, profile_config
from synthtumor.reference.evaluate import REPORT_FILES, evaluate_folder
from synthtumor.reference.predict import predict_files
from synthtumor.reference.prepare import (
    fold_split,
    load_datalist,
    make_demo_dataset,
    prepare_dataset,
)
from synthtumor.reference.train import (
    EPOCH_COLUMNS,
    ITERATION_COLUMNS,
    load_checkpoint,
    train,
)

FIRST_EPOCHS = 10
RESUMED_EPOCHS = 12


def demo_scans(shared_data: Path) -> list[tuple[str, Path, Path]]:
    return [
        (
            "abd",
            shared_data / "abdomen-3mm" / "ct.nii.gz",
            shared_data / "abdomen-3mm" / "liver.nii.gz",
        ),
        (
            "pv",
            shared_data / "portal-venous-slab" / "ct.nii.gz",
            shared_data / "portal-venous-slab" / "liver.nii.gz",
        ),
    ]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, shared_data) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("smoke")
    scans = demo_scans(shared_data)
    make_demo_dataset(scans, root / "cases", variants=("original", "mirrored"))
    make_demo_dataset(
        [("tumor", *scans[0][1:])],
        root / "cases",
        variants=("original",),
        synthetic_tumors=True,
        tumor_size="medium",
        seed=1,
    )
    datalist = prepare_dataset(root / "cases", root / "prepared", n_folds=5, seed=0)
    return {"root": root, "datalist": datalist}


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as stream:
        return list(csv.DictReader(stream))


def smoke_config(datalist: Path, *extra: str):
    return apply_overrides(
        profile_config("smoke"),
        [
            f"data.datalist={datalist}",
            "seed=3",
            "train.val_every=5",
            "train.max_iterations_per_epoch=2",
            "data.spacing_mm=4,4,4",  # the smoke profile's 2 mm, coarser: same code, 1/8 voxels
            *extra,
        ],
    )


@pytest.mark.slow
def test_smoke_run_end_to_end(workspace, capfd):
    root, datalist_path = workspace["root"], workspace["datalist"]
    datalist = load_datalist(datalist_path)
    split = fold_split(datalist, 0)
    assert [len(split[p]) for p in ("train", "validation", "test")] == [3, 1, 1]
    assert [e["case"] for e in datalist["training"] if e["has_tumor"]] == ["tumor_original"]
    assert [e["case"] for e in split["test"]] == ["tumor_original"]

    # --- train, then resume for two more epochs --------------------------------------------
    run_dir = root / "run"
    config = smoke_config(datalist_path, f"train.max_epochs={FIRST_EPOCHS}")
    first = train(config, run_dir)
    for name in ("config.toml", "config.json", "last.pt", "best.pt", "iterations.csv"):
        assert (run_dir / name).is_file(), name
    with pytest.raises(FileExistsError):
        train(config, run_dir)
    checkpoint = load_checkpoint(run_dir / "last.pt")
    assert checkpoint["epoch"] == FIRST_EPOCHS
    assert checkpoint["iteration"] == first.iterations == 2 * FIRST_EPOCHS
    assert set(checkpoint) >= {"model", "optimizer", "scheduler", "scaler", "rng", "config"}
    assert checkpoint["config"] == config_to_dict(config)
    best = load_checkpoint(run_dir / "best.pt")
    assert best["epoch"] == first.best_epoch and best["epoch"] % 5 == 0  # a validation epoch
    last_lr = float(read_csv(run_dir / "iterations.csv")[-1]["lr"])

    resumed_config = smoke_config(datalist_path, f"train.max_epochs={RESUMED_EPOCHS}")
    with pytest.warns(UserWarning, match="changed config sections: \\['train'\\]"):
        resumed = train(resumed_config, run_dir, resume=run_dir / "last.pt")
    assert resumed.iterations == 2 * RESUMED_EPOCHS
    assert load_checkpoint(run_dir / "last.pt")["epoch"] == RESUMED_EPOCHS

    iterations = read_csv(run_dir / "iterations.csv")
    assert tuple(iterations[0]) == ITERATION_COLUMNS
    assert [int(r["iteration"]) for r in iterations] == list(range(1, 2 * RESUMED_EPOCHS + 1))
    # No new warm-up after resuming: the learning rate continues from where it was.
    assert float(iterations[2 * FIRST_EPOCHS]["lr"]) <= last_lr * 1.5
    epochs = read_csv(run_dir / "epochs.csv")
    assert tuple(epochs[0]) == EPOCH_COLUMNS
    assert [int(r["epoch"]) for r in epochs] == list(range(1, RESUMED_EPOCHS + 1))
    validated = [r for r in epochs if r["val_liver_dice"]]
    assert [int(r["epoch"]) for r in validated] == [5, 10, 12]
    assert all(0.0 <= float(r["val_liver_dice"]) <= 1.0 for r in validated)
    # Each validated epoch says what it was scored on; a fallback is said in the log too.
    log = capfd.readouterr().err
    for row in validated:
        assert row["selection_metric"] in ("tumor_dice", "liver_dice", "loss")
        fell_back = row["selection_metric"] != "tumor_dice"
        assert (f"epoch {row['epoch']}: tumor_dice is" in log) == fell_back, row
    assert all(float(r["iterations_per_second"]) > 0 for r in epochs)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["selected_on"] == "validation"
    assert summary["synthesis_where"] in ("volume", "crop")
    assert f"synthesis on the {summary['synthesis_where']}," in log
    assert summary["validation_cases"] == [e["case"] for e in split["validation"]]
    assert not set(summary["training_cases"]) & {e["case"] for e in split["test"]}

    losses = [float(r["loss"]) for r in iterations]
    first_mean, last_mean = np.mean(losses[:6]), np.mean(losses[-6:])
    assert last_mean < 0.85 * first_mean, (first_mean, last_mean)

    # --- predict the test case (command line) and evaluate against the stand-in reference --
    test_entry = split["test"][0]
    args = build_parser().parse_args(
        [
            "predict",
            str(run_dir / "best.pt"),
            "--datalist",
            str(datalist_path),
            "--part",
            "test",
            "-o",
            str(root / "pred"),
            "--reference-out",
            str(root / "reference"),
        ]
    )
    assert args.handler(args) == 0
    predictions = sorted((root / "pred").iterdir())
    assert [p.name for p in predictions] == [f"{test_entry['case']}.nii.gz"]
    with pytest.raises(FileExistsError):
        predict_files(
            run_dir / "best.pt", [test_entry["image"]], root / "pred", names=[test_entry["case"]]
        )
    scan, output = nib.load(test_entry["image"]), nib.load(predictions[0])
    assert output.shape == scan.shape
    np.testing.assert_array_equal(output.affine, scan.affine)
    assert output.get_data_dtype() == np.uint8
    assert set(np.unique(np.asanyarray(output.dataobj)).tolist()) <= {0, 1, 2}

    references = sorted((root / "reference").iterdir())
    assert [p.name for p in references] == [p.name for p in predictions]
    report = evaluate_folder(root / "pred", root / "reference", root / "report", n_resamples=50)
    for name in REPORT_FILES:
        assert (root / "report" / name).is_file(), name
    assert report.n_cases == 1
    assert 0.0 <= report.metrics["liver_dsc"].estimate <= 1.0
    assert 0.0 <= report.metrics["tumor_dsc"].estimate <= 1.0
    assert report.per_case[0]["tumor_in_reference"]
    summary_json = json.loads((root / "report" / "summary.json").read_text())
    assert {"n_cases", "metrics", "case_level_detection", "detection_by_radius"} <= set(
        summary_json
    )


# --- config, schedule and post-processing (fast) ---------------------------------------------

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"


def test_paper_recipe_is_the_default():
    config = profile_config("paper")
    assert config.data.spacing_mm == (1.0, 1.0, 1.0) and config.data.orientation == "RAS"
    assert config.synthesis.probability == 0.9 and config.mode == "synthetic"
    assert config.data.window_hu == (-21.0, 189.0) and config.data.roi_size == (96, 96, 96)
    assert config.optim.lr == 2e-4 and config.train.batch_size == 2
    assert config.train.max_epochs == 4000
    assert config.model.channels == (16, 32, 64, 128, 256) and config.model.num_res_units == 2
    assert config.inference.overlap == 0.75 and config.inference.blend_mode == "gaussian"


def test_every_config_file_loads():
    from synthtumor.reference.config import load_config

    expected = {
        "unet_synthetic": ("synthetic", "unet", None),
        "unet_synthetic_realistic": ("synthetic", "unet", None),
        "unet_real": ("real", "unet", None),
        "unet_mixed": ("mixed", "unet", None),
        "swin_tiny_synthetic": ("synthetic", "swin_unetr", 12),
        "swin_small_synthetic": ("synthetic", "swin_unetr", 24),
        "swin_base_synthetic": ("synthetic", "swin_unetr", 48),
        "smoke": ("synthetic", "unet", None),
        "quick_cpu": ("synthetic", "unet", None),
        "quick_gpu": ("synthetic", "unet", None),
    }
    assert {p.stem for p in CONFIG_DIR.glob("*.toml")} == set(expected)
    for stem, (mode, model, feature_size) in expected.items():
        config = load_config(CONFIG_DIR / f"{stem}.toml")
        assert (config.name, config.mode, config.model.name) == (stem, mode, model)
        if feature_size:
            assert config.model.swin_feature_size == feature_size
    smoke = load_config(CONFIG_DIR / "smoke.toml", ["data.datalist="])
    assert smoke == profile_config("smoke")


def test_the_synthesis_section_chooses_the_appearance_mode(tmp_path):
    from synthtumor import TumorConfig
    from synthtumor.reference.config import load_config

    paper = load_config(CONFIG_DIR / "unet_synthetic.toml").synthesis.tumor_config()
    assert paper == TumorConfig()
    realistic = load_config(CONFIG_DIR / "unet_synthetic_realistic.toml").synthesis
    tumor = realistic.tumor_config(liver_label=1, tumor_label=2)
    assert (tumor.appearance, tumor.phase, dict(tumor.lesion_types)) == (
        "realistic",
        "auto",
        {"metastasis": 0.4, "hcc": 0.3, "cyst": 0.15, "hemangioma": 0.15},
    )
    changed = load_config(
        CONFIG_DIR / "unet_synthetic.toml",
        [
            "synthesis.appearance=realistic",
            "synthesis.phase=arterial",
            "synthesis.lesion_types=hcc",
            "synthesis.pattern=satellite",
        ],
    ).synthesis.tumor_config()
    assert (changed.phase, changed.lesion_types, changed.pattern) == (
        "arterial",
        (("hcc", 1.0),),
        "satellite",
    )
    with pytest.raises(ValueError, match="lesion type must be one of"):
        load_config(CONFIG_DIR / "unet_synthetic.toml", ["synthesis.lesion_types=adenoma"])
    calibrated = tmp_path / "tumor.toml"
    TumorConfig.realistic("delayed", "cyst").to_file(calibrated)
    from_file = load_config(
        CONFIG_DIR / "unet_synthetic.toml", [f"synthesis.config_file={calibrated}"]
    ).synthesis.tumor_config()
    assert from_file == TumorConfig.realistic("delayed", "cyst")


def test_overrides_are_type_checked():
    from synthtumor.reference.config import config_from_dict, config_to_toml, load_config

    config = load_config(None, ["profile=smoke", "train.amp=false", "data.spacing_mm=[1.5,1.5,3]"])
    assert config.profile == "smoke" and config.train.amp is False
    assert config.data.spacing_mm == (1.5, 1.5, 3.0)
    with pytest.raises(TypeError, match=r"train\.batch_size must be an integer"):
        load_config(None, ["train.batch_size=2.5"])
    with pytest.raises(KeyError, match=r"unknown config key 'train\.batch'"):
        load_config(None, ["train.batch=2"])
    with pytest.raises(ValueError, match="mode must be one of"):
        load_config(None, ["mode=semi"])
    with pytest.raises(ValueError, match="multiple of 32"):
        load_config(None, ["model.name=swin_unetr", "data.roi_size=48,48,48"])
    with pytest.raises(ValueError, match="3 entries"):
        load_config(None, ["data.roi_size=64,64"])
    import tomllib

    assert config_from_dict(tomllib.loads(config_to_toml(config))) == config


def test_train_cli_print_config_and_bad_override(capsys):
    parser = build_parser()
    args = parser.parse_args(
        ["train", str(CONFIG_DIR / "swin_base_synthetic.toml"), "-o", "x", "--print-config"]
    )
    assert args.handler(args) == 0
    assert 'swin_variant = "base"' in capsys.readouterr().out
    args = parser.parse_args(["train", "--set", "optim.lr=fast", "-o", "x"])
    from synthtumor.cli_errors import run_handler

    assert run_handler(args.handler, args) == 2  # handlers raise; one place maps the code
    assert "optim.lr must be a number" in capsys.readouterr().err


def _hand_written_lr_factor(iteration, *, warmup, total, start, floor):
    """The schedule train.py computed by hand before MONAI's WarmupCosineSchedule."""
    if iteration < warmup:
        return start + (1.0 - start) * iteration / max(1, warmup)
    progress = min(1.0, (iteration - warmup) / max(1, total - warmup))
    return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


def _learning_rates(optim, *, warmup, total):
    import torch

    from synthtumor.reference.models import build_scheduler

    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=optim.lr)
    scheduler = build_scheduler(optimizer, optim, warmup=warmup, total=total)
    rates = []
    for _ in range(total + 1):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


def test_learning_rate_schedule_is_the_hand_written_one():
    from synthtumor.reference.config import OptimConfig

    optim = OptimConfig(lr=2e-4, warmup_start_factor=0.01)
    rates = _learning_rates(optim, warmup=10, total=110)
    expected = [
        2e-4 * _hand_written_lr_factor(i, warmup=10, total=110, start=0.01, floor=0.0)
        for i in range(111)
    ]
    np.testing.assert_allclose(rates, expected, rtol=1e-12, atol=1e-18)
    assert rates[0] == pytest.approx(2e-6) and rates[10] == pytest.approx(2e-4)
    assert all(a < b for a, b in itertools.pairwise(rates[:11]))
    assert all(a >= b for a, b in itertools.pairwise(rates[10:]))
    # optim.min_lr is a floor the cosine is clipped at (MONAI's end_lr), not blended into it.
    floored = _learning_rates(OptimConfig(lr=1.0, min_lr=0.2), warmup=2, total=10)
    assert min(floored[2:]) == pytest.approx(0.2) and floored[6] == pytest.approx(0.5)


def test_selection_falls_back_while_the_tumor_metric_is_zero():
    from synthtumor.reference.selection import Selection

    selection = Selection("tumor_dice")
    stuck = {"val_tumor_dice": 0.0, "val_liver_dice": 0.0}
    assert selection.update(stuck, train_loss=0.9, epoch=1)
    assert (selection.metric, selection.score) == ("loss", -0.9)
    assert "selecting on loss (0.9)" in selection.fallback_note
    assert not selection.update(stuck, train_loss=1.1, epoch=2)  # the loss rose
    assert selection.update({**stuck, "val_liver_dice": 0.5}, train_loss=1.2, epoch=3)
    assert selection.metric == "liver_dice" and "tumor_dice is 0" in selection.fallback_note
    assert not selection.update({**stuck, "val_liver_dice": 0.4}, train_loss=0.1, epoch=4)
    assert selection.update({"val_tumor_dice": 0.01, "val_liver_dice": 0.3}, train_loss=2, epoch=5)
    assert selection.fallback_note == "" and selection.best_metric == "tumor_dice"
    assert not selection.update(
        {"val_tumor_dice": 0.0, "val_liver_dice": 0.99}, train_loss=0, epoch=6
    )
    assert selection.update({"val_tumor_dice": 0.2, "val_liver_dice": 0.1}, train_loss=3, epoch=7)
    assert (selection.best_epoch, selection.best_score) == (7, 0.2)
    # No case holds a tumour (NaN): liver Dice, as before.
    nan_tumor = Selection("tumor_dice")
    assert nan_tumor.update(
        {"val_tumor_dice": math.nan, "val_liver_dice": 0.7}, train_loss=1, epoch=1
    )
    assert nan_tumor.best_metric == "liver_dice"
    restored = Selection("tumor_dice")
    restored.load_state_dict(selection.state_dict())
    assert not restored.update(
        {"val_tumor_dice": 0.1, "val_liver_dice": 1.0}, train_loss=0, epoch=8
    )
    with pytest.raises(ValueError, match="selection metric"):
        Selection("accuracy")


def test_where_synthesis_runs(monkeypatch):
    from synthtumor.reference.config import TrainingConfig
    from synthtumor.reference.data import resolve_where

    def where(*overrides):
        return resolve_where(apply_overrides(TrainingConfig(), list(overrides)))

    assert where() == "crop" and where("synthesis.where=volume") == "volume"
    assert where("mode=mixed") == "volume" and where("data.intensity_scaling=zscore") == "volume"
    with pytest.raises(ValueError, match="mode 'mixed'"):
        where("mode=mixed", "synthesis.where=crop")
    with pytest.raises(ValueError, match=r"needs data\.intensity_scaling='minmax'"):
        where("data.intensity_scaling=zscore", "synthesis.where=crop")
    # As on a machine without synthtumor.torch (whether or not this one has it).
    monkeypatch.setattr("synthtumor.reference.data.GPU_MODULE", "synthtumor.not_installed")
    with pytest.raises(ValueError, match=r"needs synthtumor\.not_installed"):
        where("synthesis.where=gpu")


def test_crop_mode_synthesizes_on_the_crops(shared_data):
    from synthtumor.reference.transforms import train_transforms

    config = apply_overrides(
        profile_config("smoke"),
        ["synthesis.probability=1", "synthesis.size=small", "data.pos_neg_ratio=1,0"],
    )
    names = [
        type(t).__name__ for t in train_transforms(config, synthesis=True, where="crop").transforms
    ]
    crop = names.index("RandCropByPosNegLabeld")
    assert names.index("LiverStatisticsd") < crop < names.index("RandLiverTumord")
    assert names.index("RandLiverTumord") < names.index("ScaleIntensityRanged")
    volume = [type(t).__name__ for t in train_transforms(config, synthesis=True).transforms]
    assert "LiverStatisticsd" not in volume
    assert volume.index("RandLiverTumord") < volume.index("RandCropByPosNegLabeld")
    pipeline = train_transforms(config, synthesis=True, where="crop").set_random_state(seed=0)
    folder = shared_data / "abdomen-3mm"
    crops = pipeline({"image": str(folder / "ct.nii.gz"), "label": str(folder / "liver.nii.gz")})
    assert len(crops) == config.data.samples_per_scan
    for sample in crops:
        assert tuple(sample["label"].shape[1:]) == config.data.roi_size
        assert "liver_statistics" not in sample
    assert any(bool((sample["label"] == 2).any()) for sample in crops)
    # Windowed after the synthesis (HU would reach far past these; the jitter adds <= 0.21).
    assert all(-0.25 <= float(s["image"].min()) and float(s["image"].max()) <= 1.25 for s in crops)


def test_postprocessing_with_anisotropic_spacing():
    from synthtumor.reference.predict import postprocess_labels

    labels = np.zeros((30, 30, 30), np.uint8)
    labels[5:15, 5:15, 5:15] = 1
    labels[19, 10, 10] = 2  # 5 voxels past the liver along axis 0
    labels[10, 10, 21] = 2  # 7 voxels past it along axis 2
    labels[25:28, 25:28, 25:28] = 1  # a smaller liver island, dropped
    near = postprocess_labels(labels, (1.0, 1.0, 1.0), tumor_max_distance_mm=5.5)
    assert near[19, 10, 10] == 2 and near[10, 10, 21] == 0
    assert not near[25:28, 25:28, 25:28].any()
    spaced = postprocess_labels(labels, (2.0, 1.0, 0.5), tumor_max_distance_mm=5.5)
    assert spaced[19, 10, 10] == 0 and spaced[10, 10, 21] == 2
    keep_all = postprocess_labels(labels, (1.0, 1.0, 1.0), tumor_max_distance_mm=-1)
    assert int((keep_all == 2).sum()) == 2
    assert postprocess_labels(np.full((4, 4, 4), 2, np.uint8), (1, 1, 1)).any() is not False


@pytest.mark.slow
def test_same_seed_same_losses_with_workers_and_disk_cache(workspace, tmp_path):
    def losses(run: str) -> list[str]:
        config = smoke_config(
            workspace["datalist"],
            "train.max_epochs=2",
            "train.val_every=10",
            "data.num_workers=1",
            "data.cache=disk",
            "synthesis.where=crop",  # the cached liver statistics go through the disk cache
        )
        train(config, tmp_path / run)
        return [r["loss"] for r in read_csv(tmp_path / run / "iterations.csv")]

    first, second = losses("a"), losses("b")
    assert len(first) == 4 and first == second
    assert len(list((tmp_path / "a" / "cache").iterdir())) == 1


def test_gpu_mode_hook_synthesizes_then_windows_the_batch():
    """The "gpu" hook with synthtumor.torch on the CPU, on a MONAI-collated batch."""
    import torch
    from monai.data import list_data_collate

    from synthtumor import liver_statistics
    from synthtumor.phantom import make_phantom
    from synthtumor.reference.device_synthesis import prepare_batch

    config = apply_overrides(
        profile_config("smoke"),
        [
            "synthesis.probability=1",
            "synthesis.size=small",
            "augment.intensity_scale_prob=0",
            "augment.intensity_shift_prob=0",
        ],
    )
    phantom = make_phantom(shape=(48, 48, 48), spacing=config.data.spacing_mm, rng=0)
    statistics = liver_statistics(phantom.image, phantom.liver_mask, spacing=phantom.spacing)
    sample = {
        "image": torch.from_numpy(phantom.image.astype(np.float32))[None],
        "label": torch.from_numpy(phantom.liver_mask.astype(np.uint8))[None],
        "liver_statistics": statistics.to_dict(),
    }
    batch = list_data_collate([sample, sample])
    before = batch["image"].clone()
    images, labels = prepare_batch(batch, config, torch.device("cpu"), torch.Generator())
    assert torch.equal(batch["image"], before) and int(batch["label"].max()) == 1  # kept
    assert images.shape == before.shape and labels.dtype == torch.uint8
    assert all(bool((labels[i] == 2).any()) for i in range(2))
    assert ((labels == 2) <= (batch["label"] == 1)).all()  # tumours inside the liver
    assert float(images.min()) >= 0.0 and float(images.max()) <= 1.0  # windowed after
    low, high = config.data.window_hu
    outside = labels == 0
    expected = (before.clamp(low, high) - low) / (high - low)
    assert torch.allclose(images[outside], expected[outside], atol=1e-6)
    again, _ = prepare_batch(batch, config, torch.device("cpu"), torch.Generator())
    assert torch.equal(again, images)  # same generator state, same batch
