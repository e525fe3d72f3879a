"""``synthtumor train CONFIG -o RUN_DIR``: train a liver and tumour segmentation model.

The training is :func:`synthtumor.reference.train.train`, imported (with torch and MONAI) when
the command runs. ``python -m synthtumor.reference.train`` (what ``torchrun`` launches) runs
this same command.
"""

from __future__ import annotations

import argparse

from synthtumor.commands._command import Command

__all__ = ["COMMAND", "add_arguments", "add_overrides_option", "handle"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """CONFIG, ``--set`` overrides, ``--resume``, the run folder and the device."""
    parser.add_argument("config", nargs="?", help="TOML or JSON config (default: paper recipe)")
    add_overrides_option(
        parser, help="override a config field, e.g. --set train.max_epochs=10 (repeatable)"
    )
    parser.add_argument("--resume", metavar="CHECKPOINT", help="continue from last.pt / best.pt")
    parser.add_argument("-o", "--output", required=True, metavar="RUN_DIR", help="run folder")
    parser.add_argument("--force", action="store_true", help="start over in a used run folder")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: auto)")
    parser.add_argument(
        "--print-config", action="store_true", help="print the resolved config and exit"
    )


def add_overrides_option(parser: argparse.ArgumentParser, *, help: str) -> None:
    """``--set KEY=VALUE`` (repeatable) into ``args.overrides``, as ``train`` and ``predict``
    read it."""
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help=help
    )


def handle(args: argparse.Namespace) -> int:
    """Resolve the config (a bad one is one error naming the file), then train or print it."""
    from synthtumor.cli_errors import error_message
    from synthtumor.reference.config import config_to_toml, load_config
    from synthtumor.reference.distributed import shutdown
    from synthtumor.reference.train import train  # torch and MONAI: missing, one clear error

    try:
        config = load_config(args.config, args.overrides)
    except (KeyError, TypeError, ValueError, OSError) as error:
        raise ValueError(f"bad config {args.config}: {error_message(error)}") from None
    if args.print_config:
        print(config_to_toml(config), end="")
        return 0
    try:
        train(config, args.output, resume=args.resume, overwrite=args.force, device=args.device)
    finally:
        shutdown()
    return 0


COMMAND = Command(
    help="train a liver and tumour segmentation model (torchrun for several GPUs)",
    description=(
        "Train from a TOML/JSON config (configs/*.toml); every field can be overridden with "
        "--set section.field=value. Several GPUs: torchrun --nproc_per_node N -m "
        "synthtumor.reference.train CONFIG -o RUN_DIR."
    ),
    add_arguments=add_arguments,
    handle=handle,
)
