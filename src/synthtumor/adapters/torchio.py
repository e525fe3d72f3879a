"""TorchIO transforms that put synthetic liver tumours into CT scans.

``RandomLiverTumor`` is the random transform for a training pipeline; it draws a seed from
torch's random number generator (so ``torch.manual_seed`` and TorchIO's worker seeding make it
reproducible) and applies the deterministic ``LiverTumor`` with that seed. ``LiverTumor`` is
recorded in the subject's history, so ``subject.get_composed_history()`` replays it exactly.

Where it goes: after ``ToCanonical`` and ``Resample`` (the scan must be in HU at its final
spacing) and before intensity scaling (``Clamp``, ``RescaleIntensity``). On the whole subject,
before patch sampling::

    ToCanonical -> Resample(1) -> RandomLiverTumor -> Clamp -> RescaleIntensity -> Queue

or on the patches, at a cost that follows the patch: ``MeasureLiver`` (deterministic) stores the
whole liver's statistics on the subject, patch samplers copy them into every patch, and
``RandomLiverTumor`` applied to a patch uses them (see docs/torchio.md for a sampler that does
it inside a ``tio.Queue``)::

    ToCanonical -> Resample(1) -> MeasureLiver -> patch sampler -> RandomLiverTumor -> Clamp

Needs ``pip install synthtumor[torchio]``.
"""

from __future__ import annotations

from typing import Any

try:
    import torch
    import torchio as tio
except ModuleNotFoundError as error:  # pragma: no cover - depends on the installation
    raise ImportError(
        "synthtumor.adapters.torchio needs TorchIO and torch; install them with "
        "`pip install synthtumor[torchio]`"
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
    check_seed,
    check_size_and_config,
    check_small_liver_policy,
    draw_record,
    measure_liver,
    single_channel,
    synthesize_label_map,
)
from synthtumor.config import TumorConfig
from synthtumor.organs import OrganPreset

__all__ = ["LiverTooSmallWarning", "LiverTumor", "MeasureLiver", "RandomLiverTumor"]

STATISTICS_KEY = "liver_statistics"
"""Where ``MeasureLiver`` stores a subject's statistics and the tumour transforms look."""


def _random_transform_base() -> type:
    """TorchIO's base class of random transforms, found through a public random transform.

    Its module moved (``torchio.transforms.augmentation`` in TorchIO 1, which TorchIO 2
    removes); its role did not: TorchIO leaves it out of a subject's history, which then holds
    the deterministic twin that replays the draw.
    """
    for base in tio.RandomFlip.__mro__:
        if base.__name__ == "RandomTransform":
            return base
    raise ImportError(  # pragma: no cover - depends on the installation
        f"TorchIO {tio.__version__} has no RandomTransform base class; synthtumor supports 1.x"
    )


RandomTransform = _random_transform_base()


class LiverTumor(tio.Transform):
    """Put the synthetic liver tumours that `seed` draws into a subject (deterministic).

    The liver is ``subject[label_key].data == organ_label``; tumour voxels are written as
    `tumor_label`, every other label value is kept. Spacing comes from the image's affine
    (``image.spacing``). Usually built by :class:`RandomLiverTumor`; it is what the subject's
    history records, so that ``subject.get_composed_history()`` reproduces the output exactly.

    Parameters
    ----------
    seed : int
        Seed of the synthesis (non-negative).
    image_key, label_key : str
        Names of the CT (a ``ScalarImage`` in HU, one channel) and of its label map (a
        ``LabelMap``: liver mask or multi-organ labels) in the subject. Defaults "image" and
        "label".
    organ_label, tumor_label : int
        The organ's value in the label map (default 1) and the value written for tumour
        voxels (default 2).
    liver_label : int or None
        Deprecated name of `organ_label` (it warns).
    size : {"tiny", "small", "medium", "large", "mix"} or None
        Size preset; None lets the seed draw one.
    config : TumorConfig or None
        Hyper-parameters of the generator; None uses the paper's.
    organ : str or OrganPreset
        The organ whose tumours are drawn, ``label == organ_label``: "liver" (default),
        "pancreas", "kidney" or an :class:`~synthtumor.organs.OrganPreset` (``docs/organs.md``).
    skip_if_tumor_present : bool
        Leave a subject whose label already holds `tumor_label` voxels unchanged. Default True.
    on_small_liver : {"warn", "raise", "ignore"}
        A liver too small for the drawn size (or none): leave the subject unchanged with a
        :class:`LiverTooSmallWarning` (default), raise, or leave it unchanged silently.
    statistics_key : str or None
        Where the subject may carry its whole scan's liver statistics (put there by
        :class:`MeasureLiver`, default ``"liver_statistics"``). When present the subject is
        taken as a patch of that scan: the scan's statistics are used and the sizes fitted to
        its whole liver. When absent, or None, the subject's own image is measured.
    bulge_into_background : bool
        Let the tumours and the mass effect take background (0) voxels besides liver ones, as
        in the paper; other classes are never taken. Default False: only liver voxels
        (:mod:`synthtumor.label_map`).
    draw_key : str or None
        Where the subject records the draw: ``subject[draw_key]`` is set to
        ``{"seed": int, "params": str}`` (the :class:`~synthtumor.TumorParams` JSON, "" when
        the subject was left unchanged), an attribute that patch samplers, ``tio.Queue`` and
        ``SubjectsLoader`` carry along. Default ``"synthtumor"``; None records nothing. The
        history holds the seed too.
    **kwargs
        Passed to ``torchio.Transform`` (``p``, ``copy``, ``include``, ``exclude``,
        ``label_keys``, ...). `include` and `exclude` must leave `image_key` and `label_key`
        in: those are the images this transform reads and writes.

    Examples
    --------
    >>> import torch
    >>> import torchio as tio
    >>> from synthtumor.phantom import make_phantom
    >>> phantom = make_phantom(shape=(64, 64, 48), rng=0)
    >>> affine = torch.diag(torch.tensor([*phantom.spacing, 1.0], dtype=torch.float64)).numpy()
    >>> subject = tio.Subject(
    ...     image=tio.ScalarImage(tensor=torch.from_numpy(phantom.image[None]), affine=affine),
    ...     label=tio.LabelMap(tensor=torch.from_numpy(phantom.liver_mask[None]).to(torch.uint8),
    ...                        affine=affine),
    ... )
    >>> out = LiverTumor(seed=3)(subject)
    >>> sorted(out["label"].data.unique().tolist())
    [0, 1, 2]
    >>> replay = out.get_composed_history()(subject)
    >>> bool(torch.equal(replay["image"].data, out["image"].data))
    True
    """

    liver_label = renamed_property()

    def __init__(
        self,
        seed: int,
        *,
        image_key: str = "image",
        label_key: str = "label",
        organ_label: int | None = None,
        tumor_label: int = 2,
        size: str | None = None,
        config: TumorConfig | None = None,
        skip_if_tumor_present: bool = True,
        on_small_liver: SmallLiverPolicy = "warn",
        statistics_key: str | None = STATISTICS_KEY,
        bulge_into_background: bool = False,
        draw_key: str | None = DRAW_KEY,
        organ: str | OrganPreset = "liver",
        liver_label: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.seed = check_seed(seed)
        self.statistics_key = _check_optional_key(statistics_key, "statistics_key")
        self.image_key = _check_key(image_key, "image_key")
        self.label_key = _check_key(label_key, "label_key")
        self.organ_label, self.tumor_label = check_label_values(
            renamed_label(organ_label, liver_label), tumor_label
        )
        check_size_and_config(size, config)
        self.size = size
        self.config = config
        self.skip_if_tumor_present = bool(skip_if_tumor_present)
        self.on_small_liver = check_small_liver_policy(on_small_liver)
        self.bulge_into_background = check_bool(bulge_into_background, name="bulge_into_background")
        self.draw_key = _check_optional_key(draw_key, "draw_key")
        _check_selected(self)
        self.organ = check_organ(organ)
        # The arguments that rebuild this transform from the subject's history.
        self.args_names = [
            "seed",
            "image_key",
            "label_key",
            "organ_label",
            "tumor_label",
            "size",
            "config",
            "skip_if_tumor_present",
            "on_small_liver",
            "statistics_key",
            "bulge_into_background",
            "draw_key",
            "label_keys",
            "organ",
        ]

    def apply_transform(self, subject: tio.Subject) -> tio.Subject:
        image = _get_image(subject, self.image_key, "image_key")
        label = _get_image(subject, self.label_key, "label_key")
        statistics = None
        if self.statistics_key is not None and self.statistics_key in subject:
            statistics = as_statistics(
                subject[self.statistics_key], name=f"subject[{self.statistics_key!r}]"
            )
        result = synthesize_label_map(
            single_channel(
                as_numpy(image.data, name=self.image_key), name=self.image_key, channel_first=True
            ),
            single_channel(
                as_numpy(label.data, name=self.label_key), name=self.label_key, channel_first=True
            ),
            spacing=image.spacing,
            seed=self.seed,
            size=self.size,
            config=self.config,
            organ_label=self.organ_label,
            tumor_label=self.tumor_label,
            skip_if_tumor_present=self.skip_if_tumor_present,
            on_small_liver=self.on_small_liver,
            statistics=statistics,
            bulge_into_background=self.bulge_into_background,
            organ=self.organ,
        )
        if result is not None:
            # set_data replaces the tensors: the ones the caller holds are never written to.
            image.set_data(torch.from_numpy(result.image[None]))
            label.set_data(torch.from_numpy(result.label[None]))
        _record(subject, self.draw_key, draw_record(self.seed, result and result.params))
        return subject


class RandomLiverTumor(RandomTransform):  # type: ignore[valid-type,misc]
    """Put synthetic liver tumours into a subject, with a seed drawn from torch's RNG.

    Each call draws one integer seed with ``torch.randint`` and applies
    :class:`LiverTumor` with it, which the subject's history records: replay it with
    ``subject.get_composed_history()``. Seed the pipeline with ``torch.manual_seed``; in a
    ``DataLoader`` or ``tio.Queue`` each worker has its own torch seed.

    Parameters
    ----------
    image_key, label_key : str
        Names of the CT (``ScalarImage`` in HU) and its label map (``LabelMap``) in the subject.
        Defaults "image" and "label".
    organ_label, tumor_label : int
        The organ's value in the label map (default 1) and the value written for tumour voxels
        (default 2). Other label values are kept.
    liver_label : int or None
        Deprecated name of `organ_label` (it warns).
    size : {"tiny", "small", "medium", "large", "mix"} or None
        Size preset; None draws one per call.
    config : TumorConfig or None
        Hyper-parameters of the generator; None uses the paper's.
    organ : str or OrganPreset
        The organ whose tumours are drawn, ``label == organ_label``: "liver" (default),
        "pancreas", "kidney" or an :class:`~synthtumor.organs.OrganPreset` (``docs/organs.md``).
    skip_if_tumor_present : bool
        Leave a subject whose label already holds `tumor_label` voxels unchanged. Default True.
    on_small_liver : {"warn", "raise", "ignore"}
        A liver too small for the drawn size (or none): leave the subject unchanged with a
        :class:`LiverTooSmallWarning` (default), raise, or leave it unchanged silently.
    statistics_key : str or None
        Where the subject may carry its whole scan's liver statistics (put there by
        :class:`MeasureLiver`, default ``"liver_statistics"``). When present the subject is
        taken as a patch of that scan: the scan's statistics are used and the sizes fitted to
        its whole liver. When absent, or None, the subject's own image is measured.
    bulge_into_background : bool
        Let the tumours and the mass effect take background (0) voxels besides liver ones, as
        in the paper; other classes are never taken. Default False: only liver voxels.
    draw_key : str or None
        Where every subject records its draw (see :class:`LiverTumor`; seed -1 when `p`
        skipped it, so that a batch of subjects collates). Default ``"synthtumor"``.
    **kwargs
        Passed to ``torchio.Transform``: ``p`` is the probability of applying it (default 1;
        the paper's recipe used 0.9), ``copy`` whether to copy the subject first (default
        True); ``include``, ``exclude`` and ``label_keys`` are passed on to :class:`LiverTumor`.

    Examples
    --------
    >>> import torch
    >>> import torchio as tio
    >>> from synthtumor.phantom import make_phantom
    >>> phantom = make_phantom(shape=(64, 64, 48), rng=0)
    >>> affine = torch.diag(torch.tensor([*phantom.spacing, 1.0], dtype=torch.float64)).numpy()
    >>> subject = tio.Subject(
    ...     image=tio.ScalarImage(tensor=torch.from_numpy(phantom.image[None]), affine=affine),
    ...     label=tio.LabelMap(tensor=torch.from_numpy(phantom.liver_mask[None]).to(torch.uint8),
    ...                        affine=affine),
    ... )
    >>> pipeline = tio.Compose([RandomLiverTumor(p=0.9), tio.Clamp(-21, 189)])
    >>> _ = torch.manual_seed(0)
    >>> out = pipeline(subject)
    >>> [type(t).__name__ for t in out.get_composed_history()]
    ['LiverTumor', 'Clamp']
    >>> bool(torch.equal(out.get_composed_history()(subject)["image"].data, out["image"].data))
    True
    """

    liver_label = renamed_property()

    def __init__(
        self,
        *,
        image_key: str = "image",
        label_key: str = "label",
        organ_label: int | None = None,
        tumor_label: int = 2,
        size: str | None = None,
        config: TumorConfig | None = None,
        skip_if_tumor_present: bool = True,
        on_small_liver: SmallLiverPolicy = "warn",
        statistics_key: str | None = STATISTICS_KEY,
        bulge_into_background: bool = False,
        draw_key: str | None = DRAW_KEY,
        organ: str | OrganPreset = "liver",
        liver_label: int | None = None,
        **kwargs: Any,
    ) -> None:
        # `p` is drawn here rather than by TorchIO (which then always applies), so that a
        # skipped subject still records its (empty) draw and a batch of subjects collates.
        self.synthesis_probability = tio.Transform.parse_probability(kwargs.pop("p", 1.0))
        super().__init__(**kwargs)
        self.statistics_key = _check_optional_key(statistics_key, "statistics_key")
        self.image_key = _check_key(image_key, "image_key")
        self.label_key = _check_key(label_key, "label_key")
        self.organ_label, self.tumor_label = check_label_values(
            renamed_label(organ_label, liver_label), tumor_label
        )
        check_size_and_config(size, config)
        self.size = size
        self.config = config
        self.skip_if_tumor_present = bool(skip_if_tumor_present)
        self.on_small_liver = check_small_liver_policy(on_small_liver)
        self.bulge_into_background = check_bool(bulge_into_background, name="bulge_into_background")
        self.draw_key = _check_optional_key(draw_key, "draw_key")
        _check_selected(self)
        self.organ = check_organ(organ)

    def apply_transform(self, subject: tio.Subject) -> tio.Subject:
        if torch.rand(1).item() > self.synthesis_probability:
            _record(subject, self.draw_key, draw_record(None, None))
            return subject
        seed = int(torch.randint(0, SEED_BOUND, (1,)).item())
        # The subject was already copied (if copy=True) before this call: no second copy.
        transform = LiverTumor(
            seed,
            image_key=self.image_key,
            label_key=self.label_key,
            organ_label=self.organ_label,
            tumor_label=self.tumor_label,
            size=self.size,
            config=self.config,
            skip_if_tumor_present=self.skip_if_tumor_present,
            on_small_liver=self.on_small_liver,
            statistics_key=self.statistics_key,
            bulge_into_background=self.bulge_into_background,
            draw_key=self.draw_key,
            include=self.include,
            exclude=self.exclude,
            label_keys=self.label_keys,
            organ=self.organ,
            copy=False,
        )
        return transform(subject)


class MeasureLiver(tio.Transform):
    """Store the whole liver's statistics on a subject, for tumour synthesis on its patches.

    Deterministic (its random patches come from `seed`). It sets ``subject[statistics_key]``
    to :func:`synthtumor.liver_statistics` as a dictionary of plain numbers
    (``LiverStatistics.to_dict()``); TorchIO's patch samplers copy it into every patch, and
    :class:`RandomLiverTumor` (or :class:`LiverTumor`) applied to a patch then draws tumours
    with the whole scan's statistics and sizes fitted to its whole liver. Put it after
    ``Resample``, on HU values, and apply it once per subject (for instance to the subjects
    before building the ``SubjectsDataset``): it reads the whole label map.

    Parameters
    ----------
    image_key, label_key : str
        Names of the CT (``ScalarImage`` in HU) and its label map (``LabelMap``).
    organ_label : int
        The organ's value in the label map (default 1).
    liver_label : int or None
        Deprecated name of `organ_label` (it warns).
    statistics_key : str
        Where to store the statistics. Default ``"liver_statistics"``.
    config : TumorConfig or None
        Hyper-parameters of the measurement; use the config the synthesis uses.
    seed : int
        Seed of the measurement's random patches (non-negative). Default 0.
    **kwargs
        Passed to ``torchio.Transform`` (``copy``, ...).

    Raises
    ------
    ValueError
        A subject whose label map holds no liver voxel.

    Examples
    --------
    >>> import torch
    >>> import torchio as tio
    >>> from synthtumor.phantom import make_phantom
    >>> phantom = make_phantom(shape=(64, 64, 48), rng=0)
    >>> affine = torch.diag(torch.tensor([*phantom.spacing, 1.0], dtype=torch.float64)).numpy()
    >>> subject = tio.Subject(
    ...     image=tio.ScalarImage(tensor=torch.from_numpy(phantom.image[None]), affine=affine),
    ...     label=tio.LabelMap(tensor=torch.from_numpy(phantom.liver_mask[None]).to(torch.uint8),
    ...                        affine=affine),
    ... )
    >>> measured = MeasureLiver()(subject)
    >>> patch = next(iter(tio.LabelSampler(32, label_name="label")(measured, num_patches=1)))
    >>> "liver_statistics" in patch
    True
    >>> _ = torch.manual_seed(0)
    >>> out = RandomLiverTumor(on_small_liver="ignore")(patch)
    >>> tuple(out["image"].shape)
    (1, 32, 32, 32)
    """

    liver_label = renamed_property()

    def __init__(
        self,
        *,
        image_key: str = "image",
        label_key: str = "label",
        organ_label: int | None = None,
        statistics_key: str = STATISTICS_KEY,
        config: TumorConfig | None = None,
        seed: int = 0,
        liver_label: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.image_key = _check_key(image_key, "image_key")
        self.label_key = _check_key(label_key, "label_key")
        self.organ_label = check_seed(renamed_label(organ_label, liver_label), name="organ_label")
        self.statistics_key = _check_key(statistics_key, "statistics_key")
        check_size_and_config(None, config)
        self.config = config
        self.seed = check_seed(seed)
        self.args_names = [
            "image_key",
            "label_key",
            "organ_label",
            "statistics_key",
            "config",
            "seed",
        ]

    def apply_transform(self, subject: tio.Subject) -> tio.Subject:
        image = _get_image(subject, self.image_key, "image_key")
        label = _get_image(subject, self.label_key, "label_key")
        subject[self.statistics_key] = measure_liver(
            single_channel(
                as_numpy(image.data, name=self.image_key), name=self.image_key, channel_first=True
            ),
            single_channel(
                as_numpy(label.data, name=self.label_key), name=self.label_key, channel_first=True
            ),
            spacing=image.spacing,
            organ_label=self.organ_label,
            config=self.config,
            seed=self.seed,
            name="MeasureLiver",
        )
        # Patch samplers copy the subject's attributes, not its plain dictionary entries.
        subject.update_attributes()
        return subject


def _check_selected(transform: tio.Transform) -> None:
    """`include` and `exclude` must leave in the two images the transform reads and writes."""
    for key_name in ("image_key", "label_key"):
        key = getattr(transform, key_name)
        left_out = (transform.include is not None and key not in transform.include) or (
            transform.exclude is not None and key in transform.exclude
        )
        if left_out:
            raise ValueError(
                f"include={transform.include!r} / exclude={transform.exclude!r} leave out "
                f"{key_name}={key!r}, which the tumour synthesis reads and writes; set "
                f"{key_name} to the image's name or leave it in"
            )


def _record(subject: tio.Subject, key: str | None, record: dict) -> None:
    if key is None:
        return
    subject[key] = record
    # Patch samplers copy the subject's attributes, not its plain dictionary entries.
    subject.update_attributes()


def _check_key(key: object, name: str) -> str:
    if not isinstance(key, str):
        raise TypeError(f"{name} must be a string (an image name in the subject), got {key!r}")
    return key


def _check_optional_key(key: object, name: str) -> str | None:
    return None if key is None else _check_key(key, name)


def _get_image(subject: tio.Subject, key: str, name: str) -> tio.Image:
    image = subject.get(key)
    if not isinstance(image, tio.Image):
        raise KeyError(
            f"{name}={key!r} names no image of the subject; its images are "
            f"{list(subject.get_images_names())}"
        )
    return image
