"""Contrast phase estimation: the shared real scans, phase phantoms, validation, determinism."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

from synthtumor.phase import PHASE_CHOICES, PHASES, PhaseEstimate, estimate_phase, resolve_phase

nib = pytest.importorskip("nibabel")

DOCS_PAGE = Path(__file__).resolve().parents[1] / "docs" / "phase.md"

# Phase-typical intensities (HU) of the phantoms: liver, intrahepatic vessels, aorta.
PHANTOM_HU = {
    "non_contrast": (55.0, 45.0, 45.0),
    "arterial": (70.0, 150.0, 320.0),
    "portal": (115.0, 175.0, 170.0),
    "delayed": (95.0, 115.0, 120.0),
}


def _load(folder: Path) -> tuple[np.ndarray, np.ndarray, tuple[float, float, float]]:
    ct = nib.load(folder / "ct.nii.gz")
    liver = np.asarray(nib.load(folder / "liver.nii.gz").dataobj)
    spacing = tuple(float(z) for z in ct.header.get_zooms()[:3])
    return np.asarray(ct.dataobj), liver, spacing  # type: ignore[return-value]


def phase_phantom(
    liver_hu: float,
    vessel_hu: float,
    aorta_hu: float | None,
    *,
    seed: int = 0,
    noise_hu: float = 10.0,
) -> tuple[np.ndarray, np.ndarray, tuple[float, float, float]]:
    """A small abdomen: body, liver with vessel tubes, aorta cylinder, vertebra with its arch.

    Axes: 0 right-to-left, 1 anterior-to-posterior, 2 cranio-caudal (axial slices along 2).
    The vertebral body carries a bright cortex and a textured cancellous interior, and joins
    its posterior arch, as a real vertebra does; ``aorta_hu=None`` leaves the aorta out.
    """
    rng = np.random.default_rng(seed)
    spacing = (1.5, 1.5, 3.0)
    shape = (128, 128, 24)
    x, y, z = (
        (np.arange(n, dtype=np.float32) + 0.5) * s - n * s / 2
        for n, s in zip(shape, spacing, strict=True)
    )
    x2, y2 = np.meshgrid(x, y, indexing="ij")
    body = (x2 / 88) ** 2 + (y2 / 72) ** 2 < 1
    section = np.where(body, 35.0, -1000.0).astype(np.float32)
    # Vertebral body (cortex round textured cancellous bone) and its arch behind it.
    vertebra_y = 48.0
    ellipse = (x2 / 21) ** 2 + ((y2 - vertebra_y) / 15) ** 2
    texture = rng.normal(0, 1, x2.shape).astype(np.float32)
    from scipy import ndimage

    texture = ndimage.gaussian_filter(texture, 1.0) * 120
    section[ellipse < 1] = 700.0
    section[ellipse < 0.8] = 230.0 + texture[ellipse < 0.8]
    arch = (np.abs(x2) < 16) & (y2 > vertebra_y + 10) & (y2 < vertebra_y + 22)
    spinous = (np.abs(x2) < 5) & (y2 > vertebra_y + 10) & (y2 < vertebra_y + 36)
    section[(arch | spinous) & body & (ellipse >= 1)] = 600.0
    canal = (x2**2 + (y2 - vertebra_y - 16) ** 2) < 6**2
    section[canal] = 10.0
    if aorta_hu is not None:
        section[((x2 - 12) ** 2 + (y2 - 17) ** 2) < 11**2] = aorta_hu
    image = np.repeat(section[:, :, None], shape[2], axis=2)
    x3 = x2[:, :, None]
    y3 = y2[:, :, None]
    z3 = z[None, None, :]
    liver = ((x3 + 40) / 38) ** 2 + ((y3 + 5) / 42) ** 2 + (z3 / 30) ** 2 < 1
    image[liver] = liver_hu
    for cx, cy in ((-45.0, -15.0), (-30.0, 10.0), (-55.0, 12.0), (-35.0, -30.0)):
        tube = ((x3 - cx) ** 2 + (y3 - cy) ** 2 < 4.0**2) & liver
        image[tube] = vessel_hu
    image = image + rng.normal(0, noise_hu, image.shape).astype(np.float32) * body[:, :, None]
    return image.astype(np.float32), liver, spacing


@pytest.mark.parametrize(
    ("folder", "expected"),
    [("abdomen-3mm", "non_contrast"), ("chaos-ct3", "portal"), ("portal-venous-slab", "portal")],
)
def test_shared_scans(shared_data: Path, folder: str, expected: str) -> None:
    image, liver, spacing = _load(shared_data / folder)
    estimate = estimate_phase(image, liver, spacing=spacing)
    assert estimate.phase == expected, estimate
    if expected == "non_contrast":
        assert not estimate.vessels_enhanced
        assert math.isnan(estimate.aorta_hu)
        assert 35 < estimate.liver_hu < 65
    else:
        assert estimate.aorta_found
        assert 130 < estimate.aorta_hu < 220
    assert resolve_phase("auto", image, liver, spacing) == expected


def test_chaos_values(shared_data: Path) -> None:
    image, liver, spacing = _load(shared_data / "chaos-ct3")
    estimate = estimate_phase(image, liver, spacing=spacing)
    assert estimate.vessels_enhanced
    assert 135 < estimate.liver_hu < 155  # the README's 141 +- 34 HU
    assert estimate.aorta_hu > estimate.liver_hu


@pytest.mark.parametrize("phase", PHASES)
def test_phase_phantoms(phase: str) -> None:
    image, liver, spacing = phase_phantom(*PHANTOM_HU[phase])
    estimate = estimate_phase(image, liver, spacing=spacing)
    assert estimate.phase == phase, estimate
    assert estimate.vessels_enhanced == (phase in ("arterial", "portal")), estimate
    if phase == "non_contrast":
        assert not estimate.aorta_found  # the vertebra is not taken for an aorta
    else:
        assert estimate.aorta_hu == pytest.approx(PHANTOM_HU[phase][2], abs=15)
    assert estimate.liver_hu == pytest.approx(PHANTOM_HU[phase][0], abs=5)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_phase_phantoms_other_seeds(seed: int) -> None:
    for phase in PHASES:
        image, liver, spacing = phase_phantom(*PHANTOM_HU[phase], seed=seed)
        assert estimate_phase(image, liver, spacing=spacing).phase == phase


def test_no_aorta() -> None:
    liver_hu, vessel_hu, _ = PHANTOM_HU["portal"]
    image, liver, spacing = phase_phantom(liver_hu, vessel_hu, None)
    estimate = estimate_phase(image, liver, spacing=spacing)
    assert math.isnan(estimate.aorta_hu)
    assert estimate.phase == "portal"
    assert "No aorta" in estimate.reason
    image, liver, spacing = phase_phantom(*PHANTOM_HU["non_contrast"][:2], None)
    assert estimate_phase(image, liver, spacing=spacing).phase == "non_contrast"


def test_axial_axis() -> None:
    image, liver, spacing = phase_phantom(*PHANTOM_HU["arterial"])
    reference = estimate_phase(image, liver, spacing=spacing)
    moved = estimate_phase(
        np.moveaxis(image, 2, 0),
        np.moveaxis(liver, 2, 0),
        spacing=(spacing[2], spacing[0], spacing[1]),
        axial_axis=0,
    )
    assert moved == reference
    negative = estimate_phase(image, liver, spacing=spacing, axial_axis=-1)
    assert negative == reference


def test_make_phantom_reads_as_portal(phantom) -> None:  # type: ignore[no-untyped-def]
    # make_phantom paints the aorta, the vena cava and the liver vessels at one vessel_hu
    # (170) over a 60 HU liver: no real phase; the rule calls it portal (aorta < liver + 120).
    estimate = estimate_phase(phantom.image, phantom.liver_mask, spacing=phantom.spacing)
    assert estimate.phase == "portal", estimate
    assert estimate.vessels_enhanced
    assert estimate.aorta_hu == pytest.approx(170, abs=15)


def test_deterministic_and_inputs_untouched() -> None:
    image, liver, spacing = phase_phantom(*PHANTOM_HU["delayed"])
    before = image.copy()
    first = estimate_phase(image, liver, spacing=spacing)
    assert estimate_phase(image, liver, spacing=spacing) == first
    assert np.array_equal(image, before)
    as_int = estimate_phase(
        np.round(image).astype(np.int16), liver.astype(np.uint8), spacing=spacing
    )
    assert as_int.phase == first.phase
    assert isinstance(first, PhaseEstimate)
    with pytest.raises(AttributeError):
        first.phase = "portal"  # type: ignore[misc]


def test_clean_under_errstate() -> None:
    image, liver, spacing = phase_phantom(*PHANTOM_HU["portal"])
    with np.errstate(all="raise"):
        assert estimate_phase(image, liver, spacing=spacing).phase == "portal"


def test_validation() -> None:
    image, liver, spacing = phase_phantom(*PHANTOM_HU["portal"])
    with pytest.raises(ValueError, match="image must be a 3-D"):
        estimate_phase(image[..., 0], liver[..., 0], spacing=spacing)
    with pytest.raises(TypeError, match="image must be a real-valued"):
        estimate_phase(image > 0, liver, spacing=spacing)
    with pytest.raises(ValueError, match="liver_mask must have the same shape"):
        estimate_phase(image, liver[:-1], spacing=spacing)
    with pytest.raises(ValueError, match="liver_mask must be binary"):
        estimate_phase(image, liver.astype(np.int16) * 5, spacing=spacing)
    with pytest.raises(ValueError, match="liver_mask must contain"):
        estimate_phase(image, np.zeros_like(liver), spacing=spacing)
    with pytest.raises(ValueError, match="spacing must be 3 positive"):
        estimate_phase(image, liver, spacing=(1.5, 0.0, 3.0))
    with pytest.raises(TypeError, match="spacing must be a sequence"):
        estimate_phase(image, liver, spacing=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="axial_axis must be 0, 1 or 2"):
        estimate_phase(image, liver, spacing=spacing, axial_axis=3)
    with pytest.raises(TypeError, match="axial_axis must be an integer"):
        estimate_phase(image, liver, spacing=spacing, axial_axis=2.0)  # type: ignore[arg-type]
    broken = image.copy()
    broken[liver] = np.nan
    with pytest.raises(ValueError, match="image contains NaN"):
        estimate_phase(broken, liver, spacing=spacing)


def test_resolve_phase() -> None:
    for phase in PHASES:
        assert resolve_phase(phase) == phase
    assert PHASE_CHOICES == ("non_contrast", "arterial", "portal", "delayed", "auto")
    with pytest.raises(ValueError) as error:
        resolve_phase("venous")
    for choice in PHASE_CHOICES:
        assert repr(choice) in str(error.value)
    assert "phase must be one of" in str(error.value)
    with pytest.raises(TypeError, match="phase must be a string"):
        resolve_phase(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="pass image, liver_mask, spacing"):
        resolve_phase("auto")
    image, liver, spacing = phase_phantom(*PHANTOM_HU["arterial"])
    assert resolve_phase("auto", image, liver, spacing) == "arterial"


def test_docs_page_example(shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = DOCS_PAGE.read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    assert blocks, "docs/phase.md has no python code block"
    monkeypatch.setenv("SYNTHTUMOR_DATA", str(shared_data))
    for block in blocks:
        exec(compile(block, str(DOCS_PAGE), "exec"), {"__name__": "docs_phase"})
