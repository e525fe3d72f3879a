"""Organ presets on the shared abdomen-3mm scan and its TotalSegmentator map.

The map holds the pancreas (7), the right and left kidneys (2, 3), the spleen (1) and the liver
(5) among some sixty classes. Each organ's tumours must lie in their organ (exophytic kidney
tumours may reach the fat beside it and always touch it), leave every other class and its voxels
untouched, and take the HU of their lesion type at the phase asked for.
"""

from __future__ import annotations

import dataclasses
import json
import warnings

import nibabel as nib
import numpy as np
import pytest
from scipy import ndimage

from synthtumor import (
    LiverTooSmallError,
    SizePreset,
    TumorConfig,
    TumorParams,
    apply,
    synthesize,
)
from synthtumor.appearance import LESION_TYPES
from synthtumor.organs import ORGAN_PRESETS, OrganPreset

TUMOR = 200  # a value no class of the map uses
SPACING = (3.0, 3.0, 3.0)


@pytest.fixture(scope="module")
def abdomen(shared_data):
    folder = shared_data / "abdomen-3mm"
    ct = np.asarray(nib.load(folder / "ct.nii.gz").dataobj)
    classes = np.asarray(nib.load(folder / "organs.nii.gz").dataobj)
    return ct, classes


def run(abdomen, organ, organ_label, *, size, seed, phase="portal", **config):
    ct, classes = abdomen
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # vessel avoidance on the unenhanced liver warns
        return synthesize(
            ct,
            classes,
            spacing=SPACING,
            organ=organ,
            organ_label=organ_label,
            size=size,
            config=TumorConfig(tumor_label=TUMOR, phase=phase, **config),
            rng=seed,
        )


CASES = [
    ("pancreas", 7, size, seed) for size in ("tiny", "small", "medium") for seed in (0, 1, 2)
] + [
    ("kidney", label, size, seed)
    for label in ((2, 3), 2, 3)
    for size in ("tiny", "small", "medium", "large")
    for seed in (0, 1)
]


@pytest.mark.parametrize(("organ", "organ_label", "size", "seed"), CASES)
def test_tumors_lie_in_their_organ_and_leave_other_classes_alone(
    abdomen, organ, organ_label, size, seed
):
    ct, classes = abdomen
    image, label, params = run(abdomen, organ, organ_label, size=size, seed=seed)
    values = organ_label if isinstance(organ_label, tuple) else (organ_label,)
    in_organ = np.isin(classes, values)
    tumor = label == TUMOR
    # A tiny tumour (5-10 mm across) on 3 mm voxels may stay under the label threshold.
    assert tumor.any() or size == "tiny", "no tumour voxel was labelled"
    # Every voxel that is not tumour keeps its class; no tumour covers another class.
    np.testing.assert_array_equal(label[~tumor], classes[~tumor])
    assert not (tumor & (classes != 0) & ~in_organ).any()
    # Neither preset pushes anything outside its organ: the image changes only in the organ
    # and under the tumour label's reach into fat (exophytic), never in another class.
    other = (classes != 0) & ~in_organ
    np.testing.assert_array_equal(image[other], ct[other])
    if not any(spec.exophytic for spec in params.tumors):
        assert not (tumor & ~in_organ).any()
        np.testing.assert_array_equal(image[~in_organ], ct[~in_organ])
    # Each connected tumour touches its organ.
    components, count = ndimage.label(tumor)
    touching = np.unique(components[ndimage.binary_dilation(in_organ) & tumor])
    assert set(range(1, count + 1)) <= set(touching.tolist())


def test_exophytic_kidney_tumors_grow_into_fat_and_the_label_follows(abdomen):
    ct, classes = abdomen
    bulges = []
    for seed in range(6):
        _, label, params = run(abdomen, "kidney", 2, size="large", seed=seed)
        outside = (label == TUMOR) & (classes != 2)
        assert (classes[outside] == 0).all()  # into fat only, never another class
        if not params.tumors[0].exophytic:
            assert not outside.any()
        elif outside.sum() > 50:  # a real bulge, not a rounding
            bulges.append(outside)
    assert bulges, "no exophytic tumour left the kidney in 6 draws (share 0.5)"
    assert all((ct[outside] < -30).mean() > 0.5 for outside in bulges)  # that was fat


def test_without_the_exophytic_share_kidney_tumors_are_clipped_to_the_kidney(abdomen):
    inside_only = ORGAN_PRESETS["kidney"].replace(exophytic_share=0.0)
    _, classes = abdomen
    _, label, params = run(abdomen, inside_only, 2, size="large", seed=1)
    assert not any(spec.exophytic for spec in params.tumors)
    tumor = label == TUMOR
    assert tumor.any() and (classes[tumor] == 2).all()


def test_per_side_kidney_stays_on_its_side(abdomen):
    _, classes = abdomen
    for side, other_side in ((2, 3), (3, 2)):
        _, label, _ = run(abdomen, "kidney", side, size="medium", seed=0)
        tumor = label == TUMOR
        assert not (tumor & (classes == other_side)).any()
        assert (label == other_side).sum() == (classes == other_side).sum()


@pytest.mark.parametrize(
    ("organ", "organ_label", "lesion", "size"),
    [("pancreas", 7, "pdac", "medium"), ("kidney", 2, "rcc", "large")],
)
def test_tumor_hu_follow_the_lesion_type_at_each_phase(abdomen, organ, organ_label, lesion, size):
    """The drawn mean is the lesion type's at the phase; the image moves to it under the label.

    With one seed the two phases draw the same shape and noise, and only the lesion's mean
    differs, so the image difference over the tumour is that mean's difference times the
    tumour's weight t'' (at least the label threshold under the label, at most 1).
    """
    preset = ORGAN_PRESETS[organ].replace(lesion_types=((lesion, 1.0),), exophytic_share=0.0)
    rendered = {}
    for phase in ("arterial", "portal"):
        image, label, params = run(abdomen, preset, organ_label, size=size, seed=3, phase=phase)
        for spec in params.tumors:
            low, high = LESION_TYPES[lesion].phases[phase].contrast_hu
            assert low <= spec.texture_mean_hu - params.parenchyma_mean_hu <= high
        rendered[phase] = (image.astype(np.float64), label, params)
    (arterial, label, p_arterial), (portal, _, p_portal) = rendered["arterial"], rendered["portal"]
    shift = p_arterial.tumors[0].texture_mean_hu - p_portal.tumors[0].texture_mean_hu
    assert abs(shift) > 5
    weight = (arterial - portal)[label == TUMOR] / shift
    slack = 1.0 / abs(shift)  # the scan is int32: each image is rounded by up to half a HU
    assert weight.min() >= p_arterial.label_threshold - 0.02 - slack
    assert weight.max() <= 1.0 + slack and weight.max() > 0.8


def test_simple_kidney_cysts_are_water_whatever_the_organ(abdomen):
    cysts = ORGAN_PRESETS["kidney"].replace(lesion_types=(("cyst", 1.0),), exophytic_share=0.0)
    for phase in ("non_contrast", "arterial", "portal"):
        _, _, params = run(abdomen, cysts, (2, 3), size="medium", seed=0, phase=phase)
        assert all(0.0 <= spec.texture_mean_hu <= 15.0 for spec in params.tumors)


def test_liver_by_name_and_by_map_match_the_default(abdomen):
    ct, classes = abdomen
    liver = classes == 5
    default = synthesize(ct, liver, spacing=SPACING, size="small", rng=4)
    named = synthesize(ct, liver, spacing=SPACING, organ="liver", size="small", rng=4)
    np.testing.assert_array_equal(named.image, default.image)
    np.testing.assert_array_equal(named.label, default.label)
    assert named.params == default.params
    image, label, _ = run(abdomen, "liver", 5, size="small", seed=4)
    np.testing.assert_array_equal(image, default.image)
    np.testing.assert_array_equal(label == TUMOR, default.label == 2)


def test_a_user_preset_works_for_the_spleen(abdomen):
    _, classes = abdomen
    spleen = OrganPreset(
        name="spleen",
        sizes=tuple(
            SizePreset(radius_mm=r, deformation_mm=(0.5, 1.5), count=(1, 2))
            for r in (3.0, 6.0, 10.0, 15.0)
        ),
        lesion_types=(("metastasis", 1.0),),
        vessel_avoidance=False,
        push="organ",
    )
    _, label, params = run(abdomen, spleen, 1, size="medium", seed=0)
    tumor = label == TUMOR
    assert tumor.any() and (classes[tumor] == 1).all()
    assert {spec.lesion for spec in params.tumors} == {"metastasis"}


def test_same_seed_same_organ_output(abdomen):
    first = run(abdomen, "kidney", (2, 3), size="small", seed=5)
    second = run(abdomen, "kidney", (2, 3), size="small", seed=5)
    np.testing.assert_array_equal(first.image, second.image)
    np.testing.assert_array_equal(first.label, second.label)
    assert TumorParams.from_json(first.params.to_json()) == first.params


def test_pancreas_too_small_gets_the_liver_error(abdomen):
    with pytest.raises(LiverTooSmallError, match=r"mL of pancreas, too small for size 'large'"):
        run(abdomen, "pancreas", 7, size="large", seed=0)


def test_the_inputs_are_not_modified(abdomen):
    ct, classes = abdomen
    before = ct.copy(), classes.copy()
    run(abdomen, "kidney", (2, 3), size="medium", seed=0)
    np.testing.assert_array_equal(ct, before[0])
    np.testing.assert_array_equal(classes, before[1])


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"organ": "lung"}, ValueError, r"organ must be one of 'liver', 'pancreas', 'kidney'"),
        ({"organ": 7}, TypeError, r"organ must be an organ name or an OrganPreset"),
        ({"organ_label": 42}, ValueError, r"organ_label 42 is not a class of liver_mask"),
        ({"organ_label": "7"}, TypeError, r"organ_label must be an int or a tuple of ints"),
        ({"tumor_label": 2}, ValueError, r"tumor_label 2 is already a class of liver_mask"),
        ({"phase": "auto"}, ValueError, r"config.phase='auto' .* the organ is 'pancreas'"),
        ({"inplace": True}, ValueError, r"inplace=True needs a binary liver_mask"),
    ],
)
def test_bad_organ_arguments_are_named(abdomen, arguments, error, message):
    ct, classes = abdomen
    config = TumorConfig(
        tumor_label=arguments.pop("tumor_label", TUMOR), phase=arguments.pop("phase", "portal")
    )
    call = {"organ": "pancreas", "organ_label": 7, **arguments}
    with pytest.raises(error, match=message):
        synthesize(ct, classes, spacing=SPACING, size="small", config=config, rng=0, **call)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {
                "sizes": tuple(
                    SizePreset(radius_mm=r, deformation_mm=1.0, count=1) for r in (8, 4, 16, 32)
                )
            },
            r"sizes must grow from tiny to large",
        ),
        (
            {"sizes": (SizePreset(radius_mm=4.0, deformation_mm=1.0, count=1),)},
            r"sizes must be a tuple of 4",
        ),
        ({"exophytic_share": -0.1}, r"exophytic_share must lie in \[0, 1\]"),
        ({"push": "neighbours"}, r"push must be one of"),
        ({"lesion_types": (("adenoma", 1.0),)}, r"lesion type must be one of"),
        ({"min_organ_to_tumor_volume": 0.5}, r"min_organ_to_tumor_volume must be finite and >= 1"),
        ({"size_probabilities": (0.0, 0.0, 0.0, 0.0, 0.0)}, r"size_probabilities must be"),
        ({"semi_axis_factor": (1.2, 0.8)}, r"semi_axis_factor must satisfy"),
        ({"name": ""}, r"name must be a non-empty string"),
    ],
)
def test_inconsistent_presets_are_refused_naming_the_field(fields, message):
    with pytest.raises((ValueError, TypeError), match=message):
        OrganPreset(**{"name": "custom", **fields})


def test_cli_synthesizes_pancreas_tumors_into_the_organ_map(tmp_path, shared_data, capsys):
    from synthtumor.cli import main

    folder = shared_data / "abdomen-3mm"
    out = tmp_path / "out"
    args = ["synthesize", str(folder / "ct.nii.gz"), str(folder / "organs.nii.gz"), "-o", str(out)]
    options = ["--organ", "pancreas", "--organ-label", "7", "--size", "small", "--seed", "3"]
    assert main([*args, *options, "--tumor-label", "200", "--no-preview"]) == 0
    label = np.asarray(nib.load(out / "synth_000_label.nii.gz").dataobj)
    classes = np.asarray(nib.load(folder / "organs.nii.gz").dataobj)
    tumor = label == 200
    assert tumor.any() and (classes[tumor] == 7).all()
    np.testing.assert_array_equal(label[~tumor], classes[~tumor])
    params = json.loads((out / "synth_000_params.json").read_text())
    assert {spec["lesion"] for spec in params["tumors"]} == {"pdac"}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--organ-label", "42", "--tumor-label", "200"], "--organ-label 42 is not a class of"),
        (["--organ-label", "2,3"], "tumor_label 2 is already a class of"),
        (["--organ-label", "7,x"], "expected an integer or integers separated by commas"),
        (["--organ", "lung"], "invalid choice: 'lung'"),
    ],
)
def test_cli_names_bad_organ_options(tmp_path, shared_data, capsys, options, message):
    from synthtumor.cli import main

    folder = shared_data / "abdomen-3mm"
    out = tmp_path / "out"
    args = ["synthesize", str(folder / "ct.nii.gz"), str(folder / "organs.nii.gz"), "-o", str(out)]
    assert main([*args, "--organ", "kidney", *options, "--no-preview"]) == 2
    error = capsys.readouterr().err
    assert message in error and "Traceback" not in error
    assert not out.exists()


def test_the_realism_report_measures_the_pancreas_tumors(abdomen):
    from synthtumor.realism import lesion_statistics

    image, label, params = run(abdomen, "pancreas", 7, size="medium", seed=0, phase="arterial")
    records = lesion_statistics(image, label, spacing=SPACING, organ_label=7, tumor_label=TUMOR)
    assert len(records) == 1
    # Measured against the pancreas around it: darker, by a share of the drawn contrast.
    drawn = params.tumors[0].texture_mean_hu - params.parenchyma_mean_hu
    assert drawn < 0 and drawn < records[0].contrast_hu < 0
    # The liver's old argument name still works, with a warning, and measures the same.
    with pytest.warns(DeprecationWarning, match="liver_label is deprecated; use organ_label"):
        old = lesion_statistics(image, label, spacing=SPACING, liver_label=7, tumor_label=TUMOR)
    assert old[0].contrast_hu == records[0].contrast_hu
    with pytest.raises(TypeError, match="organ_label or its old name liver_label, not both"):
        lesion_statistics(image, label, spacing=SPACING, organ_label=7, liver_label=7)


def test_evaluate_names_the_organ_in_its_report(tmp_path):
    from synthtumor.reference.evaluate import evaluate_folder

    labels = np.zeros((12, 12, 12), np.uint8)
    labels[1:11, 1:11, 1:11] = 7
    labels[4:7, 4:7, 4:7] = 200
    for folder in ("pred", "ref"):
        (tmp_path / folder).mkdir()
        nib.save(nib.Nifti1Image(labels, np.eye(4)), tmp_path / folder / "case01.nii.gz")
    summary = evaluate_folder(
        tmp_path / "pred",
        tmp_path / "ref",
        tmp_path / "report",
        organ_label=7,
        tumor_label=200,
        organ="pancreas",
        n_resamples=50,
    )
    assert summary.metrics["liver_dsc"].estimate == 1.0  # the organ's DSC, under its old key
    assert summary.metrics["tumor_dsc"].estimate == 1.0
    markdown = (tmp_path / "report" / "summary.md").read_text()
    assert "| Pancreas DSC |" in markdown and "Liver DSC" not in markdown


def test_the_monai_transform_draws_exophytic_kidney_tumors_beside_other_classes(abdomen):
    from synthtumor.adapters.monai import RandLiverTumor

    ct, classes = abdomen
    for seed in range(6):
        transform = RandLiverTumor(
            organ_label=2, tumor_label=TUMOR, organ="kidney", size="large", spacing=SPACING
        ).set_random_state(seed=seed)
        image, label = transform(ct[None], classes[None])
        image, label = np.asarray(image)[0], np.asarray(label)[0]
        tumor = label == TUMOR
        assert tumor.any()
        np.testing.assert_array_equal(label[~tumor], classes[~tumor])
        assert set(np.unique(classes[tumor]).tolist()) <= {0, 2}  # kidney or fat
        other = (classes != 0) & (classes != 2)
        np.testing.assert_array_equal(image[other], ct[other])
        if (classes[tumor] == 0).any():
            return  # one exophytic draw seen, and it spared the other classes
    pytest.fail("no exophytic kidney tumour in 6 draws of the MONAI transform")


def test_the_reference_trainer_takes_synthesis_organ():
    from pathlib import Path

    from synthtumor.reference.config import load_config
    from synthtumor.reference.transforms import synthesis_transform

    profile = Path(__file__).resolve().parents[1] / "configs" / "unet_synthetic.toml"
    config = load_config(profile, ["synthesis.organ=pancreas"])
    assert config.synthesis.organ == "pancreas"
    assert synthesis_transform(config).liver_tumor.organ == "pancreas"
    assert load_config(profile).synthesis.organ == "liver"
    with pytest.raises(ValueError, match=r"synthesis\.organ must be one of"):
        load_config(profile, ["synthesis.organ=lung"])


def test_pancreatic_tumors_may_dilate_the_duct_upstream_in_the_gland(abdomen):
    ct, classes = abdomen
    pancreas = classes == 7
    seen = 0
    for seed in range(8):
        image, label, params = run(abdomen, "pancreas", 7, size="small", seed=seed)
        spec = params.tumors[0]
        np.testing.assert_array_equal(image[~pancreas], ct[~pancreas])  # inside the gland only
        if not spec.duct_path:
            assert spec.duct_radius_mm == 0.0
            continue
        seen += 1
        path = np.asarray(spec.duct_path)
        assert tuple(path[0]) == spec.center_voxel and len(path) > 5
        assert pancreas[tuple(path[1:].T)].all()  # the duct runs in the pancreas
        assert 1.5 <= spec.duct_radius_mm <= 3.0 and 0.0 <= spec.duct_hu <= 20.0
        # The duct's fluid replaces the gland's local mean along the path: raising its HU by
        # 100 raises the path's voxels by 100 times the duct's weight (over a half on its
        # axis, radius 1.5-3 mm against an edge sigma of 1.7 mm), the tumour's and every
        # voxel outside the pancreas by nothing.
        brighter = dataclasses.replace(spec, duct_hu=spec.duct_hu + 100.0)
        lifted = (
            apply(
                ct, classes, dataclasses.replace(params, tumors=(brighter,)), organ_label=7
            ).image.astype(float)
            - image
        )
        on_path = tuple(path[1:].T)
        duct_voxels = label[on_path] == 7
        assert duct_voxels.any() and (lifted[on_path][duct_voxels] > 50).all()
        assert (lifted[label == TUMOR] == 0).all() and (lifted[~pancreas] == 0).all()
        assert (label[on_path][duct_voxels] == 7).all()  # the label keeps the duct as pancreas
        replayed = apply(ct, classes, TumorParams.from_json(params.to_json()), organ_label=7)
        np.testing.assert_array_equal(replayed.image, image)
    assert seen, "no duct was drawn in 8 draws (share 0.5)"


def test_the_preview_script_writes_a_small_picture_per_lesion(shared_data, tmp_path):
    import importlib.util
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "examples" / "organ_previews.py"
    spec = importlib.util.spec_from_file_location("organ_previews", script)
    previews = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(previews)
    previews.main(["--data", str(shared_data), "-o", str(tmp_path)])
    pictures = sorted(path.name for path in tmp_path.glob("*.png"))
    assert pictures == ["kidney_cyst.png", "kidney_rcc.png", "pancreas_pdac.png"]
    for path in tmp_path.glob("*.png"):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert 5_000 < path.stat().st_size < 100_000
