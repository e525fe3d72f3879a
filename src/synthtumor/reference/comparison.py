"""Compare two prediction sets on the same cases: per-case records, paired tests, a table.

:func:`read_per_case_csv` reads the ``per_case.csv`` of an earlier evaluation back,
:func:`paired_comparison` tests one metric between two sets of per-case records and
:func:`comparison_markdown` tabulates the results. Evaluating two folders and comparing them in
one call is :func:`synthtumor.reference.evaluate.compare_folders`.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import numpy as np

from synthtumor._renamed import SPELLING, renamed_value, respelled
from synthtumor.reference.evaluation_report import METRIC_TITLES, format_value
from synthtumor.reference.stats import RngLike, paired_test

__all__ = ["comparison_markdown", "paired_comparison", "read_per_case_csv"]

_BOOLEAN_COLUMNS = frozenset({"tumor_in_reference", "tumor_predicted"})
_INTEGER_COLUMNS = frozenset(
    {"n_lesions", "n_detected", "n_false_positives", "n_predicted_lesions"}
)


def _typed(column: str, text: str) -> Any:
    """The value of one ``per_case.csv`` cell: the case name, a bool, an int or a float."""
    if column == "case":
        return text
    if column in _BOOLEAN_COLUMNS:
        return text.strip().lower() in ("true", "1")
    if column in _INTEGER_COLUMNS:
        return int(text)
    return float(text)


def read_per_case_csv(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Read a ``per_case.csv`` written by :func:`~.evaluate.evaluate_folder` into typed records.

    The columns of an older version's file (``tumour_dsc``, ...) come back under their
    current names (``tumor_dsc``, ...).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = pathlib.Path(tmp) / "per_case.csv"
    ...     _ = path.write_text("case,tumor_dsc,tumor_in_reference,n_lesions\\na,0.5,True,2\\n")
    ...     read_per_case_csv(path)
    [{'case': 'a', 'tumor_dsc': 0.5, 'tumor_in_reference': True, 'n_lesions': 2}]
    """
    with open(path, newline="", encoding="utf-8") as handle:
        return [
            {column: _typed(column, text) for column, text in respelled(row).items()}
            for row in csv.DictReader(handle)
        ]


def paired_comparison(
    per_case_a: Iterable[Mapping[str, Any]],
    per_case_b: Iterable[Mapping[str, Any]],
    *,
    metric: str = "tumor_dsc",
    method: Literal["wilcoxon", "permutation", "t"] = "wilcoxon",
    rng: RngLike = 0,
    n_resamples: int = 10_000,
) -> dict[str, Any]:
    """Paired test of one metric between two prediction sets, matched by case name.

    Parameters
    ----------
    per_case_a, per_case_b : iterable of mapping
        Per-case records with ``"case"`` and ``metric`` keys (from
        :func:`~.evaluate.evaluate_cases` or :func:`read_per_case_csv`). Both must cover the
        same cases.
    metric : str, default "tumor_dsc"
        Record key to compare (an old spelling such as "tumour_dsc" still works, with a
        DeprecationWarning).
    method, rng, n_resamples
        Passed to :func:`~.stats.paired_test`.

    Returns
    -------
    dict
        ``metric``, ``mean_a``, ``mean_b`` (over the pairs used) and the keys of
        :func:`~.stats.paired_test`.

    Examples
    --------
    >>> a = [{"case": f"c{i}", "tumor_dsc": 0.8 + 0.01 * i} for i in range(8)]
    >>> b = [{"case": f"c{i}", "tumor_dsc": 0.6 + 0.01 * i} for i in range(8)]
    >>> result = paired_comparison(a, b, method="permutation")
    >>> round(result["mean_difference"], 3), result["p_value"] < 0.05
    (0.2, True)
    """
    metric = renamed_value(metric, SPELLING, name="metric")
    values_a = {record["case"]: float(record[metric]) for record in per_case_a}
    values_b = {record["case"]: float(record[metric]) for record in per_case_b}
    if values_a.keys() != values_b.keys():
        only_a = sorted(values_a.keys() - values_b.keys())
        only_b = sorted(values_b.keys() - values_a.keys())
        raise ValueError(
            f"the two prediction sets cover different cases: only in a: {only_a}, "
            f"only in b: {only_b}"
        )
    cases = sorted(values_a)
    a = np.array([values_a[case] for case in cases])
    b = np.array([values_b[case] for case in cases])
    result = paired_test(a, b, method=method, rng=rng, n_resamples=n_resamples)
    complete = ~(np.isnan(a) | np.isnan(b))
    return {
        "metric": metric,
        "mean_a": float(a[complete].mean()),
        "mean_b": float(b[complete].mean()),
        **result,
    }


def comparison_markdown(
    results: Iterable[Mapping[str, Any]], *, name_a: str = "A", name_b: str = "B"
) -> str:
    """Markdown table of :func:`paired_comparison` results, one row per metric.

    Examples
    --------
    >>> row = {"metric": "tumor_dsc", "mean_a": 0.8, "mean_b": 0.7, "mean_difference": 0.1,
    ...        "method": "wilcoxon", "statistic": 0.0, "p_value": 0.0078, "n": 8}
    >>> print(comparison_markdown([row]).splitlines()[2])
    | Tumour DSC | 0.800 | 0.700 | +0.100 | wilcoxon | 0.000 | 0.0078 | 8 |
    """
    lines = [
        f"| Metric | {name_a} | {name_b} | Mean difference ({name_a} − {name_b}) | Test | "
        "Statistic | p-value | Cases |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in results:
        difference = row["mean_difference"]
        lines.append(
            f"| {METRIC_TITLES.get(row['metric'], row['metric'])} | {format_value(row['mean_a'])} "
            f"| {format_value(row['mean_b'])} | {difference:+.3f} | {row['method']} | "
            f"{format_value(row['statistic'])} | {row['p_value']:.2g} | {row['n']} |"
        )
    return "\n".join(lines) + "\n"
