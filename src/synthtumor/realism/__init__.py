"""Realism report: measure what synthetic (or real) liver tumours look like.

:func:`lesion_statistics` measures each lesion of a CT and label map (contrast, texture, edge,
rim, shape, position) in physical units; :func:`summarise` gives medians and quartiles per
measure; :func:`compare_folders` measures two folders of cases (real and synthetic) side by
side. The ``synthtumor realism`` command wraps them (see ``docs/realism.md``).
"""

from __future__ import annotations

from synthtumor.realism.compare import (
    FieldSummary,
    compare_folders,
    find_cases,
    format_comparison,
    format_records,
    measure_case,
    summarise,
)
from synthtumor.realism.measure import NUMERIC_FIELDS, LesionStatistics, lesion_statistics

__all__ = [
    "NUMERIC_FIELDS",
    "FieldSummary",
    "LesionStatistics",
    "compare_folders",
    "find_cases",
    "format_comparison",
    "format_records",
    "lesion_statistics",
    "measure_case",
    "summarise",
]
