"""The hyper-parameters of Tables 1 and 6, and the JSON record of a synthesis."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from _volumes import coarse_phantom
from synthtumor import SizePreset, TumorConfig, TumorParams, apply, sample
from synthtumor.params import FORMAT_VERSION


def test_defaults_are_table_1_and_table_6():
    config = TumorConfig()
    assert config.vessel_smoothing_mm is None  # 0.5 + 0.025 sigma_p
    assert config.vessel_threshold_offset_hu == 15.0
    assert config.texture_mean_hu is None  # U(30, mu_p - 10)
    assert config.texture_scale == (1.1, 1.5)
    assert config.texture_blur_mm == 0.6
    assert config.edge_blur_mm == (0.6, 1.2)
    assert config.semi_axis_factor == (0.75, 1.25)
    assert config.mass_effect_radius_factor == 1.3
    assert config.mass_effect_intensity == 30.0
    assert config.capsule_band == (0.4, 0.7)
    assert config.capsule_blur_mm == 0.8
    assert config.capsule_contrast_hu == 120.0
    assert [config.preset(s).radius_mm for s in ("tiny", "small", "medium", "large")] == [
        4.0,
        8.0,
        16.0,
        32.0,
    ]
    assert config.tiny.deformation_mm == (0.5, 1.0) and config.large.deformation_mm == (5.0, 10.0)
    assert config.tiny.count == (3, 10) and config.medium.count == (2, 5)
    assert config.size_probabilities == (0.2,) * 5
    assert config.sizes_in("mix") == ("tiny", "small", "medium", "large")


def test_config_is_frozen_and_replace_makes_a_copy():
    config = TumorConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.capsule = False  # type: ignore[misc]
    changed = config.replace(capsule=False)
    assert config.capsule and not changed.capsule


def test_constant_and_range_overrides_are_drawn():
    phantom = coarse_phantom()
    config = TumorConfig(
        texture_mean_hu=(0.0, 5.0),
        texture_scale=1.3,
        small=SizePreset(radius_mm=(5.0, 6.0), deformation_mm=0.0, count=4),
    )
    params = sample(
        phantom.image, phantom.liver_mask, spacing=phantom.spacing, size="small", config=config
    )
    assert len(params.tumors) == 4
    for spec in params.tumors:
        assert 0.0 <= spec.texture_mean_hu <= 5.0
        assert spec.texture_scale == 1.3
        assert 5.0 <= spec.radius_mm <= 6.0
        assert spec.deformation_mm == 0.0


def test_stage_switches_zero_only_their_own_parameters():
    phantom = coarse_phantom()
    arguments = {"spacing": phantom.spacing, "size": "mix", "rng": 9}
    full = sample(phantom.image, phantom.liver_mask, **arguments)
    ablated = sample(
        phantom.image,
        phantom.liver_mask,
        config=TumorConfig(
            elastic_deformation=False, edge_blur=False, mass_effect=False, capsule=False
        ),
        **arguments,
    )
    switched = {"deformation_mm", "edge_blur_mm", "mass_effect_intensity", "capsule_contrast_hu"}
    for a, b in zip(full.tumors, ablated.tumors, strict=True):
        for field in dataclasses.fields(a):
            if field.name in switched:
                assert getattr(b, field.name) == 0.0
            else:
                assert getattr(a, field.name) == getattr(b, field.name), field.name


def test_params_round_trip_through_json_and_replay_exactly():
    phantom = coarse_phantom()
    params = sample(phantom.image, phantom.liver_mask, spacing=phantom.spacing, size="mix", rng=4)
    text = params.to_json(indent=2)
    data = json.loads(text)
    assert data["format_version"] == FORMAT_VERSION and len(data["tumors"]) == len(params.tumors)
    again = TumorParams.from_json(text)
    assert again == params
    first = apply(phantom.image, phantom.liver_mask, params)
    second = apply(phantom.image, phantom.liver_mask, again)
    assert np.array_equal(first.image, second.image)
    assert np.array_equal(first.label, second.label)


def test_params_json_with_unknown_or_missing_fields_is_refused():
    phantom = coarse_phantom()
    data = sample(phantom.image, phantom.liver_mask, spacing=phantom.spacing, rng=4).to_dict()
    data["tumors"][0]["colour"] = "red"
    with pytest.raises(ValueError, match=r"unknown \['colour'\]"):
        TumorParams.from_dict(data)
    del data["tumors"][0]["colour"]
    del data["spacing"]
    with pytest.raises(ValueError, match=r"missing \['spacing'\]"):
        TumorParams.from_dict(data)
    data["format_version"] = 99
    with pytest.raises(ValueError, match="format_version"):
        TumorParams.from_dict(data)


def test_custom_label_values():
    phantom = coarse_phantom()
    config = TumorConfig(background_label=7, organ_label=3, tumor_label=9, mass_effect=False)
    params = sample(
        phantom.image, phantom.liver_mask, spacing=phantom.spacing, config=config, rng=0
    )
    label = apply(phantom.image, phantom.liver_mask, params).label
    assert set(np.unique(label)) == {3, 7, 9}
    assert np.array_equal(label != 7, phantom.liver_mask)
