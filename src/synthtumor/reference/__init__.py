"""Reference evaluation of "Label-Free Liver Tumor Segmentation" (Hu et al., CVPR 2023).

Tumour DSC and NSD (2 mm tolerance), liver DSC, case-level tumour sensitivity and specificity,
lesion-level detection rate by equivalent tumour radius, and 95 % confidence intervals.

* :mod:`synthtumor.reference.metrics` -- per-case metrics (numpy/scipy; MONAI for NSD).
* :mod:`synthtumor.reference.stats` -- bootstrap and Wilson intervals, paired tests.
* :mod:`synthtumor.reference.evaluate` -- folder evaluation and report files.

Importing this package does not import torch or MONAI; :func:`normalized_surface_dice` (and
everything that calls it) imports them on first use. See ``docs/evaluation.md``.
"""

from synthtumor.reference.evaluate import (
    REPORT_FILES,
    Summary,
    compare_folders,
    comparison_markdown,
    evaluate_cases,
    evaluate_folder,
    pair_cases,
    paired_comparison,
    read_per_case_csv,
    summarise,
)
from synthtumor.reference.metrics import (
    RADIUS_BIN_LABELS,
    RADIUS_BINS_MM,
    Lesion,
    LesionDetection,
    case_level_detection,
    case_metrics,
    detection_rate_by_radius,
    dice,
    equivalent_radius_mm,
    lesion_detection,
    normalized_surface_dice,
    radius_bin_label,
    radius_bin_labels,
)
from synthtumor.reference.stats import (
    ConfidenceInterval,
    bootstrap_ci,
    paired_test,
    wilson_interval,
)

__all__ = [
    "RADIUS_BINS_MM",
    "RADIUS_BIN_LABELS",
    "REPORT_FILES",
    "ConfidenceInterval",
    "Lesion",
    "LesionDetection",
    "Summary",
    "bootstrap_ci",
    "case_level_detection",
    "case_metrics",
    "compare_folders",
    "comparison_markdown",
    "detection_rate_by_radius",
    "dice",
    "equivalent_radius_mm",
    "evaluate_cases",
    "evaluate_folder",
    "lesion_detection",
    "normalized_surface_dice",
    "pair_cases",
    "paired_comparison",
    "paired_test",
    "radius_bin_label",
    "radius_bin_labels",
    "read_per_case_csv",
    "summarise",
    "wilson_interval",
]
