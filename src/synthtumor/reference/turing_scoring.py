"""Scoring a Visual Turing Test (paper section 5.1, Table 2): the filled rating sheets against
the answer key of :func:`synthtumor.reference.visual_turing.build_turing_set`.

Synthetic is the positive class (sensitivity: the share of synthetic scans recognised as
synthetic); scans marked *unsure* are left out of the three metrics and counted apart.

Examples
--------
>>> score = score_ratings({"a": "real", "b": "synthetic", "c": "unsure"},
...                       {"a": "real", "b": "real", "c": "synthetic"})
>>> score.accuracy, score.unsure
(0.5, 1)
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["TuringScore", "read_answer_key", "read_ratings", "score_markdown", "score_ratings"]

_CHOICES = ("real", "synthetic", "unsure")


def read_answer_key(path: str | os.PathLike) -> dict[str, str]:
    """``case -> "real" | "synthetic"`` from an ``answer_key.csv``."""
    with Path(path).open(newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    key = {row["case"].strip(): row["truth"].strip().lower() for row in rows}
    bad = sorted(c for c, t in key.items() if t not in ("real", "synthetic"))
    if bad:
        raise ValueError(f"{path}: truth must be real or synthetic for {bad}")
    return key


def read_ratings(path: str | os.PathLike) -> dict[str, str | None]:
    """``case -> "real" | "synthetic" | "unsure" | None`` (None: not rated) from a sheet.

    The sheet has one column per choice (``real``, ``synthetic``, ``unsure``) where any
    non-empty cell is a mark, or a single ``rating`` column holding the choice.

    Raises
    ------
    ValueError
        A case marked in more than one column, or an unknown rating.
    """
    with Path(path).open(newline="", encoding="utf-8-sig") as stream:
        reader = csv.DictReader(stream)
        columns = {c.strip().lower() for c in reader.fieldnames or ()}
        rows = [{k.strip().lower(): (v or "").strip() for k, v in row.items()} for row in reader]
    if "case" not in columns:
        raise ValueError(f"{path} has no 'case' column")
    ratings: dict[str, str | None] = {}
    for row in rows:
        case = row["case"]
        if "rating" in columns:
            choice = row["rating"].lower() or None
            if choice is not None and choice not in _CHOICES:
                raise ValueError(
                    f"{path}: {case}: rating must be one of {_CHOICES}, got {choice!r}"
                )
        else:
            marked = [c for c in _CHOICES if row.get(c)]
            if len(marked) > 1:
                raise ValueError(f"{path}: {case} is marked {' and '.join(marked)}; mark one")
            choice = marked[0] if marked else None
        ratings[case] = choice
    return ratings


@dataclass(frozen=True)
class TuringScore:
    """Confusion counts and metrics of one rater (synthetic = positive).

    ``tp``: synthetic called synthetic; ``fn``: synthetic called real; ``tn``: real called real;
    ``fp``: real called synthetic. ``unsure_real`` / ``unsure_synthetic`` count the unsure
    marks by truth, ``unrated`` the cases left blank; none of them enter the metrics.
    """

    tp: int
    fn: int
    tn: int
    fp: int
    unsure_real: int
    unsure_synthetic: int
    unrated: int
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def definite(self) -> int:
        """Cases rated real or synthetic."""
        return self.tp + self.fn + self.tn + self.fp

    @property
    def unsure(self) -> int:
        """Cases rated unsure."""
        return self.unsure_real + self.unsure_synthetic

    @property
    def accuracy(self) -> float:
        """(tp + tn) / definite."""
        return _ratio(self.tp + self.tn, self.definite)

    @property
    def sensitivity(self) -> float:
        """tp / (tp + fn): synthetic scans recognised as synthetic."""
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def specificity(self) -> float:
        """tn / (tn + fp): real scans recognised as real."""
        return _ratio(self.tn, self.tn + self.fp)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "positive_class": "synthetic",
            "counts": {
                "tp": self.tp,
                "fn": self.fn,
                "tn": self.tn,
                "fp": self.fp,
                "unsure_real": self.unsure_real,
                "unsure_synthetic": self.unsure_synthetic,
                "unrated": self.unrated,
            },
            "definite": self.definite,
            "accuracy": _finite(self.accuracy),
            "sensitivity": _finite(self.sensitivity),
            "specificity": _finite(self.specificity),
            "wilson_95": {k: [_finite(v) for v in pair] for k, pair in self.intervals.items()},
        }


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else math.nan


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def score_ratings(ratings: Mapping[str, str | None], key: Mapping[str, str]) -> TuringScore:
    """Score one rater's ratings against the answer key.

    Raises
    ------
    ValueError
        Cases rated that are not in the key, or key cases missing from the ratings.
    """
    unknown = sorted(set(ratings) - set(key))
    missing = sorted(set(key) - set(ratings))
    if unknown or missing:
        raise ValueError(
            f"ratings and key do not match: not in the key {unknown}, not in the ratings {missing}"
        )
    counts = dict.fromkeys(("tp", "fn", "tn", "fp", "unsure_real", "unsure_synthetic"), 0)
    unrated = 0
    for case, truth in key.items():
        rating = ratings[case]
        if rating is None:
            unrated += 1
        elif rating == "unsure":
            counts[f"unsure_{truth}"] += 1
        elif truth == "synthetic":
            counts["tp" if rating == "synthetic" else "fn"] += 1
        else:
            counts["tn" if rating == "real" else "fp"] += 1
    from synthtumor.reference.stats import wilson_interval

    tp, fn, tn, fp = counts["tp"], counts["fn"], counts["tn"], counts["fp"]
    intervals = {
        "accuracy": tuple(wilson_interval(tp + tn, tp + tn + fp + fn))[1:],
        "sensitivity": tuple(wilson_interval(tp, tp + fn))[1:],
        "specificity": tuple(wilson_interval(tn, tn + fp))[1:],
    }
    return TuringScore(**counts, unrated=unrated, intervals=intervals)  # type: ignore[arg-type]


def _percent(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{100 * value:.1f} %"


def score_markdown(score: TuringScore, *, rater: str = "rater") -> str:
    """A Table-2-style Markdown report of one rater's score."""
    return "\n".join(
        [
            f"# Visual Turing Test: {rater}",
            "",
            "|  | rated real | rated synthetic | unsure |",
            "|---|---|---|---|",
            f"| truth real | {score.tn} | {score.fp} | {score.unsure_real} |",
            f"| truth synthetic | {score.fn} | {score.tp} | {score.unsure_synthetic} |",
            "",
            "Synthetic is the positive class. Unsure cases are left out of the metrics.",
            "",
            f"- Accuracy: {_percent(score.accuracy)} ({score.tp + score.tn}/{score.definite})",
            f"- Sensitivity (synthetic recognised): {_percent(score.sensitivity)}",
            f"- Specificity (real recognised): {_percent(score.specificity)}",
            f"- Unsure: {score.unsure}; not rated: {score.unrated}",
            "",
        ]
    )
