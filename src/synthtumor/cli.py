"""The ``synthtumor`` command line: :func:`main` runs one command of
:data:`synthtumor.commands.COMMANDS`.

The commands live in :mod:`synthtumor.commands`, one module each; :func:`build_parser` adds
them to the parser in the table's order, and :func:`synthtumor.cli_errors.run_command_line`
runs the chosen one. Another command is added to the table with
:func:`synthtumor.commands.register_command` (before :func:`main` builds the parser).

Exit codes (:mod:`synthtumor.cli_errors`, the one place that maps errors): 0 success, 2 a user
or OS error (one line ``synthtumor: error: ...`` on stderr), 130 interrupted, 143 terminated.
The files ``synthesize`` and ``demo`` write, and how their cases are seeded, are listed in
:mod:`synthtumor.commands._cases`.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import synthtumor
from synthtumor.cli_errors import run_command_line
from synthtumor.commands import COMMANDS, PROG, register_command
from synthtumor.commands._cases import case_seed
from synthtumor.commands._synthesis_options import STAGE_SWITCHES
from synthtumor.run_folder import CASE_PREFIX, RUN_RECORD

__all__ = [
    "CASE_PREFIX",
    "COMMANDS",
    "RUN_RECORD",
    "STAGE_SWITCHES",
    "build_parser",
    "case_seed",
    "main",
    "register_command",
]

_EXAMPLES = """examples:
  synthtumor demo -o demo_out
  synthtumor synthesize ct.nii.gz liver.nii.gz -o out --count 10 --seed 1
  synthtumor synthesize ct.nii.gz organs.nii.gz --organ-label 5 -o out --size small
  synthtumor prepare data/ -o prepared/
  synthtumor train configs/unet_synthetic.toml -o runs/unet
  synthtumor predict runs/unet/best.pt ct.nii.gz -o predictions/
  synthtumor evaluate predictions/ labels/ -o report

Run 'synthtumor COMMAND --help' for the options of a command."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``synthtumor`` command line and return its exit code.

    Parameters
    ----------
    argv : sequence of str or None
        Arguments without the program name; None reads ``sys.argv[1:]``.

    Returns
    -------
    int
        0 on success, 2 on a user or OS error (after one ``synthtumor: error: ...`` line on
        stderr), 130 when interrupted, 143 on SIGTERM (see :mod:`synthtumor.cli_errors`).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     main(["demo", "-o", tmp, "--seed", "1", "--size", "small"])  # doctest: +ELLIPSIS
    synthtumor: wrote 1 case (synth_000: image, label, params, preview), the phantom ...
    0
    """
    return run_command_line(build_parser(), argv, prog=PROG)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every command of :data:`synthtumor.commands.COMMANDS`.

    Examples
    --------
    >>> args = build_parser().parse_args(["evaluate", "pred", "gt", "-o", "report"])
    >>> args.handler is COMMANDS["evaluate"].handle
    True
    """
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Put realistic synthetic liver tumours into CT scans (Hu et al., CVPR 2023).",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {synthtumor.__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name, command in COMMANDS.items():
        command.add_to(subparsers, name)
    return parser
