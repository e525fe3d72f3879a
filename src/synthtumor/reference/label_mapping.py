"""Source label values -> the 0/1/2 label maps of the reference commands.

Voxels whose value is in ``liver_values`` become 1 (liver), those in ``tumor_values`` become 2
(tumour), everything else 0. TotalSegmentator's "total" task has the liver at 5
(``liver_values=(5,)``, no tumour class); LiTS has liver 1 and tumour 2 (the default).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from synthtumor.io import integer_labels

__all__ = ["LabelMapping", "map_labels", "mapping_from_values"]


@dataclass(frozen=True)
class LabelMapping:
    """Which source label values are liver (-> 1) and tumour (-> 2); all others become 0.

    Examples
    --------
    >>> LabelMapping(liver_values=(5,), tumor_values=()).liver_values
    (5,)
    """

    liver_values: tuple[int, ...] = (1,)
    tumor_values: tuple[int, ...] = (2,)

    def __post_init__(self) -> None:
        if not self.liver_values:
            raise ValueError("liver_values must name at least one label value")
        overlap = set(self.liver_values) & set(self.tumor_values)
        if overlap:
            raise ValueError(f"values {sorted(overlap)} are both liver and tumour values")


def mapping_from_values(
    liver_values: Sequence[int] = (1,), tumor_values: Sequence[int] | None = None
) -> LabelMapping:
    """The mapping of ``synthtumor prepare``'s ``--liver-values`` and ``--tumor-values``.

    ``tumor_values=None`` means ``(2,)`` when `liver_values` is the default ``(1,)``
    (LiTS-style), else none (e.g. ``liver_values=(5,)`` for a TotalSegmentator class map,
    where 2 is a kidney).

    Examples
    --------
    >>> mapping_from_values()
    LabelMapping(liver_values=(1,), tumor_values=(2,))
    >>> mapping_from_values([5])
    LabelMapping(liver_values=(5,), tumor_values=())
    """
    liver = tuple(int(v) for v in liver_values)
    if tumor_values is None:
        tumor_values = (2,) if liver == (1,) else ()
    return LabelMapping(liver, tuple(int(v) for v in tumor_values))


def map_labels(labels: np.ndarray, mapping: LabelMapping) -> np.ndarray:
    """Map a source label map to uint8 0 (background) / 1 (liver) / 2 (tumour).

    Examples
    --------
    >>> map_labels(np.array([0, 5, 3, 7]), LabelMapping(liver_values=(5,), tumor_values=(7,)))
    array([0, 1, 0, 2], dtype=uint8)
    """
    labels = integer_labels(np.asarray(labels), "label map", dtype=np.int64)
    mapped = np.zeros(labels.shape, dtype=np.uint8)
    mapped[np.isin(labels, mapping.liver_values)] = 1
    mapped[np.isin(labels, mapping.tumor_values)] = 2
    return mapped
