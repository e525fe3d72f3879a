"""The k-fold splits of a prepared dataset: making them, and reading one fold back.

:func:`make_folds` deals cases to k folds (seeded, tumour cases spread evenly),
:func:`feasible_folds` picks a number of folds that the cases can fill, :func:`fixed_split` is
the one split of a CSV's ``split`` column, and :func:`fold_split` gives a datalist's entries of
one fold. A split is ``{"fold": k, "train": [...], "validation": [...], "test": [...]}`` with
the case names sorted within each part.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from synthtumor.reference.case_discovery import CaseFiles

__all__ = ["feasible_folds", "fixed_split", "fold_split", "make_folds"]


def make_folds(
    cases: Sequence[str],
    has_tumor: Sequence[bool],
    *,
    n_folds: int = 5,
    seed: int = 0,
    validation_fraction: float = 0.2,
    with_test: bool = True,
) -> list[dict[str, Any]]:
    """Split cases into k folds, each with training, validation and test parts.

    Cases with and without tumour are shuffled separately (seeded) and dealt in turn to the
    folds, so both kinds spread evenly. Fold k's test part is the cases dealt to k; of the
    other cases a seeded ``validation_fraction`` (at least one) is the validation part and the
    rest the training part. With ``with_test=False`` there is one split of training and
    validation only (for a pool of training scans such as healthy livers).

    Returns
    -------
    list of dict
        One ``{"fold": k, "train": [...], "validation": [...], "test": [...]}`` per fold, names
        sorted within each part.

    Examples
    --------
    >>> folds = make_folds(list("abcdef"), [False] * 6, n_folds=3, seed=0)
    >>> [len(f["test"]) for f in folds], [len(f["validation"]) for f in folds]
    ([2, 2, 2], [1, 1, 1])
    >>> sorted(sum((f["test"] for f in folds), []))
    ['a', 'b', 'c', 'd', 'e', 'f']
    """
    cases = list(cases)
    if len(set(cases)) != len(cases):
        raise ValueError("case names must be unique")
    if len(has_tumor) != len(cases):
        raise ValueError("has_tumor must have one entry per case")
    if not 0.0 <= validation_fraction < 1.0:
        raise ValueError(f"validation_fraction must lie in [0, 1), got {validation_fraction}")
    rng = np.random.default_rng(seed)
    if not with_test:
        order = [cases[i] for i in rng.permutation(len(cases))]
        n_val = _validation_count(len(order), validation_fraction)
        return [_split(0, order[n_val:], order[:n_val], [])]
    if n_folds < 2:
        raise ValueError(f"n_folds must be >= 2 (or with_test=False), got {n_folds}")
    if len(cases) < n_folds:
        raise ValueError(
            f"{len(cases)} cases are too few for {n_folds} folds with training, validation and "
            "test parts; use fewer folds"
        )
    dealt = _dealt(cases, has_tumor, rng)
    return [_fold(fold, dealt, n_folds, seed, validation_fraction) for fold in range(n_folds)]


def _dealt(cases: list[str], has_tumor: Sequence[bool], rng: np.random.Generator) -> list[str]:
    """The cases in dealing order: tumour cases shuffled, then the others shuffled."""
    dealt: list[str] = []
    for flag in (True, False):
        group = sorted(c for c, t in zip(cases, has_tumor, strict=True) if bool(t) == flag)
        dealt.extend(group[i] for i in rng.permutation(len(group)))
    return dealt


def _fold(
    fold: int, dealt: list[str], n_folds: int, seed: int, validation_fraction: float
) -> dict[str, Any]:
    """Fold `fold`: the cases dealt to it are its test part, a seeded share of the rest validate."""
    test = [c for i, c in enumerate(dealt) if i % n_folds == fold]
    rest = sorted(c for i, c in enumerate(dealt) if i % n_folds != fold)
    if len(rest) < 2:
        raise ValueError(f"fold {fold} leaves {len(rest)} case(s) for training and validation")
    fold_rng = np.random.default_rng([seed, fold])
    rest = [rest[i] for i in fold_rng.permutation(len(rest))]
    n_val = _validation_count(len(rest), validation_fraction)
    return _split(fold, rest[n_val:], rest[:n_val], test)


def feasible_folds(n_cases: int, n_folds: int, *, stacklevel: int = 2) -> int:
    """`n_folds`, or (with a warning) the nearest number of folds that `n_cases` can fill.

    Each fold needs a test case and two others for training and validation; fewer folds are
    preferred to more. `stacklevel` is passed to :func:`warnings.warn` (2: the caller).

    Raises
    ------
    ValueError
        `n_folds` is below 2, or `n_cases` cannot fill even 2 folds (fewer than 3 cases).

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     feasible_folds(3, 5), feasible_folds(10, 5), feasible_folds(3, 2), len(caught)
    (3, 5, 3, 2)
    """
    if n_folds < 2:
        raise ValueError(f"n_folds must be >= 2 (or with_test=False), got {n_folds}")
    feasible = [k for k in range(2, n_cases + 1) if n_cases - math.ceil(n_cases / k) >= 2]
    if not feasible:
        raise ValueError(
            f"{n_cases} case(s) are too few for folds with training, validation and test parts "
            "(3 needed); pass --no-test (with_test=False) for a pool of training scans"
        )
    if n_folds in feasible:
        return n_folds
    fewer = [k for k in feasible if k < n_folds]
    chosen = fewer[-1] if fewer else feasible[0]
    warnings.warn(
        f"{n_cases} cases cannot fill {n_folds} folds with training, validation and test parts; "
        f"using {chosen} folds (pass --folds {chosen} to silence this)",
        stacklevel=stacklevel,
    )
    return chosen


def _validation_count(n: int, fraction: float) -> int:
    if fraction == 0.0 or n < 2:
        return 0
    return min(n - 1, max(1, round(fraction * n)))


def _split(fold: int, train: list[str], validation: list[str], test: list[str]) -> dict[str, Any]:
    return {
        "fold": fold,
        "train": sorted(train),
        "validation": sorted(validation),
        "test": sorted(test),
    }


def fixed_split(cases: Sequence[CaseFiles]) -> list[dict[str, Any]]:
    """The one split (fold 0) given by the cases' ``split`` (a CSV's ``split`` column).

    Raises
    ------
    ValueError
        A case has no split, or no case is for training.

    Examples
    --------
    >>> from pathlib import Path
    >>> cases = [CaseFiles(n, Path(), Path(), s) for n, s in [("b", "train"), ("a", "test")]]
    >>> fixed_split(cases)
    [{'fold': 0, 'train': ['b'], 'validation': [], 'test': ['a']}]
    """
    parts: dict[str, list[str]] = {"train": [], "validation": [], "test": []}
    for case in cases:
        if case.split is None:
            raise ValueError(f"case {case.case} has no split while others have one")
        parts[case.split].append(case.case)
    if not parts["train"]:
        raise ValueError("the fixed split has no training case")
    return [_split(0, parts["train"], parts["validation"], parts["test"])]


def fold_split(datalist: dict[str, Any], fold: int) -> dict[str, list[dict[str, Any]]]:
    """The training, validation and test entries of one fold.

    Examples
    --------
    >>> datalist = {"training": [{"case": c} for c in "abc"],
    ...             "folds": {"splits": [{"fold": 0, "train": ["a"], "validation": ["b"],
    ...                                   "test": ["c"]}]}}
    >>> {part: [e["case"] for e in entries] for part, entries in fold_split(datalist, 0).items()}
    {'train': ['a'], 'validation': ['b'], 'test': ['c']}
    """
    splits = datalist["folds"]["splits"]
    chosen = [s for s in splits if s["fold"] == fold]
    if not chosen:
        raise ValueError(f"fold {fold} is not in the datalist (it has {len(splits)} fold(s))")
    entries = {entry["case"]: entry for entry in datalist["training"]}
    return {part: [entries[c] for c in chosen[0][part]] for part in ("train", "validation", "test")}
