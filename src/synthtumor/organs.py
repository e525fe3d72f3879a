"""Organ presets: what a tumour of each organ is like, as data (like the size presets).

An :class:`OrganPreset` says, for one organ, the tumour sizes and counts, how irregular their
shapes are, how they sit relative to the organ's outline, which lesion types they are (their HU
by contrast phase come from :data:`synthtumor.appearance.LESION_TYPES`, relative to the measured
organ), whether the vessel check applies and what the mass effect may push. ``synthesize(...,
organ=...)`` takes a name of :data:`ORGAN_PRESETS` or a user's own preset, and
:func:`organ_config` folds it into the :class:`~synthtumor.config.TumorConfig` the synthesis
runs with. A field left at None keeps the config's own value: the ``liver`` preset is all None,
so the liver's synthesis is exactly the config's (the paper's by default).

Values and their sources are in ``docs/organs.md``.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from synthtumor.config import (
    REALISTIC_LABEL_THRESHOLD,
    TUMOR_SIZES,
    SizePreset,
    TumorConfig,
)

__all__ = [
    "ORGAN_NAMES",
    "ORGAN_PRESETS",
    "PUSHES",
    "OrganPreset",
    "organ_config",
    "resolve_organ",
]

PUSHES: tuple[str, ...] = ("surroundings", "organ", "nothing")
"""What the mass effect (eq. 5) may push: everything around the tumour (the paper's), only the
organ's own tissue (its outline stays), or nothing (the mass effect is off)."""

Sizes = tuple[SizePreset, SizePreset, SizePreset, SizePreset]


@dataclass(frozen=True)
class OrganPreset:
    """The tumours of one organ.

    Every field but `name` may be None, meaning "the config's own value" (see
    :func:`organ_config`).

    Parameters
    ----------
    name : str
        The organ's name, used in messages and reports ("pancreas").
    sizes : tuple of 4 SizePreset or None
        The tiny, small, medium and large sizes (radius, shape irregularity sigma_e, count);
        their largest radii must grow from tiny to large.
    size_probabilities : tuple of 5 float or None
        Probabilities of tiny, small, medium, large and mix when no size is asked for.
    semi_axis_factor : (float, float) or None
        The ellipsoid's semi-axes are drawn from U(low r, high r).
    lesion_types : tuple of (str, float) or None
        Lesion types of :data:`~synthtumor.appearance.LESION_TYPES` and their shares. Set, the
        tumours are drawn with the realistic mode's machinery (HU relative to the measured
        organ at the config's phase); None keeps the config's appearance.
    vessel_avoidance : bool or None
        Whether the paper's vessel check (eq. 1-2) runs inside this organ.
    push : {"surroundings", "organ", "nothing"} or None
        What the mass effect may push (:data:`PUSHES`).
    exophytic_share : float
        Share of tumours that may grow beyond the organ's outline into the surrounding fat
        (never into another class of an organ map); the label follows them there. Their centre
        stays inside the organ, so they always touch it. 0 (default): tumours are clipped to
        the organ.
    min_organ_to_tumor_volume : float
        The organ must hold this many times the volume of the largest tumour a size can draw
        (2 for the liver); otherwise the size is refused with :class:`LiverTooSmallError`.
    center_tries : int
        Candidate centres drawn per tumour, of which the one deepest inside the organ is kept
        (for a thin organ, whose outline would clip most of a tumour centred near it). 1
        (default): a uniformly random organ voxel, as the paper's liver.
    duct_dilation_share : float
        Share of tumours drawn with a dilated duct upstream of them, from the tumour to the
        gland's farther end (:mod:`synthtumor.duct`; the pancreas' main duct). 0 (default):
        none.

    Examples
    --------
    >>> from synthtumor.config import SizePreset
    >>> spleen = OrganPreset(
    ...     name="spleen",
    ...     sizes=tuple(SizePreset(radius_mm=r, deformation_mm=(0.5, 1.5), count=(1, 2))
    ...                 for r in (3.0, 6.0, 10.0, 15.0)),
    ...     lesion_types=(("metastasis", 1.0),),
    ...     push="organ",
    ... )
    >>> spleen.name, spleen.sizes[3].radius_mm
    ('spleen', 15.0)
    >>> OrganPreset(name="spleen", exophytic_share=1.5)
    Traceback (most recent call last):
    ...
    ValueError: exophytic_share must lie in [0, 1], got 1.5
    """

    name: str
    sizes: Sizes | None = None
    size_probabilities: tuple[float, float, float, float, float] | None = None
    semi_axis_factor: tuple[float, float] | None = None
    lesion_types: tuple[tuple[str, float], ...] | None = None
    vessel_avoidance: bool | None = None
    push: Literal["surroundings", "organ", "nothing"] | None = None
    exophytic_share: float = 0.0
    min_organ_to_tumor_volume: float = 2.0
    center_tries: int = 1
    duct_dilation_share: float = 0.0

    def __post_init__(self) -> None:
        from synthtumor.appearance import check_lesion_types

        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"name must be a non-empty string, got {self.name!r}")
        if self.sizes is not None:
            _check_sizes(self.sizes)
        if self.lesion_types is not None:
            object.__setattr__(self, "lesion_types", check_lesion_types(self.lesion_types))
        if self.push is not None and self.push not in PUSHES:
            raise ValueError(f"push must be one of {PUSHES} or None, got {self.push!r}")
        if self.vessel_avoidance is not None and not isinstance(self.vessel_avoidance, bool):
            raise TypeError(
                f"vessel_avoidance must be a bool or None, got {self.vessel_avoidance!r}"
            )
        for name in ("exophytic_share", "duct_dilation_share"):
            share = getattr(self, name)
            if isinstance(share, bool) or not isinstance(share, int | float):
                raise TypeError(f"{name} must be a number, got {share!r}")
            if not 0.0 <= share <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1], got {share!r}")
        ratio = self.min_organ_to_tumor_volume
        if isinstance(ratio, bool) or not isinstance(ratio, int | float):
            raise TypeError(f"min_organ_to_tumor_volume must be a number, got {ratio!r}")
        if not (math.isfinite(ratio) and ratio >= 1.0):
            raise ValueError(
                "min_organ_to_tumor_volume must be finite and >= 1 (a tumour no larger than "
                f"its organ), got {ratio!r}"
            )
        tries = self.center_tries
        if isinstance(tries, bool) or not isinstance(tries, int) or tries < 1:
            raise ValueError(f"center_tries must be an integer >= 1, got {tries!r}")
        # The remaining fields are checked by TumorConfig when the preset is folded in; folding
        # it into the default config here reports an inconsistent value at construction.
        organ_config(TumorConfig(), self)

    def replace(self, **changes: object) -> OrganPreset:
        """Return a copy with some fields changed (the dataclass stays frozen)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


def _check_sizes(sizes: object) -> None:
    if (
        not isinstance(sizes, tuple)
        or len(sizes) != len(TUMOR_SIZES)
        or not all(isinstance(size, SizePreset) for size in sizes)
    ):
        raise TypeError(
            f"sizes must be a tuple of 4 SizePreset ({', '.join(TUMOR_SIZES)}), got {sizes!r}"
        )
    largest = [size.max_radius_mm for size in sizes]
    if any(a >= b for a, b in itertools.pairwise(largest)):
        raise ValueError(
            "sizes must grow from tiny to large: their largest radii are "
            f"{', '.join(f'{r:g}' for r in largest)} mm"
        )


def organ_config(config: TumorConfig, organ: OrganPreset) -> TumorConfig:
    """`config` with the preset's values in place of its own (None fields keep the config's).

    A preset with lesion types turns a paper-mode config into the realistic mode: the paper's
    texture (mu_t from U(30, mu_p - 10)) and +120 HU capsule were tuned on the liver only.

    Examples
    --------
    >>> pancreas = organ_config(TumorConfig(), resolve_organ("pancreas"))
    >>> pancreas.appearance, pancreas.lesion_types, pancreas.mass_effect
    ('realistic', (('pdac', 1.0),), False)
    >>> organ_config(TumorConfig(), resolve_organ("liver")) == TumorConfig()
    True
    """
    changes: dict[str, object] = {}
    if organ.sizes is not None:
        changes.update(zip(TUMOR_SIZES, organ.sizes, strict=True))
    if organ.size_probabilities is not None:
        changes["size_probabilities"] = organ.size_probabilities
    if organ.semi_axis_factor is not None:
        changes["semi_axis_factor"] = organ.semi_axis_factor
    if organ.vessel_avoidance is not None:
        changes["vessel_avoidance"] = organ.vessel_avoidance
    if organ.push is not None:
        changes["mass_effect"] = organ.push != "nothing"
    if organ.lesion_types is not None:
        changes["lesion_types"] = organ.lesion_types
        if config.appearance == "paper":
            changes.update(
                appearance="realistic",
                label_threshold=REALISTIC_LABEL_THRESHOLD,
                edge_blur_mm=None,
                texture_std_hu=None,
                capsule_contrast_hu=None,
                noise_lowpass_mm=3.0,
            )
    return config.replace(**changes) if changes else config


def _sizes(radii_mm: Sequence[Any], deformations_mm: Sequence[Any], counts: Sequence[Any]) -> Sizes:
    return tuple(  # type: ignore[return-value]
        SizePreset(radius_mm=r, deformation_mm=d, count=c)
        for r, d, c in zip(radii_mm, deformations_mm, counts, strict=True)
    )


ORGAN_PRESETS: dict[str, OrganPreset] = {
    # The paper's liver: every value is the config's own (Table 1 and 6 by default).
    "liver": OrganPreset(name="liver"),
    # Ductal adenocarcinoma: a solitary, hypoattenuating, infiltrative mass of 5-40 mm
    # (radius 2.5-20 mm) with an ill-defined margin; it encases vessels rather than avoiding
    # them and does not displace its neighbours. The gland is thin, so tumours are clipped to
    # it and a tumour may take up to the whole of a small gland's volume.
    "pancreas": OrganPreset(
        name="pancreas",
        sizes=_sizes(
            ((2.5, 5.0), (5.0, 7.5), (7.5, 12.5), (12.5, 20.0)),
            ((0.5, 1.0), (1.0, 2.0), (1.5, 3.0), (2.5, 5.0)),
            (1, 1, 1, 1),
        ),
        size_probabilities=(0.2, 0.3, 0.3, 0.2, 0.0),
        semi_axis_factor=(0.7, 1.3),
        lesion_types=(("pdac", 1.0),),
        vessel_avoidance=False,
        push="nothing",
        min_organ_to_tumor_volume=1.0,
        center_tries=8,
        duct_dilation_share=0.5,
    ),
    # Renal cell carcinoma (clear cell: heterogeneous, arterial enhancement, washout), often
    # exophytic, and simple (Bosniak I) cysts: water, sharp margin. Both are expansile: they
    # push the kidney's own tissue.
    "kidney": OrganPreset(
        name="kidney",
        sizes=_sizes(
            ((3.0, 5.0), (5.0, 10.0), (10.0, 17.5), (17.5, 30.0)),
            ((0.3, 0.8), (0.5, 1.5), (1.0, 3.0), (2.0, 5.0)),
            ((1, 3), (1, 2), (1, 2), (1, 1)),
        ),
        size_probabilities=(0.15, 0.3, 0.35, 0.2, 0.0),
        semi_axis_factor=(0.85, 1.15),
        lesion_types=(("rcc", 0.6), ("cyst", 0.4)),
        vessel_avoidance=False,
        push="organ",
        exophytic_share=0.5,
        min_organ_to_tumor_volume=1.0,
    ),
}
"""The built-in organ presets; values and sources in ``docs/organs.md``."""

ORGAN_NAMES: tuple[str, ...] = tuple(ORGAN_PRESETS)
"""Names accepted by ``synthesize(organ=...)`` and ``synthtumor synthesize --organ``."""


def resolve_organ(organ: object) -> OrganPreset:
    """The :class:`OrganPreset` of a name of :data:`ORGAN_PRESETS`, or `organ` itself.

    Examples
    --------
    >>> resolve_organ("pancreas").lesion_types
    (('pdac', 1.0),)
    >>> resolve_organ("lung")
    Traceback (most recent call last):
    ...
    ValueError: organ must be one of 'liver', 'pancreas', 'kidney' or an OrganPreset; got 'lung'
    """
    if isinstance(organ, OrganPreset):
        return organ
    if isinstance(organ, str):
        if organ in ORGAN_PRESETS:
            return ORGAN_PRESETS[organ]
        listed = ", ".join(repr(name) for name in ORGAN_NAMES)
        raise ValueError(f"organ must be one of {listed} or an OrganPreset; got {organ!r}")
    raise TypeError(f"organ must be an organ name or an OrganPreset, got {type(organ).__name__}")
