"""Confidence intervals and paired tests over cases, on :mod:`scipy.stats`.

All randomness goes through ``np.random.default_rng(rng)``: pass an int (or a Generator) for
reproducible results; no global random state is touched.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal, NamedTuple

import numpy as np
import numpy.typing as npt
from scipy import stats as scipy_stats

__all__ = ["ConfidenceInterval", "bootstrap_ci", "paired_test", "wilson_interval"]

RngLike = int | np.random.Generator | np.random.SeedSequence | None

# Upper bound on the elements of one (resamples x cases) batch, to bound memory on large inputs.
_MAX_BATCH_ELEMENTS = 1 << 22


class ConfidenceInterval(NamedTuple):
    """A point estimate with the bounds of its confidence interval."""

    estimate: float
    low: float
    high: float


def bootstrap_ci(
    values: npt.ArrayLike,
    *,
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    rng: RngLike = None,
    statistic: Callable[..., Any] = np.mean,
) -> ConfidenceInterval:
    """Percentile bootstrap confidence interval of a statistic over cases.

    :func:`scipy.stats.bootstrap` with ``method="percentile"``: cases are resampled with
    replacement ``n_resamples`` times; the interval is the ``(1 - confidence) / 2`` and
    ``(1 + confidence) / 2`` quantiles of the resampled statistic.

    Parameters
    ----------
    values : array_like
        One value per case (1-D). NaNs are dropped first, so the interval describes the cases
        where the metric is defined.
    confidence : float, default 0.95
        Confidence level in ``(0, 1)``.
    n_resamples : int, default 10_000
        Number of bootstrap resamples.
    rng : int, Generator, SeedSequence or None
        Seed or generator for ``np.random.default_rng``; the same seed gives the same interval.
    statistic : callable, default np.mean
        Called as ``statistic(x, axis=-1)`` (vectorised over resamples), so it must accept
        ``axis``.

    Returns
    -------
    ConfidenceInterval
        ``(estimate, low, high)``. All NaN when no finite value is left; ``low`` and ``high`` are
        NaN when only one value is left.

    Examples
    --------
    >>> interval = bootstrap_ci([0.7, 0.8, 0.9, float("nan")], n_resamples=2000, rng=0)
    >>> [round(x, 3) for x in interval]
    [0.8, 0.7, 0.9]
    """
    _check_confidence(confidence)
    n_resamples = _positive_count(n_resamples)
    sample = np.asarray(values, dtype=float)
    if sample.ndim != 1:
        raise ValueError(f"values must be 1-D, got shape {sample.shape}")
    sample = sample[~np.isnan(sample)]
    if sample.size == 0:
        return ConfidenceInterval(math.nan, math.nan, math.nan)
    estimate = float(statistic(sample, axis=-1))
    if sample.size == 1:
        return ConfidenceInterval(estimate, math.nan, math.nan)
    result = scipy_stats.bootstrap(
        (sample,),
        statistic,
        n_resamples=n_resamples,
        batch=_rows_per_batch(sample.size),
        vectorized=True,
        confidence_level=confidence,
        method="percentile",
        rng=np.random.default_rng(rng),
    )
    interval = result.confidence_interval
    return ConfidenceInterval(estimate, float(interval.low), float(interval.high))


def wilson_interval(successes: int, total: int, *, confidence: float = 0.95) -> ConfidenceInterval:
    """Wilson score interval of a binomial proportion (used for sensitivity and specificity).

    ``scipy.stats.binomtest(successes, total).proportion_ci(confidence, method="wilson")``.

    Parameters
    ----------
    successes, total : int
        Number of successes and of trials, ``0 <= successes <= total``.
    confidence : float, default 0.95
        Confidence level in ``(0, 1)``.

    Returns
    -------
    ConfidenceInterval
        ``(successes / total, low, high)``; all NaN when ``total == 0``.

    Examples
    --------
    >>> [round(x, 4) for x in wilson_interval(7, 10)]
    [0.7, 0.3968, 0.8922]
    """
    _check_confidence(confidence)
    if not 0 <= successes <= total:
        raise ValueError(f"need 0 <= successes <= total, got successes={successes}, total={total}")
    if total == 0:
        return ConfidenceInterval(math.nan, math.nan, math.nan)
    interval = scipy_stats.binomtest(int(successes), int(total)).proportion_ci(
        confidence_level=confidence, method="wilson"
    )
    return ConfidenceInterval(successes / total, float(interval.low), float(interval.high))


def _absolute_mean(differences: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.abs(np.mean(differences, axis=axis))


def _sign_flip_p_value(differences: np.ndarray, n_resamples: int, rng: RngLike) -> float:
    """Two-sided sign-flip permutation p-value of the mean paired difference.

    :func:`scipy.stats.permutation_test` on one sample (``permutation_type="samples"`` flips
    signs) with the statistic ``|mean|`` and ``alternative="greater"``: exact over all ``2**n``
    sign patterns when that is no more than ``n_resamples``, else ``(1 + hits) / (1 + draws)``
    over random patterns, which is never 0.
    """
    test = scipy_stats.permutation_test(
        (differences,),
        _absolute_mean,
        permutation_type="samples",
        vectorized=True,
        n_resamples=n_resamples,
        batch=_rows_per_batch(differences.size),
        alternative="greater",
        rng=np.random.default_rng(rng),
    )
    return float(test.pvalue)


def _rows_per_batch(n_columns: int) -> int:
    return max(1, _MAX_BATCH_ELEMENTS // max(1, n_columns))


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")


def _positive_count(n_resamples: int) -> int:
    if int(n_resamples) != n_resamples or n_resamples < 1:
        raise ValueError(f"n_resamples must be a positive integer, got {n_resamples!r}")
    return int(n_resamples)


def paired_test(
    a: npt.ArrayLike,
    b: npt.ArrayLike,
    *,
    method: Literal["wilcoxon", "permutation", "t"] = "wilcoxon",
    rng: RngLike = None,
    n_resamples: int = 10_000,
) -> dict[str, Any]:
    """Two-sided paired test of two prediction sets scored on the same cases.

    Parameters
    ----------
    a, b : array_like
        Per-case scores (1-D, same length, same case order). Pairs with a NaN on either side are
        dropped.
    method : {"wilcoxon", "permutation", "t"}
        ``"wilcoxon"``: :func:`scipy.stats.wilcoxon` signed-rank test on ``a - b`` (zero
        differences dropped, scipy's default); ``"permutation"``: sign-flip permutation test of
        the mean difference (exact when ``2**n <= n_resamples``); ``"t"``:
        :func:`scipy.stats.ttest_rel`.
    rng : int, Generator, SeedSequence or None
        Seed for the permutation test.
    n_resamples : int, default 10_000
        Random sign patterns for the permutation test.

    Returns
    -------
    dict
        ``statistic`` (Wilcoxon W, t, or the mean difference for the permutation test),
        ``p_value``, ``mean_difference`` (mean of ``a - b``), ``n`` (pairs used) and ``method``.
        When every difference is exactly zero the sets are indistinguishable and all methods
        return ``statistic = 0.0`` and ``p_value = 1.0``.

    Raises
    ------
    ValueError
        If the inputs differ in length, are not 1-D, fewer than 2 complete pairs remain, or
        ``method`` is unknown.

    Examples
    --------
    >>> a = [0.80, 0.75, 0.90, 0.60, 0.85, 0.70, 0.95, 0.65]
    >>> b = [x - 0.1 for x in a]
    >>> result = paired_test(a, b, method="permutation", rng=0)
    >>> round(result["mean_difference"], 3), result["p_value"], result["n"]
    (0.1, 0.0078125, 8)
    >>> paired_test(a, a)["p_value"]
    1.0
    """
    first = np.asarray(a, dtype=float)
    second = np.asarray(b, dtype=float)
    if first.ndim != 1 or second.ndim != 1:
        raise ValueError(f"a and b must be 1-D, got shapes {first.shape} and {second.shape}")
    if first.size != second.size:
        raise ValueError(f"a and b must have equal lengths, got {first.size} and {second.size}")
    if method not in ("wilcoxon", "permutation", "t"):
        raise ValueError(f"method must be 'wilcoxon', 'permutation' or 't', got {method!r}")
    complete = ~(np.isnan(first) | np.isnan(second))
    differences = first[complete] - second[complete]
    n = int(differences.size)
    if n < 2:
        raise ValueError(f"need at least 2 complete pairs, got {n}")
    mean_difference = float(differences.mean())
    result: dict[str, Any] = {"mean_difference": mean_difference, "n": n, "method": method}

    if not np.any(differences):
        # scipy would return NaN (t-test) or warn (Wilcoxon) here; no difference means p = 1.
        return {"statistic": 0.0, "p_value": 1.0, **result}
    if method == "wilcoxon":
        test = scipy_stats.wilcoxon(differences)
        statistic, p_value = float(test.statistic), float(test.pvalue)
    elif method == "t":
        test = scipy_stats.ttest_rel(first[complete], second[complete])
        statistic, p_value = float(test.statistic), float(test.pvalue)
    else:
        statistic = mean_difference
        p_value = _sign_flip_p_value(differences, _positive_count(n_resamples), rng)
    return {"statistic": statistic, "p_value": p_value, **result}
