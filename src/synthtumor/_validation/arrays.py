"""Checks of the array inputs: the image, the liver mask and the spacing.

Every check raises :class:`ValueError` or :class:`TypeError` whose message names the argument
and says what was expected, so that a bad call fails at the door and never deep inside NumPy.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

__all__ = [
    "LiverTooSmallError",
    "as_binary_mask",
    "as_spacing",
    "as_volume",
    "check_finite",
]


class LiverTooSmallError(ValueError):
    """The liver mask cannot hold the requested tumour.

    A subclass of :class:`ValueError`, so that data loaders can catch it on its own and pass the
    sample through (see the adapters), while a direct call still fails loudly.
    """


def as_volume(image: object, *, name: str = "image") -> np.ndarray:
    """Return `image` as a 3-D real-valued array without copying when possible."""
    array = np.asarray(image)
    if array.dtype == bool or not (
        np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)
    ):
        raise TypeError(
            f"{name} must be a real-valued array of Hounsfield units (integer or float dtype), "
            f"got dtype {array.dtype}"
        )
    if array.ndim != 3:
        raise ValueError(
            f"{name} must be a 3-D array (i, j, k), got {array.ndim}-D with shape {array.shape}"
        )
    if array.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {array.shape}")
    return array


def as_binary_mask(mask: object, *, shape: tuple[int, ...], name: str = "liver_mask") -> np.ndarray:
    """Return `mask` as a boolean array of `shape`, refusing anything that is not 0/1.

    A boolean or a 0/1 ``uint8`` mask is returned as a view (no copy); other dtypes are
    compared with zero after their values are checked.
    """
    array = np.asarray(mask)
    if array.ndim != 3:
        raise ValueError(
            f"{name} must be a 3-D array (i, j, k), got {array.ndim}-D with shape {array.shape}"
        )
    if array.shape != tuple(shape):
        raise ValueError(
            f"{name} must have the same shape as image {tuple(shape)}, got {array.shape}"
        )
    if array.dtype == bool:
        return array
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise TypeError(f"{name} must be a boolean or 0/1 numeric array, got dtype {array.dtype}")
    if array.dtype == np.uint8:
        if array.max() > 1:
            raise ValueError(_non_binary_message(array, name))
        return array.view(bool)
    if np.issubdtype(array.dtype, np.integer):
        if array.min() < 0 or array.max() > 1:
            raise ValueError(_non_binary_message(array, name))
        nonzero: np.ndarray = array != 0
        return nonzero
    binary: np.ndarray = array != 0
    if not np.all(array[binary] == 1):
        raise ValueError(_non_binary_message(array, name))
    return binary


def _non_binary_message(array: np.ndarray, name: str) -> str:
    values = np.unique(array)
    shown = ", ".join(str(value) for value in values[:8]) + (", ..." if values.size > 8 else "")
    return (
        f"{name} must be binary (0/1 or bool), found values [{shown}]; "
        f"pass e.g. `label == liver_value` for a label map, or use "
        f"synthtumor.synthesize_label_map, which keeps its other classes"
    )


def as_spacing(spacing: object, *, name: str = "spacing") -> tuple[float, float, float]:
    """Return `spacing` as three positive finite floats in mm.

    Any sequence, array or tensor of three real numbers; strings and bools are not numbers.
    """
    if isinstance(spacing, str | bytes) or not isinstance(spacing, Iterable):
        raise TypeError(
            f"{name} must be a sequence of 3 positive numbers in mm (array-axis order), "
            f"got {spacing!r}"
        )
    try:
        raw = np.asarray(spacing)
    except (TypeError, ValueError):
        raw = np.asarray(None)
    if raw.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be a sequence of 3 positive numbers in mm, got {spacing!r}")
    values = tuple(float(value) for value in raw.astype(float).ravel())
    if len(values) != 3 or not all(math.isfinite(value) and value > 0 for value in values):
        raise ValueError(
            f"{name} must be 3 positive finite numbers in mm (array-axis order), got {values}"
        )
    return values


def check_finite(block: np.ndarray, *, name: str, where: str) -> None:
    """Raise if a floating block holds NaN or inf; integer blocks are always finite."""
    if np.issubdtype(block.dtype, np.floating) and not np.isfinite(block).all():
        raise ValueError(f"{name} contains NaN or infinite values {where}")
