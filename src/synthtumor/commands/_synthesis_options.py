"""The options ``synthesize`` and ``demo`` share, and the :class:`~synthtumor.TumorConfig` they
build: ``--size``, ``--seed``, ``--count``, ``--config``, the appearance and the stage switches,
and the output folder with ``--force`` / ``--resume``."""

from __future__ import annotations

import argparse
import json
import tomllib
from pathlib import Path
from typing import Any

from synthtumor._validation.options import int_option, seed_option
from synthtumor.appearance import LESION_NAMES, parse_lesion_shares
from synthtumor.config import APPEARANCES, PATTERNS, SIZE_NAMES, TumorConfig
from synthtumor.config_file import config_from_mapping
from synthtumor.phase import PHASE_CHOICES
from synthtumor.run_folder import INCOMPLETE_RECORD

__all__ = [
    "STAGE_SWITCHES",
    "add_synthesis_options",
    "config_from_args",
    "non_negative_int",
    "positive_int",
]

STAGE_SWITCHES: tuple[tuple[str, str, str], ...] = (
    ("--no-mass-effect", "mass_effect", "no mass effect (eq. 5)"),
    ("--no-capsule", "capsule", "no bright capsule (eq. 6-8)"),
    ("--no-vessel-avoidance", "vessel_avoidance", "place tumours without the vessel check"),
    ("--no-elastic", "elastic_deformation", "no elastic deformation of the ellipsoid"),
    ("--no-edge-blur", "edge_blur", "no blur of the tumour's edge"),
)
"""``(flag, TumorConfig field, help)``: each flag sets its field to False."""


positive_int = int_option(minimum=1)
non_negative_int = int_option(minimum=0)


def _add_output_options(parser: argparse.ArgumentParser) -> None:
    """``-o OUT_DIR`` and the two ways to reuse it, ``--force`` and ``--resume``."""
    parser.add_argument(
        "-o",
        "--output-dir",
        required=True,
        type=Path,
        metavar="OUT_DIR",
        help="folder for the outputs (created if missing)",
    )
    runs = parser.add_mutually_exclusive_group()
    runs.add_argument(
        "--force", action="store_true", help="replace an earlier run in OUT_DIR (all its files)"
    )
    runs.add_argument(
        "--resume",
        action="store_true",
        help=f"continue the interrupted run in OUT_DIR ({INCOMPLETE_RECORD}): same options, "
        "the recorded seed; cases already written are kept",
    )


def add_synthesis_options(parser: argparse.ArgumentParser, *, default_seed: int | None) -> None:
    """Add the options of ``synthesize`` and ``demo``; `default_seed` None draws a fresh seed."""
    parser.add_argument(
        "--size",
        choices=SIZE_NAMES,
        default=None,
        help="tumour size preset (Table 6); default: drawn per case, 0.2 each",
    )
    seed_default = "a fresh random seed, printed" if default_seed is None else default_seed
    parser.add_argument(
        "--seed",
        type=seed_option,
        default=None,
        metavar="N",
        help=f"seed of the run; case i uses SeedSequence(N).spawn(count)[i] (default: "
        f"{seed_default})",
    )
    parser.add_argument(
        "--count",
        type=positive_int,
        default=1,
        metavar="K",
        help="number of synthetic cases to write (default: 1)",
    )
    parser.add_argument(
        "--no-preview", dest="preview", action="store_false", help="do not write preview PNGs"
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="TumorConfig fields: a .toml or .json file, or inline JSON starting with '{' "
        "(e.g. '{\"capsule_contrast_hu\": 80}')",
    )
    looks = parser.add_argument_group("appearance (docs/realism.md)")
    looks.add_argument(
        "--appearance",
        choices=APPEARANCES,
        default=None,
        help="'paper' (default) or 'realistic'; --phase or --lesion imply 'realistic'",
    )
    looks.add_argument(
        "--phase", choices=PHASE_CHOICES, default=None, help="contrast phase (realistic)"
    )
    looks.add_argument(
        "--lesion",
        metavar="TYPES",
        default=None,
        help=f"lesion type ({', '.join(LESION_NAMES)}) or shares, e.g. hcc=0.7,metastasis=0.3",
    )
    looks.add_argument("--pattern", choices=PATTERNS, default=None, help="clinical pattern")
    stages = parser.add_argument_group("switch off pipeline stages")
    for flag, field, help_text in STAGE_SWITCHES:
        stages.add_argument(flag, dest=f"no_{field}", action="store_true", help=help_text)
    _add_output_options(parser)


def config_from_args(args: argparse.Namespace) -> tuple[TumorConfig, dict[str, Any]]:
    """The TumorConfig of the run and the overrides it was built from (for the run record)."""
    overrides = _read_config_overrides(args.config) if args.config else {}
    for _, field, _ in STAGE_SWITCHES:
        if getattr(args, f"no_{field}"):
            overrides[field] = False
    for option in ("appearance", "phase", "pattern", "tumor_label"):
        if getattr(args, option, None) is not None:
            overrides[option] = getattr(args, option)
    if getattr(args, "lesion", None) is not None:
        overrides.pop("lesion_types", None)
        overrides["lesion"] = parse_lesion_shares(args.lesion, name="--lesion")
    if "phase" in overrides or "lesion" in overrides:
        overrides.setdefault("appearance", "realistic")
    return config_from_mapping(overrides, where="--config"), overrides


def _read_config_overrides(source: str) -> dict[str, Any]:
    """``--config``: inline JSON, or a .toml or .json file, as a dict of TumorConfig fields."""
    if source.lstrip().startswith("{"):
        text, where = source, "--config"
    else:
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"--config file not found: {path}")
        text, where = path.read_text(encoding="utf-8"), f"--config file {path}"
        if path.suffix.lower() == ".toml":
            try:
                return tomllib.loads(text)
            except tomllib.TOMLDecodeError as error:
                raise ValueError(f"{where} is not valid TOML: {error}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{where} is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{where} must hold a JSON object of TumorConfig fields")
    return data
