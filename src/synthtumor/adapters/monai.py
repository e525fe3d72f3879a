"""MONAI transforms that put synthetic liver tumours into CT scans.

``RandLiverTumord`` (aliases ``RandLiverTumorD``, ``RandLiverTumorDict``) is the dictionary
transform to put in a training pipeline, ``RandLiverTumor`` the array transform it uses. Both
are MONAI-native random transforms: they draw one seed per call from their own ``self.R``, so
``set_random_state`` and ``Compose(...).set_random_state`` make a pipeline called directly
reproducible, ``monai.utils.set_determinism`` one run by MONAI's ``DataLoader`` (which reseeds
every random transform from torch's generator), and ``CacheDataset`` caches only the transforms
before them. Under torch's plain ``DataLoader`` each worker reseeds them from its torch seed, so
workers draw different tumours. Every sample records its draw (seed and params JSON) in
``data["synthtumor"]`` and in the image's ``MetaTensor.meta``. ``LiverStatisticsd`` (aliases
``LiverStatisticsD``, ``LiverStatisticsDict``) is deterministic: it measures the whole scan's
liver once, is cached with the scan, and lets ``RandLiverTumord`` work on crops.

Where they go: synthesis needs the scan in HU at its final spacing (after ``Spacingd``, before
``ScaleIntensityRanged``). On the crop (the cost follows the crop, not the scan)::

    LoadImaged -> EnsureChannelFirstd -> Orientationd -> Spacingd -> LiverStatisticsd
        -> SpatialPadd -> RandCropByPosNegLabeld -> RandLiverTumord -> ScaleIntensityRanged

or on the whole scan, before cropping::

    ... -> Spacingd -> RandLiverTumord -> ScaleIntensityRanged -> SpatialPadd
        -> RandCropByPosNegLabeld

Needs ``pip install synthtumor[monai]``.
"""

from __future__ import annotations

import os
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np

try:
    from monai.config import KeysCollection
    from monai.config.type_definitions import NdarrayOrTensor
    from monai.data import MetaTensor
    from monai.transforms import MapTransform, RandomizableTransform
    from monai.utils import TransformBackends, convert_to_dst_type, ensure_tuple
    from torch.utils.data import get_worker_info
except ModuleNotFoundError as error:  # pragma: no cover - depends on the installation
    raise ImportError(
        "synthtumor.adapters.monai needs MONAI and torch; install them with "
        "`pip install synthtumor[monai]`"
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
    measure_liver,
    single_channel,
    statistics_spacing,
    synthesize_label_map,
)
from synthtumor.config import TumorConfig
from synthtumor.location import LiverStatistics
from synthtumor.organs import OrganPreset
from synthtumor.params import TumorParams

__all__ = [
    "LiverStatisticsD",
    "LiverStatisticsDict",
    "LiverStatisticsd",
    "LiverTooSmallWarning",
    "RandLiverTumor",
    "RandLiverTumorD",
    "RandLiverTumorDict",
    "RandLiverTumord",
]

STATISTICS_KEY = "liver_statistics"
"""Where ``LiverStatisticsd`` stores a scan's statistics and ``RandLiverTumord`` looks for them."""


def _draw_seed(state: np.random.RandomState) -> int:
    return int(state.randint(SEED_BOUND, dtype=np.int64))


class _WorkerSeeding:
    """Reseeds a transform once in a ``DataLoader`` worker that inherited its random state.

    Torch's plain ``DataLoader`` gives every worker a copy of the same ``self.R``, so every
    worker would draw the same tumours (MONAI's ``DataLoader`` reseeds the transforms in each
    worker itself). A worker whose copy was not reseeded in that worker mixes the worker's torch
    seed (``get_worker_info().seed``, a function of torch's seed and the worker id) with its
    copy of the state: workers differ, runs with the same torch seed repeat.
    """

    R: np.random.RandomState
    _seeded_in: int | None = None

    def _note_seeded(self) -> None:
        self._seeded_in = os.getpid()

    def _reseed_if_copied_into_a_worker(self) -> None:
        worker = get_worker_info()
        if worker is None or self._seeded_in == os.getpid():
            return
        inherited = _draw_seed(self.R)
        entropy = np.random.SeedSequence((int(worker.seed), inherited)).generate_state(1)[0]
        self.set_random_state(seed=int(entropy))  # type: ignore[attr-defined]


class RandLiverTumor(_WorkerSeeding, RandomizableTransform):
    """Put synthetic liver tumours into a channel-first CT, with probability `prob`.

    The array version of :class:`RandLiverTumord`: image and label map are separate arguments
    and ``__call__`` returns both. The liver is ``label == organ_label``; voxels of the drawn
    tumours are written as `tumor_label`, and only liver voxels change class: other organs keep
    theirs, in the label and the image (:mod:`synthtumor.label_map`). Inputs are never modified.
    A synthesized ``MetaTensor`` image records the draw in ``meta["synthtumor"]``
    (``{"seed": ..., "params": TumorParams JSON}``).

    Parameters
    ----------
    prob : float
        Probability of synthesizing tumours in a call, in [0, 1]. Default 1.0; the paper's
        recipe used 0.9 (and only on scans without real tumours).
    organ_label, tumor_label : int
        The organ's value in the label map, and the value written for tumour voxels.
    liver_label : int or None
        Deprecated name of `organ_label` (it warns).
    size : {"tiny", "small", "medium", "large", "mix"} or None
        Size preset; None draws one per call with ``config.size_probabilities``.
    config : TumorConfig or None
        Hyper-parameters of the generator; None uses the paper's.
    organ : str or OrganPreset
        The organ whose tumours are drawn, ``label == organ_label``: "liver" (default),
        "pancreas", "kidney" or an :class:`~synthtumor.organs.OrganPreset` (``docs/organs.md``).
    spacing : sequence of 3 float or None
        Voxel spacing in mm (array-axis order). None reads it from the image's
        ``MetaTensor.pixdim``; numpy arrays and plain tensors then need it given here or in
        the call.
    skip_if_tumor_present : bool
        Pass a sample whose label map already holds `tumor_label` voxels through unchanged
        (a scan with real tumours). Default True.
    on_small_liver : {"warn", "raise", "ignore"}
        A liver too small for the drawn size, or no liver at all: pass the sample through
        with a :class:`LiverTooSmallWarning` (default), raise
        :class:`~synthtumor.LiverTooSmallError`, or pass it through silently.
    bulge_into_background : bool
        Let the tumours and the mass effect take background (0) voxels besides liver ones, as
        in the paper; other classes are never taken. Default False: only liver voxels.

    Examples
    --------
    >>> import numpy as np
    >>> from synthtumor.phantom import make_phantom
    >>> phantom = make_phantom(shape=(64, 64, 48), rng=0)
    >>> image = phantom.image[None]  # channel first
    >>> label = phantom.liver_mask[None].astype(np.uint8)
    >>> transform = RandLiverTumor(spacing=phantom.spacing).set_random_state(seed=0)
    >>> new_image, new_label = transform(image, label)
    >>> new_image.dtype == image.dtype, sorted(np.unique(new_label).tolist())
    (True, [0, 1, 2])
    >>> bool(np.array_equal(label, phantom.liver_mask[None]))  # the input is untouched
    True
    """

    # MONAI declares `backend` as an attribute holding a list (not a ClassVar).
    backend = [TransformBackends.TORCH, TransformBackends.NUMPY]  # noqa: RUF012

    liver_label = renamed_property()

    def __init__(
        self,
        prob: float = 1.0,
        *,
        organ_label: int | None = None,
        tumor_label: int = 2,
        size: str | None = None,
        config: TumorConfig | None = None,
        spacing: Sequence[float] | None = None,
        skip_if_tumor_present: bool = True,
        on_small_liver: SmallLiverPolicy = "warn",
        bulge_into_background: bool = False,
        organ: str | OrganPreset = "liver",
        liver_label: int | None = None,
    ) -> None:
        RandomizableTransform.__init__(self, check_probability(prob))
        self._note_seeded()
        self.organ = check_organ(organ)
        self.organ_label, self.tumor_label = check_label_values(
            renamed_label(organ_label, liver_label), tumor_label
        )
        check_size_and_config(size, config)
        check_spacing(spacing)
        self.size = size
        self.config = config
        self.spacing = None if spacing is None else tuple(float(v) for v in spacing)
        self.skip_if_tumor_present = bool(skip_if_tumor_present)
        self.on_small_liver = check_small_liver_policy(on_small_liver)
        self.bulge_into_background = check_bool(bulge_into_background, name="bulge_into_background")
        self._seed = 0

    def set_random_state(
        self, seed: int | None = None, state: np.random.RandomState | None = None
    ) -> RandLiverTumor:
        super().set_random_state(seed, state)
        self._note_seeded()
        return self

    def randomize(self, data: Any = None) -> None:
        """Draw whether to transform and the seed of the synthesis, from ``self.R``."""
        self._reseed_if_copied_into_a_worker()
        super().randomize(None)
        self._seed = _draw_seed(self.R)

    # MONAI's Transform.__call__ takes one `data`; an array transform of image and label takes
    # both, as MONAI's own two-input array transforms do.
    def __call__(  # type: ignore[override]
        self,
        img: NdarrayOrTensor,
        label: NdarrayOrTensor,
        spacing: Sequence[float] | None = None,
        randomize: bool = True,
        statistics: LiverStatistics | Mapping | None = None,
    ) -> tuple[NdarrayOrTensor, NdarrayOrTensor]:
        """Return ``(image, label)``, with tumours when this call's draw says so.

        Parameters
        ----------
        img : numpy.ndarray or torch.Tensor or MetaTensor
            CT in HU, shape ``(1, i, j, k)``.
        label : numpy.ndarray or torch.Tensor or MetaTensor
            Label map (or binary liver mask) of the same shape.
        spacing : sequence of 3 float or None
            Overrides the spacing given at construction and the image's ``pixdim``.
        randomize : bool
            Draw anew (default); False reuses the last draw.
        statistics : LiverStatistics or dict or None
            The whole scan's statistics (:func:`synthtumor.liver_statistics` or its
            ``to_dict()``) when `img` is a crop of it; None measures `img`.
        """
        if randomize:
            self.randomize()
        if not self._do_transform:
            return img, label
        return self.synthesize(img, label, seed=self._seed, spacing=spacing, statistics=statistics)

    def synthesize(
        self,
        img: NdarrayOrTensor,
        label: NdarrayOrTensor,
        *,
        seed: int,
        spacing: Sequence[float] | None = None,
        statistics: LiverStatistics | Mapping | None = None,
    ) -> tuple[NdarrayOrTensor, NdarrayOrTensor]:
        """Apply the synthesis that `seed` draws, ignoring `prob` (deterministic).

        Returns new ``(image, label)`` of the input types, dtypes, devices and metadata, or the
        inputs themselves when the sample is passed through (real tumours, small liver). A new
        ``MetaTensor`` image records the draw in ``meta["synthtumor"]``.
        """
        new_image, new_label, params = self._synthesize(
            img, label, seed=seed, spacing=spacing, statistics=statistics
        )
        if params is not None and isinstance(new_image, MetaTensor):
            new_image.meta[DRAW_KEY] = draw_record(seed, params)
        return new_image, new_label

    def _synthesize(
        self,
        img: NdarrayOrTensor,
        label: NdarrayOrTensor,
        *,
        seed: int,
        spacing: Sequence[float] | None = None,
        statistics: LiverStatistics | Mapping | None = None,
    ) -> tuple[NdarrayOrTensor, NdarrayOrTensor, TumorParams | None]:
        """:meth:`synthesize`, with the params drawn (None: passed through), recording nothing."""
        for name, value in (("img", img), ("label", label)):
            if isinstance(value, MetaTensor) and value.pending_operations:
                raise ValueError(
                    f"{name} has pending lazy operations; RandLiverTumor is not lazy, run it in "
                    "a Compose (which applies them first) or call ApplyPending before it"
                )
        image_volume = single_channel(as_numpy(img, name="img"), name="img", channel_first=True)
        label_volume = single_channel(
            as_numpy(label, name="label"), name="label", channel_first=True
        )
        stats = as_statistics(statistics, name="statistics")
        result = synthesize_label_map(
            image_volume,
            label_volume,
            spacing=self._spacing_of(img, spacing, stats),
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
            return img, label, None
        new_image, *_ = convert_to_dst_type(result.image[None], dst=img)
        new_label, *_ = convert_to_dst_type(result.label[None], dst=label, dtype=result.label.dtype)
        return new_image, new_label, result.params

    def _spacing_of(
        self,
        img: NdarrayOrTensor,
        spacing: Sequence[float] | None,
        statistics: LiverStatistics | None = None,
    ) -> tuple[float, float, float]:
        return _spacing_of(img, spacing if spacing is not None else self.spacing, statistics)


def _spacing_of(
    img: NdarrayOrTensor, spacing: Sequence[float] | None, statistics: LiverStatistics | None
) -> tuple[float, float, float]:
    """The given spacing, else the MetaTensor's pixdim, else the statistics' spacing."""
    if spacing is not None:
        check_spacing(spacing)
        return tuple(float(v) for v in spacing)  # type: ignore[return-value]
    if isinstance(img, MetaTensor):
        return tuple(float(v) for v in img.pixdim)  # type: ignore[return-value]
    measured = statistics_spacing(statistics)
    if measured is not None:
        return measured
    raise ValueError(
        f"the voxel spacing of a {type(img).__name__} image is unknown: pass "
        "spacing=(di, dj, dk) in mm, or a MetaTensor (e.g. from LoadImaged), whose pixdim "
        "gives it. PersistentDataset reloads plain tensors (its default track_meta=False): put "
        "LiverStatisticsd before the random transforms (the spacing is cached with the "
        "statistics), or pass spacing="
    )


class RandLiverTumord(_WorkerSeeding, RandomizableTransform, MapTransform):
    """Dictionary transform: synthetic liver tumours in ``data[image_key]`` and ``data[label_key]``.

    One seed is drawn from ``self.R`` per call and passed to the core, so the pipeline's seeding
    decides the tumours. The image and label come back as the types they came in (numpy,
    tensor or ``MetaTensor`` with its affine and metadata), as new objects: the caller's are
    never modified. Samples are passed through unchanged when the draw says no (`prob`), when
    the label already holds real tumour voxels (`skip_if_tumor_present`) or when the liver is
    too small or absent (`on_small_liver`).

    Parameters
    ----------
    keys : sequence of 2 hashable or None
        The image key and the label key, in this order (MONAI's usual
        ``keys=["image", "label"]``). None (default): ``(image_key, label_key)``.
    image_key, label_key : hashable or None
        Alternative to `keys`: the CT in HU, shape ``(1, i, j, k)``, and its label map (or
        binary liver mask) of the same shape. Defaults "image" and "label".
    organ_label, tumor_label : int
        The organ's value in the label map (default 1) and the value written for tumour voxels
        (default 2). Other label values (other organs) are kept.
    liver_label : int or None
        Deprecated name of `organ_label` (it warns).
    prob : float
        Probability of synthesizing tumours in a sample, in [0, 1]. Default 1.0; the paper's
        training recipe used 0.9.
    size : {"tiny", "small", "medium", "large", "mix"} or None
        Size preset; None draws one per sample with ``config.size_probabilities``.
    config : TumorConfig or None
        Hyper-parameters and stage switches; None uses the paper's. Build variants with
        ``TumorConfig().replace(...)``.
    organ : str or OrganPreset
        The organ whose tumours are drawn, ``label == organ_label``: "liver" (default),
        "pancreas", "kidney" or an :class:`~synthtumor.organs.OrganPreset` (``docs/organs.md``).
    spacing : sequence of 3 float or None
        Voxel spacing in mm. None (default) reads ``MetaTensor.pixdim``; needed for numpy or
        plain tensor inputs.
    skip_if_tumor_present : bool
        Pass through a sample whose label already holds `tumor_label` voxels. Default True.
    on_small_liver : {"warn", "raise", "ignore"}
        A liver too small for the drawn size (or none): pass through with a
        :class:`LiverTooSmallWarning` (default), raise, or pass through silently.
    statistics_key : hashable or None
        Where the sample may carry its whole scan's liver statistics (put there by
        :class:`LiverStatisticsd`, default ``"liver_statistics"``). When the key is present
        the image is taken as a crop of that scan: tumours are drawn with the scan's
        statistics and sizes fitted to its whole liver, at a cost that follows the crop. When
        it is absent, or `statistics_key` is None, the image itself is measured.
    bulge_into_background : bool
        Let the tumours and the mass effect take background (0) voxels besides liver ones, as
        in the paper; other classes are never taken. Default False: only liver voxels.
    draw_key : hashable or None
        Where every sample records its draw: ``{"seed": int, "params": str}``, the seed of the
        synthesis and its :class:`~synthtumor.TumorParams` as JSON (seed -1 and params ""
        when no tumour was drawn), in ``data[draw_key]`` and, for a ``MetaTensor`` image, in
        ``image.meta[draw_key]``. Default ``"synthtumor"``; None records nothing.
    allow_missing_keys : bool
        Pass the sample through when a key is missing instead of raising ``KeyError``.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from monai.data import MetaTensor
    >>> from monai.transforms import Compose
    >>> from synthtumor.phantom import make_phantom
    >>> phantom = make_phantom(shape=(64, 64, 48), rng=0)
    >>> affine = torch.diag(torch.tensor([*phantom.spacing, 1.0], dtype=torch.float64))
    >>> data = {
    ...     "image": MetaTensor(phantom.image[None], affine=affine),
    ...     "label": MetaTensor(phantom.liver_mask[None].astype(np.float32), affine=affine),
    ... }
    >>> pipeline = Compose([RandLiverTumord(keys=["image", "label"], prob=0.9)])
    >>> out = pipeline.set_random_state(seed=0)(data)
    >>> type(out["image"]).__name__, bool(torch.equal(out["image"].affine, affine))
    ('MetaTensor', True)
    >>> again = pipeline.set_random_state(seed=0)(data)
    >>> bool(torch.equal(out["image"], again["image"]))
    True
    >>> from synthtumor import TumorParams
    >>> TumorParams.from_json(out["synthtumor"]["params"]).shape
    (64, 64, 48)
    """

    backend = RandLiverTumor.backend

    liver_label = renamed_property()

    def __init__(
        self,
        keys: KeysCollection | None = None,
        *,
        image_key: Hashable | None = None,
        label_key: Hashable | None = None,
        organ_label: int | None = None,
        tumor_label: int = 2,
        prob: float = 1.0,
        size: str | None = None,
        config: TumorConfig | None = None,
        spacing: Sequence[float] | None = None,
        skip_if_tumor_present: bool = True,
        on_small_liver: SmallLiverPolicy = "warn",
        statistics_key: Hashable | None = STATISTICS_KEY,
        bulge_into_background: bool = False,
        draw_key: Hashable | None = DRAW_KEY,
        allow_missing_keys: bool = False,
        organ: str | OrganPreset = "liver",
        liver_label: int | None = None,
    ) -> None:
        self.image_key, self.label_key = _image_and_label_keys(keys, image_key, label_key)
        check_statistics_key(statistics_key)
        check_statistics_key(draw_key, name="draw_key")
        self.statistics_key = statistics_key
        self.draw_key = draw_key
        self._note_seeded()
        MapTransform.__init__(self, (self.image_key, self.label_key), allow_missing_keys)
        RandomizableTransform.__init__(self, check_probability(prob))
        self.liver_tumor = RandLiverTumor(
            1.0,
            organ_label=renamed_label(organ_label, liver_label),
            tumor_label=tumor_label,
            size=size,
            config=config,
            spacing=spacing,
            skip_if_tumor_present=skip_if_tumor_present,
            on_small_liver=on_small_liver,
            bulge_into_background=bulge_into_background,
            organ=organ,
        )
        self._seed = 0

    @property
    def organ_label(self) -> int:
        """The organ's value in the label map."""
        return self.liver_tumor.organ_label

    def set_random_state(
        self, seed: int | None = None, state: np.random.RandomState | None = None
    ) -> RandLiverTumord:
        RandomizableTransform.set_random_state(self, seed, state)
        self.liver_tumor.set_random_state(seed, state)
        self._note_seeded()
        return self

    def randomize(self, data: Any = None) -> None:
        """Draw whether to transform and the seed of the synthesis, from ``self.R``."""
        self._reseed_if_copied_into_a_worker()
        super().randomize(None)
        self._seed = _draw_seed(self.R)

    def __call__(self, data: Mapping[Hashable, NdarrayOrTensor]) -> dict[Hashable, Any]:
        d = dict(data)
        self.randomize()
        present = list(self.key_iterator(d))  # raises KeyError unless allow_missing_keys
        if len(present) < 2:
            return d
        params = None
        if self._do_transform:
            statistics = None
            if self.statistics_key is not None and self.statistics_key in d:
                statistics = as_statistics(
                    d[self.statistics_key], name=f"data[{self.statistics_key!r}]"
                )
            d[self.image_key], d[self.label_key], params = self.liver_tumor._synthesize(
                d[self.image_key], d[self.label_key], seed=self._seed, statistics=statistics
            )
        self._record(d, draw_record(self._seed if self._do_transform else None, params), params)
        return d

    def _record(self, d: dict[Hashable, Any], record: dict[str, int | str], params) -> None:
        """The draw in ``d[draw_key]`` and in the image's meta.

        Every sample of a batch must carry the same meta keys to collate: a ``MetaTensor``
        passed through is replaced by a view of it with its own meta.
        """
        if self.draw_key is None:
            return
        d[self.draw_key] = record
        image = d[self.image_key]
        if isinstance(image, MetaTensor):
            if params is None:
                view = MetaTensor(image.as_tensor(), meta=dict(image.meta))
                view.applied_operations = list(image.applied_operations)
                d[self.image_key] = image = view
            image.meta[self.draw_key] = record


RandLiverTumorD = RandLiverTumorDict = RandLiverTumord


class LiverStatisticsd(MapTransform):
    """Measure a scan's liver once and store it in the sample, for synthesis on crops.

    Deterministic (a plain ``MapTransform``, its patches drawn with a fixed `seed`), so
    ``CacheDataset`` and ``PersistentDataset`` cache its result with the scan. It writes
    ``data[statistics_key]``: :func:`synthtumor.liver_statistics` as a dictionary of floats, an
    int and a list (``LiverStatistics.to_dict()``), which crops copy along, MONAI collates and
    ``PersistentDataset`` saves and reloads with its defaults (``weights_only=True``,
    ``track_meta=False``; the spacing it holds then stands in for the lost ``pixdim``). A
    :class:`RandLiverTumord` placed after ``RandCropByPosNegLabeld`` reads it and synthesizes on
    the crop as if it saw the whole liver. Put it after ``Spacingd``, on HU values.

    Parameters
    ----------
    keys : sequence of 2 hashable or None
        The image key and the label key, in this order. None (default):
        ``(image_key, label_key)``.
    image_key, label_key : hashable or None
        Alternative to `keys`. Defaults "image" and "label".
    organ_label : int
        The organ's value in the label map (default 1).
    liver_label : int or None
        Deprecated name of `organ_label` (it warns).
    statistics_key : hashable
        Where to store the statistics. Default ``"liver_statistics"``.
    config : TumorConfig or None
        Hyper-parameters of the measurement (vessel threshold offset, smoothing, patches);
        use the config the synthesis uses. None uses the paper's.
    seed : int
        Seed of the measurement's random patches (non-negative); the same seed and scan give
        the same statistics. Default 0.
    spacing : sequence of 3 float or None
        Voxel spacing in mm; None reads ``MetaTensor.pixdim``.
    allow_missing_keys : bool
        Pass the sample through when a key is missing instead of raising ``KeyError``.

    Raises
    ------
    ValueError
        A scan whose label map holds no liver voxel.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from monai.data import MetaTensor
    >>> from monai.transforms import Compose, RandSpatialCropd
    >>> from synthtumor.phantom import make_phantom
    >>> phantom = make_phantom(shape=(64, 64, 48), rng=0)
    >>> affine = torch.diag(torch.tensor([*phantom.spacing, 1.0], dtype=torch.float64))
    >>> data = {
    ...     "image": MetaTensor(phantom.image[None], affine=affine),
    ...     "label": MetaTensor(phantom.liver_mask[None].astype(np.uint8), affine=affine),
    ... }
    >>> measured = LiverStatisticsd(keys=["image", "label"])(data)
    >>> sorted(measured["liver_statistics"])[:3]
    ['format_version', 'liver_mean_hu', 'liver_volume_mm3']
    >>> crops = Compose([
    ...     RandSpatialCropd(["image", "label"], roi_size=(32, 32, 24), random_size=False),
    ...     RandLiverTumord(keys=["image", "label"], on_small_liver="ignore"),
    ... ]).set_random_state(seed=0)
    >>> crop = crops(measured)
    >>> tuple(crop["image"].shape)
    (1, 32, 32, 24)
    """

    backend = RandLiverTumor.backend

    liver_label = renamed_property()

    def __init__(
        self,
        keys: KeysCollection | None = None,
        *,
        image_key: Hashable | None = None,
        label_key: Hashable | None = None,
        organ_label: int | None = None,
        statistics_key: Hashable = STATISTICS_KEY,
        config: TumorConfig | None = None,
        seed: int = 0,
        spacing: Sequence[float] | None = None,
        allow_missing_keys: bool = False,
        liver_label: int | None = None,
    ) -> None:
        self.image_key, self.label_key = _image_and_label_keys(keys, image_key, label_key)
        MapTransform.__init__(self, (self.image_key, self.label_key), allow_missing_keys)
        if statistics_key is None:
            raise ValueError("statistics_key must be a key of the sample, got None")
        check_statistics_key(statistics_key)
        self.statistics_key = statistics_key
        self.organ_label = check_seed(renamed_label(organ_label, liver_label), name="organ_label")
        check_size_and_config(None, config)
        self.config = config
        self.seed = check_seed(seed)
        check_spacing(spacing)
        self.spacing = None if spacing is None else tuple(float(v) for v in spacing)

    def __call__(self, data: Mapping[Hashable, NdarrayOrTensor]) -> dict[Hashable, Any]:
        d: dict[Hashable, Any] = dict(data)
        present = list(self.key_iterator(d))  # raises KeyError unless allow_missing_keys
        if len(present) < 2:
            return d
        img, label = d[self.image_key], d[self.label_key]
        for name, value in (("image", img), ("label", label)):
            if isinstance(value, MetaTensor) and value.pending_operations:
                raise ValueError(
                    f"{name} has pending lazy operations; LiverStatisticsd is not lazy, run it "
                    "in a Compose (which applies them first) or call ApplyPending before it"
                )
        d[self.statistics_key] = measure_liver(
            single_channel(as_numpy(img, name="image"), name="image", channel_first=True),
            single_channel(as_numpy(label, name="label"), name="label", channel_first=True),
            spacing=_spacing_of(img, self.spacing, None),
            organ_label=self.organ_label,
            config=self.config,
            seed=self.seed,
            name="LiverStatisticsd",
        )
        return d


LiverStatisticsD = LiverStatisticsDict = LiverStatisticsd


def _image_and_label_keys(
    keys: KeysCollection | None, image_key: Hashable | None, label_key: Hashable | None
) -> tuple[Hashable, Hashable]:
    if keys is None:
        return (
            "image" if image_key is None else image_key,
            "label" if label_key is None else label_key,
        )
    pair = ensure_tuple(keys)
    if len(pair) != 2:
        raise ValueError(
            f"keys must be the image key and the label key, in this order, got {keys!r}"
        )
    for name, given, from_keys in (
        ("image_key", image_key, pair[0]),
        ("label_key", label_key, pair[1]),
    ):
        if given is not None and given != from_keys:
            raise ValueError(f"{name}={given!r} contradicts keys={keys!r} (image key, label key)")
    return pair[0], pair[1]
