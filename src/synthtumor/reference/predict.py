"""``synthtumor predict MODEL CT... -o OUT_DIR``: segment liver and tumours in CT scans.

For each scan: the training pre-processing (orientation, spacing, window), sliding-window
inference (the config's window, overlap 0.75, Gaussian weighting), class probabilities taken
back to the scan's own grid with MONAI ``Invertd`` (linear interpolation, then the argmax), the
paper's post-processing (:func:`postprocess_labels`), and a uint8 NIfTI label map (0 background,
1 liver, 2 tumour) with exactly the scan's shape and affine. The model file is a checkpoint from
``synthtumor train`` (``best.pt``), which carries its own config.

Examples
--------
The post-processing on its own:

>>> import numpy as np
>>> labels = np.zeros((20, 20, 20), np.uint8)
>>> labels[2:12, 2:12, 2:12] = 1; labels[5:8, 5:8, 5:8] = 2  # liver with a tumour
>>> labels[15:18, 15:18, 15:18] = 1                           # a stray liver island
>>> labels[13, 2, 2] = 2                                       # tumour 2 mm from the liver
>>> labels[19, 19, 2] = 2                                      # tumour far from it
>>> out = postprocess_labels(labels, (1.0, 1.0, 1.0), tumor_max_distance_mm=5.0)
>>> int((out == 1).sum()), int((out == 2).sum())
(973, 28)
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from synthtumor._renamed import renamed_keywords
from synthtumor.io import remove_partial_files
from synthtumor.reference.config import TrainingConfig, apply_overrides, config_from_dict
from synthtumor.reference.prepare import (
    IMAGE_NAMES,
    case_name,
    write_nifti_atomic,
)
from synthtumor.reference.scans import LoadedCase, load_case

__all__ = [
    "Predictor",
    "output_name",
    "postprocess_labels",
    "predict_files",
]


@renamed_keywords({"tumour_max_distance_mm": "tumor_max_distance_mm"})
def postprocess_labels(
    labels: np.ndarray,
    spacing: Sequence[float],
    *,
    keep_largest_liver: bool = True,
    tumor_max_distance_mm: float = 5.0,
) -> np.ndarray:
    """The paper's post-processing of a 0/1/2 label map.

    Keep the largest connected (26-neighbour) component of liver-or-tumour; then keep tumour
    voxels only inside it or within `tumor_max_distance_mm` of it (distances in mm with
    `spacing`). Liver voxels outside the kept component become background. Without any liver
    voxel no tumour is kept (when a distance is set).

    Parameters
    ----------
    labels : numpy.ndarray
        3-D label map: 0 background, 1 liver, 2 tumour.
    spacing : 3 floats
        Voxel spacing in mm.
    keep_largest_liver : bool
        Keep only the largest liver-or-tumour component (else all of them).
    tumor_max_distance_mm : float
        Largest distance from the kept liver for a tumour voxel; negative keeps every tumour.
        ``tumour_max_distance_mm``, the old spelling, still works (with a DeprecationWarning).

    Returns
    -------
    numpy.ndarray
        uint8 label map of the same shape.
    """
    from scipy import ndimage

    labels = np.asarray(labels)
    region = labels > 0
    if keep_largest_liver and region.any():
        components, count = ndimage.label(region, structure=np.ones((3, 3, 3), bool))
        if count > 1:
            sizes = np.bincount(components.ravel())
            sizes[0] = 0
            region = components == int(np.argmax(sizes))
    tumor = labels == 2
    if tumor_max_distance_mm >= 0:
        tumor &= _within_distance(region, spacing, tumor_max_distance_mm)
    out = np.zeros(labels.shape, dtype=np.uint8)
    out[region] = 1
    out[tumor] = 2
    return out


def _within_distance(
    region: np.ndarray, spacing: Sequence[float], distance_mm: float
) -> np.ndarray:
    """Voxels within `distance_mm` of `region`, computed in the region's box plus the margin."""
    from scipy import ndimage

    near = np.zeros(region.shape, dtype=bool)
    if not region.any():
        return near
    margin = [int(np.ceil(distance_mm / s)) + 1 for s in spacing]
    indices = np.nonzero(region)
    box = tuple(
        slice(max(0, int(i.min()) - m), min(n, int(i.max()) + m + 1))
        for i, m, n in zip(indices, margin, region.shape, strict=True)
    )
    distance = ndimage.distance_transform_edt(~region[box], sampling=tuple(spacing))
    near[box] = distance <= distance_mm
    return near


def output_name(path: str | os.PathLike) -> str:
    """Case name of an input scan: its file name, or its folder's for ``X/ct.nii.gz``.

    An nnU-Net channel suffix ``_0000`` and the ``_image`` of ``synthtumor synthesize``'s
    outputs are dropped, so ``synth_000_image.nii.gz`` gives ``synth_000``, the case that
    ``synthtumor evaluate`` pairs with ``synth_000_label.nii.gz``.

    Examples
    --------
    >>> output_name("data/case7/ct.nii.gz"), output_name("images/liver_12.nii")
    ('case7', 'liver_12')
    >>> output_name("synth/synth_000_image.nii.gz")
    'synth_000'
    """
    path = Path(path)
    name = case_name(path)
    if name is None:
        raise ValueError(f"{path} is not a NIfTI file (.nii.gz or .nii)")
    if name.lower() in IMAGE_NAMES and path.parent.name:
        return path.parent.name
    for suffix in ("_0000", "_image"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name.removesuffix(suffix)
    return name


@dataclass
class Predictor:
    """A trained model with its config, callable on a CT array (any grid, any orientation).

    Build it with :meth:`from_checkpoint`; call it with ``predictor(image, affine)`` to get the
    post-processed uint8 label map on the image's own grid. Usable as the model of
    :mod:`synthtumor.reference.robustness`.
    """

    model: Any
    config: TrainingConfig
    device: Any

    @classmethod
    def from_checkpoint(
        cls,
        path: str | os.PathLike,
        *,
        device: str | None = None,
        overrides: Sequence[str] = (),
    ) -> Predictor:
        """Load a checkpoint from ``synthtumor train``; `overrides` change the config (e.g.
        ``inference.overlap=0.5``)."""
        import torch

        from synthtumor.reference.checkpointing import load_checkpoint
        from synthtumor.reference.models import build_model

        checkpoint = load_checkpoint(path)
        config = apply_overrides(config_from_dict(checkpoint["config"]), overrides)
        if device is None or device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        model = build_model(config.model)
        model.load_state_dict(checkpoint["model"])
        model.to(torch.device(device)).eval()
        return cls(model=model, config=config, device=torch.device(device))

    def probabilities(self, image: np.ndarray, affine: np.ndarray) -> np.ndarray:
        """Class probabilities ``(3, i, j, k)`` on the image's own grid (float32)."""
        import torch
        from monai.data import MetaTensor
        from monai.inferers import sliding_window_inference
        from monai.transforms import Compose

        from synthtumor.reference.transforms import (
            intensity_transform,
            inverse_to_native,
            preprocessing_transforms,
        )

        image = np.asarray(image)
        if image.ndim != 3:
            raise ValueError(f"image must be 3-D, got shape {image.shape}")
        preprocessing = Compose(
            preprocessing_transforms(self.config, with_label=False, load=False)
            + intensity_transform(self.config)
        )
        tensor = MetaTensor(
            torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))[None],
            affine=torch.as_tensor(np.asarray(affine, dtype=np.float64)),
        )
        tensor.meta["original_affine"] = tensor.affine.clone()
        data = preprocessing({"image": tensor})
        inference = self.config.inference
        use_amp = self.device.type == "cuda" and self.config.train.amp
        with (
            torch.no_grad(),
            torch.autocast(device_type=self.device.type, dtype=torch.float16, enabled=use_amp),
        ):
            logits = sliding_window_inference(
                data["image"][None].to(self.device),
                roi_size=inference.roi_size,
                sw_batch_size=inference.sw_batch_size,
                predictor=self.model,
                overlap=inference.overlap,
                mode=inference.blend_mode,
            )
        if not isinstance(logits, torch.Tensor):
            raise TypeError(f"the model must return one tensor of logits, got {type(logits)}")
        probabilities = torch.softmax(logits.float(), dim=1)[0].cpu()
        data["pred"] = MetaTensor(probabilities, meta=dict(data["image"].meta))
        inverted = inverse_to_native(preprocessing)(data)["pred"]
        result = np.asarray(inverted.detach().cpu().numpy(), dtype=np.float32)
        if result.shape[1:] != image.shape:
            raise RuntimeError(
                f"inverted prediction has shape {result.shape[1:]}, the scan {image.shape}"
            )
        return result

    def __call__(self, image: np.ndarray, affine: np.ndarray) -> np.ndarray:
        """Post-processed uint8 label map (0/1/2) with the image's shape."""
        labels = np.argmax(self.probabilities(image, affine), axis=0).astype(np.uint8)
        spacing = np.sqrt((np.asarray(affine, dtype=float)[:3, :3] ** 2).sum(axis=0))
        inference = self.config.inference
        return postprocess_labels(
            labels,
            tuple(float(s) for s in spacing),
            keep_largest_liver=inference.keep_largest_liver,
            tumor_max_distance_mm=inference.tumor_max_distance_mm,
        )

    def predict_file(self, path: str | os.PathLike) -> tuple[np.ndarray, LoadedCase]:
        """Label map of a NIfTI scan, and the loaded scan (for its affine and header)."""
        scan = load_case(path)
        return self(scan.image, scan.affine), scan


def predict_files(
    model: str | os.PathLike | Predictor,
    scans: Sequence[str | os.PathLike],
    out_dir: str | os.PathLike,
    *,
    names: Sequence[str] | None = None,
    overwrite: bool = False,
    device: str | None = None,
    overrides: Sequence[str] = (),
    progress: bool = False,
) -> list[Path]:
    """Segment scans and write ``OUT_DIR/<case>.nii.gz`` for each.

    Parameters
    ----------
    model : path-like or Predictor
        A checkpoint (``best.pt``) or a loaded :class:`Predictor`.
    scans : sequence of path-like
        NIfTI CT scans in HU.
    out_dir : path-like
        Output folder (created).
    names : sequence of str, optional
        Case names (default :func:`output_name` of each scan).
    overwrite : bool
        Replace existing outputs; otherwise existing outputs raise :class:`FileExistsError`
        before any inference.
    device, overrides
        See :meth:`Predictor.from_checkpoint`.

    Returns
    -------
    list of Path
        The written label maps (uint8, the scans' shapes and affines).
    """
    out_dir = Path(out_dir)
    names = list(names) if names is not None else [output_name(p) for p in scans]
    if len(names) != len(scans):
        raise ValueError("names must have one entry per scan")
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"several scans would be written as {duplicates}; pass distinct names")
    targets = [out_dir / f"{name}.nii.gz" for name in names]
    existing = [str(t) for t in targets if t.exists()]
    if existing and not overwrite:
        raise FileExistsError(f"outputs exist: {existing[:3]}; pass --force to replace them")
    predictor = (
        model
        if isinstance(model, Predictor)
        else Predictor.from_checkpoint(model, device=device, overrides=overrides)
    )
    remove_partial_files(out_dir)  # left by a killed run
    written = []
    for scan_path, target in zip(scans, targets, strict=True):
        labels, scan = predictor.predict_file(scan_path)
        written.append(
            write_nifti_atomic(target, labels, scan.affine, header=scan.header, overwrite=True)
        )
        if progress:
            print(f"[synthtumor predict] {scan_path} -> {target}", file=sys.stderr, flush=True)
    return written
