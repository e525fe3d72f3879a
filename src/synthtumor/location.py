"""Where tumours go: the public names of the location stages, in one place.

The stages live in their own modules: :mod:`synthtumor.liver_stats` (the liver's statistics),
:mod:`synthtumor.collision` (the vessel mask of eq. 1-2 and the collision search behind
:func:`choose_centers`) and :mod:`synthtumor.liver_sampling` (random liver voxels). This module
re-exports their public names, so that ``from synthtumor.location import ...`` keeps working.
"""

from __future__ import annotations

from synthtumor.collision import VesselMap, choose_centers, vessel_mask
from synthtumor.liver_sampling import LiverSampler, count_voxels, liver_bounding_box
from synthtumor.liver_stats import LiverStatistics, liver_statistics

__all__ = [
    "LiverSampler",
    "LiverStatistics",
    "VesselMap",
    "choose_centers",
    "count_voxels",
    "liver_bounding_box",
    "liver_statistics",
    "vessel_mask",
]
