"""``TumorConfig`` from and to files: JSON or TOML, the same fields either way.

A file holds TumorConfig fields by name. Ranges are lists (``edge_blur_mm = [0.6, 1.2]``), a size
preset is a table (``[large]`` with ``radius_mm``, ``deformation_mm``, ``count``), and lesion
types a name or a table of shares (``lesion = "hcc"`` or ``[lesion] hcc = 0.7``). With
``appearance = "realistic"`` the file starts from :meth:`TumorConfig.realistic` (so the lesion
types' own values apply to every field the file does not set).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from synthtumor._renamed import OLD_NAME, renamed_label
from synthtumor.config import TUMOR_SIZES, SizePreset, TumorConfig

__all__ = ["config_from_mapping", "config_to_mapping", "read_config", "toml_text", "write_config"]

Built = TypeVar("Built")


def _value(key: str, value: Any) -> Any:
    """JSON/TOML lists become tuples; a size preset given as a table becomes a SizePreset."""
    if key in TUMOR_SIZES and isinstance(value, dict):
        known = [field.name for field in dataclasses.fields(SizePreset)]
        if sorted(value) != sorted(known):
            raise ValueError(
                f"size preset [{key}] must set exactly {', '.join(known)}; "
                f"got {', '.join(sorted(value)) or 'nothing'}"
            )
        return SizePreset(**{name: _value(name, item) for name, item in value.items()})
    if isinstance(value, list):
        return tuple(_value(key, item) for item in value)
    return value


def config_from_mapping(data: dict[str, Any], *, where: str = "config") -> TumorConfig:
    """A TumorConfig from a mapping of field names (as read from JSON or TOML).

    Examples
    --------
    >>> config = config_from_mapping({"appearance": "realistic", "phase": "arterial",
    ...                               "lesion": {"hcc": 1}, "edge_blur_mm": [0.5, 1.0]})
    >>> config.appearance, config.lesion_types, config.edge_blur_mm
    ('realistic', (('hcc', 1.0),), (0.5, 1.0))
    """
    if not isinstance(data, dict):
        raise ValueError(f"{where} must hold a table (object) of TumorConfig fields")
    fields = {field.name for field in dataclasses.fields(TumorConfig)}
    values = _named(where, lambda: {key: _value(key, item) for key, item in data.items()})
    if "lesion" in values:
        if "lesion_types" in values:
            raise ValueError(f"{where} sets both 'lesion' and 'lesion_types'; keep one")
        values["lesion_types"] = values.pop("lesion")
    if OLD_NAME in values:
        old = values.pop(OLD_NAME)
        values["organ_label"] = _named(
            where, lambda: renamed_label(values.pop("organ_label", None), old, where=where)
        )
    if isinstance(values.get("lesion_types"), dict | str):
        from synthtumor.appearance import check_lesion_types

        values["lesion_types"] = check_lesion_types(values["lesion_types"])
    unknown = sorted(set(values) - fields)
    if unknown:
        raise ValueError(
            f"{where} has unknown TumorConfig field(s) {', '.join(unknown)}; "
            f"known fields: {', '.join(sorted(fields))}"
        )
    return _named(where, lambda: _build_config(values))


def _build_config(values: dict[str, Any]) -> TumorConfig:
    if values.get("appearance") == "realistic":
        start = TumorConfig.realistic(
            values.pop("phase", "portal"),
            dict(values.pop("lesion_types", (("metastasis", 1.0),))),
            pattern=values.pop("pattern", None),
        )
        return start.replace(**values)
    return TumorConfig(**values)


def _named(where: str, build: Callable[[], Built]) -> Built:
    """`build()`, with `where` (the file or option) in front of a bad value's message."""
    try:
        return build()
    except (TypeError, ValueError) as error:
        raise type(error)(f"{where}: {error}") from None


def config_to_mapping(config: TumorConfig) -> dict[str, Any]:
    """The fields of `config` as JSON/TOML types (None fields left out: they are defaults)."""
    data: dict[str, Any] = {}
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if value is None:
            continue
        if isinstance(value, SizePreset):
            value = {name: _plain(item) for name, item in dataclasses.asdict(value).items()}
        elif field.name == "lesion_types":
            value = dict(value)
        data[field.name] = _plain(value)
    return data


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def read_config(path: str | os.PathLike[str]) -> TumorConfig:
    """Read a TumorConfig from a ``.toml`` or ``.json`` file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file not found: {path}")
    text = path.read_text(encoding="utf-8")
    where = f"config file {path}"
    try:
        data = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as error:
        kind = "TOML" if path.suffix.lower() == ".toml" else "JSON"
        raise ValueError(f"{where} is not valid {kind}: {error}") from None
    return config_from_mapping(data, where=where)


def write_config(
    config: TumorConfig, path: str | os.PathLike[str], *, overwrite: bool = False
) -> Path:
    """Write `config` as TOML (``.toml``) or JSON (any other suffix), atomically.

    Examples
    --------
    >>> import tempfile
    >>> config = TumorConfig.realistic("delayed", "hcc", capsule_share=0.8)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     read_config(write_config(config, Path(folder) / "tumor.toml")) == config
    True
    """
    from synthtumor.io import atomic_output

    path = Path(path)
    data = config_to_mapping(config)
    text = toml_text(data) if path.suffix.lower() == ".toml" else json.dumps(data, indent=2) + "\n"
    with atomic_output(path, overwrite=overwrite) as temporary:
        Path(temporary).write_text(text, encoding="utf-8")
    return path


def toml_text(data: dict[str, Any]) -> str:
    """TOML text of a flat mapping whose values are scalars, lists, or tables of those.

    The one TOML writer of the package (TumorConfig files, the trainer's ``config.toml``).

    Examples
    --------
    >>> print(toml_text({"name": "run", "train": {"amp": False, "roi": [64, 64]}}), end="")
    name = "run"
    <BLANKLINE>
    [train]
    amp = false
    roi = [64, 64]
    """
    lines, tables = [], []
    for key, value in data.items():
        if isinstance(value, dict):
            tables.append((key, value))
        else:
            lines.append(f"{key} = {_toml_value(value)}")
    for key, table in tables:
        lines.append(f"\n[{key}]")
        lines.extend(f"{name} = {_toml_value(item)}" for name, item in table.items())
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"cannot write a non-finite number {value} to TOML")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    raise TypeError(f"cannot write {value!r} to TOML")
