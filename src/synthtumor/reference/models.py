"""Model factory: the paper's MONAI U-Net and Swin UNETR (tiny, small, base).

Examples
--------
>>> from synthtumor.reference.config import ModelConfig
>>> model = build_model(ModelConfig(channels=(4, 8), strides=(2,), num_res_units=1))
>>> type(model).__name__
'UNet'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from synthtumor.reference.config import ModelConfig

if TYPE_CHECKING:
    import torch

__all__ = ["IN_CHANNELS", "OUT_CHANNELS", "build_model", "count_parameters"]

IN_CHANNELS = 1
"""One CT channel."""

OUT_CHANNELS = 3
"""Background, liver, tumour."""


def build_model(config: ModelConfig) -> torch.nn.Module:
    """Build the network a :class:`ModelConfig` describes (randomly initialised).

    ``name="unet"``: MONAI ``UNet(spatial_dims=3, channels, strides, num_res_units)``, the
    paper's (16, 32, 64, 128, 256) with strides 2 and 2 residual units by default.
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
    if config.name == "unet":
        from monai.networks.nets import UNet

        return UNet(
            spatial_dims=3,
            in_channels=IN_CHANNELS,
            out_channels=OUT_CHANNELS,
            channels=config.channels,
            strides=config.strides,
            num_res_units=config.num_res_units,
            dropout=config.dropout,
        )
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


def count_parameters(model: torch.nn.Module) -> int:
    """Number of trainable parameters.

    Examples
    --------
    >>> from synthtumor.reference.config import ModelConfig
    >>> count_parameters(build_model(ModelConfig(name="swin_unetr", swin_variant="tiny"))) > 3e6
    True
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
