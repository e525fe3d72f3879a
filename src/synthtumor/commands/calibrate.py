"""``synthtumor calibrate DATA -o FILE``: fit the realistic mode to annotated scans::

    synthtumor calibrate DATA -o tumor.toml [--phase auto] [--lesion metastasis]
                         [--organ-label 1] [--tumor-label 2] [--force]

Measures every annotated case of DATA (layouts of :func:`synthtumor.realism.find_cases`), fits
the realistic mode (:func:`synthtumor.calibrate.calibrate`) and writes the config as TOML (or
JSON for another suffix), usable by ``synthesize --config``, ``TumorConfig.from_file`` and the
trainer's ``synthesis.config_file``. Never replaces an existing file without ``--force``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from synthtumor._renamed import add_label_options
from synthtumor.commands._command import Command

__all__ = ["COMMAND", "add_arguments", "handle"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """DATA, the config file to write, the phase, the lesion type and the label values."""
    from synthtumor.appearance import LESION_NAMES
    from synthtumor.phase import PHASE_CHOICES

    parser.add_argument("data", type=Path, metavar="DATA", help="folder of annotated cases")
    parser.add_argument(
        "-o", "--output", type=Path, required=True, metavar="FILE", help="config to write"
    )
    parser.add_argument(
        "--phase", choices=PHASE_CHOICES, default="auto", help="contrast phase (default: auto)"
    )
    parser.add_argument(
        "--lesion", choices=LESION_NAMES, default="metastasis", help="lesion type to write"
    )
    add_label_options(parser)
    parser.add_argument("--force", action="store_true", help="overwrite an existing output")


def handle(args: argparse.Namespace) -> int:
    """Check the output, calibrate on DATA, print the summary and write the config."""
    from synthtumor.calibrate import calibrate_folder
    from synthtumor.config_file import write_config

    output: Path = args.output
    if output.exists() and not args.force:
        raise FileExistsError(f"{output} exists; pass --force to replace it")
    if not output.parent.is_dir():
        raise FileNotFoundError(f"output folder {output.parent} does not exist")
    calibration = calibrate_folder(
        args.data,
        phase=args.phase,
        lesion=args.lesion,
        organ_label=args.organ_label,
        tumor_label=args.tumor_label,
    )
    print(f"synthtumor: calibrated on {calibration.n['cases']} case(s) of {args.data}")
    print(calibration.summary())
    write_config(calibration.to_config(), output, overwrite=args.force)
    print(f"synthtumor: wrote {output}")
    return 0


COMMAND = Command(
    help="fit the realistic mode to annotated scans and write a config file",
    description="Measure every case (CT + label) of DATA and write a realistic-mode "
    "config fitted to its tumours. See docs/realism.md, Calibration.",
    add_arguments=add_arguments,
    handle=handle,
)
