"""What one command of the ``synthtumor`` command line is: a :class:`Command`."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]

__all__ = ["PROG", "AddArguments", "Command", "Handler"]

PROG = "synthtumor"
"""The program's name, at the start of every message it prints."""

AddArguments = Callable[[argparse.ArgumentParser], None]
Handler = Callable[[argparse.Namespace], int]


@dataclass(frozen=True)
class Command:
    """One command: its help line, its arguments and its handler.

    Attributes
    ----------
    help : str
        The line ``synthtumor --help`` shows beside the command's name.
    add_arguments : callable
        ``add_arguments(parser)`` adds the command's arguments to its own parser.
    handle : callable
        ``handle(args)`` runs the command on the parsed arguments and returns 0. It raises on bad
        input and never prints its own error nor picks an exit code:
        :func:`synthtumor.cli_errors.run_handler` does both.
    description : str or None
        The paragraph ``synthtumor NAME --help`` shows under the usage line.
    aliases : tuple of str
        Other names of the command.

    Examples
    --------
    >>> import argparse
    >>> def add_arguments(parser):
    ...     parser.add_argument("name")
    >>> hello = Command("say hello", add_arguments, lambda args: print("hello", args.name) or 0)
    >>> parser = argparse.ArgumentParser(prog="synthtumor")
    >>> _ = hello.add_to(parser.add_subparsers(), "hello")
    >>> args = parser.parse_args(["hello", "world"])
    >>> args.handler(args)
    hello world
    0
    """

    help: str
    add_arguments: AddArguments
    handle: Handler
    description: str | None = None
    aliases: tuple[str, ...] = ()

    def add_to(self, subparsers: Subparsers, name: str) -> argparse.ArgumentParser:
        """Add the parser of this command, called `name`, to `subparsers`; return it.

        The parser sets ``handler`` (:attr:`handle`), which ``synthtumor.cli.main`` calls.
        """
        parser = subparsers.add_parser(
            name, help=self.help, description=self.description, aliases=list(self.aliases)
        )
        self.add_arguments(parser)
        parser.set_defaults(handler=self.handle)
        return parser
