"""The controllable robustness benchmark of the paper (section 5.5, Figure 6).

Synthetic test tumours are put into healthy scans, varying one dimension at a time while the
others stay inside their training distribution, and any segmentation model is scored on them
(tumour DSC per dimension and level). Each dimension is a quantity of
:class:`synthtumor.TumorConfig` whose training distribution (mean mu and standard deviation
sigma) follows from the config:

* size -- log2 of the tumour radius (``SizePreset.radius_mm``); training: the four Table 6
  sizes, equally likely.
* shape -- elastic deformation relative to the radius (``SizePreset.deformation_mm`` / radius);
  training: the presets' sigma_e / r.
* intensity -- the tumour's mean HU (``texture_mean_hu``); training: U(30, mu_p - 10) with mu_p
  the scan's parenchyma mean (sigma at least 10 HU).
* texture -- the grain scale eta (``texture_scale``); training: U(1.1, 1.5).
* location -- depth of the tumour centre below the liver surface, in mm; training: uniform over
  the liver's voxels.

Levels: "iid" draws the varied quantity from [mu - sigma, mu + sigma]; "2sigma" from
[mu - 2 sigma, mu - sigma] ("low" side) or [mu + sigma, mu + 2 sigma] ("high" side); "3sigma" from
the next band out. Bands are clipped to what the generator accepts (radius >= 1 mm, eta >= 1,
depth within the liver); a sample the liver cannot hold (a radius too large for it) is skipped
and counted. Each sample holds one tumour; its DSC is that of the model's tumour class against
the synthetic tumour's label.

The model is any callable ``model(image, affine) -> label map`` (0 background, 1 liver,
2 tumour, the image's shape), e.g. :class:`synthtumor.reference.predict.Predictor`.

The parts: :mod:`~.robustness_scans` (the healthy scans), :mod:`~.robustness_levels` (the
distributions, levels and the drawing of a test tumour), :mod:`~.robustness_run` (running the
benchmark) and :mod:`~.robustness_report` (its summary and report files). Their public names
are importable from here.

Examples
--------
>>> import numpy as np
>>> from synthtumor.phantom import make_phantom
>>> phantom = make_phantom(shape=(64, 64, 48), rng=0)
>>> scan = Scan("phantom", phantom.image, phantom.liver_mask, np.diag([*phantom.spacing, 1.0]))
>>> def oracle_of_nothing(image, affine):  # predicts liver everywhere, never tumour
...     return np.ones(image.shape, np.uint8)
>>> result = run_benchmark(oracle_of_nothing, [scan], dimensions=("texture",), repeats=1)
>>> sorted({(row["level"], row["side"]) for row in result.samples})
[('2sigma', 'high'), ('2sigma', 'low'), ('3sigma', 'high'), ('3sigma', 'low'), ('iid', 'both')]
>>> {row["dsc"] for row in result.samples}
{0.0}
"""

from __future__ import annotations

from synthtumor.reference.robustness_levels import (
    DIMENSIONS,
    LEVELS,
    Distribution,
    level_band,
    training_distributions,
)
from synthtumor.reference.robustness_report import (
    SAMPLE_COLUMNS,
    SUMMARY_COLUMNS,
    BenchmarkResult,
    summary_markdown,
)
from synthtumor.reference.robustness_run import Model as Model
from synthtumor.reference.robustness_run import run_benchmark
from synthtumor.reference.robustness_scans import Scan, load_scan

__all__ = [
    "DIMENSIONS",
    "LEVELS",
    "SAMPLE_COLUMNS",
    "SUMMARY_COLUMNS",
    "BenchmarkResult",
    "Distribution",
    "Scan",
    "level_band",
    "load_scan",
    "run_benchmark",
    "summary_markdown",
    "training_distributions",
]
