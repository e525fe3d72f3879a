"""A PyTorch ``Dataset`` wrapper that puts synthetic liver tumours into every sample.

``LiverTumorDataset`` wraps any map-style dataset that yields ``(image, label)``,
``(image, label, spacing)``, ``(image, label, spacing, statistics)`` or dictionaries. The
random draw of sample ``index`` in epoch ``epoch`` comes from
``numpy.random.SeedSequence((seed, epoch, index))`` and nothing else: the samples are the same
whatever the number of ``DataLoader`` workers, their order or the sampler, and differ between
epochs once :meth:`LiverTumorDataset.set_epoch` is called.

Put it around the dataset that loads, orients and resamples the scans (HU at the final
spacing), and apply intensity windowing and cropping after it; or around a dataset that yields
crops together with their whole scan's statistics (:func:`synthtumor.liver_statistics`,
computed once per scan), and the synthesis works on the crop, at a cost that follows the crop.

Needs ``pip install synthtumor[torch]``.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np

try:
    import torch
    from torch.utils.data import Dataset
except ModuleNotFoundError as error:  # pragma: no cover - depends on the installation
    raise ImportError(
        "synthtumor.adapters.torch needs torch; install it with `pip install synthtumor[torch]`"
    ) from error

from synthtumor._renamed import renamed_label, renamed_property
from synthtumor._validation import SEED_BOUND
from synthtumor.adapters._common import (
    DRAW_KEY,
    LiverTooSmallWarning,
    SmallLiverPolicy,
    as_numpy,
    as_statistics,
    check_bool,
    check_label_values,
    check_organ,
    check_probability,
    check_seed,
    check_size_and_config,
    check_small_liver_policy,
    check_spacing,
    check_statistics_key,
    draw_record,
    like,
    single_channel,
    synthesize_label_map,
)
from synthtumor.config import TumorConfig
from synthtumor.organs import OrganPreset

__all__ = ["LiverTooSmallWarning", "LiverTumorDataset"]


class LiverTumorDataset(Dataset):
    """Wrap a dataset so that its samples get synthetic liver tumours.

    Parameters
    ----------
    dataset : map-style dataset
        Yields ``(image, label)``, ``(image, label, spacing)``,
        ``(image, label, spacing, statistics)`` or a mapping with `image_key`, `label_key` and
        optionally `spacing_key` and `statistics_key`. Images are CT in HU and labels are label
        maps or binary liver masks, as numpy arrays or CPU/GPU tensors of shape ``(i, j, k)``
        or ``(1, i, j, k)``; spacing is 3 floats in mm in array-axis order (or None). A sample
        that carries statistics (a :class:`~synthtumor.LiverStatistics` or its ``to_dict()``;
        None counts as absent) is taken as a crop of the scan they were measured on: they are
        used instead of measuring the sample, and the sizes are fitted to the whole liver.
    seed : int
        Base seed (non-negative). Sample ``index`` of epoch ``e`` draws from
        ``SeedSequence((seed, e, index))``.
    prob : float
        Probability of synthesizing tumours into a sample, in [0, 1]. Default 1.0; the paper's
        recipe used 0.9.
    size : {"tiny", "small", "medium", "large", "mix"} or None
        Size preset; None draws one per sample.
    config : TumorConfig or None
        Hyper-parameters of the generator; None uses the paper's.
    organ : str or OrganPreset
        The organ whose tumours are drawn, ``label == organ_label``: "liver" (default),
        "pancreas", "kidney" or an :class:`~synthtumor.organs.OrganPreset` (``docs/organs.md``).
    organ_label, tumor_label : int
        The organ's value in the label (default 1) and the value written for tumour voxels
        (default 2). Other label values are kept; a boolean mask comes back as ``uint8``.
    liver_label : int or None
        Deprecated name of `organ_label` (it warns).
    spacing : sequence of 3 float or None
        Spacing of samples that carry none.
    image_key, label_key, spacing_key, statistics_key : hashable
        Keys of mapping samples. Defaults "image", "label", "spacing", "liver_statistics";
        `statistics_key` None ignores statistics in mapping samples.
    skip_if_tumor_present : bool
        Return a sample whose label already holds `tumor_label` voxels unchanged. Default True.
    on_small_liver : {"warn", "raise", "ignore"}
        A liver too small for the drawn size (or none): return the sample unchanged with a
        :class:`LiverTooSmallWarning` (default), raise, or return it unchanged silently.
    bulge_into_background : bool
        Let the tumours and the mass effect take background (0) voxels besides liver ones, as
        in the paper; other classes are never taken. Default False: only liver voxels
        (:mod:`synthtumor.label_map`).
    draw_key : hashable or None
        Where a mapping sample records its draw, ``{"seed": int, "params": str}`` (the seed of
        the synthesis and the :class:`~synthtumor.TumorParams` JSON; -1 and "" when no tumour
        was drawn); a MONAI ``MetaTensor`` image also records it in ``meta[draw_key]``.
        Default ``"synthtumor"``; None records nothing. Tuple samples of plain arrays carry no
        record (yield mappings, or MetaTensors, to keep it).

    Notes
    -----
    The epoch lives in a shared-memory tensor, so :meth:`set_epoch` reaches workers that
    already exist (``persistent_workers=True``) as long as it is called before the epoch's
    iterator is created. No random generator is kept on the object: each sample builds its own,
    so workers of any ``DataLoader`` (torch's or MONAI's) draw what the main process would.

    A MONAI ``MetaTensor`` comes back as a ``MetaTensor`` with its affine and metadata, and its
    affine gives the spacing when the sample carries none.

    Examples
    --------
    >>> import numpy as np
    >>> from torch.utils.data import DataLoader
    >>> from synthtumor.phantom import make_phantom
    >>> phantom = make_phantom(shape=(64, 64, 48), rng=0)
    >>> scans = [(phantom.image, phantom.liver_mask, phantom.spacing)] * 2
    >>> dataset = LiverTumorDataset(scans, seed=0)
    >>> image, label, spacing = dataset[0]
    >>> sorted(np.unique(label).tolist()), image.dtype == phantom.image.dtype
    ([0, 1, 2], True)
    >>> bool(np.array_equal(dataset[0][0], image))  # same seed, epoch and index: same sample
    True
    >>> dataset.set_epoch(1)
    >>> bool(np.array_equal(dataset[0][0], image))
    False
    """

    liver_label = renamed_property()

    def __init__(
        self,
        dataset: Any,
        *,
        seed: int = 0,
        prob: float = 1.0,
        size: str | None = None,
        config: TumorConfig | None = None,
        organ_label: int | None = None,
        tumor_label: int = 2,
        spacing: Sequence[float] | None = None,
        image_key: Hashable = "image",
        label_key: Hashable = "label",
        spacing_key: Hashable = "spacing",
        statistics_key: Hashable | None = "liver_statistics",
        skip_if_tumor_present: bool = True,
        on_small_liver: SmallLiverPolicy = "warn",
        bulge_into_background: bool = False,
        draw_key: Hashable | None = DRAW_KEY,
        organ: str | OrganPreset = "liver",
        liver_label: int | None = None,
    ) -> None:
        if not hasattr(dataset, "__getitem__"):
            raise TypeError(
                f"dataset must be a map-style dataset (with __getitem__), got "
                f"{type(dataset).__name__}"
            )
        self.dataset = dataset
        self.seed = check_seed(seed)
        self.prob = check_probability(prob)
        check_size_and_config(size, config)
        self.size = size
        self.config = config
        self.organ = check_organ(organ)
        self.organ_label, self.tumor_label = check_label_values(
            renamed_label(organ_label, liver_label), tumor_label
        )
        check_spacing(spacing)
        self.spacing = None if spacing is None else tuple(float(v) for v in spacing)
        self.image_key, self.label_key, self.spacing_key = image_key, label_key, spacing_key
        check_statistics_key(statistics_key)
        self.statistics_key = statistics_key
        self.skip_if_tumor_present = bool(skip_if_tumor_present)
        self.on_small_liver = check_small_liver_policy(on_small_liver)
        self.bulge_into_background = check_bool(bulge_into_background, name="bulge_into_background")
        check_statistics_key(draw_key, name="draw_key")
        self.draw_key = draw_key
        self._epoch = torch.zeros((), dtype=torch.int64).share_memory_()

    @property
    def epoch(self) -> int:
        """The epoch whose draws :meth:`__getitem__` returns."""
        return int(self._epoch.item())

    def set_epoch(self, epoch: int) -> None:
        """Draw the tumours of epoch `epoch` (non-negative) from now on.

        Call it before iterating over the ``DataLoader`` of that epoch.
        """
        self._epoch.fill_(check_seed(epoch, name="epoch"))

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> Any:
        index = self._check_index(index)
        item = self.dataset[index]
        seed = self._seed_of(index)
        if seed is None:
            return self._repack(item, *self._unpack(item)[:2], draw_record(None, None))
        image, label, spacing, statistics = self._unpack(item)
        image_array = as_numpy(image, name="image")
        label_array = as_numpy(label, name="label")
        stats = as_statistics(statistics, name="the sample's statistics")
        result = synthesize_label_map(
            single_channel(image_array, name="image", channel_first=False),
            single_channel(label_array, name="label", channel_first=False),
            spacing=self._spacing_of(spacing, stats, image),
            statistics=stats,
            seed=seed,
            size=self.size,
            config=self.config,
            organ_label=self.organ_label,
            tumor_label=self.tumor_label,
            skip_if_tumor_present=self.skip_if_tumor_present,
            on_small_liver=self.on_small_liver,
            bulge_into_background=self.bulge_into_background,
            organ=self.organ,
        )
        if result is None:
            return self._repack(item, image, label, draw_record(seed, None))
        new_image = _like_keeping_meta(result.image.reshape(image_array.shape), image)
        new_label = _like_keeping_meta(result.label.reshape(label_array.shape), label)
        return self._repack(item, new_image, new_label, draw_record(seed, result.params))

    def _seed_of(self, index: int) -> int | None:
        """The synthesis seed of sample `index` in this epoch; None: `prob` says no tumours."""
        rng = np.random.default_rng(np.random.SeedSequence((self.seed, self.epoch, index)))
        if not rng.random() < self.prob:
            return None
        return int(rng.integers(SEED_BOUND))

    def _check_index(self, index: int) -> int:
        if isinstance(index, torch.Tensor | np.integer):
            index = int(index)
        if not isinstance(index, int):
            raise TypeError(f"index must be an integer, got {type(index).__name__}")
        return index + len(self) if index < 0 else index

    def _unpack(self, item: Any) -> tuple[Any, Any, Any, Any]:
        if isinstance(item, Mapping):
            missing = [k for k in (self.image_key, self.label_key) if k not in item]
            if missing:
                raise KeyError(
                    f"sample lacks the key(s) {missing}; its keys are {list(item)} (set "
                    "image_key and label_key)"
                )
            statistics = None if self.statistics_key is None else item.get(self.statistics_key)
            return (
                item[self.image_key],
                item[self.label_key],
                item.get(self.spacing_key),
                statistics,
            )
        if isinstance(item, tuple | list) and len(item) in (2, 3, 4):
            padded = [*item, None, None][:4]
            return padded[0], padded[1], padded[2], padded[3]
        raise TypeError(
            "the wrapped dataset must yield (image, label), (image, label, spacing), "
            "(image, label, spacing, statistics) or a "
            f"mapping, got {type(item).__name__}"
            + (f" of length {len(item)}" if isinstance(item, tuple | list) else "")
        )

    def _repack(self, item: Any, image: Any, label: Any, record: dict) -> Any:
        """The sample with the new image and label, and its draw recorded where it has room.

        A ``MetaTensor`` image passed through is replaced by a view of it with its own meta, so
        that every sample of a batch carries the same meta keys.
        """
        if self.draw_key is not None and _is_meta_tensor(image):
            if record["params"] == "":
                image = _like_keeping_meta(image.as_tensor(), image)
            image.meta[self.draw_key] = record
        if isinstance(item, Mapping):
            recorded = {} if self.draw_key is None else {self.draw_key: record}
            return {**item, self.image_key: image, self.label_key: label, **recorded}
        if image is item[0] and label is item[1]:
            return item
        repacked = [image, label, *item[2:]]
        return tuple(repacked) if isinstance(item, tuple) else repacked

    def _spacing_of(
        self, spacing: Any, statistics: Any = None, image: Any = None
    ) -> tuple[float, ...]:
        """The sample's spacing, else its MetaTensor's, else `spacing=`, else the statistics'."""
        if spacing is None and _is_meta_tensor(image):
            # pixdim assumes a channel axis; the affine's columns hold the spacing either way.
            spacing = torch.linalg.norm(image.affine[:3, :3].double(), dim=0)
        if spacing is None and self.spacing is None and statistics is not None:
            spacing = statistics.spacing
        if spacing is None:
            if self.spacing is None:
                raise ValueError(
                    "the sample carries no spacing: yield (image, label, spacing), add a "
                    f"{self.spacing_key!r} entry, or pass spacing= to LiverTumorDataset"
                )
            return self.spacing
        if isinstance(spacing, torch.Tensor):
            spacing = spacing.tolist()
        values = tuple(float(v) for v in np.ravel(spacing))
        check_spacing(values)
        return values


def _is_meta_tensor(value: Any) -> bool:
    """A MONAI ``MetaTensor`` (told by its API, so that MONAI need not be imported)."""
    return isinstance(value, torch.Tensor) and hasattr(value, "copy_meta_from")


def _like_keeping_meta(array: Any, reference: Any) -> Any:
    """:func:`like`, and a MetaTensor `reference`'s type, affine and metadata kept."""
    new = like(array, reference) if isinstance(array, np.ndarray) else array
    if _is_meta_tensor(reference):
        new = new.as_subclass(type(reference))
        new.copy_meta_from(reference)
    return new
