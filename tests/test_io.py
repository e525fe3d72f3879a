"""Tests of synthtumor.io: loading a CT with its liver mask, atomic NIfTI / text / bytes writing."""

from __future__ import annotations

import os
import re
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

import synthtumor.io as stio
from synthtumor.io import atomic_write_bytes, atomic_write_text, load_scan, save_nifti

AFFINE = np.array(
    [
        [-0.8, 0.0, 0.0, 120.0],
        [0.0, -0.8, 0.0, 90.0],
        [0.0, 0.0, 2.5, -300.0],
        [0.0, 0.0, 0.0, 1.0],
    ]
)


def write(path: Path, data: np.ndarray, affine: np.ndarray = AFFINE) -> Path:
    """Write a test NIfTI with plain nibabel (independent of the code under test)."""
    nib.save(nib.Nifti1Image(data, affine), path)
    return path


def ct_and_mask(shape: tuple[int, ...] = (12, 10, 8)) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    ct = rng.integers(-200, 200, size=shape).astype(np.int16)
    mask = np.zeros(shape, dtype=np.uint8)
    mask[3:9, 2:8, 2:6] = 1
    return ct, mask


def files_in(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


# --- load_scan -------------------------------------------------------------------------------


def test_load_scan_reads_image_mask_spacing_affine(tmp_path: Path) -> None:
    ct, mask = ct_and_mask()
    scan = load_scan(write(tmp_path / "ct.nii.gz", ct), write(tmp_path / "liver.nii", mask))
    assert scan.image.dtype == np.int16
    np.testing.assert_array_equal(scan.image, ct)
    assert scan.liver_mask.dtype == bool
    np.testing.assert_array_equal(scan.liver_mask, mask == 1)
    assert scan.spacing == pytest.approx((0.8, 0.8, 2.5))
    assert all(type(value) is float for value in scan.spacing)
    np.testing.assert_allclose(scan.affine, AFFINE, atol=1e-5)
    assert isinstance(scan.header, nib.Nifti1Header)


def test_load_real_scan_keeps_int32_without_float_copy(shared_data: Path) -> None:
    folder = shared_data / "abdomen-3mm"
    scan = load_scan(folder / "ct.nii.gz", folder / "liver.nii.gz")
    assert scan.image.dtype == np.int32
    assert scan.image.shape == (122, 101, 112)
    assert scan.spacing == (3.0, 3.0, 3.0)
    assert scan.liver_mask.shape == scan.image.shape
    assert 0 < scan.liver_mask.sum() < scan.liver_mask.size
    np.testing.assert_allclose(scan.affine, nib.load(folder / "ct.nii.gz").affine)


def test_round_trip_keeps_dtype_affine_spacing_and_form_codes(
    tmp_path: Path, shared_data: Path
) -> None:
    folder = shared_data / "abdomen-3mm"
    scan = load_scan(folder / "ct.nii.gz", folder / "liver.nii.gz")
    original = nib.load(folder / "ct.nii.gz").header
    save_nifti(tmp_path / "ct.nii.gz", scan.image, affine=scan.affine, header=scan.header)
    label = scan.liver_mask.astype(np.uint8)
    save_nifti(tmp_path / "label.nii.gz", label, affine=scan.affine, header=scan.header)

    for name, expected in (("ct.nii.gz", scan.image), ("label.nii.gz", label)):
        written = nib.load(tmp_path / name)
        assert written.get_data_dtype() == expected.dtype
        data = np.asanyarray(written.dataobj)
        assert data.dtype == expected.dtype
        np.testing.assert_array_equal(data, expected)
        np.testing.assert_allclose(written.affine, scan.affine, atol=1e-5)
        assert written.header.get_zooms()[:3] == pytest.approx(scan.spacing)
        assert int(written.header["qform_code"]) == int(original["qform_code"])
        assert int(written.header["sform_code"]) == int(original["sform_code"])
    reloaded = load_scan(tmp_path / "ct.nii.gz", tmp_path / "label.nii.gz")
    assert reloaded.spacing == scan.spacing
    np.testing.assert_array_equal(reloaded.liver_mask, scan.liver_mask)


def test_save_nifti_keeps_form_codes_when_the_affine_differs_from_the_header(
    tmp_path: Path,
) -> None:
    header = nib.Nifti1Header()
    header.set_qform(np.diag([2.0, 2.0, 2.0, 1.0]), code=1)  # scanner
    header.set_sform(np.diag([2.0, 2.0, 2.0, 1.0]), code=4)  # mni
    save_nifti(tmp_path / "a.nii.gz", np.zeros((3, 3, 3), np.int16), affine=AFFINE, header=header)
    written = nib.load(tmp_path / "a.nii.gz")
    assert int(written.header["qform_code"]) == 1 and int(written.header["sform_code"]) == 4
    np.testing.assert_allclose(written.header.get_qform(), AFFINE, atol=1e-5)
    np.testing.assert_allclose(written.header.get_sform(), AFFINE, atol=1e-5)


def test_save_nifti_writes_the_array_dtype_not_the_header_dtype(tmp_path: Path) -> None:
    header = nib.Nifti1Header()
    header.set_data_dtype(np.int32)
    header.set_slope_inter(2.0, -1024.0)
    label = np.zeros((4, 4, 4), dtype=np.uint8)
    label[1:3, 1:3, 1:3] = 2
    save_nifti(tmp_path / "label.nii.gz", label, affine=AFFINE, header=header)
    written = nib.load(tmp_path / "label.nii.gz")
    assert written.get_data_dtype() == np.uint8
    np.testing.assert_array_equal(np.asanyarray(written.dataobj), label)


def test_save_nifti_writes_bool_as_uint8_and_uncompressed_nii(tmp_path: Path) -> None:
    mask = np.zeros((3, 4, 5), dtype=bool)
    mask[1, 2, 3] = True
    save_nifti(tmp_path / "mask.nii", mask, affine=np.eye(4))
    assert (tmp_path / "mask.nii").read_bytes()[344:348] == b"n+1\x00"  # not gzipped
    written = nib.load(tmp_path / "mask.nii")
    assert written.get_data_dtype() == np.uint8
    np.testing.assert_array_equal(np.asanyarray(written.dataobj), mask.astype(np.uint8))


def test_a_singleton_fourth_axis_is_squeezed(tmp_path: Path) -> None:
    ct, mask = ct_and_mask()
    scan = load_scan(
        write(tmp_path / "ct.nii.gz", ct[..., None]), write(tmp_path / "liver.nii.gz", mask)
    )
    assert scan.image.shape == ct.shape
    np.testing.assert_array_equal(scan.image, ct)


def test_organ_label_selects_one_value_of_a_label_map(tmp_path: Path) -> None:
    ct, mask = ct_and_mask()
    organs = mask * 5
    organs[0:2] = 3
    scan = load_scan(
        write(tmp_path / "ct.nii.gz", ct), write(tmp_path / "organs.nii.gz", organs), organ_label=5
    )
    np.testing.assert_array_equal(scan.liver_mask, organs == 5)


def test_the_old_name_liver_label_still_selects_the_value_and_warns(tmp_path: Path) -> None:
    ct, mask = ct_and_mask()
    organs = mask * 5
    organs[0:2] = 3
    paths = write(tmp_path / "ct.nii.gz", ct), write(tmp_path / "organs.nii.gz", organs)
    with pytest.warns(DeprecationWarning, match="liver_label is deprecated; use organ_label"):
        scan = load_scan(*paths, liver_label=3)
    np.testing.assert_array_equal(scan.liver_mask, organs == 3)
    with pytest.raises(TypeError, match="not both"):
        load_scan(*paths, organ_label=5, liver_label=5)


def test_integer_scaling_gives_integer_hu(tmp_path: Path) -> None:
    ct, mask = ct_and_mask()
    stored = (ct.astype(np.int32) + 1024).astype(np.uint16)
    image = nib.Nifti1Image(stored, AFFINE)
    image.header.set_slope_inter(1.0, -1024.0)
    nib.save(image, tmp_path / "ct.nii.gz")
    scan = load_scan(tmp_path / "ct.nii.gz", write(tmp_path / "liver.nii.gz", mask))
    assert np.issubdtype(scan.image.dtype, np.signedinteger)
    assert scan.image.dtype.itemsize <= 4
    np.testing.assert_array_equal(scan.image, ct)


def test_fractional_scaling_gives_float32(tmp_path: Path) -> None:
    ct, mask = ct_and_mask()
    image = nib.Nifti1Image(ct, AFFINE)
    image.header.set_slope_inter(0.5, 0.25)
    nib.save(image, tmp_path / "ct.nii.gz")
    scan = load_scan(tmp_path / "ct.nii.gz", write(tmp_path / "liver.nii.gz", mask))
    assert scan.image.dtype == np.float32
    np.testing.assert_allclose(scan.image, ct * 0.5 + 0.25)


# --- load_scan: bad input --------------------------------------------------------------------


def test_missing_file_raises_file_not_found_naming_it(tmp_path: Path) -> None:
    _, mask = ct_and_mask()
    liver = write(tmp_path / "liver.nii.gz", mask)
    with pytest.raises(FileNotFoundError, match=r"nope\.nii\.gz"):
        load_scan(tmp_path / "nope.nii.gz", liver)


def test_wrong_suffix_is_not_nifti(tmp_path: Path) -> None:
    _, mask = ct_and_mask()
    (tmp_path / "ct.mha").write_bytes(b"ObjectType = Image\n")
    with pytest.raises(ValueError, match=r"ct\.mha is not NIfTI"):
        load_scan(tmp_path / "ct.mha", write(tmp_path / "liver.nii.gz", mask))


@pytest.mark.parametrize("name", ["ct.nii.gz", "ct.nii"])
def test_text_file_named_nifti_is_a_clear_value_error(tmp_path: Path, name: str) -> None:
    _, mask = ct_and_mask()
    (tmp_path / name).write_text("this is not an image\n")
    with pytest.raises(ValueError, match=re.escape(name) + " could not be read"):
        load_scan(tmp_path / name, write(tmp_path / "liver.nii.gz", mask))


def test_truncated_nifti_is_a_clear_value_error(tmp_path: Path) -> None:
    ct, mask = ct_and_mask((40, 40, 40))
    full = write(tmp_path / "full.nii.gz", ct).read_bytes()
    (tmp_path / "ct.nii.gz").write_bytes(full[: len(full) // 2])
    with pytest.raises(ValueError, match="could not be read as NIfTI"):
        load_scan(tmp_path / "ct.nii.gz", write(tmp_path / "liver.nii.gz", mask))


def test_two_dimensional_image_is_refused(tmp_path: Path) -> None:
    ct, mask = ct_and_mask()
    path = write(tmp_path / "ct.nii.gz", ct[:, :, 0])
    with pytest.raises(
        ValueError, match=r"ct\.nii\.gz must hold a 3-D volume, got shape \(12, 10\)"
    ):
        load_scan(path, write(tmp_path / "liver.nii.gz", mask))


def test_four_dimensional_image_with_frames_is_refused(tmp_path: Path) -> None:
    ct, mask = ct_and_mask()
    path = write(tmp_path / "ct.nii.gz", np.stack([ct, ct], axis=-1))
    with pytest.raises(ValueError, match="3-D volume"):
        load_scan(path, write(tmp_path / "liver.nii.gz", mask))


def test_shape_mismatch_names_both_files_and_shapes(tmp_path: Path) -> None:
    ct, mask = ct_and_mask()
    with pytest.raises(ValueError, match="different shapes") as info:
        load_scan(write(tmp_path / "ct.nii.gz", ct), write(tmp_path / "liver.nii.gz", mask[:-1]))
    message = str(info.value)
    assert "ct.nii.gz" in message and "liver.nii.gz" in message
    assert "(12, 10, 8)" in message and "(11, 10, 8)" in message


def test_affine_mismatch_names_both_files(tmp_path: Path) -> None:
    ct, mask = ct_and_mask()
    shifted = AFFINE.copy()
    shifted[2, 3] += 2.5
    with pytest.raises(ValueError, match="different affines") as info:
        load_scan(
            write(tmp_path / "ct.nii.gz", ct), write(tmp_path / "liver.nii.gz", mask, shifted)
        )
    message = str(info.value)
    assert "ct.nii.gz" in message and "liver.nii.gz" in message
    assert "\n" not in message


def test_affines_within_tolerance_are_the_same_grid(tmp_path: Path) -> None:
    ct, mask = ct_and_mask()
    nudged = AFFINE.copy()
    nudged[0, 3] += 5e-4
    scan = load_scan(
        write(tmp_path / "ct.nii.gz", ct), write(tmp_path / "liver.nii.gz", mask, nudged)
    )
    assert scan.liver_mask.any()


def test_empty_mask_is_refused(tmp_path: Path) -> None:
    ct, mask = ct_and_mask()
    with pytest.raises(ValueError, match=r"liver mask .*liver\.nii\.gz is empty"):
        load_scan(write(tmp_path / "ct.nii.gz", ct), write(tmp_path / "liver.nii.gz", mask * 0))


def test_non_binary_mask_is_refused_with_its_values(tmp_path: Path) -> None:
    ct, mask = ct_and_mask()
    organs = mask * 5
    organs[0, 0, 0] = 1
    with pytest.raises(
        ValueError, match=r"not binary.*\[0, 1, 5\].*organ_label \(CLI: --organ-label\)"
    ):
        load_scan(write(tmp_path / "ct.nii.gz", ct), write(tmp_path / "liver.nii.gz", organs))


def test_float_mask_of_zeros_and_ones_is_binary(tmp_path: Path) -> None:
    ct, mask = ct_and_mask()
    scan = load_scan(
        write(tmp_path / "ct.nii.gz", ct),
        write(tmp_path / "liver.nii.gz", mask.astype(np.float32)),
    )
    np.testing.assert_array_equal(scan.liver_mask, mask == 1)
    with pytest.raises(ValueError, match="not binary"):
        load_scan(
            tmp_path / "ct.nii.gz",
            write(tmp_path / "half.nii.gz", mask.astype(np.float32) * 0.5),
        )


def test_absent_organ_label_is_refused(tmp_path: Path) -> None:
    ct, mask = ct_and_mask()
    with pytest.raises(ValueError, match="no voxel with organ_label 7"):
        load_scan(
            write(tmp_path / "ct.nii.gz", ct),
            write(tmp_path / "liver.nii.gz", mask),
            organ_label=7,
        )


# --- writing: overwrite and atomicity --------------------------------------------------------


def test_save_nifti_refuses_to_overwrite_unless_asked(tmp_path: Path) -> None:
    target = tmp_path / "image.nii.gz"
    save_nifti(target, np.zeros((2, 2, 2), np.int16), affine=np.eye(4))
    with pytest.raises(FileExistsError, match=r"image\.nii\.gz"):
        save_nifti(target, np.ones((2, 2, 2), np.int16), affine=np.eye(4))
    assert np.asanyarray(nib.load(target).dataobj).max() == 0
    save_nifti(target, np.ones((2, 2, 2), np.int16), affine=np.eye(4), overwrite=True)
    assert np.asanyarray(nib.load(target).dataobj).min() == 1
    assert files_in(tmp_path) == ["image.nii.gz"]


def test_save_nifti_refuses_non_nifti_names(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"must end in \.nii or \.nii\.gz"):
        save_nifti(tmp_path / "image.npy", np.zeros((2, 2, 2)), affine=np.eye(4))


def test_failed_nifti_write_leaves_no_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_save = nib.save

    def save_then_fail(image: nib.Nifti1Image, filename: Path) -> None:
        real_save(image, filename)  # the temporary file is complete on disk ...
        raise OSError("disk full")  # ... when the write fails

    monkeypatch.setattr(stio.nib, "save", save_then_fail)
    with pytest.raises(OSError, match="disk full"):
        save_nifti(tmp_path / "image.nii.gz", np.zeros((8, 8, 8), np.int16), affine=np.eye(4))
    assert files_in(tmp_path) == []


def test_failed_overwrite_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = atomic_write_text(tmp_path / "params.json", "old\n")

    def fail(*args: object) -> None:
        raise OSError("rename failed")

    monkeypatch.setattr(stio.os, "replace", fail)
    with pytest.raises(OSError, match="rename failed"):
        atomic_write_text(target, "new\n", overwrite=True)
    assert target.read_text() == "old\n"
    assert files_in(tmp_path) == ["params.json"]


def test_interrupted_bytes_write_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupt(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(stio, "_publish", interrupt)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_bytes(tmp_path / "preview.png", b"\x89PNG")
    assert files_in(tmp_path) == []


def test_atomic_text_and_bytes_round_trip_and_refuse_overwrite(tmp_path: Path) -> None:
    text_path = atomic_write_text(tmp_path / "a.json", '{"é": 1}\n')
    assert text_path.read_text(encoding="utf-8") == '{"é": 1}\n'
    bytes_path = atomic_write_bytes(tmp_path / "b.bin", bytes(range(256)))
    assert bytes_path.read_bytes() == bytes(range(256))
    with pytest.raises(FileExistsError, match=r"a\.json"):
        atomic_write_text(text_path, "{}")
    with pytest.raises(FileExistsError, match=r"b\.bin"):
        atomic_write_bytes(bytes_path, b"")
    atomic_write_bytes(bytes_path, b"new", overwrite=True)
    assert bytes_path.read_bytes() == b"new"
    assert files_in(tmp_path) == ["a.json", "b.bin"]


def test_written_files_get_default_permissions(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    os.umask(umask)
    path = atomic_write_text(tmp_path / "a.txt", "x")
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_missing_output_folder_is_reported(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="missing"):
        atomic_write_text(tmp_path / "missing" / "a.txt", "x")
