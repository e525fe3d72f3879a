"""NIfTI in and out with nibabel, keeping spacing, affine and header.

:func:`load_scan` reads a CT and its liver mask and checks that they belong together;
:func:`save_nifti` writes an array with the input's affine and header. Every writer here is
atomic: the data goes to a temporary file in the target's folder, which then replaces the target
with :func:`os.replace`, so a reader never sees a partial file and a failed write leaves nothing
behind. Existing files are only replaced when asked (``overwrite=True``).

Conventions: arrays stay in the file's array-axis order (no reorientation); spacing is
``header.get_zooms()[:3]`` in that order, in mm; the affine is ``image.affine`` (the sform when
its code is set, else the qform).
"""

from __future__ import annotations

import contextlib
import gzip
import os
import re
import secrets
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO, NamedTuple

import nibabel as nib
import numpy as np
import numpy.typing as npt
from nibabel.filebasedimages import ImageFileError
from nibabel.spatialimages import HeaderDataError

from synthtumor._arrays import triple
from synthtumor._renamed import renamed_label

__all__ = [
    "NIFTI_SUFFIXES",
    "UNREADABLE",
    "Scan",
    "atomic_output",
    "atomic_write_bytes",
    "atomic_write_text",
    "integer_labels",
    "is_nifti_path",
    "load_organ_map",
    "load_scan",
    "read_volume",
    "remove_partial_files",
    "save_nifti",
]

NIFTI_SUFFIXES: tuple[str, ...] = (".nii.gz", ".nii")
"""File name endings read and written as NIfTI."""

PARTIAL_PATTERN = re.compile(r"^\..+\.[0-9a-f]{12}\.partial")
"""Names of the temporary files of :func:`atomic_output` (``.NAME.<12 hex>.partial...``)."""

AFFINE_ATOL = 1e-3
"""Largest difference (mm) between CT and mask affines that still counts as the same grid."""

UNREADABLE: tuple[type[BaseException], ...] = (
    ImageFileError,
    HeaderDataError,
    OSError,
    EOFError,
    zlib.error,
    gzip.BadGzipFile,
    ValueError,
)
"""What nibabel, gzip and zlib raise on a file that is not a readable (or a truncated) NIfTI."""


class Scan(NamedTuple):
    """A CT scan with its liver mask, as read by :func:`load_scan`.

    Attributes
    ----------
    image : numpy.ndarray
        3-D CT in HU, in the file's dtype (int16 stays int16).
    liver_mask : numpy.ndarray
        3-D boolean liver mask on the same grid.
    spacing : tuple of 3 float
        Voxel spacing in mm, array-axis order (``header.get_zooms()[:3]``).
    affine : numpy.ndarray
        The CT's 4 x 4 voxel-to-world (RAS+) affine.
    header : nibabel.nifti1.Nifti1Header
        A copy of the CT's header, to pass to :func:`save_nifti`.
    """

    image: np.ndarray
    liver_mask: np.ndarray
    spacing: tuple[float, float, float]
    affine: np.ndarray
    header: nib.nifti1.Nifti1Header


def is_nifti_path(path: str | os.PathLike) -> bool:
    """Whether a file name ends in ``.nii`` or ``.nii.gz`` (case-insensitive).

    Examples
    --------
    >>> is_nifti_path("ct.nii.gz"), is_nifti_path("ct.NII"), is_nifti_path("ct.mha")
    (True, True, False)
    """
    return Path(path).name.lower().endswith(NIFTI_SUFFIXES)


def load_scan(
    ct_path: str | os.PathLike,
    liver_path: str | os.PathLike,
    *,
    organ_label: float | None = None,
    liver_label: float | None = None,
) -> Scan:
    """Read a CT and its liver mask from NIfTI files and check that they match.

    Parameters
    ----------
    ct_path : path-like
        The CT (``.nii`` or ``.nii.gz``), 3-D, in HU. A 4-D file whose extra axes have length 1
        is squeezed to 3-D.
    liver_path : path-like
        The liver mask on the same grid (same shape and affine).
    organ_label : number or None
        None: the mask must hold only 0 and 1. A value: the mask is ``data == organ_label``, for
        a multi-organ label map (e.g. 5 for TotalSegmentator's liver, 7 for its pancreas).
    liver_label : number or None
        Deprecated name of `organ_label` (it warns).

    Returns
    -------
    Scan
        ``(image, liver_mask, spacing, affine, header)``. The image keeps the stored dtype
        (files with a non-trivial ``scl_slope``/``scl_inter`` are scaled: to integers when the
        scaling is integral, else to float32).

    Raises
    ------
    FileNotFoundError
        A file does not exist.
    ValueError
        A file is not a readable NIfTI, is not 3-D, the two grids differ (shape or affine), the
        mask is empty or not binary, or the spacing is not positive. The message names the file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> from synthtumor.phantom import make_phantom
    >>> phantom = make_phantom((64, 64, 40), (3.0, 3.0, 4.0), dtype=np.int16, rng=0)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     folder = pathlib.Path(tmp)
    ...     _ = save_nifti(folder / "ct.nii.gz", phantom.image, affine=phantom.affine)
    ...     _ = save_nifti(folder / "liver.nii.gz", phantom.liver_mask, affine=phantom.affine)
    ...     scan = load_scan(folder / "ct.nii.gz", folder / "liver.nii.gz")
    >>> scan.image.dtype, scan.liver_mask.dtype, scan.spacing
    (dtype('int16'), dtype('bool'), (3.0, 3.0, 4.0))
    >>> bool(np.array_equal(scan.liver_mask, phantom.liver_mask))
    True
    """
    ct_path, liver_path = Path(ct_path), Path(liver_path)
    ct = _open_nifti(ct_path, "CT")
    mask_image = _open_nifti(liver_path, "liver mask")
    ct_shape = _volume_shape(ct, ct_path, "CT")
    mask_shape = _volume_shape(mask_image, liver_path, "liver mask")
    if ct_shape != mask_shape:
        raise ValueError(
            f"CT {ct_path} and liver mask {liver_path} have different shapes: "
            f"{ct_shape} and {mask_shape}"
        )
    if not np.allclose(ct.affine, mask_image.affine, rtol=0.0, atol=AFFINE_ATOL):
        raise ValueError(
            f"CT {ct_path} and liver mask {liver_path} have different affines: "
            f"{_affine_text(ct.affine)} and {_affine_text(mask_image.affine)}"
        )
    image = _read_ct(ct, ct_path).reshape(ct_shape)
    organ_label = renamed_label(organ_label, liver_label, default=None)
    liver_mask = _read_liver_mask(mask_image, liver_path, organ_label).reshape(ct_shape)
    spacing = _spacing(ct, ct_path)
    return Scan(
        image=image,
        liver_mask=liver_mask,
        spacing=spacing,
        affine=np.array(ct.affine, dtype=float),
        header=ct.header.copy(),
    )


def read_volume(path: str | os.PathLike, role: str) -> tuple[nib.Nifti1Image, np.ndarray]:
    """Open a 3-D NIfTI file and read all of its data (so a truncated file fails here).

    Parameters
    ----------
    path : path-like
        A ``.nii`` or ``.nii.gz`` file.
    role : str
        What the file is (``"CT"``, ``"label map"``), for the error messages.

    Returns
    -------
    (nibabel.Nifti1Image, numpy.ndarray)
        The image (header and affine) and its 3-D data, scaled by ``scl_slope``/``scl_inter``.

    Raises
    ------
    FileNotFoundError
        `path` does not exist.
    ValueError
        `path` is not a readable 3-D NIfTI file: wrong suffix, truncated or corrupt data, or
        another number of axes. The message names `role` and `path`.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import nibabel as nib, numpy as np
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = pathlib.Path(tmp) / "label.nii.gz"
    ...     nib.save(nib.Nifti1Image(np.ones((4, 4, 4), np.uint8), np.eye(4)), path)
    ...     _ = path.write_bytes(path.read_bytes()[:-20])  # cut off the end
    ...     try:
    ...         read_volume(path, "label map")
    ...     except ValueError as error:
    ...         print("could not be read" in str(error))
    True
    """
    path = Path(path)
    image = _open_nifti(path, role)
    shape = _volume_shape(image, path, role)
    return image, _read_array(image, path, role).reshape(shape)


def _open_nifti(path: Path, role: str) -> nib.Nifti1Image:
    if not path.exists():
        raise FileNotFoundError(f"{role} file not found: {path}")
    if path.is_dir():
        raise ValueError(f"{role} path {path} is a directory, expected a .nii or .nii.gz file")
    if not is_nifti_path(path):
        raise ValueError(f"{role} file {path} is not NIfTI: expected a .nii or .nii.gz file")
    try:
        image = nib.load(path)
    except UNREADABLE as error:
        raise ValueError(f"{role} file {path} could not be read as NIfTI ({error})") from None
    if not isinstance(image, nib.Nifti1Image | nib.Nifti2Image):
        raise ValueError(f"{role} file {path} is not NIfTI (read as {type(image).__name__})")
    return image


def _volume_shape(image: nib.Nifti1Image, path: Path, role: str) -> tuple[int, int, int]:
    """The 3-D shape, allowing extra trailing axes of length 1 (e.g. a 4-D with one frame)."""
    shape = tuple(int(n) for n in image.shape)
    if len(shape) < 3 or any(n != 1 for n in shape[3:]):
        raise ValueError(f"{role} file {path} must hold a 3-D volume, got shape {shape}")
    return shape[0], shape[1], shape[2]


def _read_array(image: nib.Nifti1Image, path: Path, role: str) -> np.ndarray:
    """The stored values, scaled by scl_slope/scl_inter without a float64 copy where possible."""
    proxy = image.dataobj
    slope = float(getattr(proxy, "slope", 1.0))
    inter = float(getattr(proxy, "inter", 0.0))
    try:
        if slope == 1.0 and inter == 0.0:
            return _native_byte_order(np.asanyarray(proxy))
        # A scaled image's dataobj is an ArrayProxy; nibabel types it only as ArrayLike.
        raw = _native_byte_order(np.asanyarray(proxy.get_unscaled()))  # type: ignore[attr-defined]
        if np.issubdtype(raw.dtype, np.integer) and slope.is_integer() and inter.is_integer():
            return _integer_scaled(raw, int(slope), int(inter))
        return image.get_fdata(dtype=np.float32)
    except UNREADABLE as error:
        raise ValueError(f"{role} file {path} could not be read as NIfTI ({error})") from None


def _native_byte_order(data: np.ndarray) -> np.ndarray:
    """`data` with a native-order dtype (``int16``, not ``<i2``): a view, or a swapped copy."""
    if data.dtype.byteorder in ("=", "|"):
        return data
    native = data.dtype.newbyteorder("=")
    return data.view(native) if data.dtype.isnative else data.astype(native)


def _integer_scaled(raw: np.ndarray, slope: int, inter: int) -> np.ndarray:
    """``raw * slope + inter`` in the smallest of int16, int32, int64 that holds the result."""
    ends = [int(raw.min()) * slope + inter, int(raw.max()) * slope + inter] if raw.size else [0]
    for dtype in (np.int16, np.int32, np.int64):
        info = np.iinfo(dtype)
        if info.min <= min(ends) and max(ends) <= info.max:
            scaled: np.ndarray = raw.astype(dtype)
            scaled *= dtype(slope)
            scaled += dtype(inter)
            return scaled
    raise ValueError(f"scaled values {ends} do not fit in int64")  # pragma: no cover


def _read_ct(image: nib.Nifti1Image, path: Path) -> np.ndarray:
    data = _read_array(image, path, "CT")
    if data.dtype == bool or not (
        np.issubdtype(data.dtype, np.integer) or np.issubdtype(data.dtype, np.floating)
    ):
        raise ValueError(f"CT file {path} must hold real numbers (HU), got dtype {data.dtype}")
    return data


LABEL_ATOL = 1e-3
"""How far a label map stored as floats may lie from whole numbers and still be read as labels."""


def integer_labels(data: np.ndarray, what: str, *, dtype: npt.DTypeLike = np.int32) -> np.ndarray:
    """A label map as integers: integer arrays as they are, floats rounded to `dtype`.

    Floats must each lie within :data:`LABEL_ATOL` of a whole number (labels written by tools
    that store float32 are, up to rounding).

    Raises
    ------
    ValueError
        A value is further from a whole number; the message names `what`.

    Examples
    --------
    >>> integer_labels(np.array([0.0, 1.0, 2.0004]), "label map")
    array([0, 1, 2], dtype=int32)
    >>> integer_labels(np.array([0.5]), "label map x.nii.gz")
    Traceback (most recent call last):
    ...
    ValueError: label map x.nii.gz must hold integer labels, found non-integer values
    """
    if not np.issubdtype(data.dtype, np.floating):
        return data
    rounded = np.rint(data)
    if not np.allclose(data, rounded, rtol=0.0, atol=LABEL_ATOL):
        raise ValueError(f"{what} must hold integer labels, found non-integer values")
    return rounded.astype(dtype)


def load_organ_map(path: str | os.PathLike) -> np.ndarray:
    """An organ map's classes as an integer array (e.g. TotalSegmentator's), as stored.

    For ``synthesize(..., organ_label=...)``; read the CT and check the grids with
    :func:`load_scan` first (``organ_label`` set to the organ's value). A float map whose values
    are whole numbers is returned as int32.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = pathlib.Path(tmp) / "organs.nii.gz"
    ...     _ = save_nifti(path, np.full((2, 2, 2), 7, np.uint8), affine=np.eye(4))
    ...     classes = load_organ_map(path)
    >>> classes.dtype, int(classes.max())
    (dtype('uint8'), 7)
    """
    path = Path(path)
    image = _open_nifti(path, "organ map")
    data = _read_array(image, path, "organ map").reshape(_volume_shape(image, path, "organ map"))
    if data.dtype == bool:
        return data.astype(np.uint8)
    if np.issubdtype(data.dtype, np.floating):
        if not (np.isfinite(data).all() and np.all(data == np.round(data))):
            raise ValueError(f"organ map {path} must hold whole class numbers")
        return data.astype(np.int32)
    if not np.issubdtype(data.dtype, np.integer):
        raise ValueError(f"organ map {path} must hold class numbers, got dtype {data.dtype}")
    return data


def _read_liver_mask(image: nib.Nifti1Image, path: Path, organ_label: float | None) -> np.ndarray:
    data = _read_array(image, path, "liver mask")
    if data.dtype != bool and not (
        np.issubdtype(data.dtype, np.integer) or np.issubdtype(data.dtype, np.floating)
    ):
        raise ValueError(f"liver mask {path} must hold numbers, got dtype {data.dtype}")
    if organ_label is not None:
        if isinstance(organ_label, bool) or not isinstance(organ_label, int | float | np.number):
            raise TypeError(f"organ_label must be a number or None, got {organ_label!r}")
        mask = data == organ_label
        if not mask.any():
            raise ValueError(
                f"liver mask {path} has no voxel with organ_label {organ_label:g}; "
                f"it holds the values {_values_text(data)}"
            )
        return mask
    if data.dtype == bool:
        mask = data
    elif np.issubdtype(data.dtype, np.integer):
        if data.min() < 0 or data.max() > 1:
            raise ValueError(_non_binary_message(data, path))
        mask = data != 0
    else:
        mask = data != 0
        if not np.all(data[mask] == 1):
            raise ValueError(_non_binary_message(data, path))
    if not mask.any():
        raise ValueError(f"liver mask {path} is empty: it has no liver voxel (all values are 0)")
    return mask


def _non_binary_message(data: np.ndarray, path: Path) -> str:
    return (
        f"liver mask {path} is not binary (0/1): it holds the values {_values_text(data)}; "
        f"give the organ's value as organ_label (CLI: --organ-label)"
    )


def _values_text(data: np.ndarray, shown: int = 8) -> str:
    values = np.unique(data)
    text = ", ".join(f"{value:g}" for value in values[:shown].tolist())
    return f"[{text}{', ...' if values.size > shown else ''}]"


def _affine_text(affine: np.ndarray) -> str:
    """The top three rows of an affine on one line, e.g. ``[[3 0 0 -178]; [0 3 0 11.3]; ...]``."""
    rows = ("[" + " ".join(f"{value:.4g}" for value in row) + "]" for row in affine[:3])
    return "[" + "; ".join(rows) + "]"


def _spacing(image: nib.Nifti1Image, path: Path) -> tuple[float, float, float]:
    zooms = triple(float(zoom) for zoom in image.header.get_zooms()[:3])
    if not all(np.isfinite(zoom) and zoom > 0 for zoom in zooms):
        raise ValueError(f"CT file {path} has a non-positive voxel spacing {zooms} in its header")
    return zooms


def save_nifti(
    path: str | os.PathLike,
    array: np.ndarray,
    *,
    affine: np.ndarray,
    header: nib.nifti1.Nifti1Header | None = None,
    overwrite: bool = False,
) -> Path:
    """Write an array as NIfTI, atomically, with a given affine and (optionally) header.

    Parameters
    ----------
    path : path-like
        Target ending in ``.nii.gz`` (gzip-compressed) or ``.nii``. Its folder must exist.
    array : numpy.ndarray
        The data, written in its own dtype (booleans as uint8). Label maps should be uint8.
    affine : numpy.ndarray
        4 x 4 voxel-to-world affine, stored in the sform and the qform.
    header : nibabel.nifti1.Nifti1Header or None
        Header to start from, e.g. :attr:`Scan.header`: its units, description and qform/sform
        codes are kept (codes 0 and 0 become sform code 2, "aligned", so the affine is stored).
        The data dtype becomes the array's, and the data-dependent fields (``scl_slope``,
        ``scl_inter``, ``cal_min``, ``cal_max``) are reset.
    overwrite : bool, default False
        Replace an existing file. Otherwise an existing `path` raises :class:`FileExistsError`.

    Returns
    -------
    pathlib.Path
        `path`.

    Raises
    ------
    FileExistsError
        `path` exists and `overwrite` is False.
    ValueError
        `path` does not end in ``.nii`` or ``.nii.gz``, or `affine` is not 4 x 4.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import nibabel as nib, numpy as np
    >>> label = np.zeros((4, 5, 6), dtype=np.uint8)
    >>> affine = np.diag([0.8, 0.8, 2.5, 1.0])
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = save_nifti(pathlib.Path(tmp) / "label.nii.gz", label, affine=affine)
    ...     written = nib.load(path)
    ...     spacing = [round(float(zoom), 3) for zoom in written.header.get_zooms()]
    ...     print(written.get_data_dtype(), spacing, written.affine[2, 2])
    uint8 [0.8, 0.8, 2.5] 2.5
    """
    path = Path(path)
    if not is_nifti_path(path):
        raise ValueError(f"NIfTI output {path} must end in .nii or .nii.gz")
    affine = np.asarray(affine, dtype=float)
    if affine.shape != (4, 4):
        raise ValueError(f"affine must be a 4 x 4 array, got shape {affine.shape}")
    image = _nifti_image(np.asanyarray(array), affine, header)
    suffix = ".nii.gz" if path.name.lower().endswith(".gz") else ".nii"
    with atomic_output(path, overwrite=overwrite, suffix=suffix) as temporary:
        nib.save(image, temporary)
    return path


def _nifti_image(
    array: np.ndarray, affine: np.ndarray, header: nib.nifti1.Nifti1Header | None
) -> nib.Nifti1Image:
    if array.dtype == bool:
        array = array.view(np.uint8)
    source = nib.Nifti1Header() if header is None else header
    image = nib.Nifti1Image(array, affine, header=source.copy())
    image.set_data_dtype(array.dtype)
    image.header.set_slope_inter(None, None)
    image.header["cal_min"] = 0.0
    image.header["cal_max"] = 0.0
    qform_code, sform_code = int(source["qform_code"]), int(source["sform_code"])
    if qform_code > 0:
        image.set_qform(affine, code=qform_code)
    if sform_code > 0:
        image.set_sform(affine, code=sform_code)
    return image


def atomic_write_text(
    path: str | os.PathLike, text: str, *, overwrite: bool = False, encoding: str = "utf-8"
) -> Path:
    """Write text to a file atomically (temporary file in the same folder, then a rename).

    Parameters
    ----------
    path : path-like
        Target file; its folder must exist.
    text : str
        Content, written with ``\\n`` line endings.
    overwrite : bool, default False
        Replace an existing file; otherwise raise :class:`FileExistsError`.
    encoding : str, default "utf-8"

    Returns
    -------
    pathlib.Path
        `path`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = atomic_write_text(pathlib.Path(tmp) / "params.json", '{"a": 1}\\n')
    ...     print(path.read_text(), end="")
    ...     try:
    ...         atomic_write_text(path, "{}")
    ...     except FileExistsError:
    ...         print("refused")
    {"a": 1}
    refused
    """
    return atomic_write_bytes(path, text.encode(encoding), overwrite=overwrite)


def atomic_write_bytes(path: str | os.PathLike, data: bytes, *, overwrite: bool = False) -> Path:
    """Write bytes to a file atomically (temporary file in the same folder, then a rename).

    Parameters
    ----------
    path : path-like
        Target file; its folder must exist.
    data : bytes
        Content.
    overwrite : bool, default False
        Replace an existing file; otherwise raise :class:`FileExistsError`.

    Returns
    -------
    pathlib.Path
        `path`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = atomic_write_bytes(pathlib.Path(tmp) / "blob.bin", b"\\x00\\x01")
    ...     path.read_bytes()
    b'\\x00\\x01'
    """
    path = Path(path)
    with atomic_output(path, overwrite=overwrite) as temporary:
        _write_file(temporary, lambda stream: stream.write(data))
    return path


def _write_file(path: Path, write: Callable[[BinaryIO], object]) -> None:
    with open(path, "wb") as stream:
        write(stream)


@contextlib.contextmanager
def atomic_output(
    path: str | os.PathLike, *, overwrite: bool = False, suffix: str = ".tmp"
) -> Iterator[Path]:
    """Yield a fresh temporary path beside `path`; on success it becomes `path`, else vanishes.

    For writers that want a file name rather than bytes (``nib.save``, ``torch.save``). The
    temporary name keeps `suffix` (nibabel picks gzip from ``.gz``) and starts with a dot, so
    folder listings and case pairing skip it.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     target = pathlib.Path(tmp) / "model.bin"
    ...     with atomic_output(target) as temporary:
    ...         _ = temporary.write_bytes(b"weights")
    ...     target.read_bytes(), sorted(p.name for p in pathlib.Path(tmp).iterdir())
    (b'weights', ['model.bin'])
    """
    path = Path(path)
    if not overwrite and path.exists():
        raise FileExistsError(f"{path} already exists (pass overwrite=True to replace it)")
    folder = path.parent
    if not folder.is_dir():
        raise FileNotFoundError(f"output folder {folder} does not exist")
    temporary = folder / f".{path.name}.{secrets.token_hex(6)}.partial{suffix}"
    # O_EXCL: never clobber another writer's file; mode 0o666 lets the umask decide permissions.
    try:
        os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except PermissionError as error:
        raise _naming_target(error, temporary, path) from error
    try:
        yield temporary
        _fsync(temporary)
        _publish(temporary, path, overwrite=overwrite)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        if isinstance(error, OSError) and not isinstance(error, FileExistsError):
            raise _naming_target(error, temporary, path) from error
        raise


def _naming_target(error: OSError, temporary: Path, path: Path) -> OSError:
    """`error` about the temporary file (or no file: a full disk) retold about `path`."""
    if error.filename not in (None, str(temporary), temporary) or not error.strerror:
        return error
    return type(error)(error.errno, error.strerror, str(path))


def _fsync(path: Path) -> None:
    """Flush a written file to disk, so the rename never publishes an empty file after a crash."""
    with open(path, "rb") as stream:
        os.fsync(stream.fileno())


def _publish(temporary: Path, path: Path, *, overwrite: bool) -> None:
    """Move the finished temporary file to `path`; without `overwrite`, never replace a file."""
    if overwrite:
        os.replace(temporary, path)
        return
    try:
        # A hard link fails if `path` appeared meanwhile, where os.replace would clobber it.
        os.link(temporary, path)
    except FileExistsError:
        raise FileExistsError(
            f"{path} already exists (pass overwrite=True to replace it)"
        ) from None
    except OSError:
        # File systems without hard links: check, then rename (a small race, no partial file).
        if path.exists():
            raise FileExistsError(
                f"{path} already exists (pass overwrite=True to replace it)"
            ) from None
        os.replace(temporary, path)
        return
    temporary.unlink()


def remove_partial_files(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporary files that a killed writer (SIGKILL, power loss) left in `folder`.

    Only names of :data:`PARTIAL_PATTERN` go; a missing folder holds none. Two runs must not
    write into one folder at the same time: the second would delete the first's files in
    flight.

    Returns
    -------
    list of pathlib.Path
        The files removed.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     folder = pathlib.Path(tmp)
    ...     _ = (folder / ".a.nii.gz.0123456789ab.partial.nii.gz").write_bytes(b"half")
    ...     _ = (folder / "a.nii.gz").write_bytes(b"whole")
    ...     [p.name for p in remove_partial_files(folder)], [p.name for p in folder.iterdir()]
    (['.a.nii.gz.0123456789ab.partial.nii.gz'], ['a.nii.gz'])
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    for path in sorted(folder.iterdir()):
        if PARTIAL_PATTERN.match(path.name) and path.is_file():
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed.append(path)
    return removed
