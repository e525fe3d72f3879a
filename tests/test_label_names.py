"""``organ_label`` is the name; ``liver_label``, the old one, still works once with a warning.

One test per entry point of the core (the adapters' are in their own test files), and the
params files written before the rename (format 1 and 2) still load, silently: they are data.
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from _volumes import coarse_phantom
from synthtumor import TumorConfig, TumorParams, sample
from synthtumor.cli import build_parser
from synthtumor.label_map import protected_voxels, synthesize_label_map, write_back
from synthtumor.params import FORMAT_VERSION
from synthtumor.phantom import make_phantom

DEPRECATED = "liver_label is deprecated; use organ_label"
BOTH = "give organ_label or its old name liver_label, not both"


@pytest.fixture(scope="module")
def organ_map():
    """A phantom whose liver is class 5 of a map that also holds class 3."""
    phantom = make_phantom(shape=(64, 64, 48), rng=0)
    labels = phantom.liver_mask.astype(np.uint8) * 5
    labels[:, :, :8] = 3
    return phantom, labels


# --- TumorConfig -----------------------------------------------------------------------------


def test_config_field_is_organ_label():
    names = {field.name for field in dataclasses.fields(TumorConfig)}
    assert "organ_label" in names and "liver_label" not in names
    assert TumorConfig(organ_label=4).organ_label == 4


def test_config_constructor_takes_the_old_name_with_one_warning():
    with pytest.warns(DeprecationWarning, match=DEPRECATED) as caught:
        config = TumorConfig(liver_label=4, tumor_label=9)
    assert len(caught) == 1 and caught[0].filename == __file__  # points at the caller
    assert config == TumorConfig(organ_label=4, tumor_label=9)
    with pytest.raises(TypeError, match=BOTH):
        TumorConfig(organ_label=4, liver_label=4)


def test_config_replace_takes_the_old_name_and_keeps_the_other_fields():
    base = TumorConfig(organ_label=4, capsule=False)
    with pytest.warns(DeprecationWarning, match=DEPRECATED):
        changed = base.replace(liver_label=6)
    assert changed == TumorConfig(organ_label=6, capsule=False)
    with pytest.raises(TypeError, match=BOTH):
        base.replace(organ_label=6, liver_label=6)
    with pytest.warns(DeprecationWarning, match=DEPRECATED):
        realistic = TumorConfig.realistic("arterial", liver_label=6)
    assert realistic.organ_label == 6 and realistic.phase == "arterial"


def test_config_attribute_of_the_old_name_warns_and_reads_organ_label():
    config = TumorConfig(organ_label=4)
    with pytest.warns(DeprecationWarning, match=DEPRECATED):
        assert config.liver_label == 4


@pytest.mark.parametrize(
    ("suffix", "text"), [(".toml", "liver_label = 6\n"), (".json", '{"liver_label": 6}')]
)
def test_config_files_with_the_old_key_load_with_a_warning_naming_the_file(
    tmp_path: Path, suffix: str, text: str
):
    path = tmp_path / f"tumor{suffix}"
    path.write_text(text)
    with pytest.warns(DeprecationWarning, match=DEPRECATED) as caught:
        config = TumorConfig.from_file(path)
    assert config.organ_label == 6
    assert str(path) in str(caught[0].message)
    path.write_text(text.replace("liver_label", "organ_label", 1).rstrip() + "\n")
    both = path.read_text()
    if suffix == ".toml":
        path.write_text(both + "liver_label = 6\n")
    else:
        path.write_text('{"organ_label": 6, "liver_label": 6}')
    with pytest.raises(TypeError, match=BOTH):
        TumorConfig.from_file(path)


def test_config_files_are_written_with_the_new_key(tmp_path: Path):
    path = tmp_path / "tumor.json"
    TumorConfig(organ_label=6).to_file(path)
    data = json.loads(path.read_text())
    assert data["organ_label"] == 6 and "liver_label" not in data
    assert TumorConfig.from_file(path).organ_label == 6


# --- TumorParams -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def params() -> TumorParams:
    phantom = coarse_phantom()
    config = TumorConfig(organ_label=3)
    return sample(
        phantom.image,
        phantom.liver_mask,
        spacing=phantom.spacing,
        size="small",
        config=config,
        rng=0,
    )


def test_params_are_written_as_format_4_with_organ_label(params: TumorParams):
    data = params.to_dict()
    assert FORMAT_VERSION == 4 and data["format_version"] == 4
    assert data["organ_label"] == 3 and "liver_label" not in data


def _before_format_4(params: TumorParams, version: int) -> dict:
    """`params` as a file of `version` (1-3) would hold them: shared fields in every tumour."""
    data = params.to_dict()
    data["format_version"] = version
    shared = {name: data.pop(name) for name in ("capsule_band", "push", "scanner_blur")}
    for tumor in data["tumors"]:
        tumor.update(capsule_band=shared["capsule_band"], push=shared["push"])
        tumor["scanner_blur_mm"] = list(params.scanner_blur_mm)
    return data


@pytest.mark.parametrize("version", [1, 2])
def test_params_of_format_1_and_2_with_liver_label_load_without_a_warning(
    params: TumorParams, version: int
):
    data = _before_format_4(params, version)
    data["liver_label"] = data.pop("organ_label")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = TumorParams.from_dict(json.loads(json.dumps(data)))
    assert loaded == params and loaded.organ_label == 3


@pytest.mark.parametrize("version", [3, 4])
def test_params_of_format_3_on_must_use_organ_label(params: TumorParams, version: int):
    data = _before_format_4(params, 3) if version == 3 else params.to_dict()
    data["liver_label"] = data.pop("organ_label")
    with pytest.raises(ValueError, match=r"unknown \['liver_label'\]"):
        TumorParams.from_dict(data)


def test_params_attribute_and_constructor_of_the_old_name_warn(params: TumorParams):
    with pytest.warns(DeprecationWarning, match=DEPRECATED):
        assert params.liver_label == 3
    fields = {field.name: getattr(params, field.name) for field in dataclasses.fields(params)}
    del fields["organ_label"]
    with pytest.warns(DeprecationWarning, match=DEPRECATED):
        assert TumorParams(**fields, liver_label=3) == params


# --- synthtumor.label_map --------------------------------------------------------------------


def test_synthesize_label_map_takes_the_old_name_with_the_same_output(organ_map):
    phantom, labels = organ_map
    kwargs = {"spacing": phantom.spacing, "tumor_label": 9, "size": "small", "rng": 0}
    new = synthesize_label_map(phantom.image, labels, organ_label=5, **kwargs)
    with pytest.warns(DeprecationWarning, match=DEPRECATED):
        old = synthesize_label_map(phantom.image, labels, liver_label=5, **kwargs)
    assert (new.label == 9).any()
    np.testing.assert_array_equal(old.label, new.label)
    np.testing.assert_array_equal(old.image, new.image)
    with pytest.raises(TypeError, match=BOTH):
        synthesize_label_map(phantom.image, labels, organ_label=5, liver_label=5, **kwargs)


def test_the_write_back_helpers_take_the_old_name(organ_map):
    phantom, labels = organ_map
    with pytest.warns(DeprecationWarning, match=DEPRECATED):
        old = protected_voxels(labels, liver_label=5)
    np.testing.assert_array_equal(old, labels != 5)
    organ = labels == 5
    params = sample(phantom.image, organ, spacing=phantom.spacing, size="small", rng=0)
    core = organ.astype(np.uint8)
    center = params.tumors[0].center_voxel
    core[center] = params.tumor_label
    with pytest.warns(DeprecationWarning, match=DEPRECATED):
        out = write_back(labels, core, params, liver_label=5, tumor_label=9)
    assert out[center] == 9 and np.array_equal(out != labels, core != organ)


# --- the command line ------------------------------------------------------------------------


def _arguments(tmp_path: Path) -> dict[str, list[str]]:
    folder, out = str(tmp_path), str(tmp_path / "out")
    return {
        "evaluate": ["evaluate", folder, folder, "-o", out],
        "realism": ["realism", folder, folder],
        "calibrate": ["calibrate", folder, "-o", out],
    }


@pytest.mark.parametrize("command", ["evaluate", "realism", "calibrate"])
def test_commands_take_liver_label_as_a_deprecated_spelling_of_organ_label(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
):
    args = _arguments(tmp_path)[command]
    parser = build_parser()
    assert parser.parse_args([*args, "--organ-label", "7"]).organ_label == 7
    assert capsys.readouterr().err == ""
    assert parser.parse_args([*args, "--liver-label", "7"]).organ_label == 7
    err = capsys.readouterr().err
    assert (
        err
        == "synthtumor: warning: --liver-label is deprecated; use --organ-label (the same value)\n"
    )
    with pytest.raises(SystemExit) as exit_:
        parser.parse_args([*args, "--organ-label", "7", "--liver-label", "7"])
    assert exit_.value.code == 2
    assert "give --organ-label or --liver-label, not both" in capsys.readouterr().err


def test_a_config_with_the_old_key_works_on_the_command_line_and_warns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    from synthtumor.cli import main

    out = tmp_path / "out"
    options = ["--config", '{"liver_label": 3}', "--size", "small", "--seed", "1", "--no-preview"]
    assert main(["demo", "-o", str(out), *options]) == 0
    err = capsys.readouterr().err
    assert "synthtumor: warning: --config: liver_label is deprecated; use organ_label" in err
    params = TumorParams.from_json((out / "synth_000_params.json").read_text())
    assert params.organ_label == 3


def test_the_warning_of_a_config_file_names_the_callers_line(tmp_path: Path):
    """However deep the package reads the file, the warning points at the user's call."""
    path = tmp_path / "tumor.toml"
    path.write_text("liver_label = 6\n")
    with pytest.warns(DeprecationWarning, match=DEPRECATED) as caught:
        TumorConfig.from_file(path)
    assert caught[0].filename == __file__


def _adapter_constructors():
    from synthtumor.adapters.monai import LiverStatisticsd, RandLiverTumor, RandLiverTumord
    from synthtumor.adapters.torchio import LiverTumor, MeasureLiver, RandomLiverTumor

    keys = ["image", "label"]
    return {
        "RandLiverTumor": lambda **label: RandLiverTumor(**label),
        "RandLiverTumord": lambda **label: RandLiverTumord(keys, **label),
        "LiverStatisticsd": lambda **label: LiverStatisticsd(keys, **label),
        "LiverTumor": lambda **label: LiverTumor(seed=1, **label),
        "RandomLiverTumor": lambda **label: RandomLiverTumor(**label),
        "MeasureLiver": lambda **label: MeasureLiver(**label),
    }


@pytest.mark.parametrize(
    "name",
    [
        "RandLiverTumor",
        "RandLiverTumord",
        "LiverStatisticsd",
        "LiverTumor",
        "RandomLiverTumor",
        "MeasureLiver",
    ],
)
def test_the_adapters_take_the_old_name_liver_label_and_warn(name):
    make = _adapter_constructors()[name]
    assert make(organ_label=5).organ_label == 5
    with pytest.warns(DeprecationWarning, match="liver_label is deprecated; use organ_label"):
        transform = make(liver_label=5)
    assert transform.organ_label == 5
    with pytest.warns(DeprecationWarning, match="liver_label is deprecated"):
        assert transform.liver_label == 5
    with pytest.raises(TypeError, match="not both"):
        make(organ_label=5, liver_label=5)
