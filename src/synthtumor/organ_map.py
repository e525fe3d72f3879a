"""Organ maps with many classes (TotalSegmentator): the organ's mask in, the map with tumours out.

``synthesize(ct, organ_map, organ_label=7, ...)`` synthesizes on ``organ_map == 7`` and returns
the map itself with the tumour voxels set to ``tumor_label``: every other class, and the organ's
own outline, is kept as it was. A bilateral organ is one organ when `organ_label` lists both
sides (``(2, 3)``), or one side when it names one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synthtumor._renamed import renamed_label
from synthtumor.params import TumorParams

__all__ = ["OrganMap", "as_organ_labels", "read_organ_map", "renamed_label", "write_tumors"]


@dataclass(frozen=True)
class OrganMap:
    """An organ map read for synthesis.

    Attributes
    ----------
    classes : numpy.ndarray
        The map as given (never written to).
    organ : numpy.ndarray
        Boolean mask of the organ (every value of `organ_label`).
    background_label : int
        The map's background value (fat, air: what an exophytic tumour may reach).
    """

    classes: np.ndarray
    organ: np.ndarray
    background_label: int = 0

    def blocked(self, box: tuple[slice, ...]) -> np.ndarray:
        """Where, on `box`, the map holds another class: no tumour may reach it."""
        blocked: np.ndarray = self.classes[box] != self.background_label
        blocked &= ~self.organ[box]
        return blocked

    def other_classes(self) -> np.ndarray:
        """Where the map holds another class than the organ and the background."""
        return self.blocked(tuple(slice(None) for _ in self.classes.shape))

    def with_tumors(self, core_label: np.ndarray, params: TumorParams) -> np.ndarray:
        """The map with the tumour voxels of `core_label` (the label `params` rendered)."""
        return write_tumors(self.classes, core_label, params, params.tumor_label)


def write_tumors(
    label: np.ndarray,
    core_label: np.ndarray,
    params: TumorParams,
    tumor_label: int,
    dtype: np.dtype | None = None,
) -> np.ndarray:
    """A copy of `label` (as `dtype`) with the core's tumour voxels set to `tumor_label`.

    Only the tumours' boxes are searched: outside them the core changes nothing.
    """
    from synthtumor.render import tumor_box

    output = label.astype(label.dtype if dtype is None else dtype, copy=True)
    for spec in params.tumors:
        lower, upper = tumor_box(spec, params)
        box = tuple(slice(a, b) for a, b in zip(lower, upper, strict=True))
        output[box][core_label[box] == params.tumor_label] = tumor_label
    return output


def as_organ_labels(organ_label: object) -> tuple[int, ...]:
    """`organ_label` as a tuple of class values: one int, or several (both kidneys).

    Examples
    --------
    >>> as_organ_labels(7), as_organ_labels((2, 3))
    ((7,), (2, 3))
    """
    values = organ_label if isinstance(organ_label, tuple | list) else (organ_label,)
    if not values or not all(
        isinstance(v, int | np.integer) and not isinstance(v, bool) for v in values
    ):
        raise TypeError(
            f"organ_label must be an int or a tuple of ints (e.g. 7, or (2, 3) for both "
            f"kidneys), got {organ_label!r}"
        )
    return tuple(int(v) for v in values)


def read_organ_map(
    organ_map: object,
    organ_label: object,
    *,
    shape: tuple[int, ...],
    background_label: int,
    tumor_label: int,
    name: str = "liver_mask",
) -> OrganMap:
    """Check an organ map and pick the organ out of it.

    Raises ValueError when a value of `organ_label` is absent from the map, or when
    `tumor_label` is already a class of it (the tumours would merge with that class).

    Examples
    --------
    >>> classes = np.zeros((4, 4, 4), np.uint8)
    >>> classes[1, 1, 1], classes[2, 2, 2] = 7, 5
    >>> read_organ_map(classes, 7, shape=classes.shape, background_label=0,
    ...                tumor_label=2).organ.sum()
    np.int64(1)
    >>> read_organ_map(classes, 3, shape=classes.shape, background_label=0, tumor_label=2)
    Traceback (most recent call last):
    ...
    ValueError: organ_label 3 is not a class of liver_mask, whose classes are 5, 7
    """
    values = as_organ_labels(organ_label)
    classes = np.asarray(organ_map)
    if classes.shape != tuple(shape):
        raise ValueError(f"{name} must have the image's shape {tuple(shape)}, got {classes.shape}")
    if not np.issubdtype(classes.dtype, np.integer):
        raise TypeError(
            f"{name} must be an integer class map when organ_label is given, got dtype "
            f"{classes.dtype}"
        )
    info = np.iinfo(classes.dtype)
    if not info.min <= tumor_label <= info.max:
        raise ValueError(f"tumor_label {tumor_label} does not fit {name}'s dtype {classes.dtype}")
    # One comparison per value asked about; the map's classes are listed only for a message.
    organ = np.zeros(classes.shape, dtype=bool)
    for value in values:
        side = classes == value
        if value == background_label or not side.any():
            listed = ", ".join(str(v) for v in _classes(classes, background_label)) or "none"
            raise ValueError(
                f"organ_label {value} is not a class of {name}, whose classes are {listed}"
            )
        organ |= side
    if np.any(classes == tumor_label):
        free = _free_value(_classes(classes, background_label), classes.dtype)
        raise ValueError(
            f"tumor_label {tumor_label} is already a class of {name}; choose a free value such "
            f"as {free} (TumorConfig(tumor_label=...), CLI --tumor-label)"
        )
    return OrganMap(classes=classes, organ=organ, background_label=background_label)


def _free_value(labels: list[int], dtype: np.dtype) -> int:
    top = min(int(np.iinfo(dtype).max), 255)
    return next((v for v in range(top, 0, -1) if v not in labels), top)


def _classes(classes: np.ndarray, background_label: int) -> list[int]:
    """The classes `classes` holds, background left out."""
    return [int(v) for v in np.unique(classes) if v != background_label]
