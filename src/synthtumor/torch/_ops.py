"""Torch counterparts of the core's numeric building blocks, on boxes of one tumour.

Each takes and returns tensors on one device. The weights that define them (Gaussian kernels,
spline matrices) come from the NumPy modules, so both backends compute the same filters. Linear
filters are matrix products (``torch.matmul``), warps ``F.grid_sample``, and the averaging of
sub-voxels ``F.avg_pool3d``.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F

from synthtumor.separable import gaussian_matrix

__all__ = [
    "apply_separable",
    "average_subdivisions",
    "gaussian_blur",
    "to_device",
    "warp_linear",
]

_BLUR_TRUNCATE = 3.0


def apply_separable(volume: torch.Tensor, matrices: list[torch.Tensor]) -> torch.Tensor:
    """`volume` ``(..., n0, n1, n2)`` with ``matrices[a]`` ``(m_a, n_a)`` applied along axis a.

    The torch twin of :func:`synthtumor.separable.apply_separable` (three matrix products).
    """
    first, middle, last = matrices
    result = torch.matmul(volume, last.T)
    result = torch.matmul(middle, result)
    return torch.einsum("ai,...ibc->...abc", first, result)


def gaussian_blur(volume: torch.Tensor, sigmas_voxels: tuple[float, ...]) -> torch.Tensor:
    """Gaussian blur of a 3-D float tensor with zeros beyond its border (truncated at 3 sigma).

    The same numbers as ``scipy.ndimage.gaussian_filter(mode="constant", truncate=3)``: the
    separable convolution as one banded matrix per axis (SciPy's kernel, from
    :func:`synthtumor.separable.gaussian_matrix`) and three matrix products, as the NumPy
    renderer does. On tumour boxes this was 7x faster on the CPU than ``F.conv3d`` with 1-D
    kernels (4.4 against 30 ms on 100 x 100 x 60, one thread), and it is matrix work on a GPU.
    """
    matrices = [
        _blur_matrix(n, float(sigma), volume.dtype, volume.device)
        for n, sigma in zip(volume.shape, sigmas_voxels, strict=True)
    ]
    return apply_separable(volume, matrices)


@functools.lru_cache(maxsize=128)
def _blur_matrix(n: int, sigma: float, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    # Kept on the device: axes of one box share their matrix, and the capsule's fixed sigma
    # recurs from tumour to tumour (at most 128 matrices of n^2 floats are held).
    matrix = gaussian_matrix(n, sigma, truncate=_BLUR_TRUNCATE, mode="constant")
    return torch.as_tensor(matrix, dtype=dtype, device=device)


def average_subdivisions(values: torch.Tensor, subdivisions: tuple[int, int, int]) -> torch.Tensor:
    """Mean over each voxel's ``k0 x k1 x k2`` parts (``F.avg_pool3d``)."""
    if subdivisions == (1, 1, 1):
        return values
    return F.avg_pool3d(values[None, None], kernel_size=subdivisions)[0, 0]


def warp_linear(values: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
    """Trilinear samples of a 3-D tensor at ``(..., 3)`` box-index coordinates (``F.grid_sample``).

    Coordinates beyond the box are clamped to it, as in :func:`synthtumor.postprocess.warp_linear`.
    """
    sizes = torch.tensor(values.shape, dtype=source.dtype, device=source.device)
    # align_corners=True maps -1 and 1 to the first and last voxel centres; grid_sample wants
    # the axes as (x, y, z) = (last, middle, first).
    normalised = 2.0 * source / torch.clamp(sizes - 1.0, min=1.0) - 1.0
    grid = normalised.flip(-1).reshape(1, 1, 1, -1, 3)
    sampled = F.grid_sample(
        values[None, None].to(source.dtype),
        grid,
        mode="bilinear",
        padding_mode="border",
        align_corners=True,
    )
    return sampled.reshape(source.shape[:-1])


def to_device(array: np.ndarray, device: torch.device) -> torch.Tensor:
    """A float32 tensor of a NumPy array on `device`."""
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32)).to(device)
