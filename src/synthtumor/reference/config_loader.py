"""Reading and writing a training config: TOML/JSON files, plain dicts, ``--set`` overrides.

Values are type-checked against the dataclass annotations of the sections (an unknown key is a
:class:`KeyError`, a wrong type a :class:`TypeError`, each naming the field); ranges are the
sections' own checks. The old spellings of renamed keys and values load with a
DeprecationWarning.
"""

from __future__ import annotations

import json
import os
import tomllib
import typing
from collections.abc import Mapping, Sequence
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any, Literal

from synthtumor._renamed import RENAMED_FIELDS, renamed_keys, renamed_value, warn_renamed
from synthtumor.reference.config_network import RENAMED_VALUES
from synthtumor.reference.profiles import profile_config
from synthtumor.reference.training_config import TrainingConfig

__all__ = [
    "apply_overrides",
    "config_from_dict",
    "config_to_dict",
    "config_to_toml",
    "load_config",
]


def config_to_dict(config: Any) -> dict[str, Any]:
    """Plain nested dict of a config (tuples become lists), ready for JSON or TOML."""

    def plain(value: Any) -> Any:
        if is_dataclass(value):
            return {f.name: plain(getattr(value, f.name)) for f in fields(value)}
        if isinstance(value, tuple | list):
            return [plain(v) for v in value]
        return value

    return plain(config)


_SCALARS: dict[Any, tuple[tuple[type, ...], str]] = {
    bool: ((bool,), "true or false"),
    int: ((int,), "an integer"),
    float: ((int, float), "a number"),
    str: ((str,), "a string"),
}


def _coerce(value: Any, kind: Any, where: str) -> Any:
    """Check `value` against the annotation `kind`; lists become tuples, ints floats."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is Literal:
        if value not in args:
            raise ValueError(f"{where} must be one of {list(args)}, got {value!r}")
        return value
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise TypeError(f"{where} must be a list, got {value!r}")
        kinds = [args[0]] * len(value) if args[-1] is Ellipsis else list(args)
        if len(value) != len(kinds):
            raise ValueError(f"{where} must have {len(kinds)} entries, got {len(value)}: {value!r}")
        return tuple(
            _coerce(v, k, f"{where}[{i}]")
            for i, (v, k) in enumerate(zip(value, kinds, strict=True))
        )
    accepted, name = _SCALARS[kind]
    if not isinstance(value, accepted) or (kind is not bool and isinstance(value, bool)):
        raise TypeError(f"{where} must be {name}, got {value!r}")
    return float(typing.cast(float, value)) if kind is float else value


def _build(cls: type, data: Mapping[str, Any], where: str) -> Any:
    if not isinstance(data, Mapping):
        raise TypeError(f"{where or 'config'} must be a table, got {data!r}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        prefix = f"{where}." if where else ""
        raise KeyError(
            f"unknown config key(s) {[prefix + k for k in unknown]}; "
            f"{where or 'the top level'} has {sorted(known)}"
        )
    kwargs = {}
    for name, value in data.items():
        kind = hints[name]
        key = f"{where}.{name}" if where else name
        if is_dataclass(kind):
            kwargs[name] = _build(typing.cast(type, kind), value, key)
        else:
            kwargs[name] = _coerce(value, kind, key)
    return cls(**kwargs)


def _merge(base: dict[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _current_names(cls: type, data: Any, where: str) -> Any:
    """`data` with the old names of fields and values replaced by the new ones (they warn).

    Done before the profile's defaults are merged in, which hold the new names only.
    """
    if not isinstance(data, Mapping):
        return data  # _build says what is wrong
    prefix = f"{where}." if where else ""
    current = renamed_keys(data, getattr(cls, RENAMED_FIELDS, {}), prefix=prefix)
    hints = typing.get_type_hints(cls)
    for name, value in current.items():
        kind, key = hints.get(name), prefix + name
        if kind is not None and is_dataclass(kind):
            current[name] = _current_names(typing.cast(type, kind), value, key)
        elif key in RENAMED_VALUES:
            current[name] = renamed_value(value, RENAMED_VALUES[key], name=key)
    return current


def config_from_dict(data: Mapping[str, Any]) -> TrainingConfig:
    """Build a config from a (possibly partial) nested dict, starting from its ``profile``.

    Unknown keys raise :class:`KeyError`; values of the wrong type :class:`TypeError`; values
    out of range :class:`ValueError`. The old spellings of renamed keys and values (a config
    an older version wrote: ``validation.synthetic_tumours``,
    ``inference.tumour_max_distance_mm``, ``train.selection_metric = "tumour_dice"``) still
    load, with a DeprecationWarning each.

    Examples
    --------
    >>> config_from_dict({"profile": "smoke", "train": {"max_epochs": 3}}).train.max_epochs
    3
    >>> config_from_dict({"train": {"max_epochs": "3"}})
    Traceback (most recent call last):
    ...
    TypeError: train.max_epochs must be an integer, got '3'
    """
    profile = data.get("profile", "paper")
    if not isinstance(profile, str):
        raise TypeError(f"profile must be a string, got {profile!r}")
    base = config_to_dict(profile_config(profile))
    return _build(TrainingConfig, _merge(base, _current_names(TrainingConfig, data, "")), "")


def load_config(
    path: str | os.PathLike | None = None, overrides: Sequence[str] = ()
) -> TrainingConfig:
    """Read a TOML or JSON config file and apply ``key=value`` overrides.

    Parameters
    ----------
    path : path-like or None
        ``.toml`` or ``.json`` file; None starts from the "paper" profile (or the profile an
        override names with ``profile=...``).
    overrides : sequence of str
        ``section.field=value`` strings (see :func:`apply_overrides`).
    """
    data: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        text = path.read_text(encoding="utf-8")
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        elif path.suffix.lower() == ".toml":
            data = tomllib.loads(text)
        else:
            raise ValueError(f"config file must end in .toml or .json, got {path}")
    profile_overrides = [o for o in overrides if o.split("=", 1)[0].strip() == "profile"]
    for override in profile_overrides:
        data["profile"] = override.split("=", 1)[1].strip()
    config = config_from_dict(data)
    rest = [o for o in overrides if o not in profile_overrides]
    return apply_overrides(config, rest)


def _parse_value(text: str, kind: Any) -> Any:
    """A command-line value as TOML (``64,64,64`` and ``(64, 64, 64)`` as lists); strings
    and anything that is not TOML stay text, for :func:`_coerce` to judge."""
    text = text.strip()
    args = typing.get_args(kind)
    if kind is str or (
        typing.get_origin(kind) is Literal and all(isinstance(a, str) for a in args)
    ):
        return text.strip("\"'")
    if typing.get_origin(kind) is tuple:
        text = "[" + (text[1:-1] if text[:1] in "[(" and text[-1:] in "])" else text) + "]"
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text


def apply_overrides(config: TrainingConfig, overrides: Sequence[str]) -> TrainingConfig:
    """Apply ``section.field=value`` overrides, type-checked against the dataclasses.

    Values are TOML (``train.amp=false``, ``optim.lr=1e-3``); tuples also take
    comma-separated values (``data.roi_size=64,64,64``); string fields take the text as is.
    The old spellings of renamed keys and values work as in :func:`config_from_dict`.

    Examples
    --------
    >>> apply_overrides(TrainingConfig(), ["data.roi_size=64,64,64"]).data.roi_size
    (64, 64, 64)
    >>> apply_overrides(TrainingConfig(), ["optim.lr=fast"])
    Traceback (most recent call last):
    ...
    TypeError: optim.lr must be a number, got 'fast'
    """
    data = config_to_dict(config)
    for override in overrides:
        _set_override(data, override)
    return _build(TrainingConfig, data, "")


def _set_override(data: dict[str, Any], override: str) -> None:
    """Set the field one ``section.field=value`` names in the plain dict `data` of a config."""
    if "=" not in override:
        raise ValueError(f"override must look like section.field=value, got {override!r}")
    key, text = (part.strip() for part in override.split("=", 1))
    path = key.split(".")
    cls: Any = TrainingConfig
    target = data
    for depth in range(len(path)):
        hints = typing.get_type_hints(cls)
        name = _current_name(cls, path, depth)
        if name not in hints:
            where = ".".join(path[:depth]) or "the top level"
            raise KeyError(f"unknown config key {key!r}: {where} has {sorted(hints)}")
        kind = hints[name]
        if depth == len(path) - 1:
            if is_dataclass(kind):
                raise KeyError(f"{key!r} is a section; set one of its fields")
            value = _parse_value(text, kind)
            full = ".".join(path)
            target[name] = renamed_value(value, RENAMED_VALUES.get(full, {}), name=full)
        else:
            if not is_dataclass(kind):
                raise KeyError(f"{'.'.join(path[: depth + 1])!r} is not a section")
            cls, target = kind, target[name]


def _current_name(cls: Any, path: list[str], depth: int) -> str:
    """``path[depth]``, the new name of a renamed field (with a warning); `path` is updated."""
    name = path[depth]
    new = getattr(cls, RENAMED_FIELDS, {}).get(name)
    if new is None:
        return name
    old_key = ".".join(path[: depth + 1])
    path[depth] = new
    warn_renamed(old_key, ".".join(path[: depth + 1]))
    return new


def config_to_toml(config: TrainingConfig) -> str:
    """TOML text of a config (the format :func:`load_config` reads).

    Examples
    --------
    >>> text = config_to_toml(profile_config("smoke"))
    >>> config_from_dict(tomllib.loads(text)) == profile_config("smoke")
    True
    """

    from synthtumor.config_file import toml_text

    return toml_text(config_to_dict(config))
