"""The one place that turns what a command raises into a message and an exit code.

:func:`run_command_line` parses the arguments of ``synthtumor`` (usage errors, ``--help`` and
``--version`` become exit codes here too) and runs the chosen command's handler through
:func:`run_handler`, as ``python -m synthtumor.reference.train`` does. A handler signals bad
input by raising; it never prints its own error or picks its own exit code.

=====  ===================================================================================
code   meaning
=====  ===================================================================================
0      success
2      a user or OS error: bad input or usage, a missing or unreadable file, an output that
       exists without ``--force``, a folder that cannot be written, a full disk, a missing
       optional dependency. One line ``synthtumor: error: ...`` on stderr, no traceback
130    interrupted (Ctrl-C)
143    terminated (SIGTERM)
1      a bug: any other exception, with its traceback
=====  ===================================================================================

Warnings print as one line ``synthtumor: warning: ...``. On every exit the process survives
(an error, Ctrl-C, SIGTERM) the atomic writers of :mod:`synthtumor.io` remove their temporary
file, so only complete files stay behind; what a SIGKILL leaves is removed by the next run.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
import warnings
import zlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_TERMINATED",
    "USER_ERRORS",
    "Terminated",
    "error_message",
    "run_command_line",
    "run_handler",
]

EXIT_OK = 0
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 128 + signal.SIGTERM

USER_ERRORS: tuple[type[BaseException], ...] = (
    ValueError,  # includes LiverTooSmallError
    TypeError,
    KeyError,  # a missing datalist or config entry
    OSError,  # missing files, permissions, a full disk, paths under a regular file
    EOFError,  # a truncated gzip stream
    zlib.error,  # a corrupt gzip stream
)
"""What a user (or the machine) can get wrong; anything else is a bug and keeps its traceback."""

OPTIONAL_MODULES = {
    "torch": "reference",
    "monai": "reference",
    "matplotlib": "reference",
    "torchio": "torchio",
}
"""Modules of the extras, and the extra that brings each."""


class Terminated(BaseException):
    """Raised in the main thread when SIGTERM arrives, so that cleanup code runs."""


def error_message(error: BaseException) -> str:
    """`error` as one line; OS errors name their file and the reason.

    Examples
    --------
    >>> import errno
    >>> error_message(OSError(errno.ENOSPC, "No space left on device", "out/a.nii.gz"))
    'out/a.nii.gz: No space left on device'
    >>> error_message(ValueError("bad\\n  value"))
    'bad value'
    """
    if isinstance(error, OSError) and error.strerror and error.filename is not None:
        text = f"{error.filename}: {error.strerror}"
    elif isinstance(error, OSError) and error.strerror:
        text = error.strerror
    elif isinstance(error, KeyError) and error.args:
        text = f"missing entry {error.args[0]!r}"
    elif isinstance(error, EOFError | zlib.error):
        text = f"truncated or corrupt compressed file ({error or type(error).__name__})"
    else:
        text = str(error)
    return " ".join(text.split()) or type(error).__name__


def run_handler(handler: Callable[[Any], int], args: Any, *, prog: str = "synthtumor") -> int:
    """Run ``handler(args)`` and map what it raises to an exit code (table above).

    Examples
    --------
    >>> def handler(args):
    ...     raise FileNotFoundError(2, "No such file or directory", "ct.nii.gz")
    >>> import contextlib, io
    >>> stderr = io.StringIO()
    >>> with contextlib.redirect_stderr(stderr):
    ...     code = run_handler(handler, None)
    >>> code, stderr.getvalue()
    (2, 'synthtumor: error: ct.nii.gz: No such file or directory\\n')
    """
    try:
        with _sigterm_raises(), _warnings_as_lines(prog):
            return handler(args)
    except ModuleNotFoundError as error:
        if error.name not in OPTIONAL_MODULES:
            raise
        extra = OPTIONAL_MODULES[error.name]
        _print_error(
            prog,
            f"this command needs {error.name}, which is not installed; install it with: "
            f"pip install 'synthtumor[{extra}]'",
        )
        return EXIT_BAD_INPUT
    except USER_ERRORS as error:
        _print_error(prog, error_message(error))
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Terminated:
        print(f"{prog}: terminated", file=sys.stderr)
        return EXIT_TERMINATED


def run_command_line(
    parser: argparse.ArgumentParser, argv: Sequence[str] | None, *, prog: str = "synthtumor"
) -> int:
    """Parse `argv` with `parser` and run the ``handler`` it sets; return the exit code.

    ``--help`` and ``--version`` return 0; a usage error (an unknown command, a bad option)
    returns 2 after argparse's usage and message; no command prints the help on stderr and
    returns 2; the handler runs through :func:`run_handler`.

    Examples
    --------
    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="synthtumor")
    >>> _ = parser.add_argument("n", type=int)
    >>> parser.set_defaults(handler=lambda args: print(args.n + 1) or 0)
    >>> run_command_line(parser, ["41"])
    42
    0
    """
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version and usage errors
        if exit_.code is None:
            return EXIT_OK
        return exit_.code if isinstance(exit_.code, int) else EXIT_BAD_INPUT
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return EXIT_BAD_INPUT
    return run_handler(handler, args, prog=prog)


def _print_error(prog: str, message: str) -> None:
    print(f"{prog}: error: {message}", file=sys.stderr)


@contextlib.contextmanager
def _warnings_as_lines(prog: str) -> Iterator[None]:
    """While inside, warnings print as one line ``synthtumor: warning: ...`` on stderr."""

    def show(message: Warning | str, *args: object, **kwargs: object) -> None:
        print(f"{prog}: warning: {' '.join(str(message).split())}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.showwarning = show
        # Hidden by Python's default filters; a user's old config key (liver_label) must show.
        warnings.filterwarnings("default", ".*liver_label is deprecated", DeprecationWarning)
        yield


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    """While inside, SIGTERM raises :class:`Terminated` (main thread only; signals need it)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def raise_terminated(signum: int, frame: object) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
