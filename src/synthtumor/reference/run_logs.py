"""The run folder's CSV logs (``iterations.csv``, ``epochs.csv``) and the progress bar."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from synthtumor._renamed import SPELLING, respelled
from synthtumor.reference.prepare import write_text_atomic

__all__ = ["EPOCH_COLUMNS", "ITERATION_COLUMNS", "CsvLog", "progress_bar"]

ITERATION_COLUMNS = ("iteration", "epoch", "loss", "lr", "seconds")
EPOCH_COLUMNS = (
    "epoch",
    "iterations",
    "train_loss",
    "lr",
    "iterations_per_second",
    "crops_per_second",
    "val_tumor_dice",
    "val_liver_dice",
    "val_cases",
    "selection_metric",
    "selection_score",
    "is_best",
    "elapsed_seconds",
)


class CsvLog:
    """An append-only CSV log; on resume rows past the checkpoint are dropped first.

    The rows kept are written back under the current column names: an older version's log
    (``val_tumour_dice``, selection metric "tumour_dice") resumes as ``val_tumor_dice``,
    "tumor_dice".
    """

    def __init__(self, path: Path, columns: Sequence[str], *, keep_until: int | None, key: str):
        self.path = path
        self.columns = tuple(columns)
        rows: list[dict[str, str]] = []
        if keep_until is not None and path.exists():
            with path.open(newline="", encoding="utf-8") as stream:
                rows = [
                    _current_row(r) for r in csv.DictReader(stream) if int(r[key]) <= keep_until
                ]
        buffer = io.StringIO()
        writer = csv.DictWriter(
            buffer, fieldnames=self.columns, lineterminator="\n", extrasaction="ignore"
        )
        writer.writeheader()
        writer.writerows(rows)
        write_text_atomic(path, buffer.getvalue(), overwrite=True)
        self._stream = path.open("a", newline="", encoding="utf-8")
        self._writer = csv.DictWriter(self._stream, fieldnames=self.columns, lineterminator="\n")

    def write(self, row: dict[str, Any]) -> None:
        self._writer.writerow({k: _csv_value(row.get(k)) for k in self.columns})
        self._stream.flush()

    def close(self) -> None:
        self._stream.close()


def _current_row(row: dict[str, str]) -> dict[str, str]:
    """A row of an older version's log with the current column names and metric names."""
    current = respelled(row)
    if "selection_metric" in current:
        metric = current["selection_metric"]
        current["selection_metric"] = SPELLING.get(metric, metric)
    return current


def _csv_value(value: Any) -> Any:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6g}"
    return "" if value is None else value


class _NoProgress:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix(self, **kwargs: Any) -> None:
        pass

    def close(self) -> None:
        pass


def progress_bar(*, total: int, initial: int, enabled: bool) -> Any:
    """A tqdm bar, or a stand-in that does nothing."""
    if not enabled:
        return _NoProgress()
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, unit="it", dynamic_ncols=True, desc="train")
