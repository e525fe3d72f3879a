"""Adversarial config and core arguments: each is refused with the argument named.

The cases of issue 11 (``capsule="False"`` kept the capsule on, ``max_location_tries=2.5`` was
accepted, ``edge_blur_mm=100`` ran for minutes, ``label_threshold=2`` left tumours unlabelled,
equal labels were accepted) and their neighbours, through ``TumorConfig``, its ``realistic``
overrides, config files and the core functions.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from _volumes import coarse_phantom
from synthtumor import SizePreset, TumorConfig, apply, sample, synthesize
from synthtumor._validation import MAX_BLUR_MM, SEED_BOUND, check_seed
from synthtumor.config_file import read_config

NAN, INF = math.nan, math.inf

# (field changes, error type, message that names the argument and what was expected)
BAD_TYPES = [
    ({"capsule": "False"}, r"capsule must be True or False, got 'False'"),
    ({"capsule": "no"}, r"capsule must be True or False, got 'no'"),
    ({"capsule": 0}, r"capsule must be True or False, got 0"),
    ({"capsule": None}, r"capsule must be True or False"),
    ({"mass_effect": 1}, r"mass_effect must be True or False"),
    ({"tiny_tumors": "True"}, r"tiny_tumors must be True or False"),
    ({"elastic_deformation": "off"}, r"elastic_deformation must be True or False"),
    ({"edge_blur": []}, r"edge_blur must be True or False"),
    ({"vessel_avoidance": "0"}, r"vessel_avoidance must be True or False"),
    ({"scanner_blur": 1.0}, r"scanner_blur must be True or False"),
    ({"max_location_tries": 2.5}, r"max_location_tries must be an integer, got 2.5"),
    ({"max_location_tries": "30"}, r"max_location_tries must be an integer, got '30'"),
    ({"max_location_tries": True}, r"max_location_tries must be an integer, got True"),
    ({"stats_patches": 32.0}, r"stats_patches must be an integer"),
    ({"stats_patches": "32"}, r"stats_patches must be an integer"),
    ({"label_threshold": "0.5"}, r"label_threshold must be a number in \(0, 1\)"),
    ({"label_threshold": True}, r"label_threshold must be a number"),
    ({"texture_blur_mm": "0.6"}, r"texture_blur_mm must be a number or a"),
    ({"edge_blur_mm": ("0.6", 1.2)}, r"edge_blur_mm must be a number or a"),
    ({"texture_mean_hu": "40"}, r"texture_mean_hu must be a number or a"),
    ({"mass_effect_intensity": True}, r"mass_effect_intensity must be a number or a"),
    ({"capsule_share": "0.5"}, r"capsule_share must be a number"),
    ({"noise_lowpass_mm": "3"}, r"noise_lowpass_mm must be a number"),
    ({"size_probabilities": ("0.2",) * 5}, r"size_probabilities must be a tuple of 5 numbers"),
    ({"size_probabilities": 0.2}, r"size_probabilities must be a tuple of 5 numbers"),
    ({"semi_axis_factor": ("0.75", 1.25)}, r"semi_axis_factor must be a \(low, high\) pair"),
    ({"capsule_band": 0.5}, r"capsule_band must be a \(low, high\) pair"),
]

BAD_VALUES = [
    ({"edge_blur_mm": 100.0}, r"edge_blur_mm must be finite and in \[0, 10\], got 100.0"),
    ({"edge_blur_mm": (0.6, 100.0)}, r"edge_blur_mm must be finite and in \[0, 10\]"),
    ({"texture_blur_mm": 10.5}, r"texture_blur_mm must be finite and in \[0, 10\]"),
    ({"capsule_blur_mm": 50.0}, r"capsule_blur_mm must be finite and in \[0, 10\]"),
    ({"vessel_smoothing_mm": 20.0}, r"vessel_smoothing_mm must be finite and in \[0, 10\]"),
    ({"edge_blur_mm": NAN}, r"edge_blur_mm must be finite"),
    ({"edge_blur_mm": -0.5}, r"edge_blur_mm must be finite and in \[0, 10\]"),
    ({"max_location_tries": 0}, r"max_location_tries must be an integer in \[1, 1000\], got 0"),
    ({"max_location_tries": 10**6}, r"max_location_tries must be an integer in \[1, 1000\]"),
    ({"stats_patches": 0}, r"stats_patches must be an integer in \[1, 1024\], got 0"),
    ({"stats_patches": 10**6}, r"stats_patches must be an integer in \[1, 1024\]"),
    ({"label_threshold": 2}, r"label_threshold must lie in \(0, 1\), got 2"),
    ({"label_threshold": 0.0}, r"label_threshold must lie in \(0, 1\)"),
    ({"label_threshold": -0.1}, r"label_threshold must lie in \(0, 1\)"),
    ({"label_threshold": NAN}, r"label_threshold must lie in \(0, 1\), got nan"),
    ({"organ_label": 2}, r"organ_label and tumor_label must be distinct, got \(0, 2, 2\)"),
    ({"background_label": 1}, r"must be distinct, got \(1, 1, 2\)"),
    ({"tumor_label": 256}, r"tumor_label must be an integer in \[0, 255\], got 256"),
    ({"organ_label": -1}, r"organ_label must be a non-negative integer <= 255"),
    ({"tumor_label": 2.0}, r"tumor_label must be a non-negative integer"),
    ({"texture_mean_hu": NAN}, r"texture_mean_hu must be finite"),
    ({"texture_mean_hu": INF}, r"texture_mean_hu must be finite"),
    ({"texture_mean_hu": 1e6}, r"texture_mean_hu must be finite and in \[-10000, 10000\]"),
    ({"texture_std_hu": NAN}, r"texture_std_hu must be finite"),
    ({"texture_std_hu": -1.0}, r"texture_std_hu must be finite and in \[0, 10000\]"),
    ({"capsule_contrast_hu": INF}, r"capsule_contrast_hu must be finite"),
    ({"vessel_threshold_offset_hu": NAN}, r"vessel_threshold_offset_hu must be finite"),
    ({"size_probabilities": (NAN, 0.2, 0.2, 0.2, 0.2)}, r"size_probabilities must be 5 non-neg"),
    ({"size_probabilities": (-1.0, 1, 1, 1, 1)}, r"size_probabilities must be 5 non-neg"),
    ({"size_probabilities": (0, 0, 0, 0, 0)}, r"size_probabilities must be 5 non-neg"),
    ({"capsule_share": NAN}, r"capsule_share must lie in \[0, 1\]"),
    ({"capsule_share": 1.5}, r"capsule_share must lie in \[0, 1\]"),
    ({"noise_lowpass_mm": 0.0}, r"noise_lowpass_mm must lie in \(0, 20\]"),
    ({"noise_lowpass_mm": NAN}, r"noise_lowpass_mm must lie in \(0, 20\]"),
    ({"noise_lowpass_mm": 25.0}, r"noise_lowpass_mm must lie in \(0, 20\]"),
    ({"texture_scale": 0.5}, r"texture_scale must be finite and in \[1, 10\]"),
    ({"texture_scale": 100.0}, r"texture_scale must be finite and in \[1, 10\]"),
    ({"mass_effect_radius_factor": 50.0}, r"mass_effect_radius_factor must be finite and in"),
    ({"mass_effect_intensity": 150.0}, r"mass_effect_intensity must be finite and in \[0, 100\]"),
    ({"capsule_band": (NAN, 0.7)}, r"capsule_band must satisfy"),
    ({"semi_axis_factor": (0.75, INF)}, r"semi_axis_factor must satisfy"),
    ({"location_fallback": 3}, r"location_fallback must be one of 'least_vessels', 'raise'"),
]


@pytest.mark.parametrize(("changes", "message"), BAD_TYPES)
def test_config_refuses_wrong_types(changes, message):
    with pytest.raises(TypeError, match=message):
        TumorConfig(**changes)


@pytest.mark.parametrize(("changes", "message"), BAD_VALUES)
def test_config_refuses_values_out_of_range(changes, message):
    with pytest.raises(ValueError, match=message):
        TumorConfig(**changes)


def test_numpy_scalars_and_bools_are_accepted():
    config = TumorConfig(
        capsule=np.bool_(False),
        max_location_tries=np.int64(12),
        edge_blur_mm=np.float32(0.75),
        size_probabilities=[0.1, 0.2, 0.3, 0.2, 0.2],
    )
    assert bool(config.capsule) is False and config.max_location_tries == 12


def test_the_blur_bound_itself_is_accepted():
    assert TumorConfig(edge_blur_mm=MAX_BLUR_MM).edge_blur_mm == MAX_BLUR_MM


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"radius_mm": 1000.0}, ValueError, r"radius_mm must be finite and in \[0.1, 150\]"),
        ({"radius_mm": NAN}, ValueError, r"radius_mm must be finite"),
        ({"deformation_mm": 100.0}, ValueError, r"deformation_mm must be at most 1 x radius_mm"),
        ({"deformation_mm": (1.0, NAN)}, ValueError, r"deformation_mm must be finite and >= 0"),
        ({"count": 2.5}, TypeError, r"count must be an int or an \(int, int\) pair"),
        ({"radius_mm": "4"}, TypeError, r"radius_mm must be a number"),
    ],
)
def test_size_presets_are_bounded(changes, error, message):
    fields = {"radius_mm": 4.0, "deformation_mm": 1.0, "count": 1, **changes}
    with pytest.raises(error, match=message):
        SizePreset(**fields)


@pytest.mark.parametrize(
    ("overrides", "error", "message"),
    [
        ({"capsule": "False"}, TypeError, r"capsule must be True or False"),
        ({"max_location_tries": 2.5}, TypeError, r"max_location_tries must be an integer"),
        ({"edge_blur_mm": 100.0}, ValueError, r"edge_blur_mm must be finite and in \[0, 10\]"),
        ({"label_threshold": 2.0}, ValueError, r"label_threshold must lie in \(0, 1\)"),
        ({"scanner_blur": "yes"}, TypeError, r"scanner_blur must be True or False"),
    ],
)
def test_realistic_overrides_are_checked_alike(overrides, error, message):
    with pytest.raises(error, match=message):
        TumorConfig.realistic("portal", "hcc", **overrides)


@pytest.mark.parametrize(
    ("name", "text", "error", "message"),
    [
        ("c.toml", 'capsule = "no"\n', TypeError, r"capsule must be True or False, got 'no'"),
        ("c.toml", "max_location_tries = 2.5\n", TypeError, r"max_location_tries must be an int"),
        ("c.toml", "label_threshold = 2\n", ValueError, r"label_threshold must lie in \(0, 1\)"),
        ("c.toml", "edge_blur_mm = [0.6, 100.0]\n", ValueError, r"edge_blur_mm must be finite"),
        ("c.toml", "organ_label = 2\n", ValueError, r"organ_label and tumor_label must be"),
        ("c.toml", "edge_blur_mm = nan\n", ValueError, r"edge_blur_mm must be finite"),
        (
            "c.toml",
            "[large]\nradius = 32\ndeformation_mm = 5\ncount = 1\n",
            ValueError,
            r"size preset \[large\] must set exactly radius_mm, deformation_mm, count",
        ),
        (
            "c.toml",
            "[large]\nradius_mm = 1e9\ndeformation_mm = 5\ncount = 1\n",
            ValueError,
            r"radius_mm must be finite and in",
        ),
        ("c.json", '{"texture_mean_hu": NaN}', ValueError, r"texture_mean_hu must be finite"),
        ("c.json", '{"capsule": "False"}', TypeError, r"capsule must be True or False"),
        ("c.json", '{"stats_patches": "32"}', TypeError, r"stats_patches must be an integer"),
        (
            "c.json",
            '{"appearance": "realistic", "edge_blur_mm": 1e3}',
            ValueError,
            r"edge_blur_mm must be finite and in \[0, 10\]",
        ),
    ],
)
def test_config_files_are_checked_alike(tmp_path, name, text, error, message):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(error, match=message):
        read_config(path)


def test_a_valid_config_file_still_loads(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"capsule": False, "max_location_tries": 12}), encoding="utf-8")
    config = read_config(path)
    assert config.capsule is False and config.max_location_tries == 12


@pytest.fixture
def scan():
    phantom = coarse_phantom()
    return phantom.image, phantom.liver_mask, phantom.spacing


@pytest.mark.parametrize(
    ("rng", "error", "message"),
    [
        (2.5, TypeError, r"rng must be None, a numpy Generator, a SeedSequence or a non-neg"),
        (True, TypeError, r"rng must be None"),
        ("0", TypeError, r"rng must be None"),
        (-1, ValueError, r"rng must be None"),
        (np.float64(3.0), TypeError, r"rng must be None"),
    ],
)
def test_core_refuses_bad_rng(scan, rng, error, message):
    image, liver, spacing = scan
    with pytest.raises(error, match=message):
        sample(image, liver, spacing=spacing, size="small", rng=rng)


@pytest.mark.parametrize("inplace", ["False", 0, None])
def test_core_refuses_a_non_bool_inplace(scan, inplace):
    image, liver, spacing = scan
    params = sample(image, liver, spacing=spacing, size="small", rng=0)
    with pytest.raises(TypeError, match="inplace must be True or False"):
        apply(image, liver, params, inplace=inplace)
    with pytest.raises(TypeError, match="inplace must be True or False"):
        synthesize(image, liver, spacing=spacing, size="small", rng=0, inplace=inplace)


@pytest.mark.parametrize(
    ("spacing", "error"),
    [(("1", "1", "1"), TypeError), ((True, True, True), TypeError), ((1.0, NAN, 1.0), ValueError)],
)
def test_core_refuses_spacing_that_is_not_numbers(scan, spacing, error):
    image, liver, _ = scan
    with pytest.raises(error, match="spacing must be"):
        sample(image, liver, spacing=spacing, size="small", rng=0)


def test_capsule_off_really_switches_it_off(scan):
    """The bug behind the bool check: a truthy non-bool must never reach the renderer."""
    image, liver, spacing = scan
    params = sample(
        image, liver, spacing=spacing, size="small", config=TumorConfig(capsule=False), rng=0
    )
    assert all(spec.capsule_contrast_hu == 0.0 for spec in params.tumors)


def test_one_seed_bound_for_drawn_and_given_seeds(scan):
    image, liver, spacing = scan
    params = sample(image, liver, spacing=spacing, size="tiny", rng=5)
    assert all(0 <= check_seed(spec.seed) < SEED_BOUND for spec in params.tumors)
    assert SEED_BOUND == 2**53
    with pytest.raises(ValueError, match=r"seed must be an integer in \[0, 2\*\*53\)"):
        check_seed(SEED_BOUND)
    with pytest.raises(TypeError, match=r"seed must be an integer"):
        check_seed(1.0)
