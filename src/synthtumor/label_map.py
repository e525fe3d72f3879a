"""Synthesis into a multi-class label map, and the one rule for writing the result back.

The core works on a binary liver mask and returns its own label map (background, liver,
tumour). A caller's label map often holds other classes too (organs of a segmenter's output).
The rule, used by :func:`synthesize_label_map` and so by every adapter:

* the tumours and the liver's bulge (the mass effect, paper eq. 5) only take **liver** voxels;
  with ``bulge_into_background=True`` they may also take **background** voxels;
* every other voxel (any other class, and the background by default) keeps its value, in the
  label map *and* in the image: the mass effect does not push the liver into it.

So no voxel of another class ever becomes liver or tumour.
"""

from __future__ import annotations

import numpy as np

from synthtumor._renamed import renamed_label
from synthtumor._validation import LiverTooSmallError, as_volume
from synthtumor.config import TumorConfig
from synthtumor.liver_stats import LiverStatistics
from synthtumor.organs import OrganPreset
from synthtumor.params import TumorParams
from synthtumor.render import tumor_box
from synthtumor.synthesize import RngLike, SynthesisResult, apply, sample

__all__ = ["protected_voxels", "synthesize_label_map", "write_back"]


def protected_voxels(
    label_map: np.ndarray,
    *,
    organ_label: int | None = None,
    background_label: int = 0,
    bulge_into_background: bool = False,
    liver_label: int | None = None,
) -> np.ndarray:
    """The voxels of `label_map` that the synthesis must leave as they are.

    `organ_label` (default 1) is the organ's value; `liver_label` its deprecated name.

    Examples
    --------
    >>> import numpy as np
    >>> labels = np.array([0, 1, 5, 1]).reshape(1, 1, 4)
    >>> protected_voxels(labels, organ_label=1).ravel().tolist()
    [True, False, True, False]
    >>> protected_voxels(labels, organ_label=1, bulge_into_background=True).ravel().tolist()
    [False, False, True, False]
    """
    protected: np.ndarray = label_map != renamed_label(organ_label, liver_label)
    if bulge_into_background:
        protected &= label_map != background_label
    return protected


def write_back(
    label_map: np.ndarray,
    core_label: np.ndarray,
    params: TumorParams,
    *,
    organ_label: int | None = None,
    tumor_label: int = 2,
    background_label: int = 0,
    dtype: np.dtype | None = None,
    liver_label: int | None = None,
) -> np.ndarray:
    """A copy of `label_map` where every voxel the core relabelled takes its new class.

    `core_label` is the core's label map for the organ ``label_map == organ_label`` (values
    ``params.background_label``, ``params.organ_label``, ``params.tumor_label``). A voxel whose
    core class changed gets `background_label`, `organ_label` (default 1; `liver_label` is its
    deprecated name) or `tumor_label`; all others keep their value. Only the tumours' boxes are
    searched: outside them the core changes nothing.
    Rendered with :func:`protected_voxels` as ``protected``, no voxel of another class changes.

    Examples
    --------
    >>> import numpy as np
    >>> from synthtumor import sample, apply
    >>> from synthtumor.phantom import make_phantom
    >>> phantom = make_phantom(shape=(64, 64, 48), rng=0)
    >>> labels = phantom.liver_mask.astype(np.uint8)
    >>> params = sample(phantom.image, labels, spacing=phantom.spacing, size="small", rng=0)
    >>> _, core, _ = apply(phantom.image, labels, params, protected=labels == 0)
    >>> out = write_back(labels, core, params, organ_label=1, tumor_label=7)
    >>> sorted(np.unique(out).tolist())
    [0, 1, 7]
    """
    organ_label = renamed_label(organ_label, liver_label)
    output = label_map.astype(label_map.dtype if dtype is None else dtype, copy=True)
    new_values = np.zeros(
        max(params.background_label, params.organ_label, params.tumor_label) + 1, dtype=np.int64
    )
    new_values[params.background_label] = background_label
    new_values[params.organ_label] = organ_label
    new_values[params.tumor_label] = tumor_label
    for spec in params.tumors:
        lower, upper = tumor_box(spec, params)
        box = tuple(slice(a, b) for a, b in zip(lower, upper, strict=True))
        before = np.where(
            label_map[box] == organ_label,
            np.uint8(params.organ_label),
            np.uint8(params.background_label),
        )
        changed = core_label[box] != before
        output[box][changed] = new_values[core_label[box][changed]]
    return output


def synthesize_label_map(
    image: np.ndarray,
    label_map: np.ndarray,
    *,
    spacing: tuple[float, float, float],
    organ_label: int | None = None,
    tumor_label: int = 2,
    background_label: int = 0,
    bulge_into_background: bool = False,
    organ: str | OrganPreset = "liver",
    size: str | None = None,
    config: TumorConfig | None = None,
    statistics: LiverStatistics | None = None,
    rng: RngLike = None,
    liver_label: int | None = None,
) -> SynthesisResult:
    """:func:`synthtumor.synthesize` on a scan whose organ is ``label_map == organ_label``.

    The label map may hold other classes (organs): they keep their voxels, in the label map and
    in the image (see the module's rule). Neither input is modified.

    Parameters
    ----------
    image : numpy.ndarray
        3-D CT in HU, any real dtype.
    label_map : numpy.ndarray
        3-D label map of the same shape (any integer, float or bool dtype).
    spacing : tuple of 3 float
        Voxel spacing in mm, array-axis order.
    organ_label, tumor_label, background_label : int
        The organ's value in `label_map` (default 1, the liver's), the value written for tumour
        voxels, and the value of the unlabelled background (only used with
        `bulge_into_background`).
    bulge_into_background : bool
        False (default): the tumours and the mass effect only take liver voxels, and the liver's
        outline stays where the label map has it. True: they may also take background voxels
        (the paper's mass effect, which pushes the liver's edge outwards); other classes are
        still never taken.
    organ : str or OrganPreset
        As for :func:`synthtumor.synthesize`: the organ whose tumours are drawn; `organ_label`
        is then that organ's value. An exophytic tumour (kidney) may grow into background voxels
        whatever `bulge_into_background` says, never into another class.
    size, config, statistics, rng
        As for :func:`synthtumor.synthesize`.
    liver_label : int or None
        The old name of `organ_label` (deprecated: it warns).

    Returns
    -------
    SynthesisResult
        The new image (input dtype), the new label map (input dtype, uint8 for a boolean map)
        and the drawn params.

    Raises
    ------
    LiverTooSmallError
        No voxel equals `organ_label`, or the organ is too small for `size`.

    Examples
    --------
    >>> import numpy as np
    >>> from synthtumor.phantom import make_phantom
    >>> phantom = make_phantom(shape=(64, 64, 48), rng=0)
    >>> labels = phantom.liver_mask.astype(np.uint8) * 5  # the liver is class 5
    >>> labels[:, :, :8] = 3                              # another organ
    >>> image, out, params = synthesize_label_map(phantom.image, labels, spacing=phantom.spacing,
    ...                                           organ_label=5, tumor_label=9, rng=0)
    >>> sorted(np.unique(out).tolist())
    [0, 3, 5, 9]
    >>> bool(np.array_equal(out == 3, labels == 3))   # the organ keeps every voxel
    True
    """
    organ_label = renamed_label(organ_label, liver_label)
    image = as_volume(image)
    label_map = np.asarray(label_map)
    if label_map.shape != image.shape:
        raise ValueError(
            f"label_map must have the shape of image {image.shape}, got {label_map.shape}"
        )
    output_dtype = np.dtype(np.uint8) if label_map.dtype == bool else label_map.dtype
    _check_label_fits(tumor_label, output_dtype)
    liver = label_map == organ_label
    if not liver.any():
        raise LiverTooSmallError(
            f"the label map holds no organ voxel (no voxel equals organ_label={organ_label})"
        )
    params = sample(
        image,
        liver,
        spacing=spacing,
        size=size,
        config=config,
        statistics=statistics,
        organ=organ,
        rng=rng,
    )
    protected = protected_voxels(
        label_map,
        organ_label=organ_label,
        background_label=background_label,
        bulge_into_background=bulge_into_background,
    )
    # `liver` and the copy of `image` are ours: the core writes into them, which saves it a
    # full-volume label map; `liver` then holds the core's label map.
    blocked = None
    if any(spec.exophytic for spec in params.tumors):
        blocked = (label_map != background_label) & ~liver  # the map's other classes
    new_image, core_label, _ = apply(
        image.copy(),
        liver.view(np.uint8),
        params,
        inplace=True,
        protected=protected,
        blocked=blocked,
    )
    new_label = write_back(
        label_map,
        core_label,
        params,
        organ_label=organ_label,
        tumor_label=tumor_label,
        background_label=background_label,
        dtype=output_dtype,
    )
    return SynthesisResult(new_image, new_label, params)


def _check_label_fits(tumor_label: int, dtype: np.dtype) -> None:
    if np.issubdtype(dtype, np.integer):
        limits = np.iinfo(dtype)
        if not limits.min <= tumor_label <= limits.max:
            raise ValueError(f"tumor_label={tumor_label} does not fit the label's dtype {dtype}")
