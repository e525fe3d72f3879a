"""The adapters' constructors run the shared checks: same messages, same seed bound."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

from synthtumor._validation import SEED_BOUND

CASES = [
    ({"prob": "0.5"}, TypeError, r"prob must be a number in \[0, 1\], got '0.5'"),
    ({"prob": True}, TypeError, r"prob must be a number in \[0, 1\]"),
    ({"organ_label": 1.5}, ValueError, r"organ_label must be a non-negative integer, got 1.5"),
    ({"tumor_label": "2"}, ValueError, r"tumor_label must be a non-negative integer"),
    ({"organ_label": 3, "tumor_label": 3}, ValueError, r"organ_label and tumor_label must be"),
    ({"spacing": ("1", "1", "1")}, TypeError, r"spacing must be a sequence of 3 positive"),
    ({"spacing": (1.0, float("nan"), 1.0)}, ValueError, r"spacing must be 3 positive finite"),
]


@pytest.mark.parametrize(("kwargs", "error", "message"), CASES)
def test_monai_transform_checks_its_arguments(kwargs, error, message):
    pytest.importorskip("monai")
    from synthtumor.adapters.monai import RandLiverTumord

    with pytest.raises(error, match=message):
        RandLiverTumord(["image", "label"], **kwargs)


@pytest.mark.parametrize(("kwargs", "error", "message"), CASES)
def test_torch_dataset_checks_its_arguments(kwargs, error, message):
    from synthtumor.adapters.torch import LiverTumorDataset

    with pytest.raises(error, match=message):
        LiverTumorDataset([], **kwargs)


@pytest.mark.parametrize(
    ("seed", "error"),
    [(SEED_BOUND, ValueError), (-1, ValueError), (1.5, TypeError), ("3", TypeError)],
)
def test_seeds_are_bounded_alike(seed, error):
    pytest.importorskip("torchio")
    from synthtumor.adapters.torch import LiverTumorDataset
    from synthtumor.adapters.torchio import LiverTumor

    with pytest.raises(error, match=r"seed must be an integer in \[0, 2\*\*53\)"):
        LiverTumorDataset([], seed=seed)
    with pytest.raises(error, match=r"seed must be an integer in \[0, 2\*\*53\)"):
        LiverTumor(seed=seed)
