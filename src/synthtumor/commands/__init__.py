"""The commands of the ``synthtumor`` command line, in one table: :data:`COMMANDS`.

Each command is a module here with ``add_arguments(parser)`` (its options), ``handle(args)``
(what it does: returns 0, raises on bad input) and ``COMMAND``, the :class:`Command` that
holds both with the command's help line. :func:`synthtumor.cli.main` builds its parser from
the table, in the table's order, and calls the chosen handler through
:func:`synthtumor.cli_errors.run_handler`, the one place that maps errors to exit codes.
The modules import torch, MONAI and the heavy parts of the library only when their command
runs, so ``synthtumor --help`` stays fast and needs no extra.

Examples
--------
>>> list(COMMANDS)[:3]
['synthesize', 'demo', 'prepare']
>>> COMMANDS["robustness"].aliases
('benchmark',)
"""

from __future__ import annotations

from synthtumor.commands import (
    calibrate,
    demo,
    evaluate,
    predict,
    prepare,
    realism,
    robustness,
    synthesize,
    train,
    turing,
)
from synthtumor.commands._command import PROG, AddArguments, Command, Handler

__all__ = ["COMMANDS", "PROG", "AddArguments", "Command", "Handler", "register_command"]

COMMANDS: dict[str, Command] = {
    "synthesize": synthesize.COMMAND,
    "demo": demo.COMMAND,
    "prepare": prepare.COMMAND,
    "train": train.COMMAND,
    "predict": predict.COMMAND,
    "evaluate": evaluate.COMMAND,
    "robustness": robustness.COMMAND,
    "turing": turing.COMMAND,
    "realism": realism.COMMAND,
    "calibrate": calibrate.COMMAND,
}
"""Every command by name, in the order ``synthtumor --help`` lists them."""


def register_command(name: str, command: Command) -> None:
    """Add `command` to :data:`COMMANDS` as `name` (listed last by ``synthtumor --help``).

    Parameters
    ----------
    name : str
        The command's name; neither it nor the command's aliases may name a command already.
    command : Command
        Its help line, ``add_arguments(parser)`` and ``handle(args)``.

    Raises
    ------
    TypeError
        If `command` is not a :class:`Command`.
    ValueError
        If `name` or one of the command's aliases is taken.

    Examples
    --------
    >>> from synthtumor.cli import main
    >>> def add_arguments(parser):
    ...     parser.add_argument("who")
    >>> def hello(args):
    ...     print(f"hello {args.who}")
    ...     return 0
    >>> register_command("hello", Command("say hello", add_arguments, hello))
    >>> main(["hello", "world"])
    hello world
    0
    >>> del COMMANDS["hello"]
    """
    if not isinstance(command, Command):
        raise TypeError(f"command must be a synthtumor.commands.Command, got {command!r}")
    taken = set(COMMANDS) | {alias for known in COMMANDS.values() for alias in known.aliases}
    clashes = sorted({name, *command.aliases} & taken)
    if clashes:
        raise ValueError(f"command {clashes[0]!r} is already registered")
    COMMANDS[name] = command
