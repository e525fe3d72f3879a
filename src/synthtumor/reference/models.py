"""The model and its optimisation: the paper's MONAI U-Net and Swin UNETR (tiny, small, base),
AdamW with MONAI's linear warm-up then cosine schedule (per iteration), the AMP scaler.

Examples
--------
>>> from synthtumor.reference.config import ModelConfig
>>> model = build_model(ModelConfig(channels=(4, 8), strides=(2,), num_res_units=1))
>>> type(model).__name__
'UNet'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from synthtumor.reference.checkpointing import TrainingState
from synthtumor.reference.config import ModelConfig, OptimConfig

if TYPE_CHECKING:
    import torch

__all__ = [
    "IN_CHANNELS",
    "OUT_CHANNELS",
    "build_model",
    "build_scheduler",
    "build_training_state",
    "count_parameters",
]

IN_CHANNELS = 1
"""One CT channel."""

OUT_CHANNELS = 3
"""Background, liver, tumour."""


def build_model(config: ModelConfig) -> torch.nn.Module:
    """Build the network a :class:`ModelConfig` describes (randomly initialised).

    ``name="unet"``: MONAI ``UNet(spatial_dims=3, channels, strides, num_res_units)``, the
    paper's (16, 32, 64, 128, 256) with strides 2 and 2 residual units by default; with
    ``spatial_dims=2`` the same U-Net in 2-D, run on each axial slice of the patches
    (:class:`~synthtumor.reference.slice_model.SliceWise`).
    ``name="swin_unetr"``: MONAI ``SwinUNETR`` with feature size 12 / 24 / 48 for the
    tiny / small / base variants (inputs must be multiples of 32 voxels per axis).

    Parameters
    ----------
    config : ModelConfig

    Returns
    -------
    torch.nn.Module
        Maps ``(batch, 1, i, j, k)`` to logits ``(batch, 3, i, j, k)``.
    """
    if config.name == "unet" and config.spatial_dims == 2:
        from synthtumor.reference.slice_model import SliceWise

        return SliceWise(_unet(config, spatial_dims=2))
    if config.name == "unet":
        return _unet(config, spatial_dims=3)
    if config.name == "swin_unetr":
        from monai.networks.nets import SwinUNETR

        return SwinUNETR(
            in_channels=IN_CHANNELS,
            out_channels=OUT_CHANNELS,
            feature_size=config.swin_feature_size,
            use_checkpoint=config.use_checkpoint,
            spatial_dims=3,
            drop_rate=config.dropout,
        )
    raise ValueError(f"model.name must be 'unet' or 'swin_unetr', got {config.name!r}")


def _unet(config: ModelConfig, *, spatial_dims: int) -> torch.nn.Module:
    from monai.networks.nets import UNet

    return UNet(
        spatial_dims=spatial_dims,
        in_channels=IN_CHANNELS,
        out_channels=OUT_CHANNELS,
        channels=config.channels,
        strides=config.strides,
        num_res_units=config.num_res_units,
        dropout=config.dropout,
    )


def count_parameters(model: torch.nn.Module) -> int:
    """Number of trainable parameters.

    Examples
    --------
    >>> from synthtumor.reference.config import ModelConfig
    >>> count_parameters(build_model(ModelConfig(name="swin_unetr", swin_variant="tiny"))) > 3e6
    True
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def build_scheduler(
    optimizer: torch.optim.Optimizer, optim: OptimConfig, *, warmup: int, total: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """MONAI ``WarmupCosineSchedule``: linear warm-up from ``optim.warmup_start_factor`` to 1
    over `warmup` iterations, then cosine annealing to 0 at `total`, never below
    ``optim.min_lr``.

    Examples
    --------
    >>> import torch
    >>> optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    >>> scheduler = build_scheduler(optimizer, OptimConfig(lr=1.0), warmup=2, total=6)
    >>> rates = []
    >>> for _ in range(7):
    ...     rates.append(round(optimizer.param_groups[0]["lr"], 3))
    ...     optimizer.step()
    ...     scheduler.step()
    >>> rates
    [0.01, 0.505, 1.0, 0.854, 0.5, 0.146, 0.0]
    """
    from monai.optimizers import WarmupCosineSchedule

    return WarmupCosineSchedule(
        optimizer,
        warmup_steps=warmup,
        t_total=total,
        end_lr=optim.min_lr,
        warmup_multiplier=optim.warmup_start_factor,
    )


def build_training_state(
    model_config: ModelConfig,
    optim: OptimConfig,
    *,
    device: torch.device,
    warmup: int,
    total: int,
    use_amp: bool,
) -> TrainingState:
    """A new model on `device` with its AdamW optimizer, schedule and AMP scaler."""
    import torch

    model = build_model(model_config).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=optim.lr, weight_decay=optim.weight_decay)
    scheduler = build_scheduler(optimizer, optim, warmup=warmup, total=total)
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    return TrainingState(model, optimizer, scheduler, scaler)
