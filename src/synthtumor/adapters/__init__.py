"""Drop-in transforms for MONAI, TorchIO and plain PyTorch data pipelines.

Each adapter lives in its own module and imports its framework when it is imported, so that
``import synthtumor`` (and this package) never imports torch, MONAI or TorchIO:

``synthtumor.adapters.monai``
    ``RandLiverTumord`` (aliases ``RandLiverTumorD``, ``RandLiverTumorDict``) and the array
    transform ``RandLiverTumor``. Extra: ``pip install synthtumor[monai]``.
``synthtumor.adapters.torchio``
    ``RandomLiverTumor`` and its deterministic, replayable twin ``LiverTumor``.
    Extra: ``pip install synthtumor[torchio]``.
``synthtumor.adapters.torch``
    ``LiverTumorDataset``, a ``Dataset`` wrapper with per-sample seeds from
    ``(seed, epoch, index)``. Extra: ``pip install synthtumor[torch]``.

All three share one policy: the organ (the liver by default) is ``label == organ_label`` in the
sample's label map (``liver_label``, the old name, still works and warns); tumour voxels are
written as ``tumor_label``, and only the organ's voxels change class (the rule of
:mod:`synthtumor.label_map`: other organs keep their voxels in the label and the image); a
sample whose label already holds tumour voxels, or whose liver is too small (or absent), is
passed through unchanged; the caller's arrays and tensors are never modified.

Examples
--------
>>> from synthtumor.adapters.monai import RandLiverTumord
>>> RandLiverTumord(prob=0.9).prob
0.9
"""
