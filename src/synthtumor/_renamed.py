"""Old names that still work, with a DeprecationWarning naming the new one.

Two renames go through here. The liver-specific ``liver_label`` became ``organ_label``: the
keyword alias of functions and constructors (:func:`renamed_label`), the attribute alias
(:func:`renamed_property`), the constructor alias of the frozen dataclasses
(:func:`accepts_liver_label`) and the command-line option (:class:`RenamedOption`). And the
names spelled ``tumour``/``centre`` are now spelled as the rest of the API (``tumor``,
``center``; :data:`SPELLING`): keyword arguments (:func:`renamed_keywords`), dataclass fields
(:func:`accepts_renamed`), config keys (:func:`renamed_keys`), metric names
(:func:`renamed_value`), and the columns of files an older version wrote, read back
silently (:func:`respelled`).
"""

from __future__ import annotations

import argparse
import functools
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

__all__ = [
    "OLD_NAME",
    "OLD_OPTION",
    "RENAMED_FIELDS",
    "SPELLING",
    "RenamedOption",
    "accepts_liver_label",
    "accepts_renamed",
    "add_label_options",
    "renamed_keys",
    "renamed_keywords",
    "renamed_label",
    "renamed_property",
    "renamed_value",
    "respelled",
    "warn_old_option",
    "warn_renamed",
]

OLD_NAME = "liver_label"
OLD_OPTION = "--liver-label"

SPELLING: dict[str, str] = {
    # keyword arguments and config keys
    "tumour_max_distance_mm": "tumor_max_distance_mm",
    "synthetic_tumours": "synthetic_tumors",
    "tumour_size": "tumor_size",
    # train.selection_metric and the metrics of evaluation reports
    "tumour_dice": "tumor_dice",
    "tumour_dsc": "tumor_dsc",
    "tumour_nsd": "tumor_nsd",
    "tumour_dsc_tumour_cases": "tumor_dsc_tumor_cases",
    "tumour_nsd_tumour_cases": "tumor_nsd_tumor_cases",
    # columns of the files a run or an evaluation writes
    "val_tumour_dice": "val_tumor_dice",
    "tumour_in_reference": "tumor_in_reference",
    "tumour_predicted": "tumor_predicted",
    "reference_tumour_volume_mm3": "reference_tumor_volume_mm3",
    "predicted_tumour_volume_mm3": "predicted_tumor_volume_mm3",
    "tumour_voxels": "tumor_voxels",
    "n_tumours": "n_tumors",
    # the label name of a datalist
    "tumour": "tumor",
}
"""Old spelling -> new of every public name that was spelled ``tumour`` or ``centre``."""

RENAMED_FIELDS = "__renamed_fields__"
"""The class attribute :func:`accepts_renamed` sets: ``{old field name: new}``."""

Class = TypeVar("Class", bound=type)
Function = TypeVar("Function", bound=Callable[..., Any])


def warn_renamed(old: str, new: str, where: str | None = None, *, note: str = "") -> None:
    """The DeprecationWarning of an old name, pointing at the first caller outside the package.

    `where` (a file, an option) prefixes the message; `note` follows it.

    Examples
    --------
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_renamed("tumour_size", "tumor_size", "make_demo_dataset")
    >>> str(caught[0].message)
    'make_demo_dataset: tumour_size is deprecated; use tumor_size'
    """
    prefix = "" if where is None else f"{where}: "
    warnings.warn(
        f"{prefix}{old} is deprecated; use {new}{note}",
        DeprecationWarning,
        stacklevel=_caller_level(),
    )


def _warn(where: str | None) -> None:
    warn_renamed(OLD_NAME, "organ_label", where, note=" (the same value)")


def _caller_level() -> int:
    """The stack level of the first caller outside the package, for :func:`warnings.warn`.

    The warning then names the user's line (and Python's default filters show it in a script),
    however deep in the package the old name was read (a config file goes through several
    calls).
    """
    frame, level = sys._getframe(2), 2  # warn_renamed's caller is level 2 for warnings.warn
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


def renamed_property(old: str = OLD_NAME, new: str = "organ_label") -> property:
    """A read-only attribute `old` that warns and returns the attribute `new`.

    The defaults are ``liver_label`` -> ``organ_label``.
    """

    def getter(self: Any) -> Any:
        warn_renamed(old, new, note=" (the same value)" if old == OLD_NAME else "")
        return getattr(self, new)

    getter.__name__ = old
    getter.__doc__ = f"Deprecated name of `{new}` (it warns)."
    return property(getter)


def _both_given(old: str, new: str) -> TypeError:
    return TypeError(f"give {new} or its old name {old}, not both")


def _moved(
    kwargs: dict[str, Any], renames: Mapping[str, str], where: str | None, *, ignore_none: bool
) -> dict[str, Any]:
    """`kwargs` with each old name moved to its new one (warning once per old name)."""
    for old, new in renames.items():
        if old not in kwargs:
            continue
        value = kwargs.pop(old)
        if ignore_none and value is None:
            continue
        if new in kwargs and not (ignore_none and kwargs[new] is None):
            raise _both_given(old, new)
        if old == OLD_NAME:
            _warn(where)
        else:
            warn_renamed(old, new, where)
        kwargs[new] = value
    return kwargs


def renamed_keywords(renames: Mapping[str, str]) -> Callable[[Function], Function]:
    """Let a function take the old keyword names of `renames` (``{old: new}``), with a warning.

    Giving an old name and its new one is a TypeError. The signature shown stays the new one.

    Examples
    --------
    >>> @renamed_keywords({"tumour_size": "tumor_size"})
    ... def draw(*, tumor_size=None):
    ...     return tumor_size
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     size = draw(tumour_size="small")
    >>> size, str(caught[0].message)
    ('small', 'draw: tumour_size is deprecated; use tumor_size')
    >>> draw(tumour_size="small", tumor_size="large")
    Traceback (most recent call last):
    ...
    TypeError: give tumor_size or its old name tumour_size, not both
    """

    def decorate(function: Function) -> Function:
        where = function.__name__

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return function(*args, **_moved(kwargs, renames, where, ignore_none=False))

        return wrapper  # type: ignore[return-value]

    return decorate


def accepts_renamed(renames: Mapping[str, str]) -> Callable[[Class], Class]:
    """Let a dataclass take the old field names of `renames` (``{old: new}``), with a warning.

    The constructor takes the old names as keywords, each old name is a read-only attribute
    that warns (unless the class defines it), and the class keeps the table as
    ``__renamed_fields__`` for the config readers (:func:`renamed_keys`).

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> @accepts_renamed({"tumour_max_distance_mm": "tumor_max_distance_mm"})
    ... @dataclass(frozen=True)
    ... class Post:
    ...     tumor_max_distance_mm: float = 5.0
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     post = Post(tumour_max_distance_mm=3.0)
    ...     old = post.tumour_max_distance_mm
    >>> post, old, [str(w.message) for w in caught]  # doctest: +NORMALIZE_WHITESPACE
    (Post(tumor_max_distance_mm=3.0), 3.0,
     ['Post: tumour_max_distance_mm is deprecated; use tumor_max_distance_mm',
      'tumour_max_distance_mm is deprecated; use tumor_max_distance_mm'])
    """

    def decorate(cls: Class) -> Class:
        return _accepts_renamed(cls, renames=dict(renames), ignore_none=False)

    return decorate


def _accepts_renamed(cls: Class, *, renames: dict[str, str], ignore_none: bool) -> Class:
    init: Callable[..., None] = cls.__init__  # type: ignore[misc]
    where = None if ignore_none else cls.__name__  # liver_label's warning names no class

    @functools.wraps(init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **_moved(kwargs, renames, where, ignore_none=ignore_none))

    setattr(cls, "__init__", __init__)  # noqa: B010 (mypy does not allow assigning a method)
    for old, new in renames.items():
        if old not in vars(cls):
            setattr(cls, old, renamed_property(old, new))
    setattr(cls, RENAMED_FIELDS, {**getattr(cls, RENAMED_FIELDS, {}), **renames})
    return cls


def accepts_liver_label(cls: Class) -> Class:
    """Let a dataclass with an ``organ_label`` field take ``liver_label=`` in its constructor.

    The class keeps its own attribute alias (``liver_label = renamed_property()``). A None
    value of either name counts as not given.

    Examples
    --------
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
    return _accepts_renamed(cls, renames={OLD_NAME: "organ_label"}, ignore_none=True)


def renamed_keys(
    data: Mapping[str, Any], renames: Mapping[str, str], *, prefix: str = ""
) -> dict[str, Any]:
    """A copy of the table `data` with its old keys (``{old: new}``) renamed, with a warning.

    `prefix` (``"inference."``) is put before both names in the warning. Both names in one
    table is a KeyError.

    Examples
    --------
    >>> table = {"synthetic_tumours": False, "seed": 1}
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     new = renamed_keys(table, {"synthetic_tumours": "synthetic_tumors"},
    ...                        prefix="validation.")
    >>> new
    {'synthetic_tumors': False, 'seed': 1}
    >>> str(caught[0].message)
    'validation.synthetic_tumours is deprecated; use validation.synthetic_tumors'
    """
    if not any(old in data for old in renames):
        return dict(data)
    renamed: dict[str, Any] = {}
    for key, value in data.items():
        new = renames.get(key)
        if new is None:
            renamed[key] = value
            continue
        if new in data:
            raise KeyError(f"give {prefix}{new} or its old name {prefix}{key}, not both")
        warn_renamed(prefix + key, prefix + new)
        renamed[new] = value
    return renamed


def renamed_value(value: Any, choices: Mapping[str, str], *, name: str) -> Any:
    """`value`, or its new spelling when it is an old one of `choices` (with a warning).

    Examples
    --------
    >>> renamed_value("liver_dice", {"tumour_dice": "tumor_dice"}, name="selection metric")
    'liver_dice'
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     new = renamed_value("tumour_dice", {"tumour_dice": "tumor_dice"},
    ...                         name="train.selection_metric")
    >>> new, str(caught[0].message)
    ('tumor_dice', "train.selection_metric 'tumour_dice' is deprecated; use 'tumor_dice'")
    """
    if not isinstance(value, str) or value not in choices:
        return value
    warn_renamed(f"{name} {value!r}", repr(choices[value]))
    return choices[value]


def respelled(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row of a file an older version wrote, its old column names spelled anew (silently).

    A column already under its new name wins over its old one.

    Examples
    --------
    >>> respelled({"epoch": "3", "val_tumour_dice": "0.5"})
    {'epoch': '3', 'val_tumor_dice': '0.5'}
    """
    new: dict[str, Any] = {}
    for key, value in row.items():
        name = SPELLING.get(key, key)
        if name == key or name not in row:
            new[name] = value
    return new


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
