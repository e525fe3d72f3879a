"""The write-back rule (synthtumor.label_map): the bulge and the tumours take only liver voxels
(or background, by option); every other class keeps its voxels, in the label and the image."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from synthtumor import LiverTooSmallError, synthesize
from synthtumor.label_map import protected_voxels, synthesize_label_map
from synthtumor.phantom import make_phantom

ORGAN = 7


@pytest.fixture(scope="module")
def organ_scan():
    """A phantom whose liver touches an organ: the half of the non-liver voxels nearest the
    liver's centre along axis 0 become class 7, right up against the liver."""
    phantom = make_phantom(shape=(64, 64, 48), rng=0)
    labels = phantom.liver_mask.astype(np.uint8)
    center = int(np.argwhere(phantom.liver_mask).mean(axis=0)[0])
    organ = np.zeros_like(phantom.liver_mask)
    organ[center:] = True
    labels[organ & ~phantom.liver_mask] = ORGAN
    return phantom, labels


def _changed(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    return before != after


def test_the_paper_bulge_would_take_the_organ(organ_scan):
    """The case the rule is for: with a plain liver mask the mass effect pushes the liver (and
    the tumour) into voxels that are the organ in the label map."""
    phantom, labels = organ_scan
    image, core_label, _ = synthesize(
        phantom.image, phantom.liver_mask, spacing=phantom.spacing, size="medium", rng=0
    )
    organ = labels == ORGAN
    assert (core_label[organ] == 2).sum() > 10
    assert _changed(phantom.image, image)[organ].sum() > 0


# Seed 0 puts a tumour against the organ (see above); seed 1 one against the background.
@pytest.mark.parametrize(("bulge_into_background", "seed"), [(False, 0), (True, 0), (True, 1)])
def test_other_classes_keep_their_voxels_in_label_and_image(
    organ_scan, bulge_into_background, seed
):
    phantom, labels = organ_scan
    image, out, params = synthesize_label_map(
        phantom.image,
        labels,
        spacing=phantom.spacing,
        size="medium",
        bulge_into_background=bulge_into_background,
        rng=seed,
    )
    organ = labels == ORGAN
    assert np.array_equal(out == ORGAN, organ)
    assert not _changed(phantom.image, image)[organ].any()
    tumor = out == 2
    assert tumor.sum() > 100
    background = labels == 0
    if bulge_into_background and seed == 1:
        # The paper's bulge into the unlabelled background is kept: some background voxels
        # became liver or tumour, and the image changed there.
        assert (out[background] != 0).any() and _changed(phantom.image, image)[background].any()
    elif not bulge_into_background:
        assert np.array_equal(out == 0, background)
        assert not _changed(phantom.image, image)[background].any()
        assert np.array_equal(tumor, tumor & (labels == 1))
    assert len(params.tumors) >= 1


def test_inputs_are_not_modified_and_dtype_is_kept(organ_scan):
    phantom, labels = organ_scan
    image_before, labels_before = phantom.image.copy(), labels.astype(np.int16)
    given = labels.astype(np.int16)
    _, out, _ = synthesize_label_map(phantom.image, given, spacing=phantom.spacing, rng=2)
    assert out.dtype == np.int16
    assert np.array_equal(given, labels_before) and np.array_equal(phantom.image, image_before)


def test_no_liver_and_bad_label_values_are_refused(organ_scan):
    phantom, labels = organ_scan
    with pytest.raises(LiverTooSmallError, match="organ_label=3"):
        synthesize_label_map(phantom.image, labels, spacing=phantom.spacing, organ_label=3)
    with pytest.raises(ValueError, match="tumor_label=300"):
        synthesize_label_map(phantom.image, labels, spacing=phantom.spacing, tumor_label=300)
    with pytest.raises(ValueError, match="label_map must have the shape"):
        synthesize_label_map(phantom.image, labels[:-1], spacing=phantom.spacing)


def test_protected_voxels_follow_the_option():
    labels = np.array([0, 1, 5, 2]).reshape(1, 2, 2)
    assert protected_voxels(labels, organ_label=1).ravel().tolist() == [True, False, True, True]
    assert protected_voxels(labels, organ_label=1, bulge_into_background=True).ravel().tolist() == [
        False,
        False,
        True,
        True,
    ]


def test_apply_refuses_a_protected_liver(organ_scan):
    from synthtumor import apply, sample

    phantom, labels = organ_scan
    params = sample(phantom.image, phantom.liver_mask, spacing=phantom.spacing, rng=0)
    with pytest.raises(ValueError, match="protected must not overlap"):
        apply(phantom.image, phantom.liver_mask, params, protected=labels == 1)


def test_real_organ_map_keeps_every_organ(shared_data):
    """abdomen-3mm: TotalSegmentator's organ map, liver = 5, large tumours."""
    folder = shared_data / "abdomen-3mm"
    ct = nib.load(folder / "ct.nii.gz")
    organs = np.asarray(nib.load(folder / "organs.nii.gz").dataobj).astype(np.int16)
    image = np.asarray(ct.dataobj).astype(np.int16)
    spacing = tuple(float(v) for v in ct.header.get_zooms())
    others = (organs != 5) & (organs != 0)
    tumor = int(organs.max()) + 1
    for seed in range(3):
        new_image, out, _ = synthesize_label_map(
            image, organs, spacing=spacing, organ_label=5, tumor_label=tumor, size="large", rng=seed
        )
        assert (out == tumor).sum() > 0
        assert np.array_equal(out[others], organs[others])
        assert np.array_equal(new_image[others], image[others])
        assert np.array_equal((out == tumor) | (out == 5), organs == 5)


def test_real_slab_changes_nothing_outside_the_liver_by_default(shared_data):
    """portal-venous-slab, size "large": the core's paper-mode bulge labels thousands of voxels
    outside the liver as tumour (2,714 for this seed) and moves the tissue around; by the rule's
    default nothing outside the liver changes, in the label or the image."""
    folder = shared_data / "portal-venous-slab"
    ct = nib.load(folder / "ct.nii.gz")
    liver = np.asarray(nib.load(folder / "liver.nii.gz").dataobj).astype(np.uint8)
    image = np.asarray(ct.dataobj)
    spacing = tuple(float(v) for v in ct.header.get_zooms())
    _, core_label, _ = synthesize(image, liver, spacing=spacing, size="large", rng=0)
    outside = liver == 0
    assert (core_label[outside] == 2).sum() > 1000
    new_image, out, _ = synthesize_label_map(image, liver, spacing=spacing, size="large", rng=0)
    assert (out == 2).sum() > 1000
    assert not out[outside].any()
    assert np.array_equal(new_image[outside], image[outside])


def test_the_core_label_values_do_not_leak_into_the_map(organ_scan):
    """The caller's values are written, whatever values the config gives the core's map."""
    from synthtumor import TumorConfig

    phantom, labels = organ_scan
    config = TumorConfig().replace(background_label=4, organ_label=6, tumor_label=8)
    plain = synthesize_label_map(phantom.image, labels, spacing=phantom.spacing, rng=3)
    odd = synthesize_label_map(phantom.image, labels, spacing=phantom.spacing, config=config, rng=3)
    assert (plain.label == 2).any()
    assert np.array_equal(plain.label, odd.label) and np.array_equal(plain.image, odd.image)
