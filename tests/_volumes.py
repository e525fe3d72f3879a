"""Small scans shared by the core tests (cached: building a phantom is the slow part)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from synthtumor import TumorConfig, TumorParams, sample
from synthtumor.phantom import Phantom, make_phantom

COARSE_SPACING = (3.0, 3.0, 4.0)
COARSE_SHAPE = (80, 80, 48)


@lru_cache(maxsize=8)
def coarse_phantom(dtype: str = "float32", seed: int = 0) -> Phantom:
    """A whole-abdomen phantom at 3 x 3 x 4 mm: big enough a liver for every size, and fast."""
    return make_phantom(COARSE_SHAPE, COARSE_SPACING, dtype=np.dtype(dtype), rng=seed)


@lru_cache(maxsize=8)
def phantom_at(spacing: tuple[float, float, float], seed: int = 0) -> Phantom:
    """The same anatomy (same field of view in mm) sampled at another spacing."""
    field_of_view_mm = np.array(COARSE_SHAPE) * np.array(COARSE_SPACING)
    shape = tuple(round(n) for n in field_of_view_mm / np.array(spacing))
    return make_phantom(shape, spacing, rng=seed)


def sample_on(
    phantom: Phantom, size: str, *, rng: int, config: TumorConfig | None = None
) -> TumorParams:
    """:func:`synthtumor.sample` on a phantom's scan and liver mask, at its spacing."""
    return sample(
        phantom.image,
        phantom.liver_mask,
        spacing=phantom.spacing,
        size=size,
        config=config,
        rng=rng,
    )


def liver_box(mask: np.ndarray) -> tuple[slice, slice, slice]:
    """Bounding box of a mask."""
    index = np.argwhere(mask)
    low, high = index.min(axis=0), index.max(axis=0) + 1
    return tuple(slice(a, b) for a, b in zip(low, high, strict=True))
