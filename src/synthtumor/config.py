"""Hyper-parameters of the tumour generator: Table 1 and Table 6 of the paper as named defaults.

Every hyper-parameter can be a constant or a ``(low, high)`` range, drawn uniformly per tumour.
The paper's tables were tuned on 1 mm isotropic scans, so its sigmas and radii (voxels there) are
millimetres here and are converted to voxels with the scan's spacing.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Literal

import numpy as np

from synthtumor._renamed import OLD_NAME, accepts_liver_label, renamed_label, renamed_property
from synthtumor._validation.config import check_size_preset, check_tumor_config

__all__ = [
    "APPEARANCES",
    "PATTERNS",
    "REALISTIC_LABEL_THRESHOLD",
    "SIZE_NAMES",
    "TUMOR_SIZES",
    "SizePreset",
    "TumorConfig",
    "Value",
    "draw",
]

APPEARANCES: tuple[str, ...] = ("paper", "realistic")
"""Appearance modes: the paper's, faithful and the default, or the realistic one."""

REALISTIC_LABEL_THRESHOLD = 0.3
"""The realistic mode labels a voxel tumour from t'' = 0.3: a reader outlines a lesion at the
outer edge of its blurred margin, not half-way up it, and a label at 0.5 leaves a dark band
outside the outline that real annotations do not show (see docs/realism.md)."""

PATTERNS: tuple[str, ...] = ("solitary", "multifocal", "satellite")
"""Clinical patterns of the paper's section 3.2 (``TumorConfig(pattern=...)``)."""

Value = float | tuple[float, float]
"""A hyper-parameter: a constant, or a ``(low, high)`` range drawn uniformly."""

TUMOR_SIZES: tuple[str, ...] = ("tiny", "small", "medium", "large")
"""The four single-size presets of Table 6, smallest first."""

SIZE_NAMES: tuple[str, ...] = (*TUMOR_SIZES, "mix")
"""Every preset name accepted by ``synthesize(size=...)``; "mix" combines all four."""


def draw(value: Value, rng: np.random.Generator) -> float:
    """Draw one number from a constant or a ``(low, high)`` uniform range.

    Examples
    --------
    >>> import numpy as np
    >>> draw(0.6, np.random.default_rng(0))
    0.6
    >>> 1.1 <= draw((1.1, 1.5), np.random.default_rng(0)) <= 1.5
    True
    """
    if isinstance(value, tuple):
        low, high = value
        return float(rng.uniform(low, high))
    return float(value)


@dataclass(frozen=True)
class SizePreset:
    """One tumour size of Table 6.

    Parameters
    ----------
    radius_mm : float or (float, float)
        Nominal tumour radius r in mm; the ellipsoid's semi-axes are drawn around it.
    deformation_mm : float or (float, float)
        Elastic deformation strength sigma_e: standard deviation, in mm, of the displacements on
        the coarse 3 x 3 x 3 control grid of the deformation field.
    count : int or (int, int)
        Number of tumours N, or an inclusive range drawn as a discrete uniform F[a, b].

    Examples
    --------
    >>> SizePreset(radius_mm=4.0, deformation_mm=(0.5, 1.0), count=(3, 10)).count
    (3, 10)
    """

    radius_mm: Value
    deformation_mm: Value
    count: int | tuple[int, int]

    def __post_init__(self) -> None:
        check_size_preset(self)
        counts = self.count if isinstance(self.count, tuple) else (self.count, self.count)
        if len(counts) != 2 or not all(
            isinstance(c, int | np.integer) and not isinstance(c, bool) for c in counts
        ):
            raise TypeError(f"count must be an int or an (int, int) pair, got {self.count!r}")
        if counts[0] < 0 or counts[0] > counts[1]:
            raise ValueError(f"count must be >= 0 with low <= high, got {self.count!r}")

    @property
    def max_radius_mm(self) -> float:
        """The largest nominal radius this preset can draw."""
        return float(max(self.radius_mm) if isinstance(self.radius_mm, tuple) else self.radius_mm)

    def draw_count(self, rng: np.random.Generator) -> int:
        """Draw the number of tumours, F[a, b] inclusive."""
        if isinstance(self.count, tuple):
            return int(rng.integers(self.count[0], self.count[1], endpoint=True))
        return int(self.count)


@accepts_liver_label
@dataclass(frozen=True)
class TumorConfig:
    """Every hyper-parameter of the generator, with the paper's values as defaults.

    Table 1 (values in mm where the paper used voxels of a 1 mm scan) and Table 6 are the defaults.
    Any numeric field accepts a constant or a ``(low, high)`` range; fields that depend on the
    liver's own statistics (sigma_a and mu_t) default to ``None``, meaning the paper's formula.
    Build a variant with :meth:`replace`.

    Parameters
    ----------
    vessel_smoothing_mm : float or (float, float) or None
        sigma_a of eq. 1, the Gaussian smoothing before vessel thresholding. ``None``:
        ``0.5 + 0.025 * sigma_p`` (Table 1), sigma_p the parenchyma's standard deviation in HU.
    vessel_threshold_offset_hu : float or (float, float)
        b of eq. 2: vessels are liver voxels brighter than the liver's mean HU + b. Default 15.
    texture_mean_hu : float or (float, float) or None
        mu_t, the tumour's mean HU. ``None``: U(30, mu_p - 10) with mu_p the parenchyma's mean
        (Table 1); where mu_p - 10 < 30 the range collapses to mu_p - 10, so tumours stay darker
        than the liver.
    texture_scale : float or (float, float)
        eta, the cubic up-scaling factor of the Gaussian texture (grain size). Default U(1.1, 1.5).
    texture_blur_mm : float or (float, float)
        sigma_b of eq. 3. Default 0.6.
    semi_axis_factor : (float, float)
        The ellipsoid's semi-axes are drawn from U(low * r, high * r). Default (0.75, 1.25).
    edge_blur_mm : float or (float, float)
        sigma_c, the Gaussian blur of the deformed mask. Default U(0.6, 1.2).
    mass_effect_radius_factor : float or (float, float)
        gamma_max / r of eq. 5. Default 1.3.
    mass_effect_intensity : float or (float, float)
        I of eq. 5, in [0, 100]. Default 30.
    capsule_band : (float, float)
        (lb, ub) of eq. 6: the edge band of the blurred mask. Default (0.4, 0.7).
    capsule_blur_mm : float or (float, float)
        sigma_d of eq. 7. Default 0.8.
    capsule_contrast_hu : float or (float, float)
        d of eq. 8, the capsule's extra brightness in HU. Default 120.
    tiny, small, medium, large : SizePreset
        The sizes of Table 6: radius 4, 8, 16, 32 mm; sigma_e U[0.5, 1], U[1, 2], U[3, 6],
        U[5, 10] mm; counts F[3, 10], F[3, 10], F[2, 5], F[1, 3].
    size_probabilities : tuple of 5 floats
        Probabilities of drawing tiny, small, medium, large and mix when no size is given.
        Default 0.2 each.
    tiny_tumors, elastic_deformation, edge_blur, vessel_avoidance, mass_effect, capsule : bool
        Stage switches (the ablations of Table 4 and the post-processing steps). All on by
        default. ``tiny_tumors=False`` never draws "tiny" and leaves the tiny tumours out of "mix".
    max_location_tries : int
        Candidate centres tried per tumour before the location fallback. Default 30.
    location_fallback : {"least_vessels", "raise"}
        After ``max_location_tries`` collisions: keep the tried centre with the fewest vessel
        voxels in its cube (recorded as ``vessel_free=False``), or raise ``ValueError``.
    stats_patches : int
        Number of random liver patches used to estimate the liver's mean and the parenchyma's
        mean and standard deviation (a subsample, so the whole liver is never scanned).
    label_threshold : float
        A voxel is labelled tumour where the blurred (and warped) mask t'' >= this. Default 0.5.
    background_label, organ_label, tumor_label : int
        Values of the output label map: background, the organ (the liver by default) and
        tumour. Defaults 0, 1, 2. ``liver_label``, the old name of `organ_label`, is still
        accepted by the constructor, :meth:`replace` and config files, and readable as an
        attribute, with a DeprecationWarning.
    appearance : {"paper", "realistic"}
        "paper" (default): the paper's texture, blending and capsule, exactly. "realistic": see
        :meth:`realistic`; the fields below then apply.
    phase : {"non_contrast", "arterial", "portal", "delayed", "auto"}
        Realistic mode: the scan's contrast phase ("auto" estimates it). Default "portal".
    lesion_types : tuple of (str, float)
        Realistic mode: lesion types and their shares. Default all "metastasis".
    pattern : {None, "solitary", "multifocal", "satellite"}
        Both modes: the clinical pattern (one lesion; scattered small lesions; a large lesion
        with small satellites around it). None (default): Table 6's counts.
    texture_std_hu : float or (float, float) or None
        Std of the tumour's texture. None: the parenchyma's std (paper) or the lesion type's
        heterogeneity (realistic).
    capsule_share : float
        Realistic mode: share of HCC lesions drawn with an enhancing capsule where the phase
        shows one. Default 0.5.
    noise_lowpass_mm : float
        Realistic mode: the lesion replaces the scan's mean smoothed over this sigma and keeps
        the finer detail (the scanner's noise). Default 3 mm (also in :meth:`realistic`).
    scanner_blur : bool
        Realistic mode: blur the tumour's edge with the scanner's PSF as well
        (:func:`synthtumor.appearance.scanner_blur_mm`). Default True.

    Examples
    --------
    >>> config = TumorConfig()
    >>> config.large.radius_mm, config.capsule_contrast_hu
    (32.0, 120.0)
    >>> no_capsule = config.replace(capsule=False, texture_scale=1.3)
    >>> no_capsule.capsule, no_capsule.texture_scale
    (False, 1.3)
    """

    vessel_smoothing_mm: Value | None = None
    vessel_threshold_offset_hu: Value = 15.0
    texture_mean_hu: Value | None = None
    texture_scale: Value = (1.1, 1.5)
    texture_blur_mm: Value = 0.6
    semi_axis_factor: tuple[float, float] = (0.75, 1.25)
    edge_blur_mm: Value | None = (0.6, 1.2)
    mass_effect_radius_factor: Value = 1.3
    mass_effect_intensity: Value = 30.0
    capsule_band: tuple[float, float] = (0.4, 0.7)
    capsule_blur_mm: Value = 0.8
    capsule_contrast_hu: Value | None = 120.0
    tiny: SizePreset = SizePreset(radius_mm=4.0, deformation_mm=(0.5, 1.0), count=(3, 10))
    small: SizePreset = SizePreset(radius_mm=8.0, deformation_mm=(1.0, 2.0), count=(3, 10))
    medium: SizePreset = SizePreset(radius_mm=16.0, deformation_mm=(3.0, 6.0), count=(2, 5))
    large: SizePreset = SizePreset(radius_mm=32.0, deformation_mm=(5.0, 10.0), count=(1, 3))
    size_probabilities: tuple[float, float, float, float, float] = (0.2, 0.2, 0.2, 0.2, 0.2)
    tiny_tumors: bool = True
    elastic_deformation: bool = True
    edge_blur: bool = True
    vessel_avoidance: bool = True
    mass_effect: bool = True
    capsule: bool = True
    max_location_tries: int = 30
    location_fallback: Literal["least_vessels", "raise"] = "least_vessels"
    stats_patches: int = 32
    label_threshold: float = 0.5
    background_label: int = 0
    organ_label: int = 1
    tumor_label: int = 2
    appearance: Literal["paper", "realistic"] = "paper"
    phase: str = "portal"
    lesion_types: tuple[tuple[str, float], ...] = (("metastasis", 1.0),)
    pattern: str | None = None
    texture_std_hu: Value | None = None
    capsule_share: float = 0.5
    noise_lowpass_mm: float = 3.0
    scanner_blur: bool = True

    liver_label = renamed_property()

    def __post_init__(self) -> None:
        from synthtumor.appearance import check_lesion_types
        from synthtumor.phase import resolve_phase

        if self.appearance not in APPEARANCES:
            raise ValueError(f"appearance must be one of {APPEARANCES}, got {self.appearance!r}")
        if self.phase != "auto":  # 'auto' is resolved when sampling, from the scan
            resolve_phase(self.phase)
        object.__setattr__(self, "lesion_types", check_lesion_types(self.lesion_types))
        if self.pattern is not None and self.pattern not in PATTERNS:
            listed = ", ".join(repr(name) for name in PATTERNS)
            raise ValueError(f"pattern must be None or one of {listed}; got {self.pattern!r}")
        optional = ("edge_blur_mm", "capsule_contrast_hu")
        for name in optional:
            if getattr(self, name) is None and self.appearance == "paper":
                raise ValueError(
                    f"{name}=None (the lesion type's value) needs appearance='realistic'"
                )
        check_tumor_config(self)
        for size in TUMOR_SIZES:
            if not isinstance(getattr(self, size), SizePreset):
                raise TypeError(f"{size} must be a SizePreset, got {getattr(self, size)!r}")

    @classmethod
    def realistic(
        cls,
        phase: str = "portal",
        lesion: str | dict[str, float] = "metastasis",
        *,
        pattern: str | None = None,
        **overrides: object,
    ) -> TumorConfig:
        """The realistic appearance mode: lesion types by contrast phase, matched to the scanner.

        Tumours keep the scan's own noise grain (the lesion replaces the local mean and adds
        its own heterogeneity), their edge is blurred by the lesion's transition zone and the
        scanner's point spread function (from the spacing), and their HU follow the lesion type
        at the phase, relative to the measured liver. The paper's capsule of +120 HU becomes the
        enhancing capsule of HCC at portal and delayed phase (+5 to +20 HU, in `capsule_share`
        of them). Shapes, sizes, location and mass effect are the paper's. See
        ``docs/realism.md`` for the values and their sources.

        Parameters
        ----------
        phase : {"non_contrast", "arterial", "portal", "delayed", "auto"}
            The scan's contrast phase; "auto" estimates it from the scan when sampling.
        lesion : str or dict of str to float
            One of "metastasis", "hcc", "cyst", "hemangioma", or a mapping of them to shares.
        pattern : {None, "solitary", "multifocal", "satellite"}
            Clinical pattern (paper section 3.2); None keeps Table 6's counts.
        **overrides
            Any other field of :class:`TumorConfig`. ``edge_blur_mm``, ``texture_std_hu`` and
            ``capsule_contrast_hu`` default to None here, meaning the lesion type's values;
            ``label_threshold`` defaults to :data:`REALISTIC_LABEL_THRESHOLD` and
            ``noise_lowpass_mm`` to 3 mm.

        Examples
        --------
        >>> config = TumorConfig.realistic("arterial", {"hcc": 0.7, "metastasis": 0.3})
        >>> config.appearance, config.phase, config.lesion_types
        ('realistic', 'arterial', (('hcc', 0.7), ('metastasis', 0.3)))
        >>> TumorConfig.realistic(lesion="adenoma")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: lesion type must be one of 'metastasis', 'hcc', ...; got 'adenoma'
        """
        from synthtumor.appearance import check_lesion_types

        fields: dict[str, object] = {
            "appearance": "realistic",
            "label_threshold": REALISTIC_LABEL_THRESHOLD,
            "noise_lowpass_mm": 3.0,
            "phase": phase,
            "lesion_types": check_lesion_types(lesion),
            "pattern": pattern,
            "edge_blur_mm": None,
            "texture_std_hu": None,
            "capsule_contrast_hu": None,
        }
        unknown = set(overrides) - {field.name for field in dataclasses.fields(cls)} - {OLD_NAME}
        if unknown:
            raise TypeError(f"unknown TumorConfig fields: {sorted(unknown)}")
        return cls(**{**fields, **overrides})  # type: ignore[arg-type]

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> TumorConfig:
        """Read a config from a ``.toml`` or ``.json`` file (see :mod:`synthtumor.config_file`).

        Examples
        --------
        >>> import pathlib, tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = pathlib.Path(folder) / "tumor.toml"
        ...     _ = path.write_text('appearance = "realistic"\\nlesion = "hcc"\\n')
        ...     TumorConfig.from_file(path).lesion_types
        (('hcc', 1.0),)
        """
        from synthtumor.config_file import read_config

        return read_config(path)

    def to_file(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> None:
        """Write the config as TOML (``.toml``) or JSON; :meth:`from_file` reads it back."""
        from synthtumor.config_file import write_config

        write_config(self, path, overwrite=overwrite)

    def replace(self, **changes: object) -> TumorConfig:
        """Return a copy with some fields changed (the dataclass stays frozen)."""
        if OLD_NAME in changes:
            old = changes.pop(OLD_NAME)
            changes["organ_label"] = renamed_label(
                changes.pop("organ_label", None), old, default=self.organ_label
            )
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def preset(self, size: str) -> SizePreset:
        """The :class:`SizePreset` of a single size name ("tiny" ... "large")."""
        if size not in TUMOR_SIZES:
            raise ValueError(f"size must be one of {TUMOR_SIZES}, got {size!r}")
        preset: SizePreset = getattr(self, size)
        return preset

    def sizes_in(self, size: str) -> tuple[str, ...]:
        """The single sizes a preset name stands for ("mix" is all of them)."""
        if size not in SIZE_NAMES:
            raise ValueError(f"size must be one of {SIZE_NAMES} or None, got {size!r}")
        if size == "mix":
            return tuple(s for s in TUMOR_SIZES if self.tiny_tumors or s != "tiny")
        return (size,)
