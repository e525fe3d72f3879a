"""Equivalent lesion radii and the radius bins of lesion-level detection rates.

Examples
--------
>>> radius_bin_label(equivalent_radius_mm(4 / 3 * 3.141592653589793 * 7**3))
'5-10'
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = [
    "RADIUS_BINS_MM",
    "RADIUS_BIN_LABELS",
    "equivalent_radius_mm",
    "radius_bin_label",
    "radius_bin_labels",
]

RADIUS_BINS_MM: tuple[tuple[float, float], ...] = (
    (0.0, 5.0),
    (5.0, 10.0),
    (10.0, 15.0),
    (15.0, 20.0),
    (20.0, math.inf),
)
"""Half-open radius bins ``[low, high)`` in mm used for lesion-level detection rates."""

RADIUS_BIN_LABELS: tuple[str, ...] = ("0-5", "5-10", "10-15", "15-20", ">=20")
"""Labels of :data:`RADIUS_BINS_MM`, in the same order."""


def equivalent_radius_mm(volume_mm3: float) -> float:
    """Radius in mm of the sphere with volume ``volume_mm3``: ``(3V / 4π)^(1/3)``.

    Examples
    --------
    >>> round(equivalent_radius_mm(4 / 3 * 3.141592653589793 * 10**3), 6)
    10.0
    """
    return float((3.0 * float(volume_mm3) / (4.0 * math.pi)) ** (1.0 / 3.0))


def radius_bin_labels(bins: Sequence[tuple[float, float]] = RADIUS_BINS_MM) -> tuple[str, ...]:
    """Labels ``"lo-hi"`` (or ``">=lo"`` for an open-ended bin) of radius bins.

    Examples
    --------
    >>> radius_bin_labels()
    ('0-5', '5-10', '10-15', '15-20', '>=20')
    """
    _check_bins(bins)
    return tuple(f">={lo:g}" if math.isinf(hi) else f"{lo:g}-{hi:g}" for lo, hi in bins)


def radius_bin_label(
    radius_mm: float, bins: Sequence[tuple[float, float]] = RADIUS_BINS_MM
) -> str | None:
    """Label of the half-open bin ``[lo, hi)`` containing ``radius_mm``; None if none does.

    Examples
    --------
    >>> radius_bin_label(3.0), radius_bin_label(10.0), radius_bin_label(25.0)
    ('0-5', '10-15', '>=20')
    """
    for (lo, hi), label in zip(bins, radius_bin_labels(bins), strict=True):
        if lo <= radius_mm < hi:
            return label
    return None


def _check_bins(bins: Sequence[tuple[float, float]]) -> None:
    if len(bins) == 0:
        raise ValueError("bins must contain at least one (low, high) pair")
    for lo, hi in bins:
        if not (lo >= 0 and hi > lo):
            raise ValueError(f"bins must be (low, high) pairs with 0 <= low < high, got {bins!r}")
