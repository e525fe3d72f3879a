"""synthtumor: realistic synthetic liver tumours for label-free tumour segmentation in CT.

A NumPy implementation of the tumour generator of Hu et al., "Label-Free Liver Tumor
Segmentation" (CVPR 2023), fast enough to run in every training step.

>>> from synthtumor import synthesize
>>> from synthtumor.phantom import make_phantom
>>> phantom = make_phantom(rng=0)
>>> image, label, params = synthesize(phantom.image, phantom.liver_mask,
...                                   spacing=phantom.spacing, rng=0)

Importing this package imports neither torch, MONAI nor TorchIO; the adapters in
``synthtumor.adapters`` import their framework when they are used.
"""

from synthtumor._validation import LiverTooSmallError
from synthtumor.collision import vessel_mask
from synthtumor.config import SIZE_NAMES, TUMOR_SIZES, SizePreset, TumorConfig
from synthtumor.label_map import synthesize_label_map
from synthtumor.liver_stats import LiverStatistics
from synthtumor.organs import ORGAN_NAMES, ORGAN_PRESETS, OrganPreset
from synthtumor.params import TumorParams, TumorSpec
from synthtumor.phase import PhaseEstimate, estimate_phase
from synthtumor.synthesize import (
    SynthesisResult,
    UnenhancedScanWarning,
    apply,
    liver_statistics,
    sample,
    synthesize,
    tumor_box,
)

__version__ = "0.1.0"

__all__ = [
    "ORGAN_NAMES",
    "ORGAN_PRESETS",
    "SIZE_NAMES",
    "TUMOR_SIZES",
    "LiverStatistics",
    "LiverTooSmallError",
    "OrganPreset",
    "PhaseEstimate",
    "SizePreset",
    "SynthesisResult",
    "TumorConfig",
    "TumorParams",
    "TumorSpec",
    "UnenhancedScanWarning",
    "__version__",
    "apply",
    "estimate_phase",
    "liver_statistics",
    "sample",
    "synthesize",
    "synthesize_label_map",
    "tumor_box",
    "vessel_mask",
]
