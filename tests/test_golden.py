"""Pinned outputs: the params and the rendered voxels of a few fixed syntheses.

A failure here means the output for a fixed seed changed. If that was the point of the change,
regenerate with ``python tests/regenerate_golden.py`` and say why in the commit message.
"""

from __future__ import annotations

import numpy as np
import pytest

from _golden import CASES, ROUNDING_HU, changed_voxels, load
from synthtumor import apply


@pytest.fixture(scope="module", params=CASES, ids=[case.name for case in CASES])
def case_and_result(request):
    case = request.param
    return case, case.run()


def test_params_are_pinned(case_and_result):
    case, (_, _, _, params) = case_and_result
    expected, _ = load(case)
    assert params == expected


def test_rendered_voxels_are_pinned(case_and_result):
    case, (phantom, image, label, _) = case_and_result
    _, expected = load(case)
    got = changed_voxels(phantom, image, label)
    np.testing.assert_array_equal(got["index"], expected["index"])
    np.testing.assert_array_equal(got["label"], expected["label"])
    # Integer images are rounded: float32 rounding may move a value across .5 by one HU.
    tolerance = 1.0 if np.issubdtype(image.dtype, np.integer) else ROUNDING_HU
    np.testing.assert_allclose(got["image"], expected["image"], rtol=0, atol=tolerance)


def test_the_stored_params_replay_to_the_stored_voxels(case_and_result):
    """``apply`` of the stored params alone renders the stored voxels (sampling aside)."""
    case, (phantom, _, _, _) = case_and_result
    params, expected = load(case)
    image, label, _ = apply(phantom.image, phantom.liver_mask, params)
    got = changed_voxels(phantom, image, label)
    np.testing.assert_array_equal(got["index"], expected["index"])
    tolerance = 1.0 if np.issubdtype(image.dtype, np.integer) else ROUNDING_HU
    np.testing.assert_allclose(got["image"], expected["image"], rtol=0, atol=tolerance)


def test_every_case_changes_a_real_number_of_voxels(case_and_result):
    """A golden file of an empty synthesis would pin nothing."""
    case, _ = case_and_result
    _, expected = load(case)
    tumor = np.count_nonzero(expected["label"] == 2)
    assert tumor > 50, f"{case.name} labels only {tumor} tumour voxels"
