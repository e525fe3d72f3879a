"""One spelling in names: ``tumor`` and ``center``; the old ``tumour`` names still work, warning.

Every public name that was spelled ``tumour`` (keyword arguments, dataclass fields, config keys,
a selection metric) still works under the old spelling with a DeprecationWarning that names the
new one; config files and checkpoints an older version wrote still load (with the warning);
files an older version wrote that the code reads back (``epochs.csv`` on resume,
``per_case.csv``, datalists) come back under the new names, silently. And no public name is
spelled the old way any more.
"""

from __future__ import annotations

import csv
import dataclasses
import importlib
import inspect
import json
import pkgutil
import re
import warnings
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import pytest

import synthtumor
from synthtumor.reference.checkpointing import check_resume_config
from synthtumor.reference.config import (
    InferenceConfig,
    TrainingConfig,
    TrainLoopConfig,
    ValidationConfig,
    apply_overrides,
    config_to_dict,
    load_config,
    profile_config,
)
from synthtumor.reference.evaluate import paired_comparison, read_per_case_csv
from synthtumor.reference.predict import postprocess_labels
from synthtumor.reference.prepare import load_datalist, make_demo_dataset
from synthtumor.reference.run_logs import EPOCH_COLUMNS, CsvLog
from synthtumor.reference.selection import Selection

OLD = re.compile(r"tumour|centre", re.IGNORECASE)


def _labels() -> np.ndarray:
    labels = np.zeros((20, 20, 20), np.uint8)
    labels[2:12, 2:12, 2:12] = 1
    labels[5:8, 5:8, 5:8] = 2
    labels[19, 19, 2] = 2  # a tumour voxel far from the liver
    return labels


RECORDS_A = [{"case": f"c{i}", "tumor_dsc": 0.8 + 0.01 * i} for i in range(8)]
RECORDS_B = [{"case": f"c{i}", "tumor_dsc": 0.6 + 0.02 * i} for i in range(8)]

# (what, call with the old spelling, call with the new one, the new name the warning gives)
ALIASES: list[tuple[str, Any, Any, str]] = [
    (
        "InferenceConfig(tumour_max_distance_mm=)",
        lambda: InferenceConfig(tumour_max_distance_mm=2.0),
        lambda: InferenceConfig(tumor_max_distance_mm=2.0),
        "tumor_max_distance_mm",
    ),
    (
        "InferenceConfig.tumour_max_distance_mm",
        lambda: InferenceConfig(tumor_max_distance_mm=2.0).tumour_max_distance_mm,
        lambda: 2.0,
        "tumor_max_distance_mm",
    ),
    (
        "ValidationConfig(synthetic_tumours=)",
        lambda: ValidationConfig(synthetic_tumours=False, seed=3),
        lambda: ValidationConfig(synthetic_tumors=False, seed=3),
        "synthetic_tumors",
    ),
    (
        "ValidationConfig.synthetic_tumours",
        lambda: ValidationConfig(synthetic_tumors=False).synthetic_tumours,
        lambda: False,
        "synthetic_tumors",
    ),
    (
        'TrainLoopConfig(selection_metric="tumour_dice")',
        lambda: TrainLoopConfig(selection_metric="tumour_dice", max_epochs=3),  # type: ignore[arg-type]
        lambda: TrainLoopConfig(selection_metric="tumor_dice", max_epochs=3),
        "'tumor_dice'",
    ),
    (
        'Selection("tumour_dice")',
        lambda: Selection("tumour_dice").chain,
        lambda: Selection("tumor_dice").chain,
        "'tumor_dice'",
    ),
    (
        "--set inference.tumour_max_distance_mm",
        lambda: apply_overrides(TrainingConfig(), ["inference.tumour_max_distance_mm=-1"]),
        lambda: apply_overrides(TrainingConfig(), ["inference.tumor_max_distance_mm=-1"]),
        "inference.tumor_max_distance_mm",
    ),
    (
        "--set validation.synthetic_tumours",
        lambda: apply_overrides(TrainingConfig(), ["validation.synthetic_tumours=false"]),
        lambda: apply_overrides(TrainingConfig(), ["validation.synthetic_tumors=false"]),
        "validation.synthetic_tumors",
    ),
    (
        "--set train.selection_metric=tumour_dice",
        lambda: apply_overrides(
            TrainingConfig(train=TrainLoopConfig(selection_metric="liver_dice")),
            ["train.selection_metric=tumour_dice"],
        ),
        lambda: TrainingConfig(),
        "'tumor_dice'",
    ),
    (
        "postprocess_labels(tumour_max_distance_mm=)",
        lambda: postprocess_labels(_labels(), (1.0, 1.0, 1.0), tumour_max_distance_mm=-1.0),
        lambda: postprocess_labels(_labels(), (1.0, 1.0, 1.0), tumor_max_distance_mm=-1.0),
        "tumor_max_distance_mm",
    ),
    (
        'paired_comparison(metric="tumour_dsc")',
        lambda: paired_comparison(RECORDS_A, RECORDS_B, metric="tumour_dsc", method="t"),
        lambda: paired_comparison(RECORDS_A, RECORDS_B, metric="tumor_dsc", method="t"),
        "'tumor_dsc'",
    ),
]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray):
        return bool(np.array_equal(a, b))
    return bool(a == b)


@pytest.mark.parametrize(("what", "old", "new", "name"), ALIASES, ids=[a[0] for a in ALIASES])
def test_each_old_spelling_gives_what_the_new_one_does_and_warns_once(what, old, new, name):
    with warnings.catch_warnings(record=True) as quiet:
        warnings.simplefilter("always")
        expected = new()
    assert not [w for w in quiet if w.category is DeprecationWarning]
    with pytest.warns(DeprecationWarning, match=f"is deprecated; use {re.escape(name)}") as caught:
        got = old()
    assert _same(got, expected), what
    assert len(caught) == 1
    assert caught[0].filename == __file__  # the warning points at the caller's line


def test_the_new_values_are_not_mistaken_for_old_ones():
    assert InferenceConfig().tumor_max_distance_mm == 5.0
    assert ValidationConfig().synthetic_tumors is True
    assert TrainLoopConfig().selection_metric == "tumor_dice"
    assert Selection("tumor_dice").chain == ("tumor_dice", "liver_dice", "loss")


@pytest.mark.parametrize(
    "call",
    [
        lambda: InferenceConfig(tumour_max_distance_mm=1.0, tumor_max_distance_mm=2.0),
        lambda: postprocess_labels(
            _labels(), (1.0, 1.0, 1.0), tumour_max_distance_mm=1.0, tumor_max_distance_mm=2.0
        ),
    ],
)
def test_both_spellings_at_once_are_refused(call):
    with pytest.raises(TypeError, match="give tumor_max_distance_mm or its old name"):
        call()


def _write_phantom_scan(folder: Path) -> tuple[str, Path, Path]:
    from synthtumor.phantom import make_phantom

    phantom = make_phantom(shape=(64, 64, 40), rng=0)
    ct, liver = folder / "ct.nii.gz", folder / "liver.nii.gz"
    nib.save(nib.Nifti1Image(phantom.image, phantom.affine), ct)
    nib.save(nib.Nifti1Image(phantom.liver_mask.astype(np.uint8), phantom.affine), liver)
    return "ph", ct, liver


def test_make_demo_dataset_takes_its_old_keywords_with_a_warning_each(tmp_path):
    scan = _write_phantom_scan(tmp_path)
    new = make_demo_dataset(
        [scan], tmp_path / "new", variants=("original",), synthetic_tumors=True, tumor_size="tiny"
    )
    with pytest.warns(DeprecationWarning) as caught:
        old = make_demo_dataset(
            [scan],
            tmp_path / "old",
            variants=("original",),
            synthetic_tumours=True,
            tumour_size="tiny",
        )
    messages = sorted(str(w.message) for w in caught)
    assert messages == [
        "make_demo_dataset: synthetic_tumours is deprecated; use synthetic_tumors",
        "make_demo_dataset: tumour_size is deprecated; use tumor_size",
    ]
    for a, b in zip(new, old, strict=True):
        label_a = np.asanyarray(nib.load(a.label).dataobj)
        assert (label_a == 2).any()  # the tumours are there, so the comparison means something
        assert np.array_equal(label_a, np.asanyarray(nib.load(b.label).dataobj))
        assert np.array_equal(
            np.asanyarray(nib.load(a.image).dataobj), np.asanyarray(nib.load(b.image).dataobj)
        )


OLD_TOML = """\
profile = "smoke"

[train]
selection_metric = "tumour_dice"

[validation]
synthetic_tumours = false

[inference]
tumour_max_distance_mm = 2.5
"""


def test_an_old_config_file_loads_with_a_warning_per_old_name(tmp_path):
    path = tmp_path / "old.toml"
    path.write_text(OLD_TOML)
    with pytest.warns(DeprecationWarning) as caught:
        config = load_config(path)
    assert sorted(str(w.message) for w in caught) == [
        "inference.tumour_max_distance_mm is deprecated; use inference.tumor_max_distance_mm",
        "train.selection_metric 'tumour_dice' is deprecated; use 'tumor_dice'",
        "validation.synthetic_tumours is deprecated; use validation.synthetic_tumors",
    ]
    smoke = profile_config("smoke")
    assert config == dataclasses.replace(
        smoke,
        validation=dataclasses.replace(smoke.validation, synthetic_tumors=False),
        inference=dataclasses.replace(smoke.inference, tumor_max_distance_mm=2.5),
    )
    new_path = tmp_path / "new.toml"
    new_path.write_text(OLD_TOML.replace("tumour", "tumor"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_config(new_path) == config


def test_a_config_file_with_both_spellings_of_a_key_is_refused(tmp_path):
    path = tmp_path / "both.toml"
    path.write_text("[inference]\ntumour_max_distance_mm = 1.0\ntumor_max_distance_mm = 2.0\n")
    with pytest.raises(KeyError, match=r"give inference\.tumor_max_distance_mm or its old name"):
        load_config(path)


def test_an_old_checkpoints_config_resumes_with_the_warning_and_no_changed_sections():
    config = profile_config("smoke")
    saved = config_to_dict(config)
    saved["validation"]["synthetic_tumours"] = saved["validation"].pop("synthetic_tumors")
    saved["inference"]["tumour_max_distance_mm"] = saved["inference"].pop("tumor_max_distance_mm")
    saved["train"]["selection_metric"] = "tumour_dice"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_resume_config(config, {"config": saved})
    messages = [str(w.message) for w in caught]
    assert [w.category for w in caught] == [DeprecationWarning] * 3, messages
    assert not any("changed config sections" in m for m in messages)


def test_an_old_epochs_csv_resumes_under_the_new_column_names(tmp_path):
    path = tmp_path / "epochs.csv"
    old_columns = ["val_tumour_dice" if c == "val_tumor_dice" else c for c in EPOCH_COLUMNS]
    rows = [
        {**dict.fromkeys(old_columns, ""), "epoch": str(e), "val_tumour_dice": f"0.{e}"}
        for e in (1, 2, 3)
    ]
    rows[1]["selection_metric"] = "tumour_dice"
    with path.open("w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=old_columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    log = CsvLog(path, EPOCH_COLUMNS, keep_until=2, key="epoch")
    log.write({"epoch": 3, "val_tumor_dice": 0.7, "selection_metric": "tumor_dice"})
    log.close()
    with path.open(newline="") as stream:
        reader = csv.DictReader(stream)
        assert tuple(reader.fieldnames or ()) == EPOCH_COLUMNS
        kept = list(reader)
    assert [(r["epoch"], r["val_tumor_dice"], r["selection_metric"]) for r in kept] == [
        ("1", "0.1", ""),
        ("2", "0.2", "tumor_dice"),
        ("3", "0.7", "tumor_dice"),
    ]


def test_an_old_per_case_csv_reads_back_under_the_new_names(tmp_path):
    path = tmp_path / "per_case.csv"
    path.write_text(
        "case,tumour_dsc,tumour_in_reference,predicted_tumour_volume_mm3,n_lesions\n"
        "a,0.5,True,12.0,2\n"
    )
    assert read_per_case_csv(path) == [
        {
            "case": "a",
            "tumor_dsc": 0.5,
            "tumor_in_reference": True,
            "predicted_tumor_volume_mm3": 12.0,
            "n_lesions": 2,
        }
    ]


def test_an_old_datalist_reads_back_with_the_label_named_tumor(tmp_path):
    path = tmp_path / "datalist.json"
    labels = {"0": "background", "1": "liver", "2": "tumour"}
    path.write_text(json.dumps({"labels": labels, "training": [], "folds": {"splits": []}}))
    assert load_datalist(path)["labels"] == {"0": "background", "1": "liver", "2": "tumor"}


# --- no public name keeps the old spelling ---------------------------------------------------


def _public_modules() -> list[Any]:
    modules = [synthtumor]
    for info in pkgutil.walk_packages(synthtumor.__path__, "synthtumor."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        modules.append(importlib.import_module(info.name))
    return modules


def _public_names(module: Any) -> list[str]:
    """Names, parameters, dataclass fields and string constants (columns) of `module`."""
    names = []
    for name in getattr(module, "__all__", ()):
        names.append(f"{module.__name__}.{name}")
        value = getattr(module, name)
        if isinstance(value, tuple | list) and all(isinstance(v, str) for v in value):
            names.extend(f"{module.__name__}.{name}[{v!r}]" for v in value)
        targets = [value]
        if inspect.isclass(value):
            targets = [value.__init__, *(v for _, v in inspect.getmembers(value, callable))]
            if dataclasses.is_dataclass(value):
                names.extend(f"{name}.{f.name}" for f in dataclasses.fields(value))
        for target in targets:
            try:
                parameters = inspect.signature(target).parameters
            except (TypeError, ValueError):
                continue
            names.extend(f"{name}({p})" for p in parameters)
    return names


def test_no_public_name_keeps_the_old_spelling():
    old = sorted(
        name for module in _public_modules() for name in _public_names(module) if OLD.search(name)
    )
    assert old == []
