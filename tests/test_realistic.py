"""The realistic appearance mode: lesion types by phase, kept scanner noise, patterns, files."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
from scipy import ndimage

from _volumes import coarse_phantom, sample_on
from synthtumor import TumorConfig, TumorParams, apply, sample, synthesize, tumor_box
from synthtumor.appearance import LESION_TYPES, scanner_blur_mm
from synthtumor.phantom import make_phantom
from synthtumor.phase import PHASES


@pytest.fixture(scope="module")
def quiet_phantom():
    """1 mm phantom with a liver of known noise (15 HU) and no vessels, for clean statistics."""
    return make_phantom((120, 120, 96), (1.0, 1.0, 1.0), vessel_count=0, rng=0)


def _coarse_sample(config=None, *, size="small", seed=0):
    """``sample`` on the coarse 3 mm phantom (drawing only, no rendering)."""
    return sample_on(coarse_phantom(), size, rng=seed, config=config)


def _one_lesion(phantom, config, seed, size="medium"):
    config = config.replace(pattern="solitary", mass_effect=False)
    return synthesize(
        phantom.image,
        phantom.liver_mask,
        spacing=phantom.spacing,
        size=size,
        config=config,
        rng=seed,
    )


def _core(label, depth_voxels=3):
    return ndimage.binary_erosion(label == 2, iterations=depth_voxels)


@pytest.mark.filterwarnings("ignore::synthtumor.UnenhancedScanWarning")
@pytest.mark.parametrize("phase", PHASES)
@pytest.mark.parametrize("lesion", ["metastasis", "hcc", "cyst"])
def test_lesion_core_has_the_drawn_mean_within_its_phase_range(quiet_phantom, lesion, phase):
    image, label, params = _one_lesion(quiet_phantom, TumorConfig.realistic(phase, lesion), 1)
    (spec,) = params.tumors
    assert (spec.lesion, params.phase, params.appearance) == (lesion, phase, "realistic")
    kind = LESION_TYPES[lesion]
    low, high = kind.phases[phase].contrast_hu
    reference = 0.0 if kind.absolute else params.parenchyma_mean_hu
    assert low <= spec.texture_mean_hu - reference <= high
    core = _core(label)
    assert core.sum() > 2000
    # The core keeps the scan's noise (mean 0), so its mean is the drawn one to within the
    # noise's standard error and the low-pass's leak of the surrounding liver (under 3 HU).
    assert abs(float(image[core].mean()) - spec.texture_mean_hu) < 3.0


def test_arterial_hcc_is_brighter_and_delayed_hcc_darker_than_the_liver(quiet_phantom):
    means = {}
    for phase in ("arterial", "delayed"):
        image, label, params = _one_lesion(quiet_phantom, TumorConfig.realistic(phase, "hcc"), 2)
        means[phase] = float(image[_core(label)].mean()) - params.parenchyma_mean_hu
    assert means["arterial"] > 15.0
    assert means["delayed"] < -5.0


def test_the_scanner_noise_survives_inside_the_lesion(quiet_phantom):
    """A homogeneous lesion (cyst) keeps the liver's noise; the paper's texture does not."""
    liver = quiet_phantom.liver_mask & ~ndimage.binary_dilation(
        quiet_phantom.liver_mask == 0, iterations=3
    )
    liver_std = float(quiet_phantom.image[liver].std())
    ratios = {}
    for name, config in {
        "realistic": TumorConfig.realistic("portal", "cyst"),
        "paper": TumorConfig(capsule=False),
    }.items():
        image, label, _ = _one_lesion(quiet_phantom, config, 3)
        ratios[name] = float(image[_core(label)].std()) / liver_std
    assert 0.8 <= ratios["realistic"] <= 1.2
    assert ratios["paper"] < 0.7  # the paper's blurred texture is smoother than the scan


def test_hemangioma_periphery_enhances_and_fills_in_with_the_phase(quiet_phantom):
    rims = {}
    for phase in ("arterial", "delayed"):
        config = TumorConfig.realistic(phase, "hemangioma")
        image, label, _params = _one_lesion(quiet_phantom, config, 4, size="large")
        lesion = label == 2
        depth = ndimage.distance_transform_edt(lesion)
        deep = depth > 0.6 * depth.max()
        rim = lesion & (depth > 1.5) & (depth < 4)
        rims[phase] = float(image[rim].mean() - image[deep].mean())
    assert rims["arterial"] > 15.0  # peripheral enhancement, centre not yet filled
    assert abs(rims["delayed"]) < 10.0  # filled in


def test_hcc_capsule_only_where_the_phase_shows_one():
    for phase, expect_capsule in (("arterial", False), ("portal", True), ("delayed", True)):
        config = TumorConfig.realistic(phase, "hcc", capsule_share=1.0)
        params = _coarse_sample(config, size="small", seed=0)
        capsules = [spec.capsule_contrast_hu for spec in params.tumors]
        if expect_capsule:
            assert all(5.0 <= c <= 20.0 for c in capsules)
        else:
            assert all(c == 0.0 for c in capsules)
    config = TumorConfig.realistic("portal", "hcc", capsule_share=0.0)
    params = _coarse_sample(config, size="small", seed=0)
    assert all(spec.capsule_contrast_hu == 0.0 for spec in params.tumors)


def test_a_lesion_without_capsule_gets_a_smaller_box_and_the_same_texture(quiet_phantom):
    """No capsule, no capsule margin; the texture (seen deep inside, where the capsule's blurred
    band cannot reach) is the same whether the lesion has a capsule or not."""
    config = TumorConfig.realistic("portal", "hcc", capsule_share=1.0)
    _, _, with_capsule = _one_lesion(quiet_phantom, config, 2)
    (spec,) = with_capsule.tumors
    assert spec.capsule_contrast_hu > 0
    bare_spec = dataclasses.replace(spec, capsule_contrast_hu=0.0)
    without = dataclasses.replace(with_capsule, tumors=(bare_spec,))
    (low, high), (bare_low, bare_high) = (tumor_box(s, with_capsule) for s in (spec, bare_spec))
    assert all(a <= b for a, b in zip(low, bare_low, strict=True))
    assert all(a >= b for a, b in zip(high, bare_high, strict=True))
    assert math.prod(np.subtract(bare_high, bare_low)) < 0.9 * math.prod(np.subtract(high, low))
    image, label, _ = apply(quiet_phantom.image, quiet_phantom.liver_mask, with_capsule)
    bare_image, bare_label, _ = apply(quiet_phantom.image, quiet_phantom.liver_mask, without)
    # The capsule is a blurred band of t'' in [0.4, 0.7]: a few mm at most from the outline.
    deep = ndimage.distance_transform_edt(label == 2) > 6.0
    assert deep.sum() > 200
    np.testing.assert_allclose(image[deep], bare_image[deep], rtol=0, atol=1e-3)
    np.testing.assert_array_equal(label, bare_label)  # the capsule only adds HU
    assert not np.allclose(image[label == 2], bare_image[label == 2], atol=1.0)


def test_lesion_shares_are_followed():
    config = TumorConfig.realistic("portal", {"cyst": 3, "hcc": 1})
    lesions = []
    for seed in range(12):
        params = _coarse_sample(config, size="tiny", seed=seed)
        lesions += [spec.lesion for spec in params.tumors]
    share = lesions.count("cyst") / len(lesions)
    assert len(lesions) > 60 and 0.6 < share < 0.9


def test_the_scanner_blur_follows_the_spacing_and_is_recorded():
    assert scanner_blur_mm((0.7, 0.7, 5.0)) == (0.35, 0.35, 2.1)
    assert scanner_blur_mm((1.0, 1.0, 1.0)) == (0.5, 0.5, 0.5)
    phantom = coarse_phantom()
    params = _coarse_sample(TumorConfig.realistic(), size="small", seed=0)
    assert params.scanner_blur and params.scanner_blur_mm == scanner_blur_mm(phantom.spacing)
    assert json.loads(params.to_json())["scanner_blur"] is True  # the switch, not the sigmas
    off = _coarse_sample(TumorConfig.realistic(scanner_blur=False), size="small", seed=0)
    assert not off.scanner_blur and off.scanner_blur_mm == (0.0, 0.0, 0.0)
    paper = _coarse_sample(TumorConfig(scanner_blur=True), size="small", seed=0)
    assert not paper.scanner_blur  # the paper mode has no scanner blur


def test_an_anisotropic_scan_gets_a_wider_edge_through_plane():
    """With the scanner's slice profile, the edge spreads further along the thick axis."""
    phantom = make_phantom((160, 160, 30), (0.8, 0.8, 4.0), vessel_count=0, noise_hu=0.1, rng=0)
    config = TumorConfig.realistic("portal", "cyst", elastic_deformation=False)
    image, _label, params = _one_lesion(phantom, config, 0)
    (spec,) = params.tumors
    change = np.abs(image.astype(float) - phantom.image)
    i, j, k = spec.center_voxel

    # Width of the blurred step (HU change between 10 % and 90 % of its maximum) along a line
    # through the centre, in mm, per axis.
    def width_mm(profile, voxel_mm):
        level = profile / profile.max()
        return (np.count_nonzero((level > 0.1) & (level < 0.9)) / 2) * voxel_mm

    in_plane = width_mm(change[:, j, k], 0.8)
    through = width_mm(change[i, j, :], 4.0)
    assert through > 1.5 * in_plane


def test_paper_mode_ignores_the_realistic_fields():
    phantom = coarse_phantom()
    base = synthesize(phantom.image, phantom.liver_mask, spacing=phantom.spacing, size="mix", rng=5)
    other = synthesize(
        phantom.image,
        phantom.liver_mask,
        spacing=phantom.spacing,
        size="mix",
        rng=5,
        config=TumorConfig(
            phase="arterial",
            lesion_types=(("cyst", 1.0),),
            capsule_share=0.1,
            noise_lowpass_mm=5.0,
            scanner_blur=False,
        ),
    )
    assert dataclasses.replace(other.params, phase=None) == base.params
    np.testing.assert_array_equal(other.image, base.image)


def test_realistic_params_round_trip_and_replay():
    phantom = coarse_phantom()
    config = TumorConfig.realistic("arterial", {"hcc": 1, "hemangioma": 1}, pattern="satellite")
    image, label, params = synthesize(
        phantom.image, phantom.liver_mask, spacing=phantom.spacing, config=config, rng=6
    )
    again = TumorParams.from_json(params.to_json())
    assert again == params
    replayed = apply(phantom.image, phantom.liver_mask, again)
    np.testing.assert_array_equal(replayed.label, label)
    np.testing.assert_array_equal(replayed.image, image)


def test_old_params_files_still_load():
    """Format 1 files (before the realistic mode) load with the paper mode's defaults."""
    phantom = coarse_phantom()
    params = sample(phantom.image, phantom.liver_mask, spacing=phantom.spacing, size="small", rng=0)
    data = params.to_dict()
    data["format_version"] = 1
    data["liver_label"] = data.pop("organ_label")  # the name formats 1 and 2 used
    for key in ("appearance", "phase", "pattern", "noise_lowpass_mm", "vessel_check"):
        data.pop(key)
    # Formats 1-3 copied the call's capsule band into every tumour; format 4 keeps it once.
    band = data.pop("capsule_band")
    for key in ("push", "scanner_blur"):
        data.pop(key)
    for tumor in data["tumors"]:
        for key in (
            "lesion",
            "periphery_hu",
            "fill",
            "exophytic",
            "duct_path",
            "duct_radius_mm",
            "duct_hu",
        ):
            tumor.pop(key)
        tumor["capsule_band"] = band
    assert TumorParams.from_dict(json.loads(json.dumps(data))) == params


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: TumorConfig.realistic("venous"),
            "phase must be one of 'non_contrast', 'arterial', 'portal', 'delayed', 'auto'",
        ),
        (
            lambda: TumorConfig.realistic(lesion="adenoma"),
            "lesion type must be one of 'metastasis', 'hcc', 'cyst', 'hemangioma'",
        ),
        (
            lambda: TumorConfig(pattern="diffuse"),
            "pattern must be None or one of 'solitary', 'multifocal', 'satellite'",
        ),
        (lambda: TumorConfig(appearance="fancy"), "appearance must be one of"),
        (lambda: TumorConfig(edge_blur_mm=None), "needs appearance='realistic'"),
        (
            lambda: TumorConfig.realistic(lesion={"hcc": -1}),
            "lesion share of 'hcc' must be finite and >= 0",
        ),
        (lambda: TumorConfig.realistic(capsule_share=1.5), "capsule_share must lie in"),
        (lambda: TumorConfig.realistic(colour="red"), "unknown TumorConfig fields"),
    ],
)
def test_bad_choices_are_named(make, message):
    with pytest.raises(
        (ValueError, TypeError), match=message.replace("(", r"\(").replace(")", r"\)")
    ):
        make()


def test_patterns():
    phantom = coarse_phantom()

    def draw(pattern, size, seed):
        return sample(
            phantom.image,
            phantom.liver_mask,
            spacing=phantom.spacing,
            size=size,
            config=TumorConfig(pattern=pattern),
            rng=seed,
        )

    assert [len(draw("solitary", "medium", seed).tumors) for seed in range(3)] == [1, 1, 1]
    for seed in range(3):
        multifocal = draw("multifocal", "mix", seed)
        assert 5 <= len(multifocal.tumors) <= 15
        assert {spec.size for spec in multifocal.tumors} <= {"tiny", "small"}
    in_shell = []
    for seed in range(4):
        satellite = draw("satellite", "large", seed)
        main, *others = satellite.tumors
        assert main.size == "large" and 3 <= len(others) <= 8
        radius_mm = max(main.semi_axes_mm)
        for spec in others:
            offset_mm = (np.array(spec.center_voxel) - main.center_voxel) * phantom.spacing
            in_shell.append(1.1 * radius_mm <= np.linalg.norm(offset_mm) <= 2.6 * radius_mm)
    assert np.mean(in_shell) > 0.8


def test_config_files_round_trip_and_drive_the_cli(tmp_path):
    from synthtumor.cli import main

    config = TumorConfig.realistic(
        "delayed", {"hcc": 2, "cyst": 1}, pattern="solitary", capsule_share=0.9
    )
    path = tmp_path / "tumor.toml"
    config.to_file(path)
    assert TumorConfig.from_file(path) == config
    config.to_file(tmp_path / "tumor.json")
    assert TumorConfig.from_file(tmp_path / "tumor.json") == config
    with pytest.raises(FileExistsError):
        config.to_file(path)
    (tmp_path / "bad.toml").write_text("phase = [\n")
    with pytest.raises(ValueError, match="not valid TOML"):
        TumorConfig.from_file(tmp_path / "bad.toml")
    assert main(["demo", "-o", str(tmp_path / "out"), "--config", str(path), "--no-preview"]) == 0
    (params_file,) = (tmp_path / "out").glob("*params*.json")
    params = TumorParams.from_json(params_file.read_text())
    assert (params.appearance, params.phase, params.pattern, len(params.tumors)) == (
        "realistic",
        "delayed",
        "solitary",
        1,
    )
    assert (
        main(
            [
                "demo",
                "-o",
                str(tmp_path / "out2"),
                "--lesion",
                "cyst",
                "--phase",
                "arterial",
                "--no-preview",
            ]
        )
        == 0
    )
    (params_file,) = (tmp_path / "out2").glob("*params*.json")
    params = TumorParams.from_json(params_file.read_text())
    assert params.appearance == "realistic" and {s.lesion for s in params.tumors} == {"cyst"}


def test_a_non_contrast_scan_skips_vessel_avoidance_with_a_warning(shared_data):
    """On the unenhanced abdomen-3mm scan, 'auto' finds non_contrast and eq. 2 is not used."""
    from synthtumor.io import load_scan
    from synthtumor.synthesize import UnenhancedScanWarning

    scan = load_scan(
        shared_data / "abdomen-3mm" / "ct.nii.gz", shared_data / "abdomen-3mm" / "liver.nii.gz"
    )
    config = TumorConfig.realistic("auto", "metastasis")
    with pytest.warns(UnenhancedScanWarning, match="non-contrast"):
        params = sample(
            scan.image, scan.liver_mask, spacing=scan.spacing, size="small", config=config, rng=0
        )
    assert (params.phase, params.vessel_check) == ("non_contrast", "unenhanced")
    assert all(spec.vessel_free is None for spec in params.tumors)
    paper = sample(scan.image, scan.liver_mask, spacing=scan.spacing, size="small", rng=0)
    assert paper.vessel_check == "eq2"  # the paper's mode stays as the paper has it


def test_auto_phase_on_a_contrast_scan_keeps_eq2(shared_data):
    from synthtumor.io import load_scan

    folder = shared_data / "portal-venous-slab"
    scan = load_scan(folder / "ct.nii.gz", folder / "liver.nii.gz")
    params = sample(
        scan.image,
        scan.liver_mask,
        spacing=scan.spacing,
        size="small",
        config=TumorConfig.realistic("auto"),
        rng=0,
    )
    assert (params.phase, params.vessel_check) == ("portal", "eq2")
