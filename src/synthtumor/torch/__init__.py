"""Batched tumour synthesis in torch, on the crops' device (CPU or CUDA); extra ``[torch]``.

:func:`synthesize_batch` draws each crop's :class:`~synthtumor.TumorParams` with the NumPy
core and renders them with torch ops; :func:`render_batch` renders given params. The result
matches :func:`synthtumor.apply` for the same params. Paper mode only. The core never imports
this package.
"""

from __future__ import annotations

try:
    import torch  # noqa: F401
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError("synthtumor.torch needs PyTorch: pip install 'synthtumor[torch]'") from error

from synthtumor.torch._batch import BatchResult, crop_seeds, render_batch, synthesize_batch

__all__ = ["BatchResult", "crop_seeds", "render_batch", "synthesize_batch"]
