"""The drawn parameters of one synthesis: every random choice, frozen and JSON-serialisable.

``apply(image, liver_mask, params)`` needs nothing else, so a params file replays a synthesis
exactly and documents what was generated.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import MISSING, asdict, dataclass, fields
from typing import Any, TypeVar

from synthtumor._renamed import OLD_NAME, accepts_liver_label, renamed_property
from synthtumor._validation.params import check_tumor_params, check_tumor_spec

__all__ = [
    "FORMAT_VERSION",
    "TumorParams",
    "TumorSpec",
    "blur_reach_mm",
    "edge_sigmas_mm",
    "tumor_half_extent_mm",
]

FORMAT_VERSION = 4
# 2 added the realistic mode's fields, with defaults; 3 renamed liver_label to organ_label;
# 4 moved the fields every tumour of a call shares onto the params (see _lift_shared).
_READABLE_VERSIONS = (1, 2, 3, 4)

_TUPLE_FIELDS = {"center_voxel", "semi_axes_mm", "capsule_band", "shape", "spacing", "duct_path"}

_SHARED_BEFORE_4 = {"capsule_band": None, "push": "surroundings", "scanner_blur_mm": [0.0] * 3}
"""Tumour fields of formats 1-3 that are the same in every tumour of a call, with their defaults
(None: required). Format 4 keeps them once, on the params (``scanner_blur_mm`` as the switch
``scanner_blur``, the sigmas being computed from the spacing)."""
_SHARED = ("capsule_band", "push", "scanner_blur")
"""The :class:`TumorParams` fields that hold them from format 4 on."""


@dataclass(frozen=True)
class TumorSpec:
    """Everything drawn for one tumour.

    A stage that is switched off has its strength set to 0 (``deformation_mm``,
    ``edge_blur_mm``, ``mass_effect_intensity``, ``capsule_contrast_hu``). What every tumour of
    a call shares (the capsule's band, what the mass effect pushes, the scanner's blur) is kept
    once, on :class:`TumorParams`.

    Attributes
    ----------
    size : str
        The Table 6 size it was drawn from ("tiny", "small", "medium" or "large").
    center_voxel : tuple of 3 int
        Centre (x_t, y_t, z_t) in array indices.
    vessel_free : bool or None
        Whether the centre passed the vessel collision check; None when vessel avoidance was
        switched off.
    radius_mm : float
        Nominal radius r.
    semi_axes_mm : tuple of 3 float
        The ellipsoid's semi-axes, U(0.75 r, 1.25 r) by default.
    deformation_mm, edge_blur_mm : float
        sigma_e and sigma_c.
    texture_mean_hu, texture_std_hu, texture_scale, texture_blur_mm : float
        mu_t, sigma_p, eta and sigma_b.
    mass_effect_radius_factor, mass_effect_intensity : float
        gamma_max / r and I.
    capsule_blur_mm, capsule_contrast_hu : float
        sigma_d and d.
    seed : int
        Seed of the tumour's texture noise and deformation field.
    lesion : str or None
        Realistic mode: the lesion type drawn ("metastasis", "hcc", "cyst", "hemangioma");
        None in the paper mode.
    periphery_hu, fill : float
        Realistic mode: extra HU of an enhancing periphery over the centre, and the share of
        the radius it covers from the edge (haemangioma); 0 for none.
    exophytic : bool
        Organ presets: the tumour may grow beyond the organ's outline into the surrounding
        fat, and its label follows (never into another class of an organ map). False: clipped
        to the organ, as the paper's liver tumours.
    duct_path : tuple of (int, int, int)
        Organ presets (pancreas): the course, in voxel indices, of the dilated duct upstream of
        the tumour; empty for none.
    duct_radius_mm, duct_hu : float
        The dilated duct's radius and its fluid's HU (0 for none).
    """

    size: str
    center_voxel: tuple[int, int, int]
    vessel_free: bool | None
    radius_mm: float
    semi_axes_mm: tuple[float, float, float]
    deformation_mm: float
    edge_blur_mm: float
    texture_mean_hu: float
    texture_std_hu: float
    texture_scale: float
    texture_blur_mm: float
    mass_effect_radius_factor: float
    mass_effect_intensity: float
    capsule_blur_mm: float
    capsule_contrast_hu: float
    seed: int
    lesion: str | None = None
    periphery_hu: float = 0.0
    fill: float = 0.0
    exophytic: bool = False
    duct_path: tuple[tuple[int, int, int], ...] = ()
    duct_radius_mm: float = 0.0
    duct_hu: float = 0.0

    def __post_init__(self) -> None:
        check_tumor_spec(self)


Triple = tuple[float, float, float]


def edge_sigmas_mm(spec: TumorSpec, scanner_blur_mm: Triple) -> Triple:
    """The Gaussian sigma of a tumour's edge per axis: its own blur and the scanner's.

    `scanner_blur_mm` is the scanner's sigma per axis, :attr:`TumorParams.scanner_blur_mm`
    (zeros in the paper mode); the two Gaussians add in quadrature.

    Examples
    --------
    >>> spec = TumorSpec("tiny", (5, 5, 5), True, 4.0, (4.0, 4.0, 4.0), 0.0, 0.8, 40.0, 10.0,
    ...                  1.3, 0.6, 1.3, 0.0, 0.8, 0.0, 0)
    >>> edge_sigmas_mm(spec, (0.0, 0.0, 0.6))
    (0.8, 0.8, 1.0)
    """
    return tuple(  # type: ignore[return-value]
        math.hypot(spec.edge_blur_mm, scanner) for scanner in scanner_blur_mm
    )


def blur_reach_mm(
    spec: TumorSpec, scanner_blur_mm: Triple, *, always_capsule: bool = False
) -> Triple:
    """How far, per axis, the edge and capsule blurs carry a tumour beyond its mask (3 sigma).

    The edge's sigma is :func:`edge_sigmas_mm` (with the scanner's `scanner_blur_mm`). In the
    paper mode the capsule's reach counts even when the capsule is off, so that the box, and so
    the texture drawn in it, stays the same whichever stages are on. A realistic lesion without
    a capsule (most of them) does not pay for one, unless `always_capsule`: the texture field is
    sized with it, so that the texture is the same with and without a capsule.

    Examples
    --------
    >>> spec = TumorSpec("tiny", (5, 5, 5), True, 4.0, (4.0, 4.0, 4.0), 0.0, 1.0, 40.0, 10.0,
    ...                  1.3, 0.6, 1.3, 0.0, 0.8, 0.0, 0)
    >>> [round(reach, 6) for reach in blur_reach_mm(spec, (0.0, 0.0, 0.0))]
    [5.4, 5.4, 5.4]
    >>> from dataclasses import replace
    >>> lesion = replace(spec, lesion="metastasis")
    >>> [round(reach, 6) for reach in blur_reach_mm(lesion, (0.0, 0.0, 0.0))]
    [3.0, 3.0, 3.0]
    """
    has_capsule = always_capsule or spec.lesion is None or spec.capsule_contrast_hu > 0
    capsule_mm = 3.0 * spec.capsule_blur_mm if has_capsule else 0.0
    reach = [3.0 * edge_mm + capsule_mm for edge_mm in edge_sigmas_mm(spec, scanner_blur_mm)]
    return reach[0], reach[1], reach[2]


def tumor_half_extent_mm(
    spec: TumorSpec, scanner_blur_mm: Triple, *, always_capsule: bool = False
) -> Triple:
    """Half-size, in mm per axis, of the box that holds everything one tumour changes.

    The deformed, blurred tumour with its capsule (:func:`blur_reach_mm`, which says what
    `scanner_blur_mm` and `always_capsule` do), and the region its mass effect warps.

    Examples
    --------
    >>> spec = TumorSpec("tiny", (5, 5, 5), True, 4.0, (4.0, 4.0, 4.0), 0.0, 1.0, 40.0, 10.0,
    ...                  1.3, 0.6, 1.3, 0.0, 0.8, 0.0, 0)
    >>> [round(half, 6) for half in tumor_half_extent_mm(spec, (0.0, 0.0, 0.0))]
    [9.4, 9.4, 9.4]
    """
    from synthtumor.shape import DISPLACEMENT_CLIP

    extents = []
    reaches = blur_reach_mm(spec, scanner_blur_mm, always_capsule=always_capsule)
    for semi_axis, reach_mm in zip(spec.semi_axes_mm, reaches, strict=True):
        tumor = semi_axis + DISPLACEMENT_CLIP * spec.deformation_mm + reach_mm
        warp = spec.mass_effect_radius_factor * semi_axis if spec.mass_effect_intensity else 0.0
        extents.append(max(tumor, warp))
    return extents[0], extents[1], extents[2]


@accepts_liver_label
@dataclass(frozen=True)
class TumorParams:
    """The parameters of one synthesis (all tumours of one call).

    Attributes
    ----------
    shape : tuple of 3 int
        Shape of the volume they were drawn for.
    spacing : tuple of 3 float
        Its spacing in mm.
    size : str
        The preset drawn or asked for ("tiny" ... "large" or "mix").
    tumors : tuple of TumorSpec
        The tumours, applied in this order.
    liver_mean_hu, parenchyma_mean_hu, parenchyma_std_hu : float
        The liver's statistics used by the draw.
    vessel_threshold_hu, vessel_smoothing_mm : float
        T and sigma_a of the vessel mask.
    label_threshold : float
        t'' level from which a voxel is labelled tumour.
    background_label, organ_label, tumor_label : int
        Values of the output label map: background, the organ and tumour. ``liver_label`` is
        the deprecated name of `organ_label` (it warns); params files of format 1 and 2 store
        it under that name and still load.
    appearance : str
        "paper" or "realistic".
    phase : str or None
        Realistic mode: the contrast phase used (resolved when "auto" was asked for).
    pattern : str or None
        The clinical pattern drawn, or None for Table 6's counts.
    noise_lowpass_mm : float
        Realistic mode: sigma of the scan's local mean that tumours replace (their noise
        is kept); 0 in the paper mode, whose eq. 4 replaces the scan.
    vessel_check : str
        "eq2" (the paper's vessel threshold), "off" (vessel avoidance switched off) or
        "unenhanced" (skipped: the scan's vessels are not brighter than its liver).
    capsule_band : tuple of 2 float
        (lb, ub) of eq. 6, every tumour's capsule band (``TumorConfig.capsule_band``).
    push : {"surroundings", "organ"}
        Organ presets: what every tumour's mass effect moves, everything around it (the
        paper's) or only the organ's own voxels.
    scanner_blur : bool
        Realistic mode: every tumour's edge is also blurred by the scanner's PSF,
        :attr:`scanner_blur_mm` (``TumorConfig.scanner_blur``); False in the paper mode.

    Notes
    -----
    Format 4 of the JSON (:data:`FORMAT_VERSION`) keeps `capsule_band`, `push` and
    `scanner_blur` here, once; formats 1-3 copied them into every tumour (the scanner's blur as
    its sigmas, ``scanner_blur_mm``). Such a file still loads, into the same params, when its
    tumours agree on them (as every file :func:`synthtumor.sample` wrote does); one whose
    tumours differ, or whose sigmas are not the scanner's for its spacing, is refused with a
    ``ValueError`` naming the field.

    Examples
    --------
    >>> import numpy as np
    >>> from synthtumor import TumorConfig, sample
    >>> from synthtumor.phantom import make_phantom
    >>> phantom = make_phantom(rng=0)
    >>> params = sample(phantom.image, phantom.liver_mask, spacing=phantom.spacing,
    ...                 size="small", rng=1)
    >>> TumorParams.from_json(params.to_json()) == params
    True
    >>> params.capsule_band, params.push, params.scanner_blur_mm
    ((0.4, 0.7), 'surroundings', (0.0, 0.0, 0.0))
    >>> realistic = sample(phantom.image, phantom.liver_mask, spacing=phantom.spacing,
    ...                    size="small", config=TumorConfig.realistic(), rng=1)
    >>> phantom.spacing, realistic.scanner_blur, realistic.scanner_blur_mm
    ((1.5, 1.5, 2.0), True, (0.75, 0.75, 1.0))
    """

    shape: tuple[int, int, int]
    spacing: tuple[float, float, float]
    size: str
    tumors: tuple[TumorSpec, ...]
    liver_mean_hu: float
    parenchyma_mean_hu: float
    parenchyma_std_hu: float
    vessel_threshold_hu: float
    vessel_smoothing_mm: float
    label_threshold: float = 0.5
    background_label: int = 0
    organ_label: int = 1
    tumor_label: int = 2
    appearance: str = "paper"
    phase: str | None = None
    pattern: str | None = None
    noise_lowpass_mm: float = 0.0
    vessel_check: str = "eq2"
    capsule_band: tuple[float, float] = (0.4, 0.7)
    push: str = "surroundings"
    scanner_blur: bool = False

    liver_label = renamed_property()

    def __post_init__(self) -> None:
        check_tumor_params(self)

    @functools.cached_property
    def scanner_blur_mm(self) -> Triple:
        """Sigma per axis, in mm, of the scanner's PSF added to every tumour's edge blur.

        :func:`synthtumor.appearance.scanner_blur_mm` of the spacing with `scanner_blur`,
        zeros without.
        """
        from synthtumor.appearance import scanner_blur_mm

        return scanner_blur_mm(self.spacing) if self.scanner_blur else (0.0, 0.0, 0.0)

    def to_dict(self) -> dict[str, Any]:
        """A plain dictionary of JSON types, with a format version."""
        data = asdict(self)
        data["tumors"] = [asdict(tumor) for tumor in self.tumors]
        return {"format_version": FORMAT_VERSION, **_lists(data)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TumorParams:
        """Rebuild params from :meth:`to_dict`'s output, checking the field names."""
        if not isinstance(data, dict):
            raise TypeError(f"data must be a dict, got {type(data).__name__}")
        data = dict(data)
        version = data.pop("format_version", FORMAT_VERSION)
        if isinstance(version, bool) or version not in _READABLE_VERSIONS:
            raise ValueError(f"format_version must be one of {_READABLE_VERSIONS}, got {version!r}")
        if (
            version < 3 and OLD_NAME in data and "organ_label" not in data
        ):  # a file of an earlier version: data, no warning
            data["organ_label"] = data.pop(OLD_NAME)
        tumors = data.pop("tumors", [])
        if not isinstance(tumors, list | tuple):
            raise TypeError(f"tumors must be a list of tumour objects, got {tumors!r}")
        scanner = None
        if version < 4:
            data, tumors, scanner = _lift_shared(data, list(tumors), version)
        params = _build(
            cls, {**data, "tumors": tuple(_tumor(i, tumor) for i, tumor in enumerate(tumors))}
        )
        if scanner is not None:
            _check_scanner_blur(params, *scanner)
        return params

    def to_json(self, **kwargs: Any) -> str:
        """JSON text; keyword arguments go to :func:`json.dumps` (e.g. ``indent=2``)."""
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_json(cls, text: str) -> TumorParams:
        """Rebuild params from :meth:`to_json`'s output."""
        return cls.from_dict(json.loads(text))


def _tuples(key: str, value: Any) -> Any:
    """JSON lists back to the tuples of the dataclasses (nested ones too)."""
    if key in _TUPLE_FIELDS and isinstance(value, list):
        return tuple(_tuples(key, item) for item in value)
    return value


def _lists(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _lists(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_lists(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"params hold a non-finite number {value}")
    return value


def _lift_shared(
    data: dict[str, Any], tumors: list[Any], version: int
) -> tuple[dict[str, Any], list[Any], tuple[int, Any] | None]:
    """A format 1-3 mapping in format 4's layout: the tumours' shared fields, on the params.

    Every tumour must hold the same value of each (:data:`_SHARED_BEFORE_4`), or the file is
    refused, naming the field and the two tumours. Returns the new mapping, the tumours without
    those fields and, where they had a scanner's blur, ``(index, sigmas)`` of the first one, to
    check against the spacing once the params are built (:func:`_check_scanner_blur`).
    """
    misplaced = [name for name in _SHARED if name in data]
    if misplaced:
        raise ValueError(
            f"{misplaced[0]} is a field of the params from format 4 on; a format {version} "
            "file keeps it in each tumour"
        )
    shared: dict[str, tuple[int, Any]] = {}
    stripped = []
    for index, tumor in enumerate(tumors):
        if not isinstance(tumor, dict):
            stripped.append(tumor)  # refused by name in _tumor
            continue
        tumor = dict(tumor)
        for name, default in _SHARED_BEFORE_4.items():
            if name not in tumor and default is None:
                raise ValueError(
                    f"tumors[{index}]: TumorSpec fields do not match: unknown [], "
                    f"missing [{name!r}]"
                )
            value = tumor.pop(name, default)
            first, first_value = shared.setdefault(name, (index, value))
            if not _same(value, first_value):
                raise ValueError(
                    f"tumors[{index}].{name} is {value!r} but tumors[{first}].{name} is "
                    f"{first_value!r}: every tumour of a call shares {name} (format 4 keeps it "
                    "once, on the params), so this file cannot be read"
                )
        stripped.append(tumor)
    lifted = {name: value for name, (_, value) in shared.items() if name != "scanner_blur_mm"}
    scanner = shared.get("scanner_blur_mm")
    if scanner is None or _same(scanner[1], (0.0, 0.0, 0.0)):
        return {**data, **lifted}, stripped, None
    return {**data, **lifted, "scanner_blur": True}, stripped, scanner


def _same(value: Any, other: Any) -> bool:
    """Equal as JSON values: lists and tuples alike, NaN equal to NaN (then refused by name)."""
    value, other = _frozen(value), _frozen(other)
    return bool(value == other) or repr(value) == repr(other)


def _frozen(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_frozen(item) for item in value)
    return value


def _check_scanner_blur(params: TumorParams, index: int, sigmas: Any) -> None:
    """A format 1-3 tumour's scanner blur must be the one format 4 computes from the spacing."""
    if not _same(sigmas, params.scanner_blur_mm):
        raise ValueError(
            f"tumors[{index}].scanner_blur_mm is {sigmas!r}, not the scanner's blur for the "
            f"spacing {params.spacing} ({params.scanner_blur_mm}) nor (0, 0, 0): format 4 "
            "computes it from the spacing, so this file cannot be read"
        )


def _tumor(index: int, data: object) -> TumorSpec:
    """One tumour of a params mapping; an error names it as ``tumors[index]``."""
    if not isinstance(data, dict):
        raise TypeError(f"tumors[{index}] must be an object of TumorSpec fields, got {data!r}")
    moved = sorted(set(_SHARED_BEFORE_4) & set(data))
    if moved:
        raise ValueError(
            f"tumors[{index}]: {moved[0]} is no longer a tumour's field: from format 4 on the "
            "params hold it once, for every tumour (see TumorParams)"
        )
    try:
        return _build(TumorSpec, data)
    except (TypeError, ValueError) as error:
        raise type(error)(f"tumors[{index}]: {error}") from None


Built = TypeVar("Built", "TumorSpec", "TumorParams")


def _build(cls: type[Built], data: dict[str, Any]) -> Built:
    names = {field.name for field in fields(cls)}
    unknown = set(data) - names
    missing = {
        field.name for field in fields(cls) if field.name not in data and field.default is MISSING
    }
    if unknown or missing:
        raise ValueError(
            f"{cls.__name__} fields do not match: unknown {sorted(unknown)}, "
            f"missing {sorted(missing)}"
        )
    converted = {key: _tuples(key, value) for key, value in data.items()}
    return cls(**converted)
