"""The training configuration: nested frozen dataclasses, loadable from TOML or JSON.

The defaults are the paper's recipe (Hu et al., CVPR 2023, section 4 "Implementation", and the
released training code described in ``shared/design/REFERENCE.md``): 1 mm isotropic spacing, RAS,
synthetic tumours with probability 0.9 on healthy scans, the window [-21, 189] HU then scaling,
96^3 positive/negative crops, flips, rot90 and intensity jitter, DiceCE loss, AdamW with
lr 2e-4, linear warm-up then cosine annealing, batch 2, 4,000 epochs, and sliding-window
inference with overlap 0.75 and Gaussian weighting.

A config file is TOML (``.toml``, read with :mod:`tomllib`) or JSON (``.json``) with one table
per section; a top-level ``profile`` key picks the built-in starting point ("paper" or "smoke")
that the file's tables override. Any field can be overridden on the command line with
``--set section.field=value``; values are parsed and type-checked against the dataclass fields.

This module gathers the parts, each importable from here: the sections
(:mod:`~synthtumor.reference.config_input`, :mod:`~synthtumor.reference.config_network`), the
whole config (:mod:`~synthtumor.reference.training_config`), the profiles
(:mod:`~synthtumor.reference.profiles`) and the reading and writing
(:mod:`~synthtumor.reference.config_loader`).

Examples
--------
>>> config = TrainingConfig()
>>> config.model.name, config.data.spacing_mm, config.optim.lr
('unet', (1.0, 1.0, 1.0), 0.0002)
>>> smoke = apply_overrides(profile_config("smoke"), ["train.batch_size=1", "optim.lr=1e-3"])
>>> smoke.model.name, smoke.train.batch_size, smoke.optim.lr, smoke.data.spacing_mm
('unet', 1, 0.001, (2.0, 2.0, 2.0))
"""

from __future__ import annotations

from synthtumor.reference.config_input import AugmentConfig, DataConfig, SynthesisConfig
from synthtumor.reference.config_loader import (
    apply_overrides,
    config_from_dict,
    config_to_dict,
    config_to_toml,
    load_config,
)
from synthtumor.reference.config_network import (
    SWIN_FEATURE_SIZES,
    InferenceConfig,
    ModelConfig,
    OptimConfig,
    TrainLoopConfig,
    ValidationConfig,
)
from synthtumor.reference.profiles import PROFILES, profile_config
from synthtumor.reference.training_config import TrainingConfig

__all__ = [
    "PROFILES",
    "SWIN_FEATURE_SIZES",
    "AugmentConfig",
    "DataConfig",
    "InferenceConfig",
    "ModelConfig",
    "OptimConfig",
    "SynthesisConfig",
    "TrainLoopConfig",
    "TrainingConfig",
    "ValidationConfig",
    "apply_overrides",
    "config_from_dict",
    "config_to_dict",
    "config_to_toml",
    "load_config",
    "profile_config",
]
