"""Reading a function's numeric settings from its environment: one message per bad variable,
naming it, the same in every runtime."""

from __future__ import annotations

from collections.abc import Mapping


class ConfigurationError(Exception):
    """The function's environment is incomplete or invalid (a deployment bug, not the caller's)."""


def env_int(env: Mapping[str, str], name: str, default: int | None, low: int, high: int) -> int:
    """``name`` as an integer within ``low``-``high`` (``default`` when unset; None: required)."""
    raw = env.get(name, "").strip()
    if not raw:
        if default is None:
            raise ConfigurationError(f"{name} is not set")
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is not an integer") from None
    if not low <= value <= high:
        raise ConfigurationError(f"{name}={value} is outside {low}-{high}")
    return value


def env_float(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    """``name`` as a number within ``low``-``high`` (``default`` when unset)."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is not a number") from None
    if not low <= value <= high:
        raise ConfigurationError(f"{name}={value} is outside {low}-{high}")
    return value
