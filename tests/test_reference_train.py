"""End-to-end smoke run of the reference pipeline on ../shared/data (CPU, about a minute).

prepare -> train with synthetic tumours -> resume -> predict -> evaluate, with the "smoke"
profile. The two real scans are turned into four healthy cases (each scan as it is and mirrored)
plus one case with synthetic tumours written to disk, a stand-in for a scan with real tumours
(these livers hold none), so fold 0 has training, validation and a tumour-bearing test part.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
from pathlib import Path

import monai  # noqa: F401  (the [reference] extra: fail, never skip, when missing)
import nibabel as nib
import numpy as np
import pytest

from synthtumor.reference.cli_commands import add_predict_parser
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
        [("tumour", *scans[0][1:])],
        root / "cases",
        variants=("original",),
        synthetic_tumours=True,
        tumour_size="medium",
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
            *extra,
        ],
    )


@pytest.mark.slow
def test_smoke_run_end_to_end(workspace):
    root, datalist_path = workspace["root"], workspace["datalist"]
    datalist = load_datalist(datalist_path)
    split = fold_split(datalist, 0)
    assert [len(split[p]) for p in ("train", "validation", "test")] == [3, 1, 1]
    assert [e["case"] for e in datalist["training"] if e["has_tumor"]] == ["tumour_original"]
    assert [e["case"] for e in split["test"]] == ["tumour_original"]

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
    assert all(float(r["iterations_per_second"]) > 0 for r in epochs)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["selected_on"] == "validation"
    assert summary["validation_cases"] == [e["case"] for e in split["validation"]]
    assert not set(summary["training_cases"]) & {e["case"] for e in split["test"]}

    losses = [float(r["loss"]) for r in iterations]
    first_mean, last_mean = np.mean(losses[:6]), np.mean(losses[-6:])
    assert last_mean < 0.85 * first_mean, (first_mean, last_mean)

    # --- predict the test case (command line) and evaluate against the stand-in reference --
    test_entry = split["test"][0]
    parser = argparse.ArgumentParser()
    add_predict_parser(parser.add_subparsers())
    args = parser.parse_args(
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
    assert 0.0 <= report.metrics["tumour_dsc"].estimate <= 1.0
    assert report.per_case[0]["tumour_in_reference"]
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
    calibrated = tmp_path / "tumour.toml"
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
    import argparse

    from synthtumor.reference.cli_commands import add_train_parser

    parser = argparse.ArgumentParser()
    add_train_parser(parser.add_subparsers())
    args = parser.parse_args(
        ["train", str(CONFIG_DIR / "swin_base_synthetic.toml"), "-o", "x", "--print-config"]
    )
    assert args.handler(args) == 0
    assert 'swin_variant = "base"' in capsys.readouterr().out
    args = parser.parse_args(["train", "--set", "optim.lr=fast", "-o", "x"])
    assert args.handler(args) == 2
    assert "optim.lr must be a number" in capsys.readouterr().err


def test_learning_rate_schedule():
    from synthtumor.reference.train import _lr_factor

    factors = [_lr_factor(i, warmup=10, total=110, start=0.01, floor=0.0) for i in range(111)]
    assert factors[0] == pytest.approx(0.01) and factors[10] == pytest.approx(1.0)
    assert all(a < b for a, b in itertools.pairwise(factors[:11]))
    assert all(a >= b for a, b in itertools.pairwise(factors[10:]))
    assert factors[60] == pytest.approx(0.5) and factors[110] == pytest.approx(0.0)


def test_postprocessing_with_anisotropic_spacing():
    from synthtumor.reference.predict import postprocess_labels

    labels = np.zeros((30, 30, 30), np.uint8)
    labels[5:15, 5:15, 5:15] = 1
    labels[19, 10, 10] = 2  # 5 voxels past the liver along axis 0
    labels[10, 10, 21] = 2  # 7 voxels past it along axis 2
    labels[25:28, 25:28, 25:28] = 1  # a smaller liver island, dropped
    near = postprocess_labels(labels, (1.0, 1.0, 1.0), tumour_max_distance_mm=5.5)
    assert near[19, 10, 10] == 2 and near[10, 10, 21] == 0
    assert not near[25:28, 25:28, 25:28].any()
    spaced = postprocess_labels(labels, (2.0, 1.0, 0.5), tumour_max_distance_mm=5.5)
    assert spaced[19, 10, 10] == 0 and spaced[10, 10, 21] == 2
    keep_all = postprocess_labels(labels, (1.0, 1.0, 1.0), tumour_max_distance_mm=-1)
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
        )
        train(config, tmp_path / run)
        return [r["loss"] for r in read_csv(tmp_path / run / "iterations.csv")]

    first, second = losses("a"), losses("b")
    assert len(first) == 4 and first == second
    assert len(list((tmp_path / "a" / "cache").iterdir())) == 1
