"""Reference evaluation of "Label-Free Liver Tumor Segmentation" (Hu et al., CVPR 2023).

Tumour DSC and NSD (2 mm tolerance), liver DSC, case-level tumour sensitivity and specificity,
lesion-level detection rate by equivalent tumour radius, and 95 % confidence intervals.

* :mod:`synthtumor.reference.metrics` -- per-case metrics (numpy/scipy; MONAI for NSD), from
  :mod:`~synthtumor.reference.overlap` (Dice, NSD), :mod:`~synthtumor.reference.lesions` and
  :mod:`~synthtumor.reference.radius_bins` (lesion-level detection).
* :mod:`synthtumor.reference.stats` -- bootstrap and Wilson intervals, paired tests.
* :mod:`synthtumor.reference.evaluate` -- folder evaluation and report files, from
  :mod:`~synthtumor.reference.case_pairs`, :mod:`~synthtumor.reference.summary`,
  :mod:`~synthtumor.reference.evaluation_report` and :mod:`~synthtumor.reference.comparison`.

Training and inference (MONAI; ``docs/training.md``, ``docs/inference.md``):

* :mod:`synthtumor.reference.prepare` -- scans and masks -> 0/1/2 label maps and a k-fold
  datalist (``synthtumor prepare``), from :mod:`~synthtumor.reference.case_discovery`,
  :mod:`~synthtumor.reference.case_checks`, :mod:`~synthtumor.reference.label_mapping`,
  :mod:`~synthtumor.reference.folds`, :mod:`~synthtumor.reference.datalist` and
  :mod:`~synthtumor.reference.writers`.
* :mod:`synthtumor.reference.config` -- the training config (TOML/JSON, ``--set`` overrides):
  :mod:`~synthtumor.reference.config_input`, :mod:`~synthtumor.reference.config_network`,
  :mod:`~synthtumor.reference.training_config`, :mod:`~synthtumor.reference.profiles` and
  :mod:`~synthtumor.reference.config_loader`.
* :mod:`synthtumor.reference.train` -- training with checkpoints, resume, DDP and AMP
  (``synthtumor train``), put together from small parts: :mod:`~synthtumor.reference.data`
  (cases, ``synthesis.where``, dataset and loader), :mod:`~synthtumor.reference.models`
  (network, optimizer, schedule; :mod:`~synthtumor.reference.slice_model` for 2-D),
  :mod:`~synthtumor.reference.loop`, :mod:`~synthtumor.reference.validation`,
  :mod:`~synthtumor.reference.selection` (the best checkpoint, with fallbacks),
  :mod:`~synthtumor.reference.checkpointing`, :mod:`~synthtumor.reference.run_logs`,
  :mod:`~synthtumor.reference.run_setup` and :mod:`~synthtumor.reference.distributed`.
* :mod:`synthtumor.reference.scans` -- the one scan loader of the commands (grid checked).
* :mod:`synthtumor.reference.predict` -- sliding-window inference on the scan's own grid and
  the paper's post-processing (``synthtumor predict``).
* :mod:`synthtumor.reference.robustness` -- the controllable robustness benchmark (section
  5.5): :mod:`~synthtumor.reference.robustness_levels`,
  :mod:`~synthtumor.reference.robustness_run` and :mod:`~synthtumor.reference.robustness_report`.
* :mod:`synthtumor.reference.visual_turing` -- Visual Turing Test material (5.1), scored by
  :mod:`~synthtumor.reference.turing_scoring`.

Importing this package does not import torch or MONAI; :func:`normalized_surface_dice` (and
everything that calls it), training and inference import them on first use. See
``docs/evaluation.md``.
"""

from synthtumor.reference.config import (
    TrainingConfig,
    apply_overrides,
    load_config,
    profile_config,
)
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
from synthtumor.reference.predict import Predictor, postprocess_labels, predict_files
from synthtumor.reference.prepare import fold_split, load_datalist, prepare_dataset
from synthtumor.reference.robustness import run_benchmark
from synthtumor.reference.stats import (
    ConfidenceInterval,
    bootstrap_ci,
    paired_test,
    wilson_interval,
)
from synthtumor.reference.train import train
from synthtumor.reference.visual_turing import build_turing_set, score_ratings

__all__ = [
    "RADIUS_BINS_MM",
    "RADIUS_BIN_LABELS",
    "REPORT_FILES",
    "ConfidenceInterval",
    "Lesion",
    "LesionDetection",
    "Predictor",
    "Summary",
    "TrainingConfig",
    "apply_overrides",
    "bootstrap_ci",
    "build_turing_set",
    "case_level_detection",
    "case_metrics",
    "compare_folders",
    "comparison_markdown",
    "detection_rate_by_radius",
    "dice",
    "equivalent_radius_mm",
    "evaluate_cases",
    "evaluate_folder",
    "fold_split",
    "lesion_detection",
    "load_config",
    "load_datalist",
    "normalized_surface_dice",
    "pair_cases",
    "paired_comparison",
    "paired_test",
    "postprocess_labels",
    "predict_files",
    "prepare_dataset",
    "profile_config",
    "radius_bin_label",
    "radius_bin_labels",
    "read_per_case_csv",
    "run_benchmark",
    "score_ratings",
    "summarise",
    "train",
    "wilson_interval",
]
