"""Strict dict -> frozen dataclass conversion with errors that name the field.

A typo in a YAML key must fail synth, not be silently ignored, so unknown keys
are errors just like missing or mistyped ones.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, TypeVar

T = TypeVar("T")


class ConfigError(ValueError):
    """A configuration problem; the message names the file and the field."""


def build(cls: type[T], data: Any, path: str) -> T:
    """Build dataclass ``cls`` from ``data``; ``path`` is the dotted field name for errors."""
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path or 'configuration'}: expected a mapping, got {type(data).__name__}"
        )
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(
            f"{path}: unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(fields))}"
        )
    values: dict[str, Any] = {}
    for name, field in fields.items():
        child = join(path, name)
        if name in data:
            values[name] = _coerce(hints[name], data[name], child)
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{child}: required field is missing")
    instance = cls(**values)
    validate = getattr(instance, "validate", None)
    if callable(validate):
        validate(path)
    return instance


def _coerce(hint: Any, value: Any, path: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        non_none = [a for a in args if a is not type(None)]
        return _coerce(non_none[0], value, path)
    if origin is typing.Literal:
        if value not in args:
            allowed = ", ".join(repr(a) for a in args)
            raise ConfigError(f"{path}: {value!r} is not one of {allowed}")
        return value
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{path}: expected a list, got {type(value).__name__}")
        return tuple(_coerce(args[0], item, f"{path}[{i}]") for i, item in enumerate(value))
    if dataclasses.is_dataclass(hint):
        return build(hint, value, path)  # type: ignore[arg-type]
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{path}: expected true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{path}: expected an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{path}: expected a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{path}: expected a string, got {value!r}")
        return value
    raise ConfigError(f"{path}: unsupported type {hint!r}")  # pragma: no cover


def join(path: str, name: str) -> str:
    """Dotted field path used in error messages."""
    return f"{path}.{name}" if path else name


def require(condition: bool, path: str, message: str) -> None:
    """Raise a ConfigError for ``path`` unless ``condition`` holds."""
    if not condition:
        raise ConfigError(f"{path}: {message}")
