"""Small array helpers shared by the renderers' stages."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

import numpy as np

T = TypeVar("T")

Box = tuple[slice, slice, slice]
Voxel = tuple[int, int, int]
"""A voxel index (or a box corner, or a shape) in array-axis order."""
Spacing = tuple[float, float, float]
"""Voxel spacing in mm, array-axis order."""


def triple(values: Iterable[T]) -> tuple[T, T, T]:
    """`values` as a 3-tuple; a ValueError unless there are exactly three.

    For the type checker too: ``tuple(generator)`` is a tuple of any length.

    Examples
    --------
    >>> triple(n // 2 for n in (4, 6, 9))
    (2, 3, 4)
    >>> triple([1, 2])
    Traceback (most recent call last):
    ...
    ValueError: not enough values to unpack (expected 3, got 2)
    """
    first, second, third = values
    return first, second, third


def pair(values: Iterable[T]) -> tuple[T, T]:
    """`values` as a 2-tuple; a ValueError unless there are exactly two.

    Examples
    --------
    >>> pair(2.0 * v for v in (1.5, 4.0))
    (3.0, 8.0)
    """
    first, second = values
    return first, second


def box_slices(lower: Iterable[int], upper: Iterable[int]) -> Box:
    """The slices of the box ``lower:upper`` per axis."""
    return triple(slice(a, b) for a, b in zip(lower, upper, strict=True))


def cast_like(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """`values` as `dtype`: rounded and clipped to its range when it is an integer type."""
    if np.issubdtype(dtype, np.integer):
        limits = np.iinfo(dtype)
        values = np.clip(np.rint(values), limits.min, limits.max)
    return values.astype(dtype, copy=False)
