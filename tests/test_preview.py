"""Tests of synthtumor.preview: panel geometry, orientation, focus, outlines and PNG writing."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from synthtumor import synthesize
from synthtumor.phantom import Phantom
from synthtumor.preview import LIVER_COLOUR, TUMOR_COLOUR, preview_png

RED = np.array(TUMOR_COLOUR, dtype=np.uint8)
GREEN = np.array(LIVER_COLOUR, dtype=np.uint8)


def panels(picture: np.ndarray) -> list[np.ndarray]:
    """Split a preview into its panels at the all-black margin columns.

    The test volumes are grey everywhere (never black), so only margins are black.
    """
    black_column = (picture == 0).all(axis=(0, 2))
    found, start = [], None
    for column, is_margin in enumerate([*black_column, True]):
        if not is_margin and start is None:
            start = column
        elif is_margin and start is not None:
            block = picture[:, start:column]
            rows = np.flatnonzero(~(block == 0).all(axis=(1, 2)))
            found.append(block[rows[0] : rows[-1] + 1])
            start = None
    return found


def coloured(panel: np.ndarray, colour: np.ndarray) -> np.ndarray:
    return (panel == colour).all(axis=2)


def extent(mask: np.ndarray) -> tuple[int, int]:
    """(height, width) of the True pixels' bounding box."""
    rows, columns = np.nonzero(mask)
    return int(rows.max() - rows.min() + 1), int(columns.max() - columns.min() + 1)


def center(mask: np.ndarray) -> tuple[float, float]:
    rows, columns = np.nonzero(mask)
    return float(rows.mean()), float(columns.mean())


def ball_volume(
    shape: tuple[int, int, int],
    spacing: tuple[float, float, float],
    center_mm: tuple[float, float, float],
    radius_mm: float,
) -> np.ndarray:
    grids = np.meshgrid(
        *[(np.arange(n) + 0.5) * s for n, s in zip(shape, spacing, strict=True)], indexing="ij"
    )
    squared = sum((g - c) ** 2 for g, c in zip(grids, center_mm, strict=True))
    return squared <= radius_mm**2


def scene(
    shape: tuple[int, int, int] = (40, 40, 8),
    spacing: tuple[float, float, float] = (1.0, 1.0, 5.0),
) -> tuple[np.ndarray, np.ndarray]:
    """A grey volume (40 HU) with a box liver and a 10 mm-radius ball tumour at its centre."""
    image = np.full(shape, 40, dtype=np.int16)
    label = np.zeros(shape, dtype=np.uint8)
    label[4:-4, 4:-4, 1:-1] = 1
    middle = tuple(n * s / 2 for n, s in zip(shape, spacing, strict=True))
    label[ball_volume(shape, spacing, middle, 10.0)] = 2
    return image, label


def test_returns_rgb_uint8_with_three_panels_and_both_outlines() -> None:
    image, label = scene()
    picture = preview_png(image, label, spacing=(1.0, 1.0, 5.0))
    assert picture.dtype == np.uint8 and picture.ndim == 3 and picture.shape[2] == 3
    found = panels(picture)
    assert len(found) == 3
    for panel in found:
        assert coloured(panel, RED).any()
        assert coloured(panel, GREEN).any()


def test_window_maps_hu_to_grey() -> None:
    image, label = scene()
    label[...] = 0
    for window, grey in (((-160, 240), 128), ((-1000, 40), 255), ((-200, 1000), 51)):
        # (40 + 160) / 400 * 255 = 127.5; 40 HU at the top of the window; 240 / 1200 * 255 = 51
        picture = preview_png(image, label, spacing=(1.0, 1.0, 5.0), window=window)
        assert len(panels(picture)) == 3
        for panel in panels(picture):
            assert np.all(panel == grey)


def test_anisotropic_voxels_are_not_squashed() -> None:
    spacing = (1.0, 1.0, 5.0)
    image, label = scene(spacing=spacing)
    found = panels(preview_png(image, label, spacing=spacing))
    # A ball stays round: its outline spans as many pixels up as across in every panel.
    for panel in found:
        height, width = extent(coloured(panel, RED))
        assert height == pytest.approx(width, rel=0.15)
    # Each panel is 40 mm x 40 mm, so square, although the k axis has only 8 voxels.
    for panel in found:
        assert panel.shape[0] == pytest.approx(panel.shape[1], rel=0.05)


def test_panel_aspect_follows_the_field_of_view() -> None:
    spacing = (2.0, 1.0, 3.0)
    image, label = scene(shape=(30, 50, 20), spacing=spacing)
    axial, coronal, sagittal = panels(preview_png(image, label, spacing=spacing))
    # axial: rows j (50 mm) x columns i (60 mm); coronal: k (60 mm) x i (60 mm);
    # sagittal: k (60 mm) x j (50 mm)
    assert axial.shape[0] / axial.shape[1] == pytest.approx(50 / 60, rel=0.05)
    assert coronal.shape[0] / coronal.shape[1] == pytest.approx(60 / 60, rel=0.05)
    assert sagittal.shape[0] / sagittal.shape[1] == pytest.approx(60 / 50, rel=0.05)


def test_orientation_without_affine_follows_the_array_axes() -> None:
    """Tumour at low i, low j, high k: axial left/top, coronal left/up, sagittal left/up."""
    shape, spacing = (40, 40, 40), (1.0, 1.0, 1.0)
    image = np.full(shape, 40, dtype=np.int16)
    label = np.ones(shape, dtype=np.uint8)
    label[ball_volume(shape, spacing, (10.0, 12.0, 30.0), 5.0)] = 2
    axial, coronal, sagittal = panels(preview_png(image, label, spacing=spacing))
    for panel, (expect_top, expect_left) in (
        (axial, (True, True)),  # rows j from the top, columns i from the left
        (coronal, (True, True)),  # rows k upwards: high k is near the top
        (sagittal, (True, True)),  # columns j from the left, high k near the top
    ):
        row, column = center(coloured(panel, RED))
        height, width = panel.shape[:2]
        assert (row < height / 2) is expect_top
        assert (column < width / 2) is expect_left


def test_affine_gives_radiological_views_whatever_the_storage_order() -> None:
    """The same anatomy stored LPS and RAS gives the same picture once the affine is passed."""
    shape, spacing = (40, 36, 30), (1.0, 1.2, 2.0)
    image = np.full(shape, 40, dtype=np.int16)
    label = np.ones(shape, dtype=np.uint8)
    label[ball_volume(shape, spacing, (10.0, 12.0, 45.0), 6.0)] = 2
    lps_affine = np.diag([-spacing[0], -spacing[1], spacing[2], 1.0])
    ras_affine = np.diag([spacing[0], spacing[1], spacing[2], 1.0])
    lps = preview_png(image, label, spacing=spacing, affine=lps_affine)
    flipped_image, flipped_label = image[::-1, ::-1], label[::-1, ::-1]
    ras = preview_png(flipped_image, flipped_label, spacing=spacing, affine=ras_affine)
    np.testing.assert_array_equal(lps, ras)
    # Without the affine the RAS-stored copy is shown mirrored, so the pictures differ.
    assert not np.array_equal(ras, preview_png(flipped_image, flipped_label, spacing=spacing))


def test_affine_with_swapped_axes_is_reoriented() -> None:
    shape, spacing = (40, 36, 30), (1.0, 1.2, 2.0)
    image = np.full(shape, 40, dtype=np.int16)
    label = np.ones(shape, dtype=np.uint8)
    label[ball_volume(shape, spacing, (10.0, 12.0, 45.0), 6.0)] = 2
    affine = np.diag([-spacing[0], -spacing[1], spacing[2], 1.0])
    reference = preview_png(image, label, spacing=spacing, affine=affine)
    # Store the volume as (k, i, j): voxel axis 0 is now superior, 1 left, 2 posterior.
    swapped_affine = np.zeros((4, 4))
    swapped_affine[2, 0], swapped_affine[0, 1], swapped_affine[1, 2] = spacing[2], -1.0, -1.2
    swapped_affine[3, 3] = 1.0
    swapped = preview_png(
        image.transpose(2, 0, 1),
        label.transpose(2, 0, 1),
        spacing=(spacing[2], spacing[0], spacing[1]),
        affine=swapped_affine,
    )
    np.testing.assert_array_equal(reference, swapped)


def test_focus_is_the_largest_tumor() -> None:
    shape, spacing = (40, 40, 40), (1.0, 1.0, 1.0)
    image = np.full(shape, 40, dtype=np.int16)
    label = np.ones(shape, dtype=np.uint8)
    label[ball_volume(shape, spacing, (10.0, 10.0, 8.0), 3.0)] = 2  # small, low k
    label[ball_volume(shape, spacing, (28.0, 28.0, 30.0), 7.0)] = 2  # large, high k
    axial = panels(preview_png(image, label, spacing=spacing))[0]
    height, width = extent(coloured(axial, RED))
    assert height > 10 and width > 10  # the large ball's section, not the small one's
    row, column = center(coloured(axial, RED))
    assert row > axial.shape[0] / 2 and column > axial.shape[1] / 2


def ramp_grey(values_hu: np.ndarray, window: tuple[float, float] = (-160, 240)) -> np.ndarray:
    low, high = window
    return np.rint(np.clip((values_hu - low) / (high - low), 0, 1) * 255)


def test_without_tumor_voxels_the_first_params_tumor_is_the_focus(phantom: Phantom) -> None:
    _, _, params = synthesize(
        phantom.image, phantom.liver_mask, spacing=phantom.spacing, size="small", rng=2
    )
    center_voxel = (37, 101, 61)
    moved = replace(params, tumors=(replace(params.tumors[0], center_voxel=center_voxel),))
    shape = phantom.image.shape
    # HU grows with i, so the sagittal panel (the i plane) shows which i was chosen.
    ramp = np.broadcast_to((np.arange(shape[0]) * 2.0 - 150.0)[:, None, None], shape)
    label = phantom.liver_mask.astype(np.uint8)
    sagittal = panels(preview_png(ramp, label, moved, spacing=phantom.spacing))[2]
    grey = sagittal[~coloured(sagittal, GREEN)]
    assert np.all(grey == ramp_grey(ramp[center_voxel[0], 0, 0]))
    assert not coloured(sagittal, RED).any()
    # Stored flipped along i (RAS), the params centre is in that storage's indices.
    flipped = replace(
        moved,
        tumors=(replace(moved.tumors[0], center_voxel=(shape[0] - 1 - 37, 101, 61)),),
    )
    ras_affine = np.diag([phantom.spacing[0], -phantom.spacing[1], phantom.spacing[2], 1.0])
    sagittal = panels(
        preview_png(ramp[::-1], label[::-1], flipped, spacing=phantom.spacing, affine=ras_affine)
    )[2]
    grey = sagittal[~coloured(sagittal, GREEN)]
    assert np.all(grey == ramp_grey(ramp[center_voxel[0], 0, 0]))


def test_without_tumor_or_params_the_liver_center_is_the_focus() -> None:
    shape, spacing = (30, 30, 30), (1.0, 1.0, 1.0)
    ramp = np.broadcast_to((np.arange(shape[2]) * 5.0 - 150.0)[None, None, :], shape)
    label = np.zeros(shape, dtype=np.uint8)
    label[5:15, 10:20, 18:27] = 1  # liver centre at k = 22
    axial = panels(preview_png(ramp, label, spacing=spacing))[0]
    assert not coloured(axial, RED).any()
    assert coloured(axial, GREEN).any()
    grey = axial[~coloured(axial, GREEN)]
    assert np.all(grey == ramp_grey(ramp[0, 0, 22]))


def test_real_synthesis_preview_has_a_red_outline(phantom: Phantom) -> None:
    image, label, params = synthesize(
        phantom.image, phantom.liver_mask, spacing=phantom.spacing, size="medium", rng=1
    )
    picture = preview_png(image, label, params, spacing=phantom.spacing, affine=phantom.affine)
    assert coloured(picture, RED).sum() > 20
    assert coloured(picture, GREEN).sum() > 100


def test_writes_a_readable_png_and_refuses_to_overwrite(tmp_path: Path) -> None:
    image, label = scene()
    path = tmp_path / "preview.png"
    picture = preview_png(image, label, spacing=(1.0, 1.0, 5.0), path=path)
    with Image.open(path) as written:
        assert written.mode == "RGB"
        np.testing.assert_array_equal(np.asarray(written), picture)
    with pytest.raises(FileExistsError, match=r"preview\.png"):
        preview_png(image, label, spacing=(1.0, 1.0, 5.0), path=path)
    preview_png(image, label, spacing=(1.0, 1.0, 5.0), path=path, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["preview.png"]


def test_bad_arguments_are_named(tmp_path: Path) -> None:
    image, label = scene()
    with pytest.raises(ValueError, match="label must have the image's shape"):
        preview_png(image, label[:-1], spacing=(1.0, 1.0, 5.0))
    with pytest.raises(ValueError, match="window"):
        preview_png(image, label, spacing=(1.0, 1.0, 5.0), window=(100, -100))
    with pytest.raises(ValueError, match="spacing"):
        preview_png(image, label, spacing=(1.0, 0.0, 5.0))
    with pytest.raises(ValueError, match=r"\.png"):
        preview_png(image, label, spacing=(1.0, 1.0, 5.0), path=tmp_path / "preview.jpg")
    assert list(tmp_path.iterdir()) == []
