"""What the three adapters share: argument checks, tensor <-> NumPy views, the label-map policy.

Not public API. Every adapter module imports its framework first (with an ImportError that names
the extra), then this module, which needs torch.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Literal, NamedTuple, TypeVar

import numpy as np
import torch

from synthtumor import (
    LiverStatistics,
    LiverTooSmallError,
    TumorConfig,
    TumorParams,
    liver_statistics,
)
from synthtumor._validation import as_spacing, check_labels, check_probability, check_seed
from synthtumor.config import SIZE_NAMES
from synthtumor.label_map import synthesize_label_map as _synthesize_label_map
from synthtumor.organs import OrganPreset, resolve_organ

__all__ = [
    "DRAW_KEY",
    "LiverTooSmallWarning",
    "SmallLiverPolicy",
    "SynthesizedPair",
    "as_numpy",
    "as_statistics",
    "check_bool",
    "check_label_values",
    "check_probability",
    "check_seed",
    "check_size_and_config",
    "check_small_liver_policy",
    "check_spacing",
    "check_statistics_key",
    "draw_record",
    "like",
    "measure_liver",
    "pass_through",
    "single_channel",
    "statistics_spacing",
    "synthesize_label_map",
]

DRAW_KEY = "synthtumor"
"""Where the adapters record a sample's draw (its seed and params) in the host's metadata."""

SmallLiverPolicy = Literal["warn", "raise", "ignore"]
_SMALL_LIVER_POLICIES = ("warn", "raise", "ignore")

ArrayOrTensor = TypeVar("ArrayOrTensor", np.ndarray, torch.Tensor)


class LiverTooSmallWarning(UserWarning):
    """A sample's liver was too small for a tumour (or absent), so it was passed through.

    Silence it with ``warnings.filterwarnings("ignore", category=LiverTooSmallWarning)`` or by
    building the transform with ``on_small_liver="ignore"``.
    """


class SynthesizedPair(NamedTuple):
    """A synthesized image and label map, both 3-D NumPy arrays, and what was drawn."""

    image: np.ndarray
    label: np.ndarray
    params: TumorParams


# --- argument checks -------------------------------------------------------------------------


def check_small_liver_policy(value: object) -> SmallLiverPolicy:
    if value not in _SMALL_LIVER_POLICIES:
        raise ValueError(f"on_small_liver must be one of {_SMALL_LIVER_POLICIES}, got {value!r}")
    return value  # type: ignore[return-value]


def check_label_values(organ_label: object, tumor_label: object) -> tuple[int, int]:
    """Two distinct non-negative integers: the organ's and the tumour's value in a label map."""
    organ, tumor = check_labels({"organ_label": organ_label, "tumor_label": tumor_label})
    return organ, tumor


def check_bool(value: object, *, name: str) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_size_and_config(size: object, config: object) -> None:
    if size is not None and size not in SIZE_NAMES:
        raise ValueError(f"size must be one of {SIZE_NAMES} or None, got {size!r}")
    if config is not None and not isinstance(config, TumorConfig):
        raise TypeError(f"config must be a TumorConfig or None, got {type(config).__name__}")


def check_statistics_key(key: object, *, name: str = "statistics_key") -> None:
    """None or a hashable key (where a sample carries its scan's statistics)."""
    try:
        hash(key)
    except TypeError:
        raise TypeError(f"{name} must be a hashable key or None, got {key!r}") from None


def draw_record(seed: int | None, params: TumorParams | None) -> dict[str, int | str]:
    """What a sample records of its draw: the seed and the params as JSON.

    Plain types of the same keys whether or not tumours were drawn (seed -1: no draw; params
    "": the sample was passed through), so that a batch of samples collates.

    Examples
    --------
    >>> draw_record(None, None)
    {'seed': -1, 'params': ''}
    """
    return {
        "seed": -1 if seed is None else int(seed),
        "params": "" if params is None else params.to_json(),
    }


# --- liver statistics ------------------------------------------------------------------------


def as_statistics(value: object, *, name: str) -> LiverStatistics | None:
    """Statistics carried by a sample: a LiverStatistics, its ``to_dict()`` form, or None.

    The dictionary may hold NumPy or torch scalars (after a cache or a framework's copy).
    """
    if value is None or isinstance(value, LiverStatistics):
        return value
    if isinstance(value, Mapping):
        try:
            return LiverStatistics.from_dict(value)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{name} does not hold liver statistics: {error}") from error
    raise TypeError(
        f"{name} must hold a LiverStatistics or its to_dict() dictionary, got "
        f"{type(value).__name__}"
    )


def statistics_spacing(statistics: LiverStatistics | None) -> tuple[float, float, float] | None:
    """The spacing the statistics were measured at, if they say."""
    return None if statistics is None else statistics.spacing


def measure_liver(
    image: np.ndarray,
    label: np.ndarray,
    *,
    spacing: Sequence[float],
    organ_label: int,
    config: TumorConfig | None,
    seed: int,
    name: str,
) -> dict:
    """:func:`synthtumor.liver_statistics` of a whole scan, as a dictionary of JSON types.

    Plain floats, ints and a list: it survives pickling, ``torch.load(weights_only=True)``
    (MONAI's ``PersistentDataset``) and MONAI's collation.
    """
    if image.shape != label.shape:
        raise ValueError(
            f"image and label must have the same spatial shape, got {image.shape} and {label.shape}"
        )
    liver = label == organ_label
    if not liver.any():
        raise ValueError(
            f"{name}: the label map holds no organ voxel (no voxel equals "
            f"organ_label={organ_label}), so there is no organ to measure; leave such scans out "
            "or set organ_label"
        )
    return liver_statistics(
        image, liver, spacing=as_spacing(spacing), config=config, rng=seed
    ).to_dict()


# --- arrays and tensors ----------------------------------------------------------------------


def as_numpy(data: object, *, name: str) -> np.ndarray:
    """A NumPy view of an array or tensor; no copy for NumPy arrays and CPU tensors.

    Subclasses such as MONAI's ``MetaTensor`` are viewed as plain tensors first, so that no
    metadata is built or copied.
    """
    if isinstance(data, np.ndarray):
        return data
    if isinstance(data, torch.Tensor):
        return data.as_subclass(torch.Tensor).detach().cpu().numpy()
    raise TypeError(f"{name} must be a numpy array or a torch tensor, got {type(data).__name__}")


def like(array: np.ndarray, reference: ArrayOrTensor) -> ArrayOrTensor:
    """`array` as the same kind of container as `reference` (NumPy, or a tensor on its device).

    Shares memory with `array` where the device allows it.
    """
    if isinstance(reference, torch.Tensor):
        return torch.from_numpy(array).to(reference.device)
    return array


def single_channel(array: np.ndarray, *, name: str, channel_first: bool) -> np.ndarray:
    """The 3-D volume of a single-channel array, as a view.

    ``channel_first=True`` requires the ``(1, i, j, k)`` layout of MONAI and TorchIO;
    ``False`` also accepts a plain 3-D ``(i, j, k)`` array.
    """
    if array.ndim == 4 and array.shape[0] == 1:
        return array[0]
    if array.ndim == 3 and not channel_first:
        return array
    expected = "(1, i, j, k)" if channel_first else "(i, j, k) or (1, i, j, k)"
    raise ValueError(
        f"{name} must be a single-channel volume of shape {expected}, got shape "
        f"{tuple(array.shape)}"
        + (" (add the channel first, e.g. with EnsureChannelFirstd)" if array.ndim == 3 else "")
    )


def check_spacing(spacing: Sequence[float] | None, *, name: str = "spacing") -> None:
    if spacing is not None:
        as_spacing(spacing, name=name)


# --- the label-map policy --------------------------------------------------------------------


def synthesize_label_map(
    image: np.ndarray,
    label: np.ndarray,
    *,
    spacing: Sequence[float],
    seed: int,
    size: str | None,
    config: TumorConfig | None,
    organ_label: int,
    tumor_label: int,
    skip_if_tumor_present: bool,
    on_small_liver: SmallLiverPolicy,
    statistics: LiverStatistics | None = None,
    bulge_into_background: bool = False,
    organ: str | OrganPreset = "liver",
) -> SynthesizedPair | None:
    """Synthesize tumours into a scan whose organ is ``label == organ_label``.

    Parameters
    ----------
    image, label : numpy.ndarray
        3-D scan (HU) and label map of the same shape; neither is modified.
    spacing : sequence of 3 float
        Voxel spacing in mm, array-axis order.
    seed : int
        Seed of the synthesis: the same seed and inputs give the same output.
    size, config
        Passed to :func:`synthtumor.sample`.
    organ_label, tumor_label : int
        The organ's value in `label`, and the value written where a tumour was drawn.
    skip_if_tumor_present : bool
        Return None when `label` already holds `tumor_label` voxels (a scan with real tumours).
    on_small_liver : {"warn", "raise", "ignore"}
        What to do when the liver is absent or too small for the tumour size: warn with
        :class:`LiverTooSmallWarning` and return None, raise
        :class:`~synthtumor.LiverTooSmallError`, or return None silently.
    statistics : LiverStatistics or None
        The whole scan's statistics when `image` is a crop of it (passed to
        :func:`synthtumor.sample`); None measures `image`.
    bulge_into_background : bool
        Whether the tumours and the mass effect may take background voxels besides liver ones
        (:func:`synthtumor.label_map.synthesize_label_map`); other classes are never taken.
    organ : str or OrganPreset
        Passed to :func:`synthtumor.sample`; an exophytic tumour never reaches another class of
        `label`.

    Returns
    -------
    SynthesizedPair or None
        The new image (input dtype) and label map (input dtype, ``uint8`` for a boolean mask),
        written back by the rule of :mod:`synthtumor.label_map`: only liver voxels (and, with
        `bulge_into_background`, background ones) change class. None means
        "pass the sample through unchanged".
    """
    if image.shape != label.shape:
        raise ValueError(
            f"image and label must have the same spatial shape, got {image.shape} and {label.shape}"
        )
    if skip_if_tumor_present and np.any(label == tumor_label):
        return None
    try:
        return SynthesizedPair(
            *_synthesize_label_map(
                image,
                label,
                spacing=tuple(spacing),  # type: ignore[arg-type]
                organ_label=organ_label,
                tumor_label=tumor_label,
                bulge_into_background=bulge_into_background,
                organ=organ,
                size=size,
                config=config,
                statistics=statistics,
                rng=seed,
            )
        )
    except LiverTooSmallError as error:
        pass_through(error, on_small_liver, what="sample", stacklevel=2)
        return None


def pass_through(
    error: LiverTooSmallError, policy: SmallLiverPolicy, *, what: str, stacklevel: int
) -> None:
    """The small-liver policy of the adapters: re-raise `error`, warn, or stay silent.

    `what` names what goes through unchanged ("sample", "crop"); `stacklevel` is the one the
    caller would give :func:`warnings.warn` itself.
    """
    if policy == "raise":
        raise error
    if policy == "warn":
        warnings.warn(
            f"passing the {what} through without tumours: {error}",
            LiverTooSmallWarning,
            stacklevel=stacklevel + 1,
        )


def check_organ(organ: object) -> str | OrganPreset:
    """`organ` (a name of :data:`synthtumor.organs.ORGAN_PRESETS` or a preset), checked."""
    resolve_organ(organ)
    return organ  # type: ignore[return-value]
