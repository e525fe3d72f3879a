"""The capsule (paper eq. 6-8): a thin, brighter band at the edge of the blurred tumour mask."""

from __future__ import annotations

import numpy as np

from synthtumor.shape import blur_mask

__all__ = ["capsule_increment"]


def capsule_increment(
    weight: np.ndarray,
    *,
    band: tuple[float, float],
    blur_mm: float,
    contrast_hu: float,
    spacing: tuple[float, float, float],
) -> np.ndarray:
    """Paper eq. 6-8: the HU added to draw the capsule, ``d * (e * g(sigma_d))``.

    ``e`` is the band of the blurred tumour mask with ``lb <= t'' <= ub``. Eq. 8 of the paper
    adds ``d * e``; we add the blurred ``d * e'`` that eq. 7 defines, which is what its text
    describes ("increase HU intensity of the blurred edge area").

    Examples
    --------
    >>> weight = np.linspace(0, 1, 11, dtype=np.float32).reshape(11, 1, 1)
    >>> added = capsule_increment(weight, band=(0.4, 0.7), blur_mm=0.0, contrast_hu=100.0,
    ...                           spacing=(1.0, 1.0, 1.0))
    >>> added.ravel().tolist()
    [0.0, 0.0, 0.0, 0.0, 100.0, 100.0, 100.0, 100.0, 0.0, 0.0, 0.0]
    """
    lower, upper = band
    edge = ((weight >= lower) & (weight <= upper)).astype(np.float32)
    increment = blur_mask(edge, blur_mm, spacing)
    increment *= np.float32(contrast_hu)
    return increment
