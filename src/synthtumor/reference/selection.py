"""Which epoch's checkpoint is ``best.pt``: the selection metric, with fallbacks that move.

A label-free run's tumour Dice on validation is often exactly 0 for many epochs (the model
has not found a tumour yet); a score stuck at 0 never improves, so the first epoch would stay
"best". While the chosen metric is 0 (or undefined) the selection falls back to the next one
that moves: tumour Dice -> liver Dice -> training loss (lower is better). Any epoch scored on
an earlier metric of the chain beats every epoch scored on a later one, so once the tumour
Dice moves, only a better tumour Dice replaces the best checkpoint.

Examples
--------
>>> selection = Selection("tumor_dice")
>>> selection.update({"val_tumor_dice": 0.0, "val_liver_dice": 0.9}, train_loss=0.8, epoch=1)
True
>>> selection.metric, selection.fallback_note
('liver_dice', 'tumor_dice is 0; selecting on liver_dice (0.9) until it moves')
>>> selection.update({"val_tumor_dice": 0.1, "val_liver_dice": 0.8}, train_loss=0.7, epoch=2)
True
>>> selection.update({"val_tumor_dice": 0.0, "val_liver_dice": 0.95}, train_loss=0.6, epoch=3)
False
>>> selection.best_epoch, selection.best_score, selection.best_metric
(2, 0.1, 'tumor_dice')
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from synthtumor._renamed import renamed_value

__all__ = ["FALLBACKS", "Selection"]

FALLBACKS: dict[str, tuple[str, ...]] = {
    "tumor_dice": ("tumor_dice", "liver_dice", "loss"),
    "liver_dice": ("liver_dice", "loss"),
    "mean_dice": ("mean_dice", "loss"),
}
"""The chain each ``train.selection_metric`` falls back along while a metric is 0."""


def _value(metric: str, metrics: dict[str, float], train_loss: float) -> float:
    """The metric's score (higher is better; the loss is negated)."""
    if metric == "loss":
        return -train_loss
    if metric == "mean_dice":
        pair = [metrics["val_tumor_dice"], metrics["val_liver_dice"]]
        return math.nan if all(math.isnan(v) for v in pair) else float(np.nanmean(pair))
    return float(metrics[f"val_{metric[: -len('_dice')]}_dice"])


def _moves(metric: str, value: float) -> bool:
    return math.isfinite(value) and (metric == "loss" or value > 0)


class Selection:
    """Tracks the best epoch; :meth:`update` after each validation says if it is the new best.

    `metric` is a key of :data:`FALLBACKS` ("tumour_dice", the old spelling of "tumor_dice",
    still works, with a DeprecationWarning).
    """

    def __init__(self, metric: str) -> None:
        metric = renamed_value(metric, {"tumour_dice": "tumor_dice"}, name="selection metric")
        if metric not in FALLBACKS:
            raise ValueError(f"selection metric must be one of {sorted(FALLBACKS)}, got {metric!r}")
        self.chain = FALLBACKS[metric]
        self.best_rank = len(self.chain)
        self.best_score = -math.inf
        self.best_epoch = -1
        self.metric = metric
        self.score = math.nan
        self.fallback_note = ""

    @property
    def best_metric(self) -> str:
        """The metric the best epoch was selected on ("" before any)."""
        return self.chain[self.best_rank] if self.best_rank < len(self.chain) else ""

    def update(self, metrics: dict[str, float], *, train_loss: float, epoch: int) -> bool:
        """Score an epoch (sets :attr:`metric`, :attr:`score`, :attr:`fallback_note`)."""
        moving = [
            (rank, metric, value)
            for rank, metric in enumerate(self.chain)
            if _moves(metric, value := _value(metric, metrics, train_loss))
        ]
        if not moving:
            self.metric, self.score, self.fallback_note = self.chain[0], math.nan, ""
            return False
        rank, metric, value = moving[0]
        self.metric, self.score = metric, value
        self.fallback_note = ""
        if rank > 0:
            shown = f"{value:.4g}" if metric != "loss" else f"{-value:.4g}"
            self.fallback_note = (
                f"{self.chain[0]} is {_value(self.chain[0], metrics, train_loss):.4g}; "
                f"selecting on {metric} ({shown}) until it moves"
            )
        if (rank, -value) < (self.best_rank, -self.best_score):
            self.best_rank, self.best_score, self.best_epoch = rank, value, epoch
            return True
        return False

    def state_dict(self) -> dict[str, Any]:
        """What a checkpoint keeps of the selection."""
        return {
            "best_score": self.best_score,
            "best_epoch": self.best_epoch,
            "best_rank": self.best_rank,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from a checkpoint (old ones, without a rank, count as the first metric)."""
        self.best_score = float(state.get("best_score", -math.inf))
        self.best_epoch = int(state.get("best_epoch", -1))
        default_rank = 0 if self.best_epoch > 0 else len(self.chain)
        self.best_rank = int(state.get("best_rank", default_rank))
