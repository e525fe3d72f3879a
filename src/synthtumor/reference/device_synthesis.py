"""``synthesis.where = "gpu"``: synthesize a training batch on its device, after the loader.

The loader then delivers HU crops (flipped and rotated), their labels and each scan's liver
statistics (``batch["liver_statistics"]``, collated by MONAI); :func:`prepare_batch` renders
the tumours with :func:`synthtumor.torch.synthesize_batch` on the device, then applies the
window and the intensity jitter that the CPU pipeline would have applied.
"""

from __future__ import annotations

import importlib
from typing import Any

from synthtumor.reference.config import TrainingConfig

__all__ = ["prepare_batch"]


def _synthesize_batch() -> Any:
    from synthtumor.reference.data import GPU_MODULE

    try:
        return importlib.import_module(GPU_MODULE).synthesize_batch
    except (ImportError, AttributeError) as error:
        raise ValueError(f"synthesis.where='gpu' needs {GPU_MODULE}.synthesize_batch") from error


def prepare_batch(
    batch: dict[str, Any], config: TrainingConfig, device: Any, generator: Any
) -> tuple[Any, Any]:
    """Images and labels of a "gpu"-mode batch: tumours added, windowed, jittered, on `device`.

    `generator` is a ``torch.Generator`` on `device` (seeded per epoch and rank), the only
    source of this step's randomness.
    """
    import torch

    images = batch["image"].to(device, non_blocking=True)
    labels = batch["label"].to(device, non_blocking=True)
    synthesis = config.synthesis
    chosen = torch.rand(images.shape[0], device=device, generator=generator)
    chosen = chosen < synthesis.probability
    if bool(chosen.any()):
        # The crops' seeds come from one integer of the device generator (an int seeds a
        # fresh CPU generator in synthesize_batch, whatever the device).
        seed = int(torch.randint(0, 2**31 - 1, (1,), device=device, generator=generator))
        rendered, new_labels, _ = _synthesize_batch()(
            images[chosen],
            labels[chosen] == 1,
            spacing=config.data.spacing_mm,
            statistics=_statistics(batch["liver_statistics"], chosen.cpu()),
            size=synthesis.preset,
            config=synthesis.tumor_config(),
            generator=seed,
            on_small_liver="ignore",  # negative crops hold no liver by design
        )
        images, labels = images.clone(), labels.clone()
        images[chosen] = rendered.to(images.dtype)
        labels[chosen] = torch.maximum(labels[chosen], new_labels.to(labels.dtype))
    return _intensity(images, config, generator), labels


def _statistics(statistics: dict[str, Any], chosen: Any) -> list[Any]:
    """The chosen samples' ``LiverStatistics``, from MONAI's collation of their dictionaries."""
    from synthtumor import LiverStatistics

    indices = chosen.nonzero().flatten().tolist()
    return [
        LiverStatistics.from_dict({key: _item(value, i) for key, value in statistics.items()})
        for i in indices
    ]


def _item(value: Any, index: int) -> Any:
    if isinstance(value, list | tuple):
        return [_item(v, index) for v in value]
    return value[index].item() if hasattr(value[index], "item") else value[index]


def _intensity(images: Any, config: TrainingConfig, generator: Any) -> Any:
    """``ScaleIntensityRanged`` (window to [0, 1]) then ``RandScaleIntensityd`` and
    ``RandShiftIntensityd`` per sample, on the device."""
    import torch

    low, high = config.data.window_hu
    images = (images.clamp(low, high) - low) / (high - low)
    augment = config.augment
    shape = (images.shape[0],) + (1,) * (images.ndim - 1)

    def draw(prob: float, spread: float) -> Any:
        hit = torch.rand(shape, device=images.device, generator=generator) < prob
        value = (torch.rand(shape, device=images.device, generator=generator) * 2 - 1) * spread
        return torch.where(hit, value, torch.zeros_like(value))

    images = images * (1 + draw(augment.intensity_scale_prob, augment.intensity_scale_factor))
    return images + draw(augment.intensity_shift_prob, augment.intensity_shift_offset)
