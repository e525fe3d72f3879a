"""What a lesion looks like in the realistic mode: lesion types by contrast phase, and the scanner.

The paper draws every tumour darker than the liver, with a sharp edge, a bright capsule and a
texture that replaces the scan's own noise. Real lesions differ in exactly those cues, so the
realistic mode (``TumorConfig.realistic``) draws them from this module instead:

- the lesion's mean HU relative to the measured liver parenchyma, by lesion type and contrast
  phase (:data:`LESION_TYPES`, values in ``docs/realism.md`` with their sources);
- its own heterogeneity on top of the scan's noise, which is kept (see
  :func:`synthtumor.postprocess.blend_keeping_noise`);
- an edge blurred by the lesion's transition zone and by the scanner's point spread function
  (:func:`scanner_blur_mm`, from the spacing);
- an enhancing capsule only where the lesion type shows one (HCC at portal and delayed phase);
- the peripheral nodular enhancement of haemangiomas, filling in towards the centre.

Everything here is data and pure functions of it; sampling lives in ``synthesize.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from synthtumor._arrays import triple
from synthtumor.config import Value, draw
from synthtumor.phase import PHASES

__all__ = [
    "LESION_NAMES",
    "LESION_TYPES",
    "PHASES",
    "LesionAppearance",
    "PhaseAppearance",
    "check_lesion_types",
    "draw_appearance",
    "parse_lesion_shares",
    "scanner_blur_mm",
]


@dataclass(frozen=True)
class PhaseAppearance:
    """A lesion type at one contrast phase (HU relative to the liver parenchyma's mean).

    Attributes
    ----------
    contrast_hu : float or (float, float)
        Lesion mean minus parenchyma mean; for a lesion of fixed density (``absolute=True``),
        the lesion's own mean HU.
    periphery_hu : float or (float, float)
        Extra HU of the enhancing periphery over the lesion's centre (haemangioma), 0 for none.
    fill : float or (float, float)
        Share of the lesion's radius, from the edge inwards, that the periphery covers.
    capsule_hu : float or (float, float)
        Enhancing capsule's extra HU where the type shows a capsule at this phase, else 0.
    """

    contrast_hu: Value
    periphery_hu: Value = 0.0
    fill: Value = 0.0
    capsule_hu: Value = 0.0


@dataclass(frozen=True)
class LesionAppearance:
    """A lesion type across phases.

    Attributes
    ----------
    phases : dict of str to PhaseAppearance
        Its appearance at each phase of :data:`PHASES`.
    heterogeneity : float or (float, float)
        Std of the lesion's own texture, as a multiple of the parenchyma's HU std (added to the
        scan's noise, which the lesion keeps). It stands in for the detail coarser than the
        noise low-pass that the lesion replaces (the liver's small vessels and mottling), so a
        lesion's std measures like a real one's against the surrounding liver.
    transition_mm : float or (float, float)
        Sigma of the lesion's margin (its transition zone), before the scanner's blur.
    absolute : bool
        True when `contrast_hu` is the lesion's own HU (a cyst is water at any phase).
    """

    phases: dict[str, PhaseAppearance]
    heterogeneity: Value
    transition_mm: Value
    absolute: bool = False


LESION_TYPES: dict[str, LesionAppearance] = {
    # Hypovascular metastasis (colorectal, the commonest): hypoattenuating in every phase,
    # most conspicuous at portal phase; ill-defined margin.
    "metastasis": LesionAppearance(
        phases={
            "non_contrast": PhaseAppearance(contrast_hu=(-20.0, -5.0)),
            "arterial": PhaseAppearance(contrast_hu=(-40.0, -10.0)),
            "portal": PhaseAppearance(contrast_hu=(-60.0, -20.0)),
            "delayed": PhaseAppearance(contrast_hu=(-45.0, -15.0)),
        },
        heterogeneity=(0.7, 1.1),
        transition_mm=(1.3, 2.3),
    ),
    # HCC (LI-RADS v2018): non-rim arterial phase hyperenhancement, washout at portal and
    # delayed phase, an enhancing capsule at portal/delayed phase in part of the lesions.
    "hcc": LesionAppearance(
        phases={
            "non_contrast": PhaseAppearance(contrast_hu=(-15.0, -3.0)),
            "arterial": PhaseAppearance(contrast_hu=(20.0, 50.0)),
            "portal": PhaseAppearance(contrast_hu=(-25.0, -5.0), capsule_hu=(5.0, 20.0)),
            "delayed": PhaseAppearance(contrast_hu=(-30.0, -10.0), capsule_hu=(5.0, 20.0)),
        },
        heterogeneity=(0.8, 1.3),
        transition_mm=(0.9, 1.6),
    ),
    # Simple cyst: water density whatever the phase, homogeneous, sharp margin.
    "cyst": LesionAppearance(
        phases={phase: PhaseAppearance(contrast_hu=(0.0, 15.0)) for phase in PHASES},
        heterogeneity=(0.0, 0.05),
        transition_mm=(0.3, 0.6),
        absolute=True,
    ),
    # Haemangioma: unenhanced like blood; peripheral nodular enhancement at arterial phase,
    # centripetal fill-in at portal phase, filled (iso- to hyperattenuating) when delayed.
    "hemangioma": LesionAppearance(
        phases={
            "non_contrast": PhaseAppearance(contrast_hu=(-20.0, -8.0)),
            "arterial": PhaseAppearance(
                contrast_hu=(-30.0, -10.0), periphery_hu=(60.0, 120.0), fill=(0.15, 0.3)
            ),
            "portal": PhaseAppearance(
                contrast_hu=(-10.0, 5.0), periphery_hu=(20.0, 50.0), fill=(0.4, 0.7)
            ),
            "delayed": PhaseAppearance(contrast_hu=(0.0, 15.0), periphery_hu=(0.0, 10.0), fill=1.0),
        },
        heterogeneity=(0.5, 0.9),
        transition_mm=(0.9, 1.6),
    ),
    # Pancreatic ductal adenocarcinoma (organ preset "pancreas", relative to the pancreas):
    # hypoattenuating, most conspicuous at the pancreatic (late arterial) phase, less at portal
    # phase, near iso when unenhanced or delayed; infiltrative, ill-defined margin.
    "pdac": LesionAppearance(
        phases={
            "non_contrast": PhaseAppearance(contrast_hu=(-12.0, -2.0)),
            "arterial": PhaseAppearance(contrast_hu=(-70.0, -30.0)),
            "portal": PhaseAppearance(contrast_hu=(-45.0, -15.0)),
            "delayed": PhaseAppearance(contrast_hu=(-20.0, 0.0)),
        },
        heterogeneity=(0.5, 0.9),
        transition_mm=(1.5, 2.5),
    ),
    # Clear cell renal cell carcinoma (organ preset "kidney", relative to the kidney): near
    # iso unenhanced, avid heterogeneous arterial (corticomedullary) enhancement, washout
    # against the enhancing parenchyma at nephrographic (portal) and delayed phase.
    "rcc": LesionAppearance(
        phases={
            "non_contrast": PhaseAppearance(contrast_hu=(-10.0, 5.0)),
            "arterial": PhaseAppearance(contrast_hu=(10.0, 50.0)),
            "portal": PhaseAppearance(contrast_hu=(-70.0, -30.0)),
            "delayed": PhaseAppearance(contrast_hu=(-60.0, -20.0)),
        },
        heterogeneity=(1.2, 2.0),
        transition_mm=(0.6, 1.2),
    ),
}
"""The lesion types of the realistic mode; sources and reasoning in ``docs/realism.md`` (liver)
and ``docs/organs.md`` (``pdac``, ``rcc``)."""

LESION_NAMES: tuple[str, ...] = tuple(LESION_TYPES)
"""Names accepted by ``TumorConfig.realistic(lesion=...)``."""


def check_lesion_types(lesion: object) -> tuple[tuple[str, float], ...]:
    """Lesion type shares as ``((name, share), ...)`` summing to 1, from a name or a mapping.

    Examples
    --------
    >>> check_lesion_types("hcc")
    (('hcc', 1.0),)
    >>> check_lesion_types({"metastasis": 3, "cyst": 1})
    (('metastasis', 0.75), ('cyst', 0.25))
    """
    if isinstance(lesion, str):
        lesion = {lesion: 1.0}
    elif isinstance(lesion, tuple | list):
        lesion = dict(lesion)
    if not isinstance(lesion, dict) or not lesion:
        raise TypeError(
            f"lesion must be a lesion type name or a mapping of names to shares, got {lesion!r}"
        )
    listed = ", ".join(repr(name) for name in LESION_NAMES)
    for name, share in lesion.items():
        if name not in LESION_TYPES:
            raise ValueError(f"lesion type must be one of {listed}; got {name!r}")
        if isinstance(share, bool) or not isinstance(share, int | float):
            raise TypeError(f"lesion share of {name!r} must be a number, got {share!r}")
        if not math.isfinite(share) or share < 0:
            raise ValueError(f"lesion share of {name!r} must be finite and >= 0, got {share!r}")
    total = float(sum(lesion.values()))
    if total <= 0:
        raise ValueError(f"lesion shares must have a positive sum, got {lesion!r}")
    return tuple((name, float(share) / total) for name, share in lesion.items())


def parse_lesion_shares(text: str, *, name: str = "lesion") -> dict[str, float]:
    """``"hcc"`` or ``"hcc=0.7,metastasis=0.3"`` as a mapping of lesion types to shares.

    Examples
    --------
    >>> parse_lesion_shares("hcc=0.7, metastasis=0.3")
    {'hcc': 0.7, 'metastasis': 0.3}
    """
    shares = {}
    for part in text.split(","):
        lesion, _, share = part.partition("=")
        try:
            shares[lesion.strip()] = float(share) if share.strip() else 1.0
        except ValueError:
            raise ValueError(
                f"{name} share of {lesion.strip()!r} is not a number: {share.strip()!r}"
            ) from None
    check_lesion_types(shares)
    return shares


def scanner_blur_mm(spacing: tuple[float, float, float]) -> tuple[float, float, float]:
    """Gaussian sigma, in mm per axis, of the scanner's point spread function for a spacing.

    A reconstructed CT voxel is about as wide as the system's resolution: in-plane the PSF's
    full width at half maximum is about 1.2 pixels (sigma 0.5 pixel), and through-plane the
    slice profile's width is about the slice spacing (sigma 0.42 spacing). An axis whose
    spacing is at least 1.5 times the finest one is taken as through-plane.

    Examples
    --------
    >>> scanner_blur_mm((0.7, 0.7, 5.0))
    (0.35, 0.35, 2.1)
    """
    finest = min(spacing)
    return triple(
        round(0.42 * voxel_mm if voxel_mm >= 1.5 * finest else 0.5 * voxel_mm, 6)
        for voxel_mm in spacing
    )


@dataclass(frozen=True)
class DrawnAppearance:
    """One lesion's drawn appearance (see :func:`draw_appearance`)."""

    lesion: str
    mean_hu: float
    texture_std_hu: float
    transition_mm: float
    periphery_hu: float
    fill: float
    capsule_hu: float


def draw_appearance(
    lesion_types: tuple[tuple[str, float], ...],
    phase: str,
    *,
    parenchyma_mean_hu: float,
    parenchyma_std_hu: float,
    capsule_share: float,
    rng: np.random.Generator,
) -> DrawnAppearance:
    """Draw a lesion type by its share and its appearance at `phase`.

    The same number of random values is drawn whatever the type, so changing one type's
    values changes nothing else of the synthesis.

    Examples
    --------
    >>> drawn = draw_appearance((("hcc", 1.0),), "arterial", parenchyma_mean_hu=70.0,
    ...                         parenchyma_std_hu=15.0, capsule_share=0.5,
    ...                         rng=np.random.default_rng(0))
    >>> drawn.lesion, 90.0 <= drawn.mean_hu <= 120.0, drawn.capsule_hu
    ('hcc', True, 0.0)
    """
    if phase not in PHASES:
        raise ValueError(f"phase must be one of {PHASES} (resolved, not 'auto'); got {phase!r}")
    names = [name for name, _ in lesion_types]
    shares = np.array([share for _, share in lesion_types], dtype=float)
    lesion = names[int(rng.choice(len(names), p=shares / shares.sum()))]
    kind = LESION_TYPES[lesion]
    at_phase = kind.phases[phase]
    contrast = draw(at_phase.contrast_hu, rng)
    heterogeneity = draw(kind.heterogeneity, rng)
    transition = draw(kind.transition_mm, rng)
    periphery = draw(at_phase.periphery_hu, rng)
    fill = draw(at_phase.fill, rng)
    capsule = draw(at_phase.capsule_hu, rng)
    has_capsule = rng.random() < capsule_share
    return DrawnAppearance(
        lesion=lesion,
        mean_hu=contrast if kind.absolute else parenchyma_mean_hu + contrast,
        texture_std_hu=heterogeneity * parenchyma_std_hu,
        transition_mm=transition,
        periphery_hu=periphery,
        fill=fill,
        capsule_hu=capsule if has_capsule else 0.0,
    )
