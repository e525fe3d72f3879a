"""The liver-specific name ``liver_label`` of ``organ_label``: still accepted, with a warning.

One place for the rename: the keyword alias of functions and constructors
(:func:`renamed_label`), the attribute alias (:func:`renamed_property`) and the constructor
alias of the frozen dataclasses (:func:`accepts_liver_label`).
"""

from __future__ import annotations

import argparse
import functools
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

__all__ = [
    "OLD_NAME",
    "OLD_OPTION",
    "RenamedOption",
    "accepts_liver_label",
    "add_label_options",
    "renamed_label",
    "renamed_property",
    "warn_old_option",
]

OLD_NAME = "liver_label"
OLD_OPTION = "--liver-label"

Class = TypeVar("Class", bound=type)


def _warn(where: str | None) -> None:
    prefix = "" if where is None else f"{where}: "
    warnings.warn(
        f"{prefix}liver_label is deprecated; use organ_label (the same value)",
        DeprecationWarning,
        stacklevel=_caller_level(),
    )


def _caller_level() -> int:
    """The stack level of the first caller outside the package, for :func:`warnings.warn`.

    The warning then names the user's line (and Python's default filters show it in a script),
    however deep in the package the old name was read (a config file goes through several
    calls).
    """
    frame, level = sys._getframe(2), 2  # _warn's caller is level 2 for warnings.warn
    while frame.f_back is not None and _in_package(frame.f_globals.get("__name__", "")):
        frame, level = frame.f_back, level + 1
    return level


def _in_package(module: str) -> bool:
    return module.partition(".")[0] == "synthtumor"


def renamed_label(
    organ_label: Any, liver_label: Any, *, default: Any = 1, where: str | None = None
) -> Any:
    """`organ_label`, or the deprecated `liver_label` (with a DeprecationWarning), or `default`.

    `where` (a file, an option) prefixes the warning. Giving both names is a TypeError.

    Examples
    --------
    >>> renamed_label(7, None), renamed_label(None, None)
    (7, 1)
    >>> renamed_label(7, 7)
    Traceback (most recent call last):
    ...
    TypeError: give organ_label or its old name liver_label, not both
    """
    if liver_label is None:
        return default if organ_label is None else organ_label
    if organ_label is not None:
        raise TypeError("give organ_label or its old name liver_label, not both")
    _warn(where)
    return liver_label


def renamed_property() -> property:
    """A read-only ``liver_label`` attribute that warns and returns ``self.organ_label``."""

    def liver_label(self: Any) -> Any:
        _warn(None)
        return self.organ_label

    liver_label.__doc__ = "Deprecated name of `organ_label` (it warns)."
    return property(liver_label)


def accepts_liver_label(cls: Class) -> Class:
    """Let a dataclass with an ``organ_label`` field take ``liver_label=`` in its constructor.

    The class keeps its own attribute alias (``liver_label = renamed_property()``).

    Examples
    --------
    >>> import warnings
    >>> from dataclasses import dataclass
    >>> @accepts_liver_label
    ... @dataclass(frozen=True)
    ... class Labels:
    ...     organ_label: int = 1
    ...     liver_label = renamed_property()
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     labels = Labels(liver_label=5)
    >>> labels.organ_label, caught[0].category.__name__
    (5, 'DeprecationWarning')
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     old = labels.liver_label
    >>> old, str(caught[0].message)
    (5, 'liver_label is deprecated; use organ_label (the same value)')
    """
    init: Callable[..., None] = cls.__init__  # type: ignore[misc]

    @functools.wraps(init)
    def __init__(self: Any, *args: Any, liver_label: Any = None, **kwargs: Any) -> None:
        if liver_label is not None:
            kwargs["organ_label"] = renamed_label(kwargs.pop("organ_label", None), liver_label)
        init(self, *args, **kwargs)

    setattr(cls, "__init__", __init__)  # noqa: B010 (mypy does not allow assigning a method)
    return cls


class RenamedOption(argparse.Action):
    """``--organ-label`` of a command line, with ``--liver-label`` as its deprecated spelling.

    The old spelling prints one ``synthtumor: warning: ...`` line on stderr; giving both is a
    usage error (exit status 2).

    Examples
    --------
    >>> parser = argparse.ArgumentParser(prog="synthtumor realism")
    >>> _ = parser.add_argument("--organ-label", "--liver-label", dest="organ_label", type=int,
    ...                         default=1, action=RenamedOption)
    >>> parser.parse_args(["--organ-label", "7"]).organ_label
    7
    >>> import contextlib, io
    >>> with contextlib.redirect_stderr(io.StringIO()) as stderr:
    ...     old = parser.parse_args(["--liver-label", "5"]).organ_label
    >>> old, stderr.getvalue()
    (5, 'synthtumor: warning: --liver-label is deprecated; use --organ-label (the same value)\\n')
    """

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        seen = f"_{self.dest}_given_as"
        earlier = getattr(namespace, seen, None)
        if earlier is not None and earlier != option_string:
            parser.error(f"give {self.option_strings[0]} or {OLD_OPTION}, not both")
        setattr(namespace, seen, option_string)
        if option_string == OLD_OPTION:
            warn_old_option(f"use {self.option_strings[0]} (the same value)")
        setattr(namespace, self.dest, values)


def warn_old_option(instead: str) -> None:
    """The one-line warning of the deprecated ``--liver-label``; `instead` says what to use."""
    print(f"synthtumor: warning: {OLD_OPTION} is deprecated; {instead}", file=sys.stderr)


def add_label_options(parser: argparse.ArgumentParser, *, organ_example: str = "") -> None:
    """``--organ-label`` (old spelling ``--liver-label``) and ``--tumor-label`` of a command.

    Both take an integer >= 0; the defaults are 1 and 2. `organ_example` is added to the help.

    Examples
    --------
    >>> parser = argparse.ArgumentParser(prog="synthtumor realism")
    >>> add_label_options(parser)
    >>> args = parser.parse_args(["--organ-label", "7", "--tumor-label", "9"])
    >>> args.organ_label, args.tumor_label
    (7, 9)
    """
    from synthtumor._validation.options import int_option

    label = int_option(minimum=0)
    example = f", {organ_example}" if organ_example else ""
    parser.add_argument(
        "--organ-label",
        OLD_OPTION,
        dest="organ_label",
        action=RenamedOption,
        type=label,
        default=1,
        metavar="V",
        help=f"the organ's value{example} (default: 1; {OLD_OPTION} is its old name)",
    )
    parser.add_argument(
        "--tumor-label", type=label, default=2, metavar="V", help="tumour value (default: 2)"
    )
