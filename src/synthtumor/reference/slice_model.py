"""A 2-D network run on every slice of 3-D patches, so the 3-D pipeline trains a 2-D model.

The data pipeline, the synthesis (3-D tumours in the 3-D scan) and the sliding-window
inference all stay 3-D; only the network sees slices. Per voxel a 2-D step is not cheaper on
a CPU; what it buys is the field of view: a 3-D patch must be at least 16 slices deep for four
down-samplings, so a 3-D patch as wide as a 128 x 128 slice costs at least 4x the voxels of a
4-slice 2-D one. That is what the quick CPU profile uses it for (docs/training.md, "The quick
profiles").

Examples
--------
>>> import torch
>>> from monai.networks.nets import UNet
>>> model = SliceWise(UNet(2, 1, 3, channels=(4, 8), strides=(2,), num_res_units=0))
>>> model(torch.zeros(2, 1, 16, 16, 5)).shape
torch.Size([2, 3, 16, 16, 5])
"""

from __future__ import annotations

import torch

__all__ = ["SliceWise"]


class SliceWise(torch.nn.Module):
    """Apply a 2-D network to each slice ``[..., k]`` of ``(batch, channels, i, j, k)`` input.

    The slices of all patches form one batch of ``batch * k`` images for the 2-D network, and
    its ``(batch * k, classes, i, j)`` output is put back as ``(batch, classes, i, j, k)``.

    Parameters
    ----------
    network : torch.nn.Module
        Maps ``(n, channels, i, j)`` to ``(n, classes, i, j)``.
    """

    def __init__(self, network: torch.nn.Module) -> None:
        super().__init__()
        self.network = network

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        """``(batch, channels, i, j, k)`` -> ``(batch, classes, i, j, k)``."""
        if patches.ndim != 5:
            raise ValueError(
                f"patches must be (batch, channels, i, j, k), got shape {tuple(patches.shape)}"
            )
        batch, channels, size_i, size_j, depth = patches.shape
        slices = patches.permute(0, 4, 1, 2, 3).reshape(batch * depth, channels, size_i, size_j)
        out = self.network(slices)
        return out.reshape(batch, depth, -1, size_i, size_j).permute(0, 2, 3, 4, 1)
