"""Adversarial params files: ``TumorParams.from_json`` refuses every field it cannot render.

Issue 11: a NaN texture mean wrote NaN voxels into an int16 image, ``label_threshold = 2`` left
the tumours unlabelled, equal liver and tumour labels were accepted.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache

import numpy as np
import pytest

from synthtumor import TumorParams, apply, sample
from synthtumor.params import TumorSpec
from synthtumor.phantom import make_phantom

SHAPE, SPACING = (40, 40, 24), (4.0, 4.0, 5.0)


@lru_cache(maxsize=1)
def tiny_scan():
    phantom = make_phantom(SHAPE, SPACING, dtype=np.int16, rng=0)
    return phantom.image, phantom.liver_mask


@lru_cache(maxsize=1)
def valid_text() -> str:
    image, liver = tiny_scan()
    return sample(image, liver, spacing=SPACING, size="small", rng=1).to_json()


def perturbed(path: tuple, value: object) -> str:
    data = json.loads(valid_text())
    target = data
    for key in path[:-1]:
        target = target[key]
    if value is DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return json.dumps(data)


DELETE = object()
T0 = ("tumors", 0)

CASES = [
    ((*T0, "texture_mean_hu"), float("nan"), ValueError, r"tumors\[0\]: texture_mean_hu must"),
    ((*T0, "texture_mean_hu"), float("inf"), ValueError, r"tumors\[0\]: texture_mean_hu must"),
    ((*T0, "texture_mean_hu"), 1e39, ValueError, r"texture_mean_hu must lie in \[-10000, 10000\]"),
    ((*T0, "texture_mean_hu"), "40", TypeError, r"tumors\[0\]: texture_mean_hu must be a number"),
    ((*T0, "texture_std_hu"), -5.0, ValueError, r"texture_std_hu must lie in \[0, 10000\]"),
    ((*T0, "edge_blur_mm"), 100.0, ValueError, r"edge_blur_mm must lie in \[0, 10\]"),
    ((*T0, "texture_blur_mm"), 1e9, ValueError, r"texture_blur_mm must lie in \[0, 10\]"),
    ((*T0, "capsule_blur_mm"), -1.0, ValueError, r"capsule_blur_mm must lie in \[0, 10\]"),
    ((*T0, "seed"), -1, ValueError, r"tumors\[0\]: seed must be an integer in \[0, 2\*\*53\)"),
    ((*T0, "seed"), 2**60, ValueError, r"seed must be an integer in \[0, 2\*\*53\)"),
    ((*T0, "seed"), 1.5, TypeError, r"seed must be an integer"),
    ((*T0, "seed"), "7", TypeError, r"seed must be an integer"),
    ((*T0, "center_voxel"), [400, 0, 0], ValueError, r"tumors\[0\].center_voxel .* outside"),
    ((*T0, "center_voxel"), [-1, 5, 5], ValueError, r"center_voxel\[0\] must be an integer >= 0"),
    ((*T0, "center_voxel"), [1.5, 5, 5], TypeError, r"center_voxel\[0\] must be an integer"),
    ((*T0, "center_voxel"), [5, 5], TypeError, r"center_voxel must be 3 integer voxel indices"),
    (
        (*T0, "semi_axes_mm"),
        [0.0, 8.0, 8.0],
        ValueError,
        r"semi_axes_mm\[0\] must lie in \[0.001, 300\]",
    ),
    ((*T0, "semi_axes_mm"), [1e9, 8.0, 8.0], ValueError, r"semi_axes_mm\[0\] must lie in"),
    ((*T0, "radius_mm"), float("nan"), ValueError, r"radius_mm must lie in \[0.1, 150\]"),
    ((*T0, "deformation_mm"), 1e6, ValueError, r"deformation_mm must lie in \[0, 150\]"),
    ((*T0, "deformation_mm"), 100.0, ValueError, r"deformation_mm must be at most 1 x radius_mm"),
    ((*T0, "texture_scale"), 0.5, ValueError, r"texture_scale must lie in \[1, 10\]"),
    ((*T0, "mass_effect_intensity"), 500.0, ValueError, r"mass_effect_intensity must lie in"),
    ((*T0, "mass_effect_radius_factor"), 1e4, ValueError, r"mass_effect_radius_factor must lie"),
    ((*T0, "capsule_band"), [0.4, 0.7], ValueError, r"tumors\[0\]: capsule_band is no longer a"),
    ((*T0, "scanner_blur_mm"), [0.0] * 3, ValueError, r"tumors\[0\]: scanner_blur_mm is no longer"),
    ((*T0, "push"), "organ", ValueError, r"tumors\[0\]: push is no longer a tumour's field"),
    ((*T0, "capsule_contrast_hu"), float("nan"), ValueError, r"capsule_contrast_hu must lie"),
    ((*T0, "size"), "huge", ValueError, r"tumors\[0\]: size must be one of 'tiny'"),
    ((*T0, "vessel_free"), "yes", TypeError, r"vessel_free must be True or False"),
    ((*T0, "lesion"), "adenoma", ValueError, r"lesion must be one of 'metastasis'"),
    ((*T0, "fill"), 2.0, ValueError, r"fill must lie in \[0, 1\]"),
    ((*T0, "periphery_hu"), float("-inf"), ValueError, r"periphery_hu must lie"),
    ((*T0, "radius_mm"), DELETE, ValueError, r"tumors\[0\]: TumorSpec fields do not match"),
    ((*T0, "colour"), "red", ValueError, r"unknown \['colour'\]"),
    (("tumors", 0), 5, TypeError, r"tumors\[0\] must be an object of TumorSpec fields"),
    (("tumors",), "abc", TypeError, r"tumors must be a list of tumour objects"),
    (("label_threshold",), 2, ValueError, r"label_threshold must lie in \(0, 1\), got 2"),
    (("label_threshold",), 0, ValueError, r"label_threshold must lie in \(0, 1\)"),
    (("label_threshold",), "0.5", TypeError, r"label_threshold must be a number in \(0, 1\)"),
    (("tumor_label",), 1, ValueError, r"organ_label and tumor_label must be distinct"),
    (
        ("organ_label",),
        0,
        ValueError,
        r"background_label, organ_label and tumor_label must be distinct, got \(0, 0, 2\)",
    ),
    (("tumor_label",), 300, ValueError, r"tumor_label must be an integer in \[0, 255\]"),
    (("tumor_label",), 2.0, ValueError, r"tumor_label must be a non-negative integer"),
    (("shape",), [40, 40], TypeError, r"shape must be 3 positive integers"),
    (("shape",), [40, 40, 0], ValueError, r"shape\[2\] must be an integer >= 1"),
    (("spacing",), [4.0, -4.0, 5.0], ValueError, r"spacing must be 3 positive finite numbers"),
    (("spacing",), ["4", "4", "5"], TypeError, r"spacing must be a sequence of 3 positive"),
    (("size",), "huge", ValueError, r"size must be one of 'tiny', 'small'"),
    (("appearance",), "fancy", ValueError, r"appearance must be one of 'paper', 'realistic'"),
    (("phase",), "dawn", ValueError, r"phase must be one of 'non_contrast'"),
    (("pattern",), "cluster", ValueError, r"pattern must be one of 'solitary'"),
    (("vessel_check",), "maybe", ValueError, r"vessel_check must be one of 'eq2', 'off'"),
    (("noise_lowpass_mm",), 100.0, ValueError, r"noise_lowpass_mm must lie in \[0, 20\]"),
    (("parenchyma_std_hu",), -1.0, ValueError, r"parenchyma_std_hu must lie in \[0, 10000\]"),
    (("liver_mean_hu",), float("nan"), ValueError, r"liver_mean_hu must lie"),
    (("vessel_smoothing_mm",), 50.0, ValueError, r"vessel_smoothing_mm must lie in \[0, 10\]"),
    (("capsule_band",), [0.7, 0.4], ValueError, r"capsule_band must satisfy"),
    (("capsule_band",), [0.4, "0.7"], TypeError, r"capsule_band must be a \(low, high\)"),
    (("push",), "nothing", ValueError, r"push must be one of 'surroundings', 'organ'; got"),
    (("scanner_blur",), "yes", TypeError, r"scanner_blur must be True or False"),
    (("format_version",), 5, ValueError, r"format_version must be one of \(1, 2, 3, 4\), got 5"),
    (("format_version",), True, ValueError, r"format_version must be one of"),
    (("shape",), DELETE, ValueError, r"missing \['shape'\]"),
]


@pytest.mark.parametrize(("path", "value", "error", "message"), CASES)
def test_params_json_refuses_what_it_cannot_render(path, value, error, message):
    with pytest.raises(error, match=message):
        TumorParams.from_json(perturbed(path, value))


def test_params_that_are_not_an_object_are_refused():
    with pytest.raises(TypeError, match="data must be a dict, got list"):
        TumorParams.from_json("[1, 2, 3]")


def test_the_unperturbed_file_replays_exactly():
    image, liver = tiny_scan()
    params = TumorParams.from_json(valid_text())
    first = apply(image, liver, params)
    again = apply(image, liver, TumorParams.from_json(params.to_json()))
    assert np.array_equal(first.image, again.image) and np.array_equal(first.label, again.label)
    assert set(np.unique(first.label).tolist()) == {0, 1, 2}


def test_built_directly_the_dataclasses_check_alike():
    params = TumorParams.from_json(valid_text())
    spec = params.tumors[0]
    with pytest.raises(ValueError, match="texture_mean_hu must lie"):
        TumorSpec(**{**spec.__dict__, "texture_mean_hu": float("nan")})
    fields = copy.copy(params.__dict__)
    with pytest.raises(ValueError, match=r"label_threshold must lie in \(0, 1\)"):
        TumorParams(**{**fields, "label_threshold": 2.0})
    with pytest.raises(TypeError, match=r"tumors\[0\] must be a TumorSpec"):
        TumorParams(**{**fields, "tumors": ({"size": "small"},)})
