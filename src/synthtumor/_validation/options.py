"""The shared checks as :mod:`argparse` types, so the command line refuses what the API does.

A type parses the option's text, runs the same check as the Python API and turns its error into
:class:`argparse.ArgumentTypeError`, which argparse prints as one usage line naming the option
(``argument --count: must be an integer >= 1, got 0``) with exit status 2.

Booleans are never options with a value: a stage is switched off by its ``--no-...`` flag, and
a ``--config`` file holds JSON or TOML ``true``/``false``; any other spelling there (``"no"``,
``"False"``, ``0``) is refused by :class:`~synthtumor.TumorConfig` like in Python.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

from synthtumor._validation.scalars import check_int, check_real, check_seed

__all__ = ["int_option", "real_option", "seed_option"]

_NAME = "value"  # the checks name their argument; argparse names the option itself


def _argparse_error(error: Exception) -> argparse.ArgumentTypeError:
    return argparse.ArgumentTypeError(str(error).removeprefix(f"{_NAME} "))


def int_option(*, minimum: int | None = None, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse type: an integer within ``[minimum, maximum]``.

    Examples
    --------
    >>> int_option(minimum=1)("3")
    3
    >>> int_option(minimum=1)("2.5")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be an integer, got '2.5'
    """

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
        try:
            return check_int(value, name=_NAME, minimum=minimum, maximum=maximum)
        except ValueError as error:
            raise _argparse_error(error) from None

    return parse


def real_option(
    *, low: float = -math.inf, high: float = math.inf, low_open: bool = False
) -> Callable[[str], float]:
    """An argparse type: a finite number within the bounds ("nan" and "inf" refused).

    Examples
    --------
    >>> real_option(low=0.0, low_open=True)("nan")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be > 0 (a finite number), got nan
    """

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
        try:
            return check_real(value, name=_NAME, low=low, high=high, low_open=low_open)
        except ValueError as error:
            raise _argparse_error(error) from None

    return parse


def seed_option(text: str) -> int:
    """An argparse type: a seed, an integer in ``[0, 2**53)`` (:data:`SEED_BOUND`).

    Examples
    --------
    >>> seed_option("7")
    7
    """
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be an integer in [0, 2**53), got {text!r}"
        ) from None
    try:
        return check_seed(value, name=_NAME)
    except ValueError as error:
        raise _argparse_error(error) from None
