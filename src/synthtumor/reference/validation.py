"""Validation during training: fixed validation cases and their Dice scores.

Cases come from the fold's validation part only (its test part is never read during
training). Healthy validation livers get synthetic tumours with a fixed seed per case, so a
label-free run has a tumour metric; cases with real tumours keep theirs.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from synthtumor.reference.config import TrainingConfig
from synthtumor.reference.distributed import derived_seed

__all__ = ["validate", "validation_items"]


def validation_items(config: TrainingConfig, entries: list[dict[str, Any]]) -> list[dict]:
    """Pre-processed validation cases, with fixed synthetic tumours in healthy livers."""
    from monai.transforms import Compose

    from synthtumor.reference.transforms import (
        intensity_transform,
        preprocessing_transforms,
        synthesis_transform,
    )

    # Cropped like inference (never with the label), so the score does not see the answer.
    preprocess = Compose(preprocessing_transforms(config, with_label=True, label_crop=False))
    intensity = Compose(intensity_transform(config))
    add_tumors = config.validation.synthetic_tumors and config.mode != "real"
    synthesis = synthesis_transform(config, prob=1.0) if add_tumors else None
    items = []
    for index, entry in enumerate(entries):
        data = preprocess({"image": entry["image"], "label": entry["label"]})
        if synthesis is None or entry.get("has_tumor", False):
            items.append(_item(entry["case"], intensity(data), synthetic=False))
            continue
        for variant in range(config.validation.synthetic_variants):
            # Variant 0 keeps the seed a single version has always had.
            seed_parts = (config.validation.seed, index) + ((variant,) if variant else ())
            image, label = synthesis.liver_tumor.synthesize(
                data["image"], data["label"], seed=derived_seed(*seed_parts)
            )
            case = entry["case"] if variant == 0 else f"{entry['case']}#{variant}"
            items.append(_item(case, intensity({"image": image, "label": label}), synthetic=True))
    return items


def _item(case: str, data: dict, *, synthetic: bool) -> dict:
    return {
        "case": case,
        "image": data["image"].as_tensor()[None].float(),
        "label": np.asarray(data["label"].as_tensor()[0]).astype(np.uint8),
        "synthetic_tumors": synthetic,
    }


def validate(model: Any, items: list[dict], config: TrainingConfig, device: Any) -> dict:
    """Tumour Dice (cases whose reference holds tumour) and liver Dice (all cases)."""
    import torch
    from monai.inferers import sliding_window_inference

    from synthtumor.reference.metrics import dice

    tumor_scores, liver_scores = [], []
    use_amp = config.train.amp and device.type == "cuda"
    model.eval()
    with torch.no_grad():
        for item in items:
            with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=use_amp):
                logits = sliding_window_inference(
                    item["image"].to(device),
                    roi_size=config.data.roi_size,
                    sw_batch_size=config.validation.sw_batch_size,
                    predictor=model,
                    overlap=config.validation.overlap,
                    mode=config.inference.blend_mode,
                )
            assert isinstance(logits, torch.Tensor)
            prediction = torch.argmax(logits, dim=1)[0].cpu().numpy()
            reference = item["label"]
            liver_scores.append(dice(prediction > 0, reference > 0))
            if (reference == 2).any():
                tumor_scores.append(dice(prediction == 2, reference == 2))
    model.train()
    return {
        "val_tumor_dice": float(np.mean(tumor_scores)) if tumor_scores else math.nan,
        "val_liver_dice": float(np.mean(liver_scores)) if liver_scores else math.nan,
        "val_cases": len(items),
    }
