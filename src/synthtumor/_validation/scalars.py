"""Checks of scalar arguments: bools, integers, finite numbers, ranges, labels and seeds.

A check returns the value in its plain Python type (``bool``, ``int``, ``float``) or raises:
:class:`TypeError` when the value is of the wrong kind (a string for a number, a float for an
integer, ``"False"`` for a bool), :class:`ValueError` when it is of the right kind but out of
range (NaN and infinity included). Messages name the argument and what was expected.

The bounds below keep every input in a range where the library runs in bounded time and
memory; each is documented in ``docs/robustness.md``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import SupportsFloat, SupportsInt, TypeGuard

import numpy as np

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
    "check_bool",
    "check_choice",
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

SEED_BOUND = 2**53
"""Every seed the library draws or takes as an integer lies in ``[0, SEED_BOUND)``: the
integers a JSON reader that parses numbers as doubles (JavaScript, many viewers) keeps exact,
so a seed in a params or run file reads back as written."""

MAX_BLUR_MM = 10.0
"""Largest Gaussian sigma, in mm, of every blur of a tumour (edge, texture, capsule, the
scanner's PSF) and of the vessel smoothing: 8 times the paper's widest edge blur (1.2 mm). The
cost grows with the cube of the sigma (a large tumour takes about 1 s at 10 mm, 5 s at 20 mm
and minutes at 100 mm on one core)."""

MAX_NOISE_LOWPASS_MM = 20.0
"""Largest sigma of the realistic mode's noise low-pass (``noise_lowpass_mm``)."""

MAX_RADIUS_MM = 150.0
"""Largest tumour radius or semi-axis in mm (a 30 cm lesion; Table 6's largest is 40 mm)."""

MIN_RADIUS_MM = 0.1
"""Smallest nominal tumour radius in mm (Table 6's smallest is 4 mm)."""

MIN_SEMI_AXIS_FACTOR = 0.01
"""Smallest semi-axis factor (``semi_axis_factor``; the paper's 0.75)."""

MAX_SEMI_AXIS_FACTOR = 2.0
"""Largest semi-axis factor (``semi_axis_factor``; the paper's 1.25)."""

MIN_SEMI_AXIS_MM = MIN_RADIUS_MM * MIN_SEMI_AXIS_FACTOR
"""Smallest semi-axis of a drawn tumour: the shape divides by it in float32."""

MAX_SEMI_AXIS_MM = MAX_RADIUS_MM * MAX_SEMI_AXIS_FACTOR
"""Largest semi-axis of a drawn tumour."""

MAX_DEFORMATION_PER_RADIUS = 1.0
"""Largest elastic deformation sigma_e as a multiple of the tumour's radius (Table 6's largest
is 0.375, the robustness benchmark's 3 sigma shape level about 0.4): the deformed tumour's box
grows with it, so it is tied to the tumour's size."""

MAX_TEXTURE_SCALE = 10.0
"""Largest texture up-scaling eta (Table 1 draws it from U(1.1, 1.5))."""

MAX_MASS_EFFECT_RADIUS_FACTOR = 10.0
"""Largest gamma_max / r of eq. 5 (the paper's 1.3)."""

MAX_ABS_HU = 10_000.0
"""Largest magnitude of a value in Hounsfield units (a mean, a std, a contrast): CT values lie
in about [-1024, 3071], so anything beyond is a mistake, and float32 stays far from overflow."""

MAX_LOCATION_TRIES = 1_000
"""Most candidate centres tried per tumour (the paper's retry loop; default 30)."""

MAX_STATS_PATCHES = 1_024
"""Most random liver patches measured for the liver's statistics (default 32)."""


# The exact-type tests first: params check every field of every tumour, and the ABC checks
# behind numbers.Real cost several times more.


def _is_bool(value: object) -> bool:
    return type(value) is bool or isinstance(value, np.bool_)


def _is_real(value: object) -> TypeGuard[SupportsFloat]:
    if type(value) is float or type(value) is int:
        return True
    return isinstance(value, numbers.Real) and not _is_bool(value)


def _is_int(value: object) -> TypeGuard[SupportsInt]:
    if type(value) is int:
        return True
    return isinstance(value, numbers.Integral) and not _is_bool(value)


def check_bool(value: object, *, name: str) -> bool:
    """Return `value` as a bool; anything but True or False (``"False"``, 0) is a TypeError.

    Examples
    --------
    >>> check_bool(False, name="capsule")
    False
    >>> check_bool("False", name="capsule")
    Traceback (most recent call last):
    ...
    TypeError: capsule must be True or False, got 'False' (str)
    """
    if not _is_bool(value):
        raise TypeError(f"{name} must be True or False, got {value!r} ({type(value).__name__})")
    return bool(value)


def _bounds_text(low: float, high: float, low_open: bool, high_open: bool) -> str:
    """``lie in [0, 1]``, ``be > 0``, ``be <= 20`` or ``be finite``: what a number must do."""
    if math.isfinite(low) and math.isfinite(high):
        return f"lie in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if math.isfinite(low):
        return f"be {'>' if low_open else '>='} {low:g}"
    if math.isfinite(high):
        return f"be {'<' if high_open else '<='} {high:g}"
    return "be finite"


def check_int(
    value: object, *, name: str, minimum: int | None = None, maximum: int | None = None
) -> int:
    """Return `value` as an int within ``[minimum, maximum]`` (a bound of None is open).

    Examples
    --------
    >>> check_int(30, name="max_location_tries", minimum=1, maximum=1000)
    30
    >>> check_int(2.5, name="max_location_tries", minimum=1)
    Traceback (most recent call last):
    ...
    TypeError: max_location_tries must be an integer, got 2.5 (float)
    """
    if not _is_int(value):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    number = int(value)
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        if maximum is None:
            raise ValueError(f"{name} must be an integer >= {minimum}, got {number}")
        if minimum is None:
            raise ValueError(f"{name} must be an integer <= {maximum}, got {number}")
        raise ValueError(f"{name} must be an integer in [{minimum}, {maximum}], got {number}")
    return number


def check_real(
    value: object,
    *,
    name: str,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return `value` as a finite float within the bounds (open or closed at each end).

    Examples
    --------
    >>> check_real(0.5, name="capsule_share", low=0.0, high=1.0)
    0.5
    >>> check_real(float("nan"), name="capsule_share", low=0.0, high=1.0)
    Traceback (most recent call last):
    ...
    ValueError: capsule_share must lie in [0, 1] (a finite number), got nan
    """
    if not _is_real(value):
        raise TypeError(f"{name} must be a number, got {value!r} ({type(value).__name__})")
    number = float(value)
    below = number <= low if low_open else number < low
    above = number >= high if high_open else number > high
    if not math.isfinite(number) or below or above:
        raise ValueError(
            f"{name} must {_bounds_text(low, high, low_open, high_open)} (a finite number), "
            f"got {value!r}"
        )
    return number


def check_value(
    value: object, name: str, *, minimum: float = 0.0, maximum: float = math.inf
) -> None:
    """Check a constant-or-``(low, high)``-range hyper-parameter; both ends within bounds.

    Examples
    --------
    >>> check_value((0.6, 1.2), "edge_blur_mm", maximum=10.0)
    >>> check_value(100.0, "edge_blur_mm", maximum=10.0)
    Traceback (most recent call last):
    ...
    ValueError: edge_blur_mm must be finite and in [0, 10], got 100.0
    """
    ends = value if isinstance(value, tuple) else (value,)
    if isinstance(value, tuple) and len(value) != 2:
        raise ValueError(f"{name} must be a number or a (low, high) pair, got {value!r}")
    for end in ends:
        if not _is_real(end):
            raise TypeError(f"{name} must be a number or a (low, high) pair, got {value!r}")
        number = float(end)
        if not math.isfinite(number) or not minimum <= number <= maximum:
            bound = f">= {minimum:g}" if maximum == math.inf else f"in [{minimum:g}, {maximum:g}]"
            raise ValueError(f"{name} must be finite and {bound}, got {value!r}")
    if isinstance(value, tuple) and value[0] > value[1]:
        raise ValueError(f"{name} range must be (low, high) with low <= high, got {value!r}")


def check_pair(pair: object, name: str, *, low: float, high: float) -> None:
    """Check a ``(low, high)`` pair of numbers with ``low <= pair[0] <= pair[1] <= high``."""
    if not isinstance(pair, tuple) or len(pair) != 2 or not all(_is_real(v) for v in pair):
        raise TypeError(f"{name} must be a (low, high) pair of numbers, got {pair!r}")
    if not all(math.isfinite(v) for v in pair) or not low <= pair[0] <= pair[1] <= high:
        raise ValueError(f"{name} must satisfy {low} <= low <= high <= {high}, got {pair!r}")


def check_choice(
    value: object, choices: Iterable[str], *, name: str, allow_none: bool = False
) -> str | None:
    """Return `value` if it is one of the strings `choices` (or None when allowed)."""
    options = tuple(choices)
    if value is None and allow_none:
        return None
    if not isinstance(value, str) or value not in options:
        listed = ", ".join(repr(option) for option in options)
        extra = " or None" if allow_none else ""
        raise ValueError(f"{name} must be one of {listed}{extra}; got {value!r}")
    return value


def check_probability(prob: object, *, name: str = "prob") -> float:
    """Return `prob` as a float in [0, 1], refusing anything else (NaN included).

    Examples
    --------
    >>> check_probability(1)
    1.0
    """
    if not _is_real(prob):
        raise TypeError(f"{name} must be a number in [0, 1], got {prob!r}")
    if not 0.0 <= float(prob) <= 1.0:
        raise ValueError(f"{name} must lie in [0, 1], got {prob!r}")
    return float(prob)


def check_labels(named: dict[str, object], *, maximum: int | None = None) -> tuple[int, ...]:
    """Distinct non-negative integer label values (at most `maximum`), named in `named`.

    Examples
    --------
    >>> check_labels({"organ_label": 1, "tumor_label": 2})
    (1, 2)
    >>> check_labels({"organ_label": 1, "tumor_label": 1})
    Traceback (most recent call last):
    ...
    ValueError: organ_label and tumor_label must be distinct, got (1, 1)
    """
    values = []
    for name, value in named.items():
        if not _is_int(value) or int(value) < 0:
            upto = "" if maximum is None else f" <= {maximum}"
            raise ValueError(f"{name} must be a non-negative integer{upto}, got {value!r}")
        values.append(int(value))
        if maximum is not None and values[-1] > maximum:
            raise ValueError(f"{name} must be an integer in [0, {maximum}], got {value!r}")
    if len(set(values)) != len(values):
        names = " and ".join(", ".join(named).rsplit(", ", 1))
        raise ValueError(f"{names} must be distinct, got {tuple(values)}")
    return tuple(values)


def check_label_threshold(value: object, *, name: str = "label_threshold") -> float:
    """The t'' level from which a voxel is labelled tumour: a number in (0, 1).

    At 0 every voxel of the tumour's box would be tumour, at 1 or above no voxel ever is.
    """
    if not _is_real(value):
        raise TypeError(f"{name} must be a number in (0, 1), got {value!r}")
    if not 0.0 < float(value) < 1.0:
        raise ValueError(f"{name} must lie in (0, 1), got {value!r}")
    return float(value)


def check_seed(seed: object, *, name: str = "seed") -> int:
    """An integer seed in ``[0, SEED_BOUND)``.

    Examples
    --------
    >>> check_seed(7)
    7
    >>> check_seed(2**60)
    Traceback (most recent call last):
    ...
    ValueError: seed must be an integer in [0, 2**53), got 1152921504606846976
    """
    if not _is_int(seed):
        raise TypeError(f"{name} must be an integer in [0, 2**53), got {seed!r}")
    if not 0 <= int(seed) < SEED_BOUND:
        raise ValueError(f"{name} must be an integer in [0, 2**53), got {seed!r}")
    return int(seed)


def check_rng(rng: object, *, name: str = "rng") -> np.random.Generator:
    """``numpy.random.default_rng(rng)``, with a named error for what it cannot take.

    Accepts None, a Generator, a BitGenerator, a SeedSequence, a non-negative integer or a
    sequence of them (SPEC 7); a bool or a float is refused rather than silently truncated.
    """
    if _is_bool(rng) or isinstance(rng, float | np.floating | str | bytes):
        raise TypeError(
            f"{name} must be None, a numpy Generator, a SeedSequence or a non-negative "
            f"integer, got {rng!r} ({type(rng).__name__})"
        )
    try:
        # numpy itself tells which of the many seed forms `rng` is, or raises.
        return np.random.default_rng(rng)  # type: ignore[arg-type]
    except (TypeError, ValueError) as error:
        raise type(error)(
            f"{name} must be None, a numpy Generator, a SeedSequence or a non-negative "
            f"integer, got {rng!r}: {error}"
        ) from None
