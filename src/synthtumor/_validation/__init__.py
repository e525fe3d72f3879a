"""Input checks shared by every entry point: the core, params files, the config, adapters, CLI.

Every check raises :class:`ValueError` (a value out of range) or :class:`TypeError` (a value of
the wrong kind) whose message names the argument and says what was expected, so that a bad call
fails at the door and never deep inside NumPy. The bounds are named constants here, documented
in ``docs/robustness.md``.

- :mod:`.arrays`: the image, the liver mask and the spacing.
- :mod:`.scalars`: bools, integers, numbers, ranges, labels, seeds and their bounds.
- :mod:`.params`: every field of a :class:`~synthtumor.TumorParams` (a params file replays
  nothing that was not checked).
- :mod:`.options`: the same checks as :mod:`argparse` types, for the command line.
"""

from synthtumor._validation.arrays import (
    LiverTooSmallError,
    as_binary_mask,
    as_spacing,
    as_volume,
    check_finite,
)
from synthtumor._validation.scalars import (
    MAX_ABS_HU,
    MAX_BLUR_MM,
    MAX_DEFORMATION_PER_RADIUS,
    MAX_LOCATION_TRIES,
    MAX_MASS_EFFECT_RADIUS_FACTOR,
    MAX_NOISE_LOWPASS_MM,
    MAX_RADIUS_MM,
    MAX_SEMI_AXIS_FACTOR,
    MAX_SEMI_AXIS_MM,
    MAX_STATS_PATCHES,
    MAX_TEXTURE_SCALE,
    MIN_RADIUS_MM,
    MIN_SEMI_AXIS_FACTOR,
    MIN_SEMI_AXIS_MM,
    SEED_BOUND,
    check_bool,
    check_choice,
    check_int,
    check_label_threshold,
    check_labels,
    check_pair,
    check_probability,
    check_real,
    check_rng,
    check_seed,
    check_value,
)

__all__ = [
    "MAX_ABS_HU",
    "MAX_BLUR_MM",
    "MAX_DEFORMATION_PER_RADIUS",
    "MAX_LOCATION_TRIES",
    "MAX_MASS_EFFECT_RADIUS_FACTOR",
    "MAX_NOISE_LOWPASS_MM",
    "MAX_RADIUS_MM",
    "MAX_SEMI_AXIS_FACTOR",
    "MAX_SEMI_AXIS_MM",
    "MAX_STATS_PATCHES",
    "MAX_TEXTURE_SCALE",
    "MIN_RADIUS_MM",
    "MIN_SEMI_AXIS_FACTOR",
    "MIN_SEMI_AXIS_MM",
    "SEED_BOUND",
    "LiverTooSmallError",
    "as_binary_mask",
    "as_spacing",
    "as_volume",
    "check_bool",
    "check_choice",
    "check_finite",
    "check_int",
    "check_label_threshold",
    "check_labels",
    "check_pair",
    "check_probability",
    "check_real",
    "check_rng",
    "check_seed",
    "check_value",
]
