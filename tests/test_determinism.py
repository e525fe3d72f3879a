"""The determinism contract: output is a function of the inputs, the seed and the params only.

Speed switches (how a tumour's footprint is searched, matrix-or-SciPy crossovers, collision-check
batch sizes) and where the volume's border cuts a tumour's box must not change what is drawn.
Values may differ by float32 rounding (different matrix shapes sum in different orders), never
by more: the tolerance below is a thousandth of a HU.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import ndimage

import synthtumor.render as render
import synthtumor.separable as separable
from synthtumor import TumorConfig, apply, sample, synthesize
from synthtumor.params import TumorParams
from synthtumor.phantom import make_phantom

ROUNDING_HU = 1e-3


@pytest.fixture(scope="module")
def phantom():
    return make_phantom(rng=0)


def _draw(phantom, size, seed, config=None):
    return synthesize(
        phantom.image,
        phantom.liver_mask,
        spacing=phantom.spacing,
        size=size,
        config=config,
        rng=seed,
    )


def _assert_same(first, second):
    assert first.params == second.params
    np.testing.assert_array_equal(first.label, second.label)
    np.testing.assert_allclose(first.image, second.image, rtol=0, atol=ROUNDING_HU)


SPEED_SWITCHES = [
    (render, "_FINE_SCAN_POINTS", 0),
    (render, "_FINE_SCAN_POINTS", 10**9),
    (render, "_COARSE_FROM_VOXELS", 10**6),
    (render, "_COARSE_STRIDE", 3),
    (separable, "_LARGEST_MATRIX", 0),
    (separable, "_LARGEST_MATRIX", 10**4),
]


@pytest.mark.parametrize(("module", "name", "value"), SPEED_SWITCHES)
@pytest.mark.parametrize(("size", "seed"), [("tiny", 0), ("small", 1), ("medium", 2), ("large", 3)])
def test_speed_switches_do_not_change_output(phantom, monkeypatch, module, name, value, size, seed):
    expected = _draw(phantom, size, seed)
    monkeypatch.setattr(module, name, value)
    _assert_same(_draw(phantom, size, seed), expected)


def test_texture_is_the_same_whichever_stages_are_on(phantom):
    """Switching the capsule off leaves the texture (and so the tumour's core) as it was."""
    with_capsule = _draw(phantom, "medium", 4)
    without = _draw(phantom, "medium", 4, TumorConfig(capsule=False))
    core = (with_capsule.label == 2) & (without.label == 2)
    # The capsule adds HU in a band around the edge; deep inside only its blurred tail reaches
    # (under 0.1 HU), while a texture drawn anew would differ by its std (about 13 HU here).
    same = np.isclose(with_capsule.image, without.image, rtol=0, atol=0.25)
    deep = ndimage.binary_erosion(core, iterations=3)
    assert deep.sum() > 300
    assert same[deep].all()
    assert not same[core & ~deep].all()


@pytest.mark.parametrize("mass_effect", [False, True])
def test_a_volume_border_through_the_box_changes_nothing_inside(phantom, mass_effect):
    """A tumour cut by the volume's border is the same tumour, cut."""
    config = TumorConfig(mass_effect=mass_effect)
    # Cut the volume 3 voxels past the first tumour's centre on axis 0: its box loses most of
    # one side, and the push (when on) reads tissue up to the border.
    params = sample(
        phantom.image,
        phantom.liver_mask,
        spacing=phantom.spacing,
        size="medium",
        config=config,
        rng=5,
    )
    spec = params.tumors[0]
    one = dataclasses.replace(params, tumors=(spec,))
    full = apply(phantom.image, phantom.liver_mask, one)
    start = spec.center_voxel[0] - 3
    crop = (slice(start, None), slice(None), slice(None))
    moved = dataclasses.replace(spec, center_voxel=(3, *spec.center_voxel[1:]))
    cropped_params = TumorParams.from_dict(
        {**one.to_dict(), "shape": list(phantom.image[crop].shape), "tumors": []}
    )
    cropped_params = dataclasses.replace(cropped_params, tumors=(moved,))
    cut = apply(phantom.image[crop], phantom.liver_mask[crop], cropped_params)
    assert (cut.label == 2).sum() > 500
    np.testing.assert_array_equal(cut.label, full.label[crop])
    np.testing.assert_allclose(cut.image, full.image[crop], rtol=0, atol=ROUNDING_HU)
