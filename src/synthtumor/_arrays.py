"""Small array helpers shared by the renderers' stages."""

from __future__ import annotations

import numpy as np

Box = tuple[slice, slice, slice]


def box_slices(lower, upper) -> Box:
    """The slices of the box ``lower:upper`` per axis."""
    return tuple(slice(a, b) for a, b in zip(lower, upper, strict=True))  # type: ignore[return-value]


def cast_like(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """`values` as `dtype`: rounded and clipped to its range when it is an integer type."""
    if np.issubdtype(dtype, np.integer):
        limits = np.iinfo(dtype)
        values = np.clip(np.rint(values), limits.min, limits.max)
    return values.astype(dtype, copy=False)
